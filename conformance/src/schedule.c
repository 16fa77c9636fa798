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

/* The child @s ended with @wstatus: clean up after it and take its result. */
static void finish(struct scen *s, int wstatus, unsigned timeout)
{
	char result[4300], mnt[4300];

	s->secs = runner_since(&s->start);
	snprintf(result, sizeof(result), "%s/result", s->dir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", s->dir);
	/* a child that died may have left its mount: only a fakesys mount is touched */
	struct vk_error e = {0};
	(void)fakesys_umount(mnt, &e);
	int r = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? runner_result_read(result, &s->res) : -1;
	rm_rf(s->dir);
	if (r == 0)
		return;
	if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGALRM)
		runner_result_set(&s->res, ST_ERROR, runner_asprintf("timed out after %u s", timeout));
	else if (WIFSIGNALED(wstatus))
		runner_result_set(&s->res, ST_ERROR,
		                  runner_asprintf("the runner's child was killed by signal %d (%s)", WTERMSIG(wstatus),
		                                  strsignal(WTERMSIG(wstatus))));
	else
		runner_result_set(&s->res, ST_ERROR,
		                  runner_asprintf("the runner's child failed (status %d)",
		                                  WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1));
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
	if (s->pid == 0) {
		char result[4300];
		alarm(o->timeout);
		snprintf(result, sizeof(result), "%s/result", s->dir);
		_exit(runner_serve_one(s->path, s->dir, o->mode, o->timeout, result) < 0 ? 1 : 0);
	}
	if (s->pid < 0) {
		runner_result_set(&s->res, ST_ERROR, runner_asprintf("fork: %s", strerror(errno)));
		rm_rf(s->dir);
		return false;
	}
	return true;
}

void runner_schedule(struct scen *v, size_t n, const char *base, const struct sched_opts *o)
{
	size_t next = 0, running = 0, done = 0;

	while (done < n) {
		while (next < n && running < (size_t)o->jobs) {
			if (start(&v[next], next, base, o)) {
				running++;
			} else {
				runner_report_line(o->out, &v[next]);
				done++;
			}
			next++;
		}
		if (!running)
			continue;
		int ws;
		pid_t p = waitpid(-1, &ws, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = 0; i < next; i++)
			if (v[i].pid == p) {
				v[i].pid = 0;
				finish(&v[i], ws, o->timeout);
				runner_report_line(o->out, &v[i]);
				running--;
				done++;
			}
	}
}
