/* nn/swiglu.c — the SwiGLU MLP's gate: y = silu(g) * u, silu(g) = g sigmoid(g).
 *   dg = dy u sigmoid(g) (1 + g (1 - sigmoid(g)));   du = dy silu(g) */
#include <math.h>
#include "nn/llama_layers.h"
#include "nn/vmath.h"

void rad_swiglu_forward(float *y, const float *gu, int n, int f)
{
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		const float *g = gu + (size_t)t * 2 * f, *u = g + f;
		float *yr = y + (size_t)t * f;
		#pragma omp simd
		for (int j = 0; j < f; j++) yr[j] = g[j] / (1.0f + rad_expf(-g[j])) * u[j];
	}
}

void rad_swiglu_backward(float *dgu, const float *dy, const float *gu, int n, int f)
{
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		const float *g = gu + (size_t)t * 2 * f, *u = g + f, *dr = dy + (size_t)t * f;
		float *dg = dgu + (size_t)t * 2 * f, *du = dg + f;
		#pragma omp simd
		for (int j = 0; j < f; j++) {
			float s = 1.0f / (1.0f + rad_expf(-g[j]));
			dg[j] = dr[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
			du[j] = dr[j] * g[j] * s;
		}
	}
}
