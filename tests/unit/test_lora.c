/* test_lora.c — LoRA (nn/lora.h): the layer's backward against central finite
 * differences of its forward (with and without dropout), whole GPT-2 and Llama-family
 * models with adapters (gradients of A and B by finite differences, no gradient kept for
 * the frozen base), PEFT's initialisation leaving the model as it was, merging, dropout
 * masks, target names, and the PEFT directory read back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "base/rng.h"
#include "nn/lora.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "model_fixture.h"
#include "test.h"

static rad_rng R;

static void fill(float *p, size_t n, double sd)
{
	for (size_t i = 0; i < n; i++) p[i] = (float)(sd * rad_rng_normal(&R));
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
	return s;
}

/* ---- one site: L = sum(r * y), y = x W^T + s drop(x) A^T B^T ---- */
typedef struct {
	rad_lora *lo;
	int n, in, out, train;
	float *x, *w, *y, *r;
} site_ctx;

static double site_f(site_ctx *c)
{
	memset(c->y, 0, sizeof(float) * c->n * c->out);
	for (int t = 0; t < c->n; t++)
		for (int o = 0; o < c->out; o++)
			c->y[t * c->out + o] = (float)dot(c->x + t * c->in, c->w + o * c->in, c->in);
	rad_lora_forward(c->lo, 0, RAD_LORA_SITE_O, c->y, c->out, c->x, c->n, c->train);
	return dot(c->y, c->r, (size_t)c->n * c->out);
}

/* Central differences of site_f at every element of v against g. */
static int check(const char *what, site_ctx *c, float *v, const float *g, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		float keep = v[i];
		double h = 1e-2;
		v[i] = keep + (float)h;
		double fp = site_f(c);
		v[i] = keep - (float)h;
		double fm = site_f(c);
		v[i] = keep;
		double num = (fp - fm) / (2 * h);
		if (fabs(num - g[i]) > 1e-3 * fmax(fabs(num), fabs(g[i])) + 1e-3) {
			if (!bad) test_fail_at(__FILE__, __LINE__, "%s[%zu]: analytic %.6g, numeric %.6g", what, i, g[i], num);
			bad++;
		}
	}
	return bad;
}

/* The attention output projection of a GPT-2 of width 6 (o: [6, 6]) with a rank-3 adapter. */
static void layer_case(double dropout, int rslora)
{
	rad_model_config cfg;
	rad_model_config_gpt2(&cfg, 5, 8, 1, 2, 6);
	rad_lora_opts o = {.rank = 3, .alpha = 5, .dropout = dropout, .targets = RAD_LORA_C_PROJ, .rslora = rslora};
	const char *err = NULL;
	site_ctx c = {.n = 4, .in = 6, .out = 6, .train = 1};
	c.lo = rad_lora_new(&cfg, &o, &err);
	EXPECT_MSG(c.lo, "%s", err);
	if (!c.lo) return;
	EXPECT_NEAR(c.lo->scale, rslora ? 5 / sqrt(3.0) : 5 / 3.0, 1e-6);
	rad_lora_enable_grads(c.lo);
	rad_lora_set_key(c.lo, 42);
	fill(c.lo->params, c.lo->nparams, 0.7);   /* B non-zero, so dA and dx are not zero */
	c.x = malloc(24 * 4); c.w = malloc(36 * 4); c.y = malloc(24 * 4); c.r = malloc(24 * 4);
	fill(c.x, 24, 1); fill(c.w, 36, 0.5); fill(c.r, 24, 1);
	float dx[24];
	for (int i = 0; i < 24; i++) dx[i] = 0.25f;   /* the base's backward wrote dx: LoRA adds */
	site_f(&c);
	rad_lora_backward(c.lo, 0, RAD_LORA_SITE_O, dx, c.r, c.out, c.x, c.n, c.train);
	/* the base part of dx: r W */
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 6; i++) {
			double s = 0;
			for (int oo = 0; oo < 6; oo++) s += c.r[t * 6 + oo] * c.w[oo * 6 + i];
			dx[t * 6 + i] += (float)s - 0.25f;
		}
	const rad_lora_module *md = &c.lo->mod[0];
	EXPECT_EQ(c.lo->nmod, 2);   /* PEFT's c_proj: attention (this site) and MLP (DOWN) */
	EXPECT(md->site == RAD_LORA_SITE_O && md->in == 6 && md->rows == 6);
	check("dA", &c, md->a, md->ga, 18);
	check("dB", &c, md->b, md->gb, 18);
	check("dx", &c, c.x, dx, 24);
	free(c.x); free(c.w); free(c.y); free(c.r);
	rad_lora_free(c.lo);
}
static void test_layer(void) { layer_case(0, 0); }
static void test_layer_rslora(void) { layer_case(0, 1); }
static void test_layer_dropout(void) { layer_case(0.3, 0); }

/* Dropout masks: the rate, the same mask for the same key, another for another key or
 * module, none outside training. */
static void test_dropout_mask(void)
{
	rad_model_config cfg;
	rad_model_config_gpt2(&cfg, 5, 8, 1, 2, 64);
	rad_lora_opts o = {.rank = 2, .alpha = 2, .dropout = 0.25, .targets = RAD_LORA_C_ATTN | RAD_LORA_C_FC};
	const char *err;
	rad_lora *lo = rad_lora_new(&cfg, &o, &err);
	rad_lora_set_key(lo, 7);
	long kept = 0, same = 0, other_mod = 0, N = 100000;
	for (long e = 0; e < N; e++) {
		int k = rad_lora_kept(lo, &lo->mod[0], e);
		kept += k;
		other_mod += k == rad_lora_kept(lo, &lo->mod[1], e);
	}
	rad_lora_set_key(lo, 8);
	for (long e = 0; e < N; e++) same += rad_lora_kept(lo, &lo->mod[0], e);
	EXPECT_NEAR((double)kept / N, 0.75, 0.01);
	EXPECT_NEAR((double)same / N, 0.75, 0.01);
	/* independent masks agree on p^2 + (1-p)^2 = 0.625 of the elements */
	EXPECT_NEAR((double)other_mod / N, 0.625, 0.01);
	/* the forward outside training ignores the mask: y is the same for any key */
	float x[64], y1[192] = {0}, y2[192] = {0};
	fill(x, 64, 1);
	fill(lo->params, lo->nparams, 1);
	rad_lora_forward(lo, 0, RAD_LORA_SITE_QKV, y1, 192, x, 1, 0);
	rad_lora_set_key(lo, 9);
	rad_lora_forward(lo, 0, RAD_LORA_SITE_QKV, y2, 192, x, 1, 0);
	EXPECT(!memcmp(y1, y2, sizeof y1));
	rad_lora_forward(lo, 0, RAD_LORA_SITE_QKV, y2, 192, x, 1, 1);   /* adds a dropped copy: differs */
	int differs = 0;
	for (int i = 0; i < 192; i++) differs |= fabsf(y2[i] - 2 * y1[i]) > 1e-4f;
	EXPECT(differs);
	rad_lora_free(lo);
}

/* Target names: PEFT's, the short ones, all-linear, and families. */
static void test_targets(void)
{
	unsigned t;
	EXPECT(!rad_lora_targets_parse("q,k,v,o,gate,up,down", &t));
	EXPECT_EQ(t, RAD_LORA_Q | RAD_LORA_K | RAD_LORA_V | RAD_LORA_O | RAD_LORA_GATE | RAD_LORA_UP | RAD_LORA_DOWN);
	EXPECT(!rad_lora_targets_parse("q_proj,v_proj", &t));
	EXPECT_EQ(t, RAD_LORA_Q | RAD_LORA_V);
	EXPECT(rad_lora_targets_parse("q_proj,lm_head", &t) != NULL);
	EXPECT(rad_lora_targets_parse("", &t) != NULL);
	rad_model_config g, l;
	rad_model_config_gpt2(&g, 5, 8, 2, 2, 8);
	fx_llama_config(&l, FX_QWEN2, 5, 8);
	const char *err = NULL;
	rad_lora_opts o = {.rank = 2, .alpha = 4, .targets = RAD_LORA_Q};
	EXPECT(!rad_lora_new(&g, &o, &err));
	EXPECT(err && strstr(err, "c_attn"));
	EXPECT(!rad_lora_targets_parse("all-linear", &o.targets));
	rad_lora *a = rad_lora_new(&g, &o, &err), *b = rad_lora_new(&l, &o, &err);
	EXPECT_EQ(a->nmod, 2 * 4);   /* c_attn, attn.c_proj, c_fc, mlp.c_proj per layer */
	EXPECT_EQ(b->nmod, 2 * 7);
	EXPECT_STR(a->tensors[0].name, "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight");
	EXPECT_STR(b->tensors[3].name, "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight");
	EXPECT_EQ(b->tensors[3].shape[0], l.n_kv_heads * l.head_dim);
	EXPECT_EQ(b->tensors[3].shape[1], 2);
	EXPECT_STR(a->tensors[7].name, "base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight");
	rad_lora_free(a);
	rad_lora_free(b);
}

/* A model with an adapter on every linear layer whose B is not zero: drawn from seed, so
 * that rows differ (a constant B hides rows mixed up), small enough that the finite
 * differences of the whole fp32 loss stay in their linear range. */
static rad_model *with_adapter(rad_model *m, int rank, double dropout, uint64_t seed)
{
	rad_lora_opts o = {.rank = rank, .alpha = 3, .dropout = dropout};
	rad_lora_targets_parse("all-linear", &o.targets);
	const char *err;
	rad_lora *lo = rad_lora_new(&m->cfg, &o, &err);
	rad_lora_init(lo, seed);
	rad_rng r;
	rad_rng_seed(&r, seed);
	for (int j = 0; j < lo->nmod; j++)
		for (int i = 0; i < lo->mod[j].rows * rank; i++) lo->mod[j].b[i] = (float)(0.2 * rad_rng_normal(&r));
	rad_model_attach_lora(m, lo);
	return m;
}

/* Whole models: the gradients of every A and B by finite differences; the base keeps none. */
static void model_grads(rad_model *m, double dropout)
{
	with_adapter(m, 2, dropout, 3);
	rad_lora_set_key(m->lora, 11);
	rad_batch b;
	fx_two_pairs(&b, 1);
	rad_loss_opts o = {RAD_LOSS_DPO, 0.5, 0.1, 0.3};
	fx_sweep_step = 1e-3;   /* through attention the loss curves enough to need it */
	fx_sweep r = fx_grad_sweep(m, &b, &o);
	EXPECT_MSG(r.zero_grad == 0, "%d tensors with a zero gradient", r.zero_grad);
	EXPECT_MSG(r.bad == 0, "%d of %d disagree, first %s", r.bad, r.checked, r.why);
	EXPECT(r.checked >= m->lora->ntensors * 2);
	EXPECT(m->grads == NULL);   /* frozen: no gradient buffer for the base */
	EXPECT_EQ(rad_model_trainable(m).n, m->lora->nparams);
	rad_batch_free(&b);
	rad_model_free(m);
}
static void test_grads_gpt2(void) { model_grads(fx_model(11, 16, 2, 2, 8, 4, 2.0), 0); }
static void test_grads_llama(void) { model_grads(fx_llama_model(FX_LLAMA, 5, 6.0), 0); }
static void test_grads_qwen3(void) { model_grads(fx_llama_model(FX_QWEN3, 6, 6.0), 0); }
static void test_grads_qwen2_dropout(void) { model_grads(fx_llama_model(FX_QWEN2, 7, 6.0), 0.2); }

/* PEFT's initialisation: B = 0, A in +-1/sqrt(in); the model's log-probs are unchanged, bit for bit. */
static void test_init_is_identity(void)
{
	rad_model *m = fx_llama_model(FX_QWEN2, 3, 3.0);
	rad_batch b;
	fx_two_pairs(&b, 0);
	double lp0[4], lp1[4];
	int32_t nt[4];
	rad_model_forward(m, &b, lp0, nt);
	rad_lora_opts o = {.rank = 4, .alpha = 8, .dropout = 0.1};
	rad_lora_targets_parse("all-linear", &o.targets);
	const char *err;
	rad_lora *lo = rad_lora_new(&m->cfg, &o, &err);
	rad_lora_init(lo, 1);
	int bzero = 1, inside = 1, nonzero = 0;
	for (int j = 0; j < lo->nmod; j++) {
		const rad_lora_module *md = &lo->mod[j];
		for (int i = 0; i < md->rows * 4; i++) bzero &= md->b[i] == 0;
		for (int i = 0; i < md->in * 4; i++) {
			inside &= fabsf(md->a[i]) <= 1 / sqrtf((float)md->in);
			nonzero += md->a[i] != 0;
		}
	}
	EXPECT(bzero && inside && nonzero > 0);
	rad_lora *again = rad_lora_new(&m->cfg, &o, &err);
	rad_lora_init(again, 1);
	EXPECT(!memcmp(again->params, lo->params, lo->nparams * 4));   /* seeded */
	rad_lora_free(again);
	rad_model_attach_lora(m, lo);
	rad_model_enable_grads(m);   /* training: dropout on, still the identity since B = 0 */
	rad_lora_set_key(lo, 5);
	rad_model_forward(m, &b, lp1, nt);
	EXPECT(!memcmp(lp0, lp1, sizeof lp0));
	rad_batch_free(&b);
	rad_model_free(m);
}

/* Merging W += s B A computes what the adapter does (1e-5 relative on the log-probs). */
static void merge_case(rad_model *m, rad_model *plain)
{
	rad_batch b;
	fx_two_pairs(&b, 0);
	double lp_adapter[4], lp_merged[4], lp_plain[4];
	int32_t nt[4];
	rad_model_forward(plain, &b, lp_plain, nt);
	with_adapter(m, 3, 0, 2);
	rad_model_forward(m, &b, lp_adapter, nt);
	rad_lora_merge(m->lora, plain);
	rad_model_forward(plain, &b, lp_merged, nt);
	double worst = 0, moved = 0;
	for (int s = 0; s < 4; s++) {
		worst = fmax(worst, fabs(lp_adapter[s] - lp_merged[s]) / fmax(1, fabs(lp_adapter[s])));
		moved = fmax(moved, fabs(lp_adapter[s] - lp_plain[s]));
	}
	EXPECT_MSG(worst <= 1e-5, "merged differs by %.3g", worst);
	EXPECT_MSG(moved > 1e-2, "the adapter changes the log-probs by only %.3g", moved);
	rad_batch_free(&b);
	rad_model_free(m);
	rad_model_free(plain);
}
static void test_merge_gpt2(void) { merge_case(fx_model(11, 16, 2, 2, 8, 4, 2.0), fx_model(11, 16, 2, 2, 8, 4, 2.0)); }
static void test_merge_llama(void) { merge_case(fx_llama_model(FX_LLAMA, 4, 2.0), fx_llama_model(FX_LLAMA, 4, 2.0)); }

/* The gradient of one DPO batch into a fresh copy of the trainable set's gradient. */
static float *one_gradient(rad_model *m, const rad_batch *b)
{
	rad_loss_opts o = {RAD_LOSS_DPO, 0.5, 0, 0.2};
	double dlogp[4];
	rad_model_enable_grads(m);
	rad_model_zero_grads(m);
	fx_batch_loss(m, b, &o, dlogp);
	rad_model_backward(m, b, dlogp);
	rad_trainable t = rad_model_trainable(m);
	float *g = malloc(t.n * sizeof(float));
	memcpy(g, t.grads, t.n * sizeof(float));
	return g;
}

/* Recomputing each layer in the backward gives the same bits as keeping every layer:
 * full training and an adapter with dropout, GPT-2 and Qwen3. */
static void test_recompute_same_bits(void)
{
	for (int k = 0; k < 4; k++) {
		rad_model *m[2];
		for (int r = 0; r < 2; r++) {
			m[r] = k % 2 ? fx_llama_model(FX_QWEN3, 6, 3.0) : fx_model(11, 16, 3, 2, 8, 4, 2.0);
			if (k >= 2) {
				with_adapter(m[r], 2, 0.25, 3);
				rad_lora_set_key(m[r]->lora, 5);
			}
			m[r]->recompute = r;
		}
		rad_batch b;
		fx_two_pairs(&b, 1);
		float *g0 = one_gradient(m[0], &b), *g1 = one_gradient(m[1], &b);
		size_t n = rad_model_trainable(m[0]).n;
		EXPECT_MSG(!memcmp(g0, g1, n * sizeof(float)), "case %d: the gradients differ", k);
		double s = 0;
		for (size_t i = 0; i < n; i++) s += fabs(g0[i]);
		EXPECT(s > 0);
		free(g0);
		free(g1);
		rad_batch_free(&b);
		rad_model_free(m[0]);
		rad_model_free(m[1]);
	}
}

/* A base held in bf16 (rad_model_load_as) computes exactly what an fp32 model holding
 * the same rounded matrices computes: the same fingerprint, the same adapter gradient
 * bits in fp32 and in bf16 products, with and without recompute; saved, it is the
 * rounded model. */
static void base_bf16_case(rad_model *m)
{
	char dir[] = "/tmp/rad-base-bf16-XXXXXX";
	EXPECT(mkdtemp(dir) != NULL);
	EXPECT(rad_model_save(m, dir, RAD_ST_F32) == NULL);
	rad_model *held = NULL, *rounded = NULL;
	const char *e = rad_model_load_as(&held, dir, RAD_ST_BF16);
	EXPECT_MSG(!e, "%s", e);
	EXPECT(rad_model_load(&rounded, dir) == NULL);
	if (!held || !rounded) return;
	size_t changed = 0;
	for (int i = 0; i < rounded->ntensors; i++) {
		const rad_model_tensor *t = &rounded->tensors[i];
		size_t n = (size_t)t->rows * t->cols;
		float *p = rounded->params + t->off;
		if (!rad_model_tensor_is_matrix(t)) continue;
		rad_bf16 *h = malloc(n * sizeof *h);
		rad_bf16_from_f32(h, p, n);
		float *back = malloc(n * sizeof *back);
		rad_f32_from_bf16(back, h, n);
		for (size_t j = 0; j < n; j++) changed += back[j] != p[j];
		memcpy(p, back, n * sizeof *back);
		free(h);
		free(back);
	}
	EXPECT(changed > 0);   /* the test is not of weights bf16 holds exactly */
	EXPECT(rad_model_fingerprint(held) == rad_model_fingerprint(rounded));
	EXPECT(rad_model_fingerprint(held) != rad_model_fingerprint(m));
	/* saved (its matrices widened from bf16), it is the rounded model */
	char dir2[] = "/tmp/rad-base-bf16-XXXXXX";
	EXPECT(mkdtemp(dir2) != NULL);
	EXPECT(rad_model_save(held, dir2, RAD_ST_F32) == NULL);
	rad_model *back = NULL;
	EXPECT(rad_model_load(&back, dir2) == NULL);
	EXPECT(back && rad_model_fingerprint(back) == rad_model_fingerprint(rounded));
	rad_model_free(back);
	rad_batch b;
	fx_two_pairs(&b, 1);
	with_adapter(held, 2, 0, 3);
	with_adapter(rounded, 2, 0, 3);
	for (int k = 0; k < 3; k++) {
		int compute = k == 1 ? RAD_COMPUTE_BF16 : RAD_COMPUTE_F32;
		rad_model_set_compute(held, compute);
		rad_model_set_compute(rounded, compute);
		held->recompute = k == 2;
		float *g0 = one_gradient(held, &b), *g1 = one_gradient(rounded, &b);
		size_t n = rad_model_trainable(held).n;
		EXPECT_MSG(!memcmp(g0, g1, n * sizeof(float)), "%s, case %d: the adapter gradients differ", m->cfg.model_type, k);
		free(g0);
		free(g1);
	}
	EXPECT(held->grads == NULL);
	rad_batch_free(&b);
	rad_model_free(held);
	rad_model_free(rounded);
	rad_model_free(m);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, dir2);
	EXPECT(system(cmd) == 0);
}
/* A bf16-held model maps no memory for its matrices' fp32 ranges: after initialisation
 * and a fingerprint, not one page inside the embedding's fp32 range is resident, while
 * the bf16 copy holds the rounded values of an fp32 model with the same seed. */
static void test_base_bf16_unmapped(void)
{
	rad_model_config c;
	rad_model_config_gpt2(&c, 1000, 64, 1, 4, 256);
	const char *err;
	rad_model *h = rad_model_new_as(&c, RAD_ST_BF16, &err), *f = rad_model_new(&c, &err);
	rad_model_init(h, 3);
	rad_model_init(f, 3);
	(void)rad_model_fingerprint(h);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)h->w.wte + pg - 1) / pg * pg, hi = (uintptr_t)(h->w.wte + 1000 * 256) / pg * pg;
	size_t np = (hi - lo) / pg;
	unsigned char *res = calloc(np, 1);
	EXPECT(np > 100 && mincore((void *)lo, hi - lo, res) == 0);
	size_t resident = 0;
	for (size_t i = 0; i < np; i++) resident += res[i] & 1;
	EXPECT_MSG(resident == 0, "%zu of %zu pages resident", resident, np);
	rad_bf16 *want = malloc(1000 * 256 * sizeof *want);
	rad_bf16_from_f32(want, f->w.wte, 1000 * 256);
	EXPECT(!memcmp(want, h->params_bf16 + (h->w.wte - h->params), 1000 * 256 * sizeof *want));
	EXPECT(h->w.layer[0].norm1_w[0] == 1.0f && h->w.layer[0].bqkv[5] == 0.0f);   /* vectors: fp32 */
	free(res);
	free(want);
	rad_model_free(h);
	rad_model_free(f);
}
static void test_base_bf16_gpt2(void) { base_bf16_case(fx_model(11, 16, 2, 2, 8, 4, 2.0)); }
static void test_base_bf16_llama(void) { base_bf16_case(fx_llama_model(FX_LLAMA, 4, 2.0)); }
static void test_base_bf16_qwen2(void) { base_bf16_case(fx_llama_model(FX_QWEN2, 5, 2.0)); }
static void test_base_bf16_qwen3(void) { base_bf16_case(fx_llama_model(FX_QWEN3, 6, 2.0)); }

/* PEFT's directory: written and read back the same bits, the configuration PEFT's keys;
 * what this build cannot apply is refused with the file named. */
static void test_peft_dir(void)
{
	char dir[] = "/tmp/rad-lora-XXXXXX";
	EXPECT(mkdtemp(dir) != NULL);
	rad_model *m = with_adapter(fx_llama_model(FX_LLAMA, 4, 1.0), 2, 0.05, 9);
	m->lora->o.rslora = 1;
	EXPECT(rad_lora_save(m->lora, &m->cfg, dir, RAD_ST_F32, "base") == NULL);
	rad_lora *back = NULL;
	const char *e = rad_lora_load(&back, &m->cfg, dir);
	EXPECT_MSG(!e, "%s", e);
	if (back) {
		EXPECT_EQ(back->nparams, m->lora->nparams);
		EXPECT(!memcmp(back->params, m->lora->params, back->nparams * 4));
		EXPECT(back->o.rank == 2 && back->o.alpha == 3 && back->o.dropout == 0.05 && back->o.rslora);
		EXPECT_EQ(back->o.targets, m->lora->o.targets);
		rad_lora_free(back);
	}
	char p[300], cmd[400];
	snprintf(p, sizeof p, "%s/adapter_config.json", dir);
	FILE *f = fopen(p, "r");
	char text[4096] = {0};
	if (f) { fread(text, 1, sizeof text - 1, f); fclose(f); }
	EXPECT(strstr(text, "\"peft_type\": \"LORA\"") && strstr(text, "\"r\": 2") && strstr(text, "\"lora_alpha\": 3") &&
	       strstr(text, "\"use_rslora\": true") && strstr(text, "\"gate_proj\""));
	/* a DoRA adapter is refused, naming the file and the key */
	snprintf(cmd, sizeof cmd, "sed -i 's/\"use_dora\": false/\"use_dora\": true/' %s", p);
	EXPECT(system(cmd) == 0);
	e = rad_lora_load(&back, &m->cfg, dir);
	EXPECT(e && strstr(e, "adapter_config.json") && strstr(e, "use_dora"));
	/* an adapter for another model's shapes: the tensor is named */
	snprintf(cmd, sizeof cmd, "sed -i 's/\"use_dora\": true/\"use_dora\": false/' %s", p);
	EXPECT(system(cmd) == 0);
	rad_model *other = fx_llama_model(FX_QWEN3, 4, 1.0);
	e = rad_lora_load(&back, &other->cfg, dir);
	EXPECT(e && strstr(e, "lora_") && strstr(e, "shape"));
	rad_model_free(other);
	snprintf(cmd, sizeof cmd, "rm -r %s", dir);
	EXPECT(system(cmd) == 0);
	rad_model_free(m);
}

int main(void)
{
	rad_rng_seed(&R, 17);
	RUN(test_layer);
	RUN(test_layer_rslora);
	RUN(test_layer_dropout);
	RUN(test_dropout_mask);
	RUN(test_targets);
	RUN(test_grads_gpt2);
	RUN(test_grads_llama);
	RUN(test_grads_qwen3);
	RUN(test_grads_qwen2_dropout);
	RUN(test_init_is_identity);
	RUN(test_merge_gpt2);
	RUN(test_merge_llama);
	RUN(test_peft_dir);
	RUN(test_recompute_same_bits);
	RUN(test_base_bf16_unmapped);
	RUN(test_base_bf16_gpt2);
	RUN(test_base_bf16_llama);
	RUN(test_base_bf16_qwen2);
	RUN(test_base_bf16_qwen3);
	return test_status();
}
