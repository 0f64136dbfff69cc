/* test_pack.c — truncation by hand-computed cases; masks, targets, segments and positions
 * of padded and packed rows; batch cutting, shuffling and grouping. */
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "pack/pack.h"
#include "test.h"

/* ---- truncation ------------------------------------------------------------------- */

static int cut(int L, int mpl, int mcl, int keep_start, int drop, uint32_t np, uint32_t nc, uint32_t nr, rad_trunc *t)
{
	rad_trunc_opts o = {L, mpl, mcl, keep_start, drop};
	return rad_pack_truncate(&o, np, nc, nr, t);
}

static void test_truncate_none_needed(void)
{
	rad_trunc t;
	EXPECT_EQ(cut(0, 0, 0, 0, 0, 100, 50, 70, &t), RAD_TRUNC_KEEP);
	EXPECT_EQ(t.n_prompt, 100); EXPECT_EQ(t.n_chosen, 50); EXPECT_EQ(t.n_rejected, 70);
	EXPECT_EQ(t.prompt_off, 0);
	/* Exactly max_length: no cut, even with a prompt longer than max_prompt_length (the
	 * prompt is cut only when prompt + longer completion exceeds max_length). */
	EXPECT_EQ(cut(8, 4, 0, 0, 0, 6, 2, 1, &t), RAD_TRUNC_KEEP);
	EXPECT_EQ(t.n_prompt, 6); EXPECT_EQ(t.n_chosen, 2);
}

static void test_truncate_prompt_left(void)
{
	rad_trunc t;
	/* 8 + max(3, 5) = 13 > 10: the prompt keeps its last 4 tokens; 4 + 5 = 9 fits. */
	EXPECT_EQ(cut(10, 4, 0, 0, 0, 8, 3, 5, &t), RAD_TRUNC_CUT);
	EXPECT_EQ(t.prompt_off, 4); EXPECT_EQ(t.n_prompt, 4);
	EXPECT_EQ(t.n_chosen, 3); EXPECT_EQ(t.n_rejected, 5);
	EXPECT_EQ(t.prompt_cut, 1); EXPECT_EQ(t.completion_cut, 0);
	/* keep_start keeps the first 4. */
	EXPECT_EQ(cut(10, 4, 0, 1, 0, 8, 3, 5, &t), RAD_TRUNC_CUT);
	EXPECT_EQ(t.prompt_off, 0); EXPECT_EQ(t.n_prompt, 4);
}

static void test_truncate_completions(void)
{
	rad_trunc t;
	/* 3 + 9 > 10; the prompt (3) is within 4, still too long: both completions are cut to
	 * max_length - max_prompt_length = 6 (TRL's rule, although 7 would fit). */
	EXPECT_EQ(cut(10, 4, 0, 0, 0, 3, 9, 2, &t), RAD_TRUNC_CUT);
	EXPECT_EQ(t.n_prompt, 3); EXPECT_EQ(t.n_chosen, 6); EXPECT_EQ(t.n_rejected, 2);
	EXPECT_EQ(t.prompt_cut, 0); EXPECT_EQ(t.completion_cut, 1);
	/* Prompt cut and completion cut together: 20 + 30 > 16 -> prompt 6, completions 10. */
	EXPECT_EQ(cut(16, 6, 0, 0, 0, 20, 30, 12, &t), RAD_TRUNC_CUT);
	EXPECT_EQ(t.prompt_off, 14); EXPECT_EQ(t.n_prompt, 6);
	EXPECT_EQ(t.n_chosen, 10); EXPECT_EQ(t.n_rejected, 10);
	/* Without a prompt limit the completions get what the prompt leaves: 10 - 3 = 7. */
	EXPECT_EQ(cut(10, 0, 0, 0, 0, 3, 9, 2, &t), RAD_TRUNC_CUT);
	EXPECT_EQ(t.n_chosen, 7); EXPECT_EQ(t.n_rejected, 2);
	/* max_completion_length alone. */
	EXPECT_EQ(cut(0, 0, 2, 0, 0, 3, 5, 1, &t), RAD_TRUNC_CUT);
	EXPECT_EQ(t.n_chosen, 2); EXPECT_EQ(t.n_rejected, 1); EXPECT_EQ(t.n_prompt, 3);
	/* max_completion_length first: 3 + 4 = 7 <= 8 after it, so no prompt cut. */
	EXPECT_EQ(cut(8, 2, 4, 0, 0, 3, 9, 9, &t), RAD_TRUNC_CUT);
	EXPECT_EQ(t.n_prompt, 3); EXPECT_EQ(t.n_chosen, 4); EXPECT_EQ(t.prompt_cut, 0);
	/* Without max_length, max_prompt_length cuts any longer prompt. */
	EXPECT_EQ(cut(0, 4, 0, 0, 0, 6, 1, 1, &t), RAD_TRUNC_CUT);
	EXPECT_EQ(t.prompt_off, 2); EXPECT_EQ(t.n_prompt, 4);
}

static void test_truncate_drop_and_empty(void)
{
	rad_trunc t;
	EXPECT_EQ(cut(10, 4, 0, 0, 1, 8, 3, 5, &t), RAD_TRUNC_DROP_LONG);
	EXPECT_EQ(cut(10, 4, 0, 0, 1, 6, 3, 4, &t), RAD_TRUNC_KEEP);   /* 10: fits */
	EXPECT_EQ(cut(0, 0, 2, 0, 1, 1, 3, 1, &t), RAD_TRUNC_DROP_LONG);
	/* The prompt alone fills max_length: nothing of the completions would be left. */
	EXPECT_EQ(cut(4, 0, 0, 0, 0, 5, 3, 3, &t), RAD_TRUNC_DROP_LONG);
	/* Empty completions, or a lone first token with nothing before it. */
	EXPECT_EQ(cut(0, 0, 0, 0, 0, 3, 0, 2, &t), RAD_TRUNC_DROP_EMPTY);
	EXPECT_EQ(cut(0, 0, 0, 0, 0, 0, 1, 2, &t), RAD_TRUNC_DROP_EMPTY);
	EXPECT_EQ(cut(0, 0, 0, 0, 0, 0, 2, 2, &t), RAD_TRUNC_KEEP);
}

/* ---- items ------------------------------------------------------------------------ */

static rad_pack_item *mk(const char *id, const int32_t *p, uint32_t np, const int32_t *c, uint32_t nc,
                         const int32_t *r, uint32_t nr)
{
	rad_pair pr = {.id = id, .source_id = id, .half = "", .goal = "g", .score_chosen = 8, .score_rejected = 3,
	               .prompt = p, .chosen = c, .rejected = r, .n_prompt = np, .n_chosen = nc, .n_rejected = nr};
	rad_trunc t = {0, np, nc, nr, 0, 0};
	rad_pack_item *it = rad_pack_item_new(&pr, &t);
	it->key = rad_pack_key(id, 1, 0);
	return it;
}

/* An item of the given lengths with tokens 100*k + i. */
static rad_pack_item *mk_len(int k, uint32_t np, uint32_t nc, uint32_t nr)
{
	int32_t buf[3][256];
	for (int a = 0; a < 3; a++)
		for (int i = 0; i < 256; i++) buf[a][i] = 1000 * k + 100 * a + i;
	char id[32];
	snprintf(id, sizeof id, "pair-%d", k);
	rad_pack_item *it = mk(id, buf[0], np, buf[1], nc, buf[2], nr);
	it->arrival = k;
	return it;
}

static void test_item_copy_cut(void)
{
	int32_t p[] = {1, 2, 3, 4, 5, 6, 7, 8}, c[] = {11, 12, 13}, r[] = {21, 22, 23, 24, 25};
	rad_pair pr = {.id = "x", .source_id = "x", .half = "pos", .goal = "goal", .score_chosen = 9,
	               .score_rejected = 2, .prompt = p, .chosen = c, .rejected = r, .n_prompt = 8,
	               .n_chosen = 3, .n_rejected = 5};
	rad_trunc_opts o = {.max_length = 7, .max_prompt_length = 4};
	rad_trunc t;
	/* 8 + 5 > 7: prompt -> {5,6,7,8}; 4 + 5 > 7: completions -> 7 - 4 = 3 tokens. */
	EXPECT_EQ(rad_pack_truncate(&o, 8, 3, 5, &t), RAD_TRUNC_CUT);
	rad_pack_item *it = rad_pack_item_new(&pr, &t);
	EXPECT_EQ(it->n_prompt, 4);
	EXPECT_EQ(it->prompt[0], 5); EXPECT_EQ(it->prompt[3], 8);
	EXPECT_EQ(it->n_chosen, 3); EXPECT_EQ(it->chosen[2], 13);
	EXPECT_EQ(it->n_rejected, 3); EXPECT_EQ(it->rejected[0], 21); EXPECT_EQ(it->rejected[2], 23);
	EXPECT_STR(it->goal, "goal");
	EXPECT_EQ(rad_pack_len_chosen(it), 7);
	rad_pack_item_free(it);
	int32_t bad[] = {1, -4};
	pr.prompt = bad; pr.n_prompt = 2;
	EXPECT(rad_pack_check_pair(&pr) != NULL);
	pr.prompt = p;
	EXPECT(rad_pack_check_pair(&pr) == NULL);
}

/* ---- layout ----------------------------------------------------------------------- */

static void test_layout_padded(void)
{
	uint32_t len[] = {5, 3, 4, 2};
	int32_t row[4], start[4];
	int rows, cols;
	EXPECT_EQ(rad_pack_layout(len, 4, 0, 1, row, start, &rows, &cols), 0);
	EXPECT_EQ(rows, 4); EXPECT_EQ(cols, 5);
	for (int s = 0; s < 4; s++) { EXPECT_EQ(row[s], s); EXPECT_EQ(start[s], 0); }
	EXPECT_EQ(rad_pack_layout(len, 4, 0, 4, row, start, &rows, &cols), 0);
	EXPECT_EQ(cols, 8);
}

static void test_layout_packed_ffd(void)
{
	/* Decreasing: s0(6) row 0; s2(5) row 1; s3(4) row 0 (6+4 = 10); s1(3) row 1 (5+3). */
	uint32_t len[] = {6, 3, 5, 4};
	int32_t row[4], start[4];
	int rows, cols;
	EXPECT_EQ(rad_pack_layout(len, 4, 10, 1, row, start, &rows, &cols), 0);
	EXPECT_EQ(rows, 2); EXPECT_EQ(cols, 10);
	EXPECT_EQ(row[0], 0); EXPECT_EQ(start[0], 0);
	EXPECT_EQ(row[3], 0); EXPECT_EQ(start[3], 6);
	EXPECT_EQ(row[1], 1); EXPECT_EQ(start[1], 0);
	EXPECT_EQ(row[2], 1); EXPECT_EQ(start[2], 3);
	/* Rounding up never goes past the row width. */
	EXPECT_EQ(rad_pack_layout(len, 4, 10, 4, row, start, &rows, &cols), 0);
	EXPECT_EQ(cols, 10);
	uint32_t small[] = {3, 2};
	EXPECT_EQ(rad_pack_layout(small, 2, 10, 4, row, start, &rows, &cols), 0);
	EXPECT_EQ(rows, 1); EXPECT_EQ(cols, 8);
	uint32_t big[] = {11};
	EXPECT_EQ(rad_pack_layout(big, 1, 10, 1, row, start, &rows, &cols), -1);
}

/* ---- filled batches --------------------------------------------------------------- */

static void test_fill_padded_by_hand(void)
{
	int32_t p[] = {10, 11, 12}, c[] = {20, 21}, r[] = {30};
	rad_pack_item *it = mk("a", p, 3, c, 2, r, 1);
	rad_batch b;
	EXPECT_EQ(rad_pack_fill(&b, &it, 1, 0, 1), 0);
	EXPECT_EQ(b.rows, 2); EXPECT_EQ(b.cols, 5); EXPECT_EQ(b.nseq, 2); EXPECT_EQ(b.npair, 1);
	int32_t tok[10] = {10, 11, 12, 20, 21, 10, 11, 12, 30, 0};
	int32_t tgt[10] = {11, 12, 20, 21, -1, 11, 12, 30, -1, -1};
	uint8_t msk[10] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0};   /* completion targets only */
	int32_t seg[10] = {0, 0, 0, 0, 0, 1, 1, 1, 1, -1};
	int32_t pos[10] = {0, 1, 2, 3, 4, 0, 1, 2, 3, 0};
	for (int i = 0; i < 10; i++) {
		EXPECT_MSG(b.tokens[i] == tok[i], "token %d: %d", i, b.tokens[i]);
		EXPECT_MSG(b.targets[i] == tgt[i], "target %d: %d", i, b.targets[i]);
		EXPECT_MSG(b.loss_mask[i] == msk[i], "mask %d: %d", i, b.loss_mask[i]);
		EXPECT_MSG(b.segment[i] == seg[i], "segment %d: %d", i, b.segment[i]);
		EXPECT_MSG(b.position[i] == pos[i], "position %d: %d", i, b.position[i]);
	}
	EXPECT_EQ(b.seq_len[0], 5); EXPECT_EQ(b.seq_len[1], 4);
	EXPECT_EQ(b.seq_chosen[0], 1); EXPECT_EQ(b.seq_chosen[1], 0);
	EXPECT_EQ(b.seq_pair[1], 0);
	EXPECT_STR(b.pair_id[0], "a"); EXPECT_STR(b.goal[0], "g");
	EXPECT_NEAR(b.score_chosen[0], 8, 0); EXPECT_NEAR(b.score_rejected[0], 3, 0);
	EXPECT(b.ref_logp == NULL);
	rad_batch_free(&b);
	rad_pack_item_free(it);
}

static void test_fill_packed_by_hand(void)
{
	/* Pair A: prompt 2, chosen 2, rejected 1 (lengths 4, 3); pair B: 1, 1, 2 (2, 3).
	 * One row of 16: sequences in order s0 [0,4) s1 [4,7) s2 [7,9) s3 [9,12); cols 12. */
	int32_t pa[] = {1, 2}, ca[] = {3, 4}, ra[] = {5}, pb[] = {6}, cb[] = {7}, rb[] = {8, 9};
	rad_pack_item *it[2] = {mk("A", pa, 2, ca, 2, ra, 1), mk("B", pb, 1, cb, 1, rb, 2)};
	rad_batch b;
	EXPECT_EQ(rad_pack_fill(&b, it, 2, 16, 1), 0);
	EXPECT_EQ(b.rows, 1); EXPECT_EQ(b.cols, 12);
	int32_t tok[12] = {1, 2, 3, 4, 1, 2, 5, 6, 7, 6, 8, 9};
	int32_t tgt[12] = {2, 3, 4, -1, 2, 5, -1, 7, -1, 8, 9, -1};
	uint8_t msk[12] = {0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0};
	int32_t seg[12] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3};
	int32_t pos[12] = {0, 1, 2, 3, 0, 1, 2, 0, 1, 0, 1, 2};
	for (int i = 0; i < 12; i++) {
		EXPECT_MSG(b.tokens[i] == tok[i], "token %d: %d", i, b.tokens[i]);
		EXPECT_MSG(b.targets[i] == tgt[i], "target %d: %d", i, b.targets[i]);
		EXPECT_MSG(b.loss_mask[i] == msk[i], "mask %d: %d", i, b.loss_mask[i]);
		EXPECT_MSG(b.segment[i] == seg[i], "segment %d: %d", i, b.segment[i]);
		EXPECT_MSG(b.position[i] == pos[i], "position %d: %d", i, b.position[i]);
	}
	EXPECT_EQ(b.seq_start[2], 7); EXPECT_EQ(b.seq_pair[2], 1); EXPECT_EQ(b.seq_chosen[3], 0);
	/* The stream's own checker accepts it, and it survives a round trip. */
	rad_rec r;
	rad_rec_init(&r);
	rad_batch_to_rec(&b, &r);
	rad_rec parsed;
	rad_rec_init(&parsed);
	parsed.type = r.type;
	parsed.buf = malloc(r.len ? r.len : 1);
	memcpy(parsed.buf, r.buf, r.len);
	parsed.len = parsed.cap = r.len;
	EXPECT(rad_rec_parse(&parsed) == NULL);
	rad_batch back = {0};
	const char *err = rad_batch_from_rec(&parsed, &back);
	EXPECT_MSG(err == NULL, "%s", err ? err : "");
	if (!err) {
		EXPECT(!memcmp(back.targets, b.targets, 12 * sizeof(int32_t)));
		EXPECT(!memcmp(back.loss_mask, b.loss_mask, 12));
		EXPECT_STR(back.pair_id[1], "B");
	}
	rad_batch_free(&back);
	rad_rec_free(&parsed);
	rad_rec_free(&r);
	rad_batch_free(&b);
	rad_pack_item_free(it[0]);
	rad_pack_item_free(it[1]);
}

/* Invariants of any filled batch: checked on many random batches, padded and packed. */
static void check_batch(const rad_batch *b, rad_pack_item *const *items, int n)
{
	long long mask = 0, want_mask = 0, cells = 0;
	for (int s = 0; s < b->nseq; s++) {
		const rad_pack_item *it = items[b->seq_pair[s]];
		uint32_t np = it->n_prompt, nc = b->seq_chosen[s] ? it->n_chosen : it->n_rejected;
		want_mask += nc - (np ? 0 : 1);
		EXPECT_EQ(b->seq_len[s], np + nc);
		EXPECT(b->seq_start[s] + b->seq_len[s] <= b->cols);
		size_t base = (size_t)b->seq_row[s] * b->cols + b->seq_start[s];
		for (int t = 0; t < b->seq_len[s]; t++) {
			EXPECT_EQ(b->segment[base + t], s);
			EXPECT_EQ(b->position[base + t], t);
			int last = t == b->seq_len[s] - 1;
			EXPECT_EQ(b->targets[base + t], last ? -1 : b->tokens[base + t + 1]);
			EXPECT_EQ(b->loss_mask[base + t], !last && (uint32_t)t + 1 >= np);
		}
	}
	for (int i = 0; i < b->rows * b->cols; i++) {
		mask += b->loss_mask[i];
		if (b->segment[i] < 0) {
			cells++;
			EXPECT(b->tokens[i] == 0 && b->targets[i] == -1 && b->loss_mask[i] == 0);
		}
	}
	EXPECT_EQ(mask, want_mask);
	EXPECT_EQ(b->npair, n);
	(void)cells;
}

static void test_fill_random_invariants(void)
{
	srand(7);
	for (int round = 0; round < 200; round++) {
		int n = 1 + rand() % 6, T = round % 2 ? 0 : 64 + rand() % 64;
		rad_pack_item *it[6];
		for (int i = 0; i < n; i++) {
			uint32_t np = rand() % 12, nc = 1 + rand() % 20, nr = 1 + rand() % 20;
			if (!np) nc += nc < 2, nr += nr < 2;   /* a loss token needs a predecessor */
			it[i] = mk_len(i, np, nc, nr);
		}
		rad_batch b;
		EXPECT_EQ(rad_pack_fill(&b, it, n, T, round % 3 ? 1 : 8), 0);
		check_batch(&b, it, n);
		rad_batch_free(&b);
		for (int i = 0; i < n; i++) rad_pack_item_free(it[i]);
	}
}

/* ---- the packer ------------------------------------------------------------------- */

typedef struct {
	char order[4096];    /* "a b|c d|" : ids of each batch */
	int batches, released, freeing;
} sink;

static void on_emit(void *ctx, rad_pack_item *const *items, int n)
{
	sink *k = ctx;
	for (int i = 0; i < n; i++) {
		strncat(k->order, items[i]->id + 5, sizeof k->order - strlen(k->order) - 2);   /* "pair-" */
		strncat(k->order, i + 1 < n ? " " : "|", sizeof k->order - strlen(k->order) - 1);
	}
	k->batches++;
}

static void on_release(void *ctx, rad_pack_item *it)
{
	sink *k = ctx;
	k->released++;
	if (k->freeing) rad_pack_item_free(it);
}

static void run_packer(const rad_packer_opts *o, const uint32_t (*len)[3], int n, const int *perm, int epoch, sink *k)
{
	memset(k, 0, sizeof *k);
	k->freeing = 1;
	rad_packer *p = rad_packer_new(o, on_emit, on_release, k);
	for (int i = 0; i < n; i++) {
		int j = perm ? perm[i] : i;
		rad_pack_item *it = mk_len(j, len[j][0], len[j][1], len[j][2]);
		it->key = rad_pack_key(it->id, 42, epoch);
		it->arrival = i;
		rad_packer_put(p, it);
	}
	rad_packer_end_epoch(p);
	rad_packer_free(p);
}

static void test_packer_pairs(void)
{
	uint32_t len[5][3] = {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}};
	rad_packer_opts o = {.pairs = 2};
	sink k;
	run_packer(&o, len, 5, NULL, 0, &k);
	EXPECT_STR(k.order, "0 1|2 3|4|");
	EXPECT_EQ(k.released, 5);
	o.drop_last = 1;
	rad_packer *p;
	memset(&k, 0, sizeof k);
	k.freeing = 1;
	p = rad_packer_new(&o, on_emit, on_release, &k);
	for (int i = 0; i < 5; i++) rad_packer_put(p, mk_len(i, 1, 1, 1));
	rad_packer_end_epoch(p);
	EXPECT_STR(k.order, "0 1|2 3|");
	EXPECT_EQ(rad_packer_dropped_last(p), 1);
	EXPECT_EQ(k.released, 5);
	rad_packer_free(p);
}

static void test_packer_tokens(void)
{
	/* Pair tokens 4, 4, 4, 8, 2 (prompt 1 + completion 1 each side = 4, ...), budget 10. */
	uint32_t len[5][3] = {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {2, 2, 2}, {0, 1, 1}};
	rad_packer_opts o = {.max_tokens = 10};
	sink k;
	run_packer(&o, len, 5, NULL, 0, &k);
	EXPECT_STR(k.order, "0 1|2|3 4|");
}

static int contains_each_once(const char *order, int n)
{
	for (int i = 0; i < n; i++) {
		char want[16];
		int hits = 0;
		snprintf(want, sizeof want, "%d", i);
		for (const char *s = order; *s;) {
			size_t l = strcspn(s, " |");
			if (l == strlen(want) && !strncmp(s, want, l)) hits++;
			s += l;
			if (*s) s++;
		}
		if (hits != 1) return 0;
	}
	return 1;
}

static void test_shuffle_deterministic(void)
{
	enum { N = 40 };
	uint32_t len[N][3];
	int rev[N];
	for (int i = 0; i < N; i++) len[i][0] = len[i][1] = len[i][2] = 1, rev[i] = N - 1 - i;
	rad_packer_opts o = {.pairs = 4, .full_shuffle = 1};
	sink a, b, c;
	run_packer(&o, len, N, NULL, 0, &a);
	run_packer(&o, len, N, rev, 0, &b);
	/* A full shuffle depends on the pairs, not on the input order. */
	EXPECT_STR(a.order, b.order);
	EXPECT(contains_each_once(a.order, N));
	EXPECT(strncmp(a.order, "0 1 2 3|", 8) != 0);
	run_packer(&o, len, N, NULL, 1, &c);
	EXPECT(strcmp(a.order, c.order) != 0);   /* another epoch, another order */

	/* A bounded buffer: a permutation, the same twice, the full order when it holds all. */
	o.full_shuffle = 0;
	o.shuffle_buffer = 8;
	run_packer(&o, len, N, NULL, 0, &b);
	run_packer(&o, len, N, NULL, 0, &c);
	EXPECT_STR(b.order, c.order);
	EXPECT(contains_each_once(b.order, N));
	EXPECT(strcmp(b.order, a.order) != 0);
	o.shuffle_buffer = N;
	run_packer(&o, len, N, NULL, 0, &c);
	EXPECT_STR(c.order, a.order);
	/* Keys depend on the seed. */
	EXPECT(rad_pack_key("x", 1, 0) != rad_pack_key("x", 2, 0));
	EXPECT(rad_pack_key("x", 1, 0) == rad_pack_key("x", 1, 0));
}

static void test_grouping(void)
{
	/* Longest sequences (prompt 1 + chosen): 10 2 9 3 8 4 -> sorted 2 3 4 8 9 10 ->
	 * batches {1 3} {5 4} {2 0}, emitted in an order set by their first pair's key. */
	uint32_t len[6][3] = {{1, 9, 1}, {1, 1, 1}, {1, 8, 1}, {1, 2, 1}, {1, 7, 1}, {1, 3, 1}};
	rad_packer_opts o = {.pairs = 2, .group = 6};
	sink k;
	run_packer(&o, len, 6, NULL, 0, &k);
	EXPECT(strstr(k.order, "1 3|") != NULL);
	EXPECT(strstr(k.order, "5 4|") != NULL);
	EXPECT(strstr(k.order, "2 0|") != NULL);
	EXPECT_EQ(k.batches, 3);
	/* A window that is not a multiple of the batch carries its rest into the next one. */
	o.group = 3;
	run_packer(&o, len, 6, NULL, 0, &k);
	EXPECT_EQ(k.batches, 3);
	EXPECT(contains_each_once(k.order, 6));
	EXPECT_EQ(k.released, 6);
}

int main(void)
{
	RUN(test_truncate_none_needed);
	RUN(test_truncate_prompt_left);
	RUN(test_truncate_completions);
	RUN(test_truncate_drop_and_empty);
	RUN(test_item_copy_cut);
	RUN(test_layout_padded);
	RUN(test_layout_packed_ffd);
	RUN(test_fill_padded_by_hand);
	RUN(test_fill_packed_by_hand);
	RUN(test_fill_random_invariants);
	RUN(test_packer_pairs);
	RUN(test_packer_tokens);
	RUN(test_shuffle_deterministic);
	RUN(test_grouping);
	return test_status();
}
