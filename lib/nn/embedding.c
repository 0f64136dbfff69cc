/* nn/embedding.c — token (and learned position) embeddings, forward and backward.
 *   x[t] = wte[tok[t]] + wpe[pos[t]]   (wpe NULL: no learned positions)
 * The backward scatters into the tables over the tokens in order, column blocks spread
 * over the threads (layers.h), so the sums do not depend on threads. */
#include <string.h>
#include "nn/layers.h"

void rad_embedding_forward(float *x, const float *wte, const float *wpe, const int32_t *tok,
                           const int32_t *pos, int n, int c)
{
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		float *xr = x + (size_t)t * c;
		const float *e = wte + (size_t)tok[t] * c;
		if (wpe) {
			const float *p = wpe + (size_t)pos[t] * c;
			#pragma omp simd
			for (int j = 0; j < c; j++) xr[j] = e[j] + p[j];
		} else {
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
