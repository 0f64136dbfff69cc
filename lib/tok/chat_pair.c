/* tok/chat_pair.c — relabeled pairs as chat turns, rendered or encoded (see chat_pair.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/chat_pair.h"
#include "base/cli.h"

/* The string at key k of o, or dflt when absent or null: into *out, its length into *len
 * when len is given; without len it must hold no NUL.  Returns NULL, or why not. */
static const char *str_or(const json_t *o, const char *k, const char *dflt, const char **out, size_t *len,
                          char *err, size_t errsz)
{
	json_t *v = json_object_get(o, k);
	if (!v || json_is_null(v)) {
		*out = dflt;
		if (len) *len = dflt ? strlen(dflt) : 0;
		return NULL;
	}
	if (!json_is_string(v)) { snprintf(err, errsz, "\"%s\" is not a string", k); return err; }
	*out = json_string_value(v);
	if (len) *len = json_string_length(v);
	else if (strlen(*out) != json_string_length(v)) {
		snprintf(err, errsz, "\"%s\" holds a NUL character (\\u0000), which it cannot carry on", k);
		return err;
	}
	return NULL;
}

static void push_msg(rad_msg **msgs, size_t *n, size_t *cap, const char *role, const char *content, size_t len)
{
	if (*n == *cap) { *cap = *cap ? 2 * *cap : 8; *msgs = rad_realloc(*msgs, *cap * sizeof **msgs); }
	(*msgs)[(*n)++] = (rad_msg){role, content, len};
}

const char *rad_chat_prompt_read(const json_t *pr, rad_msg **msgs, size_t *n, size_t *cap, char *err, size_t errsz)
{
	*n = 0;
	if (json_is_string(pr)) {   /* a bare prompt string is one user turn */
		push_msg(msgs, n, cap, "user", json_string_value(pr), json_string_length(pr));
		return NULL;
	}
	if (!json_is_array(pr) || !json_array_size(pr)) return "\"prompt\" is not a string or a non-empty list of turns";
	size_t i;
	json_t *m;
	json_array_foreach(pr, i, m) {
		const char *role = NULL, *content = NULL, *bad;
		size_t len = 0;
		char why[160];
		if (json_is_object(m) && ((bad = str_or(m, "role", NULL, &role, NULL, why, sizeof why)) ||
		                          (bad = str_or(m, "content", NULL, &content, &len, why, sizeof why)))) {
			snprintf(err, errsz, "prompt turn %zu: %s", i + 1, bad);
			return err;
		}
		if (!role || !content) {
			snprintf(err, errsz, "prompt turn %zu: needs string \"role\" and \"content\"", i + 1);
			return err;
		}
		push_msg(msgs, n, cap, role, content, len);
	}
	if (strcmp((*msgs)[*n - 1].role, "user")) return "the last prompt turn is not a user turn";
	return NULL;
}

const char *rad_chat_pair_read(rad_chat_pair *p, const json_t *o, char *err, size_t errsz)
{
	if (!json_is_object(o)) return "not a JSON object";
	const char *bad;
	if ((bad = str_or(o, "id", NULL, &p->id, NULL, err, errsz))) return bad;
	if (!p->id) return "\"id\" missing";
	static const char *const sides[2] = {"chosen", "rejected"};
	if ((bad = str_or(o, "source_id", p->id, &p->source_id, NULL, err, errsz)) ||
	    (bad = str_or(o, "half", "", &p->half, NULL, err, errsz)) ||
	    (bad = str_or(o, "goal", "", &p->goal, NULL, err, errsz)))
		return bad;
	for (int i = 0; i < 2; i++) {
		rad_msg *a = &p->answers[i];
		a->role = "assistant";
		if ((bad = str_or(o, sides[i], NULL, &a->content, &a->content_len, err, errsz))) return bad;
		if (!a->content) { snprintf(err, errsz, "\"%s\" missing", sides[i]); return err; }
	}
	const char *sk[2] = {"score_chosen", "score_rejected"};
	double *sd[2] = {&p->score_chosen, &p->score_rejected};
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(o, sk[i]);
		if (!v || json_is_null(v)) *sd[i] = NAN;
		else if (json_is_number(v)) *sd[i] = json_number_value(v);
		else { snprintf(err, errsz, "\"%s\" is not a number or null", sk[i]); return err; }
	}
	return rad_chat_prompt_read(json_object_get(o, "prompt"), &p->msgs, &p->nmsgs, &p->cap, err, errsz);
}

int rad_chat_pair_encode(rad_chat_pair *p, rad_tokenizer *tok, const rad_template *tp, int flags,
                         long long *forced, char *err, size_t errsz)
{
	p->prompt.n = p->completions[0].n = p->completions[1].n = 0;
	return rad_chat_encode(tok, tp, p->msgs, p->nmsgs, p->answers, 2, flags, &p->prompt, p->completions, forced, err, errsz);
}

json_t *rad_chat_pair_render(const rad_chat_pair *p, const rad_template *tp, const rad_tokenizer *tok,
                             char *err, size_t errsz)
{
	/* the prompt alone, then the prompt followed by each completion */
	const rad_msg *cs[3] = {NULL, &p->answers[0], &p->answers[1]};
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
