/* base/io.c — byte sources (plain or zstd, detected) and sinks (plain or zstd). */
#include "base/io.h"
#include "base/cli.h"
#include "base/outfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#define ZSTD_MAGIC 0xFD2FB528u

struct rad_src {
	FILE *f;
	char *name;
	int zstd;
	ZSTD_DCtx *dctx;
	unsigned char *in;        /* compressed (or, for plain input, the look-ahead) bytes */
	size_t in_cap;
	ZSTD_inBuffer ib;
	size_t frame_left;        /* last ZSTD_decompressStream hint: 0 = between frames */
	int file_eof;
	long long total;          /* bytes delivered */
};

static size_t fill(rad_src *s)
{
	/* Moves what is left to the front and reads more. */
	size_t left = s->ib.size - s->ib.pos;
	memmove(s->in, s->in + s->ib.pos, left);
	s->ib.src = s->in;
	s->ib.pos = 0;
	size_t n = 0;
	if (!s->file_eof) {
		n = fread(s->in + left, 1, s->in_cap - left, s->f);
		if (n == 0) {
			if (ferror(s->f))
				rad_die(RAD_EXIT_DATA, s->name, "read error: %s", strerror(errno));
			s->file_eof = 1;
		}
	}
	s->ib.size = left + n;
	return n;
}

rad_src *rad_src_open(const char *path)
{
	rad_src *s = rad_calloc(1, sizeof *s);
	if (!path || !strcmp(path, "-")) {
		s->f = stdin;
		s->name = rad_strdup("stdin");
	} else {
		s->f = fopen(path, "rb");
		if (!s->f)
			rad_die(RAD_EXIT_DATA, path, "cannot open: %s", strerror(errno));
		s->name = rad_strdup(path);
	}
	s->in_cap = ZSTD_DStreamInSize();
	if (s->in_cap < 1 << 16) s->in_cap = 1 << 16;
	s->in = rad_malloc(s->in_cap);
	s->ib.src = s->in;
	/* Look at the first four bytes to decide; they stay in the buffer either way. */
	while (s->ib.size < 4 && fill(s) > 0)
		;
	if (s->ib.size >= 4) {
		uint32_t m = s->in[0] | s->in[1] << 8 | s->in[2] << 16 | (uint32_t)s->in[3] << 24;
		s->zstd = (m == ZSTD_MAGIC);
	}
	/* gzip's magic and its one method, deflate: rad reads zstd itself, not gzip */
	if (s->ib.size >= 3 && s->in[0] == 0x1f && s->in[1] == 0x8b && s->in[2] == 8)
		rad_die(RAD_EXIT_DATA, s->name, "this looks like gzip: zcat it or use .zst (zstd is read directly)");
	if (s->zstd) {
		s->dctx = ZSTD_createDCtx();
		if (!s->dctx) rad_die(RAD_EXIT_DATA, s->name, "out of memory");
	}
	return s;
}

size_t rad_src_read(rad_src *s, void *buf, size_t n)
{
	if (n == 0) return 0;
	if (!s->zstd) {
		size_t got = 0;
		while (got < n) {
			if (s->ib.pos == s->ib.size && fill(s) == 0 && s->ib.size == 0)
				break;
			size_t k = s->ib.size - s->ib.pos;
			if (k > n - got) k = n - got;
			memcpy((char *)buf + got, s->in + s->ib.pos, k);
			s->ib.pos += k;
			got += k;
		}
		s->total += got;
		return got;
	}
	ZSTD_outBuffer ob = {buf, n, 0};
	while (ob.pos == 0) {
		if (s->ib.pos == s->ib.size)
			fill(s);
		int starved = s->ib.pos == s->ib.size;
		if (starved && s->frame_left == 0)
			return 0;                /* a clean end, between frames */
		size_t r = ZSTD_decompressStream(s->dctx, &ob, &s->ib);
		if (ZSTD_isError(r))
			rad_die(RAD_EXIT_DATA, s->name, "corrupt zstd stream: %s", ZSTD_getErrorName(r));
		s->frame_left = r;
		/* With no input left, the decoder may still hold output; if it gave none, the
		 * frame was cut short. */
		if (starved && ob.pos == 0)
			rad_die(RAD_EXIT_DATA, s->name, "truncated zstd stream (the frame does not end)");
	}
	s->total += ob.pos;
	return ob.pos;
}

int rad_src_read_exact(rad_src *s, void *buf, size_t n, const char *what)
{
	size_t got = 0;
	while (got < n) {
		size_t k = rad_src_read(s, (char *)buf + got, n - got);
		if (k == 0) {
			if (got == 0) return 0;
			rad_die(RAD_EXIT_DATA, s->name, "truncated input: %s ends after %zu of %zu bytes", what, got, n);
		}
		got += k;
	}
	return 1;
}

char *rad_read_all(const char *path, char *buf, size_t *len)
{
	struct stat st;
	size_t n = *len, cap = n + (1 << 16);
	/* room for all of a plain file and the NUL, so the last read finds the end */
	if (path && strcmp(path, "-") && !stat(path, &st) && S_ISREG(st.st_mode)) cap = n + (size_t)st.st_size + 1;
	buf = rad_realloc(buf, cap);
	rad_src *s = rad_src_open(path);
	size_t k;
	while ((k = rad_src_read(s, buf + n, cap - n)) > 0)
		if ((n += k) == cap) buf = rad_realloc(buf, cap *= 2);
	rad_src_close(s);
	buf[n] = 0;
	*len = n;
	return buf;
}

const char *rad_src_name(const rad_src *s) { return s->name; }
int rad_src_is_zstd(const rad_src *s) { return s->zstd; }

void rad_src_close(rad_src *s)
{
	if (!s) return;
	if (s->f && s->f != stdin) fclose(s->f);
	ZSTD_freeDCtx(s->dctx);
	free(s->in);
	free(s->name);
	free(s);
}

/* --- sinks ------------------------------------------------------------------------- */

struct rad_sink {
	FILE *f;
	char *name;
	rad_outfile *of;          /* a file published by rad_sink_close; NULL for stdout, live files */
	ZSTD_CCtx *cctx;          /* NULL for plain output */
	unsigned char *out;
	size_t out_cap;
	unsigned char *pend;      /* small writes gather here before compression */
	size_t pend_len, pend_cap;
};

static void sink_fwrite(rad_sink *k, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, k->f) != n)
		rad_die(RAD_EXIT_DATA, k->name, "write error: %s", strerror(errno));
}

static void sink_compress(rad_sink *k, const void *p, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer ib = {p, n, 0};
	for (;;) {
		ZSTD_outBuffer ob = {k->out, k->out_cap, 0};
		size_t r = ZSTD_compressStream2(k->cctx, &ob, &ib, mode);
		if (ZSTD_isError(r))
			rad_die(RAD_EXIT_DATA, k->name, "zstd: %s", ZSTD_getErrorName(r));
		sink_fwrite(k, k->out, ob.pos);
		if (mode == ZSTD_e_continue ? ib.pos == ib.size : r == 0)
			break;
	}
}

static rad_sink *sink_new(FILE *f, const char *name, int level, int threads)
{
	rad_sink *k = rad_calloc(1, sizeof *k);
	k->f = f;
	k->name = rad_strdup(name);
	if (level > 0) {
		k->cctx = ZSTD_createCCtx();
		if (!k->cctx) rad_die(RAD_EXIT_DATA, k->name, "out of memory");
		ZSTD_CCtx_setParameter(k->cctx, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(k->cctx, ZSTD_c_checksumFlag, 1);
		if (threads > 1)
			ZSTD_CCtx_setParameter(k->cctx, ZSTD_c_nbWorkers, threads);
		k->out_cap = ZSTD_CStreamOutSize();
		k->out = rad_malloc(k->out_cap);
		k->pend_cap = 1 << 17;
		k->pend = rad_malloc(k->pend_cap);
	}
	return k;
}

static int is_stdout(const char *path) { return !path || !strcmp(path, "-"); }

rad_sink *rad_sink_open(const char *path, int level, int threads)
{
	if (is_stdout(path)) return sink_new(stdout, "stdout", level, threads);
	rad_outfile *of;
	FILE *f = rad_outfile_open(path, &of);
	rad_sink *k = sink_new(f, path, level, threads);
	k->of = of;
	return k;
}

rad_sink *rad_sink_open_live(const char *path, int level, int threads)
{
	if (is_stdout(path)) return sink_new(stdout, "stdout", level, threads);
	FILE *f = fopen(path, "wb");
	if (!f) rad_die(RAD_EXIT_DATA, path, "cannot create: %s", strerror(errno));
	return sink_new(f, path, level, threads);
}

void rad_sink_write(rad_sink *k, const void *buf, size_t n)
{
	if (!k->cctx) {
		sink_fwrite(k, buf, n);
		return;
	}
	if (k->pend_len + n > k->pend_cap) {
		sink_compress(k, k->pend, k->pend_len, ZSTD_e_continue);
		k->pend_len = 0;
	}
	if (n > k->pend_cap) {
		sink_compress(k, buf, n, ZSTD_e_continue);
		return;
	}
	memcpy(k->pend + k->pend_len, buf, n);
	k->pend_len += n;
}

void rad_sink_printf(rad_sink *k, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) return;
	if ((size_t)n < sizeof small) {
		rad_sink_write(k, small, n);
		return;
	}
	char *big = rad_malloc(n + 1);
	va_start(ap, fmt);
	vsnprintf(big, n + 1, fmt, ap);
	va_end(ap);
	rad_sink_write(k, big, n);
	free(big);
}

void rad_sink_flush(rad_sink *k)
{
	if (k->cctx) {
		sink_compress(k, k->pend, k->pend_len, ZSTD_e_flush);
		k->pend_len = 0;
	}
	if (fflush(k->f))
		rad_die(RAD_EXIT_DATA, k->name, "write error: %s", strerror(errno));
}

void rad_sink_close(rad_sink *k)
{
	if (!k) return;
	if (k->cctx) {
		sink_compress(k, k->pend, k->pend_len, ZSTD_e_end);
		ZSTD_freeCCtx(k->cctx);
	}
	if (fflush(k->f) || (k->f != stdout && fclose(k->f)))
		rad_die(RAD_EXIT_DATA, k->name, "write error: %s", strerror(errno));
	rad_outfile_publish(k->of);
	free(k->out);
	free(k->pend);
	free(k->name);
	free(k);
}
