/* tok/chat_template.c — chat templates: the built-ins, the template file format, rendering
 * turns around content, and encoding prompts and completions under the boundary rule. */
#include "tok/chat_template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/cli.h"

enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, N_ROLES };
static const char *role_names[N_ROLES] = {"system", "user", "assistant"};
enum { SYS_YES, SYS_NO, SYS_MERGE };

struct rad_template {
	char *name;
	char *bos;                      /* text before the first turn */
	char *pre[N_ROLES], *post[N_ROLES];   /* a turn is pre + content + post */
	int have[N_ROLES];
	char *gen;                      /* the assistant header before a completion (default pre[ASSISTANT]) */
	char *default_system;           /* system content when the prompt has no system turn, or NULL */
	char *stop;                     /* the end-of-turn token's text */
	int trim;                       /* strip whitespace around content */
	int system_role;                /* SYS_YES, SYS_NO, SYS_MERGE */
	uint64_t fp;
};

/* The built-ins, written in the template file format. */
static const struct { const char *name, *text; } builtins[] = {
	{"chatml",
	 "system = \"<|im_start|>system\\n{content}<|im_end|>\\n\"\n"
	 "user = \"<|im_start|>user\\n{content}<|im_end|>\\n\"\n"
	 "assistant = \"<|im_start|>assistant\\n{content}<|im_end|>\\n\"\n"
	 "stop = \"<|im_end|>\"\n"},
	{"qwen2.5",
	 "system = \"<|im_start|>system\\n{content}<|im_end|>\\n\"\n"
	 "default_system = \"You are Qwen, created by Alibaba Cloud. You are a helpful assistant.\"\n"
	 "user = \"<|im_start|>user\\n{content}<|im_end|>\\n\"\n"
	 "assistant = \"<|im_start|>assistant\\n{content}<|im_end|>\\n\"\n"
	 "stop = \"<|im_end|>\"\n"},
	{"qwen3",
	 "system = \"<|im_start|>system\\n{content}<|im_end|>\\n\"\n"
	 "user = \"<|im_start|>user\\n{content}<|im_end|>\\n\"\n"
	 "assistant = \"<|im_start|>assistant\\n{content}<|im_end|>\\n\"\n"
	 "generation = \"<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n\"\n"
	 "stop = \"<|im_end|>\"\n"},
	{"llama3",
	 "bos = \"<|begin_of_text|>\"\n"
	 "system = \"<|start_header_id|>system<|end_header_id|>\\n\\n{content}<|eot_id|>\"\n"
	 "user = \"<|start_header_id|>user<|end_header_id|>\\n\\n{content}<|eot_id|>\"\n"
	 "assistant = \"<|start_header_id|>assistant<|end_header_id|>\\n\\n{content}<|eot_id|>\"\n"
	 "stop = \"<|eot_id|>\"\n"
	 "trim = yes\n"},
	{"gemma",
	 "bos = \"<bos>\"\n"
	 "user = \"<start_of_turn>user\\n{content}<end_of_turn>\\n\"\n"
	 "assistant = \"<start_of_turn>model\\n{content}<end_of_turn>\\n\"\n"
	 "stop = \"<end_of_turn>\"\n"
	 "trim = yes\n"
	 "system_role = no\n"},
	{"zephyr",
	 "system = \"<|system|>\\n{content}{eos}\\n\"\n"
	 "user = \"<|user|>\\n{content}{eos}\\n\"\n"
	 "assistant = \"<|assistant|>\\n{content}{eos}\\n\"\n"
	 "stop = \"{eos}\"\n"},
	{"mistral",
	 "bos = \"{bos}\"\n"
	 "user = \"[INST] {content} [/INST]\"\n"
	 "assistant = \"{content}{eos}\"\n"
	 "stop = \"{eos}\"\n"
	 "system_role = merge\n"},
	{"plain",
	 "system = \"{content}\\n\\n\"\n"
	 "user = \"{content}\\n\\n\"\n"
	 "assistant = \"{content}\\n\\n\"\n"
	 "stop = \"{eos}\"\n"},
};

const char *rad_template_builtins(void) { return "chatml qwen2.5 qwen3 llama3 gemma zephyr mistral plain"; }

__attribute__((format(printf, 3, 4)))
static int err_set(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/* A value: "quoted with \n \t \r \\ \" escapes" or bare (trimmed, same escapes). */
static int parse_value(const char *s, rad_text *out, const char **why)
{
	out->n = 0;
	rad_text_append(out, "", 0);
	while (*s == ' ' || *s == '\t') s++;
	int quoted = *s == '"';
	if (quoted) s++;
	const char *end = s + strlen(s);
	if (!quoted) while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
	for (const char *p = s; p < end; p++) {
		char c = *p;
		if (quoted && c == '"') {
			const char *q = p + 1;
			while (*q == ' ' || *q == '\t' || *q == '\r') q++;
			if (*q) { *why = "text after the closing quote"; return -1; }
			return 0;
		}
		if (c == '\\') {
			c = *++p;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '\\': case '"': break;
			default: *why = "unknown escape (\\n \\t \\r \\\\ \\\" are known)"; return -1;
			}
		}
		rad_text_append(out, &c, 1);
	}
	if (quoted) { *why = "no closing quote"; return -1; }
	return 0;
}

static int parse_template(rad_template *tp, const char *text, const char *where, char *err, size_t errsz)
{
	rad_text v = {0};
	char *fmt[N_ROLES] = {0};
	int lineno = 0, rc = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = rad_malloc(n + 1);
		memcpy(line, p, n);
		line[n] = 0;
		p += n + (nl ? 1 : 0);
		lineno++;
		char *s = line;
		while (*s == ' ' || *s == '\t') s++;
		if (!*s || *s == '#' || *s == '\r') { free(line); continue; }
		char *eq = strchr(s, '=');
		if (!eq) { rc = err_set(err, errsz, "%s:%d: expected \"key = value\"", where, lineno); free(line); break; }
		char *ke = eq;
		while (ke > s && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
		*ke = 0;
		const char *why = NULL;
		if (parse_value(eq + 1, &v, &why)) {
			rc = err_set(err, errsz, "%s:%d: %s", where, lineno, why);
			free(line);
			break;
		}
		int r;
		for (r = 0; r < N_ROLES && strcmp(s, role_names[r]); r++) {}
		if (r < N_ROLES) {
			free(fmt[r]);
			fmt[r] = rad_strdup(v.s);
		} else if (!strcmp(s, "bos")) {
			free(tp->bos);
			tp->bos = rad_strdup(v.s);
		} else if (!strcmp(s, "generation")) {
			free(tp->gen);
			tp->gen = rad_strdup(v.s);
		} else if (!strcmp(s, "default_system")) {
			free(tp->default_system);
			tp->default_system = rad_strdup(v.s);
		} else if (!strcmp(s, "stop")) {
			free(tp->stop);
			tp->stop = rad_strdup(v.s);
		} else if (!strcmp(s, "trim")) {
			if (strcmp(v.s, "yes") && strcmp(v.s, "no")) { rc = err_set(err, errsz, "%s:%d: trim is yes or no", where, lineno); free(line); break; }
			tp->trim = !strcmp(v.s, "yes");
		} else if (!strcmp(s, "system_role")) {
			if (!strcmp(v.s, "yes")) tp->system_role = SYS_YES;
			else if (!strcmp(v.s, "no")) tp->system_role = SYS_NO;
			else if (!strcmp(v.s, "merge")) tp->system_role = SYS_MERGE;
			else { rc = err_set(err, errsz, "%s:%d: system_role is yes, no or merge", where, lineno); free(line); break; }
		} else if (!strcmp(s, "name")) {
			free(tp->name);
			tp->name = rad_strdup(v.s);
		} else {
			rc = err_set(err, errsz, "%s:%d: unknown key \"%s\" (name, bos, system, default_system, user, assistant, generation, stop, trim, system_role)", where, lineno, s);
			free(line);
			break;
		}
		free(line);
	}
	for (int r = 0; r < N_ROLES && !rc; r++) {
		if (!fmt[r]) {
			if (r == ROLE_SYSTEM) { if (tp->system_role == SYS_YES) tp->system_role = SYS_NO; continue; }
			rc = err_set(err, errsz, "%s: no %s format", where, role_names[r]);
			break;
		}
		char *c = strstr(fmt[r], "{content}");
		if (!c || strstr(c + 1, "{content}")) {
			rc = err_set(err, errsz, "%s: the %s format must hold {content} exactly once", where, role_names[r]);
			break;
		}
		tp->have[r] = 1;
		tp->pre[r] = rad_malloc(c - fmt[r] + 1);
		memcpy(tp->pre[r], fmt[r], c - fmt[r]);
		tp->pre[r][c - fmt[r]] = 0;
		tp->post[r] = rad_strdup(c + 9);
	}
	if (!rc && (!tp->stop || !*tp->stop)) rc = err_set(err, errsz, "%s: no stop (the end-of-turn token)", where);
	if (!tp->bos) tp->bos = rad_strdup("");
	if (!rc && !tp->gen) tp->gen = rad_strdup(tp->pre[ROLE_ASSISTANT]);
	if (!rc && tp->default_system && tp->system_role == SYS_NO)
		rc = err_set(err, errsz, "%s: default_system needs a system role", where);
	for (int r = 0; r < N_ROLES; r++) free(fmt[r]);
	rad_text_free(&v);
	return rc;
}

static void fingerprint(rad_template *tp)
{
	uint64_t h = rad_hash64("rad-template-1", 14, RAD_HASH_SEED);
	h = rad_hash64(tp->bos, strlen(tp->bos) + 1, h);
	for (int r = 0; r < N_ROLES; r++) {
		h = rad_hash64(&tp->have[r], sizeof tp->have[r], h);
		if (!tp->have[r]) continue;
		h = rad_hash64(tp->pre[r], strlen(tp->pre[r]) + 1, h);
		h = rad_hash64(tp->post[r], strlen(tp->post[r]) + 1, h);
	}
	h = rad_hash64(tp->gen, strlen(tp->gen) + 1, h);
	h = rad_hash64(tp->default_system ? tp->default_system : "", tp->default_system ? strlen(tp->default_system) + 1 : 0, h);
	h = rad_hash64(tp->stop, strlen(tp->stop) + 1, h);
	int f[2] = {tp->trim, tp->system_role};
	tp->fp = rad_hash64(f, sizeof f, h);
}

rad_template *rad_template_load(const char *name_or_path, char *err, size_t errsz)
{
	rad_template *tp = rad_calloc(1, sizeof *tp);
	const char *text = NULL;
	char *file = NULL;
	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
		if (!strcmp(builtins[i].name, name_or_path)) text = builtins[i].text;
	if (!text) {
		FILE *f = fopen(name_or_path, "rb");
		if (!f) {
			if (!strchr(name_or_path, '/') && !strchr(name_or_path, '.'))
				err_set(err, errsz, "unknown template \"%s\" (built-ins: %s; or a template file)", name_or_path, rad_template_builtins());
			else
				err_set(err, errsz, "%s: %s", name_or_path, strerror(errno));
			free(tp);
			return NULL;
		}
		rad_text buf = {0};
		char chunk[4096];
		size_t k;
		while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) rad_text_append(&buf, chunk, k);
		fclose(f);
		rad_text_append(&buf, "", 0);
		if (strlen(buf.s) != buf.n) {
			err_set(err, errsz, "%s: a NUL byte in a template file", name_or_path);
			rad_text_free(&buf);
			free(tp);
			return NULL;
		}
		file = buf.s;
		text = file;
	}
	if (parse_template(tp, text, name_or_path, err, errsz)) {
		free(file);
		rad_template_free(tp);
		return NULL;
	}
	free(file);
	if (!tp->name) {
		const char *b = strrchr(name_or_path, '/');
		tp->name = rad_strdup(b ? b + 1 : name_or_path);
	}
	fingerprint(tp);
	return tp;
}

rad_template *rad_template_open(const char *name_or_path)
{
	char err[512];
	rad_template *tp = rad_template_load(name_or_path, err, sizeof err);
	if (!tp) rad_die(strncmp(err, "unknown template", 16) ? RAD_EXIT_DATA : RAD_EXIT_USAGE, NULL, "%s", err);
	return tp;
}

void rad_template_free(rad_template *tp)
{
	if (!tp) return;
	free(tp->name);
	free(tp->bos);
	free(tp->stop);
	free(tp->gen);
	free(tp->default_system);
	for (int r = 0; r < N_ROLES; r++) { free(tp->pre[r]); free(tp->post[r]); }
	free(tp);
}

const char *rad_template_name(const rad_template *tp) { return tp->name; }
int rad_template_has_system(const rad_template *tp) { return tp->system_role != SYS_NO; }
uint64_t rad_template_fingerprint(const rad_template *tp) { return tp->fp; }

void rad_chat_fingerprint(const rad_tokenizer *tok, const rad_template *tp, char out[64])
{
	snprintf(out, 64, "%016llx-%016llx", (unsigned long long)rad_tok_fingerprint(tok),
	         (unsigned long long)(tp ? rad_template_fingerprint(tp) : 0));
}

/* ---- rendering ---------------------------------------------------------------------- */

/* Template text with {bos} / {eos} replaced by the tokenizer's tokens. */
static int expand(const char *fmt, const rad_tokenizer *tok, rad_text *out, char *err, size_t errsz)
{
	const char *p = fmt;
	while (*p) {
		const char *b = strstr(p, "{bos}"), *e = strstr(p, "{eos}");
		const char *q = b && (!e || b < e) ? b : e;
		if (!q) { rad_text_append(out, p, strlen(p)); break; }
		rad_text_append(out, p, q - p);
		int32_t id = q == b ? rad_tok_bos(tok) : rad_tok_eos(tok);
		size_t n;
		const char *s = id >= 0 ? rad_tok_piece(tok, id, &n) : NULL;
		if (!s) return err_set(err, errsz, "the template uses {%s} but the tokenizer has no %s token", q == b ? "bos" : "eos", q == b ? "bos" : "eos");
		rad_text_append(out, s, n);
		p = q + 5;
	}
	rad_text_append(out, "", 0);
	return 0;
}

/* The stop text, expanded. */
static int stop_text(const rad_template *tp, const rad_tokenizer *tok, rad_text *out, char *err, size_t errsz)
{
	out->n = 0;
	return expand(tp->stop, tok, out, err, errsz);
}

int32_t rad_template_stop_id(const rad_template *tp, const rad_tokenizer *tok)
{
	rad_text s = {0};
	char err[200];
	int32_t id = stop_text(tp, tok, &s, err, sizeof err) ? -1 : rad_tok_id(tok, s.s);
	rad_text_free(&s);
	return id;
}

/* The pieces of a rendering: template text (where added tokens are matched) and content. */
typedef struct sink {
	/* text mode */
	rad_text *text;
	/* token mode */
	rad_tokenizer *tok;
	int flags;
	rad_text pending;      /* text since the last added token, not yet encoded */
	rad_ids *out;
} sink;

static void flush(sink *k)
{
	if (k->tok && k->pending.n) rad_tok_encode(k->tok, k->pending.s, k->pending.n, 0, k->out);
	k->pending.n = 0;
}

static void put(sink *k, const char *s, size_t n, int markup)
{
	if (k->text) { rad_text_append(k->text, s, n); return; }
	if (!markup && !(k->flags & RAD_TOK_SPECIAL)) { rad_text_append(&k->pending, s, n); return; }
	for (;;) {
		size_t pos, len;
		int32_t id = rad_tok_find_added(k->tok, s, n, &pos, &len);
		if (id < 0) break;
		rad_text_append(&k->pending, s, pos);
		flush(k);
		rad_ids_push(k->out, id);
		s += pos + len;
		n -= pos + len;
	}
	rad_text_append(&k->pending, s, n);
}

static int put_fmt(sink *k, const char *fmt, const rad_tokenizer *tok, char *err, size_t errsz)
{
	rad_text e = {0};
	int rc = expand(fmt, tok, &e, err, errsz);
	if (!rc) put(k, e.s, e.n, 1);
	rad_text_free(&e);
	return rc;
}

/* White space as Python's str.strip() (Jinja's trim) sees it. */
static int py_space(uint32_t c)
{
	return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* The code point ending at s[n-1] (a valid UTF-8 tail), and its length in *len. */
static uint32_t last_cp(const unsigned char *s, size_t n, size_t *len)
{
	size_t b = n - 1;
	while (b > 0 && n - b < 4 && (s[b] & 0xc0) == 0x80) b--;
	utf8proc_int32_t cp;
	if (utf8proc_iterate(s + b, (utf8proc_ssize_t)(n - b), &cp) != (utf8proc_ssize_t)(n - b)) { *len = 1; return 0xfffd; }
	*len = n - b;
	return (uint32_t)cp;
}

static void put_content(sink *k, const rad_template *tp, const char *s, size_t n)
{
	if (tp->trim) {
		const unsigned char *u = (const unsigned char *)s;
		for (;;) {
			utf8proc_int32_t cp;
			utf8proc_ssize_t l = n ? utf8proc_iterate(u, (utf8proc_ssize_t)n, &cp) : 0;
			if (l <= 0 || !py_space((uint32_t)cp)) break;
			u += l, n -= (size_t)l;
		}
		while (n) {
			size_t l;
			if (!py_space(last_cp(u, n, &l))) break;
			n -= l;
		}
		s = (const char *)u;
	}
	put(k, s, n, 0);
}

static int role_of(const char *r)
{
	for (int i = 0; i < N_ROLES; i++) if (r && !strcmp(r, role_names[i])) return i;
	return -1;
}

/* The prompt: bos, the turns, the assistant header. */
static int render_prompt(sink *k, const rad_template *tp, const rad_tokenizer *tok, const rad_msg *msgs, size_t n,
                         char *err, size_t errsz)
{
	if (!n) return err_set(err, errsz, "no prompt turns");
	if (put_fmt(k, tp->bos, tok, err, errsz)) return -1;
	const char *merged_system = NULL;
	size_t merged_len = 0;
	if (tp->default_system && role_of(msgs[0].role) != ROLE_SYSTEM) {
		if (tp->system_role == SYS_MERGE) merged_system = tp->default_system, merged_len = strlen(merged_system);
		else {
			if (put_fmt(k, tp->pre[ROLE_SYSTEM], tok, err, errsz)) return -1;
			put_content(k, tp, tp->default_system, strlen(tp->default_system));
			if (put_fmt(k, tp->post[ROLE_SYSTEM], tok, err, errsz)) return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int r = role_of(msgs[i].role);
		if (r < 0) return err_set(err, errsz, "turn %zu: unknown role \"%s\" (system, user, assistant)", i + 1, msgs[i].role ? msgs[i].role : "");
		if (!msgs[i].content) return err_set(err, errsz, "turn %zu: no content", i + 1);
		if (r == ROLE_SYSTEM) {
			if (tp->system_role == SYS_NO)
				return err_set(err, errsz, "template %s has no system role: put the goal into the first user turn (rad-relabel's user placement)", tp->name);
			if (tp->system_role == SYS_MERGE) {
				if (merged_system) return err_set(err, errsz, "turn %zu: a second system turn (template %s merges one into the first user turn)", i + 1, tp->name);
				merged_system = msgs[i].content;
				merged_len = msgs[i].content_len;
				continue;
			}
		}
		if (put_fmt(k, tp->pre[r], tok, err, errsz)) return -1;
		if (r == ROLE_USER && merged_system) {
			/* the system text and the user text as one content, separated by a blank line */
			rad_text c = {0};
			rad_text_append(&c, merged_system, merged_len);
			rad_text_append(&c, "\n\n", 2);
			rad_text_append(&c, msgs[i].content, msgs[i].content_len);
			put_content(k, tp, c.s, c.n);
			rad_text_free(&c);
			merged_system = NULL;
		} else {
			put_content(k, tp, msgs[i].content, msgs[i].content_len);
		}
		if (put_fmt(k, tp->post[r], tok, err, errsz)) return -1;
	}
	if (merged_system) return err_set(err, errsz, "a system turn with no user turn after it");
	return put_fmt(k, tp->gen, tok, err, errsz);
}

/* A completion: content, then the assistant turn's ending up to and including the stop. */
static int render_completion(sink *k, const rad_template *tp, const rad_tokenizer *tok, const rad_msg *content,
                             char *err, size_t errsz)
{
	rad_text post = {0}, stop = {0};
	int rc = expand(tp->post[ROLE_ASSISTANT], tok, &post, err, errsz) || stop_text(tp, tok, &stop, err, errsz) ? -1 : 0;
	if (!rc) {
		put_content(k, tp, content->content, content->content_len);
		char *at = strstr(post.s, stop.s);
		if (at) put(k, post.s, at - post.s + stop.n, 1);
		else put(k, stop.s, stop.n, 1);
	}
	rad_text_free(&post);
	rad_text_free(&stop);
	return rc;
}

int rad_chat_render(const rad_template *tp, const rad_tokenizer *tok, const rad_msg *msgs, size_t n,
                    const rad_msg *completion, rad_text *out, char *err, size_t errsz)
{
	sink k = {.text = out};
	rad_text_append(out, "", 0);
	if (render_prompt(&k, tp, tok, msgs, n, err, errsz)) return -1;
	if (completion && render_completion(&k, tp, tok, completion, err, errsz)) return -1;
	return 0;
}

int rad_chat_encode(rad_tokenizer *tok, const rad_template *tp, const rad_msg *msgs, size_t n,
                    const rad_msg *completions, size_t kc, int flags, rad_ids *prompt,
                    rad_ids *completion_ids, long long *forced, char *err, size_t errsz)
{
	int rc = 0;
	sink k = {.tok = tok, .flags = flags, .out = prompt};
	rad_text tail = {0};
	rad_ids tail_ids = {0}, joint = {0};
	{
		/* the stop must be an added token, or the model could not end a turn */
		rad_text s = {0};
		size_t pos = 0, len = 0;
		if (stop_text(tp, tok, &s, err, errsz)) { rad_text_free(&s); return -1; }
		if (rad_tok_find_added(tok, s.s, s.n, &pos, &len) < 0 || pos || len != s.n) {
			err_set(err, errsz, "template %s: its stop \"%s\" is not an added token of %s", tp->name, s.s, rad_tok_path(tok));
			rad_text_free(&s);
			return -1;
		}
		rad_text_free(&s);
	}
	if (render_prompt(&k, tp, tok, msgs, n, err, errsz)) { rc = -1; goto out; }
	/* the text after the prompt's last added token stays open: completions continue it */
	rad_text_append(&tail, k.pending.s ? k.pending.s : "", k.pending.n);
	flush(&k);
	if (tail.n) rad_tok_encode(tok, tail.s, tail.n, 0, &tail_ids);
	for (size_t c = 0; c < kc; c++) {
		sink kk = {.tok = tok, .flags = flags, .out = &joint};
		joint.n = 0;
		rad_text_append(&kk.pending, tail.s ? tail.s : "", tail.n);
		if (render_completion(&kk, tp, tok, &completions[c], err, errsz)) { rad_text_free(&kk.pending); rc = -1; goto out; }
		flush(&kk);
		if (joint.n >= tail_ids.n && (!tail_ids.n || !memcmp(joint.v, tail_ids.v, tail_ids.n * sizeof *joint.v))) {
			rad_ids_append(&completion_ids[c], joint.v + tail_ids.n, joint.n - tail_ids.n);
		} else {
			/* a token would straddle the boundary: the completion starts a text of its own */
			sink k2 = {.tok = tok, .flags = flags, .out = &completion_ids[c]};
			render_completion(&k2, tp, tok, &completions[c], err, errsz);
			flush(&k2);
			rad_text_free(&k2.pending);
			if (forced) ++*forced;
		}
		rad_text_free(&kk.pending);
	}
out:
	rad_text_free(&k.pending);
	rad_text_free(&tail);
	rad_ids_free(&tail_ids);
	rad_ids_free(&joint);
	return rc;
}
