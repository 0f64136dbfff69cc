/* JSONL input (plain, zstd, CRLF, blank lines, arrays, invalid lines) and output. */
#include "test.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/jsonl.h"

static char dir[] = "/tmp/rad-test-jsonl-XXXXXX";
static char path[256], zpath[256];

static void write_file(const char *p, const char *text, size_t n)
{
	FILE *f = fopen(p, "wb");
	fwrite(text, 1, n, f);
	fclose(f);
}

static void test_lines_crlf_blank(void)
{
	const char text[] = "{\"a\":1}\r\n\n  \r\n{\"a\":2}\n{\"a\":3}";   /* no final newline */
	write_file(path, text, sizeof text - 1);
	rad_jsonl *r = rad_jsonl_open(path, 0);
	json_t *v;
	int sum = 0, n = 0;
	long long lines[3];
	while ((v = rad_jsonl_next(r))) {
		sum += json_integer_value(json_object_get(v, "a"));
		lines[n++] = r->lineno;
		json_decref(v);
	}
	EXPECT_EQ(n, 3);
	EXPECT_EQ(sum, 6);
	EXPECT(lines[0] == 1 && lines[1] == 4 && lines[2] == 5);
	rad_jsonl_close(r);
}

static void test_zstd_input(void)
{
	/* 3000 lines through zstd: the reader must detect and decompress. */
	FILE *f = fopen(path, "wb");
	for (int i = 0; i < 3000; i++) fprintf(f, "{\"i\":%d,\"pad\":\"%0*d\"}\n", i, 1 + i % 200, 0);
	fclose(f);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "zstd -q -f -o %s %s", zpath, path);
	if (system(cmd) != 0) { test_skip("test_zstd_input", "zstd program not found"); return; }
	rad_jsonl *r = rad_jsonl_open(zpath, 0);
	EXPECT(rad_src_is_zstd(r->src));
	json_t *v;
	long long n = 0, sum = 0;
	while ((v = rad_jsonl_next(r))) { sum += json_integer_value(json_object_get(v, "i")); n++; json_decref(v); }
	EXPECT_EQ(n, 3000);
	EXPECT_EQ(sum, 2999LL * 3000 / 2);
	rad_jsonl_close(r);
}

static void test_array_document(void)
{
	const char text[] = " \n[{\"a\":1},\n {\"a\":2}]\n";
	write_file(path, text, sizeof text - 1);
	rad_jsonl *r = rad_jsonl_open(path, 0);
	json_t *v;
	int n = 0;
	while ((v = rad_jsonl_next(r))) { n++; EXPECT_EQ(r->lineno, n); json_decref(v); }
	EXPECT_EQ(n, 2);
	rad_jsonl_close(r);
}

static void test_skip_invalid(void)
{
	const char text[] = "{\"a\":1}\n{bad\n\"\\u0000 nul ok\"\n{\"a\":\n";
	write_file(path, text, sizeof text - 1);
	rad_jsonl *r = rad_jsonl_open(path, 1);
	json_t *v;
	int n = 0;
	while ((v = rad_jsonl_next(r))) {
		if (json_is_string(v)) EXPECT_EQ(json_string_length(v), 8);   /* embedded NUL kept */
		n++;
		json_decref(v);
	}
	EXPECT_EQ(n, 2);
	EXPECT_EQ(r->skipped, 2);
	fflush(stdout);
	int saved = dup(2), null = open("/dev/null", 1);
	dup2(null, 2);
	rad_jsonl_close(r);
	dup2(saved, 2);
	close(null); close(saved);
}

static void test_invalid_is_fatal(void)
{
	const char text[] = "{\"a\":1}\n\n{oops}\n";
	write_file(path, text, sizeof text - 1);
	fflush(stdout);
	int fd[2];
	if (pipe(fd)) return;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 2);
		rad_prog = "rad-test";
		rad_jsonl *r = rad_jsonl_open(path, 0);
		json_t *v;
		while ((v = rad_jsonl_next(r))) json_decref(v);
		exit(0);
	}
	close(fd[1]);
	char msg[512] = {0};
	size_t got = 0;
	ssize_t n;
	while (got < sizeof msg - 1 && (n = read(fd[0], msg + got, sizeof msg - 1 - got)) > 0) got += n;
	int st;
	waitpid(pid, &st, 0);
	EXPECT_EQ(WEXITSTATUS(st), 1);
	char want[300];
	snprintf(want, sizeof want, "rad-test: %s:3: invalid JSON", path);
	EXPECT_MSG(!strncmp(msg, want, strlen(want)), "message was: %s", msg);
}

static void test_long_line(void)
{
	/* A 3 MB line crosses many read chunks. */
	size_t n = 3 << 20;
	char *text = malloc(n + 16);
	text[0] = '"';
	memset(text + 1, 'x', n);
	memcpy(text + 1 + n, "\"\n", 2);
	write_file(path, text, n + 3);
	rad_jsonl *r = rad_jsonl_open(path, 0);
	json_t *v = rad_jsonl_next(r);
	EXPECT(v && json_string_length(v) == n);
	json_decref(v);
	EXPECT(rad_jsonl_next(r) == NULL);
	rad_jsonl_close(r);
	free(text);
}

static void test_write_roundtrip(void)
{
	const char *in = "{\"s\":\"caf\\u00e9 \\\"q\\\" \\\\ \\n\\t\\u0001\\u0000\",\"r\":[0.1,8.0,7.5,1e300,-2],\"b\":true,\"n\":null,\"o\":{}}";
	json_t *v = json_loads(in, JSON_ALLOW_NUL, NULL);
	EXPECT(v != NULL);
	rad_sink *k = rad_sink_open(path, 0, 0);
	rad_jsonl_write(k, v);
	rad_sink_close(k);
	FILE *f = fopen(path, "rb");
	char out[512] = {0};
	size_t got = fread(out, 1, sizeof out - 1, f);
	fclose(f);
	EXPECT_STR(out, "{\"s\":\"caf\xc3\xa9 \\\"q\\\" \\\\ \\n\\t\\u0001\\u0000\",\"r\":[0.1,8.0,7.5,1e+300,-2],\"b\":true,\"n\":null,\"o\":{}}\n");
	json_t *back = json_loadb(out, got, JSON_ALLOW_NUL, NULL);
	EXPECT(back && json_equal(v, back));
	json_decref(v);
	json_decref(back);
	char num[40];
	rad_format_double(num, sizeof num, 1.0 / 3);
	EXPECT_STR(num, "0.3333333333333333");
	rad_format_double(num, sizeof num, 10);
	EXPECT_STR(num, "10.0");
	rad_format_double(num, sizeof num, -100);
	EXPECT_STR(num, "-100.0");
	rad_format_double(num, sizeof num, 1e20);
	EXPECT_STR(num, "1e+20");
}

static void test_zstd_sink(void)
{
	rad_sink *k = rad_sink_open(zpath, 3, 0);
	for (int i = 0; i < 1000; i++) rad_sink_printf(k, "{\"i\":%d}\n", i);
	rad_sink_close(k);
	rad_jsonl *r = rad_jsonl_open(zpath, 0);
	EXPECT(rad_src_is_zstd(r->src));
	json_t *v;
	int n = 0;
	while ((v = rad_jsonl_next(r))) { EXPECT_EQ(json_integer_value(json_object_get(v, "i")), n); n++; json_decref(v); }
	EXPECT_EQ(n, 1000);
	rad_jsonl_close(r);
}

int main(void)
{
	if (!mkdtemp(dir)) return 1;
	snprintf(path, sizeof path, "%s/a.jsonl", dir);
	snprintf(zpath, sizeof zpath, "%s/a.jsonl.zst", dir);
	RUN(test_lines_crlf_blank);
	RUN(test_zstd_input);
	RUN(test_array_document);
	RUN(test_skip_invalid);
	RUN(test_invalid_is_fatal);
	RUN(test_long_line);
	RUN(test_write_roundtrip);
	RUN(test_zstd_sink);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd)) return 1;
	return test_status();
}
