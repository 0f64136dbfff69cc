/* train/trainer.c — the training loop (see trainer.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train/trainer.h"
#include "base/cli.h"
#include "base/dist.h"
#include "base/jsonl.h"
#include "base/keyed.h"
#include "nn/lora.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "train/adamw.h"
#include "train/batch_part.h"
#include "train/checkpoint.h"
#include "train/lock.h"
#include "train/metrics_log.h"
#include "train/provenance.h"

/* Per-goal sums of one step, for the "goals" object of its metrics line. */
typedef struct goal_stat { char *goal; long pairs; double correct, margins; } goal_stat;

struct rad_trainer {
	rad_train_opts o;
	rad_model *m;
	rad_adamw opt;
	rad_train_state st;
	rad_sink *log;
	char *out;                /* the output directory's path (o.out_dir points at it) */
	const char *from_dir;     /* where the tokenizer files to copy into a checkpoint are */
	uint64_t input;           /* fingerprint of the batches read so far */
	int resumed, dumped;
	long total;               /* steps the schedule spans, -1 when unknown */
	long consumed, skipped, start_step, last_saved;
	int micro;                /* batches accumulated towards the next step */
	/* the step being accumulated */
	rad_loss_stats stats;
	goal_stat *goals;
	int ngoals;
	long tokens;
	double t0, c0, comm0;     /* wall, CPU and communication clocks at its start */
	/* per-batch scratch, grown as needed */
	double *logp, *dlogp, *reward_c, *reward_r;
	int32_t *ntok;
	size_t cap_seq, cap_pair;
	rad_batch_part part;      /* what this process computes of the batch */
	/* data parallel (base/dist.h): rank 0 reads the input, keeps the output directory and
	 * hands every batch to all ranks; each computes its part (train/batch_part.h) */
	int rank, ranks;
	size_t *slice;            /* [ranks + 1]: the weights whose moments each rank keeps (--shard-optimizer) */
	rad_rec rec;              /* a batch as it travels to the other ranks */
	void *msg;
	size_t msg_cap;
};

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

void rad_train_opts_default(rad_train_opts *o)
{
	*o = (rad_train_opts){
		.dtype = RAD_ST_F32, .accum = 1, .schedule = RAD_SCHED_CONSTANT,
		.warmup_steps = -1, .warmup_ratio = -1, .total_steps = -1, .max_steps = -1,
		.lr = 1e-5, .clip = 1.0, .adam_beta1 = 0.9, .adam_beta2 = 0.999, .adam_eps = 1e-8,
		.loss = {RAD_LOSS_DPO, 0.1, 0, 0},
		.lora = {.alpha = 8, .dropout = -1},   /* PEFT's lora_alpha and lora_dropout defaults: 8, 0 */
	};
}

const char *rad_train_opts_check(const rad_train_opts *o)
{
	if (!o->out_dir && !o->no_save) return "--output DIR is required (or --no-save)";
	if (o->resume && !o->out_dir) return "--resume needs --output DIR, where the checkpoint to continue is";
	if (!o->resume && !o->model_dir) return "--model DIR is required";
	/* every number finite and in its range: a bad value is a usage error now, not a NaN at step 2 */
	const struct { const char *name; double v, lo, hi; int lo_open, hi_open; } r[] = {
		{"--lr", o->lr, 0, HUGE_VAL, 0, 1},
		{"--clip", o->clip, 0, HUGE_VAL, 0, 1},
		{"--adam-beta1", o->adam_beta1, 0, 1, 0, 1},
		{"--adam-beta2", o->adam_beta2, 0, 1, 0, 1},
		{"--adam-eps", o->adam_eps, 0, HUGE_VAL, 1, 1},
		{"--weight-decay", o->weight_decay, 0, HUGE_VAL, 0, 1},
		{"--label-smoothing", o->loss.label_smoothing, 0, 0.5, 0, 1},
		{"--sft-weight", o->loss.sft_weight, 0, HUGE_VAL, 0, 1},
		{"--beta", o->loss.kind == RAD_LOSS_SFT ? 1 : o->loss.beta, 0, HUGE_VAL, 1, 1},
		{"--warmup-ratio", o->warmup_ratio < 0 ? 0 : o->warmup_ratio, 0, 1, 0, 0},
	};
	static char msg[200];
	for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
		double v = r[i].v;
		if (isfinite(v) && (r[i].lo_open ? v > r[i].lo : v >= r[i].lo) && (r[i].hi_open ? v < r[i].hi : v <= r[i].hi))
			continue;
		if (isinf(r[i].hi)) snprintf(msg, sizeof msg, "%s must be a finite number %s %g, not %g", r[i].name,
		                             r[i].lo_open ? "above" : "of at least", r[i].lo, v);
		else snprintf(msg, sizeof msg, "%s must be in %c%g, %g%c, not %g", r[i].name, r[i].lo_open ? '(' : '[', r[i].lo,
		              r[i].hi, r[i].hi_open ? ')' : ']', v);
		return msg;
	}
	if (o->lr * o->weight_decay >= 1) return "--lr times --weight-decay must be below 1 (the decay scales weights by 1 - lr wd)";
	if (o->warmup_steps >= 0 && o->warmup_ratio >= 0) return "give --warmup-steps or --warmup-ratio, not both";
	if (o->base_dtype == RAD_ST_BF16 && !o->lora.rank && !o->adapter_dir && !o->resume)
		return "--base-dtype bf16 holds a frozen base: it needs an adapter to train (--lora-rank or --adapter)";
	if (o->lora.dropout >= 1) return "--lora-dropout must be below 1";
	if (!(o->lora.alpha > 0) || !isfinite(o->lora.alpha)) return "--lora-alpha must be a finite number above 0";
	if (o->adapter_dir && (o->lora.rank || o->lora.targets || o->lora.rslora))
		return "--adapter fixes the rank, targets and scaling: give no --lora-rank, --lora-targets or --lora-rslora with it";
	if (!o->lora.rank && !o->adapter_dir && (o->lora.targets || o->lora.rslora || o->lora.dropout >= 0))
		return "--lora-targets, --lora-dropout and --lora-rslora need --lora-rank (or --adapter)";
	return NULL;
}

/* A failure that every rank meets alike (they all see the same batches and the same
 * summed gradient): rank 0 says it; the others wait for mpirun to end the job, since one
 * that exited first could have rank 0 ended before it speaks. */
static void others_wait(const rad_trainer *t)
{
	if (!t->rank) return;
	sleep(60);
	exit(RAD_EXIT_DATA);
}

/* Every rank calls it; rank 0 writes.  With the optimizer sharded rank 0 first collects
 * the moments of every slice, and holds them whole while it writes: a checkpoint is the
 * same whatever the number of ranks. */
static void save(rad_trainer *t)
{
	if (t->o.no_save) return;
	rad_adamw whole = t->opt;
	if (t->slice) {
		size_t n = t->rank ? 0 : rad_model_trainable(t->m).n;
		whole.m = rad_malloc(sizeof(float) * (n + 1));
		whole.v = rad_malloc(sizeof(float) * (n + 1));
		rad_dist_collect_f32(t->opt.m, whole.m, t->slice);
		rad_dist_collect_f32(t->opt.v, whole.v, t->slice);
	}
	if (t->rank == 0) {
		t->st.input = t->input;   /* the batches the checkpoint has consumed, st.batches of them */
		const char *e = rad_checkpoint_save(t->o.out_dir, t->m, &whole, &t->st, t->o.dtype, t->from_dir);
		if (e) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		t->from_dir = t->o.out_dir;   /* the tokenizer files are in the output now */
	}
	if (t->slice) { free(whole.m); free(whole.v); }
	t->last_saved = t->st.step;
}

/* Ends the process on a non-finite loss or gradient, saying where the last good model is.
 * all_ranks: every rank found it (the summed gradient), not only this one (its pairs). */
_Noreturn static void stop_bad(rad_trainer *t, const char *where, const char *what, double v, int all_ranks)
{
	if (all_ranks) others_wait(t);
	rad_warn(where, "step %ld: the %s is %g; stopping without applying it", t->st.step + 1, what, v);
	if (t->last_saved >= 0) rad_warn(NULL, "the last good checkpoint (step %ld) is in %s", t->last_saved,
	                                 t->o.out_dir ? t->o.out_dir : "--output");
	else rad_warn(NULL, "no checkpoint was written by this run");
	exit(RAD_EXIT_DATA);
}

/* The output directory as a path whose last part names it: "out/" is "out", and ".", ".."
 * or a symbolic link are resolved, so that DIR.tmp and DIR.lock land beside the
 * directory, not inside it, and the directory, not a link, is what gets replaced. */
static char *out_path(const char *dir)
{
	char *p = rad_strdup(dir);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/') p[--n] = 0;
	const char *base = strrchr(p, '/');
	base = base ? base + 1 : p;
	struct stat sb;
	if ((lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode)) || !strcmp(base, ".") || !strcmp(base, "..")) {
		char *r = realpath(p, NULL);
		if (!r) rad_die(RAD_EXIT_DATA, dir, "%s", strerror(errno));
		free(p);
		p = r;
	}
	if (!strcmp(p, "/")) rad_usage_error("--output cannot be the root directory");
	return p;
}

/* A new adapter on the base just loaded (PEFT's initialisation), or the one --adapter names. */
static void start_adapter(rad_trainer *t)
{
	const rad_train_opts *o = &t->o;
	rad_lora *lo;
	const char *e;
	if (o->adapter_dir) {
		if ((e = rad_lora_load(&lo, &t->m->cfg, o->adapter_dir))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		if (o->lora.dropout >= 0) lo->o.dropout = o->lora.dropout;
	} else {
		rad_lora_opts lopt = o->lora;
		if (!lopt.targets) lopt.targets = rad_lora_default_targets(&t->m->cfg);
		if (lopt.dropout < 0) lopt.dropout = 0;
		if (!(lo = rad_lora_new(&t->m->cfg, &lopt, &e))) rad_usage_error("LoRA: %s", e);
		rad_lora_init(lo, o->seed);
	}
	rad_model_attach_lora(t->m, lo);
	t->st.base_model = rad_model_fingerprint(t->m);
	char *abs = realpath(o->model_dir, NULL);   /* found again from any directory on --resume */
	t->st.base_dir = abs ? abs : rad_strdup(o->model_dir);
}

/* --resume of an adapter checkpoint: its base (--model, else the directory it recorded),
 * which must be the one it was trained on, then the adapter and the optimizer state. */
static void resume_adapter(rad_trainer *t)
{
	uint64_t fp;
	char *recorded;
	const char *e = rad_checkpoint_base(t->out, &fp, &recorded);
	if (e) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	const char *base = t->o.model_dir ? t->o.model_dir : recorded;
	if ((e = rad_model_load_as(&t->m, base, t->o.base_dtype)))
		rad_die(RAD_EXIT_DATA, NULL, "the adapter's base model: %s", e);
	if (rad_model_fingerprint(t->m) != fp)
		rad_die(RAD_EXIT_DATA, base, "not the base model the adapter in %s was trained on (fingerprint %016" PRIx64
		        ", the checkpoint's %016" PRIx64 ")", t->out, rad_model_fingerprint(t->m), fp);
	free(recorded);
	rad_lora *lo;
	if ((e = rad_lora_load(&lo, &t->m->cfg, t->out))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	rad_model_attach_lora(t->m, lo);
	rad_adamw_init(&t->opt, rad_model_trainable(t->m).n);
	if ((e = rad_checkpoint_load_state(t->out, t->m, &t->opt, &t->st))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	t->from_dir = t->out;
	t->last_saved = t->st.step;
}

/* Rank 0's start: the output directory claimed, the model or the checkpoint loaded. */
static void open_files(rad_trainer *t)
{
	const rad_train_opts *o = &t->o;
	const char *e;
	if (o->out_dir) t->o.out_dir = t->out = out_path(o->out_dir);
	/* claimed before anything is read: the lock first, so that two runs do not both clear */
	if (!o->no_save && ((e = rad_dir_lock(t->out)) || (e = rad_checkpoint_clear_tmp(t->out)) ||
	                    (e = rad_checkpoint_replaceable(t->out))))
		rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	t->resumed = o->resume && rad_checkpoint_exists(t->out);
	if (t->resumed && rad_checkpoint_has_adapter(t->out)) {
		resume_adapter(t);
	} else if (t->resumed) {
		if (o->base_dtype == RAD_ST_BF16)
			rad_usage_error("--base-dtype bf16: the checkpoint in %s trains the whole model, not an adapter", t->out);
		if ((e = rad_model_load(&t->m, t->out))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		rad_adamw_init(&t->opt, t->m->nparams);
		if ((e = rad_checkpoint_load_state(t->out, t->m, &t->opt, &t->st))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		t->from_dir = t->out;
		t->last_saved = t->st.step;
	} else {
		if (!o->model_dir) rad_usage_error("--model DIR is required");
		if ((e = rad_model_load_as(&t->m, o->model_dir, o->base_dtype))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		if (o->lora.rank || o->adapter_dir) start_adapter(t);
		rad_adamw_init(&t->opt, rad_model_trainable(t->m).n);
		rad_rng_seed(&t->st.rng, o->seed);
		if (o->ref_dir) {
			rad_model *r = NULL;
			if ((e = rad_model_load_as(&r, o->ref_dir, o->base_dtype))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
			t->st.ref_model = rad_model_fingerprint(r);
			rad_model_free(r);
		} else {
			t->st.ref_model = rad_model_fingerprint(t->m);
		}
		t->from_dir = o->model_dir;
	}
	t->log = rad_metrics_open(o->log, t->resumed ? t->st.step : 0);
}

/* The other ranks start from rank 0's model and state, so that only rank 0 needs the
 * files (a resumed checkpoint is in its output directory).  With the optimizer sharded
 * each rank keeps the moments of its slice of the weights. */
static void share_start(rad_trainer *t)
{
	struct start { rad_model_config cfg; long step, batches, adam_step, last_saved; int resumed; } s;
	memset(&s, 0, sizeof s);
	if (t->rank == 0)
		s = (struct start){t->m->cfg, t->st.step, t->st.batches, t->opt.step, t->last_saved, t->resumed};
	rad_dist_bcast(&s, sizeof s);
	if (t->rank) {
		const char *e;
		if (!(t->m = rad_model_new(&s.cfg, &e))) rad_die(RAD_EXIT_DATA, NULL, "rank %d: %s", t->rank, e);
		t->st.step = s.step;
		t->st.batches = s.batches;
		t->consumed = s.batches;   /* rank 0 passes over what a resumed run had read */
		t->last_saved = s.last_saved;
		t->resumed = s.resumed;
	}
	size_t n = t->m->nparams;
	rad_dist_bcast(t->m->params, sizeof(float) * n);
	if (t->o.shard_optimizer) {
		t->slice = rad_malloc(sizeof(size_t) * (t->ranks + 1));
		rad_dist_slices(n, t->slice);
		rad_adamw mine = t->opt;
		rad_adamw_init(&mine, t->slice[t->rank + 1] - t->slice[t->rank]);
		if (s.resumed) {
			rad_dist_spread_f32(t->opt.m, mine.m, t->slice);
			rad_dist_spread_f32(t->opt.v, mine.v, t->slice);
		}
		if (t->rank == 0) rad_adamw_free(&t->opt);
		t->opt = mine;
	} else {
		if (t->rank) rad_adamw_init(&t->opt, n);
		if (s.resumed) {
			rad_dist_bcast(t->opt.m, sizeof(float) * n);
			rad_dist_bcast(t->opt.v, sizeof(float) * n);
		}
	}
	t->opt.step = s.adam_step;
}

rad_trainer *rad_trainer_open(const rad_train_opts *o)
{
	rad_trainer *t = rad_calloc(1, sizeof *t);
	t->o = *o;
	t->last_saved = -1;
	t->input = RAD_HASH_SEED;
	t->opt.beta1 = o->adam_beta1;
	t->opt.beta2 = o->adam_beta2;
	t->opt.eps = o->adam_eps;
	t->opt.weight_decay = o->weight_decay;
	t->rank = rad_dist_rank();
	t->ranks = rad_dist_size();
	rad_rec_init(&t->rec);
	if (t->rank == 0) open_files(t);
	else rad_progress_on = 0;   /* rank 0 shows the progress of the job */
	if (t->ranks > 1) {
		/* the ranks share the base's weights and moments only; an adapter would need its own */
		if (o->lora.rank || o->adapter_dir || (t->m && t->m->lora))
			rad_usage_error("LoRA under mpirun is not built yet: train an adapter in one process");
		share_start(t);
	}
	rad_model_set_threads(t->m, o->threads);
	rad_model_set_compute(t->m, o->compute);
	rad_model_set_recompute(t->m, o->recompute);
	rad_model_enable_grads(t->m);
	t->total = o->total_steps > 0 ? o->total_steps : o->max_steps;
	t->start_step = t->st.step;
	t->t0 = rad_seconds();
	t->c0 = cpu_now();
	t->comm0 = rad_dist_comm_seconds();
	return t;
}

/* The stream's reference log-probs must come from the model the trainer compares with. */
static void check_ref(const rad_trainer *t, const rad_reader *rd)
{
	if (t->o.loss.kind == RAD_LOSS_SFT || t->o.no_ref_check) return;
	const rad_header *h = rad_reader_header(rd);
	json_t *j = json_loads(h->meta ? h->meta : "{}", 0, NULL);
	const char *r = json_string_value(json_object_get(j, "ref_model"));
	char want[17], got[17];
	snprintf(want, sizeof want, "%016" PRIx64, t->st.ref_model);
	snprintf(got, sizeof got, "%s", r ? r : "");
	json_decref(j);
	if (!r) rad_die(RAD_EXIT_DATA, rad_reader_name(rd), "no reference log-probs in this stream (run rad-logps on it)");
	if (strcmp(got, want))
		rad_die(RAD_EXIT_DATA, rad_reader_name(rd),
		        "reference log-probs come from model %s, not from the reference %s (--ref-model names another, "
		        "--no-ref-check accepts any)", got, want);
}

static long warmup_steps(const rad_trainer *t)
{
	return t->o.warmup_steps >= 0 ? t->o.warmup_steps
	     : t->o.warmup_ratio > 0 ? (long)ceil(t->o.warmup_ratio * t->total) : 0;
}

/* The options of this run, once the schedule's span is known: recorded in a new run's
 * checkpoints, compared with a resumed one's. */
static void fix_options(rad_trainer *t)
{
	json_t *now = rad_train_trajectory(&t->o, warmup_steps(t), t->total);
	if (!t->resumed) {
		t->st.options = now;
		return;
	}
	const char *diff = rad_train_trajectory_diff(t->st.options, now);
	if (diff)
		rad_usage_error("--resume: the checkpoint in %s was trained with other options: %s; give the same, or start "
		                "afresh without --resume", t->o.out_dir, diff);
	json_decref(now);
}

void rad_trainer_begin_input(rad_trainer *t, const rad_reader *rd, int index, int ninputs)
{
	if (index == 0 && ninputs == 1) {   /* rad-pack's header counts the batches of a file */
		const char *meta = rad_reader_header(rd)->meta;
		json_t *mj = json_loads(meta ? meta : "{}", 0, NULL);
		json_t *nb = json_object_get(mj, "batches");
		long n = json_is_integer(nb) ? (long)json_integer_value(nb) : -1;
		json_decref(mj);
		if (n == 0) rad_die(RAD_EXIT_DATA, rad_reader_name(rd), "the stream holds no batches (its header counts 0): nothing to train");
		if (t->total < 0 && n > 0) t->total = (n + t->o.accum - 1) / t->o.accum;
	}
	if (index == 0 && t->total < 0 && (t->o.schedule != RAD_SCHED_CONSTANT || t->o.warmup_ratio > 0))
		rad_usage_error("--schedule %s and --warmup-ratio need the number of steps: --total-steps, --max-steps, "
		                "or one input whose header counts its batches",
		                t->o.schedule == RAD_SCHED_LINEAR ? "linear" : t->o.schedule == RAD_SCHED_COSINE ? "cosine" : "constant");
	if (index == 0) fix_options(t);
	check_ref(t, rd);
}

int rad_trainer_done(const rad_trainer *t)
{
	return t->o.max_steps > 0 && t->st.step >= t->o.max_steps && t->consumed >= t->st.batches;
}

/* The goal's entry in this step's table (added at the end when new).  Every rank enters
 * the goals of all the pairs of a batch in order, so the tables agree entry by entry and
 * are summed as arrays. */
static goal_stat *goal_get(rad_trainer *t, const char *g)
{
	int i;
	for (i = 0; i < t->ngoals; i++) if (!strcmp(t->goals[i].goal, g)) break;
	if (i == t->ngoals) {
		t->goals = rad_realloc(t->goals, sizeof *t->goals * (t->ngoals + 1));
		t->goals[t->ngoals++] = (goal_stat){rad_strdup(g), 0, 0, 0};
	}
	return &t->goals[i];
}

static void dump_grads(rad_trainer *t)
{
	t->dumped = 1;
	rad_trainable p = rad_model_trainable(t->m);
	if (t->slice) rad_dist_gather_slices_f32(p.grads, t->slice);   /* the summed gradient, whole */
	if (t->rank) return;
	rad_st_out *o = rad_calloc(p.ntensors, sizeof *o);
	for (int i = 0; i < p.ntensors; i++) {
		const rad_model_tensor *mt = &p.tensors[i];
		o[i] = (rad_st_out){mt->name, mt->ndim, {mt->shape[0], mt->shape[1]}, p.grads + mt->off, mt->rows, mt->cols,
		                    mt->transposed, NULL};
	}
	const char *e = rad_st_write(t->o.dump_grads, o, p.ntensors, RAD_ST_F32, NULL);
	free(o);
	if (e) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
}

/* The metrics line of the step just taken: TRL's names, then rad's own. */
static void write_metrics(rad_trainer *t, double grad_norm, double lr, double cpu)
{
	const rad_loss_stats *s = &t->stats;
	double dt = rad_seconds() - t->t0;
	json_t *j = json_object();
	json_object_set_new(j, "step", json_integer(t->st.step));
	json_object_set_new(j, "loss", json_real(s->loss));
	if (t->o.loss.kind != RAD_LOSS_SFT && s->pairs) {
		double p = (double)s->pairs;
		json_object_set_new(j, "rewards/chosen", json_real(s->rewards_chosen / p));
		json_object_set_new(j, "rewards/rejected", json_real(s->rewards_rejected / p));
		json_object_set_new(j, "rewards/accuracies", json_real(s->correct / p));
		json_object_set_new(j, "rewards/margins", json_real(s->margins / p));
		json_object_set_new(j, "logps/chosen", json_real(s->logps_chosen / p));
		json_object_set_new(j, "logps/rejected", json_real(s->logps_rejected / p));
	}
	if (s->chosen_tokens) json_object_set_new(j, "nll", json_real(s->nll / s->chosen_tokens));
	json_object_set_new(j, "grad_norm", json_real(grad_norm));
	json_object_set_new(j, "learning_rate", json_real(lr));
	json_object_set_new(j, "tokens", json_integer(t->tokens));
	json_object_set_new(j, "tokens_per_s", json_real(dt > 0 ? t->tokens / dt : 0));
	json_object_set_new(j, "step_s", json_real(dt));
	json_object_set_new(j, "cpu_s", json_real(cpu));
	if (t->ranks > 1) {   /* rank 0's wall seconds in the gradient's sums and the slices' exchange */
		json_object_set_new(j, "comm_s", json_real(rad_dist_comm_seconds() - t->comm0));
		json_object_set_new(j, "ranks", json_integer(t->ranks));
	}
	int any_goal = 0;
	for (int i = 0; i < t->ngoals; i++) any_goal |= t->goals[i].goal[0] != 0;
	if (any_goal) {
		json_t *g = json_object();
		for (int i = 0; i < t->ngoals; i++) {
			const goal_stat *gs = &t->goals[i];
			json_t *e = json_object();
			json_object_set_new(e, "pairs", json_integer(gs->pairs));
			json_object_set_new(e, "rewards/accuracies", json_real(gs->correct / gs->pairs));
			json_object_set_new(e, "rewards/margins", json_real(gs->margins / gs->pairs));
			json_object_set_new(g, gs->goal, e);
		}
		json_object_set_new(j, "goals", g);
	}
	rad_jsonl_write(t->log, j);
	rad_sink_flush(t->log);
	json_decref(j);
	rad_progress("step %ld  loss %.4f  grad_norm %.3g  lr %.3g  %.0f tok/s", t->st.step, s->loss, grad_norm, lr,
	             dt > 0 ? t->tokens / dt : 0);
}

/* The step's sums over the ranks: loss statistics, tokens, CPU seconds and the goal
 * table, added up as one array of doubles (counts are exact in a double). */
static double sum_step(rad_trainer *t)
{
	double cpu = cpu_now() - t->c0;
	if (t->ranks == 1) return cpu;
	rad_loss_stats *s = &t->stats;
	size_t n = 12 + 3 * (size_t)t->ngoals;
	double *v = rad_malloc(sizeof(double) * n);
	double head[12] = {s->loss, (double)s->pairs, s->rewards_chosen, s->rewards_rejected, s->correct, s->margins,
	                   s->logps_chosen, s->logps_rejected, s->nll, (double)s->chosen_tokens, (double)t->tokens, cpu};
	memcpy(v, head, sizeof head);
	for (int i = 0; i < t->ngoals; i++) {
		v[12 + 3 * i] = (double)t->goals[i].pairs;
		v[13 + 3 * i] = t->goals[i].correct;
		v[14 + 3 * i] = t->goals[i].margins;
	}
	rad_dist_sum_f64(v, n);
	*s = (rad_loss_stats){v[0], (long)v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], (long)v[9]};
	t->tokens = (long)v[10];
	cpu = v[11];
	for (int i = 0; i < t->ngoals; i++)
		t->goals[i] = (goal_stat){t->goals[i].goal, (long)v[12 + 3 * i], v[13 + 3 * i], v[14 + 3 * i]};
	free(v);
	return cpu;
}

/* The gradient summed over the ranks, and its global norm.  With the optimizer sharded
 * each rank needs the sum over its slice only (a reduce-scatter: half an all-reduce). */
static double sum_gradient(rad_trainer *t, const rad_trainable *p)
{
	if (!t->slice) {
		rad_dist_sum_f32(p->grads, p->n);
		return rad_grad_norm(p->grads, p->n);
	}
	rad_dist_sum_slice_f32(p->grads, t->slice);
	size_t lo = t->slice[t->rank], hi = t->slice[t->rank + 1];
	double part = rad_grad_norm(p->grads + lo, hi - lo);
	part *= part;
	rad_dist_sum_f64(&part, 1);
	return sqrt(part);
}

/* AdamW on the summed gradient: every rank applies the same update to all the weights,
 * or, sharded, to its slice, whose new values then go to every rank. */
static void apply(rad_trainer *t, const rad_trainable *p, double lr, float gscale)
{
	if (!t->slice) {
		rad_adamw_step(&t->opt, p, lr, gscale);   /* zeroes the gradient */
		return;
	}
	size_t lo = t->slice[t->rank], hi = t->slice[t->rank + 1];
	rad_adamw_step_slice(&t->opt, p, lr, gscale, lo, hi);
	memset(p->grads, 0, sizeof(float) * lo);
	memset(p->grads + hi, 0, sizeof(float) * (p->n - hi));
	rad_dist_gather_slices_f32(p->params, t->slice);
}

/* One optimizer step with what `micro` batches accumulated. */
static void update(rad_trainer *t)
{
	rad_trainable p = rad_model_trainable(t->m);
	double cpu = sum_step(t);
	if (t->micro < t->o.accum) {   /* a short last accumulation: weight it as a full one */
		float c = (float)t->o.accum / t->micro;
		for (size_t i = 0; i < p.n; i++) p.grads[i] *= c;
		t->stats.loss *= c;
	}
	t->st.batches = t->consumed;
	double gn = sum_gradient(t, &p);
	if (!isfinite(gn)) stop_bad(t, NULL, "gradient norm", gn, 1);
	if (t->o.dump_grads && !t->dumped) dump_grads(t);
	double lr = rad_lr_at(t->o.schedule, t->o.lr, t->st.step, warmup_steps(t), t->total);
	apply(t, &p, lr, rad_grad_clip_scale(gn, t->o.clip));
	t->st.step++;
	if (t->rank == 0) write_metrics(t, gn, lr, cpu);
	for (int i = 0; i < t->ngoals; i++) free(t->goals[i].goal);
	t->ngoals = 0;
	memset(&t->stats, 0, sizeof t->stats);
	t->tokens = 0;
	t->micro = 0;
	if (t->o.save_every > 0 && t->st.step % t->o.save_every == 0) save(t);
	t->t0 = rad_seconds();
	t->c0 = cpu_now();
	t->comm0 = rad_dist_comm_seconds();
}

static void grow_scratch(rad_trainer *t, const rad_batch *b)
{
	size_t ns = (size_t)b->nseq + 1, np = (size_t)b->npair + 1;
	if (ns > t->cap_seq) {
		t->logp = rad_realloc(t->logp, ns * sizeof *t->logp);
		t->dlogp = rad_realloc(t->dlogp, ns * sizeof *t->dlogp);
		t->ntok = rad_realloc(t->ntok, ns * sizeof *t->ntok);
		t->cap_seq = ns;
	}
	if (np > t->cap_pair) {
		t->reward_c = rad_realloc(t->reward_c, np * sizeof *t->reward_c);
		t->reward_r = rad_realloc(t->reward_r, np * sizeof *t->reward_r);
		t->cap_pair = np;
	}
}

/* Forward, loss and backward of this rank's part of batch b, and a step when `accum`
 * batches are in.  The part's loss is its share of the batch's (train/loss.h). */
static void take(rad_trainer *t, const rad_batch *b, const char *where)
{
	const char *e;
	int sft = t->o.loss.kind == RAD_LOSS_SFT;
	const rad_batch *run = b;
	rad_loss_whole whole = {b->npair, 0};
	if (sft || t->ranks > 1) {
		rad_batch_part_take(&t->part, b, t->rank, t->ranks, sft);
		run = &t->part.b;
		whole.chosen_tokens = rad_batch_chosen_tokens(b);
	}
	if (!sft && t->ranks > 1) {
		/* the whole batch's pairs must be complete: each rank sees some, rank 0 says it */
		int *has = rad_calloc(b->npair + 1, sizeof *has);
		for (int s = 0; s < b->nseq; s++) has[b->seq_pair[s]] |= b->seq_chosen[s] ? 1 : 2;
		for (int q = 0; q < b->npair; q++)
			if (has[q] != 3) {
				others_wait(t);
				rad_die(RAD_EXIT_DATA, where, "pair %d lacks its %s sequence", q, has[q] & 1 ? "rejected" : "chosen");
			}
		free(has);
	}
	grow_scratch(t, run);
	if (t->m->lora)   /* dropout masks keyed by seed and batch: a resumed run draws the same */
		rad_lora_set_key(t->m->lora, rad_keyed_u64("lora-dropout", t->o.seed, &t->consumed, sizeof t->consumed));
	if (run->npair > 0) {
		if ((e = rad_model_forward(t->m, run, t->logp, t->ntok))) rad_die(RAD_EXIT_DATA, where, "%s", e);
		if (!sft && t->ranks == 1) whole.chosen_tokens = 0;
		if (run == b)
			for (int s = 0; s < b->nseq; s++) whole.chosen_tokens += b->seq_chosen[s] ? t->ntok[s] : 0;
		double before = t->stats.loss;
		if ((e = rad_loss_compute_part(&t->o.loss, run, t->logp, t->ntok, 1.0 / t->o.accum, &whole, t->dlogp,
		                               &t->stats, t->reward_c, t->reward_r)))
			rad_die(RAD_EXIT_DATA, where, "%s", e);
		if (!isfinite(t->stats.loss - before)) stop_bad(t, where, "loss", t->stats.loss - before, 0);
	}
	if (!sft) {
		for (int q = 0; q < b->npair; q++) goal_get(t, b->goal[q] ? b->goal[q] : "");
		for (int p = 0; p < run->npair; p++) {
			int q = run == b ? p : t->part.pair[p];
			goal_stat *g = goal_get(t, b->goal[q] ? b->goal[q] : "");
			g->pairs++;
			g->correct += t->reward_c[p] > t->reward_r[p];
			g->margins += t->reward_c[p] - t->reward_r[p];
		}
	}
	if (run->npair > 0) rad_model_backward(t->m, run, t->dlogp);
	for (int s = 0; s < run->nseq; s++) t->tokens += run->seq_len[s];
	t->consumed++;
	if (++t->micro == t->o.accum) update(t);
}

/* Rank 0 hands batch b to the other ranks: a fixed head, then where b was read and the
 * batch as a record. */
typedef struct hand_head { uint64_t len; int64_t total; uint32_t type, where_len; } hand_head;

static void hand_out(rad_trainer *t, const rad_batch *b, const char *where)
{
	rad_batch_to_rec(b, &t->rec);
	size_t wl = strlen(where);
	hand_head h = {t->rec.len, t->total, t->rec.type, (uint32_t)wl};
	rad_dist_bcast(&h, sizeof h);
	if (wl + h.len + 1 > t->msg_cap) t->msg = rad_realloc(t->msg, t->msg_cap = wl + h.len + 1);
	memcpy(t->msg, where, wl);
	memcpy((char *)t->msg + wl, t->rec.buf, h.len);
	rad_dist_bcast(t->msg, wl + h.len);
}

static void hand_end(rad_trainer *t)
{
	hand_head h = {UINT64_MAX, t->total, 0, 0};
	rad_dist_bcast(&h, sizeof h);
}

/* The other ranks: every batch rank 0 hands out, until it finishes. */
static void follow(rad_trainer *t)
{
	rad_batch b = {0};
	char where[1200];
	for (;;) {
		hand_head h;
		rad_dist_bcast(&h, sizeof h);
		t->total = h.total;
		if (h.len == UINT64_MAX) break;
		size_t n = h.where_len + h.len;
		if (n + 1 > t->msg_cap) t->msg = rad_realloc(t->msg, t->msg_cap = n + 1);
		rad_dist_bcast(t->msg, n);
		snprintf(where, sizeof where, "%.*s", (int)h.where_len, (const char *)t->msg);
		memcpy(rad_rec_prepare(&t->rec, h.type, h.len), (char *)t->msg + h.where_len, h.len);
		const char *e;
		if ((e = rad_rec_parse(&t->rec)) || (e = rad_batch_from_rec(&t->rec, &b)))
			rad_die(RAD_EXIT_DATA, where, "rank %d: the batch came damaged: %s", t->rank, e);
		take(t, &b, where);
	}
	rad_batch_free(&b);
}

void rad_trainer_feed(rad_trainer *t, const rad_batch *b, const char *where)
{
	t->input = rad_batch_fingerprint(t->input, b);
	if (t->consumed < t->st.batches) {   /* read by the run this one resumes */
		t->consumed++;
		t->skipped++;
		if (t->consumed == t->st.batches && t->input != t->st.input)
			rad_die(RAD_EXIT_DATA, where, "the input is not what the checkpoint in %s was trained on: its first %ld "
			        "batches differ (another file, shuffle or reference log-probs); give the same input, or start "
			        "afresh without --resume", t->o.out_dir, t->st.batches);
		return;
	}
	if (t->ranks > 1) hand_out(t, b, where);
	take(t, b, where);
}

void rad_trainer_finish(rad_trainer *t)
{
	if (t->ranks > 1) {
		if (t->rank == 0) hand_end(t);
		else follow(t);
	}
	if (t->micro > 0) update(t);
	rad_progress_done();
	if (t->resumed && t->consumed < t->st.batches)
		rad_die(RAD_EXIT_DATA, NULL, "the input ended after %ld batches, but the checkpoint had read %ld",
		        t->consumed, t->st.batches);
	if (t->st.step == 0) {
		others_wait(t);
		rad_die(RAD_EXIT_DATA, NULL, "the input holds no batches: nothing was trained, no checkpoint written");
	}
	/* rank 0 alone sees the output directory */
	int final = !t->o.no_save && (t->rank || t->last_saved != t->st.step || !rad_checkpoint_exists(t->o.out_dir));
	if (t->ranks > 1) rad_dist_bcast(&final, sizeof final);
	if (final) save(t);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double rss = ru.ru_maxrss / 1024.0, rss_max = rss;
	if (t->ranks > 1) {   /* the largest of the ranks' peaks */
		double *all = rad_calloc(t->ranks, sizeof *all);
		all[t->rank] = rss;
		rad_dist_sum_f64(all, t->ranks);
		for (int k = 0; k < t->ranks; k++) rss_max = all[k] > rss_max ? all[k] : rss_max;
		free(all);
	}
	if (rad_verbose && t->rank == 0) {
		char ranks[80] = "";
		if (t->ranks > 1) snprintf(ranks, sizeof ranks, " (rank 0; the most of the %d ranks %.0f MiB)", t->ranks, rss_max);
		/* the moments a rank keeps: all of them, or its slice with --shard-optimizer */
		double moments = 2.0 * sizeof(float) * t->opt.n / (1 << 20);
		rad_warn(NULL, "%ld steps (%ld this run), %ld batches read, %ld skipped on resume; %zu trainable parameters "
		         "of %zu; checkpoint %s; AdamW moments %.4g MiB per rank; peak RSS %.0f MiB%s", t->st.step,
		         t->st.step - t->start_step, t->consumed, t->skipped, rad_model_trainable(t->m).n,
		         t->m->nparams + (t->m->lora ? t->m->lora->nparams : 0), t->o.no_save ? "not written" : t->o.out_dir,
		         moments, rss, ranks);
	}
	if (t->log) rad_sink_close(t->log);
	free(t->logp); free(t->dlogp); free(t->ntok); free(t->reward_c); free(t->reward_r);
	free(t->goals);
	rad_batch_part_free(&t->part);
	rad_rec_free(&t->rec);
	free(t->msg);
	free(t->slice);
	json_decref(t->st.options);
	free(t->st.base_dir);
	free(t->out);
	rad_adamw_free(&t->opt);
	rad_model_free(t->m);
	free(t);
}
