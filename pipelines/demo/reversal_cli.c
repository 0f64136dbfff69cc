/* reversal — the demo's synthetic task (reversal.h): writes preference data in
 * ultrafeedback_binarized form and acts as the judge behind rad-eval --judge. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/io.h"
#include "base/jsonl.h"
#include "base/keyed.h"
#include "reversal.h"

static const char usage[] =
"Usage: reversal prefs|sft|judge [OPTION]...\n"
"The synthetic reversal task of the rad demo.  A prompt is 9 random digits; an answer is\n"
"HEDGE or COMMIT, a space and 9 digits; the ideal answer is COMMIT and the prompt\n"
"reversed; the judge's score is 1 + the matching positions, at most 7 when hedged.\n"
"\n"
"  prefs   preference pairs, ultrafeedback_binarized form: per prompt K teacher answers,\n"
"          chosen = the best (the first on ties), rejected = a seeded random other;\n"
"          prompts whose two scores are equal are dropped (counted with --verbose)\n"
"  sft     supervised examples in the same form: chosen = one fresh teacher answer\n"
"          (rejected = a second one, unused by SFT); --part picks the share that is to\n"
"          carry its own score as the goal, or the rest; --goal-scores uniform makes\n"
"          the goal-bearing share cover every score 1..10 equally often\n"
"  judge   read JSONL {id, prompt, response} (prompt: a string or a message list) and\n"
"          write {id, score} per line, flushed line by line\n"
"\n"
"  -n, --count N         prompts (default 2000)\n"
"  -k, --answers K       teacher answers per prompt for prefs (default 4)\n"
"      --split NAME      names the prompts (ids NAME-SEED-000001...) so that splits made\n"
"                        with different names never share a prompt (default train)\n"
"      --seed N          seed (default 0)\n"
"      --goal-share F    sft: the share of examples that carry a goal (default 0.2)\n"
"      --part P          sft: goal, plain or all (default all)\n"
"      --goal-scores D   sft: the scores of the goal-bearing examples' answers: teacher\n"
"                        (as the teacher draws them; default) or uniform (a score\n"
"                        1..10 drawn uniformly per example, keyed by its id, and an\n"
"                        answer the teacher writes with exactly that score)\n"
"  -o, --output FILE     write to FILE instead of standard output\n"
"      --verbose         a summary line of counts on standard error\n"
"      --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad input, 2 bad usage.\n";

enum { OPT_SPLIT = RAD_OPT_FIRST_TOOL, OPT_SEED, OPT_SHARE, OPT_PART, OPT_GOAL_SCORES };

static json_t *conversation(const char *prompt, const char *answer)
{
	return json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "user", "content", prompt,
	                 "role", "assistant", "content", answer);
}

static json_t *record(const char *id, const char *prompt, const char *chosen, int sc,
                      const char *rejected, int sr)
{
	json_t *o = json_object();
	json_object_set_new(o, "prompt", json_string(prompt));
	json_object_set_new(o, "prompt_id", json_string(id));
	json_object_set_new(o, "chosen", conversation(prompt, chosen));
	json_object_set_new(o, "rejected", conversation(prompt, rejected));
	json_object_set_new(o, "score_chosen", json_real(sc));
	json_object_set_new(o, "score_rejected", json_real(sr));
	return o;
}

static void teacher_rng(rad_rng *r, uint64_t seed, const char *id)
{
	rad_rng_seed(r, rad_keyed_u64("reversal-teacher", seed, id, strlen(id)));
}

static void make_prefs(rad_sink *out, const char *split, uint64_t seed, long n, int K)
{
	char ans[16][RAD_REV_ANS_MAX];
	int score[16];
	long written = 0, ties = 0;
	for (long i = 1; i <= n; i++) {
		char id[96], prompt[RAD_REV_LEN + 1];
		snprintf(id, sizeof id, "%s-%llu-%06ld", split, (unsigned long long)seed, i);
		rad_rev_prompt(seed, id, prompt);
		rad_rng r;
		teacher_rng(&r, seed, id);
		int best = 0;
		for (int k = 0; k < K; k++) {
			score[k] = rad_rev_teacher(&r, prompt, ans[k], NULL);
			if (score[k] > score[best]) best = k;
		}
		int other = (int)rad_keyed_below("reversal-rejected", seed, id, strlen(id), (uint64_t)K - 1);
		if (other >= best) other++;
		if (score[other] == score[best]) { ties++; continue; }
		json_t *o = record(id, prompt, ans[best], score[best], ans[other], score[other]);
		rad_jsonl_write(out, o);
		json_decref(o);
		written++;
	}
	if (rad_verbose)
		fprintf(stderr, "%s: prefs: %ld prompts, %ld pairs written, %ld dropped as exact ties\n",
		        rad_prog, n, written, ties);
}

static void make_sft(rad_sink *out, const char *split, uint64_t seed, long n, double share,
                     const char *part, int uniform)
{
	long goal = 0, plain = 0;
	for (long i = 1; i <= n; i++) {
		char id[96], prompt[RAD_REV_LEN + 1], a[RAD_REV_ANS_MAX], b[RAD_REV_ANS_MAX];
		snprintf(id, sizeof id, "%s-%llu-%06ld", split, (unsigned long long)seed, i);
		/* The share is keyed by the id, so each part is a fixed subset. */
		int g = (double)(rad_keyed_u64("reversal-goal", seed, id, strlen(id)) >> 11) * 0x1p-53 < share;
		g ? goal++ : plain++;
		if ((g && !strcmp(part, "plain")) || (!g && !strcmp(part, "goal"))) continue;
		rad_rev_prompt(seed, id, prompt);
		rad_rng r;
		teacher_rng(&r, seed, id);
		/* A goal-bearing answer of a chosen score: without it the score 10 that the goal
		 * asks for at inference is in 0.5% of the examples (reversal.h). */
		int sa = g && uniform
			? rad_rev_teacher_at(&r, prompt, 1 + (int)rad_keyed_below("reversal-goal-score", seed, id, strlen(id), 10), a, NULL)
			: rad_rev_teacher(&r, prompt, a, NULL);
		int sb = rad_rev_teacher(&r, prompt, b, NULL);
		json_t *o = record(id, prompt, a, sa, b, sb);
		rad_jsonl_write(out, o);
		json_decref(o);
	}
	if (rad_verbose)
		fprintf(stderr, "%s: sft: %ld examples, %ld with a goal, %ld without; wrote part %s\n",
		        rad_prog, n, goal, plain, part);
}

/* The prompt text the judge looks in: a string, or the message list's user turns. */
static int prompt_digits(json_t *p, char out[RAD_REV_LEN + 1])
{
	if (json_is_string(p)) return rad_rev_find_prompt(json_string_value(p), json_string_length(p), out);
	if (!json_is_array(p)) return -1;
	int found = -1;
	size_t i;
	json_t *m;
	json_array_foreach(p, i, m) {
		json_t *c = json_object_get(m, "content");
		const char *role = json_string_value(json_object_get(m, "role"));
		if (json_is_string(c) && role && !strcmp(role, "user")
		    && !rad_rev_find_prompt(json_string_value(c), json_string_length(c), out))
			found = 0;
	}
	return found;
}

static void judge(const char *outpath)
{
	FILE *out = stdout;
	if (outpath && strcmp(outpath, "-") && !(out = fopen(outpath, "w")))
		rad_die(RAD_EXIT_DATA, outpath, "cannot open for writing");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0, judged = 0;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		char where[64];
		snprintf(where, sizeof where, "stdin:%ld", lineno);
		if (strspn(line, " \t\r\n") == (size_t)len) continue;
		json_error_t err;
		json_t *o = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &err);
		if (!o || !json_is_object(o)) rad_die(RAD_EXIT_DATA, where, "not a JSON object");
		json_t *id = json_object_get(o, "id");
		const char *resp = json_string_value(json_object_get(o, "response"));
		char digits[RAD_REV_LEN + 1];
		if (!id || !resp) rad_die(RAD_EXIT_DATA, where, "needs \"id\" and \"response\" (a string)");
		if (prompt_digits(json_object_get(o, "prompt"), digits))
			rad_die(RAD_EXIT_DATA, where, "no run of exactly 9 digits in \"prompt\"");
		json_t *r = json_pack("{s:O,s:i}", "id", id, "score", rad_rev_score(digits, resp));
		char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		fprintf(out, "%s\n", s);
		fflush(out);
		free(s);
		json_decref(r);
		json_decref(o);
		judged++;
	}
	free(line);
	if (ferror(out) || (out != stdout && fclose(out)))
		rad_die(RAD_EXIT_DATA, outpath ? outpath : "stdout", "write failed");
	if (rad_verbose) fprintf(stderr, "%s: judge: %ld answers judged\n", rad_prog, judged);
}

int main(int argc, char **argv)
{
	rad_cli_init(argc, argv);
	static const struct option opts[] = {
		{"count", required_argument, 0, 'n'},
		{"answers", required_argument, 0, 'k'},
		{"output", required_argument, 0, 'o'},
		{"split", required_argument, 0, OPT_SPLIT},
		{"seed", required_argument, 0, OPT_SEED},
		{"goal-share", required_argument, 0, OPT_SHARE},
		{"part", required_argument, 0, OPT_PART},
		{"goal-scores", required_argument, 0, OPT_GOAL_SCORES},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0}
	};
	long n = 2000;
	int K = 4;
	const char *split = "train", *outpath = "-", *part = "all";
	uint64_t seed = 0;
	double share = 0.2;
	int c, uniform = 0;
	while ((c = getopt_long(argc, argv, "n:k:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n = (long)rad_parse_int("--count", optarg, 0, 100000000); break;
		case 'k': K = (int)rad_parse_int("--answers", optarg, 2, 16); break;
		case 'o': outpath = optarg; break;
		case OPT_SPLIT:
			if (!*optarg || strlen(optarg) > 40) rad_usage_error("--split: 1 to 40 characters");
			split = optarg;
			break;
		case OPT_SEED: seed = (uint64_t)rad_parse_int("--seed", optarg, 0, (1LL << 62)); break;
		case OPT_SHARE:
			share = rad_parse_double("--goal-share", optarg);
			if (share < 0 || share > 1) rad_usage_error("--goal-share: between 0 and 1");
			break;
		case OPT_PART:
			if (strcmp(optarg, "goal") && strcmp(optarg, "plain") && strcmp(optarg, "all"))
				rad_usage_error("--part: goal, plain or all");
			part = optarg;
			break;
		case OPT_GOAL_SCORES:
			if (strcmp(optarg, "teacher") && strcmp(optarg, "uniform"))
				rad_usage_error("--goal-scores: teacher or uniform");
			uniform = !strcmp(optarg, "uniform");
			break;
		default:
			if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (optind != argc - 1) rad_usage_error("one command: prefs, sft or judge");
	const char *cmd = argv[optind];
	if (!strcmp(cmd, "judge")) { judge(outpath); return 0; }
	if (strcmp(cmd, "prefs") && strcmp(cmd, "sft")) rad_usage_error("unknown command '%s'", cmd);
	rad_sink *out = rad_sink_open(outpath, 0, 0);
	if (!strcmp(cmd, "prefs")) make_prefs(out, split, seed, n, K);
	else make_sft(out, split, seed, n, share, part, uniform);
	rad_sink_close(out);
	return 0;
}
