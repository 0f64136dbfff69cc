/* nn/lora.h — low-rank adapters (LoRA) on the decoder's linear layers, as PEFT's LoRA
 * Linear computes them:
 *
 *   y = x W^T + b + s (drop(x) A^T) B^T        A [r, in], B [out, r]
 *   s = alpha / r  (rsLoRA: alpha / sqrt(r));   drop: inverted dropout with rate p
 *
 * The base W, b stay frozen; only every A and B are trained.  PEFT initialises B = 0 and
 * A Kaiming-uniform (bound 1/sqrt(in)), so a fresh adapter leaves the model as it was:
 * the reference of DPO is the base with the adapter off.
 *
 * A module is one of PEFT's target modules in one layer.  The model fuses q, k and v
 * (and gate and up) into one product (model.h), so a module adds to a block of rows of a
 * fused product, a "site": QKV (input norm1's output), O (the attention output), UP (norm2's
 * output) and DOWN (the MLP activation).  Target names are PEFT's target_modules: q_proj,
 * k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj for the Llama/Qwen family (or q,
 * k, v, o, gate, up, down), c_attn, c_proj (attention and MLP), c_fc for GPT-2.
 *
 * Dropout (training only) draws its mask from a counter-based hash of a key, the module
 * and the element's index: the trainer keys it by seed and batch, so a resumed run draws
 * the same masks, whatever the thread count, and the backward regenerates the mask
 * instead of storing it. */
#ifndef RAD_LORA_H
#define RAD_LORA_H

#include <stddef.h>
#include <stdint.h>
#include "nn/model.h"

enum rad_lora_kind {            /* bits of rad_lora_opts.targets */
	RAD_LORA_Q = 1 << 0, RAD_LORA_K = 1 << 1, RAD_LORA_V = 1 << 2, RAD_LORA_O = 1 << 3,
	RAD_LORA_GATE = 1 << 4, RAD_LORA_UP = 1 << 5, RAD_LORA_DOWN = 1 << 6,
	RAD_LORA_C_ATTN = 1 << 7, RAD_LORA_C_PROJ = 1 << 8, RAD_LORA_C_FC = 1 << 9,   /* GPT-2 */
};
enum rad_lora_site { RAD_LORA_SITE_QKV, RAD_LORA_SITE_O, RAD_LORA_SITE_UP, RAD_LORA_SITE_DOWN, RAD_LORA_NSITES };

typedef struct rad_lora_opts {
	int rank;                   /* r */
	double alpha;               /* lora_alpha */
	double dropout;             /* lora_dropout, in [0, 1) */
	unsigned targets;           /* enum rad_lora_kind bits */
	int rslora;                 /* s = alpha / sqrt(r) */
} rad_lora_opts;

typedef struct rad_lora_module {
	int layer, site, kind;
	int row0, rows, in;         /* adds to rows [row0, row0 + rows) of its site's product; input width */
	float *a, *b;               /* A [r, in], B [rows, r] (into params) */
	float *ga, *gb;             /* their gradients (into grads), or NULL */
	float *u;                   /* [N, r]: drop(x) A^T of the last forward, for the backward */
	uint64_t id;                /* keys its dropout mask */
} rad_lora_module;

struct rad_lora {
	rad_lora_opts o;
	float scale;                /* s */
	int n_layers, nmod;
	rad_lora_module *mod;       /* ordered by layer, then site */
	int *first;                 /* [L * RAD_LORA_NSITES + 1]: modules of (layer, site) */
	/* the trainable parameters, every A then B of each module, as PEFT names them */
	size_t nparams;
	float *params, *grads;
	int ntensors;
	rad_model_tensor *tensors;
	uint64_t key;               /* the dropout key of the current batch */
	size_t ucap, xcap;          /* rows of u, floats of the scratch below */
	float *xd, *du;             /* scratch: dropped input [N, in], du [N, r] */
};

/* The kinds named in a comma-separated list (PEFT's names, the short Llama names, or
 * "all-linear"); NULL or a message naming what is not understood. */
const char *rad_lora_targets_parse(const char *list, unsigned *targets);
/* PEFT's default targets for a model family: q_proj, v_proj (Llama/Qwen); c_attn (GPT-2). */
unsigned rad_lora_default_targets(const rad_model_config *c);
/* The PEFT name of one kind ("q_proj", "c_attn"). */
const char *rad_lora_kind_name(unsigned kind);

/* An adapter of zeros for a model of configuration c; NULL and *err when an option does
 * not fit (a target the family lacks, rank < 1, ...). */
rad_lora *rad_lora_new(const rad_model_config *c, const rad_lora_opts *o, const char **err);
void rad_lora_free(rad_lora *lo);
/* PEFT's initialisation: B = 0, A uniform in +-1/sqrt(in); keyed by tensor name and seed. */
void rad_lora_init(rad_lora *lo, uint64_t seed);
void rad_lora_enable_grads(rad_lora *lo);
/* The dropout key of the next forward (and its backward). */
void rad_lora_set_key(rad_lora *lo, uint64_t key);
/* 1 when element e of module `mod`'s input is kept under the current key (dropout > 0). */
int rad_lora_kept(const rad_lora *lo, const rad_lora_module *mod, size_t e);

/* y[n, ldy] += s drop(x) A^T B^T for every module of (layer, site), each at its rows;
 * x [n, in].  train: dropout applies. */
void rad_lora_forward(rad_lora *lo, int layer, int site, float *y, int ldy, const float *x, int n, int train);
/* Given dy [n, ldy] of the site's product: dA, dB += and dx [n, in] += (the base's backward
 * wrote dx before); x and train as in the forward. */
void rad_lora_backward(rad_lora *lo, int layer, int site, float *dx, const float *dy, int ldy, const float *x, int n,
                       int train);
/* W += s B A into the model's fp32 weights: the merged model computes what the adapter does. */
void rad_lora_merge(const rad_lora *lo, rad_model *m);

/* PEFT's adapter directory: adapter_config.json + adapter_model.safetensors (lora_io.c).
 * Loading checks the configuration against the model (target modules, shapes; DoRA, bias
 * training, rank or alpha patterns, modules_to_save are refused) and converts bf16/fp16
 * to fp32.  Saving writes dtype RAD_ST_F32 or RAD_ST_BF16, each file through a temporary
 * name; base names the base model (base_model_name_or_path).  NULL or a message. */
const char *rad_lora_load(rad_lora **out, const rad_model_config *c, const char *dir);
const char *rad_lora_save(const rad_lora *lo, const rad_model_config *c, const char *dir, int dtype, const char *base);
/* The model in dir with the adapter in adapter_dir (NULL: none) merged into its weights:
 * what inference with the adapter computes, at the cost of the plain model.  With the
 * matrices held in bf16 (dtype RAD_ST_BF16, rad_model_load_as) the adapter is attached
 * instead, as in training, since merging would round it into the base.  NULL or a
 * message. */
const char *rad_model_load_adapted(rad_model **out, const char *dir, const char *adapter_dir, int dtype);

#endif
