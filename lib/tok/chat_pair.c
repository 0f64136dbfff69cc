/* tok/chat_pair.c — relabeled pairs as chat turns, rendered or encoded (see chat_pair.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/chat_pair.h"
#include "base/cli.h"

/* The string at key k of o, or dflt when absent or null.  Returns NULL, or k when the
 * value is there but no string. */
static const char *str_or(const json_t *o, const char *k, const char *dflt, const char **out)
{
	json_t *v = json_object_get(o, k);
	if (!v || json_is_null(v)) { *out = dflt; return NULL; }
	if (!json_is_string(v)) return k;
	*out = json_string_value(v);
	return NULL;
}

static void push_msg(rad_chat_pair *p, const char *role, const char *content)
{
	if (p->nmsgs == p->cap) { p->cap = p->cap ? 2 * p->cap : 8; p->msgs = rad_realloc(p->msgs, p->cap * sizeof *p->msgs); }
	p->msgs[p->nmsgs++] = (rad_msg){role, content};
}

const char *rad_chat_pair_read(rad_chat_pair *p, const json_t *o, char *err, size_t errsz)
{
	if (!json_is_object(o)) return "not a JSON object";
	const char *bad;
	if ((bad = str_or(o, "id", NULL, &p->id)) || !p->id) { snprintf(err, errsz, "\"id\" missing or not a string"); return err; }
	if ((bad = str_or(o, "source_id", p->id, &p->source_id)) || (bad = str_or(o, "half", "", &p->half)) ||
	    (bad = str_or(o, "goal", "", &p->goal)) || (bad = str_or(o, "chosen", NULL, &p->chosen)) ||
	    (bad = str_or(o, "rejected", NULL, &p->rejected))) {
		snprintf(err, errsz, "\"%s\" is not a string", bad);
		return err;
	}
	if (!p->chosen || !p->rejected) return p->chosen ? "\"rejected\" missing" : "\"chosen\" missing";
	const char *sk[2] = {"score_chosen", "score_rejected"};
	double *sd[2] = {&p->score_chosen, &p->score_rejected};
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(o, sk[i]);
		if (!v || json_is_null(v)) *sd[i] = NAN;
		else if (json_is_number(v)) *sd[i] = json_number_value(v);
		else { snprintf(err, errsz, "\"%s\" is not a number or null", sk[i]); return err; }
	}
	json_t *pr = json_object_get(o, "prompt");
	p->nmsgs = 0;
	if (json_is_string(pr)) {   /* a bare prompt string is one user turn */
		push_msg(p, "user", json_string_value(pr));
		return NULL;
	}
	if (!json_is_array(pr) || !json_array_size(pr)) return "\"prompt\" is not a non-empty array of turns";
	size_t i;
	json_t *m;
	json_array_foreach(pr, i, m) {
		const char *role = NULL, *content = NULL;
		if (!json_is_object(m) || str_or(m, "role", NULL, &role) || str_or(m, "content", NULL, &content) || !role || !content) {
			snprintf(err, errsz, "prompt turn %zu: needs string \"role\" and \"content\"", i + 1);
			return err;
		}
		push_msg(p, role, content);
	}
	if (strcmp(p->msgs[p->nmsgs - 1].role, "user")) return "the last prompt turn is not a user turn";
	return NULL;
}

int rad_chat_pair_encode(rad_chat_pair *p, rad_tokenizer *tok, const rad_template *tp, int flags,
                         long long *forced, char *err, size_t errsz)
{
	const char *cs[2] = {p->chosen, p->rejected};
	p->prompt.n = p->completions[0].n = p->completions[1].n = 0;
	return rad_chat_encode(tok, tp, p->msgs, p->nmsgs, cs, 2, flags, &p->prompt, p->completions, forced, err, errsz);
}

json_t *rad_chat_pair_render(const rad_chat_pair *p, const rad_template *tp, const rad_tokenizer *tok,
                             char *err, size_t errsz)
{
	/* the prompt alone, then the prompt followed by each completion */
	const char *cs[3] = {NULL, p->chosen, p->rejected};
	rad_text txt[3] = {{0}};
	json_t *j = NULL;
	int k = 0;
	while (k < 3 && !rad_chat_render(tp, tok, p->msgs, p->nmsgs, cs[k], &txt[k], err, errsz)) k++;
	if (k == 3) {
		j = json_object();
		json_object_set_new(j, "id", json_string(p->id));
		json_object_set_new(j, "prompt", json_stringn(txt[0].s, txt[0].n));
		json_object_set_new(j, "chosen", json_stringn(txt[1].s + txt[0].n, txt[1].n - txt[0].n));
		json_object_set_new(j, "rejected", json_stringn(txt[2].s + txt[0].n, txt[2].n - txt[0].n));
	}
	for (k = 0; k < 3; k++) rad_text_free(&txt[k]);
	return j;
}

void rad_chat_pair_free(rad_chat_pair *p)
{
	free(p->msgs);
	rad_ids_free(&p->prompt);
	rad_ids_free(&p->completions[0]);
	rad_ids_free(&p->completions[1]);
	memset(p, 0, sizeof *p);
}
