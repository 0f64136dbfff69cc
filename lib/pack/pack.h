/* pack/pack.h — from tokenized pairs to training batches: truncation, order, layout.
 *
 * The pieces, each a pure function or a small in-memory state machine, so a run over
 * whole streams (pack_run.h) is only reading and writing:
 *
 *   rad_pack_truncate   TRL-compatible truncation of one pair (lengths in, cuts out)
 *   rad_pack_item_new   an owned, truncated copy of a pair, with its shuffle key
 *   rad_packer          shuffle (bounded buffer or full), optional length grouping, and the
 *                       cut into batches of whole pairs; it hands each batch to a callback
 *   rad_pack_layout     where each sequence of a batch goes: padded rows, or rows packed
 *                       with several sequences (first-fit decreasing)
 *   rad_pack_fill       the rad_batch itself: tokens, targets, loss mask, segments,
 *                       positions, per-sequence and per-pair metadata (batch.h)
 *
 * Sequence s of a batch of n pairs: s = 2i is pair i's chosen, s = 2i + 1 its rejected. */
#ifndef RAD_PACK_H
#define RAD_PACK_H

#include <stdint.h>
#include "stream/batch.h"
#include "stream/pair.h"

/* ---- truncation ------------------------------------------------------------------- */

typedef struct rad_trunc_opts {
	int max_length;             /* prompt + completion, per sequence; 0 = no limit */
	int max_prompt_length;      /* 0 = no limit */
	int max_completion_length;  /* 0 = no limit */
	int keep_start;             /* prompt cut keeps its start (cuts the right); default: keeps its end */
	int drop;                   /* a pair that would need any cut is dropped instead */
} rad_trunc_opts;

enum { RAD_TRUNC_KEEP = 0,        /* fits as it is */
       RAD_TRUNC_CUT = 1,         /* fits after cutting (see prompt_cut, completion_cut) */
       RAD_TRUNC_DROP_LONG = 2,   /* too long, and the policy is drop (or nothing would be left) */
       RAD_TRUNC_DROP_EMPTY = 3 };/* a sequence would have no completion token to learn from */

typedef struct rad_trunc {
	uint32_t prompt_off;        /* first prompt token kept */
	uint32_t n_prompt, n_chosen, n_rejected;   /* lengths kept (completions keep their start) */
	int prompt_cut, completion_cut;            /* what was cut */
} rad_trunc;

/* The cuts for a pair of np prompt, nc chosen and nr rejected tokens.  Rules, in order
 * (those of TRL's DPO trainer, v0.8 when max_length is set):
 *   1. max_completion_length: each completion keeps its first max_completion_length tokens.
 *   2. With max_length: when np + max(nc, nr) > max_length, the prompt keeps
 *      max_prompt_length tokens (its last ones, or its first with keep_start); then, if
 *      still too long, each completion keeps its first max_length - max_prompt_length
 *      tokens (max_length - np when there is no max_prompt_length).
 *      Without max_length: the prompt keeps max_prompt_length tokens whenever longer.
 *   3. A sequence must keep one completion token whose predecessor is in the sequence
 *      (np + n >= 2 and n >= 1), or the pair is RAD_TRUNC_DROP_EMPTY.
 * With o->drop, any cut from rules 1-2 makes the pair RAD_TRUNC_DROP_LONG instead.
 * Returns the RAD_TRUNC_* verdict and fills t (lengths are 0 for a dropped pair). */
int rad_pack_truncate(const rad_trunc_opts *o, uint32_t np, uint32_t nc, uint32_t nr, rad_trunc *t);

/* ---- items: owned pairs ----------------------------------------------------------- */

typedef struct rad_pack_item {
	char *id, *goal;
	double score_chosen, score_rejected;
	int32_t *prompt, *chosen, *rejected;   /* one allocation, owned */
	uint32_t n_prompt, n_chosen, n_rejected;
	uint64_t key;      /* shuffle key: rad_pack_key(id, seed, epoch) */
	uint64_t arrival;  /* input order, breaks ties of equal keys */
} rad_pack_item;

/* A copy of p cut as t says. */
rad_pack_item *rad_pack_item_new(const rad_pair *p, const rad_trunc *t);
void rad_pack_item_free(rad_pack_item *it);
/* Tokens of the chosen / rejected sequence (prompt + completion). */
static inline uint32_t rad_pack_len_chosen(const rad_pack_item *it) { return it->n_prompt + it->n_chosen; }
static inline uint32_t rad_pack_len_rejected(const rad_pack_item *it) { return it->n_prompt + it->n_rejected; }

/* The shuffle key of a pair: a hash of its id, the seed and the epoch, so the order
 * depends on which pairs there are and never on where they sit in the input. */
uint64_t rad_pack_key(const char *id, uint64_t seed, int epoch);

/* NULL, or what is wrong with a pair's tokens (a negative id). */
const char *rad_pack_check_pair(const rad_pair *p);

/* ---- order and batches ------------------------------------------------------------ */

typedef struct rad_packer_opts {
	int pairs;             /* pairs per batch; 0 = fill batches up to max_tokens instead */
	int max_tokens;        /* row width of packed rows; 0 = padded rows, one sequence each */
	long shuffle_buffer;   /* 0 = input order; N = bounded shuffle buffer of N pairs */
	int full_shuffle;      /* hold the whole epoch and sort it by key */
	long group;            /* length grouping window in pairs (0 = off) */
	int drop_last;         /* drop an epoch's last batch when it has fewer than `pairs` pairs */
} rad_packer_opts;

/* emit: one batch of n whole pairs, in batch order.  release: an item the packer is done
 * with (after its batch was emitted, or when it is dropped); the packer never frees. */
typedef void (*rad_pack_emit_fn)(void *ctx, rad_pack_item *const *items, int n);
typedef void (*rad_pack_release_fn)(void *ctx, rad_pack_item *it);

typedef struct rad_packer rad_packer;

rad_packer *rad_packer_new(const rad_packer_opts *o, rad_pack_emit_fn emit, rad_pack_release_fn release, void *ctx);
/* The next pair of the epoch (its key already set). */
void rad_packer_put(rad_packer *p, rad_pack_item *it);
/* End of an epoch: everything held is batched and emitted; batches never span epochs. */
void rad_packer_end_epoch(rad_packer *p);
long long rad_packer_dropped_last(const rad_packer *p);   /* pairs dropped by drop_last */
void rad_packer_free(rad_packer *p);

/* ---- layout and filling ----------------------------------------------------------- */

/* Places nseq sequences of the given lengths.  max_tokens = 0: sequence s alone in row s,
 * cols = the longest length rounded up to pad_multiple.  max_tokens = T: rows of width T
 * filled first-fit in order of decreasing length (ties: lower s first), sequences within a
 * row in order of s; cols = the longest row rounded up to pad_multiple, at most T.
 * Returns 0, or -1 when a sequence is longer than T. */
int rad_pack_layout(const uint32_t *len, int nseq, int max_tokens, int pad_multiple,
                    int32_t *seq_row, int32_t *seq_start, int *rows, int *cols);

/* Allocates and fills b with the n pairs (rad_batch_alloc; b need not be initialised).
 * Returns 0, or -1 when rad_pack_layout fails. */
int rad_pack_fill(rad_batch *b, rad_pack_item *const *items, int n, int max_tokens, int pad_multiple);

#endif
