/* libFuzzer target: the binary stream reader, batch and pair decoding, dump to JSON.
 * Any input must end in records or a clean error, never a crash or an overread. */
#include <stdint.h>
#include <string.h>

#include "stream/batch.h"
#include "stream/dump.h"
#include "stream/pair.h"
#include "stream/stream.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_path(data, size);
	jmp_buf jb;
	static rad_rec rec;
	static rad_batch batch;
	rad_reader *volatile rd = NULL;
	rd = rad_reader_new(path);
	rad_die_jump = &jb;
	if (setjmp(jb) == 0) {
		rad_reader_start(rd, NULL);
		while (rad_reader_next(rd, &rec)) {
			json_t *j = rad_rec_to_json(&rec);
			json_decref(j);
			if (rec.type == RAD_REC_BATCH) {
				(void)rad_batch_from_rec(&rec, &batch);
			} else if (rec.type == RAD_REC_PAIR) {
				rad_pair p;
				char scratch[1 << 12];
				(void)rad_pair_from_rec(&rec, &p, scratch, sizeof scratch);
			}
		}
	}
	rad_die_jump = NULL;
	rad_reader_close(rd);
	return 0;
}
