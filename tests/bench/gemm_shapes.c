/* gemm_shapes.c — the matrix products of one training step of a model, each timed alone
 * on one thread: OpenBLAS's sgemm (when libopenblas.so.0 can be loaded; it picks its
 * kernel as OPENBLAS_CORETYPE says), and rad's engine (oneDNN) in fp32 and in bf16.
 *   gemm_shapes C W F G V N M   (dim, q/k/v width, MLP width, 1 for a gated MLP (SwiGLU:
 *                                up is 2F wide), vocabulary, tokens and completion rows
 *                                per step)
 * Prints one line per product: GFLOP/s of process CPU time, the best of a few runs, and
 * the kernel oneDNN chose; then the step's FLOP-weighted mean of each column. */
#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "nn/engine.h"

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
static sgemm_fn sgemm;

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct shape { const char *name; int ta, tb, m, n, k, beta; } shape;

/* way 0: OpenBLAS, 1: engine fp32, 2: engine bf16.  Best GFLOP/s of `reps` runs. */
static double run(int way, const shape *s, const void *a, const void *b, float *c, int reps)
{
	int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
	double best = 0;
	for (int r = 0; r <= reps; r++) {   /* run 0 warms up (and creates the primitive) */
		double t0 = cpu_now();
		if (way == 0)   /* CblasRowMajor = 101, NoTrans = 111, Trans = 112 */
			sgemm(101, s->ta ? 112 : 111, s->tb ? 112 : 111, s->m, s->n, s->k, 1.0f, a, lda, b, ldb,
			      (float)s->beta, c, s->n);
		else
			rad_gemm(way == 2 ? RAD_GEMM_BF16 : RAD_GEMM_F32, s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb,
			         NULL, (float)s->beta, c, s->n);
		double g = 2.0 * s->m * s->n * s->k / (cpu_now() - t0) / 1e9;
		if (r && g > best) best = g;
	}
	return best;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: gemm_shapes C W F G V N M\n");
		return 2;
	}
	int C = atoi(argv[1]), W = atoi(argv[2]), F = atoi(argv[3]), U = atoi(argv[4]) ? 2 * F : F, V = atoi(argv[5]);
	int N = atoi(argv[6]), M = atoi(argv[7]);
	omp_set_num_threads(1);
	void *blas = dlopen("libopenblas.so.0", RTLD_NOW);
	if (blas) {
		void (*set)(int) = (void (*)(int))dlsym(blas, "openblas_set_num_threads");
		if (set) set(1);
		sgemm = (sgemm_fn)dlsym(blas, "cblas_sgemm");
	}
	/* forward y = x W^T (NT), input gradient dx = dy W (NN), weight gradient dW += dy^T x (TN) */
	shape sh[] = {
		{"qkv forward", 0, 1, N, W, C, 0}, {"qkv dx", 0, 0, N, C, W, 0}, {"qkv dW", 1, 0, W, C, N, 1},
		{"out forward", 0, 1, N, C, C, 0}, {"out dx", 0, 0, N, C, C, 0}, {"out dW", 1, 0, C, C, N, 1},
		{"up forward", 0, 1, N, U, C, 0}, {"up dx", 0, 0, N, C, U, 0}, {"up dW", 1, 0, U, C, N, 1},
		{"down forward", 0, 1, N, C, F, 0}, {"down dx", 0, 0, N, F, C, 0}, {"down dW", 1, 0, C, F, N, 1},
		{"head forward", 0, 1, M, V, C, 0}, {"head dx", 0, 0, M, C, V, 0}, {"head dW", 1, 0, V, C, M, 1},
	};
	int ns = sizeof sh / sizeof *sh;
	size_t big = 0;
	for (int i = 0; i < ns; i++) {
		size_t a = (size_t)sh[i].m * sh[i].k, b = (size_t)sh[i].k * sh[i].n, c = (size_t)sh[i].m * sh[i].n;
		big = a > big ? a : big; big = b > big ? b : big; big = c > big ? c : big;
	}
	float *a = malloc(big * 4), *b = malloc(big * 4), *c = calloc(big, 4);
	rad_bf16 *ah = malloc(big * 2), *bh = malloc(big * 2);
	for (size_t i = 0; i < big; i++) { a[i] = (float)((i % 13) - 6) * 0.05f; b[i] = (float)((i % 7) - 3) * 0.05f; }
	rad_bf16_from_f32(ah, a, big);
	rad_bf16_from_f32(bh, b, big);
	printf("%-14s %6s %6s %6s | %9s %11s %11s | %s\n", "product", "M", "N", "K", "OpenBLAS", "oneDNN f32", "oneDNN bf16",
	       "oneDNN kernel (f32 / bf16)");
	double fl = 0, t[3] = {0};
	for (int i = 0; i < ns; i++) {
		const shape *s = &sh[i];
		double f = 2.0 * s->m * s->n * s->k, g[3];
		int reps = f > 2e10 ? 2 : 4;
		g[0] = sgemm ? run(0, s, a, b, c, reps) : 0;
		g[1] = run(1, s, a, b, c, reps);
		g[2] = run(2, s, ah, bh, c, reps);
		fl += f;
		for (int w = 0; w < 3; w++) t[w] += g[w] > 0 ? f / g[w] : 0;
		char ob[16] = "-";
		if (sgemm) snprintf(ob, sizeof ob, "%.0f", g[0]);
		printf("%-14s %6d %6d %6d | %9s %11.0f %11.0f | %s / %s\n", s->name, s->m, s->n, s->k, ob, g[1], g[2],
		       rad_gemm_impl(RAD_GEMM_F32, s->ta, s->tb, s->m, s->n, s->k), rad_gemm_impl(RAD_GEMM_BF16, s->ta, s->tb, s->m, s->n, s->k));
	}
	char ob[16] = "-";
	if (sgemm) snprintf(ob, sizeof ob, "%.0f", fl / t[0]);
	printf("%-14s %6s %6s %6s | %9s %11.0f %11.0f |\n", "whole step", "", "", "", ob, fl / t[1], fl / t[2]);
	free(a); free(b); free(c); free(ah); free(bh);
	return 0;
}
