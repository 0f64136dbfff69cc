/* libFuzzer target: the JSONL reader (plain, zstd, JSON array documents, invalid lines
 * skipped), the writer (whatever parses must write and parse back to an equal value),
 * and JSON-to-record encoding. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "stream/dump.h"
#include "base/jsonl.h"
#include "fuzz_input.h"

/* Writes v with rad_jsonl_write and checks it parses back equal. */
static void check_roundtrip(const json_t *v)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("rad-fuzz-out", 0);
		if (fd < 0) abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	rad_sink *k = rad_sink_open(path, 0, 0);
	rad_jsonl_write(k, v);
	rad_sink_close(k);
	off_t n = lseek(fd, 0, SEEK_END);
	char *buf = malloc(n + 1);
	if (pread(fd, buf, n, 0) != n) abort();
	json_t *back = json_loadb(buf, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!back || !json_equal(back, v)) {
		fprintf(stdout, "round trip differs: %.*s\n", (int)n, buf);
		abort();
	}
	json_decref(back);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_path(data, size);
	jmp_buf jb;
	static rad_rec rec;
	rad_jsonl *volatile r = NULL;
	rad_die_jump = &jb;
	if (setjmp(jb) == 0) {
		r = rad_jsonl_open(path, 1);
		json_t *v;
		while ((v = rad_jsonl_next(r))) {
			check_roundtrip(v);
			(void)rad_json_to_rec(v, &rec);
			json_decref(v);
		}
	}
	rad_die_jump = NULL;
	if (r) rad_jsonl_close(r);
	return 0;
}
