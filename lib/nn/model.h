/* nn/model.h — a decoder-only transformer: one generic configuration, forward and backward.
 *
 * One code path serves the GPT-2 family and (as configuration variants) the Llama/Qwen
 * family: the differences are the norm (LayerNorm or RMSNorm), the positions (learned
 * table or RoPE), the MLP (GELU or SwiGLU), the number of key/value heads (GQA), which
 * projections carry biases, per-head q/k norms, and tied or untied output embeddings.
 *
 * Shapes (the letters used in every layer file):
 *   V vocab, C dim, L layers, H query heads, G key/value heads, D head_dim,
 *   F ffn_dim, N tokens in a pass (the batch's real tokens, padding left out),
 *   M tokens whose log-prob is needed (loss_mask = 1).
 *
 * Weights live in one fp32 array, params[nparams]; grads (when training) mirror it.
 * Every linear weight is stored as [out, in] (nn.Linear's layout): y = x W^T + b.
 * GPT-2's HF Conv1D weights ([in, out] on disk) are transposed when loaded and saved.
 * Fused layouts inside the model: wqkv = [q rows (H*D); k rows (G*D); v rows (G*D)] x C,
 * and for SwiGLU w_up = [gate rows (F); up rows (F)] x C, so a Llama checkpoint's
 * q_proj/k_proj/v_proj and gate_proj/up_proj map to row slices (rad_model_tensor).
 *
 * A batch (lib/batch.h) is run as one flat list of its sequences' tokens: sequence s is
 * tokens [seq_off[s], seq_off[s] + seq_len[s]), positions from the batch, and attention is
 * causal inside each sequence only, which is what the batch's segment ids mean.  The LM
 * head and log-softmax run only at the M completion positions, in chunks of rows, so no
 * N x V (let alone R x T x V) logits ever exist. */
#ifndef RAD_MODEL_H
#define RAD_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "nn/engine.h"
#include "stream/batch.h"

enum rad_norm_kind { RAD_NORM_LAYER = 0, RAD_NORM_RMS = 1 };
enum rad_pos_kind { RAD_POS_LEARNED = 0, RAD_POS_ROPE = 1 };
enum rad_mlp_kind { RAD_MLP_GELU = 0, RAD_MLP_SWIGLU = 1 };
enum rad_rope_scaling { RAD_ROPE_NONE = 0, RAD_ROPE_LLAMA3 = 1 };

/* A sequence-classification model's labels (HF id2label): at most this many, each name
 * shorter than RAD_LABEL_LEN bytes. */
#define RAD_MAX_LABELS 64
#define RAD_LABEL_LEN 64

typedef struct rad_model_config {
	char model_type[32];      /* HF model_type: "gpt2", "llama", "qwen2", "qwen3" */
	int vocab;                /* V */
	int ctx;                  /* max positions */
	int dim;                  /* C */
	int n_layers;             /* L */
	int n_heads;              /* H */
	int n_kv_heads;           /* G (H for multi-head attention) */
	int head_dim;             /* D (C / H for GPT-2) */
	int ffn_dim;              /* F (4C for GPT-2) */
	int norm;                 /* enum rad_norm_kind */
	int pos;                  /* enum rad_pos_kind */
	int mlp;                  /* enum rad_mlp_kind */
	float norm_eps;
	int qkv_bias;             /* q/k/v projections have biases (GPT-2, Qwen2) */
	int out_bias;             /* attention output projection has a bias (GPT-2) */
	int mlp_bias;             /* MLP projections have biases (GPT-2) */
	int norm_bias;            /* norms have a bias (LayerNorm: GPT-2) */
	int qk_norm;              /* per-head RMSNorm on q and k (Qwen3) */
	int tied;                 /* output embedding = input embedding */
	float rope_theta;
	int rope_scaling;         /* enum rad_rope_scaling */
	float rope_factor, rope_low_freq, rope_high_freq;
	int rope_orig_ctx;        /* original_max_position_embeddings */
	int bos_id, eos_id;       /* -1 when unknown */
	int pad_id;               /* pad_token_id, -1 when unknown */
	/* A sequence-classification model (HF ...ForSequenceClassification, as reward models
	 * are) has a score head of num_labels rows in place of the LM head; 0: a language
	 * model.  labels[i] is id2label[i]. */
	int num_labels;
	char labels[RAD_MAX_LABELS][RAD_LABEL_LEN];
} rad_model_config;

/* The GPT-2 shape: learned positions, LayerNorm (eps 1e-5), GELU-tanh, F = 4C, biases
 * everywhere, tied embeddings. */
void rad_model_config_gpt2(rad_model_config *c, int vocab, int ctx, int layers, int heads, int dim);
/* Reads an HF config.json (the path of the file).  Returns NULL or a message. */
const char *rad_model_config_read(rad_model_config *c, const char *path);
/* Writes an HF config.json for c (GPT2LMHeadModel for "gpt2"), its torch_dtype naming
 * dtype (RAD_ST_F32, _F16, _BF16: how the weights are stored); NULL or a message. */
const char *rad_model_config_write(const rad_model_config *c, int dtype, const char *path);
/* NULL when this build can run c, else why not. */
const char *rad_model_config_check(const rad_model_config *c);

/* One named weight as Hugging Face names and lays it out. */
typedef struct rad_model_tensor {
	char name[96];            /* HF name, e.g. "transformer.h.0.attn.c_attn.weight" */
	int ndim;
	int64_t shape[2];         /* HF shape */
	size_t off;               /* element offset into params of element [0] (internal layout) */
	int64_t rows, cols;       /* internal [rows, cols] block (cols = 1 for a vector) */
	int transposed;           /* HF stores it as [cols, rows] (GPT-2 Conv1D) */
	int decay;                /* weight decay applies (not biases, not norm weights) */
	int optional;             /* may be absent from a checkpoint (tied lm_head) */
} rad_model_tensor;

/* Pointers into params (or into grads: the same struct, rad_model_weights_at). */
typedef struct rad_layer_weights {
	float *norm1_w, *norm1_b;     /* [C] */
	float *wqkv, *bqkv;           /* [(H+2G)*D, C], [(H+2G)*D] */
	float *q_norm, *k_norm;       /* [D] (qk_norm) */
	float *wo, *bo;               /* [C, H*D], [C] */
	float *norm2_w, *norm2_b;     /* [C] */
	float *w_up, *b_up;           /* [F, C] (GELU) or [2F, C] (SwiGLU: gate; up), bias */
	float *w_down, *b_down;       /* [C, F], [C] */
} rad_layer_weights;

typedef struct rad_weights {
	float *wte;                   /* [V, C] */
	float *wpe;                   /* [ctx, C] (learned positions) */
	rad_layer_weights *layer;     /* [L] */
	float *normf_w, *normf_b;     /* [C] */
	float *lm_head;               /* [V, C]; == wte when tied; NULL for a classification model */
	float *score;                 /* [num_labels, C]: the classification head (HF "score") */
} rad_weights;

typedef struct rad_acts rad_acts;        /* saved activations of the last forward */
typedef struct rad_lora rad_lora;        /* low-rank adapters (nn/lora.h) */

typedef struct rad_model {
	rad_model_config cfg;
	size_t nparams;
	float *params;                /* [nparams] fp32 master weights */
	float *grads;                 /* [nparams] or NULL: not trained, or frozen under an adapter */
	int ntensors;
	rad_model_tensor *tensors;
	rad_weights w, g;             /* views into params and grads (g all NULL without grads) */
	rad_lora *lora;               /* an adapter the forward adds (rad_model_attach_lora), or NULL */
	int train;                    /* the forward keeps what the backward needs (rad_model_enable_grads) */
	rad_acts *acts;
	int threads;
	int compute;                  /* enum rad_compute (engine.h): what the products take */
	int recompute;                /* training keeps only each layer's input; the backward
	                                 recomputes the layer (gradient checkpointing) */
	rad_bf16 *params_bf16;        /* [nparams] bf16 copy of params (bf16 compute), or NULL */
	int bf16_stale;               /* params changed since params_bf16 was made */
	int bf16_only;                /* the matrices are held in params_bf16 only (rad_model_new_as):
	                                 params holds the vectors; its matrices' ranges are address
	                                 space only, never mapped to memory */
} rad_model;

/* The parameters a training run updates, whichever they are: every weight of the model,
 * or, with an adapter attached, the adapter's A and B only (the base frozen: it has no
 * gradient and no optimizer moments).  The optimizer, clipping, gradient dumps and
 * checkpoints work on this set. */
typedef struct rad_trainable {
	size_t n;
	float *params, *grads;        /* [n]; grads NULL before rad_model_enable_grads */
	int ntensors;
	const rad_model_tensor *tensors;   /* names, shapes, offsets, decay */
} rad_trainable;

/* Whether tensor t is a matrix (a product's weight or an embedding table), which a model
 * holding its weights in bf16 keeps in bf16 only; vectors (norms, biases) and a score
 * head stay fp32. */
int rad_model_tensor_is_matrix(const rad_model_tensor *t);

/* A zeroed model of configuration c (check it first); NULL + *err when c is not runnable. */
rad_model *rad_model_new(const rad_model_config *c, const char **err);
/* The same holding the matrices in dtype: RAD_ST_F32 (rad_model_new) or RAD_ST_BF16 (in
 * params_bf16 only, m->bf16_only: rad_model_load_as, rad-init --dtype bf16). */
rad_model *rad_model_new_as(const rad_model_config *c, int dtype, const char **err);
void rad_model_free(rad_model *m);
/* GPT-2's initialisation: N(0, 0.02) for weights and embeddings, N(0, 0.02/sqrt(2L)) for
 * the projections into the residual stream, zero biases, unit norm weights; seeded.  A
 * model holding its matrices in bf16 gets the same values rounded, and no fp32 copy. */
void rad_model_init(rad_model *m, uint64_t seed);
/* Training mode: the forward keeps its activations, and the trainable set (below) gets
 * zeroed gradients. */
void rad_model_enable_grads(rad_model *m);
void rad_model_zero_grads(rad_model *m);
/* Gives the model an adapter (which it owns and frees): the base becomes frozen.  Call
 * before rad_model_enable_grads. */
void rad_model_attach_lora(rad_model *m, rad_lora *lo);
rad_trainable rad_model_trainable(const rad_model *m);
/* Sets the OpenMP thread count, which the engine uses too (0 = leave as is). */
void rad_model_set_threads(rad_model *m, int threads);
/* fp32 (the default) or bf16 products: bf16 inputs, fp32 sums, with fp32 master weights,
 * norms, softmax and loss.  In bf16 the weights' bf16 copy is made again before every
 * forward of a model with gradients (its weights change between steps); a caller that
 * changes the weights of a model without gradients calls this again. */
void rad_model_set_compute(rad_model *m, int compute);
/* Activation recomputation (on = 1): the forward of a model with gradients keeps only
 * each layer's input, and the backward runs each layer's forward again before its
 * backward: about a third more work for memory that does not grow with the layers. */
void rad_model_set_recompute(rad_model *m, int on);
/* The bf16 copy of params for bf16 compute, made (again) when needed; NULL in fp32. */
const rad_bf16 *rad_model_bf16(rad_model *m);
/* Weight w (a pointer into params) as the products take it, wb being rad_model_bf16's:
 * its fp32 values unless the model holds it in bf16 only, its bf16 values when there
 * are any, and bf16 products in bf16 compute. */
rad_weight rad_model_weight(const rad_model *m, const rad_bf16 *wb, const float *w);
/* A hash of the configuration and every weight: names the model a reference came from. */
uint64_t rad_model_fingerprint(const rad_model *m);

/* Checkpoint directories in HF layout: config.json + model.safetensors.  Loading maps the
 * file and converts bf16/fp16/fp32 to fp32 (HF GPT-2 names with or without the
 * "transformer." prefix).  Saving writes dtype RAD_ST_F32 or RAD_ST_BF16 (safetensors.h)
 * into dir, each file through a temporary name, fsync and rename.  NULL or a message. */
const char *rad_model_load(rad_model **out, const char *dir);
/* The same, holding the matrices in dtype: RAD_ST_F32 (rad_model_load) or RAD_ST_BF16 —
 * a frozen base in half the memory (--base-dtype bf16).  Such a model computes in fp32
 * (or bf16) exactly what an fp32 model holding the bf16-rounded weights computes, and has
 * that model's fingerprint; it is never trained itself (an adapter is).  Saving it writes
 * the matrices as held. */
const char *rad_model_load_as(rad_model **out, const char *dir, int dtype);
const char *rad_model_save(const rad_model *m, const char *dir, int dtype);

/* Forward over a batch.  seq_logp[S] gets each sequence's summed completion log-prob
 * (double), seq_ntok[S] its completion token count (either may be NULL).  In training
 * mode the activations are kept for rad_model_backward.  Returns NULL or a message
 * (token id >= V, position >= ctx, ...), naming the sequence. */
const char *rad_model_forward(rad_model *m, const rad_batch *b, double *seq_logp, int32_t *seq_ntok);
/* A classification model's scores (a reward model's): the forward over the batch, then
 * the score head on the final hidden state after token at[s] of each sequence s (0-based
 * inside the sequence; HF reads the last token that is not padding), into
 * scores[S, num_labels].  Returns NULL or a message. */
const char *rad_model_score(rad_model *m, const rad_batch *b, const int32_t *at, float *scores);
/* Backward of the last forward: given dloss/dseq_logp[S] (what lib/loss.c computes), adds
 * the gradient of the loss to the trainable set's grads.  Needs training mode before the
 * forward. */
void rad_model_backward(rad_model *m, const rad_batch *b, const double *dseq_logp);

/* Generation (forward only, a key/value cache per slot).  The cache holds, for each of
 * nslots independent sequences, up to max_len positions of every layer's k and v. */
typedef struct rad_kv_cache {
	int nslots, max_len, n_layers, kv_dim;
	int *len;                     /* [nslots] positions filled */
	float *k, *v;                 /* [L][nslots][max_len][G*D] */
} rad_kv_cache;
rad_kv_cache *rad_kv_cache_new(const rad_model *m, int nslots, int max_len);
void rad_kv_cache_free(rad_kv_cache *kv);
void rad_kv_cache_reset(rad_kv_cache *kv, int slot);
/* Slot `to` becomes a copy of slot `from` (its positions and their keys and values): one
 * prefill serves several continuations of the same prompt. */
void rad_kv_cache_copy(rad_kv_cache *kv, int from, int to);
/* Feeds n tokens to slot (positions continue from its cache) and writes the logits of the
 * last one into logits[V].  Returns NULL or a message (cache full, bad token). */
const char *rad_model_decode(rad_model *m, rad_kv_cache *kv, int slot, const int32_t *tok, int n,
                             float *logits);

#endif
