/* stream/stream.c — writing and reading the rad binary record stream.
 *
 * On the wire each record is  type:u32 length:u32 fields[length]  (record.h), inside zstd.
 * The first record is a HEAD whose fields are magic, version, kind, fingerprint, meta. */
#include "stream/stream.h"
#include "base/cli.h"

#include <stdlib.h>
#include <string.h>

struct rad_writer {
	rad_sink *sink;
	long long count;
};

struct rad_reader {
	rad_src *src;
	rad_header head;
	rad_rec scratch;          /* for further headers */
	long long records;
	char where[512];
};

static void put_record(rad_sink *k, const rad_rec *r)
{
	unsigned char fr[8];
	uint32_t len = r->len;
	memcpy(fr, &r->type, 4);
	memcpy(fr + 4, &len, 4);
	rad_sink_write(k, fr, 8);
	rad_sink_write(k, r->buf, r->len);
}

rad_writer *rad_writer_open(const char *path, const rad_header *h, int level, int threads)
{
	rad_writer *w = rad_calloc(1, sizeof *w);
	w->sink = rad_sink_open(path, level > 0 ? level : 1, threads);
	rad_rec r;
	rad_rec_init(&r);
	rad_rec_reset(&r, RAD_REC_HEADER);
	rad_rec_put_str(&r, "magic", RAD_STREAM_MAGIC);
	rad_rec_put_int(&r, "version", RAD_STREAM_VERSION);
	rad_rec_put_str(&r, "kind", h->kind);
	rad_rec_put_str(&r, "fingerprint", h->fingerprint);
	rad_rec_put_str(&r, "meta", h->meta && *h->meta ? h->meta : "{}");
	put_record(w->sink, &r);
	rad_rec_free(&r);
	return w;
}

void rad_writer_put(rad_writer *w, const rad_rec *r)
{
	if (r->len > RAD_MAX_RECORD)
		rad_die(RAD_EXIT_DATA, NULL, "record %lld is %zu bytes, over the %zu-byte limit", w->count + 1, r->len, RAD_MAX_RECORD);
	put_record(w->sink, r);
	w->count++;
}

void rad_writer_flush(rad_writer *w) { rad_sink_flush(w->sink); }
long long rad_writer_count(const rad_writer *w) { return w->count; }

void rad_writer_close(rad_writer *w)
{
	if (!w) return;
	rad_sink_close(w->sink);
	free(w);
}

/* --- reading ------------------------------------------------------------------------ */

static const char *where(rad_reader *rd)
{
	snprintf(rd->where, sizeof rd->where, "%.400s: record %lld", rad_src_name(rd->src), rd->records + 1);
	return rd->where;
}

/* Reads one framed record into r.  Returns 0 at a clean end. */
static int read_record(rad_reader *rd, rad_rec *r, const char *what)
{
	unsigned char fr[8];
	if (!rad_src_read_exact(rd->src, fr, 8, what))
		return 0;
	uint32_t type, len;
	memcpy(&type, fr, 4);
	memcpy(&len, fr + 4, 4);
	if (!rd->head.kind[0] && type != RAD_REC_HEADER)
		rad_die(RAD_EXIT_DATA, rad_src_name(rd->src), "not a rad stream: it does not start with a stream header%s",
			rad_src_is_zstd(rd->src) ? "" : " (the input is not zstd-compressed: plain text or JSONL?)");
	if (len > RAD_MAX_RECORD)
		rad_die(RAD_EXIT_DATA, rd->head.kind[0] ? where(rd) : rad_src_name(rd->src),
			"record length %u is over the %zu-byte limit (corrupt or not a rad stream)", len, RAD_MAX_RECORD);
	/* The buffer grows with the bytes that actually arrive, so a corrupt length costs an
	 * error, not a gigabyte. */
	size_t got = 0;
	rad_rec_prepare(r, type, 0);
	while (got < len) {
		size_t step = len - got < ((size_t)1 << 20) ? len - got : ((size_t)1 << 20);
		unsigned char *buf = rad_rec_prepare_more(r, step);
		if (!rad_src_read_exact(rd->src, buf, step, what))
			rad_die(RAD_EXIT_DATA, where(rd), "truncated: the input ends inside a record");
		got += step;
	}
	const char *err = rad_rec_parse(r);
	if (err) {
		char t[5];
		rad_die(RAD_EXIT_DATA, rd->head.kind[0] ? where(rd) : rad_src_name(rd->src),
			"malformed %s record: %s", rad_type_name(type, t), err);
	}
	return 1;
}

/* Fills h from a HEAD record; returns NULL or what is wrong. */
static const char *parse_header(const rad_rec *r, rad_header *h)
{
	char magic[16];
	if (r->type != RAD_REC_HEADER || !rad_rec_str(r, "magic", magic, sizeof magic) || strcmp(magic, RAD_STREAM_MAGIC))
		return "not a rad stream (no stream header)";
	memset(h, 0, sizeof *h);
	h->version = rad_rec_int(r, "version", -1);
	if (h->version != RAD_STREAM_VERSION) {
		static char msg[96];
		snprintf(msg, sizeof msg, "stream format version %d, this rad reads version %d", h->version, RAD_STREAM_VERSION);
		return msg;
	}
	if (!rad_rec_str(r, "kind", h->kind, sizeof h->kind) || !h->kind[0])
		return "stream header has no kind";
	rad_rec_str(r, "fingerprint", h->fingerprint, sizeof h->fingerprint);
	const rad_field *m = rad_rec_get(r, "meta");
	if (m && m->dtype == RAD_STR) {
		h->meta = rad_malloc(m->count + 1);
		memcpy(h->meta, m->data, m->count);
		h->meta[m->count] = 0;
	} else {
		h->meta = rad_strdup("{}");
	}
	return NULL;
}

rad_reader *rad_reader_new(const char *path)
{
	rad_reader *rd = rad_calloc(1, sizeof *rd);
	rd->src = rad_src_open(path);
	rad_rec_init(&rd->scratch);
	return rd;
}

rad_reader *rad_reader_open(const char *path, const char *expect_kind)
{
	rad_reader *rd = rad_reader_new(path);
	rad_reader_start(rd, expect_kind);
	return rd;
}

void rad_reader_start(rad_reader *rd, const char *expect_kind)
{
	if (!read_record(rd, &rd->scratch, "the stream header"))
		rad_die(RAD_EXIT_DATA, rad_src_name(rd->src), "empty input: no stream header");
	const char *err = parse_header(&rd->scratch, &rd->head);
	if (err)
		rad_die(RAD_EXIT_DATA, rad_src_name(rd->src), "%s", err);
	if (expect_kind && strcmp(expect_kind, rd->head.kind))
		rad_die(RAD_EXIT_DATA, rad_src_name(rd->src), "a stream of %s, expected %s", rd->head.kind, expect_kind);
}

const rad_header *rad_reader_header(const rad_reader *rd) { return &rd->head; }
long long rad_reader_record_no(const rad_reader *rd) { return rd->records; }
const char *rad_reader_name(const rad_reader *rd) { return rad_src_name(rd->src); }

int rad_reader_next(rad_reader *rd, rad_rec *r)
{
	for (;;) {
		if (!read_record(rd, r, "a record"))
			return 0;
		if (r->type != RAD_REC_HEADER) {
			rd->records++;
			return 1;
		}
		/* The start of a concatenated stream: it must agree with the first. */
		rad_header h;
		const char *err = parse_header(r, &h);
		if (err)
			rad_die(RAD_EXIT_DATA, where(rd), "%s", err);
		if (strcmp(h.kind, rd->head.kind) || strcmp(h.fingerprint, rd->head.fingerprint))
			rad_die(RAD_EXIT_DATA, where(rd),
				"concatenated streams disagree: %s stream (fingerprint '%s') after %s stream (fingerprint '%s')",
				h.kind, h.fingerprint, rd->head.kind, rd->head.fingerprint);
		rad_header_free(&h);
	}
}

void rad_reader_close(rad_reader *rd)
{
	if (!rd) return;
	rad_src_close(rd->src);
	rad_header_free(&rd->head);
	rad_rec_free(&rd->scratch);
	free(rd);
}

void rad_header_free(rad_header *h)
{
	free(h->meta);
	h->meta = NULL;
}
