/* train/batch_part.h — one rank's part of a training batch (data-parallel training,
 * train/trainer.h).
 *
 * Every rank holds the whole batch and computes the sequences of some of its pairs.  The
 * pairs go to the ranks in order, in runs of about equal tokens: a pair goes to the rank
 * in whose R-th of the batch's tokens the middle of the pair's tokens falls.  So a pair is
 * never split, the parts together are the batch, and who computes what depends on the
 * batch and R alone.
 *
 * Rows are no unit of work here: the model runs a batch as one flat list of its
 * sequences, padding left out, attention never crossing from one sequence to another
 * (nn/model.h), so the sequences of a padding-free row give the same log-probs wherever
 * they are computed.  Every rank's copy of the batch keeps its rows whole; the part is a
 * view that names the sequences it computes. */
#ifndef RAD_BATCH_PART_H
#define RAD_BATCH_PART_H

#include <stddef.h>
#include <stdint.h>
#include "stream/batch.h"

typedef struct rad_batch_part {
	rad_batch b;              /* the view: the whole batch's token arrays, its own per-sequence
	                             and per-pair arrays, pairs numbered 0.. in the part */
	int32_t *pair;            /* [b.npair] each pair's index in the whole batch */
	double *ref_logp;         /* what b.ref_logp, b.ref_ntok point to when the batch has them */
	int32_t *ref_ntok;
	size_t cap_seq, cap_pair;
} rad_batch_part;

/* Makes p the part of b that rank `rank` of `ranks` computes; with chosen_only, of those
 * sequences only the chosen ones (SFT trains on them alone; tokens are then counted over
 * the chosen sequences).  The view points into b, which must outlive its use. */
void rad_batch_part_take(rad_batch_part *p, const rad_batch *b, int rank, int ranks, int chosen_only);
void rad_batch_part_free(rad_batch_part *p);

/* The completion tokens (loss_mask 1) of b's chosen sequences. */
long rad_batch_chosen_tokens(const rad_batch *b);

#endif
