/* base/outfile.c — outputs written under a temporary name, renamed when whole, removed
 * when the tool fails (see outfile.h). */
#include "base/outfile.h"
#include "base/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A tool has a few outputs open at once; the table is fixed so that the signal handler
 * can walk it without taking locks or allocating. */
#define MAX_OPEN 32

struct rad_outfile {
	char *tmp;       /* the file being written: removed unless published */
	char *name;      /* what it becomes; NULL when tmp is already the name (written in place) */
};

static struct rad_outfile open_files[MAX_OPEN];
static volatile sig_atomic_t in_use[MAX_OPEN];
static pid_t owner;   /* a forked child (a judge before its exec) must not remove our files */

static void remove_unpublished(void)
{
	if (getpid() != owner) return;
	for (int i = 0; i < MAX_OPEN; i++)
		if (in_use[i]) unlink(open_files[i].tmp);
}

static void on_signal(int sig)
{
	remove_unpublished();
	raise(sig);   /* the handler was reset (SA_RESETHAND): the default action follows */
}

/* The first output arms the clean-up: at exit, and on the signals that end a tool which
 * has not chosen to handle them itself. */
static void arm(void)
{
	static int armed;
	if (armed) return;
	armed = 1;
	owner = getpid();
	atexit(remove_unpublished);
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		struct sigaction old, sa;
		if (sigaction(sigs[i], NULL, &old) || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESETHAND;
		sigaction(sigs[i], &sa, NULL);
	}
}

static rad_outfile *take_slot(char *tmp, char *name)
{
	arm();
	for (int i = 0; i < MAX_OPEN; i++) {
		if (in_use[i]) continue;
		open_files[i].tmp = tmp;
		open_files[i].name = name;
		in_use[i] = 1;   /* last: the handler may look from here on */
		return &open_files[i];
	}
	rad_die(RAD_EXIT_DATA, name ? name : tmp, "internal error: more than %d output files open", MAX_OPEN);
}

static FILE *open_in_place(const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f) rad_die(RAD_EXIT_DATA, path, "cannot create: %s", strerror(errno));
	return f;
}

FILE *rad_outfile_open(const char *path, rad_outfile **of)
{
	*of = NULL;
	/* /dev/stdout, /dev/fd/N, /proc/self/fd/N name files already open (perhaps for
	 * appending, perhaps deleted): written in place, never replaced */
	if (!strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6)) return open_in_place(path);
	struct stat st, lst;
	int exists = !stat(path, &st);
	if (exists ? !S_ISREG(st.st_mode) : errno != ENOENT || !lstat(path, &lst))
		return open_in_place(path);   /* a device or FIFO, a dangling link, or an error to report */
	/* A link is followed: the temporary file goes beside the file it names. */
	char *name = exists && !lstat(path, &lst) && S_ISLNK(lst.st_mode) ? realpath(path, NULL) : NULL;
	if (!name) name = rad_strdup(path);
	static unsigned serial;
	size_t cap = strlen(name) + 64;
	for (int tries = 0; tries < 100; tries++) {
		char *tmp = rad_malloc(cap);
		snprintf(tmp, cap, "%s.tmp.%ld.%u", name, (long)getpid(), serial++);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0) {
			if (exists) fchmod(fd, st.st_mode & 07777);   /* the replaced file's permissions */
			*of = take_slot(tmp, name);
			FILE *f = fdopen(fd, "wb");
			if (!f) rad_die(RAD_EXIT_DATA, path, "cannot create: %s", strerror(errno));
			return f;
		}
		free(tmp);
		if (errno != EEXIST) break;
	}
	/* No temporary file beside it (a directory we may not write, a name too long): the file
	 * itself, removed if the tool fails. */
	FILE *f = open_in_place(path);
	free(name);
	*of = take_slot(rad_strdup(path), NULL);
	return f;
}

void rad_outfile_publish(rad_outfile *of)
{
	if (!of) return;
	if (of->name && rename(of->tmp, of->name))
		rad_die(RAD_EXIT_DATA, of->name, "cannot put the output in place: %s", strerror(errno));
	in_use[of - open_files] = 0;
	free(of->tmp);
	free(of->name);
	of->tmp = of->name = NULL;
}
