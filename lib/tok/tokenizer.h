/* tok/tokenizer.h — byte-level BPE tokenizers: load, encode, decode (man 1 rad-tokenize).
 *
 * Formats (rad_tokenizer_load picks by name and content):
 *   - Hugging Face tokenizer.json with a BPE model over byte-level tokens (GPT-2, Llama-3,
 *     Qwen2/2.5/3, SmolLM...): vocab, merges ("a b" or ["a","b"]), the Split
 *     pre-tokenizer regex, ByteLevel, an NFC normalizer, added tokens.  A directory is
 *     taken to hold tokenizer.json (and tokenizer_config.json, read for eos/bos).
 *   - GPT-2's original encoder.json / vocab.json with vocab.bpe / merges.txt beside it.
 *   - tiktoken rank files (*.tiktoken, Llama-3's tokenizer.model): "base64 rank" lines and
 *     a named split pattern ("gpt2", "cl100k", "o200k", "llama3"), guessed from the file
 *     name unless given; the pattern's special tokens come with it.
 *
 * Encoding of arbitrary bytes: the input is cut into maximal runs of valid UTF-8 and runs
 * of bytes that are not; each valid run is normalized and pre-tokenized as if it were a
 * text of its own, each invalid run is one piece merged from its byte tokens.  So
 * decode(encode(x)) == x for every byte string x (for NFC tokenizers: when x is NFC).
 *
 * A rad_tokenizer is read-only after loading except for the encoder's scratch space and
 * piece cache: use one rad_tokenizer per thread for encoding (decoding and the lookups
 * may be shared).  All ids are 32-bit and non-negative. */
#ifndef RAD_TOKENIZER_H
#define RAD_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct rad_tokenizer rad_tokenizer;

/* Growable arrays the encoder and decoder append to.  Zero-initialise; free with
 * rad_ids_free / rad_text_free.  rad_text keeps a NUL after its n bytes. */
typedef struct rad_ids { int32_t *v; size_t n, cap; } rad_ids;
typedef struct rad_text { char *s; size_t n, cap; } rad_text;
void rad_ids_push(rad_ids *a, int32_t id);
void rad_ids_append(rad_ids *a, const int32_t *v, size_t n);
void rad_ids_free(rad_ids *a);
void rad_text_append(rad_text *t, const char *s, size_t n);
void rad_text_free(rad_text *t);

/* Loads path (see above).  pattern: a split pattern name for tiktoken files, or NULL to
 * guess it from the file name (and for other formats, NULL).  On failure returns NULL and
 * writes "FILE: why" into err[errsz]. */
rad_tokenizer *rad_tokenizer_load(const char *path, const char *pattern, char *err, size_t errsz);
/* The same, but a failure is fatal: "rad-TOOL: FILE: why", exit 1. */
rad_tokenizer *rad_tokenizer_open(const char *path, const char *pattern);
void rad_tokenizer_free(rad_tokenizer *t);

/* Encoding flags. */
#define RAD_TOK_SPECIAL 1       /* encode: added-token text in the input becomes those
                                   tokens (Hugging Face's default); without it, all input is
                                   ordinary text (tiktoken's encode_ordinary) */
#define RAD_TOK_SKIP_SPECIAL 2  /* decode: leave special tokens out */

/* Appends the ids of text[len] to out; returns how many were appended.  Never fails:
 * every byte string has an encoding. */
size_t rad_tok_encode(rad_tokenizer *t, const char *text, size_t len, int flags, rad_ids *out);

/* The leftmost-longest added token in s[n] (special or not): returns its id and sets
 * *pos and *len to the bytes it covers (with the whitespace its lstrip/rstrip take), or
 * returns -1.  What RAD_TOK_SPECIAL matches. */
int32_t rad_tok_find_added(const rad_tokenizer *t, const char *s, size_t n, size_t *pos, size_t *len);

/* Appends the bytes of ids[n] to out (raw bytes: a token may end inside a UTF-8
 * character).  Returns 0, or -1 when an id is not a token (out then holds the bytes of the
 * ids before it). */
int rad_tok_decode(const rad_tokenizer *t, const int32_t *ids, size_t n, int flags, rad_text *out);

/* The bytes of one token (not NUL-terminated), or NULL for an id that is not a token. */
const char *rad_tok_piece(const rad_tokenizer *t, int32_t id, size_t *len);

/* Number of ids: one more than the largest id (the model's vocabulary must be at least
 * this big).  Holes (ids with no token) are possible in some files. */
uint32_t rad_tok_n_vocab(const rad_tokenizer *t);
/* The id of the token whose text is exactly s (an added/special token such as
 * "<|im_end|>", or an ordinary token given as raw bytes), or -1. */
int32_t rad_tok_id(const rad_tokenizer *t, const char *s);
/* 1 for special added tokens (those decode with RAD_TOK_SKIP_SPECIAL drops). */
int rad_tok_is_special(const rad_tokenizer *t, int32_t id);
/* End-of-sequence / beginning-of-sequence ids (tokenizer_config.json beside the file when
 * present, otherwise the format's usual one), or -1 when there is none. */
int32_t rad_tok_eos(const rad_tokenizer *t);
int32_t rad_tok_bos(const rad_tokenizer *t);

/* A 64-bit hash of everything that decides the ids: tokens, merges or ranks, split
 * pattern, normalizer, added tokens.  Independent of the file's path and layout. */
uint64_t rad_tok_fingerprint(const rad_tokenizer *t);
/* One line describing the tokenizer (format, sizes, pattern), for --verbose. */
const char *rad_tok_describe(const rad_tokenizer *t);
/* The path it was loaded from. */
const char *rad_tok_path(const rad_tokenizer *t);
/* For tests: pieces longer than three chunks are merged in segments of about chunk bytes
 * (tok/bpe.h, rad_bpe_encode_long; 0 = the default, 256).  A small chunk sends nearly
 * every piece that way; the ids must not change. */
void rad_tok_set_long_chunk(rad_tokenizer *t, size_t chunk);

#endif
