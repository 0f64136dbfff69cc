/* nn/matmul.c — the linear layer, forward and backward, through the engine (engine.h).
 *
 * Weights are [O, I] (out, in): y[N,O] = x[N,I] W^T + b.  In bf16 compute (wh, the
 * weights' bf16 copy, given) x and dy are rounded to bf16 on the way in and every sum is
 * fp32; the weight gradient is fp32 either way.  The bias gradient is a column sum, each
 * column summed over the rows in order, so it does not depend on how threads split the
 * work. */
#include "nn/engine.h"
#include "nn/layers.h"

void rad_colsum_add(float *db, const float *dy, int n, int c)
{
	#pragma omp parallel for schedule(static)
	for (int j0 = 0; j0 < c; j0 += RAD_COLS) {
		int j1 = j0 + RAD_COLS < c ? j0 + RAD_COLS : c;
		for (int t = 0; t < n; t++) {
			const float *r = dy + (size_t)t * c;
			#pragma omp simd
			for (int j = j0; j < j1; j++) db[j] += r[j];
		}
	}
}

void rad_matmul_forward(float *y, const float *x, const float *w, const rad_bf16 *wh, const float *b, int n, int in,
                        int out)
{
	if (n <= 0) return;
	/* y[N,O] = x[N,I] W[O,I]^T + b */
	if (wh) {
		rad_bf16 *xh = rad_engine_scratch(0, (size_t)n * in * sizeof *xh);
		rad_bf16_from_f32(xh, x, (size_t)n * in);
		rad_gemm(RAD_GEMM_BF16, 0, 1, n, out, in, 1.0f, xh, in, wh, in, b, 0.0f, y, out);
	} else {
		rad_gemm(RAD_GEMM_F32, 0, 1, n, out, in, 1.0f, x, in, w, in, b, 0.0f, y, out);
	}
}

void rad_matmul_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                         const rad_bf16 *wh, int n, int in, int out, int add_dx)
{
	if (n <= 0) return;
	int dt = wh ? RAD_GEMM_BF16 : RAD_GEMM_F32;
	const void *dyc = dy, *xc = x, *wc = w;
	if (wh) {
		rad_bf16 *dyh = rad_engine_scratch(0, (size_t)n * out * sizeof *dyh);
		rad_bf16_from_f32(dyh, dy, (size_t)n * out);
		dyc = dyh;
		wc = wh;
		if (dw) {
			rad_bf16 *xh = rad_engine_scratch(1, (size_t)n * in * sizeof *xh);
			rad_bf16_from_f32(xh, x, (size_t)n * in);
			xc = xh;
		}
	}
	/* dx[N,I] (+)= dy[N,O] W[O,I] */
	if (dx) rad_gemm(dt, 0, 0, n, in, out, 1.0f, dyc, out, wc, in, NULL, add_dx ? 1.0f : 0.0f, dx, in);
	/* dW[O,I] += dy^T[O,N] x[N,I] */
	if (dw) rad_gemm(dt, 1, 0, out, in, n, 1.0f, dyc, out, xc, in, NULL, 1.0f, dw, in);
	if (db) rad_colsum_add(db, dy, n, out);
}
