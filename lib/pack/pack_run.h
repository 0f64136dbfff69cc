/* pack/pack_run.h — a whole rad-pack run: pairs streams in, one batches stream and its
 * plan out (man 1 rad-pack).
 *
 * The batches stream's header says how many batches follow, so a run reads its input
 * twice: a pass that only counts (the plan), then the pass that writes, which must agree
 * with it.  Later epochs read the input again rather than hold it in memory; a full
 * shuffle holds it anyway and reads it once.  Standard input cannot be read twice: one
 * epoch of it streams in a single pass (the header's totals are then null), more epochs
 * copy it to a temporary file first. */
#ifndef RAD_PACK_RUN_H
#define RAD_PACK_RUN_H

#include <jansson.h>
#include <stdint.h>
#include "pack/pack.h"

typedef struct rad_pack_run_opts {
	rad_trunc_opts trunc;
	rad_packer_opts pack;
	int pad_multiple;       /* row width rounded up to a multiple of this */
	int epochs;
	uint64_t seed;          /* of the shuffle */
	const char *output;     /* the batches stream; "-" is standard output */
	int level, threads;     /* its zstd level and worker threads */
	int dry_run;            /* count only, write nothing */
} rad_pack_run_opts;

/* rad-pack's defaults. */
void rad_pack_run_opts_default(rad_pack_run_opts *o);

/* What a run read (counted on its first read of the input) and what it made (its last
 * pass over all epochs). */
typedef struct rad_pack_counts {
	long long read, cut_prompt, cut_completion, drop_long, drop_empty;
	long long batches, pairs, seqs, rows, cells, tokens, loss_tokens, dropped_last;
	long long *epoch_batches;   /* [epochs], owned */
} rad_pack_counts;

/* Packs the pairs streams inputs[n] ("-" is standard input: once at most, and alone when
 * there are several epochs without a full shuffle) into o->output and fills c.  Bad input
 * is fatal (exit 1), and so is input whose every pair is dropped (no batch), with the
 * reasons. */
void rad_pack_run(const rad_pack_run_opts *o, char *const *inputs, int ninputs, rad_pack_counts *c);
void rad_pack_counts_free(rad_pack_counts *c);
/* One line on stderr when pairs were dropped: how many of how many, and why. */
void rad_pack_report_drops(const rad_pack_run_opts *o, const rad_pack_counts *c);

/* The plan as --plan and --dry-run write it: the counts, the padding, per-epoch batches. */
json_t *rad_pack_plan_json(const rad_pack_run_opts *o, const rad_pack_counts *c);

#endif
