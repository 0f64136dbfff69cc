/* prefs/normalize.c — records to canonical pairs on one scale, with the score policies and
 * their counts (see normalize.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs/normalize.h"
#include "base/cli.h"

void rad_normalize_init(rad_normalize *n)
{
	memset(n, 0, sizeof *n);
	n->prefs.format = RAD_FMT_AUTO;
	rad_scale_init(&n->scale);
}

void rad_normalize_free(rad_normalize *n)
{
	rad_scale_free(&n->scale);
	for (int f = 0; f < RAD_SAMPLE_FIELDS; f++) rad_scale_free(&n->field_scale[f]);
	rad_response_set_free(&n->set);
	free(n->picks);
}

/* Each score field's scale: the score's settings, its own first-pass values. */
static void field_scales(rad_normalize *n)
{
	for (int f = 0; f < n->nfields && f < RAD_SAMPLE_FIELDS; f++) {
		rad_scale *fs = &n->field_scale[f];
		if (fs->cap || fs->n) continue;   /* set up already (values only come after) */
		*fs = n->scale;
		fs->sorted = NULL;
		fs->n = fs->cap = 0;
	}
}

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
	field_scales(n);
	if (n->scale.mode == RAD_SCALE_RANK || n->scale.mode == RAD_SCALE_MINMAX) {
		rad_scale_rank_ready(&n->scale);
		for (int f = 0; f < n->nfields; f++) rad_scale_rank_ready(&n->field_scale[f]);
	}
	memset(&n->counts, 0, sizeof n->counts);   /* a first pass counts nothing */
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
static int in_range(rad_normalize *n, const rad_scale *sc, const char *key, double *v, char *why, size_t whysz)
{
	if (rad_scale_accepts(sc, *v)) return 1;
	if (n->out_of_range == RAD_RANGE_CLAMP) {
		*v = rad_scale_clamp(sc, *v);
		n->counts.clamped++;
		return 1;
	}
	if (n->out_of_range == RAD_RANGE_DROP) return 0;
	char num[40], range[96];
	rad_score_text(num, *v);
	rad_scale_source_text(sc, range);
	if (sc->mode == RAD_SCALE_NONE)
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
	if (!in_range(n, &n->scale, "score_chosen", &vc, why, whysz) || !in_range(n, &n->scale, "score_rejected", &vr, why, whysz)) {
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

/* --- pairs picked from a prompt's scored responses (samples.h) ---------------------------- */

/* The ratings of the score fields of a pair from sample records, through their scales;
 * 0 when the pair goes (dropped by the range policy, or an error in why). */
static int scale_ratings(rad_normalize *n, json_t *pair, char *why, size_t whysz)
{
	static const char *const sides[2] = { "ratings_chosen", "ratings_rejected" };
	*why = 0;
	for (int side = 0; side < 2; side++) {
		json_t *r = json_object_get(pair, sides[side]);
		for (int f = 0; f < n->nfields && r; f++) {
			const char *dot = strrchr(n->fields[f], '.'), *key = dot ? dot + 1 : n->fields[f];
			double v = json_number_value(json_object_get(r, key));
			if (!in_range(n, &n->field_scale[f], key, &v, why, whysz)) return 0;
			json_object_set_new(r, key, json_real(rad_scale_apply(&n->field_scale[f], v)));
		}
	}
	return 1;
}

/* The first pass's values of one picked pair: both scores, and each rating. */
static void first_pass_add(rad_normalize *n, const json_t *pair, int fmt)
{
	rad_scale_rank_add(&n->scale, json_number_value(json_object_get(pair, "score_chosen")));
	rad_scale_rank_add(&n->scale, json_number_value(json_object_get(pair, "score_rejected")));
	for (int f = 0; f < n->nfields && n->nfields > 1 && fmt == RAD_FMT_SAMPLES; f++) {
		const char *dot = strrchr(n->fields[f], '.'), *key = dot ? dot + 1 : n->fields[f];
		rad_scale_rank_add(&n->field_scale[f], json_number_value(json_object_get(json_object_get(pair, "ratings_chosen"), key)));
		rad_scale_rank_add(&n->field_scale[f], json_number_value(json_object_get(json_object_get(pair, "ratings_rejected"), key)));
	}
}

/* A response's name in a pair id: its "sample", else its place in the set. */
static long long response_name(const rad_response_set *s, size_t i)
{
	json_t *k = json_object_get(s->r[i].extra, "sample");
	return json_is_integer(k) ? (long long)json_integer_value(k) : (long long)i;
}

/* The pairs of the prompt in n->set, scaled and counted, to emit; the set is emptied.
 * RAD_NORMALIZE_PAIR, or RAD_NORMALIZE_ERROR with why. */
static int pick_pairs(rad_normalize *n, rad_pair_emit emit, void *ctx, char *why, size_t whysz)
{
	rad_response_set *s = &n->set;
	rad_normalize_counts *c = &n->counts;
	if (!s->id) return RAD_NORMALIZE_PAIR;
	int st = RAD_NORMALIZE_PAIR, fmt = !strcmp(s->count_key, "samples") ? RAD_FMT_SAMPLES : RAD_FMT_UF;
	c->prompts++;
	c->unscored += s->unscored;
	if (s->expect && s->records != s->expect) {
		snprintf(why, whysz, "prompt %s (from %s): %lld of its %lld responses are here: a prompt's sample lines must "
		         "come together (shard grouped samples, rad-eval generate --group, not lines)", json_string_value(s->id),
		         s->where, s->records, s->expect);
		st = RAD_NORMALIZE_ERROR;
	} else if (s->n < 2) {
		c->singles++;
	} else {
		size_t most = s->n * (s->n - 1) / 2;
		if (n->pick_cap < most) n->picks = rad_realloc(n->picks, (n->pick_cap = most) * sizeof *n->picks);
		double *score = rad_malloc(s->n * sizeof *score);
		for (size_t i = 0; i < s->n; i++) score[i] = s->r[i].score;
		rad_pick_counts pc = {0};
		int rule = n->rule != RAD_RULE_NONE ? n->rule : RAD_RULE_BEST_WORST;
		size_t k = rad_pairs_pick(rule, score, s->n, n->min_gap, n->prefs.seed, json_string_value(s->id),
		                          json_string_length(s->id), n->picks, &pc);
		free(score);
		c->pick_ties += pc.ties;
		c->small_gaps += pc.small_gaps;
		for (size_t i = 0; i < k && st == RAD_NORMALIZE_PAIR; i++) {
			char suffix[64];
			snprintf(suffix, sizeof suffix, "#%lld-%lld", response_name(s, n->picks[i].chosen),
			         response_name(s, n->picks[i].rejected));
			json_t *pair = rad_response_set_pair(s, n->picks[i].chosen, n->picks[i].rejected,
			                                     rule == RAD_RULE_ALL ? suffix : NULL);
			int ps = RAD_NORMALIZE_PAIR;
			if (n->first_pass) {
				first_pass_add(n, pair, fmt);
				ps = RAD_NORMALIZE_DROP;
			} else if (fmt == RAD_FMT_SAMPLES && !scale_ratings(n, pair, why, whysz)) {
				ps = *why ? RAD_NORMALIZE_ERROR : RAD_NORMALIZE_DROP;
				if (ps == RAD_NORMALIZE_DROP) c->range_drop++;
			} else {
				ps = apply_scores(n, pair, why, whysz);
			}
			if (ps == RAD_NORMALIZE_ERROR) st = ps;
			if (ps != RAD_NORMALIZE_PAIR) { json_decref(pair); continue; }
			c->out++;
			c->formats[fmt]++;
			emit(ctx, pair);
		}
	}
	rad_response_set_clear(s);
	return st;
}

/* 1 when the record is read as scored samples, 2 as raw UltraFeedback under a rule. */
static int by_rule(const rad_normalize *n, const json_t *in)
{
	int f = n->prefs.format;
	if (f == RAD_FMT_SAMPLES || (f == RAD_FMT_AUTO && rad_samples_is(in))) return 1;
	if (n->rule == RAD_RULE_NONE) return 0;
	char why[8];
	return f == RAD_FMT_UF || (f == RAD_FMT_AUTO && rad_prefs_detect(in, why, sizeof why) == RAD_FMT_UF) ? 2 : 0;
}

int rad_normalize_feed(rad_normalize *n, const json_t *in, const char *where, rad_pair_emit emit, void *ctx,
                       char *why, size_t whysz)
{
	rad_normalize_counts *c = &n->counts;
	int kind = by_rule(n, in), st;
	field_scales(n);
	if (kind == 1) {
		size_t len;
		const char *id = rad_samples_id(in, &len);
		if (n->set.id && !(id && len == json_string_length(n->set.id) && !memcmp(id, json_string_value(n->set.id), len))
		    && (st = pick_pairs(n, emit, ctx, why, whysz)) == RAD_NORMALIZE_ERROR)
			return st;
		if ((++c->in & 1023) == 0) rad_progress("%lld records, %lld pairs", c->in, c->out);
		if (!n->set.id) snprintf(n->set.where, sizeof n->set.where, "%s", where);
		if (rad_samples_add(&n->set, in, n->fields, n->nfields, why, whysz)) {
			n->set.expect = 0;   /* a line of the prompt is missing: its count no longer tells a split */
			if (!n->set.n && !n->set.records) rad_response_set_clear(&n->set);
			c->invalid++;
			return RAD_NORMALIZE_INVALID;
		}
		return RAD_NORMALIZE_PAIR;
	}
	if ((st = pick_pairs(n, emit, ctx, why, whysz)) == RAD_NORMALIZE_ERROR) return st;
	if (kind == 2) {
		rad_prefs_info info;
		memset(&info, 0, sizeof info);
		c->in++;
		snprintf(n->set.where, sizeof n->set.where, "%s", where);
		st = rad_prefs_uf_set(in, &n->prefs, &n->set, &info, why, whysz);
		c->unrated += info.completions_unrated;
		if (st != RAD_PREFS_OK) {
			rad_response_set_clear(&n->set);
			if (st == RAD_PREFS_INVALID) { c->invalid++; return RAD_NORMALIZE_INVALID; }
			count_drop(c, info.drop_reason);
			return RAD_NORMALIZE_DROP;
		}
		return pick_pairs(n, emit, ctx, why, whysz);
	}
	if (n->nfields && n->nfields != 2) {
		snprintf(why, whysz, "--score-fields names %d field%s: a pair record takes two, CHOSEN,REJECTED", n->nfields,
		         n->nfields == 1 ? "" : "s");
		return RAD_NORMALIZE_ERROR;
	}
	if (n->first_pass) {
		rad_normalize_rank_add(n, in);
		return RAD_NORMALIZE_DROP;
	}
	json_t *pair;
	st = rad_normalize_record(n, in, &pair, why, whysz);
	if (st == RAD_NORMALIZE_PAIR) emit(ctx, pair);
	return st;
}

int rad_normalize_end(rad_normalize *n, rad_pair_emit emit, void *ctx, char *why, size_t whysz)
{
	return pick_pairs(n, emit, ctx, why, whysz);
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
		if (c->singles || c->unscored || c->pick_ties || c->small_gaps)
			rad_warn(NULL, "%lld pairs by %s from %lld prompts; not made: %lld prompts with fewer than 2 scored responses, "
			         "%lld responses without a score, %lld ties, %lld gaps below --min-gap", c->out,
			         rad_pair_rule_name(n->rule ? n->rule : RAD_RULE_BEST_WORST), c->prompts, c->singles, c->unscored,
			         c->pick_ties, c->small_gaps);
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
	if (c->prompts)
		fprintf(stderr, "; pairs by %s from %lld prompts (fewer than 2 scored responses %lld, responses without a score %lld, "
		        "ties %lld, gaps below --min-gap %lld)", rad_pair_rule_name(n->rule ? n->rule : RAD_RULE_BEST_WORST),
		        c->prompts, c->singles, c->unscored, c->pick_ties, c->small_gaps);
	fprintf(stderr, "; formats:");
	for (int f = 1; f < RAD_FMT_COUNT; f++)
		if (c->formats[f]) fprintf(stderr, " %s %lld", rad_prefs_format_name(f), c->formats[f]);
	fprintf(stderr, "\n");
	char prefix[64];
	snprintf(prefix, sizeof prefix, "%s: ", rad_prog);
	rad_hist_print(&n->hist, stderr, prefix);
}
