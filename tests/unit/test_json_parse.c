/* test_json_parse.c — the fast parser against jansson's own decoder: the same values for
 * what jansson accepts, a refusal for what it refuses. */
#include <stdlib.h>
#include <string.h>

#include "base/json_parse.h"
#include "test.h"

/* Parses text both ways; they must agree on acceptance and, when accepted, on the value
 * (json_equal, plus the integer/real distinction json_equal ignores: compared by dump). */
static int agrees(const char *text, size_t n)
{
	json_error_t e;
	json_t *a = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	char err[160];
	size_t col;
	json_t *b = rad_json_parse(text, n, err, sizeof err, &col);
	int ok = (!a && !b && err[0] && col >= 1 && col <= n + 1) || (a && b && json_equal(a, b));
	if (ok && a) {
		char *da = json_dumps(a, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_COMPACT);
		char *db = json_dumps(b, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_COMPACT);
		ok = da && db && !strcmp(da, db);
		free(da); free(db);
	}
	json_decref(a);
	json_decref(b);
	return ok;
}

static void test_agrees_with_jansson(void)
{
	static const char *cases[] = {
		"{}", "[]", "0", "-0", "1.5", "-2e10", "1E+2", "0.000001", "12345678901234567", "9223372036854775807",
		"9223372036854775808", "-9223372036854775809", "1e400", "01", "1.", ".5", "-", "1e", "+1",
		"\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u20ac\\ud834\\udd1e\"", "\"\\u0000x\"",
		"\"\\ud834\"", "\"\\udd1e\"", "\"\\ud834\\u0041\"", "\"\\x\"", "\"\\u12\"", "\"abc", "\"tab\there\"",
		"\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9d\x84\x9e\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xff\"",
		"{\"a\":1,\"a\":2}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{1:2}", "{\"k\\u0000\":1}",
		"true", "false", "null", "tru", "nul", "[true,false,null]", " \t\r\n[1]\n ", "[1] x", "{\"a\":[{\"b\":{\"c\":[]}}]}",
		"{\"prompt\":[{\"role\":\"user\",\"content\":\"Hi\\r\\n\"}],\"score_chosen\":8.0,\"score_rejected\":7}",
		"", "   ", "[", "{", "{\"a\":", "[\"\\u00",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		EXPECT_MSG(agrees(cases[i], strlen(cases[i])), "case %zu: %s", i, cases[i]);
	EXPECT(agrees("\"a\0b\"", 5));            /* a raw NUL byte in a string: refused by both */
}

static void test_depth(void)
{
	size_t n = 5000;
	char *s = malloc(2 * n + 1);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = 0;
	EXPECT(agrees(s, 2 * n));                 /* too deep for both */
	EXPECT(agrees(s + n - 100, 200));         /* 100 deep: fine for both */
	free(s);
}

/* Random mutations of a realistic record: both parsers agree every time. */
static void test_mutations(void)
{
	const char *base = "{\"id\":\"a\\u00e9\",\"prompt\":[{\"role\":\"user\",\"content\":\"Caf\xc3\xa9 \\\"x\\\"\\n\"}],"
		"\"chosen\":\"\xf0\x9d\x84\x9e\",\"rejected\":\"b\",\"score_chosen\":8.5,\"score_rejected\":-1e-3,\"ok\":[true,null]}";
	size_t n = strlen(base);
	char *buf = malloc(n + 1);
	unsigned long long x = 88172645463325252ULL;
	static const char bytes[] = "\"\\{}[]:,0123456789.eE+-u tfn\x80\xc3\xff\x00";
	int bad = 0;
	for (int it = 0; it < 20000; it++) {
		memcpy(buf, base, n + 1);
		int edits = 1 + it % 3;
		for (int e = 0; e < edits; e++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			buf[x % n] = bytes[(x >> 32) % (sizeof bytes - 1)];
		}
		if (!agrees(buf, n) && bad++ < 3) EXPECT_MSG(0, "mutation %d disagrees: %s", it, buf);
	}
	free(buf);
}

int main(void)
{
	RUN(test_agrees_with_jansson);
	RUN(test_depth);
	RUN(test_mutations);
	return test_status();
}
