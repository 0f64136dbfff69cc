/* prefs/normalize.c — records to canonical pairs on one scale, with the score policies and
 * their counts (see normalize.h). */
#include <stdio.h>
#include <string.h>

#include "prefs/normalize.h"
#include "base/cli.h"

void rad_normalize_init(rad_normalize *n)
{
	memset(n, 0, sizeof *n);
	n->prefs.format = RAD_FMT_AUTO;
	rad_scale_init(&n->scale);
}

void rad_normalize_free(rad_normalize *n) { rad_scale_free(&n->scale); }

void rad_normalize_rank_add(rad_normalize *n, const json_t *in)
{
	json_t *pair;
	rad_prefs_info info;
	char why[512];
	if (rad_prefs_convert(in, &n->prefs, &pair, &info, why, sizeof why) != RAD_PREFS_OK) return;
	json_t *a = json_object_get(pair, "score_chosen"), *b = json_object_get(pair, "score_rejected");
	if (json_is_number(a) && json_is_number(b)) {
		rad_scale_rank_add(&n->scale, json_number_value(a));
		rad_scale_rank_add(&n->scale, json_number_value(b));
	}
	json_decref(pair);
}

void rad_normalize_ready(rad_normalize *n)
{
	if (n->scale.mode == RAD_SCALE_RANK) rad_scale_rank_ready(&n->scale);
	/* the target range means nothing to scores left as they are: bin those over the paper's 1 to 10 */
	int none = n->scale.mode == RAD_SCALE_NONE;
	rad_hist_init(&n->hist, none ? 1 : n->scale.lo, none ? 10 : n->scale.hi);
}

static void count_drop(rad_normalize_counts *c, const char *reason)
{
	for (int i = 0; i < RAD_NORMALIZE_REASONS; i++) {
		if (!c->drop_reasons[i]) c->drop_reasons[i] = reason;
		if (c->drop_reasons[i] == reason) { c->dropped_by[i]++; return; }
	}
}

static void swap_keys(json_t *o, const char *a, const char *b)
{
	json_t *x = json_incref(json_object_get(o, a)), *y = json_incref(json_object_get(o, b));
	if (!x || !y) { json_decref(x); json_decref(y); return; }
	json_object_set_new(o, a, y);
	json_object_set_new(o, b, x);
}

/* The raw score of one side checked against the source range, under the policy; 0 when the
 * pair goes (dropped, or an error in why). */
static int in_range(rad_normalize *n, const char *key, double *v, char *why, size_t whysz)
{
	if (rad_scale_accepts(&n->scale, *v)) return 1;
	if (n->out_of_range == RAD_RANGE_CLAMP) {
		*v = rad_scale_clamp(&n->scale, *v);
		n->counts.clamped++;
		return 1;
	}
	if (n->out_of_range == RAD_RANGE_DROP) return 0;
	char num[40], range[96];
	rad_score_text(num, *v);
	rad_scale_source_text(&n->scale, range);
	if (n->scale.mode == RAD_SCALE_NONE)
		snprintf(why, whysz, "%s %s is off the scale %s, where --scale-by none keeps scores: map the scores "
		         "onto it with --scale-by linear --from LO:HI (or --scale-by rank), or --out-of-range drop|clamp",
		         key, num, range + strlen("--scale "));
	else
		snprintf(why, whysz, "%s %s is outside %s: widen --from to the scores' range, or --out-of-range drop|clamp",
		         key, num, range);
	return 0;
}

/* Scores through the scale and the tie/inversion policies. */
static int apply_scores(rad_normalize *n, json_t *pair, char *why, size_t whysz)
{
	rad_normalize_counts *c = &n->counts;
	json_t *jc = json_object_get(pair, "score_chosen"), *jr = json_object_get(pair, "score_rejected");
	if (!json_is_number(jc) || !json_is_number(jr)) {
		rad_hist_add_null(&n->hist);
		rad_hist_add_null(&n->hist);
		return RAD_NORMALIZE_PAIR;
	}
	double vc = json_number_value(jc), vr = json_number_value(jr);
	*why = 0;
	if (!in_range(n, "score_chosen", &vc, why, whysz) || !in_range(n, "score_rejected", &vr, why, whysz)) {
		if (*why) return RAD_NORMALIZE_ERROR;
		c->range_drop++;
		return RAD_NORMALIZE_DROP;
	}
	vc = rad_scale_apply(&n->scale, vc);
	vr = rad_scale_apply(&n->scale, vr);
	json_object_set_new(pair, "score_chosen", json_real(vc));
	json_object_set_new(pair, "score_rejected", json_real(vr));
	if (vc == vr) {
		c->ties++;
		if (n->ties == RAD_ORDER_DROP) { c->tie_drop++; return RAD_NORMALIZE_DROP; }
	} else if (vc < vr) {
		c->inverted++;
		if (n->inverted == RAD_ORDER_DROP) { c->inv_drop++; return RAD_NORMALIZE_DROP; }
		if (n->inverted == RAD_ORDER_SWAP) {
			c->inv_swap++;
			swap_keys(pair, "chosen", "rejected");
			swap_keys(pair, "score_chosen", "score_rejected");
			swap_keys(pair, "ratings_chosen", "ratings_rejected");
			json_t *src = json_object_get(pair, "source");
			json_object_set_new(src, "swapped", json_true());
			double t = vc; vc = vr; vr = t;
		}
	}
	rad_hist_add(&n->hist, vc);
	rad_hist_add(&n->hist, vr);
	return RAD_NORMALIZE_PAIR;
}

int rad_normalize_record(rad_normalize *n, const json_t *in, json_t **out, char *why, size_t whysz)
{
	rad_normalize_counts *c = &n->counts;
	if ((++c->in & 1023) == 0) rad_progress("%lld records, %lld pairs", c->in, c->out);
	json_t *pair;
	rad_prefs_info info;
	int st = rad_prefs_convert(in, &n->prefs, &pair, &info, why, whysz);
	c->unrated += info.completions_unrated;
	if (st == RAD_PREFS_INVALID) { c->invalid++; return RAD_NORMALIZE_INVALID; }
	if (st == RAD_PREFS_DROP) { count_drop(c, info.drop_reason); return RAD_NORMALIZE_DROP; }
	if (info.scores_missing && n->missing != RAD_MISSING_NULL) {
		json_decref(pair);
		if (n->missing == RAD_MISSING_DROP) { c->missing++; return RAD_NORMALIZE_DROP; }
		snprintf(why, whysz, "a score is missing or not a number (--missing)");
		return RAD_NORMALIZE_ERROR;
	}
	if ((st = apply_scores(n, pair, why, whysz)) != RAD_NORMALIZE_PAIR) { json_decref(pair); return st; }
	c->out++;
	c->formats[info.format]++;
	*out = pair;
	return RAD_NORMALIZE_PAIR;
}

void rad_normalize_summary(const rad_normalize *n)
{
	const rad_normalize_counts *c = &n->counts;
	long long dropped = c->missing + c->tie_drop + c->inv_drop + c->range_drop;
	for (int i = 0; i < RAD_NORMALIZE_REASONS; i++) dropped += c->dropped_by[i];
	if (!rad_verbose) {
		if (dropped || c->invalid || c->clamped)
			rad_warn(NULL, "%lld of %lld records dropped, %lld invalid skipped, %lld scores clamped into the range (--verbose for reasons)",
				dropped, c->in, c->invalid, c->clamped);
		return;
	}
	fprintf(stderr, "%s: records in %lld, pairs out %lld, invalid skipped %lld, dropped %lld", rad_prog,
		c->in, c->out, c->invalid, dropped);
	fprintf(stderr, " (missing score %lld, tie %lld, inverted %lld, out of range %lld", c->missing, c->tie_drop,
		c->inv_drop, c->range_drop);
	for (int i = 0; i < RAD_NORMALIZE_REASONS && c->drop_reasons[i]; i++)
		fprintf(stderr, ", %s %lld", c->drop_reasons[i], c->dropped_by[i]);
	fprintf(stderr, "); ties %lld, inverted %lld (swapped %lld); scores clamped %lld", c->ties, c->inverted,
		c->inv_swap, c->clamped);
	if (c->unrated) fprintf(stderr, "; completions without full ratings %lld", c->unrated);
	fprintf(stderr, "; formats:");
	for (int f = 1; f < RAD_FMT_COUNT; f++)
		if (c->formats[f]) fprintf(stderr, " %s %lld", rad_prefs_format_name(f), c->formats[f]);
	fprintf(stderr, "\n");
	char prefix[64];
	snprintf(prefix, sizeof prefix, "%s: ", rad_prog);
	rad_hist_print(&n->hist, stderr, prefix);
}
