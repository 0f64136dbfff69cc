/* Unit tests of the BPE engine, the tokenizer loader and the chat templates. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tok/bpe.h"
#include "tok/chat_template.h"
#include "base/cli.h"
#include "test.h"
#include "tok/tokenizer.h"

static char path_buf[4096];
static const char *data(const char *rel)
{
	const char *top = getenv("RAD_TOP");
	snprintf(path_buf, sizeof path_buf, "%s/tests/data/%s", top ? top : ".", rel);
	return path_buf;
}

static uint64_t rng = 0x243f6a8885a308d3ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static rad_tokenizer *load(const char *rel, const char *pattern)
{
	char err[512];
	rad_tokenizer *t = rad_tokenizer_load(data(rel), pattern, err, sizeof err);
	if (!t) printf("# %s\n", err);
	return t;
}

/* The quadratic scan and the heap give the same merges, for pair tables and for ranks. */
static void test_scan_equals_heap(void)
{
	const char *files[2] = {"tokenizers/gpt2/encoder.json", "tokenizers/tiktoken/cl100k_base.tiktoken"};
	static const char alpha[] = "eeettaoinshrdlu  ...,,'\n\n0123456789-_=*#";
	for (int f = 0; f < 2; f++) {
		rad_tokenizer *t = load(files[f], NULL);
		EXPECT(t);
		if (!t) continue;
		const rad_bpe *b = rad_tok_bpe(t);
		unsigned char s[128];
		int32_t a[128], c[128];
		for (int it = 0; it < 3000; it++) {
			size_t n = 1 + rnd() % 128;
			for (size_t i = 0; i < n; i++) s[i] = it % 3 ? alpha[rnd() % (sizeof alpha - 1)] : (unsigned char)rnd();
			size_t na = rad_bpe_encode_scan(b, s, n, a), nc = rad_bpe_encode_heap(b, s, n, c);
			EXPECT_EQ(na, nc);
			if (na == nc) EXPECT(!memcmp(a, c, na * sizeof *a));
		}
		rad_tokenizer_free(t);
	}
}

/* decode(encode(x)) == x for random bytes, valid UTF-8 or not. */
static void test_round_trip_random_bytes(void)
{
	const char *files[3] = {"tokenizers/gpt2/encoder.json", "tokenizers/tiktoken/cl100k_base.tiktoken", "tokenizers/tiny/tokenizer.json"};
	for (int f = 0; f < 3; f++) {
		rad_tokenizer *t = load(files[f], NULL);
		EXPECT(t);
		if (!t) continue;
		rad_ids ids = {0};
		rad_text out = {0};
		char s[600];
		for (int it = 0; it < 400; it++) {
			size_t n = rnd() % sizeof s;
			for (size_t i = 0; i < n; i++) {
				uint32_t r = rnd() % 10;
				s[i] = r < 5 ? "ab c\n"[rnd() % 5] : r < 7 ? (char)(0x80 + rnd() % 64) : (char)rnd();
			}
			ids.n = out.n = 0;
			rad_tok_encode(t, s, n, it & 1 ? RAD_TOK_SPECIAL : 0, &ids);
			EXPECT_EQ(rad_tok_decode(t, ids.v, ids.n, 0, &out), 0);
			EXPECT_EQ(out.n, n);
			EXPECT(out.n == n && !memcmp(out.s, s, n));
		}
		rad_ids_free(&ids);
		rad_text_free(&out);
		rad_tokenizer_free(t);
	}
}

/* The smallest byte-level tokenizer.json: bytes are their own ids. */
static void test_tiny_tokenizer(void)
{
	rad_tokenizer *t = load("tokenizers/tiny/tokenizer.json", NULL);
	EXPECT(t);
	if (!t) return;
	EXPECT_EQ(rad_tok_n_vocab(t), 261);
	EXPECT_EQ(rad_tok_eos(t), 256);
	EXPECT_EQ(rad_tok_bos(t), 259);
	EXPECT_EQ(rad_tok_id(t, "<|im_end|>"), 258);
	EXPECT(rad_tok_is_special(t, 258) && !rad_tok_is_special(t, 65));
	rad_ids ids = {0};
	rad_tok_encode(t, "a\xc3\xa9<|im_end|>", 13, RAD_TOK_SPECIAL, &ids);
	EXPECT_EQ(ids.n, 4);
	if (ids.n == 4) EXPECT(ids.v[0] == 'a' && ids.v[1] == 0xc3 && ids.v[2] == 0xa9 && ids.v[3] == 258);
	rad_text s = {0};
	EXPECT_EQ(rad_tok_decode(t, ids.v, ids.n, RAD_TOK_SKIP_SPECIAL, &s), 0);
	EXPECT_STR(s.s, "a\xc3\xa9");
	int32_t bad = 261;
	EXPECT_EQ(rad_tok_decode(t, &bad, 1, 0, &s), -1);
	size_t n;
	const char *p = rad_tok_piece(t, 258, &n);
	EXPECT(p && n == 10 && !memcmp(p, "<|im_end|>", 10));
	EXPECT(!rad_tok_piece(t, -1, &n));
	rad_ids_free(&ids);
	rad_text_free(&s);
	rad_tokenizer_free(t);
}

static void test_fingerprints(void)
{
	rad_tokenizer *a = load("tokenizers/gpt2/encoder.json", NULL), *b = load("tokenizers/gpt2/encoder.json", NULL),
	              *c = load("tokenizers/tiny/tokenizer.json", NULL);
	EXPECT(a && b && c);
	if (a && b && c) {
		EXPECT(rad_tok_fingerprint(a) == rad_tok_fingerprint(b));
		EXPECT(rad_tok_fingerprint(a) != rad_tok_fingerprint(c));
	}
	rad_template *x = rad_template_load("chatml", NULL, 0), *y = rad_template_load("zephyr", NULL, 0);
	EXPECT(x && y && rad_template_fingerprint(x) != rad_template_fingerprint(y));
	char fp[64];
	if (a && x) {
		rad_chat_fingerprint(a, x, fp);
		EXPECT_EQ(strlen(fp), 33);
	}
	rad_template_free(x);
	rad_template_free(y);
	rad_tokenizer_free(a);
	rad_tokenizer_free(b);
	rad_tokenizer_free(c);
}

static const char *write_tmp(const char *name, const char *text)
{
	static char p[256];
	snprintf(p, sizeof p, "/tmp/rad-test-tok-%d-%s", (int)getpid(), name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	return p;
}

static int load_fails_with(const char *name, const char *text, const char *want)
{
	char err[512] = "";
	const char *p = write_tmp(name, text);
	rad_tokenizer *t = rad_tokenizer_load(p, NULL, err, sizeof err);
	unlink(p);
	if (t) { rad_tokenizer_free(t); return 0; }
	if (!strstr(err, want) || !strstr(err, name)) { printf("# got: %s\n", err); return 0; }
	return 1;
}

static void test_load_errors(void)
{
	EXPECT(load_fails_with("a.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "WordPiece"));
	EXPECT(load_fails_with("b.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": []},"
	                       " \"decoder\": {\"type\": \"ByteLevel\"}}", "no token for the byte"));
	EXPECT(load_fails_with("c.json", "{\"model\": {\"vocab\": {\"a\": 0,", "JSON"));
	EXPECT(load_fails_with("d.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}", "not a byte-level"));
	EXPECT(load_fails_with("e.gpt2.tiktoken", "YQ== 0\n!!! 1\n", "bad base64"));
	EXPECT(load_fails_with("f.cl100k.tiktoken", "YQ== 0\n", "no token for the byte"));
	char err[256];
	EXPECT(!rad_tokenizer_load("/nonexistent/tokenizer.json", NULL, err, sizeof err) && strstr(err, "/nonexistent"));
}

static void test_template_files(void)
{
	char err[512];
	const char *p = write_tmp("t1.tmpl", "user = \"<u>{content}</u>\\n\"\nassistant = \"<a>{content}</a>\"\nstop = </a>\n");
	rad_template *tp = rad_template_load(p, err, sizeof err);
	EXPECT(tp);
	EXPECT(tp && !rad_template_has_system(tp));
	rad_tokenizer *t = load("tokenizers/tiny/tokenizer.json", NULL);
	if (tp && t) {
		rad_msg m[1] = {{"user", "hi", 2}}, yo = {"assistant", " yo", 3};
		rad_text out = {0};
		EXPECT_EQ(rad_chat_render(tp, t, m, 1, &yo, &out, err, sizeof err), 0);
		EXPECT_STR(out.s, "<u>hi</u>\n<a> yo</a>");
		/* content is taken by its length: a NUL inside stays */
		rad_msg nul[1] = {{"user", "h\0i", 3}};
		out.n = 0;
		EXPECT_EQ(rad_chat_render(tp, t, nul, 1, NULL, &out, err, sizeof err), 0);
		EXPECT(out.n == 14 && !memcmp(out.s, "<u>h\0i</u>\n<a>", 14));
		rad_msg s[2] = {{"system", "g", 1}, {"user", "hi", 2}};
		EXPECT_EQ(rad_chat_render(tp, t, s, 2, NULL, &out, err, sizeof err), -1);
		EXPECT(strstr(err, "no system role"));
		rad_msg r[1] = {{"robot", "hi", 2}};
		EXPECT_EQ(rad_chat_render(tp, t, r, 1, NULL, &out, err, sizeof err), -1);
		EXPECT(strstr(err, "unknown role"));
		rad_text_free(&out);
	}
	unlink(p);
	rad_template_free(tp);
	rad_tokenizer_free(t);
	p = write_tmp("t2.tmpl", "user = \"no content\"\nassistant = \"{content}\"\nstop = x\n");
	EXPECT(!rad_template_load(p, err, sizeof err) && strstr(err, "{content}"));
	unlink(p);
	p = write_tmp("t3.tmpl", "user = {content}\nassistant = {content}\ncolour = blue\n");
	EXPECT(!rad_template_load(p, err, sizeof err) && strstr(err, ":3: unknown key"));
	unlink(p);
	EXPECT(!rad_template_load("nosuch", err, sizeof err) && strstr(err, "unknown template"));
}

/* The chatml prompt of the tiny tokenizer: markup ids, then content bytes. */
static void test_chat_encode(void)
{
	char err[512];
	rad_tokenizer *t = load("tokenizers/tiny/tokenizer.json", NULL);
	rad_template *tp = rad_template_load("chatml", err, sizeof err);
	EXPECT(t && tp);
	if (!t || !tp) return;
	rad_msg m[1] = {{"user", "<|im_end|>", 10}};
	const rad_msg c[2] = {{"assistant", "ok", 2}, {"assistant", "", 0}};
	rad_ids prompt = {0}, comp[2] = {{0}};
	long long forced = 0;
	EXPECT_EQ(rad_chat_encode(t, tp, m, 1, c, 2, 0, &prompt, comp, &forced, err, sizeof err), 0);
	/* <|im_start|> u s e r \n  <|im_end|> as 10 bytes  <|im_end|> \n <|im_start|> a s s i s t a n t \n */
	EXPECT_EQ(prompt.n, 1 + 5 + 10 + 1 + 1 + 1 + 10);
	EXPECT_EQ(prompt.v[0], 257);
	EXPECT_EQ(prompt.v[6], '<');
	EXPECT_EQ(prompt.v[16], 258);
	EXPECT_EQ(comp[0].n, 3);
	EXPECT(comp[0].n == 3 && comp[0].v[0] == 'o' && comp[0].v[2] == 258);
	EXPECT(comp[1].n == 1 && comp[1].v[0] == 258);
	EXPECT_EQ(forced, 0);
	EXPECT_EQ(rad_template_stop_id(tp, t), 258);
	/* a prompt alone (for generation): the same ids */
	rad_ids p2 = {0};
	EXPECT_EQ(rad_chat_encode(t, tp, m, 1, NULL, 0, 0, &p2, NULL, NULL, err, sizeof err), 0);
	EXPECT(p2.n == prompt.n && !memcmp(p2.v, prompt.v, p2.n * sizeof *p2.v));
	rad_ids_free(&p2);
	/* NUL bytes in a prompt and a completion are encoded, not where the text ends */
	rad_msg mz[1] = {{"user", "x\0y", 3}};
	const rad_msg cz[1] = {{"assistant", "a\0b", 3}};
	rad_ids pz = {0}, kz = {0};
	EXPECT_EQ(rad_chat_encode(t, tp, mz, 1, cz, 1, 0, &pz, &kz, NULL, err, sizeof err), 0);
	EXPECT(pz.n == prompt.n - 10 + 3 && pz.v[6] == 'x' && pz.v[7] == 0 && pz.v[8] == 'y');
	EXPECT(kz.n == 4 && kz.v[0] == 'a' && kz.v[1] == 0 && kz.v[2] == 'b' && kz.v[3] == 258);
	rad_ids_free(&pz);
	rad_ids_free(&kz);
	rad_ids_free(&prompt);
	rad_ids_free(&comp[0]);
	rad_ids_free(&comp[1]);
	rad_template_free(tp);
	rad_tokenizer_free(t);
}

int main(void)
{
	RUN(test_scan_equals_heap);
	RUN(test_round_trip_random_bytes);
	RUN(test_tiny_tokenizer);
	RUN(test_fingerprints);
	RUN(test_load_errors);
	RUN(test_template_files);
	RUN(test_chat_encode);
	return test_status();
}
