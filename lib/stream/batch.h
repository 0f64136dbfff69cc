/* stream/batch.h — a training batch: the BTCH record of a "batches" stream.
 *
 * A batch is R rows of T token positions.  A row holds one sequence padded to T, or
 * several packed sequences (padding-free packing).  Sequence s of the batch occupies row
 * seq_row[s], columns [seq_start[s], seq_start[s] + seq_len[s]); positions there count
 * 0,1,2,... from the sequence start and segment[] holds s, so attention never crosses
 * sequences.  Padding has segment -1, token 0, target -1, mask 0.
 *
 * A sequence is a prompt followed by one completion (the chosen or the rejected one of a
 * pair).  At column t, targets[t] is the token at t+1 of the same sequence (-1 at the
 * sequence's last column), and loss_mask[t] is 1 exactly when targets[t] is a completion
 * token: the log-prob of sequence s is the sum over its columns with mask 1 of
 * log p(targets[t] | tokens up to t).  The two sequences of a pair are always in the same
 * batch; seq_pair[s] is the pair's index in the batch, seq_chosen[s] 1 for chosen.
 *
 * Fields (man 5 rad-stream):
 *   rows, cols            INT
 *   tokens, targets       I32[R*T]
 *   loss_mask             U8[R*T]
 *   segment, position     I32[R*T]
 *   seq_row, seq_start, seq_len, seq_pair   I32[S]
 *   seq_chosen            U8[S]
 *   pair_id, goal         STRS[P]
 *   score_chosen, score_rejected            F64[P]
 *   ref_logp              F64[S]   summed completion log-prob under the reference model
 *                                  (present once rad-logps has run)
 *   ref_ntok              I32[S]   completion tokens counted in ref_logp
 *   epoch, batch          INT      (rad-pack) the epoch and the batch's index in the stream */
#ifndef RAD_BATCH_H
#define RAD_BATCH_H

#include <stdint.h>
#include "stream/record.h"

typedef struct rad_batch {
	int rows, cols;            /* R, T */
	int nseq, npair;           /* S, P */
	int32_t *tokens, *targets, *segment, *position;   /* [R*T] */
	uint8_t *loss_mask;                               /* [R*T] */
	int32_t *seq_row, *seq_start, *seq_len, *seq_pair; /* [S] */
	uint8_t *seq_chosen;                              /* [S] */
	char **pair_id, **goal;                           /* [P], owned copies */
	double *score_chosen, *score_rejected;            /* [P] */
	double *ref_logp;          /* [S] or NULL */
	int32_t *ref_ntok;         /* [S] or NULL */
} rad_batch;

/* All arrays owned by the batch (malloc'd); rad_batch_free releases them. */
void rad_batch_alloc(rad_batch *b, int rows, int cols, int nseq, int npair);
void rad_batch_free(rad_batch *b);
void rad_batch_to_rec(const rad_batch *b, rad_rec *r);
/* Copies a BTCH record into b (b is freed and reallocated).  Checks every shape and
 * index (rows*cols matches, seq ranges inside rows, seq_pair < P, segment ids < S);
 * returns NULL or a message saying what is inconsistent. */
const char *rad_batch_from_rec(const rad_rec *r, rad_batch *b);

#endif
