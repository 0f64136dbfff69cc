/* libFuzzer target: encode then decode arbitrary bytes with GPT-2's merges, cl100k's
 * ranks and the tiny byte tokenizer; decoding must give the input back, every id must be
 * a token, and the heap, scan and segmented merges must agree.  The first input byte
 * picks the tokenizer, whether added tokens are matched, and the segment length.  RAD_TOP names the source tree
 * (default: the working directory). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/bpe.h"
#include "tok/tokenizer.h"

static rad_tokenizer *toks[3];

static rad_tokenizer *load(const char *rel)
{
	char path[4096], err[512];
	const char *top = getenv("RAD_TOP");
	snprintf(path, sizeof path, "%s/tests/data/tokenizers/%s", top ? top : ".", rel);
	rad_tokenizer *t = rad_tokenizer_load(path, NULL, err, sizeof err);
	if (!t) { fprintf(stderr, "fuzz_tokenize: %s\n", err); abort(); }
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!toks[0]) {
		toks[0] = load("gpt2/encoder.json");
		toks[1] = load("tiktoken/cl100k_base.tiktoken");
		toks[2] = load("tiny/tokenizer.json");
	}
	if (size < 1) return 0;
	rad_tokenizer *t = toks[data[0] % 3];
	int flags = data[0] & 0x80 ? RAD_TOK_SPECIAL : 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	rad_ids ids = {0};
	rad_text out = {0};
	rad_tok_encode(t, s, n, flags, &ids);
	if (rad_tok_decode(t, ids.v, ids.n, 0, &out) != 0) abort();
	if (out.n != n || (n && memcmp(out.s, s, n))) abort();
	for (size_t i = 0; i < ids.n; i++)
		if (ids.v[i] < 0 || (uint32_t)ids.v[i] >= rad_tok_n_vocab(t)) abort();
	if (n <= 128) {
		int32_t a[128], b[128];
		const rad_bpe *bp = rad_tok_bpe(t);
		size_t na = rad_bpe_encode_scan(bp, (const unsigned char *)s, n, a);
		size_t nb = rad_bpe_encode_heap(bp, (const unsigned char *)s, n, b);
		if (na != nb || memcmp(a, b, na * sizeof *a)) abort();
	}
	if (n <= 8192) {   /* the segmented merge of long pieces, cuts every 2 to 17 bytes */
		int32_t *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
		const rad_bpe *bp = rad_tok_bpe(t);
		size_t na = rad_bpe_encode_heap(bp, (const unsigned char *)s, n, a);
		size_t nb = rad_bpe_encode_long(bp, (const unsigned char *)s, n, 2 + (data[0] >> 2) % 16, b);
		if (na != nb || memcmp(a, b, na * sizeof *a)) abort();
		free(a);
		free(b);
	}
	rad_ids_free(&ids);
	rad_text_free(&out);
	return 0;
}
