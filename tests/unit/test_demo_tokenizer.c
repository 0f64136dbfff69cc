/* test_demo_tokenizer.c — the demo's byte-level tokenizer (pipelines/demo/tokenizer.json):
 * every byte is the token whose id is the byte's value, three special tokens follow, and
 * there are no merges, so any text encodes to its bytes. */
#include "test.h"
#include "tok/tokenizer.h"

#include <stdlib.h>

static rad_tokenizer *tok;

static void test_bytes_are_ids(void)
{
	int bad = 0;
	for (int b = 0; b < 256; b++) {
		char c = (char)b;
		rad_ids ids = {0};
		rad_tok_encode(tok, &c, 1, 0, &ids);
		bad += ids.n != 1 || ids.v[0] != b;
		rad_ids_free(&ids);
	}
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(rad_tok_n_vocab(tok), 259);
}

static void test_specials(void)
{
	EXPECT_EQ(rad_tok_id(tok, "<|endoftext|>"), 256);
	EXPECT_EQ(rad_tok_id(tok, "<|im_start|>"), 257);
	EXPECT_EQ(rad_tok_id(tok, "<|im_end|>"), 258);
	EXPECT(rad_tok_is_special(tok, 258));
	EXPECT_EQ(rad_tok_eos(tok), 256);
}

static void test_text_is_bytes(void)
{
	const char *s = "COMMIT 987654321<|im_end|>\xc3\xa9\xff";
	rad_ids ids = {0};
	rad_tok_encode(tok, s, strlen(s), RAD_TOK_SPECIAL, &ids);
	/* 16 bytes, one special token, 3 bytes */
	EXPECT_EQ(ids.n, 20);
	EXPECT_EQ(ids.v[0], 'C');
	EXPECT_EQ(ids.v[15], '1');
	EXPECT_EQ(ids.v[16], 258);
	EXPECT_EQ(ids.v[17], 0xc3);
	EXPECT_EQ(ids.v[19], 0xff);
	rad_text t = {0};
	EXPECT_EQ(rad_tok_decode(tok, ids.v, ids.n, 0, &t), 0);
	EXPECT_STR(t.s, s);
	rad_text_free(&t);
	rad_ids_free(&ids);
}

int main(void)
{
	const char *top = getenv("RAD_TOP");
	char path[4096], err[512];
	snprintf(path, sizeof path, "%s/pipelines/demo/tokenizer.json", top ? top : ".");
	tok = rad_tokenizer_load(path, NULL, err, sizeof err);
	if (!tok) {
		printf("FAIL load: %s\n", err);
		return 1;
	}
	RUN(test_bytes_are_ids);
	RUN(test_specials);
	RUN(test_text_is_bytes);
	rad_tokenizer_free(tok);
	return test_status();
}
