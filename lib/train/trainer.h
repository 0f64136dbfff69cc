/* train/trainer.h — the training loop: batches in, optimizer steps, metrics and
 * checkpoints out (man 1 rad-train-step).
 *
 * The caller opens a trainer (from a model directory, or from the checkpoint in the output
 * directory when resuming), shows it the header of each input stream, feeds it every batch
 * in order and finishes it.  The trainer skips the batches a resumed checkpoint had already
 * consumed, takes an optimizer step every `accum` batches, writes one JSON line of metrics
 * per step (TRL's names) and saves checkpoints.  A non-finite loss or gradient ends the
 * process with exit 1, leaving the last good checkpoint in place.
 *
 * The output directory is replaced only when it is absent, empty or a checkpoint this
 * tool wrote (train/checkpoint.h), and one trainer at a time writes it (train/lock.h).
 * A resumed run proves it continues the same run (train/provenance.h): the batches it
 * passes over must have the fingerprint the checkpoint recorded, and the options that
 * shape the trajectory must be the checkpoint's; otherwise it stops before any step. */
#ifndef RAD_TRAINER_H
#define RAD_TRAINER_H

#include "base/io.h"
#include "nn/lora.h"
#include "stream/batch.h"
#include "stream/stream.h"
#include "train/loss.h"

typedef struct rad_train_opts {
	const char *model_dir;    /* the starting checkpoint (unused when resuming) */
	const char *out_dir;      /* where checkpoints go (NULL only with no_save) */
	const char *log;          /* the metrics lines' file ("-" or NULL: standard output) */
	const char *ref_dir;      /* the model the reference log-probs must come from (NULL: the start) */
	const char *dump_grads;   /* the first step's gradient as safetensors, or NULL */
	int resume, no_save, no_ref_check;
	int shard_optimizer;      /* under mpirun: each rank keeps the AdamW moments of 1/R of the weights */
	int dtype;                /* RAD_ST_F32 or RAD_ST_BF16 on disk */
	int threads;              /* 0: all cores */
	int compute;              /* enum rad_compute: fp32 or bf16 products */
	int recompute;            /* recompute each layer in the backward instead of keeping it */
	int accum;                /* batches per optimizer step */
	int schedule;             /* enum rad_schedule */
	long warmup_steps;        /* -1: unset */
	double warmup_ratio;      /* -1: unset */
	long total_steps;         /* steps the schedule spans; -1: from max_steps or the input */
	long max_steps;           /* -1: to the end of the input */
	long save_every;          /* 0: only at the end */
	double lr, clip;
	double adam_beta1, adam_beta2, adam_eps, weight_decay;
	unsigned long long seed;
	rad_loss_opts loss;
	/* LoRA (nn/lora.h): a rank above 0, or an adapter to start from, trains an adapter on
	 * the frozen base; the reference is then the base (the adapter off) */
	rad_lora_opts lora;       /* dropout < 0: not given (an adapter's own, else 0) */
	const char *adapter_dir;  /* start from this PEFT adapter: rank, alpha, targets are its own */
	int base_dtype;           /* RAD_ST_F32, or RAD_ST_BF16: the frozen base's matrices held in
	                             bf16 (an adapter only; nn/model.h rad_model_load_as) */
} rad_train_opts;

/* rad-train-step's defaults. */
void rad_train_opts_default(rad_train_opts *o);
/* NULL when the options make sense together, else a message for a usage error. */
const char *rad_train_opts_check(const rad_train_opts *o);

typedef struct rad_trainer rad_trainer;

/* Claims the output directory (exit 1 when it holds what is not a checkpoint of this tool,
 * or another trainer holds it), loads the model (or resumes) and prepares the optimizer
 * and the metrics file (train/metrics_log.h).  Dies with a message on a bad model or
 * checkpoint. */
rad_trainer *rad_trainer_open(const rad_train_opts *o);
/* Shown each input stream once, before its batches: the number of steps a schedule spans
 * may come from the first stream's header (rad-pack counts its batches) when it is the
 * only input, and the reference log-probs must come from the reference model.  At the
 * first, a resumed run's options are compared with the checkpoint's (exit 2, naming each
 * that differs). */
void rad_trainer_begin_input(rad_trainer *t, const rad_reader *rd, int index, int ninputs);
/* 1 once --max-steps is reached (and a resumed run has seen the batches it passes over):
 * the caller may stop reading. */
int rad_trainer_done(const rad_trainer *t);
/* One batch: passed over when a resumed checkpoint had already consumed it (the last of
 * those checks the fingerprint: exit 1 on another input), else forward, loss and
 * backward, and an optimizer step when `accum` batches are in.  where names the batch in
 * messages. */
void rad_trainer_feed(rad_trainer *t, const rad_batch *b, const char *where);
/* Steps on a short last accumulation, saves the final checkpoint, checks that a resumed
 * run found all the batches it had consumed and that a run took a step at all (exit 1 on
 * an input without batches), prints the --verbose summary, closes the metrics, frees. */
void rad_trainer_finish(rad_trainer *t);

#endif
