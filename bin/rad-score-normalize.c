/* rad-score-normalize — preference data of the common public shapes in, canonical scored
 * pairs out (JSON Lines), scores mapped to one scale. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/json_parse.h"
#include "base/jsonl.h"
#include "prefs/formats.h"
#include "prefs/scores.h"

static const char usage[] =
"Usage: rad-score-normalize [OPTION]... [FILE]...\n"
"Read preference records (JSON Lines, or one JSON array) and write canonical scored pairs:\n"
"{id, prompt, chosen, rejected, score_chosen, score_rejected, [ratings_chosen,\n"
"ratings_rejected,] source}, one per line.  With no FILE, or when FILE is -, read\n"
"standard input.\n"
"\n"
"  -f, --format FMT       auto (per record, default), ultrafeedback_binarized (h4), trl,\n"
"                         ultrafeedback (raw openbmb records), hh-rlhf, sharegpt\n"
"      --score-fields C,R dotted paths of the chosen and rejected scores\n"
"                         (default score_chosen,score_rejected, then metadata.*)\n"
"      --id-field PATH    dotted path of the record id (default: id/prompt_id, else a\n"
"                         hash of the content; raw UltraFeedback: SHA-256 of the prompt)\n"
"      --scale LO:HI      the target scale (default 1:10)\n"
"      --scale-by HOW     none (keep scores, default), linear (from --from), rank\n"
"                         (mid-rank quantile of all scores; reads FILEs twice)\n"
"      --from LO:HI       the source range for --scale-by linear\n"
"      --round STEP       round scaled scores to a multiple of STEP (e.g. 0.5)\n"
"      --missing POLICY   a score absent or not a number: drop (default), error, null\n"
"      --ties POLICY      score_chosen == score_rejected: keep (default), drop\n"
"      --inverted POLICY  score_chosen < score_rejected: keep (default), drop, swap\n"
"      --seed N           raw UltraFeedback: seed of the rejected completion's pick (0)\n"
"      --keep-truthful-qa raw UltraFeedback: keep source truthful_qa (dropped by default)\n"
"      --skip-invalid     count malformed lines and records and go on\n"
"  -o, --output FILE      write to FILE instead of standard output\n"
"  -z, --zstd             compress the output with zstd\n"
"      --level N          zstd level (default 3)\n"
"      --verbose          a summary on standard error: counts and a histogram of scores\n"
"      --help             show this help and exit\n"
"      --version          show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad input, 2 bad usage.  See rad-score-normalize(1).\n";

enum { MISSING_DROP, MISSING_ERROR, MISSING_NULL };
enum { POLICY_KEEP, POLICY_DROP, POLICY_SWAP };

enum { OPT_SCORE_FIELDS = RAD_OPT_FIRST_TOOL, OPT_ID_FIELD, OPT_SCALE, OPT_SCALE_BY, OPT_FROM,
       OPT_ROUND, OPT_MISSING, OPT_TIES, OPT_INVERTED, OPT_SEED, OPT_KEEP_TQA, OPT_SKIP_INVALID, OPT_LEVEL };

typedef struct counts {
	long long in, out, invalid, missing, ties, tie_drop, inverted, inv_drop, inv_swap, unrated;
	long long dropped_by[4];           /* construction drops, by reason below */
	const char *drop_reasons[4];
	long long formats[RAD_FMT_COUNT];
} counts;

static int pick(const char *opt, const char *v, const char *const *names)
{
	for (int i = 0; names[i]; i++) if (!strcmp(v, names[i])) return i;
	rad_usage_error("--%s: unknown value '%s'", opt, v);
}

static void count_drop(counts *c, const char *reason)
{
	for (int i = 0; i < 4; i++) {
		if (!c->drop_reasons[i]) c->drop_reasons[i] = reason;
		if (c->drop_reasons[i] == reason) { c->dropped_by[i]++; return; }
	}
}

static void swap_keys(json_t *o, const char *a, const char *b)
{
	json_t *x = json_incref(json_object_get(o, a)), *y = json_incref(json_object_get(o, b));
	if (!x || !y) { json_decref(x); json_decref(y); return; }
	json_object_set_new(o, a, y);
	json_object_set_new(o, b, x);
}

/* Scores through the scale and the tie/inversion policies; 0 when the pair is dropped. */
static int apply_scores(json_t *pair, const rad_scale *sc, int ties, int inverted, counts *c, rad_hist *h)
{
	json_t *jc = json_object_get(pair, "score_chosen"), *jr = json_object_get(pair, "score_rejected");
	if (!json_is_number(jc) || !json_is_number(jr)) {
		rad_hist_add_null(h);
		rad_hist_add_null(h);
		return 1;
	}
	double vc = rad_scale_apply(sc, json_number_value(jc)), vr = rad_scale_apply(sc, json_number_value(jr));
	json_object_set_new(pair, "score_chosen", json_real(vc));
	json_object_set_new(pair, "score_rejected", json_real(vr));
	if (vc == vr) {
		c->ties++;
		if (ties == POLICY_DROP) { c->tie_drop++; return 0; }
	} else if (vc < vr) {
		c->inverted++;
		if (inverted == POLICY_DROP) { c->inv_drop++; return 0; }
		if (inverted == POLICY_SWAP) {
			c->inv_swap++;
			swap_keys(pair, "chosen", "rejected");
			swap_keys(pair, "score_chosen", "score_rejected");
			swap_keys(pair, "ratings_chosen", "ratings_rejected");
			json_t *src = json_object_get(pair, "source");
			json_object_set_new(src, "swapped", json_true());
			double t = vc; vc = vr; vr = t;
		}
	}
	rad_hist_add(h, vc);
	rad_hist_add(h, vr);
	return 1;
}

static void summary(const counts *c, const rad_hist *h)
{
	long long dropped = c->missing + c->tie_drop + c->inv_drop;
	for (int i = 0; i < 4; i++) dropped += c->dropped_by[i];
	if (!rad_verbose) {
		if (dropped || c->invalid)
			rad_warn(NULL, "%lld of %lld records dropped, %lld invalid skipped (--verbose for reasons)",
				dropped, c->in, c->invalid);
		return;
	}
	fprintf(stderr, "%s: records in %lld, pairs out %lld, invalid skipped %lld, dropped %lld", rad_prog,
		c->in, c->out, c->invalid, dropped);
	fprintf(stderr, " (missing score %lld, tie %lld, inverted %lld", c->missing, c->tie_drop, c->inv_drop);
	for (int i = 0; i < 4 && c->drop_reasons[i]; i++) fprintf(stderr, ", %s %lld", c->drop_reasons[i], c->dropped_by[i]);
	fprintf(stderr, "); ties %lld, inverted %lld (swapped %lld)", c->ties, c->inverted, c->inv_swap);
	if (c->unrated) fprintf(stderr, "; completions without full ratings %lld", c->unrated);
	fprintf(stderr, "; formats:");
	for (int f = 1; f < RAD_FMT_COUNT; f++)
		if (c->formats[f]) fprintf(stderr, " %s %lld", rad_prefs_format_name(f), c->formats[f]);
	fprintf(stderr, "\n");
	char prefix[64];
	snprintf(prefix, sizeof prefix, "%s: ", rad_prog);
	rad_hist_print(h, stderr, prefix);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, 0, 'f'},
		{"score-fields", required_argument, 0, OPT_SCORE_FIELDS},
		{"id-field", required_argument, 0, OPT_ID_FIELD},
		{"scale", required_argument, 0, OPT_SCALE},
		{"scale-by", required_argument, 0, OPT_SCALE_BY},
		{"from", required_argument, 0, OPT_FROM},
		{"round", required_argument, 0, OPT_ROUND},
		{"missing", required_argument, 0, OPT_MISSING},
		{"ties", required_argument, 0, OPT_TIES},
		{"inverted", required_argument, 0, OPT_INVERTED},
		{"seed", required_argument, 0, OPT_SEED},
		{"keep-truthful-qa", no_argument, 0, OPT_KEEP_TQA},
		{"skip-invalid", no_argument, 0, OPT_SKIP_INVALID},
		{"output", required_argument, 0, 'o'},
		{"zstd", no_argument, 0, 'z'},
		{"level", required_argument, 0, OPT_LEVEL},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	static const char *const scale_names[] = { "none", "linear", "rank", NULL };
	static const char *const missing_names[] = { "drop", "error", "null", NULL };
	static const char *const tie_names[] = { "keep", "drop", NULL };
	static const char *const inv_names[] = { "keep", "drop", "swap", NULL };
	rad_prefs_opts po = { .format = RAD_FMT_AUTO };
	rad_scale sc;
	rad_scale_init(&sc);
	int missing = MISSING_DROP, ties = POLICY_KEEP, inverted = POLICY_KEEP, skip_invalid = 0;
	int zstd = 0, level = 3, have_from = 0;
	const char *output = "-";
	char *fields = NULL;
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "f:o:z", opts, NULL)) != -1;) {
		switch (c) {
		case 'f':
			po.format = rad_prefs_format_parse(optarg);
			if (po.format < 0) rad_usage_error("--format: unknown format '%s'", optarg);
			break;
		case OPT_SCORE_FIELDS: {
			free(fields);
			fields = rad_strdup(optarg);
			char *comma = strchr(fields, ',');
			if (!comma || comma == fields || !comma[1] || strchr(comma + 1, ','))
				rad_usage_error("--score-fields: want CHOSEN_PATH,REJECTED_PATH, not '%s'", optarg);
			*comma = 0;
			po.score_path[0] = fields;
			po.score_path[1] = comma + 1;
			break;
		}
		case OPT_ID_FIELD: po.id_path = optarg; break;
		case OPT_SCALE:
			if (!rad_parse_range(optarg, &sc.lo, &sc.hi)) rad_usage_error("--scale: want LO:HI with LO < HI, not '%s'", optarg);
			break;
		case OPT_SCALE_BY: sc.mode = pick("scale-by", optarg, scale_names); break;
		case OPT_FROM:
			if (!rad_parse_range(optarg, &sc.from_lo, &sc.from_hi)) rad_usage_error("--from: want LO:HI with LO < HI, not '%s'", optarg);
			have_from = 1;
			break;
		case OPT_ROUND:
			if (!rad_scale_set_step(&sc, rad_parse_double("round", optarg)))
				rad_usage_error("--round: want a step >= 0, not '%s'", optarg);
			break;
		case OPT_MISSING: missing = pick("missing", optarg, missing_names); break;
		case OPT_TIES: ties = pick("ties", optarg, tie_names); break;
		case OPT_INVERTED: inverted = pick("inverted", optarg, inv_names); break;
		case OPT_SEED: po.seed = (uint64_t)rad_parse_int("seed", optarg, 0, LLONG_MAX); break;
		case OPT_KEEP_TQA: po.keep_truthful_qa = 1; break;
		case OPT_SKIP_INVALID: skip_invalid = 1; break;
		case 'o': output = optarg; break;
		case 'z': zstd = 1; break;
		case OPT_LEVEL: level = rad_parse_int("level", optarg, 1, 19); break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (sc.mode == RAD_SCALE_LINEAR && !have_from) rad_usage_error("--scale-by linear needs --from LO:HI");
	if (sc.mode != RAD_SCALE_LINEAR && have_from) rad_usage_error("--from goes with --scale-by linear");
	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;

	char why[512];
	if (sc.mode == RAD_SCALE_RANK) {
		/* First pass: every score, for the quantiles.  Problems are reported in the second. */
		for (int i = 0; i < ninputs; i++)
			if (!strcmp(inputs[i], "-")) rad_usage_error("--scale-by rank reads its input twice: name files, not stdin");
		for (int i = 0; i < ninputs; i++) {
			rad_jsonl *in = rad_jsonl_open(inputs[i], 1);
			json_t *v;
			while ((v = rad_json_next(in))) {
				json_t *pair;
				rad_prefs_info info;
				if (rad_prefs_convert(v, &po, &pair, &info, why, sizeof why) == RAD_PREFS_OK) {
					json_t *a = json_object_get(pair, "score_chosen"), *b = json_object_get(pair, "score_rejected");
					if (json_is_number(a) && json_is_number(b)) {
						rad_scale_rank_add(&sc, json_number_value(a));
						rad_scale_rank_add(&sc, json_number_value(b));
					}
					json_decref(pair);
				}
				json_decref(v);
			}
			in->skipped = 0;   /* counted in the second pass */
			rad_jsonl_close(in);
		}
		rad_scale_rank_ready(&sc);
	}

	rad_sink *out = rad_sink_open(output, zstd ? level : 0, 0);
	counts c = { 0 };
	rad_hist h;
	rad_hist_init(&h, sc.mode == RAD_SCALE_NONE ? 1 : sc.lo, sc.mode == RAD_SCALE_NONE ? 10 : sc.hi);
	for (int i = 0; i < ninputs; i++) {
		rad_jsonl *in = rad_jsonl_open(inputs[i], skip_invalid);
		json_t *v;
		while ((v = rad_json_next(in))) {
			if ((++c.in & 1023) == 0) rad_progress("%lld records, %lld pairs", c.in, c.out);
			json_t *pair;
			rad_prefs_info info;
			int st = rad_prefs_convert(v, &po, &pair, &info, why, sizeof why);
			json_decref(v);
			c.unrated += info.completions_unrated;
			if (st == RAD_PREFS_INVALID) {
				if (!skip_invalid) rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "%s", why);
				c.invalid++;
				continue;
			}
			if (st == RAD_PREFS_DROP) { count_drop(&c, info.drop_reason); continue; }
			if (info.scores_missing) {
				if (missing == MISSING_ERROR)
					rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "a score is missing or not a number (--missing)");
				if (missing == MISSING_DROP) { c.missing++; json_decref(pair); continue; }
			}
			if (apply_scores(pair, &sc, ties, inverted, &c, &h)) {
				rad_jsonl_write(out, pair);
				c.out++;
				c.formats[info.format]++;
			}
			json_decref(pair);
		}
		c.invalid += in->skipped;
		rad_jsonl_close(in);
	}
	rad_progress_done();
	rad_sink_close(out);
	summary(&c, &h);
	rad_scale_free(&sc);
	free(fields);
	return 0;
}
