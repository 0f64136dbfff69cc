/* nn/logprobs.c — LM head and log-softmax at the completion positions only, in chunks.
 *
 * For rows x[M,C] and targets t[M]: z = x W^T (W [V,C]); logp = z[t] - logsumexp(z).
 * The logits exist only for the completion rows, never for prompt or padding tokens.
 * When scratch holds all M rows (rows >= M) the forward leaves the logits there and the
 * backward uses them; otherwise `rows` rows at a time are computed, and the backward
 * recomputes them chunk by chunk:
 *   dz_j = dlogp (1[j = t] - softmax(z)_j);  dx = dz W;  dW += dz^T x
 * In bf16 products x and dz enter them as bf16; the softmax is fp32. */
#include <math.h>
#include "nn/layers.h"
#include "nn/vmath.h"

int rad_logprobs_chunk(int v)
{
	/* about 32 MiB of logits per chunk, between 8 and 256 rows */
	long r = (32L << 20) / ((long)v * 4);
	return r < 8 ? 8 : r > 256 ? 256 : (int)r;
}

/* log-sum-exp of z[V] */
static float row_lse(const float *z, int v)
{
	float mx = z[0];
	#pragma omp simd reduction(max:mx)
	for (int j = 0; j < v; j++) mx = z[j] > mx ? z[j] : mx;
	float s = 0;
	#pragma omp simd reduction(+:s)
	for (int j = 0; j < v; j++) s += rad_expf(z[j] - mx);
	return mx + logf(s);
}

void rad_logprobs_forward(float *logp, float *lse, const float *x, rad_weight w, const int32_t *target, int m,
                          int c, int v, float *scratch, int rows)
{
	int keep = rows >= m, ch = keep ? m : rows;
	for (int r0 = 0; r0 < m; r0 += ch) {
		int n = m - r0 < ch ? m - r0 : ch;
		rad_matmul_forward(scratch, x + (size_t)r0 * c, w, NULL, n, c, v);   /* z = x W^T */
		#pragma omp parallel for schedule(static)
		for (int i = 0; i < n; i++) {
			const float *z = scratch + (size_t)i * v;
			float l = row_lse(z, v);
			lse[r0 + i] = l;
			logp[r0 + i] = z[target[r0 + i]] - l;
		}
	}
}

void rad_logprobs_backward(float *dx, float *dw, const float *dlogp, const float *lse, const float *x,
                           rad_weight w, const int32_t *target, int m, int c, int v, float *scratch, int rows)
{
	int keep = rows >= m, ch = keep ? m : rows;
	for (int r0 = 0; r0 < m; r0 += ch) {
		int n = m - r0 < ch ? m - r0 : ch;
		const float *xc = x + (size_t)r0 * c;
		if (!keep) rad_matmul_forward(scratch, xc, w, NULL, n, c, v);
		#pragma omp parallel for schedule(static)
		for (int i = 0; i < n; i++) {
			float *z = scratch + (size_t)i * v;
			float l = lse[r0 + i], g = dlogp[r0 + i];
			#pragma omp simd
			for (int j = 0; j < v; j++) z[j] = -g * rad_expf(z[j] - l);
			z[target[r0 + i]] += g;
		}
		/* dx[n,C] = dz[n,V] W[V,C];  dW[V,C] += dz^T x: the linear layer's backward */
		rad_matmul_backward(dx + (size_t)r0 * c, dw, NULL, scratch, xc, w, n, c, v, 0);
	}
}
