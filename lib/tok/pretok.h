/* tok/pretok.h — pre-tokenization: cutting valid UTF-8 text into the pieces BPE works on,
 * with a split regex (PCRE2, UTF + Unicode properties, JIT).
 *
 * Every byte of the text lands in exactly one piece: text the regex does not match
 * becomes a piece of its own (Hugging Face's "Isolated" split; with the usual patterns
 * that never happens on valid UTF-8). */
#ifndef RAD_PRETOK_H
#define RAD_PRETOK_H

#include <stddef.h>

typedef struct rad_pretok rad_pretok;

/* The pattern string of a named split pattern ("gpt2" (also r50k, p50k), "cl100k",
 * "o200k", "llama3", "qwen2"), or NULL. */
const char *rad_pretok_named(const char *name);

/* Compiles pattern; NULL = no splitting (the whole text is one piece).  literal: the
 * pattern is a plain string to split on.  NULL with err on a bad pattern. */
rad_pretok *rad_pretok_new(const char *pattern, int literal, char *err, size_t errsz);
void rad_pretok_free(rad_pretok *p);

/* Calls fn for each piece of s[n] in order; s must be valid UTF-8. */
typedef void (*rad_piece_fn)(void *ctx, const char *s, size_t n);
void rad_pretok_split(rad_pretok *p, const char *s, size_t n, rad_piece_fn fn, void *ctx);

#endif
