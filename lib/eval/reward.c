/* eval/reward.c — responses scored by a reward model (reward.h). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/cli.h"
#include "base/jsonl.h"
#include "eval/reward.h"
#include "stream/batch.h"
#include "tok/chat_pair.h"

typedef struct scorer {
	rad_model *m;
	rad_tokenizer *tok;
	const rad_template *tp;
	const rad_reward_opts *o;
	rad_reward_stats *st;
	rad_batch b;             /* one sequence: rows 1, cols its length */
	int bcap;                /* the columns b has room for */
	rad_msg *msgs;
	size_t cap;
	rad_msg *answers;        /* the responses of a record as assistant turns */
	rad_ids prompt, *comp;
	size_t ncap;
	float *scores;           /* [num_labels] */
} scorer;

/* Where the score head reads: the last token that is not padding (transformers takes
 * the largest index whose token differs from pad_token_id, 0 when all are padding), or
 * the last token when the model names no pad token. */
static int32_t score_position(const int32_t *ids, int n, int pad)
{
	if (pad < 0) return n - 1;
	for (int i = n - 1; i > 0; i--)
		if (ids[i] != pad) return i;
	return 0;
}

/* The batch of one sequence: prompt then completion, positions from 0, no loss mask. */
static void one_sequence(scorer *S, const rad_ids *comp)
{
	int n = (int)(S->prompt.n + comp->n);
	if (n > S->bcap) {
		rad_batch_free(&S->b);
		rad_batch_alloc(&S->b, 1, n, 1, 0);
		S->bcap = n;
	}
	S->b.cols = n;
	memcpy(S->b.tokens, S->prompt.v, S->prompt.n * sizeof(int32_t));
	memcpy(S->b.tokens + S->prompt.n, comp->v, comp->n * sizeof(int32_t));
	for (int i = 0; i < n; i++) {
		S->b.position[i] = i;
		S->b.targets[i] = -1;
		S->b.loss_mask[i] = 0;
		S->b.segment[i] = 0;
	}
	S->b.seq_len[0] = n;
}

/* The score(s) of one response onto its holder (the record, or an entry of "responses"). */
static void put_scores(scorer *S, json_t *holder)
{
	const rad_model_config *c = &S->m->cfg;
	if (c->num_labels == 1) {
		json_object_set_new(holder, "score", json_real(S->scores[0]));
	} else {
		json_t *o = json_object();
		for (int k = 0; k < c->num_labels; k++) json_object_set_new(o, c->labels[k], json_real(S->scores[k]));
		json_object_set_new(holder, "scores", o);
	}
	if (S->o->ids) {
		json_t *a = json_array();
		for (int i = 0; i < S->b.cols; i++) json_array_append_new(a, json_integer(S->b.tokens[i]));
		json_object_set_new(holder, "reward_ids", a);
	}
}

/* The responses of record o: its own "response", or each of "responses".  NULL or why the
 * record is bad; *holders (borrowed) and *n are set. */
static const char *holders_of(json_t *o, json_t ***holders, size_t *n, size_t *cap)
{
	json_t *list = json_object_get(o, "responses");
	if (!list) {
		if (!json_is_string(json_object_get(o, "response"))) return "no string \"response\" (nor a \"responses\" list)";
		*n = 1;
		if (*cap < 1) *holders = rad_realloc(*holders, sizeof **holders * (*cap = 1));
		(*holders)[0] = o;
		return NULL;
	}
	if (!json_is_array(list) || !json_array_size(list)) return "\"responses\" is not a non-empty list";
	*n = json_array_size(list);
	if (*cap < *n) *holders = rad_realloc(*holders, sizeof **holders * (*cap = *n));
	for (size_t i = 0; i < *n; i++) {
		json_t *h = json_array_get(list, i);
		if (!json_is_object(h) || !json_is_string(json_object_get(h, "response")))
			return "an entry of \"responses\" has no string \"response\"";
		(*holders)[i] = h;
	}
	return NULL;
}

/* Scores record o (taken) and writes it; a bad record is fatal or counted. */
static void score_record(scorer *S, json_t *o, const char *where, rad_sink *out, json_t ***holders, size_t *hcap)
{
	const rad_model_config *c = &S->m->cfg;
	char err[300], toolong[160];
	size_t nh = 0, nm = 0;
	const char *why = NULL;
	if (!json_is_object(o)) why = "not a JSON object";
	else if (!json_is_string(json_object_get(o, "id"))) why = "no string \"id\"";
	else if (!(why = holders_of(o, holders, &nh, hcap)))
		why = rad_chat_prompt_read(json_object_get(o, "prompt"), &S->msgs, &nm, &S->cap, err, sizeof err);
	if (!why) {
		if (nh > S->ncap) {
			S->comp = rad_realloc(S->comp, sizeof *S->comp * nh);
			S->answers = rad_realloc(S->answers, sizeof *S->answers * nh);
			memset(S->comp + S->ncap, 0, sizeof *S->comp * (nh - S->ncap));
			S->ncap = nh;
		}
		S->prompt.n = 0;
		for (size_t i = 0; i < nh; i++) {
			json_t *r = json_object_get((*holders)[i], "response");
			S->answers[i] = (rad_msg){"assistant", json_string_value(r), json_string_length(r)};
			S->comp[i].n = 0;
		}
		if (rad_chat_encode(S->tok, S->tp, S->msgs, nm, S->answers, nh, S->o->special ? RAD_TOK_SPECIAL : 0,
		                    &S->prompt, S->comp, NULL, err, sizeof err))
			why = err;
	}
	for (size_t i = 0; !why && i < nh; i++)
		if (S->prompt.n + S->comp[i].n > (size_t)c->ctx) {
			snprintf(toolong, sizeof toolong, "response %zu: prompt and response are %zu tokens, the model's context %d", i,
			         S->prompt.n + S->comp[i].n, c->ctx);
			why = toolong;
			S->st->too_long++;
		}
	if (why) {
		if (!S->o->skip_invalid) rad_die(RAD_EXIT_DATA, where, "%s", why);
		if (rad_verbose) rad_warn(where, "skipped: %s", why);
		S->st->skipped++;
		json_decref(o);
		return;
	}
	for (size_t i = 0; i < nh; i++) {
		one_sequence(S, &S->comp[i]);
		int32_t at = score_position(S->b.tokens, S->b.cols, c->pad_id);
		double t0 = rad_seconds();
		const char *e = rad_model_score(S->m, &S->b, &at, S->scores);
		S->st->seconds += rad_seconds() - t0;
		if (e) rad_die(RAD_EXIT_DATA, where, "%s", e);
		for (int k = 0; k < c->num_labels; k++)
			if (!isfinite(S->scores[k]))
				rad_die(RAD_EXIT_DATA, where, "response %zu: the model's score %s is not finite (%g): NaN or infinite weights?",
				        i, c->labels[k], S->scores[k]);
		put_scores(S, (*holders)[i]);
		S->st->responses++;
		S->st->tokens += S->b.cols;
		S->st->sum += S->scores[0];
	}
	rad_jsonl_write(out, o);
	json_decref(o);
	S->st->records++;
	rad_progress("%lld records, %lld responses scored", S->st->records, S->st->responses);
}

void rad_reward_run(rad_model *m, rad_tokenizer *tok, const rad_template *tp, const rad_reward_opts *o,
                    char **inputs, int ninputs, rad_sink *out, rad_reward_stats *st)
{
	memset(st, 0, sizeof *st);
	if (m->cfg.num_labels < 1)
		rad_die(RAD_EXIT_DATA, NULL, "the model is a language model, not a reward model (a ...ForSequenceClassification "
		        "checkpoint with a score head; rad-init --reward-head makes one)");
	if (rad_tok_n_vocab(tok) > (uint32_t)m->cfg.vocab)
		rad_die(RAD_EXIT_DATA, rad_tok_path(tok), "the tokenizer has %u ids, the model only %d", rad_tok_n_vocab(tok), m->cfg.vocab);
	scorer S = {.m = m, .tok = tok, .tp = tp, .o = o, .st = st};
	S.scores = rad_malloc(sizeof(float) * m->cfg.num_labels);
	json_t **holders = NULL;
	size_t hcap = 0;
	for (int i = 0; i < ninputs; i++) {
		rad_jsonl *r = rad_jsonl_open(inputs[i], o->skip_invalid);
		json_t *v;
		while ((v = rad_jsonl_next(r))) score_record(&S, v, rad_jsonl_where(r), out, &holders, &hcap);
		st->skipped += r->skipped;
		rad_jsonl_close(r);
	}
	rad_progress_done();
	rad_batch_free(&S.b);
	for (size_t i = 0; i < S.ncap; i++) rad_ids_free(&S.comp[i]);
	rad_ids_free(&S.prompt);
	free(S.comp);
	free(S.answers);
	free(S.msgs);
	free(S.scores);
	free(holders);
}

void rad_reward_summary(const rad_reward_stats *st, const rad_model *m)
{
	if (rad_verbose || st->skipped)
		rad_warn(NULL, "%lld records, %lld responses scored (mean %s %.6g), %lld records skipped (%lld too long%s); "
		         "%.1f sequences/s, %.1f tokens/s", st->records, st->responses, m->cfg.labels[0],
		         st->responses ? st->sum / st->responses : 0.0, st->skipped, st->too_long,
		         rad_verbose ? "" : "; --verbose names them",
		         st->seconds > 0 ? st->responses / st->seconds : 0.0, st->seconds > 0 ? st->tokens / st->seconds : 0.0);
}
