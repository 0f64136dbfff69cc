/* ceiling.c — this core's arithmetic ceilings, measured with loops that touch no memory:
 * fp32 FMA on 512-bit registers (vfmadd231ps zmm; 256-bit ymm where AVX-512 is absent)
 * and bf16 dot products (vdpbf16ps zmm: 16 lanes x 2 products and 2 sums = 64 FLOP).
 * Sixteen independent accumulators hide the instructions' latency.  One thread, process
 * CPU time, the best of several runs.  Prints one JSON line:
 *   {"fp32": GFLOP/s, "bf16": GFLOP/s or null, "fp32_isa": "...", "bf16_isa": "..."} */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

#define REP16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

/* A probe: sixteen accumulators of vector type VT, each updated by STEP(acc) `iters`
 * times; returns the FLOPs done (FLOP per step and lane x lanes).  `sink` keeps the
 * results alive. */
static volatile float sink;
#define PROBE(NAME, TARGET, VT, LANES, FLOP, STEP)                                        \
	__attribute__((target(TARGET))) static double NAME(long iters)                     \
	{                                                                                  \
		REP16(DECL_##VT)                                                           \
		for (long it = 0; it < iters; it++) {                                      \
			REP16(STEP)                                                        \
			__asm__ volatile("" ::: "memory");                                 \
		}                                                                          \
		float f[LANES];                                                            \
		REP16(SUM_##VT)                                                            \
		return (double)iters * 16 * LANES * FLOP;                                  \
	}
#define DECL___m512(i) __m512 a##i = _mm512_set1_ps((float)(i));
#define DECL___m256(i) __m256 a##i = _mm256_set1_ps((float)(i));
#define SUM___m512(i) _mm512_storeu_ps(f, a##i); sink += f[0];
#define SUM___m256(i) _mm256_storeu_ps(f, a##i); sink += f[0];

/* a = a * b + c: 2 FLOP a lane */
#define FMA512(i) a##i = _mm512_fmadd_ps(a##i, _mm512_set1_ps(0.999f), _mm512_set1_ps(1e-3f));
#define FMA256(i) a##i = _mm256_fmadd_ps(a##i, _mm256_set1_ps(0.999f), _mm256_set1_ps(1e-3f));
/* a += b0 c0 + b1 c1 over bf16 pairs: 4 FLOP a lane */
#define DPBF16(i) a##i = _mm512_dpbf16_ps(a##i, (__m512bh)_mm512_set1_epi16(0x3f80), (__m512bh)_mm512_set1_epi16(0x3a83));
PROBE(fma_zmm, "avx512f", __m512, 16, 2, FMA512)
PROBE(fma_ymm, "avx2,fma", __m256, 8, 2, FMA256)
PROBE(dpbf16_zmm, "avx512f,avx512bf16", __m512, 16, 4, DPBF16)

/* Best GFLOP/s of 5 runs of about 0.1 s each. */
static double best(double (*f)(long))
{
	long iters = 1000;
	double g = 0;
	for (;;) {   /* grow until a run takes 0.1 s */
		double t0 = cpu_now(), fl = f(iters), t = cpu_now() - t0;
		if (t > 0.1) { g = fl / t / 1e9; break; }
		iters *= 4;
	}
	for (int r = 0; r < 4; r++) {
		double t0 = cpu_now(), fl = f(iters), t = cpu_now() - t0;
		if (fl / t / 1e9 > g) g = fl / t / 1e9;
	}
	return g;
}

int main(void)
{
	__builtin_cpu_init();
	int z = __builtin_cpu_supports("avx512f"), y = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	int bf = z && __builtin_cpu_supports("avx512bf16");
	double f32 = z ? best(fma_zmm) : y ? best(fma_ymm) : 0;
	printf("{\"fp32\": %.1f, \"fp32_isa\": \"%s\", ", f32, z ? "vfmadd231ps zmm" : y ? "vfmadd231ps ymm" : "none");
	if (bf) printf("\"bf16\": %.1f, \"bf16_isa\": \"vdpbf16ps zmm\"}\n", best(dpbf16_zmm));
	else printf("\"bf16\": null, \"bf16_isa\": \"none\"}\n");
	return 0;
}
