/* tok/bpe.h — the byte-pair merge engine behind tokenizer.c.
 *
 * A vocabulary of byte strings with ids, and a merge priority for adjacent tokens, in one
 * of two forms:
 *   - a pair table (Hugging Face merges): (left id, right id) -> (rank, merged id);
 *   - ranks by bytes (tiktoken): two adjacent tokens merge when their concatenation is a
 *     token, with the concatenation's id as its rank.
 * A piece is split into byte tokens and the adjacent pair of lowest rank (leftmost on
 * ties) is merged until none is left. */
#ifndef RAD_BPE_H
#define RAD_BPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rad_bpe {
	/* tokens: bytes of id i are bytes[off[i] .. off[i]+len[i]) */
	uint32_t n_ids;
	uint32_t *off, *len;
	char *bytes;
	size_t nbytes, cap_bytes;
	/* bytes -> id, for the tokens BPE may produce (open addressing, -1 = empty) */
	int32_t *map;
	uint32_t map_mask;
	/* pair table (rank_by_bytes == 0) */
	struct rad_bpe_pair { uint64_t key; uint32_t rank; int32_t id; } *pairs;
	uint32_t pair_mask, n_pairs;
	int rank_by_bytes;        /* tiktoken semantics */
	int whole_first;          /* a piece that is a token is that token (tiktoken; HF ignore_merges) */
	int32_t byte_id[256];     /* id of each single byte, -1 if missing */
	size_t long_chunk;        /* segment length of long pieces; 0 = the default */
} rad_bpe;

uint64_t rad_bpe_hash(const void *p, size_t n);

/* Token table building: ids may come in any order; bytes are copied. */
void rad_bpe_init(rad_bpe *b, uint32_t n_ids);
void rad_bpe_set(rad_bpe *b, uint32_t id, const void *s, size_t n);
/* Builds the bytes -> id map over the ids for which usable(ctx, id) is true (all when
 * usable is NULL), and byte_id.  Returns -1 when two ids share the same bytes
 * (*dup_id gets the second). */
int rad_bpe_build_map(rad_bpe *b, int (*usable)(void *ctx, uint32_t id), void *ctx, uint32_t *dup_id);
int32_t rad_bpe_lookup(const rad_bpe *b, const void *s, size_t n);
/* Adds a merge (pair-table form); a pair already present keeps its first (lowest) rank. */
void rad_bpe_pairs_reserve(rad_bpe *b, uint32_t n);
void rad_bpe_add_pair(rad_bpe *b, int32_t left, int32_t right, uint32_t rank, int32_t merged);
void rad_bpe_free(rad_bpe *b);

/* Appends the ids of piece s[n] to out[] (room for n ids needed); returns the count.
 * Every byte must have a byte token (checked at load). */
size_t rad_bpe_encode(const rad_bpe *b, const unsigned char *s, size_t n, int32_t *out);
/* The same with the quadratic scan or the heap, whichever n asks for; exposed so the
 * tests can check that both agree. */
size_t rad_bpe_encode_scan(const rad_bpe *b, const unsigned char *s, size_t n, int32_t *out);
size_t rad_bpe_encode_heap(const rad_bpe *b, const unsigned char *s, size_t n, int32_t *out);
/* A long piece in segments of about chunk bytes, each cut proved not to change the ids
 * (bpe.c says how), so in time linear in n and memory bounded by the chunk; the same ids
 * as the heap.  rad_bpe_encode uses it with its own chunk; tests use small ones. */
size_t rad_bpe_encode_long(const rad_bpe *b, const unsigned char *s, size_t n, size_t chunk, int32_t *out);

/* The merge engine of a loaded tokenizer (defined in tokenizer.c; for the tests). */
struct rad_tokenizer;
const rad_bpe *rad_tok_bpe(const struct rad_tokenizer *t);

#endif
