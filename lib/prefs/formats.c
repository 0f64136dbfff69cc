/* prefs/formats.c — detection and conversion of preference records (see formats.h). */
#include "prefs/formats.h"
#include "base/cli.h"
#include "base/keyed.h"
#include "base/sha256.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[RAD_FMT_COUNT] = {
	"auto", "ultrafeedback_binarized", "trl", "ultrafeedback", "hh-rlhf", "sharegpt", "samples",
};

const char *rad_prefs_format_name(int format)
{
	return format >= 0 && format < RAD_FMT_COUNT ? format_names[format] : "?";
}

int rad_prefs_format_parse(const char *name)
{
	for (int i = 0; i < RAD_FMT_COUNT; i++)
		if (!strcmp(name, format_names[i])) return i;
	if (!strcmp(name, "h4")) return RAD_FMT_H4;
	if (!strcmp(name, "hh")) return RAD_FMT_HH;
	if (!strcmp(name, "llamafactory")) return RAD_FMT_SHAREGPT;
	return -1;
}

__attribute__((format(printf, 3, 4)))
static int invalid(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return RAD_PREFS_INVALID;
}

json_t *rad_json_path(const json_t *v, const char *path)
{
	const char *p = path;
	while (v) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		char key[256];
		if (len >= sizeof key) return NULL;
		memcpy(key, p, len);
		key[len] = 0;
		if (json_is_object(v)) {
			v = json_object_get(v, key);
		} else if (json_is_array(v) && len && strspn(key, "0123456789") == len) {
			v = json_array_get(v, strtoul(key, NULL, 10));
		} else {
			return NULL;
		}
		if (!dot) return (json_t *)v;
		p = dot + 1;
	}
	return NULL;
}

int rad_json_score(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return isfinite(*out);
	}
	if (json_is_string(v)) {
		/* the whole string, by its length: "4\u00005" is no score */
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		char *end;
		double d = strtod(s, &end);
		if (end == s || end != s + n || !isfinite(d) || strspn(s, "+-.0123456789") != n) return 0;
		*out = d;
		return 1;
	}
	return 0;
}

/* --- detection ---------------------------------------------------------------------- */

static int has_hh_markers(const json_t *s)
{
	const char *t = json_string_value(s);
	size_t n = json_string_length(s);
	return t && memmem(t, n, "\n\nHuman:", 8) && memmem(t, n, "\n\nAssistant:", 12);
}

int rad_prefs_detect(const json_t *in, char *why, size_t whysz)
{
	if (!json_is_object(in)) {
		snprintf(why, whysz, "a record must be a JSON object, not %s",
			json_is_array(in) ? "an array" : json_is_string(in) ? "a string" : "a scalar");
		return -1;
	}
	if (json_is_array(json_object_get(in, "completions")) && json_object_get(in, "instruction"))
		return RAD_FMT_UF;
	if (json_is_array(json_object_get(in, "conversations"))) return RAD_FMT_SHAREGPT;
	if (rad_samples_is(in)) return RAD_FMT_SAMPLES;
	json_t *c = json_object_get(in, "chosen"), *r = json_object_get(in, "rejected");
	if (!c || !r) {
		snprintf(why, whysz, "unknown record shape: no \"chosen\"/\"rejected\", \"conversations\" or \"completions\"");
		return -1;
	}
	if (!json_object_get(in, "prompt") && has_hh_markers(c) && has_hh_markers(r)) return RAD_FMT_HH;
	if (json_object_get(in, "prompt_id") && json_is_array(c)) return RAD_FMT_H4;
	return RAD_FMT_TRL;
}

/* --- building blocks ------------------------------------------------------------------ */

static json_t *message(const char *role, json_t *content /* stolen */)
{
	json_t *m = json_object();
	json_object_set_new(m, "role", json_string(role));
	json_object_set_new(m, "content", content);
	return m;
}

/* A message's content: a string, or a list of {"type": "text", "text": str} parts (joined). */
static json_t *content_of(const json_t *c, char *why, size_t n, const char *what, size_t i)
{
	if (json_is_string(c)) return json_incref((json_t *)c);
	if (json_is_array(c)) {
		size_t len = 0, k;
		json_t *part;
		json_array_foreach(c, k, part) {
			json_t *t = json_object_get(part, "text");
			if (!json_is_string(t)) {
				invalid(why, n, "%s[%zu]: content part %zu is not a text part", what, i, k);
				return NULL;
			}
			len += json_string_length(t);
		}
		char *buf = rad_malloc(len + 1), *p = buf;
		json_array_foreach(c, k, part) {
			json_t *t = json_object_get(part, "text");
			memcpy(p, json_string_value(t), json_string_length(t));
			p += json_string_length(t);
		}
		json_t *s = json_stringn_nocheck(buf, len);
		free(buf);
		return s;
	}
	invalid(why, n, "%s[%zu]: \"content\" must be a string", what, i);
	return NULL;
}

static const char *canonical_role(const char *r)
{
	if (!r) return NULL;
	if (!strcmp(r, "user") || !strcmp(r, "human")) return "user";
	if (!strcmp(r, "assistant") || !strcmp(r, "gpt")) return "assistant";
	if (!strcmp(r, "system")) return "system";
	return NULL;
}

/* Appends the messages of `list` ({role, content} or, for ShareGPT, {from, value}) to dst. */
static int append_messages(json_t *dst, const json_t *list, const char *role_key,
	const char *content_key, char *why, size_t n, const char *what)
{
	if (!json_is_array(list)) return invalid(why, n, "\"%s\" must be a list of messages", what);
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m) {
		if (!json_is_object(m)) return invalid(why, n, "%s[%zu] is not an object", what, i);
		json_t *rv = json_object_get(m, role_key);
		const char *r = json_string_value(rv);
		/* "user\u0000x" is no role: compared by length */
		const char *role = r && strlen(r) == json_string_length(rv) ? canonical_role(r) : NULL;
		if (r && !role && strlen(r) != json_string_length(rv))
			return invalid(why, n, "%s[%zu]: %s holds a NUL character (\\u0000)", what, i, role_key);
		if (!role)
			return invalid(why, n, "%s[%zu]: %s %s%s%s is not system, user or assistant", what, i,
				role_key, r ? "\"" : "", r ? r : "missing", r ? "\"" : "");
		json_t *c = content_of(json_object_get(m, content_key), why, n, what, i);
		if (!c) return RAD_PREFS_INVALID;
		json_array_append_new(dst, message(role, c));
	}
	return RAD_PREFS_OK;
}

static const char *role_at(const json_t *msgs, size_t i)
{
	return json_string_value(json_object_get(json_array_get(msgs, i), "role"));
}

/* Splits two whole conversations that end with the two answers into the shared prompt
 * (all turns before the answer, ending with a user turn) and the answers' text. */
static int split_answers(const json_t *fc, const json_t *fr, json_t **prompt, json_t **chosen,
	json_t **rejected, char *why, size_t n)
{
	size_t nc = json_array_size(fc), nr = json_array_size(fr);
	if (!nc || strcmp(role_at(fc, nc - 1), "assistant"))
		return invalid(why, n, "the chosen conversation does not end with an assistant answer");
	if (!nr || strcmp(role_at(fr, nr - 1), "assistant"))
		return invalid(why, n, "the rejected conversation does not end with an assistant answer");
	if (nc != nr) return invalid(why, n, "chosen and rejected have different prompt turns");
	for (size_t i = 0; i + 1 < nc; i++)
		if (!json_equal(json_array_get(fc, i), json_array_get(fr, i)))
			return invalid(why, n, "chosen and rejected differ at prompt turn %zu", i);
	if (nc < 2 || strcmp(role_at(fc, nc - 2), "user"))
		return invalid(why, n, "the prompt does not end with a user turn");
	json_t *p = json_array();
	for (size_t i = 0; i + 1 < nc; i++) json_array_append(p, json_array_get(fc, i));
	*prompt = p;
	*chosen = json_incref(json_object_get(json_array_get(fc, nc - 1), "content"));
	*rejected = json_incref(json_object_get(json_array_get(fr, nr - 1), "content"));
	return RAD_PREFS_OK;
}

/* The record's id: the named path, else the first present of `defaults`, else a hash of
 * the content (so the same pair has the same id wherever it sits in a stream). */
static int make_id(const json_t *in, const rad_prefs_opts *o, const char *const *defaults,
	const json_t *prompt, const json_t *chosen, const json_t *rejected, json_t **id, char *why, size_t n)
{
	json_t *v = NULL;
	if (o->id_path) {
		v = rad_json_path(in, o->id_path);
		if (!v) return invalid(why, n, "no id at \"%s\"", o->id_path);
	} else {
		for (; *defaults && !v; defaults++) v = json_object_get(in, *defaults);
	}
	if (json_is_string(v)) { *id = json_incref(v); return RAD_PREFS_OK; }
	if (json_is_integer(v)) { *id = json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)); return RAD_PREFS_OK; }
	if (v) return invalid(why, n, "the id must be a string or an integer");
	uint64_t h = RAD_HASH_SEED;
	size_t i;
	json_t *m;
	json_array_foreach(prompt, i, m) {
		const char *r = role_at(prompt, i);
		json_t *c = json_object_get(m, "content");
		h = rad_hash64(r, strlen(r) + 1, h);
		h = rad_hash64(json_string_value(c), json_string_length(c), h);
		h = rad_hash64("\x1e", 1, h);
	}
	h = rad_hash64(json_string_value(chosen), json_string_length(chosen), h);
	h = rad_hash64("\x1f", 1, h);
	h = rad_hash64(json_string_value(rejected), json_string_length(rejected), h);
	*id = json_sprintf("%016llx", (unsigned long long)h);
	return RAD_PREFS_OK;
}

/* Score values: the named paths, else score_chosen/score_rejected, else the same under
 * "metadata" (trl-lib's layout).  expected: a record without them is "missing". */
static void get_scores(const json_t *in, const rad_prefs_opts *o, int expected, json_t **sc,
	json_t **sr, rad_prefs_info *info)
{
	static const char *const defaults[][2] = {
		{ "score_chosen", "score_rejected" }, { "metadata.score_chosen", "metadata.score_rejected" },
	};
	json_t *vc = NULL, *vr = NULL;
	if (o->score_path[0]) {
		vc = rad_json_path(in, o->score_path[0]);
		vr = rad_json_path(in, o->score_path[1]);
		expected = 1;
	} else {
		for (size_t i = 0; i < sizeof defaults / sizeof *defaults && !vc && !vr; i++) {
			vc = rad_json_path(in, defaults[i][0]);
			vr = rad_json_path(in, defaults[i][1]);
		}
	}
	double c, r;
	int okc = rad_json_score(vc, &c), okr = rad_json_score(vr, &r);
	if (okc && okr) {
		*sc = json_real(c);
		*sr = json_real(r);
		return;
	}
	*sc = json_null();
	*sr = json_null();
	if (expected || vc || vr) info->scores_missing = 1;
}

/* Fine ratings already in canonical form (a canonical pair read again). */
static json_t *copy_ratings(const json_t *v)
{
	if (!json_is_object(v)) return NULL;
	json_t *out = json_object();
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)v, k, x) {
		double d;
		if (rad_json_score(x, &d)) json_object_set_new(out, k, json_real(d));
	}
	return out;
}

json_t *rad_prefs_pair_object(json_t *id, json_t *prompt, json_t *chosen, json_t *rejected, json_t *sc, json_t *sr,
                              json_t *rc, json_t *rr, json_t *source)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", id);
	json_object_set_new(o, "prompt", prompt);
	json_object_set_new(o, "chosen", chosen);
	json_object_set_new(o, "rejected", rejected);
	json_object_set_new(o, "score_chosen", sc);
	json_object_set_new(o, "score_rejected", sr);
	if (rc && rr) {
		json_object_set_new(o, "ratings_chosen", rc);
		json_object_set_new(o, "ratings_rejected", rr);
	} else {
		json_decref(rc);
		json_decref(rr);
	}
	json_object_set_new(o, "source", source);
	return o;
}

static json_t *source_of(const json_t *in, int format)
{
	json_t *s = json_object_get(in, "source");
	if (json_is_object(s) && json_is_string(json_object_get(s, "format"))) return json_deep_copy(s);
	return json_pack("{ss}", "format", rad_prefs_format_name(format));
}

/* Finishes a pair from its parts (prompt, chosen, rejected are stolen). */
static int finish(const json_t *in, const rad_prefs_opts *o, int format, const char *const *id_keys,
	int scores_expected, json_t *prompt, json_t *chosen, json_t *rejected, json_t **out,
	rad_prefs_info *info, char *why, size_t n)
{
	json_t *id = NULL;
	if (make_id(in, o, id_keys, prompt, chosen, rejected, &id, why, n) != RAD_PREFS_OK) {
		json_decref(prompt); json_decref(chosen); json_decref(rejected);
		return RAD_PREFS_INVALID;
	}
	json_t *sc, *sr;
	get_scores(in, o, scores_expected, &sc, &sr, info);
	*out = rad_prefs_pair_object(id, prompt, chosen, rejected, sc, sr,
		copy_ratings(json_object_get(in, "ratings_chosen")),
		copy_ratings(json_object_get(in, "ratings_rejected")), source_of(in, format));
	return RAD_PREFS_OK;
}

/* --- chat formats: ultrafeedback_binarized and TRL ----------------------------------------- */

static int is_string_or_list(const json_t *v) { return json_is_string(v) || json_is_array(v); }

/* TRL's implicit string prompt: the common prefix of the two texts; a space right at the
 * cut goes with the answers.  The cut never splits a UTF-8 sequence. */
static size_t common_prefix(const char *a, size_t na, const char *b, size_t nb)
{
	size_t i = 0;
	while (i < na && i < nb && a[i] == b[i]) i++;
	if (i == na || i == nb) return i;   /* one is a prefix of the other: no answer left */
	while (i > 0 && ((unsigned char)a[i] & 0xc0) == 0x80) i--;
	if (i > 0 && a[i - 1] == ' ') i--;
	return i;
}

static int conv_chat(const json_t *in, const rad_prefs_opts *o, int format, json_t **out,
	rad_prefs_info *info, char *why, size_t n)
{
	static const char *const ids_h4[] = { "prompt_id", "id", NULL };
	static const char *const ids_trl[] = { "id", "prompt_id", NULL };
	json_t *c = json_object_get(in, "chosen"), *r = json_object_get(in, "rejected");
	json_t *p = json_object_get(in, "prompt");
	if (!is_string_or_list(c)) return invalid(why, n, "\"chosen\" must be a string or a message list");
	if (!is_string_or_list(r)) return invalid(why, n, "\"rejected\" must be a string or a message list");
	if (p && !is_string_or_list(p)) return invalid(why, n, "\"prompt\" must be a string or a message list");
	json_t *prompt, *chosen, *rejected;
	int implicit_lists = json_is_array(c) && json_array_size(c) &&
		strcmp(json_string_value(json_object_get(json_array_get(c, 0), "role")) ?: "", "assistant");
	if (format == RAD_FMT_H4 && !implicit_lists)
		return invalid(why, n, "ultrafeedback_binarized: \"chosen\" must be a message list that includes the prompt");
	if (implicit_lists || (!p && json_is_array(c))) {
		/* The lists hold the whole conversation (ultrafeedback_binarized, TRL implicit). */
		if (!json_is_array(r)) return invalid(why, n, "\"chosen\" is a message list but \"rejected\" is not");
		json_t *fc = json_array(), *fr = json_array();
		int st = append_messages(fc, c, "role", "content", why, n, "chosen");
		if (st == RAD_PREFS_OK) st = append_messages(fr, r, "role", "content", why, n, "rejected");
		if (st == RAD_PREFS_OK) st = split_answers(fc, fr, &prompt, &chosen, &rejected, why, n);
		json_decref(fc);
		json_decref(fr);
		if (st != RAD_PREFS_OK) return st;
	} else if (p) {
		/* Explicit prompt: prompt turns, then each answer (a string or assistant messages). */
		json_t *fc = json_array(), *fr = json_array();
		int st = RAD_PREFS_OK;
		for (int side = 0; side < 2 && st == RAD_PREFS_OK; side++) {
			json_t *full = side ? fr : fc, *ans = side ? r : c;
			if (json_is_string(p)) json_array_append_new(full, message("user", json_incref(p)));
			else st = append_messages(full, p, "role", "content", why, n, "prompt");
			if (st != RAD_PREFS_OK) break;
			if (json_is_string(ans)) json_array_append_new(full, message("assistant", json_incref(ans)));
			else st = append_messages(full, ans, "role", "content", why, n, side ? "rejected" : "chosen");
		}
		if (st == RAD_PREFS_OK) st = split_answers(fc, fr, &prompt, &chosen, &rejected, why, n);
		json_decref(fc);
		json_decref(fr);
		if (st != RAD_PREFS_OK) return st;
	} else {
		/* Implicit prompt in plain strings: the common prefix is the prompt. */
		if (!json_is_string(c) || !json_is_string(r))
			return invalid(why, n, "\"chosen\" and \"rejected\" must both be strings or both message lists");
		const char *a = json_string_value(c), *b = json_string_value(r);
		size_t na = json_string_length(c), nb = json_string_length(r);
		size_t k = common_prefix(a, na, b, nb);
		if (k == 0) return invalid(why, n, "no \"prompt\", and chosen and rejected share no prompt text");
		if (k == na || k == nb) return invalid(why, n, "no \"prompt\", and one answer is a prefix of the other");
		prompt = json_array();
		json_array_append_new(prompt, message("user", json_stringn_nocheck(a, k)));
		chosen = json_stringn_nocheck(a + k, na - k);
		rejected = json_stringn_nocheck(b + k, nb - k);
	}
	return finish(in, o, format, format == RAD_FMT_H4 ? ids_h4 : ids_trl, 1, prompt, chosen,
		rejected, out, info, why, n);
}

/* --- Anthropic HH-RLHF ------------------------------------------------------------------ */

#define HH_HUMAN "\n\nHuman:"
#define HH_ASSISTANT "\n\nAssistant:"

static const char *last_occurrence(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	const char *last = NULL;
	for (const char *p = s; (p = memmem(p, n - (p - s), needle, k)); p++) last = p;
	return last;
}

/* The turns of a transcript prefix, as messages. */
static int hh_turns(const char *s, size_t n, json_t *dst, char *why, size_t wn)
{
	const char *end = s + n, *p = s;
	/* Anything before the first marker must be blank. */
	const char *h = memmem(p, end - p, HH_HUMAN, strlen(HH_HUMAN));
	const char *a = memmem(p, end - p, HH_ASSISTANT, strlen(HH_ASSISTANT));
	const char *first = h && (!a || h < a) ? h : a;
	if (!first) return invalid(why, wn, "transcript has no \"Human:\" turn");
	for (const char *q = p; q < first; q++)
		if (*q != ' ' && *q != '\n' && *q != '\r' && *q != '\t')
			return invalid(why, wn, "transcript has text before its first turn");
	p = first;
	while (p < end) {
		int human = !strncmp(p, HH_HUMAN, strlen(HH_HUMAN));
		p += strlen(human ? HH_HUMAN : HH_ASSISTANT);
		if (p < end && *p == ' ') p++;
		const char *nh = memmem(p, end - p, HH_HUMAN, strlen(HH_HUMAN));
		const char *na = memmem(p, end - p, HH_ASSISTANT, strlen(HH_ASSISTANT));
		const char *next = nh && (!na || nh < na) ? nh : na ? na : end;
		json_array_append_new(dst, message(human ? "user" : "assistant", json_stringn_nocheck(p, next - p)));
		p = next;
	}
	return RAD_PREFS_OK;
}

static int conv_hh(const json_t *in, const rad_prefs_opts *o, json_t **out, rad_prefs_info *info,
	char *why, size_t n)
{
	static const char *const ids[] = { "id", NULL };
	json_t *c = json_object_get(in, "chosen"), *r = json_object_get(in, "rejected");
	if (!json_is_string(c) || !json_is_string(r))
		return invalid(why, n, "hh-rlhf: \"chosen\" and \"rejected\" must be transcript strings");
	const char *cs = json_string_value(c), *rs = json_string_value(r);
	size_t cn = json_string_length(c), rn = json_string_length(r);
	/* The answers start after the last "Assistant:" marker the two transcripts share: an
	 * answer that itself writes a "\n\nAssistant:" line does not move the split. */
	size_t common = 0;
	while (common < cn && common < rn && cs[common] == rs[common]) common++;
	const char *ca = last_occurrence(cs, common, HH_ASSISTANT);
	if (!ca) return invalid(why, n, "hh-rlhf: the transcripts share no \"Assistant:\" turn");
	const char *ra = rs + (ca - cs);
	json_t *prompt = json_array();
	if (hh_turns(cs, ca - cs, prompt, why, n) != RAD_PREFS_OK) { json_decref(prompt); return RAD_PREFS_INVALID; }
	size_t np = json_array_size(prompt);
	if (!np || strcmp(role_at(prompt, np - 1), "user")) {
		json_decref(prompt);
		return invalid(why, n, "hh-rlhf: the turn before the last \"Assistant:\" is not a \"Human:\" turn");
	}
	const char *a = ca + strlen(HH_ASSISTANT), *b = ra + strlen(HH_ASSISTANT);
	if (a < cs + cn && *a == ' ') a++;
	if (b < rs + rn && *b == ' ') b++;
	return finish(in, o, RAD_FMT_HH, ids, 0, prompt, json_stringn_nocheck(a, cs + cn - a),
		json_stringn_nocheck(b, rs + rn - b), out, info, why, n);
}

/* --- LLaMA-Factory ShareGPT ranking data ------------------------------------------------ */

static int conv_sharegpt(const json_t *in, const rad_prefs_opts *o, json_t **out, rad_prefs_info *info,
	char *why, size_t n)
{
	static const char *const ids[] = { "id", NULL };
	json_t *conv = json_object_get(in, "conversations");
	json_t *sys = json_object_get(in, "system");
	json_t *fc = json_array(), *fr = json_array();
	int st = RAD_PREFS_OK;
	for (int side = 0; side < 2 && st == RAD_PREFS_OK; side++) {
		json_t *full = side ? fr : fc;
		json_t *ans = json_object_get(in, side ? "rejected" : "chosen");
		if (json_is_string(sys) && json_string_length(sys))
			json_array_append_new(full, message("system", json_incref(sys)));
		st = append_messages(full, conv, "from", "value", why, n, "conversations");
		if (st != RAD_PREFS_OK) break;
		if (json_is_string(ans)) {
			json_array_append_new(full, message("assistant", json_incref(ans)));
		} else if (json_is_object(ans)) {
			json_t *one = json_array();
			json_array_append(one, ans);
			st = append_messages(full, one, "from", "value", why, n, side ? "rejected" : "chosen");
			json_decref(one);
		} else {
			st = invalid(why, n, "sharegpt: \"%s\" must be a {from, value} object or a string",
				side ? "rejected" : "chosen");
		}
	}
	json_t *prompt = NULL, *chosen = NULL, *rejected = NULL;
	if (st == RAD_PREFS_OK) st = split_answers(fc, fr, &prompt, &chosen, &rejected, why, n);
	json_decref(fc);
	json_decref(fr);
	if (st != RAD_PREFS_OK) return st;
	return finish(in, o, RAD_FMT_SHAREGPT, ids, 0, prompt, chosen, rejected, out, info, why, n);
}

/* --- raw openbmb/UltraFeedback ------------------------------------------------------------ */

static const char *const uf_aspects[4] = { "helpfulness", "honesty", "instruction_following", "truthfulness" };

/* The four ratings of a completion into r[4] (annotations.ASPECT.Rating, a string such as
 * "4"); 0 when any is missing or "N/A". */
static int uf_ratings(const json_t *comp, double r[4])
{
	json_t *ann = json_object_get(comp, "annotations");
	for (int i = 0; i < 4; i++) {
		json_t *a = json_object_get(ann, uf_aspects[i]);
		if (json_is_array(a)) a = json_array_get(a, 0);   /* some releases wrap each aspect in a list */
		json_t *v = json_is_object(a) ? json_object_get(a, "Rating") : a;
		if (!rad_json_score(v, &r[i])) return 0;
	}
	return 1;
}

int rad_prefs_uf_set(const json_t *in, const rad_prefs_opts *o, rad_response_set *s, rad_prefs_info *info,
                     char *why, size_t n)
{
	json_t *instr = json_object_get(in, "instruction");
	json_t *comps = json_object_get(in, "completions");
	json_t *src = json_object_get(in, "source");
	if (!json_is_string(instr)) return invalid(why, n, "ultrafeedback: \"instruction\" must be a string");
	if (!json_is_array(comps)) return invalid(why, n, "ultrafeedback: \"completions\" must be a list");
	if (!o->keep_truthful_qa && json_is_string(src) && !strcmp(json_string_value(src), "truthful_qa")) {
		info->drop_reason = "source truthful_qa";
		return RAD_PREFS_DROP;
	}
	size_t i;
	json_t *comp;
	json_array_foreach(comps, i, comp) {
		if (!json_is_object(comp) || !json_is_string(json_object_get(comp, "response")))
			return invalid(why, n, "ultrafeedback: completions[%zu] has no \"response\" string", i);
		double rating[4], overall;
		if (!uf_ratings(comp, rating) || !rad_json_score(json_object_get(comp, "overall_score"), &overall)) {
			info->completions_unrated++;
			continue;
		}
		rad_response *r = rad_response_set_add(s);
		r->text = json_incref(json_object_get(comp, "response"));
		r->score = overall;
		r->ratings = json_object();
		double mean = 0;
		for (int a = 0; a < 4; a++) {
			json_object_set_new(r->ratings, uf_aspects[a], json_real(rating[a]));
			mean += rating[a] / 4;
		}
		r->extra = json_object();
		json_t *model = json_object_get(comp, "model");
		if (json_is_string(model)) json_object_set(r->extra, "model", model);
		json_object_set_new(r->extra, "mean", json_real(mean));
	}
	if (s->n < 2) {
		info->drop_reason = "fewer than 2 fully rated completions";
		return RAD_PREFS_DROP;
	}
	/* id: the SHA-256 of the instruction, as ultrafeedback_binarized's prompt_id. */
	if (o->id_path) {
		json_t *v = rad_json_path(in, o->id_path);
		if (json_is_string(v)) s->id = json_incref(v);
		else if (json_is_integer(v)) s->id = json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else return invalid(why, n, "no string or integer id at \"%s\"", o->id_path);
	} else {
		char hex[65];
		rad_sha256_hex(json_string_value(instr), json_string_length(instr), hex);
		s->id = json_string(hex);
	}
	s->prompt = json_array();
	json_array_append_new(s->prompt, message("user", json_incref((json_t *)instr)));
	s->source = json_pack("{s:s}", "format", "ultrafeedback");
	if (json_is_string(src)) json_object_set(s->source, "dataset", src);
	s->count_key = "completions";
	return RAD_PREFS_OK;
}

/* The paper's pair: chosen the best (the first on ties), rejected one of the others drawn
 * by a hash of the id and the seed; ties kept (--ties decides). */
static int conv_uf(const json_t *in, const rad_prefs_opts *o, json_t **out, rad_prefs_info *info,
	char *why, size_t n)
{
	rad_response_set s = {0};
	int st = rad_prefs_uf_set(in, o, &s, info, why, n);
	if (st == RAD_PREFS_OK) {
		size_t best = 0;
		for (size_t i = 1; i < s.n; i++) if (s.r[i].score > s.r[best].score) best = i;
		size_t rej = rad_pick_other(best, s.n, o->seed, json_string_value(s.id), json_string_length(s.id));
		*out = rad_response_set_pair(&s, best, rej, NULL);
	}
	rad_response_set_free(&s);
	return st;
}

int rad_prefs_prompt(const json_t *p, json_t **out, char *why, size_t n)
{
	json_t *msgs = json_array();
	if (json_is_string(p)) {
		json_array_append_new(msgs, message("user", json_incref((json_t *)p)));
	} else if (append_messages(msgs, p, "role", "content", why, n, "prompt") != RAD_PREFS_OK) {
		json_decref(msgs);
		return RAD_PREFS_INVALID;
	}
	size_t k = json_array_size(msgs);
	if (!k || strcmp(role_at(msgs, k - 1), "user")) {
		json_decref(msgs);
		return invalid(why, n, "the prompt does not end with a user turn");
	}
	*out = msgs;
	return RAD_PREFS_OK;
}

/* --- entry ------------------------------------------------------------------------------- */

int rad_prefs_convert(const json_t *in, const rad_prefs_opts *o, json_t **out,
	rad_prefs_info *info, char *why, size_t whysz)
{
	memset(info, 0, sizeof *info);
	*out = NULL;
	int f = o->format;
	if (f == RAD_FMT_AUTO) {
		f = rad_prefs_detect(in, why, whysz);
		if (f < 0) return RAD_PREFS_INVALID;
	} else if (!json_is_object(in)) {
		return invalid(why, whysz, "a record must be a JSON object");
	}
	info->format = f;
	switch (f) {
	case RAD_FMT_H4:
	case RAD_FMT_TRL: return conv_chat(in, o, f, out, info, why, whysz);
	case RAD_FMT_UF: return conv_uf(in, o, out, info, why, whysz);
	case RAD_FMT_HH: return conv_hh(in, o, out, info, why, whysz);
	case RAD_FMT_SHAREGPT: return conv_sharegpt(in, o, out, info, why, whysz);
	case RAD_FMT_SAMPLES:
		return invalid(why, whysz, "scored samples make pairs only by a pair rule over a prompt's responses (samples.h)");
	}
	return invalid(why, whysz, "unknown format %d", f);
}
