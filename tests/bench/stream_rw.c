/* stream_rw — write and read back N PAIR records of realistic size; prints MB/s of
 * uncompressed record bytes for each direction, at a given zstd level. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cli.h"
#include "stream/pair.h"
#include "stream/stream.h"

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	rad_cli_init(argc, argv);
	if (argc != 4) rad_usage_error("usage: stream_rw FILE N LEVEL");
	const char *path = argv[1];
	int n = atoi(argv[2]), level = atoi(argv[3]);
	rad_header h = {.version = RAD_STREAM_VERSION, .kind = RAD_KIND_PAIRS};
	int32_t ids[1500];
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 1500; i++) {   /* token ids with a realistic spread */
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		ids[i] = (x % 50257) * (x % 3 == 0) + (x % 2000);
	}
	rad_rec r;
	rad_rec_init(&r);
	double t0 = cpu_s();
	rad_writer *w = rad_writer_open(path, &h, level, 0);
	size_t bytes = 0;
	for (int i = 0; i < n; i++) {
		/* Fresh ids each record, skewed towards small ids as real text is. */
		for (int j = 0; j < 1500; j++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			ids[j] = (x % 50257) >> (x >> 60 & 7);
		}
		char id[32];
		snprintf(id, sizeof id, "pair-%d#pos", i);
		rad_pair p = {.id = id, .source_id = id, .half = "pos", .goal = "Overall score: 8.",
			.score_chosen = 8, .score_rejected = 6, .prompt = ids + i % 300, .n_prompt = 100 + i % 400,
			.chosen = ids + 500, .n_chosen = 200 + i % 300, .rejected = ids + 900, .n_rejected = 150 + i % 500};
		rad_pair_to_rec(&p, &r);
		rad_writer_put(w, &r);
		bytes += r.len + 8;
	}
	rad_writer_close(w);
	double t1 = cpu_s();
	rad_reader *rd = rad_reader_open(path, RAD_KIND_PAIRS);
	long long got = 0, sum = 0;
	char scratch[256];
	while (rad_reader_next(rd, &r)) {
		rad_pair p;
		if (rad_pair_from_rec(&r, &p, scratch, sizeof scratch)) return 1;
		sum += p.n_prompt + p.n_chosen + p.n_rejected;
		got++;
	}
	rad_reader_close(rd);
	double t2 = cpu_s();
	if (got != n) return 1;
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	long csize = ftell(f);
	fclose(f);
	printf("zstd level %2d: %d records, %.1f MB raw, %.1f MB on disk (%.1fx); write %.0f MB/s, read %.0f MB/s (CPU time; %lld tokens)\n",
		level, n, bytes / 1e6, csize / 1e6, (double)bytes / csize, bytes / 1e6 / (t1 - t0), bytes / 1e6 / (t2 - t1), sum);
	rad_rec_free(&r);
	return 0;
}
