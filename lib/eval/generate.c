/* eval/generate.c — batched generation from chat prompts (generate.h). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/cli.h"
#include "nn/decode.h"
#include "eval/generate.h"
#include "base/jsonl.h"
#include "tok/chat_pair.h"

/* Length of the well-formed UTF-8 sequence at s[0..n) (> 0), or minus the length of its
 * maximal ill-formed prefix (Unicode's "maximal subpart", as Python's errors="replace"
 * counts them): each such prefix becomes one U+FFFD. */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char b = s[0];
	int need;
	unsigned char lo = 0x80, hi = 0xbf;
	if (b < 0x80) return 1;
	if (b >= 0xc2 && b <= 0xdf) need = 1;
	else if (b >= 0xe0 && b <= 0xef) { need = 2; if (b == 0xe0) lo = 0xa0; if (b == 0xed) hi = 0x9f; }
	else if (b >= 0xf0 && b <= 0xf4) { need = 3; if (b == 0xf0) lo = 0x90; if (b == 0xf4) hi = 0x8f; }
	else return -1;
	for (int k = 1; k <= need; k++) {
		if ((size_t)k >= n || s[k] < lo || s[k] > hi) return -k;
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

char *rad_utf8_clean(const char *s, size_t n, size_t *outlen)
{
	char *o = rad_malloc(3 * n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n;) {
		int k = utf8_seq((const unsigned char *)s + i, n - i);
		if (k > 0) {
			memcpy(o + j, s + i, k);
			j += k;
			i += k;
		} else {
			memcpy(o + j, "\xef\xbf\xbd", 3);
			j += 3;
			i += -k;
		}
	}
	o[j] = 0;
	if (outlen) *outlen = j;
	return o;
}

/* One response being written, in its own slot of the key/value cache. */
typedef struct stream {
	rad_ids out;
	rad_rng rng;             /* seeded by (seed, id, sample index) */
	int done, stopped;
} stream;

/* One prompt in a batch and its K responses: slots K*j .. K*j+K-1 of the cache. */
typedef struct job {
	json_t *rec;             /* the input object */
	const char *id, *goal;
	rad_ids prompt;
	stream *s;               /* [K] */
	int max_new;
	char where[300];
} job;

typedef struct run {
	rad_model *m;
	rad_tokenizer *tok;
	const rad_template *tp;
	const rad_gen_opts *o;
	rad_sink *out;
	rad_gen_stats *st;
	rad_kv_cache *kv;
	rad_sampler sm;
	float *logits;           /* [batch * K, V] */
	int32_t stop, eos;
	uint32_t nvocab;         /* the tokenizer's ids; larger model ids are never drawn */
	int K;                   /* responses per prompt */
	job *jobs;
	stream *streams;         /* [batch * K] */
	int njobs;
	rad_msg *msgs;
	size_t cap;
} run;

/* One response's fields into o: response text, tokens, finish, ids. */
static void put_response(run *R, job *j, stream *s, json_t *o)
{
	rad_text txt = {0};
	if (rad_tok_decode(R->tok, s->out.v, s->out.n, 0, &txt))
		rad_die(RAD_EXIT_DATA, j->where, "the model produced an id the tokenizer does not know");
	size_t n;
	char *clean = rad_utf8_clean(txt.s ? txt.s : "", txt.n, &n);
	json_object_set_new(o, "response", json_stringn(clean, n));
	json_object_set_new(o, "tokens", json_integer((json_int_t)s->out.n));
	json_object_set_new(o, "finish", json_string(s->stopped ? "stop" : "length"));
	if (R->o->ids) {
		json_t *a = json_array();
		for (size_t i = 0; i < s->out.n; i++) json_array_append_new(a, json_integer(s->out.v[i]));
		json_object_set_new(o, "ids", a);
	}
	free(clean);
	rad_text_free(&txt);
}

/* The prompt's lines: one per response (with "sample" and "samples" when asked for
 * several), or one line with every response in "responses" (--group). */
static void emit(run *R, job *j)
{
	json_t *list = R->o->group ? json_array() : NULL;
	for (int k = 0; k < R->K; k++) {
		json_t *o = json_object();
		if (!list) {
			json_object_set_new(o, "id", json_string(j->id));
			if (R->o->samples) {
				json_object_set_new(o, "sample", json_integer(k));
				json_object_set_new(o, "samples", json_integer(R->K));
			}
			json_object_set_new(o, "goal", json_string(j->goal));
			json_object_set(o, "prompt", json_object_get(j->rec, "prompt"));
		} else {
			json_object_set_new(o, "sample", json_integer(k));
		}
		put_response(R, j, &j->s[k], o);
		if (list) {
			json_array_append_new(list, o);
			continue;
		}
		rad_jsonl_write(R->out, o);
		json_decref(o);
	}
	if (list) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(j->id));
		json_object_set_new(o, "goal", json_string(j->goal));
		json_object_set(o, "prompt", json_object_get(j->rec, "prompt"));
		json_object_set_new(o, "responses", list);
		rad_jsonl_write(R->out, o);
		json_decref(o);
	}
}

/* Picks the next token of response s of job j from logits lg[V].  Logits that are not
 * finite (a model with NaN or infinite weights) stop the run: sampled, they would give
 * token 0 forever. */
static int32_t pick(run *R, job *j, stream *s, float *lg)
{
	for (int v = 0; v < (int)R->nvocab; v++)
		if (!isfinite(lg[v]))
			rad_die(RAD_EXIT_DATA, j->where, "the model's logit of token %d is not finite (%g) at response token %zu: "
			        "NaN or infinite weights?", v, lg[v], s->out.n + 1);
	for (int v = (int)R->nvocab; v < R->m->cfg.vocab; v++) lg[v] = -INFINITY;
	return rad_sample(&R->sm, lg, &R->o->sample, &s->rng);
}

/* Takes token t for response s: the end of turn finishes it, so does reaching max_new. */
static void take(run *R, job *j, stream *s, int32_t t)
{
	if (t == R->stop || (R->eos >= 0 && t == R->eos)) {
		s->done = s->stopped = 1;
		return;
	}
	rad_ids_push(&s->out, t);
	if ((int)s->out.n >= j->max_new) s->done = 1;
}

static void run_batch(run *R)
{
	int V = R->m->cfg.vocab, K = R->K;
	const char *e;
	/* the cache holds this batch's longest prompt + answer (not the whole context per slot) */
	int need = 1;
	for (int s = 0; s < R->njobs; s++) {
		int len = (int)R->jobs[s].prompt.n + R->jobs[s].max_new;
		need = len > need ? len : need;
	}
	if (!R->kv || R->kv->max_len < need) {
		rad_kv_cache_free(R->kv);
		R->kv = rad_kv_cache_new(R->m, (R->o->batch > 0 ? R->o->batch : 1) * K, need);
	}
	double t0 = rad_seconds();
	for (int i = 0; i < R->njobs; i++) {
		job *j = &R->jobs[i];
		int s0 = i * K;
		rad_kv_cache_reset(R->kv, s0);
		if ((e = rad_model_decode(R->m, R->kv, s0, j->prompt.v, (int)j->prompt.n, R->logits)))
			rad_die(RAD_EXIT_DATA, j->where, "%s", e);
		/* one prefill for the prompt's K responses: its keys and values are copied to
		 * their slots, and each draws its first token from the same logits */
		for (int k = 0; k < K; k++) {
			if (k) rad_kv_cache_copy(R->kv, s0, s0 + k);
			if (j->max_new > 0) take(R, j, &j->s[k], pick(R, j, &j->s[k], R->logits));
			else j->s[k].done = 1;
		}
	}
	double t1 = rad_seconds();
	int *slots = rad_malloc(sizeof(int) * R->njobs * K);
	int32_t *toks = rad_malloc(sizeof(int32_t) * R->njobs * K);
	for (;;) {
		int n = 0;
		for (int s = 0; s < R->njobs * K; s++) {
			stream *x = &R->streams[s];
			if (!x->done) { slots[n] = s; toks[n] = x->out.v[x->out.n - 1]; n++; }
		}
		if (!n) break;
		if ((e = rad_model_decode_step(R->m, R->kv, n, slots, toks, R->logits)))
			rad_die(RAD_EXIT_DATA, R->jobs[slots[0] / K].where, "%s", e);
		for (int i = 0; i < n; i++) {
			job *j = &R->jobs[slots[i] / K];
			stream *x = &R->streams[slots[i]];
			take(R, j, x, pick(R, j, x, R->logits + (size_t)i * V));
		}
	}
	double t2 = rad_seconds();
	R->st->seconds += t2 - t0;
	R->st->decode_seconds += t2 - t1;
	for (int i = 0; i < R->njobs; i++) {
		job *j = &R->jobs[i];
		emit(R, j);
		R->st->prompts++;
		R->st->prompt_tokens += (long long)j->prompt.n;
		for (int k = 0; k < K; k++) {
			R->st->responses++;
			R->st->tokens += (long long)j->s[k].out.n;
			R->st->stopped += j->s[k].stopped;
			rad_ids_free(&j->s[k].out);
		}
		json_decref(j->rec);
		rad_ids_free(&j->prompt);
	}
	R->njobs = 0;
	free(slots);
	free(toks);
	rad_progress("%lld prompts, %lld tokens", R->st->prompts, R->st->tokens);
}

/* Adds record o (reference taken) as a job; a bad record is fatal or counted. */
static void add(run *R, json_t *o, const char *where)
{
	job *j = &R->jobs[R->njobs];
	memset(j, 0, sizeof *j);
	j->s = R->streams + (size_t)R->njobs * R->K;
	memset(j->s, 0, sizeof *j->s * R->K);
	snprintf(j->where, sizeof j->where, "%s", where);
	const char *why = NULL;
	char err[300];
	json_t *id = json_object_get(o, "id"), *goal = json_object_get(o, "goal");
	size_t nm = 0;
	/* the id seeds the sampler and goes out with the goal as C strings: a NUL would cut them */
	if (!json_is_object(o)) why = "not a JSON object";
	else if (!json_is_string(id)) why = "no string \"id\"";
	else if (goal && !json_is_null(goal) && !json_is_string(goal)) why = "\"goal\" is not a string";
	else if (strlen(json_string_value(id)) != json_string_length(id) ||
	         (json_is_string(goal) && strlen(json_string_value(goal)) != json_string_length(goal)))
		why = "the id or goal holds a NUL character (\\u0000)";
	else why = rad_chat_prompt_read(json_object_get(o, "prompt"), &R->msgs, &nm, &R->cap, err, sizeof err);
	if (!why && rad_chat_encode(R->tok, R->tp, R->msgs, nm, NULL, 0, R->o->special ? RAD_TOK_SPECIAL : 0,
	                            &j->prompt, NULL, NULL, err, sizeof err))
		why = err;
	char toolong[120];
	if (!why) {
		int room = R->m->cfg.ctx - (int)j->prompt.n;
		if (room < 1) {
			snprintf(toolong, sizeof toolong, "the prompt is %zu tokens, the model's context %d", j->prompt.n, R->m->cfg.ctx);
			why = toolong;
			R->st->too_long++;
		}
		j->max_new = R->o->max_new < room ? R->o->max_new : room;
	}
	if (why) {
		rad_ids_free(&j->prompt);
		if (!R->o->skip_invalid) rad_die(RAD_EXIT_DATA, where, "%s", why);
		if (rad_verbose) rad_warn(where, "skipped: %s", why);
		R->st->skipped++;
		json_decref(o);
		return;
	}
	j->rec = o;
	j->id = json_string_value(id);
	j->goal = json_is_string(goal) ? json_string_value(goal) : "";
	for (int k = 0; k < R->K; k++) rad_sample_seed_k(&j->s[k].rng, R->o->seed, j->id, k);
	R->njobs++;
}

void rad_generate_run(rad_model *m, rad_tokenizer *tok, const rad_template *tp, const rad_gen_opts *o,
                      char **inputs, int ninputs, rad_sink *out, rad_gen_stats *st)
{
	run R = {.m = m, .tok = tok, .tp = tp, .o = o, .out = out, .st = st, .K = o->samples > 0 ? o->samples : 1};
	memset(st, 0, sizeof *st);
	int B = o->batch > 0 ? o->batch : 1;
	R.stop = rad_template_stop_id(tp, tok);
	R.eos = rad_tok_eos(tok);
	R.nvocab = rad_tok_n_vocab(tok);
	if (R.nvocab > (uint32_t)m->cfg.vocab)
		rad_die(RAD_EXIT_DATA, rad_tok_path(tok), "the tokenizer has %u ids, the model only %d", R.nvocab, m->cfg.vocab);
	if (R.stop < 0) rad_die(RAD_EXIT_DATA, rad_tok_path(tok), "template %s has no end-of-turn token in this tokenizer", rad_template_name(tp));
	rad_sampler_init(&R.sm, m->cfg.vocab);
	R.logits = rad_malloc(sizeof(float) * (size_t)B * R.K * m->cfg.vocab);
	R.jobs = rad_calloc(B, sizeof *R.jobs);
	R.streams = rad_calloc((size_t)B * R.K, sizeof *R.streams);
	for (int i = 0; i < ninputs; i++) {
		rad_jsonl *r = rad_jsonl_open(inputs[i], o->skip_invalid);
		json_t *v;
		while ((v = rad_jsonl_next(r))) {
			add(&R, v, rad_jsonl_where(r));
			if (R.njobs == B) run_batch(&R);
		}
		st->skipped += r->skipped;
		rad_jsonl_close(r);
	}
	if (R.njobs) run_batch(&R);
	rad_progress_done();
	rad_kv_cache_free(R.kv);
	rad_sampler_free(&R.sm);
	free(R.logits);
	free(R.jobs);
	free(R.streams);
	free(R.msgs);
}

void rad_generate_summary(const rad_gen_stats *st, int ctx)
{
	if (rad_verbose)
		rad_warn(NULL, "%lld prompts (%lld prompt tokens), %lld skipped; %lld responses, %lld tokens generated, %lld ended at "
		         "the end of turn; %.1f tokens/s overall, %.1f tokens/s in batched steps",
		         st->prompts, st->prompt_tokens, st->skipped, st->responses, st->tokens, st->stopped,
		         st->seconds > 0 ? st->tokens / st->seconds : 0.0,
		         st->decode_seconds > 0 ? (st->tokens - st->responses) / st->decode_seconds : 0.0);
	else if (st->skipped)
		rad_warn(NULL, "%lld of %lld prompts skipped: %lld longer than the model's context of %d tokens, %lld invalid "
		         "(--verbose names them)", st->skipped, st->prompts + st->skipped, st->too_long, ctx, st->skipped - st->too_long);
}
