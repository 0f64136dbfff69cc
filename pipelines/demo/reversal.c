/* reversal.c — the demo's synthetic task: prompts, the teacher, the judge (see reversal.h). */
#include "reversal.h"
#include "base/keyed.h"

#include <ctype.h>
#include <string.h>

const double RAD_REV_COMMIT_K[10] = { .01, .04, .10, .15, .18, .18, .14, .10, .06, .04 };
const double RAD_REV_HEDGE_K[3] = { .6, .3, .1 };

void rad_rev_prompt(uint64_t seed, const char *id, char out[RAD_REV_LEN + 1])
{
	rad_rng r;
	rad_rng_seed(&r, rad_keyed_u64("reversal-prompt", seed, id, strlen(id)));
	for (int i = 0; i < RAD_REV_LEN; i++) out[i] = (char)('0' + rad_rng_next(&r) % 10);
	out[RAD_REV_LEN] = 0;
}

void rad_rev_ideal(const char *prompt, char out[RAD_REV_LEN + 1])
{
	for (int i = 0; i < RAD_REV_LEN; i++) out[i] = prompt[RAD_REV_LEN - 1 - i];
	out[RAD_REV_LEN] = 0;
}

int rad_rev_pick(const double *p, int n, double u)
{
	double c = 0;
	for (int i = 0; i < n - 1; i++) {
		c += p[i];
		if (u < c) return i;
	}
	return n - 1;
}

static int below(rad_rng *r, int n) { return (int)(rad_rng_uniform(r) * n); }

/* The judge's score of an answer of this style with k wrong digits. */
static int style_score(int hedged, int k)
{
	int score = 1 + RAD_REV_LEN - k;
	return hedged && score > RAD_REV_HEDGE_CAP ? RAD_REV_HEDGE_CAP : score;
}

/* Writes the answer of the given style with k wrong digits (the teacher's errors, as in
 * reversal.h); returns its judge score. */
static int write_answer(rad_rng *r, const char *prompt, int hedged, int k, char out[RAD_REV_ANS_MAX],
                        rad_rev_draw *draw)
{
	char ideal[RAD_REV_LEN + 1], got[RAD_REV_LEN + 1];
	rad_rev_ideal(prompt, ideal);
	memcpy(got, ideal, sizeof got);
	/* k distinct positions: the first k of a partial Fisher-Yates shuffle. */
	int pos[RAD_REV_LEN], plus1 = 0;
	for (int i = 0; i < RAD_REV_LEN; i++) pos[i] = i;
	for (int i = 0; i < k; i++) {
		int j = i + below(r, RAD_REV_LEN - i);
		int t = pos[i]; pos[i] = pos[j]; pos[j] = t;
		int d = ideal[pos[i]] - '0', w;
		if (rad_rng_uniform(r) < RAD_REV_P_PLUS1) {
			w = (d + 1) % 10;
			plus1++;
		} else {
			w = (d + 2 + below(r, 8)) % 10;   /* neither d nor d + 1 */
		}
		got[pos[i]] = (char)('0' + w);
	}
	memcpy(out, hedged ? "HEDGE " : "COMMIT ", hedged ? 6 : 7);
	memcpy(out + (hedged ? 6 : 7), got, RAD_REV_LEN + 1);
	if (draw) { draw->hedged = hedged; draw->wrong = k; draw->plus1 = plus1; }
	return style_score(hedged, k);
}

int rad_rev_teacher(rad_rng *r, const char *prompt, char out[RAD_REV_ANS_MAX], rad_rev_draw *draw)
{
	int hedged = rad_rng_uniform(r) < RAD_REV_P_HEDGE;
	int k = hedged ? rad_rev_pick(RAD_REV_HEDGE_K, 3, rad_rng_uniform(r))
	               : rad_rev_pick(RAD_REV_COMMIT_K, 10, rad_rng_uniform(r));
	return write_answer(r, prompt, hedged, k, out, draw);
}

int rad_rev_teacher_at(rad_rng *r, const char *prompt, int score, char out[RAD_REV_ANS_MAX],
                       rad_rev_draw *draw)
{
	/* The teacher's (style, k) pairs, hedged ones first, weighted by their probability and
	 * kept when they score `score`: the teacher's distribution given the score. */
	double p[3 + 10], sum = 0;
	for (int i = 0; i < 13; i++) {
		int hedged = i < 3, k = hedged ? i : i - 3;
		p[i] = style_score(hedged, k) != score ? 0
		     : hedged ? RAD_REV_P_HEDGE * RAD_REV_HEDGE_K[k] : (1 - RAD_REV_P_HEDGE) * RAD_REV_COMMIT_K[k];
		sum += p[i];
	}
	if (sum <= 0) return -1;
	for (int i = 0; i < 13; i++) p[i] /= sum;
	int i = rad_rev_pick(p, 13, rad_rng_uniform(r));
	return write_answer(r, prompt, i < 3, i < 3 ? i : i - 3, out, draw);
}

int rad_rev_score(const char *prompt, const char *answer)
{
	char ideal[RAD_REV_LEN + 1];
	rad_rev_ideal(prompt, ideal);
	while (*answer && isspace((unsigned char)*answer)) answer++;
	int hedged;
	if (!strncmp(answer, "HEDGE ", 6)) { hedged = 1; answer += 6; }
	else if (!strncmp(answer, "COMMIT ", 7)) { hedged = 0; answer += 7; }
	else return 1;
	int match = 0;
	for (int i = 0; i < RAD_REV_LEN && answer[i]; i++) match += answer[i] == ideal[i];
	int score = 1 + match;
	return hedged && score > RAD_REV_HEDGE_CAP ? RAD_REV_HEDGE_CAP : score;
}

int rad_rev_find_prompt(const char *text, size_t len, char out[RAD_REV_LEN + 1])
{
	int found = -1;
	for (size_t i = 0; i < len;) {
		if (!isdigit((unsigned char)text[i])) { i++; continue; }
		size_t j = i;
		while (j < len && isdigit((unsigned char)text[j])) j++;
		if (j - i == RAD_REV_LEN) {
			memcpy(out, text + i, RAD_REV_LEN);
			out[RAD_REV_LEN] = 0;
			found = 0;
		}
		i = j;
	}
	return found;
}
