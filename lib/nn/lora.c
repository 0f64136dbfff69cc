/* nn/lora.c — the LoRA modules: layout, initialisation, forward beside backward, merging
 * (lora.h).  Per module, with u = drop(x) A^T:
 *   forward:   u[N,r] = xd[N,in] A[r,in]^T;          y[:, rows] += s u B[rows,r]^T
 *   backward:  dB += s dy^T u;   du[N,r] = s dy B;   dA += du^T xd;   dx += drop'(du A)
 * where xd = drop(x) = x * mask / (1 - p), and drop' applies the same mask and scale. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "base/rng.h"
#include "nn/lora.h"
#include "nn/engine.h"

/* One target kind: its PEFT name, short name, family and where it adds. */
typedef struct kind_info { unsigned kind; const char *name, *short_name, *module; int gpt2, site; } kind_info;

static const kind_info kinds[] = {
	{RAD_LORA_Q, "q_proj", "q", "self_attn.q_proj", 0, RAD_LORA_SITE_QKV},
	{RAD_LORA_K, "k_proj", "k", "self_attn.k_proj", 0, RAD_LORA_SITE_QKV},
	{RAD_LORA_V, "v_proj", "v", "self_attn.v_proj", 0, RAD_LORA_SITE_QKV},
	{RAD_LORA_O, "o_proj", "o", "self_attn.o_proj", 0, RAD_LORA_SITE_O},
	{RAD_LORA_GATE, "gate_proj", "gate", "mlp.gate_proj", 0, RAD_LORA_SITE_UP},
	{RAD_LORA_UP, "up_proj", "up", "mlp.up_proj", 0, RAD_LORA_SITE_UP},
	{RAD_LORA_DOWN, "down_proj", "down", "mlp.down_proj", 0, RAD_LORA_SITE_DOWN},
	{RAD_LORA_C_ATTN, "c_attn", NULL, "attn.c_attn", 1, RAD_LORA_SITE_QKV},
	{RAD_LORA_C_PROJ, "c_proj", NULL, "attn.c_proj", 1, RAD_LORA_SITE_O},
	{RAD_LORA_C_FC, "c_fc", NULL, "mlp.c_fc", 1, RAD_LORA_SITE_UP},
	{RAD_LORA_C_PROJ, "c_proj", NULL, "mlp.c_proj", 1, RAD_LORA_SITE_DOWN},   /* PEFT's c_proj matches both */
};
#define NKINDS (int)(sizeof kinds / sizeof *kinds)
#define LLAMA_ALL (RAD_LORA_Q | RAD_LORA_K | RAD_LORA_V | RAD_LORA_O | RAD_LORA_GATE | RAD_LORA_UP | RAD_LORA_DOWN)
#define GPT2_ALL (RAD_LORA_C_ATTN | RAD_LORA_C_PROJ | RAD_LORA_C_FC)

const char *rad_lora_kind_name(unsigned kind)
{
	for (int i = 0; i < NKINDS; i++)
		if (kinds[i].kind == kind) return kinds[i].name;
	return "?";
}

const char *rad_lora_targets_parse(const char *list, unsigned *targets)
{
	static __thread char msg[200];
	*targets = 0;
	char *s = rad_strdup(list), *save = NULL;
	for (char *w = strtok_r(s, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		while (*w == ' ') w++;
		unsigned k = 0;
		if (!strcmp(w, "all-linear")) k = LLAMA_ALL | GPT2_ALL;
		for (int i = 0; i < NKINDS && !k; i++)
			if (!strcmp(w, kinds[i].name) || (kinds[i].short_name && !strcmp(w, kinds[i].short_name))) k = kinds[i].kind;
		if (!k) {
			snprintf(msg, sizeof msg, "\"%s\" is not a target module (q_proj k_proj v_proj o_proj gate_proj up_proj "
			         "down_proj, c_attn c_proj c_fc, or all-linear)", w);
			free(s);
			return msg;
		}
		*targets |= k;
	}
	free(s);
	return *targets ? NULL : "no target module named";
}

unsigned rad_lora_default_targets(const rad_model_config *c)
{
	return strcmp(c->model_type, "gpt2") ? RAD_LORA_Q | RAD_LORA_V : RAD_LORA_C_ATTN;
}

/* Rows [row0, row0 + rows) and input width of a kind's module in the model's products. */
static void module_shape(const rad_model_config *c, const kind_info *k, int *row0, int *rows, int *in)
{
	int C = c->dim, HD = c->n_heads * c->head_dim, GD = c->n_kv_heads * c->head_dim, F = c->ffn_dim;
	int W = HD + 2 * GD;
	*row0 = 0;
	switch (k->kind) {
	case RAD_LORA_Q: *rows = HD; *in = C; break;
	case RAD_LORA_K: *row0 = HD; *rows = GD; *in = C; break;
	case RAD_LORA_V: *row0 = HD + GD; *rows = GD; *in = C; break;
	case RAD_LORA_O: *rows = C; *in = HD; break;
	case RAD_LORA_GATE: *rows = F; *in = C; break;
	case RAD_LORA_UP: *row0 = F; *rows = F; *in = C; break;
	case RAD_LORA_DOWN: *rows = C; *in = F; break;
	case RAD_LORA_C_ATTN: *rows = W; *in = C; break;
	case RAD_LORA_C_FC: *rows = F; *in = C; break;
	default:   /* c_proj: attention or MLP */
		*rows = C;
		*in = k->site == RAD_LORA_SITE_O ? HD : F;
	}
}

rad_lora *rad_lora_new(const rad_model_config *c, const rad_lora_opts *o, const char **err)
{
	static __thread char msg[200];
	int gpt2 = !strcmp(c->model_type, "gpt2");
	unsigned family = gpt2 ? GPT2_ALL : LLAMA_ALL, want = o->targets;
	if (want == (LLAMA_ALL | GPT2_ALL)) want = family;   /* all-linear */
	if (o->rank < 1) { *err = "the rank must be at least 1"; return NULL; }
	if (!(o->dropout >= 0 && o->dropout < 1)) { *err = "the dropout must be in [0, 1)"; return NULL; }
	if (!(o->alpha > 0) || !isfinite(o->alpha)) { *err = "alpha must be a finite number above 0"; return NULL; }
	if (want & ~family) {
		unsigned bad = want & ~family;
		snprintf(msg, sizeof msg, "target %s: a %s model's modules are %s", rad_lora_kind_name(bad & -bad),
		         c->model_type, gpt2 ? "c_attn, c_proj, c_fc" : "q_proj k_proj v_proj o_proj gate_proj up_proj down_proj");
		*err = msg;
		return NULL;
	}
	if (!want) { *err = "no target module"; return NULL; }
	rad_lora *lo = rad_calloc(1, sizeof *lo);
	lo->o = *o;
	lo->o.targets = want;
	lo->scale = (float)(o->rslora ? o->alpha / sqrt((double)o->rank) : o->alpha / o->rank);
	lo->n_layers = c->n_layers;
	int per = 0;
	for (int i = 0; i < NKINDS; i++) per += (kinds[i].kind & want) && kinds[i].gpt2 == gpt2;
	lo->nmod = per * c->n_layers;
	lo->mod = rad_calloc(lo->nmod, sizeof *lo->mod);
	lo->first = rad_calloc((size_t)c->n_layers * RAD_LORA_NSITES + 1, sizeof *lo->first);
	lo->ntensors = 2 * lo->nmod;
	lo->tensors = rad_calloc(lo->ntensors, sizeof *lo->tensors);
	size_t r = (size_t)o->rank;
	int j = 0;
	for (int l = 0; l < c->n_layers; l++)
		for (int site = 0; site < RAD_LORA_NSITES; site++) {
			lo->first[l * RAD_LORA_NSITES + site] = j;
			for (int i = 0; i < NKINDS; i++) {
				const kind_info *k = &kinds[i];
				if (!(k->kind & want) || k->gpt2 != gpt2 || k->site != site) continue;
				rad_lora_module *md = &lo->mod[j];
				md->layer = l;
				md->site = site;
				md->kind = (int)k->kind;
				module_shape(c, k, &md->row0, &md->rows, &md->in);
				md->id = (uint64_t)j + 1;
				/* A then B, PEFT's names and shapes ([r, in] and [out, r], Conv1D modules too) */
				for (int ab = 0; ab < 2; ab++) {
					rad_model_tensor *t = &lo->tensors[2 * j + ab];
					snprintf(t->name, sizeof t->name, "base_model.model.%s.%d.%s.lora_%c.weight",
					         gpt2 ? "transformer.h" : "model.layers", l, k->module, ab ? 'B' : 'A');
					t->ndim = 2;
					t->rows = ab ? md->rows : (int64_t)r;
					t->cols = ab ? (int64_t)r : md->in;
					t->shape[0] = t->rows;
					t->shape[1] = t->cols;
					t->off = lo->nparams;
					t->decay = 1;   /* torch's AdamW decays every parameter it is given */
					lo->nparams += (size_t)t->rows * t->cols;
				}
				j++;
			}
		}
	lo->first[c->n_layers * RAD_LORA_NSITES] = j;
	lo->params = rad_calloc(lo->nparams, sizeof(float));
	for (int m = 0; m < lo->nmod; m++) {
		lo->mod[m].a = lo->params + lo->tensors[2 * m].off;
		lo->mod[m].b = lo->params + lo->tensors[2 * m + 1].off;
	}
	return lo;
}

void rad_lora_free(rad_lora *lo)
{
	if (!lo) return;
	for (int m = 0; m < lo->nmod; m++) free(lo->mod[m].u);
	free(lo->mod);
	free(lo->first);
	free(lo->tensors);
	free(lo->params);
	free(lo->grads);
	free(lo->xd);
	free(lo->du);
	free(lo);
}

void rad_lora_init(rad_lora *lo, uint64_t seed)
{
	memset(lo->params, 0, lo->nparams * sizeof(float));
	for (int m = 0; m < lo->nmod; m++) {
		const rad_model_tensor *t = &lo->tensors[2 * m];
		/* kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / 6), bound gain sqrt(3 / fan_in) = 1 / sqrt(in) */
		double bound = 1.0 / sqrt((double)lo->mod[m].in);
		rad_rng r;
		rad_rng_seed(&r, rad_hash64(t->name, strlen(t->name), seed ^ RAD_HASH_SEED));
		size_t n = (size_t)t->rows * t->cols;
		for (size_t i = 0; i < n; i++) lo->mod[m].a[i] = (float)(bound * (2 * rad_rng_uniform(&r) - 1));
	}
}

void rad_lora_enable_grads(rad_lora *lo)
{
	if (lo->grads) return;
	lo->grads = rad_calloc(lo->nparams, sizeof(float));
	for (int m = 0; m < lo->nmod; m++) {
		lo->mod[m].ga = lo->grads + lo->tensors[2 * m].off;
		lo->mod[m].gb = lo->grads + lo->tensors[2 * m + 1].off;
	}
}

void rad_lora_set_key(rad_lora *lo, uint64_t key) { lo->key = key; }

/* splitmix64's finaliser: every output bit depends on every input bit. */
static inline uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The mask of (key, module) at element e: kept when 64 hashed bits reach p 2^64. */
static inline uint64_t module_key(const rad_lora *lo, const rad_lora_module *md) { return mix64(lo->key ^ mix64(md->id)); }
static inline int kept_at(uint64_t mk, size_t e, uint64_t threshold)
{
	return mix64(mk ^ ((uint64_t)e * 0xd1b54a32d192ed03ULL)) >= threshold;
}
static uint64_t drop_threshold(double p) { return (uint64_t)ldexp(p, 64); }

int rad_lora_kept(const rad_lora *lo, const rad_lora_module *md, size_t e)
{
	return kept_at(module_key(lo, md), e, drop_threshold(lo->o.dropout));
}

static void grow(rad_lora *lo, int n, int in)
{
	size_t r = (size_t)lo->o.rank;
	if ((size_t)n > lo->ucap) {
		lo->ucap = (size_t)n;
		for (int m = 0; m < lo->nmod; m++) {
			free(lo->mod[m].u);
			lo->mod[m].u = rad_malloc(lo->ucap * r * sizeof(float));
		}
		free(lo->du);
		lo->du = rad_malloc(lo->ucap * r * sizeof(float));
	}
	size_t need = (size_t)n * in;
	if (need > lo->xcap) {
		free(lo->xd);
		lo->xcap = need;
		lo->xd = rad_malloc(need * sizeof(float));
	}
}

/* drop(x) of one module into lo->xd (inverted dropout); x itself when there is no dropout. */
static const float *dropped(rad_lora *lo, const rad_lora_module *md, const float *x, int n, int train)
{
	if (!train || lo->o.dropout <= 0) return x;
	uint64_t mk = module_key(lo, md), th = drop_threshold(lo->o.dropout);
	float keep_scale = (float)(1.0 / (1.0 - lo->o.dropout));
	size_t total = (size_t)n * md->in;
	float *xd = lo->xd;
	#pragma omp parallel for schedule(static)
	for (size_t e = 0; e < total; e++) xd[e] = kept_at(mk, e, th) ? x[e] * keep_scale : 0.0f;
	return xd;
}

void rad_lora_forward(rad_lora *lo, int layer, int site, float *y, int ldy, const float *x, int n, int train)
{
	int m0 = lo->first[layer * RAD_LORA_NSITES + site], m1 = lo->first[layer * RAD_LORA_NSITES + site + 1];
	if (m0 == m1 || n <= 0) return;
	int r = lo->o.rank;
	for (int m = m0; m < m1; m++) {
		rad_lora_module *md = &lo->mod[m];
		grow(lo, n, md->in);
		const float *xd = dropped(lo, md, x, n, train);
		/* u[N,r] = xd[N,in] A[r,in]^T;  y[:, row0:] += s u B[rows,r]^T */
		rad_gemm_any(RAD_GEMM_F32, 0, 1, n, r, md->in, 1.0f, xd, md->in, md->a, md->in, 0.0f,
		            md->u, r);
		rad_gemm_any(RAD_GEMM_F32, 0, 1, n, md->rows, r, lo->scale, md->u, r, md->b, r, 1.0f,
		            y + md->row0, ldy);
	}
}

void rad_lora_backward(rad_lora *lo, int layer, int site, float *dx, const float *dy, int ldy, const float *x, int n,
                       int train)
{
	int m0 = lo->first[layer * RAD_LORA_NSITES + site], m1 = lo->first[layer * RAD_LORA_NSITES + site + 1];
	if (m0 == m1 || n <= 0) return;
	int r = lo->o.rank;
	for (int m = m0; m < m1; m++) {
		rad_lora_module *md = &lo->mod[m];
		const float *dys = dy + md->row0;
		grow(lo, n, md->in);
		/* dB[rows,r] += s dy^T u;  du[N,r] = s dy B */
		if (md->gb)
			rad_gemm_any(RAD_GEMM_F32, 1, 0, md->rows, r, n, lo->scale, dys, ldy, md->u, r, 1.0f,
			            md->gb, r);
		rad_gemm_any(RAD_GEMM_F32, 0, 0, n, r, md->rows, lo->scale, dys, ldy, md->b, r, 0.0f,
		            lo->du, r);
		/* dA[r,in] += du^T xd (the forward's dropped input, regenerated) */
		const float *xd = dropped(lo, md, x, n, train);
		if (md->ga)
			rad_gemm_any(RAD_GEMM_F32, 1, 0, r, md->in, n, 1.0f, lo->du, r, xd, md->in, 1.0f,
			            md->ga, md->in);
		if (!dx) continue;
		if (xd == x) {   /* dx[N,in] += du A */
			rad_gemm_any(RAD_GEMM_F32, 0, 0, n, md->in, r, 1.0f, lo->du, r, md->a, md->in, 1.0f,
			            dx, md->in);
			continue;
		}
		/* with dropout: du A into the scratch, then through the same mask and scale */
		float *t = lo->xd;
		rad_gemm_any(RAD_GEMM_F32, 0, 0, n, md->in, r, 1.0f, lo->du, r, md->a, md->in, 0.0f, t,
		            md->in);
		uint64_t mk = module_key(lo, md), th = drop_threshold(lo->o.dropout);
		float keep_scale = (float)(1.0 / (1.0 - lo->o.dropout));
		size_t total = (size_t)n * md->in;
		#pragma omp parallel for schedule(static)
		for (size_t e = 0; e < total; e++)
			if (kept_at(mk, e, th)) dx[e] += t[e] * keep_scale;
	}
}

void rad_lora_merge(const rad_lora *lo, rad_model *m)
{
	int r = lo->o.rank;
	for (int j = 0; j < lo->nmod; j++) {
		const rad_lora_module *md = &lo->mod[j];
		const rad_layer_weights *y = &m->w.layer[md->layer];
		float *w = md->site == RAD_LORA_SITE_QKV ? y->wqkv : md->site == RAD_LORA_SITE_O ? y->wo :
		           md->site == RAD_LORA_SITE_UP ? y->w_up : y->w_down;
		/* W[row0 + i, :] += s B[i, :] A  ([rows, r] x [r, in]) */
		rad_gemm_any(RAD_GEMM_F32, 0, 0, md->rows, md->in, r, lo->scale, md->b, r, md->a, md->in,
		            1.0f, w + (size_t)md->row0 * md->in, md->in);
	}
}
