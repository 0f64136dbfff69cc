/* eval/batches.c — preference metrics and likelihoods over batch streams. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stream/batch.h"
#include "base/cli.h"
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

typedef struct walk {
	rad_batch b;
	rad_rec rec;
	rad_reader *rd;
	char where[1200];
	int *ch, *rj;
	double **lp;
	int32_t **nt;
	int nm;
	long long batches, filtered;
} walk;

/* Reads the next batch of the open reader, runs the models; 0 at the end of this input. */
static int walk_next(walk *W, rad_model **models)
{
	const char *e;
	char msg[400];
	while (rad_reader_next(W->rd, &W->rec)) {
		if (W->rec.type != RAD_REC_BATCH) continue;
		snprintf(W->where, sizeof W->where, "%s: record %lld", rad_reader_name(W->rd), rad_reader_record_no(W->rd));
		if ((e = rad_batch_from_rec(&W->rec, &W->b))) rad_die(RAD_EXIT_DATA, W->where, "%s", e);
		W->ch = rad_realloc(W->ch, sizeof(int) * (W->b.npair + 1));
		W->rj = rad_realloc(W->rj, sizeof(int) * (W->b.npair + 1));
		pair_seqs(&W->b, W->ch, W->rj);
		for (int p = 0; p < W->b.npair; p++)
			if (W->ch[p] < 0 || W->rj[p] < 0)
				rad_die(RAD_EXIT_DATA, W->where, "pair %s has no %s sequence", W->b.pair_id[p], W->ch[p] < 0 ? "chosen" : "rejected");
		for (int k = 0; k < W->nm; k++) {
			W->lp[k] = rad_realloc(W->lp[k], sizeof(double) * (W->b.nseq + 1));
			W->nt[k] = rad_realloc(W->nt[k], sizeof(int32_t) * (W->b.nseq + 1));
			if ((e = rad_model_forward(models[k], &W->b, W->lp[k], W->nt[k]))) rad_die(RAD_EXIT_DATA, W->where, "%s", e);
			if ((e = rad_batch_check_logps(&W->b, W->lp[k], W->nm > 1 ? (k ? "the second model's" : "the first model's")
			                                                          : "the model's", msg, sizeof msg)))
				rad_die(RAD_EXIT_DATA, W->where, "%s", e);
		}
		if (W->b.ref_logp && (e = rad_batch_check_logps(&W->b, W->b.ref_logp, "the reference", msg, sizeof msg)))
			rad_die(RAD_EXIT_DATA, W->where, "%s (in the stream: rerun rad-logps)", e);
		W->batches++;
		rad_progress("%lld batches", W->batches);
		return 1;
	}
	return 0;
}

static void walk_init(walk *W, int nm)
{
	memset(W, 0, sizeof *W);
	rad_rec_init(&W->rec);
	W->nm = nm;
	W->lp = rad_calloc(nm, sizeof *W->lp);
	W->nt = rad_calloc(nm, sizeof *W->nt);
}

static void walk_free(walk *W)
{
	rad_progress_done();
	rad_batch_free(&W->b);
	rad_rec_free(&W->rec);
	for (int k = 0; k < W->nm; k++) { free(W->lp[k]); free(W->nt[k]); }
	free(W->lp);
	free(W->nt);
	free(W->ch);
	free(W->rj);
}

static json_t *groups_json(rad_groups *gs, json_t *(*fn)(const rad_group *))
{
	rad_groups_sort(gs);
	json_t *o = json_object();
	for (size_t i = 0; i < gs->n; i++) json_object_set_new(o, gs->g[i].key, fn(&gs->g[i]));
	return o;
}


json_t *rad_eval_prefs(rad_model *m, const char *model_name, double beta, const rad_eval_filter *f,
                       char **inputs, int ninputs)
{
	walk W;
	walk_init(&W, 1);
	rad_group all = {0};
	rad_groups goals = {0}, gaps = {0};
	for (int i = 0; i < ninputs; i++) {
		W.rd = rad_reader_open(inputs[i], RAD_KIND_BATCHES);
		while (walk_next(&W, &m)) {
			const rad_batch *b = &W.b;
			if (!b->ref_logp)
				rad_die(RAD_EXIT_DATA, W.where, "no reference log-probs in the batch (run rad-logps first)");
			for (int p = 0; p < b->npair; p++) {
				if (!keep(f, b, p)) { W.filtered++; continue; }
				int c = W.ch[p], r = W.rj[p];
				double a[4] = {W.lp[0][c], W.lp[0][r], b->ref_logp[c], b->ref_logp[r]};
				char gk[32];
				rad_gap_key(b->score_chosen[p], b->score_rejected[p], gk, sizeof gk);
				rad_group *gs[3] = {&all, rad_groups_get(&goals, b->goal[p]), rad_groups_get(&gaps, gk)};
				for (int k = 0; k < 3; k++) rad_pref_add(gs[k], beta, a[0], a[1], a[2], a[3], W.nt[0][c], W.nt[0][r]);
			}
		}
		rad_reader_close(W.rd);
	}
	json_t *o = json_object();
	json_object_set_new(o, "mode", json_string("prefs"));
	json_object_set_new(o, "model", json_string(model_name));
	json_object_set_new(o, "beta", json_real(beta));
	json_object_set_new(o, "batches", json_integer(W.batches));
	json_object_set_new(o, "pairs", json_integer(all.n));
	json_object_set_new(o, "filtered_out", json_integer(W.filtered));
	json_object_set_new(o, "overall", rad_pref_json(&all));
	json_object_set_new(o, "by_goal", groups_json(&goals, rad_pref_json));
	json_object_set_new(o, "by_gap", groups_json(&gaps, rad_pref_json));
	rad_groups_free(&goals);
	rad_groups_free(&gaps);
	walk_free(&W);
	return o;
}

json_t *rad_eval_likelihood(rad_model **models, const char **names, int nmodels, const rad_eval_filter *f,
                            char **inputs, int ninputs)
{
	walk W;
	walk_init(&W, nmodels);
	rad_group *g = rad_calloc(nmodels + 1, sizeof *g);   /* the models, then the reference */
	int ref_seen = 0, ref_missing = 0;
	for (int i = 0; i < ninputs; i++) {
		W.rd = rad_reader_open(inputs[i], RAD_KIND_BATCHES);
		while (walk_next(&W, models)) {
			const rad_batch *b = &W.b;
			if (b->ref_logp) ref_seen = 1; else ref_missing = 1;
			for (int p = 0; p < b->npair; p++) {
				if (!keep(f, b, p)) { W.filtered++; continue; }
				int c = W.ch[p], r = W.rj[p];
				for (int k = 0; k < nmodels; k++) rad_lik_add(&g[k], W.lp[k][c], W.nt[k][c], W.lp[k][r], W.nt[k][r]);
				if (b->ref_logp) rad_lik_add(&g[nmodels], b->ref_logp[c], b->ref_ntok[c], b->ref_logp[r], b->ref_ntok[r]);
			}
		}
		rad_reader_close(W.rd);
	}
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
	if (ref_seen && !ref_missing) json_object_set_new(o, "reference", rad_lik_json(&g[nmodels]));
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
	walk_free(&W);
	return o;
}
