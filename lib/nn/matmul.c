/* nn/matmul.c — the linear layer, forward and backward, through the engine (engine.h).
 *
 * Weights are [O, I] (out, in): y[N,O] = x[N,I] W^T + b.  In bf16 products x and dy are
 * rounded to bf16 on the way in and every sum is fp32; the weight gradient is fp32 either
 * way.  A weight held in bf16 only enters an fp32 product widened, a block of rows at a
 * time, so no fp32 copy of it is ever whole.  The bias gradient is a column sum, each
 * column summed over the rows in order, so it does not depend on how threads split the
 * work. */
#include <stdlib.h>
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

int rad_widen_rows(int in)
{
	const char *mb = getenv("RAD_WIDEN_MB");
	long bytes = (mb && atol(mb) > 0 ? atol(mb) : 64) << 20, r = bytes / ((long)in * 4);
	return r < 1 ? 1 : r > 1 << 30 ? 1 << 30 : (int)r;
}

/* Rows [o, o + no) of a bf16-only weight, widened into the calling thread's scratch. */
static const float *widen(const rad_weight w, int o, int no, int in)
{
	float *wide = rad_engine_scratch(1, (size_t)no * in * sizeof *wide);
	rad_f32_from_bf16(wide, w.bf16 + (size_t)o * in, (size_t)no * in);
	return wide;
}

void rad_matmul_forward(float *y, const float *x, rad_weight w, const float *b, int n, int in, int out)
{
	if (n <= 0) return;
	/* y[N,O] = x[N,I] W[O,I]^T + b */
	if (w.bf16_products) {
		rad_bf16 *xh = rad_engine_scratch(0, (size_t)n * in * sizeof *xh);
		rad_bf16_from_f32(xh, x, (size_t)n * in);
		rad_gemm(RAD_GEMM_BF16, 0, 1, n, out, in, 1.0f, xh, in, w.bf16, in, b, 0.0f, y, out);
	} else if (w.f32) {
		rad_gemm(RAD_GEMM_F32, 0, 1, n, out, in, 1.0f, x, in, w.f32, in, b, 0.0f, y, out);
	} else {   /* columns [o, o + no) of y from rows [o, o + no) of W */
		int rows = rad_widen_rows(in);
		for (int o = 0; o < out; o += rows) {
			int no = out - o < rows ? out - o : rows;
			rad_gemm(RAD_GEMM_F32, 0, 1, n, no, in, 1.0f, x, in, widen(w, o, no, in), in, b ? b + o : NULL, 0.0f,
			         y + o, out);
		}
	}
}

void rad_matmul_backward(float *dx, float *dw, float *db, const float *dy, const float *x, rad_weight w, int n,
                         int in, int out, int add_dx)
{
	if (n <= 0) return;
	int dt = w.bf16_products ? RAD_GEMM_BF16 : RAD_GEMM_F32;
	const void *dyc = dy, *xc = x;
	if (w.bf16_products) {
		rad_bf16 *dyh = rad_engine_scratch(0, (size_t)n * out * sizeof *dyh);
		rad_bf16_from_f32(dyh, dy, (size_t)n * out);
		dyc = dyh;
		if (dw) {
			rad_bf16 *xh = rad_engine_scratch(1, (size_t)n * in * sizeof *xh);
			rad_bf16_from_f32(xh, x, (size_t)n * in);
			xc = xh;
		}
	}
	/* dx[N,I] (+)= dy[N,O] W[O,I]: a bf16-only weight in fp32 as a sum over blocks of its rows */
	if (dx && (w.bf16_products || w.f32)) {
		rad_gemm(dt, 0, 0, n, in, out, 1.0f, dyc, out, w.bf16_products ? (const void *)w.bf16 : w.f32, in, NULL,
		         add_dx ? 1.0f : 0.0f, dx, in);
	} else if (dx) {
		int rows = rad_widen_rows(in);
		for (int o = 0; o < out; o += rows) {
			int no = out - o < rows ? out - o : rows;
			rad_gemm(RAD_GEMM_F32, 0, 0, n, in, no, 1.0f, dy + o, out, widen(w, o, no, in), in, NULL,
			         add_dx || o ? 1.0f : 0.0f, dx, in);
		}
	}
	/* dW[O,I] += dy^T[O,N] x[N,I] */
	if (dw) rad_gemm(dt, 1, 0, out, in, n, 1.0f, dyc, out, xc, in, NULL, 1.0f, dw, in);
	if (db) rad_colsum_add(db, dy, n, out);
}
