/* test_prefs.c — preference records of each public shape into canonical pairs. */
#include <stdlib.h>
#include <string.h>

#include "prefs/formats.h"
#include "test.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v) fprintf(stderr, "bad test JSON: %s: %s\n", text, e.text);
	return v;
}

static char *dump(const json_t *v) { return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER); }

/* Converts `text` with options o; returns the canonical pair as compact JSON (malloc'd) or
 * NULL, with the status in *st. */
static char *convert(const char *text, const rad_prefs_opts *o, int *st, rad_prefs_info *info, char *why)
{
	json_t *in = parse(text), *out = NULL;
	*st = rad_prefs_convert(in, o, &out, info, why, 256);
	json_decref(in);
	char *s = out ? dump(out) : NULL;
	json_decref(out);
	return s;
}

static void test_detect(void)
{
	struct { const char *json; int want; } cases[] = {
		{ "{\"instruction\":\"q\",\"completions\":[]}", RAD_FMT_UF },
		{ "{\"conversations\":[],\"chosen\":{},\"rejected\":{}}", RAD_FMT_SHAREGPT },
		{ "{\"chosen\":\"\\n\\nHuman: a\\n\\nAssistant: b\",\"rejected\":\"\\n\\nHuman: a\\n\\nAssistant: c\"}", RAD_FMT_HH },
		{ "{\"prompt\":\"a\",\"prompt_id\":\"x\",\"chosen\":[],\"rejected\":[]}", RAD_FMT_H4 },
		{ "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}", RAD_FMT_TRL },
		{ "{\"chosen\":\"a b\",\"rejected\":\"a c\"}", RAD_FMT_TRL },
		{ "{\"id\":\"p\",\"prompt\":\"a\",\"response\":\"b\",\"score\":1}", RAD_FMT_SAMPLES },
		{ "{\"id\":\"p\",\"prompt\":\"a\",\"responses\":[]}", RAD_FMT_SAMPLES },
		{ "{\"text\":\"a\"}", -1 },
		{ "[1,2]", -1 },
	};
	char why[256];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		json_t *v = parse(cases[i].json);
		EXPECT_MSG(rad_prefs_detect(v, why, sizeof why) == cases[i].want, "case %zu", i);
		json_decref(v);
	}
	EXPECT_EQ(rad_prefs_format_parse("h4"), RAD_FMT_H4);
	EXPECT_EQ(rad_prefs_format_parse("ultrafeedback_binarized"), RAD_FMT_H4);
	EXPECT_EQ(rad_prefs_format_parse("hh-rlhf"), RAD_FMT_HH);
	EXPECT_EQ(rad_prefs_format_parse("nonsense"), -1);
	EXPECT_STR(rad_prefs_format_name(RAD_FMT_SHAREGPT), "sharegpt");
}

static void test_paths_and_scores(void)
{
	json_t *v = parse("{\"a\":{\"b\":[5,{\"c\":\"7.5\"}]},\"n\":\"N/A\",\"x\":\"4x\"}");
	double d;
	EXPECT(json_integer_value(rad_json_path(v, "a.b.0")) == 5);
	EXPECT(rad_json_score(rad_json_path(v, "a.b.1.c"), &d) && d == 7.5);
	EXPECT(rad_json_path(v, "a.b.2") == NULL);
	EXPECT(rad_json_path(v, "a.z") == NULL);
	EXPECT(!rad_json_score(rad_json_path(v, "n"), &d));
	EXPECT(!rad_json_score(rad_json_path(v, "x"), &d));
	EXPECT(!rad_json_score(NULL, &d));
	json_decref(v);
}

static void test_h4(void)
{
	rad_prefs_opts o = { 0 };
	rad_prefs_info info;
	char why[256];
	int st;
	char *s = convert("{\"prompt\":\"Hi?\",\"prompt_id\":\"abc\",\"chosen\":[{\"role\":\"user\",\"content\":\"Hi?\"},"
		"{\"role\":\"assistant\",\"content\":\"Hello.\"}],\"rejected\":[{\"role\":\"user\",\"content\":\"Hi?\"},"
		"{\"role\":\"assistant\",\"content\":\"Go away.\"}],\"messages\":[],\"score_chosen\":8.0,\"score_rejected\":2.5}",
		&o, &st, &info, why);
	EXPECT_EQ(st, RAD_PREFS_OK);
	EXPECT_STR(s, "{\"id\":\"abc\",\"prompt\":[{\"role\":\"user\",\"content\":\"Hi?\"}],\"chosen\":\"Hello.\","
		"\"rejected\":\"Go away.\",\"score_chosen\":8.0,\"score_rejected\":2.5,\"source\":{\"format\":\"ultrafeedback_binarized\"}}");
	EXPECT_EQ(info.format, RAD_FMT_H4);
	EXPECT(!info.scores_missing);
	free(s);
	/* prompt turns that differ between chosen and rejected are an error */
	s = convert("{\"prompt_id\":\"abc\",\"chosen\":[{\"role\":\"user\",\"content\":\"A\"},{\"role\":\"assistant\",\"content\":\"x\"}],"
		"\"rejected\":[{\"role\":\"user\",\"content\":\"B\"},{\"role\":\"assistant\",\"content\":\"y\"}],\"score_chosen\":1,\"score_rejected\":2}",
		&o, &st, &info, why);
	EXPECT_EQ(st, RAD_PREFS_INVALID);
	EXPECT(strstr(why, "differ") != NULL);
	EXPECT(s == NULL);
}

static void test_trl(void)
{
	rad_prefs_opts o = { 0 };
	rad_prefs_info info;
	char why[256];
	int st;
	/* implicit prompt in strings: the common prefix, the space at the cut goes with the answers */
	char *s = convert("{\"chosen\":\"The sky is blue.\",\"rejected\":\"The sky is green.\",\"id\":\"s\",\"metadata\":{\"score_chosen\":9,\"score_rejected\":2}}",
		&o, &st, &info, why);
	EXPECT_STR(s, "{\"id\":\"s\",\"prompt\":[{\"role\":\"user\",\"content\":\"The sky is\"}],\"chosen\":\" blue.\","
		"\"rejected\":\" green.\",\"score_chosen\":9.0,\"score_rejected\":2.0,\"source\":{\"format\":\"trl\"}}");
	free(s);
	/* the cut never splits a UTF-8 sequence: "é" (c3 a9) vs "è" (c3 a8) */
	s = convert("{\"id\":\"u\",\"chosen\":\"Caf\\u00e9\",\"rejected\":\"Caf\\u00e8\",\"score_chosen\":1,\"score_rejected\":1}", &o, &st, &info, why);
	EXPECT(s && strstr(s, "\"content\":\"Caf\"") && strstr(s, "\"chosen\":\"\xc3\xa9\""));
	free(s);
	/* explicit conversational with a system turn and string scores */
	s = convert("{\"id\":\"c\",\"prompt\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Sky?\"}],"
		"\"chosen\":[{\"role\":\"assistant\",\"content\":\"Blue.\"}],\"rejected\":[{\"role\":\"assistant\",\"content\":\"Green.\"}],"
		"\"score_chosen\":\"7\",\"score_rejected\":\"4\"}", &o, &st, &info, why);
	EXPECT_STR(s, "{\"id\":\"c\",\"prompt\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Sky?\"}],"
		"\"chosen\":\"Blue.\",\"rejected\":\"Green.\",\"score_chosen\":7.0,\"score_rejected\":4.0,\"source\":{\"format\":\"trl\"}}");
	free(s);
	/* named score paths, integer id; missing scores flagged */
	o.score_path[0] = "judge.s.0";
	o.score_path[1] = "judge.s.1";
	s = convert("{\"id\":7,\"prompt\":\"2+2=\",\"chosen\":\"4\",\"rejected\":\"5\",\"judge\":{\"s\":[9.5,1]}}", &o, &st, &info, why);
	EXPECT(s && strstr(s, "\"id\":\"7\"") && strstr(s, "\"score_chosen\":9.5,\"score_rejected\":1.0"));
	EXPECT(!info.scores_missing);
	free(s);
	s = convert("{\"prompt\":\"2+2=\",\"chosen\":\"4\",\"rejected\":\"5\",\"judge\":{\"s\":[9.5]}}", &o, &st, &info, why);
	EXPECT_EQ(st, RAD_PREFS_OK);
	EXPECT(info.scores_missing);
	EXPECT(s && strstr(s, "\"score_chosen\":null,\"score_rejected\":null"));
	free(s);
	o.score_path[0] = o.score_path[1] = NULL;
	/* without an id, the id is a hash of the content: the same pair, the same id */
	char *a = convert("{\"prompt\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\"}", &o, &st, &info, why);
	char *b = convert("{\"rejected\":\"b\",\"chosen\":\"a\",\"prompt\":\"q\",\"extra\":1}", &o, &st, &info, why);
	char *c = convert("{\"prompt\":\"q\",\"chosen\":\"b\",\"rejected\":\"a\"}", &o, &st, &info, why);
	EXPECT(a && b && c && !strncmp(a, b, 26) && strncmp(a, c, 26));
	EXPECT(info.scores_missing);
	free(a); free(b); free(c);
	const char *bad[] = {
		"{\"prompt\":\"q\",\"chosen\":\"a\"}",
		"{\"prompt\":5,\"chosen\":\"a\",\"rejected\":\"b\"}",
		"{\"prompt\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}],\"chosen\":\"a\",\"rejected\":\"b\"}",
		"{\"prompt\":[{\"role\":\"wizard\",\"content\":\"q\"}],\"chosen\":\"a\",\"rejected\":\"b\"}",
		"{\"prompt\":[{\"role\":\"user\",\"content\":7}],\"chosen\":\"a\",\"rejected\":\"b\"}",
		"{\"chosen\":\"same\",\"rejected\":\"same\"}",
		"{\"chosen\":\"abc\",\"rejected\":\"xyz\"}",
		"{\"prompt\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\",\"id\":[1]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		why[0] = 0;
		s = convert(bad[i], &o, &st, &info, why);
		EXPECT_MSG(st == RAD_PREFS_INVALID && !s && why[0], "case %zu: status %d", i, st);
		free(s);
	}
}

static void test_hh(void)
{
	rad_prefs_opts o = { 0 };
	rad_prefs_info info;
	char why[256];
	int st;
	char *s = convert("{\"chosen\":\"\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Joke?\\n\\nAssistant: A pun.\","
		"\"rejected\":\"\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Joke?\\n\\nAssistant: No.\"}", &o, &st, &info, why);
	EXPECT(s && strstr(s, "\"prompt\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello\"},"
		"{\"role\":\"user\",\"content\":\"Joke?\"}],\"chosen\":\"A pun.\",\"rejected\":\"No.\",\"score_chosen\":null,"
		"\"score_rejected\":null,\"source\":{\"format\":\"hh-rlhf\"}}"));
	EXPECT(!info.scores_missing);   /* HH-RLHF carries no scores: not "missing" */
	free(s);
	/* an answer that writes its own "Assistant:" line stays whole */
	s = convert("{\"chosen\":\"\\n\\nHuman: Q\\n\\nAssistant: A1  Human: more\\n\\nAssistant: A2\","
		"\"rejected\":\"\\n\\nHuman: Q\\n\\nAssistant: B\"}", &o, &st, &info, why);
	EXPECT(s && strstr(s, "\"chosen\":\"A1  Human: more\\n\\nAssistant: A2\",\"rejected\":\"B\""));
	free(s);
	s = convert("{\"chosen\":\"\\n\\nHuman: Q\\n\\nAssistant: same\",\"rejected\":\"\\n\\nHuman: Q\\n\\nAssistant: same\"}", &o, &st, &info, why);
	EXPECT(s && strstr(s, "\"chosen\":\"same\",\"rejected\":\"same\""));
	free(s);
	o.format = RAD_FMT_HH;
	s = convert("{\"chosen\":\"no markers\",\"rejected\":\"at all\"}", &o, &st, &info, why);
	EXPECT_EQ(st, RAD_PREFS_INVALID);
	free(s);
}

static void test_sharegpt(void)
{
	rad_prefs_opts o = { 0 };
	rad_prefs_info info;
	char why[256];
	int st;
	char *s = convert("{\"conversations\":[{\"from\":\"system\",\"value\":\"S\"},{\"from\":\"human\",\"value\":\"Q1\"},"
		"{\"from\":\"gpt\",\"value\":\"A1\"},{\"from\":\"human\",\"value\":\"Q2\"}],"
		"\"chosen\":{\"from\":\"gpt\",\"value\":\"good\"},\"rejected\":{\"from\":\"gpt\",\"value\":\"bad\"}}", &o, &st, &info, why);
	EXPECT(s && strstr(s, "\"prompt\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Q1\"},"
		"{\"role\":\"assistant\",\"content\":\"A1\"},{\"role\":\"user\",\"content\":\"Q2\"}],\"chosen\":\"good\",\"rejected\":\"bad\","
		"\"score_chosen\":null,\"score_rejected\":null,\"source\":{\"format\":\"sharegpt\"}}"));
	free(s);
	s = convert("{\"conversations\":[{\"from\":\"human\",\"value\":\"Q\"}],\"chosen\":{\"from\":\"human\",\"value\":\"x\"},"
		"\"rejected\":{\"from\":\"gpt\",\"value\":\"y\"}}", &o, &st, &info, why);
	EXPECT_EQ(st, RAD_PREFS_INVALID);
	free(s);
}

/* A raw UltraFeedback record with completions of the given overall scores; rating "N/A"
 * for the completions whose index is in na. */
static char *uf_record(const char *instr, const double *overall, int n, int na)
{
	static char buf[8192];
	int k = snprintf(buf, sizeof buf, "{\"source\":\"evol_instruct\",\"instruction\":\"%s\",\"completions\":[", instr);
	for (int i = 0; i < n; i++)
		k += snprintf(buf + k, sizeof buf - k, "%s{\"model\":\"m%d\",\"response\":\"r%d\",\"overall_score\":%g,"
			"\"annotations\":{\"helpfulness\":{\"Rating\":\"%s\"},\"honesty\":{\"Rating\":\"%d\"},"
			"\"instruction_following\":[{\"Rating\":\"3\"}],\"truthfulness\":{\"Rating\":\"2\",\"Type\":[\"0\"]}}}",
			i ? "," : "", i, i, overall[i], i == na ? "N/A" : "4", 1 + i % 5);
	snprintf(buf + k, sizeof buf - k, "]}");
	return buf;
}

static void test_ultrafeedback(void)
{
	rad_prefs_opts o = { 0 };
	rad_prefs_info info;
	char why[256];
	int st;
	/* highest overall wins, first on ties; the N/A completion (index 0, the best) is out */
	double sc[] = { 10, 6, 8.5, 8.5 };
	char *s = convert(uf_record("What is 2+2?", sc, 4, 0), &o, &st, &info, why);
	EXPECT_EQ(st, RAD_PREFS_OK);
	EXPECT_EQ(info.completions_unrated, 1);
	/* id: SHA-256 of the instruction (printf 'What is 2+2?' | sha256sum) */
	EXPECT(s && !strncmp(s, "{\"id\":\"52cb6b5e4a038af1756708f98afb718a08c75b87b2f03dbee4dd9c8139c15c5e\"", 72));
	EXPECT(s && strstr(s, "\"chosen\":\"r2\""));
	EXPECT(s && strstr(s, "\"ratings_chosen\":{\"helpfulness\":4.0,\"honesty\":3.0,\"instruction_following\":3.0,\"truthfulness\":2.0}"));
	EXPECT(s && strstr(s, "\"score_chosen\":8.5"));
	EXPECT(s && strstr(s, "\"mean_chosen\":3.0"));
	free(s);
	/* truthful_qa dropped unless asked; fewer than two rated completions dropped */
	json_t *v = parse("{\"source\":\"truthful_qa\",\"instruction\":\"q\",\"completions\":[]}"), *out;
	EXPECT_EQ(rad_prefs_convert(v, &o, &out, &info, why, sizeof why), RAD_PREFS_DROP);
	EXPECT_STR(info.drop_reason, "source truthful_qa");
	o.keep_truthful_qa = 1;
	EXPECT_EQ(rad_prefs_convert(v, &o, &out, &info, why, sizeof why), RAD_PREFS_DROP);
	EXPECT_STR(info.drop_reason, "fewer than 2 fully rated completions");
	json_decref(v);
	/* the rejected pick: never the chosen, uniform over the others, keyed by id and seed */
	double four[] = { 5, 9, 5, 5 };
	int counts[4] = { 0 }, moved = 0, total = 3000;
	for (int i = 0; i < total; i++) {
		char instr[32];
		snprintf(instr, sizeof instr, "prompt %d", i);
		json_t *rec = parse(uf_record(instr, four, 4, -1)), *p0, *p1, *p2;
		o.seed = 0;
		rad_prefs_convert(rec, &o, &p0, &info, why, sizeof why);
		rad_prefs_convert(rec, &o, &p1, &info, why, sizeof why);
		o.seed = 1;
		rad_prefs_convert(rec, &o, &p2, &info, why, sizeof why);
		const char *rej = json_string_value(json_object_get(p0, "rejected"));
		EXPECT_STR(json_string_value(json_object_get(p0, "chosen")), "r1");
		EXPECT(strcmp(rej, "r1"));
		counts[rej[1] - '0']++;
		EXPECT(json_equal(p0, p1));
		moved += !json_equal(p0, p2);
		json_decref(p0); json_decref(p1); json_decref(p2); json_decref(rec);
	}
	EXPECT_EQ(counts[1], 0);
	for (int i = 0; i < 4; i += i == 0 ? 2 : 1)
		EXPECT_MSG(counts[i] > total / 3 - 120 && counts[i] < total / 3 + 120, "completion %d picked %d times", i, counts[i]);
	EXPECT(moved > total * 2 / 3 - 120 && moved < total * 2 / 3 + 120);   /* another seed: 2/3 move */
}

int main(void)
{
	RUN(test_detect);
	RUN(test_paths_and_scores);
	RUN(test_h4);
	RUN(test_trl);
	RUN(test_hh);
	RUN(test_sharegpt);
	RUN(test_ultrafeedback);
	return test_status();
}
