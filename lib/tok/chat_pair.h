/* tok/chat_pair.h — a relabeled preference pair (one line of rad-relabel's output) as chat
 * turns and two completions, and its text or its ids under a chat template
 * (man 1 rad-tokenize).
 *
 * The record: "id"; "prompt", a non-empty list of {role, content} turns ending with a user
 * turn, or a string (one user turn); "chosen" and "rejected", strings; optionally
 * "source_id" (default: the id), "half" and "goal" (default ""), "score_chosen" and
 * "score_rejected" (numbers; null or absent: unknown).
 *
 * Text is taken by its length, so content with a NUL in it (JSON's \u0000) is encoded
 * whole.  The id, source_id, half and goal travel on as C strings (in PAIR records and
 * every later stage), so one holding a NUL is refused rather than cut short; so is a role. */
#ifndef RAD_CHAT_PAIR_H
#define RAD_CHAT_PAIR_H

#include <jansson.h>
#include "tok/chat_template.h"
#include "tok/tokenizer.h"

typedef struct rad_chat_pair {
	const char *id, *source_id, *half, *goal;   /* borrowed from the record */
	rad_msg answers[2];                    /* chosen, rejected: assistant turns, borrowed */
	double score_chosen, score_rejected;   /* NaN when unknown */
	rad_msg *msgs;                         /* the prompt's turns, borrowed from the record */
	size_t nmsgs, cap;
	rad_ids prompt, completions[2];        /* rad_chat_pair_encode's: chosen, then rejected */
} rad_chat_pair;

/* The turns of a record's "prompt" (as above) into *msgs, which grows as needed (*cap is
 * its room; NULL and 0 to start), borrowing from pr; *n gets their number.  Returns NULL,
 * or what is wrong (err, or a constant). */
const char *rad_chat_prompt_read(const json_t *pr, rad_msg **msgs, size_t *n, size_t *cap, char *err, size_t errsz);
/* Reads one record into p, which keeps its memory from one record to the next (zero it
 * before the first).  Returns NULL, or what is wrong with the record (err, or a constant). */
const char *rad_chat_pair_read(rad_chat_pair *p, const json_t *o, char *err, size_t errsz);
/* The ids of the prompt and of both completions under the boundary rule (rad_chat_encode),
 * into p->prompt and p->completions.  Returns 0, or -1 with err. */
int rad_chat_pair_encode(rad_chat_pair *p, rad_tokenizer *tok, const rad_template *tp, int flags,
                         long long *forced, char *err, size_t errsz);
/* The pair as text: {"id", "prompt" (the rendered turns and assistant header), "chosen",
 * "rejected" (each as it follows the prompt, end of turn included)}.  NULL with err. */
json_t *rad_chat_pair_render(const rad_chat_pair *p, const rad_template *tp, const rad_tokenizer *tok,
                             char *err, size_t errsz);
void rad_chat_pair_free(rad_chat_pair *p);

#endif
