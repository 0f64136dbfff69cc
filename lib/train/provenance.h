/* train/provenance.h — what a checkpoint was trained on, so that a resumed run can prove it
 * continues the same run: a fingerprint of the batches consumed, and the options that
 * shape the trajectory.
 *
 * The fingerprint chains every field of every batch (tokens, masks, positions, sequence
 * layout, pair ids, goals, scores, reference log-probs) in the order they were read: another
 * file, another shuffle or other reference log-probs give another fingerprint.  The
 * options are those whose change would make the resumed run differ from one that was
 * never interrupted: the loss and its parameters, the learning rate and its schedule
 * (warm-up and span as resolved), accumulation, clipping, AdamW's settings and the seed.
 * --max-steps is not among them (a run may be extended), nor is the thread count. */
#ifndef RAD_PROVENANCE_H
#define RAD_PROVENANCE_H

#include <jansson.h>
#include <stdint.h>
#include "stream/batch.h"
#include "train/trainer.h"

/* h chained with batch b (start from RAD_HASH_SEED). */
uint64_t rad_batch_fingerprint(uint64_t h, const rad_batch *b);
/* The trajectory options as a JSON object keyed by option name ("lr", "beta", ...), with
 * the warm-up and the schedule's span as resolved (total < 0: unknown). */
json_t *rad_train_trajectory(const rad_train_opts *o, long warmup, long total);
/* NULL when was and now agree, else a message naming each option that differs, now
 * against was ("--lr 0.002 (the checkpoint: 0.001)"). */
const char *rad_train_trajectory_diff(const json_t *was, const json_t *now);

#endif
