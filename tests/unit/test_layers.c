/* test_layers.c — each layer's backward against central finite differences of its forward.
 * Objective: L = sum(r * y) for a fixed random r, so dL/dy = r. */
#include <math.h>
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
	rad_matmul_forward(c->y, c->x, c->w, c->b, c->n, c->in, c->out);
	return dot(c->y, c->r, (size_t)c->n * c->out);
}
static void test_matmul(void)
{
	lin_ctx c = {.n = 5, .in = 7, .out = 6};
	c.x = rnd(35, 1); c.w = rnd(42, 1); c.b = rnd(6, 1); c.y = rnd(30, 1); c.r = rnd(30, 1);
	float *dx = calloc(35, 4), *dw = calloc(42, 4), *db = calloc(6, 4);
	lin_f(&c);
	rad_matmul_backward(dx, dw, db, c.r, c.x, c.w, c.n, c.in, c.out, 0);
	check("dx", c.x, dx, 35, lin_f, &c, 1e-2);
	check("dw", c.w, dw, 42, lin_f, &c, 1e-2);
	check("db", c.b, db, 6, lin_f, &c, 1e-2);
	/* accumulate mode adds */
	float *dx2 = calloc(35, 4);
	for (int i = 0; i < 35; i++) dx2[i] = 1.0f;
	rad_matmul_backward(dx2, NULL, NULL, c.r, c.x, c.w, c.n, c.in, c.out, 1);
	EXPECT_NEAR(dx2[3], dx[3] + 1.0, 1e-5);
	free(c.x); free(c.w); free(c.b); free(c.y); free(c.r); free(dx); free(dw); free(db); free(dx2);
}

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
typedef struct { int h, g, d, nseq, n; int off[3], len[3]; float *qkv, *out, *att, *r; } at_ctx;
static double at_f(void *p)
{
	at_ctx *c = p;
	rad_attention_forward(c->out, c->att, c->qkv, c->off, c->len, c->nseq, c->h, c->g, c->d);
	return dot(c->out, c->r, (size_t)c->n * c->h * c->d);
}
static void attention_case(int h, int g)
{
	at_ctx c = {.h = h, .g = g, .d = 4, .nseq = 3, .off = {0, 5, 6}, .len = {5, 1, 4}, .n = 10};
	int w = (h + 2 * g) * c.d;
	c.qkv = rnd((size_t)c.n * w, 1);
	c.out = rnd((size_t)c.n * h * c.d, 1);
	c.r = rnd((size_t)c.n * h * c.d, 1);
	size_t na = rad_attention_att_size(c.len, 3, h);
	EXPECT_EQ(na, (size_t)h * (25 + 1 + 16));
	c.att = calloc(na, 4);
	float *datt = calloc(na, 4), *dqkv = calloc((size_t)c.n * w, 4);
	at_f(&c);
	/* the one-token sequence attends to itself only: its output is its own v */
	for (int hh = 0; hh < h; hh++)
		EXPECT_NEAR(c.out[5 * h * c.d + hh * c.d], c.qkv[5 * w + (h + g + hh / (h / g)) * c.d], 1e-6);
	/* causal: the first token of sequence 0 sees only itself */
	EXPECT_NEAR(c.att[0], 1.0, 1e-6);
	EXPECT_NEAR(c.att[1], 0.0, 0);
	rad_attention_backward(dqkv, datt, c.r, c.qkv, c.att, c.off, c.len, 3, h, g, c.d);
	check("dqkv", c.qkv, dqkv, (size_t)c.n * w, at_f, &c, 1e-2);
	free(c.qkv); free(c.out); free(c.r); free(c.att); free(datt); free(dqkv);
}
static void test_attention(void) { attention_case(2, 2); }
static void test_attention_gqa(void) { attention_case(4, 2); }

/* segments: a sequence's output does not change when another sequence changes */
static void test_attention_segments(void)
{
	int h = 2, g = 2, d = 4, w = (h + 2 * g) * d, off[2] = {0, 3}, len[2] = {3, 4};
	float *qkv = rnd(7 * w, 1), *out1 = calloc(7 * h * d, 4), *out2 = calloc(7 * h * d, 4);
	float *att = calloc(rad_attention_att_size(len, 2, h), 4);
	rad_attention_forward(out1, att, qkv, off, len, 2, h, g, d);
	for (int i = 0; i < 3 * w; i++) qkv[i] += 1.0f;    /* change sequence 0 only */
	rad_attention_forward(out2, att, qkv, off, len, 2, h, g, d);
	EXPECT(memcmp(out1 + 3 * h * d, out2 + 3 * h * d, 4 * h * d * sizeof(float)) == 0);
	EXPECT(memcmp(out1, out2, 3 * h * d * sizeof(float)) != 0);
	free(qkv); free(out1); free(out2); free(att);
}

/* ---- logprobs ---- */
typedef struct { int m, c, v, rows; float *x, *w, *logp, *lse, *r, *scratch; int32_t *tgt; } lp_ctx;
static double lp_f(void *p)
{
	lp_ctx *c = p;
	rad_logprobs_forward(c->logp, c->lse, c->x, c->w, c->tgt, c->m, c->c, c->v, c->scratch, c->rows);
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
	rad_logprobs_backward(dx, dw, c.r, c.lse, c.x, c.w, c.tgt, c.m, c.c, c.v, c.scratch, c.rows);
	check("dx", c.x, dx, 30, lp_f, &c, 1e-2);
	check("dw", c.w, dw, 65, lp_f, &c, 1e-2);
	free(c.x); free(c.w); free(c.r); free(c.logp); free(c.lse); free(c.scratch); free(c.tgt); free(dx); free(dw);
}
static void test_logprobs(void) { logprobs_case(6); }           /* logits kept */
static void test_logprobs_chunked(void) { logprobs_case(4); }   /* recomputed in chunks of 4 */

/* ---- embedding ---- */
typedef struct { int n, c; float *wte, *wpe, *x, *r; int32_t tok[6], pos[6]; } em_ctx;
static double em_f(void *p)
{
	em_ctx *c = p;
	rad_embedding_forward(c->x, c->wte, c->wpe, c->tok, c->pos, c->n, c->c);
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
	RUN(test_layernorm);
	RUN(test_gelu);
	RUN(test_attention);
	RUN(test_attention_gqa);
	RUN(test_attention_segments);
	RUN(test_logprobs);
	RUN(test_logprobs_chunked);
	RUN(test_embedding);
	return test_status();
}
