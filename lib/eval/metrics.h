/* eval/metrics.h — the numbers rad-eval reports, as plain functions over plain arrays.
 *
 * Preference metrics use TRL's names and definitions (DPOTrainer): with p the policy's
 * summed completion log-prob and r the reference's,
 *   rewards/chosen = beta (p_c - r_c), rewards/rejected = beta (p_r - r_r),
 *   rewards/margins = chosen - rejected, rewards/accuracies = share with chosen > rejected,
 *   logps/chosen, logps/rejected = p_c, p_r, loss = -log sigmoid(margins),
 * each the mean over pairs. */
#ifndef RAD_EVAL_METRICS_H
#define RAD_EVAL_METRICS_H

#include <jansson.h>
#include <stddef.h>

/* Sums kept per group (a goal, a score gap, or everything). */
enum { RAD_PM_LOSS, RAD_PM_RC, RAD_PM_RR, RAD_PM_ACC, RAD_PM_MARGIN, RAD_PM_LPC, RAD_PM_LPR,
       RAD_PM_TOKC, RAD_PM_TOKR, RAD_PM_N };

/* Likelihood sums: summed log-prob and tokens of chosen and rejected. */
enum { RAD_LK_LPC, RAD_LK_TOKC, RAD_LK_LPR, RAD_LK_TOKR, RAD_LK_N };

typedef struct rad_group {
	char *key;               /* NUL-terminated; key_len bytes (a goal may hold a NUL) */
	size_t key_len;
	long long n;
	double sum[16];          /* RAD_PM_* or RAD_LK_* */
} rad_group;

/* Groups by string key, kept in first-seen order (sorted when reported). */
typedef struct rad_groups {
	rad_group *g;
	size_t n, cap;
} rad_groups;

rad_group *rad_groups_get(rad_groups *gs, const char *key);
rad_group *rad_groups_getn(rad_groups *gs, const char *key, size_t len);
void rad_groups_free(rad_groups *gs);
/* Sorts groups by key: numerically when every key is a number, else bytewise.  No
 * groups, or one, is nothing to sort. */
void rad_groups_sort(rad_groups *gs);

/* Adds one pair's preference numbers to g. */
void rad_pref_add(rad_group *g, double beta, double pc, double pr, double rc, double rr, int ntc, int ntr);
/* {"pairs", "loss", "rewards/chosen", ... , "logps/chosen", "logps/rejected"} */
json_t *rad_pref_json(const rad_group *g);

void rad_lik_add(rad_group *g, double pc, int ntc, double pr, int ntr);
/* {"pairs", "chosen": {"logp", "logp_per_token", "tokens"}, "rejected": {...}}: logp is
 * the mean over pairs of the summed log-prob, logp_per_token the summed log-prob over
 * the summed tokens. */
json_t *rad_lik_json(const rad_group *g);

/* A pair filter: "FIELD OP VALUE", FIELD one of score_chosen, score_rejected, gap
 * (score_chosen - score_rejected), goal; OP one of >= <= > < == != ("=" is "=="); goal
 * compares text.  A pair without the score fails every numeric test. */
typedef struct rad_where {
	int field, op;
	double value;
	char *text;
} rad_where;
/* Parses s; NULL or what is wrong. */
const char *rad_where_parse(rad_where *w, const char *s);
int rad_where_match(const rad_where *w, double score_chosen, double score_rejected, const char *goal);
void rad_where_free(rad_where *w);

/* Win rate of a over b on n matched prompts: (wins + ties / 2) / n; counts returned. */
double rad_win_rate(const double *a, const double *b, size_t n, long long *wins, long long *ties, long long *losses);

/* The key of a score gap: the gap rounded to 0.5 ("2", "0.5", "-1"), "none" when a score
 * is missing. */
void rad_gap_key(double score_chosen, double score_rejected, char *out, size_t n);

#endif
