/* stream/pair.c — PAIR records <-> rad_pair. */
#include "stream/pair.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void rad_pair_to_rec(const rad_pair *p, rad_rec *r)
{
	rad_rec_reset(r, RAD_REC_PAIR);
	rad_rec_put_str(r, "id", p->id);
	rad_rec_put_str(r, "source_id", p->source_id);
	rad_rec_put_str(r, "half", p->half);
	rad_rec_put_str(r, "goal", p->goal);
	rad_rec_put_num(r, "score_chosen", p->score_chosen);
	rad_rec_put_num(r, "score_rejected", p->score_rejected);
	rad_rec_put_i32s(r, "prompt", p->prompt, p->n_prompt);
	rad_rec_put_i32s(r, "chosen", p->chosen, p->n_chosen);
	rad_rec_put_i32s(r, "rejected", p->rejected, p->n_rejected);
}

/* Copies string field `name` into the scratch area; NULL when absent, out of room, or
 * holding a NUL (it would be cut there: two ids would become one). */
static const char *take_str(const rad_rec *r, const char *name, char **scratch, size_t *left)
{
	const rad_field *f = rad_rec_get(r, name);
	if (!f || f->dtype != RAD_STR || f->count + 1 > *left || memchr(f->data, 0, f->count)) return NULL;
	char *s = *scratch;
	memcpy(s, f->data, f->count);
	s[f->count] = 0;
	*scratch += f->count + 1;
	*left -= f->count + 1;
	return s;
}

const char *rad_pair_from_rec(const rad_rec *r, rad_pair *p, char *scratch, size_t scratch_size)
{
	static char msg[128];
	if (r->type != RAD_REC_PAIR) return "not a PAIR record";
	memset(p, 0, sizeof *p);
	static const char *const strs[] = {"id", "source_id", "half", "goal"};
	const char **dst[] = {&p->id, &p->source_id, &p->half, &p->goal};
	for (int i = 0; i < 4; i++) {
		if (!(*dst[i] = take_str(r, strs[i], &scratch, &scratch_size))) {
			snprintf(msg, sizeof msg, "PAIR record: string field '%s' missing, mistyped, too long or holding a NUL", strs[i]);
			return msg;
		}
	}
	p->score_chosen = rad_rec_num(r, "score_chosen", NAN);
	p->score_rejected = rad_rec_num(r, "score_rejected", NAN);
	static const char *const arrs[] = {"prompt", "chosen", "rejected"};
	const int32_t **adst[] = {&p->prompt, &p->chosen, &p->rejected};
	uint32_t *ndst[] = {&p->n_prompt, &p->n_chosen, &p->n_rejected};
	for (int i = 0; i < 3; i++) {
		const rad_field *f = rad_rec_get(r, arrs[i]);
		if (!f || f->dtype != RAD_I32) {
			snprintf(msg, sizeof msg, "PAIR record: token field '%s' missing or not i32", arrs[i]);
			return msg;
		}
		*adst[i] = f->data;
		*ndst[i] = f->count;
	}
	return NULL;
}
