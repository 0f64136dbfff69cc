/* test_layers.c — each layer's backward against central finite differences of its forward,
 * and the tiled attention and the bf16 products against float64 references written here.
 * Objective: L = sum(r * y) for a fixed random r, so dL/dy = r. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "nn/layers.h"
#include "nn/vmath.h"
#include "base/rng.h"
#include "test.h"

static rad_rng R;

static float *rnd(size_t n, double sd)
{
	float *p = malloc(n * sizeof(float) + 4);
	for (size_t i = 0; i < n; i++) p[i] = (float)(sd * rad_rng_normal(&R));
	return p;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
	return s;
}

/* Compares analytic g[i] with the central difference of f at x[i] for a few i. */
typedef double (*objective)(void *ctx);
static int check(const char *what, float *x, const float *g, size_t n, objective f, void *ctx, double h)
{
	int bad = 0;
	size_t step = n > 40 ? n / 40 : 1;
	for (size_t i = 0; i < n; i += step) {
		float keep = x[i];
		x[i] = keep + (float)h;
		double fp = f(ctx);
		x[i] = keep - (float)h;
		double fm = f(ctx);
		x[i] = keep;
		double num = (fp - fm) / (2 * h), an = g[i];
		if (fabs(num - an) > 1e-2 * fmax(fabs(num), fabs(an)) + 1e-3) {
			if (!bad) test_fail_at(__FILE__, __LINE__, "%s[%zu]: analytic %.6g, numeric %.6g", what, i, an, num);
			bad++;
		}
	}
	return bad;
}

/* ---- linear ---- */
typedef struct { int n, in, out; float *x, *w, *b, *y, *r; } lin_ctx;
static double lin_f(void *p)
{
	lin_ctx *c = p;
	rad_matmul_forward(c->y, c->x, rad_weight_f32(c->w), c->b, c->n, c->in, c->out);
	return dot(c->y, c->r, (size_t)c->n * c->out);
}
static void test_matmul(void)
{
	lin_ctx c = {.n = 5, .in = 7, .out = 6};
	c.x = rnd(35, 1); c.w = rnd(42, 1); c.b = rnd(6, 1); c.y = rnd(30, 1); c.r = rnd(30, 1);
	float *dx = calloc(35, 4), *dw = calloc(42, 4), *db = calloc(6, 4);
	lin_f(&c);
	rad_matmul_backward(dx, dw, db, c.r, c.x, rad_weight_f32(c.w), c.n, c.in, c.out, 0);
	check("dx", c.x, dx, 35, lin_f, &c, 1e-2);
	check("dw", c.w, dw, 42, lin_f, &c, 1e-2);
	check("db", c.b, db, 6, lin_f, &c, 1e-2);
	/* accumulate mode adds */
	float *dx2 = calloc(35, 4);
	for (int i = 0; i < 35; i++) dx2[i] = 1.0f;
	rad_matmul_backward(dx2, NULL, NULL, c.r, c.x, rad_weight_f32(c.w), c.n, c.in, c.out, 1);
	EXPECT_NEAR(dx2[3], dx[3] + 1.0, 1e-5);
	free(c.x); free(c.w); free(c.b); free(c.y); free(c.r); free(dx); free(dw); free(db); free(dx2);
}

/* bf16 rounding written independently of the engine's: the nearest bf16 value, ties to
 * the even one, found by comparing the two candidates in double. */
static double bf16_ref(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
	float a, b;
	memcpy(&a, &lo, 4);
	memcpy(&b, &hi, 4);
	double da = fabs((double)f - a), db = fabs((double)f - b);
	if (da < db || (da == db && !(lo & 0x10000u))) return a;
	return b;
}

static double widen(rad_bf16 h)
{
	float f;
	rad_f32_from_bf16(&f, &h, 1);
	return f;
}

/* bf16 compute: every product is the float64 product of the bf16-rounded inputs, to fp32
 * accuracy (sums of up to 300 terms), and within bf16's 2^-8 of the unrounded one. */
static void test_matmul_bf16(void)
{
	int n = 9, in = 300, out = 7;
	float *x = rnd((size_t)n * in, 1), *w = rnd((size_t)out * in, 1), *b = rnd(out, 1), *y = calloc(n * out, 4);
	float *dy = rnd((size_t)n * out, 1), *dx = calloc((size_t)n * in, 4), *dw = calloc((size_t)out * in, 4);
	rad_bf16 *wh = malloc((size_t)out * in * 2);
	rad_bf16_from_f32(wh, w, (size_t)out * in);
	for (int i = 0; i < out * in; i++) EXPECT_NEAR(widen(wh[i]), bf16_ref(w[i]), 0);
	rad_matmul_forward(y, x, (rad_weight){w, wh, 1}, b, n, in, out);
	rad_matmul_backward(dx, dw, NULL, dy, x, (rad_weight){w, wh, 1}, n, in, out, 0);
	double worst = 0, worst_full = 0;
	for (int t = 0; t < n; t++)
		for (int o = 0; o < out; o++) {
			double s = b[o], full = b[o], mag = 0;
			for (int i = 0; i < in; i++) {
				s += bf16_ref(x[t * in + i]) * bf16_ref(w[o * in + i]);
				full += (double)x[t * in + i] * w[o * in + i];
				mag += fabs((double)x[t * in + i] * w[o * in + i]);
			}
			worst = fmax(worst, fabs(y[t * out + o] - s) / mag);
			worst_full = fmax(worst_full, fabs(y[t * out + o] - full) / mag);
		}
	EXPECT_MSG(worst < 1e-5, "bf16 forward vs rounded inputs: %g", worst);
	EXPECT_MSG(worst_full < 8e-3 && worst_full > 1e-5, "bf16 forward vs fp64: %g", worst_full);
	worst = 0;
	for (int t = 0; t < n; t++)
		for (int i = 0; i < in; i++) {
			double s = 0, mag = 0;
			for (int o = 0; o < out; o++) {
				s += bf16_ref(dy[t * out + o]) * bf16_ref(w[o * in + i]);
				mag += fabs((double)dy[t * out + o] * w[o * in + i]);
			}
			worst = fmax(worst, fabs(dx[t * in + i] - s) / mag);
		}
	for (int o = 0; o < out; o++)
		for (int i = 0; i < in; i++) {
			double s = 0, mag = 0;
			for (int t = 0; t < n; t++) {
				s += bf16_ref(dy[t * out + o]) * bf16_ref(x[t * in + i]);
				mag += fabs((double)dy[t * out + o] * x[t * in + i]);
			}
			worst = fmax(worst, fabs(dw[o * in + i] - s) / mag);
		}
	EXPECT_MSG(worst < 1e-5, "bf16 backward vs rounded inputs: %g", worst);
	free(x); free(w); free(b); free(y); free(dy); free(dx); free(dw); free(wh);
}

/* A weight held in bf16 only, in fp32 products: the same as an fp32 weight holding the
 * rounded values — the same bits when it is widened whole, and to fp32 rounding when it is
 * widened in blocks of rows (RAD_WIDEN_MB 1: 3 blocks of 873 rows here; the product's
 * kernel, and so its order of summation, may differ with the block's size). */
static void widened_case(const char *mb, double tol)
{
	int n = 5, in = 300, out = 2000;
	setenv("RAD_WIDEN_MB", mb, 1);
	float *x = rnd((size_t)n * in, 1), *w = rnd((size_t)out * in, 1), *b = rnd(out, 1), *dy = rnd((size_t)n * out, 1);
	rad_bf16 *wh = malloc((size_t)out * in * 2);
	rad_bf16_from_f32(wh, w, (size_t)out * in);
	rad_f32_from_bf16(w, wh, (size_t)out * in);   /* w: the rounded values, in fp32 */
	float *y = calloc((size_t)n * out, 4), *y32 = calloc((size_t)n * out, 4);
	float *dx = calloc((size_t)n * in, 4), *dx32 = calloc((size_t)n * in, 4);
	rad_matmul_forward(y32, x, rad_weight_f32(w), b, n, in, out);
	rad_matmul_backward(dx32, NULL, NULL, dy, x, rad_weight_f32(w), n, in, out, 0);
	rad_matmul_forward(y, x, (rad_weight){NULL, wh, 0}, b, n, in, out);
	rad_matmul_backward(dx, NULL, NULL, dy, x, (rad_weight){NULL, wh, 0}, n, in, out, 0);
	/* each error against the sum of its products' magnitudes: fp32 rounding is ~1e-7 of it */
	double ey = 0, ex = 0, ex2 = 0;
	float *dx2 = calloc((size_t)n * in, 4);
	memcpy(dx2, dx32, (size_t)n * in * 4);
	rad_matmul_backward(dx2, NULL, NULL, dy, x, (rad_weight){NULL, wh, 0}, n, in, out, 1);   /* adds on */
	for (int t = 0; t < n; t++) {
		for (int o = 0; o < out; o++) {
			double mag = fabs(b[o]);
			for (int i = 0; i < in; i++) mag += fabs((double)x[t * in + i] * w[o * in + i]);
			ey = fmax(ey, fabs(y[t * out + o] - y32[t * out + o]) / mag);
		}
		for (int i = 0; i < in; i++) {
			double mag = 0;
			for (int o = 0; o < out; o++) mag += fabs((double)dy[t * out + o] * w[o * in + i]);
			ex = fmax(ex, fabs(dx[t * in + i] - dx32[t * in + i]) / mag);
			ex2 = fmax(ex2, fabs(dx2[t * in + i] - 2 * dx32[t * in + i]) / mag);
		}
	}
	EXPECT_MSG(ey <= tol && ex <= tol, "RAD_WIDEN_MB %s: y %g, dx %g (allowed %g)", mb, ey, ex, tol);
	EXPECT_MSG(ex2 <= 1e-6, "dx added onto: %g", ex2);
	free(dx2);
	/* an embedding table held in bf16 gives the rounded rows */
	int32_t tok[3] = {1999, 0, 7}, pos[3] = {4, 0, 1};
	float *e = calloc(3 * (size_t)in, 4);
	rad_embedding_forward(e, (rad_weight){NULL, wh, 0}, (rad_weight){NULL, wh, 0}, tok, pos, 3, in);
	for (int t = 0; t < 3; t++)
		for (int j = 0; j < in; j++)
			EXPECT_NEAR(e[t * in + j], w[tok[t] * in + j] + w[pos[t] * in + j], 0);
	unsetenv("RAD_WIDEN_MB");
	free(x); free(w); free(b); free(dy); free(wh); free(y); free(y32); free(dx); free(dx32); free(e);
}
static void test_matmul_widened_whole(void) { widened_case("64", 0); }
static void test_matmul_widened_blocks(void) { widened_case("1", 1e-6); }

/* ---- layernorm ---- */
typedef struct { int n, c; float *x, *w, *b, *y, *mean, *rstd, *r; } ln_ctx;
static double ln_f(void *p)
{
	ln_ctx *c = p;
	rad_layernorm_forward(c->y, c->mean, c->rstd, c->x, c->w, c->b, c->n, c->c, 1e-5f);
	return dot(c->y, c->r, (size_t)c->n * c->c);
}
static void test_layernorm(void)
{
	ln_ctx c = {.n = 4, .c = 9};
	c.x = rnd(36, 2); c.w = rnd(9, 1); c.b = rnd(9, 1); c.y = rnd(36, 1); c.r = rnd(36, 1);
	c.mean = rnd(4, 1); c.rstd = rnd(4, 1);
	float *dx = calloc(36, 4), *dw = calloc(9, 4), *db = calloc(9, 4);
	ln_f(&c);
	/* the mean of every output row before the affine part is 0: check the statistics */
	EXPECT_NEAR(c.mean[0], (c.x[0] + c.x[1] + c.x[2] + c.x[3] + c.x[4] + c.x[5] + c.x[6] + c.x[7] + c.x[8]) / 9, 1e-5);
	rad_layernorm_backward(dx, dw, db, c.r, c.x, c.mean, c.rstd, c.w, c.n, c.c);
	check("dx", c.x, dx, 36, ln_f, &c, 1e-2);
	check("dw", c.w, dw, 9, ln_f, &c, 1e-2);
	check("db", c.b, db, 9, ln_f, &c, 1e-2);
	free(c.x); free(c.w); free(c.b); free(c.y); free(c.r); free(c.mean); free(c.rstd); free(dx); free(dw); free(db);
}

/* ---- gelu ---- */
typedef struct { size_t n; float *x, *y, *r; } ge_ctx;
static double ge_f(void *p)
{
	ge_ctx *c = p;
	rad_gelu_forward(c->y, c->x, c->n);
	return dot(c->y, c->r, c->n);
}
static void test_gelu(void)
{
	ge_ctx c = {.n = 50};
	c.x = rnd(50, 2); c.y = rnd(50, 1); c.r = rnd(50, 1);
	float *dx = calloc(50, 4);
	ge_f(&c);
	/* known values: gelu_tanh(1) = 0.8411920, gelu_tanh(-1) = -0.1588080 */
	float xs[2] = {1, -1}, ys[2];
	rad_gelu_forward(ys, xs, 2);
	EXPECT_NEAR(ys[0], 0.8411920, 1e-6);
	EXPECT_NEAR(ys[1], -0.1588080, 1e-6);
	/* the vectorised exp against libm over a wide range */
	double worst = 0;
	for (float x = -80; x < 80; x += 0.37f) worst = fmax(worst, fabs(rad_expf(x) / exp(x) - 1));
	EXPECT_MSG(worst < 3e-7, "rad_expf relative error %g", worst);
	EXPECT(isnan(rad_expf(NAN)));
	EXPECT(rad_expf(-INFINITY) < 1e-37f && rad_expf(INFINITY) > 1e38f);
	rad_gelu_backward(dx, c.r, c.x, c.n);
	check("dx", c.x, dx, 50, ge_f, &c, 1e-3);
	free(c.x); free(c.y); free(c.r); free(dx);
}

/* ---- attention (grouped-query too) ---- */
typedef struct { int h, g, d, nseq, n, bf16; int off[3], len[3]; float *qkv, *out, *lse, *r; } at_ctx;
static double at_f(void *p)
{
	at_ctx *c = p;
	rad_attention_forward(c->out, c->lse, c->qkv, c->off, c->len, c->nseq, c->h, c->g, c->d, c->bf16);
	return dot(c->out, c->r, (size_t)c->n * c->h * c->d);
}
static void attention_case(int h, int g)
{
	at_ctx c = {.h = h, .g = g, .d = 4, .nseq = 3, .off = {0, 5, 6}, .len = {5, 1, 4}, .n = 10};
	int w = (h + 2 * g) * c.d;
	c.qkv = rnd((size_t)c.n * w, 1);
	c.out = rnd((size_t)c.n * h * c.d, 1);
	c.r = rnd((size_t)c.n * h * c.d, 1);
	c.lse = calloc((size_t)c.n * h, 4);
	float *work = calloc(rad_attention_work_size(c.n, h, g, c.d) + 1, 4), *dqkv = calloc((size_t)c.n * w, 4);
	at_f(&c);
	/* the one-token sequence attends to itself only: its output is its own v */
	for (int hh = 0; hh < h; hh++)
		EXPECT_NEAR(c.out[5 * h * c.d + hh * c.d], c.qkv[5 * w + (h + g + hh / (h / g)) * c.d], 1e-6);
	/* causal: the first token of sequence 0 sees only itself, so its log-sum-exp is its own score */
	double q0k0 = 0;
	for (int e = 0; e < c.d; e++) q0k0 += (double)c.qkv[e] * c.qkv[h * c.d + e];
	EXPECT_NEAR(c.lse[0], q0k0 / sqrt(c.d), 1e-5);
	rad_attention_backward(dqkv, work, c.r, c.out, c.qkv, c.lse, c.off, c.len, 3, h, g, c.d, 0);
	check("dqkv", c.qkv, dqkv, (size_t)c.n * w, at_f, &c, 1e-2);
	free(c.qkv); free(c.out); free(c.r); free(c.lse); free(work); free(dqkv);
}
static void test_attention(void) { attention_case(2, 2); }
static void test_attention_gqa(void) { attention_case(4, 2); }

/* Plain causal softmax attention in float64 over whole [L, L] matrices, forward and
 * backward, for one sequence at token offset off: what the tiles must reproduce. */
static void attention_ref(double *out, double *lse, double *dqkv, const float *qkv, const float *dout, int off, int L,
                          int h, int g, int d)
{
	int w = (h + 2 * g) * d, hd = h * d;
	double scale = 1 / sqrt(d), *a = malloc(sizeof(double) * L * L), *da = malloc(sizeof(double) * L * L);
	for (int hh = 0; hh < h; hh++) {
		int kh = hh / (h / g);
		const float *q = qkv + (size_t)off * w + hh * d, *k = qkv + (size_t)off * w + (h + kh) * d;
		const float *v = qkv + (size_t)off * w + (h + g + kh) * d, *dO = dout + (size_t)off * hd + hh * d;
		double *dq = dqkv + (size_t)off * w + hh * d, *dk = dqkv + (size_t)off * w + (h + kh) * d;
		double *dv = dqkv + (size_t)off * w + (h + g + kh) * d;
		for (int i = 0; i < L; i++) {
			double mx = -1e300, s = 0;
			for (int j = 0; j <= i; j++) {
				double z = 0;
				for (int e = 0; e < d; e++) z += (double)q[i * w + e] * k[j * w + e];
				a[i * L + j] = z * scale;
				mx = fmax(mx, z * scale);
			}
			for (int j = 0; j <= i; j++) s += exp(a[i * L + j] - mx);
			lse[(size_t)(off + i) * h + hh] = mx + log(s);
			for (int j = 0; j <= i; j++) a[i * L + j] = exp(a[i * L + j] - mx) / s;
			for (int e = 0; e < d; e++) {
				double o = 0;
				for (int j = 0; j <= i; j++) o += a[i * L + j] * v[j * w + e];
				out[(size_t)(off + i) * hd + hh * d + e] = o;
			}
		}
		/* dA = dO V^T; dS = A (dA - rowsum(dA A)); dQ = scale dS K; dK += scale dS^T Q; dV += A^T dO */
		for (int i = 0; i < L; i++) {
			double rs = 0;
			for (int j = 0; j <= i; j++) {
				double z = 0;
				for (int e = 0; e < d; e++) z += (double)dO[i * hd + e] * v[j * w + e];
				da[i * L + j] = z;
				rs += z * a[i * L + j];
			}
			for (int j = 0; j <= i; j++) da[i * L + j] = a[i * L + j] * (da[i * L + j] - rs);
		}
		for (int i = 0; i < L; i++)
			for (int e = 0; e < d; e++) {
				double sq = 0, sk = 0, sv = 0;
				for (int j = 0; j <= i; j++) sq += da[i * L + j] * k[j * w + e];
				for (int j = i; j < L; j++) {
					sk += da[j * L + i] * q[j * w + e];
					sv += a[j * L + i] * dO[j * hd + e];
				}
				dq[(size_t)i * w + e] = scale * sq;
				dk[(size_t)i * w + e] += scale * sk;
				dv[(size_t)i * w + e] += sv;
			}
	}
	free(a);
	free(da);
}

/* Largest |got - want| over the largest |want|: an error relative to the array's scale. */
static double rel_err(const float *got, const double *want, size_t n)
{
	double e = 0, mag = 0;
	for (size_t i = 0; i < n; i++) {
		e = fmax(e, fabs(got[i] - want[i]));
		mag = fmax(mag, fabs(want[i]));
	}
	return e / mag;
}

/* Sequences longer than a query tile and a key block (many tiles, the online softmax
 * across key blocks, masked edge tiles), against the float64 reference: fp32 to 1e-5,
 * bf16 products to 2e-2 (8-bit mantissas in, fp32 sums). */
static void attention_long_case(int h, int g, int bf16, double tol)
{
	int d = 16, nseq = 3, off[3] = {0, 300, 301}, len[3] = {300, 1, 139}, n = 440;
	int w = (h + 2 * g) * d, hd = h * d;
	float *qkv = rnd((size_t)n * w, 1), *dout = rnd((size_t)n * hd, 1);
	float *out = calloc((size_t)n * hd, 4), *lse = calloc((size_t)n * h, 4), *dqkv = calloc((size_t)n * w, 4);
	float *work = calloc(rad_attention_work_size(n, h, g, d) + 1, 4);
	double *rout = calloc((size_t)n * hd, 8), *rlse = calloc((size_t)n * h, 8), *rd = calloc((size_t)n * w, 8);
	for (int s = 0; s < nseq; s++) attention_ref(rout, rlse, rd, qkv, dout, off[s], len[s], h, g, d);
	rad_attention_forward(out, lse, qkv, off, len, nseq, h, g, d, bf16);
	rad_attention_backward(dqkv, work, dout, out, qkv, lse, off, len, nseq, h, g, d, bf16);
	double eo = rel_err(out, rout, (size_t)n * hd), el = rel_err(lse, rlse, (size_t)n * h);
	double ed = rel_err(dqkv, rd, (size_t)n * w);
	EXPECT_MSG(eo < tol && el < tol && ed < tol, "out %g, lse %g, dqkv %g (tolerance %g)", eo, el, ed, tol);
	if (bf16) EXPECT_MSG(eo > 1e-5, "bf16 products should round: out error %g", eo);
	free(qkv); free(dout); free(out); free(lse); free(dqkv); free(work); free(rout); free(rlse); free(rd);
}
static void test_attention_long(void) { attention_long_case(2, 2, 0, 1e-5); }
static void test_attention_long_gqa(void) { attention_long_case(6, 2, 0, 1e-5); }
static void test_attention_long_bf16(void) { attention_long_case(6, 2, 1, 2e-2); }

/* Bitwise the same at 1 and 2 threads: each (sequence, head) is done by one thread in a
 * fixed order. */
static void test_attention_threads(void)
{
	int h = 4, g = 2, d = 8, off[2] = {0, 200}, len[2] = {200, 170}, n = 370, w = (h + 2 * g) * d;
	float *qkv = rnd((size_t)n * w, 1), *dout = rnd((size_t)n * h * d, 1);
	float *o[2], *l[2], *dq[2], *work = calloc(rad_attention_work_size(n, h, g, d), 4);
	for (int t = 0; t < 2; t++) {
		omp_set_num_threads(t + 1);
		o[t] = calloc((size_t)n * h * d, 4); l[t] = calloc((size_t)n * h, 4); dq[t] = calloc((size_t)n * w, 4);
		rad_attention_forward(o[t], l[t], qkv, off, len, 2, h, g, d, 0);
		rad_attention_backward(dq[t], work, dout, o[t], qkv, l[t], off, len, 2, h, g, d, 0);
	}
	EXPECT(!memcmp(o[0], o[1], (size_t)n * h * d * 4));
	EXPECT(!memcmp(dq[0], dq[1], (size_t)n * w * 4));
	for (int t = 0; t < 2; t++) { free(o[t]); free(l[t]); free(dq[t]); }
	free(qkv); free(dout); free(work);
}

/* segments: a sequence's output does not change when another sequence changes */
static void test_attention_segments(void)
{
	int h = 2, g = 2, d = 4, w = (h + 2 * g) * d, off[2] = {0, 3}, len[2] = {3, 4};
	float *qkv = rnd(7 * w, 1), *out1 = calloc(7 * h * d, 4), *out2 = calloc(7 * h * d, 4);
	float *lse = calloc(7 * h, 4);
	rad_attention_forward(out1, lse, qkv, off, len, 2, h, g, d, 0);
	for (int i = 0; i < 3 * w; i++) qkv[i] += 1.0f;    /* change sequence 0 only */
	rad_attention_forward(out2, lse, qkv, off, len, 2, h, g, d, 0);
	EXPECT(memcmp(out1 + 3 * h * d, out2 + 3 * h * d, 4 * h * d * sizeof(float)) == 0);
	EXPECT(memcmp(out1, out2, 3 * h * d * sizeof(float)) != 0);
	free(qkv); free(out1); free(out2); free(lse);
}

/* ---- logprobs ---- */
typedef struct { int m, c, v, rows; float *x, *w, *logp, *lse, *r, *scratch; int32_t *tgt; } lp_ctx;
static double lp_f(void *p)
{
	lp_ctx *c = p;
	rad_logprobs_forward(c->logp, c->lse, c->x, rad_weight_f32(c->w), c->tgt, c->m, c->c, c->v, c->scratch, c->rows);
	return dot(c->logp, c->r, c->m);
}
static void logprobs_case(int rows)
{
	lp_ctx c = {.m = 6, .c = 5, .v = 13, .rows = rows};
	c.x = rnd(30, 1); c.w = rnd(65, 1); c.r = rnd(6, 1); c.logp = calloc(6, 4); c.lse = calloc(6, 4);
	c.scratch = calloc((size_t)rows * 13, 4);
	c.tgt = malloc(6 * 4);
	for (int i = 0; i < 6; i++) c.tgt[i] = (i * 5) % 13;
	lp_f(&c);
	/* against a direct log-softmax */
	double z[13], mx = -1e30, s = 0;
	for (int j = 0; j < 13; j++) { z[j] = 0; for (int k = 0; k < 5; k++) z[j] += (double)c.x[2 * 5 + k] * c.w[j * 5 + k]; mx = fmax(mx, z[j]); }
	for (int j = 0; j < 13; j++) s += exp(z[j] - mx);
	EXPECT_NEAR(c.logp[2], z[c.tgt[2]] - mx - log(s), 1e-5);
	float *dx = calloc(30, 4), *dw = calloc(65, 4);
	lp_f(&c);   /* the backward uses the forward's logits when they are all kept */
	rad_logprobs_backward(dx, dw, c.r, c.lse, c.x, rad_weight_f32(c.w), c.tgt, c.m, c.c, c.v, c.scratch, c.rows);
	check("dx", c.x, dx, 30, lp_f, &c, 1e-2);
	check("dw", c.w, dw, 65, lp_f, &c, 1e-2);
	free(c.x); free(c.w); free(c.r); free(c.logp); free(c.lse); free(c.scratch); free(c.tgt); free(dx); free(dw);
}
/* bf16 LM head: log-probs of the bf16-rounded rows and weights (fp32 softmax), and a
 * gradient within bf16's rounding of the fp32 one. */
static void test_logprobs_bf16(void)
{
	int m = 6, c = 40, v = 50;
	float *x = rnd((size_t)m * c, 1), *w = rnd((size_t)v * c, 1), *dl = rnd(m, 1);
	float *lp = calloc(m, 4), *lse = calloc(m, 4), *scr = calloc((size_t)m * v, 4);
	float *dx = calloc((size_t)m * c, 4), *dw = calloc((size_t)v * c, 4), *dx32 = calloc((size_t)m * c, 4);
	float *dw32 = calloc((size_t)v * c, 4);
	rad_bf16 *wh = malloc((size_t)v * c * 2);
	rad_bf16_from_f32(wh, w, (size_t)v * c);
	int32_t tgt[6] = {0, 7, 49, 3, 3, 20};
	rad_logprobs_forward(lp, lse, x, (rad_weight){w, wh, 1}, tgt, m, c, v, scr, m);
	rad_logprobs_backward(dx, dw, dl, lse, x, (rad_weight){w, wh, 1}, tgt, m, c, v, scr, m);
	double worst = 0;
	for (int r = 0; r < m; r++) {
		double z[50], mx = -1e300, s = 0;
		for (int j = 0; j < v; j++) {
			z[j] = 0;
			for (int k = 0; k < c; k++) z[j] += bf16_ref(x[r * c + k]) * bf16_ref(w[j * c + k]);
			mx = fmax(mx, z[j]);
		}
		for (int j = 0; j < v; j++) s += exp(z[j] - mx);
		worst = fmax(worst, fabs(lp[r] - (z[tgt[r]] - mx - log(s))));
	}
	EXPECT_MSG(worst < 1e-4, "bf16 log-probs vs rounded inputs: %g", worst);
	rad_logprobs_forward(lp, lse, x, rad_weight_f32(w), tgt, m, c, v, scr, m);
	rad_logprobs_backward(dx32, dw32, dl, lse, x, rad_weight_f32(w), tgt, m, c, v, scr, m);
	double ex = 0, mx = 0, ew = 0, mw = 0;
	for (int i = 0; i < m * c; i++) { ex = fmax(ex, fabs(dx[i] - dx32[i])); mx = fmax(mx, fabs(dx32[i])); }
	for (int i = 0; i < v * c; i++) { ew = fmax(ew, fabs(dw[i] - dw32[i])); mw = fmax(mw, fabs(dw32[i])); }
	EXPECT_MSG(ex / mx < 3e-2 && ew / mw < 3e-2, "bf16 gradients vs fp32: dx %g, dw %g", ex / mx, ew / mw);
	free(x); free(w); free(dl); free(lp); free(lse); free(scr); free(dx); free(dw); free(dx32); free(dw32); free(wh);
}

static void test_logprobs(void) { logprobs_case(6); }           /* logits kept */
static void test_logprobs_chunked(void) { logprobs_case(4); }   /* recomputed in chunks of 4 */

/* ---- embedding ---- */
typedef struct { int n, c; float *wte, *wpe, *x, *r; int32_t tok[6], pos[6]; } em_ctx;
static double em_f(void *p)
{
	em_ctx *c = p;
	rad_embedding_forward(c->x, rad_weight_f32(c->wte), rad_weight_f32(c->wpe), c->tok, c->pos, c->n, c->c);
	return dot(c->x, c->r, (size_t)c->n * c->c);
}
static void test_embedding(void)
{
	em_ctx c = {.n = 6, .c = 3, .tok = {1, 4, 1, 0, 2, 4}, .pos = {0, 1, 2, 0, 1, 2}};
	c.wte = rnd(15, 1); c.wpe = rnd(9, 1); c.x = calloc(18, 4); c.r = rnd(18, 1);
	float *dwte = calloc(15, 4), *dwpe = calloc(9, 4);
	em_f(&c);
	EXPECT_NEAR(c.x[4], c.wte[4 * 3 + 1] + c.wpe[1 * 3 + 1], 1e-6);
	rad_embedding_backward(dwte, dwpe, c.r, c.tok, c.pos, c.n, c.c);
	check("dwte", c.wte, dwte, 15, em_f, &c, 1e-2);
	check("dwpe", c.wpe, dwpe, 9, em_f, &c, 1e-2);
	free(c.wte); free(c.wpe); free(c.x); free(c.r); free(dwte); free(dwpe);
}

int main(void)
{
	rad_rng_seed(&R, 42);
	RUN(test_matmul);
	RUN(test_matmul_bf16);
	RUN(test_matmul_widened_whole);
	RUN(test_matmul_widened_blocks);
	RUN(test_layernorm);
	RUN(test_gelu);
	RUN(test_attention);
	RUN(test_attention_gqa);
	RUN(test_attention_segments);
	RUN(test_attention_long);
	RUN(test_attention_long_gqa);
	RUN(test_attention_long_bf16);
	RUN(test_attention_threads);
	RUN(test_logprobs);
	RUN(test_logprobs_chunked);
	RUN(test_logprobs_bf16);
	RUN(test_embedding);
	return test_status();
}
