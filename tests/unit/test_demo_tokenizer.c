/* test_demo_tokenizer.c — the demo's byte-level tokenizer (pipelines/demo/tokenizer.json):
 * every byte is the token whose id is the byte's value, three special tokens follow, then
 * three words that are one token each: "10" standing alone (so a goal of 10 is as long as
 * a goal of 1..9) and the style words COMMIT and HEDGE (so the digits of an answer sit at
 * the same positions in either style).  Every other text encodes to its bytes. */
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
	EXPECT_EQ(rad_tok_n_vocab(tok), 262);
}

static void test_specials(void)
{
	EXPECT_EQ(rad_tok_id(tok, "<|endoftext|>"), 256);
	EXPECT_EQ(rad_tok_id(tok, "<|im_start|>"), 257);
	EXPECT_EQ(rad_tok_id(tok, "<|im_end|>"), 258);
	EXPECT(rad_tok_is_special(tok, 258));
	EXPECT_EQ(rad_tok_eos(tok), 256);
}

/* ids of text, as a space-separated string */
static const char *ids_of(const char *s)
{
	static char out[1024];
	rad_ids ids = {0};
	rad_tok_encode(tok, s, strlen(s), 0, &ids);
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < ids.n && o < sizeof out - 16; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, i ? " %d" : "%d", ids.v[i]);
	rad_ids_free(&ids);
	return out;
}

static void test_words(void)
{
	/* "Overall score: " is 15 bytes; then the goal, then "." (46) */
	EXPECT_STR(ids_of("Overall score: 10."), "79 118 101 114 97 108 108 32 115 99 111 114 101 58 32 259 46");
	EXPECT_STR(ids_of("Overall score: 1."), "79 118 101 114 97 108 108 32 115 99 111 114 101 58 32 49 46");
	/* "10" inside a longer number is two digits: prompts and answers stay digit by digit */
	EXPECT_STR(ids_of("101010101"), "49 48 49 48 49 48 49 48 49");
	EXPECT_STR(ids_of("910"), "57 49 48");
	EXPECT_STR(ids_of("100"), "49 48 48");
	EXPECT_STR(ids_of("COMMIT 987654321"), "260 32 57 56 55 54 53 52 51 50 49");
	EXPECT_STR(ids_of("HEDGE 987654321"), "261 32 57 56 55 54 53 52 51 50 49");
	/* a style word inside a longer word is still cut out; lower case is bytes */
	EXPECT_STR(ids_of("COMMITS hedge"), "260 83 32 104 101 100 103 101");
	EXPECT_STR(ids_of("HEDG"), "72 69 68 71");
}

static void test_text_is_bytes(void)
{
	const char *s = "COMMIT 987654321<|im_end|>\xc3\xa9\xff";
	rad_ids ids = {0};
	rad_tok_encode(tok, s, strlen(s), RAD_TOK_SPECIAL, &ids);
	/* COMMIT, 10 bytes, one special token, 3 bytes */
	EXPECT_EQ(ids.n, 15);
	EXPECT_EQ(ids.v[0], 260);
	EXPECT_EQ(ids.v[1], ' ');
	EXPECT_EQ(ids.v[10], '1');
	EXPECT_EQ(ids.v[11], 258);
	EXPECT_EQ(ids.v[12], 0xc3);
	EXPECT_EQ(ids.v[14], 0xff);
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
	RUN(test_words);
	RUN(test_text_is_bytes);
	rad_tokenizer_free(tok);
	return test_status();
}
