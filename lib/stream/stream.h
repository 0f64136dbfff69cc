/* stream/stream.h — the rad binary record stream (man 5 rad-stream).
 *
 * zstd around: a HEAD record, then data records.  Concatenated streams are a stream: a
 * reader that meets a further HEAD checks it agrees with the first (kind, version,
 * fingerprint) and goes on.  Readers and writers never seek and hold one record. */
#ifndef RAD_STREAM_H
#define RAD_STREAM_H

#include "base/io.h"
#include "stream/record.h"

#define RAD_STREAM_MAGIC "RADSTRM1"            /* the `magic` field, first in every HEAD */
#define RAD_STREAM_VERSION 1
#define RAD_MAX_RECORD ((size_t)1 << 28)       /* larger records are an error */

/* Stream kinds. */
#define RAD_KIND_PAIRS "pairs"       /* PAIR records, from rad-tokenize */
#define RAD_KIND_BATCHES "batches"   /* BTCH records, from rad-pack (and rad-logps) */

typedef struct rad_header {
	char kind[32];
	int version;
	char fingerprint[64];   /* tokenizer + template fingerprint, hex; "" if none */
	char *meta;             /* free-form JSON object text (owned), "{}" if none */
} rad_header;

typedef struct rad_writer rad_writer;
typedef struct rad_reader rad_reader;

/* Opens a writer on path ("-" = stdout) and writes the header.  level: zstd level
 * (1..19, 0 = default 1: token ids compress as well at 1 as at 3, and twice as fast); threads: zstd worker threads (0 = none). */
rad_writer *rad_writer_open(const char *path, const rad_header *h, int level, int threads);
void rad_writer_put(rad_writer *w, const rad_rec *r);
void rad_writer_flush(rad_writer *w);
long long rad_writer_count(const rad_writer *w);
void rad_writer_close(rad_writer *w);

/* Opens a reader and reads the first header.  expect_kind: NULL accepts any kind,
 * otherwise a different kind is an error naming both.  Plain text, a foreign zstd
 * stream, or an empty input is an error naming the input. */
rad_reader *rad_reader_open(const char *path, const char *expect_kind);
/* The same in two steps, for callers that recover from errors (fuzzers): _new opens the
 * input, _start reads and checks the header; rad_reader_close works after either. */
rad_reader *rad_reader_new(const char *path);
void rad_reader_start(rad_reader *rd, const char *expect_kind);
const rad_header *rad_reader_header(const rad_reader *rd);
/* Reads the next data record into r (headers of concatenated streams are checked and
 * passed over).  Returns 1, or 0 at the end.  Corrupt or truncated input is fatal:
 * "rad-TOOL: FILE: record N: what". */
int rad_reader_next(rad_reader *rd, rad_rec *r);
long long rad_reader_record_no(const rad_reader *rd);   /* 1-based, data records */
const char *rad_reader_name(const rad_reader *rd);
void rad_reader_close(rad_reader *rd);

void rad_header_free(rad_header *h);

#endif
