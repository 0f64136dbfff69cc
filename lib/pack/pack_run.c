/* pack/pack_run.c — a whole rad-pack run: the reads, the plan and the writing pass (see
 * pack_run.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pack/pack_run.h"
#include "base/cli.h"
#include "stream/stream.h"

/* Pairs held in memory for a full shuffle. */
typedef struct item_list { rad_pack_item **v; size_t n, cap; } item_list;

typedef struct run {
	const rad_pack_run_opts *o;
	char *const *inputs;
	int ninputs;
	rad_pack_counts *c;
	char fingerprint[64];     /* of the first input: every other must have the same */
	char *input_meta;         /* the first input's header meta, carried into the output's */
	rad_writer *w;            /* NULL while planning */
	int lazy_writer;          /* streaming: the header needs the first input's fingerprint */
	int epoch, count_input;   /* count_input: the first read over the input counts it */
} run;

/* The copy of standard input that later epochs read.  A file-scope name, because the
 * atexit handler that removes it takes no argument and must run even when rad_die exits. */
static char spool_path[64];

static void spool_remove(void) { if (spool_path[0]) unlink(spool_path); }

void rad_pack_run_opts_default(rad_pack_run_opts *o)
{
	*o = (rad_pack_run_opts){.pad_multiple = 1, .epochs = 1, .output = "-", .level = 1};
}

static void open_writer(run *R, int known);

/* A batch: counted, and written when there is a writer. */
static void on_batch(void *ctx, rad_pack_item *const *items, int n)
{
	run *R = ctx;
	const rad_pack_run_opts *o = R->o;
	rad_pack_counts *c = R->c;
	int rows, cols, nseq = 2 * n;
	long long tokens = 0, loss = 0;
	uint32_t *len = rad_malloc(nseq * sizeof *len);
	int32_t *row = rad_malloc(nseq * sizeof *row), *start = rad_malloc(nseq * sizeof *start);
	for (int i = 0; i < n; i++) {
		len[2 * i] = rad_pack_len_chosen(items[i]);
		len[2 * i + 1] = rad_pack_len_rejected(items[i]);
		tokens += len[2 * i] + len[2 * i + 1];
		loss += items[i]->n_chosen + items[i]->n_rejected - (items[i]->n_prompt ? 0 : 2);
	}
	if (rad_pack_layout(len, nseq, o->pack.max_tokens, o->pad_multiple, row, start, &rows, &cols))
		rad_die(RAD_EXIT_DATA, NULL, "batch %lld: a sequence is longer than --max-tokens", c->batches);
	if (cols > (1 << 24) || (long long)rows * cols > (1 << 28))
		rad_die(RAD_EXIT_DATA, NULL, "batch %lld would be %d x %d tokens: set --max-length or fewer --pairs",
		        c->batches, rows, cols);
	free(len); free(row); free(start);
	if (R->w) {
		rad_batch b;
		rad_rec r;
		rad_pack_fill(&b, items, n, o->pack.max_tokens, o->pad_multiple);
		rad_rec_init(&r);
		rad_batch_to_rec(&b, &r);
		rad_rec_put_int(&r, "epoch", R->epoch);
		rad_rec_put_int(&r, "batch", c->batches);
		rad_writer_put(R->w, &r);
		rad_rec_free(&r);
		rad_batch_free(&b);
		rad_progress("%lld batches", c->batches + 1);
	}
	c->batches++;
	c->epoch_batches[R->epoch]++;
	c->pairs += n;
	c->seqs += nseq;
	c->rows += rows;
	c->cells += (long long)rows * cols;
	c->tokens += tokens;
	c->loss_tokens += loss;
}

static void free_item(void *ctx, rad_pack_item *it) { (void)ctx; rad_pack_item_free(it); }
static void keep_item(void *ctx, rad_pack_item *it) { (void)ctx; (void)it; }

/* Reads every input once, handing each kept pair (truncated, keyed for `epoch`) to put. */
static void read_pairs(run *R, void (*put)(void *, rad_pack_item *), void *ctx, int epoch)
{
	rad_pack_counts *c = R->c;
	rad_rec rec;
	rad_pair p;
	size_t scratch_size = 4096;
	char *scratch = rad_malloc(scratch_size), where[512];
	uint64_t arrival = 0;
	rad_rec_init(&rec);
	for (int i = 0; i < R->ninputs; i++) {
		int spooled = spool_path[0] && !strcmp(R->inputs[i], "-");
		rad_reader *rd = rad_reader_open(spooled ? spool_path : R->inputs[i], RAD_KIND_PAIRS);
		const rad_header *h = rad_reader_header(rd);
		if (!R->input_meta) {
			snprintf(R->fingerprint, sizeof R->fingerprint, "%s", h->fingerprint);
			R->input_meta = rad_strdup(h->meta ? h->meta : "{}");
			if (R->lazy_writer) open_writer(R, 0);
		} else if (strcmp(R->fingerprint, h->fingerprint)) {
			rad_die(RAD_EXIT_DATA, rad_reader_name(rd), "tokenizer fingerprint %s differs from %s of the first input",
			        h->fingerprint, R->fingerprint);
		}
		while (rad_reader_next(rd, &rec)) {
			snprintf(where, sizeof where, "%s: record %lld", rad_reader_name(rd), rad_reader_record_no(rd));
			char tname[5];
			if (rec.type != RAD_REC_PAIR)
				rad_die(RAD_EXIT_DATA, where, "a %s record in a pairs stream", rad_type_name(rec.type, tname));
			if (rec.len + 64 > scratch_size) {
				scratch_size = rec.len + 64;
				scratch = rad_realloc(scratch, scratch_size);
			}
			const char *err = rad_pair_from_rec(&rec, &p, scratch, scratch_size);
			if (!err) err = rad_pack_check_pair(&p);
			if (err) rad_die(RAD_EXIT_DATA, where, "%s", err);
			rad_trunc t;
			int v = rad_pack_truncate(&R->o->trunc, p.n_prompt, p.n_chosen, p.n_rejected, &t);
			if (R->count_input) {
				c->read++;
				c->cut_prompt += t.prompt_cut;
				c->cut_completion += t.completion_cut;
				c->drop_long += v == RAD_TRUNC_DROP_LONG;
				c->drop_empty += v == RAD_TRUNC_DROP_EMPTY;
			}
			if (v == RAD_TRUNC_DROP_LONG || v == RAD_TRUNC_DROP_EMPTY) continue;
			rad_pack_item *it = rad_pack_item_new(&p, &t);
			it->key = rad_pack_key(it->id, R->o->seed, epoch);
			it->arrival = arrival++;
			put(ctx, it);
		}
		rad_reader_close(rd);
	}
	rad_rec_free(&rec);
	free(scratch);
	R->count_input = 0;
}

static void put_packer(void *ctx, rad_pack_item *it) { rad_packer_put(ctx, it); }

static void put_list(void *ctx, rad_pack_item *it)
{
	item_list *l = ctx;
	if (l->n == l->cap) l->v = rad_realloc(l->v, (l->cap = l->cap ? 2 * l->cap : 1024) * sizeof *l->v);
	l->v[l->n++] = it;
}

/* One pass over all epochs: from memory (full shuffle) or by reading the inputs again. */
static void run_pass(run *R, item_list *all)
{
	const rad_pack_run_opts *o = R->o;
	rad_pack_counts *c = R->c;
	/* the output is made anew; what the input held stays counted */
	c->batches = c->pairs = c->seqs = c->rows = c->cells = c->tokens = c->loss_tokens = c->dropped_last = 0;
	memset(c->epoch_batches, 0, o->epochs * sizeof *c->epoch_batches);
	rad_packer *pk = rad_packer_new(&o->pack, on_batch, all ? keep_item : free_item, R);
	for (R->epoch = 0; R->epoch < o->epochs; R->epoch++) {
		if (all) {
			for (size_t i = 0; i < all->n; i++) {
				all->v[i]->key = rad_pack_key(all->v[i]->id, o->seed, R->epoch);
				rad_packer_put(pk, all->v[i]);
			}
		} else {
			read_pairs(R, put_packer, pk, R->epoch);
		}
		rad_packer_end_epoch(pk);
	}
	c->dropped_last = rad_packer_dropped_last(pk);
	rad_packer_free(pk);
}

static json_t *opt_int(long long v) { return v > 0 ? json_integer(v) : json_null(); }

json_t *rad_pack_plan_json(const rad_pack_run_opts *o, const rad_pack_counts *c)
{
	json_t *j = json_object(), *per = json_array();
	for (int e = 0; e < o->epochs; e++) json_array_append_new(per, json_integer(c->epoch_batches[e]));
	json_object_set_new(j, "batches", json_integer(c->batches));
	json_object_set_new(j, "steps", json_integer(c->batches));
	json_object_set_new(j, "epochs", json_integer(o->epochs));
	json_object_set_new(j, "batches_per_epoch", per);
	json_object_set_new(j, "pairs_read", json_integer(c->read));
	json_object_set_new(j, "pairs", json_integer(c->pairs));
	json_object_set_new(j, "sequences", json_integer(c->seqs));
	json_object_set_new(j, "rows", json_integer(c->rows));
	json_object_set_new(j, "cells", json_integer(c->cells));
	json_object_set_new(j, "tokens", json_integer(c->tokens));
	json_object_set_new(j, "padding", json_integer(c->cells - c->tokens));
	json_object_set_new(j, "padding_fraction", json_real(c->cells ? (double)(c->cells - c->tokens) / c->cells : 0));
	json_object_set_new(j, "loss_tokens", json_integer(c->loss_tokens));
	json_object_set_new(j, "truncated_prompt", json_integer(c->cut_prompt));
	json_object_set_new(j, "truncated_completion", json_integer(c->cut_completion));
	json_object_set_new(j, "dropped_too_long", json_integer(c->drop_long));
	json_object_set_new(j, "dropped_empty", json_integer(c->drop_empty));
	json_object_set_new(j, "dropped_last", json_integer(c->dropped_last));
	return j;
}

/* The header: settings, and the plan's totals when `known`. */
static void open_writer(run *R, int known)
{
	const rad_pack_run_opts *o = R->o;
	json_t *m = json_object();
	json_object_set_new(m, "batches", known ? json_integer(R->c->batches) : json_null());
	json_object_set_new(m, "steps", known ? json_integer(R->c->batches) : json_null());
	json_object_set_new(m, "pairs", known ? json_integer(R->c->pairs) : json_null());
	json_object_set_new(m, "epochs", json_integer(o->epochs));
	json_object_set_new(m, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(m, "pairs_per_batch", opt_int(o->pack.pairs));
	json_object_set_new(m, "max_tokens", opt_int(o->pack.max_tokens));
	json_object_set_new(m, "pad_multiple", json_integer(o->pad_multiple));
	json_object_set_new(m, "max_length", opt_int(o->trunc.max_length));
	json_object_set_new(m, "max_prompt_length", opt_int(o->trunc.max_prompt_length));
	json_object_set_new(m, "max_completion_length", opt_int(o->trunc.max_completion_length));
	json_object_set_new(m, "truncation", json_string(o->trunc.keep_start ? "keep_start" : "keep_end"));
	json_object_set_new(m, "overflow", json_string(o->trunc.drop ? "drop" : "truncate"));
	json_object_set_new(m, "shuffle", o->pack.full_shuffle ? json_string("full") : json_integer(o->pack.shuffle_buffer));
	json_object_set_new(m, "group_by_length", json_integer(o->pack.group));
	json_object_set_new(m, "drop_last", json_boolean(o->pack.drop_last));
	json_t *in = json_loads(R->input_meta ? R->input_meta : "{}", 0, NULL);
	json_object_set_new(m, "input", in ? in : json_string(R->input_meta));
	rad_header h = {.version = RAD_STREAM_VERSION};
	snprintf(h.kind, sizeof h.kind, "%s", RAD_KIND_BATCHES);
	snprintf(h.fingerprint, sizeof h.fingerprint, "%s", R->fingerprint);
	h.meta = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
	R->w = rad_writer_open(o->output, &h, o->level, o->threads);
	R->lazy_writer = 0;
	free(h.meta);
	json_decref(m);
}

/* What was dropped, by reason, as one phrase ("14 too long for --max-length 1024, ..."). */
static void drops_text(const rad_pack_run_opts *o, const rad_pack_counts *c, char *out, size_t n)
{
	size_t k = 0;
	out[0] = 0;
	if (c->drop_long) {
		if (o->trunc.drop) k += snprintf(out + k, n - k, "%lld too long (--overflow drop)", c->drop_long);
		else k += snprintf(out + k, n - k, "%lld too long for --max-length %d%s", c->drop_long, o->trunc.max_length,
		                   o->trunc.max_prompt_length ? "" : " (their prompts fill it: --max-prompt-length N cuts a prompt to N tokens and keeps the pair)");
	}
	if (c->drop_empty && k < n)
		k += snprintf(out + k, n - k, "%s%lld with an empty completion", k ? ", " : "", c->drop_empty);
	if (c->dropped_last && k < n)
		snprintf(out + k, n - k, "%s%lld in short last batches (--drop-last)", k ? ", " : "", c->dropped_last);
}

/* Pairs came in and no batch goes out: the run is a failure, not an empty success. */
static void no_batch_is_fatal(const rad_pack_run_opts *o, const rad_pack_counts *c)
{
	if (c->batches || !c->read) return;
	char why[512];
	drops_text(o, c, why, sizeof why);
	rad_die(RAD_EXIT_DATA, NULL, "no batch: all %lld pairs were dropped: %s", c->read, why);
}

void rad_pack_report_drops(const rad_pack_run_opts *o, const rad_pack_counts *c)
{
	if (!c->drop_long && !c->drop_empty && !c->dropped_last) return;
	char why[512];
	drops_text(o, c, why, sizeof why);
	rad_warn(NULL, "%lld of %lld pairs dropped: %s", c->drop_long + c->drop_empty + c->dropped_last, c->read, why);
}

/* Copies standard input to a temporary stream, so later epochs can read it again. */
static void spool_stdin(void)
{
	const char *dir = getenv("TMPDIR");
	snprintf(spool_path, sizeof spool_path, "%s/rad-pack.XXXXXX", dir && strlen(dir) < 40 ? dir : "/tmp");
	int fd = mkstemp(spool_path);
	if (fd < 0) rad_die(RAD_EXIT_DATA, spool_path, "cannot create a spool file for standard input");
	close(fd);
	atexit(spool_remove);
	rad_reader *rd = rad_reader_open("-", RAD_KIND_PAIRS);
	rad_writer *w = rad_writer_open(spool_path, rad_reader_header(rd), 1, 0);
	rad_rec rec;
	rad_rec_init(&rec);
	while (rad_reader_next(rd, &rec)) rad_writer_put(w, &rec);
	rad_writer_close(w);
	rad_reader_close(rd);
	rad_rec_free(&rec);
}

void rad_pack_run(const rad_pack_run_opts *o, char *const *inputs, int ninputs, rad_pack_counts *c)
{
	run R = {.o = o, .inputs = inputs, .ninputs = ninputs, .c = c, .count_input = 1};
	memset(c, 0, sizeof *c);
	c->epoch_batches = rad_calloc(o->epochs, sizeof *c->epoch_batches);
	int from_stdin = 0;
	for (int i = 0; i < ninputs; i++) from_stdin |= !strcmp(inputs[i], "-");
	if (from_stdin && o->epochs > 1 && !o->pack.full_shuffle) spool_stdin();
	int streaming = from_stdin && !spool_path[0] && !o->pack.full_shuffle;

	item_list all = {0}, *mem = o->pack.full_shuffle ? &all : NULL;
	if (mem) read_pairs(&R, put_list, mem, 0);
	if (o->dry_run) {
		run_pass(&R, mem);
		no_batch_is_fatal(o, c);
	} else {
		if (!streaming) run_pass(&R, mem);   /* the plan: counts only */
		if (!streaming) no_batch_is_fatal(o, c);
		long long planned = c->batches;
		if (streaming) R.lazy_writer = 1;
		else open_writer(&R, 1);
		run_pass(&R, mem);
		if (!streaming && c->batches != planned)
			rad_die(RAD_EXIT_DATA, NULL, "internal: %lld batches written, %lld planned", c->batches, planned);
		no_batch_is_fatal(o, c);   /* streaming: only now known; the output is removed */
		rad_writer_close(R.w);
	}
	rad_progress_done();
	for (size_t i = 0; i < all.n; i++) rad_pack_item_free(all.v[i]);
	free(all.v);
	free(R.input_meta);
}

void rad_pack_counts_free(rad_pack_counts *c)
{
	free(c->epoch_batches);
	c->epoch_batches = NULL;
}
