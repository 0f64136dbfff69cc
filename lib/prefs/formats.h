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
 * Scores are copied raw here; scaling is the caller's (scores.h). */
#ifndef RAD_PREFS_FORMATS_H
#define RAD_PREFS_FORMATS_H

#include <jansson.h>
#include <stdint.h>

enum rad_prefs_format {
	RAD_FMT_AUTO, RAD_FMT_H4, RAD_FMT_TRL, RAD_FMT_UF, RAD_FMT_HH, RAD_FMT_SHAREGPT,
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

/* The value at a dotted path ("metadata.score_chosen", "completions.0.response"): object
 * keys, or decimal array indexes; NULL when absent. */
json_t *rad_json_path(const json_t *v, const char *path);

/* A score value as a double: a JSON number, or a string holding a whole decimal number
 * ("4", "7.5"); returns 0 otherwise (null, "N/A", other types). */
int rad_json_score(const json_t *v, double *out);

#endif
