/* rad-pack — tokenized pairs in, training batches out (lib/pack/pack_run.h does the work). */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "base/cli.h"
#include "base/io.h"
#include "base/jsonl.h"
#include "pack/pack_run.h"

static const char usage[] =
"Usage: rad-pack [OPTION]... [FILE]...\n"
"Cut tokenized preference pairs (a \"pairs\" stream) into training batches (a \"batches\"\n"
"stream, rad-stream(5)).  With no FILE, or when FILE is -, read standard input.\n"
"\n"
"Truncation (as TRL's DPO trainer does it):\n"
"      --max-length N             tokens of prompt + completion per sequence\n"
"      --max-prompt-length N      a prompt cut keeps this many tokens\n"
"      --max-completion-length N  each completion keeps its first N tokens\n"
"      --truncation MODE          keep_end (default: cut the prompt's start) or keep_start\n"
"      --overflow POLICY          truncate (default) or drop pairs that are too long\n"
"Batches (one batch is one optimizer step):\n"
"  -p, --pairs N                  pairs per batch (default 8 without --max-tokens);\n"
"                                 one sequence per row, padded to the longest\n"
"  -t, --max-tokens N             padding-free packing: alone, each batch is one row of\n"
"                                 at most N tokens holding as many whole pairs as fit;\n"
"                                 with --pairs, the batch's sequences are packed into\n"
"                                 rows of N tokens\n"
"      --pad-multiple N           round the row width up to a multiple of N\n"
"      --group-by-length N        sort windows of N pairs by length before batching\n"
"      --drop-last                drop each epoch's last batch if it has fewer pairs\n"
"Order:\n"
"      --seed N                   shuffle seed (default 0)\n"
"      --shuffle-buffer N         shuffle through a buffer of N pairs (default 0: keep\n"
"                                 the input order)\n"
"      --full-shuffle             shuffle each whole epoch (holds all pairs in memory)\n"
"      --epochs N                 passes over the data (default 1)\n"
"Output:\n"
"  -o, --output FILE              write the batches to FILE instead of standard output\n"
"      --level N                  zstd level (default 1)\n"
"      --threads N                zstd worker threads\n"
"      --plan FILE                write the plan (batches, pairs, tokens, padding, counts)\n"
"                                 as one JSON object to FILE at the end\n"
"      --dry-run                  write no batches; print the plan on standard output\n"
"      --verbose                  a summary line of counts on standard error\n"
"      --help                     show this help and exit\n"
"      --version                  show the version and exit\n"
"\n"
"The header's meta records the number of batches (\"steps\") when it is known before the\n"
"first batch: always, except when one epoch is read from standard input without\n"
"--full-shuffle; then it is null and --plan, --dry-run or --verbose give it.\n"
"\n"
"Exit status: 0 success, 1 bad input, 2 bad usage.  See rad-pack(1), rad-stream(5).\n";

enum { OPT_MAXLEN = RAD_OPT_FIRST_TOOL, OPT_MAXPROMPT, OPT_MAXCOMP, OPT_TRUNCATION, OPT_OVERFLOW,
       OPT_PADMULT, OPT_GROUP, OPT_DROPLAST, OPT_SEED, OPT_SHUFBUF, OPT_FULLSHUF, OPT_EPOCHS,
       OPT_LEVEL, OPT_THREADS, OPT_PLAN, OPT_DRYRUN };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"max-length", required_argument, 0, OPT_MAXLEN},
		{"max-prompt-length", required_argument, 0, OPT_MAXPROMPT},
		{"max-completion-length", required_argument, 0, OPT_MAXCOMP},
		{"truncation", required_argument, 0, OPT_TRUNCATION},
		{"overflow", required_argument, 0, OPT_OVERFLOW},
		{"pairs", required_argument, 0, 'p'},
		{"max-tokens", required_argument, 0, 't'},
		{"pad-multiple", required_argument, 0, OPT_PADMULT},
		{"group-by-length", required_argument, 0, OPT_GROUP},
		{"drop-last", no_argument, 0, OPT_DROPLAST},
		{"seed", required_argument, 0, OPT_SEED},
		{"shuffle-buffer", required_argument, 0, OPT_SHUFBUF},
		{"full-shuffle", no_argument, 0, OPT_FULLSHUF},
		{"epochs", required_argument, 0, OPT_EPOCHS},
		{"output", required_argument, 0, 'o'},
		{"level", required_argument, 0, OPT_LEVEL},
		{"threads", required_argument, 0, OPT_THREADS},
		{"plan", required_argument, 0, OPT_PLAN},
		{"dry-run", no_argument, 0, OPT_DRYRUN},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	rad_pack_run_opts o;
	rad_pack_run_opts_default(&o);
	const char *plan = NULL;
	const int maxn = 1 << 24;
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "p:t:o:", opts, NULL)) != -1;) {
		switch (c) {
		case OPT_MAXLEN: o.trunc.max_length = rad_parse_int("max-length", optarg, 1, maxn); break;
		case OPT_MAXPROMPT: o.trunc.max_prompt_length = rad_parse_int("max-prompt-length", optarg, 1, maxn); break;
		case OPT_MAXCOMP: o.trunc.max_completion_length = rad_parse_int("max-completion-length", optarg, 1, maxn); break;
		case OPT_TRUNCATION:
			if (!strcmp(optarg, "keep_start")) o.trunc.keep_start = 1;
			else if (!strcmp(optarg, "keep_end")) o.trunc.keep_start = 0;
			else rad_usage_error("--truncation: '%s' is neither keep_end nor keep_start", optarg);
			break;
		case OPT_OVERFLOW:
			if (!strcmp(optarg, "drop")) o.trunc.drop = 1;
			else if (!strcmp(optarg, "truncate")) o.trunc.drop = 0;
			else rad_usage_error("--overflow: '%s' is neither truncate nor drop", optarg);
			break;
		case 'p': o.pack.pairs = rad_parse_int("pairs", optarg, 1, 1 << 20); break;
		case 't': o.pack.max_tokens = rad_parse_int("max-tokens", optarg, 2, maxn); break;
		case OPT_PADMULT: o.pad_multiple = rad_parse_int("pad-multiple", optarg, 1, 1 << 16); break;
		case OPT_GROUP: o.pack.group = rad_parse_int("group-by-length", optarg, 0, 1 << 30); break;
		case OPT_DROPLAST: o.pack.drop_last = 1; break;
		case OPT_SEED: o.seed = rad_parse_int("seed", optarg, 0, (1LL << 62)); break;
		case OPT_SHUFBUF: o.pack.shuffle_buffer = rad_parse_int("shuffle-buffer", optarg, 0, 1 << 30); break;
		case OPT_FULLSHUF: o.pack.full_shuffle = 1; break;
		case OPT_EPOCHS: o.epochs = rad_parse_int("epochs", optarg, 1, 100000); break;
		case 'o': o.output = optarg; break;
		case OPT_LEVEL: o.level = rad_parse_int("level", optarg, 1, 19); break;
		case OPT_THREADS: o.threads = rad_parse_int("threads", optarg, 0, 256); break;
		case OPT_PLAN: plan = optarg; break;
		case OPT_DRYRUN: o.dry_run = 1; break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (!o.pack.pairs && !o.pack.max_tokens) o.pack.pairs = 8;
	if (o.pack.drop_last && !o.pack.pairs) rad_usage_error("--drop-last needs --pairs");
	/* Every sequence must fit a row: alone, a row holds a whole pair. */
	int rowcap = o.pack.max_tokens ? (o.pack.pairs ? o.pack.max_tokens : o.pack.max_tokens / 2) : 0;
	if (rowcap && (!o.trunc.max_length || o.trunc.max_length > rowcap)) o.trunc.max_length = rowcap;
	if (o.trunc.max_length && o.trunc.max_prompt_length >= o.trunc.max_length)
		rad_usage_error("--max-prompt-length %d leaves no room for a completion within %d tokens%s",
		                o.trunc.max_prompt_length, o.trunc.max_length, rowcap ? " (set by --max-tokens)" : "");

	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1, stdin_at = -1;
	for (int i = 0; i < ninputs; i++)
		if (!strcmp(inputs[i], "-")) {
			if (stdin_at >= 0) rad_usage_error("standard input named twice");
			stdin_at = i;
		}
	/* Later epochs read the input again: standard input is copied first, and alone. */
	if (stdin_at >= 0 && o.epochs > 1 && !o.pack.full_shuffle && ninputs > 1)
		rad_usage_error("--epochs with standard input: give standard input alone");

	rad_pack_counts c;
	rad_pack_run(&o, inputs, ninputs, &c);
	json_t *pj = rad_pack_plan_json(&o, &c);
	if (o.dry_run) {
		rad_sink *k = rad_sink_open("-", 0, 0);
		rad_jsonl_write(k, pj);
		rad_sink_close(k);
	}
	if (plan) {
		rad_sink *k = rad_sink_open(plan, 0, 0);
		rad_jsonl_write(k, pj);
		rad_sink_close(k);
	}
	json_decref(pj);
	if (rad_verbose)
		rad_warn(NULL, "%lld batches (optimizer steps) in %d epoch%s: %lld pairs, %lld sequences, %lld rows, "
		         "%lld tokens, %lld padding (%.1f%%), %lld loss tokens; %lld pairs read, %lld with the prompt cut, "
		         "%lld with completions cut; dropped %lld too long, %lld empty, %lld in short last batches",
		         c.batches, o.epochs, o.epochs == 1 ? "" : "s", c.pairs, c.seqs, c.rows, c.tokens,
		         c.cells - c.tokens, c.cells ? 100.0 * (c.cells - c.tokens) / c.cells : 0.0,
		         c.loss_tokens, c.read, c.cut_prompt, c.cut_completion, c.drop_long, c.drop_empty,
		         c.dropped_last);
	else
		rad_pack_report_drops(&o, &c);
	rad_pack_counts_free(&c);
	return 0;
}
