/* rad-eval — what a trained model does: preference metrics, likelihoods, generation,
 * judging and judged-score summaries (the work is in lib/eval_*.c, generate.c, judge.c). */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tok/chat_template.h"
#include "base/cli.h"
#include "base/dist.h"
#include "eval/batches.h"
#include "eval/judging.h"
#include "eval/generate.h"
#include "eval/reward.h"
#include "base/jsonl.h"
#include "nn/lora.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "base/ompenv.h"
#include "tok/tokenizer.h"

static const char usage[] =
"Usage: rad-eval MODE [OPTION]... [FILE]...\n"
"Measure a model on held-out data; write JSON.  With no FILE, or when FILE is -, read\n"
"standard input.  MODE is one of:\n"
"  prefs        preference metrics (TRL's names) of --model on batches carrying reference\n"
"               log-probs (rad-logps): overall, by goal and by score gap\n"
"  likelihood   summed and per-token log-probs of chosen and rejected responses of the\n"
"               pairs passing every --where, for one --model or two side by side\n"
"  generate     responses of --model to the prompts of JSONL records (rad-relabel\n"
"               output): one JSONL line {id, goal, prompt, response, tokens, finish} each\n"
"  reward       score generated responses with a reward model (--model: a\n"
"               ...ForSequenceClassification checkpoint): each record is written back\n"
"               with \"score\" (one label) or \"scores\" (named labels)\n"
"  judge        score generated responses with --judge COMMAND: each record is written\n"
"               back with \"score\" as soon as the judge scores it\n"
"  summary      mean score, share at --top-score and the controllability table (mean\n"
"               score per goal) of judged files; with two files, the win rate of the\n"
"               first over the second on the ids both have (ties count half)\n"
"\n"
"  -m, --model DIR       the model (config.json + model.safetensors); likelihood takes\n"
"                        --model twice to compare two\n"
"      --adapter DIR     the PEFT LoRA adapter in DIR, merged into the --model before it\n"
"      --beta X          DPO beta of the rewards (prefs; default 0.1)\n"
"      --where EXPR      keep pairs with FIELD OP VALUE: FIELD score_chosen,\n"
"                        score_rejected, gap or goal; OP >= <= > < == != (repeatable)\n"
"      --tokenizer FILE  tokenizer (generate, reward; default DIR/tokenizer.json of --model)\n"
"      --template NAME   chat template (generate, reward; default chatml): chatml llama3 gemma\n"
"                        zephyr mistral plain, or a template file\n"
"      --special         added-token text in message content is those tokens\n"
"      --temperature X   sampling temperature, 0 = greedy (default 1)\n"
"      --top-k N         sample among the N most likely tokens (default 0 = all)\n"
"      --top-p X         sample from the smallest set holding X of the mass (default 1)\n"
"      --max-new-tokens N  new tokens per response at most (default 256)\n"
"      --batch-size N    prompts decoded together (generate; default 8)\n"
"      --samples K       K responses per prompt, one prefill shared (generate): K lines\n"
"                        with \"sample\" 0..K-1 and \"samples\" K, or one line with --group\n"
"      --group           one line per prompt, its responses in \"responses\" (generate)\n"
"      --ids             also write each response's token ids (generate), or the ids the\n"
"                        reward model read (reward: \"reward_ids\")\n"
"      --seed N          sampling seed; each response's draws depend on it, the prompt's\n"
"                        id and the sample's index only\n"
"      --judge COMMAND   the judge (sh -c COMMAND): JSONL {id, prompt, response} in,\n"
"                        JSONL {id, score} out\n"
"      --judge-timeout S fail when the judge is silent S seconds (default 300; 0 = never)\n"
"      --top-score X     the best score, for top_share (summary; default 10)\n"
"      --threads N       threads for the model (default: all cores)\n"
"      --compute T       matrix products in fp32 (default) or bf16 (bf16 inputs, fp32\n"
"                        sums)\n"
"  -o, --output FILE     write to FILE instead of standard output\n"
"  -z                    zstd-compress the output (at --level, default 3)\n"
"      --level N         zstd level of -z\n"
"      --skip-invalid    count and skip bad input records (generate, reward) instead of\n"
"                        failing\n"
"      --verbose         a summary line of counts (and tokens/s) on standard error\n"
"      --progress        progress on standard error even when it is not a terminal\n"
"      --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Under mpirun, prefs and likelihood run the batches on the ranks in turn.\n"
"Exit status: 0 success, 1 bad input, model or judge failure, 2 bad usage.\n"
"See rad-eval(1).\n";

enum { OPT_BETA = RAD_OPT_FIRST_TOOL, OPT_WHERE, OPT_TOKENIZER, OPT_TEMPLATE, OPT_SPECIAL, OPT_TEMP, OPT_TOPK,
       OPT_TOPP, OPT_MAXNEW, OPT_BATCH, OPT_SEED, OPT_JUDGE, OPT_JTIMEOUT, OPT_TOPSCORE, OPT_THREADS, OPT_LEVEL,
       OPT_SKIP, OPT_IDS, OPT_COMPUTE, OPT_SAMPLES, OPT_GROUP, OPT_ADAPTER };

static rad_model *load(const char *dir, const char *adapter, int threads, int compute)
{
	rad_model *m = NULL;
	const char *err = rad_model_load_adapted(&m, dir, adapter, RAD_ST_F32);
	if (err) rad_die(RAD_EXIT_DATA, dir, "%s", err);
	rad_model_set_threads(m, threads);
	rad_model_set_compute(m, compute);
	return m;
}

/* --tokenizer, or the model directory's tokenizer.json. */
static rad_tokenizer *tokenizer_of(const char *dir, const char *path)
{
	char def[4096];
	if (!path) {
		struct stat sb;
		snprintf(def, sizeof def, "%s/tokenizer.json", dir);
		if (stat(def, &sb)) rad_usage_error("--tokenizer FILE is needed (%s has no tokenizer.json)", dir);
		path = def;
	}
	return rad_tokenizer_open(path, NULL);
}

/* prefs and likelihood: pairs came in and --where kept none is a failed measurement. */
static void measured_some(json_t *o)
{
	if (rad_dist_rank()) return;   /* rank 0 has the counts */
	json_int_t kept = json_integer_value(json_object_get(o, "pairs"));
	json_int_t filtered = json_integer_value(json_object_get(o, "filtered_out"));
	if (!kept && filtered)
		rad_die(RAD_EXIT_DATA, NULL, "no pair to measure: --where filtered out all %lld", (long long)filtered);
}

static void write_json(rad_sink *out, json_t *o)
{
	if (out) rad_jsonl_write(out, o);
	json_decref(o);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"output", required_argument, 0, 'o'},
		{"beta", required_argument, 0, OPT_BETA},
		{"where", required_argument, 0, OPT_WHERE},
		{"tokenizer", required_argument, 0, OPT_TOKENIZER},
		{"template", required_argument, 0, OPT_TEMPLATE},
		{"special", no_argument, 0, OPT_SPECIAL},
		{"temperature", required_argument, 0, OPT_TEMP},
		{"top-k", required_argument, 0, OPT_TOPK},
		{"top-p", required_argument, 0, OPT_TOPP},
		{"max-new-tokens", required_argument, 0, OPT_MAXNEW},
		{"batch-size", required_argument, 0, OPT_BATCH},
		{"seed", required_argument, 0, OPT_SEED},
		{"judge", required_argument, 0, OPT_JUDGE},
		{"judge-timeout", required_argument, 0, OPT_JTIMEOUT},
		{"top-score", required_argument, 0, OPT_TOPSCORE},
		{"threads", required_argument, 0, OPT_THREADS},
		{"level", required_argument, 0, OPT_LEVEL},
		{"skip-invalid", no_argument, 0, OPT_SKIP},
		{"ids", no_argument, 0, OPT_IDS},
		{"compute", required_argument, 0, OPT_COMPUTE},
		{"samples", required_argument, 0, OPT_SAMPLES},
		{"group", no_argument, 0, OPT_GROUP},
		{"adapter", required_argument, 0, OPT_ADAPTER},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *models[2] = {0}, *adapters[2] = {0}, *output = "-", *tokpath = NULL, *tpname = "chatml", *judge = NULL;
	int nmodels = 0, threads = 0, level = 3, zstd = 0, compute = RAD_COMPUTE_F32;
	double beta = 0.1, jtimeout = 300, top = 10;
	rad_gen_opts g = {.sample = {1.0, 0, 1.0}, .max_new = 256, .batch = 8};
	rad_eval_filter f = {0};
	rad_omp_passive(argv);
	rad_dist_init(&argc, &argv);
	char **where_text = rad_calloc(argc + 1, sizeof *where_text);
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "m:o:z", opts, NULL)) != -1;) {
		const char *e;
		switch (c) {
		case 'm':
			if (nmodels == 2) rad_usage_error("--model at most twice");
			models[nmodels++] = optarg;
			break;
		case 'o': output = optarg; break;
		case 'z': zstd = 1; break;
		case OPT_BETA: beta = rad_parse_double("beta", optarg); break;
		case OPT_WHERE:
			f.where = rad_realloc(f.where, sizeof *f.where * (f.n + 1));
			if ((e = rad_where_parse(&f.where[f.n], optarg))) rad_usage_error("--where '%s': %s", optarg, e);
			where_text[f.n++] = optarg;
			break;
		case OPT_TOKENIZER: tokpath = optarg; break;
		case OPT_TEMPLATE: tpname = optarg; break;
		case OPT_SPECIAL: g.special = 1; break;
		case OPT_TEMP: g.sample.temperature = rad_parse_double("temperature", optarg); break;
		case OPT_TOPK: g.sample.top_k = (int)rad_parse_int("top-k", optarg, 0, 1 << 30); break;
		case OPT_TOPP: g.sample.top_p = rad_parse_double("top-p", optarg); break;
		case OPT_MAXNEW: g.max_new = (int)rad_parse_int("max-new-tokens", optarg, 0, 1 << 24); break;
		case OPT_BATCH: g.batch = (int)rad_parse_int("batch-size", optarg, 1, 4096); break;
		case OPT_SEED: g.seed = (uint64_t)rad_parse_int("seed", optarg, 0, INT64_MAX); break;
		case OPT_JUDGE: judge = optarg; break;
		case OPT_JTIMEOUT: jtimeout = rad_parse_double("judge-timeout", optarg); break;
		case OPT_TOPSCORE: top = rad_parse_double("top-score", optarg); break;
		case OPT_THREADS: threads = (int)rad_parse_int("threads", optarg, 1, 1024); break;
		case OPT_LEVEL: level = (int)rad_parse_int("level", optarg, 1, 19); break;
		case OPT_SKIP: g.skip_invalid = 1; break;
		case OPT_IDS: g.ids = 1; break;
		case OPT_COMPUTE:
			if ((compute = rad_compute_parse(optarg)) < 0) rad_usage_error("--compute: fp32 or bf16, not \"%s\"", optarg);
			break;
		case OPT_SAMPLES: g.samples = (int)rad_parse_int("samples", optarg, 1, 1024); break;
		case OPT_GROUP: g.group = 1; break;
		case OPT_ADAPTER:
			if (!nmodels) rad_usage_error("--adapter DIR goes after the --model it adapts");
			if (adapters[nmodels - 1]) rad_usage_error("--adapter: one adapter per --model");
			adapters[nmodels - 1] = optarg;
			break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (optind >= argc) rad_usage_error("give a MODE: prefs, likelihood, generate, reward, judge or summary");
	const char *mode = argv[optind++];
	/* values that would only show up later as NaN or nonsense are refused now */
	if (!(beta > 0) || isinf(beta)) rad_usage_error("--beta must be a finite number > 0");
	if (!(g.sample.temperature >= 0) || isinf(g.sample.temperature)) rad_usage_error("--temperature must be a finite number >= 0");
	if (g.sample.top_p <= 0 || g.sample.top_p > 1) rad_usage_error("--top-p must be in (0, 1]");
	if (!(jtimeout >= 0) || isinf(jtimeout)) rad_usage_error("--judge-timeout must be a finite number >= 0 (0 = never)");
	if (isinf(top)) rad_usage_error("--top-score must be a finite number");
	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;
	int needs_model = !strcmp(mode, "prefs") || !strcmp(mode, "likelihood") || !strcmp(mode, "generate") ||
	                  !strcmp(mode, "reward");
	if (!needs_model && strcmp(mode, "judge") && strcmp(mode, "summary"))
		rad_usage_error("unknown mode '%s' (prefs, likelihood, generate, reward, judge, summary)", mode);
	if ((g.samples || g.group) && strcmp(mode, "generate")) rad_usage_error("--samples and --group are for generate");
	if (needs_model && !nmodels) rad_usage_error("%s needs --model DIR", mode);
	if (nmodels == 2 && strcmp(mode, "likelihood")) rad_usage_error("two models are compared by likelihood only");
	if (!strcmp(mode, "judge") && !judge) rad_usage_error("judge needs --judge COMMAND");
	if (!strcmp(mode, "summary") && ninputs > 2)
		rad_usage_error("summary takes one judged file, or two to compare");
	int batch_mode = !strcmp(mode, "prefs") || !strcmp(mode, "likelihood");
	if (rad_dist_size() > 1 && !batch_mode)
		rad_usage_error("%s runs as one process, not under mpirun (GNU Parallel shards it: pipelines/lib.sh)", mode);
	/* a judge's scores are written as they come and a failed run keeps them; under mpirun
	 * rank 0 writes */
	rad_sink *out = rad_dist_rank() ? NULL
	              : !strcmp(mode, "judge") ? rad_sink_open_live(output, zstd ? level : 0, 0)
	                                       : rad_sink_open(output, zstd ? level : 0, 0);
	int rc = 0;
	if (!strcmp(mode, "prefs")) {
		rad_model *m = load(models[0], adapters[0], threads, compute);
		json_t *o = rad_eval_prefs(m, models[0], beta, &f, inputs, ninputs);
		if (adapters[0]) json_object_set_new(o, "adapter", json_string(adapters[0]));
		measured_some(o);
		write_json(out, o);
		rad_model_free(m);
	} else if (!strcmp(mode, "likelihood")) {
		rad_model *ms[2] = {load(models[0], adapters[0], threads, compute),
		                     nmodels > 1 ? load(models[1], adapters[1], threads, compute) : NULL};
		json_t *o = rad_eval_likelihood(ms, models, nmodels, &f, inputs, ninputs);
		if (adapters[0] || adapters[1]) {
			json_t *ad = json_array();
			for (int i = 0; i < nmodels; i++) json_array_append_new(ad, adapters[i] ? json_string(adapters[i]) : json_null());
			json_object_set_new(o, "adapters", ad);
		}
		json_t *w = json_array();
		for (int i = 0; i < f.n; i++) json_array_append_new(w, json_string(where_text[i]));
		json_object_set_new(o, "where", w);
		measured_some(o);
		write_json(out, o);
		rad_model_free(ms[0]);
		rad_model_free(ms[1]);
	} else if (!strcmp(mode, "reward")) {
		rad_model *m = load(models[0], adapters[0], threads, compute);
		rad_tokenizer *tok = tokenizer_of(models[0], tokpath);
		rad_template *tp = rad_template_open(tpname);
		rad_reward_opts ro = {.special = g.special, .skip_invalid = g.skip_invalid, .ids = g.ids};
		rad_reward_stats st;
		rad_reward_run(m, tok, tp, &ro, inputs, ninputs, out, &st);
		rad_reward_summary(&st, m);
		if (st.skipped && !st.records) rad_die(RAD_EXIT_DATA, NULL, "no scores: all %lld records were skipped", st.skipped);
		rad_template_free(tp);
		rad_tokenizer_free(tok);
		rad_model_free(m);
	} else if (!strcmp(mode, "generate")) {
		rad_model *m = load(models[0], adapters[0], threads, compute);
		rad_tokenizer *tok = tokenizer_of(models[0], tokpath);
		rad_template *tp = rad_template_open(tpname);
		rad_gen_stats st;
		rad_generate_run(m, tok, tp, &g, inputs, ninputs, out, &st);
		rad_generate_summary(&st, m->cfg.ctx);
		if (st.skipped && !st.prompts)   /* before the output is closed, so that a failure leaves none */
			rad_die(RAD_EXIT_DATA, NULL, "no responses: all %lld prompts were skipped", st.skipped);
		rad_template_free(tp);
		rad_tokenizer_free(tok);
		rad_model_free(m);
	} else if (!strcmp(mode, "judge")) {
		long long sent, scored;
		const char *e = rad_eval_judge(judge, jtimeout, inputs, ninputs, out, &sent, &scored);
		rad_sink_close(out);
		out = NULL;
		if (e) rad_die(RAD_EXIT_DATA, NULL, "%s (the %lld scores received are written)", e, scored);
		if (rad_verbose) rad_warn(NULL, "%lld records judged", scored);
	} else {
		write_json(out, rad_eval_summary(inputs, ninputs, top));
	}
	if (out) rad_sink_close(out);
	for (int i = 0; i < f.n; i++) rad_where_free(&f.where[i]);
	free(f.where);
	free(where_text);
	return rc;
}
