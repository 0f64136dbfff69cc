/* train/metrics_log.h — where the metrics lines go, so that each step is written once.
 *
 * A run killed after step S but before its next checkpoint (at step C < S) has written
 * the lines of steps C+1..S, which the resumed run takes, and writes, again.  Opened for a
 * resumed run, a metrics file keeps the lines of the checkpoint's steps 1..C only (and
 * says how many it dropped); the file is rewritten under a temporary name and renamed,
 * so a kill at any moment leaves it whole. */
#ifndef RAD_METRICS_LOG_H
#define RAD_METRICS_LOG_H

#include "base/io.h"

/* path "-" or NULL: standard output, written as it comes.  keep_steps > 0: the run resumes
 * from a checkpoint at that step.  Dies with a message when the file cannot be written. */
rad_sink *rad_metrics_open(const char *path, long keep_steps);

#endif
