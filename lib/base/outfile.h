/* base/outfile.h — output files that appear whole or not at all.
 *
 * A tool that fails half way must not leave a truncated file under the name it was given
 * (the next stage would take it for a complete one), nor destroy the previous good file
 * before the new one is whole.  So an output is written under a temporary name beside it,
 * "NAME.tmp.PID.N", and renamed to NAME once it is closed without error.  When the tool
 * exits before that (rad_die, any exit) or is ended by SIGINT, SIGTERM or SIGHUP, the
 * temporary file is removed.  A name that is not a regular file (a device such as
 * /dev/null, a FIFO) is written in place, and so is anything under /dev and /proc
 * (/dev/stdout names a file the shell opened, perhaps for appending); a symbolic link is
 * followed, so the file it names is replaced and the link stays. */
#ifndef RAD_OUTFILE_H
#define RAD_OUTFILE_H

#include <stdio.h>

typedef struct rad_outfile rad_outfile;

/* Opens the file that stands in for path, for writing; *of gets what rad_outfile_publish
 * needs (NULL when path is written in place and nothing is to be done at the end).  A
 * file that cannot be created is fatal (exit 1), naming path. */
FILE *rad_outfile_open(const char *path, rad_outfile **of);
/* Once the stream of rad_outfile_open is closed without error: gives the file its name.
 * A failure is fatal (the temporary file is removed). */
void rad_outfile_publish(rad_outfile *of);

#endif
