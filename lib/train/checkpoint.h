/* train/checkpoint.h — training checkpoints: an HF model directory plus what resuming needs.
 *
 *   DIR/config.json, DIR/model.safetensors     the model (loads in transformers), or with
 *   DIR/adapter_config.json,                   an adapter (nn/lora.h) the adapter alone, in
 *   DIR/adapter_model.safetensors              PEFT's layout (loads in PEFT)
 *   DIR/optimizer.safetensors                  AdamW moments exp_avg, exp_avg_sq of the
 *                                              trainable parameters (nn/model.h)
 *   DIR/trainer_state.json                     step, batches read and their fingerprint,
 *                                              RNG, reference model, the options that
 *                                              shape the trajectory; with an adapter, the
 *                                              base model's fingerprint and directory
 *   DIR/<tokenizer files>                      copied from the directory trained from
 *   DIR/.rad-checkpoint                        the mark: "rad-train-step checkpoint", then
 *                                              the names of the files the save wrote
 *
 * Saving is atomic: everything is written into DIR.tmp (the mark first, each file
 * fsync'd), then DIR.tmp and DIR are exchanged in one rename (renameat2 RENAME_EXCHANGE)
 * and the old copy is removed.  A process killed at any moment leaves DIR either the old
 * or the new checkpoint, complete.
 *
 * A user's files are never removed.  DIR is replaced only when it is absent, empty, or
 * marked as a checkpoint (a directory of regular files only).  Files in it that its mark
 * does not list (a metrics.jsonl a pipeline put there, notes) are carried into the new
 * checkpoint as hard links; a run that starts afresh from another model drops only the
 * files the previous saves wrote.  A stale DIR.tmp is removed only when it is marked,
 * and then only the files its mark lists (and their ".tmp" names) and links to files
 * that live on elsewhere. */
#ifndef RAD_CHECKPOINT_H
#define RAD_CHECKPOINT_H

#include <jansson.h>
#include <stdint.h>
#include "train/adamw.h"
#include "nn/model.h"
#include "base/rng.h"

typedef struct rad_train_state {
	long step;               /* optimizer updates done */
	long batches;            /* input batches consumed (all updates complete) */
	uint64_t input;          /* fingerprint of those batches (rad_batch_fingerprint, chained) */
	rad_rng rng;
	uint64_t ref_model;      /* fingerprint the reference log-probs must come from (0: none) */
	json_t *options;         /* the options that shape the trajectory (owned; NULL: not known) */
	uint64_t base_model;     /* with an adapter: the fingerprint of the frozen base */
	char *base_dir;          /* with an adapter: where the base is (owned; NULL: no adapter) */
} rad_train_state;

/* Writes the checkpoint (model or adapter in dtype RAD_ST_F32 / RAD_ST_BF16); copies
 * tokenizer and other small files from from_dir when it is not dir itself.  NULL or a
 * message. */
const char *rad_checkpoint_save(const char *dir, const rad_model *m, const rad_adamw *opt,
                                const rad_train_state *st, int dtype, const char *from_dir);
/* 1 when dir holds a marked checkpoint (its mark and trainer_state.json). */
int rad_checkpoint_exists(const char *dir);
/* Reads the optimizer moments (opt must be initialised for m's trainable parameters) and
 * the state. */
const char *rad_checkpoint_load_state(const char *dir, const rad_model *m, rad_adamw *opt, rad_train_state *st);
/* Copies the files of the model directory from_dir that are not weights or state
 * (tokenizer files, generation config) into dir, each under a temporary name renamed when
 * complete.  NULL or a message. */
const char *rad_checkpoint_copy_extras(const char *from_dir, const char *dir);
/* 1 when the checkpoint in dir holds an adapter rather than a model. */
int rad_checkpoint_has_adapter(const char *dir);
/* The base of an adapter checkpoint: its fingerprint and directory (*base_dir malloc'd);
 * NULL or a message. */
const char *rad_checkpoint_base(const char *dir, uint64_t *fp, char **base_dir);
/* NULL when a checkpoint may be saved as dir (absent, empty, or a marked checkpoint of
 * regular files), else why not, naming what is in the way. */
const char *rad_checkpoint_replaceable(const char *dir);
/* Removes dir.tmp, left by a killed save, when it is ours (see above); NULL when there is
 * none left, else why it stays. */
const char *rad_checkpoint_clear_tmp(const char *dir);

#endif
