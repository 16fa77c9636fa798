/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: the parent only schedules.  Each scenario runs in a child
 * process of its own (its own temporary directory, mount or plain tree, FDs
 * and library state), which writes a small result file; the parent reaps the
 * children, cleans up after them (unmounting a mount a crashed child left
 * behind) and collects their results.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/fakesys_serve.h>

#include "report.h"
#include "schedule.h"
#include "serve.h"
#include "util.h"

static int rm_ent(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(p) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

static int chmod_ent(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(p, 0700);
	return 0;
}

/* rm -rf of a directory this runner made (a materialized tree has read-only directories). */
static void rm_rf(const char *dir)
{
	nftw(dir, chmod_ent, 16, FTW_PHYS | FTW_MOUNT);
	nftw(dir, rm_ent, 16, FTW_PHYS | FTW_DEPTH | FTW_MOUNT);
}

/* After the child of @s: remove a mount it left (only a fakesys mount is
 * touched) and its directory.  Returns NULL, or the note of what could not be
 * cleaned up (a mount still there, a server that did not exit). */
static char *clean_up(struct scen *s)
{
	char mnt[4300], *why = NULL;
	struct vk_error e = {0};

	snprintf(mnt, sizeof(mnt), "%s/mnt", s->dir);
	/* -ENOENT: a plain tree; -EINVAL: nothing (or not a fakesys mount) there */
	int r = vk_fakesys_umount(mnt, &e);
	if (r < 0 && r != -ENOENT && r != -EINVAL)
		why = runner_asprintf("cleaning up after it: %s", e.msg);
	rm_rf(s->dir);
	return why;
}

/* Why a child that ended with @wstatus gave no result: the note of the error. */
static char *why_no_result(int wstatus, unsigned timeout, const char *why)
{
	int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;

	if (sig == SIGALRM)
		return runner_asprintf("timed out after %u s", timeout);
	if (sig)
		return runner_asprintf("the runner's child was killed by signal %d (%s)", sig, strsignal(sig));
	if (!WIFEXITED(wstatus))
		return runner_asprintf("the runner's child ended with wait status 0x%x", (unsigned)wstatus);
	if (WEXITSTATUS(wstatus) != 0)
		return runner_asprintf("the runner's child failed (status %d)", WEXITSTATUS(wstatus));
	return runner_asprintf("the runner's child exited without a usable result: %s", why);
}

/* The child of @s ended with @wstatus: clean up after it and take its result.
 * Only a child that exited 0 after writing a whole result has one; anything
 * else is an error, whatever the result file says, and so is a mount or
 * server left behind. */
static void finish(struct scen *s, int wstatus, unsigned timeout)
{
	char result[4300], why[1200] = "";

	s->secs = runner_since(&s->start);
	snprintf(result, sizeof(result), "%s/result", s->dir);
	int r = -ECHILD;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
		r = runner_result_read(result, &s->res, why, sizeof(why));
	_cleanup_free_ char *left = clean_up(s);
	if (r == 0 && left) {
		runner_result_set(&s->res, ST_ERROR, TAKE_PTR(left));
	} else if (r < 0) {
		_cleanup_free_ char *note = why_no_result(wstatus, timeout, why);
		runner_result_set(&s->res, ST_ERROR,
		                  left ? runner_asprintf("%s; %s", note ? note : "?", left) : TAKE_PTR(note));
	}
}

/* The child of @s could not be waited for (@err): its result is unknown,
 * which is an error, never a pass. */
static void lost(struct scen *s, int err)
{
	s->secs = runner_since(&s->start);
	s->pid = 0;
	free(clean_up(s));
	runner_result_set(&s->res, ST_ERROR,
	                  runner_asprintf("its result is unknown: waitpid: %s%s", strerror(err),
	                                  err == ECHILD ? " (something else reaped the runner's child)" : ""));
}

/* The child: the timeout is SIGALRM's default action, which a caller may have
 * left ignored or blocked (both survive fork and exec); then the scenario. */
static __attribute__((noreturn)) void child(const struct scen *s, const struct sched_opts *o)
{
	char result[4300];
	sigset_t alrm;

	signal(SIGALRM, SIG_DFL);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	alarm(o->timeout);
	snprintf(result, sizeof(result), "%s/result", s->dir);
	_exit(runner_serve_one(s->path, s->dir, o->mode, o->timeout, result) < 0 ? 1 : 0);
}

/* Start the child of scenario @s (number @i).  Returns true when it runs;
 * false with the result set when it could not start. */
static bool start(struct scen *s, size_t i, const char *base, const struct sched_opts *o)
{
	snprintf(s->dir, sizeof(s->dir), "%s/%zu", base, i);
	if (mkdir(s->dir, 0711) < 0) {
		runner_result_set(&s->res, ST_ERROR, runner_asprintf("mkdir %s: %s", s->dir, strerror(errno)));
		return false;
	}
	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	s->pid = fork();
	if (s->pid == 0)
		child(s, o);
	if (s->pid < 0) {
		s->pid = 0;
		runner_result_set(&s->res, ST_ERROR, runner_asprintf("fork: %s", strerror(errno)));
		rm_rf(s->dir);
		return false;
	}
	return true;
}

/* @s's line as it finishes, unless the run is quiet and @s passed or was
 * skipped. */
static void print_line(const struct sched_opts *o, const struct scen *s)
{
	if (!o->quiet || (s->res.status != ST_OK && s->res.status != ST_SKIP))
		runner_report_line(o->out, s);
}

/* Reap one child and report its scenario.  Returns the number of scenarios
 * that ended: 1, 0 after EINTR, or every running one when waitpid() failed,
 * each then an error (*@failed set). */
static size_t reap(struct scen *v, size_t next, const struct sched_opts *o, bool *failed)
{
	int ws;
	size_t ended = 0;
	pid_t p = waitpid(-1, &ws, 0);

	if (p < 0 && errno == EINTR)
		return 0;
	int err = errno;
	for (size_t i = 0; i < next; i++) {
		if (v[i].pid <= 0 || (p > 0 && v[i].pid != p))
			continue;
		if (p > 0) {
			v[i].pid = 0;
			finish(&v[i], ws, o->timeout);
		} else {
			lost(&v[i], err);
		}
		print_line(o, &v[i]);
		ended++;
	}
	*failed = p < 0;
	return ended;
}

/* Scenarios the run did not reach (after a wait error) are errors too. */
static void not_run(struct scen *v, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].res.status != ST_NOTRUN)
			continue;
		runner_result_set(&v[i].res, ST_ERROR,
		                  runner_asprintf("not run: the runner stopped after an earlier scenario's result was lost"));
		runner_report_line(out, &v[i]);
	}
}

void runner_schedule(struct scen *v, size_t n, const char *base, const struct sched_opts *o)
{
	size_t next = 0, running = 0;
	bool failed = false;
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old;

	/*
	 * A parent may have set SIGCHLD to SIG_IGN (a shell's trap "" CHLD, a CI
	 * agent), which exec keeps: the kernel then reaps the children itself
	 * (kernel/signal.c do_notify_parent(): autoreap when SIGCHLD is SIG_IGN
	 * or SA_NOCLDWAIT) and waitpid() fails with ECHILD, the result unknown.
	 * The default for the run, the caller's own afterwards.
	 */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &old);
	while (!failed && (next < n || running)) {
		while (next < n && running < (size_t)o->jobs) {
			if (start(&v[next], next, base, o)) {
				running++;
			} else {
				print_line(o, &v[next]);
			}
			next++;
		}
		if (running)
			running -= reap(v, next, o, &failed);
	}
	sigaction(SIGCHLD, &old, NULL);
	not_run(v, n, o->out);
}
