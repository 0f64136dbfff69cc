/* fuzz_pack.c — truncation, ordering, grouping and batch layout on arbitrary lengths and
 * options: every pair kept comes out exactly once per epoch, and every batch passes the
 * stream's own BTCH checks with masks and targets as batch.h defines them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pack/pack.h"

typedef struct { const uint8_t *p; size_t n; } bytes;

static unsigned take(bytes *b, unsigned mod)
{
	unsigned v = 0;
	if (b->n) { v = b->p[0]; b->p++; b->n--; }
	return mod ? v % mod : v;
}

static int emitted, kept;
static int max_tokens, pad_multiple;

static void check(int ok) { if (!ok) abort(); }

static void on_emit(void *ctx, rad_pack_item *const *items, int n)
{
	(void)ctx;
	rad_batch b;
	check(n > 0);
	check(rad_pack_fill(&b, items, n, max_tokens, pad_multiple) == 0);
	rad_rec r;
	rad_rec_init(&r);
	rad_batch_to_rec(&b, &r);
	rad_rec parsed;
	rad_rec_init(&parsed);
	parsed.type = r.type;
	parsed.buf = malloc(r.len ? r.len : 1);
	memcpy(parsed.buf, r.buf, r.len);
	parsed.len = parsed.cap = r.len;
	check(rad_rec_parse(&parsed) == NULL);
	rad_batch back = {0};
	check(rad_batch_from_rec(&parsed, &back) == NULL);
	for (int s = 0; s < b.nseq; s++) {
		const rad_pack_item *it = items[b.seq_pair[s]];
		size_t base = (size_t)b.seq_row[s] * b.cols + b.seq_start[s];
		for (int t = 0; t < b.seq_len[s]; t++) {
			int last = t == b.seq_len[s] - 1;
			check(b.targets[base + t] == (last ? -1 : b.tokens[base + t + 1]));
			check(b.loss_mask[base + t] == (!last && (uint32_t)t + 1 >= it->n_prompt));
		}
	}
	if (max_tokens) check(b.cols <= max_tokens);
	emitted += n;
	rad_batch_free(&back);
	rad_rec_free(&parsed);
	rad_rec_free(&r);
	rad_batch_free(&b);
}

static void on_release(void *ctx, rad_pack_item *it) { (void)ctx; rad_pack_item_free(it); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bytes b = {data, size};
	rad_trunc_opts to = {0};
	rad_packer_opts po = {0};
	to.max_length = take(&b, 64);
	to.max_prompt_length = take(&b, 32);
	to.max_completion_length = take(&b, 32);
	to.keep_start = take(&b, 2);
	to.drop = take(&b, 2);
	po.pairs = take(&b, 6);
	max_tokens = po.max_tokens = take(&b, 2) ? 2 + take(&b, 80) : 0;
	if (!po.pairs && !po.max_tokens) po.pairs = 1;
	int cap = po.max_tokens ? (po.pairs ? po.max_tokens : po.max_tokens / 2) : 0;
	if (cap && (!to.max_length || to.max_length > cap)) to.max_length = cap;
	if (to.max_length && to.max_prompt_length >= to.max_length) to.max_prompt_length = 0;
	pad_multiple = 1 + take(&b, 8);
	po.shuffle_buffer = take(&b, 6);
	po.full_shuffle = take(&b, 4) == 0;
	po.group = take(&b, 12);
	po.drop_last = po.pairs && take(&b, 2);

	int32_t tok[3][256];
	for (int a = 0; a < 3; a++)
		for (int i = 0; i < 256; i++) tok[a][i] = 1000 * a + i;
	emitted = kept = 0;
	rad_packer *pk = rad_packer_new(&po, on_emit, on_release, NULL);
	for (int k = 0; b.n >= 3 && k < 64; k++) {
		char id[16];
		snprintf(id, sizeof id, "p%d", k);
		rad_pair p = {.id = id, .source_id = id, .half = "", .goal = "", .prompt = tok[0], .chosen = tok[1],
		              .rejected = tok[2], .n_prompt = take(&b, 0), .n_chosen = take(&b, 0), .n_rejected = take(&b, 0)};
		rad_trunc t;
		int v = rad_pack_truncate(&to, p.n_prompt, p.n_chosen, p.n_rejected, &t);
		if (v == RAD_TRUNC_DROP_LONG || v == RAD_TRUNC_DROP_EMPTY) continue;
		if (to.max_length) check(t.n_prompt + t.n_chosen <= (uint32_t)to.max_length && t.n_prompt + t.n_rejected <= (uint32_t)to.max_length);
		check(t.n_chosen >= 1 && t.n_rejected >= 1 && t.prompt_off + t.n_prompt <= p.n_prompt);
		rad_pack_item *it = rad_pack_item_new(&p, &t);
		it->key = rad_pack_key(id, 7, 0);
		it->arrival = k;
		kept++;
		rad_packer_put(pk, it);
	}
	rad_packer_end_epoch(pk);
	check(emitted + rad_packer_dropped_last(pk) == kept);
	rad_packer_free(pk);
	return 0;
}
