/* stream/pair.h — a tokenized preference pair: the PAIR record of a "pairs" stream.
 *
 * Fields (man 5 rad-stream):
 *   id              STR   unique id of this pair (e.g. "<source id>#pos")
 *   source_id       STR   id of the scored pair it came from
 *   half            STR   "pos", "neg" or "" (not relabeled)
 *   goal            STR   the goal text the prompt was conditioned on, "" if none
 *   score_chosen    NUM   score of the chosen response (NaN if unknown)
 *   score_rejected  NUM
 *   prompt          I32[] prompt ids: template-rendered turns + assistant header
 *   chosen          I32[] completion ids of the chosen response, end-of-turn included
 *   rejected        I32[] completion ids of the rejected response */
#ifndef RAD_PAIR_H
#define RAD_PAIR_H

#include <stdint.h>
#include "stream/record.h"

typedef struct rad_pair {
	const char *id, *source_id, *half, *goal;   /* borrowed */
	double score_chosen, score_rejected;
	const int32_t *prompt, *chosen, *rejected;  /* borrowed */
	uint32_t n_prompt, n_chosen, n_rejected;
} rad_pair;

/* Builds a PAIR record from p (r is reset first). */
void rad_pair_to_rec(const rad_pair *p, rad_rec *r);
/* Views a parsed PAIR record as a pair; pointers borrow from r and from the scratch
 * strings buffer (NUL-terminated copies of the strings).  Returns NULL or a message
 * naming the missing or mistyped field. */
const char *rad_pair_from_rec(const rad_rec *r, rad_pair *p, char *scratch, size_t scratch_size);

#endif
