/* prefs/normalize.h — one preference record of any public shape to a canonical scored pair
 * (formats.h) on the target scale (scores.h), under the policies for missing, tied and
 * inverted scores, with counts of what became of every record (man 1 rad-score-normalize);
 * and the pairs a rule picks from a prompt's scored responses (samples.h): sample records
 * (one response per line, a prompt's lines together, or grouped) and, with a rule named,
 * raw UltraFeedback records.
 *
 * Use: rad_normalize_init, then set the fields; for the rank and minmax scales, a first
 * pass of rad_normalize_feed with first_pass set over every record and rad_normalize_end;
 * rad_normalize_ready; rad_normalize_feed for each record and rad_normalize_end;
 * rad_normalize_summary; rad_normalize_free.  (rad_normalize_record converts one pair
 * record alone.) */
#ifndef RAD_NORMALIZE_H
#define RAD_NORMALIZE_H

#include <jansson.h>
#include "prefs/formats.h"
#include "prefs/scores.h"

enum rad_missing_policy { RAD_MISSING_DROP, RAD_MISSING_ERROR, RAD_MISSING_NULL };
/* A score outside the scale's source range (rad_scale_accepts): an error naming the way to
 * map it, the pair dropped, or the score moved to the range's nearest end. */
enum rad_range_policy { RAD_RANGE_ERROR, RAD_RANGE_DROP, RAD_RANGE_CLAMP };
/* score_chosen == score_rejected (keep or drop) and score_chosen < score_rejected. */
enum rad_order_policy { RAD_ORDER_KEEP, RAD_ORDER_DROP, RAD_ORDER_SWAP };

/* The construction's own drops (formats.h) are counted by reason, up to this many reasons. */
#define RAD_NORMALIZE_REASONS 4

typedef struct rad_normalize_counts {
	long long in, out, invalid;
	long long missing, tie_drop, inv_drop, range_drop;   /* dropped by the policies */
	long long clamped;                       /* scores moved into the source range */
	long long ties, inverted, inv_swap;      /* seen, whatever the policy; swapped */
	long long unrated;                       /* raw UltraFeedback completions left out */
	const char *drop_reasons[RAD_NORMALIZE_REASONS];
	long long dropped_by[RAD_NORMALIZE_REASONS];
	long long formats[RAD_FMT_COUNT];        /* pairs out, by the format they came in */
	/* pairs picked from scored responses: prompts read, prompts with fewer than two scored
	 * responses, responses without a score, and pairs not made (ties, gaps < min_gap) */
	long long prompts, singles, unscored, pick_ties, small_gaps;
} rad_normalize_counts;

typedef struct rad_normalize {
	rad_prefs_opts prefs;
	rad_scale scale;
	int missing;             /* enum rad_missing_policy */
	int out_of_range;        /* enum rad_range_policy */
	int ties, inverted;      /* enum rad_order_policy */
	int rule;                /* enum rad_pair_rule; NONE: raw UltraFeedback the paper's way, samples best-worst */
	double min_gap;          /* a picked pair's raw scores differ by at least this (and by more than 0) */
	char *const *fields;     /* score fields of sample records (samples.h); NULL: "score" */
	int nfields;             /* pair records take 2 (CHOSEN,REJECTED) */
	int first_pass;          /* feed only gathers the scales' first pass (rank, minmax) */
	rad_normalize_counts counts;
	rad_hist hist;           /* the scores written, on the target scale */
	/* state */
	rad_scale field_scale[RAD_SAMPLE_FIELDS];   /* the rating of each field, scaled as the score is */
	rad_response_set set;    /* the prompt whose sample lines are being read */
	rad_pick *picks;
	size_t pick_cap;
} rad_normalize;

void rad_normalize_init(rad_normalize *n);
void rad_normalize_free(rad_normalize *n);

/* The rank and minmax scales' first pass: the scores of one pair record.  A record that
 * does not convert adds none; what is wrong with it is reported in the second pass. */
void rad_normalize_rank_add(rad_normalize *n, const json_t *in);
/* Once the fields are set (and the first pass is over): the scales' quantiles or ends,
 * the histogram's range; the counts start from zero. */
void rad_normalize_ready(rad_normalize *n);

enum { RAD_NORMALIZE_PAIR,      /* *out (a new reference) is the pair to write */
       RAD_NORMALIZE_DROP,      /* dropped and counted */
       RAD_NORMALIZE_INVALID,   /* malformed (counted as invalid); why says how */
       RAD_NORMALIZE_ERROR };   /* a score is missing or off the scale and the policy is error;
                                   why says so */
/* One input record, counted. */
int rad_normalize_record(rad_normalize *n, const json_t *in, json_t **out, char *why, size_t whysz);

/* Pairs made go to emit (a new reference each, taken). */
typedef void (*rad_pair_emit)(void *ctx, json_t *pair);
/* One input record (borrowed), read at `where`.  A pair record's pair goes to emit at
 * once; a sample record joins its prompt's responses, whose pairs go out when the next
 * record is of another prompt or at rad_normalize_end.  Returns RAD_NORMALIZE_PAIR or
 * RAD_NORMALIZE_DROP (nothing wrong), RAD_NORMALIZE_INVALID (this record; counted) or
 * RAD_NORMALIZE_ERROR, with why. */
int rad_normalize_feed(rad_normalize *n, const json_t *in, const char *where, rad_pair_emit emit, void *ctx,
                       char *why, size_t whysz);
/* The end of the input: the last prompt's pairs. */
int rad_normalize_end(rad_normalize *n, rad_pair_emit emit, void *ctx, char *why, size_t whysz);

/* On stderr: with --verbose the counts, the reasons and the histogram; otherwise one line
 * when records were dropped or skipped or scores clamped. */
void rad_normalize_summary(const rad_normalize *n);

#endif
