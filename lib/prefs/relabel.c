/* prefs/relabel.c — the reward augmentation (see relabel.h). */
#include "prefs/relabel.h"
#include "base/cli.h"
#include "base/keyed.h"
#include "prefs/scores.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
static int fail(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return 0;
}

void rad_relabel_init(rad_relabel *rl)
{
	memset(rl, 0, sizeof *rl);
	rl->mode = RAD_MODE_RA;
	rl->placement = RAD_PLACE_SYSTEM;
	rl->scale_lo = 1;
	rl->scale_hi = 10;
}

static void clear_template(rad_relabel *rl)
{
	for (int i = 0; i < rl->nsegs; i++) free(rl->segs[i].text);
	free(rl->segs);
	rl->segs = NULL;
	rl->nsegs = 0;
	for (int i = 0; i < rl->nattrs; i++) free(rl->attrs[i]);
	rl->nattrs = 0;
}

void rad_relabel_free(rad_relabel *rl) { clear_template(rl); }

static int attr_index(rad_relabel *rl, const char *name, size_t len, int add)
{
	if (len == 5 && !memcmp(name, "score", 5)) { name = "overall"; len = 7; }
	for (int i = 0; i < rl->nattrs; i++)
		if (strlen(rl->attrs[i]) == len && !memcmp(rl->attrs[i], name, len)) return i;
	if (!add || rl->nattrs == RAD_GOAL_MAX_ATTRS) return -1;
	char *a = rad_malloc(len + 1);
	memcpy(a, name, len);
	a[len] = 0;
	rl->attrs[rl->nattrs] = a;
	return rl->nattrs++;
}

static void add_seg(rad_relabel *rl, const char *text, size_t len, int attr)
{
	rl->segs = rad_realloc(rl->segs, (rl->nsegs + 1) * sizeof *rl->segs);
	rad_goal_seg *s = &rl->segs[rl->nsegs++];
	s->text = rad_malloc(len + 1);
	memcpy(s->text, text, len);
	s->text[len] = 0;
	s->len = len;
	s->attr = attr;
}

static int is_name_char(int c) { return isalnum(c) || c == '_' || c == '-'; }

int rad_relabel_set_template(rad_relabel *rl, const char *text, size_t len, char *err, size_t n)
{
	clear_template(rl);
	if (len && text[len - 1] == '\n') len--;   /* a file's final newline is not part of the goal */
	if (len && text[len - 1] == '\r') len--;
	if (memchr(text, 0, len)) return fail(err, n, "the template holds a NUL byte");
	size_t lit = 0, i = 0;
	while (i < len) {
		if (text[i] == '{') {
			size_t j = i + 1;
			while (j < len && is_name_char((unsigned char)text[j])) j++;
			if (j > i + 1 && j < len && text[j] == '}') {
				int a = attr_index(rl, text + i + 1, j - i - 1, 1);
				if (a < 0) return fail(err, n, "more than %d attributes in the template", RAD_GOAL_MAX_ATTRS);
				if (i > lit) add_seg(rl, text + lit, i - lit, -1);
				add_seg(rl, "", 0, a);
				i = lit = j + 1;
				continue;
			}
		}
		i++;
	}
	if (len > lit) add_seg(rl, text + lit, len - lit, -1);
	return 1;
}

int rad_relabel_set_paper_template(rad_relabel *rl, const char *attrs, char *err, size_t n)
{
	if (!attrs) attrs = "overall";
	size_t cap = strlen(RAD_GOAL_HEADER) + 64 * (strlen(attrs) + 1) + 64, len = 0;
	char *t = rad_malloc(cap);
	len += snprintf(t, cap, "%s", RAD_GOAL_HEADER);
	const char *p = attrs;
	int count = 0;
	while (*p) {
		size_t k = strcspn(p, ",");
		if (k == 0 || k > 48) { free(t); return fail(err, n, "bad attribute list \"%s\"", attrs); }
		for (size_t i = 0; i < k; i++)
			if (!is_name_char((unsigned char)p[i])) { free(t); return fail(err, n, "bad attribute name in \"%s\"", attrs); }
		/* "instruction_following" -> "Instruction following score: {instruction_following}." */
		len += snprintf(t + len, cap - len, "\n%c", toupper((unsigned char)p[0]));
		for (size_t i = 1; i < k; i++) t[len++] = p[i] == '_' ? ' ' : p[i];
		len += snprintf(t + len, cap - len, " score: {%.*s}.", (int)k, p);
		count++;
		p += k;
		if (*p == ',') p++;
	}
	if (!count) { free(t); return fail(err, n, "no attribute named"); }
	int ok = rad_relabel_set_template(rl, t, len, err, n);
	free(t);
	return ok;
}

int rad_relabel_set_goal(rad_relabel *rl, const char *spec, char *err, size_t n)
{
	int set[RAD_GOAL_MAX_ATTRS] = { 0 };
	const char *p = spec;
	while (*p) {
		size_t k = strcspn(p, ",");
		char item[128];
		if (k == 0 || k >= sizeof item) return fail(err, n, "bad goal \"%s\"", spec);
		memcpy(item, p, k);
		item[k] = 0;
		char *eq = strchr(item, '='), *end;
		const char *num = eq ? eq + 1 : item;
		double v = strtod(num, &end);
		if (end == num || *end || !isfinite(v)) return fail(err, n, "bad goal value in \"%s\"", spec);
		if (eq) {
			int a = attr_index(rl, item, eq - item, 0);
			if (a < 0) return fail(err, n, "goal attribute \"%.*s\" is not in the template", (int)(eq - item), item);
			rl->fixed_values[a] = v;
			set[a] = 1;
		} else {
			for (int a = 0; a < rl->nattrs; a++) { rl->fixed_values[a] = v; set[a] = 1; }
		}
		p += k;
		if (*p == ',') p++;
	}
	for (int a = 0; a < rl->nattrs; a++)
		if (!set[a]) return fail(err, n, "the goal gives no value for \"%s\"", rl->attrs[a]);
	rl->fixed = 1;
	return 1;
}

const char *rad_relabel_check_scale(const rad_relabel *rl, const double *values, int side, char *why, size_t n)
{
	for (int a = 0; a < rl->nattrs; a++) {
		if (values[a] >= rl->scale_lo && values[a] <= rl->scale_hi) continue;
		char v[40], lo[40], hi[40], name[96];
		rad_score_text(v, values[a]);
		rad_score_text(lo, rl->scale_lo);
		rad_score_text(hi, rl->scale_hi);
		if (side < 0) snprintf(name, sizeof name, "the goal's %s", rl->attrs[a]);
		else if (!strcmp(rl->attrs[a], "overall")) snprintf(name, sizeof name, "%s", side ? "score_rejected" : "score_chosen");
		else snprintf(name, sizeof name, "%s.%s", side ? "ratings_rejected" : "ratings_chosen", rl->attrs[a]);
		if (side < 0) snprintf(why, n, "%s %s is off the goal text's scale %s-%s", name, v, lo, hi);
		else snprintf(why, n, "%s %s is off the goal text's scale %s-%s: put the scores on it with "
		              "rad-score-normalize --scale %s:%s --scale-by linear --from LO:HI (or --scale-by rank)",
		              name, v, lo, hi, lo, hi);
		return why;
	}
	return NULL;
}

char *rad_relabel_goal_text(const rad_relabel *rl, const double *values, size_t *len)
{
	size_t cap = 1;
	for (int i = 0; i < rl->nsegs; i++) cap += rl->segs[i].attr < 0 ? rl->segs[i].len : 40;
	char *t = rad_malloc(cap), *p = t;
	for (int i = 0; i < rl->nsegs; i++) {
		if (rl->segs[i].attr < 0) {
			memcpy(p, rl->segs[i].text, rl->segs[i].len);
			p += rl->segs[i].len;
		} else {
			char num[40];
			int k = rad_score_text(num, values[rl->segs[i].attr]);
			memcpy(p, num, k);
			p += k;
		}
	}
	*p = 0;
	*len = p - t;
	return t;
}

int rad_relabel_half_is_pos(const rad_relabel *rl, const char *id, size_t len)
{
	return (int)(rad_keyed_u64("half", rl->seed, id, len) >> 63);
}

/* --- one pair -------------------------------------------------------------------------- */

/* The value of attribute a for one side (0 chosen, 1 rejected). */
static int side_value(const rad_relabel *rl, const json_t *pair, int a, int side, double *v,
	char *why, size_t n)
{
	if (!strcmp(rl->attrs[a], "overall")) {
		const char *k = side ? "score_rejected" : "score_chosen";
		json_t *s = json_object_get(pair, k);
		if (!json_is_number(s))
			return fail(why, n, "\"%s\" is %s: a goal needs a score (rad-score-normalize --missing)", k,
				s ? "not a number" : "missing");
		*v = json_number_value(s);
		return 1;
	}
	const char *rk = side ? "ratings_rejected" : "ratings_chosen";
	json_t *s = json_object_get(json_object_get(pair, rk), rl->attrs[a]);
	if (!json_is_number(s)) return fail(why, n, "no number \"%s\" in \"%s\"", rl->attrs[a], rk);
	*v = json_number_value(s);
	return 1;
}

static int mean_rating(const json_t *r, double *mean)
{
	if (!json_is_object(r) || !json_object_size(r)) return 0;
	const char *k;
	json_t *v;
	double sum = 0;
	size_t cnt = 0;
	json_object_foreach((json_t *)r, k, v) {
		if (!json_is_number(v)) return 0;
		sum += json_number_value(v);
		cnt++;
	}
	*mean = sum / cnt;
	return 1;
}

static int check_pair(const json_t *pair, char *why, size_t n)
{
	if (!json_is_object(pair)) return fail(why, n, "a pair must be a JSON object");
	json_t *id = json_object_get(pair, "id");
	if (!json_is_string(id)) return fail(why, n, "\"id\" must be a string");
	json_t *p = json_object_get(pair, "prompt");
	if (!json_is_array(p) || !json_array_size(p)) return fail(why, n, "\"prompt\" must be a non-empty message list");
	size_t i;
	json_t *m;
	int users = 0;
	json_array_foreach(p, i, m) {
		json_t *rv = json_object_get(m, "role");
		const char *role = json_string_value(rv);
		/* by length too: "user\u0000x" is no role */
		if (!role || strlen(role) != json_string_length(rv) ||
		    (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant")))
			return fail(why, n, "prompt[%zu]: \"role\" must be system, user or assistant", i);
		if (!json_is_string(json_object_get(m, "content")))
			return fail(why, n, "prompt[%zu]: \"content\" must be a string", i);
		users += !strcmp(role, "user");
	}
	if (!users) return fail(why, n, "\"prompt\" has no user turn");
	if (!json_is_string(json_object_get(pair, "chosen"))) return fail(why, n, "\"chosen\" must be a string");
	if (!json_is_string(json_object_get(pair, "rejected"))) return fail(why, n, "\"rejected\" must be a string");
	json_t *g = json_object_get(pair, "goal");
	if (json_is_string(g) && json_string_length(g))
		return fail(why, n, "the pair already carries a goal (relabeled twice?)");
	return 1;
}

/* The prompt with the goal placed: a system message (merged into one that is there), or
 * the first user turn's text after the goal and a blank line. */
static json_t *place_goal(const rad_relabel *rl, const json_t *prompt, const char *goal, size_t glen)
{
	json_t *out = json_array();
	size_t i;
	json_t *m;
	int done = 0;
	json_array_foreach(prompt, i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));
		if (!done && ((rl->placement == RAD_PLACE_SYSTEM && i == 0 && !strcmp(role, "system")) ||
		              (rl->placement == RAD_PLACE_USER && !strcmp(role, "user")))) {
			json_t *c = json_object_get(m, "content");
			size_t clen = json_string_length(c), len = glen + 2 + clen;
			char *t = rad_malloc(len + 1);
			memcpy(t, goal, glen);
			memcpy(t + glen, "\n\n", 2);
			memcpy(t + glen + 2, json_string_value(c), clen);
			json_t *nm = json_object();
			json_object_set_new(nm, "role", json_string(role));
			json_object_set_new(nm, "content", json_stringn_nocheck(t, len));
			free(t);
			json_array_append_new(out, nm);
			done = 1;
			continue;
		}
		if (!done && rl->placement == RAD_PLACE_SYSTEM && i == 0) {
			json_t *nm = json_object();
			json_object_set_new(nm, "role", json_string("system"));
			json_object_set_new(nm, "content", json_stringn_nocheck(goal, glen));
			json_array_append_new(out, nm);
			done = 1;
		}
		json_array_append(out, m);
	}
	return out;
}

static int is_own_key(const char *k)
{
	static const char *const keys[] = { "id", "prompt", "chosen", "rejected", "score_chosen",
		"score_rejected", "ratings_chosen", "ratings_rejected", "source", "source_id", "half", "goal", NULL };
	for (int i = 0; keys[i]; i++) if (!strcmp(k, keys[i])) return 1;
	return 0;
}

/* One output copy.  flip: chosen and rejected (and their scores, ratings) swapped. */
static json_t *make_copy(const rad_relabel *rl, const json_t *pair, const char *suffix, int flip,
	const char *half, const char *goal, size_t glen)
{
	json_t *id = json_object_get(pair, "id");
	json_t *o = json_object();
	if (suffix) {   /* by length: an id may hold a NUL */
		size_t n = json_string_length(id), k = strlen(suffix);
		char *t = rad_malloc(n + k);
		memcpy(t, json_string_value(id), n);
		memcpy(t + n, suffix, k);
		json_object_set_new(o, "id", json_stringn_nocheck(t, n + k));
		free(t);
	} else {
		json_object_set(o, "id", id);
	}
	json_t *prompt = json_object_get(pair, "prompt");
	if (goal) json_object_set_new(o, "prompt", place_goal(rl, prompt, goal, glen));
	else json_object_set(o, "prompt", prompt);
	static const char *const sides[3][2] = {
		{ "chosen", "rejected" }, { "score_chosen", "score_rejected" }, { "ratings_chosen", "ratings_rejected" },
	};
	for (int k = 0; k < 3; k++) {
		json_t *a = json_object_get(pair, sides[k][flip]), *b = json_object_get(pair, sides[k][!flip]);
		if (k == 2 && (!a || !b)) continue;
		json_object_set(o, sides[k][0], a ? a : json_null());
		json_object_set(o, sides[k][1], b ? b : json_null());
	}
	json_t *src = json_object_get(pair, "source");
	if (src) json_object_set(o, "source", src);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)pair, k, v) if (!is_own_key(k)) json_object_set(o, k, v);
	json_object_set(o, "source_id", id);
	json_object_set_new(o, "half", json_string(half));
	json_object_set_new(o, "goal", goal ? json_stringn_nocheck(goal, glen) : json_string(""));
	return o;
}

int rad_relabel_pair(rad_relabel *rl, const json_t *pair, json_t *out[2], int *nout, char *why, size_t n)
{
	*nout = 0;
	if (!check_pair(pair, why, n)) return RAD_RELABEL_INVALID;
	if (rl->fine_filter) {
		double mc, mr;
		if (!mean_rating(json_object_get(pair, "ratings_chosen"), &mc) ||
		    !mean_rating(json_object_get(pair, "ratings_rejected"), &mr)) {
			fail(why, n, "--fine-filter needs numeric \"ratings_chosen\" and \"ratings_rejected\"");
			return RAD_RELABEL_INVALID;
		}
		if (mc < mr) {
			rl->pairs_in++;
			rl->dropped_fine++;
			return RAD_RELABEL_DROP;
		}
	}
	json_t *idv = json_object_get(pair, "id");
	const char *id = json_string_value(idv);
	size_t idlen = json_string_length(idv);
	int want_pos = 0, want_neg = 0;
	switch (rl->mode) {
	case RAD_MODE_RA: want_pos = want_neg = 1; break;
	case RAD_MODE_POS: want_pos = 1; break;
	case RAD_MODE_HALF:
		if (rad_relabel_half_is_pos(rl, id, idlen)) want_pos = 1; else want_neg = 1;
		break;
	default: {
		/* none, dup: the pair unchanged, a fixed goal when there is one */
		char *goal = NULL;
		size_t glen = 0;
		if (rl->fixed) goal = rad_relabel_goal_text(rl, rl->fixed_values, &glen);
		if (rl->mode == RAD_MODE_DUP) {
			out[0] = make_copy(rl, pair, "#dup1", 0, "", goal, glen);
			out[1] = make_copy(rl, pair, "#dup2", 0, "", goal, glen);
			*nout = 2;
		} else {
			out[0] = make_copy(rl, pair, NULL, 0, "", goal, glen);
			*nout = 1;
		}
		free(goal);
		rl->pairs_in++;
		rl->copies_out += *nout;
		return RAD_RELABEL_OK;
	}
	}
	double vals[2][RAD_GOAL_MAX_ATTRS];
	for (int side = 0; side < 2; side++) {
		if (side == 0 ? !want_pos : !want_neg) continue;
		for (int a = 0; a < rl->nattrs; a++)
			if (!side_value(rl, pair, a, side, &vals[side][a], why, n)) return RAD_RELABEL_INVALID;
		if (rad_relabel_check_scale(rl, vals[side], side, why, n))
			return RAD_RELABEL_INVALID;
	}
	rl->pairs_in++;
	for (int side = 0; side < 2; side++) {
		if (side == 0 ? !want_pos : !want_neg) continue;
		size_t glen;
		char *goal = rad_relabel_goal_text(rl, vals[side], &glen);
		int flip = side == 1 && !(rl->compat_unflipped_nosys && rl->placement == RAD_PLACE_USER);
		out[(*nout)++] = make_copy(rl, pair, side ? "#neg" : "#pos", flip, side ? "neg" : "pos", goal, glen);
		free(goal);
		if (side) rl->copies_neg++; else rl->copies_pos++;
	}
	rl->copies_out += *nout;
	return RAD_RELABEL_OK;
}
