/* base/json_parse.c — a fast JSON parser into jansson values (see json_parse.h). */
#include "base/json_parse.h"
#include "base/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2048

typedef struct parser {
	const unsigned char *p, *start, *end;
	char *buf;              /* scratch for strings with escapes, and keys */
	size_t cap;
	char *err;
	size_t errsz, col;
} parser;

__attribute__((format(printf, 2, 3)))
static json_t *fail(parser *ps, const char *fmt, ...)
{
	if (!ps->col) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err, ps->errsz, fmt, ap);
		va_end(ap);
		ps->col = (size_t)(ps->p - ps->start) + 1;
	}
	return NULL;
}

static void skip_ws(parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r')) ps->p++;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static int utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	int n;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf) { n = 2; min = 0x80; }
	else if (c >= 0xe0 && c <= 0xef) { n = 3; min = 0x800; }
	else if (c >= 0xf0 && c <= 0xf4) { n = 4; min = 0x10000; }
	else return 0;
	if (end - p < n) return 0;
	unsigned v = c & (0x3f >> (n - 1));
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
	return n;
}

static void reserve(parser *ps, size_t n)
{
	if (n <= ps->cap) return;
	while (ps->cap < n) ps->cap = ps->cap ? ps->cap * 2 : 4096;
	ps->buf = rad_realloc(ps->buf, ps->cap);
}

static int hex4(const unsigned char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = p[i], d;
		if (c >= '0' && c <= '9') d = c - '0';
		else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
		else return 0;
		*v = *v << 4 | d;
	}
	return 1;
}

/* A string at ps->p (after the opening quote): s and len point into the input when there
 * are no escapes, else into ps->buf.  Returns 0 on error. */
static int string(parser *ps, const char **s, size_t *len)
{
	const unsigned char *p = ps->p, *end = ps->end, *run = p;
	size_t out = 0;
	int escaped = 0;
	for (;;) {
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
		if (p == end) { ps->p = p; fail(ps, "premature end of input in a string"); return 0; }
		unsigned c = *p;
		if (c == '"') break;
		if (c >= 0x80) {
			int k = utf8_len(p, end);
			if (!k) { ps->p = p; fail(ps, "invalid UTF-8 in a string"); return 0; }
			p += k;
			continue;
		}
		if (c < 0x20) { ps->p = p; fail(ps, "control character 0x%x in a string", c); return 0; }
		/* an escape: move the run so far into the buffer */
		if (!escaped) { escaped = 1; out = 0; }
		reserve(ps, out + (p - run) + 8);
		memcpy(ps->buf + out, run, p - run);
		out += p - run;
		if (end - p < 2) { ps->p = p; fail(ps, "premature end of input in a string"); return 0; }
		c = p[1];
		p += 2;
		switch (c) {
		case '"': case '\\': case '/': ps->buf[out++] = (char)c; break;
		case 'b': ps->buf[out++] = '\b'; break;
		case 'f': ps->buf[out++] = '\f'; break;
		case 'n': ps->buf[out++] = '\n'; break;
		case 'r': ps->buf[out++] = '\r'; break;
		case 't': ps->buf[out++] = '\t'; break;
		case 'u': {
			unsigned v, lo;
			if (end - p < 4 || !hex4(p, &v)) { ps->p = p; fail(ps, "invalid \\u escape"); return 0; }
			p += 4;
			if (v >= 0xd800 && v <= 0xdbff) {
				if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
					ps->p = p; fail(ps, "invalid Unicode: a lone high surrogate"); return 0;
				}
				p += 6;
				v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
			} else if (v >= 0xdc00 && v <= 0xdfff) {
				ps->p = p; fail(ps, "invalid Unicode: a lone low surrogate"); return 0;
			}
			char *o = ps->buf + out;
			if (v < 0x80) { o[0] = (char)v; out += 1; }
			else if (v < 0x800) { o[0] = (char)(0xc0 | v >> 6); o[1] = (char)(0x80 | (v & 0x3f)); out += 2; }
			else if (v < 0x10000) { o[0] = (char)(0xe0 | v >> 12); o[1] = (char)(0x80 | (v >> 6 & 0x3f)); o[2] = (char)(0x80 | (v & 0x3f)); out += 3; }
			else { o[0] = (char)(0xf0 | v >> 18); o[1] = (char)(0x80 | (v >> 12 & 0x3f)); o[2] = (char)(0x80 | (v >> 6 & 0x3f)); o[3] = (char)(0x80 | (v & 0x3f)); out += 4; }
			break;
		}
		default: ps->p = p - 2; fail(ps, "invalid escape '\\%c'", c >= 0x20 && c < 0x7f ? c : '?'); return 0;
		}
		run = p;
	}
	if (escaped) {
		reserve(ps, out + (p - run) + 1);
		memcpy(ps->buf + out, run, p - run);
		out += p - run;
		*s = ps->buf;
		*len = out;
	} else {
		*s = (const char *)run;
		*len = p - run;
	}
	ps->p = p + 1;
	return 1;
}

static json_t *number(parser *ps)
{
	const unsigned char *p = ps->p, *end = ps->end, *s = p;
	int real = 0;
	if (p < end && *p == '-') p++;
	if (p < end && *p == '0') p++;
	else if (p < end && *p >= '1' && *p <= '9') while (p < end && *p >= '0' && *p <= '9') p++;
	else return fail(ps, "invalid number");
	if (p < end && *p == '.') {
		p++;
		real = 1;
		if (p == end || *p < '0' || *p > '9') { ps->p = p; return fail(ps, "invalid number"); }
		while (p < end && *p >= '0' && *p <= '9') p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		real = 1;
		if (p < end && (*p == '+' || *p == '-')) p++;
		if (p == end || *p < '0' || *p > '9') { ps->p = p; return fail(ps, "invalid number"); }
		while (p < end && *p >= '0' && *p <= '9') p++;
	}
	char tmp[64], *big = NULL, *txt = tmp;
	size_t n = p - s;
	if (n >= sizeof tmp) txt = big = rad_malloc(n + 1);
	memcpy(txt, s, n);
	txt[n] = 0;
	json_t *v;
	errno = 0;
	if (!real) {
		long long i = strtoll(txt, NULL, 10);
		v = errno == ERANGE ? fail(ps, "too big %s integer", i < 0 ? "negative" : "") : json_integer(i);
	} else {
		double d = strtod(txt, NULL);
		v = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL) ? fail(ps, "real number overflow") : json_real(d);
	}
	free(big);
	ps->p = p;
	return v;
}

static json_t *value(parser *ps, int depth)
{
	if (depth > MAX_DEPTH) return fail(ps, "maximum parsing depth reached");
	skip_ws(ps);
	if (ps->p == ps->end) return fail(ps, "'[' or '{' or a value expected near end of input");
	const char *s;
	size_t len;
	switch (*ps->p) {
	case '"':
		ps->p++;
		if (!string(ps, &s, &len)) return NULL;
		return json_stringn_nocheck(s, len);
	case '{': {
		ps->p++;
		json_t *o = json_object();
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '}') { ps->p++; return o; }
		for (;;) {
			skip_ws(ps);
			if (ps->p == ps->end || *ps->p != '"') { json_decref(o); return fail(ps, "string or '}' expected"); }
			ps->p++;
			if (!string(ps, &s, &len)) { json_decref(o); return NULL; }
			if (memchr(s, 0, len)) { json_decref(o); return fail(ps, "NUL byte in object key not supported"); }
			char kbuf[256], *key = kbuf;
			if (len >= sizeof kbuf) key = rad_malloc(len + 1);
			memcpy(key, s, len);
			key[len] = 0;
			skip_ws(ps);
			json_t *v = NULL;
			if (ps->p == ps->end || *ps->p != ':') fail(ps, "':' expected");
			else { ps->p++; v = value(ps, depth + 1); }
			if (v) json_object_set_new_nocheck(o, key, v);
			if (key != kbuf) free(key);
			if (!v) { json_decref(o); return NULL; }
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
			if (ps->p < ps->end && *ps->p == '}') { ps->p++; return o; }
			json_decref(o);
			return fail(ps, "'}' expected");
		}
	}
	case '[': {
		ps->p++;
		json_t *a = json_array();
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ']') { ps->p++; return a; }
		for (;;) {
			json_t *v = value(ps, depth + 1);
			if (!v) { json_decref(a); return NULL; }
			json_array_append_new(a, v);
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
			if (ps->p < ps->end && *ps->p == ']') { ps->p++; return a; }
			json_decref(a);
			return fail(ps, "']' expected");
		}
	}
	case 't':
		if (ps->end - ps->p >= 4 && !memcmp(ps->p, "true", 4)) { ps->p += 4; return json_true(); }
		break;
	case 'f':
		if (ps->end - ps->p >= 5 && !memcmp(ps->p, "false", 5)) { ps->p += 5; return json_false(); }
		break;
	case 'n':
		if (ps->end - ps->p >= 4 && !memcmp(ps->p, "null", 4)) { ps->p += 4; return json_null(); }
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return number(ps);
	}
	return fail(ps, "invalid token");
}

static char *scratch;   /* kept between calls: one reader thread per process */
static size_t scratch_cap;

json_t *rad_json_parse(const char *s, size_t n, char *err, size_t errsz, size_t *col)
{
	parser ps = { (const unsigned char *)s, (const unsigned char *)s, (const unsigned char *)s + n,
		scratch, scratch_cap, err, errsz, 0 };
	json_t *v = value(&ps, 1);
	if (v) {
		skip_ws(&ps);
		if (ps.p != ps.end) {
			json_decref(v);
			v = fail(&ps, "end of input expected");
		}
	}
	scratch = ps.buf;
	scratch_cap = ps.cap;
	if (col) *col = ps.col;
	return v;
}

/* The rest of the input after `first` (the line that opened a JSON array), parsed whole. */
static void load_array(rad_jsonl *r, const char *first, size_t n)
{
	size_t cap = n + 4096, len = n;
	char *all = rad_malloc(cap);
	memcpy(all, first, n);
	const char *line;
	size_t k;
	while ((line = rad_jsonl_next_line(r, &k))) {
		if (len + k + 2 > cap) { while (len + k + 2 > cap) cap *= 2; all = rad_realloc(all, cap); }
		all[len++] = '\n';
		memcpy(all + len, line, k);
		len += k;
	}
	char err[160];
	size_t col;
	json_t *v = rad_json_parse(all, len, err, sizeof err, &col);
	free(all);
	if (!v) rad_die(RAD_EXIT_DATA, rad_src_name(r->src), "invalid JSON array at byte %zu: %s", col, err);
	if (!json_is_array(v)) rad_die(RAD_EXIT_DATA, rad_src_name(r->src), "a document that starts with '[' must be a JSON array");
	r->array = v;
	r->array_next = 0;
}

json_t *rad_json_next(rad_jsonl *r)
{
	if (r->array) return rad_jsonl_next(r);
	const char *line;
	size_t n;
	while ((line = rad_jsonl_next_line(r, &n))) {
		size_t i = 0;
		while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
		if (i == n) continue;
		if (line[i] == '[' && r->records == 0 && r->skipped == 0) {
			load_array(r, line, n);
			return rad_jsonl_next(r);
		}
		char err[160];
		size_t col;
		json_t *v = rad_json_parse(line, n, err, sizeof err, &col);
		if (v) {
			r->records++;
			return v;
		}
		if (!r->skip_invalid) rad_die(RAD_EXIT_DATA, rad_jsonl_where(r), "invalid JSON at column %zu: %s", col, err);
		if (rad_verbose) rad_warn(rad_jsonl_where(r), "invalid JSON at column %zu: %s; skipped", col, err);
		r->skipped++;
	}
	return NULL;
}
