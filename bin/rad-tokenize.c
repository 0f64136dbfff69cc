/* rad-tokenize — relabeled preference pairs (JSONL) to a stream of token pairs, through a
 * chat template and a byte-level BPE tokenizer; or plain text to ids and back. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/io.h"
#include "base/jsonl.h"
#include "stream/pair.h"
#include "stream/stream.h"
#include "tok/chat_pair.h"
#include "tok/ids_text.h"
#include "tok/tokenizer.h"

static const char usage[] =
"Usage: rad-tokenize --tokenizer FILE [OPTION]... [FILE]...\n"
"Render relabeled preference pairs (JSON Lines) with a chat template, encode them with\n"
"a byte-level BPE tokenizer and write a rad stream of PAIR records (rad-stream(5)).\n"
"With no FILE, or when FILE is -, read standard input.\n"
"\n"
"  -t, --tokenizer FILE  tokenizer.json (or its directory), encoder.json (vocab.bpe\n"
"                        beside it), or a tiktoken rank file\n"
"      --pattern NAME    split pattern of a tiktoken file: gpt2, cl100k, o200k, llama3\n"
"                        (default: guessed from the file name)\n"
"  -T, --template NAME   chat template: chatml, qwen2.5, qwen3, llama3, gemma, zephyr,\n"
"                        mistral, plain, or a template file (default chatml)\n"
"      --special         added-token text inside message content (and, with --text,\n"
"                        in the input) becomes those tokens; by default it is text\n"
"      --text            encode all input as one text; print the ids on one line\n"
"      --decode          read ids (separated by white space); print their text\n"
"      --skip-special    with --decode: leave special tokens out\n"
"      --render          print each pair's rendered text as JSON Lines\n"
"                        {id, prompt, chosen, rejected} instead of tokens\n"
"      --skip-invalid    skip (and count) records that cannot be used\n"
"  -o, --output FILE     write to FILE instead of standard output\n"
"      --level N         zstd level of the stream (default 1)\n"
"      --verbose         a summary line of counts on standard error\n"
"      --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad input, 2 bad usage.\n"
"See rad-tokenize(1).\n";

enum { OPT_PATTERN = RAD_OPT_FIRST_TOOL, OPT_SPECIAL, OPT_TEXT, OPT_DECODE, OPT_SKIP_SPECIAL, OPT_RENDER,
       OPT_SKIP_INVALID, OPT_LEVEL };

static void text_mode(rad_tokenizer *tok, char **inputs, int ninputs, const char *output, int flags)
{
	char *in = NULL;
	size_t n = 0;
	for (int i = 0; i < ninputs; i++) in = rad_read_all(inputs[i], in, &n);
	rad_ids ids = {0};
	ids.cap = n / 3 + 64;   /* English runs about 4 bytes a token */
	ids.v = rad_malloc(ids.cap * sizeof *ids.v);
	rad_tok_encode(tok, in, n, flags, &ids);
	rad_sink *out = rad_sink_open(output, 0, 0);
	rad_ids_print(out, ids.v, ids.n);
	rad_sink_close(out);
	if (rad_verbose) rad_warn(NULL, "%zu bytes, %zu tokens", n, ids.n);
	rad_ids_free(&ids);
	free(in);
}

static void decode_mode(rad_tokenizer *tok, char **inputs, int ninputs, const char *output, int flags)
{
	rad_sink *out = rad_sink_open(output, 0, 0);
	rad_text text = {0};
	long long count = 0;
	char err[512];
	for (int i = 0; i < ninputs; i++) {
		size_t n = 0;
		char *in = rad_read_all(inputs[i], NULL, &n);
		text.n = 0;
		int bad = rad_tok_decode_text(tok, in, flags, &text, &count, err, sizeof err);
		rad_sink_write(out, text.s, text.n);   /* what came before a bad id, too */
		if (bad) rad_die(RAD_EXIT_DATA, inputs[i], "%s", err);
		free(in);
	}
	rad_sink_close(out);
	rad_text_free(&text);
	if (rad_verbose) rad_warn(NULL, "%lld tokens decoded", count);
}

/* The pairs stream's header: what decides the ids, and what a model trained on them needs. */
static rad_writer *open_pairs(rad_tokenizer *tok, rad_template *tp, const char *fp, const char *output,
                              int flags, int level)
{
	char tfp[20];
	snprintf(tfp, sizeof tfp, "%016llx", (unsigned long long)rad_tok_fingerprint(tok));
	json_t *meta = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "tokenizer", rad_tok_path(tok),
	                         "tokenizer_fingerprint", tfp, "template", rad_template_name(tp),
	                         "n_vocab", (json_int_t)rad_tok_n_vocab(tok), "eos", (json_int_t)rad_tok_eos(tok),
	                         "stop", (json_int_t)rad_template_stop_id(tp, tok), "special_in_content",
	                         (flags & RAD_TOK_SPECIAL) != 0);
	char *mt = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	rad_header h = {.version = RAD_STREAM_VERSION, .meta = mt};
	snprintf(h.kind, sizeof h.kind, "%s", RAD_KIND_PAIRS);
	snprintf(h.fingerprint, sizeof h.fingerprint, "%s", fp);
	rad_writer *w = rad_writer_open(output, &h, level, 0);
	free(mt);
	json_decref(meta);
	return w;
}

static void pairs_mode(rad_tokenizer *tok, rad_template *tp, char **inputs, int ninputs, const char *output,
                      int flags, int skip_invalid, int level, int render)
{
	char fp[64];
	rad_chat_fingerprint(tok, tp, fp);
	rad_writer *w = render ? NULL : open_pairs(tok, tp, fp, output, flags, level);
	rad_sink *rs = render ? rad_sink_open(output, 0, 0) : NULL;
	rad_rec rec;
	rad_rec_init(&rec);
	rad_chat_pair p = {0};
	long long pairs = 0, skipped = 0, forced = 0, ntok[3] = {0}, longest_prompt = 0, longest_seq = 0;
	char err[512];
	for (int i = 0; i < ninputs; i++) {
		rad_jsonl *in = rad_jsonl_open(inputs[i], skip_invalid);
		json_t *o, *text = NULL;
		while ((o = rad_jsonl_next(in))) {
			const char *why = rad_chat_pair_read(&p, o, err, sizeof err);
			if (!why && render && !(text = rad_chat_pair_render(&p, tp, tok, err, sizeof err))) why = err;
			if (!why && !render && rad_chat_pair_encode(&p, tok, tp, flags, &forced, err, sizeof err)) why = err;
			if (why) {
				if (!skip_invalid) rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "%s", why);
				if (rad_verbose) rad_warn(rad_jsonl_where(in), "%s; skipped", why);
				skipped++;
				json_decref(o);
				continue;
			}
			if (render) {
				rad_jsonl_write(rs, text);
				json_decref(text);
			} else {
				const rad_ids *pr = &p.prompt, *c = p.completions;
				rad_pair rp = {p.id, p.source_id, p.half, p.goal, p.score_chosen, p.score_rejected, pr->v, c[0].v,
				               c[1].v, (uint32_t)pr->n, (uint32_t)c[0].n, (uint32_t)c[1].n};
				rad_pair_to_rec(&rp, &rec);
				rad_writer_put(w, &rec);
				ntok[0] += pr->n, ntok[1] += c[0].n, ntok[2] += c[1].n;
				if ((long long)pr->n > longest_prompt) longest_prompt = pr->n;
				long long ls = pr->n + (c[0].n > c[1].n ? c[0].n : c[1].n);
				if (ls > longest_seq) longest_seq = ls;
			}
			pairs++;
			rad_progress("%lld pairs", pairs);
			json_decref(o);
		}
		skipped += in->skipped;
		rad_jsonl_close(in);
	}
	rad_progress_done();
	if (rad_verbose)
		rad_warn(NULL, "%lld pairs, %lld skipped; tokens: %lld prompt, %lld chosen, %lld rejected; longest prompt %lld, "
		         "longest prompt+completion %lld; %lld completions with a forced boundary; template %s, fingerprint %s",
		         pairs, skipped, ntok[0], ntok[1], ntok[2], longest_prompt, longest_seq, forced, rad_template_name(tp), fp);
	else if (skipped)
		rad_warn(NULL, "%lld of %lld records skipped as invalid (--verbose names them)", skipped, pairs + skipped);
	/* before the output is closed, so that a failure leaves none */
	if (skipped && !pairs) rad_die(RAD_EXIT_DATA, NULL, "no pairs: all %lld records were invalid", skipped);
	if (w) rad_writer_close(w);
	if (rs) rad_sink_close(rs);
	rad_rec_free(&rec);
	rad_chat_pair_free(&p);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tokenizer", required_argument, 0, 't'},
		{"template", required_argument, 0, 'T'},
		{"output", required_argument, 0, 'o'},
		{"pattern", required_argument, 0, OPT_PATTERN},
		{"special", no_argument, 0, OPT_SPECIAL},
		{"text", no_argument, 0, OPT_TEXT},
		{"decode", no_argument, 0, OPT_DECODE},
		{"skip-special", no_argument, 0, OPT_SKIP_SPECIAL},
		{"render", no_argument, 0, OPT_RENDER},
		{"skip-invalid", no_argument, 0, OPT_SKIP_INVALID},
		{"level", required_argument, 0, OPT_LEVEL},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *tokpath = NULL, *tplname = "chatml", *output = "-", *pattern = NULL;
	int flags = 0, text = 0, decode = 0, skip_special = 0, render = 0, skip_invalid = 0, level = 1;
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "t:T:o:", opts, NULL)) != -1;) {
		switch (c) {
		case 't': tokpath = optarg; break;
		case 'T': tplname = optarg; break;
		case 'o': output = optarg; break;
		case OPT_PATTERN: pattern = optarg; break;
		case OPT_SPECIAL: flags |= RAD_TOK_SPECIAL; break;
		case OPT_TEXT: text = 1; break;
		case OPT_DECODE: decode = 1; break;
		case OPT_SKIP_SPECIAL: skip_special = 1; break;
		case OPT_RENDER: render = 1; break;
		case OPT_SKIP_INVALID: skip_invalid = 1; break;
		case OPT_LEVEL: level = (int)rad_parse_int("level", optarg, 1, 19); break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (!tokpath) rad_usage_error("--tokenizer FILE is required");
	if (text + decode + render > 1) rad_usage_error("--text, --decode and --render exclude each other");
	if (skip_special && !decode) rad_usage_error("--skip-special goes with --decode");
	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;
	rad_template *tp = NULL;
	if (!text && !decode) tp = rad_template_open(tplname);
	rad_tokenizer *tok = rad_tokenizer_open(tokpath, pattern);
	if (rad_verbose) rad_warn(NULL, "%s", rad_tok_describe(tok));
	if (text) text_mode(tok, inputs, ninputs, output, flags);
	else if (decode) decode_mode(tok, inputs, ninputs, output, skip_special ? RAD_TOK_SKIP_SPECIAL : 0);
	else pairs_mode(tok, tp, inputs, ninputs, output, flags, skip_invalid, level, render);
	rad_template_free(tp);
	rad_tokenizer_free(tok);
	return 0;
}
