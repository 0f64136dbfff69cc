/* tok/bpe.c — byte-pair merges: token table, bytes -> id map, pair table, merge loops. */
#include "tok/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "base/cli.h"

#define NONE UINT32_MAX
#define SCAN_MAX 128     /* pieces up to this many bytes use the quadratic scan */
#define LONG_CHUNK 256   /* segments of long pieces (rad_bpe_encode_long): 64 to 256 measured fastest */

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
 * recognised when popped (a merged-away part has id -1). */
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

/* The heap merge's working memory, kept across the windows of a long piece. */
typedef struct merge_space {
	int32_t *id;
	uint32_t *next, *prev;
	cand *h;
	size_t cap, hcap;
} merge_space;

static void space_reserve(merge_space *m, size_t n)
{
	if (n <= m->cap) return;
	m->id = rad_realloc(m->id, n * sizeof *m->id);
	m->next = rad_realloc(m->next, n * sizeof *m->next);
	m->prev = rad_realloc(m->prev, n * sizeof *m->prev);
	m->cap = n;
	if (m->hcap < n + 16) {
		m->hcap = n + 16;
		m->h = rad_realloc(m->h, m->hcap * sizeof *m->h);
	}
}

static void space_free(merge_space *m)
{
	free(m->id); free(m->next); free(m->prev); free(m->h);
}

/* Merges s[0..n) (n >= 1) in m: afterwards the parts are 0, next[0], next[next[0]], ...
 * (while < n), part i being token id[i]. */
static void heap_merge(const rad_bpe *b, const unsigned char *s, size_t n, merge_space *m)
{
	space_reserve(m, n);
	int32_t *id = m->id;
	uint32_t *next = m->next, *prev = m->prev;
	size_t hn = 0;
	for (size_t i = 0; i < n; i++) {
		id[i] = b->byte_id[s[i]];
		next[i] = (uint32_t)(i + 1);   /* n = end */
		prev[i] = i ? (uint32_t)(i - 1) : NONE;
	}
#define PUSH_PAIR(L, R) do { \
		uint32_t l_ = (L), r_ = (R); int32_t mg_; \
		uint32_t rk_ = pair_rank(b, s, l_, next[r_], id[l_], id[r_], &mg_); \
		if (rk_ != NONE) { \
			if (hn == m->hcap) { m->hcap *= 2; m->h = rad_realloc(m->h, m->hcap * sizeof *m->h); } \
			heap_push(m->h, &hn, (cand){rk_, l_, r_, id[l_], id[r_], mg_}); \
		} \
	} while (0)
	for (size_t i = 0; i + 1 < n; i++) PUSH_PAIR((uint32_t)i, (uint32_t)(i + 1));
	while (hn) {
		cand c = heap_pop(m->h, &hn);
		if (next[c.pos] != c.rpos || id[c.pos] != c.lid || id[c.rpos] != c.rid) continue;   /* stale */
		id[c.pos] = c.merged;
		id[c.rpos] = -1;
		next[c.pos] = next[c.rpos];
		if (next[c.pos] < n) prev[next[c.pos]] = c.pos;
		if (prev[c.pos] != NONE) PUSH_PAIR(prev[c.pos], c.pos);
		if (next[c.pos] < n) PUSH_PAIR(c.pos, next[c.pos]);
	}
#undef PUSH_PAIR
}

static size_t parts_out(const merge_space *m, size_t n, int32_t *out)
{
	size_t k = 0;
	for (uint32_t i = 0; i < n; i = m->next[i]) out[k++] = m->id[i];
	return k;
}

size_t rad_bpe_encode_heap(const rad_bpe *b, const unsigned char *s, size_t n, int32_t *out)
{
	if (n == 0) return 0;
	merge_space m = {0};
	heap_merge(b, s, n, &m);
	size_t k = parts_out(&m, n, out);
	space_free(&m);
	return k;
}

/* ---- long pieces --------------------------------------------------------------------
 * The heap is O(n log n), about 40 bytes per byte of the piece, and its working set
 * outgrows the caches: one 25 MB word took 32 s and 1 GB.  Merges are not local in
 * general (in "aaaa..." the pairing is set by where the run starts), so cutting a piece
 * at fixed points would change ids, and the references (tiktoken, Hugging Face) merge
 * whole pieces.  A cut can be proved harmless, though:
 *
 *   Cut s into segments S_0 .. S_m at c_1 < .. < c_m.  If for every j, merging the two
 *   segments S_{j-1} S_j alone leaves a token boundary at c_j, then merging s gives the
 *   segments' merges, each merged alone, one after the other.
 *
 *   Before the first merge of s that crosses a cut, the segments change independently,
 *   and the merges s makes inside S_{j-1} S_j are, in order, those S_{j-1} S_j alone
 *   makes: each is the lowest (rank, offset) pair of s, so also of the fewer pairs
 *   S_{j-1} S_j has (offsets keep their order).  Were that first crossing merge at c_j,
 *   it would be the lowest pair of S_{j-1} S_j in the same state, which alone would
 *   then merge across c_j: it does not.  So no merge of s crosses a cut, and by the same
 *   argument each segment alone merges as it does inside s.
 *
 * So cuts are placed every `chunk` bytes and each is certified by merging the segments
 * on its two sides; a cut that fails moves to the nearest token boundary of that merge
 * (at most MOVES times, then it goes), and the cut to its left is certified again.  At
 * the end every cut holds with its final neighbours, and each segment is merged alone.
 * Work is a few merges of about two chunks per chunk: linear in n, with memory bounded
 * by the chunk.  Where cuts keep failing (more than BUDGET merged bytes per byte), the
 * whole piece is merged at once, as before. */
#define MOVES 3
#define BUDGET 8

/* A cut at `want`, moved (not to `to`) off continuation bytes: a cut inside a UTF-8
 * character is one that merges usually cross. */
static size_t cut_near(const unsigned char *s, size_t want, size_t to)
{
	size_t c = want;
	while (c < to && c < want + 3 && (s[c] & 0xc0) == 0x80) c++;
	return c < to ? c : want;
}

size_t rad_bpe_encode_long(const rad_bpe *b, const unsigned char *s, size_t n, size_t chunk, int32_t *out)
{
	if (chunk < 2) chunk = 2;
	if (n < 3 * chunk) return rad_bpe_encode_heap(b, s, n, out);
	/* Cuts 0 .. e sit at pos[]; those still standing form a list (nxt, prv) from cut 0
	 * (offset 0) to cut e (offset n).  The segment after cut i runs to the next standing
	 * cut; its ids, once a certification has given them, wait in out[pos[i] ..] (never
	 * more ids than bytes, so they cannot reach the next segment's): nids[i], or UNKNOWN. */
	size_t e = n / chunk;
	size_t *pos = rad_malloc((e + 1) * sizeof *pos), *nids = rad_malloc((e + 1) * sizeof *nids);
	size_t *nxt = rad_malloc((e + 1) * sizeof *nxt), *prv = rad_malloc((e + 1) * sizeof *prv);
	unsigned char *moved = rad_calloc(e + 1, 1);
	const size_t UNKNOWN = SIZE_MAX;
	for (size_t i = 0; i <= e; i++) {
		pos[i] = i == 0 ? 0 : i == e ? n : cut_near(s, i * chunk, (i + 1) * chunk);
		nxt[i] = i + 1;
		prv[i] = i - 1;
		nids[i] = UNKNOWN;
	}
	merge_space sp = {0};
	size_t work = 0, j = 1, k = 0;
	int over = 0;
	while (j != e) {
		size_t l = prv[j], r = nxt[j];
		size_t w0 = pos[l], wl = pos[r] - w0, at = pos[j] - w0;
		work += wl;
		if (work > BUDGET * n) { over = 1; break; }
		heap_merge(b, s + w0, wl, &sp);
		uint32_t q1 = 0, q2;                   /* the part [q1, q2) of the window holding at */
		while ((q2 = sp.next[q1]) <= at) q1 = q2;
		if (q1 == at) {                        /* certified: the left part is segment l's */
			size_t c = 0;
			for (uint32_t i = 0; i < at; i = sp.next[i]) out[w0 + c++] = sp.id[i];
			nids[l] = c;
			j = r;
			continue;
		}
		size_t to = at - q1 <= q2 - at ? q1 : q2;
		if (to == 0 || to == wl) to = to ? q1 : q2;   /* a segment may not be empty */
		nids[l] = UNKNOWN;
		if (moved[j] < MOVES && to > 0 && to < wl) {
			pos[j] = w0 + to;
			moved[j]++;
			nids[j] = UNKNOWN;
		} else {                               /* this cut goes; its neighbours join */
			nxt[l] = r;
			prv[r] = l;
			j = r;
		}
		if (l != 0) j = l;                     /* the cut to the left has a new neighbour */
	}
	if (over) {                                /* cuts keep failing: the whole piece at once */
		k = rad_bpe_encode_heap(b, s, n, out);
	} else {
		for (size_t i = 0; i != e; i = nxt[i]) {   /* out[k ..] never passes out[pos[i] ..] */
			size_t len = pos[nxt[i]] - pos[i];
			if (nids[i] == UNKNOWN) {
				heap_merge(b, s + pos[i], len, &sp);
				k += parts_out(&sp, len, out + k);
			} else {
				memmove(out + k, out + pos[i], nids[i] * sizeof *out);
				k += nids[i];
			}
		}
	}
	space_free(&sp);
	free(pos);
	free(nids);
	free(nxt);
	free(prv);
	free(moved);
	return k;
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
	if (n <= SCAN_MAX) return rad_bpe_encode_scan(b, s, n, out);
	return rad_bpe_encode_long(b, s, n, b->long_chunk ? b->long_chunk : LONG_CHUNK, out);
}
