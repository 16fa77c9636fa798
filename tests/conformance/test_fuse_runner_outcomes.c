/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test` on FUSE mounts: a scenario that times out, whose child is
 * killed, or whose child's end the runner cannot wait for is an error, never a
 * pass or a skip, and leaves no mount behind (issue 14.1).  The scenarios are
 * made slow by a real cause, a delay fault on the resolver's first open.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "runner_util.h"

extern char **environ;

/* The runner's own directories (and mounts) under tmp, so that a mount left is seen. */
static void setup(void)
{
	runner_setup();
	cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);
}

TestSuite(fuse_outcomes, .init = setup, .fini = runner_teardown);

static void want(const char *needle)
{
	cr_assert(strstr(out, needle), "want '%s' in:\n%s\nstderr:\n%s", needle, out, errb);
}

/* default.yaml with the first open of dev/vfio/devices/vfio0 (the resolver's) delayed @ms, as tmp/slow.yaml. */
static void slow_copy(unsigned ms, char *path, size_t len)
{
	char to[256];

	snprintf(to, sizeof(to), "\nfaults:\n  - {path: dev/vfio/devices/vfio0, op: open, delay_ms: %u, times: 1}\nexpect:\n", ms);
	cr_assert_eq(vk_scenario_variant("default.yaml", "\nexpect:\n", to, tmp, "slow.yaml", path, len), 0);
}

/* Whether /proc/mounts has a fakesys mount under tmp. */
static bool mount_under_tmp(void)
{
	char buf[65536], needle[4200];

	snprintf(needle, sizeof(needle), " %s/", tmp);
	cr_assert(vk_read_file("/proc/mounts", buf, sizeof(buf)) > 0);
	for (char *l = buf, *nl; *l; l = nl + 1) {
		nl = strchrnul(l, '\n');
		char *sp = strstr(l, needle);
		if (sp && sp < nl && strstr(l, " fuse.fakesys ") && strstr(l, " fuse.fakesys ") < nl)
			return true;
		if (!*nl)
			break;
	}
	return false;
}

/* The first child of thread @tid of process @pid, or 0. */
static pid_t first_child(pid_t pid, pid_t tid)
{
	char path[96], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tid);
	if (vk_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return (pid_t)strtol(buf, NULL, 10);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(fuse_outcomes, timeout_is_an_error)
{
	static const char *const alrm[] = {"-i", "ALRM", "-b", "ALRM", NULL};
	char p[4200];

	slow_copy(3000, p, sizeof(p));
	double t0 = now();
	int r = runner_run(true, "--timeout", "1", p, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("ERROR slow (?, ");
	want("timed out after 1 s");
	want("1 scenario: 0 passed, 0 failed, 1 errors");
	cr_assert(!mount_under_tmp());
	/* the caller left SIGALRM ignored and blocked: the child still times out */
	r = runner_run_under(alrm, true, "--timeout", "1", p, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("timed out after 1 s");
	want("1 scenario: 0 passed, 0 failed, 1 errors");
	cr_log_info("two timed-out runs took %.1f s", now() - t0);
	/* and the same scenario passes when it has the time */
	cr_assert_eq(runner_run(true, "--timeout", "20", p, NULL), 0, "%s%s", out, errb);
	want("ok    slow (fuse, ");
}

Test(fuse_outcomes, sigchld_ignored_on_a_mount)
{
	static const char *const ign[] = {"-i", "CHLD", NULL};
	char p[4200];

	cr_assert_eq(vk_scenario_variant("default.yaml", "0000:01:00.1: /dev/vfio/devices/vfio1", "0000:01:00.1: busy",
	                                 tmp, "broken.yaml", p, sizeof(p)),
	             0);
	int r = runner_run_under(ign, true, p, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("FAIL  broken (fuse, ");
	want("1 scenario: 0 passed, 1 failed, 0 errors");
}

Test(fuse_outcomes, killed_child_is_an_error)
{
	char p[4200], bin[4096], outf[4200], tmpenv[4200];
	posix_spawn_file_actions_t fa;
	pid_t pid, child = 0;
	int st;

	slow_copy(3000, p, sizeof(p));
	snprintf(outf, sizeof(outf), "%s/out", tmp);
	snprintf(tmpenv, sizeof(tmpenv), "TMPDIR=%s", tmp);
	char *argv[] = {(char *)vk_bin("fakesys/fakesys", bin, sizeof(bin)), "test", "--fuse", p, NULL};
	char *envp[] = {tmpenv, "PATH=/usr/bin:/bin", NULL};
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, outf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	/* once its mount is up, the scenario's child is in (or near) the delayed open */
	double t0 = now();
	while (now() - t0 < 20 && !(mount_under_tmp() && (child = first_child(pid, pid))))
		usleep(10 * 1000);
	cr_assert_gt(child, 0, "no mount or child of the runner after 20 s");
	cr_assert_eq(kill(child, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(vk_read_file(outf, out, OUTLEN) > 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x\n%s", st, out);
	want("ERROR slow (?, ");
	want("the runner's child was killed by signal 9 (Killed)");
	want("1 scenario: 0 passed, 0 failed, 1 errors");
	cr_assert(!mount_under_tmp(), "the killed child's mount is left");
}

/* Another thread of the process that runs fakesys_cmd_test() sets SIGCHLD to
 * SIG_IGN once the runner has its child: the kernel reaps the child, and the
 * runner's waitpid() fails with ECHILD. */
struct thief {
	pid_t tid;
	bool done;
};

static void *steal_children(void *arg)
{
	struct thief *t = arg;
	double t0 = now();

	while (now() - t0 < 20 && !first_child(getpid(), t->tid))
		usleep(5 * 1000);
	signal(SIGCHLD, SIG_IGN);
	t->done = true;
	return NULL;
}

Test(fuse_outcomes, lost_child_is_an_error_not_a_pass)
{
	char p[4200], outf[4200];
	struct thief t = {.tid = gettid()};
	pthread_t th;

	/* a scenario that passes: its result, were it read, would be "ok" */
	slow_copy(1000, p, sizeof(p));
	snprintf(outf, sizeof(outf), "%s/out", tmp);
	fflush(stdout);
	int saved = dup(1), fd = open(outf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(saved >= 0 && fd >= 0);
	cr_assert_eq(dup2(fd, 1), 1);
	close(fd);
	cr_assert_eq(pthread_create(&th, NULL, steal_children, &t), 0);
	char *argv[] = {"test", "--fuse", p, NULL};
	int rc = fakesys_cmd_test(3, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	pthread_join(th, NULL);
	cr_assert(t.done);
	cr_assert(vk_read_file(outf, out, OUTLEN) > 0);
	cr_assert_eq(rc, 1, "%s", out);
	want("ERROR slow (?, ");
	want("its result is unknown: waitpid: No child processes (something else reaped the runner's child)");
	want("1 scenario: 0 passed, 0 failed, 1 errors");
	cr_assert(!mount_under_tmp());
}
