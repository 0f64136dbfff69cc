/* base/json_parse.h — a fast JSON text parser that builds jansson values, and a JSON Lines
 * record reader on top of it.
 *
 * jansson's own decoder reads byte by byte through a stream abstraction and was measured
 * at ~50 MB/s on UltraFeedback pairs, most of a filter's time.  This one scans strings in
 * runs, copies unescaped strings in one piece and builds the same values: what jansson
 * accepts with JSON_DECODE_ANY | JSON_ALLOW_NUL it accepts, with equal results (integers
 * stay integers, reals reals, a repeated key keeps the last value), and what it refuses it
 * refuses (invalid UTF-8, lone surrogates, control characters in strings, NUL in keys,
 * integers out of range, nesting deeper than 2048, trailing text). */
#ifndef RAD_JSON_PARSE_H
#define RAD_JSON_PARSE_H

#include <jansson.h>
#include "base/jsonl.h"

/* One JSON text; NULL on error with a message in err and the 1-based byte column in *col. */
json_t *rad_json_parse(const char *s, size_t n, char *err, size_t errsz, size_t *col);

/* The next record of r, as rad_jsonl_next gives it (blank lines passed over, a whole-file
 * JSON array handed out element by element, invalid lines fatal or counted in r->skipped
 * with r->skip_invalid), parsed with rad_json_parse. */
json_t *rad_json_next(rad_jsonl *r);

#endif
