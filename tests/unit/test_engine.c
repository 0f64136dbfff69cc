/* test_engine.c — the engine's products against float64 products written here: every
 * transpose, leading dimensions wider than the rows, alpha, beta, bias, fp32 and bf16
 * inputs, fixed and run-time sizes, inside and outside a parallel region; and the bf16
 * rounding at its edges (ties, NaN, infinities, overflow). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "nn/engine.h"
#include "base/rng.h"
#include "test.h"

static rad_rng R;

static float *rnd(size_t n)
{
	float *p = malloc(n * sizeof(float) + 4);
	for (size_t i = 0; i < n; i++) p[i] = (float)rad_rng_normal(&R);
	return p;
}

static float bits_f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static void test_bf16_rounding(void)
{
	/* 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1);
	 * 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: to 1 + 2^-6 */
	float x[] = {1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f, -2.5f, INFINITY, -INFINITY,
	             NAN, 3.4e38f, 0x1p-130f};
	uint16_t want[] = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xc020, 0x7f80, 0xff80, 0, 0x7f80, 0};
	rad_bf16 h[10];
	rad_bf16_from_f32(h, x, 10);
	for (int i = 0; i < 10; i++) {
		if (i == 7) { EXPECT_MSG((h[i] & 0x7f80) == 0x7f80 && (h[i] & 0x7f), "NaN -> %#x", h[i]); continue; }
		if (i == 9) { EXPECT_EQ(h[i], f_bits(x[9]) >> 16); continue; }   /* subnormals round like the rest */
		EXPECT_MSG(h[i] == want[i], "x[%d] = %a -> %#x, want %#x", i, x[i], h[i], want[i]);
	}
	float back[10];
	rad_f32_from_bf16(back, h, 10);
	EXPECT(back[4] == -2.5f && back[5] == INFINITY && isnan(back[7]));
	EXPECT(bits_f((uint32_t)h[2] << 16) == 1.0f + 0x1p-6f);
}

/* What the engine reads: x itself, or x rounded to bf16 (in place). */
static void as_read(int dt, float *x, rad_bf16 *h, size_t n)
{
	if (dt == RAD_GEMM_F32) return;
	rad_bf16_from_f32(h, x, n);
	rad_f32_from_bf16(x, h, n);
}

/* One product of every kind; returns the worst error relative to the sum of |terms|. */
static double product(int dt, int ta, int tb, int m, int n, int k, float alpha, int bias, float beta, int any)
{
	int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
	size_t na = (size_t)(ta ? k : m) * lda, nb = (size_t)(tb ? n : k) * ldb, nc = (size_t)m * ldc;
	float *a = rnd(na), *b = rnd(nb), *bv = rnd(n), *c = rnd(nc), *c0 = malloc(nc * 4);
	memcpy(c0, c, nc * 4);
	rad_bf16 *ha = malloc(na * 2), *hb = malloc(nb * 2);
	as_read(dt, a, ha, na);
	as_read(dt, b, hb, nb);
	const void *pa = dt == RAD_GEMM_BF16 ? (const void *)ha : a, *pb = dt == RAD_GEMM_BF16 ? (const void *)hb : b;
	if (any) rad_gemm_any(dt, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, c, ldc);
	else rad_gemm(dt, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, bias ? bv : NULL, beta, c, ldc);
	double worst = 0;
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			double s = 0, mag = 1e-30;
			for (int q = 0; q < k; q++) {
				double t = (double)a[ta ? (size_t)q * lda + i : (size_t)i * lda + q] *
				           b[tb ? (size_t)j * ldb + q : (size_t)q * ldb + j];
				s += t;
				mag += fabs(t);
			}
			double want = alpha * s + (bias ? bv[j] : 0) + beta * c0[(size_t)i * ldc + j];
			worst = fmax(worst, fabs(c[(size_t)i * ldc + j] - want) / (fabs(alpha) * mag + 1));
		}
	/* the padding between rows is not written */
	for (int i = 0; i < m; i++) EXPECT(c[(size_t)i * ldc + n] == c0[(size_t)i * ldc + n]);
	free(a); free(b); free(bv); free(c); free(c0); free(ha); free(hb);
	return worst;
}

static void every_kind(int any)
{
	double worst = 0;
	for (int dt = 0; dt < 2; dt++)
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++)
				for (int beta = 0; beta < 2; beta++) {
					worst = fmax(worst, product(dt, ta, tb, 37, 29, 70, beta ? 0.25f : 1.0f, 0, (float)beta, any));
					if (!any) worst = fmax(worst, product(dt, ta, tb, 13, 41, 9, 1.0f, 1, (float)beta, 0));
				}
	EXPECT_MSG(worst < 1e-5, "worst relative error %g", worst);
}
static void test_products(void) { every_kind(0); }
static void test_products_any_size(void) { every_kind(1); }

/* Inside a parallel region each thread runs its own products on itself. */
static void test_products_in_parallel(void)
{
	double worst[8] = {0};
	#pragma omp parallel for num_threads(2) schedule(static, 1)
	for (int i = 0; i < 8; i++) worst[i] = product(i & 1, (i >> 1) & 1, (i >> 2) & 1, 64, 48, 33, 0.5f, 0, 1.0f, i & 2);
	for (int i = 0; i < 8; i++) EXPECT_MSG(worst[i] < 1e-5, "product %d: %g", i, worst[i]);
}

/* The same call gives the same bits every time (a cached primitive, fixed threads). */
static void test_repeatable(void)
{
	int m = 300, n = 200, k = 500;
	float *a = rnd((size_t)m * k), *b = rnd((size_t)k * n), *c1 = malloc((size_t)m * n * 4), *c2 = malloc((size_t)m * n * 4);
	rad_gemm(RAD_GEMM_F32, 0, 0, m, n, k, 1.0f, a, k, b, n, NULL, 0.0f, c1, n);
	rad_gemm(RAD_GEMM_F32, 0, 0, m, n, k, 1.0f, a, k, b, n, NULL, 0.0f, c2, n);
	EXPECT(!memcmp(c1, c2, (size_t)m * n * 4));
	EXPECT(rad_gemm_impl(RAD_GEMM_F32, 0, 0, m, n, k)[0] != 0);
	free(a); free(b); free(c1); free(c2);
}

static void test_names(void)
{
	EXPECT_EQ(rad_compute_parse("fp32"), RAD_COMPUTE_F32);
	EXPECT_EQ(rad_compute_parse("bf16"), RAD_COMPUTE_BF16);
	EXPECT_EQ(rad_compute_parse("fp16"), -1);
	EXPECT_STR(rad_compute_name(RAD_COMPUTE_BF16), "bf16");
}

int main(void)
{
	rad_rng_seed(&R, 5);
	RUN(test_bf16_rounding);
	RUN(test_products);
	RUN(test_products_any_size);
	RUN(test_products_in_parallel);
	RUN(test_repeatable);
	RUN(test_names);
	return test_status();
}
