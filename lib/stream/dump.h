/* stream/dump.h — records as JSON for people (rad-dump), and stream statistics. */
#ifndef RAD_DUMP_H
#define RAD_DUMP_H

#include <jansson.h>
#include "stream/record.h"
#include "stream/stream.h"

/* {"type": "PAIR", field: value, ...}: arrays as JSON arrays, strings as strings,
 * non-finite numbers as null.  Returns a new reference. */
json_t *rad_rec_to_json(const rad_rec *r);
/* With a tokenizer: adds the text of the token arrays to a record's JSON, for people.
 * PAIR: prompt_text, chosen_text, rejected_text.  BTCH: seq_text, each sequence's tokens
 * (prompt and completion) decoded.  Bytes that are not UTF-8 show as U+FFFD. */
struct rad_tokenizer;
void rad_dump_add_text(json_t *o, const rad_rec *r, const struct rad_tokenizer *t);
/* The stream header as {"type": "HEAD", "kind", "version", "fingerprint", "meta"}. */
json_t *rad_header_to_json(const rad_header *h);

/* Running statistics over a stream: records by type, and for every i32 array field a
 * length summary (min, mean, max, histogram in power-of-two buckets).  For BTCH records
 * also the share of padding positions. */
typedef struct rad_stats rad_stats;
rad_stats *rad_stats_new(void);
void rad_stats_add(rad_stats *s, const rad_rec *r);
json_t *rad_stats_json(const rad_stats *s);
void rad_stats_free(rad_stats *s);


/* The way back: a JSON object as rad_rec_to_json writes it ({"type": "PAIR", ...}) into
 * r.  Field types come from the known layouts of PAIR and BTCH records; other fields are
 * inferred (integer arrays i32, other number arrays f64, string arrays strs, integers
 * int, reals num, strings str).  What a stream reader would refuse is refused here: a
 * type or field name that is not printable ASCII, a string holding a NUL (rad-stream(5):
 * a stream's strings hold none).  Returns NULL or what is wrong. */
const char *rad_json_to_rec(const json_t *o, rad_rec *r);
/* A HEAD object into h (h->meta is allocated): "kind" and "fingerprint" printable and
 * fitting h, "version" (if given) the one this rad writes, "meta" (if given) an object.
 * Returns NULL or what is wrong. */
const char *rad_json_to_header(const json_t *o, rad_header *h);
/* rad-dump --encode: JSON Lines as rad-dump --header writes them (a HEAD line, then
 * records; further HEADs must agree with the first) into one stream at output.  With
 * kind, the HEAD may be left out, and an empty input gives the empty stream of that kind.
 * Bad input is fatal, naming the file and line.  Returns the records written. */
long long rad_dump_encode(char *const *inputs, int ninputs, const char *kind, const char *output, int level);

#endif
