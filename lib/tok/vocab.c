/* tok/vocab.c — vocabulary size from a tokenizer file (see vocab.h). */
#include <jansson.h>
#include <stdio.h>
#include "tok/vocab.h"

static long max_id(json_t *obj, long best)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		if (json_is_integer(v) && json_integer_value(v) > best) best = (long)json_integer_value(v);
	return best;
}

int rad_vocab_size_of(const char *path, const char **err)
{
	static __thread char msg[1200];
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j) {
		snprintf(msg, sizeof msg, "%s:%d: %s", path, je.line, je.text);
		*err = msg;
		return -1;
	}
	long best = -1;
	json_t *model = json_object_get(j, "model");
	if (json_is_object(model) && json_is_object(json_object_get(model, "vocab"))) {
		best = max_id(json_object_get(model, "vocab"), best);
		json_t *added = json_object_get(j, "added_tokens");
		size_t i;
		json_t *a;
		json_array_foreach(added, i, a) {
			json_t *id = json_object_get(a, "id");
			if (json_is_integer(id) && json_integer_value(id) > best) best = (long)json_integer_value(id);
		}
	} else if (json_is_object(j)) {
		best = max_id(j, best);
	}
	json_decref(j);
	if (best < 0 || best >= (1L << 30)) {
		snprintf(msg, sizeof msg, "%s: no token ids found (expected tokenizer.json or encoder.json)", path);
		*err = msg;
		return -1;
	}
	return (int)(best + 1);
}
