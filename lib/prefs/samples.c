/* prefs/samples.c — pairs picked from one prompt's scored responses (see samples.h). */
#include "prefs/samples.h"
#include "prefs/formats.h"
#include "base/cli.h"
#include "base/keyed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_names[] = { "", "best-worst", "best-random", "all" };

int rad_pair_rule_parse(const char *name)
{
	for (int i = RAD_RULE_BEST_WORST; i <= RAD_RULE_ALL; i++)
		if (!strcmp(name, rule_names[i])) return i;
	return -1;
}

const char *rad_pair_rule_name(int rule)
{
	return rule >= RAD_RULE_BEST_WORST && rule <= RAD_RULE_ALL ? rule_names[rule] : "none";
}

size_t rad_pick_other(size_t best, size_t n, uint64_t seed, const char *id, size_t idlen)
{
	/* the same draw as the ultrafeedback format's rejected completion */
	size_t k = rad_keyed_below("ultrafeedback-rejected", seed, id, idlen, n - 1);
	return k >= best ? k + 1 : k;
}

/* A candidate pair (a chosen, b rejected) when its gap passes, else counted. */
static int keep(const double *score, size_t a, size_t b, double min_gap, rad_pick_counts *c)
{
	double gap = score[a] - score[b];
	if (gap == 0) { c->ties++; return 0; }
	if (gap < min_gap) { c->small_gaps++; return 0; }
	return 1;
}

size_t rad_pairs_pick(int rule, const double *score, size_t n, double min_gap, uint64_t seed, const char *id,
                      size_t idlen, rad_pick *out, rad_pick_counts *c)
{
	if (n < 2) return 0;
	size_t best = 0, worst = 0, k = 0;
	for (size_t i = 1; i < n; i++) {
		if (score[i] > score[best]) best = i;
		if (score[i] < score[worst]) worst = i;
	}
	switch (rule) {
	case RAD_RULE_BEST_WORST:
		if (best == worst) {   /* every score the same: the first is both */
			c->ties++;
			return 0;
		}
		if (!keep(score, best, worst, min_gap, c)) return 0;
		out[0] = (rad_pick){best, worst};
		return 1;
	case RAD_RULE_BEST_RANDOM: {
		size_t other = rad_pick_other(best, n, seed, id, idlen);
		if (!keep(score, best, other, min_gap, c)) return 0;
		out[0] = (rad_pick){best, other};
		return 1;
	}
	case RAD_RULE_ALL:
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++) {
				size_t hi = score[j] > score[i] ? j : i, lo = hi == i ? j : i;
				if (keep(score, hi, lo, min_gap, c)) out[k++] = (rad_pick){hi, lo};
			}
		return k;
	}
	return 0;
}

rad_response *rad_response_set_add(rad_response_set *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->r = rad_realloc(s->r, s->cap * sizeof *s->r);
	}
	rad_response *r = &s->r[s->n++];
	memset(r, 0, sizeof *r);
	return r;
}

void rad_response_set_clear(rad_response_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		json_decref(s->r[i].text);
		json_decref(s->r[i].ratings);
		json_decref(s->r[i].extra);
	}
	json_decref(s->id);
	json_decref(s->prompt);
	json_decref(s->source);
	rad_response *keep_r = s->r;
	size_t keep_cap = s->cap;
	memset(s, 0, sizeof *s);
	s->r = keep_r;
	s->cap = keep_cap;
}

void rad_response_set_free(rad_response_set *s)
{
	rad_response_set_clear(s);
	free(s->r);
	memset(s, 0, sizeof *s);
}

/* KEY_chosen and KEY_rejected from the two responses' extras (either may be NULL): the
 * chosen's keys first. */
static void put_sides(json_t *src, const json_t *c, const json_t *r)
{
	const char *k;
	json_t *v;
	char name[160];
	json_object_foreach((json_t *)c, k, v) {
		snprintf(name, sizeof name, "%s_chosen", k);
		json_object_set(src, name, v);
		json_t *w = json_object_get(r, k);
		snprintf(name, sizeof name, "%s_rejected", k);
		if (w) json_object_set(src, name, w);
	}
	json_object_foreach((json_t *)r, k, v) {
		if (json_object_get(c, k)) continue;
		snprintf(name, sizeof name, "%s_rejected", k);
		json_object_set(src, name, v);
	}
}

json_t *rad_response_set_pair(const rad_response_set *s, size_t i, size_t j, const char *suffix)
{
	const rad_response *c = &s->r[i], *r = &s->r[j];
	json_t *src = json_deep_copy(s->source);
	put_sides(src, c->extra, r->extra);
	if (s->count_key) json_object_set_new(src, s->count_key, json_integer((json_int_t)s->n));
	json_t *id = suffix ? json_sprintf("%s%s", json_string_value(s->id), suffix) : json_incref(s->id);
	return rad_prefs_pair_object(id, json_deep_copy(s->prompt), json_incref(c->text), json_incref(r->text),
	                             json_real(c->score), json_real(r->score), c->ratings ? json_deep_copy(c->ratings) : NULL,
	                             r->ratings ? json_deep_copy(r->ratings) : NULL, src);
}

int rad_samples_is(const json_t *rec)
{
	return json_is_object(rec) && json_object_get(rec, "id") && !json_object_get(rec, "chosen") &&
	       (json_object_get(rec, "response") || json_object_get(rec, "responses"));
}

const char *rad_samples_id(const json_t *rec, size_t *len)
{
	json_t *id = json_object_get(rec, "id");
	if (!json_is_string(id)) return NULL;
	*len = json_string_length(id);
	return json_string_value(id);
}

/* The value of score field f of a response: a path in it, else in its "scores". */
static json_t *field(const json_t *h, const char *f)
{
	json_t *v = rad_json_path(h, f);
	if (!v) v = rad_json_path(json_object_get(h, "scores"), f);
	return v;
}

/* One response object h (its "response" and scores) into s. */
static const char *add_response(rad_response_set *s, const json_t *h, char *const *fields, int nfields, char *why,
                                size_t whysz)
{
	static char *const score_only[] = { "score" };
	if (!nfields) { fields = score_only; nfields = 1; }
	json_t *text = json_object_get(h, "response");
	if (!json_is_string(text)) {
		snprintf(why, whysz, "a response without a \"response\" string");
		return why;
	}
	double v[RAD_SAMPLE_FIELDS];
	for (int f = 0; f < nfields; f++)
		if (!rad_json_score(field(h, fields[f]), &v[f])) {
			s->unscored++;
			return NULL;
		}
	rad_response *r = rad_response_set_add(s);
	r->text = json_incref(text);
	r->score = v[0];
	if (nfields > 1) {
		r->ratings = json_object();
		for (int f = 0; f < nfields; f++) {
			const char *dot = strrchr(fields[f], '.');
			json_object_set_new(r->ratings, dot ? dot + 1 : fields[f], json_real(v[f]));
		}
	}
	json_t *k = json_object_get(h, "sample");
	if (json_is_integer(k)) r->extra = json_pack("{s:O}", "sample", k);
	return NULL;
}

const char *rad_samples_add(rad_response_set *s, const json_t *rec, char *const *fields, int nfields, char *why,
                            size_t whysz)
{
	json_t *id = json_object_get(rec, "id"), *list = json_object_get(rec, "responses");
	if (!json_is_string(id)) {
		snprintf(why, whysz, "a sample record without a string \"id\"");
		return why;
	}
	if (!s->id) {
		json_t *prompt = NULL;
		if (rad_prefs_prompt(json_object_get(rec, "prompt"), &prompt, why, whysz) != RAD_PREFS_OK) return why;
		s->id = json_incref(id);
		s->prompt = prompt;
		s->source = json_pack("{s:s}", "format", "samples");
		s->count_key = "samples";
	} else if (!json_equal(id, s->id)) {
		snprintf(why, whysz, "a sample record of another prompt");
		return why;
	}
	s->records++;
	json_t *k = json_object_get(rec, "samples");
	if (json_is_integer(k)) s->expect = json_integer_value(k);
	if (!list) return add_response(s, rec, fields, nfields, why, whysz);
	if (!json_is_array(list)) {
		snprintf(why, whysz, "\"responses\" is not a list");
		return why;
	}
	size_t i;
	json_t *h;
	json_array_foreach(list, i, h) {
		if (!json_is_object(h)) {
			snprintf(why, whysz, "responses[%zu] is not an object", i);
			return why;
		}
		if (add_response(s, h, fields, nfields, why, whysz)) return why;
	}
	return NULL;
}
