/* nn/vmath.h — exp and tanh the compiler can vectorise (OpenMP simd loops), for softmax,
 * log-sum-exp and GELU.  exp: Cephes' polynomial after reduction by ln 2, about 1 ulp;
 * arguments are clamped to [-87.3, 88.3] (results from about 1e-38 to 2e38); NaN stays NaN.
 * Plain static inline functions, clamped with comparisons: GCC 12 vectorises the loops
 * that call them once inlined, but neither through `declare simd` clones nor through
 * fminf/fmaxf (NaN rules it cannot map to vminps), which left GELU scalar (measured). */
#ifndef RAD_VMATH_H
#define RAD_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float rad_expf(float x0)
{
	float x = x0 > -87.3f ? (x0 < 88.3f ? x0 : 88.3f) : -87.3f;   /* NaN becomes -87.3 here ... */
	float n = rintf(x * 1.44269504088896341f);
	float r = fmaf(n, -0.693359375f, x);
	r = fmaf(n, 2.12194440e-4f, r);
	float p = 1.9875691500e-4f;
	p = fmaf(p, r, 1.3981999507e-3f);
	p = fmaf(p, r, 8.3334519073e-3f);
	p = fmaf(p, r, 4.1665795894e-2f);
	p = fmaf(p, r, 1.6666665459e-1f);
	p = fmaf(p, r, 5.0000001201e-1f);
	p = fmaf(p, r * r, r) + 1.0f;
	int32_t e = ((int32_t)n + 127) << 23;
	float s;
	memcpy(&s, &e, 4);
	return x0 != x0 ? x0 : p * s;                /* ... and stays NaN on the way out */
}

static inline float rad_tanhf(float x)
{
	return 1.0f - 2.0f / (rad_expf(2.0f * x) + 1.0f);
}

#endif
