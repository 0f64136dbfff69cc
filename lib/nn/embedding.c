/* nn/embedding.c — token (and learned position) embeddings, forward and backward.
 *   x[t] = wte[tok[t]] + wpe[pos[t]]   (no wpe: no learned positions)
 * A table held in bf16 only is read a row at a time, widened.
 * The backward scatters into the tables over the tokens in order, column blocks spread
 * over the threads (layers.h), so the sums do not depend on threads. */
#include <string.h>
#include "nn/layers.h"

/* Row r of a table, as fp32: in place, or widened into buf[c]. */
static const float *row(rad_weight t, int32_t r, int c, float *buf)
{
	if (t.f32) return t.f32 + (size_t)r * c;
	rad_f32_from_bf16(buf, t.bf16 + (size_t)r * c, (size_t)c);
	return buf;
}

void rad_embedding_forward(float *x, rad_weight wte, rad_weight wpe, const int32_t *tok, const int32_t *pos, int n,
                           int c)
{
	int learned = wpe.f32 || wpe.bf16;
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		float *xr = x + (size_t)t * c;
		const float *e = row(wte, tok[t], c, xr);   /* widened in place when held in bf16 */
		if (learned) {
			float *buf = rad_engine_scratch(0, sizeof(float) * c);
			const float *p = row(wpe, pos[t], c, buf);
			#pragma omp simd
			for (int j = 0; j < c; j++) xr[j] = e[j] + p[j];
		} else if (e != xr) {
			memcpy(xr, e, sizeof(float) * c);
		}
	}
}

void rad_embedding_backward(float *dwte, float *dwpe, const float *dx, const int32_t *tok,
                            const int32_t *pos, int n, int c)
{
	#pragma omp parallel for schedule(static)
	for (int j0 = 0; j0 < c; j0 += RAD_COLS) {
		int j1 = j0 + RAD_COLS < c ? j0 + RAD_COLS : c;
		for (int t = 0; t < n; t++) {
			const float *d = dx + (size_t)t * c;
			float *e = dwte + (size_t)tok[t] * c;
			#pragma omp simd
			for (int j = j0; j < j1; j++) e[j] += d[j];
			if (dwpe) {
				float *p = dwpe + (size_t)pos[t] * c;
				#pragma omp simd
				for (int j = j0; j < j1; j++) p[j] += d[j];
			}
		}
	}
}
