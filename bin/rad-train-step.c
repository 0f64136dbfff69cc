/* rad-train-step — optimizer steps on a checkpoint from a stream of batches. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "train/adamw.h"
#include "stream/batch.h"
#include "train/checkpoint.h"
#include "base/cli.h"
#include "base/ompenv.h"
#include "base/jsonl.h"
#include "train/loss.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "stream/stream.h"

static const char usage[] =
"Usage: rad-train-step --model DIR -o DIR [OPTION]... [FILE]...\n"
"Train the model DIR on a stream of batches (rad-pack; for preference losses with\n"
"reference log-probs from rad-logps) and write checkpoints to the output directory.\n"
"One JSON line of metrics per optimizer step goes to standard output.  With no FILE,\n"
"or when FILE is -, read standard input.\n"
"\n"
"  -m, --model DIR          the starting checkpoint (config.json + model.safetensors)\n"
"  -o, --output DIR         where checkpoints go (model, optimizer state, position)\n"
"      --resume             continue from the checkpoint in --output when there is one:\n"
"                           the input batches it had read are skipped\n"
"      --loss L             sft, dpo (default), ipo or hinge\n"
"      --beta B             preference temperature (default 0.1)\n"
"      --label-smoothing E  conservative DPO: -(1-E) log s(z) - E log s(-z) (default 0)\n"
"      --sft-weight W       add W times the chosen NLL to a preference loss (default 0)\n"
"      --lr LR              peak learning rate (default 1e-5)\n"
"      --schedule S         constant (default), linear or cosine\n"
"      --warmup-steps N     linear warm-up over N steps (default 0)\n"
"      --warmup-ratio R     warm-up over R x total steps instead\n"
"      --total-steps N      steps the schedule spans (default --max-steps)\n"
"      --max-steps N        stop after N optimizer steps in all (default: end of input)\n"
"      --grad-accum K       batches per optimizer step (default 1)\n"
"      --clip C             clip the gradient's global norm to C; 0 = off (default 1)\n"
"      --adam-beta1 B1      (default 0.9)\n"
"      --adam-beta2 B2      (default 0.999)\n"
"      --adam-eps E         (default 1e-8)\n"
"      --weight-decay W     AdamW decay, not applied to biases and norms (default 0)\n"
"      --save-every N       also save every N steps (default: only at the end)\n"
"      --dtype T            model weights on disk: fp32 (default) or bf16 (exact\n"
"                           resume needs fp32)\n"
"      --ref-model DIR      the reference log-probs must come from DIR (default: the\n"
"                           starting model)\n"
"      --no-ref-check       accept reference log-probs from any model\n"
"      --no-save            write no checkpoint (benchmarks, dry runs)\n"
"      --log FILE           metrics to FILE instead of standard output\n"
"      --dump-grads FILE    write the first step's gradient (before clipping) as a\n"
"                           safetensors file with the model's tensor names\n"
"      --seed N             seed of the trainer's random state (default 0)\n"
"      --threads N          threads (default: all cores)\n"
"      --verbose            a summary line on standard error\n"
"      --progress           progress on standard error even when it is not a terminal\n"
"      --help               show this help and exit\n"
"      --version            show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad input, non-finite loss or gradient, write failure,\n"
"2 bad usage.  See rad-train-step(1).\n";

enum {
	OPT_RESUME = RAD_OPT_FIRST_TOOL, OPT_LOSS, OPT_BETA, OPT_LS, OPT_SFTW, OPT_LR, OPT_SCHED, OPT_WSTEPS, OPT_WRATIO,
	OPT_TOTAL, OPT_MAX, OPT_ACCUM, OPT_CLIP, OPT_B1, OPT_B2, OPT_EPS, OPT_WD, OPT_SAVE, OPT_DTYPE, OPT_REF,
	OPT_NOREF, OPT_NOSAVE, OPT_LOG, OPT_DUMP, OPT_SEED, OPT_THREADS,
};

typedef struct goal_stat { char *goal; long pairs; double correct, margins; } goal_stat;

static struct {
	const char *mdir, *out, *ref_dir, *log, *dump;
	int resume, sched, accum, dtype, no_ref_check, threads, no_save;
	long warmup, total, max_steps, save_every;
	double lr, clip, warmup_ratio;
	unsigned long long seed;
	rad_loss_opts lo;
} o = {.sched = RAD_SCHED_CONSTANT, .accum = 1, .dtype = RAD_ST_F32, .warmup = -1, .total = -1, .max_steps = -1,
       .lr = 1e-5, .clip = 1.0, .warmup_ratio = -1, .lo = {RAD_LOSS_DPO, 0.1, 0, 0}};

static rad_model *M;
static rad_adamw OPT;
static rad_train_state ST;
static rad_loss_stats STATS;
static goal_stat *GOALS;
static int NGOALS;
static long TOKENS, LAST_SAVED = -1;
static double T0;
static rad_sink *LOG;
static const char *FROM_DIR;
static int DUMPED;
static long TOTAL = -1;     /* steps the schedule spans */

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double C0;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void save(void)
{
	if (o.no_save) return;
	const char *e = rad_checkpoint_save(o.out, M, &OPT, &ST, o.dtype, FROM_DIR);
	if (e) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	LAST_SAVED = ST.step;
	FROM_DIR = o.out;   /* the tokenizer files are in the output now */
}

static void goal_add(const char *g, int correct, double margin)
{
	int i;
	for (i = 0; i < NGOALS; i++) if (!strcmp(GOALS[i].goal, g)) break;
	if (i == NGOALS) {
		GOALS = rad_realloc(GOALS, sizeof *GOALS * (NGOALS + 1));
		GOALS[NGOALS++] = (goal_stat){rad_strdup(g), 0, 0, 0};
	}
	GOALS[i].pairs++;
	GOALS[i].correct += correct;
	GOALS[i].margins += margin;
}

static void saved_note(void)
{
	if (LAST_SAVED >= 0) rad_warn(NULL, "the last good checkpoint (step %ld) is in %s", LAST_SAVED, o.out);
	else rad_warn(NULL, "no checkpoint was written by this run");
}

/* One optimizer step with what is accumulated over `micro` batches. */
static void update(int micro)
{
	if (micro < o.accum) {   /* a short last accumulation: weight it as a full one */
		float c = (float)o.accum / micro;
		for (size_t i = 0; i < M->nparams; i++) M->grads[i] *= c;
		STATS.loss *= c;
	}
	double gn = rad_grad_norm(M->grads, M->nparams);
	if (!isfinite(gn)) {
		rad_warn(NULL, "step %ld: the gradient norm is %g; stopping without applying it", ST.step + 1, gn);
		saved_note();
		exit(RAD_EXIT_DATA);
	}
	if (o.dump && !DUMPED) {
		rad_st_out *t = rad_calloc(M->ntensors, sizeof *t);
		for (int i = 0; i < M->ntensors; i++) {
			const rad_model_tensor *mt = &M->tensors[i];
			t[i] = (rad_st_out){mt->name, mt->ndim, {mt->shape[0], mt->shape[1]}, M->grads + mt->off, mt->rows, mt->cols,
			                    mt->transposed};
		}
		const char *e = rad_st_write(o.dump, t, M->ntensors, RAD_ST_F32, NULL);
		free(t);
		if (e) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		DUMPED = 1;
	}
	long total = TOTAL;
	long warm = o.warmup >= 0 ? o.warmup : o.warmup_ratio > 0 ? (long)ceil(o.warmup_ratio * total) : 0;
	double lr = rad_lr_at(o.sched, o.lr, ST.step, warm, total);
	rad_adamw_step(&OPT, M, lr, rad_grad_clip_scale(gn, o.clip));   /* zeroes the gradient */
	ST.step++;
	double dt = now() - T0;
	json_t *j = json_object();
	json_object_set_new(j, "step", json_integer(ST.step));
	json_object_set_new(j, "loss", json_real(STATS.loss));
	if (o.lo.kind != RAD_LOSS_SFT && STATS.pairs) {
		double p = (double)STATS.pairs;
		json_object_set_new(j, "rewards/chosen", json_real(STATS.rewards_chosen / p));
		json_object_set_new(j, "rewards/rejected", json_real(STATS.rewards_rejected / p));
		json_object_set_new(j, "rewards/accuracies", json_real(STATS.correct / p));
		json_object_set_new(j, "rewards/margins", json_real(STATS.margins / p));
		json_object_set_new(j, "logps/chosen", json_real(STATS.logps_chosen / p));
		json_object_set_new(j, "logps/rejected", json_real(STATS.logps_rejected / p));
	}
	if (STATS.chosen_tokens)
		json_object_set_new(j, "nll", json_real(STATS.nll / STATS.chosen_tokens));
	json_object_set_new(j, "grad_norm", json_real(gn));
	json_object_set_new(j, "learning_rate", json_real(lr));
	json_object_set_new(j, "tokens", json_integer(TOKENS));
	json_object_set_new(j, "tokens_per_s", json_real(dt > 0 ? TOKENS / dt : 0));
	json_object_set_new(j, "step_s", json_real(dt));
	json_object_set_new(j, "cpu_s", json_real(cpu_now() - C0));
	int any_goal = 0;
	for (int i = 0; i < NGOALS; i++) any_goal |= GOALS[i].goal[0] != 0;
	if (any_goal) {
		json_t *g = json_object();
		for (int i = 0; i < NGOALS; i++) {
			json_t *e = json_object();
			json_object_set_new(e, "pairs", json_integer(GOALS[i].pairs));
			json_object_set_new(e, "rewards/accuracies", json_real(GOALS[i].correct / GOALS[i].pairs));
			json_object_set_new(e, "rewards/margins", json_real(GOALS[i].margins / GOALS[i].pairs));
			json_object_set_new(g, GOALS[i].goal, e);
		}
		json_object_set_new(j, "goals", g);
	}
	rad_jsonl_write(LOG, j);
	rad_sink_flush(LOG);
	json_decref(j);
	rad_progress("step %ld  loss %.4f  grad_norm %.3g  lr %.3g  %.0f tok/s", ST.step, STATS.loss, gn, lr,
	             dt > 0 ? TOKENS / dt : 0);
	for (int i = 0; i < NGOALS; i++) free(GOALS[i].goal);
	NGOALS = 0;
	memset(&STATS, 0, sizeof STATS);
	TOKENS = 0;
	if (o.save_every > 0 && ST.step % o.save_every == 0) save();
	T0 = now();
	C0 = cpu_now();
}

/* The chosen sequences of b only (SFT needs no rejected ones): a view sharing b's token
 * arrays, with its own sequence arrays. */
static void chosen_view(const rad_batch *b, rad_batch *v)
{
	*v = *b;
	v->seq_row = rad_malloc(sizeof(int32_t) * (b->nseq + 1));
	v->seq_start = rad_malloc(sizeof(int32_t) * (b->nseq + 1));
	v->seq_len = rad_malloc(sizeof(int32_t) * (b->nseq + 1));
	v->seq_pair = rad_malloc(sizeof(int32_t) * (b->nseq + 1));
	v->seq_chosen = rad_malloc(b->nseq + 1);
	v->ref_logp = NULL;
	v->ref_ntok = NULL;
	int n = 0;
	for (int s = 0; s < b->nseq; s++) {
		if (!b->seq_chosen[s]) continue;
		v->seq_row[n] = b->seq_row[s];
		v->seq_start[n] = b->seq_start[s];
		v->seq_len[n] = b->seq_len[s];
		v->seq_pair[n] = b->seq_pair[s];
		v->seq_chosen[n] = 1;
		n++;
	}
	v->nseq = n;
}

static void free_view(rad_batch *v)
{
	free(v->seq_row); free(v->seq_start); free(v->seq_len); free(v->seq_pair); free(v->seq_chosen);
}

static void check_ref(const rad_reader *rd)
{
	if (o.lo.kind == RAD_LOSS_SFT || o.no_ref_check) return;
	const rad_header *h = rad_reader_header(rd);
	json_t *j = json_loads(h->meta ? h->meta : "{}", 0, NULL);
	const char *r = json_string_value(json_object_get(j, "ref_model"));
	char want[17];
	snprintf(want, sizeof want, "%016" PRIx64, ST.ref_model);
	if (!r) {
		json_decref(j);
		rad_die(RAD_EXIT_DATA, rad_reader_name(rd), "no reference log-probs in this stream (run rad-logps on it)");
	}
	if (strcmp(r, want)) {
		char got[17];
		snprintf(got, sizeof got, "%s", r);
		json_decref(j);
		rad_die(RAD_EXIT_DATA, rad_reader_name(rd),
		        "reference log-probs come from model %s, not from the reference %s (--ref-model names another, "
		        "--no-ref-check accepts any)", got, want);
	}
	json_decref(j);
}

static double parse_pos(const char *opt, const char *s)
{
	double v = rad_parse_double(opt, s);
	if (!(v >= 0)) rad_usage_error("--%s must be a non-negative number", opt);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"output", required_argument, 0, 'o'},
		{"resume", no_argument, 0, OPT_RESUME},
		{"loss", required_argument, 0, OPT_LOSS},
		{"beta", required_argument, 0, OPT_BETA},
		{"label-smoothing", required_argument, 0, OPT_LS},
		{"sft-weight", required_argument, 0, OPT_SFTW},
		{"lr", required_argument, 0, OPT_LR},
		{"schedule", required_argument, 0, OPT_SCHED},
		{"warmup-steps", required_argument, 0, OPT_WSTEPS},
		{"warmup-ratio", required_argument, 0, OPT_WRATIO},
		{"total-steps", required_argument, 0, OPT_TOTAL},
		{"max-steps", required_argument, 0, OPT_MAX},
		{"grad-accum", required_argument, 0, OPT_ACCUM},
		{"clip", required_argument, 0, OPT_CLIP},
		{"adam-beta1", required_argument, 0, OPT_B1},
		{"adam-beta2", required_argument, 0, OPT_B2},
		{"adam-eps", required_argument, 0, OPT_EPS},
		{"weight-decay", required_argument, 0, OPT_WD},
		{"save-every", required_argument, 0, OPT_SAVE},
		{"dtype", required_argument, 0, OPT_DTYPE},
		{"ref-model", required_argument, 0, OPT_REF},
		{"no-ref-check", no_argument, 0, OPT_NOREF},
		{"no-save", no_argument, 0, OPT_NOSAVE},
		{"log", required_argument, 0, OPT_LOG},
		{"dump-grads", required_argument, 0, OPT_DUMP},
		{"seed", required_argument, 0, OPT_SEED},
		{"threads", required_argument, 0, OPT_THREADS},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	OPT.beta1 = 0.9;
	OPT.beta2 = 0.999;
	OPT.eps = 1e-8;
	OPT.weight_decay = 0;
	rad_omp_passive(argv);
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "m:o:", opts, NULL)) != -1;) {
		switch (c) {
		case 'm': o.mdir = optarg; break;
		case 'o': o.out = optarg; break;
		case OPT_RESUME: o.resume = 1; break;
		case OPT_LOSS:
			if ((o.lo.kind = rad_loss_kind_parse(optarg)) < 0)
				rad_usage_error("--loss: sft, dpo, ipo or hinge, not \"%s\"", optarg);
			break;
		case OPT_BETA: o.lo.beta = parse_pos("beta", optarg); break;
		case OPT_LS:
			o.lo.label_smoothing = parse_pos("label-smoothing", optarg);
			if (o.lo.label_smoothing >= 0.5) rad_usage_error("--label-smoothing must be below 0.5");
			break;
		case OPT_SFTW: o.lo.sft_weight = parse_pos("sft-weight", optarg); break;
		case OPT_LR: o.lr = parse_pos("lr", optarg); break;
		case OPT_SCHED:
			if ((o.sched = rad_schedule_parse(optarg)) < 0)
				rad_usage_error("--schedule: constant, linear or cosine, not \"%s\"", optarg);
			break;
		case OPT_WSTEPS: o.warmup = (long)rad_parse_int("warmup-steps", optarg, 0, 1L << 40); break;
		case OPT_WRATIO:
			o.warmup_ratio = parse_pos("warmup-ratio", optarg);
			if (o.warmup_ratio > 1) rad_usage_error("--warmup-ratio must be at most 1");
			break;
		case OPT_TOTAL: o.total = (long)rad_parse_int("total-steps", optarg, 1, 1L << 40); break;
		case OPT_MAX: o.max_steps = (long)rad_parse_int("max-steps", optarg, 1, 1L << 40); break;
		case OPT_ACCUM: o.accum = (int)rad_parse_int("grad-accum", optarg, 1, 1 << 20); break;
		case OPT_CLIP: o.clip = parse_pos("clip", optarg); break;
		case OPT_B1: OPT.beta1 = parse_pos("adam-beta1", optarg); break;
		case OPT_B2: OPT.beta2 = parse_pos("adam-beta2", optarg); break;
		case OPT_EPS: OPT.eps = parse_pos("adam-eps", optarg); break;
		case OPT_WD: OPT.weight_decay = parse_pos("weight-decay", optarg); break;
		case OPT_SAVE: o.save_every = (long)rad_parse_int("save-every", optarg, 0, 1L << 40); break;
		case OPT_DTYPE:
			if (!strcmp(optarg, "fp32")) o.dtype = RAD_ST_F32;
			else if (!strcmp(optarg, "bf16")) o.dtype = RAD_ST_BF16;
			else rad_usage_error("--dtype: fp32 or bf16, not \"%s\"", optarg);
			break;
		case OPT_REF: o.ref_dir = optarg; break;
		case OPT_NOREF: o.no_ref_check = 1; break;
		case OPT_NOSAVE: o.no_save = 1; break;
		case OPT_LOG: o.log = optarg; break;
		case OPT_DUMP: o.dump = optarg; break;
		case OPT_SEED: o.seed = (unsigned long long)rad_parse_int("seed", optarg, 0, (1LL << 62)); break;
		case OPT_THREADS: o.threads = (int)rad_parse_int("threads", optarg, 1, 1024); break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (!o.out) rad_usage_error("--output DIR is required");
	if (OPT.beta1 >= 1 || OPT.beta2 >= 1) rad_usage_error("--adam-beta1 and --adam-beta2 must be below 1");
	if (o.lo.kind != RAD_LOSS_SFT && o.lo.beta <= 0) rad_usage_error("--beta must be positive");
	TOTAL = o.total > 0 ? o.total : o.max_steps;
	if (o.warmup >= 0 && o.warmup_ratio >= 0) rad_usage_error("give --warmup-steps or --warmup-ratio, not both");

	const char *e;
	int resumed = o.resume && rad_checkpoint_exists(o.out);
	if (resumed) {
		if ((e = rad_model_load(&M, o.out))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		rad_adamw_init(&OPT, M->nparams);
		if ((e = rad_checkpoint_load_state(o.out, M, &OPT, &ST))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		if (ST.loss[0] && strcmp(ST.loss, rad_loss_kind_name(o.lo.kind)))
			rad_usage_error("the checkpoint in %s was trained with --loss %s, not %s", o.out, ST.loss,
			                rad_loss_kind_name(o.lo.kind));
		FROM_DIR = o.out;
		LAST_SAVED = ST.step;
	} else {
		if (!o.mdir) rad_usage_error("--model DIR is required");
		if ((e = rad_model_load(&M, o.mdir))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		rad_adamw_init(&OPT, M->nparams);
		memset(&ST, 0, sizeof ST);
		rad_rng_seed(&ST.rng, o.seed);
		snprintf(ST.loss, sizeof ST.loss, "%s", rad_loss_kind_name(o.lo.kind));
		if (o.ref_dir) {
			rad_model *r = NULL;
			if ((e = rad_model_load(&r, o.ref_dir))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
			ST.ref_model = rad_model_fingerprint(r);
			rad_model_free(r);
		} else {
			ST.ref_model = rad_model_fingerprint(M);
		}
		FROM_DIR = o.mdir;
	}
	rad_model_set_threads(M, o.threads);
	rad_model_enable_grads(M);
	LOG = rad_sink_open(o.log ? o.log : "-", 0, 0);

	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;
	rad_rec rec;
	rad_rec_init(&rec);
	rad_batch b = {0};
	long consumed = 0, skipped = 0, start_step = ST.step;
	int micro = 0;
	double *lp = NULL, *dl = NULL, *rc = NULL, *rr = NULL;
	int32_t *nt = NULL;
	int done = o.max_steps > 0 && ST.step >= o.max_steps;
	T0 = now();
	C0 = cpu_now();
	for (int i = 0; i < ninputs && !done; i++) {
		rad_reader *rd = rad_reader_open(inputs[i], RAD_KIND_BATCHES);
		int checked = 0;
		if (i == 0 && TOTAL < 0) {   /* rad-pack's header counts the batches of a file */
			json_t *mj = json_loads(rad_reader_header(rd)->meta ? rad_reader_header(rd)->meta : "{}", 0, NULL);
			json_t *nb = json_object_get(mj, "batches");
			if (json_is_integer(nb) && json_integer_value(nb) > 0 && ninputs == 1)
				TOTAL = (long)((json_integer_value(nb) + o.accum - 1) / o.accum);
			json_decref(mj);
		}
		if (i == 0 && TOTAL < 0 && (o.sched != RAD_SCHED_CONSTANT || o.warmup_ratio > 0))
			rad_usage_error("--schedule %s and --warmup-ratio need the number of steps: --total-steps, --max-steps, "
			                "or one input whose header counts its batches", o.sched == RAD_SCHED_LINEAR ? "linear" :
			                o.sched == RAD_SCHED_COSINE ? "cosine" : "constant");
		while (!done && rad_reader_next(rd, &rec)) {
			if (rec.type != RAD_REC_BATCH) continue;
			if (consumed < ST.batches) { consumed++; skipped++; continue; }
			if (!checked) { check_ref(rd); checked = 1; }
			char where[1200];
			snprintf(where, sizeof where, "%s: record %lld", rad_reader_name(rd), rad_reader_record_no(rd));
			if ((e = rad_batch_from_rec(&rec, &b))) rad_die(RAD_EXIT_DATA, where, "%s", e);
			size_t ns = b.nseq + 1, np = b.npair + 1;
			lp = rad_realloc(lp, ns * sizeof *lp);
			dl = rad_realloc(dl, ns * sizeof *dl);
			nt = rad_realloc(nt, ns * sizeof *nt);
			rc = rad_realloc(rc, np * sizeof *rc);
			rr = rad_realloc(rr, np * sizeof *rr);
			rad_batch sv, *run = &b;
			if (o.lo.kind == RAD_LOSS_SFT) { chosen_view(&b, &sv); run = &sv; }
			if ((e = rad_model_forward(M, run, lp, nt))) rad_die(RAD_EXIT_DATA, where, "%s", e);
			double before = STATS.loss;
			if ((e = rad_loss_compute(&o.lo, run, lp, nt, 1.0 / o.accum, dl, &STATS, rc, rr)))
				rad_die(RAD_EXIT_DATA, where, "%s", e);
			if (!isfinite(STATS.loss - before)) {
				rad_warn(where, "step %ld: the loss is %g; stopping", ST.step + 1, STATS.loss - before);
				saved_note();
				exit(RAD_EXIT_DATA);
			}
			if (o.lo.kind != RAD_LOSS_SFT)
				for (int p = 0; p < b.npair; p++) goal_add(b.goal[p] ? b.goal[p] : "", rc[p] > rr[p], rc[p] - rr[p]);
			rad_model_backward(M, run, dl);
			for (int s = 0; s < run->nseq; s++) TOKENS += run->seq_len[s];
			if (run == &sv) free_view(&sv);
			consumed++;
			if (++micro == o.accum) {
				ST.batches = consumed;
				update(micro);
				micro = 0;
				done = o.max_steps > 0 && ST.step >= o.max_steps;
			}
		}
		rad_reader_close(rd);
	}
	if (micro > 0) {
		ST.batches = consumed;
		update(micro);
	}
	rad_progress_done();
	if (resumed && consumed < ST.batches)
		rad_die(RAD_EXIT_DATA, NULL, "the input ended after %ld batches, but the checkpoint had read %ld", consumed, ST.batches);
	if (!o.no_save && (LAST_SAVED != ST.step || !rad_checkpoint_exists(o.out))) save();
	rad_sink_close(LOG);
	if (rad_verbose) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		rad_warn(NULL, "%ld steps (%ld this run), %ld batches read, %ld skipped on resume; checkpoint %s; peak RSS %.0f MiB",
		         ST.step, ST.step - start_step, consumed, skipped, o.no_save ? "not written" : o.out, ru.ru_maxrss / 1024.0);
	}
	rad_batch_free(&b);
	rad_rec_free(&rec);
	free(lp); free(dl); free(nt); free(rc); free(rr);
	rad_adamw_free(&OPT);
	rad_model_free(M);
	return 0;
}
