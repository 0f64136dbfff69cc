/* reversal.h — the demo's synthetic task, whose judge is a program so every number is exact.
 *
 * A prompt is 9 random digits.  An answer is a style word, HEDGE or COMMIT, a space and 9
 * digits; the ideal answer is COMMIT followed by the prompt reversed.  The judge's score is
 * 1 + the number of positions where the answer's digit equals the ideal one (1..10),
 * capped at 7 for a hedged answer.
 *
 * The teacher that writes the preference data hedges half the time.  The number k of wrong
 * digits follows RAD_REV_COMMIT_K (k = 0..9) for committed answers and RAD_REV_HEDGE_K
 * (k = 0..2) for hedged ones; the k wrong positions are distinct and uniformly placed; a
 * wrong digit is the ideal digit + 1 (mod 10) with probability 0.7, otherwise a uniform
 * pick among the 8 digits that are neither the ideal one nor ideal + 1.  Perfect answers
 * (score 10) are therefore rare (1% of committed answers). */
#ifndef RAD_REVERSAL_H
#define RAD_REVERSAL_H
#include <stddef.h>
#include <stdint.h>

#include "base/rng.h"

#define RAD_REV_LEN     9       /* digits in a prompt and in an answer */
#define RAD_REV_ANS_MAX 17      /* "COMMIT " + 9 digits + NUL */
#define RAD_REV_HEDGE_CAP 7

extern const double RAD_REV_COMMIT_K[10];
extern const double RAD_REV_HEDGE_K[3];
#define RAD_REV_P_HEDGE 0.5
#define RAD_REV_P_PLUS1 0.7

/* What the teacher drew for one answer (tests compare these against the text). */
typedef struct rad_rev_draw {
	int hedged;         /* 1: HEDGE, 0: COMMIT */
	int wrong;          /* k, the number of wrong digits */
	int plus1;          /* how many of the wrong digits are ideal + 1 */
} rad_rev_draw;

/* The 9 prompt digits for (seed, id), NUL-terminated in out[10]. */
void rad_rev_prompt(uint64_t seed, const char *id, char out[RAD_REV_LEN + 1]);
/* The ideal digits: the prompt reversed. */
void rad_rev_ideal(const char *prompt, char out[RAD_REV_LEN + 1]);
/* Index drawn from a discrete distribution p[0..n-1] (summing to 1) with u in [0, 1). */
int rad_rev_pick(const double *p, int n, double u);
/* One teacher answer for the prompt digits, written to out; returns its judge score.
 * draw may be NULL. */
int rad_rev_teacher(rad_rng *r, const char *prompt, char out[RAD_REV_ANS_MAX], rad_rev_draw *draw);
/* One teacher answer that scores exactly `score` (1..10): its style and number of wrong
 * digits are drawn from the teacher's distribution given that score (score 7: hedged
 * with k = 0..2, or committed with k = 3; any other s: committed with k = 10 - s), the
 * wrong digits as above.  Returns the score, or -1 when no answer scores `score`. */
int rad_rev_teacher_at(rad_rng *r, const char *prompt, int score, char out[RAD_REV_ANS_MAX],
                       rad_rev_draw *draw);
/* The judge: 1 + matching positions among the first 9 characters after the style word
 * and one space, capped at 7 when the word is HEDGE; 1 when the answer does not start
 * with HEDGE or COMMIT and a space (leading white space is skipped).  prompt holds the 9
 * prompt digits. */
int rad_rev_score(const char *prompt, const char *answer);
/* Finds the prompt digits in a text (the last run of exactly 9 digits; goal texts carry
 * shorter numbers only).  Returns 0 and fills out, or -1 when there is none. */
int rad_rev_find_prompt(const char *text, size_t len, char out[RAD_REV_LEN + 1]);

#endif
