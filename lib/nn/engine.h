/* nn/engine.h — rad's matrix-product engine: oneDNN matmul primitives.
 *
 * Every product of the model (linear layers forward and backward, the LM head, the
 * attention tiles) is one call of rad_gemm, in fp32 or with bf16 inputs and fp32
 * accumulation.  oneDNN picks its kernel from the CPU's instruction sets (AVX-512,
 * AVX512-BF16, AMX, AVX2 ...), not from the CPU's name.  A primitive is created the
 * first time a shape is seen and cached: training repeats its shapes every step.
 *
 * Threads: oneDNN here is built on OpenMP, the pool the rest of rad uses.  A call made
 * outside a parallel region runs on omp_get_max_threads() threads; a call made inside
 * one (attention runs a tile per thread) runs on the calling thread alone, with a
 * primitive created for one thread.  For a fixed thread count the results are the same
 * bits on every run. */
#ifndef RAD_ENGINE_H
#define RAD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/* What the model's products are computed in (--compute). */
enum rad_compute { RAD_COMPUTE_F32 = 0, RAD_COMPUTE_BF16 = 1 };
/* "fp32" or "bf16" -> enum rad_compute, -1 for anything else; and back. */
int rad_compute_parse(const char *s);
const char *rad_compute_name(int compute);

/* bfloat16: the upper half of an IEEE float. */
typedef uint16_t rad_bf16;
/* Rounds to nearest, ties to even; NaN stays NaN. */
void rad_bf16_from_f32(rad_bf16 *dst, const float *src, size_t n);
/* A matrix [r, c] with leading dimension lds into one with leading dimension ldd. */
void rad_bf16_from_f32_rows(rad_bf16 *dst, int ldd, const float *src, int lds, int r, int c);
void rad_f32_from_bf16(float *dst, const rad_bf16 *src, size_t n);

enum rad_gemm_type { RAD_GEMM_F32 = 0, RAD_GEMM_BF16 = 1 };

/* A weight matrix W[O,I] as the products take it.  f32: its fp32 values, or NULL when the
 * model holds it in bf16 only (rad_model_load_as); bf16: its bf16 values (a copy made for
 * bf16 compute, or the only copy), or NULL; bf16_products: the products take bf16 inputs
 * (x and dy rounded, fp32 sums; needs bf16).  An fp32 product of a weight held in bf16 only
 * widens it to fp32 a block of rows at a time (rad_widen_rows): exactly the sums an fp32
 * model holding the same rounded values computes. */
typedef struct rad_weight {
	const float *f32;
	const rad_bf16 *bf16;
	int bf16_products;
} rad_weight;
/* An fp32 weight (the usual case). */
static inline rad_weight rad_weight_f32(const float *w) { return (rad_weight){w, NULL, 0}; }

/* C[M,N] = alpha op(A)[M,K] op(B)[K,N] (+ bias[N] on every row) + beta C, row-major:
 *   A is [M,K] with leading dimension lda, or [K,M] when ta;
 *   B is [K,N] with leading dimension ldb, or [N,K] when tb;
 *   C is [M,N] fp32 with leading dimension ldc; beta is 0 or 1; bias may be NULL.
 * A and B are both fp32 or both bf16 (dt); the sums are fp32 either way. */
void rad_gemm(int dt, int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda, const void *b,
              int ldb, const float *bias, float beta, float *c, int ldc);

/* The same product for shapes that vary from call to call (attention's edge tiles): one
 * primitive whose sizes are given when it runs, instead of one per shape. */
void rad_gemm_any(int dt, int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda, const void *b,
                  int ldb, float beta, float *c, int ldc);

/* Scratch buffers of the calling thread, grown as needed and kept: slot 0..3. */
void *rad_engine_scratch(int slot, size_t bytes);

/* Which kernel oneDNN chose for a product of this kind (for the bench), e.g.
 * "brg:avx512_core_bf16"; "" when it has none. */
const char *rad_gemm_impl(int dt, int ta, int tb, int m, int n, int k);

#endif
