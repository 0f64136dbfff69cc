/* eval/reward.h — scoring responses with a reward model (man 1 rad-eval, reward).
 *
 * The model is a sequence classifier (HF ...ForSequenceClassification: the decoder and a
 * score head of num_labels rows, nn/model.h).  Input: rad-eval generate's JSON Lines, one
 * response per line ({id, prompt, response, ...}) or a prompt's responses grouped
 * ({id, prompt, responses: [{response, ...}, ...]}).  Each response is rendered after its
 * prompt as an assistant turn with the chat template, end of turn included (as training
 * renders a completion), encoded by the tokenizer and run through the model; the score
 * head is read at the last token that is not the model's pad_token_id, or at the last
 * token when it has none, as transformers does.  Output: every input line, in order,
 * with "score" (one label) or "scores" ({name: value} in id order, names from id2label)
 * added to each response, and with ids set "reward_ids" (the token ids the model read).
 *
 * Each sequence runs through the model alone, so its score depends on nothing else: not
 * the other records, the threads or the shard. */
#ifndef RAD_REWARD_H
#define RAD_REWARD_H

#include "base/io.h"
#include "nn/model.h"
#include "tok/chat_template.h"
#include "tok/tokenizer.h"

typedef struct rad_reward_opts {
	int special;            /* added-token text in message content becomes those tokens */
	int skip_invalid;       /* a bad record (no id, bad prompt or response, too long) is counted, not fatal */
	int ids;                /* also write "reward_ids" */
} rad_reward_opts;

typedef struct rad_reward_stats {
	long long records, responses, skipped, too_long, tokens;
	double sum;             /* of the first label's scores, for the mean */
	double seconds;         /* wall time inside the model */
} rad_reward_stats;

/* Reads every input (paths, "-" = stdin) and writes the scored records to out. */
void rad_reward_run(rad_model *m, rad_tokenizer *tok, const rad_template *tp, const rad_reward_opts *o,
                    char **inputs, int ninputs, rad_sink *out, rad_reward_stats *st);

/* The summary on stderr (with --verbose, or when records were skipped): counts, the mean
 * of the first label, sequences and tokens per second. */
void rad_reward_summary(const rad_reward_stats *st, const rad_model *m);

#endif
