/* tok/bpe.c — byte-pair merges: token table, bytes -> id map, pair table, merge loops. */
#include "tok/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "base/cli.h"

#define NONE UINT32_MAX
#define SCAN_MAX 128   /* pieces up to this many bytes use the quadratic scan */

uint64_t rad_bpe_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
		s += 8, n -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++) w |= (uint64_t)s[i] << (8 * i);
	h = (h ^ w) * 0x94d049bb133111ebULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

static inline uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	return k ^ (k >> 33);
}

void rad_bpe_init(rad_bpe *b, uint32_t n_ids)
{
	memset(b, 0, sizeof *b);
	b->n_ids = n_ids;
	b->off = rad_calloc(n_ids ? n_ids : 1, sizeof *b->off);
	b->len = rad_calloc(n_ids ? n_ids : 1, sizeof *b->len);
	for (uint32_t i = 0; i < n_ids; i++) b->len[i] = NONE;   /* no token (yet) */
	for (int i = 0; i < 256; i++) b->byte_id[i] = -1;
}

void rad_bpe_set(rad_bpe *b, uint32_t id, const void *s, size_t n)
{
	if (b->nbytes + n + 1 > b->cap_bytes) {
		size_t c = b->cap_bytes ? b->cap_bytes : 1 << 16;
		while (c < b->nbytes + n + 1) c *= 2;
		b->bytes = rad_realloc(b->bytes, c);
		b->cap_bytes = c;
	}
	if (n) memcpy(b->bytes + b->nbytes, s, n);
	b->off[id] = (uint32_t)b->nbytes;
	b->len[id] = (uint32_t)n;
	b->nbytes += n;
	b->bytes[b->nbytes] = 0;
}

int32_t rad_bpe_lookup(const rad_bpe *b, const void *s, size_t n)
{
	if (!b->map) return -1;
	uint32_t i = (uint32_t)rad_bpe_hash(s, n) & b->map_mask;
	for (;; i = (i + 1) & b->map_mask) {
		int32_t id = b->map[i];
		if (id < 0) return -1;
		if (b->len[id] == n && !memcmp(b->bytes + b->off[id], s, n)) return id;
	}
}

int rad_bpe_build_map(rad_bpe *b, int (*usable)(void *ctx, uint32_t id), void *ctx, uint32_t *dup_id)
{
	uint32_t cnt = 0;
	for (uint32_t id = 0; id < b->n_ids; id++)
		if (b->len[id] != NONE && (!usable || usable(ctx, id))) cnt++;
	uint32_t size = 16;
	while (size < cnt * 2) size *= 2;
	free(b->map);
	b->map = rad_malloc(size * sizeof *b->map);
	memset(b->map, 0xff, size * sizeof *b->map);
	b->map_mask = size - 1;
	for (int i = 0; i < 256; i++) b->byte_id[i] = -1;
	for (uint32_t id = 0; id < b->n_ids; id++) {
		if (b->len[id] == NONE || (usable && !usable(ctx, id))) continue;
		const char *s = b->bytes + b->off[id];
		size_t n = b->len[id];
		uint32_t i = (uint32_t)rad_bpe_hash(s, n) & b->map_mask;
		for (;; i = (i + 1) & b->map_mask) {
			int32_t o = b->map[i];
			if (o < 0) break;
			if (b->len[o] == n && !memcmp(b->bytes + b->off[o], s, n)) {
				if (dup_id) *dup_id = id;
				return -1;
			}
		}
		b->map[i] = (int32_t)id;
		if (n == 1) b->byte_id[(unsigned char)s[0]] = (int32_t)id;
	}
	return 0;
}

void rad_bpe_pairs_reserve(rad_bpe *b, uint32_t n)
{
	uint32_t size = 16;
	while (size < n * 2) size *= 2;
	free(b->pairs);
	b->pairs = rad_malloc((size_t)size * sizeof *b->pairs);
	memset(b->pairs, 0xff, (size_t)size * sizeof *b->pairs);   /* key UINT64_MAX: empty */
	b->pair_mask = size - 1;
	b->n_pairs = 0;
}

void rad_bpe_add_pair(rad_bpe *b, int32_t left, int32_t right, uint32_t rank, int32_t merged)
{
	if (!b->pairs || (b->n_pairs + 1) * 2 > b->pair_mask + 1) {
		/* grow: rehash */
		struct rad_bpe_pair *old = b->pairs;
		uint32_t oldsize = old ? b->pair_mask + 1 : 0, n = b->n_pairs;
		b->pairs = NULL;
		rad_bpe_pairs_reserve(b, n * 2 + 1024);
		for (uint32_t i = 0; i < oldsize; i++)
			if (old[i].key != UINT64_MAX)
				rad_bpe_add_pair(b, (int32_t)(old[i].key >> 32), (int32_t)(uint32_t)old[i].key, old[i].rank, old[i].id);
		free(old);
	}
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
	uint32_t i = (uint32_t)mix64(key) & b->pair_mask;
	for (;; i = (i + 1) & b->pair_mask) {
		if (b->pairs[i].key == key) return;   /* first (lowest) rank wins */
		if (b->pairs[i].key == UINT64_MAX) break;
	}
	b->pairs[i].key = key;
	b->pairs[i].rank = rank;
	b->pairs[i].id = merged;
	b->n_pairs++;
}

void rad_bpe_free(rad_bpe *b)
{
	free(b->off);
	free(b->len);
	free(b->bytes);
	free(b->map);
	free(b->pairs);
	memset(b, 0, sizeof *b);
}

/* Rank and merged id of two adjacent tokens: left covers s[ls..rs), right s[rs..re). */
static inline uint32_t pair_rank(const rad_bpe *b, const unsigned char *s, size_t ls, size_t re,
                                 int32_t lid, int32_t rid, int32_t *merged)
{
	if (b->rank_by_bytes) {
		int32_t id = rad_bpe_lookup(b, s + ls, re - ls);
		*merged = id;
		return id < 0 ? NONE : (uint32_t)id;
	}
	if (!b->pairs) return NONE;
	uint64_t key = (uint64_t)(uint32_t)lid << 32 | (uint32_t)rid;
	uint32_t i = (uint32_t)mix64(key) & b->pair_mask;
	for (;; i = (i + 1) & b->pair_mask) {
		const struct rad_bpe_pair *p = &b->pairs[i];
		if (p->key == key) { *merged = p->id; return p->rank; }
		if (p->key == UINT64_MAX) return NONE;
	}
}

size_t rad_bpe_encode_scan(const rad_bpe *b, const unsigned char *s, size_t n, int32_t *out)
{
	uint32_t start[SCAN_MAX + 1], rank[SCAN_MAX];
	int32_t mid[SCAN_MAX];
	int32_t *id = out;   /* the parts are built in place */
	if (n > SCAN_MAX) return rad_bpe_encode_heap(b, s, n, out);
	for (size_t i = 0; i < n; i++) { start[i] = (uint32_t)i; id[i] = b->byte_id[s[i]]; }
	start[n] = (uint32_t)n;
	size_t m = n;
	for (size_t i = 0; i + 1 < m; i++)
		rank[i] = pair_rank(b, s, start[i], start[i + 2], id[i], id[i + 1], &mid[i]);
	while (m > 1) {
		uint32_t best = NONE;
		size_t bi = 0;
		for (size_t i = 0; i + 1 < m; i++)
			if (rank[i] < best) best = rank[i], bi = i;
		if (best == NONE) break;
		id[bi] = mid[bi];
		size_t tail = m - (bi + 2);   /* parts after the removed one */
		memmove(&id[bi + 1], &id[bi + 2], tail * sizeof *id);
		memmove(&start[bi + 1], &start[bi + 2], (tail + 1) * sizeof *start);
		if (tail) {
			memmove(&rank[bi + 1], &rank[bi + 2], (tail - 1) * sizeof *rank);
			memmove(&mid[bi + 1], &mid[bi + 2], (tail - 1) * sizeof *mid);
		}
		m--;
		if (bi + 1 < m) rank[bi] = pair_rank(b, s, start[bi], start[bi + 2], id[bi], id[bi + 1], &mid[bi]);
		if (bi > 0) rank[bi - 1] = pair_rank(b, s, start[bi - 1], start[bi + 1], id[bi - 1], id[bi], &mid[bi - 1]);
	}
	return m;
}

/* The heap form: parts are a linked list identified by their first byte's offset;
 * candidate merges sit in a binary heap ordered by (rank, offset); stale ones are
 * recognised when popped. */
typedef struct { uint32_t rank, pos, rpos; int32_t lid, rid, merged; } cand;

static inline int cand_less(const cand *a, const cand *c)
{
	return a->rank < c->rank || (a->rank == c->rank && a->pos < c->pos);
}

static void heap_push(cand *h, size_t *hn, cand c)
{
	size_t i = (*hn)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!cand_less(&c, &h[p])) break;
		h[i] = h[p];
		i = p;
	}
	h[i] = c;
}

static cand heap_pop(cand *h, size_t *hn)
{
	cand top = h[0], last = h[--*hn];
	size_t i = 0, n = *hn;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const cand *mc = &last;
		if (l < n && cand_less(&h[l], mc)) m = l, mc = &h[l];
		if (r < n && cand_less(&h[r], mc)) m = r;
		if (m == i) break;
		h[i] = h[m];
		i = m;
	}
	if (n) h[i] = last;
	return top;
}

size_t rad_bpe_encode_heap(const rad_bpe *b, const unsigned char *s, size_t n, int32_t *out)
{
	if (n == 0) return 0;
	int32_t *id = rad_malloc(n * sizeof *id);
	uint32_t *next = rad_malloc(n * sizeof *next), *prev = rad_malloc(n * sizeof *prev);
	unsigned char *dead = rad_calloc(n, 1);
	size_t hcap = n + 16, hn = 0;
	cand *h = rad_malloc(hcap * sizeof *h);
	for (size_t i = 0; i < n; i++) {
		id[i] = b->byte_id[s[i]];
		next[i] = (uint32_t)(i + 1);   /* n = end */
		prev[i] = i ? (uint32_t)(i - 1) : NONE;
	}
#define PUSH_PAIR(L, R) do { \
		uint32_t l_ = (L), r_ = (R); int32_t mg_; \
		uint32_t rk_ = pair_rank(b, s, l_, next[r_], id[l_], id[r_], &mg_); \
		if (rk_ != NONE) { \
			if (hn == hcap) { hcap *= 2; h = rad_realloc(h, hcap * sizeof *h); } \
			heap_push(h, &hn, (cand){rk_, l_, r_, id[l_], id[r_], mg_}); \
		} \
	} while (0)
	for (size_t i = 0; i + 1 < n; i++) PUSH_PAIR((uint32_t)i, (uint32_t)(i + 1));
	while (hn) {
		cand c = heap_pop(h, &hn);
		if (dead[c.pos] || dead[c.rpos] || next[c.pos] != c.rpos || id[c.pos] != c.lid || id[c.rpos] != c.rid)
			continue;
		id[c.pos] = c.merged;
		dead[c.rpos] = 1;
		next[c.pos] = next[c.rpos];
		if (next[c.pos] < n) prev[next[c.pos]] = c.pos;
		if (prev[c.pos] != NONE) PUSH_PAIR(prev[c.pos], c.pos);
		if (next[c.pos] < n) PUSH_PAIR(c.pos, next[c.pos]);
	}
#undef PUSH_PAIR
	size_t m = 0;
	for (uint32_t i = 0; i < n; i = next[i]) out[m++] = id[i];
	free(id); free(next); free(prev); free(dead); free(h);
	return m;
}

size_t rad_bpe_encode(const rad_bpe *b, const unsigned char *s, size_t n, int32_t *out)
{
	if (n == 1 || (!b->pairs && !b->rank_by_bytes)) {   /* no merges: the bytes */
		for (size_t i = 0; i < n; i++) out[i] = b->byte_id[s[i]];
		return n;
	}
	if (b->whole_first) {
		int32_t id = rad_bpe_lookup(b, s, n);
		if (id >= 0) { out[0] = id; return 1; }
	}
	return n <= SCAN_MAX ? rad_bpe_encode_scan(b, s, n, out) : rad_bpe_encode_heap(b, s, n, out);
}
