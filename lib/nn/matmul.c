/* nn/matmul.c — the linear layer, forward and backward, through BLAS sgemm.
 *
 * Weights are [O, I] (out, in): y[N,O] = x[N,I] W^T + b.  The bias gradient is a column
 * sum done serially over rows (vectorised over columns) so it does not depend on how
 * threads split the work. */
#include <cblas.h>
#include <string.h>
#include "nn/layers.h"

void openblas_set_num_threads(int);

void rad_blas_set_threads(int n)
{
	if (n > 0) openblas_set_num_threads(n);
}

void rad_colsum_add(float *db, const float *dy, int n, int c)
{
	for (int t = 0; t < n; t++) {
		const float *r = dy + (size_t)t * c;
		#pragma omp simd
		for (int j = 0; j < c; j++) db[j] += r[j];
	}
}

void rad_matmul_forward(float *y, const float *x, const float *w, const float *b, int n, int in, int out)
{
	if (n <= 0) return;
	if (b) {
		#pragma omp parallel for schedule(static)
		for (int t = 0; t < n; t++) memcpy(y + (size_t)t * out, b, sizeof(float) * out);
	}
	/* y[N,O] (+)= x[N,I] * W[O,I]^T */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in,
	            b ? 1.0f : 0.0f, y, out);
}

void rad_matmul_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, int n, int in, int out, int add_dx)
{
	if (n <= 0) return;
	/* dx[N,I] = dy[N,O] W[O,I] */
	if (dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in,
		            add_dx ? 1.0f : 0.0f, dx, in);
	/* dW[O,I] += dy^T[O,N] x[N,I] */
	if (dw)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in,
		            1.0f, dw, in);
	if (db) rad_colsum_add(db, dy, n, out);
}
