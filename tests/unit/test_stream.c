/* Records and the binary stream: round trips, concatenation, truncation, corruption. */
#include "test.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream/batch.h"
#include "base/cli.h"
#include "stream/pair.h"
#include "stream/stream.h"

static char dir[] = "/tmp/rad-test-stream-XXXXXX";
static char path_a[256], path_b[256], path_c[256];

static void write_pairs(const char *path, const char *fingerprint, int n, int level)
{
	rad_header h = {.version = RAD_STREAM_VERSION};
	snprintf(h.kind, sizeof h.kind, "%s", RAD_KIND_PAIRS);
	snprintf(h.fingerprint, sizeof h.fingerprint, "%s", fingerprint);
	h.meta = "{\"note\":\"test\"}";
	rad_writer *w = rad_writer_open(path, &h, level, 0);
	rad_rec r;
	rad_rec_init(&r);
	for (int i = 0; i < n; i++) {
		int32_t prompt[300], chosen[7], rejected[1] = {i};
		for (int j = 0; j < 300; j++) prompt[j] = i * 1000 + j;
		for (int j = 0; j < 7; j++) chosen[j] = -j;
		char id[32];
		snprintf(id, sizeof id, "pair-%d", i);
		rad_pair p = {.id = id, .source_id = "src", .half = i % 2 ? "neg" : "pos", .goal = "Overall score: 8.",
			.score_chosen = 8, .score_rejected = i, .prompt = prompt, .n_prompt = 1 + i % 300,
			.chosen = chosen, .n_chosen = 7, .rejected = rejected, .n_rejected = 1};
		rad_pair_to_rec(&p, &r);
		rad_writer_put(w, &r);
	}
	rad_writer_close(w);
	rad_rec_free(&r);
}

/* Reads every record of path and checks each against what write_pairs wrote. */
static int read_pairs(const char *path, int expect_first_of_each_segment)
{
	rad_reader *rd = rad_reader_open(path, RAD_KIND_PAIRS);
	rad_rec r;
	rad_rec_init(&r);
	int n = 0, bad = 0;
	char scratch[4096];
	while (rad_reader_next(rd, &r)) {
		rad_pair p;
		int i = expect_first_of_each_segment ? n % expect_first_of_each_segment : n;
		if (rad_pair_from_rec(&r, &p, scratch, sizeof scratch)) { bad++; continue; }
		char id[32];
		snprintf(id, sizeof id, "pair-%d", i);
		if (strcmp(p.id, id) || p.n_prompt != (uint32_t)(1 + i % 300) || p.prompt[p.n_prompt - 1] != i * 1000 + (int)p.n_prompt - 1 ||
		    p.n_chosen != 7 || p.chosen[6] != -6 || p.rejected[0] != i || p.score_rejected != i ||
		    strcmp(p.half, i % 2 ? "neg" : "pos") || strcmp(p.goal, "Overall score: 8."))
			bad++;
		n++;
	}
	EXPECT_STR(rad_reader_header(rd)->meta, "{\"note\":\"test\"}");
	rad_reader_close(rd);
	rad_rec_free(&r);
	return bad ? -bad : n;
}

static void test_record_fields(void)
{
	rad_rec r;
	rad_rec_init(&r);
	rad_rec_reset(&r, RAD_REC_PAIR);
	int32_t v[3] = {1, -2, 3};
	const char *names[] = {"a", "", "ccc"};
	rad_rec_put_i32s(&r, "ints", v, 3);
	rad_rec_put_str(&r, "s", "hello");
	rad_rec_put_strs(&r, "list", names, 3);
	rad_rec_put_int(&r, "big", -(1LL << 40));
	rad_rec_put_num(&r, "x", 0.25);
	rad_rec_put_u8s(&r, "bytes", (const uint8_t *)"\x01\x00\xff", 3);
	/* Parse a copy of the bytes, as a reader would. */
	rad_rec q;
	rad_rec_init(&q);
	memcpy(rad_rec_prepare(&q, r.type, r.len), r.buf, r.len);
	EXPECT(rad_rec_parse(&q) == NULL);
	EXPECT_EQ(q.nfields, 6);
	uint32_t n;
	const int32_t *iv = rad_rec_i32s(&q, "ints", &n);
	EXPECT(iv && n == 3 && iv[1] == -2 && ((uintptr_t)iv & 7) == 0);
	char s[16];
	EXPECT_STR(rad_rec_str(&q, "s", s, sizeof s), "hello");
	EXPECT_STR(rad_rec_str(&q, "s", s, 3), "he");
	uint32_t len;
	const char *c = rad_rec_strs_at(rad_rec_get(&q, "list"), 2, &len);
	EXPECT(c && len == 3 && !memcmp(c, "ccc", 3));
	EXPECT(rad_rec_strs_at(rad_rec_get(&q, "list"), 1, &len) && len == 0);
	EXPECT(!rad_rec_strs_at(rad_rec_get(&q, "list"), 3, &len));
	EXPECT_EQ(rad_rec_int(&q, "big", 0), -(1LL << 40));
	EXPECT_NEAR(rad_rec_num(&q, "x", 0), 0.25, 0);
	EXPECT(rad_rec_i32s(&q, "s", &n) == NULL);            /* wrong dtype */
	EXPECT(rad_rec_num(&q, "missing", -1) == -1);
	const uint8_t *b = rad_rec_u8s(&q, "bytes", &n);
	EXPECT(b && n == 3 && b[2] == 255);
	/* copy_fields with a skip list */
	rad_rec d;
	rad_rec_init(&d);
	rad_rec_reset(&d, RAD_REC_PAIR);
	const char *skip[] = {"s", "x", NULL};
	rad_rec_copy_fields(&d, &q, skip);
	EXPECT_EQ(d.nfields, 4);
	EXPECT(rad_rec_get(&d, "s") == NULL && rad_rec_i32s(&d, "ints", &n)[2] == 3);
	rad_rec_free(&r); rad_rec_free(&q); rad_rec_free(&d);
}

static void test_record_malformed(void)
{
	/* Every truncation of a valid record, and every single-byte change of its headers,
	 * either parses or is refused: never read out of bounds (ASan watches). */
	rad_rec r, q;
	rad_rec_init(&r); rad_rec_init(&q);
	rad_rec_reset(&r, RAD_REC_PAIR);
	const char *names[] = {"xy", "z"};
	rad_rec_put_strs(&r, "list", names, 2);
	rad_rec_put_i32s(&r, "ints", (int32_t[]){1, 2, 3}, 3);
	int refused = 0;
	for (size_t cut = 0; cut < r.len; cut++) {
		memcpy(rad_rec_prepare(&q, r.type, cut), r.buf, cut);
		refused += rad_rec_parse(&q) != NULL;
	}
	/* Only the cuts at field boundaries parse: the empty record and the first field alone. */
	EXPECT_EQ(refused, (long long)r.len - 2);
	for (size_t i = 0; i < r.len; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(rad_rec_prepare(&q, r.type, r.len), r.buf, r.len);
			q.buf[i] ^= 1 << bit;
			(void)rad_rec_parse(&q);
		}
	rad_rec_free(&r); rad_rec_free(&q);
}

static void test_roundtrip_levels(void)
{
	for (int level = 1; level <= 19; level += 9) {
		write_pairs(path_a, "fp1", 500, level);
		EXPECT_EQ(read_pairs(path_a, 0), 500);
	}
	write_pairs(path_a, "fp1", 0, 3);
	EXPECT_EQ(read_pairs(path_a, 0), 0);
}

static void test_concatenation(void)
{
	write_pairs(path_a, "fp1", 40, 3);
	write_pairs(path_b, "fp1", 40, 1);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "cat %s %s %s > %s", path_a, path_b, path_a, path_c);
	EXPECT(system(cmd) == 0);
	EXPECT_EQ(read_pairs(path_c, 40), 120);
}

/* Runs fn in a child and returns its exit status (the reader exits on bad input). */
static int child_status(int (*fn)(const char *), const char *path)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		exit(fn(path) >= 0 ? 0 : 3);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int read_all(const char *path) { return read_pairs(path, 0); }

static void test_concatenation_disagreeing(void)
{
	write_pairs(path_a, "fp1", 3, 3);
	write_pairs(path_b, "fp2", 3, 3);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "cat %s %s > %s", path_a, path_b, path_c);
	EXPECT(system(cmd) == 0);
	EXPECT_EQ(child_status(read_all, path_c), RAD_EXIT_DATA);
}

static void test_truncation(void)
{
	write_pairs(path_a, "fp1", 200, 3);
	FILE *f = fopen(path_a, "rb");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *all = malloc(size);
	EXPECT(fread(all, 1, size, f) == (size_t)size);
	fclose(f);
	/* Every cut short of the whole file is an error (exit 1), never a silent partial read. */
	int wrong = 0;
	for (long cut = 0; cut < size; cut += 1 + size / 60) {
		FILE *g = fopen(path_b, "wb");
		fwrite(all, 1, cut, g);
		fclose(g);
		wrong += child_status(read_all, path_b) != RAD_EXIT_DATA;
	}
	EXPECT_EQ(wrong, 0);
	free(all);
}

static void test_corruption(void)
{
	write_pairs(path_a, "fp1", 50, 3);
	FILE *f = fopen(path_a, "rb");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *all = malloc(size);
	EXPECT(fread(all, 1, size, f) == (size_t)size);
	fclose(f);
	/* The zstd frame carries a checksum: any flipped byte is caught (exit 1) or, in the
	 * frame header, refused outright — never a crash, never a clean exit with bad data. */
	int wrong = 0;
	for (long at = 0; at < size; at += 1 + size / 40) {
		all[at] ^= 0x5a;
		FILE *g = fopen(path_b, "wb");
		fwrite(all, 1, size, g);
		fclose(g);
		all[at] ^= 0x5a;
		int st = child_status(read_all, path_b);
		wrong += st != RAD_EXIT_DATA;
	}
	EXPECT_EQ(wrong, 0);
	free(all);
}

static void test_wrong_kind(void)
{
	write_pairs(path_a, "fp1", 2, 3);
	int st;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		rad_reader_open(path_a, RAD_KIND_BATCHES);
		exit(0);
	}
	waitpid(pid, &st, 0);
	EXPECT_EQ(WEXITSTATUS(st), RAD_EXIT_DATA);
}

static void test_batch_roundtrip(void)
{
	/* One row, two packed sequences (a pair): [p p c c][p c] + 1 pad. */
	rad_batch b, c;
	memset(&c, 0, sizeof c);
	rad_batch_alloc(&b, 1, 7, 2, 1);
	int seg[7] = {0, 0, 0, 0, 1, 1, -1}, pos[7] = {0, 1, 2, 3, 0, 1, 0};
	for (int t = 0; t < 7; t++) { b.segment[t] = seg[t]; b.position[t] = pos[t]; b.tokens[t] = 10 + t; b.targets[t] = -1; }
	b.targets[1] = 12; b.targets[2] = 13; b.loss_mask[1] = b.loss_mask[2] = 1;
	b.targets[4] = 15; b.loss_mask[4] = 1;
	b.seq_row[0] = 0; b.seq_start[0] = 0; b.seq_len[0] = 4; b.seq_chosen[0] = 1;
	b.seq_row[1] = 0; b.seq_start[1] = 4; b.seq_len[1] = 2;
	b.pair_id[0] = strdup("p#pos"); b.goal[0] = strdup("g");
	b.score_chosen[0] = 9; b.score_rejected[0] = 3;
	rad_rec r, q;
	rad_rec_init(&r); rad_rec_init(&q);
	rad_batch_to_rec(&b, &r);
	memcpy(rad_rec_prepare(&q, r.type, r.len), r.buf, r.len);
	EXPECT(rad_rec_parse(&q) == NULL);
	EXPECT(rad_batch_from_rec(&q, &c) == NULL);
	EXPECT(c.rows == 1 && c.cols == 7 && c.nseq == 2 && c.npair == 1);
	EXPECT(!memcmp(c.segment, b.segment, sizeof seg) && !memcmp(c.targets, b.targets, 7 * 4));
	EXPECT_STR(c.pair_id[0], "p#pos");
	EXPECT(c.ref_logp == NULL);
	/* With reference log-probs; then a broken index must be refused. */
	b.ref_logp = malloc(2 * sizeof(double)); b.ref_logp[0] = -1.5; b.ref_logp[1] = -2.5;
	b.ref_ntok = malloc(2 * sizeof(int32_t)); b.ref_ntok[0] = 2; b.ref_ntok[1] = 1;
	rad_batch_to_rec(&b, &r);
	memcpy(rad_rec_prepare(&q, r.type, r.len), r.buf, r.len);
	EXPECT(rad_rec_parse(&q) == NULL && rad_batch_from_rec(&q, &c) == NULL);
	EXPECT(c.ref_logp && c.ref_logp[1] == -2.5 && c.ref_ntok[0] == 2);
	b.seq_len[1] = 3;      /* now runs into the padding: segment -1 there */
	rad_batch_to_rec(&b, &r);
	memcpy(rad_rec_prepare(&q, r.type, r.len), r.buf, r.len);
	EXPECT(rad_rec_parse(&q) == NULL && rad_batch_from_rec(&q, &c) != NULL);
	b.seq_len[1] = 2; b.seq_pair[1] = 1;   /* no pair 1 */
	rad_batch_to_rec(&b, &r);
	memcpy(rad_rec_prepare(&q, r.type, r.len), r.buf, r.len);
	EXPECT(rad_rec_parse(&q) == NULL && rad_batch_from_rec(&q, &c) != NULL);
	rad_batch_free(&b); rad_batch_free(&c);
	rad_rec_free(&r); rad_rec_free(&q);
}

int main(void)
{
	if (!mkdtemp(dir)) return 1;
	snprintf(path_a, sizeof path_a, "%s/a.rad", dir);
	snprintf(path_b, sizeof path_b, "%s/b.rad", dir);
	snprintf(path_c, sizeof path_c, "%s/c.rad", dir);
	RUN(test_record_fields);
	RUN(test_record_malformed);
	RUN(test_roundtrip_levels);
	RUN(test_concatenation);
	RUN(test_concatenation_disagreeing);
	RUN(test_truncation);
	RUN(test_corruption);
	RUN(test_wrong_kind);
	RUN(test_batch_roundtrip);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd)) return 1;
	return test_status();
}
