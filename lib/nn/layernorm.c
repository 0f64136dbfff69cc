/* nn/layernorm.c — LayerNorm over the last dimension, forward and backward.
 *   forward:  mean, rstd = 1/sqrt(var + eps);  y = (x - mean) rstd w + b
 *   backward: xhat = (x - mean) rstd;  g = dy w;
 *             dx += rstd (g - mean(g) - xhat mean(g xhat));  dw += dy xhat;  db += dy
 * dw and db are summed over tokens in order, column blocks spread over the threads
 * (layers.h): deterministic. */
#include <stdlib.h>
#include <math.h>
#include "nn/layers.h"

void rad_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
                           const float *b, int n, int c, float eps)
{
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		const float *xr = x + (size_t)t * c;
		float *yr = y + (size_t)t * c;
		double s = 0;   /* double sums in simd lanes: vectorised, and in a fixed order */
		#pragma omp simd reduction(+:s)
		for (int j = 0; j < c; j++) s += xr[j];
		float mu = (float)(s / c);
		double v = 0;
		#pragma omp simd reduction(+:v)
		for (int j = 0; j < c; j++) { double d = xr[j] - mu; v += d * d; }
		float rs = (float)(1.0 / sqrt(v / c + eps));
		#pragma omp simd
		for (int j = 0; j < c; j++) yr[j] = (xr[j] - mu) * rs * w[j] + (b ? b[j] : 0.0f);
		mean[t] = mu;
		rstd[t] = rs;
	}
}

void rad_layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                            const float *mean, const float *rstd, const float *w, int n, int c)
{
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		const float *xr = x + (size_t)t * c, *dr = dy + (size_t)t * c;
		float *dxr = dx + (size_t)t * c;
		float mu = mean[t], rs = rstd[t];
		float sg = 0, sgx = 0;
		#pragma omp simd reduction(+:sg, sgx)
		for (int j = 0; j < c; j++) {
			float g = dr[j] * w[j];
			sg += g;
			sgx += g * (xr[j] - mu) * rs;
		}
		sg /= c;
		sgx /= c;
		#pragma omp simd
		for (int j = 0; j < c; j++) {
			float xh = (xr[j] - mu) * rs;
			dxr[j] += rs * (dr[j] * w[j] - sg - xh * sgx);
		}
	}
	if (!dw) return;   /* a frozen norm (under an adapter) has no gradient */
	#pragma omp parallel for schedule(static)
	for (int j0 = 0; j0 < c; j0 += RAD_COLS) {
		int j1 = j0 + RAD_COLS < c ? j0 + RAD_COLS : c;
		for (int t = 0; t < n; t++) {
			const float *xr = x + (size_t)t * c, *dr = dy + (size_t)t * c;
			float mu = mean[t], rs = rstd[t];
			#pragma omp simd
			for (int j = j0; j < j1; j++) {
				dw[j] += dr[j] * (xr[j] - mu) * rs;
				if (db) db[j] += dr[j];
			}
		}
	}
}
