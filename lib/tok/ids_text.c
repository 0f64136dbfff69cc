/* tok/ids_text.c — token ids printed as text and read back (see ids_text.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/ids_text.h"

void rad_ids_print(rad_sink *k, const int32_t *ids, size_t n)
{
	/* digits by hand into a buffer: printf per id is the slow part for long texts */
	char buf[1 << 16];
	size_t bn = 0;
	for (size_t i = 0; i < n; i++) {
		if (bn > sizeof buf - 16) { rad_sink_write(k, buf, bn); bn = 0; }
		if (i) buf[bn++] = ' ';
		char d[12];
		int nd = 0;
		uint32_t v = (uint32_t)ids[i];
		do d[nd++] = (char)('0' + v % 10); while ((v /= 10));
		while (nd) buf[bn++] = d[--nd];
	}
	rad_sink_write(k, buf, bn);
	rad_sink_write(k, "\n", 1);
}

int rad_tok_decode_text(const rad_tokenizer *t, const char *text, int flags, rad_text *out,
                        long long *count, char *err, size_t errsz)
{
	const char *p = text;
	while (*p) {
		while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
		if (!*p) break;
		size_t at = (size_t)(p - text);
		char *e;
		long long v = strtoll(p, &e, 10);
		if (e == p || (*e && !strchr(" \n\t\r", *e))) {
			snprintf(err, errsz, "byte %zu: not a token id", at);
			return -1;
		}
		if (v < 0 || v > INT32_MAX) {
			snprintf(err, errsz, "byte %zu: id %lld is not a token", at, v);
			return -1;
		}
		int32_t id = (int32_t)v;
		if (rad_tok_decode(t, &id, 1, flags, out)) {
			snprintf(err, errsz, "byte %zu: id %d is not a token of %s", at, id, rad_tok_path(t));
			return -1;
		}
		(*count)++;
		p = e;
	}
	return 0;
}
