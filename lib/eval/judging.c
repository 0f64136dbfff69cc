/* eval/judging.c — the judge mode's records and the summaries of judged files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "eval/judging.h"
#include "eval/metrics.h"
#include "eval/judge.h"
#include "base/jsonl.h"

typedef struct jctx {
	char **inputs;
	int ninputs, cur;
	rad_jsonl *r;
	json_t *pending;         /* id -> record, sent and not scored */
	rad_sink *out;
} jctx;

/* What names one response to the judge and in a summary: the id, or for one of a
 * prompt's several samples (rad-eval generate --samples) "ID#K", K its "sample".  A new
 * string, or NULL when the record has no string id (or a "sample" that is not an integer). */
static json_t *response_key(const json_t *o)
{
	json_t *id = json_object_get(o, "id"), *k = json_object_get(o, "sample");
	if (!json_is_string(id) || (k && !json_is_integer(k))) return NULL;
	if (!k) return json_incref(id);
	return json_sprintf("%s#%" JSON_INTEGER_FORMAT, json_string_value(id), json_integer_value(k));
}

static int jnext(void *vp, char **id, char **line)
{
	jctx *c = vp;
	for (;;) {
		if (!c->r) {
			if (c->cur == c->ninputs) return 0;
			c->r = rad_jsonl_open(c->inputs[c->cur++], 0);
		}
		json_t *o = rad_jsonl_next(c->r);
		if (!o) { rad_jsonl_close(c->r); c->r = NULL; continue; }
		const char *where = rad_jsonl_where(c->r);
		json_t *resp = json_object_get(o, "response");
		if (json_is_object(o) && json_object_get(o, "responses"))
			rad_die(RAD_EXIT_DATA, where, "grouped responses: the judge takes one response per line (rad-eval generate "
			        "without --group)");
		json_t *jid = response_key(o);
		if (!jid || !json_is_string(resp))
			rad_die(RAD_EXIT_DATA, where, "not an object with a string \"id\" and \"response\"");
		if (json_object_get(c->pending, json_string_value(jid)))
			rad_die(RAD_EXIT_DATA, where, "record %s: the id is already waiting for a score (ids must be unique)",
			        json_string_value(jid));
		json_t *req = json_object();
		json_object_set_new(req, "id", jid);
		json_t *pr = json_object_get(o, "prompt");
		json_object_set_new(req, "prompt", pr ? json_incref(pr) : json_null());
		json_object_set(req, "response", resp);
		*line = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		*id = rad_strdup(json_string_value(jid));
		json_decref(req);
		json_object_set_new(c->pending, *id, o);
		return 1;
	}
}

static void jdone(void *vp, const char *id, double score)
{
	jctx *c = vp;
	json_t *o = json_object_get(c->pending, id);
	if (!o) return;
	json_object_set_new(o, "score", json_real(score));
	rad_jsonl_write(c->out, o);
	rad_sink_flush(c->out);
	json_object_del(c->pending, id);
}

const char *rad_eval_judge(const char *command, double timeout_s, char **inputs, int ninputs, rad_sink *out,
                           long long *sent, long long *scored)
{
	jctx c = {.inputs = inputs, .ninputs = ninputs, .pending = json_object(), .out = out};
	rad_judge_stats st;
	const char *e = rad_judge_run(command, timeout_s, jnext, jdone, &c, &st);
	if (c.r) rad_jsonl_close(c.r);
	json_decref(c.pending);
	*sent = st.sent;
	*scored = st.scored;
	return e;
}

/* One judged file: scores by id (for the win rate) and the sums. */
typedef struct judged {
	json_t *score_by_id;
	long long n, top;
	double sum;
	rad_groups goals;
} judged;

static void read_judged(const char *path, judged *j, double top)
{
	rad_jsonl *r = rad_jsonl_open(path, 0);
	json_t *o;
	j->score_by_id = json_object();
	while ((o = rad_jsonl_next(r))) {
		const char *where = rad_jsonl_where(r);
		json_t *id = json_is_object(o) ? response_key(o) : NULL, *sc = json_object_get(o, "score");
		json_t *goal = json_object_get(o, "goal");
		if (!id || !json_is_number(sc))
			rad_die(RAD_EXIT_DATA, where, "not a judged record (a string \"id\" and a numeric \"score\")");
		/* by length: ids and goals that differ after a NUL are different */
		const char *ids = json_string_value(id);
		size_t idn = json_string_length(id);
		if (json_object_getn(j->score_by_id, ids, idn))
			rad_die(RAD_EXIT_DATA, where, "record %s: the id appears twice", ids);
		double s = json_number_value(sc);
		json_object_setn_new(j->score_by_id, ids, idn, json_real(s));
		json_decref(id);
		j->n++;
		j->sum += s;
		j->top += s >= top;
		int has_goal = json_is_string(goal);
		rad_group *g = rad_groups_getn(&j->goals, has_goal ? json_string_value(goal) : "", has_goal ? json_string_length(goal) : 0);
		g->n++;
		g->sum[0] += s;
		json_decref(o);
	}
	rad_jsonl_close(r);
}

static json_t *real_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *rad_eval_summary(char **files, int nfiles, double top_score)
{
	judged *J = rad_calloc(nfiles, sizeof *J);
	json_t *o = json_object(), *fs = json_array();
	json_object_set_new(o, "mode", json_string("summary"));
	json_object_set_new(o, "top_score", json_real(top_score));
	for (int i = 0; i < nfiles; i++) {
		judged *j = &J[i];
		read_judged(files[i], j, top_score);
		json_t *f = json_object(), *ct = json_object();
		json_object_set_new(f, "file", json_string(files[i]));
		json_object_set_new(f, "records", json_integer(j->n));
		json_object_set_new(f, "mean", real_or_null(j->n ? j->sum / j->n : NAN));
		json_object_set_new(f, "top_share", real_or_null(j->n ? (double)j->top / j->n : NAN));
		rad_groups_sort(&j->goals);
		for (size_t k = 0; k < j->goals.n; k++) {
			const rad_group *g = &j->goals.g[k];
			json_t *e = json_pack("{s:I, s:o}", "n", (json_int_t)g->n, "mean", json_real(g->sum[0] / g->n));
			json_object_setn_new(ct, g->key, g->key_len, e);
		}
		json_object_set_new(f, "controllability", ct);
		json_array_append_new(fs, f);
	}
	json_object_set_new(o, "files", fs);
	if (nfiles == 2) {
		size_t n = 0, cap = json_object_size(J[0].score_by_id) + 1;
		double *a = rad_malloc(cap * sizeof *a), *b = rad_malloc(cap * sizeof *b);
		const char *id;
		size_t idn;
		json_t *v;
		json_object_keylen_foreach(J[0].score_by_id, id, idn, v) {
			json_t *w = json_object_getn(J[1].score_by_id, id, idn);
			if (!w) continue;
			a[n] = json_number_value(v);
			b[n] = json_number_value(w);
			n++;
		}
		long long wins, ties, losses;
		double rate = rad_win_rate(a, b, n, &wins, &ties, &losses);
		json_t *wr = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "a", files[0], "b", files[1], "matched", (json_int_t)n,
		                       "wins", (json_int_t)wins, "ties", (json_int_t)ties, "losses", (json_int_t)losses,
		                       "rate", real_or_null(rate));
		json_object_set_new(o, "win_rate", wr);
		free(a);
		free(b);
	}
	for (int i = 0; i < nfiles; i++) {
		json_decref(J[i].score_by_id);
		rad_groups_free(&J[i].goals);
	}
	free(J);
	return o;
}
