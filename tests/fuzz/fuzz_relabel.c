/* libFuzzer target: each input line through the fast JSON parser (which must agree with
 * jansson: same acceptance, equal values), then format detection and conversion to a
 * canonical pair, then every relabeling mode and placement.  Nothing may crash or leak
 * a malformed value: every canonical pair must relabel or be refused with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_parse.h"
#include "prefs/formats.h"
#include "prefs/relabel.h"

static void relabel_all(const json_t *pair)
{
	static rad_relabel rl[4];
	static int ready;
	char err[256];
	if (!ready) {
		for (int i = 0; i < 4; i++) {
			rad_relabel_init(&rl[i]);
			if (!rad_relabel_set_paper_template(&rl[i], i == 3 ? "overall,helpfulness" : NULL, err, sizeof err)) abort();
		}
		rl[1].placement = RAD_PLACE_USER;
		rl[1].compat_unflipped_nosys = 1;
		rl[2].mode = RAD_MODE_HALF;
		rl[3].fine_filter = 1;
		ready = 1;
	}
	for (int i = 0; i < 4; i++) {
		json_t *out[2];
		int n;
		err[0] = 0;
		int st = rad_relabel_pair(&rl[i], pair, out, &n, err, sizeof err);
		if (st == RAD_RELABEL_INVALID && !err[0]) abort();   /* a refusal always says why */
		for (int k = 0; k < n; k++) {
			if (!json_is_string(json_object_get(out[k], "goal"))) abort();
			json_decref(out[k]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char err[160];
		size_t col;
		json_t *mine = rad_json_parse(p, n, err, sizeof err, &col);
		json_t *ref = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (!mine != !ref || (mine && !json_equal(mine, ref))) abort();
		if (mine) {
			rad_prefs_opts o = { .format = RAD_FMT_AUTO, .seed = 1 };
			rad_prefs_info info;
			json_t *pair;
			char why[256] = "";
			int st = rad_prefs_convert(mine, &o, &pair, &info, why, sizeof why);
			if (st == RAD_PREFS_INVALID && !why[0]) abort();
			if (st == RAD_PREFS_OK) {
				relabel_all(pair);
				json_decref(pair);
			}
			relabel_all(mine);   /* raw input as if it were a pair: refused cleanly */
		}
		json_decref(mine);
		json_decref(ref);
		p += n + 1;
	}
	return 0;
}
