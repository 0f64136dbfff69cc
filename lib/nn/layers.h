/* nn/layers.h — the transformer's layers, each forward beside its backward (one file each).
 *
 * All buffers are fp32, row-major; the shapes are in each comment (letters as in
 * model.h).  Backward functions ADD into parameter gradients (dw, db) and, unless said
 * otherwise, WRITE the input gradient.  Threads: OpenMP inside, deterministic for a
 * fixed thread count (no atomics, no reductions whose order depends on timing). */
#ifndef RAD_LAYERS_H
#define RAD_LAYERS_H

#include <stddef.h>
#include <stdint.h>
#include "nn/engine.h"

/* Rows of W[.,in] widened at a time for an fp32 product of a bf16-only weight: as many as
 * fit in RAD_WIDEN_MB MiB (default 64; at least one row).  A matrix that fits is one
 * product, as in an fp32 model; a larger one is several over blocks of its rows. */
int rad_widen_rows(int in);

/* matmul.c — y[N,O] = x[N,I] W[O,I]^T (+ b[O]) through the engine. */
void rad_matmul_forward(float *y, const float *x, rad_weight w, const float *b, int n, int in, int out);
/* dx[N,I] (+)= dy[N,O] W[O,I] (accumulate when add_dx); dw[O,I] += dy^T x; db[O] += sum dy.
 * In bf16 products dy and x are rounded to bf16. */
void rad_matmul_backward(float *dx, float *dw, float *db, const float *dy, const float *x, rad_weight w, int n,
                         int in, int out, int add_dx);
/* Parameter gradients that sum over tokens (biases, norm weights, embeddings) split their
 * columns into blocks of RAD_COLS among the threads; each column is summed over the
 * tokens in order, so the bits do not depend on the thread count. */
#define RAD_COLS 64
/* db[C] += the column sums of dy[N,C]: bias gradients. */
void rad_colsum_add(float *db, const float *dy, int n, int c);

/* layernorm.c — y = (x - mean) * rstd * w + b over the last dim C; mean, rstd [N] saved. */
void rad_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
                           const float *b, int n, int c, float eps);
/* dx[N,C] += (accumulates into the residual gradient); dw, db += (NULL: frozen) */
void rad_layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                            const float *mean, const float *rstd, const float *w, int n, int c);

/* gelu.c — GELU with the tanh approximation (GPT-2's "gelu_new"), elementwise on n. */
void rad_gelu_forward(float *y, const float *x, size_t n);
/* dx = dy * gelu'(x) (dx may alias dy). */
void rad_gelu_backward(float *dx, const float *dy, const float *x, size_t n);

/* attention.c — causal multi-head attention inside each sequence of a flat token list,
 * in tiles: memory linear in the tokens (no [len, len] matrix is kept).
 *   qkv[N, (H+2G)*D]: per token q heads, then k heads, then v heads;
 *   out[N, H*D]; sequences: token ranges [off[s], off[s]+len[s]), s < S;
 *   lse[N, H]: the log-sum-exp of each query row's scaled scores, saved for the backward.
 * Query head h reads key/value head h / (H/G) (grouped-query attention).  bf16: the
 * products take bf16 inputs (fp32 sums; the softmax is fp32). */
void rad_attention_forward(float *out, float *lse, const float *qkv, const int *off, const int *len, int nseq, int h,
                           int g, int d, int bf16);
/* Floats of the backward's work buffer (0 when G == H). */
size_t rad_attention_work_size(int n, int h, int g, int d);
/* dqkv[N,(H+2G)*D] written, from dout[N, H*D] and the forward's out and lse. */
void rad_attention_backward(float *dqkv, float *work, const float *dout, const float *out, const float *qkv,
                            const float *lse, const int *off, const int *len, int nseq, int h, int g, int d, int bf16);

/* logprobs.c — LM head and log-softmax at selected rows only, in chunks.
 *   x[M,C] (rows already gathered), w[V,C] (as the products take it),
 *   target[M]: logp[M] = log softmax(x w^T)[target],
 *   lse[M] the log-sum-exp of each row (kept for the backward).
 * scratch holds rows*V floats: with rows >= M the logits of every row stay there for the
 * backward; otherwise the backward recomputes them `rows` at a time
 * (rad_logprobs_chunk(V) is a good chunk). */
int rad_logprobs_chunk(int v);
void rad_logprobs_forward(float *logp, float *lse, const float *x, rad_weight w, const int32_t *target, int m,
                          int c, int v, float *scratch, int rows);
/* Given dlogp[M] (d loss / d logp of each row): dx[M,C] written, dw[V,C] += (NULL: frozen). */
void rad_logprobs_backward(float *dx, float *dw, const float *dlogp, const float *lse, const float *x,
                           rad_weight w, const int32_t *target, int m, int c, int v, float *scratch, int rows);

/* embedding.c — x[N,C] = wte[tok] (+ wpe[pos]: wpe.f32 and .bf16 NULL for none; a table
 * held in bf16 only is read widened); backward adds into dwte, dwpe (deterministic:
 * serial over tokens, vectorised over C). */
void rad_embedding_forward(float *x, rad_weight wte, rad_weight wpe, const int32_t *tok, const int32_t *pos, int n,
                           int c);
void rad_embedding_backward(float *dwte, float *dwpe, const float *dx, const int32_t *tok,
                            const int32_t *pos, int n, int c);

#endif
