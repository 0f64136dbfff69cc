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

#include "train/trainer.h"
#include "base/cli.h"
#include "base/jsonl.h"
#include "base/keyed.h"
#include "nn/lora.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "train/adamw.h"
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
	double t0, c0;            /* wall and CPU clocks at its start */
	/* per-batch scratch, grown as needed */
	double *logp, *dlogp, *reward_c, *reward_r;
	int32_t *ntok;
	size_t cap_seq, cap_pair;
};

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

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
	if (o->lora.dropout >= 1) return "--lora-dropout must be below 1";
	if (!(o->lora.alpha > 0) || !isfinite(o->lora.alpha)) return "--lora-alpha must be a finite number above 0";
	if (o->adapter_dir && (o->lora.rank || o->lora.targets || o->lora.rslora))
		return "--adapter fixes the rank, targets and scaling: give no --lora-rank, --lora-targets or --lora-rslora with it";
	if (!o->lora.rank && !o->adapter_dir && (o->lora.targets || o->lora.rslora || o->lora.dropout >= 0))
		return "--lora-targets, --lora-dropout and --lora-rslora need --lora-rank (or --adapter)";
	return NULL;
}

static void save(rad_trainer *t)
{
	if (t->o.no_save) return;
	t->st.input = t->input;   /* the batches the checkpoint has consumed, st.batches of them */
	const char *e = rad_checkpoint_save(t->o.out_dir, t->m, &t->opt, &t->st, t->o.dtype, t->from_dir);
	if (e) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	t->last_saved = t->st.step;
	t->from_dir = t->o.out_dir;   /* the tokenizer files are in the output now */
}

/* Ends the process on a non-finite loss or gradient, saying where the last good model is. */
_Noreturn static void stop_bad(rad_trainer *t, const char *where, const char *what, double v)
{
	rad_warn(where, "step %ld: the %s is %g; stopping without applying it", t->st.step + 1, what, v);
	if (t->last_saved >= 0) rad_warn(NULL, "the last good checkpoint (step %ld) is in %s", t->last_saved, t->o.out_dir);
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
	if ((e = rad_model_load(&t->m, base))) rad_die(RAD_EXIT_DATA, NULL, "the adapter's base model: %s", e);
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
		if ((e = rad_model_load(&t->m, t->out))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		rad_adamw_init(&t->opt, t->m->nparams);
		if ((e = rad_checkpoint_load_state(t->out, t->m, &t->opt, &t->st))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		t->from_dir = t->out;
		t->last_saved = t->st.step;
	} else {
		if (!o->model_dir) rad_usage_error("--model DIR is required");
		if ((e = rad_model_load(&t->m, o->model_dir))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
		if (o->lora.rank || o->adapter_dir) start_adapter(t);
		rad_adamw_init(&t->opt, rad_model_trainable(t->m).n);
		rad_rng_seed(&t->st.rng, o->seed);
		if (o->ref_dir) {
			rad_model *r = NULL;
			if ((e = rad_model_load(&r, o->ref_dir))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
			t->st.ref_model = rad_model_fingerprint(r);
			rad_model_free(r);
		} else {
			t->st.ref_model = rad_model_fingerprint(t->m);
		}
		t->from_dir = o->model_dir;
	}
	t->log = rad_metrics_open(o->log, t->resumed ? t->st.step : 0);
	rad_model_set_threads(t->m, o->threads);
	t->m->recompute = o->recompute;
	rad_model_enable_grads(t->m);
	t->total = o->total_steps > 0 ? o->total_steps : o->max_steps;
	t->start_step = t->st.step;
	t->t0 = wall_now();
	t->c0 = cpu_now();
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

static void goal_add(rad_trainer *t, const char *g, int correct, double margin)
{
	int i;
	for (i = 0; i < t->ngoals; i++) if (!strcmp(t->goals[i].goal, g)) break;
	if (i == t->ngoals) {
		t->goals = rad_realloc(t->goals, sizeof *t->goals * (t->ngoals + 1));
		t->goals[t->ngoals++] = (goal_stat){rad_strdup(g), 0, 0, 0};
	}
	t->goals[i].pairs++;
	t->goals[i].correct += correct;
	t->goals[i].margins += margin;
}

static void dump_grads(rad_trainer *t)
{
	rad_trainable p = rad_model_trainable(t->m);
	rad_st_out *o = rad_calloc(p.ntensors, sizeof *o);
	for (int i = 0; i < p.ntensors; i++) {
		const rad_model_tensor *mt = &p.tensors[i];
		o[i] = (rad_st_out){mt->name, mt->ndim, {mt->shape[0], mt->shape[1]}, p.grads + mt->off, mt->rows, mt->cols,
		                    mt->transposed};
	}
	const char *e = rad_st_write(t->o.dump_grads, o, p.ntensors, RAD_ST_F32, NULL);
	free(o);
	if (e) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	t->dumped = 1;
}

/* The metrics line of the step just taken: TRL's names, then rad's own. */
static void write_metrics(rad_trainer *t, double grad_norm, double lr)
{
	const rad_loss_stats *s = &t->stats;
	double dt = wall_now() - t->t0;
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
	json_object_set_new(j, "cpu_s", json_real(cpu_now() - t->c0));
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

/* One optimizer step with what `micro` batches accumulated. */
static void update(rad_trainer *t)
{
	rad_trainable p = rad_model_trainable(t->m);
	if (t->micro < t->o.accum) {   /* a short last accumulation: weight it as a full one */
		float c = (float)t->o.accum / t->micro;
		for (size_t i = 0; i < p.n; i++) p.grads[i] *= c;
		t->stats.loss *= c;
	}
	t->st.batches = t->consumed;
	double gn = rad_grad_norm(p.grads, p.n);
	if (!isfinite(gn)) stop_bad(t, NULL, "gradient norm", gn);
	if (t->o.dump_grads && !t->dumped) dump_grads(t);
	double lr = rad_lr_at(t->o.schedule, t->o.lr, t->st.step, warmup_steps(t), t->total);
	rad_adamw_step(&t->opt, &p, lr, rad_grad_clip_scale(gn, t->o.clip));   /* zeroes the gradient */
	t->st.step++;
	write_metrics(t, gn, lr);
	for (int i = 0; i < t->ngoals; i++) free(t->goals[i].goal);
	t->ngoals = 0;
	memset(&t->stats, 0, sizeof t->stats);
	t->tokens = 0;
	t->micro = 0;
	if (t->o.save_every > 0 && t->st.step % t->o.save_every == 0) save(t);
	t->t0 = wall_now();
	t->c0 = cpu_now();
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
	const char *e;
	grow_scratch(t, b);
	rad_batch sv;
	const rad_batch *run = b;
	int sft = t->o.loss.kind == RAD_LOSS_SFT;
	if (sft) { chosen_view(b, &sv); run = &sv; }
	if (t->m->lora)   /* dropout masks keyed by seed and batch: a resumed run draws the same */
		rad_lora_set_key(t->m->lora, rad_keyed_u64("lora-dropout", t->o.seed, &t->consumed, sizeof t->consumed));
	if ((e = rad_model_forward(t->m, run, t->logp, t->ntok))) rad_die(RAD_EXIT_DATA, where, "%s", e);
	double before = t->stats.loss;
	if ((e = rad_loss_compute(&t->o.loss, run, t->logp, t->ntok, 1.0 / t->o.accum, t->dlogp, &t->stats,
	                          t->reward_c, t->reward_r)))
		rad_die(RAD_EXIT_DATA, where, "%s", e);
	if (!isfinite(t->stats.loss - before)) stop_bad(t, where, "loss", t->stats.loss - before);
	if (!sft)
		for (int p = 0; p < b->npair; p++)
			goal_add(t, b->goal[p] ? b->goal[p] : "", t->reward_c[p] > t->reward_r[p], t->reward_c[p] - t->reward_r[p]);
	rad_model_backward(t->m, run, t->dlogp);
	for (int s = 0; s < run->nseq; s++) t->tokens += run->seq_len[s];
	if (sft) free_view(&sv);
	t->consumed++;
	if (++t->micro == t->o.accum) update(t);
}

void rad_trainer_finish(rad_trainer *t)
{
	if (t->micro > 0) update(t);
	rad_progress_done();
	if (t->resumed && t->consumed < t->st.batches)
		rad_die(RAD_EXIT_DATA, NULL, "the input ended after %ld batches, but the checkpoint had read %ld",
		        t->consumed, t->st.batches);
	if (t->st.step == 0)
		rad_die(RAD_EXIT_DATA, NULL, "the input holds no batches: nothing was trained, no checkpoint written");
	if (!t->o.no_save && (t->last_saved != t->st.step || !rad_checkpoint_exists(t->o.out_dir))) save(t);
	if (rad_verbose) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		rad_warn(NULL, "%ld steps (%ld this run), %ld batches read, %ld skipped on resume; %zu trainable parameters "
		         "of %zu; checkpoint %s; peak RSS %.0f MiB", t->st.step, t->st.step - t->start_step, t->consumed,
		         t->skipped, rad_model_trainable(t->m).n, t->m->nparams + (t->m->lora ? t->m->lora->nparams : 0),
		         t->o.no_save ? "not written" : t->o.out_dir, ru.ru_maxrss / 1024.0);
	}
	rad_sink_close(t->log);
	free(t->logp); free(t->dlogp); free(t->ntok); free(t->reward_c); free(t->reward_r);
	free(t->goals);
	json_decref(t->st.options);
	free(t->st.base_dir);
	free(t->out);
	rad_adamw_free(&t->opt);
	rad_model_free(t->m);
	free(t);
}
