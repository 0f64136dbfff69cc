/* rad-tokenize — relabeled preference pairs (JSONL) to a stream of token pairs, through a
 * chat template and a byte-level BPE tokenizer; or plain text to ids and back. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tok/chat_template.h"
#include "base/cli.h"
#include "base/io.h"
#include "base/jsonl.h"
#include "stream/pair.h"
#include "stream/stream.h"
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

static void read_all(const char *path, rad_text *t)
{
	struct stat st;
	if (path && strcmp(path, "-") && !stat(path, &st) && S_ISREG(st.st_mode) && t->cap < t->n + (size_t)st.st_size + 1) {
		t->s = rad_realloc(t->s, t->n + (size_t)st.st_size + 1);   /* room for all of it (if not compressed) */
		t->cap = t->n + (size_t)st.st_size + 1;
	}
	rad_src *s = rad_src_open(path);
	char buf[1 << 16];
	size_t k;
	while ((k = rad_src_read(s, buf, sizeof buf)) > 0) rad_text_append(t, buf, k);
	rad_src_close(s);
	rad_text_append(t, "", 0);
}

static int text_mode(rad_tokenizer *tok, char **inputs, int ninputs, const char *output, int flags)
{
	rad_text in = {0};
	for (int i = 0; i < ninputs; i++) read_all(inputs[i], &in);
	rad_ids ids = {0};
	ids.cap = in.n / 3 + 64;   /* English runs about 4 bytes a token */
	ids.v = rad_malloc(ids.cap * sizeof *ids.v);
	rad_tok_encode(tok, in.s, in.n, flags, &ids);
	rad_sink *out = rad_sink_open(output, 0, 0);
	char buf[1 << 16];
	size_t bn = 0;
	for (size_t i = 0; i < ids.n; i++) {
		if (bn > sizeof buf - 16) { rad_sink_write(out, buf, bn); bn = 0; }
		if (i) buf[bn++] = ' ';
		char d[12];
		int k = 0;
		uint32_t v = (uint32_t)ids.v[i];
		do d[k++] = (char)('0' + v % 10); while ((v /= 10));
		while (k) buf[bn++] = d[--k];
	}
	rad_sink_write(out, buf, bn);
	rad_sink_write(out, "\n", 1);
	rad_sink_close(out);
	if (rad_verbose) rad_warn(NULL, "%zu bytes, %zu tokens", in.n, ids.n);
	rad_ids_free(&ids);
	rad_text_free(&in);
	return 0;
}

static int decode_mode(rad_tokenizer *tok, char **inputs, int ninputs, const char *output, int flags)
{
	rad_sink *out = rad_sink_open(output, 0, 0);
	rad_text text = {0};
	long long count = 0;
	for (int i = 0; i < ninputs; i++) {
		rad_text in = {0};
		read_all(inputs[i], &in);
		const char *p = in.s;
		while (*p) {
			while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
			if (!*p) break;
			char *e;
			long long v = strtoll(p, &e, 10);
			if (e == p || (*e && !strchr(" \n\t\r", *e)))
				rad_die(RAD_EXIT_DATA, inputs[i], "byte %zu: not a token id", (size_t)(p - in.s));
			if (v < 0 || v > INT32_MAX) rad_die(RAD_EXIT_DATA, inputs[i], "byte %zu: id %lld is not a token", (size_t)(p - in.s), v);
			int32_t id = (int32_t)v;
			text.n = 0;
			if (rad_tok_decode(tok, &id, 1, flags, &text))
				rad_die(RAD_EXIT_DATA, inputs[i], "byte %zu: id %d is not a token of %s", (size_t)(p - in.s), id, rad_tok_path(tok));
			rad_sink_write(out, text.s, text.n);
			count++;
			p = e;
		}
		rad_text_free(&in);
	}
	rad_sink_close(out);
	rad_text_free(&text);
	if (rad_verbose) rad_warn(NULL, "%lld tokens decoded", count);
	return 0;
}

/* One input record, checked.  Returns NULL or what is wrong. */
typedef struct pair_in {
	const char *id, *source_id, *half, *goal, *chosen, *rejected;
	double sc, sr;
	rad_msg *msgs;
	size_t nmsgs, cap;
} pair_in;

static const char *str_or(json_t *o, const char *k, const char *dflt, const char **out)
{
	json_t *v = json_object_get(o, k);
	if (!v || json_is_null(v)) { *out = dflt; return NULL; }
	if (!json_is_string(v)) return k;
	*out = json_string_value(v);
	return NULL;
}

static const char *read_pair(json_t *o, pair_in *p)
{
	static char msg[200];
	if (!json_is_object(o)) return "not a JSON object";
	const char *bad;
	if ((bad = str_or(o, "id", NULL, &p->id)) || !p->id) { snprintf(msg, sizeof msg, "\"id\" missing or not a string"); return msg; }
	if ((bad = str_or(o, "source_id", p->id, &p->source_id)) || (bad = str_or(o, "half", "", &p->half)) ||
	    (bad = str_or(o, "goal", "", &p->goal)) || (bad = str_or(o, "chosen", NULL, &p->chosen)) ||
	    (bad = str_or(o, "rejected", NULL, &p->rejected))) {
		snprintf(msg, sizeof msg, "\"%s\" is not a string", bad);
		return msg;
	}
	if (!p->chosen || !p->rejected) return p->chosen ? "\"rejected\" missing" : "\"chosen\" missing";
	const char *sk[2] = {"score_chosen", "score_rejected"};
	double *sd[2] = {&p->sc, &p->sr};
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(o, sk[i]);
		if (!v || json_is_null(v)) *sd[i] = NAN;
		else if (json_is_number(v)) *sd[i] = json_number_value(v);
		else { snprintf(msg, sizeof msg, "\"%s\" is not a number or null", sk[i]); return msg; }
	}
	json_t *pr = json_object_get(o, "prompt");
	p->nmsgs = 0;
	if (json_is_string(pr)) {   /* a bare prompt string is one user turn */
		if (!p->cap) { p->cap = 8; p->msgs = rad_malloc(p->cap * sizeof *p->msgs); }
		p->msgs[p->nmsgs++] = (rad_msg){"user", json_string_value(pr)};
		return NULL;
	}
	if (!json_is_array(pr) || !json_array_size(pr)) return "\"prompt\" is not a non-empty array of turns";
	size_t i;
	json_t *m;
	json_array_foreach(pr, i, m) {
		const char *role = NULL, *content = NULL;
		if (!json_is_object(m) || str_or(m, "role", NULL, &role) || str_or(m, "content", NULL, &content) || !role || !content) {
			snprintf(msg, sizeof msg, "prompt turn %zu: needs string \"role\" and \"content\"", i + 1);
			return msg;
		}
		if (p->nmsgs == p->cap) { p->cap = p->cap ? 2 * p->cap : 8; p->msgs = rad_realloc(p->msgs, p->cap * sizeof *p->msgs); }
		p->msgs[p->nmsgs++] = (rad_msg){role, content};
	}
	if (strcmp(p->msgs[p->nmsgs - 1].role, "user")) return "the last prompt turn is not a user turn";
	return NULL;
}

static int pairs_mode(rad_tokenizer *tok, rad_template *tp, char **inputs, int ninputs, const char *output,
                      int flags, int skip_invalid, int level, int render)
{
	rad_writer *w = NULL;
	rad_sink *rs = NULL;
	char fp[64];
	rad_chat_fingerprint(tok, tp, fp);
	if (render) {
		rs = rad_sink_open(output, 0, 0);
	} else {
		json_t *meta = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "tokenizer", rad_tok_path(tok),
		                         "tokenizer_fingerprint", fp, "template", rad_template_name(tp),
		                         "n_vocab", (json_int_t)rad_tok_n_vocab(tok), "eos", (json_int_t)rad_tok_eos(tok),
		                         "stop", (json_int_t)rad_template_stop_id(tp, tok), "special_in_content",
		                         (flags & RAD_TOK_SPECIAL) != 0);
		char tfp[20];
		snprintf(tfp, sizeof tfp, "%016llx", (unsigned long long)rad_tok_fingerprint(tok));
		json_object_set_new(meta, "tokenizer_fingerprint", json_string(tfp));
		char *mt = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
		rad_header h = {.version = RAD_STREAM_VERSION, .meta = mt};
		snprintf(h.kind, sizeof h.kind, "%s", RAD_KIND_PAIRS);
		snprintf(h.fingerprint, sizeof h.fingerprint, "%s", fp);
		w = rad_writer_open(output, &h, level, 0);
		free(mt);
		json_decref(meta);
	}
	rad_rec rec;
	rad_rec_init(&rec);
	rad_ids prompt = {0}, comp[2] = {{0}};
	rad_text txt[3] = {{0}};
	pair_in p = {0};
	long long pairs = 0, skipped = 0, forced = 0, ntok[3] = {0}, longest_prompt = 0, longest_seq = 0;
	char err[512];
	for (int i = 0; i < ninputs; i++) {
		rad_jsonl *in = rad_jsonl_open(inputs[i], skip_invalid);
		json_t *o;
		while ((o = rad_jsonl_next(in))) {
			const char *why = read_pair(o, &p);
			if (!why) {
				if (render) {
					const char *cs[2] = {p.chosen, p.rejected};
					for (int k = 0; k < 3 && !why; k++) {
						txt[k].n = 0;
						if (rad_chat_render(tp, tok, p.msgs, p.nmsgs, k ? cs[k - 1] : NULL, &txt[k], err, sizeof err)) why = err;
					}
				} else {
					const char *cs[2] = {p.chosen, p.rejected};
					prompt.n = comp[0].n = comp[1].n = 0;
					if (rad_chat_encode(tok, tp, p.msgs, p.nmsgs, cs, 2, flags, &prompt, comp, &forced, err, sizeof err)) why = err;
				}
			}
			if (why) {
				if (!skip_invalid) rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "%s", why);
				rad_warn(rad_jsonl_where(in), "%s; skipped", why);
				skipped++;
				json_decref(o);
				continue;
			}
			if (render) {
				json_t *j = json_object();
				json_object_set_new(j, "id", json_string(p.id));
				/* the completions follow the prompt text */
				json_object_set_new(j, "prompt", json_stringn(txt[0].s, txt[0].n));
				json_object_set_new(j, "chosen", json_stringn(txt[1].s + txt[0].n, txt[1].n - txt[0].n));
				json_object_set_new(j, "rejected", json_stringn(txt[2].s + txt[0].n, txt[2].n - txt[0].n));
				rad_jsonl_write(rs, j);
				json_decref(j);
			} else {
				rad_pair rp = {p.id, p.source_id, p.half, p.goal, p.sc, p.sr, prompt.v, comp[0].v, comp[1].v,
				               (uint32_t)prompt.n, (uint32_t)comp[0].n, (uint32_t)comp[1].n};
				rad_pair_to_rec(&rp, &rec);
				rad_writer_put(w, &rec);
				ntok[0] += prompt.n, ntok[1] += comp[0].n, ntok[2] += comp[1].n;
				if ((long long)prompt.n > longest_prompt) longest_prompt = prompt.n;
				long long ls = prompt.n + (comp[0].n > comp[1].n ? comp[0].n : comp[1].n);
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
	if (w) rad_writer_close(w);
	if (rs) rad_sink_close(rs);
	if (rad_verbose)
		rad_warn(NULL, "%lld pairs, %lld skipped; tokens: %lld prompt, %lld chosen, %lld rejected; longest prompt %lld, "
		         "longest prompt+completion %lld; %lld completions with a forced boundary; template %s, fingerprint %s",
		         pairs, skipped, ntok[0], ntok[1], ntok[2], longest_prompt, longest_seq, forced, rad_template_name(tp), fp);
	rad_rec_free(&rec);
	rad_ids_free(&prompt);
	rad_ids_free(&comp[0]);
	rad_ids_free(&comp[1]);
	for (int k = 0; k < 3; k++) rad_text_free(&txt[k]);
	free(p.msgs);
	return 0;
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
	int rc;
	if (text) rc = text_mode(tok, inputs, ninputs, output, flags);
	else if (decode) rc = decode_mode(tok, inputs, ninputs, output, skip_special ? RAD_TOK_SKIP_SPECIAL : 0);
	else rc = pairs_mode(tok, tp, inputs, ninputs, output, flags, skip_invalid, level, render);
	rad_template_free(tp);
	rad_tokenizer_free(tok);
	return rc;
}
