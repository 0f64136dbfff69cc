/* test_data_parallel.c — the pieces of data-parallel training that need no second
 * process: a rank's part of a batch (train/batch_part.h), AdamW on slices
 * (train/adamw.h), and the slices of base/dist.h. */
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "model_fixture.h"
#include "base/dist.h"
#include "train/adamw.h"
#include "train/batch_part.h"

/* Four pairs packed padding-free into two rows of 20, the two sequences of a pair in
 * different rows for pairs 0, 2 and 3.  Pair tokens 11, 7, 14, 5 (37 in all); chosen
 * tokens 5, 4, 8, 3 (20). */
static const int A3[] = {1, 2, 3}, A2[] = {4, 5}, A4[] = {6, 7, 8, 9}, A1[] = {3};
static void four_pairs(rad_batch *b)
{
	fx_seq q[8] = {
		{0, 0, A3, 3, A2, 2, 0, 1},    /* 5 */
		{1, 0, A3, 3, A3, 3, 0, 0},    /* 6 */
		{0, 5, A2, 2, A2, 2, 1, 1},    /* 4 */
		{0, 9, A2, 2, A1, 1, 1, 0},    /* 3 */
		{1, 6, A4, 4, A4, 4, 2, 1},    /* 8 */
		{0, 12, A4, 4, A2, 2, 2, 0},   /* 6 */
		{1, 14, A1, 1, A2, 2, 3, 1},   /* 3 */
		{0, 18, A1, 1, A1, 1, 3, 0},   /* 2 */
	};
	fx_batch(b, 2, 20, 8, 4, q);
	b->ref_logp = malloc(sizeof(double) * 8);
	b->ref_ntok = malloc(sizeof(int32_t) * 8);
	for (int s = 0; s < 8; s++) { b->ref_logp[s] = -1.0 - s; b->ref_ntok[s] = 10 + s; }
}

/* owner[q]: the rank that must hold pair q.  Checks every part against it: each pair once,
 * in order, with its own fields; each of its sequences (all, or the chosen ones) once,
 * where the whole batch has it, renumbered to the part's pairs. */
static void check_parts(const rad_batch *b, int ranks, int chosen_only, const int *owner)
{
	int seen_seq[8] = {0};
	for (int r = 0; r < ranks; r++) {
		rad_batch_part p = {0};
		rad_batch_part_take(&p, b, r, ranks, chosen_only);
		int np = 0;
		for (int q = 0; q < b->npair; q++) {
			if (owner[q] != r) continue;
			EXPECT_MSG(np < p.b.npair && p.pair[np] == q, "R=%d rank %d: pair %d missing", ranks, r, q);
			if (np < p.b.npair) EXPECT_STR(p.b.pair_id[np], b->pair_id[q]);
			np++;
		}
		EXPECT_EQ(p.b.npair, np);
		for (int s = 0; s < p.b.nseq; s++) {
			/* the whole batch's sequence at the same place */
			int w = 0;
			while (w < b->nseq && (b->seq_row[w] != p.b.seq_row[s] || b->seq_start[w] != p.b.seq_start[s])) w++;
			EXPECT_MSG(w < b->nseq, "R=%d rank %d: sequence %d not in the batch", ranks, r, s);
			if (w == b->nseq) continue;
			seen_seq[w]++;
			EXPECT_EQ(p.b.seq_len[s], b->seq_len[w]);
			EXPECT_EQ(p.b.seq_chosen[s], b->seq_chosen[w]);
			EXPECT_EQ(p.pair[p.b.seq_pair[s]], b->seq_pair[w]);
			EXPECT(p.b.ref_logp[s] == b->ref_logp[w] && p.b.ref_ntok[s] == b->ref_ntok[w]);
		}
		EXPECT(p.b.tokens == b->tokens && p.b.rows == b->rows && p.b.cols == b->cols);
		rad_batch_part_free(&p);
	}
	for (int s = 0; s < b->nseq; s++)
		EXPECT_MSG(seen_seq[s] == (!chosen_only || b->seq_chosen[s]), "R=%d: sequence %d taken %d times",
		           ranks, s, seen_seq[s]);
}

/* The middles of the pairs fall at tokens 5.5, 14.5, 25, 34.5 of 37 (chosen only: 2.5,
 * 7, 13, 18.5 of 20); a pair goes to the rank in whose R-th the middle lies. */
static void test_parts_by_tokens(void)
{
	rad_batch b;
	four_pairs(&b);
	check_parts(&b, 1, 0, (const int[]){0, 0, 0, 0});
	check_parts(&b, 2, 0, (const int[]){0, 0, 1, 1});          /* halves at 18.5 */
	check_parts(&b, 3, 0, (const int[]){0, 1, 2, 2});          /* 12.3, 24.7 */
	check_parts(&b, 4, 0, (const int[]){0, 1, 2, 3});          /* 9.25, 18.5, 27.75 */
	check_parts(&b, 8, 0, (const int[]){1, 3, 5, 7});          /* eighths of 4.625: ranks 0, 2, 4, 6 idle */
	check_parts(&b, 2, 1, (const int[]){0, 0, 1, 1});          /* halves at 10 */
	check_parts(&b, 3, 1, (const int[]){0, 1, 1, 2});          /* 6.67, 13.3 */
	EXPECT_EQ(rad_batch_chosen_tokens(&b), 2 + 2 + 4 + 2);     /* completion targets of the chosen */
	rad_batch_free(&b);
}

/* AdamW over two slices, each with the moments of its own weights, makes the bytes of one
 * AdamW over all of them, step after step; a slice zeroes only its part of the gradient. */
static void test_adamw_slices(void)
{
	rad_model *a = fx_model(11, 16, 1, 2, 8, 3, 1.0), *b = fx_model(11, 16, 1, 2, 8, 3, 1.0);
	rad_model_enable_grads(a);
	rad_model_enable_grads(b);
	size_t n = a->nparams, cut = n / 3 + 5;   /* inside a tensor */
	rad_adamw whole = {.beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.1};
	rad_adamw lo = whole, hi = whole;
	rad_adamw_init(&whole, n);
	rad_adamw_init(&lo, cut);
	rad_adamw_init(&hi, n - cut);
	rad_rng r;
	rad_rng_seed(&r, 11);
	rad_trainable pa = rad_model_trainable(a), pb = rad_model_trainable(b);
	for (int step = 0; step < 3; step++) {
		for (size_t i = 0; i < n; i++) a->grads[i] = b->grads[i] = (float)rad_rng_normal(&r);
		rad_adamw_step(&whole, &pa, 1e-2, 0.5f);
		rad_adamw_step_slice(&lo, &pb, 1e-2, 0.5f, 0, cut);
		EXPECT(b->grads[cut] != 0 && b->grads[cut - 1] == 0);
		rad_adamw_step_slice(&hi, &pb, 1e-2, 0.5f, cut, n);
	}
	EXPECT(!memcmp(a->params, b->params, sizeof(float) * n));
	EXPECT(!memcmp(whole.m, lo.m, sizeof(float) * cut) && !memcmp(whole.m + cut, hi.m, sizeof(float) * (n - cut)));
	EXPECT(!memcmp(whole.v, lo.v, sizeof(float) * cut) && !memcmp(whole.v + cut, hi.v, sizeof(float) * (n - cut)));
	size_t zero = 0;
	for (size_t i = 0; i < n; i++) zero += b->grads[i] == 0;
	EXPECT_EQ(zero, n);
	rad_adamw_free(&whole); rad_adamw_free(&lo); rad_adamw_free(&hi);
	rad_model_free(a); rad_model_free(b);
}

/* In one process there is one rank, whose slice is everything, and the collective
 * operations leave the data as it is. */
static void test_single_process(void)
{
	EXPECT_EQ(rad_dist_rank(), 0);
	EXPECT_EQ(rad_dist_size(), 1);
	size_t off[2];
	rad_dist_slices(10, off);
	EXPECT(off[0] == 0 && off[1] == 10);
	float x[3] = {1.5f, -2, 3};
	rad_dist_sum_f32(x, 3);
	rad_dist_gather_slices_f32(x, (const size_t[]){0, 3});
	EXPECT(x[0] == 1.5f && x[1] == -2 && x[2] == 3);
	float y[3];
	rad_dist_spread_f32(x, y, (const size_t[]){0, 3});
	EXPECT(!memcmp(x, y, sizeof x));
}

int main(void)
{
	RUN(test_parts_by_tokens);
	RUN(test_adamw_slices);
	RUN(test_single_process);
	return test_status();
}
