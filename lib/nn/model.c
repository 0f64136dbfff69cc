/* nn/model.c — the generic decoder: weight layout, HF tensor names, initialisation, and the
 * forward and backward passes over a batch (layers in lib/layers.h).
 *
 * Variants are configuration (model.h): LayerNorm + learned positions + GELU (the GPT-2
 * family) or RMSNorm + RoPE + SwiGLU with grouped-query attention, optional q/k/v biases
 * and per-head q/k norms (Llama, Mistral, Qwen2, Qwen3), over the same fused buffers. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "base/cli.h"
#include "nn/layers.h"
#include "nn/llama_layers.h"
#include "nn/lora.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "base/rng.h"

void rad_model_config_gpt2(rad_model_config *c, int vocab, int ctx, int layers, int heads, int dim)
{
	memset(c, 0, sizeof *c);
	snprintf(c->model_type, sizeof c->model_type, "gpt2");
	c->vocab = vocab;
	c->ctx = ctx;
	c->dim = dim;
	c->n_layers = layers;
	c->n_heads = heads;
	c->n_kv_heads = heads;
	c->head_dim = heads > 0 ? dim / heads : 0;
	c->ffn_dim = 4 * dim;
	c->norm = RAD_NORM_LAYER;
	c->pos = RAD_POS_LEARNED;
	c->mlp = RAD_MLP_GELU;
	c->norm_eps = 1e-5f;
	c->qkv_bias = c->out_bias = c->mlp_bias = c->norm_bias = 1;
	c->tied = 1;
	c->rope_theta = 10000.0f;
	c->bos_id = c->eos_id = vocab == 50257 ? 50256 : -1;
	c->pad_id = -1;
}

const char *rad_model_config_check(const rad_model_config *c)
{
	static char msg[160];
	if (c->vocab <= 0 || c->ctx <= 0 || c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
	    c->n_kv_heads <= 0 || c->head_dim <= 0 || c->ffn_dim <= 0)
		return "every size (vocab, context, dim, layers, heads, head_dim, ffn) must be positive";
	if (c->n_heads % c->n_kv_heads)
		return "heads must be a multiple of key/value heads";
	int gpt2 = !strcmp(c->model_type, "gpt2");
	if (gpt2 && (c->norm != RAD_NORM_LAYER || c->pos != RAD_POS_LEARNED || c->mlp != RAD_MLP_GELU || c->qk_norm)) {
		snprintf(msg, sizeof msg, "model_type \"gpt2\" is LayerNorm, learned positions and GELU only");
		return msg;
	}
	if (!gpt2 && (c->norm != RAD_NORM_RMS || c->pos != RAD_POS_ROPE || c->mlp != RAD_MLP_SWIGLU || c->norm_bias ||
	              c->mlp_bias)) {
		snprintf(msg, sizeof msg, "model_type \"%s\": only RMSNorm without bias, RoPE and SwiGLU without biases are supported",
		         c->model_type);
		return msg;
	}
	if (c->pos == RAD_POS_ROPE && (c->head_dim % 2 || c->rope_theta <= 0))
		return "rotary positions need an even head_dim and rope_theta > 0";
	if (c->rope_scaling == RAD_ROPE_LLAMA3 && (c->rope_factor <= 0 || c->rope_orig_ctx <= 0 ||
	                                           c->rope_high_freq <= c->rope_low_freq || c->rope_low_freq <= 0))
		return "llama3 rope_scaling needs factor > 0, original_max_position_embeddings > 0 and high_freq_factor > low_freq_factor > 0";
	if ((size_t)c->vocab * c->dim > (size_t)1 << 34) return "model too large";
	if (c->num_labels < 0 || c->num_labels > RAD_MAX_LABELS) {
		snprintf(msg, sizeof msg, "num_labels %d: a score head of 1 to %d labels is supported", c->num_labels, RAD_MAX_LABELS);
		return msg;
	}
	return NULL;
}

/* ---- layout ------------------------------------------------------------------------ */

typedef struct layout {
	rad_model *m;
	float *base;             /* NULL: count only */
	size_t cur;
	int nt;
} layout;

/* A block of `rows x cols` floats; returns its pointer (or NULL when counting). */
static float *block(layout *lo, size_t rows, size_t cols)
{
	size_t off = lo->cur;
	lo->cur += rows * cols;
	return lo->base ? lo->base + off : NULL;
}

/* Records an HF tensor at pointer p (inside a block), internal [rows, cols]. */
static void tensor(layout *lo, float *p, const char *name, int ndim, int64_t s0, int64_t s1,
                   int64_t rows, int64_t cols, int transposed, int decay, int optional)
{
	if (lo->base) {
		rad_model_tensor *t = &lo->m->tensors[lo->nt];
		memset(t, 0, sizeof *t);
		snprintf(t->name, sizeof t->name, "%s", name);
		t->ndim = ndim;
		t->shape[0] = s0;
		t->shape[1] = ndim > 1 ? s1 : 1;
		t->off = (size_t)(p - lo->base);
		t->rows = rows;
		t->cols = cols;
		t->transposed = transposed;
		t->decay = decay;
		t->optional = optional;
	}
	lo->nt++;
}

#define VEC(p, nm, n) tensor(lo, p, nm, 1, n, 1, n, 1, 0, 0, 0)

/* The head after the final norm: the LM head (the input embedding when tied), or for a
 * sequence-classification model HF's "score" [num_labels, C] (no bias) and no LM head. */
static void lay_head(layout *lo, rad_weights *w)
{
	const rad_model_config *c = &lo->m->cfg;
	int64_t C = c->dim, V = c->vocab, K = c->num_labels;
	if (K > 0) {
		w->lm_head = NULL;
		w->score = block(lo, K, C);
		tensor(lo, w->score, "score.weight", 2, K, C, K, C, 0, 1, 0);
	} else if (c->tied) {
		w->lm_head = w->wte;
	} else {
		w->lm_head = block(lo, V, C);
		tensor(lo, w->lm_head, "lm_head.weight", 2, V, C, V, C, 0, 1, 0);
	}
}

static void lay_gpt2(layout *lo, rad_weights *w)
{
	const rad_model_config *c = &lo->m->cfg;
	int64_t C = c->dim, V = c->vocab, F = c->ffn_dim, W = (int64_t)(c->n_heads + 2 * c->n_kv_heads) * c->head_dim;
	int64_t HD = (int64_t)c->n_heads * c->head_dim;
	char nm[96];
	w->wte = block(lo, V, C);
	tensor(lo, w->wte, "transformer.wte.weight", 2, V, C, V, C, 0, 1, 0);
	w->wpe = block(lo, c->ctx, C);
	tensor(lo, w->wpe, "transformer.wpe.weight", 2, c->ctx, C, c->ctx, C, 0, 1, 0);
	for (int l = 0; l < c->n_layers; l++) {
		rad_layer_weights *y = &w->layer[l];
#define NM(s) (snprintf(nm, sizeof nm, "transformer.h.%d.%s", l, s), nm)
		y->norm1_w = block(lo, C, 1); VEC(y->norm1_w, NM("ln_1.weight"), C);
		y->norm1_b = block(lo, C, 1); VEC(y->norm1_b, NM("ln_1.bias"), C);
		y->wqkv = block(lo, W, C);
		tensor(lo, y->wqkv, NM("attn.c_attn.weight"), 2, C, W, W, C, 1, 1, 0);
		y->bqkv = block(lo, W, 1); VEC(y->bqkv, NM("attn.c_attn.bias"), W);
		y->wo = block(lo, C, HD);
		tensor(lo, y->wo, NM("attn.c_proj.weight"), 2, HD, C, C, HD, 1, 1, 0);
		y->bo = block(lo, C, 1); VEC(y->bo, NM("attn.c_proj.bias"), C);
		y->norm2_w = block(lo, C, 1); VEC(y->norm2_w, NM("ln_2.weight"), C);
		y->norm2_b = block(lo, C, 1); VEC(y->norm2_b, NM("ln_2.bias"), C);
		y->w_up = block(lo, F, C);
		tensor(lo, y->w_up, NM("mlp.c_fc.weight"), 2, C, F, F, C, 1, 1, 0);
		y->b_up = block(lo, F, 1); VEC(y->b_up, NM("mlp.c_fc.bias"), F);
		y->w_down = block(lo, C, F);
		tensor(lo, y->w_down, NM("mlp.c_proj.weight"), 2, F, C, C, F, 1, 1, 0);
		y->b_down = block(lo, C, 1); VEC(y->b_down, NM("mlp.c_proj.bias"), C);
#undef NM
	}
	w->normf_w = block(lo, C, 1); VEC(w->normf_w, "transformer.ln_f.weight", C);
	w->normf_b = block(lo, C, 1); VEC(w->normf_b, "transformer.ln_f.bias", C);
	lay_head(lo, w);
}

/* Llama / Qwen2 / Qwen3 names over the same fused buffers. */
static void lay_llama(layout *lo, rad_weights *w)
{
	const rad_model_config *c = &lo->m->cfg;
	int64_t C = c->dim, V = c->vocab, F = c->ffn_dim, D = c->head_dim;
	int64_t HD = (int64_t)c->n_heads * D, GD = (int64_t)c->n_kv_heads * D, W = HD + 2 * GD;
	char nm[96];
	w->wte = block(lo, V, C);
	tensor(lo, w->wte, "model.embed_tokens.weight", 2, V, C, V, C, 0, 1, 0);
	w->wpe = NULL;
	for (int l = 0; l < c->n_layers; l++) {
		rad_layer_weights *y = &w->layer[l];
#define NM(s) (snprintf(nm, sizeof nm, "model.layers.%d.%s", l, s), nm)
		y->norm1_w = block(lo, C, 1); VEC(y->norm1_w, NM("input_layernorm.weight"), C);
		y->wqkv = block(lo, W, C);
		tensor(lo, y->wqkv, NM("self_attn.q_proj.weight"), 2, HD, C, HD, C, 0, 1, 0);
		tensor(lo, y->wqkv ? y->wqkv + HD * C : NULL, NM("self_attn.k_proj.weight"), 2, GD, C, GD, C, 0, 1, 0);
		tensor(lo, y->wqkv ? y->wqkv + (HD + GD) * C : NULL, NM("self_attn.v_proj.weight"), 2, GD, C, GD, C, 0, 1, 0);
		if (c->qkv_bias) {
			y->bqkv = block(lo, W, 1);
			VEC(y->bqkv, NM("self_attn.q_proj.bias"), HD);
			VEC(y->bqkv ? y->bqkv + HD : NULL, NM("self_attn.k_proj.bias"), GD);
			VEC(y->bqkv ? y->bqkv + HD + GD : NULL, NM("self_attn.v_proj.bias"), GD);
		}
		if (c->qk_norm) {
			y->q_norm = block(lo, D, 1); VEC(y->q_norm, NM("self_attn.q_norm.weight"), D);
			y->k_norm = block(lo, D, 1); VEC(y->k_norm, NM("self_attn.k_norm.weight"), D);
		}
		y->wo = block(lo, C, HD);
		tensor(lo, y->wo, NM("self_attn.o_proj.weight"), 2, C, HD, C, HD, 0, 1, 0);
		if (c->out_bias) { y->bo = block(lo, C, 1); VEC(y->bo, NM("self_attn.o_proj.bias"), C); }
		y->norm2_w = block(lo, C, 1); VEC(y->norm2_w, NM("post_attention_layernorm.weight"), C);
		y->w_up = block(lo, 2 * F, C);
		tensor(lo, y->w_up, NM("mlp.gate_proj.weight"), 2, F, C, F, C, 0, 1, 0);
		tensor(lo, y->w_up ? y->w_up + F * C : NULL, NM("mlp.up_proj.weight"), 2, F, C, F, C, 0, 1, 0);
		y->w_down = block(lo, C, F);
		tensor(lo, y->w_down, NM("mlp.down_proj.weight"), 2, C, F, C, F, 0, 1, 0);
#undef NM
	}
	w->normf_w = block(lo, C, 1); VEC(w->normf_w, "model.norm.weight", C);
	lay_head(lo, w);
}

static void lay(layout *lo, rad_weights *w)
{
	if (!strcmp(lo->m->cfg.model_type, "gpt2")) lay_gpt2(lo, w);
	else lay_llama(lo, w);
}

/* Points w at base (params or grads) using the same layout. */
static void weights_at(rad_model *m, rad_weights *w, float *base, int record)
{
	layout lo = {.m = m, .base = base};
	rad_model_tensor *keep = m->tensors;
	int keepn = m->ntensors;
	if (!record) {   /* pointers only: lay out into a throwaway table */
		m->tensors = rad_calloc(keepn ? keepn : 1, sizeof *m->tensors);
	}
	lay(&lo, w);
	if (!record) {
		free(m->tensors);
		m->tensors = keep;
	} else {
		m->ntensors = lo.nt;
	}
}

int rad_model_tensor_is_matrix(const rad_model_tensor *t)
{
	return t->ndim == 2 && strcmp(t->name, "score.weight");
}

/* A bf16-held model's params: an address range in which only the pages of the vectors
 * (norms, biases) can be used.  The matrices' fp32 ranges are never mapped (touching one
 * faults), so the fp32 copy costs nothing however large the model, even where the kernel
 * refuses to promise memory it will not be asked for. */
static float *vectors_only(rad_model *m)
{
	size_t bytes = m->nparams * sizeof(float), pg = (size_t)sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) rad_die(RAD_EXIT_DATA, NULL, "out of address space (%zu bytes of weights)", bytes);
	weights_at(m, &m->w, (float *)p, 1);   /* the tensors' offsets: nothing is written */
	for (int i = 0; i < m->ntensors; i++) {
		const rad_model_tensor *t = &m->tensors[i];
		if (rad_model_tensor_is_matrix(t)) continue;
		size_t lo = t->off * sizeof(float) / pg * pg, hi = (t->off + (size_t)t->rows * t->cols) * sizeof(float);
		hi = (hi + pg - 1) / pg * pg;
		if (mprotect(p + lo, (hi < bytes ? hi : bytes) - lo, PROT_READ | PROT_WRITE) != 0)
			rad_die(RAD_EXIT_DATA, NULL, "out of memory (the model's vectors)");
	}
	return (float *)p;
}

rad_model *rad_model_new(const rad_model_config *c, const char **err)
{
	return rad_model_new_as(c, RAD_ST_F32, err);
}

rad_model *rad_model_new_as(const rad_model_config *c, int dtype, const char **err)
{
	const char *e = rad_model_config_check(c);
	if (e) { if (err) *err = e; return NULL; }
	rad_model *m = rad_calloc(1, sizeof *m);
	m->cfg = *c;
	rad_weights tmp;
	tmp.layer = rad_calloc(c->n_layers, sizeof *tmp.layer);
	layout lo = {.m = m, .base = NULL};
	lay(&lo, &tmp);
	free(tmp.layer);
	m->nparams = lo.cur;
	m->ntensors = lo.nt;
	m->tensors = rad_calloc(lo.nt, sizeof *m->tensors);
	m->w.layer = rad_calloc(c->n_layers, sizeof *m->w.layer);
	m->g.layer = rad_calloc(c->n_layers, sizeof *m->g.layer);
	if (dtype == RAD_ST_BF16) {
		m->bf16_only = 1;
		m->params = vectors_only(m);
		m->params_bf16 = rad_calloc(m->nparams + 32, sizeof *m->params_bf16);
	} else {
		m->params = rad_calloc(m->nparams, sizeof(float));
		weights_at(m, &m->w, m->params, 1);
	}
	return m;
}

void rad_model_enable_grads(rad_model *m)
{
	m->train = 1;
	if (m->lora) {
		rad_lora_enable_grads(m->lora);
	} else if (!m->grads) {
		m->grads = rad_calloc(m->nparams, sizeof(float));
		weights_at(m, &m->g, m->grads, 0);
	}
}

void rad_model_zero_grads(rad_model *m)
{
	rad_trainable t = rad_model_trainable(m);
	if (t.grads) memset(t.grads, 0, t.n * sizeof(float));
}

void rad_model_attach_lora(rad_model *m, rad_lora *lo)
{
	rad_lora_free(m->lora);
	m->lora = lo;
}

rad_trainable rad_model_trainable(const rad_model *m)
{
	if (m->lora)
		return (rad_trainable){m->lora->nparams, m->lora->params, m->lora->grads, m->lora->ntensors, m->lora->tensors};
	return (rad_trainable){m->nparams, m->params, m->grads, m->ntensors, m->tensors};
}

void rad_model_set_threads(rad_model *m, int threads)
{
	if (threads > 0) {
		m->threads = threads;
		omp_set_num_threads(threads);
	}
}

void rad_model_set_compute(rad_model *m, int compute)
{
	m->compute = compute;
	m->bf16_stale = 1;
	if (compute != RAD_COMPUTE_BF16 && !m->bf16_only) {
		free(m->params_bf16);
		m->params_bf16 = NULL;
	}
}

void rad_model_set_recompute(rad_model *m, int on)
{
	m->recompute = on;
}

const rad_bf16 *rad_model_bf16(rad_model *m)
{
	if (m->bf16_only) return m->params_bf16;   /* the only copy of the matrices: never remade */
	if (m->compute != RAD_COMPUTE_BF16) return NULL;
	if (!m->params_bf16) {
		m->params_bf16 = rad_malloc(m->nparams * sizeof *m->params_bf16 + 64);
		m->bf16_stale = 1;
	}
	if (m->bf16_stale || m->grads) {   /* with gradients, an optimizer may have moved the weights */
		rad_bf16_from_f32(m->params_bf16, m->params, m->nparams);
		m->bf16_stale = 0;
	}
	return m->params_bf16;
}

void rad_model_init(rad_model *m, uint64_t seed)
{
	const rad_model_config *c = &m->cfg;
	double std = 0.02, proj_std = 0.02 / sqrt(2.0 * c->n_layers);
	enum { CHUNK = 1 << 16 };   /* a bf16-held matrix is drawn in fp32 a chunk at a time */
	float chunk[CHUNK];
	for (int i = 0; i < m->ntensors; i++) {
		const rad_model_tensor *t = &m->tensors[i];
		int held = m->bf16_only && rad_model_tensor_is_matrix(t);
		float *p = m->params + t->off;
		size_t n = (size_t)t->rows * t->cols;
		const char *nm = t->name;
		size_t ln = strlen(nm);
		int is_bias = ln > 5 && !strcmp(nm + ln - 5, ".bias");
		int is_norm = strstr(nm, "ln_") || strstr(nm, "norm");
		if (is_bias || is_norm) {   /* vectors: fp32 always */
			for (size_t j = 0; j < n; j++) p[j] = is_norm ? 1.0f : 0.0f;
			continue;
		}
		double sd = strstr(nm, "c_proj.weight") || strstr(nm, "o_proj.weight") ||
		            strstr(nm, "down_proj.weight") ? proj_std : std;
		/* keyed by the tensor's name: the same seed gives the same tensor whatever else changes */
		rad_rng r;
		rad_rng_seed(&r, rad_hash64(nm, ln, seed ^ RAD_HASH_SEED));
		if (!held) {
			for (size_t j = 0; j < n; j++) p[j] = (float)(sd * rad_rng_normal(&r));
			continue;
		}
		for (size_t j0 = 0; j0 < n; j0 += CHUNK) {
			size_t k = n - j0 < CHUNK ? n - j0 : CHUNK;
			for (size_t j = 0; j < k; j++) chunk[j] = (float)(sd * rad_rng_normal(&r));
			rad_bf16_from_f32(m->params_bf16 + t->off + j0, chunk, k);
		}
	}
}

/* One word into a lane: multiply, then xorshift. */
static inline void mix(uint64_t *a, uint32_t w)
{
	*a = (*a ^ w) * 0x100000001b3ULL;
	*a ^= *a >> 29;
}

/* Word w, word `at` of all `total`: four lanes by index; the words past the last multiple
 * of four go into lane 0, mixed the other way round. */
static inline void hash_word(uint64_t acc[4], uint32_t w, size_t at, size_t total)
{
	if (at < total / 4 * 4) mix(&acc[at % 4], w);
	else acc[0] = ((acc[0] ^ w) * 0x100000001b3ULL) ^ (acc[0] >> 29);
}

/* Words p[0, n), which are words [at, at + n) of all `total`: whole groups of four lanes
 * at a time where they line up. */
static void hash_words(uint64_t acc[4], const uint32_t *p, size_t at, size_t n, size_t total)
{
	size_t i = 0;
	for (; i < n && (at + i) % 4; i++) hash_word(acc, p[i], at + i, total);
	for (; i + 4 <= n && at + i + 4 <= total / 4 * 4; i += 4)
		for (int k = 0; k < 4; k++) mix(&acc[k], p[i + k]);
	for (; i < n; i++) hash_word(acc, p[i], at + i, total);
}

uint64_t rad_model_fingerprint(const rad_model *m)
{
	const rad_model_config *c = &m->cfg;
	int dims[] = {c->vocab, c->ctx, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim,
	              c->ffn_dim, c->norm, c->pos, c->mlp, c->tied};
	uint64_t h = rad_hash64(c->model_type, strlen(c->model_type), RAD_HASH_SEED);
	h = rad_hash64(dims, sizeof dims, h);
	if (c->pos == RAD_POS_ROPE) {   /* what else changes a Llama-family model's outputs */
		float fl[] = {c->rope_theta, c->rope_factor, c->rope_low_freq, c->rope_high_freq, c->norm_eps};
		int more[] = {c->rope_scaling, c->rope_orig_ctx, c->qkv_bias, c->out_bias, c->qk_norm};
		h = rad_hash64(fl, sizeof fl, h);
		h = rad_hash64(more, sizeof more, h);
	}
	if (c->num_labels) h = rad_hash64(&c->num_labels, sizeof c->num_labels, h);   /* a reward model */
	/* word-wise multiply-xorshift over the weights (byte-wise FNV is too slow for 1e8 floats);
	 * a model holding its matrices in bf16 hashes them widened, tensor by tensor, so it
	 * has the fingerprint of the fp32 model holding the same values */
	uint64_t acc[4] = {h, h ^ 0x9e3779b97f4a7c15ULL, h ^ 0xbf58476d1ce4e5b9ULL, h ^ 0x94d049bb133111ebULL};
	if (!m->bf16_only) {
		hash_words(acc, (const uint32_t *)m->params, 0, m->nparams, m->nparams);
	} else {
		enum { CHUNK = 1 << 20 };   /* widened a chunk at a time: no fp32 copy of a table */
		float *wide = rad_malloc(CHUNK * sizeof *wide);
		for (int i = 0; i < m->ntensors; i++) {
			const rad_model_tensor *t = &m->tensors[i];
			size_t n = (size_t)t->rows * t->cols;
			if (!rad_model_tensor_is_matrix(t)) {
				hash_words(acc, (const uint32_t *)(m->params + t->off), t->off, n, m->nparams);
				continue;
			}
			for (size_t j = 0; j < n; j += CHUNK) {
				size_t k = n - j < CHUNK ? n - j : CHUNK;
				rad_f32_from_bf16(wide, m->params_bf16 + t->off + j, k);
				hash_words(acc, (const uint32_t *)wide, t->off + j, k, m->nparams);
			}
		}
		free(wide);
	}
	return rad_hash64(acc, sizeof acc, h);
}

/* ---- activations ------------------------------------------------------------------- */

/* What a forward keeps.  Layer buffers come in `nl` slots: one per layer when a backward
 * will read them all, else one, which every layer overwrites in turn (inference, and
 * training with recompute, whose backward refills it layer by layer). */
struct rad_acts {
	int n, nseq, mtok, keep;     /* tokens, sequences, completion tokens, kept for a backward */
	size_t ncap, scap, mcap;
	int *off, *len;              /* [S] */
	int32_t *tok, *pos;          /* [N] */
	int32_t *sel, *tgt, *selseq; /* [M]: flat index, target, sequence */
	float **res;                 /* [L+1 when kept, else 1][N*C] residual stream into layer l */
	float **n1m, **n1r, **qkv, **alse, **ao, **mid, **n2m, **n2r, **up;   /* [nl] */
	float *n1, *n2, *act;        /* [N*C], [N*C], [N*F]: one layer's norm outputs and MLP
	                                activation, remade from res, mid and up in the backward */
	float *nf, *nfm, *nfr;       /* [N*C], [N], [N] */
	float *tmp;                  /* [N*C] */
	float *xsel, *logp, *dlogp, *lse; /* [M*C], [M], [M], [M] */
	float *logits;               /* [lrows*V] */
	int lrows;                   /* rows of logits held: M when they all fit */
	float *b1, *b2, *dres, *awork;/* backward scratch */
	float *cs, *inv_freq;        /* RoPE: [N*D] cos|sin per token, [D/2] */
	float **qkvr, **qkr;         /* q/k norms: [nl][N*W] q/k/v before the norms, [nl][N*(H+G)] rstd */
	float *b3;                   /* SwiGLU backward: [N*F] */
	int nl, nres;                /* layer slots, residual buffers */
};

static void acts_free(rad_acts *a)
{
	if (!a) return;
	float **lists[] = {a->res, a->n1m, a->n1r, a->qkv, a->alse, a->ao, a->mid, a->n2m, a->n2r, a->up, a->qkvr, a->qkr};
	for (size_t k = 0; k < sizeof lists / sizeof *lists; k++) {
		if (!lists[k]) continue;
		for (int l = 0; l < (k == 0 ? a->nres : a->nl); l++) free(lists[k][l]);
		free(lists[k]);
	}
	free(a->off); free(a->len); free(a->tok); free(a->pos); free(a->sel); free(a->tgt); free(a->selseq);
	free(a->n1); free(a->n2); free(a->act);
	free(a->nf); free(a->nfm); free(a->nfr); free(a->tmp); free(a->xsel); free(a->logp); free(a->dlogp); free(a->lse);
	free(a->logits); free(a->b1); free(a->b2); free(a->dres); free(a->awork);
	free(a->cs); free(a->inv_freq); free(a->b3);
	free(a);
}

void rad_model_free(rad_model *m)
{
	if (!m) return;
	acts_free(m->acts);
	if (m->bf16_only) munmap(m->params, m->nparams * sizeof(float));
	else free(m->params);
	free(m->params_bf16);
	free(m->grads);
	free(m->tensors);
	free(m->w.layer);
	free(m->g.layer);
	rad_lora_free(m->lora);
	free(m);
}

static float **alloc_list(int nl, size_t n)
{
	float **v = rad_calloc(nl, sizeof *v);
	for (int l = 0; l < nl; l++) v[l] = rad_malloc(n * sizeof(float) + 64);
	return v;
}

/* (Re)allocates activations for n tokens, S sequences, M completion tokens. */
static rad_acts *acts_get(rad_model *m, int n, int nseq, int mtok, int keep)
{
	const rad_model_config *c = &m->cfg;
	rad_acts *a = m->acts;
	int nl = keep && !m->recompute ? c->n_layers : 1, nres = keep ? c->n_layers + 1 : 1;
	if (a && a->ncap >= (size_t)n && a->scap >= (size_t)nseq && a->mcap >= (size_t)mtok && a->nl == nl &&
	    a->nres == nres && a->keep == keep)
		return a;
	size_t N = a && a->ncap > (size_t)n ? a->ncap : (size_t)n;
	size_t S = a && a->scap > (size_t)nseq ? a->scap : (size_t)nseq;
	size_t M = a && a->mcap > (size_t)mtok ? a->mcap : (size_t)mtok;
	if (N < 1) N = 1;
	if (S < 1) S = 1;
	if (M < 1) M = 1;
	acts_free(a);
	a = rad_calloc(1, sizeof *a);
	a->ncap = N; a->scap = S; a->mcap = M; a->nl = nl; a->nres = nres; a->keep = keep;
	size_t C = c->dim, W = (size_t)(c->n_heads + 2 * c->n_kv_heads) * c->head_dim, H = c->n_heads;
	size_t HD = (size_t)c->n_heads * c->head_dim, F = c->ffn_dim, FU = c->mlp == RAD_MLP_SWIGLU ? 2 * F : F;
	a->off = rad_malloc(S * sizeof(int)); a->len = rad_malloc(S * sizeof(int));
	a->tok = rad_malloc(N * 4); a->pos = rad_malloc(N * 4);
	a->sel = rad_malloc(M * 4); a->tgt = rad_malloc(M * 4); a->selseq = rad_malloc(M * 4);
	a->res = alloc_list(nres, N * C);
	a->n1 = rad_malloc(N * C * 4); a->n1m = alloc_list(nl, N); a->n1r = alloc_list(nl, N);
	a->qkv = alloc_list(nl, N * W); a->alse = alloc_list(nl, N * H); a->ao = alloc_list(nl, N * HD);
	a->mid = alloc_list(nl, N * C);
	a->n2 = rad_malloc(N * C * 4); a->n2m = alloc_list(nl, N); a->n2r = alloc_list(nl, N);
	a->up = alloc_list(nl, N * FU); a->act = rad_malloc(N * F * 4);
	a->nf = rad_malloc(N * C * 4); a->nfm = rad_malloc(N * 4); a->nfr = rad_malloc(N * 4);
	a->tmp = rad_malloc(N * C * 4);
	a->xsel = rad_malloc(M * C * 4); a->logp = rad_malloc(M * 4); a->dlogp = rad_malloc(M * 4);
	a->lse = rad_malloc(M * 4);
	/* keep every completion row's logits for the backward when they take at most
	 * RAD_LOGITS_KEEP_MB (default 256 MiB); otherwise chunks, recomputed in the backward */
	const char *kmb = getenv("RAD_LOGITS_KEEP_MB");
	size_t keep_bytes = (size_t)(kmb ? atol(kmb) : 256) << 20;
	a->lrows = keep && M * c->vocab * 4 <= keep_bytes ? (int)M : rad_logprobs_chunk(c->vocab);
	/* a head held in bf16 is widened once a chunk: four times the rows, a quarter the widenings */
	if (a->lrows < (int)M && m->bf16_only) a->lrows = a->lrows * 4 < (int)M ? a->lrows * 4 : (int)M;
	a->logits = rad_malloc((size_t)a->lrows * c->vocab * 4);
	if (c->pos == RAD_POS_ROPE) {
		a->cs = rad_malloc(N * c->head_dim * 4);
		a->inv_freq = rad_malloc((size_t)c->head_dim / 2 * 4 + 4);
		rad_rope_inv_freq(a->inv_freq, c->head_dim, c->rope_theta, c->rope_scaling, c->rope_factor,
		                  c->rope_low_freq, c->rope_high_freq, c->rope_orig_ctx);
	}
	if (c->qk_norm) {
		a->qkvr = alloc_list(nl, N * W);
		a->qkr = alloc_list(nl, N * (c->n_heads + c->n_kv_heads));
	}
	if (keep && c->mlp == RAD_MLP_SWIGLU) a->b3 = rad_malloc(N * F * 4);
	if (keep) {
		size_t b1 = FU > W ? FU : W, b2 = C > HD ? C : HD;
		a->b1 = rad_malloc(N * b1 * 4);
		a->b2 = rad_malloc(N * b2 * 4);
		a->dres = rad_malloc(N * C * 4);
		a->awork = rad_malloc(rad_attention_work_size((int)N, c->n_heads, c->n_kv_heads, c->head_dim) * 4 + 64);
	}
	m->acts = a;
	return a;
}

/* ---- forward ----------------------------------------------------------------------- */

rad_weight rad_model_weight(const rad_model *m, const rad_bf16 *wb, const float *w)
{
	return (rad_weight){m->bf16_only ? NULL : w, wb ? wb + (w - m->params) : NULL, m->compute == RAD_COMPUTE_BF16};
}

/* The model's norm (LayerNorm or RMSNorm) of x[N,C] into y, with its statistics. */
static void norm(const rad_model_config *c, float *y, float *mean, float *rstd, const float *x, const float *w,
                 const float *b, int n)
{
	if (c->norm == RAD_NORM_RMS) rad_rmsnorm_forward(y, rstd, x, w, n, c->dim, c->norm_eps);
	else rad_layernorm_forward(y, mean, rstd, x, w, b, n, c->dim, c->norm_eps);
}

/* The MLP's activation act[N,F] of up[N,F or 2F] (GELU, or SwiGLU's gate times up). */
static void activate(const rad_model_config *c, float *act, const float *up, int n)
{
	if (c->mlp == RAD_MLP_SWIGLU) rad_swiglu_forward(act, up, n, c->ffn_dim);
	else rad_gelu_forward(act, up, (size_t)n * c->ffn_dim);
}

/* Layer l on the residual stream x[N,C], its activations into slot i; xo = x + attention
 * + MLP.  With xo NULL (the backward's recompute) it stops once the activations the
 * backward reads are made. */
static void layer_forward(rad_model *m, rad_acts *a, const rad_bf16 *wb, int l, int i, const float *x, float *xo)
{
	const rad_model_config *c = &m->cfg;
	int n = a->n, C = c->dim, H = c->n_heads, G = c->n_kv_heads, D = c->head_dim, F = c->ffn_dim;
	int W = (H + 2 * G) * D, HD = H * D, FU = c->mlp == RAD_MLP_SWIGLU ? 2 * F : F;
	const rad_layer_weights *y = &m->w.layer[l];
	rad_lora *lo = m->lora;   /* each product plus the adapter's modules at that site */
	norm(c, a->n1, a->n1m[i], a->n1r[i], x, y->norm1_w, y->norm1_b, n);
	float *proj = c->qk_norm ? a->qkvr[i] : a->qkv[i];   /* q, k, v before the q/k norms */
	rad_matmul_forward(proj, a->n1, rad_model_weight(m, wb, y->wqkv), y->bqkv, n, C, W);
	if (lo) rad_lora_forward(lo, l, RAD_LORA_SITE_QKV, proj, W, a->n1, n, m->train);
	if (c->qk_norm)
		rad_qknorm_forward(a->qkv[i], a->qkr[i], a->qkvr[i], y->q_norm, y->k_norm, n, H, G, D, c->norm_eps);
	if (c->pos == RAD_POS_ROPE) rad_rope_forward(a->qkv[i], a->cs, n, H, G, D);
	rad_attention_forward(a->ao[i], a->alse[i], a->qkv[i], a->off, a->len, a->nseq, H, G, D,
	                      m->compute == RAD_COMPUTE_BF16);
	rad_matmul_forward(a->tmp, a->ao[i], rad_model_weight(m, wb, y->wo), y->bo, n, HD, C);
	if (lo) rad_lora_forward(lo, l, RAD_LORA_SITE_O, a->tmp, C, a->ao[i], n, m->train);
	float *mid = a->mid[i], *tmp = a->tmp;
	#pragma omp parallel for schedule(static)
	for (size_t e = 0; e < (size_t)n * C; e++) mid[e] = x[e] + tmp[e];
	norm(c, a->n2, a->n2m[i], a->n2r[i], mid, y->norm2_w, y->norm2_b, n);
	rad_matmul_forward(a->up[i], a->n2, rad_model_weight(m, wb, y->w_up), y->b_up, n, C, FU);
	if (lo) rad_lora_forward(lo, l, RAD_LORA_SITE_UP, a->up[i], FU, a->n2, n, m->train);
	activate(c, a->act, a->up[i], n);
	if (!xo) return;
	rad_matmul_forward(tmp, a->act, rad_model_weight(m, wb, y->w_down), y->b_down, n, F, C);
	if (lo) rad_lora_forward(lo, l, RAD_LORA_SITE_DOWN, tmp, C, a->act, n, m->train);
	#pragma omp parallel for schedule(static)
	for (size_t e = 0; e < (size_t)n * C; e++) xo[e] = mid[e] + tmp[e];
}

/* The forward of rad_model_forward (scores NULL: log-probs at the completion tokens) and
 * of rad_model_score (the score head at token score_at[s] of each sequence). */
static const char *forward(rad_model *m, const rad_batch *b, double *seq_logp, int32_t *seq_ntok,
                           const int32_t *score_at, float *scores)
{
	static __thread char msg[200];
	const rad_model_config *c = &m->cfg;
	if (!scores && !m->w.lm_head) return "a sequence-classification (reward) model has no language-model head";
	if (scores && !m->w.score) return "the model has no score head (not a ...ForSequenceClassification checkpoint)";
	for (int s = 0; scores && s < b->nseq; s++)
		if (score_at[s] < 0 || score_at[s] >= b->seq_len[s]) {
			snprintf(msg, sizeof msg, "sequence %d: token %d to score is outside its %d tokens", s, score_at[s], b->seq_len[s]);
			return msg;
		}
	int keep = m->train;
	int n = 0, mt = 0, T = b->cols;
	for (int s = 0; s < b->nseq; s++) {
		n += b->seq_len[s];
		for (int j = 0; j < b->seq_len[s]; j++)
			mt += b->loss_mask[(size_t)b->seq_row[s] * T + b->seq_start[s] + j] != 0;
	}
	rad_acts *a = acts_get(m, n, b->nseq, mt, keep);
	a->n = n; a->nseq = b->nseq; a->mtok = mt;
	int t = 0, k = 0;
	for (int s = 0; s < b->nseq; s++) {
		a->off[s] = t;
		a->len[s] = b->seq_len[s];
		if (b->seq_len[s] > c->ctx) {
			snprintf(msg, sizeof msg, "sequence %d: %d tokens, longer than the model's context %d", s, b->seq_len[s], c->ctx);
			return msg;
		}
		for (int j = 0; j < b->seq_len[s]; j++, t++) {
			size_t at = (size_t)b->seq_row[s] * T + b->seq_start[s] + j;
			int32_t tk = b->tokens[at], ps = b->position[at];
			if (tk < 0 || tk >= c->vocab) {
				snprintf(msg, sizeof msg, "sequence %d: token id %d outside the vocabulary (%d)", s, tk, c->vocab);
				return msg;
			}
			if (ps < 0 || ps >= c->ctx) {
				snprintf(msg, sizeof msg, "sequence %d: position %d outside the context (%d)", s, ps, c->ctx);
				return msg;
			}
			a->tok[t] = tk;
			a->pos[t] = ps;
			if (b->loss_mask[at]) {
				int32_t tg = b->targets[at];
				if (tg < 0 || tg >= c->vocab) {
					snprintf(msg, sizeof msg, "sequence %d: target id %d outside the vocabulary (%d)", s, tg, c->vocab);
					return msg;
				}
				a->sel[k] = t; a->tgt[k] = tg; a->selseq[k] = s; k++;
			}
		}
	}
	int C = c->dim, D = c->head_dim;
	const rad_weights *w = &m->w;
	const rad_bf16 *wb = rad_model_bf16(m);
	int rope = c->pos == RAD_POS_ROPE;
	rad_weight pos = rope ? (rad_weight){0} : rad_model_weight(m, wb, w->wpe);
	rad_embedding_forward(a->res[0], rad_model_weight(m, wb, w->wte), pos, a->tok, a->pos, n, C);
	if (rope) rad_rope_table(a->cs, a->pos, n, a->inv_freq, D);
	for (int l = 0; l < c->n_layers; l++)
		layer_forward(m, a, wb, l, a->nl > 1 ? l : 0, a->res[keep ? l : 0], a->res[keep ? l + 1 : 0]);
	float *last = a->res[keep ? c->n_layers : 0];
	norm(c, a->nf, a->nfm, a->nfr, last, w->normf_w, w->normf_b, n);
	if (scores) {   /* scores[S, K] = nf[the scored token of s, C] score[K, C]^T */
		int K = c->num_labels;
		for (int s = 0; s < b->nseq; s++) {
			const float *h = a->nf + (size_t)(a->off[s] + score_at[s]) * C;
			for (int l = 0; l < K; l++) {
				const float *wl = w->score + (size_t)l * C;
				float d = 0;
				for (int j = 0; j < C; j++) d += wl[j] * h[j];
				scores[(size_t)s * K + l] = d;
			}
		}
		return NULL;
	}
	#pragma omp parallel for schedule(static)
	for (int r = 0; r < mt; r++) memcpy(a->xsel + (size_t)r * C, a->nf + (size_t)a->sel[r] * C, sizeof(float) * C);
	rad_logprobs_forward(a->logp, a->lse, a->xsel, rad_model_weight(m, wb, w->lm_head), a->tgt, mt, C, c->vocab,
	                     a->logits, a->lrows);
	for (int s = 0; s < b->nseq; s++) {
		if (seq_logp) seq_logp[s] = 0;
		if (seq_ntok) seq_ntok[s] = 0;
	}
	for (int r = 0; r < mt; r++) {
		if (seq_logp) seq_logp[a->selseq[r]] += a->logp[r];
		if (seq_ntok) seq_ntok[a->selseq[r]]++;
	}
	return NULL;
}

const char *rad_model_forward(rad_model *m, const rad_batch *b, double *seq_logp, int32_t *seq_ntok)
{
	return forward(m, b, seq_logp, seq_ntok, NULL, NULL);
}

const char *rad_model_score(rad_model *m, const rad_batch *b, const int32_t *at, float *scores)
{
	return forward(m, b, NULL, NULL, at, scores);
}

/* ---- backward ---------------------------------------------------------------------- */

void rad_model_backward(rad_model *m, const rad_batch *b, const double *dseq_logp)
{
	const rad_model_config *c = &m->cfg;
	rad_acts *a = m->acts;
	rad_lora *lo = m->lora;
	if (!m->train || !a || !a->keep) {
		fprintf(stderr, "rad_model_backward: no saved forward (enable grads before the forward)\n");
		abort();
	}
	(void)b;
	int n = a->n, mt = a->mtok;
	int C = c->dim, H = c->n_heads, G = c->n_kv_heads, D = c->head_dim, F = c->ffn_dim;
	int W = (H + 2 * G) * D, HD = H * D;
	const rad_weights *w = &m->w;
	rad_weights *g = &m->g;
	/* the bf16 weights as the forward had them (not remade) */
	const rad_bf16 *wb = m->compute == RAD_COMPUTE_BF16 || m->bf16_only ? m->params_bf16 : NULL;
	for (int r = 0; r < mt; r++) a->dlogp[r] = (float)dseq_logp[a->selseq[r]];
	/* LM head: dxsel[M,C] (M <= N, so tmp holds it) */
	float *dxsel = a->tmp;
	rad_logprobs_backward(dxsel, g->lm_head, a->dlogp, a->lse, a->xsel, rad_model_weight(m, wb, w->lm_head), a->tgt,
	                      mt, C, c->vocab, a->logits, a->lrows);
	float *dnf = a->b2;
	memset(dnf, 0, sizeof(float) * (size_t)n * C);
	for (int r = 0; r < mt; r++) {
		float *dst = dnf + (size_t)a->sel[r] * C;
		const float *src = dxsel + (size_t)r * C;
		for (int j = 0; j < C; j++) dst[j] += src[j];
	}
	float *dres = a->dres;
	memset(dres, 0, sizeof(float) * (size_t)n * C);
	int rms = c->norm == RAD_NORM_RMS, rope = c->pos == RAD_POS_ROPE, swiglu = c->mlp == RAD_MLP_SWIGLU;
	if (rms) rad_rmsnorm_backward(dres, g->normf_w, dnf, a->res[c->n_layers], a->nfr, w->normf_w, n, C);
	else rad_layernorm_backward(dres, g->normf_w, g->normf_b, dnf, a->res[c->n_layers], a->nfm, a->nfr, w->normf_w, n, C);
	for (int l = c->n_layers - 1; l >= 0; l--) {
		const rad_layer_weights *y = &w->layer[l];
		rad_layer_weights *gy = &g->layer[l];
		int i = a->nl > 1 ? l : 0;
		/* the forward left the last layer's norm outputs and activation (and, with
		 * --recompute, all its activations) in place; other layers remake them */
		if (l < c->n_layers - 1) {
			if (a->nl == 1) {
				layer_forward(m, a, wb, l, 0, a->res[l], NULL);
			} else {
				norm(c, a->n1, a->n1m[i], a->n1r[i], a->res[l], y->norm1_w, y->norm1_b, n);
				norm(c, a->n2, a->n2m[i], a->n2r[i], a->mid[i], y->norm2_w, y->norm2_b, n);
				activate(c, a->act, a->up[i], n);
			}
		}
		/* MLP: res[l+1] = mid + down(act(up(norm2(mid)))) */
		float *dact = a->b1, *dn = a->b2;
		if (swiglu) {
			float *dgu = a->b1;
			dact = a->b3;
			rad_matmul_backward(dact, gy->w_down, gy->b_down, dres, a->act, rad_model_weight(m, wb, y->w_down), n, F, C, 0);
			if (lo) rad_lora_backward(lo, l, RAD_LORA_SITE_DOWN, dact, dres, C, a->act, n, 1);
			rad_swiglu_backward(dgu, dact, a->up[i], n, F);
			rad_matmul_backward(dn, gy->w_up, gy->b_up, dgu, a->n2, rad_model_weight(m, wb, y->w_up), n, C, 2 * F, 0);
			if (lo) rad_lora_backward(lo, l, RAD_LORA_SITE_UP, dn, dgu, 2 * F, a->n2, n, 1);
		} else {
			rad_matmul_backward(dact, gy->w_down, gy->b_down, dres, a->act, rad_model_weight(m, wb, y->w_down), n, F, C, 0);
			if (lo) rad_lora_backward(lo, l, RAD_LORA_SITE_DOWN, dact, dres, C, a->act, n, 1);
			rad_gelu_backward(dact, dact, a->up[i], (size_t)n * F);
			rad_matmul_backward(dn, gy->w_up, gy->b_up, dact, a->n2, rad_model_weight(m, wb, y->w_up), n, C, F, 0);
			if (lo) rad_lora_backward(lo, l, RAD_LORA_SITE_UP, dn, dact, F, a->n2, n, 1);
		}
		if (rms) rad_rmsnorm_backward(dres, gy->norm2_w, dn, a->mid[i], a->n2r[i], y->norm2_w, n, C);
		else rad_layernorm_backward(dres, gy->norm2_w, gy->norm2_b, dn, a->mid[i], a->n2m[i], a->n2r[i], y->norm2_w, n, C);
		/* attention: mid = res[l] + proj(attn(qkv(norm1(res[l])))) */
		float *dao = a->b2, *dqkv = a->b1;
		rad_matmul_backward(dao, gy->wo, gy->bo, dres, a->ao[i], rad_model_weight(m, wb, y->wo), n, HD, C, 0);
		if (lo) rad_lora_backward(lo, l, RAD_LORA_SITE_O, dao, dres, C, a->ao[i], n, 1);
		rad_attention_backward(dqkv, a->awork, dao, a->ao[i], a->qkv[i], a->alse[i], a->off, a->len, a->nseq, H, G, D,
		                       m->compute == RAD_COMPUTE_BF16);
		if (rope) rad_rope_backward(dqkv, a->cs, n, H, G, D);
		if (c->qk_norm)
			rad_qknorm_backward(dqkv, gy->q_norm, gy->k_norm, dqkv, a->qkvr[i], a->qkr[i], y->q_norm, y->k_norm, n, H, G, D);
		rad_matmul_backward(dn, gy->wqkv, gy->bqkv, dqkv, a->n1, rad_model_weight(m, wb, y->wqkv), n, C, W, 0);
		if (lo) rad_lora_backward(lo, l, RAD_LORA_SITE_QKV, dn, dqkv, W, a->n1, n, 1);
		if (rms) rad_rmsnorm_backward(dres, gy->norm1_w, dn, a->res[l], a->n1r[i], y->norm1_w, n, C);
		else rad_layernorm_backward(dres, gy->norm1_w, gy->norm1_b, dn, a->res[l], a->n1m[i], a->n1r[i], y->norm1_w, n, C);
	}
	if (g->wte) rad_embedding_backward(g->wte, rope ? NULL : g->wpe, dres, a->tok, a->pos, n, C);
}
