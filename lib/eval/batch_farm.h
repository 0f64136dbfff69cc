/* eval/batch_farm.h — a stream of batches scored by the ranks of an mpirun job in turn
 * (base/farm.h), the scored batches coming back to rank 0 in input order: how rad-logps
 * and rad-eval's prefs and likelihood run under mpirun.  In a single process it is a loop
 * over the batches.
 *
 * Rank 0 reads every input and checks every batch (a malformed one stops the run, named
 * by file and record); the rank whose turn it is runs `score`, which makes a record from
 * the batch (the batch with log-probs added); rank 0 gets each such record in input
 * order through `put`, and every record that is not a batch through `other`, in its place
 * among them. */
#ifndef RAD_BATCH_FARM_H
#define RAD_BATCH_FARM_H

#include "stream/batch.h"
#include "stream/record.h"
#include "stream/stream.h"

typedef struct rad_batch_job {
	/* any rank: the record `out` (reset it first) made from batch b, read as record `in`
	 * at `where` (file: record N, for messages) */
	void (*score)(void *ctx, const rad_rec *in, const rad_batch *b, const char *where, rad_rec *out);
	/* rank 0, in input order: what score made of the batch read at where */
	void (*put)(void *ctx, const rad_rec *out, const char *where);
	/* rank 0, in input order: a record that is not a batch; NULL passes them over */
	void (*other)(void *ctx, const rad_rec *r);
	/* rank 0: each input once opened, before its records; may be NULL */
	void (*begin)(void *ctx, const rad_reader *rd, int index);
	void *ctx;
} rad_batch_job;

/* Runs job over the inputs ("-" = standard input, read by rank 0).  Returns the number of
 * batches (on every rank). */
long long rad_batch_farm_run(const rad_batch_job *job, char **inputs, int ninputs);

#endif
