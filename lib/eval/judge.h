/* eval/judge.h — scoring responses with an outside program (man 1 rad-eval, judge).
 *
 * The command runs under /bin/sh -c.  It reads JSON lines {"id", "prompt", "response"} on
 * its standard input and writes one JSON line {"id", "score"} per record on its standard
 * output, in any order, as soon as it likes (it may also read everything first: its input
 * is closed after the last record).  Each score is handed to the caller the moment its
 * line arrives, so what was judged before a failure is kept.  Failures, each naming a
 * record: the judge exits (or closes its output) before scoring every record; it writes a
 * line that is not {"id": string, "score": number} (or one longer than 1 MiB), or an id it
 * was not sent or already scored; it reads nothing and completes no line for timeout
 * seconds while a record waits (bytes of a line that never ends do not count).
 *
 * The judge runs as the leader of its own process group.  When the run ends, whichever
 * way, the group is ended (SIGTERM, then SIGKILL after a grace period), so nothing the
 * judge started outlives rad-eval holding its output or standard error; so it is when
 * rad-eval gets SIGINT, SIGTERM or SIGHUP, or exits (rad_die) while the judge runs.  A
 * judge that is stopped (as one reading the terminal is) fails the run at once.  The
 * judge exiting is the end of the exchange:
 * a run where it has scored every record and exited succeeds at once, even while a child
 * of it still holds its output open. */
#ifndef RAD_JUDGE_H
#define RAD_JUDGE_H

#include <stddef.h>

/* The next request: *id and *line (the JSON text, no newline) malloc'd, the callee frees
 * them.  Returns 0 when there are no more. */
typedef int (*rad_judge_next_fn)(void *ctx, char **id, char **line);
/* A score arrived for id. */
typedef void (*rad_judge_done_fn)(void *ctx, const char *id, double score);

typedef struct rad_judge_stats {
	long long sent, scored;
} rad_judge_stats;

/* Runs the whole exchange.  Returns NULL, or a message naming the record (the judge has
 * then been stopped and waited for). */
const char *rad_judge_run(const char *command, double timeout_s, rad_judge_next_fn next, rad_judge_done_fn done,
                          void *ctx, rad_judge_stats *st);

#endif
