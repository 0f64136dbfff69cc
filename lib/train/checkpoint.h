/* train/checkpoint.h — training checkpoints: an HF model directory plus what resuming needs.
 *
 *   DIR/config.json, DIR/model.safetensors     the model (loads in transformers)
 *   DIR/optimizer.safetensors                  AdamW moments exp_avg, exp_avg_sq [nparams]
 *   DIR/trainer_state.json                     step, batches read, RNG, reference model
 *   DIR/<tokenizer files>                      copied from the directory trained from
 *
 * Saving is atomic: everything is written into DIR.tmp (each file fsync'd), then DIR.tmp
 * and DIR are exchanged in one rename (renameat2 RENAME_EXCHANGE) and the old copy is
 * removed.  A process killed at any moment leaves DIR either the old or the new
 * checkpoint, complete. */
#ifndef RAD_CHECKPOINT_H
#define RAD_CHECKPOINT_H

#include <stdint.h>
#include "train/adamw.h"
#include "nn/model.h"
#include "base/rng.h"

typedef struct rad_train_state {
	long step;               /* optimizer updates done */
	long batches;            /* input batches consumed (all updates complete) */
	rad_rng rng;
	uint64_t ref_model;      /* fingerprint the reference log-probs must come from (0: none) */
	char loss[16];           /* objective that wrote it */
} rad_train_state;

/* Writes the checkpoint (model in dtype RAD_ST_F32 / RAD_ST_BF16); copies tokenizer and
 * other small files from from_dir when not NULL.  NULL or a message. */
const char *rad_checkpoint_save(const char *dir, const rad_model *m, const rad_adamw *opt,
                                const rad_train_state *st, int dtype, const char *from_dir);
/* 1 when dir holds trainer_state.json. */
int rad_checkpoint_exists(const char *dir);
/* Reads the optimizer moments (opt must be initialised for m) and the state. */
const char *rad_checkpoint_load_state(const char *dir, const rad_model *m, rad_adamw *opt, rad_train_state *st);

#endif
