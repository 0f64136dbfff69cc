/* test_reversal.c — the demo task: judge scores worked out by hand, the teacher's
 * distributions against the numbers that define them, prompts keyed by id. */
#include "test.h"
#include "../../pipelines/demo/reversal.h"

#include <stdlib.h>

static void test_judge_by_hand(void)
{
	/* prompt 123456789: the ideal digits are 987654321 */
	const char *p = "123456789";
	EXPECT_EQ(rad_rev_score(p, "COMMIT 987654321"), 10);
	EXPECT_EQ(rad_rev_score(p, "HEDGE 987654321"), 7);       /* capped */
	EXPECT_EQ(rad_rev_score(p, "HEDGE 987654300"), 7);       /* 1 + 7 = 8, capped */
	EXPECT_EQ(rad_rev_score(p, "HEDGE 987600000"), 5);       /* 1 + 4 */
	EXPECT_EQ(rad_rev_score(p, "HEDGE 000000000"), 1);       /* no 0 in the ideal */
	EXPECT_EQ(rad_rev_score(p, "COMMIT 087654321"), 9);
	EXPECT_EQ(rad_rev_score(p, "COMMIT 123456789"), 2);      /* only the middle 5 matches */
	EXPECT_EQ(rad_rev_score(p, "COMMIT 9876"), 5);           /* short: 4 positions */
	EXPECT_EQ(rad_rev_score(p, "  COMMIT 987654329"), 9);    /* leading space skipped */
	EXPECT_EQ(rad_rev_score(p, "COMMIT 98765432100"), 10);   /* only 9 characters count */
	EXPECT_EQ(rad_rev_score(p, "commit 987654321"), 1);      /* no style word */
	EXPECT_EQ(rad_rev_score(p, "COMMIT987654321"), 1);
	EXPECT_EQ(rad_rev_score(p, ""), 1);
}

static void test_find_prompt(void)
{
	char d[RAD_REV_LEN + 1];
	const char *t = "You are an assistant ... (on a scale of 1-10, where 1 is lowest and 10 is "
	                "highest):\nOverall score: 10.\n\n405060708";
	EXPECT_EQ(rad_rev_find_prompt(t, strlen(t), d), 0);
	EXPECT_STR(d, "405060708");
	EXPECT_EQ(rad_rev_find_prompt("1234567890", 10, d), -1);   /* 10 digits */
	EXPECT_EQ(rad_rev_find_prompt("12345678", 8, d), -1);
	EXPECT_EQ(rad_rev_find_prompt("111111111 x 222222222", 21, d), 0);
	EXPECT_STR(d, "222222222");                                /* the last run */
	/* the length bounds the search: a NUL-free text cut short */
	EXPECT_EQ(rad_rev_find_prompt("123456789", 8, d), -1);
}

static void test_pick(void)
{
	EXPECT_EQ(rad_rev_pick(RAD_REV_HEDGE_K, 3, 0.0), 0);
	EXPECT_EQ(rad_rev_pick(RAD_REV_HEDGE_K, 3, 0.59), 0);
	EXPECT_EQ(rad_rev_pick(RAD_REV_HEDGE_K, 3, 0.61), 1);
	EXPECT_EQ(rad_rev_pick(RAD_REV_HEDGE_K, 3, 0.89), 1);
	EXPECT_EQ(rad_rev_pick(RAD_REV_HEDGE_K, 3, 0.95), 2);
	EXPECT_EQ(rad_rev_pick(RAD_REV_COMMIT_K, 10, 0.999999), 9);
	double s = 0;
	for (int k = 0; k < 10; k++) s += RAD_REV_COMMIT_K[k];
	EXPECT_NEAR(s, 1.0, 1e-12);
}

static void test_prompt_keyed(void)
{
	char a[RAD_REV_LEN + 1], b[RAD_REV_LEN + 1], c[RAD_REV_LEN + 1], i[RAD_REV_LEN + 1];
	rad_rev_prompt(0, "train-0-000001", a);
	rad_rev_prompt(0, "train-0-000001", b);
	rad_rev_prompt(1, "train-0-000001", c);
	EXPECT_STR(a, b);
	EXPECT(strcmp(a, c) != 0);
	EXPECT_EQ(strlen(a), 9);
	EXPECT_EQ(strspn(a, "0123456789"), 9);
	rad_rev_ideal("123456789", i);
	EXPECT_STR(i, "987654321");
}

/* Draws many answers and checks each against its own draw, and the frequencies against
 * the distributions (tolerances are 6 standard deviations). */
static void test_teacher(void)
{
	enum { N = 400000 };
	rad_rng r;
	rad_rng_seed(&r, 42);
	long hedged = 0, kc[10] = {0}, kh[3] = {0}, ncommit = 0, wrong = 0, plus1 = 0, perfect = 0;
	long other[10] = {0}, nother = 0;
	double sum_commit = 0, sum_hedge = 0;
	int bad = 0;
	for (long n = 0; n < N; n++) {
		char prompt[RAD_REV_LEN + 1], ideal[RAD_REV_LEN + 1], ans[RAD_REV_ANS_MAX];
		for (int i = 0; i < RAD_REV_LEN; i++) prompt[i] = (char)('0' + rad_rng_next(&r) % 10);
		prompt[RAD_REV_LEN] = 0;
		rad_rev_ideal(prompt, ideal);
		rad_rev_draw d;
		int s = rad_rev_teacher(&r, prompt, ans, &d);
		bad += s != rad_rev_score(prompt, ans);
		const char *digits = ans + (d.hedged ? 6 : 7);
		bad += strncmp(ans, d.hedged ? "HEDGE " : "COMMIT ", d.hedged ? 6 : 7) != 0;
		bad += strlen(digits) != RAD_REV_LEN;
		int mism = 0, p1 = 0;
		for (int i = 0; i < RAD_REV_LEN; i++) {
			int id = ideal[i] - '0', g = digits[i] - '0';
			if (g == id) continue;
			mism++;
			int off = (g - id + 10) % 10;
			if (off == 1) p1++;
			else { other[off]++; nother++; }
		}
		bad += mism != d.wrong || p1 != d.plus1;
		wrong += d.wrong; plus1 += d.plus1;
		perfect += s == 10;
		if (d.hedged) { hedged++; kh[d.wrong]++; sum_hedge += s; }
		else { ncommit++; kc[d.wrong]++; sum_commit += s; }
	}
	EXPECT_EQ(bad, 0);
	EXPECT_NEAR((double)hedged / N, 0.5, 6 * sqrt(0.25 / N));
	for (int k = 0; k < 10; k++) {
		double p = RAD_REV_COMMIT_K[k];
		EXPECT_NEAR((double)kc[k] / ncommit, p, 6 * sqrt(p * (1 - p) / ncommit));
	}
	for (int k = 0; k < 3; k++) {
		double p = RAD_REV_HEDGE_K[k];
		EXPECT_NEAR((double)kh[k] / hedged, p, 6 * sqrt(p * (1 - p) / hedged));
	}
	EXPECT_NEAR((double)plus1 / wrong, 0.7, 6 * sqrt(0.21 / wrong));
	/* the other wrong digits: offsets 2..9 from the ideal, uniform */
	EXPECT_EQ(other[0], 0);
	for (int off = 2; off < 10; off++)
		EXPECT_NEAR((double)other[off] / nother, 0.125, 6 * sqrt(0.125 * 0.875 / nother));
	/* By hand: E[k | commit] = .04 + .2 + .45 + .72 + .9 + .84 + .7 + .48 + .36 = 4.69, so
	 * a committed answer scores 10 - 4.69 = 5.31 on average; a hedged one has k <= 2, so
	 * 8..10 before the cap: always 7.  Perfect answers: 0.5 x 0.01 = 0.005. */
	EXPECT_NEAR(sum_commit / ncommit, 5.31, 0.02);
	EXPECT_NEAR(sum_hedge / hedged, 7.0, 1e-12);
	EXPECT_NEAR((double)perfect / N, 0.005, 6 * sqrt(0.005 * 0.995 / N));
}

/* An answer of a chosen score: the judge agrees, and the style and number of wrong digits
 * follow the teacher's distribution given the score.  By hand: score 7 comes from every
 * hedged answer (probability 0.5) or a committed one with 3 wrong digits (0.5 x 0.15), so
 * it is hedged with probability 0.5 / 0.575 = 0.8696, and then k = 0, 1, 2 with 0.6, 0.3,
 * 0.1; any other score s is committed with k = 10 - s. */
static void test_teacher_at(void)
{
	enum { N = 20000 };
	rad_rng r;
	rad_rng_seed(&r, 7);
	int bad = 0;
	long hedged7 = 0, kh7[3] = {0};
	for (int s = 1; s <= 10; s++) {
		for (long n = 0; n < N; n++) {
			char prompt[RAD_REV_LEN + 1], ans[RAD_REV_ANS_MAX];
			for (int i = 0; i < RAD_REV_LEN; i++) prompt[i] = (char)('0' + rad_rng_next(&r) % 10);
			prompt[RAD_REV_LEN] = 0;
			rad_rev_draw d;
			int got = rad_rev_teacher_at(&r, prompt, s, ans, &d);
			bad += got != s || rad_rev_score(prompt, ans) != s;
			if (s == 7) {
				if (d.hedged) { hedged7++; kh7[d.wrong]++; }
				else bad += d.wrong != 3;
			} else {
				bad += d.hedged || d.wrong != 10 - s;
			}
		}
	}
	EXPECT_EQ(bad, 0);
	double ph = 0.5 / 0.575;
	EXPECT_NEAR((double)hedged7 / N, ph, 6 * sqrt(ph * (1 - ph) / N));
	for (int k = 0; k < 3; k++) {
		double p = RAD_REV_HEDGE_K[k];
		EXPECT_NEAR((double)kh7[k] / hedged7, p, 6 * sqrt(p * (1 - p) / hedged7));
	}
	char ans[RAD_REV_ANS_MAX];
	EXPECT_EQ(rad_rev_teacher_at(&r, "123456789", 0, ans, NULL), -1);
	EXPECT_EQ(rad_rev_teacher_at(&r, "123456789", 11, ans, NULL), -1);
}

int main(void)
{
	RUN(test_judge_by_hand);
	RUN(test_find_prompt);
	RUN(test_pick);
	RUN(test_prompt_keyed);
	RUN(test_teacher);
	RUN(test_teacher_at);
	return test_status();
}
