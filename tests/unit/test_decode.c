/* test_decode.c — the key/value-cache decoder against the full forward, and sampling. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include "nn/decode.h"
#include "model_fixture.h"
#include "eval/sample.h"
#include "test.h"

enum { V = 37, CTX = 24, L = 2, H = 4, C = 16 };

/* log softmax(logits)[t] */
static double logsm(const float *lg, int n, int t)
{
	double mx = lg[0], s = 0;
	for (int i = 1; i < n; i++) mx = lg[i] > mx ? lg[i] : mx;
	for (int i = 0; i < n; i++) s += exp(lg[i] - mx);
	return lg[t] - mx - log(s);
}

/* log p(seq[n] | seq[0..n)) by the full forward: prompt seq[0..n), completion seq[n]. */
static double forward_logp(rad_model *m, const int *seq, int n)
{
	rad_batch b;
	fx_seq q = {0, 0, seq, n, seq + n, 1, 0, 1};
	fx_batch(&b, 1, n + 1, 1, 1, &q);
	double lp;
	int32_t nt;
	const char *e = rad_model_forward(m, &b, &lp, &nt);
	EXPECT(e == NULL);
	EXPECT_EQ(nt, 1);
	rad_batch_free(&b);
	return lp;
}

/* Prefill 5 tokens, then one at a time: every step's logits give the forward's log-prob;
 * a full recompute after a reset gives the same logits. */
static void check_against_forward(rad_model *m)
{
	int seq[20];
	for (int i = 0; i < 20; i++) seq[i] = (i * 7 + 3) % V;
	rad_kv_cache *kv = rad_kv_cache_new(m, 3, CTX);
	float lg[V];
	/* prefill 5 tokens, then one at a time: every step's logits give the forward's log-prob */
	EXPECT(rad_model_decode(m, kv, 1, seq, 5, lg) == NULL);
	EXPECT_NEAR(logsm(lg, V, seq[5]), forward_logp(m, seq, 5), 1e-4);
	for (int t = 5; t < 19; t++) {
		EXPECT(rad_model_decode(m, kv, 1, seq + t, 1, lg) == NULL);
		EXPECT_NEAR(logsm(lg, V, seq[t + 1]), forward_logp(m, seq, t + 1), 1e-4);
	}
	EXPECT_EQ(kv->len[1], 19);
	EXPECT_EQ(kv->len[0], 0);
	/* a full recompute after a reset gives the same logits */
	float lg2[V];
	rad_kv_cache_reset(kv, 1);
	EXPECT(rad_model_decode(m, kv, 1, seq, 19, lg2) == NULL);
	for (int i = 0; i < V; i++) EXPECT_NEAR(lg2[i], lg[i], 1e-4);
	rad_kv_cache_free(kv);
}

static void test_decode_matches_forward(void)
{
	rad_model *m = fx_model(V, CTX, L, H, C, 11, 3.0);
	check_against_forward(m);
	rad_model_free(m);
}

/* The Llama family: RMSNorm, RoPE (Llama-3 scaling), SwiGLU, GQA, biases, q/k norms
 * (Qwen3, head_dim x heads != dim), tied and untied heads. */
static void test_llama_family(void)
{
	for (int variant = 0; variant < 3; variant++) {
		rad_model_config c;
		rad_model_config_gpt2(&c, V, CTX, 2, 4, 16);
		snprintf(c.model_type, sizeof c.model_type, "%s", variant == 0 ? "llama" : variant == 1 ? "qwen2" : "qwen3");
		c.n_kv_heads = 2;
		c.head_dim = variant == 2 ? 8 : 4;
		c.ffn_dim = 24;
		c.norm = RAD_NORM_RMS;
		c.pos = RAD_POS_ROPE;
		c.mlp = RAD_MLP_SWIGLU;
		c.norm_eps = 1e-6f;
		c.qkv_bias = variant != 2;
		c.out_bias = variant == 0;
		c.mlp_bias = c.norm_bias = 0;
		c.qk_norm = variant == 2;
		c.tied = variant == 1;
		c.rope_theta = 100.0f;
		if (variant == 0) {
			c.rope_scaling = RAD_ROPE_LLAMA3;
			c.rope_factor = 4; c.rope_low_freq = 1; c.rope_high_freq = 4; c.rope_orig_ctx = 8;
		}
		const char *err = NULL;
		rad_model *m = rad_model_new(&c, &err);
		EXPECT_MSG(m != NULL, "%s", err ? err : "");
		if (!m) continue;
		rad_model_init(m, 20 + variant);
		rad_rng r;
		rad_rng_seed(&r, 99);
		for (int i = 0; i < m->ntensors; i++) {   /* weights large enough to matter */
			rad_model_tensor *t = &m->tensors[i];
			float *p = m->params + t->off;
			for (size_t j = 0; j < (size_t)t->rows * t->cols; j++)
				p[j] = t->cols == 1 ? p[j] + (float)(0.3 * rad_rng_normal(&r)) : p[j] * 3.0f;
		}
		check_against_forward(m);
		rad_model_free(m);
	}
}

/* A batched step over several slots gives each slot what it gets alone. */
static void test_batched_step(void)
{
	rad_model *m = fx_model(V, CTX, L, H, C, 5, 3.0);
	rad_kv_cache *kv = rad_kv_cache_new(m, 3, CTX), *one = rad_kv_cache_new(m, 1, CTX);
	int32_t pre[3][6] = {{1, 2, 3, 4, 5, 6}, {9, 8, 7}, {30, 31, 32, 33}};
	int np[3] = {6, 3, 4};
	float lg[3 * V], ref[V];
	for (int s = 0; s < 3; s++) EXPECT(rad_model_decode(m, kv, s, pre[s], np[s], lg) == NULL);
	int slots[3] = {2, 0, 1};
	int32_t nxt[3] = {11, 12, 13};
	EXPECT(rad_model_decode_step(m, kv, 3, slots, nxt, lg) == NULL);
	for (int i = 0; i < 3; i++) {
		int s = slots[i];
		rad_kv_cache_reset(one, 0);
		EXPECT(rad_model_decode(m, one, 0, pre[s], np[s], ref) == NULL);
		EXPECT(rad_model_decode(m, one, 0, &nxt[i], 1, ref) == NULL);
		for (int j = 0; j < V; j++) EXPECT_NEAR(lg[i * V + j], ref[j], 1e-4);
	}
	/* errors: bad token, full cache */
	int32_t bad = V;
	EXPECT(rad_model_decode(m, one, 0, &bad, 1, ref) != NULL);
	int32_t many[CTX + 1] = {0};
	rad_kv_cache_reset(one, 0);
	EXPECT(rad_model_decode(m, one, 0, many, CTX + 1, ref) != NULL);
	rad_kv_cache_free(kv);
	rad_kv_cache_free(one);
	rad_model_free(m);
}

/* bf16 products in generation: a slot's logits do not depend on the other slots of a
 * step, and stay within bf16's rounding of the fp32 ones (without being them). */
static void test_bf16(void)
{
	rad_model *m = fx_model(V, CTX, L, H, C, 5, 3.0);
	rad_kv_cache *kv = rad_kv_cache_new(m, 2, CTX), *one = rad_kv_cache_new(m, 1, CTX);
	int32_t pre[2][4] = {{1, 2, 3, 4}, {9, 8, 7, 6}}, nxt[2] = {11, 12};
	int slots[2] = {1, 0};
	float lg[2 * V], ref[V], f32[V];
	rad_model_set_compute(m, RAD_COMPUTE_BF16);
	for (int s = 0; s < 2; s++) EXPECT(rad_model_decode(m, kv, s, pre[s], 4, lg) == NULL);
	EXPECT(rad_model_decode_step(m, kv, 2, slots, nxt, lg) == NULL);
	EXPECT(rad_model_decode(m, one, 0, pre[1], 4, ref) == NULL);
	EXPECT(rad_model_decode(m, one, 0, &nxt[0], 1, ref) == NULL);
	for (int j = 0; j < V; j++) EXPECT_NEAR(lg[j], ref[j], 1e-4);
	rad_model_set_compute(m, RAD_COMPUTE_F32);
	rad_kv_cache_reset(one, 0);
	EXPECT(rad_model_decode(m, one, 0, pre[1], 4, f32) == NULL);
	EXPECT(rad_model_decode(m, one, 0, &nxt[0], 1, f32) == NULL);
	double err = 0, mag = 0;
	for (int j = 0; j < V; j++) {
		err = fmax(err, fabs(ref[j] - f32[j]));
		mag = fmax(mag, fabs(f32[j]));
	}
	EXPECT_MSG(err < 5e-2 * mag && err > 1e-6 * mag, "bf16 vs fp32 logits: %g of %g", err, mag);
	rad_kv_cache_free(kv);
	rad_kv_cache_free(one);
	rad_model_free(m);
}

static void test_sample(void)
{
	enum { N = 6 };
	float lg[N] = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f, 0.5f};
	rad_sampler s;
	rad_sampler_init(&s, N);
	rad_rng r;
	rad_sample_seed(&r, 1, "x");
	rad_sample_opts greedy = {0, 0, 1};
	EXPECT_EQ(rad_sample(&s, lg, &greedy, &r), 1);   /* tie: lowest id */
	/* top_k 2: only ids 1 and 3 (equal), each about half the time */
	rad_sample_opts k2 = {1.0, 2, 1.0};
	int cnt[N] = {0};
	for (int i = 0; i < 4000; i++) cnt[rad_sample(&s, lg, &k2, &r)]++;
	EXPECT_EQ(cnt[1] + cnt[3], 4000);
	EXPECT(cnt[1] > 1800 && cnt[3] > 1800);
	/* top_p: probabilities at T=1 are e^l/Z; ids 1,3 hold 2e^3/Z = 0.667..., so p = 0.6
	 * keeps {1, 3}, p = 0.8 adds id 2 (0.912) */
	rad_sample_opts p6 = {1.0, 0, 0.6}, p8 = {1.0, 0, 0.8};
	memset(cnt, 0, sizeof cnt);
	for (int i = 0; i < 4000; i++) cnt[rad_sample(&s, lg, &p6, &r)]++;
	EXPECT_EQ(cnt[1] + cnt[3], 4000);
	memset(cnt, 0, sizeof cnt);
	for (int i = 0; i < 6000; i++) cnt[rad_sample(&s, lg, &p8, &r)]++;
	EXPECT_EQ(cnt[1] + cnt[2] + cnt[3], 6000);
	/* id 2 gets e^2 / (2e^3 + e^2) = 0.155 of the draws */
	EXPECT_NEAR(cnt[2] / 6000.0, exp(2) / (2 * exp(3) + exp(2)), 0.02);
	/* plain temperature sampling: frequencies follow softmax(l / T) */
	rad_sample_opts t2 = {2.0, 0, 1.0};
	memset(cnt, 0, sizeof cnt);
	double z = 0;
	for (int i = 0; i < N; i++) z += exp(lg[i] / 2);
	for (int i = 0; i < 20000; i++) cnt[rad_sample(&s, lg, &t2, &r)]++;
	for (int i = 0; i < N; i++) EXPECT_NEAR(cnt[i] / 20000.0, exp(lg[i] / 2) / z, 0.015);
	/* the same id and seed give the same draws; another id others */
	rad_rng a, b, c;
	rad_sample_seed(&a, 7, "p1");
	rad_sample_seed(&b, 7, "p1");
	rad_sample_seed(&c, 7, "p2");
	int same = 1, diff = 0;
	for (int i = 0; i < 50; i++) {
		int x = rad_sample(&s, lg, &t2, &a), y = rad_sample(&s, lg, &t2, &b), w = rad_sample(&s, lg, &t2, &c);
		same &= x == y;
		diff += x != w;
	}
	EXPECT(same);
	EXPECT(diff > 0);
	rad_sampler_free(&s);
}

int main(void)
{
	RUN(test_decode_matches_forward);
	RUN(test_llama_family);
	RUN(test_batched_step);
	RUN(test_bf16);
	RUN(test_sample);
	return test_status();
}
