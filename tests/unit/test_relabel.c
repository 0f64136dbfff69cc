/* test_relabel.c — the paper's goal text and score printing, the positive and negative
 * copies, placements, modes, templates, the fine filter; scales and SHA-256. */
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "prefs/relabel.h"
#include "prefs/scores.h"
#include "base/sha256.h"
#include "test.h"

#define HEADER "You are an assistant that generates responses for the instruction while implicitly " \
	"achieving the following target scores (on a scale of 1-10, where 1 is lowest and 10 is highest):"

static char *dump(const json_t *v) { return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)); }

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v) fprintf(stderr, "bad test JSON: %s\n", e.text);
	return v;
}

static void test_score_text(void)
{
	char b[40];
	struct { double v; const char *s; } cases[] = {
		{ 8.0, "8" }, { 7.5, "7.5" }, { 10, "10" }, { 1, "1" }, { 0.1, "0.1" }, { 6.25, "6.25" },
		{ -0.0, "0" }, { -3, "-3" }, { 1.0 / 3, "0.3333333333333333" }, { 4.75, "4.75" }, { 100, "100" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int n = rad_score_text(b, cases[i].v);
		EXPECT_STR(b, cases[i].s);
		EXPECT_EQ(n, strlen(cases[i].s));
	}
}

static void test_rounding_and_scales(void)
{
	EXPECT(rad_round_step(7.26, 0.1, 1) == 7.3);        /* the double nearest 7.3, no binary noise */
	EXPECT(rad_round_step(7.74, 0.5, 1) == 7.5);
	EXPECT(rad_round_step(7.75, 0.5, 1) == 8.0);        /* halves away from zero */
	EXPECT(rad_round_step(3.3, 0, 0) == 3.3);
	rad_scale s;
	rad_scale_init(&s);
	EXPECT(s.lo == 1 && s.hi == 10);
	EXPECT(rad_parse_range("1:5", &s.from_lo, &s.from_hi) && s.from_lo == 1 && s.from_hi == 5);
	EXPECT(!rad_parse_range("5:1", &s.lo, &s.hi) && !rad_parse_range("1:", &s.lo, &s.hi) && !rad_parse_range("a:2", &s.lo, &s.hi));
	EXPECT(rad_scale_apply(&s, 3.7) == 3.7);            /* none */
	s.mode = RAD_SCALE_LINEAR;                          /* 1..5 onto 1..10 */
	EXPECT_NEAR(rad_scale_apply(&s, 1), 1, 1e-12);
	EXPECT_NEAR(rad_scale_apply(&s, 5), 10, 1e-12);
	EXPECT_NEAR(rad_scale_apply(&s, 3), 5.5, 1e-12);
	EXPECT(rad_scale_set_step(&s, 0.5));
	EXPECT_EQ(s.step_decimals, 1);
	EXPECT(rad_scale_apply(&s, 2) == 3.5);              /* 3.25 -> 3.5 */
	EXPECT(!rad_scale_set_step(&s, -1));
	/* a tiny step is a step, not 0 decimals (7.3 used to round to 7) */
	EXPECT(rad_scale_set_step(&s, 1e-12));
	EXPECT_EQ(s.step_decimals, 12);
	EXPECT(rad_round_step(7.3, 1e-12, 12) == 7.3);
	EXPECT(rad_round_step(2.1234567890123456, 1e-12, 12) == 2.123456789012);
	EXPECT(rad_scale_set_step(&s, 1e-40));                /* no decimal prints it: used as it is */
	EXPECT_EQ(s.step_decimals, -1);
	EXPECT(rad_round_step(7.3, 1e-40, -1) == 7.3);
	EXPECT(rad_round_step(1e308, 1e-12, 12) == 1e308);     /* far beyond the step's reach: unchanged */
	EXPECT(rad_round_step(-1e308, 0.5, 1) == -1e308);
	EXPECT(rad_scale_set_step(&s, 0));
	/* the source range: --from for linear, the target for none */
	EXPECT(rad_scale_accepts(&s, 1) && rad_scale_accepts(&s, 5) && !rad_scale_accepts(&s, 5.5) && !rad_scale_accepts(&s, 0.99));
	EXPECT(rad_scale_clamp(&s, 7) == 5 && rad_scale_clamp(&s, -1e308) == 1 && rad_scale_clamp(&s, 2) == 2);
	char txt[96];
	EXPECT_STR(rad_scale_source_text(&s, txt), "--from 1:5");
	s.mode = RAD_SCALE_NONE;
	EXPECT(rad_scale_accepts(&s, 10) && !rad_scale_accepts(&s, -0.754) && !rad_scale_accepts(&s, 1e308));
	EXPECT_STR(rad_scale_source_text(&s, txt), "--scale 1:10");
	/* ranges as wide as a double allows do not overflow (the raw score used to be kept) */
	s.mode = RAD_SCALE_LINEAR;
	s.from_lo = -1e308, s.from_hi = 1e308, s.lo = 0, s.hi = 1;
	EXPECT_NEAR(rad_scale_apply(&s, 0), 0.5, 1e-15);
	EXPECT_NEAR(rad_scale_apply(&s, 1e308), 1, 1e-15);
	s.from_lo = 0, s.from_hi = 1, s.lo = -1e308, s.hi = 1e308;
	EXPECT(rad_scale_apply(&s, 1) == 1e308 && rad_scale_apply(&s, 0) == -1e308);
	EXPECT(fabs(rad_scale_apply(&s, 0.75) - 0.5e308) <= 1e293);
	rad_scale r;
	rad_scale_init(&r);
	r.mode = RAD_SCALE_RANK;
	r.lo = 0;
	r.hi = 1;
	double v[] = { 3, 2, 1, 2 };
	for (int i = 0; i < 4; i++) rad_scale_rank_add(&r, v[i]);
	rad_scale_rank_ready(&r);
	EXPECT_NEAR(rad_scale_apply(&r, 1), 0, 1e-12);      /* ranks 0, (1+2)/2, 3 of 3 */
	EXPECT_NEAR(rad_scale_apply(&r, 2), 0.5, 1e-12);
	EXPECT_NEAR(rad_scale_apply(&r, 3), 1, 1e-12);
	EXPECT_NEAR(rad_scale_apply(&r, 2.5), 2.5 / 3, 1e-12);   /* unseen: between its neighbours */
	rad_scale_free(&r);
}

static void test_histogram(void)
{
	rad_hist h;
	rad_hist_init(&h, 1, 10);
	double v[] = { 8, 7.5, 8, 1, 10, 8 };
	for (int i = 0; i < 6; i++) rad_hist_add(&h, v[i]);
	rad_hist_add_null(&h);
	EXPECT_EQ(h.n, 6);
	EXPECT_EQ(h.nulls, 1);
	EXPECT_EQ(h.ndistinct, 4);
	EXPECT(h.values[0] == 1 && h.values[1] == 7.5 && h.values[2] == 8 && h.values[3] == 10);
	EXPECT_EQ(h.value_counts[2], 3);
	EXPECT_EQ(h.bins[0], 1);              /* [1, 1.9) */
	EXPECT_EQ(h.bins[9], 1);              /* 10 in the last bin */
	EXPECT_EQ(h.bins[7], 4);              /* 7.5 and 8 in [7.3, 8.2) */
	for (int i = 0; i < 30; i++) rad_hist_add(&h, 2 + i * 0.1);
	EXPECT(h.overflow);
}

static void test_sha256(void)
{
	char hex[65];
	rad_sha256_hex("", 0, hex);
	EXPECT_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	rad_sha256_hex("abc", 3, hex);
	EXPECT_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* lengths around the padding boundaries; the digests are sha256sum's */
	struct { size_t n; const char *hex; } xs[] = {
		{ 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072" },
		{ 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e" },
		{ 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c" },
		{ 119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c" },
	};
	char x[128];
	memset(x, 'x', sizeof x);
	for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
		rad_sha256_hex(x, xs[i].n, hex);
		EXPECT_STR(hex, xs[i].hex);
	}
	char million[1000];
	memset(million, 'a', sizeof million);
	rad_sha256_hex(million, sizeof million, hex);   /* sha256sum of 1000 'a' */
	EXPECT_STR(hex, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

static const char *PAIR =
	"{\"id\": \"p1\", \"prompt\": [{\"role\": \"user\", \"content\": \"Name a prime.\"}],"
	" \"chosen\": \"7\", \"rejected\": \"8\", \"score_chosen\": 8.0, \"score_rejected\": 7.5,"
	" \"ratings_chosen\": {\"helpfulness\": 5, \"honesty\": 4}, \"ratings_rejected\": {\"helpfulness\": 2, \"honesty\": 4},"
	" \"source\": {\"format\": \"trl\"}}";

static void setup(rad_relabel *rl, const char *attrs)
{
	char err[256];
	rad_relabel_init(rl);
	EXPECT(rad_relabel_set_paper_template(rl, attrs, err, sizeof err));
}

static void test_paper_copies(void)
{
	rad_relabel rl;
	setup(&rl, NULL);
	json_t *in = parse(PAIR), *out[2];
	int n;
	char why[256];
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_EQ(n, 2);
	char *pos = dump(out[0]), *neg = dump(out[1]);
	EXPECT_STR(pos,
		"{\"id\":\"p1#pos\",\"prompt\":[{\"role\":\"system\",\"content\":\"" HEADER "\\nOverall score: 8.\"},"
		"{\"role\":\"user\",\"content\":\"Name a prime.\"}],\"chosen\":\"7\",\"rejected\":\"8\","
		"\"score_chosen\":8.0,\"score_rejected\":7.5,\"ratings_chosen\":{\"helpfulness\":5,\"honesty\":4},"
		"\"ratings_rejected\":{\"helpfulness\":2,\"honesty\":4},\"source\":{\"format\":\"trl\"},"
		"\"source_id\":\"p1\",\"half\":\"pos\",\"goal\":\"" HEADER "\\nOverall score: 8.\"}");
	EXPECT_STR(neg,
		"{\"id\":\"p1#neg\",\"prompt\":[{\"role\":\"system\",\"content\":\"" HEADER "\\nOverall score: 7.5.\"},"
		"{\"role\":\"user\",\"content\":\"Name a prime.\"}],\"chosen\":\"8\",\"rejected\":\"7\","
		"\"score_chosen\":7.5,\"score_rejected\":8.0,\"ratings_chosen\":{\"helpfulness\":2,\"honesty\":4},"
		"\"ratings_rejected\":{\"helpfulness\":5,\"honesty\":4},\"source\":{\"format\":\"trl\"},"
		"\"source_id\":\"p1\",\"half\":\"neg\",\"goal\":\"" HEADER "\\nOverall score: 7.5.\"}");
	free(pos); free(neg);
	json_decref(out[0]); json_decref(out[1]);
	EXPECT_EQ(rl.copies_pos, 1);
	EXPECT_EQ(rl.copies_neg, 1);
	/* the input is left as it was (the copies share values, never modify them) */
	json_t *again = parse(PAIR);
	EXPECT(json_equal(in, again));
	json_decref(again);
	json_decref(in);
	rad_relabel_free(&rl);
}

static const char *user_content(const json_t *copy, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(copy, "prompt"), i), "content"));
}

static void test_placement_user_and_compat(void)
{
	rad_relabel rl;
	setup(&rl, NULL);
	rl.placement = RAD_PLACE_USER;
	json_t *in = parse(PAIR), *out[2];
	int n;
	char why[256];
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_EQ(json_array_size(json_object_get(out[0], "prompt")), 1);
	EXPECT_STR(user_content(out[0], 0), HEADER "\nOverall score: 8.\n\nName a prime.");
	EXPECT_STR(user_content(out[1], 0), HEADER "\nOverall score: 7.5.\n\nName a prime.");
	EXPECT_STR(json_string_value(json_object_get(out[1], "chosen")), "8");   /* flipped */
	json_decref(out[0]); json_decref(out[1]);
	rl.compat_unflipped_nosys = 1;   /* the released code: goal r_l, pair not flipped */
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_STR(user_content(out[1], 0), HEADER "\nOverall score: 7.5.\n\nName a prime.");
	EXPECT_STR(json_string_value(json_object_get(out[1], "chosen")), "7");
	EXPECT(json_number_value(json_object_get(out[1], "score_chosen")) == 8.0);
	EXPECT_STR(json_string_value(json_object_get(out[1], "half")), "neg");
	json_decref(out[0]); json_decref(out[1]);
	json_decref(in);
	rad_relabel_free(&rl);
}

static void test_system_merge_and_multi_turn(void)
{
	rad_relabel rl;
	setup(&rl, NULL);
	json_t *in = parse("{\"id\": \"m\", \"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
		" {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"},"
		" {\"role\": \"user\", \"content\": \"Bye\"}], \"chosen\": \"a\", \"rejected\": \"b\","
		" \"score_chosen\": 10, \"score_rejected\": 1}");
	json_t *out[2];
	int n;
	char why[256];
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	json_t *p = json_object_get(out[0], "prompt");
	EXPECT_EQ(json_array_size(p), 4);   /* merged into the existing system message */
	EXPECT_STR(user_content(out[0], 0), HEADER "\nOverall score: 10.\n\nBe brief.");
	EXPECT_STR(user_content(out[1], 0), HEADER "\nOverall score: 1.\n\nBe brief.");
	EXPECT_STR(user_content(out[0], 1), "Hi");
	json_decref(out[0]); json_decref(out[1]);
	rl.placement = RAD_PLACE_USER;     /* only the first user turn carries the goal */
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_STR(user_content(out[0], 0), "Be brief.");
	EXPECT_STR(user_content(out[0], 1), HEADER "\nOverall score: 10.\n\nHi");
	EXPECT_STR(user_content(out[0], 3), "Bye");
	json_decref(out[0]); json_decref(out[1]);
	json_decref(in);
	rad_relabel_free(&rl);
}

static void test_attributes_template_goal(void)
{
	rad_relabel rl;
	setup(&rl, "overall,helpfulness,instruction_following");
	double v[3] = { 8, 4.5, 3 };
	size_t len;
	char *t = rad_relabel_goal_text(&rl, v, &len);
	EXPECT_STR(t, HEADER "\nOverall score: 8.\nHelpfulness score: 4.5.\nInstruction following score: 3.");
	EXPECT_EQ(len, strlen(t));
	free(t);
	/* a pair without the rating an attribute needs is invalid */
	json_t *in = parse(PAIR), *out[2];
	int n;
	char why[256], err[256];
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_INVALID);
	EXPECT(strstr(why, "instruction_following") != NULL);
	rad_relabel_free(&rl);

	rad_relabel_init(&rl);
	const char *tmpl = "Aim for {score}/10 and helpfulness {helpfulness}; {not a placeholder} {}\n";
	EXPECT(rad_relabel_set_template(&rl, tmpl, strlen(tmpl), err, sizeof err));
	EXPECT_EQ(rl.nattrs, 2);
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_STR(json_string_value(json_object_get(out[0], "goal")), "Aim for 8/10 and helpfulness 5; {not a placeholder} {}");
	EXPECT_STR(json_string_value(json_object_get(out[1], "goal")), "Aim for 7.5/10 and helpfulness 2; {not a placeholder} {}");
	json_decref(out[0]); json_decref(out[1]);
	/* a fixed goal, mode none: the pair unchanged, the goal in the prompt, the id kept */
	rl.mode = RAD_MODE_NONE;
	EXPECT(!rad_relabel_set_goal(&rl, "overall=10", err, sizeof err));   /* helpfulness not given */
	EXPECT(rad_relabel_set_goal(&rl, "overall=10,helpfulness=5", err, sizeof err));
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_EQ(n, 1);
	EXPECT_STR(json_string_value(json_object_get(out[0], "id")), "p1");
	EXPECT_STR(json_string_value(json_object_get(out[0], "half")), "");
	EXPECT_STR(json_string_value(json_object_get(out[0], "chosen")), "7");
	EXPECT_STR(user_content(out[0], 0), "Aim for 10/10 and helpfulness 5; {not a placeholder} {}");
	json_decref(out[0]);
	rad_relabel_free(&rl);
	json_decref(in);
}

static void test_modes(void)
{
	rad_relabel rl;
	json_t *in = parse(PAIR), *out[2];
	int n;
	char why[256];
	setup(&rl, NULL);
	rl.mode = RAD_MODE_DUP;
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_EQ(n, 2);
	EXPECT_STR(json_string_value(json_object_get(out[0], "id")), "p1#dup1");
	EXPECT_STR(json_string_value(json_object_get(out[1], "id")), "p1#dup2");
	EXPECT_STR(json_string_value(json_object_get(out[1], "goal")), "");
	EXPECT(json_equal(json_object_get(out[1], "prompt"), json_object_get(in, "prompt")));
	json_decref(out[0]); json_decref(out[1]);
	rl.mode = RAD_MODE_POS;
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_EQ(n, 1);
	EXPECT_STR(json_string_value(json_object_get(out[0], "id")), "p1#pos");
	json_decref(out[0]);
	/* half: one copy per pair, keyed by id and seed; about half positive */
	rl.mode = RAD_MODE_HALF;
	int pos = 0, total = 4000, differ = 0;
	for (int i = 0; i < total; i++) {
		char id[32];
		int k = snprintf(id, sizeof id, "pair-%d", i);
		int a = rad_relabel_half_is_pos(&rl, id, k);
		pos += a;
		rl.seed = 7;
		differ += a != rad_relabel_half_is_pos(&rl, id, k);
		rl.seed = 0;
		EXPECT_EQ(a, rad_relabel_half_is_pos(&rl, id, k));
	}
	EXPECT(pos > total / 2 - 150 && pos < total / 2 + 150);
	EXPECT(differ > total / 2 - 150 && differ < total / 2 + 150);   /* the seed matters */
	EXPECT_EQ(rad_relabel_pair(&rl, in, out, &n, why, sizeof why), RAD_RELABEL_OK);
	EXPECT_EQ(n, 1);
	const char *want = rad_relabel_half_is_pos(&rl, "p1", 2) ? "pos" : "neg";
	EXPECT_STR(json_string_value(json_object_get(out[0], "half")), want);
	json_decref(out[0]);
	rad_relabel_free(&rl);
	json_decref(in);
}

static void test_fine_filter_and_invalid(void)
{
	rad_relabel rl;
	setup(&rl, NULL);
	rl.fine_filter = 1;
	json_t *out[2];
	int n;
	char why[256];
	json_t *keep = parse(PAIR);   /* means 4.5 vs 3 */
	json_t *eq = parse("{\"id\":\"e\",\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"chosen\":\"a\",\"rejected\":\"b\","
		"\"score_chosen\":5,\"score_rejected\":5,\"ratings_chosen\":{\"x\":3,\"y\":4},\"ratings_rejected\":{\"x\":4,\"y\":3}}");
	json_t *drop = parse("{\"id\":\"d\",\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"chosen\":\"a\",\"rejected\":\"b\","
		"\"score_chosen\":9,\"score_rejected\":5,\"ratings_chosen\":{\"x\":3,\"y\":3},\"ratings_rejected\":{\"x\":4,\"y\":3}}");
	json_t *none = parse("{\"id\":\"n\",\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"chosen\":\"a\",\"rejected\":\"b\","
		"\"score_chosen\":9,\"score_rejected\":5}");
	EXPECT_EQ(rad_relabel_pair(&rl, keep, out, &n, why, sizeof why), RAD_RELABEL_OK);
	json_decref(out[0]); json_decref(out[1]);
	EXPECT_EQ(rad_relabel_pair(&rl, eq, out, &n, why, sizeof why), RAD_RELABEL_OK);   /* equal means kept */
	json_decref(out[0]); json_decref(out[1]);
	EXPECT_EQ(rad_relabel_pair(&rl, drop, out, &n, why, sizeof why), RAD_RELABEL_DROP);
	EXPECT_EQ(n, 0);
	EXPECT_EQ(rad_relabel_pair(&rl, none, out, &n, why, sizeof why), RAD_RELABEL_INVALID);
	EXPECT_EQ(rl.dropped_fine, 1);
	EXPECT_EQ(rl.pairs_in, 3);
	EXPECT_EQ(rl.copies_out, 4);
	rl.fine_filter = 0;
	const char *bad[] = {
		"[1]", "{\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"chosen\":\"a\",\"rejected\":\"b\"}",
		"{\"id\":\"x\",\"prompt\":[],\"chosen\":\"a\",\"rejected\":\"b\",\"score_chosen\":1,\"score_rejected\":2}",
		"{\"id\":\"x\",\"prompt\":[{\"role\":\"robot\",\"content\":\"q\"}],\"chosen\":\"a\",\"rejected\":\"b\",\"score_chosen\":1,\"score_rejected\":2}",
		"{\"id\":\"x\",\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"chosen\":3,\"rejected\":\"b\",\"score_chosen\":1,\"score_rejected\":2}",
		"{\"id\":\"x\",\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"chosen\":\"a\",\"rejected\":\"b\",\"score_chosen\":null,\"score_rejected\":2}",
		"{\"id\":\"x\",\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"chosen\":\"a\",\"rejected\":\"b\",\"score_chosen\":1,\"score_rejected\":2,\"goal\":\"done\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_t *b = parse(bad[i]);
		why[0] = 0;
		EXPECT_MSG(rad_relabel_pair(&rl, b, out, &n, why, sizeof why) == RAD_RELABEL_INVALID, "case %zu accepted", i);
		EXPECT_MSG(why[0], "case %zu: no message", i);
		json_decref(b);
	}
	json_decref(keep); json_decref(eq); json_decref(drop); json_decref(none);
	rad_relabel_free(&rl);
}

int main(void)
{
	RUN(test_score_text);
	RUN(test_rounding_and_scales);
	RUN(test_histogram);
	RUN(test_sha256);
	RUN(test_paper_copies);
	RUN(test_placement_user_and_compat);
	RUN(test_system_merge_and_multi_turn);
	RUN(test_attributes_template_goal);
	RUN(test_modes);
	RUN(test_fine_filter_and_invalid);
	return test_status();
}
