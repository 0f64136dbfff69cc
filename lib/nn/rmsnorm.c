/* nn/rmsnorm.c — RMSNorm over the last dimension, and the per-head q/k RMSNorm of Qwen3.
 *   forward:  rstd = 1/sqrt(mean(x^2) + eps);  y = x rstd w
 *   backward: xhat = x rstd;  g = dy w;  dx += rstd (g - xhat mean(g xhat));  dw += dy xhat
 * Weight gradients are summed serially over tokens: deterministic. */
#include <math.h>
#include <string.h>
#include "nn/layers.h"
#include "nn/llama_layers.h"

static inline float row_rstd(const float *x, int c, float eps)
{
	double s = 0;   /* double sums in simd lanes: vectorised, and in a fixed order */
	#pragma omp simd reduction(+:s)
	for (int j = 0; j < c; j++) s += (double)x[j] * x[j];
	return (float)(1.0 / sqrt(s / c + eps));
}

/* dx (=, or += when add) for one row; safe when dx aliases dy. */
static inline void row_back(float *dx, const float *dy, const float *x, float rs, const float *w, int c, int add)
{
	float sgx = 0;
	#pragma omp simd reduction(+:sgx)
	for (int j = 0; j < c; j++) sgx += dy[j] * w[j] * x[j] * rs;
	sgx /= c;
	for (int j = 0; j < c; j++) {
		float v = rs * (dy[j] * w[j] - x[j] * rs * sgx);
		dx[j] = add ? dx[j] + v : v;
	}
}

void rad_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int n, int c, float eps)
{
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		const float *xr = x + (size_t)t * c;
		float *yr = y + (size_t)t * c;
		float rs = row_rstd(xr, c, eps);
		#pragma omp simd
		for (int j = 0; j < c; j++) yr[j] = xr[j] * rs * w[j];
		rstd[t] = rs;
	}
}

void rad_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *rstd,
                          const float *w, int n, int c)
{
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++)
		row_back(dx + (size_t)t * c, dy + (size_t)t * c, x + (size_t)t * c, rstd[t], w, c, 1);
	if (!dw) return;   /* a frozen norm (under an adapter) has no gradient */
	#pragma omp parallel for schedule(static)
	for (int j0 = 0; j0 < c; j0 += RAD_COLS) {
		int j1 = j0 + RAD_COLS < c ? j0 + RAD_COLS : c;
		for (int t = 0; t < n; t++) {
			const float *xr = x + (size_t)t * c, *dr = dy + (size_t)t * c;
			float rs = rstd[t];
			#pragma omp simd
			for (int j = j0; j < j1; j++) dw[j] += dr[j] * xr[j] * rs;
		}
	}
}

void rad_qknorm_forward(float *qkv, float *rstd, const float *raw, const float *qw, const float *kw,
                        int n, int h, int g, int d, float eps)
{
	int w = (h + 2 * g) * d;
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		const float *xr = raw + (size_t)t * w;
		float *yr = qkv + (size_t)t * w;
		for (int i = 0; i < h + g; i++) {
			const float *x = xr + (size_t)i * d, *wt = i < h ? qw : kw;
			float rs = row_rstd(x, d, eps);
			for (int j = 0; j < d; j++) yr[i * d + j] = x[j] * rs * wt[j];
			rstd[(size_t)t * (h + g) + i] = rs;
		}
		memcpy(yr + (size_t)(h + g) * d, xr + (size_t)(h + g) * d, sizeof(float) * g * d);
	}
}

void rad_qknorm_backward(float *draw, float *dqw, float *dkw, const float *dqkv, const float *raw,
                         const float *rstd, const float *qw, const float *kw, int n, int h, int g, int d)
{
	int w = (h + 2 * g) * d;
	/* weight gradients first (they read dqkv, which draw may overwrite) */
	for (int t = 0; dqw && t < n; t++)
		for (int i = 0; i < h + g; i++) {
			const float *x = raw + (size_t)t * w + (size_t)i * d, *dy = dqkv + (size_t)t * w + (size_t)i * d;
			float rs = rstd[(size_t)t * (h + g) + i], *dwt = i < h ? dqw : dkw;
			for (int j = 0; j < d; j++) dwt[j] += dy[j] * x[j] * rs;
		}
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		for (int i = 0; i < h + g; i++) {
			size_t at = (size_t)t * w + (size_t)i * d;
			row_back(draw + at, dqkv + at, raw + at, rstd[(size_t)t * (h + g) + i], i < h ? qw : kw, d, 0);
		}
		if (draw != dqkv)
			memcpy(draw + (size_t)t * w + (size_t)(h + g) * d, dqkv + (size_t)t * w + (size_t)(h + g) * d,
			       sizeof(float) * g * d);
	}
}
