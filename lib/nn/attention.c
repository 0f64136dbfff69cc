/* nn/attention.c — causal attention inside each sequence of a flat token list, forward
 * and backward, one (sequence, key/value head) per OpenMP iteration, products by sgemm.
 *
 * For sequence s (tokens off..off+L-1) and query head h (key/value head kh = h/(H/G)):
 *   A = softmax(scale Q K^T + causal mask)   [L, L]   (saved for the backward)
 *   O = A V                                   [L, D]
 * backward:  dA = dO V^T;  dV += A^T dO;  dS = A (dA - rowsum(dA A));
 *            dQ = scale dS K;  dK += scale dS^T Q
 * The masked half of A is stored as zeros, so the full-size products stay exact. */
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "nn/layers.h"
#include "nn/vmath.h"

void openblas_set_num_threads(int);
int openblas_get_num_threads(void);

size_t rad_attention_att_size(const int *len, int nseq, int h)
{
	size_t n = 0;
	for (int s = 0; s < nseq; s++) n += (size_t)h * len[s] * len[s];
	return n;
}

/* Offsets of each sequence's block in att, computed the same way forward and backward. */
static size_t att_base(const int *len, int s, int h)
{
	size_t n = 0;
	for (int i = 0; i < s; i++) n += (size_t)h * len[i] * len[i];
	return n;
}

void rad_attention_forward(float *out, float *att, const float *qkv, const int *off, const int *len,
                           int nseq, int h, int g, int d)
{
	int w = (h + 2 * g) * d, hd = h * d, grp = h / g;
	float scale = 1.0f / sqrtf((float)d);
	int nt = openblas_get_num_threads();
	openblas_set_num_threads(1);
	#pragma omp parallel for schedule(dynamic, 1)
	for (int job = 0; job < nseq * g; job++) {
		int s = job / g, kh = job % g, L = len[s];
		if (L == 0) continue;
		const float *base = qkv + (size_t)off[s] * w;
		const float *k = base + (size_t)(h + kh) * d, *v = base + (size_t)(h + g + kh) * d;
		for (int hh = kh * grp; hh < (kh + 1) * grp; hh++) {
			float *a = att + att_base(len, s, h) + (size_t)hh * L * L;
			const float *q = base + (size_t)hh * d;
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, d, scale, q, w, k, w, 0.0f, a, L);
			for (int i = 0; i < L; i++) {
				float *r = a + (size_t)i * L;
				float mx = r[0];
				for (int j = 1; j <= i; j++) mx = r[j] > mx ? r[j] : mx;
				float sum = 0;
				#pragma omp simd reduction(+:sum)
				for (int j = 0; j <= i; j++) { r[j] = rad_expf(r[j] - mx); sum += r[j]; }
				float inv = 1.0f / sum;
				for (int j = 0; j <= i; j++) r[j] *= inv;
				for (int j = i + 1; j < L; j++) r[j] = 0.0f;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, d, L, 1.0f, a, L, v, w, 0.0f,
			            out + (size_t)off[s] * hd + (size_t)hh * d, hd);
		}
	}
	openblas_set_num_threads(nt);
}

void rad_attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                            const float *att, const int *off, const int *len, int nseq, int h,
                            int g, int d)
{
	int w = (h + 2 * g) * d, hd = h * d, grp = h / g;
	float scale = 1.0f / sqrtf((float)d);
	int nt = openblas_get_num_threads();
	openblas_set_num_threads(1);
	#pragma omp parallel for schedule(dynamic, 1)
	for (int job = 0; job < nseq * g; job++) {
		int s = job / g, kh = job % g, L = len[s];
		if (L == 0) continue;
		const float *base = qkv + (size_t)off[s] * w;
		float *dbase = dqkv + (size_t)off[s] * w;
		const float *k = base + (size_t)(h + kh) * d, *v = base + (size_t)(h + g + kh) * d;
		float *dk = dbase + (size_t)(h + kh) * d, *dv = dbase + (size_t)(h + g + kh) * d;
		for (int i = 0; i < L; i++) {
			memset(dk + (size_t)i * w, 0, sizeof(float) * d);
			memset(dv + (size_t)i * w, 0, sizeof(float) * d);
		}
		for (int hh = kh * grp; hh < (kh + 1) * grp; hh++) {
			size_t ab = att_base(len, s, h) + (size_t)hh * L * L;
			const float *a = att + ab;
			float *da = datt + ab;
			const float *q = base + (size_t)hh * d;
			const float *dO = dout + (size_t)off[s] * hd + (size_t)hh * d;
			/* dA = dO V^T */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, d, 1.0f, dO, hd, v, w, 0.0f, da, L);
			/* dV += A^T dO */
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, d, L, 1.0f, a, L, dO, hd, 1.0f, dv, w);
			for (int i = 0; i < L; i++) {
				float *dr = da + (size_t)i * L;
				const float *ar = a + (size_t)i * L;
				float dot = 0;
				#pragma omp simd reduction(+:dot)
				for (int j = 0; j <= i; j++) dot += dr[j] * ar[j];
				for (int j = 0; j <= i; j++) dr[j] = ar[j] * (dr[j] - dot);
				for (int j = i + 1; j < L; j++) dr[j] = 0.0f;
			}
			/* dQ = scale dS K ; dK += scale dS^T Q */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, d, L, scale, da, L, k, w, 0.0f,
			            dbase + (size_t)hh * d, w);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, d, L, scale, da, L, q, w, 1.0f, dk, w);
		}
	}
	openblas_set_num_threads(nt);
}
