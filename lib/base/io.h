/* base/io.h — byte sources and sinks, zstd or plain.
 *
 * A source reads a file or stdin ("-") and decompresses it when its first bytes are a
 * zstd frame (concatenated frames are one stream); otherwise it passes bytes through.
 * It never seeks, so pipes work; gzip input is refused with a hint.  A sink writes plain
 * bytes or one zstd frame. */
#ifndef RAD_IO_H
#define RAD_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct rad_src rad_src;
typedef struct rad_sink rad_sink;

/* Opens path ("-" or NULL = stdin).  A file that cannot be opened is fatal (exit 1). */
rad_src *rad_src_open(const char *path);
/* Reads up to n bytes; returns the count, 0 at the end.  Corrupt or truncated zstd is
 * fatal with a message naming the input. */
size_t rad_src_read(rad_src *s, void *buf, size_t n);
/* Reads exactly n bytes; returns 1, or 0 at a clean end before the first byte.  An end
 * in the middle is fatal ("truncated") naming `what`. */
int rad_src_read_exact(rad_src *s, void *buf, size_t n, const char *what);
/* Appends every byte of path (read as rad_src_read reads it) to buf, which holds *len
 * bytes and comes from malloc (NULL and 0 to start), and a NUL after them.  Returns the
 * buffer, *len counting what it now holds.  A plain file is read into one allocation. */
char *rad_read_all(const char *path, char *buf, size_t *len);
const char *rad_src_name(const rad_src *s);   /* "stdin" or the path */
int rad_src_is_zstd(const rad_src *s);
void rad_src_close(rad_src *s);

/* Opens path ("-" or NULL = stdout).  level 0 = plain bytes, 1..19 = zstd at that level;
 * threads > 1 lets zstd compress on worker threads.  A file appears under its name only
 * when rad_sink_close ends it whole: if the tool fails first, it is removed and what was
 * there before stays (base/outfile.h). */
rad_sink *rad_sink_open(const char *path, int level, int threads);
/* The same, written in place from the start and kept whatever happens: for logs and
 * outputs flushed record by record, which someone may read while the tool runs and which
 * a failed run keeps (a training's metrics, a judge's scores). */
rad_sink *rad_sink_open_live(const char *path, int level, int threads);
void rad_sink_write(rad_sink *k, const void *buf, size_t n);
void rad_sink_printf(rad_sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Pushes what is buffered down to the file (a reader at the other end of a pipe sees it). */
void rad_sink_flush(rad_sink *k);
/* Ends the zstd frame, flushes, closes and puts the file in place; write errors (disk
 * full, closed pipe) are fatal. */
void rad_sink_close(rad_sink *k);

#endif
