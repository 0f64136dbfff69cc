/* nn/engine.c — matrix products through oneDNN matmul primitives (engine.h).
 *
 * A product is named by its key (types, transposes, sizes, leading dimensions, alpha,
 * beta, bias, threads); the primitive of a key is created once and kept in a table.
 * Memory objects are made per call around the caller's pointers (about a microsecond),
 * and oneDNN's temporary space comes from a buffer of the calling thread (user
 * scratchpad), so one primitive can run on several threads at once. */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "nn/engine.h"

int rad_compute_parse(const char *s)
{
	if (!strcmp(s, "fp32")) return RAD_COMPUTE_F32;
	if (!strcmp(s, "bf16")) return RAD_COMPUTE_BF16;
	return -1;
}

const char *rad_compute_name(int compute)
{
	return compute == RAD_COMPUTE_BF16 ? "bf16" : "fp32";
}

/* ---- bf16 conversion --------------------------------------------------------------- */

static inline rad_bf16 bf16_of(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	uint32_t nan = (u & 0x7fffffffu) > 0x7f800000u;
	uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;   /* nearest, ties to even */
	return (rad_bf16)(nan ? (u >> 16) | 0x40u : r);          /* a NaN stays a (quiet) NaN */
}

static void rows_to_bf16(rad_bf16 *dst, int ldd, const float *src, int lds, int i0, int i1, int c)
{
	for (int i = i0; i < i1; i++) {
		const float *s = src + (size_t)i * lds;
		rad_bf16 *d = dst + (size_t)i * ldd;
		#pragma omp simd
		for (int j = 0; j < c; j++) d[j] = bf16_of(s[j]);
	}
}

/* Big conversions are shared among the threads; small ones, and any inside a parallel
 * region, stay on the calling thread (not even an if(0) region: libgomp pays for those). */
#define SHARE_MIN (1u << 16)

void rad_bf16_from_f32_rows(rad_bf16 *dst, int ldd, const float *src, int lds, int r, int c)
{
	if ((size_t)r * c < SHARE_MIN || omp_in_parallel() || omp_get_max_threads() == 1) {
		rows_to_bf16(dst, ldd, src, lds, 0, r, c);
		return;
	}
	#pragma omp parallel for schedule(static)
	for (int i = 0; i < r; i++) rows_to_bf16(dst, ldd, src, lds, i, i + 1, c);
}

void rad_bf16_from_f32(rad_bf16 *dst, const float *src, size_t n)
{
	if (n < SHARE_MIN || omp_in_parallel() || omp_get_max_threads() == 1) {
		#pragma omp simd
		for (size_t i = 0; i < n; i++) dst[i] = bf16_of(src[i]);
		return;
	}
	#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++) dst[i] = bf16_of(src[i]);
}

void rad_f32_from_bf16(float *dst, const rad_bf16 *src, size_t n)
{
	#pragma omp simd
	for (size_t i = 0; i < n; i++) {
		uint32_t u = (uint32_t)src[i] << 16;
		memcpy(dst + i, &u, 4);
	}
}

/* ---- per-thread buffers ------------------------------------------------------------ */

#define NSLOTS 5                      /* 0..3 for callers, 4 for oneDNN's scratchpad */
static __thread struct { void *p; size_t cap; } slots[NSLOTS];

static void *slot_get(int s, size_t bytes)
{
	if (bytes > slots[s].cap) {
		free(slots[s].p);
		size_t cap = bytes + bytes / 4 + 64;
		slots[s].p = aligned_alloc(64, (cap + 63) & ~(size_t)63);
		if (!slots[s].p) rad_die(RAD_EXIT_DATA, NULL, "out of memory (%zu bytes of scratch)", cap);
		slots[s].cap = cap;
	}
	return slots[s].p;
}

void *rad_engine_scratch(int slot, size_t bytes)
{
	if (slot < 0 || slot > 3) abort();
	return slot_get(slot, bytes);
}

/* ---- the primitive table ------------------------------------------------------------ */

typedef struct key {
	int dt, ta, tb, bias, beta, nthr, any;   /* any: sizes given at run time (all -1 here) */
	int m, n, k, lda, ldb, ldc;
	uint32_t alpha;
} key;

typedef struct entry {
	key k;
	dnnl_primitive_t prim;            /* NULL: oneDNN has no kernel for this product */
	dnnl_memory_desc_t a, b, c, bias, scratch;
	size_t scratch_bytes;
	char impl[48];
} entry;

static dnnl_engine_t eng;
static entry **table;                 /* open addressing, cap a power of two */
static size_t cap, count;
#define TABLE_MAX 1024                /* more shapes than this: start over (outside parallel regions) */

static uint64_t key_hash(const key *k)
{
	return rad_hash64(k, sizeof *k, RAD_HASH_SEED);
}

static void check(dnnl_status_t s, const char *what)
{
	if (s != dnnl_success) rad_die(RAD_EXIT_DATA, NULL, "oneDNN: %s failed (status %d)", what, (int)s);
}

static void table_clear(void)
{
	for (size_t i = 0; i < cap; i++)
		if (table[i]) {
			if (table[i]->prim) dnnl_primitive_destroy(table[i]->prim);
			free(table[i]);
			table[i] = NULL;
		}
	count = 0;
}

static void table_put(entry *e)
{
	if (2 * (count + 1) > cap) {
		size_t ncap = cap ? 2 * cap : 256;
		entry **nt = rad_calloc(ncap, sizeof *nt);
		for (size_t i = 0; i < cap; i++)
			if (table[i]) {
				size_t j = key_hash(&table[i]->k) & (ncap - 1);
				while (nt[j]) j = (j + 1) & (ncap - 1);
				nt[j] = table[i];
			}
		free(table);
		table = nt;
		cap = ncap;
	}
	size_t j = key_hash(&e->k) & (cap - 1);
	while (table[j]) j = (j + 1) & (cap - 1);
	table[j] = e;
	count++;
}

static entry *table_get(const key *k)
{
	if (!cap) return NULL;
	size_t j = key_hash(k) & (cap - 1);
	for (; table[j]; j = (j + 1) & (cap - 1))
		if (!memcmp(&table[j]->k, k, sizeof *k)) return table[j];
	return NULL;
}

/* The matrix [r, c] (logical), stored transposed or not with leading dimension ld
 * (-1: given at run time). */
static void md_init(dnnl_memory_desc_t *md, int r, int c, int trans, int ld, dnnl_data_type_t dt)
{
	dnnl_dim_t R = r < 0 ? DNNL_RUNTIME_DIM_VAL : r, C = c < 0 ? DNNL_RUNTIME_DIM_VAL : c;
	dnnl_dim_t LD = ld < 0 ? DNNL_RUNTIME_DIM_VAL : ld;
	dnnl_dims_t dims = {R, C}, strides = {trans ? 1 : LD, trans ? LD : 1};
	check(dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides), "memory descriptor");
}

static entry *create(const key *k, float alpha)
{
	entry *e = rad_calloc(1, sizeof *e);
	e->k = *k;
	dnnl_data_type_t dt = k->dt == RAD_GEMM_BF16 ? dnnl_bf16 : dnnl_f32;
	md_init(&e->a, k->m, k->k, k->ta, k->lda, dt);
	md_init(&e->b, k->k, k->n, k->tb, k->ldb, dt);
	md_init(&e->c, k->m, k->n, 0, k->ldc, dnnl_f32);
	if (k->bias) md_init(&e->bias, 1, k->n, 0, k->n, dnnl_f32);
	dnnl_matmul_desc_t d;
	check(dnnl_matmul_desc_init(&d, &e->a, &e->b, k->bias ? &e->bias : NULL, &e->c), "matmul descriptor");
	dnnl_primitive_attr_t attr;
	check(dnnl_primitive_attr_create(&attr), "attributes");
	check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
	if (alpha != 1.0f) check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "output scale");
	if (k->beta) {
		dnnl_post_ops_t po;
		check(dnnl_post_ops_create(&po), "post-ops");
		check(dnnl_post_ops_append_sum(po, 1.0f), "sum post-op");
		check(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops");
		dnnl_post_ops_destroy(po);
	}
	/* inside a parallel region the primitive is made for the one thread that runs it:
	 * oneDNN sizes its work split by omp_get_max_threads() of the creating thread */
	int save = omp_get_max_threads();
	if (k->nthr != save) omp_set_num_threads(k->nthr);
	dnnl_primitive_desc_t pd;
	dnnl_status_t s = dnnl_primitive_desc_create(&pd, &d, attr, eng, NULL);
	dnnl_primitive_attr_destroy(attr);
	if (s == dnnl_success) {
		const char *impl = "";
		dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
		snprintf(e->impl, sizeof e->impl, "%s", impl ? impl : "");
		const dnnl_memory_desc_t *sm = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
		if (sm) e->scratch = *sm;
		e->scratch_bytes = sm ? dnnl_memory_desc_get_size(sm) : 0;
		if (e->scratch_bytes == DNNL_RUNTIME_SIZE_VAL) rad_die(RAD_EXIT_DATA, NULL, "oneDNN: scratchpad of unknown size");
		check(dnnl_primitive_create(&e->prim, pd), "primitive");
		dnnl_primitive_desc_destroy(pd);
	} else if (s != dnnl_unimplemented || k->dt != RAD_GEMM_BF16) {
		check(s, "matmul primitive");
	}
	if (k->nthr != save) omp_set_num_threads(save);
	return e;
}

static entry *lookup(const key *k, float alpha)
{
	entry *e;
	#pragma omp critical(rad_engine)
	{
		if (!eng) check(dnnl_engine_create(&eng, dnnl_cpu, 0), "CPU engine");
		e = table_get(k);
		if (!e) {
			if (count >= TABLE_MAX && !omp_in_parallel()) table_clear();
			e = create(k, alpha);
			table_put(e);
		}
	}
	return e;
}

/* The key of a product; with `any` its sizes and leading dimensions are left out (-1):
 * they come with each call. */
static void make_key(key *k, int any, int dt, int ta, int tb, int m, int n, int kk, float alpha, int lda, int ldb,
                     int bias, float beta, int ldc)
{
	memset(k, 0, sizeof *k);
	k->any = any;
	k->dt = dt; k->ta = ta; k->tb = tb; k->bias = bias; k->beta = beta != 0.0f;
	k->m = any ? -1 : m; k->n = any ? -1 : n; k->k = any ? -1 : kk;
	k->lda = any ? -1 : lda; k->ldb = any ? -1 : ldb; k->ldc = any ? -1 : ldc;
	memcpy(&k->alpha, &alpha, 4);
	k->nthr = omp_in_parallel() ? 1 : omp_get_max_threads();
}

static __thread dnnl_stream_t stream;

/* Runs e on the operands described by amd, bmd, cmd, biasmd (e's own, or fixed-size ones
 * for a primitive with sizes given at run time). */
static void run(const entry *e, const dnnl_memory_desc_t *amd, const dnnl_memory_desc_t *bmd,
                const dnnl_memory_desc_t *cmd, const dnnl_memory_desc_t *biasmd, const void *a, const void *b,
                const float *bias, float *c)
{
	if (!stream) check(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags), "stream");
	dnnl_memory_t ma, mb, mc, mbias = NULL, ms = NULL;
	check(dnnl_memory_create(&ma, amd, eng, (void *)a), "memory");
	check(dnnl_memory_create(&mb, bmd, eng, (void *)b), "memory");
	check(dnnl_memory_create(&mc, cmd, eng, c), "memory");
	dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
	int nargs = 3;
	if (bias) {
		check(dnnl_memory_create(&mbias, biasmd, eng, (void *)bias), "memory");
		args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mbias};
	}
	if (e->scratch_bytes) {
		check(dnnl_memory_create(&ms, &e->scratch, eng, slot_get(4, e->scratch_bytes)), "memory");
		args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, ms};
	}
	check(dnnl_primitive_execute(e->prim, stream, nargs, args), "matmul");
	dnnl_memory_destroy(ma);
	dnnl_memory_destroy(mb);
	dnnl_memory_destroy(mc);
	if (mbias) dnnl_memory_destroy(mbias);
	if (ms) dnnl_memory_destroy(ms);
}

static void widen_and_run(int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda, const void *b,
                          int ldb, const float *bias, float beta, float *c, int ldc);

/* The product through a primitive of fixed sizes, or (any) one whose sizes come with
 * each call. */
static void product(int any, int dt, int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda,
                    const void *b, int ldb, const float *bias, float beta, float *c, int ldc)
{
	if (m <= 0 || n <= 0) return;
	if (k <= 0) {   /* an empty sum: C = beta C + bias */
		for (int i = 0; i < m; i++)
			for (int j = 0; j < n; j++)
				c[(size_t)i * ldc + j] = (beta != 0.0f ? c[(size_t)i * ldc + j] : 0.0f) + (bias ? bias[j] : 0.0f);
		return;
	}
	if (bias && alpha != 1.0f) abort();   /* oneDNN would scale the bias too: not a rad product */
	key kk;
	make_key(&kk, any, dt, ta, tb, m, n, k, alpha, lda, ldb, bias != NULL, beta, ldc);
	entry *e = lookup(&kk, alpha);
	if (!e->prim) {   /* no bf16 kernel on this CPU: the same sums from the widened inputs */
		widen_and_run(ta, tb, m, n, k, alpha, a, lda, b, ldb, bias, beta, c, ldc);
		return;
	}
	if (!any) {
		run(e, &e->a, &e->b, &e->c, &e->bias, a, b, bias, c);
		return;
	}
	dnnl_data_type_t t = dt == RAD_GEMM_BF16 ? dnnl_bf16 : dnnl_f32;
	dnnl_memory_desc_t amd, bmd, cmd, biasmd;
	md_init(&amd, m, k, ta, lda, t);
	md_init(&bmd, k, n, tb, ldb, t);
	md_init(&cmd, m, n, 0, ldc, dnnl_f32);
	if (bias) md_init(&biasmd, 1, n, 0, n, dnnl_f32);
	run(e, &amd, &bmd, &cmd, &biasmd, a, b, bias, c);
}

/* Which primitive serves a product best, as measured on an AMD Zen 5 (one thread,
 * tests/bench/gemm_shapes.c and side-by-side runs of both): x W^T (the forward) on the
 * fixed-size brgemm kernels (fp32 1024x2304x768: 180 GFLOP/s against 110 for the other;
 * bf16 even), every other layout (dx = dy W, dW = dy^T x) on the gemm kernel whose sizes
 * come at run time (fp32 1024x768x3072 dy W: 187 against 133; the bf16 LM head's dW:
 * 321 against 236).  A fixed rule, not a timing taken at run time, so that a product
 * always takes the same kernel and gives the same bits. */
static int prefer_any(int ta, int tb)
{
	return ta || !tb;
}

void rad_gemm(int dt, int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda, const void *b,
              int ldb, const float *bias, float beta, float *c, int ldc)
{
	product(prefer_any(ta, tb), dt, ta, tb, m, n, k, alpha, a, lda, b, ldb, bias, beta, c, ldc);
}

void rad_gemm_any(int dt, int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda, const void *b,
                  int ldb, float beta, float *c, int ldc)
{
	product(1, dt, ta, tb, m, n, k, alpha, a, lda, b, ldb, NULL, beta, c, ldc);
}

static void widen_and_run(int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda, const void *b,
                          int ldb, const float *bias, float beta, float *c, int ldc)
{
	/* the elements a strided [rows, cols] matrix spans: (rows - 1) ld + cols */
	size_t na = (size_t)((ta ? k : m) - 1) * lda + (ta ? m : k), nb = (size_t)((tb ? n : k) - 1) * ldb + (tb ? k : n);
	float *fa = rad_malloc(na * 4 + 4), *fb = rad_malloc(nb * 4 + 4);
	rad_f32_from_bf16(fa, a, na);
	rad_f32_from_bf16(fb, b, nb);
	rad_gemm(RAD_GEMM_F32, ta, tb, m, n, k, alpha, fa, lda, fb, ldb, bias, beta, c, ldc);
	free(fa);
	free(fb);
}

const char *rad_gemm_impl(int dt, int ta, int tb, int m, int n, int k)
{
	key kk;
	make_key(&kk, prefer_any(ta, tb), dt, ta, tb, m, n, k, 1.0f, ta ? m : k, tb ? k : n, 0, 0.0f, n);
	return lookup(&kk, 1.0f)->impl;
}
