/* nn/gelu.c — GELU, tanh approximation (GPT-2's "gelu_new"), forward and backward.
 *   y = 0.5 x (1 + tanh(k (x + 0.044715 x^3))),  k = sqrt(2/pi) */
#include <math.h>
#include "nn/layers.h"
#include "nn/vmath.h"

#define GELU_K 0.7978845608028654f

void rad_gelu_forward(float *y, const float *x, size_t n)
{
	#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		float u = GELU_K * (v + 0.044715f * v * v * v);
		y[i] = 0.5f * v * (1.0f + rad_tanhf(u));
	}
}

void rad_gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		float u = GELU_K * (v + 0.044715f * v * v * v);
		float th = rad_tanhf(u);
		float sech2 = 1.0f - th * th;
		float du = GELU_K * (1.0f + 3.0f * 0.044715f * v * v);
		dx[i] = dy[i] * (0.5f * (1.0f + th) + 0.5f * v * sech2 * du);
	}
}
