/* tok/tokenizer.c — loading byte-level BPE tokenizers; encoding and decoding. */
#include "tok/tokenizer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <utf8proc.h>

#include "tok/bpe.h"
#include "base/cli.h"
#include "tok/pretok.h"

enum { K_NONE = 0, K_VOCAB = 1, K_ADDED = 2, K_SPECIAL = 3 };

typedef struct added {
	char *s;
	size_t n;
	int32_t id;
	int special, lstrip, rstrip;
} added;

#define CACHE_BITS 16
#define CACHE_KEY 22
#define CACHE_IDS 8
typedef struct __attribute__((aligned(64))) centry {
	uint64_t h;
	uint8_t n, nids;
	char s[CACHE_KEY];
	int32_t ids[CACHE_IDS];
} centry;

struct rad_tokenizer {
	rad_bpe bpe;
	uint8_t *kind;             /* per id */
	uint8_t *whole;            /* per id: 0 not known yet, 1 BPE of its bytes is itself, 2 not */
	added *add;
	size_t n_add;
	uint8_t add_first[256];    /* 1 when some added token starts with this byte */
	rad_pretok *pre;
	char *pattern;             /* NULL = no split */
	int nfc, add_prefix_space;
	int32_t eos, bos;
	uint64_t fp;
	char *path;
	char format[24];
	char desc[600];
	/* encoder scratch */
	rad_ids *out;
	centry *cache;
	rad_text nfcbuf;
};

/* ---- growable arrays ------------------------------------------------------------- */

static void ids_reserve(rad_ids *a, size_t more)
{
	if (a->n + more <= a->cap) return;
	size_t c = a->cap ? a->cap : 64;
	while (c < a->n + more) c *= 2;
	a->v = rad_realloc(a->v, c * sizeof *a->v);
	a->cap = c;
}
void rad_ids_push(rad_ids *a, int32_t id) { ids_reserve(a, 1); a->v[a->n++] = id; }
void rad_ids_append(rad_ids *a, const int32_t *v, size_t n)
{
	if (!n) return;
	ids_reserve(a, n);
	memcpy(a->v + a->n, v, n * sizeof *v);
	a->n += n;
}
void rad_ids_free(rad_ids *a) { free(a->v); memset(a, 0, sizeof *a); }
void rad_text_append(rad_text *t, const char *s, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		size_t c = t->cap ? t->cap : 256;
		while (c < t->n + n + 1) c *= 2;
		t->s = rad_realloc(t->s, c);
		t->cap = c;
	}
	if (n) memcpy(t->s + t->n, s, n);
	t->n += n;
	t->s[t->n] = 0;
}
void rad_text_free(rad_text *t) { free(t->s); memset(t, 0, sizeof *t); }

/* ---- errors ---------------------------------------------------------------------- */

typedef struct ld {
	const char *path;
	char *err;
	size_t errsz;
	int failed;
} ld;

__attribute__((format(printf, 2, 3)))
static int fail(ld *L, const char *fmt, ...)
{
	if (L->failed) return -1;
	L->failed = 1;
	int k = snprintf(L->err, L->errsz, "%s: ", L->path);
	if (k < 0 || (size_t)k >= L->errsz) return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->err + k, L->errsz - k, fmt, ap);
	va_end(ap);
	return -1;
}

/* The whole file, mapped (a regular file) or read; free it with release_file.  A NUL
 * follows the bytes when read; mapped files are scanned with explicit ends only. */
static char *read_file_copy(ld *L, const char *path, size_t *len);
static char *read_file(ld *L, const char *path, size_t *len, int *mapped)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	*mapped = 0;
	if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (m != MAP_FAILED) {
			const unsigned char *b = m;
			if (st.st_size >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
				munmap(m, (size_t)st.st_size);
				fail(L, "gzip-compressed; gunzip it first");
				return NULL;
			}
			*mapped = 1;
			*len = (size_t)st.st_size;
			return m;
		}
	} else if (fd >= 0) {
		close(fd);
	}
	return read_file_copy(L, path, len);
}

static void release_file(char *buf, size_t len, int mapped)
{
	if (!buf) return;
	if (mapped) munmap(buf, len);
	else free(buf);
}

static char *read_file_copy(ld *L, const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) { fail(L, "%s", strerror(errno)); return NULL; }
	size_t cap = 1 << 20, n = 0;
	char *buf = rad_malloc(cap);
	for (;;) {
		if (n + 1 >= cap) { cap *= 2; buf = rad_realloc(buf, cap); }
		size_t k = fread(buf + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0) break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) { free(buf); fail(L, "read error"); return NULL; }
	buf[n] = 0;
	*len = n;
	if (n >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b) {
		free(buf);
		fail(L, "gzip-compressed; gunzip it first");
		return NULL;
	}
	return buf;
}

/* ---- GPT-2's byte <-> character mapping ------------------------------------------ */

static int16_t cp_to_byte[324];   /* code point -> byte, -1 */
static uint32_t byte_to_cp[256];

static void byte_level_init(void)
{
	static int done;
	if (done) return;
	for (int i = 0; i < 324; i++) cp_to_byte[i] = -1;
	int extra = 0;
	for (int b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
		uint32_t cp = printable ? (uint32_t)b : 256 + extra++;
		byte_to_cp[b] = cp;
		cp_to_byte[cp] = (int16_t)b;
	}
	done = 1;
}

/* Maps a byte-level token string (UTF-8) to its bytes in out; -1 if a character is not
 * in the byte-level alphabet. */
static int unmap_bytes(const char *s, size_t n, rad_text *out)
{
	if (out->cap < n + 1) {
		out->s = rad_realloc(out->s, n + 1);
		out->cap = n + 1;
	}
	size_t o = 0, i = 0;
	const unsigned char *u = (const unsigned char *)s;
	while (i < n) {
		uint32_t cp;
		if (u[i] < 0x80) cp = u[i++];
		else if ((u[i] & 0xe0) == 0xc0 && i + 1 < n && (u[i + 1] & 0xc0) == 0x80) {
			cp = (uint32_t)(u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f);
			i += 2;
		} else return -1;   /* the byte-level alphabet lies below U+0800 */
		if (cp >= 324 || cp_to_byte[cp] < 0) return -1;
		out->s[o++] = (char)cp_to_byte[cp];
	}
	out->s[o] = 0;
	out->n = o;
	return 0;
}

/* ---- a small JSON scanner for the big parts (vocab, merges) ----------------------- */

typedef struct js { const char *p, *end; ld *L; } js;

static void js_ws(js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static int js_expect(js *j, char c)
{
	js_ws(j);
	if (j->p >= j->end || *j->p != c)
		return fail(j->L, "JSON: expected '%c' at byte %zu", c, (size_t)(j->p - (j->end - (j->end - j->p))));
	j->p++;
	return 0;
}

static int hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0) return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* A JSON string into out (UTF-8, escapes resolved). */
static int js_str(js *j, rad_text *out)
{
	js_ws(j);
	out->n = 0;
	if (j->p >= j->end || *j->p != '"') return fail(j->L, "JSON: expected a string");
	const char *p = ++j->p;
	for (;;) {
		const char *q = p;
		while (q < j->end && *q != '"' && *q != '\\') q++;
		rad_text_append(out, p, q - p);
		if (q >= j->end) return fail(j->L, "JSON: unterminated string");
		if (*q == '"') { j->p = q + 1; return 0; }
		q++;
		if (q >= j->end) return fail(j->L, "JSON: unterminated string");
		char c = *q++, o;
		switch (c) {
		case '"': case '\\': case '/': o = c; break;
		case 'b': o = '\b'; break;
		case 'f': o = '\f'; break;
		case 'n': o = '\n'; break;
		case 'r': o = '\r'; break;
		case 't': o = '\t'; break;
		case 'u': {
			uint32_t u, lo;
			if (j->end - q < 4 || hex4(q, &u)) return fail(j->L, "JSON: bad \\u escape");
			q += 4;
			if (u >= 0xd800 && u < 0xdc00 && j->end - q >= 6 && q[0] == '\\' && q[1] == 'u' && !hex4(q + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				q += 6;
			}
			if (u >= 0xd800 && u < 0xe000) return fail(j->L, "JSON: lone surrogate in \\u escape");
			utf8proc_uint8_t b[4];
			utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)u, b);
			rad_text_append(out, (char *)b, k);
			p = q;
			continue;
		}
		default: return fail(j->L, "JSON: bad escape \\%c", c);
		}
		rad_text_append(out, &o, 1);
		p = q;
	}
}

/* A decimal integer in p[0..end), at most 18 digits; returns the end, or NULL. */
static const char *parse_int(const char *p, const char *end, long long *v)
{
	int neg = p < end && *p == '-';
	const char *q = p + neg;
	long long x = 0;
	int digits = 0;
	while (q < end && *q >= '0' && *q <= '9' && digits < 19) x = x * 10 + (*q++ - '0'), digits++;
	if (!digits || digits > 18 || (q < end && *q >= '0' && *q <= '9')) return NULL;
	*v = neg ? -x : x;
	return q;
}

static int js_int(js *j, long long *v)
{
	js_ws(j);
	const char *e = parse_int(j->p, j->end, v);
	if (!e || (e < j->end && (*e == '.' || *e == 'e' || *e == 'E'))) return fail(j->L, "JSON: expected an integer");
	j->p = e;
	return 0;
}

/* Skips one value. */
static int js_skip(js *j, int depth)
{
	js_ws(j);
	if (j->p >= j->end) return fail(j->L, "JSON: unexpected end");
	if (depth > 200) return fail(j->L, "JSON: nested too deeply");
	char c = *j->p;
	if (c == '"') {
		const char *q = j->p + 1;
		while (q < j->end && *q != '"') q += *q == '\\' ? 2 : 1;
		if (q >= j->end) return fail(j->L, "JSON: unterminated string");
		j->p = q + 1;
		return 0;
	}
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		j->p++;
		js_ws(j);
		if (j->p < j->end && *j->p == close) { j->p++; return 0; }
		for (;;) {
			if (c == '{') {
				if (js_skip(j, depth + 1) || js_expect(j, ':')) return -1;
			}
			if (js_skip(j, depth + 1)) return -1;
			js_ws(j);
			if (j->p < j->end && *j->p == ',') { j->p++; continue; }
			if (j->p < j->end && *j->p == close) { j->p++; return 0; }
			return fail(j->L, "JSON: expected ',' or '%c'", close);
		}
	}
	const char *q = j->p;
	while (q < j->end && !strchr(",]} \t\r\n", *q)) q++;
	if (q == j->p) return fail(j->L, "JSON: unexpected '%c'", c);
	j->p = q;
	return 0;
}

/* Iterating an object: call with first=1, then 0; returns 1 with the key in key, 0 at
 * the end, -1 on error. */
static int js_next_key(js *j, int *first, rad_text *key)
{
	js_ws(j);
	if (*first) {
		if (js_expect(j, '{')) return -1;
		*first = 0;
		js_ws(j);
		if (j->p < j->end && *j->p == '}') { j->p++; return 0; }
	} else {
		if (j->p < j->end && *j->p == ',') j->p++;
		else if (j->p < j->end && *j->p == '}') { j->p++; return 0; }
		else return fail(j->L, "JSON: expected ',' or '}'");
	}
	if (js_str(j, key) || js_expect(j, ':')) return -1;
	return 1;
}

static int js_next_elem(js *j, int *first)
{
	js_ws(j);
	if (*first) {
		if (js_expect(j, '[')) return -1;
		*first = 0;
		js_ws(j);
		if (j->p < j->end && *j->p == ']') { j->p++; return 0; }
		return 1;
	}
	if (j->p < j->end && *j->p == ',') { j->p++; return 1; }
	if (j->p < j->end && *j->p == ']') { j->p++; return 0; }
	return fail(j->L, "JSON: expected ',' or ']'");
}

/* ---- the vocabulary being loaded --------------------------------------------------- */

typedef struct vocab {
	rad_text strs;           /* token strings (as written in the file), NUL-separated */
	uint32_t *soff;          /* per entry: offset into strs */
	int32_t *sid;            /* per entry: id */
	size_t n, cap;
	rad_text mstrs;          /* merges: left\0right\0 ... */
	uint32_t *moff;          /* per merge: offset of left */
	size_t nm, mcap;
} vocab;

static void vocab_add(vocab *v, const char *s, size_t n, int32_t id)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 1024;
		v->soff = rad_realloc(v->soff, v->cap * sizeof *v->soff);
		v->sid = rad_realloc(v->sid, v->cap * sizeof *v->sid);
	}
	v->soff[v->n] = (uint32_t)v->strs.n;
	v->sid[v->n++] = id;
	rad_text_append(&v->strs, s, n);
	rad_text_append(&v->strs, "", 1);
}

static void merge_add(vocab *v, const char *a, size_t an, const char *b, size_t bn)
{
	if (v->nm == v->mcap) {
		v->mcap = v->mcap ? v->mcap * 2 : 1024;
		v->moff = rad_realloc(v->moff, v->mcap * sizeof *v->moff);
	}
	v->moff[v->nm++] = (uint32_t)v->mstrs.n;
	rad_text_append(&v->mstrs, a, an);
	rad_text_append(&v->mstrs, "", 1);
	rad_text_append(&v->mstrs, b, bn);
	rad_text_append(&v->mstrs, "", 1);
}

static void vocab_free(vocab *v)
{
	rad_text_free(&v->strs);
	rad_text_free(&v->mstrs);
	free(v->soff);
	free(v->sid);
	free(v->moff);
}

static int parse_vocab_object(js *j, vocab *v)
{
	rad_text key = {0};
	int first = 1, r;
	while ((r = js_next_key(j, &first, &key)) == 1) {
		long long id = 0;
		if (js_int(j, &id)) break;
		if (id < 0 || id >= (1LL << 30)) { fail(j->L, "vocab: id %lld out of range", id); break; }
		vocab_add(v, key.s, key.n, (int32_t)id);
	}
	rad_text_free(&key);
	return j->L->failed ? -1 : 0;
}

static int parse_merges(js *j, vocab *v)
{
	rad_text a = {0}, b = {0};
	int first = 1, r;
	while ((r = js_next_elem(j, &first)) == 1) {
		js_ws(j);
		if (j->p < j->end && *j->p == '[') {
			int f2 = 1;
			if (js_next_elem(j, &f2) != 1 || js_str(j, &a) || js_next_elem(j, &f2) != 1 || js_str(j, &b) ||
			    js_next_elem(j, &f2) != 0) {
				fail(j->L, "merges: entry %zu is not a pair of strings", v->nm + 1);
				break;
			}
			merge_add(v, a.s, a.n, b.s, b.n);
		} else {
			if (js_str(j, &a)) break;
			char *sp = memchr(a.s, ' ', a.n);
			if (!sp || memchr(sp + 1, ' ', a.n - (sp + 1 - a.s))) {
				fail(j->L, "merges: entry %zu \"%.40s\" is not two tokens separated by one space", v->nm + 1, a.s);
				break;
			}
			merge_add(v, a.s, sp - a.s, sp + 1, a.n - (sp + 1 - a.s));
		}
	}
	rad_text_free(&a);
	rad_text_free(&b);
	return j->L->failed ? -1 : 0;
}

/* ---- building the tokenizer ------------------------------------------------------- */

static void add_added(rad_tokenizer *t, const char *s, size_t n, int32_t id, int special, int lstrip, int rstrip)
{
	for (size_t i = 0; i < t->n_add; i++)
		if (t->add[i].id == id) {   /* a later entry for the same id replaces it */
			free(t->add[i].s);
			memmove(&t->add[i], &t->add[i + 1], (t->n_add - i - 1) * sizeof *t->add);
			t->n_add--;
			break;
		}
	t->add = rad_realloc(t->add, (t->n_add + 1) * sizeof *t->add);
	added *a = &t->add[t->n_add++];
	a->s = rad_malloc(n + 1);
	memcpy(a->s, s, n);
	a->s[n] = 0;
	a->n = n;
	a->id = id;
	a->special = special;
	a->lstrip = lstrip;
	a->rstrip = rstrip;
}

static int cmp_added_len(const void *x, const void *y)
{
	const added *a = x, *b = y;
	if (a->n != b->n) return a->n > b->n ? -1 : 1;   /* longest first */
	return a->id < b->id ? -1 : a->id > b->id;
}

static int usable_in_bpe(void *ctx, uint32_t id)
{
	const rad_tokenizer *t = ctx;
	return t->kind[id] == K_VOCAB;
}

/* Per-id tables are sized by the largest id, so it must stay near the number of tokens
 * the file holds: a 4 KB file claiming an id of 1e9 took gigabytes before anything else
 * was checked.  The slack admits the holes real files have (cl100k's special tokens sit
 * up to 20 ids past its ranks). */
static int64_t id_bound(size_t ntokens)
{
	return 2 * (int64_t)ntokens + 1024;
}

/* Builds the token table from the vocab (mapping byte-level strings when byte_level),
 * the added tokens, the pair table from the merges. */
static int build(rad_tokenizer *t, ld *L, vocab *v, int byte_level)
{
	rad_text bytes = {0}, b2 = {0};
	int32_t max_id = -1;
	size_t at = 0;   /* the entry with the largest id: vocab entries, then added tokens */
	for (size_t i = 0; i < v->n; i++) if (v->sid[i] > max_id) max_id = v->sid[i], at = i;
	for (size_t i = 0; i < t->n_add; i++) if (t->add[i].id > max_id) max_id = t->add[i].id, at = v->n + i;
	if (max_id < 0) return fail(L, "no tokens");
	int64_t bound = id_bound(v->n + t->n_add);
	if (max_id >= bound) {
		if (at < v->n)
			return fail(L, "vocab: token \"%.40s\" has id %d, far beyond the file's %zu tokens (ids must be below %lld)",
			            v->strs.s + v->soff[at], max_id, v->n + t->n_add, (long long)bound);
		return fail(L, "added token \"%.40s\" has id %d, far beyond the file's %zu tokens (ids must be below %lld)",
		            t->add[at - v->n].s, max_id, v->n + t->n_add, (long long)bound);
	}
	uint32_t n_ids = (uint32_t)max_id + 1;
	rad_bpe_init(&t->bpe, n_ids);
	t->kind = rad_calloc(n_ids, 1);
	for (size_t i = 0; i < v->n; i++) {
		const char *s = v->strs.s + v->soff[i];
		size_t n = strlen(s);   /* token strings with NUL do not occur in byte-level vocabs */
		int32_t id = v->sid[i];
		if (t->kind[id]) { fail(L, "vocab: id %d given twice", id); goto out; }
		if (byte_level) {
			if (unmap_bytes(s, n, &bytes)) {
				fail(L, "vocab: token %d \"%.40s\" is not byte-level (only byte-level BPE is supported)", id, s);
				goto out;
			}
			rad_bpe_set(&t->bpe, id, bytes.s, bytes.n);
		} else {
			rad_bpe_set(&t->bpe, id, s, n);
		}
		t->kind[id] = K_VOCAB;
	}
	for (size_t i = 0; i < t->n_add; i++) {
		added *a = &t->add[i];
		rad_bpe_set(&t->bpe, a->id, a->s, a->n);
		t->kind[a->id] = a->special ? K_SPECIAL : K_ADDED;
		if (a->n) t->add_first[(unsigned char)a->s[0]] = 1;
	}
	if (t->n_add) qsort(t->add, t->n_add, sizeof *t->add, cmp_added_len);
	uint32_t dup;
	if (rad_bpe_build_map(&t->bpe, usable_in_bpe, t, &dup)) {
		fail(L, "vocab: token %u has the same bytes as another token", dup);
		goto out;
	}
	for (int b = 0; b < 256; b++)
		if (t->bpe.byte_id[b] < 0) {
			fail(L, "no token for the byte 0x%02x (only byte-level BPE with all 256 byte tokens is supported)", b);
			goto out;
		}
	if (v->nm) {
		rad_bpe_pairs_reserve(&t->bpe, (uint32_t)v->nm);
		for (size_t i = 0; i < v->nm; i++) {
			const char *a = v->mstrs.s + v->moff[i], *b = a + strlen(a) + 1;
			int32_t ia, ib, im;
			if (byte_level) {
				if (unmap_bytes(a, strlen(a), &bytes) || unmap_bytes(b, strlen(b), &b2)) {
					fail(L, "merges: entry %zu \"%.40s %.40s\" is not byte-level", i + 1, a, b);
					goto out;
				}
			} else {
				bytes.n = b2.n = 0;
				rad_text_append(&bytes, a, strlen(a));
				rad_text_append(&b2, b, strlen(b));
			}
			ia = rad_bpe_lookup(&t->bpe, bytes.s, bytes.n);
			ib = rad_bpe_lookup(&t->bpe, b2.s, b2.n);
			rad_text_append(&bytes, b2.s, b2.n);
			im = rad_bpe_lookup(&t->bpe, bytes.s, bytes.n);
			if (ia < 0 || ib < 0 || im < 0) {
				fail(L, "merges: entry %zu \"%.40s %.40s\": %s is not in the vocab", i + 1, a, b,
				     ia < 0 ? "the left part" : ib < 0 ? "the right part" : "the merged token");
				goto out;
			}
			rad_bpe_add_pair(&t->bpe, ia, ib, (uint32_t)i, im);
		}
	}
out:
	rad_text_free(&bytes);
	rad_text_free(&b2);
	return L->failed ? -1 : 0;
}

static int32_t find_added(const rad_tokenizer *t, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < t->n_add; i++)
		if (t->add[i].n == n && !memcmp(t->add[i].s, s, n)) return t->add[i].id;
	return -1;
}

static int32_t first_added(const rad_tokenizer *t, const char *const *names)
{
	for (; *names; names++) {
		int32_t id = find_added(t, *names);
		if (id >= 0) return id;
	}
	return -1;
}

static void default_eos_bos(rad_tokenizer *t)
{
	static const char *eos[] = {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|im_end|>", NULL};
	static const char *bos[] = {"<|begin_of_text|>", "<s>", "<bos>", NULL};
	if (t->eos < 0) t->eos = first_added(t, eos);
	if (t->bos < 0) t->bos = first_added(t, bos);
}

/* eos_token / bos_token of a tokenizer_config.json: a string or {"content": ...}. */
static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = rad_malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void read_config(rad_tokenizer *t, const char *dir)
{
	char *path = join(dir, "tokenizer_config.json");
	json_t *c = json_load_file(path, 0, NULL);
	free(path);
	if (!c) return;
	const char *keys[2] = {"eos_token", "bos_token"};
	for (int k = 0; k < 2; k++) {
		json_t *v = json_object_get(c, keys[k]);
		if (json_is_object(v)) v = json_object_get(v, "content");
		if (!json_is_string(v)) continue;
		int32_t id = find_added(t, json_string_value(v));
		if (id < 0) id = rad_bpe_lookup(&t->bpe, json_string_value(v), json_string_length(v));
		if (id >= 0) *(k ? &t->bos : &t->eos) = id;
	}
	json_decref(c);
}

static char *dir_of(const char *path)
{
	const char *sl = strrchr(path, '/');
	if (!sl) return rad_strdup(".");
	char *d = rad_strdup(path);
	d[sl - path] = 0;
	return d;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The pre_tokenizer / normalizer of a tokenizer.json: sets t->pattern, literal,
 * add_prefix_space, nfc; *byte_level when a ByteLevel step is present. */
static int hf_pretok(rad_tokenizer *t, ld *L, json_t *pre, int *literal, int *byte_level)
{
	if (!pre || json_is_null(pre)) return 0;
	const char *type = jstr(pre, "type");
	if (!type) return fail(L, "pre_tokenizer: no type");
	if (!strcmp(type, "Sequence")) {
		json_t *arr = json_object_get(pre, "pretokenizers"), *e;
		size_t i;
		json_array_foreach(arr, i, e) if (hf_pretok(t, L, e, literal, byte_level)) return -1;
		return 0;
	}
	if (!strcmp(type, "ByteLevel")) {
		*byte_level = 1;
		if (json_is_true(json_object_get(pre, "add_prefix_space"))) {
			/* after a Split, it would put a space before every piece: not supported */
			if (t->pattern) return fail(L, "pre_tokenizer: ByteLevel with add_prefix_space after a Split is not supported");
			t->add_prefix_space = 1;
		}
		json_t *ur = json_object_get(pre, "use_regex");
		if (!ur || json_is_true(ur)) {
			if (t->pattern) return fail(L, "pre_tokenizer: two split patterns");
			t->pattern = rad_strdup(rad_pretok_named("gpt2"));
		}
		return 0;
	}
	if (!strcmp(type, "Split")) {
		json_t *pat = json_object_get(pre, "pattern");
		const char *re = jstr(pat, "Regex"), *lit = jstr(pat, "String");
		const char *beh = jstr(pre, "behavior");
		if (!re && !lit) return fail(L, "pre_tokenizer: Split without a pattern");
		if (!beh || strcmp(beh, "Isolated") || json_is_true(json_object_get(pre, "invert")))
			return fail(L, "pre_tokenizer: Split with behavior %s%s is not supported (only Isolated)",
			            beh ? beh : "(none)", json_is_true(json_object_get(pre, "invert")) ? " and invert" : "");
		if (t->pattern) return fail(L, "pre_tokenizer: two split patterns");
		t->pattern = rad_strdup(re ? re : lit);
		*literal = !re;
		return 0;
	}
	return fail(L, "pre_tokenizer %s is not supported", type);
}

static int hf_normalizer(rad_tokenizer *t, ld *L, json_t *n)
{
	if (!n || json_is_null(n)) return 0;
	const char *type = jstr(n, "type");
	if (!type) return fail(L, "normalizer: no type");
	if (!strcmp(type, "Sequence")) {
		json_t *arr = json_object_get(n, "normalizers"), *e;
		size_t i;
		json_array_foreach(arr, i, e) if (hf_normalizer(t, L, e)) return -1;
		return 0;
	}
	if (!strcmp(type, "NFC")) { t->nfc = 1; return 0; }
	return fail(L, "normalizer %s is not supported (only NFC)", type);
}

static int load_hf(rad_tokenizer *t, ld *L, const char *buf, size_t len, int *literal)
{
	js j = {buf, buf + len, L};
	vocab v = {0};
	rad_text key = {0}, type = {0};
	const char *span[4][2] = {{0}};   /* added_tokens, normalizer, pre_tokenizer, decoder */
	static const char *span_keys[4] = {"added_tokens", "normalizer", "pre_tokenizer", "decoder"};
	int first = 1, r, have_model = 0, ignore_merges = 0, byte_level = 0;
	json_t *sub[4] = {0};
	while ((r = js_next_key(&j, &first, &key)) == 1) {
		if (!strcmp(key.s, "model")) {
			int f2 = 1;
			have_model = 1;
			while ((r = js_next_key(&j, &f2, &key)) == 1) {
				if (!strcmp(key.s, "type")) {
					if (js_str(&j, &type)) goto out;
				} else if (!strcmp(key.s, "vocab")) {
					if (parse_vocab_object(&j, &v)) goto out;
				} else if (!strcmp(key.s, "merges")) {
					if (parse_merges(&j, &v)) goto out;
				} else if (!strcmp(key.s, "ignore_merges")) {
					js_ws(&j);
					ignore_merges = j.end - j.p >= 4 && !memcmp(j.p, "true", 4);
					if (js_skip(&j, 0)) goto out;
				} else if (js_skip(&j, 0)) goto out;
			}
			if (r < 0) goto out;
			continue;
		}
		int k;
		for (k = 0; k < 4 && strcmp(key.s, span_keys[k]); k++) {}
		js_ws(&j);
		const char *st = j.p;
		if (js_skip(&j, 0)) goto out;
		if (k < 4) span[k][0] = st, span[k][1] = j.p;
	}
	if (r < 0) goto out;
	if (!have_model) { fail(L, "no \"model\" (not a tokenizer.json?)"); goto out; }
	if (type.n && strcmp(type.s, "BPE")) { fail(L, "model type %s is not supported (only byte-level BPE)", type.s); goto out; }
	for (int k = 0; k < 4; k++) {
		if (!span[k][0]) continue;
		json_error_t e;
		sub[k] = json_loadb(span[k][0], span[k][1] - span[k][0], JSON_DECODE_ANY, &e);
		if (!sub[k]) { fail(L, "%s: %s", span_keys[k], e.text); goto out; }
	}
	json_t *a;
	size_t i;
	json_array_foreach(sub[0], i, a) {
		json_t *id = json_object_get(a, "id");
		const char *content = jstr(a, "content");
		if (!json_is_integer(id) || !content || json_integer_value(id) < 0 || json_integer_value(id) >= (1 << 30)) {
			fail(L, "added_tokens: entry %zu has no valid id and content", i + 1);
			goto out;
		}
		add_added(t, content, json_string_length(json_object_get(a, "content")), (int32_t)json_integer_value(id),
		          json_is_true(json_object_get(a, "special")), json_is_true(json_object_get(a, "lstrip")),
		          json_is_true(json_object_get(a, "rstrip")));
	}
	if (hf_normalizer(t, L, sub[1]) || hf_pretok(t, L, sub[2], literal, &byte_level)) goto out;
	const char *dt = sub[3] ? jstr(sub[3], "type") : NULL;
	if (dt && !strcmp(dt, "ByteLevel")) byte_level = 1;
	if (sub[3] && json_is_object(sub[3]) && dt && !strcmp(dt, "Sequence")) {
		json_t *e;
		json_array_foreach(json_object_get(sub[3], "decoders"), i, e) {
			const char *et = jstr(e, "type");
			if (et && !strcmp(et, "ByteLevel")) byte_level = 1;
		}
	}
	if (!byte_level) { fail(L, "not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer or decoder)"); goto out; }
	if (build(t, L, &v, 1)) goto out;
	t->bpe.whole_first = ignore_merges;
	snprintf(t->format, sizeof t->format, "tokenizer.json");
out:
	for (int k = 0; k < 4; k++) json_decref(sub[k]);
	vocab_free(&v);
	rad_text_free(&key);
	rad_text_free(&type);
	return L->failed ? -1 : 0;
}

/* GPT-2's encoder.json (or vocab.json) with vocab.bpe (or merges.txt). */
static int load_gpt2(rad_tokenizer *t, ld *L, const char *buf, size_t len, const char *path)
{
	vocab v = {0};
	js j = {buf, buf + len, L};
	char *dir = dir_of(path), *mpath = join(dir, "vocab.bpe");
	size_t mlen = 0;
	char *m = NULL;
	int mmapped = 0;
	struct stat st;
	if (stat(mpath, &st)) { free(mpath); mpath = join(dir, "merges.txt"); }
	if (parse_vocab_object(&j, &v)) goto out;
	ld L2 = {mpath, L->err, L->errsz, 0};
	m = read_file(&L2, mpath, &mlen, &mmapped);
	if (!m) { L->failed = 1; goto out; }
	char *p = m, *end = m + mlen;
	size_t lineno = 0;
	while (p < end) {
		char *nl = memchr(p, '\n', end - p);
		if (!nl) nl = end;
		lineno++;
		size_t n = nl - p;
		if (n && p[n - 1] == '\r') n--;
		if (n && !(lineno == 1 && p[0] == '#')) {
			char *sp = memchr(p, ' ', n);
			if (!sp) { fail(&L2, "line %zu: not two tokens separated by a space", lineno); L->failed = 1; goto out; }
			merge_add(&v, p, sp - p, sp + 1, n - (sp + 1 - p));
		}
		p = nl + 1;
	}
	/* <|endoftext|> is a token of the vocab file, and a special token. */
	for (size_t i = 0; i < v.n; i++)
		if (!strcmp(v.strs.s + v.soff[i], "<|endoftext|>")) add_added(t, "<|endoftext|>", 13, v.sid[i], 1, 0, 0);
	t->pattern = rad_strdup(rad_pretok_named("gpt2"));
	if (build(t, L, &v, 1)) goto out;
	snprintf(t->format, sizeof t->format, "gpt2-files");
out:
	release_file(m, mlen, mmapped);
	free(dir);
	free(mpath);
	vocab_free(&v);
	return L->failed ? -1 : 0;
}

static int b64val(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
	     : c == '+' ? 62 : c == '/' ? 63 : -1;
}

static const char *guess_pattern(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strstr(base, "cl100k")) return "cl100k";
	if (strstr(base, "o200k")) return "o200k";
	if (strstr(base, "r50k") || strstr(base, "p50k") || strstr(base, "gpt2")) return "gpt2";
	if (strstr(base, "llama") || !strcmp(base, "tokenizer.model")) return "llama3";
	return NULL;
}

static int load_tiktoken(rad_tokenizer *t, ld *L, const char *buf, size_t len, const char *path, const char *pattern)
{
	if (!pattern) pattern = guess_pattern(path);
	if (!pattern) return fail(L, "cannot tell the split pattern of a tiktoken file from its name; give one (gpt2, cl100k, o200k, llama3)");
	const char *pat = rad_pretok_named(pattern);
	if (!pat || !strcmp(pattern, "qwen2")) return fail(L, "unknown split pattern \"%s\" (gpt2, cl100k, o200k, llama3)", pattern);
	/* count lines, find the largest rank */
	const char *p = buf, *end = buf + len;
	long long max_rank = -1;
	size_t lines = 0, max_line = 0;
	rad_text tok = {0};
	typedef struct { uint32_t off, len, rank; } ent;
	ent *e = NULL;
	size_t ne = 0, ce = 0;
	rad_text all = {0};
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		if (!nl) nl = end;
		lines++;
		const char *sp = memchr(p, ' ', nl - p);
		if (nl == p) { p = nl + 1; continue; }
		if (!sp) { fail(L, "line %zu: not \"base64 rank\"", lines); goto out; }
		/* base64 */
		tok.n = 0;
		uint32_t acc = 0;
		int bits = 0;
		for (const char *q = p; q < sp; q++) {
			if (*q == '=') break;
			int d = b64val((unsigned char)*q);
			if (d < 0) { fail(L, "line %zu: bad base64", lines); goto out; }
			acc = acc << 6 | (uint32_t)d;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				char c = (char)(acc >> bits);
				rad_text_append(&tok, &c, 1);
			}
		}
		long long rank = -1;
		const char *ee = parse_int(sp + 1, nl, &rank);
		if (!ee || rank < 0 || rank >= (1 << 30) || (ee < nl && *ee != '\r')) {
			fail(L, "line %zu: bad rank", lines);
			goto out;
		}
		if (!tok.n) { fail(L, "line %zu: empty token", lines); goto out; }
		if (rank > max_rank) max_rank = rank, max_line = lines;
		if (ne == ce) { ce = ce ? ce * 2 : 4096; e = rad_realloc(e, ce * sizeof *e); }
		e[ne++] = (ent){(uint32_t)all.n, (uint32_t)tok.n, (uint32_t)rank};
		rad_text_append(&all, tok.s, tok.n);
		p = nl + 1;
	}
	if (!ne) { fail(L, "no tokens"); goto out; }
	if (max_rank >= id_bound(ne)) {   /* the pattern's few special tokens come after the ranks */
		fail(L, "line %zu: rank %lld is far beyond the file's %zu ranks (ids must be below %lld)", max_line, max_rank, ne,
		     (long long)id_bound(ne));
		goto out;
	}
	/* the pattern's special tokens */
	struct { const char *s; int32_t id; } sp_cl100k[] = {{"<|endoftext|>", 100257}, {"<|fim_prefix|>", 100258},
		{"<|fim_middle|>", 100259}, {"<|fim_suffix|>", 100260}, {"<|endofprompt|>", 100276}},
	  sp_o200k[] = {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}},
	  sp_gpt2[] = {{"<|endoftext|>", 50256}};
	if (!strcmp(pattern, "cl100k")) for (size_t i = 0; i < 5; i++) add_added(t, sp_cl100k[i].s, strlen(sp_cl100k[i].s), sp_cl100k[i].id, 1, 0, 0);
	else if (!strcmp(pattern, "o200k")) for (size_t i = 0; i < 2; i++) add_added(t, sp_o200k[i].s, strlen(sp_o200k[i].s), sp_o200k[i].id, 1, 0, 0);
	else if (!strcmp(pattern, "llama3")) {
		/* Llama 3.1's 256 special tokens after the ranks */
		static const char *named3[] = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
			"<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
			"<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"};
		int32_t base = (int32_t)max_rank + 1;
		char nm[64];
		for (int i = 0; i < 256; i++) {
			if (i < 11) snprintf(nm, sizeof nm, "%s", named3[i]);
			else snprintf(nm, sizeof nm, "<|reserved_special_token_%d|>", i - 8);
			add_added(t, nm, strlen(nm), base + i, 1, 0, 0);
		}
	} else for (size_t i = 0; i < 1; i++) add_added(t, sp_gpt2[i].s, strlen(sp_gpt2[i].s), sp_gpt2[i].id, 1, 0, 0);
	{
		int32_t max_id = (int32_t)max_rank;
		for (size_t i = 0; i < t->n_add; i++) if (t->add[i].id > max_id) max_id = t->add[i].id;
		uint32_t n_ids = (uint32_t)max_id + 1;
		rad_bpe_init(&t->bpe, n_ids);
		t->kind = rad_calloc(n_ids, 1);
		for (size_t i = 0; i < ne; i++) {
			if (t->kind[e[i].rank]) { fail(L, "rank %u given twice", e[i].rank); goto out; }
			rad_bpe_set(&t->bpe, e[i].rank, all.s + e[i].off, e[i].len);
			t->kind[e[i].rank] = K_VOCAB;
		}
		for (size_t i = 0; i < t->n_add; i++) {
			added *a = &t->add[i];
			if (t->kind[a->id]) { fail(L, "special token %s collides with rank %d", a->s, a->id); goto out; }
			rad_bpe_set(&t->bpe, a->id, a->s, a->n);
			t->kind[a->id] = K_SPECIAL;
			t->add_first[(unsigned char)a->s[0]] = 1;
		}
		if (t->n_add) qsort(t->add, t->n_add, sizeof *t->add, cmp_added_len);
		uint32_t dup;
		if (rad_bpe_build_map(&t->bpe, usable_in_bpe, t, &dup)) { fail(L, "rank %u: the same bytes as another rank", dup); goto out; }
		for (int b = 0; b < 256; b++)
			if (t->bpe.byte_id[b] < 0) { fail(L, "no token for the byte 0x%02x", b); goto out; }
		t->bpe.rank_by_bytes = 1;
		t->bpe.whole_first = 1;
		t->pattern = rad_strdup(pat);
		snprintf(t->format, sizeof t->format, "tiktoken/%s", pattern);
	}
out:
	free(e);
	rad_text_free(&tok);
	rad_text_free(&all);
	return L->failed ? -1 : 0;
}

static void fingerprint(rad_tokenizer *t)
{
	uint64_t h = RAD_HASH_SEED;
	const rad_bpe *b = &t->bpe;
	h = rad_hash64("rad-tokenizer-1", 15, h);
	h = rad_hash64(&b->n_ids, sizeof b->n_ids, h);
	h = rad_hash64(t->kind, b->n_ids, h);
	h = rad_hash64(b->len, (size_t)b->n_ids * sizeof *b->len, h);
	for (uint32_t i = 0; i < b->n_ids; i++)
		if (b->len[i] != UINT32_MAX) h = rad_hash64(b->bytes + b->off[i], b->len[i], h);
	int flags[4] = {b->rank_by_bytes, b->whole_first, t->nfc, t->add_prefix_space};
	h = rad_hash64(flags, sizeof flags, h);
	if (t->pattern) h = rad_hash64(t->pattern, strlen(t->pattern) + 1, h);
	if (b->pairs) {
		/* merges in rank order: the pair table's content, independent of its layout */
		uint64_t acc = 0;
		for (uint32_t i = 0; i <= b->pair_mask; i++)
			if (b->pairs[i].key != UINT64_MAX) {
				uint64_t rec[2] = {b->pairs[i].key, (uint64_t)b->pairs[i].rank << 32 | (uint32_t)b->pairs[i].id};
				acc += rad_hash64(rec, sizeof rec, RAD_HASH_SEED);   /* order-free sum */
			}
		h = rad_hash64(&acc, sizeof acc, h);
	}
	t->fp = h;
}

rad_tokenizer *rad_tokenizer_load(const char *path, const char *pattern, char *err, size_t errsz)
{
	char *pbuf = NULL;
	struct stat st;
	byte_level_init();
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) path = pbuf = join(path, "tokenizer.json");
	ld L = {path, err, errsz, 0};
	rad_tokenizer *t = rad_calloc(1, sizeof *t);
	t->eos = t->bos = -1;
	t->path = rad_strdup(path);
	size_t len;
	int mapped = 0;
	char *buf = read_file(&L, path, &len, &mapped);
	int literal = 0;
	if (!buf) goto bad;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t i = 0;
	while (i < len && strchr(" \t\r\n", buf[i])) i++;
	if (i < len && buf[i] == '{') {
		/* tokenizer.json has a "model"; encoder.json / vocab.json are a flat object */
		const char *mk = strstr(base, "encoder") || strstr(base, "vocab") ? NULL : "\"model\"";
		int hf = mk ? 1 : 0;
		if (hf ? load_hf(t, &L, buf, len, &literal) : load_gpt2(t, &L, buf, len, path)) goto bad;
	} else {
		if (load_tiktoken(t, &L, buf, len, path, pattern)) goto bad;
	}
	if (pattern && strncmp(t->format, "tiktoken", 8)) {
		const char *pat = rad_pretok_named(pattern);
		if (!pat) { fail(&L, "unknown split pattern \"%s\"", pattern); goto bad; }
		free(t->pattern);
		t->pattern = rad_strdup(pat);
		literal = 0;
	}
	t->pre = rad_pretok_new(t->pattern, literal, err, errsz);
	if (!t->pre) { char e2[300]; snprintf(e2, sizeof e2, "%s", err); fail(&L, "%s", e2); goto bad; }
	char *dir = dir_of(path);
	read_config(t, dir);
	free(dir);
	default_eos_bos(t);
	fingerprint(t);
	snprintf(t->desc, sizeof t->desc, "%s %.300s: %u ids, %u merges, %zu added tokens, %s%s, eos %d, fingerprint %016llx",
	         t->format, path, t->bpe.n_ids, t->bpe.n_pairs, t->n_add, t->nfc ? "NFC, " : "",
	         t->pattern ? "split regex" : "no split", t->eos, (unsigned long long)t->fp);
	release_file(buf, len, mapped);
	free(pbuf);
	return t;
bad:
	release_file(buf, len, mapped);
	free(pbuf);
	rad_tokenizer_free(t);
	return NULL;
}

rad_tokenizer *rad_tokenizer_open(const char *path, const char *pattern)
{
	char err[512];
	rad_tokenizer *t = rad_tokenizer_load(path, pattern, err, sizeof err);
	if (!t) rad_die(RAD_EXIT_DATA, NULL, "%s", err);
	return t;
}

void rad_tokenizer_free(rad_tokenizer *t)
{
	if (!t) return;
	rad_bpe_free(&t->bpe);
	free(t->kind);
	for (size_t i = 0; i < t->n_add; i++) free(t->add[i].s);
	free(t->add);
	rad_pretok_free(t->pre);
	free(t->pattern);
	free(t->path);
	free(t->cache);
	free(t->whole);
	rad_text_free(&t->nfcbuf);
	free(t);
}

/* ---- encoding --------------------------------------------------------------------- */

static void piece(void *ctx, const char *s, size_t n)
{
	rad_tokenizer *t = ctx;
	rad_ids *out = t->out;
	if (n == 1) { rad_ids_push(out, t->bpe.byte_id[(unsigned char)s[0]]); return; }
	centry *e = NULL;
	uint64_t h = 0;
	if (n <= CACHE_KEY) {
		h = rad_bpe_hash(s, n);
		e = &t->cache[h & ((1u << CACHE_BITS) - 1)];
		if (e->h == h && e->n == n && !memcmp(e->s, s, n)) {
			ids_reserve(out, CACHE_IDS);
			for (int i = 0; i < e->nids; i++) out->v[out->n + i] = e->ids[i];
			out->n += e->nids;
			return;
		}
	}
	ids_reserve(out, n);
	int32_t *dst = out->v + out->n;
	size_t m = 0;
	/* A piece that is a token is usually that token: always with tiktoken (and
	 * ignore_merges); with merges when merging the token's own bytes gives it back, which
	 * is learnt once per token. */
	int32_t id = rad_bpe_lookup(&t->bpe, s, n);
	if (id >= 0) {
		if (!t->bpe.whole_first && !t->whole[id]) {
			m = rad_bpe_encode(&t->bpe, (const unsigned char *)s, n, dst);
			t->whole[id] = m == 1 && dst[0] == id ? 1 : 2;
		}
		if (t->bpe.whole_first || t->whole[id] == 1) dst[0] = id, m = 1;
		else if (!m) m = rad_bpe_encode(&t->bpe, (const unsigned char *)s, n, dst);
	} else {
		m = rad_bpe_encode(&t->bpe, (const unsigned char *)s, n, dst);
	}
	if (e && m <= CACHE_IDS) {
		e->h = h;
		e->n = (uint8_t)n;
		e->nids = (uint8_t)m;
		memcpy(e->s, s, n);
		for (size_t i = 0; i < m; i++) e->ids[i] = dst[i];
	}
	out->n += m;
}

/* Length of the valid UTF-8 character at s[0..n), or 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80) return 1;
	if (c < 0xc2) return 0;
	if (c < 0xe0) return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
		if (c == 0xe0 && s[1] < 0xa0) return 0;          /* overlong */
		if (c == 0xed && s[1] >= 0xa0) return 0;         /* surrogates */
		return 3;
	}
	if (c < 0xf5) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) return 0;
		if (c == 0xf0 && s[1] < 0x90) return 0;
		if (c == 0xf4 && s[1] >= 0x90) return 0;
		return 4;
	}
	return 0;
}

/* Length of the valid UTF-8 prefix of s[n]; *needs_nfc set when it holds a byte that
 * can start a character at or above U+0300 (below it, all text is NFC already). */
static size_t valid_prefix(const unsigned char *s, size_t n, int *needs_nfc)
{
	size_t i = 0;
	int hi = 0;
	while (i < n) {
		if (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (!(w & 0x8080808080808080ULL)) { i += 8; continue; }
		}
		if (s[i] < 0x80) { i++; continue; }
		size_t k = utf8_char(s + i, n - i);
		if (!k) break;
		if (s[i] >= 0xcc) hi = 1;
		i += k;
	}
	*needs_nfc = hi;
	return i;
}

/* NFC of s[n] into out, touching only the stretches around bytes that start characters
 * at or above U+0300.  Cutting before an ASCII character is safe: no composition has an
 * ASCII second character and canonical reordering stops at it.  Returns 0 (and leaves
 * out alone) when the text is NFC already. */
static int nfc_into(const char *s, size_t n, rad_text *out)
{
	size_t done = 0, i = 0;
	int changed = 0;
	while (i < n) {
		if ((unsigned char)s[i] < 0xcc) { i++; continue; }
		size_t a = i, b = i + 1;
		while (a > done && (unsigned char)s[a] >= 0x80) a--;   /* back to an ASCII character */
		while (b < n && (unsigned char)s[b] >= 0x80) b++;
		utf8proc_uint8_t *dst = NULL;
		utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *)s + a, (utf8proc_ssize_t)(b - a), &dst,
		                                  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
		if (k >= 0 && ((size_t)k != b - a || memcmp(dst, s + a, b - a))) {
			if (!changed) out->n = 0;
			changed = 1;
			rad_text_append(out, s + done, a - done);
			rad_text_append(out, (const char *)dst, (size_t)k);
			done = b;
		}
		free(dst);
		i = b;
	}
	if (changed) rad_text_append(out, s + done, n - done);
	return changed;
}

static void encode_valid(rad_tokenizer *t, const char *s, size_t n, int nfc_check)
{
	if (t->nfc && nfc_check && nfc_into(s, n, &t->nfcbuf)) {
		rad_pretok_split(t->pre, t->nfcbuf.s, t->nfcbuf.n, piece, t);
		return;
	}
	rad_pretok_split(t->pre, s, n, piece, t);
}

/* Text between added tokens. */
static void encode_segment(rad_tokenizer *t, const char *s, size_t n)
{
	if (!n) return;
	if (t->add_prefix_space && s[0] != ' ') {   /* ByteLevel's add_prefix_space: " " + segment */
		char *copy = rad_malloc(n + 1);
		copy[0] = ' ';
		memcpy(copy + 1, s, n);
		t->add_prefix_space = 0;
		encode_segment(t, copy, n + 1);
		t->add_prefix_space = 1;
		free(copy);
		return;
	}
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		int hi;
		size_t k = valid_prefix(u + i, n - i, &hi);
		if (k) encode_valid(t, s + i, k, hi);
		i += k;
		size_t j = i;
		while (j < n && !utf8_char(u + j, n - j)) j++;
		if (j > i) piece(t, s + i, j - i);
		i = j;
	}
}

static int is_ws_at(const char *s, size_t n, size_t *len)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &cp);
	if (k <= 0) return 0;
	*len = (size_t)k;
	if (cp == ' ' || (cp >= 9 && cp <= 13) || cp == 0x85) return 1;
	utf8proc_category_t c = utf8proc_category(cp);
	return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

int32_t rad_tok_find_added(const rad_tokenizer *t, const char *text, size_t len, size_t *pos, size_t *plen)
{
	for (size_t i = 0; i < len; i++) {
		if (!t->add_first[(unsigned char)text[i]]) continue;
		const added *hit = NULL;
		for (size_t a = 0; a < t->n_add; a++) {   /* longest first */
			const added *x = &t->add[a];
			if (x->n && x->n <= len - i && x->s[0] == text[i] && !memcmp(x->s, text + i, x->n)) { hit = x; break; }
		}
		if (!hit) continue;
		size_t st = i, en = i + hit->n, wl;
		if (hit->lstrip)
			while (st > 0) {   /* back over whitespace */
				size_t b = st - 1;
				while (b > 0 && ((unsigned char)text[b] & 0xc0) == 0x80) b--;
				if (!is_ws_at(text + b, st - b, &wl) || b + wl != st) break;
				st = b;
			}
		if (hit->rstrip)
			while (en < len && is_ws_at(text + en, len - en, &wl)) en += wl;
		*pos = st;
		*plen = en - st;
		return hit->id;
	}
	return -1;
}

size_t rad_tok_encode(rad_tokenizer *t, const char *text, size_t len, int flags, rad_ids *out)
{
	size_t before = out->n;
	if (!t->cache) {
		t->cache = aligned_alloc(64, ((size_t)1 << CACHE_BITS) * sizeof *t->cache);
		if (!t->cache) rad_die(RAD_EXIT_DATA, NULL, "out of memory");
		memset(t->cache, 0, ((size_t)1 << CACHE_BITS) * sizeof *t->cache);
	}
	if (!t->whole) t->whole = rad_calloc(t->bpe.n_ids, 1);
	t->out = out;
	if (!(flags & RAD_TOK_SPECIAL) || !t->n_add) {
		encode_segment(t, text, len);
		return out->n - before;
	}
	size_t seg = 0;
	for (;;) {
		size_t pos, n;
		int32_t id = rad_tok_find_added(t, text + seg, len - seg, &pos, &n);
		if (id < 0) break;
		encode_segment(t, text + seg, pos);
		rad_ids_push(out, id);
		seg += pos + n;
	}
	encode_segment(t, text + seg, len - seg);
	return out->n - before;
}

/* ---- decoding and lookups ----------------------------------------------------------- */

int rad_tok_decode(const rad_tokenizer *t, const int32_t *ids, size_t n, int flags, rad_text *out)
{
	for (size_t i = 0; i < n; i++) {
		int32_t id = ids[i];
		if (id < 0 || (uint32_t)id >= t->bpe.n_ids || t->bpe.len[id] == UINT32_MAX) return -1;
		if ((flags & RAD_TOK_SKIP_SPECIAL) && t->kind[id] == K_SPECIAL) continue;
		rad_text_append(out, t->bpe.bytes + t->bpe.off[id], t->bpe.len[id]);
	}
	if (!out->s) rad_text_append(out, "", 0);
	return 0;
}

const char *rad_tok_piece(const rad_tokenizer *t, int32_t id, size_t *len)
{
	if (id < 0 || (uint32_t)id >= t->bpe.n_ids || t->bpe.len[id] == UINT32_MAX) return NULL;
	if (len) *len = t->bpe.len[id];
	return t->bpe.bytes + t->bpe.off[id];
}

uint32_t rad_tok_n_vocab(const rad_tokenizer *t) { return t->bpe.n_ids; }

int32_t rad_tok_id(const rad_tokenizer *t, const char *s)
{
	int32_t id = find_added(t, s);
	return id >= 0 ? id : rad_bpe_lookup(&t->bpe, s, strlen(s));
}

int rad_tok_is_special(const rad_tokenizer *t, int32_t id)
{
	return id >= 0 && (uint32_t)id < t->bpe.n_ids && t->kind[id] == K_SPECIAL;
}

int32_t rad_tok_eos(const rad_tokenizer *t) { return t->eos; }
int32_t rad_tok_bos(const rad_tokenizer *t) { return t->bos; }
uint64_t rad_tok_fingerprint(const rad_tokenizer *t) { return t->fp; }
const char *rad_tok_describe(const rad_tokenizer *t) { return t->desc; }
const char *rad_tok_path(const rad_tokenizer *t) { return t->path; }

const rad_bpe *rad_tok_bpe(const rad_tokenizer *t) { return &t->bpe; }
void rad_tok_set_long_chunk(rad_tokenizer *t, size_t chunk) { t->bpe.long_chunk = chunk; }
