/* eval/judge.c — the exchange with a judge program (judge.h).
 *
 * One poll loop: requests are written to the judge's standard input without blocking
 * while its answers are read, so a judge that answers line by line and one that reads
 * everything before answering both work, and neither side waits on a full pipe.  The
 * records sent and not yet scored are kept by id, oldest first, to name the one a failure
 * leaves waiting. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/cli.h"
#include "eval/judge.h"

typedef struct waiting {
	char **id;               /* ring of ids sent and not scored, oldest at head */
	size_t head, n, cap;
} waiting;

static void wait_push(waiting *w, char *id)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? 2 * w->cap : 64;
		char **v = rad_malloc(nc * sizeof *v);
		for (size_t i = 0; i < w->n; i++) v[i] = w->id[(w->head + i) % w->cap];
		free(w->id);
		w->id = v;
		w->head = 0;
		w->cap = nc;
	}
	w->id[(w->head + w->n) % w->cap] = id;
	w->n++;
}

/* Removes id; 1 if it was waiting.  Scores usually come in order: the head is tried first. */
static int wait_take(waiting *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++) {
		size_t at = (w->head + i) % w->cap;
		if (strcmp(w->id[at], id)) continue;
		free(w->id[at]);
		for (size_t k = i; k > 0; k--) w->id[(w->head + k) % w->cap] = w->id[(w->head + k - 1) % w->cap];
		w->head = (w->head + 1) % w->cap;
		w->n--;
		return 1;
	}
	return 0;
}

static const char *oldest(const waiting *w)
{
	return w->n ? w->id[w->head] : "?";
}

static void wait_free(waiting *w)
{
	for (size_t i = 0; i < w->n; i++) free(w->id[(w->head + i) % w->cap]);
	free(w->id);
}

static char msg[1400];

/* ---- the judge's process group ----------------------------------------------------
 * The judge runs as the leader of a process group of its own, so that what it starts
 * (a model server, a pipeline's stages, a forgotten `sleep &`) can be ended with it: left
 * running, such children hold the caller's standard error and keep a pipeline around
 * rad-eval waiting long after rad-eval is done. */

#define GRACE_S 2.0        /* between SIGTERM and SIGKILL to the group */
#define CHECK_MS 100       /* how often the loop looks whether the judge has exited */
#define LINE_CAP (1 << 20) /* an answer line longer than this is not an answer */

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* 1 when the judge (pid) has exited, reaped into *status; waits up to secs for it. */
static int exited_within(pid_t pid, double secs, int *status)
{
	double end = rad_seconds() + secs;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid) return 1;
		if (r < 0 && errno != EINTR) { *status = -1; return 1; }   /* not ours to wait for: gone */
		if (rad_seconds() >= end) return 0;
		sleep_ms(10);
	}
}

/* 0 while the judge runs, 1 once it has exited (reaped into *status), 2 while it is
 * stopped (SIGTTIN when it reads the terminal, which a background group may not). */
static int judge_state(pid_t pid, int *status)
{
	int s;
	pid_t r = waitpid(pid, &s, WNOHANG | WUNTRACED);
	if (r == 0 || (r < 0 && errno == EINTR)) return 0;
	if (r == pid && WIFSTOPPED(s)) { *status = s; return 2; }
	*status = r == pid ? s : -1;
	return 1;
}

/* Ends the group: SIGTERM, up to GRACE_S for the leader to exit and the group to empty,
 * then SIGKILL to whatever is left.  Reaps the leader unless *reaped; returns its status.
 * The group's id stays the leader's pid while any member lives, so signalling it after
 * the leader is reaped reaches only the judge's own processes.  Members orphaned by the
 * judge's exit are rad-eval's to reap (a child subreaper, below): a zombie still counts
 * as a member, and init may take its time to collect them. */
static int end_group(pid_t pid, int *reaped, int status)
{
	kill(-pid, SIGTERM);
	kill(-pid, SIGCONT);   /* a stopped member would hold SIGTERM until continued */
	double end = rad_seconds() + GRACE_S;
	for (;;) {
		int s;
		pid_t r;
		while ((r = waitpid(-pid, &s, WNOHANG)) > 0)
			if (r == pid) { *reaped = 1; status = s; }
		if (*reaped && kill(-pid, 0) < 0 && errno == ESRCH) return status;   /* nothing left */
		if (rad_seconds() >= end) break;
		sleep_ms(10);
	}
	kill(-pid, SIGKILL);
	if (!*reaped) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
		*reaped = 1;
	}
	while (waitpid(-pid, NULL, WNOHANG) > 0) {}
	return status;
}

/* While the judge runs, a signal that would end rad-eval ends the judge's group first
 * (the judge is no longer in the terminal's foreground group, so Ctrl-C does not reach
 * it by itself), and so does an exit from elsewhere (rad_die on a bad input record). */
static volatile sig_atomic_t group_to_end;
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction saved[3];

static void forward(int sig)
{
	if (group_to_end > 0) {
		kill(-(pid_t)group_to_end, SIGTERM);
		kill(-(pid_t)group_to_end, SIGCONT);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void end_at_exit(void)
{
	if (group_to_end <= 0) return;
	int reaped = 0;
	end_group((pid_t)group_to_end, &reaped, -1);
	group_to_end = 0;
}

static void forward_signals(pid_t pid)
{
	static int registered;
	if (!registered) registered = !atexit(end_at_exit);
	group_to_end = pid;
	for (int i = 0; i < 3; i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = forward;
		sigemptyset(&sa.sa_mask);
		sigaction(forwarded[i], NULL, &saved[i]);
		if (saved[i].sa_handler != SIG_IGN) sigaction(forwarded[i], &sa, NULL);   /* ignored stays ignored */
	}
}

static void restore_signals(void)
{
	for (int i = 0; i < 3; i++) sigaction(forwarded[i], &saved[i], NULL);
	group_to_end = 0;
}

static void describe_exit(int status, char *out, size_t n)
{
	if (status < 0) snprintf(out, n, "ended");
	else if (WIFSIGNALED(status)) snprintf(out, n, "was killed by signal %d", WTERMSIG(status));
	else snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
}

/* ---- the judge's answers ---------------------------------------------------------- */

typedef struct answers {
	char *buf;
	size_t len, cap;          /* a partial line at most LINE_CAP long, and room to read */
	long long lineno;
	waiting *w;
	rad_judge_done_fn done;
	void *ctx;
	rad_judge_stats *st;
} answers;

/* Checks one answer line; NULL or what is wrong. */
static const char *answer(answers *a, const char *line, size_t len)
{
	waiting *w = a->w;
	json_error_t je;
	json_t *o = json_loadb(line, len, 0, &je);
	json_t *id = o ? json_object_get(o, "id") : NULL, *sc = o ? json_object_get(o, "score") : NULL;
	char shown[120];
	snprintf(shown, sizeof shown, "%.*s%s", (int)(len > 80 ? 80 : len), line, len > 80 ? "..." : "");
	if (!json_is_object(o) || !json_is_string(id) || !json_is_number(sc)) {
		snprintf(msg, sizeof msg, "record %s: judge output line %lld is not {\"id\": string, \"score\": number}: %s",
		         json_is_string(id) ? json_string_value(id) : oldest(w), a->lineno, shown);
		json_decref(o);
		return msg;
	}
	if (!wait_take(w, json_string_value(id))) {
		snprintf(msg, sizeof msg, "record %s: judge output line %lld scores a record that was not sent or was already scored",
		         json_string_value(id), a->lineno);
		json_decref(o);
		return msg;
	}
	a->done(a->ctx, json_string_value(id), json_number_value(sc));
	a->st->scored++;
	json_decref(o);
	return NULL;
}

static const char *too_long(answers *a)
{
	snprintf(msg, sizeof msg, "record %s: judge output line %lld is longer than %d bytes (an answer is one short line)",
	         oldest(a->w), a->lineno + 1, LINE_CAP);
	return msg;
}

/* Takes the complete lines of a->buf; *lines counts them.  NULL or what is wrong. */
static const char *take_lines(answers *a, int *lines)
{
	size_t start = 0;
	const char *err = NULL;
	for (size_t i = 0; i < a->len && !err; i++) {
		if (a->buf[i] != '\n') continue;
		size_t n = i - start;
		if (n > LINE_CAP) return too_long(a);
		a->lineno++;
		(*lines)++;
		if (n && a->buf[start + n - 1] == '\r') n--;
		int blank = 1;
		for (size_t q = 0; q < n; q++) blank &= a->buf[start + q] == ' ' || a->buf[start + q] == '\t';
		if (!blank) err = answer(a, a->buf + start, n);
		start = i + 1;
	}
	memmove(a->buf, a->buf + start, a->len - start);
	a->len -= start;
	if (!err && a->len > LINE_CAP) err = too_long(a);
	return err;
}

/* Reads what the judge's output (non-blocking) holds now.  Returns the bytes read, 0 at
 * its end, -1 when nothing is there yet; *err on a bad line. */
static ssize_t read_answers(answers *a, int fd, int *lines, const char **err)
{
	if (a->cap - a->len < 65536) {
		a->cap = a->len + 65536;
		a->buf = rad_realloc(a->buf, a->cap);
	}
	ssize_t k = read(fd, a->buf + a->len, a->cap - a->len);
	if (k < 0) return -1;   /* EAGAIN, EINTR */
	if (k == 0) {           /* the end: what is left is the last line */
		if (a->len) {
			a->lineno++;
			(*lines)++;
			*err = answer(a, a->buf, a->len);
			a->len = 0;
		}
		return 0;
	}
	a->len += (size_t)k;
	*err = take_lines(a, lines);
	return k;
}

/* The judge has exited: takes what it left in the pipe, whoever else still holds the
 * pipe open, its last line without a newline too.  NULL or what is wrong. */
static const char *take_rest(answers *a, int fd, int *out_open)
{
	const char *err = NULL;
	int lines = 0;
	while (*out_open && !err) {
		ssize_t k = read_answers(a, fd, &lines, &err);
		if (k == 0) *out_open = 0;
		else if (k < 0) break;
	}
	if (!err && a->len) {
		a->lineno++;
		err = answer(a, a->buf, a->len);
		a->len = 0;
	}
	return err;
}

/* How the judge ended ("exited with status 3"), given up to secs to exit; `alive` when
 * it has not. */
static void how_ended(pid_t pid, double secs, int *reaped, int *status, const char *alive, char *how, size_t n)
{
	if (!*reaped && exited_within(pid, secs, status)) *reaped = 1;
	if (*reaped) describe_exit(*status, how, n);
	else snprintf(how, n, "%s", alive);
}

static const char *unscored(const waiting *w, const rad_judge_stats *st, const char *how)
{
	snprintf(msg, sizeof msg, "record %s: judge %s before scoring it (%lld of %lld records sent scored)",
	         w->n ? oldest(w) : "(next)", how, st->scored, st->sent);
	return msg;
}

const char *rad_judge_run(const char *command, double timeout_s, rad_judge_next_fn next, rad_judge_done_fn done,
                          void *ctx, rad_judge_stats *st)
{
	int in[2], out[2];
	memset(st, 0, sizeof *st);
	if (pipe(in) || pipe(out)) {
		snprintf(msg, sizeof msg, "judge: pipe: %s", strerror(errno));
		return msg;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, sizeof msg, "judge: fork: %s", strerror(errno));
		return msg;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);   /* also here: the group must exist before it is signalled */
	forward_signals(pid);
#ifdef PR_SET_CHILD_SUBREAPER
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	close(in[0]);
	close(out[1]);
	int wfd = in[1], rfd = out[0];
	fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	fcntl(wfd, F_SETFD, FD_CLOEXEC);
	fcntl(rfd, F_SETFD, FD_CLOEXEC);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	void (*old_chld)(int) = signal(SIGCHLD, SIG_DFL);   /* ignored, the judge's status would be lost */
	waiting w = {0};
	answers a = {.w = &w, .done = done, .ctx = ctx, .st = st};
	char *wbuf = NULL;
	size_t wlen = 0, woff = 0;
	int more = 1, stdin_open = 1, out_open = 1, reaped = 0, status = -1;
	const char *err = NULL;
	char how[80];
	/* The timeout counts from the last progress: a request written, or a whole answer
	 * line read.  Bytes of a line that never ends do not count. */
	double last = rad_seconds();
	while (!err) {
		/* the next request, when the last one has gone */
		if (stdin_open && woff == wlen && more) {
			char *id, *line;
			if (next(ctx, &id, &line)) {
				size_t n = strlen(line);
				wbuf = rad_realloc(wbuf, n + 1);
				memcpy(wbuf, line, n);
				wbuf[n] = '\n';
				wlen = n + 1;
				woff = 0;
				free(line);
				wait_push(&w, id);
				st->sent++;
			} else {
				more = 0;
			}
		}
		if (stdin_open && !more && woff == wlen) { close(wfd); stdin_open = 0; }
		int pending = w.n > 0 || more || stdin_open;
		/* The judge has exited: what it wrote is in the pipe, whoever else holds it open.
		 * Take that, then the run is over. */
		int state = reaped ? 1 : judge_state(pid, &status);
		if (state == 2) {
			snprintf(msg, sizeof msg, "record %s: judge was stopped by signal %d (a judge runs in a process group of its own: "
			         "it cannot read the terminal)", oldest(&w), WSTOPSIG(status));
			err = msg;
			break;
		}
		if (state == 1 && !reaped) {
			reaped = 1;
			if ((err = take_rest(&a, rfd, &out_open))) break;
			describe_exit(status, how, sizeof how);
			if (w.n || more || stdin_open) err = unscored(&w, st, how);
			else if (status != 0) {
				snprintf(msg, sizeof msg, "judge %s after scoring every record", how);
				err = msg;
			}
			break;
		}
		double left = timeout_s > 0 ? timeout_s - (rad_seconds() - last) : 1e9;
		if (left <= 0) {
			if (out_open)
				snprintf(msg, sizeof msg, "record %s: judge sent no score for %g seconds (--judge-timeout)", oldest(&w), timeout_s);
			else if (pending)
				snprintf(msg, sizeof msg, "record %s: judge closed its output before scoring it and did not exit in %g seconds",
				         oldest(&w), timeout_s);
			else
				snprintf(msg, sizeof msg, "judge scored every record and closed its output, but did not exit in %g seconds",
				         timeout_s);
			err = msg;
			break;
		}
		int ms = left * 1000 < CHECK_MS ? (int)(left * 1000) + 1 : CHECK_MS;
		struct pollfd p[2] = {{out_open ? rfd : -1, POLLIN, 0}, {stdin_open ? wfd : -1, POLLOUT, 0}};
		int r = poll(p, 2, ms);
		if (r < 0) {
			if (errno == EINTR) continue;
			snprintf(msg, sizeof msg, "judge: poll: %s", strerror(errno));
			err = msg;
			break;
		}
		if (r == 0) continue;   /* the timeout and the judge's exit are checked above */
		if (stdin_open && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t k = write(wfd, wbuf + woff, wlen - woff);
			if (k > 0) { woff += (size_t)k; last = rad_seconds(); }
			else if (k < 0 && errno != EAGAIN && errno != EINTR) {   /* the judge closed its input */
				close(wfd);
				stdin_open = 0;
				more = 0;
				if (woff < wlen) {   /* this record never reached it */
					how_ended(pid, 0.5, &reaped, &status, "closed its input", how, sizeof how);
					snprintf(msg, sizeof msg, "record %s: judge %s before reading it (%lld of %lld records scored)",
					         w.n ? w.id[(w.head + w.n - 1) % w.cap] : "?", how, st->scored, st->sent);
					err = msg;
					break;
				}
			}
		}
		if (out_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			int lines = 0;
			ssize_t k = read_answers(&a, rfd, &lines, &err);
			if (lines) last = rad_seconds();
			if (err) break;
			if (k == 0) {
				out_open = 0;
				/* Output closed with records unscored: a moment for the judge to exit, so
				 * the message can say how it ended. */
				if (w.n || more || stdin_open) {
					how_ended(pid, 0.5, &reaped, &status, "closed its output", how, sizeof how);
					err = unscored(&w, st, how);
				}
			}
		}
	}
	if (stdin_open) close(wfd);
	close(rfd);
	end_group(pid, &reaped, status);
#ifdef PR_SET_CHILD_SUBREAPER
	prctl(PR_SET_CHILD_SUBREAPER, 0);
#endif
	restore_signals();
	signal(SIGPIPE, old_pipe);
	signal(SIGCHLD, old_chld);
	free(wbuf);
	free(a.buf);
	wait_free(&w);
	return err;
}
