/* train/lock.c — one trainer per output directory (see lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "train/lock.h"

#define SIGNATURE "rad-train-step lock, pid "

static char lock_path[1100];
static int lock_fd = -1, lock_ours;

static void unlock_at_exit(void)
{
	/* removed while still held: a process that opened it meanwhile finds it gone (below) */
	if (lock_fd >= 0 && lock_ours) unlink(lock_path);
	if (lock_fd >= 0) close(lock_fd);
	lock_fd = -1;
}

const char *rad_dir_lock(const char *dir)
{
	static char msg[1400];
	static int registered;
	snprintf(lock_path, sizeof lock_path, "%s.lock", dir);
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
		if (fd < 0) {
			snprintf(msg, sizeof msg, "%s: cannot open the lock: %s", lock_path, strerror(errno));
			return msg;
		}
		char buf[64] = "";
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int err = errno;
			close(fd);
			if (err != EWOULDBLOCK) {
				snprintf(msg, sizeof msg, "%s: cannot lock: %s", lock_path, strerror(err));
				return msg;
			}
			char pid[32] = "";
			if (!strncmp(buf, SIGNATURE, strlen(SIGNATURE)))
				snprintf(pid, sizeof pid, " (pid %ld)", strtol(buf + strlen(SIGNATURE), NULL, 10));
			snprintf(msg, sizeof msg, "%s: another rad-train-step%s is writing checkpoints here (it holds %s); "
			         "wait for it to end, or give another --output", dir, pid, lock_path);
			return msg;
		}
		/* the holder before us may have removed the file after we opened it: then lock anew */
		struct stat a, b;
		if (fstat(fd, &a) != 0 || stat(lock_path, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
			close(fd);
			continue;
		}
		n = pread(fd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		lock_ours = n <= 0 || !strncmp(buf, SIGNATURE, strlen(SIGNATURE));
		if (lock_ours) {
			char line[64];
			int len = snprintf(line, sizeof line, SIGNATURE "%ld\n", (long)getpid());
			if (ftruncate(fd, 0) != 0 || pwrite(fd, line, len, 0) != len) { /* the lock holds without it */ }
		}
		lock_fd = fd;
		if (!registered++) atexit(unlock_at_exit);
		return NULL;
	}
	snprintf(msg, sizeof msg, "%s: the lock file keeps being replaced", lock_path);
	return msg;
}
