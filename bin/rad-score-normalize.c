/* rad-score-normalize — preference data of the common public shapes in, canonical scored
 * pairs out (JSON Lines), scores mapped to one scale. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/json_parse.h"
#include "base/jsonl.h"
#include "prefs/normalize.h"

static const char usage[] =
"Usage: rad-score-normalize [OPTION]... [FILE]...\n"
"Read preference records (JSON Lines, or one JSON array) and write canonical scored pairs:\n"
"{id, prompt, chosen, rejected, score_chosen, score_rejected, [ratings_chosen,\n"
"ratings_rejected,] source}, one per line.  With no FILE, or when FILE is -, read\n"
"standard input.\n"
"\n"
"  -f, --format FMT       auto (per record, default), ultrafeedback_binarized (h4), trl,\n"
"                         ultrafeedback (raw openbmb records), hh-rlhf, sharegpt,\n"
"                         samples (scored responses: rad-eval generate, then reward or\n"
"                         judge; a prompt's lines together, or grouped)\n"
"      --score-fields C,R dotted paths of the chosen and rejected scores\n"
"                         (default score_chosen,score_rejected, then metadata.*);\n"
"                         samples: F[,F2...], the score pairs are picked by and, with\n"
"                         several, the ratings for multi-attribute goals (default score)\n"
"      --pairs RULE       pairs from a prompt's scored responses (samples, and raw\n"
"                         ultrafeedback): best-worst (samples' default), best-random,\n"
"                         all (every two whose scores differ by --min-gap or more)\n"
"      --min-gap G        a picked pair's raw scores differ by G at least (default 0:\n"
"                         any gap); ties and smaller gaps are counted, not made\n"
"      --id-field PATH    dotted path of the record id (default: id/prompt_id, else a\n"
"                         hash of the content; raw UltraFeedback: SHA-256 of the prompt)\n"
"      --scale LO:HI      the target scale (default 1:10)\n"
"      --scale-by HOW     none (keep scores, default), linear (from --from), minmax\n"
"                         (linear from the lowest and highest score; reads FILEs\n"
"                         twice), rank (mid-rank quantile of all scores; reads twice)\n"
"      --from LO:HI       the source range for --scale-by linear\n"
"      --out-of-range POLICY  a score outside --from (linear) or --scale (none):\n"
"                         error (default), drop (the pair, counted), clamp (counted)\n"
"      --round STEP       round scaled scores to a multiple of STEP (e.g. 0.5)\n"
"      --missing POLICY   a score absent or not a number: drop (default), error, null\n"
"      --ties POLICY      score_chosen == score_rejected: keep (default), drop\n"
"      --inverted POLICY  score_chosen < score_rejected: keep (default), drop, swap\n"
"      --seed N           seed of the rejected completion's draw (raw UltraFeedback,\n"
"                         --pairs best-random; default 0)\n"
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

enum { OPT_SCORE_FIELDS = RAD_OPT_FIRST_TOOL, OPT_ID_FIELD, OPT_SCALE, OPT_SCALE_BY, OPT_FROM,
       OPT_RANGE, OPT_ROUND, OPT_MISSING, OPT_TIES, OPT_INVERTED, OPT_SEED, OPT_KEEP_TQA, OPT_SKIP_INVALID, OPT_LEVEL,
       OPT_PAIRS, OPT_MIN_GAP };

static int pick(const char *opt, const char *v, const char *const *names)
{
	for (int i = 0; names[i]; i++) if (!strcmp(v, names[i])) return i;
	rad_usage_error("--%s: unknown value '%s'", opt, v);
}

static void write_pair(void *sink, json_t *pair)
{
	rad_jsonl_write(sink, pair);
	json_decref(pair);
}

/* What a record's status means: an error stops the run, an invalid record too unless
 * --skip-invalid (then --verbose names it). */
static void check(int st, const char *where, const char *why, int skip_invalid)
{
	if (st == RAD_NORMALIZE_ERROR || (st == RAD_NORMALIZE_INVALID && !skip_invalid)) rad_die(RAD_EXIT_DATA, where, "%s", why);
	if (st == RAD_NORMALIZE_INVALID && rad_verbose) rad_warn(where, "%s; skipped", why);
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
		{"out-of-range", required_argument, 0, OPT_RANGE},
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
		{"pairs", required_argument, 0, OPT_PAIRS},
		{"min-gap", required_argument, 0, OPT_MIN_GAP},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	/* in the order of enum rad_scale_mode, rad_range_policy, rad_missing_policy and rad_order_policy */
	static const char *const scale_names[] = { "none", "linear", "rank", "minmax", NULL };
	static const char *const range_names[] = { "error", "drop", "clamp", NULL };
	static const char *const missing_names[] = { "drop", "error", "null", NULL };
	static const char *const tie_names[] = { "keep", "drop", NULL };
	static const char *const inv_names[] = { "keep", "drop", "swap", NULL };
	rad_normalize n;
	rad_normalize_init(&n);
	rad_prefs_opts *po = &n.prefs;
	rad_scale *sc = &n.scale;
	int skip_invalid = 0, zstd = 0, level = 3, have_from = 0;
	const char *output = "-";
	char *fields = NULL, *field[RAD_SAMPLE_FIELDS];
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "f:o:z", opts, NULL)) != -1;) {
		switch (c) {
		case 'f':
			po->format = rad_prefs_format_parse(optarg);
			if (po->format < 0) rad_usage_error("--format: unknown format '%s'", optarg);
			break;
		case OPT_SCORE_FIELDS:
			free(fields);
			fields = rad_strdup(optarg);
			n.nfields = 0;
			for (char *f = fields, *next; f; f = next) {
				next = strchr(f, ',');
				if (next) *next++ = 0;
				if (!*f || n.nfields == RAD_SAMPLE_FIELDS)
					rad_usage_error("--score-fields: 1 to %d dotted paths, comma-separated, not '%s'", RAD_SAMPLE_FIELDS, optarg);
				field[n.nfields++] = f;
			}
			n.fields = field;
			po->score_path[0] = n.nfields == 2 ? field[0] : NULL;
			po->score_path[1] = n.nfields == 2 ? field[1] : NULL;
			break;
		case OPT_PAIRS:
			if ((n.rule = rad_pair_rule_parse(optarg)) < 0) rad_usage_error("--pairs: best-worst, best-random or all, not '%s'", optarg);
			break;
		case OPT_MIN_GAP:
			n.min_gap = rad_parse_double("min-gap", optarg);
			if (!(n.min_gap >= 0) || isinf(n.min_gap)) rad_usage_error("--min-gap: a finite number >= 0");
			break;
		case OPT_ID_FIELD: po->id_path = optarg; break;
		case OPT_SCALE:
			if (!rad_parse_range(optarg, &sc->lo, &sc->hi)) rad_usage_error("--scale: want LO:HI with LO < HI, not '%s'", optarg);
			break;
		case OPT_SCALE_BY: sc->mode = pick("scale-by", optarg, scale_names); break;
		case OPT_FROM:
			if (!rad_parse_range(optarg, &sc->from_lo, &sc->from_hi)) rad_usage_error("--from: want LO:HI with LO < HI, not '%s'", optarg);
			have_from = 1;
			break;
		case OPT_RANGE: n.out_of_range = pick("out-of-range", optarg, range_names); break;
		case OPT_ROUND:
			if (!rad_scale_set_step(sc, rad_parse_double("round", optarg)))
				rad_usage_error("--round: want a step >= 0, not '%s'", optarg);
			break;
		case OPT_MISSING: n.missing = pick("missing", optarg, missing_names); break;
		case OPT_TIES: n.ties = pick("ties", optarg, tie_names); break;
		case OPT_INVERTED: n.inverted = pick("inverted", optarg, inv_names); break;
		case OPT_SEED: po->seed = (uint64_t)rad_parse_int("seed", optarg, 0, LLONG_MAX); break;
		case OPT_KEEP_TQA: po->keep_truthful_qa = 1; break;
		case OPT_SKIP_INVALID: skip_invalid = 1; break;
		case 'o': output = optarg; break;
		case 'z': zstd = 1; break;
		case OPT_LEVEL: level = rad_parse_int("level", optarg, 1, 19); break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (sc->mode == RAD_SCALE_LINEAR && !have_from) rad_usage_error("--scale-by linear needs --from LO:HI");
	if (sc->mode != RAD_SCALE_LINEAR && have_from) rad_usage_error("--from goes with --scale-by linear");
	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;

	char why[512];
	if (sc->mode == RAD_SCALE_RANK || sc->mode == RAD_SCALE_MINMAX) {
		/* First pass: every score, for the quantiles or the ends.  Problems are reported in the second. */
		for (int i = 0; i < ninputs; i++)
			if (!strcmp(inputs[i], "-")) rad_usage_error("--scale-by %s reads its input twice: name files, not stdin", scale_names[sc->mode]);
		n.first_pass = 1;
		for (int i = 0; i < ninputs; i++) {
			rad_jsonl *in = rad_jsonl_open(inputs[i], 1);
			json_t *v;
			while ((v = rad_json_next(in))) {
				rad_normalize_feed(&n, v, rad_jsonl_where(in), NULL, NULL, why, sizeof why);
				json_decref(v);
			}
			rad_normalize_end(&n, NULL, NULL, why, sizeof why);
			in->skipped = 0;   /* counted in the second pass */
			rad_jsonl_close(in);
		}
		n.first_pass = 0;
	}
	rad_normalize_ready(&n);

	rad_sink *out = rad_sink_open(output, zstd ? level : 0, 0);
	for (int i = 0; i < ninputs; i++) {
		rad_jsonl *in = rad_jsonl_open(inputs[i], skip_invalid);
		json_t *v;
		int st;
		while ((v = rad_json_next(in))) {
			st = rad_normalize_feed(&n, v, rad_jsonl_where(in), write_pair, out, why, sizeof why);
			json_decref(v);
			check(st, rad_jsonl_where(in), why, skip_invalid);
		}
		st = rad_normalize_end(&n, write_pair, out, why, sizeof why);
		check(st, inputs[i], why, skip_invalid);
		n.counts.invalid += in->skipped;
		rad_jsonl_close(in);
	}
	rad_progress_done();
	rad_normalize_summary(&n);
	/* before the output is closed, so that a failure leaves none */
	if (!n.counts.out && (n.counts.in || n.counts.invalid))
		rad_die(RAD_EXIT_DATA, NULL, "no pairs: every record was dropped or invalid (counted above)");
	rad_sink_close(out);
	rad_normalize_free(&n);
	free(fields);
	return 0;
}
