/* eval/judging.h — judging generated responses and summarising the scores (man 1 rad-eval).
 *
 * rad_eval_judge reads JSONL records with "id", "prompt" and "response" (rad-eval
 * generate's output), sends {id, prompt, response} to the judge (lib/judge.h) and writes
 * each record with "score" added the moment its score arrives (flushed line by line), so
 * a failed run keeps every score it got.  rad_eval_summary reads judged records back. */
#ifndef RAD_EVAL_JUDGE_H
#define RAD_EVAL_JUDGE_H

#include <jansson.h>
#include "base/io.h"

/* Returns NULL or the failure (output already flushed); *scored and *sent get counts. */
const char *rad_eval_judge(const char *command, double timeout_s, char **inputs, int ninputs, rad_sink *out,
                           long long *sent, long long *scored);

/* The summary of one judged file, or of two (A then B) with the win rate of A over B on
 * the ids both have: {"mode": "summary", "top_score", "files": [{"file", "records",
 * "mean", "top_share", "controllability": {goal: {"n", "mean"}}}], "win_rate": {...}}. */
json_t *rad_eval_summary(char **files, int nfiles, double top_score);

#endif
