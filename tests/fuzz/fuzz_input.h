/* fuzz_input.h — shared by the fuzz targets: the input bytes as a file path, and errors
 * that return to the fuzzer instead of exiting. */
#ifndef RAD_FUZZ_INPUT_H
#define RAD_FUZZ_INPUT_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/cli.h"

/* Writes data into an in-memory file and returns a path to it ("/proc/self/fd/N"). */
static const char *fuzz_path(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("rad-fuzz", 0);
		if (fd < 0) abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		rad_quiet = 1;   /* error messages are expected by the thousand */
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
	return path;
}

#endif
