/* nn/llama_layers.h — the Llama/Qwen family's layers, each forward beside its backward
 * (rmsnorm.c, rope.c, swiglu.c).  Conventions as in layers.h: fp32 row-major, letters
 * as in model.h, backward functions add into parameter gradients, deterministic for a
 * fixed thread count. */
#ifndef RAD_LLAMA_LAYERS_H
#define RAD_LLAMA_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* rmsnorm.c — y = x rstd w over the last dim C, rstd = 1/sqrt(mean(x^2) + eps) saved [N]. */
void rad_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int n, int c, float eps);
/* dx[N,C] += (accumulates, like LayerNorm's); dw[C] += (NULL: frozen) */
void rad_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *rstd,
                          const float *w, int n, int c);

/* Per-head q/k RMSNorm (Qwen3) on a fused row raw[N, (H+2G)*D]: each of the H query heads
 * is normalised with qw[D], each of the G key heads with kw[D]; v is copied.  rstd [N*(H+G)]. */
void rad_qknorm_forward(float *qkv, float *rstd, const float *raw, const float *qw, const float *kw,
                        int n, int h, int g, int d, float eps);
/* draw[N,(H+2G)*D] written (v part copied from dqkv; draw may alias dqkv); dqw, dkw +=
 * (both NULL: frozen) */
void rad_qknorm_backward(float *draw, float *dqw, float *dkw, const float *dqkv, const float *raw,
                         const float *rstd, const float *qw, const float *kw, int n, int h, int g, int d);

/* rope.c — rotary position embeddings, Hugging Face's rotate-half convention: for a head
 * vector x[D] and i < D/2, angle a = pos * inv_freq[i]:
 *   y[i] = x[i] cos a - x[i + D/2] sin a;   y[i + D/2] = x[i + D/2] cos a + x[i] sin a.
 * inv_freq[i] = theta^(-2i/D), rescaled for Llama-3 "rope_scaling" (scaling = 1):
 * wavelengths longer than orig_ctx/low are divided by factor, shorter than orig_ctx/high
 * kept, and the ones between interpolated smoothly. */
void rad_rope_inv_freq(float *inv_freq, int d, float theta, int scaling, float factor, float low,
                       float high, int orig_ctx);
/* cs[N, D]: cos of each angle in [0, D/2), sin in [D/2, D), for positions pos[N]. */
void rad_rope_table(float *cs, const int32_t *pos, int n, const float *inv_freq, int d);
/* Rotates the H query and G key heads of qkv[N, (H+2G)*D] in place (v untouched). */
void rad_rope_forward(float *qkv, const float *cs, int n, int h, int g, int d);
/* The transpose: rotates dq, dk back by the same angles, in place. */
void rad_rope_backward(float *dqkv, const float *cs, int n, int h, int g, int d);

/* swiglu.c — y[N,F] = silu(gu[:, :F]) * gu[:, F:], gu[N, 2F] = [gate | up] per row. */
void rad_swiglu_forward(float *y, const float *gu, int n, int f);
/* dgu[N,2F] written from dy[N,F] (no aliasing). */
void rad_swiglu_backward(float *dgu, const float *dy, const float *gu, int n, int f);

#endif
