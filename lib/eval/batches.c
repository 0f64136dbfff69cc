/* eval/batches.c — preference metrics and likelihoods over batch streams. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stream/batch.h"
#include "base/cli.h"
#include "eval/batch_farm.h"
#include "eval/batches.h"
#include "stream/stream.h"

/* Each pair's chosen and rejected sequence, -1 when missing. */
static void pair_seqs(const rad_batch *b, int *ch, int *rj)
{
	for (int p = 0; p < b->npair; p++) ch[p] = rj[p] = -1;
	for (int s = 0; s < b->nseq; s++) {
		if (b->seq_chosen[s]) ch[b->seq_pair[s]] = s;
		else rj[b->seq_pair[s]] = s;
	}
}

static int keep(const rad_eval_filter *f, const rad_batch *b, int p)
{
	for (int i = 0; f && i < f->n; i++)
		if (!rad_where_match(&f->where[i], b->score_chosen[p], b->score_rejected[p], b->goal[p])) return 0;
	return 1;
}

const char *rad_batch_check_logps(const rad_batch *b, const double *lp, const char *whose, char *msg, size_t n)
{
	for (int s = 0; s < b->nseq; s++) {
		if (isfinite(lp[s])) continue;
		snprintf(msg, n, "%s log-prob of sequence %d (pair %s, %s) is not finite (%g): NaN or infinite weights?",
		         whose, s, b->pair_id[b->seq_pair[s]], b->seq_chosen[s] ? "chosen" : "rejected", lp[s]);
		return msg;
	}
	return NULL;
}

/* A walk over the batches of the inputs: each batch run through the models by the rank
 * whose turn it is (eval/batch_farm.h), then measured by rank 0 in input order. */
typedef struct walk {
	rad_model **models;
	int nm;
	rad_batch b;               /* the batch being measured (rank 0) */
	int *ch, *rj;
	const double *lp[2];       /* each model's log-probs of its sequences, and token counts */
	const int32_t *nt[2];
	const char *where;
	double *slp;               /* scratch of score */
	int32_t *snt;
	long long batches, filtered;
	void (*measure)(struct walk *W, void *ctx);
	void *ctx;
} walk;

static const char *const lp_name[2] = {"eval_logp0", "eval_logp1"}, *const nt_name[2] = {"eval_ntok0", "eval_ntok1"};

/* Any rank: the batch with each model's log-probs of its sequences. */
static void walk_score(void *ctx, const rad_rec *in, const rad_batch *b, const char *where, rad_rec *out)
{
	walk *W = ctx;
	const char *e;
	char msg[400];
	int *ch = rad_malloc(sizeof(int) * (b->npair + 1)), *rj = rad_malloc(sizeof(int) * (b->npair + 1));
	pair_seqs(b, ch, rj);
	for (int p = 0; p < b->npair; p++)
		if (ch[p] < 0 || rj[p] < 0)
			rad_die(RAD_EXIT_DATA, where, "pair %s has no %s sequence", b->pair_id[p], ch[p] < 0 ? "chosen" : "rejected");
	free(ch);
	free(rj);
	rad_rec_reset(out, RAD_REC_BATCH);
	rad_rec_copy_fields(out, in, NULL);
	W->slp = rad_realloc(W->slp, sizeof(double) * (b->nseq + 1));
	W->snt = rad_realloc(W->snt, sizeof(int32_t) * (b->nseq + 1));
	for (int k = 0; k < W->nm; k++) {
		if ((e = rad_model_forward(W->models[k], b, W->slp, W->snt))) rad_die(RAD_EXIT_DATA, where, "%s", e);
		if ((e = rad_batch_check_logps(b, W->slp, W->nm > 1 ? (k ? "the second model's" : "the first model's")
		                                                    : "the model's", msg, sizeof msg)))
			rad_die(RAD_EXIT_DATA, where, "%s", e);
		rad_rec_put_f64s(out, lp_name[k], W->slp, b->nseq);
		rad_rec_put_i32s(out, nt_name[k], W->snt, b->nseq);
	}
	if (b->ref_logp && (e = rad_batch_check_logps(b, b->ref_logp, "the reference", msg, sizeof msg)))
		rad_die(RAD_EXIT_DATA, where, "%s (in the stream: rerun rad-logps)", e);
}

/* Rank 0, in input order: the scored batch measured. */
static void walk_put(void *ctx, const rad_rec *out, const char *where)
{
	walk *W = ctx;
	const char *e;
	if ((e = rad_batch_from_rec(out, &W->b))) rad_die(RAD_EXIT_DATA, where, "%s", e);
	W->ch = rad_realloc(W->ch, sizeof(int) * (W->b.npair + 1));
	W->rj = rad_realloc(W->rj, sizeof(int) * (W->b.npair + 1));
	pair_seqs(&W->b, W->ch, W->rj);
	for (int k = 0; k < W->nm; k++) {
		W->lp[k] = rad_rec_f64s(out, lp_name[k], NULL);
		W->nt[k] = rad_rec_i32s(out, nt_name[k], NULL);
	}
	W->where = where;
	W->batches++;
	rad_progress("%lld batches", W->batches);
	W->measure(W, W->ctx);
}

static void walk_run(walk *W, rad_model **models, int nm, char **inputs, int ninputs,
                     void (*measure)(walk *, void *), void *ctx)
{
	memset(W, 0, sizeof *W);
	W->models = models;
	W->nm = nm;
	W->measure = measure;
	W->ctx = ctx;
	rad_batch_job job = {walk_score, walk_put, NULL, NULL, W};
	rad_batch_farm_run(&job, inputs, ninputs);
	rad_progress_done();
	rad_batch_free(&W->b);
	free(W->ch);
	free(W->rj);
	free(W->slp);
	free(W->snt);
}

static json_t *groups_json(rad_groups *gs, json_t *(*fn)(const rad_group *))
{
	rad_groups_sort(gs);
	json_t *o = json_object();
	for (size_t i = 0; i < gs->n; i++) json_object_set_new(o, gs->g[i].key, fn(&gs->g[i]));
	return o;
}


typedef struct prefs_acc {
	double beta;
	const rad_eval_filter *f;
	rad_group all;
	rad_groups goals, gaps;
} prefs_acc;

static void prefs_measure(walk *W, void *ctx)
{
	prefs_acc *A = ctx;
	const rad_batch *b = &W->b;
	if (!b->ref_logp) rad_die(RAD_EXIT_DATA, W->where, "no reference log-probs in the batch (run rad-logps first)");
	for (int p = 0; p < b->npair; p++) {
		if (!keep(A->f, b, p)) { W->filtered++; continue; }
		int c = W->ch[p], r = W->rj[p];
		double a[4] = {W->lp[0][c], W->lp[0][r], b->ref_logp[c], b->ref_logp[r]};
		char gk[32];
		rad_gap_key(b->score_chosen[p], b->score_rejected[p], gk, sizeof gk);
		rad_group *gs[3] = {&A->all, rad_groups_get(&A->goals, b->goal[p]), rad_groups_get(&A->gaps, gk)};
		for (int k = 0; k < 3; k++) rad_pref_add(gs[k], A->beta, a[0], a[1], a[2], a[3], W->nt[0][c], W->nt[0][r]);
	}
}

json_t *rad_eval_prefs(rad_model *m, const char *model_name, double beta, const rad_eval_filter *f,
                       char **inputs, int ninputs)
{
	walk W;
	prefs_acc A = {.beta = beta, .f = f};
	walk_run(&W, &m, 1, inputs, ninputs, prefs_measure, &A);
	json_t *o = json_object();
	json_object_set_new(o, "mode", json_string("prefs"));
	json_object_set_new(o, "model", json_string(model_name));
	json_object_set_new(o, "beta", json_real(beta));
	json_object_set_new(o, "batches", json_integer(W.batches));
	json_object_set_new(o, "pairs", json_integer(A.all.n));
	json_object_set_new(o, "filtered_out", json_integer(W.filtered));
	json_object_set_new(o, "overall", rad_pref_json(&A.all));
	json_object_set_new(o, "by_goal", groups_json(&A.goals, rad_pref_json));
	json_object_set_new(o, "by_gap", groups_json(&A.gaps, rad_pref_json));
	rad_groups_free(&A.goals);
	rad_groups_free(&A.gaps);
	return o;
}

typedef struct lik_acc {
	const rad_eval_filter *f;
	rad_group *g;              /* the models, then the reference */
	int ref_seen, ref_missing;
} lik_acc;

static void lik_measure(walk *W, void *ctx)
{
	lik_acc *A = ctx;
	const rad_batch *b = &W->b;
	if (b->ref_logp) A->ref_seen = 1; else A->ref_missing = 1;
	for (int p = 0; p < b->npair; p++) {
		if (!keep(A->f, b, p)) { W->filtered++; continue; }
		int c = W->ch[p], r = W->rj[p];
		for (int k = 0; k < W->nm; k++) rad_lik_add(&A->g[k], W->lp[k][c], W->nt[k][c], W->lp[k][r], W->nt[k][r]);
		if (b->ref_logp) rad_lik_add(&A->g[W->nm], b->ref_logp[c], b->ref_ntok[c], b->ref_logp[r], b->ref_ntok[r]);
	}
}

json_t *rad_eval_likelihood(rad_model **models, const char **names, int nmodels, const rad_eval_filter *f,
                            char **inputs, int ninputs)
{
	walk W;
	lik_acc A = {.f = f, .g = rad_calloc(nmodels + 1, sizeof *A.g)};
	rad_group *g = A.g;
	walk_run(&W, models, nmodels, inputs, ninputs, lik_measure, &A);
	json_t *o = json_object(), *ms = json_array();
	json_object_set_new(o, "mode", json_string("likelihood"));
	json_object_set_new(o, "batches", json_integer(W.batches));
	json_object_set_new(o, "pairs", json_integer(g[0].n));
	json_object_set_new(o, "filtered_out", json_integer(W.filtered));
	for (int k = 0; k < nmodels; k++) {
		json_t *e = rad_lik_json(&g[k]);
		json_object_set_new(e, "model", json_string(names[k]));
		json_array_append_new(ms, e);
	}
	json_object_set_new(o, "models", ms);
	if (A.ref_seen && !A.ref_missing) json_object_set_new(o, "reference", rad_lik_json(&g[nmodels]));
	if (nmodels == 2 && g[0].n) {   /* second minus first: positive = the second model gives more likelihood */
		json_t *d = json_object();
		const char *side[2] = {"chosen", "rejected"};
		int lp[2] = {RAD_LK_LPC, RAD_LK_LPR}, tk[2] = {RAD_LK_TOKC, RAD_LK_TOKR};
		for (int s = 0; s < 2; s++) {
			json_t *x = json_object();
			json_object_set_new(x, "logp", json_real((g[1].sum[lp[s]] - g[0].sum[lp[s]]) / g[0].n));
			if (g[0].sum[tk[s]] > 0 && g[1].sum[tk[s]] > 0)
				json_object_set_new(x, "logp_per_token", json_real(g[1].sum[lp[s]] / g[1].sum[tk[s]] - g[0].sum[lp[s]] / g[0].sum[tk[s]]));
			json_object_set_new(d, side[s], x);
		}
		json_object_set_new(o, "difference", d);
	}
	free(g);
	return o;
}
