/* test_eval_metrics.c — rad-eval's numbers on hand-computed cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "eval/metrics.h"
#include "eval/generate.h"
#include "test.h"

static double field(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static void test_pref(void)
{
	rad_group g = {0};
	/* pair 1: rewards 0.1*(−3+5)=0.2, 0.1*(−6+4)=−0.2, margin 0.4
	 * pair 2: rewards 0.1*(−8+7)=−0.1, 0.1*(−2+3)=0.1, margin −0.2 */
	rad_pref_add(&g, 0.1, -3, -6, -5, -4, 3, 4);
	rad_pref_add(&g, 0.1, -8, -2, -7, -3, 5, 2);
	json_t *o = rad_pref_json(&g);
	EXPECT_EQ(json_integer_value(json_object_get(o, "pairs")), 2);
	EXPECT_NEAR(field(o, "rewards/chosen"), 0.05, 1e-9);
	EXPECT_NEAR(field(o, "rewards/rejected"), -0.05, 1e-9);
	EXPECT_NEAR(field(o, "rewards/margins"), 0.1, 1e-9);
	EXPECT_NEAR(field(o, "rewards/accuracies"), 0.5, 1e-12);
	EXPECT_NEAR(field(o, "logps/chosen"), -5.5, 1e-9);
	EXPECT_NEAR(field(o, "logps/rejected"), -4.0, 1e-9);
	EXPECT_NEAR(field(o, "loss"), (log1p(exp(-0.4)) + log1p(exp(0.2))) / 2, 1e-9);
	json_decref(o);
	/* a huge negative margin does not overflow */
	rad_group h = {0};
	rad_pref_add(&h, 1, -1000, 0, 0, 0, 1, 1);
	o = rad_pref_json(&h);
	EXPECT_NEAR(field(o, "loss"), 1000, 1e-6);
	json_decref(o);
}

static void test_lik(void)
{
	rad_group g = {0};
	rad_lik_add(&g, -10, 5, -3, 1);
	rad_lik_add(&g, -2, 3, -9, 5);
	json_t *o = rad_lik_json(&g);
	json_t *c = json_object_get(o, "chosen"), *r = json_object_get(o, "rejected");
	EXPECT_NEAR(field(c, "logp"), -6, 1e-12);
	EXPECT_NEAR(field(c, "logp_per_token"), -12.0 / 8, 1e-9);
	EXPECT_NEAR(field(r, "logp_per_token"), -12.0 / 6, 1e-9);
	EXPECT_EQ(json_integer_value(json_object_get(r, "tokens")), 6);
	json_decref(o);
}

static void test_where(void)
{
	rad_where w;
	EXPECT(rad_where_parse(&w, "score_rejected>=8") == NULL);
	EXPECT(rad_where_match(&w, 9, 8, ""));
	EXPECT(!rad_where_match(&w, 9, 7.5, ""));
	EXPECT(!rad_where_match(&w, 9, NAN, ""));
	rad_where_free(&w);
	EXPECT(rad_where_parse(&w, " gap > 2 ") == NULL);
	EXPECT(rad_where_match(&w, 9, 6.5, ""));
	EXPECT(!rad_where_match(&w, 9, 7, ""));
	rad_where_free(&w);
	EXPECT(rad_where_parse(&w, "score_chosen!=10") == NULL);
	EXPECT(!rad_where_match(&w, 10, 1, ""));
	rad_where_free(&w);
	EXPECT(rad_where_parse(&w, "goal==Overall score: 10.") == NULL);
	EXPECT(rad_where_match(&w, 1, 1, "Overall score: 10."));
	EXPECT(!rad_where_match(&w, 1, 1, "Overall score: 1."));
	rad_where_free(&w);
	EXPECT(rad_where_parse(&w, "score>=8") != NULL);
	EXPECT(rad_where_parse(&w, "gap~2") != NULL);
	EXPECT(rad_where_parse(&w, "gap>=two") != NULL);
	EXPECT(rad_where_parse(&w, "goal>=a") != NULL);
}

static void test_win_rate_and_groups(void)
{
	double a[] = {10, 7, 5, 9, 1}, b[] = {8, 7, 6, 3, 1};
	long long w, t, l;
	EXPECT_NEAR(rad_win_rate(a, b, 5, &w, &t, &l), (2 + 0.5 * 2) / 5, 1e-12);
	EXPECT_EQ(w, 2);
	EXPECT_EQ(t, 2);
	EXPECT_EQ(l, 1);
	EXPECT(isnan(rad_win_rate(a, b, 0, NULL, NULL, NULL)));
	char k[32];
	rad_gap_key(8, 6.5, k, sizeof k);
	EXPECT_STR(k, "1.5");
	rad_gap_key(6, 6, k, sizeof k);
	EXPECT_STR(k, "0");
	rad_gap_key(NAN, 6, k, sizeof k);
	EXPECT_STR(k, "none");
	rad_groups gs = {0};
	rad_groups_get(&gs, "10")->n++;
	rad_groups_get(&gs, "2")->n++;
	rad_groups_get(&gs, "10")->n++;
	rad_groups_sort(&gs);
	EXPECT_EQ(gs.n, 2);
	EXPECT_STR(gs.g[0].key, "2");   /* numerically, not "10" < "2" */
	EXPECT_EQ(gs.g[1].n, 2);
	rad_groups_free(&gs);
}

static void test_utf8_clean(void)
{
	size_t n;
	char *s = rad_utf8_clean("a\xe2\x82" "b\xff\xc3\xa9", 7, &n);
	EXPECT_STR(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xc3\xa9");   /* E2 82 is one maximal subpart */
	EXPECT_EQ(n, 10);
	free(s);
	s = rad_utf8_clean("\xed\xa0\x80", 3, &n);   /* a surrogate: three replacements */
	EXPECT_EQ(n, 9);
	free(s);
}

int main(void)
{
	RUN(test_pref);
	RUN(test_lik);
	RUN(test_where);
	RUN(test_win_rate_and_groups);
	RUN(test_utf8_clean);
	return test_status();
}
