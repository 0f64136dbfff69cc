/* rad-relabel — the reward augmentation: canonical scored pairs in, goal-conditioned
 * pairs out (JSON Lines). */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/io.h"
#include "base/json_parse.h"
#include "base/jsonl.h"
#include "prefs/relabel.h"
#include "prefs/scores.h"

static const char usage[] =
"Usage: rad-relabel [OPTION]... [FILE]...\n"
"Read canonical scored pairs (rad-score-normalize) and write the reward-augmented pairs:\n"
"each pair becomes a positive copy (goal = score_chosen) and a negative copy (goal =\n"
"score_rejected, chosen and rejected swapped).  With no FILE, or when FILE is -, read\n"
"standard input.\n"
"\n"
"  -m, --mode MODE          ra (both copies, default), pos (positive copies only), half\n"
"                           (one copy per pair, positive or negative by a hash of the id),\n"
"                           none (the pairs unchanged), dup (each pair twice)\n"
"      --placement WHERE    system (a system message, default) or user (\"nosys\": the goal\n"
"                           and a blank line before the first user message)\n"
"      --compat-unflipped-nosys\n"
"                           with --placement user, reproduce the released code: the\n"
"                           negative copy carries the rejected score but is not flipped\n"
"      --attributes LIST    goal attributes, one line each (default overall; others come\n"
"                           from ratings_chosen/ratings_rejected, e.g. overall,helpfulness)\n"
"      --template FILE      the goal text from FILE: {score} (or {overall}) and {ATTR}\n"
"                           are replaced by the copy's scores\n"
"      --scale LO:HI        the scale the --template text states (default 1:10, the\n"
"                           paper's): a goal off it is an error\n"
"      --goal G             a fixed goal for every pair (modes none, dup): \"10\" or\n"
"                           \"overall=10,helpfulness=5\"; implies --mode none\n"
"      --fine-filter        keep a pair only if the mean of its chosen ratings is >= the\n"
"                           mean of its rejected ratings (the paper's filter)\n"
"      --seed N             seed of the --mode half pick (default 0)\n"
"      --skip-invalid       count malformed lines and pairs and go on\n"
"  -o, --output FILE        write to FILE instead of standard output\n"
"  -z, --zstd               compress the output with zstd\n"
"      --level N            zstd level (default 3)\n"
"      --verbose            a summary line of counts on standard error\n"
"      --help               show this help and exit\n"
"      --version            show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad input, 2 bad usage.  See rad-relabel(1).\n";

enum { OPT_PLACEMENT = RAD_OPT_FIRST_TOOL, OPT_COMPAT, OPT_ATTRS, OPT_TEMPLATE, OPT_SCALE, OPT_GOAL, OPT_FINE,
       OPT_SEED, OPT_SKIP_INVALID, OPT_LEVEL };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mode", required_argument, 0, 'm'},
		{"placement", required_argument, 0, OPT_PLACEMENT},
		{"compat-unflipped-nosys", no_argument, 0, OPT_COMPAT},
		{"attributes", required_argument, 0, OPT_ATTRS},
		{"template", required_argument, 0, OPT_TEMPLATE},
		{"scale", required_argument, 0, OPT_SCALE},
		{"goal", required_argument, 0, OPT_GOAL},
		{"fine-filter", no_argument, 0, OPT_FINE},
		{"seed", required_argument, 0, OPT_SEED},
		{"skip-invalid", no_argument, 0, OPT_SKIP_INVALID},
		{"output", required_argument, 0, 'o'},
		{"zstd", no_argument, 0, 'z'},
		{"level", required_argument, 0, OPT_LEVEL},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	static const char *const modes[] = { "ra", "none", "dup", "half", "pos", NULL };
	rad_relabel rl;
	rad_relabel_init(&rl);
	int mode = -1, skip_invalid = 0, zstd = 0, level = 3;
	const char *output = "-", *attrs = NULL, *template = NULL, *goal = NULL, *scale = NULL;
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "m:o:z", opts, NULL)) != -1;) {
		switch (c) {
		case 'm':
			mode = -1;
			for (int i = 0; modes[i]; i++) if (!strcmp(optarg, modes[i])) mode = i;
			if (mode < 0) rad_usage_error("--mode: unknown mode '%s' (ra, none, dup, half, pos)", optarg);
			break;
		case OPT_PLACEMENT:
			if (!strcmp(optarg, "system")) rl.placement = RAD_PLACE_SYSTEM;
			else if (!strcmp(optarg, "user") || !strcmp(optarg, "nosys")) rl.placement = RAD_PLACE_USER;
			else rad_usage_error("--placement: want system or user, not '%s'", optarg);
			break;
		case OPT_COMPAT: rl.compat_unflipped_nosys = 1; break;
		case OPT_ATTRS: attrs = optarg; break;
		case OPT_TEMPLATE: template = optarg; break;
		case OPT_SCALE:
			if (!rad_parse_range(optarg, &rl.scale_lo, &rl.scale_hi)) rad_usage_error("--scale: want LO:HI with LO < HI, not '%s'", optarg);
			scale = optarg;
			break;
		case OPT_GOAL: goal = optarg; break;
		case OPT_FINE: rl.fine_filter = 1; break;
		case OPT_SEED: rl.seed = (uint64_t)rad_parse_int("seed", optarg, 0, LLONG_MAX); break;
		case OPT_SKIP_INVALID: skip_invalid = 1; break;
		case 'o': output = optarg; break;
		case 'z': zstd = 1; break;
		case OPT_LEVEL: level = rad_parse_int("level", optarg, 1, 19); break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (mode < 0) mode = goal ? RAD_MODE_NONE : RAD_MODE_RA;
	rl.mode = mode;
	if (goal && mode != RAD_MODE_NONE && mode != RAD_MODE_DUP)
		rad_usage_error("--goal keeps the pairs unchanged: it goes with --mode none or dup");
	if (rl.compat_unflipped_nosys && rl.placement != RAD_PLACE_USER)
		rad_usage_error("--compat-unflipped-nosys goes with --placement user");
	if (template && attrs) rad_usage_error("--template names its attributes itself: drop --attributes");
	if (scale && !template) rad_usage_error("--scale goes with --template: the paper's text states the scale 1-10");
	char err[512];
	if (template) {
		size_t len = 0;
		char *text = rad_read_all(template, NULL, &len);
		if (!rad_relabel_set_template(&rl, text, len, err, sizeof err))
			rad_usage_error("--template %s: %s", template, err);
		free(text);
	} else if (!rad_relabel_set_paper_template(&rl, attrs, err, sizeof err)) {
		rad_usage_error("--attributes: %s", err);
	}
	if (goal && (!rad_relabel_set_goal(&rl, goal, err, sizeof err) || rad_relabel_check_scale(&rl, rl.fixed_values, -1, err, sizeof err)))
		rad_usage_error("--goal: %s", err);

	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;
	rad_sink *out = rad_sink_open(output, zstd ? level : 0, 0);
	long long invalid = 0;
	for (int i = 0; i < ninputs; i++) {
		rad_jsonl *in = rad_jsonl_open(inputs[i], skip_invalid);
		json_t *v, *copies[2];
		int n;
		while ((v = rad_json_next(in))) {
			if ((in->records & 1023) == 0) rad_progress("%lld pairs, %lld copies", rl.pairs_in, rl.copies_out);
			int st = rad_relabel_pair(&rl, v, copies, &n, err, sizeof err);
			json_decref(v);
			if (st == RAD_RELABEL_INVALID) {
				if (!skip_invalid) rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "%s", err);
				if (rad_verbose) rad_warn(rad_jsonl_where(in), "%s; skipped", err);
				invalid++;
				continue;
			}
			for (int k = 0; k < n; k++) {
				rad_jsonl_write(out, copies[k]);
				json_decref(copies[k]);
			}
		}
		invalid += in->skipped;
		rad_jsonl_close(in);
	}
	rad_progress_done();
	if (rad_verbose)
		rad_warn(NULL, "pairs in %lld, copies out %lld (pos %lld, neg %lld), dropped by the fine filter %lld, invalid skipped %lld",
			rl.pairs_in, rl.copies_out, rl.copies_pos, rl.copies_neg, rl.dropped_fine, invalid);
	else if (rl.dropped_fine || invalid)
		rad_warn(NULL, "dropped by the fine filter %lld, invalid skipped %lld", rl.dropped_fine, invalid);
	/* before the output is closed, so that a failure leaves none */
	if (!rl.copies_out && (rl.pairs_in || invalid))
		rad_die(RAD_EXIT_DATA, NULL, "no pairs: every pair was dropped by the fine filter or invalid (counted above)");
	rad_sink_close(out);
	rad_relabel_free(&rl);
	return 0;
}
