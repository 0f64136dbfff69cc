/* decode.c — forward only, token by token, with a key/value cache (generation).
 *
 * The same weights and layers as the training forward (model.c), for one sequence per
 * cache slot: n new tokens at positions len..len+n-1 of the slot, their keys and values
 * appended to the cache, and the logits of the last one computed.  Attention reads the
 * slot's cache; no other slot is seen.  Llama-family models: RMSNorm, q/k norms, rotary
 * positions (the cache holds the rotated keys) and SwiGLU, as in model.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "layers.h"
#include "llama_layers.h"
#include "model.h"
#include "vmath.h"

rad_kv_cache *rad_kv_cache_new(const rad_model *m, int nslots, int max_len)
{
	const rad_model_config *c = &m->cfg;
	rad_kv_cache *kv = rad_calloc(1, sizeof *kv);
	kv->nslots = nslots;
	kv->max_len = max_len < c->ctx ? max_len : c->ctx;
	kv->n_layers = c->n_layers;
	kv->kv_dim = c->n_kv_heads * c->head_dim;
	kv->len = rad_calloc(nslots, sizeof(int));
	size_t n = (size_t)c->n_layers * nslots * kv->max_len * kv->kv_dim;
	kv->k = rad_malloc(n * sizeof(float) + 4);
	kv->v = rad_malloc(n * sizeof(float) + 4);
	return kv;
}

void rad_kv_cache_free(rad_kv_cache *kv)
{
	if (!kv) return;
	free(kv->len);
	free(kv->k);
	free(kv->v);
	free(kv);
}

void rad_kv_cache_reset(rad_kv_cache *kv, int slot) { kv->len[slot] = 0; }

static float *cache_at(const rad_kv_cache *kv, float *base, int l, int slot, int pos)
{
	return base + (((size_t)l * kv->nslots + slot) * kv->max_len + pos) * kv->kv_dim;
}

const char *rad_model_decode(rad_model *m, rad_kv_cache *kv, int slot, const int32_t *tok, int n, float *logits)
{
	static __thread char msg[160];
	const rad_model_config *c = &m->cfg;
	if (slot < 0 || slot >= kv->nslots) return "cache slot out of range";
	if (n <= 0) return "no tokens to decode";
	int p0 = kv->len[slot];
	if (p0 + n > kv->max_len) {
		snprintf(msg, sizeof msg, "the cache holds %d positions; %d + %d do not fit", kv->max_len, p0, n);
		return msg;
	}
	for (int i = 0; i < n; i++)
		if (tok[i] < 0 || tok[i] >= c->vocab) {
			snprintf(msg, sizeof msg, "token id %d outside the vocabulary (%d)", tok[i], c->vocab);
			return msg;
		}
	int C = c->dim, H = c->n_heads, G = c->n_kv_heads, D = c->head_dim, F = c->ffn_dim;
	int W = (H + 2 * G) * D, HD = H * D, grp = H / G, GD = G * D;
	float scale = 1.0f / sqrtf((float)D);
	const rad_weights *w = &m->w;
	float *x = rad_malloc(sizeof(float) * n * C), *h = rad_malloc(sizeof(float) * n * C);
	float *qkv = rad_malloc(sizeof(float) * n * W), *ao = rad_malloc(sizeof(float) * n * HD);
	int rms = c->norm == RAD_NORM_RMS, rope = c->pos == RAD_POS_ROPE, swiglu = c->mlp == RAD_MLP_SWIGLU;
	float *tmp = rad_malloc(sizeof(float) * n * C), *up = rad_malloc(sizeof(float) * n * F * (swiglu ? 3 : 1));
	float *act = swiglu ? up + (size_t)n * 2 * F : up;
	float *qkvr = c->qk_norm ? rad_malloc(sizeof(float) * n * W) : NULL;
	float *qkr = c->qk_norm ? rad_malloc(sizeof(float) * n * (H + G)) : NULL;
	float *cs = rope ? rad_malloc(sizeof(float) * n * D) : NULL, *inv = rope ? rad_malloc(sizeof(float) * (D / 2 + 1)) : NULL;
	float *mean = rad_malloc(sizeof(float) * n), *rstd = rad_malloc(sizeof(float) * n);
	float *sc = rad_malloc(sizeof(float) * (p0 + n));
	int32_t *pos = rad_malloc(sizeof(int32_t) * n);
	for (int i = 0; i < n; i++) pos[i] = p0 + i;
	rad_embedding_forward(x, w->wte, rope ? NULL : w->wpe, tok, pos, n, C);
	if (rope) {
		rad_rope_inv_freq(inv, D, c->rope_theta, c->rope_scaling, c->rope_factor, c->rope_low_freq, c->rope_high_freq,
		                  c->rope_orig_ctx);
		rad_rope_table(cs, pos, n, inv, D);
	}
	for (int l = 0; l < c->n_layers; l++) {
		const rad_layer_weights *y = &w->layer[l];
		if (rms) rad_rmsnorm_forward(h, rstd, x, y->norm1_w, n, C, c->norm_eps);
		else rad_layernorm_forward(h, mean, rstd, x, y->norm1_w, y->norm1_b, n, C, c->norm_eps);
		if (c->qk_norm) {
			rad_matmul_forward(qkvr, h, y->wqkv, y->bqkv, n, C, W);
			rad_qknorm_forward(qkv, qkr, qkvr, y->q_norm, y->k_norm, n, H, G, D, c->norm_eps);
		} else {
			rad_matmul_forward(qkv, h, y->wqkv, y->bqkv, n, C, W);
		}
		if (rope) rad_rope_forward(qkv, cs, n, H, G, D);
		for (int i = 0; i < n; i++) {
			memcpy(cache_at(kv, kv->k, l, slot, p0 + i), qkv + (size_t)i * W + HD, sizeof(float) * GD);
			memcpy(cache_at(kv, kv->v, l, slot, p0 + i), qkv + (size_t)i * W + HD + GD, sizeof(float) * GD);
		}
		for (int i = 0; i < n; i++) {
			int L = p0 + i + 1;
			for (int hh = 0; hh < H; hh++) {
				int kh = hh / grp;
				const float *q = qkv + (size_t)i * W + (size_t)hh * D;
				float mx = -INFINITY;
				for (int j = 0; j < L; j++) {
					const float *k = cache_at(kv, kv->k, l, slot, j) + (size_t)kh * D;
					float s = 0;
					#pragma omp simd reduction(+:s)
					for (int d = 0; d < D; d++) s += q[d] * k[d];
					sc[j] = s * scale;
					mx = sc[j] > mx ? sc[j] : mx;
				}
				float sum = 0;
				for (int j = 0; j < L; j++) { sc[j] = rad_expf(sc[j] - mx); sum += sc[j]; }
				float *o = ao + (size_t)i * HD + (size_t)hh * D;
				memset(o, 0, sizeof(float) * D);
				for (int j = 0; j < L; j++) {
					const float *v = cache_at(kv, kv->v, l, slot, j) + (size_t)kh * D;
					float p = sc[j] / sum;
					#pragma omp simd
					for (int d = 0; d < D; d++) o[d] += p * v[d];
				}
			}
		}
		rad_matmul_forward(tmp, ao, y->wo, y->bo, n, HD, C);
		for (size_t e = 0; e < (size_t)n * C; e++) x[e] += tmp[e];
		if (rms) rad_rmsnorm_forward(h, rstd, x, y->norm2_w, n, C, c->norm_eps);
		else rad_layernorm_forward(h, mean, rstd, x, y->norm2_w, y->norm2_b, n, C, c->norm_eps);
		if (swiglu) {
			rad_matmul_forward(up, h, y->w_up, y->b_up, n, C, 2 * F);
			rad_swiglu_forward(act, up, n, F);
		} else {
			rad_matmul_forward(up, h, y->w_up, y->b_up, n, C, F);
			rad_gelu_forward(up, up, (size_t)n * F);
		}
		rad_matmul_forward(tmp, act, y->w_down, y->b_down, n, F, C);
		for (size_t e = 0; e < (size_t)n * C; e++) x[e] += tmp[e];
	}
	const float *last = x + (size_t)(n - 1) * C;
	if (rms) rad_rmsnorm_forward(h, rstd, last, w->normf_w, 1, C, c->norm_eps);
	else rad_layernorm_forward(h, mean, rstd, last, w->normf_w, w->normf_b, 1, C, c->norm_eps);
	rad_matmul_forward(logits, h, w->lm_head, NULL, 1, C, c->vocab);
	kv->len[slot] = p0 + n;
	free(x); free(h); free(qkv); free(ao); free(tmp); free(up); free(mean); free(rstd); free(sc); free(pos);
	free(qkvr); free(qkr); free(cs); free(inv);
	return NULL;
}
