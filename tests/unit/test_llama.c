/* test_llama.c — the Llama/Qwen family: RMSNorm, q/k norms, RoPE and SwiGLU against finite
 * differences and hand-computed values; whole Llama, Qwen2 and Qwen3 models' gradients by
 * finite differences; packing and position invariances; checkpoints (HF names, shards,
 * refused configurations). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nn/llama_layers.h"
#include "train/loss.h"
#include "nn/model.h"
#include "model_fixture.h"
#include "base/rng.h"
#include "nn/safetensors.h"
#include "test.h"

static rad_rng R;

static float *rnd(size_t n, double sd)
{
	float *p = malloc(n * sizeof(float) + 4);
	for (size_t i = 0; i < n; i++) p[i] = (float)(sd * rad_rng_normal(&R));
	return p;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
	return s;
}

typedef double (*objective)(void *ctx);
/* Analytic g[i] against the central difference of f at x[i], for every i (sizes are tiny). */
static void check(const char *what, float *x, const float *g, size_t n, objective f, void *ctx, double h)
{
	for (size_t i = 0; i < n; i++) {
		float keep = x[i];
		x[i] = keep + (float)h;
		double fp = f(ctx);
		x[i] = keep - (float)h;
		double fm = f(ctx);
		x[i] = keep;
		double num = (fp - fm) / (2 * h), an = g[i];
		if (fabs(num - an) > 1e-2 * fmax(fabs(num), fabs(an)) + 1e-3) {
			test_fail_at(__FILE__, __LINE__, "%s[%zu]: analytic %.6g, numeric %.6g", what, i, an, num);
			return;
		}
	}
}

/* ---- RMSNorm ---- */
typedef struct { int n, c; float *x, *w, *y, *rstd, *r; } rms_ctx;
static double rms_f(void *p)
{
	rms_ctx *c = p;
	rad_rmsnorm_forward(c->y, c->rstd, c->x, c->w, c->n, c->c, 1e-6f);
	return dot(c->y, c->r, (size_t)c->n * c->c);
}
static void test_rmsnorm(void)
{
	/* by hand: x = (3, 4): mean square 12.5, y = x / sqrt(12.5) * w */
	float x2[2] = {3, 4}, w2[2] = {1, 2}, y2[2], r2[1];
	rad_rmsnorm_forward(y2, r2, x2, w2, 1, 2, 0);
	EXPECT_NEAR(y2[0], 3 / sqrt(12.5), 1e-6);
	EXPECT_NEAR(y2[1], 8 / sqrt(12.5), 1e-6);
	rms_ctx c = {.n = 4, .c = 7};
	c.x = rnd(28, 2); c.w = rnd(7, 1); c.y = rnd(28, 1); c.r = rnd(28, 1); c.rstd = rnd(4, 1);
	float *dx = calloc(28, 4), *dw = calloc(7, 4);
	for (int i = 0; i < 28; i++) dx[i] = 0.5f;   /* the backward accumulates into dx */
	rms_f(&c);
	rad_rmsnorm_backward(dx, dw, c.r, c.x, c.rstd, c.w, c.n, c.c);
	for (int i = 0; i < 28; i++) dx[i] -= 0.5f;
	check("dx", c.x, dx, 28, rms_f, &c, 1e-2);
	check("dw", c.w, dw, 7, rms_f, &c, 1e-2);
	free(c.x); free(c.w); free(c.y); free(c.r); free(c.rstd); free(dx); free(dw);
}

/* ---- per-head q/k norms ---- */
typedef struct { int n, h, g, d; float *raw, *qw, *kw, *qkv, *rstd, *r; } qk_ctx;
static double qk_f(void *p)
{
	qk_ctx *c = p;
	rad_qknorm_forward(c->qkv, c->rstd, c->raw, c->qw, c->kw, c->n, c->h, c->g, c->d, 1e-6f);
	return dot(c->qkv, c->r, (size_t)c->n * (c->h + 2 * c->g) * c->d);
}
static void test_qknorm(void)
{
	qk_ctx c = {.n = 3, .h = 4, .g = 2, .d = 4};
	size_t nw = (size_t)c.n * (c.h + 2 * c.g) * c.d;
	c.raw = rnd(nw, 2); c.qw = rnd(4, 1); c.kw = rnd(4, 1); c.qkv = rnd(nw, 1); c.r = rnd(nw, 1);
	c.rstd = rnd((size_t)c.n * (c.h + c.g), 1);
	qk_f(&c);
	/* v is copied unchanged; a q head is RMS-normalised with q_norm's weights */
	int w = (c.h + 2 * c.g) * c.d;
	EXPECT(c.qkv[w + (c.h + c.g) * c.d + 1] == c.raw[w + (c.h + c.g) * c.d + 1]);
	double ms = 0;
	for (int j = 0; j < 4; j++) ms += c.raw[4 + j] * c.raw[4 + j];
	EXPECT_NEAR(c.qkv[4 + 2], c.raw[4 + 2] / sqrt(ms / 4 + 1e-6) * c.qw[2], 1e-5);
	float *draw = calloc(nw, 4), *dqw = calloc(4, 4), *dkw = calloc(4, 4);
	rad_qknorm_backward(draw, dqw, dkw, c.r, c.raw, c.rstd, c.qw, c.kw, c.n, c.h, c.g, c.d);
	check("draw", c.raw, draw, nw, qk_f, &c, 1e-2);
	check("dq_norm", c.qw, dqw, 4, qk_f, &c, 1e-2);
	check("dk_norm", c.kw, dkw, 4, qk_f, &c, 1e-2);
	/* in place (as the model calls it) gives the same input gradient */
	float *inplace = malloc(nw * 4), *dqw2 = calloc(4, 4), *dkw2 = calloc(4, 4);
	memcpy(inplace, c.r, nw * 4);
	rad_qknorm_backward(inplace, dqw2, dkw2, inplace, c.raw, c.rstd, c.qw, c.kw, c.n, c.h, c.g, c.d);
	EXPECT(!memcmp(inplace, draw, nw * 4) && !memcmp(dqw, dqw2, 16) && !memcmp(dkw, dkw2, 16));
	free(c.raw); free(c.qw); free(c.kw); free(c.qkv); free(c.r); free(c.rstd);
	free(draw); free(dqw); free(dkw); free(inplace); free(dqw2); free(dkw2);
}

/* ---- RoPE ---- */
static void test_rope_values(void)
{
	/* D = 4, theta 10000: inv_freq = (1, 0.01); one query head, one key head, one v head */
	float inv[2], cs[3 * 4];
	rad_rope_inv_freq(inv, 4, 10000.0f, 0, 0, 0, 0, 0);
	EXPECT_NEAR(inv[0], 1.0, 0);
	EXPECT_NEAR(inv[1], 0.01, 1e-9);
	int32_t pos[3] = {0, 1, 5};
	rad_rope_table(cs, pos, 3, inv, 4);
	float qkv[3 * 12];
	for (int t = 0; t < 3; t++)
		for (int j = 0; j < 12; j++) qkv[t * 12 + j] = (float)(j % 4 + 1);   /* every head (1, 2, 3, 4) */
	rad_rope_forward(qkv, cs, 3, 1, 1, 4);
	/* position 0: unchanged */
	for (int j = 0; j < 4; j++) EXPECT(qkv[j] == (float)(j + 1));
	/* position 1, by hand: (1cos1 - 3sin1, 2cos.01 - 4sin.01, 3cos1 + 1sin1, 4cos.01 + 2sin.01) */
	const double p1[4] = {-1.9841106485555495, 1.959900667496664, 2.4623779024123156, 4.019799668334994};
	const double p5[4] = {3.1604350094526414, 1.7975838437072191, -0.10793771827345966, 4.094959380121222};
	for (int j = 0; j < 4; j++) {
		EXPECT_NEAR(qkv[12 + j], p1[j], 2e-6);       /* the query head */
		EXPECT_NEAR(qkv[12 + 4 + j], p1[j], 2e-6);   /* the key head, the same angles */
		EXPECT_NEAR(qkv[24 + j], p5[j], 4e-6);
		EXPECT(qkv[12 + 8 + j] == (float)(j + 1));   /* v untouched */
	}
	/* Llama-3 scaling, D = 8, factor 4, low 1, high 4, original context 16: wavelengths
	 * 2pi, 20pi, 200pi, 2000pi against 16 and 4: the first interpolated
	 * ((1 - s)/4 + s with s = (16/2pi - 1)/3, which is 2/pi), the others divided by 4 */
	float inv8[4];
	rad_rope_inv_freq(inv8, 8, 10000.0f, 1, 4.0f, 1.0f, 4.0f, 16);
	EXPECT_NEAR(inv8[0], 2 / M_PI, 1e-6);
	EXPECT_NEAR(inv8[1], 0.1 / 4, 1e-8);
	EXPECT_NEAR(inv8[2], 0.01 / 4, 1e-9);
	EXPECT_NEAR(inv8[3], 0.001 / 4, 1e-10);
}

typedef struct { int n, h, g, d; float *in, *qkv, *cs, *r; } rope_ctx;
static double rope_f(void *p)
{
	rope_ctx *c = p;
	size_t nw = (size_t)c->n * (c->h + 2 * c->g) * c->d;
	memcpy(c->qkv, c->in, nw * 4);
	rad_rope_forward(c->qkv, c->cs, c->n, c->h, c->g, c->d);
	return dot(c->qkv, c->r, nw);
}
static void test_rope_grad(void)
{
	rope_ctx c = {.n = 3, .h = 2, .g = 1, .d = 6};
	size_t nw = (size_t)c.n * (c.h + 2 * c.g) * c.d;
	float inv[3];
	int32_t pos[3] = {7, 0, 3};
	rad_rope_inv_freq(inv, 6, 100.0f, 0, 0, 0, 0, 0);
	c.cs = malloc(3 * 6 * 4);
	rad_rope_table(c.cs, pos, 3, inv, 6);
	c.in = rnd(nw, 1); c.qkv = malloc(nw * 4); c.r = rnd(nw, 1);
	float *g = malloc(nw * 4);
	memcpy(g, c.r, nw * 4);
	rad_rope_backward(g, c.cs, c.n, c.h, c.g, c.d);
	check("dqkv", c.in, g, nw, rope_f, &c, 1e-2);
	/* a rotation: the norm of every head is kept */
	rope_f(&c);
	EXPECT_NEAR(dot(c.qkv, c.qkv, 6), dot(c.in, c.in, 6), 1e-4);
	free(c.cs); free(c.in); free(c.qkv); free(c.r); free(g);
}

/* ---- SwiGLU ---- */
typedef struct { int n, f; float *gu, *y, *r; } sw_ctx;
static double sw_f(void *p)
{
	sw_ctx *c = p;
	rad_swiglu_forward(c->y, c->gu, c->n, c->f);
	return dot(c->y, c->r, (size_t)c->n * c->f);
}
static void test_swiglu(void)
{
	float gu[4] = {1, -2, 2, 3}, y[2];
	rad_swiglu_forward(y, gu, 1, 2);
	EXPECT_NEAR(y[0], 1.4621171572600098, 1e-6);            /* silu(1) * 2 */
	EXPECT_NEAR(y[1], -2 / (1 + exp(2.0)) * 3, 1e-6);        /* silu(-2) * 3 */
	sw_ctx c = {.n = 3, .f = 5};
	c.gu = rnd(30, 2); c.y = rnd(15, 1); c.r = rnd(15, 1);
	float *dgu = calloc(30, 4);
	sw_f(&c);
	rad_swiglu_backward(dgu, c.r, c.gu, c.n, c.f);
	check("dgu", c.gu, dgu, 30, sw_f, &c, 1e-3);
	free(c.gu); free(c.y); free(c.r); free(dgu);
}

/* ---- whole models ---- */
static void grad_check(int variant, const rad_loss_opts *o)
{
	rad_model *m = fx_llama_model(variant, 5 + variant, 8.0);
	rad_batch b;
	fx_two_pairs(&b, 1);
	fx_sweep r = fx_grad_sweep(m, &b, o);
	EXPECT_MSG(r.zero_grad == 0, "%d tensors with a zero gradient", r.zero_grad);
	EXPECT_MSG(r.bad == 0, "%d of %d disagree, first %s", r.bad, r.checked, r.why);
	EXPECT(r.checked > 80);
	rad_batch_free(&b);
	rad_model_free(m);
}
static void test_grad_llama_dpo(void) { rad_loss_opts o = {RAD_LOSS_DPO, 0.5, 0, 0}; grad_check(FX_LLAMA, &o); }
static void test_grad_qwen2_dpo(void) { rad_loss_opts o = {RAD_LOSS_DPO, 0.5, 0.2, 0.5}; grad_check(FX_QWEN2, &o); }
static void test_grad_qwen3_dpo(void) { rad_loss_opts o = {RAD_LOSS_DPO, 0.5, 0, 0}; grad_check(FX_QWEN3, &o); }
static void test_grad_qwen3_sft(void) { rad_loss_opts o = {RAD_LOSS_SFT, 0.1, 0, 0}; grad_check(FX_QWEN3, &o); }

/* Packed or alone, a sequence's log-prob is the same: positions restart per segment and the
 * rotary phases follow them.  Shifting all of one sequence's positions by a constant keeps
 * it too (RoPE scores depend on position differences only); shuffling them does not. */
static void test_packing_and_positions(void)
{
	for (int v = FX_LLAMA; v <= FX_QWEN3; v++) {
		rad_model *m = fx_llama_model(v, 3, 4.0);
		rad_batch b;
		fx_two_pairs(&b, 1);
		double packed[4], alone[1], shifted[4];
		int32_t nt[4], nt1[1];
		EXPECT(rad_model_forward(m, &b, packed, nt) == NULL);
		fx_seq q1[1] = {{0, 0, FX_P1, 2, FX_CC, 4, 0, 1}};
		rad_batch b1;
		fx_batch(&b1, 1, 8, 1, 1, q1);
		EXPECT(rad_model_forward(m, &b1, alone, nt1) == NULL);
		EXPECT_NEAR(alone[0], packed[2], 1e-5 * fabs(packed[2]));
		EXPECT(nt1[0] == 4);
		for (int j = 0; j < 6; j++) b1.position[j] += 9;
		double moved[1];
		EXPECT(rad_model_forward(m, &b1, moved, nt1) == NULL);
		EXPECT_NEAR(moved[0], alone[0], 1e-4 * fabs(alone[0]));
		b1.position[0] = 4;   /* no longer consecutive */
		EXPECT(rad_model_forward(m, &b1, moved, nt1) == NULL);
		EXPECT(fabs(moved[0] - alone[0]) > 1e-4);
		/* the shift inside a packed row changes nothing either */
		for (int j = 0; j < 6; j++) b.position[12 + j] += 5;
		EXPECT(rad_model_forward(m, &b, shifted, nt) == NULL);
		for (int s = 0; s < 4; s++) EXPECT_NEAR(shifted[s], packed[s], 1e-4 * fabs(packed[s]));
		rad_batch_free(&b);
		rad_batch_free(&b1);
		rad_model_free(m);
	}
}

/* ---- checkpoints ---- */
static char *tmpdir(void)
{
	static char dir[64];
	snprintf(dir, sizeof dir, "/tmp/rad-test-llama-XXXXXX");
	return mkdtemp(dir);
}
static void rmdir_r(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0) test_fail_at(__FILE__, __LINE__, "rm failed");
}
static void write_text(const char *dir, const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

static void test_checkpoint_roundtrip(void)
{
	for (int v = FX_LLAMA; v <= FX_QWEN3; v++) {
		char *dir = tmpdir();
		EXPECT(dir != NULL);
		rad_model *m = fx_llama_model(v, 9, 1.0), *m2 = NULL;
		EXPECT(rad_model_save(m, dir, RAD_ST_F32) == NULL);
		const char *e = rad_model_load(&m2, dir);
		EXPECT_MSG(e == NULL, "%s", e);
		EXPECT(m2 && m2->nparams == m->nparams && !memcmp(m2->params, m->params, m->nparams * 4));
		EXPECT(m2 && !memcmp(&m2->cfg, &m->cfg, sizeof m->cfg));
		/* HF names and shapes: k_proj is the G*D rows after q's H*D rows of wqkv */
		char path[512];
		snprintf(path, sizeof path, "%s/model.safetensors", dir);
		rad_st st;
		EXPECT(rad_st_open(&st, path) == NULL);
		int D = m->cfg.head_dim, C = m->cfg.dim;
		const rad_st_tensor *t = rad_st_find(&st, "model.layers.1.self_attn.k_proj.weight");
		EXPECT(t && t->ndim == 2 && t->shape[0] == 2 * D && t->shape[1] == C);
		if (t) EXPECT(((const float *)t->data)[1 * C + 3] == m->w.layer[1].wqkv[(4 * D + 1) * C + 3]);
		t = rad_st_find(&st, "model.layers.0.mlp.up_proj.weight");
		if (t) EXPECT(((const float *)t->data)[2 * C + 1] == m->w.layer[0].w_up[(12 + 2) * C + 1]);
		EXPECT(t != NULL);
		EXPECT((rad_st_find(&st, "model.layers.0.self_attn.q_norm.weight") != NULL) == (v == FX_QWEN3));
		EXPECT((rad_st_find(&st, "model.layers.0.self_attn.v_proj.bias") != NULL) == (v != FX_QWEN3));
		EXPECT((rad_st_find(&st, "model.layers.0.self_attn.o_proj.bias") != NULL) == (v == FX_LLAMA));
		EXPECT((rad_st_find(&st, "lm_head.weight") != NULL) == (v != FX_QWEN2));
		EXPECT(rad_st_find(&st, "model.norm.weight") && rad_st_find(&st, "model.embed_tokens.weight"));
		rad_st_close(&st);
		rad_model_free(m2);
		m2 = NULL;
		/* the same weights split over two bf16 shards with an index load within bf16 rounding */
		int n = m->ntensors, half = n / 2;
		rad_st_out *o = calloc(n, sizeof *o);
		for (int i = 0; i < n; i++) {
			const rad_model_tensor *tt = &m->tensors[i];
			o[i] = (rad_st_out){tt->name, tt->ndim, {tt->shape[0], tt->shape[1]}, m->params + tt->off, tt->rows, tt->cols, 0, NULL};
		}
		unlink(path);
		char p1[600], p2[600];
		snprintf(p1, sizeof p1, "%s/model-00001-of-00002.safetensors", dir);
		snprintf(p2, sizeof p2, "%s/model-00002-of-00002.safetensors", dir);
		EXPECT(rad_st_write(p1, o, half, RAD_ST_BF16, NULL) == NULL);
		EXPECT(rad_st_write(p2, o + half, n - half, RAD_ST_BF16, NULL) == NULL);
		char *idx = malloc(200 + (size_t)n * 200), *q = idx;
		q += sprintf(q, "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
		for (int i = 0; i < n; i++)
			q += sprintf(q, "%s\"%s\": \"model-0000%d-of-00002.safetensors\"", i ? ", " : "", o[i].name, i < half ? 1 : 2);
		sprintf(q, "}}\n");
		write_text(dir, "model.safetensors.index.json", idx);
		e = rad_model_load(&m2, dir);
		EXPECT_MSG(e == NULL, "%s", e);
		double worst = 0;
		for (size_t i = 0; m2 && i < m->nparams; i++)
			worst = fmax(worst, fabs(m2->params[i] - m->params[i]) / fmax(fabs(m->params[i]), 1e-30));
		EXPECT(m2 && worst > 0 && worst <= 1.0 / 256);
		rad_model_free(m2);
		m2 = NULL;
		/* a shard left out: the missing tensor is named */
		sprintf(strstr(idx, "\"weight_map\": {") + 15, "\"%s\": \"model-00001-of-00002.safetensors\"}}", o[0].name);
		write_text(dir, "model.safetensors.index.json", idx);
		e = rad_model_load(&m2, dir);
		EXPECT(e && strstr(e, "is missing") && strstr(e, o[half].name));
		free(idx);
		free(o);
		rmdir_r(dir);
		rad_model_free(m);
	}
}

/* The config.json text json read (written into dir first). */
static const char *config_text(const char *dir, const char *json, rad_model_config *c)
{
	char path[512];
	snprintf(path, sizeof path, "%s/config.json", dir);
	write_text(dir, "config.json", json);
	return rad_model_config_read(c, path);
}

/* The start of a sequence classifier's config.json (a reward model's). */
#define CLS_BODY "\"model_type\": \"qwen2\", \"vocab_size\": 11, \"hidden_size\": 8, \"num_hidden_layers\": 1, " \
	"\"num_attention_heads\": 2, \"intermediate_size\": 8, \"architectures\": [\"Qwen2ForSequenceClassification\"]"

/* Sequence classifiers (reward models): labels counted and named as transformers does
 * (id2label, else num_labels, else 2; test_refused_configs has the bad label maps), and a
 * checkpoint with a score head saved and read back whole. */
static void test_classifier_configs(void)
{
	static const struct { const char *json; int labels; const char *first, *last; } cases[] = {
		{"{" CLS_BODY ", \"id2label\": {\"1\": \"harmless\", \"0\": \"helpful\"}, \"pad_token_id\": 3}", 2, "helpful", "harmless"},
		{"{" CLS_BODY "}", 2, "LABEL_0", "LABEL_1"},
		{"{" CLS_BODY ", \"num_labels\": 1}", 1, "LABEL_0", "LABEL_0"},
	};
	char *dir = tmpdir();
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		rad_model_config c;
		const char *e = config_text(dir, cases[i].json, &c);
		EXPECT_MSG(!e, "case %zu: %s", i, e);
		EXPECT_EQ(c.num_labels, cases[i].labels);
		EXPECT_STR(c.labels[0], cases[i].first);
		EXPECT_STR(c.labels[c.num_labels - 1], cases[i].last);
		EXPECT_EQ(c.pad_id, i == 0 ? 3 : -1);
	}
	/* a reward model: score.weight [2, C] in place of the LM head, back the same */
	rad_model_config c;
	fx_llama_config(&c, FX_QWEN2, 11, 8);
	c.num_labels = 2;
	c.pad_id = 5;
	snprintf(c.labels[0], RAD_LABEL_LEN, "helpful");
	snprintf(c.labels[1], RAD_LABEL_LEN, "harmless");
	const char *err = NULL;
	rad_model *m = rad_model_new(&c, &err), *m2 = NULL;
	EXPECT(m && !m->w.lm_head && m->w.score);
	rad_model_init(m, 3);
	EXPECT(rad_model_save(m, dir, RAD_ST_F32) == NULL);
	const char *e = rad_model_load(&m2, dir);
	EXPECT_MSG(!e, "%s", e);
	EXPECT(m2 && m2->nparams == m->nparams && !memcmp(m2->params, m->params, m->nparams * 4));
	EXPECT(m2 && !memcmp(&m2->cfg, &m->cfg, sizeof m->cfg));
	EXPECT(m2 && rad_model_fingerprint(m2) == rad_model_fingerprint(m));
	rad_model_free(m2);
	rad_model_free(m);
	rmdir_r(dir);
}

/* Configurations rad cannot train are refused, naming what is in the way. */
static void test_refused_configs(void)
{
	static const struct { const char *json, *want; } cases[] = {
		{"{\"model_type\": \"llama\", \"vocab_size\": 11, \"hidden_size\": 8, \"num_hidden_layers\": 1, "
		 "\"num_attention_heads\": 2, \"intermediate_size\": 8, \"hidden_act\": \"gelu\"}", "hidden_act"},
		{"{\"model_type\": \"llama\", \"vocab_size\": 11, \"hidden_size\": 8, \"num_hidden_layers\": 1, "
		 "\"num_attention_heads\": 2, \"intermediate_size\": 8, \"mlp_bias\": true}", "mlp_bias"},
		{"{\"model_type\": \"qwen2\", \"vocab_size\": 11, \"hidden_size\": 8, \"num_hidden_layers\": 1, "
		 "\"num_attention_heads\": 2, \"intermediate_size\": 8, \"use_sliding_window\": true}", "sliding"},
		{"{\"model_type\": \"qwen3\", \"vocab_size\": 11, \"hidden_size\": 8, \"num_hidden_layers\": 1, "
		 "\"num_attention_heads\": 2}", "intermediate_size"},
		{"{\"model_type\": \"llama\", \"vocab_size\": 11, \"hidden_size\": 8, \"num_hidden_layers\": 1, "
		 "\"num_attention_heads\": 2, \"intermediate_size\": 8, \"rope_scaling\": {\"rope_type\": \"yarn\"}}", "yarn"},
		{"{\"model_type\": \"llama\", \"architectures\": [\"LlamaForTokenClassification\"], \"vocab_size\": 11, "
		 "\"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 8}",
		 "ForTokenClassification"},
		{"{\"model_type\": \"gemma2\"}", "gemma2"},
		{"{" CLS_BODY ", \"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", "for id 1"},
		{"{" CLS_BODY ", \"id2label\": {\"0\": \"a\", \"1\": \"a\"}}", "both"},
		{"{" CLS_BODY ", \"id2label\": {}}", "0 labels"},
	};
	char *dir = tmpdir();
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		rad_model_config c;
		const char *e = config_text(dir, cases[i].json, &c);
		EXPECT_MSG(e && strstr(e, cases[i].want), "case %zu: %s", i, e ? e : "(accepted)");
	}
	char path[512];
	snprintf(path, sizeof path, "%s/config.json", dir);
	/* an odd head width cannot rotate */
	rad_model_config c;
	fx_llama_config(&c, FX_LLAMA, 11, 8);
	c.head_dim = 3;
	const char *e = rad_model_config_check(&c);
	EXPECT(e && strstr(e, "head_dim"));
	/* a real-looking Llama-3.2 config reads with its scaling and list of eos ids */
	write_text(dir, "config.json",
	           "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"vocab_size\": 128256, "
	           "\"hidden_size\": 2048, \"num_hidden_layers\": 16, \"num_attention_heads\": 32, \"num_key_value_heads\": 8, "
	           "\"intermediate_size\": 8192, \"head_dim\": 64, \"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-05, "
	           "\"rope_theta\": 500000.0, \"max_position_embeddings\": 131072, \"tie_word_embeddings\": true, "
	           "\"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009], \"rope_scaling\": {\"factor\": 32.0, "
	           "\"high_freq_factor\": 4.0, \"low_freq_factor\": 1.0, \"original_max_position_embeddings\": 8192, "
	           "\"rope_type\": \"llama3\"}}");
	e = rad_model_config_read(&c, path);
	EXPECT_MSG(e == NULL, "%s", e);
	EXPECT(c.rope_scaling == RAD_ROPE_LLAMA3 && c.rope_factor == 32.0f && c.rope_orig_ctx == 8192);
	EXPECT(c.n_kv_heads == 8 && c.tied && c.eos_id == 128001 && c.norm_eps == 1e-5f && !c.qkv_bias);
	EXPECT(rad_model_config_check(&c) == NULL);
	/* written back and read again: the same configuration */
	rad_model_config c2;
	EXPECT(rad_model_config_write(&c, RAD_ST_F32, path) == NULL);
	EXPECT(rad_model_config_read(&c2, path) == NULL);
	EXPECT(!strcmp(c.model_type, c2.model_type) && c.vocab == c2.vocab && c.ctx == c2.ctx && c.dim == c2.dim &&
	       c.n_layers == c2.n_layers && c.n_heads == c2.n_heads && c.n_kv_heads == c2.n_kv_heads &&
	       c.head_dim == c2.head_dim && c.ffn_dim == c2.ffn_dim && c.norm_eps == c2.norm_eps && c.tied == c2.tied &&
	       c.rope_theta == c2.rope_theta && c.rope_scaling == c2.rope_scaling && c.rope_factor == c2.rope_factor &&
	       c.rope_low_freq == c2.rope_low_freq && c.rope_high_freq == c2.rope_high_freq &&
	       c.rope_orig_ctx == c2.rope_orig_ctx && c.bos_id == c2.bos_id && c.eos_id == c2.eos_id &&
	       c.qkv_bias == c2.qkv_bias && c.out_bias == c2.out_bias && c.qk_norm == c2.qk_norm);
	rmdir_r(dir);
}

/* Generation with the key/value cache gives the training forward's log-probs for each
 * variant (rotated keys cached, grouped-query heads, q/k norms), token by token or in
 * pieces, and a slot does not see another. */
static void test_decode_matches_forward(void)
{
	for (int v = FX_LLAMA; v <= FX_QWEN3; v++) {
		rad_model *m = fx_llama_model(v, 12, 4.0);
		static const int pr[] = {3}, co[] = {4, 1, 7, 9, 2, 10, 0, 5, 8, 6};
		fx_seq q = {0, 0, pr, 1, co, 10, 0, 1};
		rad_batch b;
		fx_batch(&b, 1, 11, 1, 1, &q);
		double lp;
		EXPECT(rad_model_forward(m, &b, &lp, NULL) == NULL);
		rad_kv_cache *kv = rad_kv_cache_new(m, 2, 16);
		float logits[11], l2[11];
		int32_t other[3] = {5, 5, 6};
		EXPECT(rad_model_decode(m, kv, 1, other, 3, logits) == NULL);
		int32_t seq[11] = {3, 4, 1, 7, 9, 2, 10, 0, 5, 8, 6};
		double sum = 0;
		for (int t = 0; t < 10; t++) {
			EXPECT(rad_model_decode(m, kv, 0, &seq[t], 1, logits) == NULL);
			double mx = -1e30, z = 0;
			for (int j = 0; j < 11; j++) mx = fmax(mx, logits[j]);
			for (int j = 0; j < 11; j++) z += exp(logits[j] - mx);
			sum += logits[seq[t + 1]] - mx - log(z);
		}
		EXPECT_NEAR(sum, lp, 1e-4 * fabs(lp));
		rad_kv_cache_reset(kv, 0);
		EXPECT(rad_model_decode(m, kv, 0, seq, 6, l2) == NULL);
		EXPECT(rad_model_decode(m, kv, 0, seq + 6, 4, l2) == NULL);
		for (int j = 0; j < 11; j++) EXPECT_NEAR(l2[j], logits[j], 1e-4);
		rad_kv_cache_free(kv);
		rad_batch_free(&b);
		rad_model_free(m);
	}
}

int main(void)
{
	rad_rng_seed(&R, 42);
	RUN(test_rmsnorm);
	RUN(test_qknorm);
	RUN(test_rope_values);
	RUN(test_rope_grad);
	RUN(test_swiglu);
	RUN(test_grad_llama_dpo);
	RUN(test_grad_qwen2_dpo);
	RUN(test_grad_qwen3_dpo);
	RUN(test_grad_qwen3_sft);
	RUN(test_packing_and_positions);
	RUN(test_checkpoint_roundtrip);
	RUN(test_refused_configs);
	RUN(test_classifier_configs);
	RUN(test_decode_matches_forward);
	return test_status();
}
