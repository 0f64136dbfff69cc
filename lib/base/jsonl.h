/* base/jsonl.h — JSON Lines in and out (jansson), plain or zstd.
 *
 * A reader yields one json_t per non-blank line with its line number.  A line that does
 * not parse is fatal (exit 1, "rad-TOOL: FILE:LINE: why") unless skip_invalid is set, in
 * which case it is counted in r->skipped (named on stderr with --verbose): the tool's
 * summary line reports the count, always. */
#ifndef RAD_JSONL_H
#define RAD_JSONL_H

#include <jansson.h>
#include "base/io.h"

typedef struct rad_jsonl {
	rad_src *src;
	char *line;            /* the current line, NUL-terminated (embedded NULs: see len) */
	size_t len, cap;
	long long lineno;      /* 1-based number of the current line */
	long long records;     /* JSON values returned */
	long long skipped;     /* invalid lines skipped */
	int skip_invalid;
	size_t max_line;       /* a longer line is an error; default 1 GiB */
	char *rbuf; size_t rpos, rlen;   /* read buffer */
	int eof;
	json_t *array;         /* a whole-file JSON array being handed out, or NULL */
	size_t array_next;
	char *doc; size_t doc_len, doc_cap;   /* the array document while it is read */
} rad_jsonl;

rad_jsonl *rad_jsonl_open(const char *path, int skip_invalid);
/* The next raw line (without "\n" or "\r\n"), or NULL at the end.  *len gets its length. */
const char *rad_jsonl_next_line(rad_jsonl *r, size_t *len);
/* The next JSON value (new reference; json_decref it), or NULL at the end.  Blank lines
 * are passed over. */
json_t *rad_jsonl_next(rad_jsonl *r);
/* "FILE:LINE" of the current record, for messages. */
const char *rad_jsonl_where(rad_jsonl *r);
/* A whole-file JSON array (LLaMA-Factory style) is also accepted: when the first
 * non-blank byte of the input is '[', rad_jsonl_next yields its elements one by one
 * (the array is loaded whole; lineno is then the element index + 1). */
void rad_jsonl_close(rad_jsonl *r);

/* Writes one value as one line: compact, keys in insertion order, UTF-8 unescaped
 * where JSON allows (so grep sees text), "\n" after. */
void rad_jsonl_write(rad_sink *k, const json_t *v);


/* The shortest decimal that reads back as the same double ("8.0", "0.1", "7.5"); NaN and
 * infinities print as null.  Returns the length written. */
int rad_format_double(char *out, size_t n, double v);
#endif
