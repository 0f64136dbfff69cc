/* tok/pretok.c — split patterns with PCRE2 (UTF, UCP, JIT). */
#include "tok/pretok.h"

#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/cli.h"

struct rad_pretok {
	pcre2_code *code;        /* unanchored */
	pcre2_code *anch;        /* the same, anchored: the usual case, a match right here */
	pcre2_match_data *md;
	int jit;
};

static const struct { const char *name, *pat; } named[] = {
	{"gpt2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
	{"r50k", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
	{"p50k", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
	{"cl100k", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
	{"llama3", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
	{"o200k", "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	          "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	          "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
	{"qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
};

const char *rad_pretok_named(const char *name)
{
	for (size_t i = 0; i < sizeof named / sizeof *named; i++)
		if (!strcmp(named[i].name, name)) return named[i].pat;
	return NULL;
}

static pcre2_code *compile(const char *pattern, int literal, uint32_t extra, char *err, size_t errsz)
{
	int ec;
	PCRE2_SIZE eo;
	uint32_t opt = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | extra | (literal ? PCRE2_LITERAL : 0);
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opt, &ec, &eo, NULL);
	if (!c) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof msg);
		snprintf(err, errsz, "split pattern: %s at offset %zu", (char *)msg, (size_t)eo);
	}
	return c;
}

/* \s as the reference tokenizers mean it: the Unicode White_Space property (Rust's regex,
 * Oniguruma).  PCRE2's own \s also takes U+180E, which Unicode stopped calling a space. */
#define WHITE_SPACE "\\t\\n\\x0b\\f\\r\\x20\\x85\\xa0\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

/* The pattern with \s and \S spelt out (inside and outside character classes). */
static char *rewrite_spaces(const char *pat)
{
	size_t n = strlen(pat), cap = n * 8 + 64 * (n + 1), o = 0;
	char *out = rad_malloc(cap);
	int in_class = 0;
	for (size_t i = 0; i < n; i++) {
		char c = pat[i];
		if (c == '\\' && i + 1 < n) {
			char d = pat[i + 1];
			const char *rep = NULL;
			if (d == 's') rep = in_class ? WHITE_SPACE : "[" WHITE_SPACE "]";
			else if (d == 'S' && !in_class) rep = "[^" WHITE_SPACE "]";
			if (rep) {
				size_t k = strlen(rep);
				memcpy(out + o, rep, k);
				o += k;
			} else {
				out[o++] = c;
				out[o++] = d;
			}
			i++;
			continue;
		}
		if (c == '[' && !in_class) {
			in_class = 1;
			out[o++] = c;
			/* a ']' right after '[' or '[^' is a literal */
			if (i + 1 < n && pat[i + 1] == '^') out[o++] = pat[++i];
			if (i + 1 < n && pat[i + 1] == ']') out[o++] = pat[++i];
			continue;
		}
		if (c == ']' && in_class) in_class = 0;
		out[o++] = c;
	}
	out[o] = 0;
	return out;
}

rad_pretok *rad_pretok_new(const char *pattern, int literal, char *err, size_t errsz)
{
	rad_pretok *p = rad_calloc(1, sizeof *p);
	if (!pattern) return p;
	char *rw = literal ? NULL : rewrite_spaces(pattern);
	if (rw) pattern = rw;
	p->code = compile(pattern, literal, 0, err, errsz);
	p->anch = p->code ? compile(pattern, literal, PCRE2_ANCHORED, err, errsz) : NULL;
	free(rw);
	if (!p->anch) { pcre2_code_free(p->code); free(p); return NULL; }
	p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0 &&
	         pcre2_jit_compile(p->anch, PCRE2_JIT_COMPLETE) == 0;
	p->md = pcre2_match_data_create(1, NULL);
	return p;
}

void rad_pretok_free(rad_pretok *p)
{
	if (!p) return;
	pcre2_match_data_free(p->md);
	pcre2_code_free(p->code);
	pcre2_code_free(p->anch);
	free(p);
}

static inline int match(rad_pretok *p, pcre2_code *c, const char *s, size_t n, size_t off)
{
	if (p->jit) return pcre2_jit_match(c, (PCRE2_SPTR)s, n, off, 0, p->md, NULL);
	return pcre2_match(c, (PCRE2_SPTR)s, n, off, PCRE2_NO_UTF_CHECK, p->md, NULL);
}

static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

void rad_pretok_split(rad_pretok *p, const char *s, size_t n, rad_piece_fn fn, void *ctx)
{
	if (!n) return;
	if (!p->code) { fn(ctx, s, n); return; }
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
	size_t gap = 0, off = 0;   /* unmatched text starts at gap; search from off */
	while (off < n) {
		int rc = match(p, p->anch, s, n, off);
		if (rc < 0) rc = match(p, p->code, s, n, off);
		if (rc < 0) break;
		size_t st = ov[0], en = ov[1];
		if (en == st) {
			if (st >= n) break;   /* empty match: not a piece; step over one character */
			off = st + utf8_len((unsigned char)s[st]);
			if (off > n) off = n;
			continue;
		}
		if (st > gap) fn(ctx, s + gap, st - gap);
		fn(ctx, s + st, en - st);
		gap = off = en;
	}
	if (gap < n) fn(ctx, s + gap, n - gap);
}
