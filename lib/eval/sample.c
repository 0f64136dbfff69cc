/* eval/sample.c — the next token from logits (sample.h).
 *
 * Top-p without top-k never sorts the whole vocabulary: the nucleus is a prefix of the
 * tokens sorted by probability, so once the tokens above a threshold hold top_p of the
 * mass, every token below it is outside the nucleus.  The threshold starts at max/1024
 * and drops until that holds; only the tokens above it are sorted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "eval/sample.h"

void rad_sampler_init(rad_sampler *s, int vocab)
{
	s->vocab = vocab;
	s->prob = rad_malloc(sizeof(float) * vocab);
	s->cand = rad_malloc(sizeof *s->cand * vocab);
}

void rad_sampler_free(rad_sampler *s)
{
	free(s->prob);
	free(s->cand);
	memset(s, 0, sizeof *s);
}

void rad_sample_seed(rad_rng *r, uint64_t seed, const char *id)
{
	rad_sample_seed_k(r, seed, id, 0);
}

void rad_sample_seed_k(rad_rng *r, uint64_t seed, const char *id, int k)
{
	uint64_t h = rad_hash64(id, strlen(id), seed ^ 0x5a4d504c45ULL);
	int32_t k32 = k;
	rad_rng_seed(r, k ? rad_hash64(&k32, sizeof k32, h) : h);
}

/* Most likely first; equal probabilities by id. */
static int cand_cmp(const void *a, const void *b)
{
	const struct rad_cand *x = a, *y = b;
	if (x->p != y->p) return x->p > y->p ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* "x comes after y" in cand_cmp's order: the min-heap order for keeping the k best. */
static int worse(const struct rad_cand *x, const struct rad_cand *y)
{
	return cand_cmp(x, y) > 0;
}

static void sift_down(struct rad_cand *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i;
		if (l < n && worse(&h[l], &h[w])) w = l;
		if (r < n && worse(&h[r], &h[w])) w = r;
		if (w == i) return;
		struct rad_cand t = h[i]; h[i] = h[w]; h[w] = t;
		i = w;
	}
}

/* The k best of prob[V] into cand[0..k), sorted. */
static int top_k(rad_sampler *s, int k)
{
	struct rad_cand *h = s->cand;
	int V = s->vocab;
	for (int i = 0; i < k; i++) { h[i].p = s->prob[i]; h[i].id = i; }
	for (int i = k / 2 - 1; i >= 0; i--) sift_down(h, k, i);
	for (int i = k; i < V; i++) {
		struct rad_cand c = {s->prob[i], i};
		if (worse(&h[0], &c)) { h[0] = c; sift_down(h, k, 0); }
	}
	qsort(h, k, sizeof *h, cand_cmp);
	return k;
}

/* Tokens holding at least top_p of the mass `total`, sorted; returns how many. */
static int above_threshold(rad_sampler *s, double total, double top_p, float mx)
{
	int V = s->vocab, n = 0;
	for (float t = mx / 1024;; t = t / 32) {
		double in = 0;
		n = 0;
		if (t < 1e-30f) t = 0;
		for (int i = 0; i < V; i++)
			if (s->prob[i] >= t) { s->cand[n].p = s->prob[i]; s->cand[n].id = i; n++; in += s->prob[i]; }
		if (in >= top_p * total || t == 0) break;
	}
	qsort(s->cand, n, sizeof *s->cand, cand_cmp);
	return n;
}

int32_t rad_sample(rad_sampler *s, const float *logits, const rad_sample_opts *o, rad_rng *r)
{
	int V = s->vocab;
	if (o->temperature <= 0) {
		int best = 0;
		for (int i = 1; i < V; i++)
			if (logits[i] > logits[best]) best = i;
		return best;
	}
	float inv = (float)(1.0 / o->temperature), mx = -INFINITY;
	for (int i = 0; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
	double total = 0;
	for (int i = 0; i < V; i++) { s->prob[i] = expf((logits[i] - mx) * inv); total += s->prob[i]; }
	double u = rad_rng_uniform(r);
	int usek = o->top_k > 0 && o->top_k < V, usep = o->top_p > 0 && o->top_p < 1;
	if (!usek && !usep) {
		double x = u * total, acc = 0;
		for (int i = 0; i < V; i++) {
			acc += s->prob[i];
			if (x < acc) return i;
		}
		for (int i = V - 1; i >= 0; i--)
			if (s->prob[i] > 0) return i;
		return 0;
	}
	int n;
	if (usek) {
		n = top_k(s, o->top_k);
		total = 0;
		for (int i = 0; i < n; i++) total += s->cand[i].p;
	} else {
		n = above_threshold(s, total, o->top_p, 1.0f);
	}
	if (usep) {   /* smallest prefix whose mass reaches top_p of what is left */
		double acc = 0;
		int keep = n;
		for (int i = 0; i < n; i++) {
			acc += s->cand[i].p;
			if (acc >= o->top_p * total) { keep = i + 1; break; }
		}
		n = keep;
		total = acc;
	}
	double x = u * total, acc = 0;
	for (int i = 0; i < n; i++) {
		acc += s->cand[i].p;
		if (x < acc) return s->cand[i].id;
	}
	return s->cand[n - 1].id;
}
