/* rad-pack — tokenized pairs in, training batches out (lib/pack/pack.h does the work). */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/jsonl.h"
#include "pack/pack.h"
#include "stream/stream.h"

static const char usage[] =
"Usage: rad-pack [OPTION]... [FILE]...\n"
"Cut tokenized preference pairs (a \"pairs\" stream) into training batches (a \"batches\"\n"
"stream, rad-stream(5)).  With no FILE, or when FILE is -, read standard input.\n"
"\n"
"Truncation (as TRL's DPO trainer does it):\n"
"      --max-length N             tokens of prompt + completion per sequence\n"
"      --max-prompt-length N      a prompt cut keeps this many tokens\n"
"      --max-completion-length N  each completion keeps its first N tokens\n"
"      --truncation MODE          keep_end (default: cut the prompt's start) or keep_start\n"
"      --overflow POLICY          truncate (default) or drop pairs that are too long\n"
"Batches (one batch is one optimizer step):\n"
"  -p, --pairs N                  pairs per batch (default 8 without --max-tokens);\n"
"                                 one sequence per row, padded to the longest\n"
"  -t, --max-tokens N             padding-free packing: alone, each batch is one row of\n"
"                                 at most N tokens holding as many whole pairs as fit;\n"
"                                 with --pairs, the batch's sequences are packed into\n"
"                                 rows of N tokens\n"
"      --pad-multiple N           round the row width up to a multiple of N\n"
"      --group-by-length N        sort windows of N pairs by length before batching\n"
"      --drop-last                drop each epoch's last batch if it has fewer pairs\n"
"Order:\n"
"      --seed N                   shuffle seed (default 0)\n"
"      --shuffle-buffer N         shuffle through a buffer of N pairs (default 0: keep\n"
"                                 the input order)\n"
"      --full-shuffle             shuffle each whole epoch (holds all pairs in memory)\n"
"      --epochs N                 passes over the data (default 1)\n"
"Output:\n"
"  -o, --output FILE              write the batches to FILE instead of standard output\n"
"      --level N                  zstd level (default 1)\n"
"      --threads N                zstd worker threads\n"
"      --plan FILE                write the plan (batches, pairs, tokens, padding, counts)\n"
"                                 as one JSON object to FILE at the end\n"
"      --dry-run                  write no batches; print the plan on standard output\n"
"      --verbose                  a summary line of counts on standard error\n"
"      --help                     show this help and exit\n"
"      --version                  show the version and exit\n"
"\n"
"The header's meta records the number of batches (\"steps\") when it is known before the\n"
"first batch: always, except when one epoch is read from standard input without\n"
"--full-shuffle; then it is null and --plan, --dry-run or --verbose give it.\n"
"\n"
"Exit status: 0 success, 1 bad input, 2 bad usage.  See rad-pack(1), rad-stream(5).\n";

enum { OPT_MAXLEN = RAD_OPT_FIRST_TOOL, OPT_MAXPROMPT, OPT_MAXCOMP, OPT_TRUNCATION, OPT_OVERFLOW,
       OPT_PADMULT, OPT_GROUP, OPT_DROPLAST, OPT_SEED, OPT_SHUFBUF, OPT_FULLSHUF, OPT_EPOCHS,
       OPT_LEVEL, OPT_THREADS, OPT_PLAN, OPT_DRYRUN };

/* What one pass over the input made (the plan, then the writing, must agree). */
typedef struct out_stats {
	long long batches, pairs, seqs, rows, cells, tokens, loss_tokens, dropped_last;
	long long *epoch_batches;   /* [epochs] */
} out_stats;

static struct {
	rad_trunc_opts trunc;
	rad_packer_opts pack;
	int pad_multiple, epochs;
	uint64_t seed;
	char **inputs;
	int ninputs;
	char fingerprint[64];
	char *input_meta;
	rad_writer *w;          /* NULL while planning */
	const char *output;     /* where the writer goes, and how */
	int level, threads, lazy_writer;
	int epoch, count_input; /* count_input: the first read over the input counts it */
	long long read, cut_prompt, cut_completion, drop_long, drop_empty;
	out_stats st;
	char spool[64];
} g;

static void open_writer(int known);

static void spool_remove(void) { if (g.spool[0]) unlink(g.spool); }

/* A batch: counted, and written when there is a writer. */
static void on_batch(void *ctx, rad_pack_item *const *items, int n)
{
	(void)ctx;
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
	if (rad_pack_layout(len, nseq, g.pack.max_tokens, g.pad_multiple, row, start, &rows, &cols))
		rad_die(RAD_EXIT_DATA, NULL, "batch %lld: a sequence is longer than --max-tokens", g.st.batches);
	if (cols > (1 << 24) || (long long)rows * cols > (1 << 28))
		rad_die(RAD_EXIT_DATA, NULL, "batch %lld would be %d x %d tokens: set --max-length or fewer --pairs",
		        g.st.batches, rows, cols);
	free(len); free(row); free(start);
	if (g.w) {
		rad_batch b;
		rad_rec r;
		rad_pack_fill(&b, items, n, g.pack.max_tokens, g.pad_multiple);
		rad_rec_init(&r);
		rad_batch_to_rec(&b, &r);
		rad_rec_put_int(&r, "epoch", g.epoch);
		rad_rec_put_int(&r, "batch", g.st.batches);
		rad_writer_put(g.w, &r);
		rad_rec_free(&r);
		rad_batch_free(&b);
		rad_progress("%lld batches", g.st.batches + 1);
	}
	g.st.batches++;
	g.st.epoch_batches[g.epoch]++;
	g.st.pairs += n;
	g.st.seqs += nseq;
	g.st.rows += rows;
	g.st.cells += (long long)rows * cols;
	g.st.tokens += tokens;
	g.st.loss_tokens += loss;
}

static void free_item(void *ctx, rad_pack_item *it) { (void)ctx; rad_pack_item_free(it); }
static void keep_item(void *ctx, rad_pack_item *it) { (void)ctx; (void)it; }

/* Reads every input once, handing each kept pair (truncated, keyed for `epoch`) to put. */
static void read_pairs(void (*put)(void *, rad_pack_item *), void *ctx, int epoch)
{
	rad_rec rec;
	rad_pair p;
	size_t scratch_size = 4096;
	char *scratch = rad_malloc(scratch_size), where[512];
	uint64_t arrival = 0;
	rad_rec_init(&rec);
	for (int i = 0; i < g.ninputs; i++) {
		rad_reader *rd = rad_reader_open(i == 0 && g.spool[0] ? g.spool : g.inputs[i], RAD_KIND_PAIRS);
		const rad_header *h = rad_reader_header(rd);
		if (!g.input_meta) {
			snprintf(g.fingerprint, sizeof g.fingerprint, "%s", h->fingerprint);
			g.input_meta = rad_strdup(h->meta ? h->meta : "{}");
			if (g.lazy_writer) open_writer(0);   /* streaming: the header needs the fingerprint */
		} else if (strcmp(g.fingerprint, h->fingerprint)) {
			rad_die(RAD_EXIT_DATA, rad_reader_name(rd), "tokenizer fingerprint %s differs from %s of the first input",
			        h->fingerprint, g.fingerprint);
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
			int v = rad_pack_truncate(&g.trunc, p.n_prompt, p.n_chosen, p.n_rejected, &t);
			if (g.count_input) {
				g.read++;
				g.cut_prompt += t.prompt_cut;
				g.cut_completion += t.completion_cut;
				g.drop_long += v == RAD_TRUNC_DROP_LONG;
				g.drop_empty += v == RAD_TRUNC_DROP_EMPTY;
			}
			if (v == RAD_TRUNC_DROP_LONG || v == RAD_TRUNC_DROP_EMPTY) continue;
			rad_pack_item *it = rad_pack_item_new(&p, &t);
			it->key = rad_pack_key(it->id, g.seed, epoch);
			it->arrival = arrival++;
			put(ctx, it);
		}
		rad_reader_close(rd);
	}
	rad_rec_free(&rec);
	free(scratch);
	g.count_input = 0;
}

static void put_packer(void *ctx, rad_pack_item *it) { rad_packer_put(ctx, it); }

typedef struct { rad_pack_item **v; size_t n, cap; } item_list;
static void put_list(void *ctx, rad_pack_item *it)
{
	item_list *l = ctx;
	if (l->n == l->cap) l->v = rad_realloc(l->v, (l->cap = l->cap ? 2 * l->cap : 1024) * sizeof *l->v);
	l->v[l->n++] = it;
}

/* One pass over all epochs: from memory (full shuffle) or by reading the inputs again. */
static void run_pass(item_list *all)
{
	long long *per = g.st.epoch_batches;
	memset(&g.st, 0, sizeof g.st);
	memset(per, 0, g.epochs * sizeof *per);
	g.st.epoch_batches = per;
	rad_packer *pk = rad_packer_new(&g.pack, on_batch, all ? keep_item : free_item, NULL);
	for (g.epoch = 0; g.epoch < g.epochs; g.epoch++) {
		if (all) {
			for (size_t i = 0; i < all->n; i++) {
				all->v[i]->key = rad_pack_key(all->v[i]->id, g.seed, g.epoch);
				rad_packer_put(pk, all->v[i]);
			}
		} else {
			read_pairs(put_packer, pk, g.epoch);
		}
		rad_packer_end_epoch(pk);
	}
	g.st.dropped_last = rad_packer_dropped_last(pk);
	rad_packer_free(pk);
}

static json_t *opt_int(long long v) { return v > 0 ? json_integer(v) : json_null(); }

static json_t *plan_json(void)
{
	const out_stats *s = &g.st;
	json_t *o = json_object(), *per = json_array();
	for (int e = 0; e < g.epochs; e++) json_array_append_new(per, json_integer(s->epoch_batches[e]));
	json_object_set_new(o, "batches", json_integer(s->batches));
	json_object_set_new(o, "steps", json_integer(s->batches));
	json_object_set_new(o, "epochs", json_integer(g.epochs));
	json_object_set_new(o, "batches_per_epoch", per);
	json_object_set_new(o, "pairs_read", json_integer(g.read));
	json_object_set_new(o, "pairs", json_integer(s->pairs));
	json_object_set_new(o, "sequences", json_integer(s->seqs));
	json_object_set_new(o, "rows", json_integer(s->rows));
	json_object_set_new(o, "cells", json_integer(s->cells));
	json_object_set_new(o, "tokens", json_integer(s->tokens));
	json_object_set_new(o, "padding", json_integer(s->cells - s->tokens));
	json_object_set_new(o, "padding_fraction", json_real(s->cells ? (double)(s->cells - s->tokens) / s->cells : 0));
	json_object_set_new(o, "loss_tokens", json_integer(s->loss_tokens));
	json_object_set_new(o, "truncated_prompt", json_integer(g.cut_prompt));
	json_object_set_new(o, "truncated_completion", json_integer(g.cut_completion));
	json_object_set_new(o, "dropped_too_long", json_integer(g.drop_long));
	json_object_set_new(o, "dropped_empty", json_integer(g.drop_empty));
	json_object_set_new(o, "dropped_last", json_integer(s->dropped_last));
	return o;
}

/* The header: settings, and the plan's totals when `known`. */
static void open_writer(int known)
{
	json_t *m = json_object();
	json_object_set_new(m, "batches", known ? json_integer(g.st.batches) : json_null());
	json_object_set_new(m, "steps", known ? json_integer(g.st.batches) : json_null());
	json_object_set_new(m, "pairs", known ? json_integer(g.st.pairs) : json_null());
	json_object_set_new(m, "epochs", json_integer(g.epochs));
	json_object_set_new(m, "seed", json_integer((json_int_t)g.seed));
	json_object_set_new(m, "pairs_per_batch", opt_int(g.pack.pairs));
	json_object_set_new(m, "max_tokens", opt_int(g.pack.max_tokens));
	json_object_set_new(m, "pad_multiple", json_integer(g.pad_multiple));
	json_object_set_new(m, "max_length", opt_int(g.trunc.max_length));
	json_object_set_new(m, "max_prompt_length", opt_int(g.trunc.max_prompt_length));
	json_object_set_new(m, "max_completion_length", opt_int(g.trunc.max_completion_length));
	json_object_set_new(m, "truncation", json_string(g.trunc.keep_start ? "keep_start" : "keep_end"));
	json_object_set_new(m, "overflow", json_string(g.trunc.drop ? "drop" : "truncate"));
	json_object_set_new(m, "shuffle", g.pack.full_shuffle ? json_string("full") : json_integer(g.pack.shuffle_buffer));
	json_object_set_new(m, "group_by_length", json_integer(g.pack.group));
	json_object_set_new(m, "drop_last", json_boolean(g.pack.drop_last));
	json_t *in = json_loads(g.input_meta ? g.input_meta : "{}", 0, NULL);
	json_object_set_new(m, "input", in ? in : json_string(g.input_meta));
	rad_header h = {.version = RAD_STREAM_VERSION};
	snprintf(h.kind, sizeof h.kind, "%s", RAD_KIND_BATCHES);
	snprintf(h.fingerprint, sizeof h.fingerprint, "%s", g.fingerprint);
	h.meta = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
	g.w = rad_writer_open(g.output, &h, g.level, g.threads);
	g.lazy_writer = 0;
	free(h.meta);
	json_decref(m);
}

/* Copies standard input to a temporary stream, so later epochs can read it again. */
static void spool_stdin(void)
{
	const char *dir = getenv("TMPDIR");
	snprintf(g.spool, sizeof g.spool, "%s/rad-pack.XXXXXX", dir && strlen(dir) < 40 ? dir : "/tmp");
	int fd = mkstemp(g.spool);
	if (fd < 0) rad_die(RAD_EXIT_DATA, g.spool, "cannot create a spool file for standard input");
	close(fd);
	atexit(spool_remove);
	rad_reader *rd = rad_reader_open("-", RAD_KIND_PAIRS);
	rad_writer *w = rad_writer_open(g.spool, rad_reader_header(rd), 1, 0);
	rad_rec rec;
	rad_rec_init(&rec);
	while (rad_reader_next(rd, &rec)) rad_writer_put(w, &rec);
	rad_writer_close(w);
	rad_reader_close(rd);
	rad_rec_free(&rec);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"max-length", required_argument, 0, OPT_MAXLEN},
		{"max-prompt-length", required_argument, 0, OPT_MAXPROMPT},
		{"max-completion-length", required_argument, 0, OPT_MAXCOMP},
		{"truncation", required_argument, 0, OPT_TRUNCATION},
		{"overflow", required_argument, 0, OPT_OVERFLOW},
		{"pairs", required_argument, 0, 'p'},
		{"max-tokens", required_argument, 0, 't'},
		{"pad-multiple", required_argument, 0, OPT_PADMULT},
		{"group-by-length", required_argument, 0, OPT_GROUP},
		{"drop-last", no_argument, 0, OPT_DROPLAST},
		{"seed", required_argument, 0, OPT_SEED},
		{"shuffle-buffer", required_argument, 0, OPT_SHUFBUF},
		{"full-shuffle", no_argument, 0, OPT_FULLSHUF},
		{"epochs", required_argument, 0, OPT_EPOCHS},
		{"output", required_argument, 0, 'o'},
		{"level", required_argument, 0, OPT_LEVEL},
		{"threads", required_argument, 0, OPT_THREADS},
		{"plan", required_argument, 0, OPT_PLAN},
		{"dry-run", no_argument, 0, OPT_DRYRUN},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *plan = NULL;
	int dry_run = 0;
	const int maxn = 1 << 24;
	g.pad_multiple = 1;
	g.epochs = 1;
	g.output = "-";
	g.level = 1;
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "p:t:o:", opts, NULL)) != -1;) {
		switch (c) {
		case OPT_MAXLEN: g.trunc.max_length = rad_parse_int("max-length", optarg, 1, maxn); break;
		case OPT_MAXPROMPT: g.trunc.max_prompt_length = rad_parse_int("max-prompt-length", optarg, 1, maxn); break;
		case OPT_MAXCOMP: g.trunc.max_completion_length = rad_parse_int("max-completion-length", optarg, 1, maxn); break;
		case OPT_TRUNCATION:
			if (!strcmp(optarg, "keep_start")) g.trunc.keep_start = 1;
			else if (!strcmp(optarg, "keep_end")) g.trunc.keep_start = 0;
			else rad_usage_error("--truncation: '%s' is neither keep_end nor keep_start", optarg);
			break;
		case OPT_OVERFLOW:
			if (!strcmp(optarg, "drop")) g.trunc.drop = 1;
			else if (!strcmp(optarg, "truncate")) g.trunc.drop = 0;
			else rad_usage_error("--overflow: '%s' is neither truncate nor drop", optarg);
			break;
		case 'p': g.pack.pairs = rad_parse_int("pairs", optarg, 1, 1 << 20); break;
		case 't': g.pack.max_tokens = rad_parse_int("max-tokens", optarg, 2, maxn); break;
		case OPT_PADMULT: g.pad_multiple = rad_parse_int("pad-multiple", optarg, 1, 1 << 16); break;
		case OPT_GROUP: g.pack.group = rad_parse_int("group-by-length", optarg, 0, 1 << 30); break;
		case OPT_DROPLAST: g.pack.drop_last = 1; break;
		case OPT_SEED: g.seed = rad_parse_int("seed", optarg, 0, (1LL << 62)); break;
		case OPT_SHUFBUF: g.pack.shuffle_buffer = rad_parse_int("shuffle-buffer", optarg, 0, 1 << 30); break;
		case OPT_FULLSHUF: g.pack.full_shuffle = 1; break;
		case OPT_EPOCHS: g.epochs = rad_parse_int("epochs", optarg, 1, 100000); break;
		case 'o': g.output = optarg; break;
		case OPT_LEVEL: g.level = rad_parse_int("level", optarg, 1, 19); break;
		case OPT_THREADS: g.threads = rad_parse_int("threads", optarg, 0, 256); break;
		case OPT_PLAN: plan = optarg; break;
		case OPT_DRYRUN: dry_run = 1; break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (!g.pack.pairs && !g.pack.max_tokens) g.pack.pairs = 8;
	if (g.pack.drop_last && !g.pack.pairs) rad_usage_error("--drop-last needs --pairs");
	/* Every sequence must fit a row: alone, a row holds a whole pair. */
	int rowcap = g.pack.max_tokens ? (g.pack.pairs ? g.pack.max_tokens : g.pack.max_tokens / 2) : 0;
	if (rowcap && (!g.trunc.max_length || g.trunc.max_length > rowcap)) g.trunc.max_length = rowcap;
	if (g.trunc.max_length && g.trunc.max_prompt_length >= g.trunc.max_length)
		rad_usage_error("--max-prompt-length %d leaves no room for a completion within %d tokens%s",
		                g.trunc.max_prompt_length, g.trunc.max_length, rowcap ? " (set by --max-tokens)" : "");

	char *stdin_only[] = {"-"};
	g.inputs = optind < argc ? argv + optind : stdin_only;
	g.ninputs = optind < argc ? argc - optind : 1;
	int stdin_at = -1;
	for (int i = 0; i < g.ninputs; i++)
		if (!strcmp(g.inputs[i], "-")) {
			if (stdin_at >= 0) rad_usage_error("standard input named twice");
			stdin_at = i;
		}
	if (stdin_at >= 0 && g.epochs > 1 && !g.pack.full_shuffle) {
		if (g.ninputs > 1) rad_usage_error("--epochs with standard input: give standard input alone");
		spool_stdin();
	}
	int streaming = stdin_at >= 0 && !g.spool[0] && !g.pack.full_shuffle;

	item_list all = {0};
	g.st.epoch_batches = rad_calloc(g.epochs, sizeof *g.st.epoch_batches);
	g.count_input = 1;
	if (g.pack.full_shuffle) read_pairs(put_list, &all, 0);
	if (dry_run) {
		run_pass(g.pack.full_shuffle ? &all : NULL);
	} else {
		if (!streaming) run_pass(g.pack.full_shuffle ? &all : NULL);   /* the plan: counts only */
		long long planned = g.st.batches;
		if (streaming) g.lazy_writer = 1;
		else open_writer(1);
		run_pass(g.pack.full_shuffle ? &all : NULL);
		if (!streaming && g.st.batches != planned)
			rad_die(RAD_EXIT_DATA, NULL, "internal: %lld batches written, %lld planned", g.st.batches, planned);
		rad_writer_close(g.w);
	}
	rad_progress_done();
	json_t *pj = plan_json();
	if (dry_run) {
		rad_sink *k = rad_sink_open("-", 0, 0);
		rad_jsonl_write(k, pj);
		rad_sink_close(k);
	}
	if (plan) {
		rad_sink *k = rad_sink_open(plan, 0, 0);
		rad_jsonl_write(k, pj);
		rad_sink_close(k);
	}
	json_decref(pj);
	if (rad_verbose) {
		const out_stats *s = &g.st;
		rad_warn(NULL, "%lld batches (optimizer steps) in %d epoch%s: %lld pairs, %lld sequences, %lld rows, "
		         "%lld tokens, %lld padding (%.1f%%), %lld loss tokens; %lld pairs read, %lld with the prompt cut, "
		         "%lld with completions cut; dropped %lld too long, %lld empty, %lld in short last batches",
		         s->batches, g.epochs, g.epochs == 1 ? "" : "s", s->pairs, s->seqs, s->rows, s->tokens,
		         s->cells - s->tokens, s->cells ? 100.0 * (s->cells - s->tokens) / s->cells : 0.0,
		         s->loss_tokens, g.read, g.cut_prompt, g.cut_completion, g.drop_long, g.drop_empty,
		         s->dropped_last);
	}
	for (size_t i = 0; i < all.n; i++) rad_pack_item_free(all.v[i]);
	free(all.v);
	free(g.input_meta);
	free(g.st.epoch_batches);
	return 0;
}
