/* model_fixture.h — tiny models and hand-built batches for the model's unit tests. */
#ifndef RAD_MODEL_FIXTURE_H
#define RAD_MODEL_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include "stream/batch.h"
#include "train/loss.h"
#include "nn/model.h"
#include "base/rng.h"

/* One sequence: prompt then completion, at (row, start) of the batch. */
typedef struct fx_seq {
	int row, start;
	const int *prompt;
	int np;
	const int *comp;
	int nc;
	int pair, chosen;
} fx_seq;

/* Builds b the way batch.h describes: positions from 0, segment = s, targets = next
 * token of the same sequence, loss_mask on completion targets, padding -1 / 0. */
__attribute__((unused)) static void fx_batch(rad_batch *b, int rows, int cols, int nseq, int npair, const fx_seq *q)
{
	rad_batch_alloc(b, rows, cols, nseq, npair);
	for (int i = 0; i < rows * cols; i++) { b->segment[i] = -1; b->targets[i] = -1; }
	for (int s = 0; s < nseq; s++) {
		int len = q[s].np + q[s].nc;
		b->seq_row[s] = q[s].row;
		b->seq_start[s] = q[s].start;
		b->seq_len[s] = len;
		b->seq_pair[s] = q[s].pair;
		b->seq_chosen[s] = (uint8_t)q[s].chosen;
		for (int j = 0; j < len; j++) {
			int at = q[s].row * cols + q[s].start + j;
			b->tokens[at] = j < q[s].np ? q[s].prompt[j] : q[s].comp[j - q[s].np];
			b->position[at] = j;
			b->segment[at] = s;
			if (j + 1 < len) {
				b->targets[at] = j + 1 < q[s].np ? q[s].prompt[j + 1] : q[s].comp[j + 1 - q[s].np];
				b->loss_mask[at] = j + 1 >= q[s].np;
			}
		}
	}
	for (int p = 0; p < npair; p++) {
		char id[32];
		snprintf(id, sizeof id, "p%d", p);
		b->pair_id[p] = strdup(id);
		b->goal[p] = strdup("");
	}
}

/* A model of configuration c, initialised with seed, then matrices times gain and
 * vectors (biases, norms) moved by N(0, vec_sd). */
__attribute__((unused)) static rad_model *fx_new(const rad_model_config *c, uint64_t seed, double gain, double vec_sd)
{
	const char *err = NULL;
	rad_model *m = rad_model_new(c, &err);
	if (!m) { fprintf(stderr, "%s\n", err); abort(); }
	rad_model_init(m, seed);
	rad_rng r;
	rad_rng_seed(&r, seed + 7);
	for (int i = 0; i < m->ntensors; i++) {
		rad_model_tensor *t = &m->tensors[i];
		float *p = m->params + t->off;
		size_t n = (size_t)t->rows * t->cols;
		for (size_t j = 0; j < n; j++)
			p[j] = t->cols == 1 ? p[j] + (float)(vec_sd * rad_rng_normal(&r)) : (float)(p[j] * gain);
	}
	return m;
}

/* A tiny GPT-2 with weights large enough that every gradient is clearly non-zero. */
__attribute__((unused)) static rad_model *fx_model(int vocab, int ctx, int layers, int heads, int dim, uint64_t seed, double gain)
{
	rad_model_config c;
	rad_model_config_gpt2(&c, vocab, ctx, layers, heads, dim);
	return fx_new(&c, seed, gain, 0.1);
}

/* Tiny Llama-family models: Llama (GQA, all attention biases, Llama-3 rope scaling,
 * untied), Qwen2 (q/k/v biases, tied), Qwen3 (q/k norms, head_dim x heads != dim). */
enum { FX_LLAMA, FX_QWEN2, FX_QWEN3 };
__attribute__((unused)) static void fx_llama_config(rad_model_config *c, int variant, int vocab, int ctx)
{
	rad_model_config_gpt2(c, vocab, ctx, 2, 4, 8);
	snprintf(c->model_type, sizeof c->model_type, "%s", variant == FX_LLAMA ? "llama" : variant == FX_QWEN2 ? "qwen2" : "qwen3");
	c->n_kv_heads = 2;
	c->head_dim = variant == FX_QWEN3 ? 4 : 2;     /* Qwen3: head_dim x heads != dim */
	c->ffn_dim = 12;
	c->norm = RAD_NORM_RMS;
	c->pos = RAD_POS_ROPE;
	c->mlp = RAD_MLP_SWIGLU;
	c->norm_eps = 1e-6f;
	c->qkv_bias = variant != FX_QWEN3;
	c->out_bias = variant == FX_LLAMA;         /* Llama's attention_bias: o_proj too */
	c->mlp_bias = c->norm_bias = 0;
	c->qk_norm = variant == FX_QWEN3;
	c->tied = variant == FX_QWEN2;
	c->rope_theta = 100.0f;
	if (variant == FX_LLAMA) {
		c->rope_scaling = RAD_ROPE_LLAMA3;
		c->rope_factor = 4; c->rope_low_freq = 1; c->rope_high_freq = 4; c->rope_orig_ctx = 8;
	}
	c->bos_id = c->eos_id = -1;
}

__attribute__((unused)) static rad_model *fx_llama_model(int variant, uint64_t seed, double gain)
{
	rad_model_config c;
	fx_llama_config(&c, variant, 11, 32);
	return fx_new(&c, seed, gain, 0.3);
}

static const int FX_P0[] = {1, 2, 3}, FX_P1[] = {4, 5}, FX_CA[] = {6, 7, 8}, FX_CB[] = {9, 3},
	FX_CC[] = {2, 2, 5, 1}, FX_CD[] = {10};

/* Two pairs packed into two rows of 12: row 0 holds pair 0 (chosen + rejected), row 1
 * holds pair 1 (chosen, rejected) and padding.  With refs, fixed reference log-probs. */
__attribute__((unused)) static void fx_two_pairs(rad_batch *b, int refs)
{
	fx_seq q[4] = {
		{0, 0, FX_P0, 3, FX_CA, 3, 0, 1},   /* 6 tokens */
		{0, 6, FX_P0, 3, FX_CB, 2, 0, 0},   /* 5 tokens */
		{1, 0, FX_P1, 2, FX_CC, 4, 1, 1},   /* 6 tokens */
		{1, 6, FX_P1, 2, FX_CD, 1, 1, 0},   /* 3 tokens, then 3 padding */
	};
	fx_batch(b, 2, 12, 4, 2, q);
	if (!refs) return;
	static const double rl[4] = {-9.5, -7.0, -12.0, -2.5};
	static const int32_t rn[4] = {3, 2, 4, 1};
	b->ref_logp = malloc(sizeof rl);
	b->ref_ntok = malloc(sizeof rn);
	memcpy(b->ref_logp, rl, sizeof rl);
	memcpy(b->ref_ntok, rn, sizeof rn);
}

/* The loss of one forward (and dloss/dlogp into dlogp when given). */
__attribute__((unused)) static double fx_batch_loss(rad_model *m, const rad_batch *b, const rad_loss_opts *o, double *dlogp)
{
	double logp[8], dl[8];
	int32_t nt[8];
	const char *e = rad_model_forward(m, b, logp, nt);
	if (e) { fprintf(stderr, "%s\n", e); abort(); }
	rad_loss_stats st = {0};
	e = rad_loss_compute(o, b, logp, nt, 1.0, dlogp ? dlogp : dl, &st, NULL, NULL);
	if (e) { fprintf(stderr, "%s\n", e); abort(); }
	return st.loss;
}

/* Backward of loss o on b, then central differences over about six weights of every
 * trainable tensor (the model's, or an attached adapter's: nn/model.h).  Returns how many disagree; *checked counts the weights compared, *zero_grad
 * the tensors whose whole gradient is zero; the first disagreement is described in why. */
typedef struct fx_sweep { int checked, bad, zero_grad; char why[200]; } fx_sweep;
static double fx_sweep_step = 1e-2;   /* the difference step (a test may make it smaller) */
__attribute__((unused)) static fx_sweep fx_grad_sweep(rad_model *m, const rad_batch *b, const rad_loss_opts *o)
{
	fx_sweep r = {0};
	rad_model_enable_grads(m);
	double dlogp[4];
	fx_batch_loss(m, b, o, dlogp);
	rad_model_backward(m, b, dlogp);
	rad_trainable tp = rad_model_trainable(m);
	for (int t = 0; t < tp.ntensors; t++) {
		const rad_model_tensor *tt = &tp.tensors[t];
		size_t n = (size_t)tt->rows * tt->cols, step = n > 6 ? n / 6 + 1 : 1;
		double gnorm = 0;
		for (size_t i = 0; i < n; i++) gnorm += fabs(tp.grads[tt->off + i]);
		r.zero_grad += gnorm == 0;
		for (size_t i = 0; i < n; i += step) {
			float *p = tp.params + tt->off + i, keep = *p;
			double h = fx_sweep_step;
			*p = keep + (float)h;
			double fp = fx_batch_loss(m, b, o, NULL);
			*p = keep - (float)h;
			double fm = fx_batch_loss(m, b, o, NULL);
			*p = keep;
			double num = (fp - fm) / (2 * h), an = tp.grads[tt->off + i];
			r.checked++;
			if (fabs(num - an) > 2e-2 * fmax(fabs(num), fabs(an)) + 2e-4) {
				if (!r.bad) snprintf(r.why, sizeof r.why, "%s[%zu]: analytic %.6g, numeric %.6g", tt->name, i, an, num);
				r.bad++;
			}
		}
	}
	return r;
}

#endif
