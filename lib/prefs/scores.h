/* prefs/scores.h — judge scores: the paper's printed form, mapping to a target scale, rounding,
 * and a histogram for summaries.
 *
 * Scales map a raw score s to the target range [lo, hi]:
 *   none    s unchanged
 *   linear  lo + (s - from_lo) / (from_hi - from_lo) * (hi - lo)
 *   rank    lo + q * (hi - lo), q = the mid-rank quantile of s among all scores seen in a
 *           first pass (ties share their mean rank; one distinct value maps to the middle)
 *   minmax  linear from the lowest and highest score seen in a first pass (all of them
 *           the same: the middle)
 * then, with a rounding step > 0, to the nearest multiple of the step (printed without
 * binary noise: 0.1-steps give 7.3, not 7.300000000000001).  Raw scores are expected in
 * a source range: from_lo..from_hi for linear, the target range itself for none (the
 * scores are kept); rank and minmax take any.  Within it the mapping cannot overflow, whatever the
 * ranges (-1e308:1e308 included). */
#ifndef RAD_SCORES_H
#define RAD_SCORES_H

#include <stddef.h>

/* The paper's score text: whole numbers without a fraction (8.0 -> "8"), others as the
 * shortest decimal that reads back as the same double (7.5 -> "7.5", 0.1 -> "0.1").
 * Returns the length written (out has room for 40 bytes). */
int rad_score_text(char out[40], double v);

enum rad_scale_mode { RAD_SCALE_NONE, RAD_SCALE_LINEAR, RAD_SCALE_RANK, RAD_SCALE_MINMAX };

typedef struct rad_scale {
	int mode;              /* enum rad_scale_mode */
	double lo, hi;         /* target range (default 1:10) */
	double from_lo, from_hi;   /* source range for linear */
	double step;           /* rounding step, 0 = none */
	int step_decimals;     /* digits after the point in step, for exact printing; -1: none do */
	double *sorted;        /* rank: every score of the first pass, sorted */
	size_t n, cap;
	double seen_lo, seen_hi;   /* minmax: the first pass's lowest and highest (n counts them) */
} rad_scale;

void rad_scale_init(rad_scale *s);
void rad_scale_free(rad_scale *s);
/* "LO:HI" into two numbers, lo < hi; returns 0 when malformed. */
int rad_parse_range(const char *text, double *lo, double *hi);
/* Sets the rounding step (0 = none); returns 0 when step < 0 or not finite. */
int rad_scale_set_step(rad_scale *s, double step);
/* Rank and minmax: one score of the first pass; then rad_scale_rank_ready once all are in. */
void rad_scale_rank_add(rad_scale *s, double v);
void rad_scale_rank_ready(rad_scale *s);
/* 1 when v lies in the source range of the scale (always, for rank and minmax). */
int rad_scale_accepts(const rad_scale *s, double v);
/* The source range as text ("--from 0:1", "--scale 1:10"), for messages. */
const char *rad_scale_source_text(const rad_scale *s, char out[96]);
/* v moved into the source range (the nearest end). */
double rad_scale_clamp(const rad_scale *s, double v);
/* The mapped (and rounded) score.  Not finite only for a v outside the source range. */
double rad_scale_apply(const rad_scale *s, double v);
/* v rounded to the nearest multiple of step, printed with `decimals` digits and read
 * back, so the result is the double nearest the decimal (decimals < 0: not printed).  A v
 * so large that the step is below its precision is returned as it is. */
double rad_round_step(double v, double step, int decimals);

/* A histogram of scores: each distinct value while there are at most RAD_HIST_DISTINCT
 * of them, otherwise RAD_HIST_BINS equal bins over [lo, hi] (values outside count in the
 * end bins). */
#define RAD_HIST_DISTINCT 24
#define RAD_HIST_BINS 10
typedef struct rad_hist {
	double lo, hi;
	double values[RAD_HIST_DISTINCT];
	long long value_counts[RAD_HIST_DISTINCT];
	int ndistinct, overflow;   /* overflow: more distinct values than fit */
	long long bins[RAD_HIST_BINS];
	long long n, nulls;
	double min, max, sum;
} rad_hist;

void rad_hist_init(rad_hist *h, double lo, double hi);
void rad_hist_add(rad_hist *h, double v);
void rad_hist_add_null(rad_hist *h);
/* Writes a few human-readable lines ("  score 8: 123") to f, each starting with prefix. */
#include <stdio.h>
void rad_hist_print(const rad_hist *h, FILE *f, const char *prefix);

#endif
