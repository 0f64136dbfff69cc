/* test_pairs.c — the pair rules on a prompt's scored responses, against pairs worked out
 * by hand (prefs/samples.h). */
#include <string.h>

#include "base/keyed.h"
#include "prefs/samples.h"
#include "test.h"

/* The picks as "c>r c>r ..." with the counts, for comparing with a hand-written line. */
static const char *picks(int rule, const double *s, size_t n, double gap)
{
	static char out[256];
	rad_pick p[32];
	rad_pick_counts c = {0};
	size_t k = rad_pairs_pick(rule, s, n, gap, 7, "prompt-1", 8, p, &c);
	int len = 0;
	for (size_t i = 0; i < k; i++) len += snprintf(out + len, sizeof out - len, "%zu>%zu ", p[i].chosen, p[i].rejected);
	snprintf(out + len, sizeof out - len, "ties %lld small %lld", c.ties, c.small_gaps);
	return out;
}

static void test_best_worst(void)
{
	/* the first of the two 7s is the best, the 1 the worst */
	double a[] = {3, 7, 1, 7};
	EXPECT_STR(picks(RAD_RULE_BEST_WORST, a, 4, 0), "1>2 ties 0 small 0");
	/* reward-model scores: negative, fractional */
	double b[] = {-0.5, 0.25, -1.75};
	EXPECT_STR(picks(RAD_RULE_BEST_WORST, b, 3, 0), "1>2 ties 0 small 0");
	/* the same score everywhere: no pair, one tie */
	double c[] = {5, 5, 5};
	EXPECT_STR(picks(RAD_RULE_BEST_WORST, c, 3, 0), "ties 1 small 0");
	/* a gap of 0.5 under a minimum of 1: no pair, one small gap; 1 exactly is enough */
	double d[] = {2, 2.5};
	EXPECT_STR(picks(RAD_RULE_BEST_WORST, d, 2, 1), "ties 0 small 1");
	EXPECT_STR(picks(RAD_RULE_BEST_WORST, d, 2, 0.5), "1>0 ties 0 small 0");
	/* one response, or none: nothing to pair, nothing counted */
	EXPECT_STR(picks(RAD_RULE_BEST_WORST, a, 1, 0), "ties 0 small 0");
	EXPECT_STR(picks(RAD_RULE_ALL, a, 0, 0), "ties 0 small 0");
}

static void test_all(void)
{
	/* every two of 3 7 1 7, in the order (0,1) (0,2) (0,3) (1,2) (1,3) (2,3), the higher
	 * first: 1>0, 0>2, 3>0, 1>2, a tie of the two 7s, 3>2 */
	double a[] = {3, 7, 1, 7};
	EXPECT_STR(picks(RAD_RULE_ALL, a, 4, 0), "1>0 0>2 3>0 1>2 3>2 ties 1 small 0");
	/* gaps 4, 2, 4, 6, 0, 6 under a minimum of 4: the gap of 2 is too small */
	EXPECT_STR(picks(RAD_RULE_ALL, a, 4, 4), "1>0 3>0 1>2 3>2 ties 1 small 1");
	double c[] = {1, 1};
	EXPECT_STR(picks(RAD_RULE_ALL, c, 2, 0), "ties 1 small 0");
}

static void test_best_random(void)
{
	/* the rejected one is the binarization's draw: rad_keyed_below over the n - 1 others,
	 * skipping the best; worked here for best = 1 of 4 */
	double a[] = {3, 7, 1, 2};
	uint64_t k = rad_keyed_below("ultrafeedback-rejected", 7, "prompt-1", 8, 3);
	char want[64];
	snprintf(want, sizeof want, "1>%d ties 0 small 0", (int)(k >= 1 ? k + 1 : k));
	EXPECT_STR(picks(RAD_RULE_BEST_RANDOM, a, 4, 0), want);
	/* the draw never gives the best, and reaches every other one */
	int seen[5] = {0};
	for (int i = 0; i < 400; i++) {
		char id[32];
		snprintf(id, sizeof id, "p%d", i);
		size_t o = rad_pick_other(2, 5, 3, id, strlen(id));
		EXPECT(o != 2 && o < 5);
		if (o < 5) seen[o]++;
	}
	EXPECT(seen[0] > 60 && seen[1] > 60 && seen[3] > 60 && seen[4] > 60 && !seen[2]);
	/* a draw that ties with the best is not made, and counted */
	double t[] = {4, 4};
	EXPECT_STR(picks(RAD_RULE_BEST_RANDOM, t, 2, 0), "ties 1 small 0");
}

static void test_names(void)
{
	EXPECT_EQ(rad_pair_rule_parse("best-worst"), RAD_RULE_BEST_WORST);
	EXPECT_EQ(rad_pair_rule_parse("best-random"), RAD_RULE_BEST_RANDOM);
	EXPECT_EQ(rad_pair_rule_parse("all"), RAD_RULE_ALL);
	EXPECT_EQ(rad_pair_rule_parse("worst"), -1);
	EXPECT_STR(rad_pair_rule_name(RAD_RULE_ALL), "all");
}

int main(void)
{
	RUN(test_best_worst);
	RUN(test_all);
	RUN(test_best_random);
	RUN(test_names);
	return test_status();
}
