/* nn/attention.c — causal attention inside each sequence of a flat token list, forward
 * and backward, in tiles (FlashAttention's scheme), so that no [L, L] matrix is ever
 * held: memory grows with the number of tokens, not with its square.
 *
 * Sequence s is tokens off..off+L-1; query head h reads key/value head kh = h / (H/G);
 * Q, K, V, O are that head's [L, D] slices.  Rows go by tiles of QT queries, keys by
 * blocks of KT; the block holding the diagonal is masked (key c > query r is out).
 * forward, for each query tile i, over the key blocks j up to the tile's last row:
 *   S = scale Q_i K_j^T                                    [QT, KT]
 *   m' = max(m, rowmax S);  P = exp(S - m');  l = l e^(m - m') + rowsum P
 *   O_i = O_i e^(m - m') + P V_j                          (online softmax)
 * then O_i /= l, and only lse = m + log l (one float per row and head) is saved.
 * backward, for each query tile i: Dr = rowsum(dO_i * O_i), and over the key blocks j:
 *   P = exp(scale Q_i K_j^T - lse_i)                       (recomputed)
 *   dV_j += P^T dO_i;  dP = dO_i V_j^T;  dS = P (dP - Dr)
 *   dQ_i += scale dS K_j;  dK_j += scale dS^T Q_i
 * Jobs are (sequence, query head) pairs, one per OpenMP iteration; the products inside
 * a job go through the engine on the job's thread, so every sum is done in the same
 * order whatever the number of threads.  With grouped-query attention each query head's
 * share of dK and dV goes to its own rows of `work`, summed over the group in head order
 * afterwards.  In bf16 compute the job's Q, K, V (and dO) and each tile's P (and dS)
 * enter the products as bf16; scores, softmax and sums stay fp32. */
#include <math.h>
#include <omp.h>
#include <string.h>
#include "nn/engine.h"
#include "nn/layers.h"
#include "nn/vmath.h"

#define QT 128   /* query rows per tile */
#define KT 256   /* keys per block */

/* A product of one tile: a full tile's shapes recur, so it gets its own primitive; the
 * edges of a sequence (lengths vary) share one whose sizes are given when it runs. */
static void tile_gemm(int full, int dt, int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda,
                      const void *b, int ldb, float beta, float *c, int ldc)
{
	if (full) rad_gemm(dt, ta, tb, m, n, k, alpha, a, lda, b, ldb, NULL, beta, c, ldc);
	else rad_gemm_any(dt, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* One head's operands as the products read them: the fp32 rows of qkv (and dout), or
 * bf16 copies made for the job. */
typedef struct head {
	int dt;
	const void *q, *k, *v, *dO;
	int ldq, ldk, ldv, ldo;       /* in elements */
	size_t es;                    /* bytes per element */
	rad_bf16 *tiles;              /* bf16: room for two [QT, KT] tiles */
} head;

static const void *row_at(const void *p, int r, int ld, size_t es)
{
	return (const char *)p + (size_t)r * ld * es;
}

/* The head's operands for sequence (base rows of qkv and dout, L of them). */
static void head_get(head *hd, int bf16, const float *base, const float *dO, int L, int w, int hdim, int qcol,
                     int kcol, int vcol, int d)
{
	if (!bf16) {
		*hd = (head){RAD_GEMM_F32, base + qcol, base + kcol, base + vcol, dO, w, w, w, hdim, sizeof(float), NULL};
		return;
	}
	size_t n = (size_t)L * d;
	rad_bf16 *h = rad_engine_scratch(2, (4 * n + (size_t)2 * QT * KT) * sizeof *h);
	rad_bf16_from_f32_rows(h, d, base + qcol, w, L, d);
	rad_bf16_from_f32_rows(h + n, d, base + kcol, w, L, d);
	rad_bf16_from_f32_rows(h + 2 * n, d, base + vcol, w, L, d);
	if (dO) rad_bf16_from_f32_rows(h + 3 * n, d, dO, hdim, L, d);
	*hd = (head){RAD_GEMM_BF16, h, h + n, h + 2 * n, h + 3 * n, d, d, d, d, sizeof(rad_bf16), h + 4 * n};
}

/* Tile t [nq, nk] (leading dimension KT) as a product operand: itself, or its bf16 copy
 * in the head's tile buffer `which` (0 or 1). */
static const void *tile_operand(const head *hd, const float *t, int which, int nq, int nk)
{
	if (hd->dt == RAD_GEMM_F32) return t;
	rad_bf16 *th = hd->tiles + (size_t)which * QT * KT;
	rad_bf16_from_f32_rows(th, KT, t, KT, nq, nk);
	return th;
}

static void forward_job(float *out, float *lse, const float *qkv, int off, int L, int hh, int h, int g, int d,
                        int bf16)
{
	int w = (h + 2 * g) * d, hdim = h * d, kh = hh / (h / g);
	float scale = 1.0f / sqrtf((float)d);
	head hd;
	head_get(&hd, bf16, qkv + (size_t)off * w, NULL, L, w, hdim, hh * d, (h + kh) * d, (h + g + kh) * d, d);
	float *S = rad_engine_scratch(3, ((size_t)QT * KT + 2 * QT) * sizeof(float));
	float *mx = S + (size_t)QT * KT, *sum = mx + QT;
	float *o = out + (size_t)off * hdim + (size_t)hh * d;
	for (int r0 = 0; r0 < L; r0 += QT) {
		int nq = L - r0 < QT ? L - r0 : QT, r1 = r0 + nq;
		for (int i = 0; i < nq; i++) { mx[i] = -INFINITY; sum[i] = 0; }
		for (int c0 = 0; c0 < r1; c0 += KT) {
			int nk = r1 - c0 < KT ? r1 - c0 : KT, full = nq == QT && nk % QT == 0;
			/* S[nq, nk] = scale Q[r0:r1] K[c0:c1]^T */
			tile_gemm(full, hd.dt, 0, 1, nq, nk, d, scale, row_at(hd.q, r0, hd.ldq, hd.es), hd.ldq,
			          row_at(hd.k, c0, hd.ldk, hd.es), hd.ldk, 0.0f, S, KT);
			for (int i = 0; i < nq; i++) {
				float *sr = S + (size_t)i * KT;
				int jn = r0 + i - c0 + 1;   /* keys c0 .. r0 + i are visible to row r0 + i */
				if (jn > nk) jn = nk;
				float m = mx[i];
				for (int j = 0; j < jn; j++) m = sr[j] > m ? sr[j] : m;
				float s = 0;
				#pragma omp simd reduction(+:s)
				for (int j = 0; j < jn; j++) { sr[j] = rad_expf(sr[j] - m); s += sr[j]; }
				for (int j = jn > 0 ? jn : 0; j < nk; j++) sr[j] = 0.0f;
				if (c0 > 0) {   /* rescale what the earlier blocks summed */
					float corr = rad_expf(mx[i] - m), *orow = o + (size_t)(r0 + i) * hdim;
					sum[i] *= corr;
					#pragma omp simd
					for (int e = 0; e < d; e++) orow[e] *= corr;
				}
				sum[i] += s;
				mx[i] = m;
			}
			/* O[r0:r1] (+)= P V[c0:c1] */
			tile_gemm(full, hd.dt, 0, 0, nq, d, nk, 1.0f, tile_operand(&hd, S, 0, nq, nk), KT,
			          row_at(hd.v, c0, hd.ldv, hd.es), hd.ldv, c0 > 0 ? 1.0f : 0.0f, o + (size_t)r0 * hdim, hdim);
		}
		for (int i = 0; i < nq; i++) {
			float inv = 1.0f / sum[i], *orow = o + (size_t)(r0 + i) * hdim;
			#pragma omp simd
			for (int e = 0; e < d; e++) orow[e] *= inv;
			lse[(size_t)(off + r0 + i) * h + hh] = mx[i] + logf(sum[i]);
		}
	}
}

void rad_attention_forward(float *out, float *lse, const float *qkv, const int *off, const int *len, int nseq, int h,
                           int g, int d, int bf16)
{
	#pragma omp parallel for schedule(dynamic, 1)
	for (int job = 0; job < nseq * h; job++) {
		int s = job / h, hh = job % h;
		if (len[s] > 0) forward_job(out, lse, qkv, off[s], len[s], hh, h, g, d, bf16);
	}
}

size_t rad_attention_work_size(int n, int h, int g, int d)
{
	return g == h ? 0 : (size_t)n * h * 2 * d;
}

static void zero_rows(float *p, int rows, int cols, int ld)
{
	for (int r = 0; r < rows; r++) memset(p + (size_t)r * ld, 0, sizeof(float) * cols);
}

static void backward_job(float *dqkv, float *work, const float *dout, const float *out, const float *qkv,
                         const float *lse, int off, int L, int hh, int h, int g, int d, int bf16)
{
	int w = (h + 2 * g) * d, hdim = h * d, kh = hh / (h / g);
	float scale = 1.0f / sqrtf((float)d);
	const float *dO = dout + (size_t)off * hdim + (size_t)hh * d, *o = out + (size_t)off * hdim + (size_t)hh * d;
	head hd;
	head_get(&hd, bf16, qkv + (size_t)off * w, dO, L, w, hdim, hh * d, (h + kh) * d, (h + g + kh) * d, d);
	float *S = rad_engine_scratch(3, ((size_t)2 * QT * KT + QT) * sizeof(float));
	float *dP = S + (size_t)QT * KT, *dr = dP + (size_t)QT * KT;
	/* where this head's dQ, dK, dV go: dK, dV straight into dqkv when the head has its
	 * own key/value head, else into its rows of work */
	float *dq = dqkv + (size_t)off * w + (size_t)hh * d, *dk, *dv;
	int ldkv;
	if (g == h) {
		dk = dqkv + (size_t)off * w + (size_t)(h + kh) * d;
		dv = dqkv + (size_t)off * w + (size_t)(h + g + kh) * d;
		ldkv = w;
	} else {
		dk = work + ((size_t)off * h + hh) * 2 * d;
		dv = dk + d;
		ldkv = 2 * h * d;
	}
	zero_rows(dq, L, d, w);
	zero_rows(dk, L, d, ldkv);
	zero_rows(dv, L, d, ldkv);
	for (int r0 = 0; r0 < L; r0 += QT) {
		int nq = L - r0 < QT ? L - r0 : QT, r1 = r0 + nq;
		for (int i = 0; i < nq; i++) {
			const float *a = dO + (size_t)(r0 + i) * hdim, *b = o + (size_t)(r0 + i) * hdim;
			float s = 0;
			#pragma omp simd reduction(+:s)
			for (int e = 0; e < d; e++) s += a[e] * b[e];
			dr[i] = s;
		}
		const void *qi = row_at(hd.q, r0, hd.ldq, hd.es), *doi = row_at(hd.dO, r0, hd.ldo, hd.es);
		for (int c0 = 0; c0 < r1; c0 += KT) {
			int nk = r1 - c0 < KT ? r1 - c0 : KT, full = nq == QT && nk % QT == 0;
			const void *kj = row_at(hd.k, c0, hd.ldk, hd.es), *vj = row_at(hd.v, c0, hd.ldv, hd.es);
			/* P = exp(scale Q_i K_j^T - lse), masked */
			tile_gemm(full, hd.dt, 0, 1, nq, nk, d, scale, qi, hd.ldq, kj, hd.ldk, 0.0f, S, KT);
			for (int i = 0; i < nq; i++) {
				float *sr = S + (size_t)i * KT, l = lse[(size_t)(off + r0 + i) * h + hh];
				int jn = r0 + i - c0 + 1;
				if (jn > nk) jn = nk;
				#pragma omp simd
				for (int j = 0; j < jn; j++) sr[j] = rad_expf(sr[j] - l);
				for (int j = jn > 0 ? jn : 0; j < nk; j++) sr[j] = 0.0f;
			}
			const void *p = tile_operand(&hd, S, 0, nq, nk);
			/* dV_j[nk, D] += P^T dO_i;  dP[nq, nk] = dO_i V_j^T */
			tile_gemm(full, hd.dt, 1, 0, nk, d, nq, 1.0f, p, KT, doi, hd.ldo, 1.0f, dv + (size_t)c0 * ldkv, ldkv);
			tile_gemm(full, hd.dt, 0, 1, nq, nk, d, 1.0f, doi, hd.ldo, vj, hd.ldv, 0.0f, dP, KT);
			/* dS = P (dP - Dr), into dP */
			for (int i = 0; i < nq; i++) {
				float *pr = S + (size_t)i * KT, *gr = dP + (size_t)i * KT, di = dr[i];
				#pragma omp simd
				for (int j = 0; j < nk; j++) gr[j] = pr[j] * (gr[j] - di);
			}
			const void *ds = tile_operand(&hd, dP, 1, nq, nk);
			/* dQ_i += scale dS K_j;  dK_j += scale dS^T Q_i */
			tile_gemm(full, hd.dt, 0, 0, nq, d, nk, scale, ds, KT, kj, hd.ldk, 1.0f, dq + (size_t)r0 * w, w);
			tile_gemm(full, hd.dt, 1, 0, nk, d, nq, scale, ds, KT, qi, hd.ldq, 1.0f, dk + (size_t)c0 * ldkv, ldkv);
		}
	}
}

void rad_attention_backward(float *dqkv, float *work, const float *dout, const float *out, const float *qkv,
                            const float *lse, const int *off, const int *len, int nseq, int h, int g, int d, int bf16)
{
	#pragma omp parallel for schedule(dynamic, 1)
	for (int job = 0; job < nseq * h; job++) {
		int s = job / h, hh = job % h;
		if (len[s] > 0) backward_job(dqkv, work, dout, out, qkv, lse, off[s], len[s], hh, h, g, d, bf16);
	}
	if (g == h) return;
	/* dK, dV of each key/value head: its query heads' shares, summed in head order */
	int w = (h + 2 * g) * d, grp = h / g;
	#pragma omp parallel for schedule(dynamic, 1)
	for (int s = 0; s < nseq; s++)
	for (int t = off[s]; t < off[s] + len[s]; t++) {
		const float *wt = work + (size_t)t * h * 2 * d;
		float *row = dqkv + (size_t)t * w;
		for (int kh = 0; kh < g; kh++) {
			float *dk = row + (size_t)(h + kh) * d, *dv = row + (size_t)(h + g + kh) * d;
			memset(dk, 0, sizeof(float) * d);
			memset(dv, 0, sizeof(float) * d);
			for (int hh = kh * grp; hh < (kh + 1) * grp; hh++) {
				const float *pk = wt + (size_t)hh * 2 * d, *pv = pk + d;
				#pragma omp simd
				for (int e = 0; e < d; e++) { dk[e] += pk[e]; dv[e] += pv[e]; }
			}
		}
	}
}
