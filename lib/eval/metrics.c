/* eval/metrics.c — groups, preference and likelihood sums, filters, win rate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "eval/metrics.h"
#include "base/jsonl.h"

rad_group *rad_groups_getn(rad_groups *gs, const char *key, size_t len)
{
	for (size_t i = 0; i < gs->n; i++)
		if (gs->g[i].key_len == len && !memcmp(gs->g[i].key, key, len)) return &gs->g[i];
	if (gs->n == gs->cap) {
		gs->cap = gs->cap ? 2 * gs->cap : 16;
		gs->g = rad_realloc(gs->g, gs->cap * sizeof *gs->g);
	}
	rad_group *g = &gs->g[gs->n++];
	memset(g, 0, sizeof *g);
	g->key = rad_malloc(len + 1);
	memcpy(g->key, key, len);
	g->key[len] = 0;
	g->key_len = len;
	return g;
}

rad_group *rad_groups_get(rad_groups *gs, const char *key) { return rad_groups_getn(gs, key, strlen(key)); }

void rad_groups_free(rad_groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) free(gs->g[i].key);
	free(gs->g);
	memset(gs, 0, sizeof *gs);
}

static int is_number(const rad_group *g)
{
	char *end;
	strtod(g->key, &end);
	return g->key_len && end == g->key + g->key_len;
}

static int by_number(const void *a, const void *b)
{
	double x = strtod(((const rad_group *)a)->key, NULL), y = strtod(((const rad_group *)b)->key, NULL);
	return (x > y) - (x < y);
}

static int by_text(const void *a, const void *b)
{
	const rad_group *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);
	return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

void rad_groups_sort(rad_groups *gs)
{
	if (gs->n < 2) return;   /* also: qsort must not be given a null array */
	int num = 1;
	for (size_t i = 0; i < gs->n; i++) num &= is_number(&gs->g[i]);
	qsort(gs->g, gs->n, sizeof *gs->g, num ? by_number : by_text);
}

/* -log sigmoid(z), stable for large |z| */
static double neg_log_sigmoid(double z)
{
	return z >= 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
}

void rad_pref_add(rad_group *g, double beta, double pc, double pr, double rc, double rr, int ntc, int ntr)
{
	double wc = beta * (pc - rc), wr = beta * (pr - rr), m = wc - wr;
	g->n++;
	g->sum[RAD_PM_LOSS] += neg_log_sigmoid(m);
	g->sum[RAD_PM_RC] += wc;
	g->sum[RAD_PM_RR] += wr;
	g->sum[RAD_PM_ACC] += wc > wr;
	g->sum[RAD_PM_MARGIN] += m;
	g->sum[RAD_PM_LPC] += pc;
	g->sum[RAD_PM_LPR] += pr;
	g->sum[RAD_PM_TOKC] += ntc;
	g->sum[RAD_PM_TOKR] += ntr;
}

/* A number rounded to what a double prints back as (JSON out stays short). */
static json_t *num(double v)
{
	char b[40];
	if (!isfinite(v)) return json_null();
	snprintf(b, sizeof b, "%.10g", v);
	return json_real(strtod(b, NULL));
}

json_t *rad_pref_json(const rad_group *g)
{
	static const char *const names[] = {"loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies",
	                                    "rewards/margins", "logps/chosen", "logps/rejected"};
	json_t *o = json_object();
	json_object_set_new(o, "pairs", json_integer(g->n));
	for (int k = 0; k < 7; k++) json_object_set_new(o, names[k], num(g->n ? g->sum[k] / g->n : NAN));
	return o;
}

void rad_lik_add(rad_group *g, double pc, int ntc, double pr, int ntr)
{
	g->n++;
	g->sum[RAD_LK_LPC] += pc;
	g->sum[RAD_LK_TOKC] += ntc;
	g->sum[RAD_LK_LPR] += pr;
	g->sum[RAD_LK_TOKR] += ntr;
}

static json_t *lik_side(const rad_group *g, int lp, int tok)
{
	json_t *o = json_object();
	json_object_set_new(o, "logp", num(g->n ? g->sum[lp] / g->n : NAN));
	json_object_set_new(o, "logp_per_token", num(g->sum[tok] > 0 ? g->sum[lp] / g->sum[tok] : NAN));
	json_object_set_new(o, "tokens", json_integer((json_int_t)g->sum[tok]));
	return o;
}

json_t *rad_lik_json(const rad_group *g)
{
	json_t *o = json_object();
	json_object_set_new(o, "pairs", json_integer(g->n));
	json_object_set_new(o, "chosen", lik_side(g, RAD_LK_LPC, RAD_LK_TOKC));
	json_object_set_new(o, "rejected", lik_side(g, RAD_LK_LPR, RAD_LK_TOKR));
	return o;
}

enum { F_SC, F_SR, F_GAP, F_GOAL };
enum { OP_GE, OP_LE, OP_GT, OP_LT, OP_EQ, OP_NE };

const char *rad_where_parse(rad_where *w, const char *s)
{
	static const char *const fields[] = {"score_chosen", "score_rejected", "gap", "goal"};
	static const char *const ops[] = {">=", "<=", "!=", "==", ">", "<", "="};
	static const int opv[] = {OP_GE, OP_LE, OP_NE, OP_EQ, OP_GT, OP_LT, OP_EQ};
	memset(w, 0, sizeof *w);
	while (*s == ' ') s++;
	size_t fl = strcspn(s, " <>=!");
	w->field = -1;
	for (int i = 0; i < 4; i++)
		if (strlen(fields[i]) == fl && !strncmp(s, fields[i], fl)) w->field = i;
	if (w->field < 0) return "the field must be score_chosen, score_rejected, gap or goal";
	s += fl;
	while (*s == ' ') s++;
	w->op = -1;
	for (int i = 0; i < 7; i++)
		if (!strncmp(s, ops[i], strlen(ops[i]))) { w->op = opv[i]; s += strlen(ops[i]); break; }
	if (w->op < 0) return "the comparison must be one of >= <= > < == !=";
	while (*s == ' ') s++;
	if (w->field == F_GOAL) {
		if (w->op != OP_EQ && w->op != OP_NE) return "goal compares with == or != only";
		w->text = rad_strdup(s);
		return NULL;
	}
	char *end;
	w->value = strtod(s, &end);
	while (*end == ' ') end++;
	if (end == s || *end || !isfinite(w->value)) return "the value must be a number";
	return NULL;
}

int rad_where_match(const rad_where *w, double score_chosen, double score_rejected, const char *goal)
{
	if (w->field == F_GOAL) {
		int eq = !strcmp(goal ? goal : "", w->text);
		return w->op == OP_EQ ? eq : !eq;
	}
	double x = w->field == F_SC ? score_chosen : w->field == F_SR ? score_rejected : score_chosen - score_rejected;
	if (isnan(x)) return 0;
	switch (w->op) {
	case OP_GE: return x >= w->value;
	case OP_LE: return x <= w->value;
	case OP_GT: return x > w->value;
	case OP_LT: return x < w->value;
	case OP_EQ: return x == w->value;
	default: return x != w->value;
	}
}

void rad_where_free(rad_where *w)
{
	free(w->text);
	w->text = NULL;
}

double rad_win_rate(const double *a, const double *b, size_t n, long long *wins, long long *ties, long long *losses)
{
	long long w = 0, t = 0, l = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i] > b[i]) w++;
		else if (a[i] < b[i]) l++;
		else t++;
	}
	if (wins) *wins = w;
	if (ties) *ties = t;
	if (losses) *losses = l;
	return n ? (w + 0.5 * t) / n : NAN;
}

void rad_gap_key(double score_chosen, double score_rejected, char *out, size_t n)
{
	double g = score_chosen - score_rejected;
	if (isnan(g)) { snprintf(out, n, "none"); return; }
	g = round(g * 2) / 2;
	if (g == 0) g = 0;   /* no "-0" */
	snprintf(out, n, "%g", g);
}
