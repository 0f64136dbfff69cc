/* test.h — the smallest unit-test harness that speaks tests/run's protocol.
 *
 *   static void test_roundtrip(void) { EXPECT(x == 1); EXPECT_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(test_roundtrip); return test_status(); }
 *
 * RUN prints "ok NAME" or "FAIL NAME: file:line: what" for each test. */
#ifndef RAD_TEST_H
#define RAD_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int test_failed_now, test_failures;
static char test_first_failure[512];

#define EXPECT(cond) do { if (!(cond)) test_fail_at(__FILE__, __LINE__, "%s", #cond); } while (0)
#define EXPECT_MSG(cond, ...) do { if (!(cond)) test_fail_at(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define EXPECT_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) test_fail_at(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)
#define EXPECT_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); \
	if (!(fabs(a_ - b_) <= (tol))) test_fail_at(__FILE__, __LINE__, "%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, (double)(tol)); } while (0)
#define EXPECT_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) test_fail_at(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define RUN(fn) test_run(#fn, fn)

__attribute__((format(printf, 3, 4), unused))
static void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	if (!test_failed_now) {
		va_list ap;
		int n = snprintf(test_first_failure, sizeof test_first_failure, "%s:%d: ", file, line);
		va_start(ap, fmt);
		vsnprintf(test_first_failure + n, sizeof test_first_failure - n, fmt, ap);
		va_end(ap);
	}
	test_failed_now++;
}

__attribute__((unused))
static void test_run(const char *name, void (*fn)(void))
{
	test_failed_now = 0;
	fn();
	if (test_failed_now) {
		printf("FAIL %s: %s", name, test_first_failure);
		if (test_failed_now > 1) printf(" (and %d more)", test_failed_now - 1);
		printf("\n");
		test_failures++;
	} else {
		printf("ok %s\n", name);
	}
	fflush(stdout);
}

__attribute__((unused))
static void test_skip(const char *name, const char *why) { printf("skip %s: %s\n", name, why); }

static inline int test_status(void) { return test_failures ? 1 : 0; }

#endif
