/* prefs/samples.h — preference pairs from one prompt's scored responses: the K responses
 * of rad-eval generate --samples K scored by rad-eval reward or judge (one response per
 * line, or grouped in "responses"), or raw UltraFeedback's completions (formats.h).
 *
 * A pair rule (rad-score-normalize --pairs) picks among the scored responses:
 *   best-worst   the best against the worst: one pair (the on-policy recipe of SimPO and
 *                of the paper's on-policy runs)
 *   best-random  the best against one of the others, drawn uniformly by a hash of the id
 *                and the seed: one pair (UltraFeedback's binarization, the same draw as
 *                the ultrafeedback format makes)
 *   all          every two responses whose scores differ, the higher one chosen: up to
 *                K(K-1)/2 pairs, in the order of their first and then second response
 * The best is the first response with the highest score, the worst the first with the
 * lowest.  A pair whose two scores are equal is a tie, one whose gap is below min_gap a
 * small gap: neither is made, both are counted.
 *
 * The responses of a sample record are "response" (text) with their scores at the named
 * fields: a field is a dotted path in the response's object, else in its "scores" object
 * (rad-eval reward's named labels); the first field is the score pairs are picked by
 * (score_chosen, score_rejected), and with several fields each one is also a rating
 * (ratings_chosen, ratings_rejected, named by the path's last part) for rad-relabel's
 * multi-attribute goals.  A response missing a field is left out, counted. */
#ifndef RAD_PREFS_SAMPLES_H
#define RAD_PREFS_SAMPLES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Score fields a sample record's responses may name at most. */
#define RAD_SAMPLE_FIELDS 16

enum rad_pair_rule { RAD_RULE_NONE, RAD_RULE_BEST_WORST, RAD_RULE_BEST_RANDOM, RAD_RULE_ALL };

/* The rule of a name ("best-worst", "best-random", "all"), -1 if unknown; and its name. */
int rad_pair_rule_parse(const char *name);
const char *rad_pair_rule_name(int rule);

typedef struct rad_pick { size_t chosen, rejected; } rad_pick;
typedef struct rad_pick_counts { long long ties, small_gaps; } rad_pick_counts;

/* The pairs rule picks among score[n] (out has room for n(n-1)/2), returning how many;
 * ties and gaps below min_gap are counted in c.  id (idlen bytes) and seed key the
 * best-random draw. */
size_t rad_pairs_pick(int rule, const double *score, size_t n, double min_gap, uint64_t seed, const char *id,
                      size_t idlen, rad_pick *out, rad_pick_counts *c);
/* best-random's draw: an index of [0, n) other than best (n >= 2). */
size_t rad_pick_other(size_t best, size_t n, uint64_t seed, const char *id, size_t idlen);

/* One prompt's responses. */
typedef struct rad_response {
	json_t *text;            /* string */
	double score;            /* the score pairs are picked by */
	json_t *ratings;         /* {name: number} or NULL */
	json_t *extra;           /* {key: value}: each pair's source gets KEY_chosen and KEY_rejected */
} rad_response;

typedef struct rad_response_set {
	json_t *id, *prompt;     /* a string; the canonical message list (formats.h) */
	json_t *source;          /* the source object of its pairs ({"format", ...}) */
	const char *count_key;   /* the source key that counts the responses */
	rad_response *r;
	size_t n, cap;
	long long unscored;      /* responses left out: a score field missing or not a number */
	long long records;       /* sample records read into it */
	long long expect;        /* their number by the records' "samples" (0: not said) */
	char where[320];         /* where its first record was read, for messages */
} rad_response_set;

/* A new response at the end of s (zeroed). */
rad_response *rad_response_set_add(rad_response_set *s);
/* Empties s for the next prompt (its memory kept). */
void rad_response_set_clear(rad_response_set *s);
void rad_response_set_free(rad_response_set *s);
/* The canonical pair (formats.h) of responses i (chosen) and j (rejected); its id is the
 * set's, with suffix appended when not NULL. */
json_t *rad_response_set_pair(const rad_response_set *s, size_t i, size_t j, const char *suffix);

/* Reads the responses of one sample record into s: its "response", or each entry of its
 * "responses".  The first record gives s its id and prompt; a later one must have the
 * same id (callers start a new set when the id changes).  fields[nfields] are the score
 * fields (NULL, 0: "score").  NULL, or why the record is not a sample record. */
const char *rad_samples_add(rad_response_set *s, const json_t *rec, char *const *fields, int nfields, char *why,
                            size_t whysz);
/* 1 when rec is a sample record: an "id" and a "response" or "responses", no chosen. */
int rad_samples_is(const json_t *rec);
/* The id of a sample record (NULL when it has none), for grouping consecutive lines. */
const char *rad_samples_id(const json_t *rec, size_t *len);

#endif
