/* test_model.c — the whole model: gradients of every loss by finite differences, packing
 * invariance, DPO at step 0, hand-computed metrics, overfitting, checkpoints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "train/adamw.h"
#include "train/loss.h"
#include "nn/model.h"
#include "model_fixture.h"
#include "nn/safetensors.h"
#include "test.h"

/* Finite differences over a few weights of every tensor. */
static void grad_check(const rad_loss_opts *o)
{
	rad_model *m = fx_model(11, 16, 2, 2, 8, 5, 8.0);
	rad_batch b;
	fx_two_pairs(&b, 1);
	fx_sweep r = fx_grad_sweep(m, &b, o);
	EXPECT_MSG(r.bad == 0, "%d of %d disagree, first %s", r.bad, r.checked, r.why);
	EXPECT(r.checked > 100);
	rad_batch_free(&b);
	rad_model_free(m);
}

static void test_grad_sft(void) { rad_loss_opts o = {RAD_LOSS_SFT, 0.1, 0, 0}; grad_check(&o); }
static void test_grad_dpo(void) { rad_loss_opts o = {RAD_LOSS_DPO, 0.5, 0, 0}; grad_check(&o); }
static void test_grad_dpo_smooth_rpo(void) { rad_loss_opts o = {RAD_LOSS_DPO, 0.5, 0.3, 0.7}; grad_check(&o); }
static void test_grad_ipo(void) { rad_loss_opts o = {RAD_LOSS_IPO, 0.5, 0, 0}; grad_check(&o); }
static void test_grad_hinge(void) { rad_loss_opts o = {RAD_LOSS_HINGE, 0.3, 0, 0}; grad_check(&o); }

/* Each sequence's log-prob is the same packed with others as alone in its own batch. */
static void test_packing_invariance(void)
{
	rad_model *m = fx_model(11, 16, 2, 2, 8, 3, 8.0);
	rad_batch b, one;
	fx_two_pairs(&b, 0);
	double lp[4], lone;
	int32_t nt[4], none;
	EXPECT(rad_model_forward(m, &b, lp, nt) == NULL);
	EXPECT_EQ(nt[0], 3); EXPECT_EQ(nt[1], 2); EXPECT_EQ(nt[2], 4); EXPECT_EQ(nt[3], 1);
	fx_seq q = {0, 2, FX_P1, 2, FX_CC, 4, 0, 1};    /* alone, shifted inside a wider row */
	fx_batch(&one, 1, 9, 1, 1, &q);
	EXPECT(rad_model_forward(m, &one, &lone, &none) == NULL);
	EXPECT_EQ(none, 4);
	EXPECT_NEAR(lone, lp[2], 1e-5 * fabs(lp[2]));
	EXPECT(lp[0] < 0 && lp[1] < 0 && lp[3] < 0);
	/* the log-probs of a uniform model are -ntok log V */
	memset(m->params, 0, m->nparams * sizeof(float));
	for (int l = 0; l < m->cfg.n_layers; l++) {
		for (int j = 0; j < 8; j++) m->w.layer[l].norm1_w[j] = m->w.layer[l].norm2_w[j] = 1;
	}
	for (int j = 0; j < 8; j++) m->w.normf_w[j] = 1;
	EXPECT(rad_model_forward(m, &b, lp, nt) == NULL);
	EXPECT_NEAR(lp[2], -4 * log(11.0), 1e-5);
	rad_batch_free(&b);
	rad_batch_free(&one);
	rad_model_free(m);
}

/* Bad ids are errors, not crashes. */
static void test_bad_input(void)
{
	rad_model *m = fx_model(11, 16, 1, 2, 8, 3, 1.0);
	rad_batch b;
	fx_two_pairs(&b, 0);
	double lp[4];
	b.tokens[3] = 11;
	const char *e = rad_model_forward(m, &b, lp, NULL);
	EXPECT(e && strstr(e, "vocabulary"));
	b.tokens[3] = 1;
	b.position[3] = 16;
	e = rad_model_forward(m, &b, lp, NULL);
	EXPECT(e && strstr(e, "position"));
	rad_batch_free(&b);
	rad_model_free(m);
}

/* With the reference equal to the policy, DPO's loss is log 2 and every reward is 0. */
static void test_dpo_step0(void)
{
	rad_model *m = fx_model(11, 16, 2, 2, 8, 9, 4.0);
	rad_batch b;
	fx_two_pairs(&b, 0);
	double lp[4], dl[4];
	int32_t nt[4];
	EXPECT(rad_model_forward(m, &b, lp, nt) == NULL);
	b.ref_logp = malloc(sizeof lp);
	b.ref_ntok = malloc(sizeof nt);
	memcpy(b.ref_logp, lp, sizeof lp);
	memcpy(b.ref_ntok, nt, sizeof nt);
	rad_loss_opts o = {RAD_LOSS_DPO, 0.1, 0.3, 0};
	rad_loss_stats st = {0};
	EXPECT(rad_loss_compute(&o, &b, lp, nt, 1.0, dl, &st, NULL, NULL) == NULL);
	EXPECT_NEAR(st.loss, log(2.0), 1e-12);
	EXPECT_NEAR(st.rewards_chosen, 0, 0);
	EXPECT_NEAR(st.rewards_rejected, 0, 0);
	EXPECT_NEAR(st.margins, 0, 0);
	EXPECT_NEAR(st.correct, 0, 0);    /* ties are not correct (TRL: chosen > rejected) */
	/* gradient at z = 0: beta (-(1-eps)/2 + eps/2) / P on chosen, opposite on rejected */
	EXPECT_NEAR(dl[0], 0.1 * (-0.7 * 0.5 + 0.3 * 0.5) / 2, 1e-15);
	EXPECT_NEAR(dl[1], -dl[0], 1e-15);
	rad_batch_free(&b);
	rad_model_free(m);
}

/* Metrics on made-up log-probs, computed by hand. */
static void test_metrics_by_hand(void)
{
	rad_batch b;
	fx_two_pairs(&b, 0);
	double lp[4] = {-10, -12, -20, -18}, rl[4] = {-11, -11, -19, -20}, dl[4], rc[2], rr[2];
	int32_t nt[4] = {3, 2, 4, 1}, rn[4] = {3, 2, 4, 1};
	b.ref_logp = malloc(sizeof rl);
	b.ref_ntok = malloc(sizeof rn);
	memcpy(b.ref_logp, rl, sizeof rl);
	memcpy(b.ref_ntok, rn, sizeof rn);
	/* pair 0: chosen reward 0.5*(1) = 0.5, rejected 0.5*(-1) = -0.5: margin 1, correct
	 * pair 1: chosen 0.5*(-1) = -0.5, rejected 0.5*(2) = 1: margin -1.5, wrong */
	rad_loss_opts o = {RAD_LOSS_DPO, 0.5, 0, 0};
	rad_loss_stats st = {0};
	EXPECT(rad_loss_compute(&o, &b, lp, nt, 1.0, dl, &st, rc, rr) == NULL);
	EXPECT_EQ(st.pairs, 2);
	EXPECT_NEAR(st.correct / st.pairs, 0.5, 0);
	EXPECT_NEAR(st.margins / st.pairs, (1.0 - 1.5) / 2, 1e-12);
	EXPECT_NEAR(st.rewards_chosen / st.pairs, 0.0, 1e-12);
	EXPECT_NEAR(st.rewards_rejected / st.pairs, 0.25, 1e-12);
	EXPECT_NEAR(st.logps_chosen / st.pairs, -15, 1e-12);
	EXPECT_NEAR(rc[1], -0.5, 1e-12);
	EXPECT_NEAR(rr[1], 1.0, 1e-12);
	/* loss = mean(-log sigmoid(1), -log sigmoid(-1.5)) */
	double want = (log1p(exp(-1.0)) + log1p(exp(1.5))) / 2;
	EXPECT_NEAR(st.loss, want, 1e-12);
	/* label smoothing 0.3: -(0.7) log s(z) - 0.3 log s(-z) */
	o.label_smoothing = 0.3;
	memset(&st, 0, sizeof st);
	rad_loss_compute(&o, &b, lp, nt, 1.0, dl, &st, NULL, NULL);
	want = (0.7 * log1p(exp(-1.0)) + 0.3 * log1p(exp(1.0)) + 0.7 * log1p(exp(1.5)) + 0.3 * log1p(exp(-1.5))) / 2;
	EXPECT_NEAR(st.loss, want, 1e-12);
	/* hinge: mean(max(0, 1 - 1), max(0, 1 + 1.5)) */
	o.kind = RAD_LOSS_HINGE;
	memset(&st, 0, sizeof st);
	rad_loss_compute(&o, &b, lp, nt, 1.0, dl, &st, NULL, NULL);
	EXPECT_NEAR(st.loss, (0 + 2.5) / 2, 1e-12);
	/* ipo on averaged log-probs: pair 0: (-10/3+11/3) - (-6+5.5) = 1/3+0.5; pair 1: (-5+4.75)-(-18+20) */
	o.kind = RAD_LOSS_IPO;
	memset(&st, 0, sizeof st);
	rad_loss_compute(&o, &b, lp, nt, 1.0, dl, &st, NULL, NULL);
	double d0 = 1.0 / 3 + 0.5, d1 = -0.25 - 2;
	EXPECT_NEAR(st.loss, ((d0 - 1) * (d0 - 1) + (d1 - 1) * (d1 - 1)) / 2, 1e-12);
	/* sft: NLL of chosen tokens = (10 + 20) / 7 */
	o.kind = RAD_LOSS_SFT;
	memset(&st, 0, sizeof st);
	rad_loss_compute(&o, &b, lp, nt, 1.0, dl, &st, NULL, NULL);
	EXPECT_NEAR(st.loss, 30.0 / 7, 1e-12);
	EXPECT_NEAR(dl[0], -1.0 / 7, 1e-15);
	EXPECT_NEAR(dl[1], 0, 0);
	/* a preference loss without a reference is an error */
	free(b.ref_logp);
	b.ref_logp = NULL;
	o.kind = RAD_LOSS_DPO;
	EXPECT(rad_loss_compute(&o, &b, lp, nt, 1.0, dl, &st, NULL, NULL) != NULL);
	rad_batch_free(&b);
}

/* Training steps on one batch: SFT drives the NLL near zero; DPO drives accuracy to 1. */
static void train(rad_model *m, rad_batch *b, const rad_loss_opts *o, int steps, double lr, rad_loss_stats *last)
{
	rad_adamw opt = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0};
	rad_adamw_init(&opt, m->nparams);
	rad_model_enable_grads(m);
	for (int s = 0; s < steps; s++) {
		double lp[8], dl[8];
		int32_t nt[8];
		rad_model_zero_grads(m);
		rad_model_forward(m, b, lp, nt);
		memset(last, 0, sizeof *last);
		rad_loss_compute(o, b, lp, nt, 1.0, dl, last, NULL, NULL);
		rad_model_backward(m, b, dl);
		double gn = rad_grad_norm(m->grads, m->nparams);
		rad_trainable tp = rad_model_trainable(m);
		rad_adamw_step(&opt, &tp, lr, rad_grad_clip_scale(gn, 1.0));
	}
	rad_adamw_free(&opt);
}

static void test_sft_overfits(void)
{
	rad_model *m = fx_model(11, 16, 2, 2, 16, 1, 1.0);
	rad_batch b;
	fx_two_pairs(&b, 0);
	rad_loss_opts o = {RAD_LOSS_SFT, 0.1, 0, 0};
	rad_loss_stats st;
	train(m, &b, &o, 1, 0, &st);
	double first = st.loss;
	EXPECT_NEAR(first, log(11.0), 0.2);       /* near uniform at init */
	train(m, &b, &o, 150, 1e-2, &st);
	EXPECT_MSG(st.loss < 0.05, "SFT loss %g after 150 steps (from %g)", st.loss, first);
	rad_batch_free(&b);
	rad_model_free(m);
}

static void test_dpo_accuracy(void)
{
	rad_model *m = fx_model(11, 16, 2, 2, 16, 2, 1.0);
	rad_batch b;
	fx_two_pairs(&b, 0);
	double lp[4];
	int32_t nt[4];
	rad_model_forward(m, &b, lp, nt);
	b.ref_logp = malloc(sizeof lp);
	b.ref_ntok = malloc(sizeof nt);
	memcpy(b.ref_logp, lp, sizeof lp);
	memcpy(b.ref_ntok, nt, sizeof nt);
	rad_loss_opts o = {RAD_LOSS_DPO, 0.1, 0, 0};
	rad_loss_stats st;
	train(m, &b, &o, 1, 0, &st);
	EXPECT_NEAR(st.loss, log(2.0), 1e-9);
	train(m, &b, &o, 60, 5e-3, &st);
	EXPECT_NEAR(st.correct / st.pairs, 1.0, 0);
	EXPECT_MSG(st.loss < 0.5 && st.margins > 0, "DPO loss %g margins %g", st.loss, st.margins);
	rad_batch_free(&b);
	rad_model_free(m);
}

/* Save, load: the same weights bit for bit (fp32), and within bf16 rounding (bf16). */
static void test_checkpoint_roundtrip(void)
{
	char dir[] = "/tmp/rad-test-model-XXXXXX";
	EXPECT(mkdtemp(dir) != NULL);
	rad_model *m = fx_model(11, 16, 2, 2, 8, 4, 1.0), *m2 = NULL;
	EXPECT(rad_model_save(m, dir, RAD_ST_F32) == NULL);
	EXPECT(rad_model_load(&m2, dir) == NULL);
	EXPECT(m2 && m2->nparams == m->nparams && !memcmp(m2->params, m->params, m->nparams * 4));
	EXPECT(m2 && rad_model_fingerprint(m2) == rad_model_fingerprint(m));
	/* HF Conv1D layout on disk: c_attn.weight is [C, 3C], element [i][j] = W_internal[j][i] */
	char path[512];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	rad_st st;
	EXPECT(rad_st_open(&st, path) == NULL);
	const rad_st_tensor *t = rad_st_find(&st, "transformer.h.1.attn.c_attn.weight");
	EXPECT(t && t->ndim == 2 && t->shape[0] == 8 && t->shape[1] == 24 && t->dtype == RAD_ST_F32);
	if (t) EXPECT(((const float *)t->data)[2 * 24 + 5] == m->w.layer[1].wqkv[5 * 8 + 2]);
	EXPECT(rad_st_find(&st, "lm_head.weight") == NULL);    /* tied */
	rad_st_close(&st);
	rad_model_free(m2);
	m2 = NULL;
	EXPECT(rad_model_save(m, dir, RAD_ST_BF16) == NULL);
	EXPECT(rad_model_load(&m2, dir) == NULL);
	double worst = 0;
	for (size_t i = 0; m2 && i < m->nparams; i++)
		worst = fmax(worst, fabs(m2->params[i] - m->params[i]) / fmax(fabs(m->params[i]), 1e-30));
	EXPECT(worst > 0 && worst <= 1.0 / 256);
	rad_model_free(m2);
	/* a corrupted header is an error with the file's name */
	FILE *f = fopen(path, "r+b");
	fputc(0xff, f); fputc(0xff, f); fputc(0xff, f);
	fclose(f);
	m2 = NULL;
	const char *e = rad_model_load(&m2, dir);
	EXPECT(e && strstr(e, "model.safetensors"));
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	EXPECT(system(cmd) == 0);
	rad_model_free(m);
}

/* fp16 and bf16 conversions against known bit patterns. */
static void test_half_floats(void)
{
	EXPECT(rad_f16_to_f32(0x3c00) == 1.0f);
	EXPECT(rad_f16_to_f32(0xc000) == -2.0f);
	EXPECT(rad_f16_to_f32(0x0001) == 0x1p-24f);    /* smallest subnormal */
	EXPECT(rad_f16_to_f32(0x7bff) == 65504.0f);
	EXPECT(isinf(rad_f16_to_f32(0x7c00)));
	EXPECT(rad_bf16_to_f32(0x3f80) == 1.0f);
	EXPECT(rad_f32_to_bf16(1.0f) == 0x3f80);
	EXPECT(rad_f32_to_bf16(1.00390625f) == 0x3f80);  /* tie to even */
	EXPECT(rad_f32_to_bf16(1.01171875f) == 0x3f82);  /* tie to even, upward */
	EXPECT(isnan(rad_bf16_to_f32(rad_f32_to_bf16(NAN))));
}

static void test_schedules(void)
{
	EXPECT_NEAR(rad_lr_at(RAD_SCHED_COSINE, 1.0, 0, 10, 100), 0.0, 0);
	EXPECT_NEAR(rad_lr_at(RAD_SCHED_COSINE, 1.0, 5, 10, 100), 0.5, 1e-15);
	EXPECT_NEAR(rad_lr_at(RAD_SCHED_COSINE, 1.0, 10, 10, 100), 1.0, 1e-15);
	EXPECT_NEAR(rad_lr_at(RAD_SCHED_COSINE, 1.0, 55, 10, 100), 0.5, 1e-12);
	EXPECT_NEAR(rad_lr_at(RAD_SCHED_LINEAR, 1.0, 55, 10, 100), 0.5, 1e-12);
	EXPECT_NEAR(rad_lr_at(RAD_SCHED_LINEAR, 2.0, 100, 10, 100), 0.0, 0);
	EXPECT_NEAR(rad_lr_at(RAD_SCHED_CONSTANT, 2.0, 99, 10, 100), 2.0, 0);
	float g[3] = {3, 4, 0};
	double n = rad_grad_norm(g, 3);
	EXPECT_NEAR(n, 5.0, 1e-12);
	EXPECT_NEAR(rad_grad_clip_scale(n, 1.0), 1.0 / (5 + 1e-6), 1e-7);
	EXPECT_NEAR(rad_grad_clip_scale(n, 10.0), 1.0, 0);
	EXPECT_NEAR(rad_grad_clip_scale(n, 0), 1.0, 0);
}

/* AdamW: one step by hand; decay skips biases and norm weights. */
static void test_adamw(void)
{
	rad_model *m = fx_model(5, 4, 1, 1, 4, 1, 1.0);
	rad_model_enable_grads(m);
	for (size_t i = 0; i < m->nparams; i++) m->grads[i] = 0.5f;
	float w0 = m->w.wte[3], b0 = m->w.layer[0].bqkv[1], n0 = m->w.layer[0].norm1_w[2];
	rad_adamw opt = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
	rad_adamw_init(&opt, m->nparams);
	rad_trainable tp = rad_model_trainable(m);
	rad_adamw_step(&opt, &tp, 0.01, 0.5f);
	/* first step: m_hat = g, v_hat = g^2: update = lr * g / (|g| + eps) = lr (any scale) */
	EXPECT_NEAR(m->w.wte[3], w0 * (1 - 0.01 * 0.1) - 0.01, 1e-6);
	EXPECT_NEAR(m->w.layer[0].bqkv[1], b0 - 0.01, 1e-6);
	EXPECT_NEAR(m->w.layer[0].norm1_w[2], n0 - 0.01, 1e-6);
	EXPECT_NEAR(opt.m[5], 0.1 * 0.25, 1e-7);   /* (1 - b1) * scaled g */
	EXPECT(m->grads[5] == 0.0f);               /* left zeroed */
	rad_adamw_free(&opt);
	rad_model_free(m);
}

/* Generation with the cache gives the training forward's log-probs, fed whole or in pieces,
 * and slots do not see each other. */
static void test_decode_matches_forward(void)
{
	rad_model *m = fx_model(11, 16, 2, 2, 8, 12, 6.0);
	static const int pr[] = {3}, co[] = {4, 1, 7, 9, 2, 10, 0};
	fx_seq q = {0, 0, pr, 1, co, 7, 0, 1};
	rad_batch b;
	fx_batch(&b, 1, 8, 1, 1, &q);
	double lp;
	EXPECT(rad_model_forward(m, &b, &lp, NULL) == NULL);
	rad_kv_cache *kv = rad_kv_cache_new(m, 2, 16);
	float logits[11];
	/* slot 1 holds something else first: it must not leak into slot 0 */
	int32_t other[3] = {5, 5, 6};
	EXPECT(rad_model_decode(m, kv, 1, other, 3, logits) == NULL);
	double sum = 0;
	int32_t seq[8] = {3, 4, 1, 7, 9, 2, 10, 0};
	for (int t = 0; t < 7; t++) {
		const char *e = rad_model_decode(m, kv, 0, &seq[t], 1, logits);
		EXPECT(e == NULL);
		double mx = -1e30, z = 0;
		for (int j = 0; j < 11; j++) mx = fmax(mx, logits[j]);
		for (int j = 0; j < 11; j++) z += exp(logits[j] - mx);
		sum += logits[seq[t + 1]] - mx - log(z);
	}
	EXPECT_NEAR(sum, lp, 1e-4 * fabs(lp));
	/* a prefix in one call, then the rest: the same last logits */
	float l2[11];
	rad_kv_cache_reset(kv, 0);
	EXPECT(rad_model_decode(m, kv, 0, seq, 4, l2) == NULL);
	EXPECT(rad_model_decode(m, kv, 0, seq + 4, 3, l2) == NULL);
	for (int j = 0; j < 11; j++) EXPECT_NEAR(l2[j], logits[j], 1e-4);
	EXPECT_EQ(kv->len[0], 7);
	int32_t ten[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	EXPECT(rad_model_decode(m, kv, 0, ten, 10, l2) != NULL);   /* 7 + 10 is past the 16 of the cache */
	int32_t bad = 11;
	EXPECT(rad_model_decode(m, kv, 0, &bad, 1, l2) != NULL);
	rad_kv_cache_free(kv);
	rad_batch_free(&b);
	rad_model_free(m);
}

/* A checkpoint as the Hugging Face hub has GPT-2: names without "transformer.", the
 * causal-mask buffers, a tied lm_head copy, fp16 tensors. */
static void test_hub_layout(void)
{
	char dir[] = "/tmp/rad-test-hub-XXXXXX";
	EXPECT(mkdtemp(dir) != NULL);
	rad_model *m = fx_model(11, 16, 1, 2, 8, 4, 1.0), *m2 = NULL;
	EXPECT(rad_model_save(m, dir, RAD_ST_F32) == NULL);
	int n = m->ntensors;
	rad_st_out *o = calloc(n + 2, sizeof *o);
	float *mask = calloc(16 * 16, sizeof(float));
	for (int i = 0; i < n; i++) {
		const rad_model_tensor *t = &m->tensors[i];
		o[i] = (rad_st_out){t->name + 12, t->ndim, {t->shape[0], t->shape[1]}, m->params + t->off, t->rows, t->cols, t->transposed, NULL};
	}
	o[n] = (rad_st_out){"h.0.attn.bias", 2, {16, 16}, mask, 16, 16, 0, NULL};
	o[n + 1] = (rad_st_out){"lm_head.weight", 2, {11, 8}, m->w.wte, 11, 8, 0, NULL};
	char path[600];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	EXPECT(rad_st_write(path, o, n + 2, RAD_ST_BF16, NULL) == NULL);
	const char *e = rad_model_load(&m2, dir);
	EXPECT_MSG(e == NULL, "%s", e);
	double worst = 0;
	for (size_t i = 0; m2 && i < m->nparams; i++)
		worst = fmax(worst, fabs(m2->params[i] - m->params[i]) / fmax(fabs(m->params[i]), 1e-30));
	EXPECT(m2 && worst <= 1.0 / 256);
	rad_model_free(m2);
	/* an unknown tensor is an error naming it */
	o[n] = (rad_st_out){"h.0.attn.surprise", 2, {16, 16}, mask, 16, 16, 0, NULL};
	EXPECT(rad_st_write(path, o, n + 2, RAD_ST_F32, NULL) == NULL);
	m2 = NULL;
	e = rad_model_load(&m2, dir);
	EXPECT(e && strstr(e, "surprise"));
	/* a missing one too */
	EXPECT(rad_st_write(path, o + 1, n - 1, RAD_ST_F32, NULL) == NULL);
	e = rad_model_load(&m2, dir);
	EXPECT(e && strstr(e, "missing"));
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	EXPECT(system(cmd) == 0);
	free(o);
	free(mask);
	rad_model_free(m);
}

int main(void)
{
	RUN(test_grad_sft);
	RUN(test_grad_dpo);
	RUN(test_grad_dpo_smooth_rpo);
	RUN(test_grad_ipo);
	RUN(test_grad_hinge);
	RUN(test_packing_invariance);
	RUN(test_bad_input);
	RUN(test_dpo_step0);
	RUN(test_metrics_by_hand);
	RUN(test_sft_overfits);
	RUN(test_dpo_accuracy);
	RUN(test_checkpoint_roundtrip);
	RUN(test_half_floats);
	RUN(test_schedules);
	RUN(test_adamw);
	RUN(test_decode_matches_forward);
	RUN(test_hub_layout);
	return test_status();
}
