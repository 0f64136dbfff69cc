/* nn/decode.c — generation: forward only, a key/value cache per slot (model.h).
 *
 * The work unit is a list of rows: row r is token tok[r] of slot slot[r], at the next free
 * position of that slot (rows of one slot in order).  A prefill is n rows of one slot;
 * a batched step is one row for each of several slots.  Per layer:
 *   x[n,C] -> norm1 -> qkv[n,(H+2G)*D] (-> q/k norms) (-> RoPE at each row's position)
 *   -> k, v rows written into the cache at their positions -> each row's query heads attend over its slot's cache [0, pos] (query head
 *   h reads key/value head h / (H/G)) -> out proj -> residual -> norm2 -> MLP (GELU or
 *   SwiGLU) -> residual; LayerNorm or RMSNorm as the configuration says (model.h)
 * then the final norm and the LM head at the rows whose logits are wanted.
 *
 * Products: a prefill of many tokens goes through the engine like rad_model_forward.  A
 * batched step (and any short list of rows) uses rows_linear below instead: each weight
 * row is read once for all the rows of the step, and each output is one dot product
 * computed the same way whatever the number of rows, so a slot's numbers do not depend
 * on which other slots share its step (generation stays the same under any batching or
 * sharding), and sgemm's packing of the whole weight matrix for a single row (most of
 * the time of a one-token step through sgemm, measured) is avoided. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "nn/decode.h"
#include "nn/layers.h"
#include "nn/llama_layers.h"
#include "nn/model.h"

rad_kv_cache *rad_kv_cache_new(const rad_model *m, int nslots, int max_len)
{
	const rad_model_config *c = &m->cfg;
	if (nslots < 1) nslots = 1;
	if (max_len < 1) max_len = 1;
	if (max_len > c->ctx) max_len = c->ctx;
	rad_kv_cache *kv = rad_calloc(1, sizeof *kv);
	kv->nslots = nslots;
	kv->max_len = max_len;
	kv->n_layers = c->n_layers;
	kv->kv_dim = c->n_kv_heads * c->head_dim;
	size_t n = (size_t)c->n_layers * nslots * max_len * kv->kv_dim;
	kv->len = rad_calloc(nslots, sizeof *kv->len);
	kv->k = rad_malloc(n * sizeof(float) + 64);
	kv->v = rad_malloc(n * sizeof(float) + 64);
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

void rad_kv_cache_reset(rad_kv_cache *kv, int slot)
{
	if (slot >= 0 && slot < kv->nslots) kv->len[slot] = 0;
}

void rad_kv_cache_copy(rad_kv_cache *kv, int from, int to)
{
	if (from < 0 || from >= kv->nslots || to < 0 || to >= kv->nslots || from == to) return;
	size_t row = (size_t)kv->max_len * kv->kv_dim, n = (size_t)kv->len[from] * kv->kv_dim;
	for (int l = 0; l < kv->n_layers; l++) {
		size_t f = ((size_t)l * kv->nslots + from) * row, t = ((size_t)l * kv->nslots + to) * row;
		memcpy(kv->k + t, kv->k + f, n * sizeof(float));
		memcpy(kv->v + t, kv->v + f, n * sizeof(float));
	}
	kv->len[to] = kv->len[from];
}

/* y[n,O] = x[n,I] W[O,I]^T (+ b): parallel over blocks of 4 outputs, each x row against
 * the 4 weight rows with 4 independent accumulators; how an output is summed depends on
 * its index only, never on n.  In bf16 products x is rounded to bf16 first; a weight
 * without fp32 values (bf16 products, or held in bf16 only) has each block's 4 rows
 * widened to fp32 on the way (exact), so the sums are the same fp32 sums of the same
 * values. */
static void rows_linear(float *y, const float *x, rad_weight w, const float *b, int n, int in, int out)
{
	const rad_bf16 *wh = w.bf16_products || !w.f32 ? w.bf16 : NULL;
	if (w.bf16_products) {
		float *xr = rad_engine_scratch(3, (size_t)n * in * sizeof *xr);
		rad_bf16 *xh = rad_engine_scratch(2, (size_t)n * in * sizeof *xh);
		rad_bf16_from_f32(xh, x, (size_t)n * in);
		rad_f32_from_bf16(xr, xh, (size_t)n * in);
		x = xr;
	}
	int nb = (out + 3) / 4;
	#pragma omp parallel for schedule(static)
	for (int ob = 0; ob < nb; ob++) {
		int o = 4 * ob, no = out - o < 4 ? out - o : 4;
		const float *wo = wh ? NULL : w.f32 + (size_t)o * in;
		if (wh) {   /* this thread's buffer (engine scratch slots are per thread) */
			float *wide = rad_engine_scratch(0, (size_t)4 * in * sizeof *wide);
			rad_f32_from_bf16(wide, wh + (size_t)o * in, (size_t)no * in);
			wo = wide;
		}
		if (no == 4) {
			const float *w0 = wo, *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
			for (int r = 0; r < n; r++) {
				const float *xr = x + (size_t)r * in;
				float d0 = 0, d1 = 0, d2 = 0, d3 = 0;
				#pragma omp simd reduction(+:d0, d1, d2, d3)
				for (int i = 0; i < in; i++) {
					d0 += w0[i] * xr[i];
					d1 += w1[i] * xr[i];
					d2 += w2[i] * xr[i];
					d3 += w3[i] * xr[i];
				}
				float *yr = y + (size_t)r * out + o;
				yr[0] = d0 + (b ? b[o] : 0.0f);
				yr[1] = d1 + (b ? b[o + 1] : 0.0f);
				yr[2] = d2 + (b ? b[o + 2] : 0.0f);
				yr[3] = d3 + (b ? b[o + 3] : 0.0f);
			}
		} else {
			for (int k = 0; k < no; k++) {
				const float *wr = wo + (size_t)k * in;
				for (int r = 0; r < n; r++) {
					const float *xr = x + (size_t)r * in;
					float d = 0;
					#pragma omp simd reduction(+:d)
					for (int i = 0; i < in; i++) d += wr[i] * xr[i];
					y[(size_t)r * out + o + k] = d + (b ? b[o + k] : 0.0f);
				}
			}
		}
	}
}

#define ROWWISE_MAX 8   /* up to this many rows of one call, rows_linear */

typedef void (*linear_fn)(float *y, const float *x, rad_weight w, const float *b, int n, int in, int out);

/* The cache row of (layer, slot, position). */
static float *kv_at(float *base, const rad_kv_cache *kv, int l, int slot, int pos)
{
	return base + (((size_t)l * kv->nslots + slot) * kv->max_len + pos) * kv->kv_dim;
}

/* Scratch grown as needed, one per calling thread (the OpenMP workers inside get
 * pointers into it, never `sc` itself). */
typedef struct scratch {
	size_t cap_rows, cap_scores, cap_out;
	float *x, *xn, *qkv, *qkvr, *ao, *tmp, *up, *act, *mean, *rstd, *qkr, *cs, *scores, *sel;
	int32_t *pos;
	float *inv_freq;
	size_t dims[6];          /* the shapes the row buffers were sized for */
} scratch;
static __thread scratch sc;

static void scratch_get(const rad_model_config *c, int n, int max_len, int nout)
{
	size_t C = c->dim, W = (size_t)(c->n_heads + 2 * c->n_kv_heads) * c->head_dim;
	size_t HD = (size_t)c->n_heads * c->head_dim, F = c->ffn_dim, D = c->head_dim;
	size_t nthr = (size_t)omp_get_max_threads();
	size_t dims[6] = {C, W, HD, F, D, (size_t)(c->n_heads + c->n_kv_heads)};
	if ((size_t)n > sc.cap_rows || memcmp(dims, sc.dims, sizeof dims)) {
		memcpy(sc.dims, dims, sizeof dims);
		free(sc.x); free(sc.xn); free(sc.qkv); free(sc.qkvr); free(sc.ao); free(sc.tmp); free(sc.up);
		free(sc.act); free(sc.mean); free(sc.rstd); free(sc.qkr); free(sc.cs); free(sc.pos);
		if ((size_t)n > sc.cap_rows) sc.cap_rows = n;
		size_t N = sc.cap_rows;
		sc.x = rad_malloc(N * C * 4); sc.xn = rad_malloc(N * C * 4);
		sc.qkv = rad_malloc(N * W * 4); sc.qkvr = rad_malloc(N * W * 4); sc.ao = rad_malloc(N * HD * 4);
		sc.tmp = rad_malloc(N * C * 4); sc.up = rad_malloc(N * 2 * F * 4); sc.act = rad_malloc(N * F * 4);
		sc.mean = rad_malloc(N * 4); sc.rstd = rad_malloc(N * 4);
		sc.qkr = rad_malloc(N * (c->n_heads + c->n_kv_heads) * 4);
		sc.cs = rad_malloc(N * D * 4);
		sc.pos = rad_malloc(N * 4);
	}
	if (c->pos == RAD_POS_ROPE) {   /* the frequencies of this model (recomputed per call: cheap) */
		free(sc.inv_freq);
		sc.inv_freq = rad_malloc((D / 2 + 1) * 4);
		rad_rope_inv_freq(sc.inv_freq, (int)D, c->rope_theta, c->rope_scaling, c->rope_factor, c->rope_low_freq,
		                  c->rope_high_freq, c->rope_orig_ctx);
	}
	if ((size_t)nout * C > sc.cap_out || sc.dims[0] != C) {
		free(sc.sel);
		sc.cap_out = (size_t)nout * C;
		sc.sel = rad_malloc(sc.cap_out * 4);
	}
	if (nthr * max_len > sc.cap_scores) {
		free(sc.scores);
		sc.cap_scores = nthr * max_len;
		sc.scores = rad_malloc(sc.cap_scores * 4);
	}
}

/* The model's norm (LayerNorm or RMSNorm) of x[n,C] into y (may alias x). */
static void norm(const rad_model_config *c, float *y, const float *x, const float *w, const float *b, int n)
{
	if (c->norm == RAD_NORM_RMS) rad_rmsnorm_forward(y, sc.rstd, x, w, n, c->dim, c->norm_eps);
	else rad_layernorm_forward(y, sc.mean, sc.rstd, x, w, b, n, c->dim, c->norm_eps);
}

/* Attention of each row over its slot's cache, written into ao[n, H*D]. */
static void attend(const rad_model_config *c, const rad_kv_cache *kv, int l, int n, const int *slot,
                   const int32_t *pos, const float *qkv, float *ao, float *scores)
{
	int H = c->n_heads, G = c->n_kv_heads, D = c->head_dim, W = (H + 2 * G) * D, grp = H / G;
	float scale = 1.0f / sqrtf((float)D);
	#pragma omp parallel for schedule(dynamic, 1)
	for (int job = 0; job < n * H; job++) {
		int r = job / H, h = job % H, kh = h / grp, len = pos[r] + 1;
		float *s = scores + (size_t)omp_get_thread_num() * kv->max_len;
		const float *q = qkv + (size_t)r * W + (size_t)h * D;
		float mx = -INFINITY;
		for (int j = 0; j < len; j++) {
			const float *k = kv_at(kv->k, kv, l, slot[r], j) + (size_t)kh * D;
			float d = 0;
			#pragma omp simd reduction(+:d)
			for (int e = 0; e < D; e++) d += q[e] * k[e];
			s[j] = d * scale;
			mx = s[j] > mx ? s[j] : mx;
		}
		float sum = 0;
		for (int j = 0; j < len; j++) { s[j] = expf(s[j] - mx); sum += s[j]; }
		float inv = 1.0f / sum, *o = ao + (size_t)r * H * D + (size_t)h * D;
		memset(o, 0, sizeof(float) * D);
		for (int j = 0; j < len; j++) {
			const float *v = kv_at(kv->v, kv, l, slot[r], j) + (size_t)kh * D;
			float a = s[j] * inv;
			#pragma omp simd
			for (int e = 0; e < D; e++) o[e] += a * v[e];
		}
	}
}

static const char *decode_rows(rad_model *m, rad_kv_cache *kv, int n, const int *slot, const int32_t *tok,
                               int nout, const int *out_rows, float *logits, int rowwise)
{
	linear_fn lin = rowwise ? rows_linear : rad_matmul_forward;
	static __thread char msg[200];
	const rad_model_config *c = &m->cfg;
	if (n <= 0) return "nothing to decode";
	if (m->lora) return "generation does not apply an attached adapter: merge it into the weights first";
	if (!m->w.lm_head) return "a sequence-classification (reward) model has no language-model head to generate with";
	const rad_bf16 *wb = rad_model_bf16(m);
#define WT(w) rad_model_weight(m, wb, w)
	scratch_get(c, n, kv->max_len, nout);
	/* positions: each slot continues from its cache */
	for (int r = 0; r < n; r++) {
		int s = slot[r];
		if (s < 0 || s >= kv->nslots) {
			snprintf(msg, sizeof msg, "slot %d outside the cache (%d slots)", s, kv->nslots);
			return msg;
		}
		int p = kv->len[s];
		for (int q = 0; q < r; q++) p += slot[q] == s;
		if (p >= kv->max_len) {
			snprintf(msg, sizeof msg, "slot %d: cache full (%d positions)", s, kv->max_len);
			return msg;
		}
		sc.pos[r] = p;
	}
	for (int r = 0; r < n; r++)   /* after the room is checked: a caller past the cache gets that */
		if (tok[r] < 0 || tok[r] >= c->vocab) {
			snprintf(msg, sizeof msg, "token id %d outside the vocabulary (%d)", tok[r], c->vocab);
			return msg;
		}
	int C = c->dim, H = c->n_heads, G = c->n_kv_heads, D = c->head_dim, F = c->ffn_dim;
	int W = (H + 2 * G) * D, HD = H * D, GD = G * D;
	const rad_weights *w = &m->w;
	float *x = sc.x;
	int rope = c->pos == RAD_POS_ROPE, swiglu = c->mlp == RAD_MLP_SWIGLU;
	rad_embedding_forward(x, WT(w->wte), rope ? (rad_weight){0} : WT(w->wpe), tok, sc.pos, n, C);
	if (rope) rad_rope_table(sc.cs, sc.pos, n, sc.inv_freq, D);
	for (int l = 0; l < c->n_layers; l++) {
		const rad_layer_weights *y = &w->layer[l];
		norm(c, sc.xn, x, y->norm1_w, y->norm1_b, n);
		if (c->qk_norm) {
			lin(sc.qkvr, sc.xn, WT(y->wqkv), y->bqkv, n, C, W);
			rad_qknorm_forward(sc.qkv, sc.qkr, sc.qkvr, y->q_norm, y->k_norm, n, H, G, D, c->norm_eps);
		} else {
			lin(sc.qkv, sc.xn, WT(y->wqkv), y->bqkv, n, C, W);
		}
		if (rope) rad_rope_forward(sc.qkv, sc.cs, n, H, G, D);
		for (int r = 0; r < n; r++) {
			const float *row = sc.qkv + (size_t)r * W;
			memcpy(kv_at(kv->k, kv, l, slot[r], sc.pos[r]), row + HD, sizeof(float) * GD);
			memcpy(kv_at(kv->v, kv, l, slot[r], sc.pos[r]), row + HD + GD, sizeof(float) * GD);
		}
		attend(c, kv, l, n, slot, sc.pos, sc.qkv, sc.ao, sc.scores);
		lin(sc.tmp, sc.ao, WT(y->wo), y->bo, n, HD, C);
		for (size_t e = 0; e < (size_t)n * C; e++) x[e] += sc.tmp[e];
		norm(c, sc.xn, x, y->norm2_w, y->norm2_b, n);
		if (swiglu) {
			lin(sc.up, sc.xn, WT(y->w_up), y->b_up, n, C, 2 * F);
			rad_swiglu_forward(sc.act, sc.up, n, F);
		} else {
			lin(sc.act, sc.xn, WT(y->w_up), y->b_up, n, C, F);
			rad_gelu_forward(sc.act, sc.act, (size_t)n * F);
		}
		lin(sc.tmp, sc.act, WT(y->w_down), y->b_down, n, F, C);
		for (size_t e = 0; e < (size_t)n * C; e++) x[e] += sc.tmp[e];
	}
	for (int r = 0; r < n; r++)
		if (sc.pos[r] + 1 > kv->len[slot[r]]) kv->len[slot[r]] = sc.pos[r] + 1;
	if (nout <= 0) return NULL;
	for (int o = 0; o < nout; o++)
		memcpy(sc.sel + (size_t)o * C, x + (size_t)out_rows[o] * C, sizeof(float) * C);
	norm(c, sc.sel, sc.sel, w->normf_w, w->normf_b, nout);
	linear_fn head = rowwise || nout <= ROWWISE_MAX ? rows_linear : rad_matmul_forward;
	head(logits, sc.sel, WT(w->lm_head), NULL, nout, C, c->vocab);
#undef WT
	return NULL;
}

const char *rad_decode_rows(rad_model *m, rad_kv_cache *kv, int n, const int *slot, const int32_t *tok,
                            int nout, const int *out_rows, float *logits)
{
	return decode_rows(m, kv, n, slot, tok, nout, out_rows, logits, n <= ROWWISE_MAX);
}

const char *rad_model_decode(rad_model *m, rad_kv_cache *kv, int slot, const int32_t *tok, int n, float *logits)
{
	int *slots = rad_malloc(sizeof(int) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++) slots[i] = slot;
	int last = n - 1;
	const char *e = rad_decode_rows(m, kv, n, slots, tok, logits ? 1 : 0, &last, logits);
	free(slots);
	return e;
}

const char *rad_model_decode_step(rad_model *m, rad_kv_cache *kv, int n, const int *slots, const int32_t *tok,
                                  float *logits)
{
	int *rows = rad_malloc(sizeof(int) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++) rows[i] = i;
	const char *e = decode_rows(m, kv, n, slots, tok, n, rows, logits, 1);
	free(rows);
	return e;
}
