/* base/cli.h — what every rad tool does the same way: names, errors, exit codes, progress.
 *
 * Messages go to stderr as "rad-TOOL: where: what".  Exit status: 0 success,
 * 1 bad data (RAD_EXIT_DATA), 2 bad usage (RAD_EXIT_USAGE). */
#ifndef RAD_CLI_H
#define RAD_CLI_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#define RAD_EXIT_DATA  1
#define RAD_EXIT_USAGE 2

#ifndef RAD_VERSION
#define RAD_VERSION "0.1.0"
#endif

extern const char *rad_prog;   /* "rad-dump", set by rad_cli_init from argv[0] */
extern int rad_verbose;        /* --verbose: final summary line of counts */
extern int rad_progress_on;    /* progress on stderr: a terminal, or --progress */

/* Sets rad_prog from argv[0] and rad_progress_on from isatty(2). */
void rad_cli_init(int argc, char **argv);

/* "rad-TOOL: where: what\n" on stderr, then exit(status).  where may be NULL. */
_Noreturn void rad_die(int status, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* For fuzzers and tests that must survive bad input in-process: when set, rad_die
 * longjmps here with the exit status instead of exiting (what was allocated leaks). */
#include <setjmp.h>
extern jmp_buf *rad_die_jump;
extern int rad_quiet;          /* messages are not printed (fuzzers) */

/* The same message without exiting. */
void rad_warn(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rad_vwarn(const char *where, const char *fmt, va_list ap);
/* Bad usage: the message, a hint to --help, exit 2. */
_Noreturn void rad_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints `text` (the tool's --help) to stdout and exits 0. */
_Noreturn void rad_print_help(const char *text);
/* "rad-TOOL (rad) VERSION" to stdout, exit 0. */
_Noreturn void rad_print_version(void);

/* Options every tool shares.  Put RAD_COMMON_LONGOPTS at the end of a tool's
 * struct option array (before the {0} terminator) and call rad_common_option(c, help)
 * from the default: branch of the getopt switch; it handles --help, --version,
 * --verbose, --progress / --no-progress, and returns 0 for any other c. */
enum { RAD_OPT_HELP = 0x1000, RAD_OPT_VERSION, RAD_OPT_VERBOSE, RAD_OPT_PROGRESS,
       RAD_OPT_NO_PROGRESS, RAD_OPT_FIRST_TOOL /* tools number their own long-only options from here */ };
#define RAD_COMMON_LONGOPTS \
	{"help", no_argument, 0, RAD_OPT_HELP}, \
	{"version", no_argument, 0, RAD_OPT_VERSION}, \
	{"verbose", no_argument, 0, RAD_OPT_VERBOSE}, \
	{"progress", no_argument, 0, RAD_OPT_PROGRESS}, \
	{"no-progress", no_argument, 0, RAD_OPT_NO_PROGRESS}
int rad_common_option(int c, const char *help);

/* Strict number parsing for option values; bad values are usage errors naming the option. */
long long rad_parse_int(const char *opt, const char *s, long long lo, long long hi);
double rad_parse_double(const char *opt, const char *s);

/* Seconds on the monotonic clock: differences time a stage or a step. */
double rad_seconds(void);

/* A progress line on stderr, redrawn at most ~5 times a second, only when
 * rad_progress_on.  rad_progress_done() ends the line. */
void rad_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rad_progress_done(void);

/* Checked allocation: out of memory is fatal (exit 1, named). */
void *rad_malloc(size_t n);
void *rad_calloc(size_t n, size_t size);
void *rad_realloc(void *p, size_t n);
char *rad_strdup(const char *s);

/* 64-bit FNV-1a, and a way to chain it: fingerprints of tokenizers, models, ids. */
uint64_t rad_hash64(const void *data, size_t n, uint64_t seed);
#define RAD_HASH_SEED 0xcbf29ce484222325ULL

#endif
