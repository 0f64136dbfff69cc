/* Unit tests of the BPE engine, the tokenizer loader and the chat templates. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* A long piece of one of several kinds, n bytes, into s: a byte repeated, a short pattern
 * repeated, random letters, digits, two letters, any bytes, accented and CJK letters,
 * letters with a few digits and marks in between. */
static void long_piece(unsigned char *s, size_t n, int kind)
{
	static const char *const pat[] = {"ab", "aab", "abc", "12", "-=", "\xc3\xa9", "ab1", "the"};
	static const char *const cjk[] = {"\xe7\x9a\x84", "\xe4\xb8\x80", "\xe6\x98\xaf", "\xc3\xa9", "\xc3\xb6", "e", "\xe2\x80\x94"};
	const char *p = pat[rnd() % 8];
	unsigned char one = "a 0!\xff"[rnd() % 5];
	for (size_t i = 0; i < n;) {
		switch (kind) {
		case 0: s[i++] = one; break;
		case 1: s[i] = (unsigned char)p[i % strlen(p)]; i++; break;
		case 2: s[i++] = (unsigned char)('a' + rnd() % 26); break;
		case 3: s[i++] = (unsigned char)('0' + rnd() % 10); break;
		case 4: s[i++] = "ab"[rnd() % 2]; break;
		case 5: s[i++] = (unsigned char)rnd(); break;
		case 6: {
			const char *c = cjk[rnd() % 7];
			for (size_t k = 0; c[k] && i < n; k++) s[i++] = (unsigned char)c[k];
			break;
		}
		default: s[i++] = rnd() % 16 ? (unsigned char)('a' + rnd() % 26) : (unsigned char)"0-'_."[rnd() % 5]; break;
		}
	}
}

/* Long pieces merged in certified segments give the heap's ids, for pair tables (GPT-2,
 * the tiny file) and for ranks (cl100k), at chunk sizes small enough that cuts fail, move
 * and go, and the work budget runs out. */
static void test_long_equals_heap(void)
{
	const char *files[3] = {"tokenizers/gpt2/encoder.json", "tokenizers/tiktoken/cl100k_base.tiktoken", "tokenizers/tiny/tokenizer.json"};
	static const size_t chunks[] = {2, 3, 5, 16, 64, 300};
	enum { MAXN = 6000 };
	unsigned char *s = rad_malloc(MAXN);
	int32_t *a = rad_malloc(MAXN * sizeof *a), *c = rad_malloc(MAXN * sizeof *c);
	for (int f = 0; f < 3; f++) {
		rad_tokenizer *t = load(files[f], NULL);
		EXPECT(t);
		if (!t) continue;
		const rad_bpe *b = rad_tok_bpe(t);
		for (int it = 0; it < 90; it++) {
			size_t n = 1 + rnd() % (it % 3 ? 1200 : MAXN), chunk = chunks[it % 6];
			int kind = it % 8;
			long_piece(s, n, kind);
			size_t na = rad_bpe_encode_heap(b, s, n, a), nc = rad_bpe_encode_long(b, s, n, chunk, c);
			EXPECT_MSG(na == nc && !memcmp(a, c, na * sizeof *a), "%s: kind %d, %zu bytes, chunk %zu: %zu ids, heap %zu",
			           files[f], kind, n, chunk, nc, na);
		}
		rad_tokenizer_free(t);
	}
	free(s);
	free(a);
	free(c);
}

/* A file's text and its reference ids (one line of numbers). */
static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	rad_text t = {0};
	char buf[65536];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0) rad_text_append(&t, buf, k);
	fclose(f);
	*n = t.n;
	return t.s ? t.s : rad_strdup("");
}

static void parse_ids(const char *s, rad_ids *ids)
{
	for (char *e; *s; s = e) {
		long v = strtol(s, &e, 10);
		if (e == s) break;
		rad_ids_push(ids, (int32_t)v);
	}
}

/* The golden ids (npm tiktoken for GPT-2 and cl100k, transformers.js for Qwen3) come out
 * unchanged when nearly every piece goes through the segmented merge: the references
 * merge whole pieces, and a certified cut changes nothing. */
static void test_long_golden(void)
{
	const char *tk[3] = {"gpt2/encoder.json", "tiktoken/cl100k_base.tiktoken", "qwen3"};
	const char *name[3] = {"gpt2", "cl100k_base", "qwen3"};
	char q3[256], cmd[8192], path[4096];
	snprintf(q3, sizeof q3, "/tmp/rad-test-tok-%d-qwen3", (int)getpid());
	snprintf(cmd, sizeof cmd, "mkdir -p %s && gzip -dc %s > %s/tokenizer.json", q3, data("tokenizers/qwen3/tokenizer.json.gz"), q3);
	int have_q3 = system(cmd) == 0;
	for (int f = 0; f < 3; f++) {
		char err[512];
		if (f == 2 && !have_q3) { printf("# qwen3: gzip failed\n"); EXPECT(have_q3); continue; }
		snprintf(path, sizeof path, "%s", f == 2 ? q3 : data(f == 0 ? "tokenizers/gpt2/encoder.json" : "tokenizers/tiktoken/cl100k_base.tiktoken"));
		rad_tokenizer *t = rad_tokenizer_load(path, NULL, err, sizeof err);
		EXPECT_MSG(t, "%s: %s", tk[f], err);
		if (!t) continue;
		const char *texts[3] = {"edge_cases", "uf_eval200_first20", "long_words"};
		for (int x = 0; x < 3; x++) {
			size_t n = 0, ni = 0;
			char rel[128];
			snprintf(rel, sizeof rel, "tokenizers/golden/%s.txt", texts[x]);
			char *text = slurp(data(rel), &n);
			snprintf(rel, sizeof rel, "tokenizers/golden/%s.%s.ids", texts[x], name[f]);
			char *want_s = slurp(data(rel), &ni);
			EXPECT(text && want_s);
			if (!text || !want_s) { free(text); free(want_s); continue; }
			rad_ids want = {0}, got = {0};
			parse_ids(want_s, &want);
			static const size_t chunks[] = {2, 3, 7, 0};
			for (int k = 0; k < 4; k++) {
				rad_tok_set_long_chunk(t, chunks[k]);
				got.n = 0;
				rad_tok_encode(t, text, n, f == 2 ? RAD_TOK_SPECIAL : 0, &got);
				EXPECT_MSG(got.n == want.n && !memcmp(got.v, want.v, got.n * sizeof *got.v),
				           "%s on %s, chunk %zu: %zu ids, golden %zu", name[f], texts[x], chunks[k], got.n, want.n);
			}
			rad_ids_free(&want);
			rad_ids_free(&got);
			free(text);
			free(want_s);
		}
		rad_tokenizer_free(t);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", q3);
	if (system(cmd)) printf("# could not remove %s\n", q3);
}

static long max_rss_kb(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_maxrss;
}

/* One long word costs memory for its ids, not per-byte merge state: the whole-piece heap
 * took about 40 bytes per byte of the word (a 25 MB word, 1 GB).  Runs first, while the
 * process's peak is still this test's. */
static void test_long_piece_memory(void)
{
	rad_tokenizer *t = load("tokenizers/gpt2/encoder.json", NULL);
	EXPECT(t);
	if (!t) return;
	size_t n = 1 << 20;
	unsigned char *s = rad_malloc(n);
	int32_t *out = rad_malloc(n * sizeof *out);
	long_piece(s, n, 2);
	memset(out, 0, n * sizeof *out);
	long before = max_rss_kb();
	size_t k = rad_bpe_encode(rad_tok_bpe(t), s, n, out);
	long grew = max_rss_kb() - before;
	EXPECT(k > n / 4 && k < n);
	EXPECT_MSG(grew < 8 * 1024, "the peak grew by %ld KB for a %zu-byte piece", grew, n);
	free(s);
	free(out);
	rad_tokenizer_free(t);
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
	RUN(test_long_piece_memory);
	RUN(test_scan_equals_heap);
	RUN(test_long_equals_heap);
	RUN(test_long_golden);
	RUN(test_round_trip_random_bytes);
	RUN(test_tiny_tokenizer);
	RUN(test_fingerprints);
	RUN(test_load_errors);
	RUN(test_template_files);
	RUN(test_chat_encode);
	return test_status();
}
