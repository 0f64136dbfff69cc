/* prefs/formats.h — preference records of the common public shapes into canonical scored
 * pairs (the data contract rad-score-normalize writes):
 *
 *   {"id": str, "prompt": [{"role", "content"}...] ending with a user turn,
 *    "chosen": str, "rejected": str, "score_chosen": num|null, "score_rejected": num|null,
 *    "ratings_chosen": {attr: num}?, "ratings_rejected": {attr: num}?,
 *    "source": {"format": str, ...}}
 *
 * Formats (names as --format takes them):
 *   ultrafeedback_binarized  HuggingFaceH4: chosen/rejected message lists that include the
 *                            prompt turns, prompt_id, score_chosen/score_rejected
 *   trl                      TRL preference data, explicit ("prompt") or implicit prompt,
 *                            strings or message lists
 *   ultrafeedback            raw openbmb/UltraFeedback: instruction + completions[], built
 *                            into one pair the paper's way
 *   hh-rlhf                  Anthropic transcripts "\n\nHuman: ...\n\nAssistant: ..."
 *   sharegpt                 LLaMA-Factory ranking data: conversations [{from, value}],
 *                            chosen/rejected {from, value}
 *   samples                  scored responses (rad-eval generate --samples, then reward
 *                            or judge): no pair by itself; a pair rule picks pairs from
 *                            a prompt's responses (samples.h)
 * Scores are copied raw here; scaling is the caller's (scores.h). */
#ifndef RAD_PREFS_FORMATS_H
#define RAD_PREFS_FORMATS_H

#include <jansson.h>
#include <stdint.h>
#include "prefs/samples.h"

enum rad_prefs_format {
	RAD_FMT_AUTO, RAD_FMT_H4, RAD_FMT_TRL, RAD_FMT_UF, RAD_FMT_HH, RAD_FMT_SHAREGPT, RAD_FMT_SAMPLES,
	RAD_FMT_COUNT
};

/* The format's name, and the format of a name (aliases: "h4"); -1 if unknown. */
const char *rad_prefs_format_name(int format);
int rad_prefs_format_parse(const char *name);

typedef struct rad_prefs_opts {
	int format;                   /* RAD_FMT_AUTO: detected per record */
	const char *score_path[2];    /* dotted paths of the chosen/rejected score; NULL: defaults */
	const char *id_path;          /* dotted path of the id; NULL: defaults */
	uint64_t seed;                /* raw UltraFeedback: which other completion is rejected */
	int keep_truthful_qa;         /* raw UltraFeedback: the paper drops source "truthful_qa" */
} rad_prefs_opts;

enum rad_prefs_status {
	RAD_PREFS_OK,        /* *out is the canonical pair */
	RAD_PREFS_DROP,      /* dropped by the construction's rules; info->drop_reason says why */
	RAD_PREFS_INVALID,   /* malformed; the message is in why */
};

typedef struct rad_prefs_info {
	int format;                   /* the format used */
	int scores_missing;           /* scores were expected but absent or not numbers (they are null) */
	const char *drop_reason;      /* static text, for RAD_PREFS_DROP */
	int completions_unrated;      /* raw UltraFeedback: completions left out (an "N/A" or no score) */
} rad_prefs_info;

/* Detects the format of one record; -1 when it matches none (why says what is missing). */
int rad_prefs_detect(const json_t *in, char *why, size_t whysz);

/* Converts one input record.  *out (new reference) only for RAD_PREFS_OK. */
int rad_prefs_convert(const json_t *in, const rad_prefs_opts *o, json_t **out,
	rad_prefs_info *info, char *why, size_t whysz);

/* Raw UltraFeedback's fully rated completions as a response set (samples.h): each with
 * its overall_score, its four ratings and, in the pairs' source, its model and the mean
 * of its ratings; the set's id and prompt as the ultrafeedback format makes them.  The
 * paper's drops (truthful_qa, fewer than two rated) are RAD_PREFS_DROP. */
int rad_prefs_uf_set(const json_t *in, const rad_prefs_opts *o, rad_response_set *s, rad_prefs_info *info,
                     char *why, size_t whysz);

/* A record's "prompt" (one string: one user turn; or a message list ending with a user
 * turn) as the canonical message list in *out.  RAD_PREFS_OK or RAD_PREFS_INVALID. */
int rad_prefs_prompt(const json_t *p, json_t **out, char *why, size_t whysz);

/* The canonical pair object of its parts (every argument a reference it takes; the
 * ratings may be NULL, and are written only when both are given). */
json_t *rad_prefs_pair_object(json_t *id, json_t *prompt, json_t *chosen, json_t *rejected, json_t *sc, json_t *sr,
                              json_t *rc, json_t *rr, json_t *source);

/* The value at a dotted path ("metadata.score_chosen", "completions.0.response"): object
 * keys, or decimal array indexes; NULL when absent. */
json_t *rad_json_path(const json_t *v, const char *path);

/* A score value as a double: a JSON number, or a string holding a whole decimal number
 * ("4", "7.5"); returns 0 otherwise (null, "N/A", other types). */
int rad_json_score(const json_t *v, double *out);

#endif
