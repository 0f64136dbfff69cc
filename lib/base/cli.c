/* base/cli.c — the parts of every tool that are the same: messages, exits, options, progress. */
#include "base/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *rad_prog = "rad";
int rad_verbose;
int rad_progress_on;
jmp_buf *rad_die_jump;
int rad_quiet;

void rad_cli_init(int argc, char **argv)
{
	if (argc > 0 && argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		rad_prog = slash ? slash + 1 : argv[0];
		argv[0] = (char *)rad_prog;   /* so getopt's own messages start "rad-TOOL:" too */
	}
	rad_progress_on = isatty(2);
}

void rad_vwarn(const char *where, const char *fmt, va_list ap)
{
	rad_progress_done();
	if (rad_quiet)
		return;
	fprintf(stderr, "%s: ", rad_prog);
	if (where && *where)
		fprintf(stderr, "%s: ", where);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void rad_warn(const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rad_vwarn(where, fmt, ap);
	va_end(ap);
}

void rad_die(int status, const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rad_vwarn(where, fmt, ap);
	va_end(ap);
	if (rad_die_jump)
		longjmp(*rad_die_jump, status);
	exit(status);
}

void rad_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rad_vwarn(NULL, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", rad_prog);
	exit(RAD_EXIT_USAGE);
}

void rad_print_help(const char *text)
{
	fputs(text, stdout);
	exit(fflush(stdout) ? RAD_EXIT_DATA : 0);
}

void rad_print_version(void)
{
	printf("%s (rad) %s\n", rad_prog, RAD_VERSION);
	exit(fflush(stdout) ? RAD_EXIT_DATA : 0);
}

int rad_common_option(int c, const char *help)
{
	switch (c) {
	case RAD_OPT_HELP: rad_print_help(help);
	case RAD_OPT_VERSION: rad_print_version();
	case RAD_OPT_VERBOSE: rad_verbose = 1; return 1;
	case RAD_OPT_PROGRESS: rad_progress_on = 1; return 1;
	case RAD_OPT_NO_PROGRESS: rad_progress_on = 0; return 1;
	case '?': /* getopt_long has already said what was wrong */
		fprintf(stderr, "Try '%s --help' for more information.\n", rad_prog);
		exit(RAD_EXIT_USAGE);
	}
	return 0;
}

long long rad_parse_int(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		rad_usage_error("--%s: '%s' is not an integer", opt, s);
	if (v < lo || v > hi)
		rad_usage_error("--%s: %lld is out of range [%lld, %lld]", opt, v, lo, hi);
	return v;
}

double rad_parse_double(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v != v)
		rad_usage_error("--%s: '%s' is not a number", opt, s);
	return v;
}

static double progress_last;
static int progress_shown;

double rad_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void rad_progress(const char *fmt, ...)
{
	if (!rad_progress_on)
		return;
	double t = rad_seconds();
	if (progress_shown && t - progress_last < 0.2)
		return;
	progress_last = t;
	progress_shown = 1;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\r\033[K%s: ", rad_prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void rad_progress_done(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = 0;
	}
}

static _Noreturn void out_of_memory(size_t n)
{
	rad_die(RAD_EXIT_DATA, NULL, "out of memory (asked for %zu bytes)", n);
}

void *rad_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) out_of_memory(n);
	return p;
}

void *rad_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) out_of_memory(n * size);
	return p;
}

void *rad_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) out_of_memory(n);
	return q;
}

char *rad_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(rad_malloc(n), s, n);
}

uint64_t rad_hash64(const void *data, size_t n, uint64_t h)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
