/* base/jsonl.c — JSON Lines in (plain or zstd, or one JSON array) and out. */
#include "base/jsonl.h"
#include "base/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK (1 << 16)

static char where_buf[4096 + 32];

rad_jsonl *rad_jsonl_open(const char *path, int skip_invalid)
{
	rad_jsonl *r = rad_calloc(1, sizeof *r);
	r->src = rad_src_open(path);
	r->skip_invalid = skip_invalid;
	r->max_line = (size_t)1 << 30;
	r->rbuf = rad_malloc(READ_CHUNK);
	r->cap = 256;
	r->line = rad_malloc(r->cap);
	return r;
}

static int refill(rad_jsonl *r)
{
	if (r->eof) return 0;
	r->rlen = rad_src_read(r->src, r->rbuf, READ_CHUNK);
	r->rpos = 0;
	if (r->rlen == 0) r->eof = 1;
	return r->rlen > 0;
}

static void append(rad_jsonl *r, const char *p, size_t n)
{
	if (r->len + n + 1 > r->max_line + 2)
		rad_die(RAD_EXIT_DATA, rad_jsonl_where(r), "line longer than %zu bytes", r->max_line);
	if (r->len + n + 1 > r->cap) {
		while (r->len + n + 1 > r->cap) r->cap *= 2;
		r->line = rad_realloc(r->line, r->cap);
	}
	memcpy(r->line + r->len, p, n);
	r->len += n;
}

const char *rad_jsonl_next_line(rad_jsonl *r, size_t *len)
{
	r->len = 0;
	int any = 0;
	for (;;) {
		if (r->rpos == r->rlen && !refill(r)) {
			if (!any) return NULL;
			break;              /* last line without "\n" */
		}
		any = 1;
		char *start = r->rbuf + r->rpos;
		char *nl = memchr(start, '\n', r->rlen - r->rpos);
		if (nl) {
			append(r, start, nl - start);
			r->rpos += nl - start + 1;
			break;
		}
		append(r, start, r->rlen - r->rpos);
		r->rpos = r->rlen;
	}
	r->lineno++;
	if (r->len && r->line[r->len - 1] == '\r') r->len--;
	r->line[r->len] = 0;
	*len = r->len;
	return r->line;
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
	return 1;
}

/* A whole input that starts with '[' is one JSON array: load it and hand out elements. */
static json_t *next_array_element(rad_jsonl *r)
{
	if (r->array_next >= json_array_size(r->array)) return NULL;
	r->lineno = r->array_next + 1;
	r->records++;
	return json_incref(json_array_get(r->array, r->array_next++));
}

static void load_array(rad_jsonl *r)
{
	/* Read everything (what is already buffered, then the rest); the buffer hangs on r
	 * so that an error on the way leaves nothing unowned. */
	r->doc_cap = 1 << 16;
	r->doc = rad_malloc(r->doc_cap);
	for (;;) {
		if (r->rpos == r->rlen && !refill(r)) break;
		size_t k = r->rlen - r->rpos;
		if (r->doc_len + k + 1 > r->doc_cap) {
			while (r->doc_len + k + 1 > r->doc_cap) r->doc_cap *= 2;
			r->doc = rad_realloc(r->doc, r->doc_cap);
		}
		memcpy(r->doc + r->doc_len, r->rbuf + r->rpos, k);
		r->doc_len += k;
		r->rpos = r->rlen;
	}
	json_error_t err;
	json_t *arr = json_loadb(r->doc, r->doc_len, JSON_ALLOW_NUL, &err);
	free(r->doc);
	r->doc = NULL;
	if (!arr)
		rad_die(RAD_EXIT_DATA, rad_src_name(r->src), "line %d, column %d: invalid JSON array: %s",
			err.line, err.column, err.text);
	if (!json_is_array(arr)) {
		json_decref(arr);
		rad_die(RAD_EXIT_DATA, rad_src_name(r->src), "a document that starts with '[' must be a JSON array");
	}
	r->array = arr;
	r->rlen = r->rpos = 0;
	r->eof = 1;
}

json_t *rad_jsonl_next(rad_jsonl *r)
{
	if (r->array) return next_array_element(r);
	if (r->lineno == 0 && r->len == 0) {
		/* Before the first line: peek for a JSON array document. */
		while (r->rpos < r->rlen || refill(r)) {
			char c = r->rbuf[r->rpos];
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n') { r->lineno += c == '\n'; r->rpos++; continue; }
			if (c == '[') { load_array(r); return next_array_element(r); }
			break;
		}
	}
	size_t n;
	const char *line;
	while ((line = rad_jsonl_next_line(r, &n))) {
		if (blank(line, n)) continue;
		json_error_t err;
		json_t *v = json_loadb(line, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
		if (v) {
			r->records++;
			return v;
		}
		if (!r->skip_invalid)
			rad_die(RAD_EXIT_DATA, rad_jsonl_where(r), "invalid JSON at column %d: %s", err.column, err.text);
		if (rad_verbose) rad_warn(rad_jsonl_where(r), "invalid JSON at column %d: %s; skipped", err.column, err.text);
		r->skipped++;
	}
	return NULL;
}

const char *rad_jsonl_where(rad_jsonl *r)
{
	snprintf(where_buf, sizeof where_buf, "%.4000s:%lld", rad_src_name(r->src), r->lineno);
	return where_buf;
}

void rad_jsonl_close(rad_jsonl *r)
{
	if (!r) return;
	json_decref(r->array);
	free(r->doc);
	rad_src_close(r->src);
	free(r->rbuf);
	free(r->line);
	free(r);
}

/* --- writing --------------------------------------------------------------------------- */

static void put_string(rad_sink *k, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char buf[256];
	size_t b = 0;
	buf[b++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (b > sizeof buf - 8) { rad_sink_write(k, buf, b); b = 0; }
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) { buf[b++] = c; continue; }
		buf[b++] = '\\';
		switch (c) {
		case '"': buf[b++] = '"'; break;
		case '\\': buf[b++] = '\\'; break;
		case '\n': buf[b++] = 'n'; break;
		case '\r': buf[b++] = 'r'; break;
		case '\t': buf[b++] = 't'; break;
		case '\b': buf[b++] = 'b'; break;
		case '\f': buf[b++] = 'f'; break;
		default:
			buf[b++] = 'u'; buf[b++] = '0'; buf[b++] = '0';
			buf[b++] = hex[c >> 4]; buf[b++] = hex[c & 15];
		}
	}
	buf[b++] = '"';
	rad_sink_write(k, buf, b);
}

/* The shortest decimal that reads back as the same double: 8 -> "8.0", 0.1 -> "0.1". */
int rad_format_double(char *out, size_t n, double v)
{
	if (!isfinite(v)) return snprintf(out, n, "null");
	if (v == floor(v) && fabs(v) < 1e15)
		return snprintf(out, n, "%.1f", v);     /* 10 -> "10.0", not "1e+01" */
	int len = 0;
	for (int prec = 1; prec <= 17; prec++) {
		len = snprintf(out, n, "%.*g", prec, v);
		if (strtod(out, NULL) == v) break;
	}
	if (!strpbrk(out, ".eEn")) len += snprintf(out + len, n - len, ".0");
	return len;
}

static void put_value(rad_sink *k, const json_t *v)
{
	char num[40];
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		size_t klen;
		json_t *val;
		int first = 1;
		rad_sink_write(k, "{", 1);
		json_object_keylen_foreach((json_t *)v, key, klen, val) {
			if (!first) rad_sink_write(k, ",", 1);
			first = 0;
			put_string(k, key, klen);
			rad_sink_write(k, ":", 1);
			put_value(k, val);
		}
		rad_sink_write(k, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		rad_sink_write(k, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i) rad_sink_write(k, ",", 1);
			put_value(k, json_array_get(v, i));
		}
		rad_sink_write(k, "]", 1);
		break;
	}
	case JSON_STRING: put_string(k, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER: rad_sink_printf(k, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: rad_sink_write(k, num, rad_format_double(num, sizeof num, json_real_value(v))); break;
	case JSON_TRUE: rad_sink_write(k, "true", 4); break;
	case JSON_FALSE: rad_sink_write(k, "false", 5); break;
	case JSON_NULL: rad_sink_write(k, "null", 4); break;
	}
}

void rad_jsonl_write(rad_sink *k, const json_t *v)
{
	put_value(k, v);
	rad_sink_write(k, "\n", 1);
}
