/* eval/generate.h — responses to chat prompts: JSONL in, JSONL out (man 1 rad-eval, generate).
 *
 * Each input line is an object with "id" (string), "prompt" (a list of {role, content}
 * turns ending with a user turn, or one string = one user turn) and optionally "goal"
 * (rad-relabel's output is such a line).  The prompt is rendered with the chat template
 * and encoded by the tokenizer (lib/chat_template.h); the model continues it until the
 * template's end-of-turn token (or the tokenizer's end of sequence) or max_new tokens.
 * Prompts are run in batches of `batch` prompts; a prompt's K responses (samples) share
 * one prefill, its keys and values copied into K slots of one key/value cache, and then
 * decode side by side.  The sampler of response k is seeded from (seed, id, k) alone, and
 * a slot's arithmetic does not depend on the other slots, so the output of a prompt does
 * not depend on which file, shard or batch it came in.  Output, in input order, one line
 * per response:
 *   {"id", ["sample" k, "samples" K: with samples set,] "goal", "prompt" (as given),
 *    "response" (text, the end of turn left out), "tokens" (response tokens), "finish"
 *    ("stop" or "length"), and with ids set "ids"}
 * or with group set one line per prompt: {"id", "goal", "prompt", "responses": [{"sample",
 * "response", "tokens", "finish"[, "ids"]}...]}.
 * A response that is not valid UTF-8 (a model may stop inside a character) has each
 * maximal ill-formed subsequence replaced by U+FFFD, as Python's errors="replace" does. */
#ifndef RAD_GENERATE_H
#define RAD_GENERATE_H

#include <stdint.h>
#include "tok/chat_template.h"
#include "base/io.h"
#include "nn/model.h"
#include "eval/sample.h"
#include "tok/tokenizer.h"

typedef struct rad_gen_opts {
	rad_sample_opts sample;
	int max_new;            /* new tokens at most per prompt */
	int batch;              /* prompts decoded together */
	uint64_t seed;
	int special;            /* added-token text in message content becomes those tokens */
	int skip_invalid;       /* a bad record (no id, bad prompt, too long) is counted, not fatal */
	int ids;                /* also write "ids": the response's token ids */
	int samples;            /* responses per prompt; 0: one, written without "sample" */
	int group;              /* one line per prompt, its responses in "responses" */
} rad_gen_opts;

typedef struct rad_gen_stats {
	long long prompts, responses, skipped, tokens, prompt_tokens, stopped;
	long long too_long;     /* of the skipped: prompts that leave no room in the model's context */
	double seconds;         /* wall time inside the model (prefill + steps) */
	double decode_seconds;  /* of which the batched steps */
} rad_gen_stats;

/* Reads every input (paths, "-" = stdin) and writes the responses to out. */
void rad_generate_run(rad_model *m, rad_tokenizer *tok, const rad_template *tp, const rad_gen_opts *o,
                      char **inputs, int ninputs, rad_sink *out, rad_gen_stats *st);

/* The summary on stderr: counts and speed with --verbose, else the skipped prompts if any. */
void rad_generate_summary(const rad_gen_stats *st, int ctx);

/* A copy of s[n] with each maximal ill-formed UTF-8 subsequence replaced by U+FFFD. */
char *rad_utf8_clean(const char *s, size_t n, size_t *outlen);

#endif
