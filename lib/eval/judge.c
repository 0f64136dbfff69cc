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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/cli.h"
#include "eval/judge.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

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

/* Stops the judge (if running) and reaps it; returns its wait status or -1. */
static int reap(pid_t pid, int kill_it)
{
	int status = -1;
	if (kill_it) {   /* a judge that closed its output gets a moment to exit on its own */
		for (int i = 0; i < 20; i++) {
			pid_t r = waitpid(pid, &status, WNOHANG);
			if (r == pid) return status;
			if (r < 0 && errno != EINTR) return -1;
			struct timespec ts = {0, 25 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	return status;
}

static void describe_exit(int status, char *out, size_t n)
{
	if (status < 0) snprintf(out, n, "ended");
	else if (WIFSIGNALED(status)) snprintf(out, n, "was killed by signal %d", WTERMSIG(status));
	else snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
}

/* Checks one answer line; NULL or what is wrong. */
static const char *answer(const char *line, size_t len, waiting *w, rad_judge_done_fn done, void *ctx,
                          rad_judge_stats *st, long long lineno)
{
	json_error_t je;
	json_t *o = json_loadb(line, len, 0, &je);
	json_t *id = o ? json_object_get(o, "id") : NULL, *sc = o ? json_object_get(o, "score") : NULL;
	char shown[120];
	snprintf(shown, sizeof shown, "%.*s%s", (int)(len > 80 ? 80 : len), line, len > 80 ? "..." : "");
	if (!json_is_object(o) || !json_is_string(id) || !json_is_number(sc)) {
		if (json_is_string(id))
			snprintf(msg, sizeof msg, "record %s: judge output line %lld is not {\"id\": string, \"score\": number}: %s",
			         json_string_value(id), lineno, shown);
		else
			snprintf(msg, sizeof msg, "record %s: judge output line %lld is not {\"id\": string, \"score\": number}: %s",
			         oldest(w), lineno, shown);
		json_decref(o);
		return msg;
	}
	if (!wait_take(w, json_string_value(id))) {
		snprintf(msg, sizeof msg, "record %s: judge output line %lld scores a record that was not sent or was already scored",
		         json_string_value(id), lineno);
		json_decref(o);
		return msg;
	}
	done(ctx, json_string_value(id), json_number_value(sc));
	st->scored++;
	json_decref(o);
	return NULL;
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
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	int wfd = in[1], rfd = out[0];
	fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
	fcntl(wfd, F_SETFD, FD_CLOEXEC);
	fcntl(rfd, F_SETFD, FD_CLOEXEC);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	waiting w = {0};
	char *wbuf = NULL, *rbuf = NULL;
	size_t wlen = 0, woff = 0, rlen = 0, rcap = 0;
	int more = 1, stdin_open = 1;
	long long lineno = 0;
	const char *err = NULL;
	double last = now();
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
		struct pollfd p[2] = {{rfd, POLLIN, 0}, {stdin_open ? wfd : -1, POLLOUT, 0}};
		double left = timeout_s > 0 ? timeout_s - (now() - last) : 1e9;
		if (left <= 0) {
			snprintf(msg, sizeof msg, "record %s: judge sent no score for %g seconds (--judge-timeout)", oldest(&w), timeout_s);
			err = msg;
			break;
		}
		int ms = left > 1e6 ? -1 : (int)(left * 1000) + 1;
		int r = poll(p, 2, ms);
		if (r < 0) {
			if (errno == EINTR) continue;
			snprintf(msg, sizeof msg, "judge: poll: %s", strerror(errno));
			err = msg;
			break;
		}
		if (r == 0) continue;   /* the timeout is checked above */
		if (stdin_open && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t k = write(wfd, wbuf + woff, wlen - woff);
			if (k > 0) { woff += (size_t)k; last = now(); }
			else if (k < 0 && errno != EAGAIN && errno != EINTR) {   /* the judge closed its input */
				close(wfd);
				stdin_open = 0;
				more = 0;
				if (woff < wlen) {   /* this record never reached it */
					int status = reap(pid, 0);
					char how[80];
					describe_exit(status, how, sizeof how);
					snprintf(msg, sizeof msg, "record %s: judge %s before reading it (%lld of %lld records scored)",
					         w.n ? w.id[(w.head + w.n - 1) % w.cap] : "?", how, st->scored, st->sent);
					pid = -1;
					err = msg;
					break;
				}
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (rcap - rlen < 65536) { rcap = rcap ? 2 * rcap : 65536; rbuf = rad_realloc(rbuf, rcap); }
			ssize_t k = read(rfd, rbuf + rlen, rcap - rlen);
			if (k < 0 && errno == EINTR) continue;
			if (k > 0) {
				last = now();
				rlen += (size_t)k;
				size_t start = 0;
				for (size_t i = 0; i < rlen && !err; i++) {
					if (rbuf[i] != '\n') continue;
					lineno++;
					size_t n = i - start;
					if (n && rbuf[start + n - 1] == '\r') n--;
					int blank = 1;
					for (size_t q = 0; q < n; q++) blank &= rbuf[start + q] == ' ' || rbuf[start + q] == '\t';
					if (!blank) err = answer(rbuf + start, n, &w, done, ctx, st, lineno);
					start = i + 1;
				}
				memmove(rbuf, rbuf + start, rlen - start);
				rlen -= start;
				continue;
			}
			/* end of the judge's output */
			if (rlen && !err) {
				lineno++;
				err = answer(rbuf, rlen, &w, done, ctx, st, lineno);
				rlen = 0;
			}
			if (err) break;
			int status = reap(pid, w.n > 0 || more || stdin_open);
			pid = -1;
			char how[80];
			describe_exit(status, how, sizeof how);
			if (w.n || more || stdin_open) {
				snprintf(msg, sizeof msg, "record %s: judge %s before scoring it (%lld of %lld records sent scored)",
				         w.n ? oldest(&w) : "(next)", how, st->scored, st->sent);
				err = msg;
			} else if (status != 0) {
				snprintf(msg, sizeof msg, "judge %s after scoring every record", how);
				err = msg;
			}
			break;
		}
	}
	if (stdin_open) close(wfd);
	close(rfd);
	if (pid > 0) { kill(pid, SIGKILL); reap(pid, 0); }
	signal(SIGPIPE, old_pipe);
	free(wbuf);
	free(rbuf);
	wait_free(&w);
	return err;
}
