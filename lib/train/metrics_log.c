/* train/metrics_log.c — metrics lines, each step once (see metrics_log.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "train/metrics_log.h"
#include "base/cli.h"

rad_sink *rad_metrics_open(const char *path, long keep_steps)
{
	if (!path || !strcmp(path, "-") || keep_steps <= 0 || access(path, F_OK) != 0)
		return rad_sink_open_live(path ? path : "-", 0, 0);   /* read while training runs; kept if it fails */
	size_t len = 0;
	char *buf = rad_read_all(path, NULL, &len), tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	rad_sink *k = rad_sink_open_live(tmp, 0, 0);
	long kept = 0, dropped = 0;
	for (char *line = buf, *end; line < buf + len; line = end + 1) {
		end = memchr(line, '\n', buf + len - line);
		if (!end) {   /* a last line cut short by the kill */
			dropped++;
			break;
		}
		json_t *j = json_loadb(line, end - line, 0, NULL), *s = json_object_get(j, "step");
		if (json_is_integer(s) && json_integer_value(s) >= 1 && json_integer_value(s) <= keep_steps) {
			rad_sink_write(k, line, end - line + 1);
			kept++;
		} else {
			dropped++;
		}
		json_decref(j);
	}
	free(buf);
	rad_sink_flush(k);
	if (rename(tmp, path) != 0) rad_die(RAD_EXIT_DATA, path, "cannot replace it with %s", tmp);
	if (dropped)
		rad_warn(path, "%ld line%s dropped: steps after the checkpoint's step %ld (they run again), or unreadable",
		         dropped, dropped == 1 ? "" : "s", keep_steps);
	if (kept != keep_steps)
		rad_warn(path, "holds %ld metrics lines for the checkpoint's %ld steps", kept, keep_steps);
	return k;
}
