/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys run` under abrupt ends (issues #22 and #14): SIGKILL, SIGSTOP and
 * SIGCONT of fakesys itself and of the FUSE server serving its tree, while
 * the command runs.  After each, within a bounded wait:
 *   - every process of the run has ended and been reaped: fakesys, its
 *     helpers, the server, fusermount3, the command and what it started in
 *     the background (each inherits FAKESYS_KILLTEST_MARK, which this test
 *     looks for in /proc/PID/environ; the PIDs seen before the signal are
 *     followed until they are gone, so a zombie is seen too);
 *   - no fuse.fakesys mount and no scratch directory of the run is left.
 * This process is a child subreaper (PR_SET_CHILD_SUBREAPER): the orphans of
 * a killed fakesys come here instead of to PID 1, and are counted; after a
 * run that ended normally there must be none.  The times the clean-up took
 * are printed; no timing is asserted beyond the generous bounds.
 * Run through need-fuse.sh (skipped without /dev/fuse); skipped where
 * namespaces are not permitted.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

#define START_WAIT_S 30 /* bound on the command's start */
#define GONE_WAIT_S 15  /* bound on the end of every process of the run */
#define MAX_TRACKED 256

static char fakesys_bin[PATH_MAX], scenario[PATH_MAX];
static char work[PATH_MAX]; /* this test's directory: --tmpdir, marks, output */
static char mark[128];      /* FAKESYS_KILLTEST_MARK=<unique> */

static void setup(void)
{
	vk_bin("fakesys/fakesys", fakesys_bin, sizeof(fakesys_bin));
	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	char real[PATH_MAX];
	cr_assert_not_null(realpath(work, real)); /* as mountinfo shows it */
	memcpy(work, real, sizeof(work));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(mark, sizeof(mark), "FAKESYS_KILLTEST_MARK=%d.%ld.%ld", (int)getpid(), (long)ts.tv_sec, ts.tv_nsec);
	cr_assert_eq(putenv(mark), 0);
}

static void teardown(void)
{
	vk_rm_rf(work);
}

TestSuite(ns_run_kill, .init = setup, .fini = teardown, .timeout = 150);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* Skip (with the reason) where fakesys run cannot create its namespaces. */
static void need_namespaces(void)
{
	pid_t pid = fork();
	int ws;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int flags = geteuid() == 0 ? CLONE_NEWNS | CLONE_NEWPID : CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID;
		_exit(unshare(flags) == 0 ? 0 : errno);
	}
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		cr_skip_test("unshare of a mount and PID namespace is not permitted here (%s): fakesys run cannot work",
		             strerror(WEXITSTATUS(ws)));
}

/* ---- the processes of the run ---------------------------------------------------- */

/* Whether process @pid's environment holds the mark (a zombie has none). */
static bool has_mark(long pid)
{
	char path[64];
	static char env[1 << 16];

	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, env, sizeof(env) - 1);
	close(fd);
	if (n <= 0)
		return false;
	env[n] = '\0';
	for (char *p = env; p < env + n; p += strlen(p) + 1)
		if (!strcmp(p, mark))
			return true;
	return false;
}

/* 'R', 'S', 'T', 'Z', ... of @pid, 0 when it does not exist; *ppid its parent. */
static char proc_state(pid_t pid, pid_t *ppid)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (vk_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	char *p = strrchr(buf, ')');
	int pp = 0;
	if (!p || sscanf(p + 2, "%*c %d", &pp) != 1)
		return 0;
	if (ppid)
		*ppid = (pid_t)pp;
	return p[2];
}

static void proc_desc(pid_t pid, char *buf, size_t len)
{
	char path[64], cmd[512];
	pid_t pp = 0;
	char st = proc_state(pid, &pp);

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	long n = vk_read_file(path, cmd, sizeof(cmd));
	for (long i = 0; i + 1 < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	snprintf(buf, len, "[pid %d state %c parent %d: %s]", (int)pid, st ? st : '?', (int)pp, n > 0 ? cmd : "");
}

struct tracked {
	pid_t pid[MAX_TRACKED];
	int n;
};

static void track(struct tracked *t, pid_t pid)
{
	for (int i = 0; i < t->n; i++)
		if (t->pid[i] == pid)
			return;
	if (t->n < MAX_TRACKED)
		t->pid[t->n++] = pid;
}

/* Add every live process carrying the mark (this one excluded); returns how many there are. */
static int scan_marked(struct tracked *t)
{
	DIR *d = opendir("/proc");
	int n = 0;

	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid() || !has_mark(pid))
			continue;
		track(t, (pid_t)pid);
		n++;
	}
	closedir(d);
	return n;
}

/* fuse.fakesys mounts (in this mount namespace) whose mountpoint is under @dir. */
static int fakesys_mounts_under(const char *dir, char *desc, size_t dlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mp[PATH_MAX];
	size_t dl = strlen(dir), used = 0;
	int n = 0;

	cr_assert_not_null(f);
	if (desc && dlen)
		desc[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || !sep || strncmp(sep, " - fuse.fakesys ", 16))
			continue;
		if (strncmp(mp, dir, dl) || (mp[dl] && mp[dl] != '/'))
			continue;
		n++;
		if (desc && used < dlen) {
			int w = snprintf(desc + used, dlen - used, "%s", line);
			if (w > 0)
				used += (size_t)w;
		}
	}
	fclose(f);
	return n;
}

/* Scratch directories (fakesys-run.*) left in @dir. */
static int scratch_dirs_in(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;

	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += !strncmp(e->d_name, "fakesys-run.", 12);
	closedir(d);
	return n;
}

/* Whether the tracked @pid is still one of the run's: alive with the mark,
 * or a zombie nobody reaps (its environment is gone with its memory). */
static bool still_there(pid_t pid)
{
	char st = proc_state(pid, NULL);

	return st == 'Z' || (st && has_mark(pid));
}

struct outcome {
	int adopted;     /* orphans of the run reaped here (this process is their subreaper) */
	double seconds;  /* until every process was gone */
	char left[4096]; /* what was left after the bound, empty when nothing */
};

/*
 * Wait (GONE_WAIT_S at most) until every process of @t and every marked one
 * is gone, reaping the orphans that come here, and until no fuse.fakesys
 * mount is left under the run's directory.  Whatever is left after the bound
 * is described in o->left, then killed and unmounted so that the next test
 * starts clean.
 */
static void wait_all_gone(struct tracked *t, struct outcome *o)
{
	double t0 = now(), deadline = t0 + GONE_WAIT_S;
	int remaining = 0, mounts = 0;

	memset(o, 0, sizeof(*o));
	for (;;) {
		int ws;
		while (waitpid(-1, &ws, WNOHANG) > 0)
			o->adopted++;
		scan_marked(t);
		remaining = 0;
		for (int i = 0; i < t->n; i++)
			remaining += still_there(t->pid[i]);
		mounts = fakesys_mounts_under(work, NULL, 0);
		if ((!remaining && !mounts) || now() > deadline)
			break;
		sleep_ms(10);
	}
	o->seconds = now() - t0;
	if (!remaining && !mounts)
		return;
	size_t used = 0;
	for (int i = 0; i < t->n; i++) {
		if (!still_there(t->pid[i]))
			continue;
		proc_desc(t->pid[i], o->left + used, sizeof(o->left) - used);
		used = strlen(o->left);
	}
	if (mounts) {
		used += (size_t)snprintf(o->left + used, sizeof(o->left) - used, " mounts: ");
		fakesys_mounts_under(work, o->left + used, sizeof(o->left) - used);
	}
	/* clean up for the next test: continue and kill what is left, unmount */
	for (int i = 0; i < t->n; i++) {
		if (!has_mark(t->pid[i]))
			continue; /* a zombie, or no longer the run's */
		kill(t->pid[i], SIGCONT);
		kill(t->pid[i], SIGKILL);
	}
	sleep_ms(200);
	int ws;
	while (waitpid(-1, &ws, WNOHANG) > 0)
		;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mp[PATH_MAX];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strncmp(mp, work, strlen(work)))
			umount2(mp, MNT_DETACH);
	if (f)
		fclose(f);
}

static void report(const char *what, const struct outcome *o)
{
	cr_log_info("%s: every process gone after %.3f s, %d orphan(s) reaped here", what, o->seconds, o->adopted);
	fprintf(stderr, "ns_run_kill: %s: every process gone after %.3f s, %d orphan(s) reaped here\n", what,
	        o->seconds, o->adopted);
}

/* ---- starting a run ---------------------------------------------------------------- */

/* Whether child @pid has ended (without reaping it). */
static bool ended(pid_t pid)
{
	siginfo_t si = {0};

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

struct run {
	pid_t pid;                   /* fakesys */
	pid_t server;                /* the FUSE server, as the command saw it in its mountinfo */
	char started[PATH_MAX + 16]; /* the command creates it once it runs */
	char go[PATH_MAX + 16];      /* the test creates it to let the command go on */
	char srv[PATH_MAX + 16];     /* the command writes the server's PID there */
	char out[PATH_MAX + 16];     /* fakesys's stdout and stderr */
	char err[PATH_MAX + 16];
	struct tracked t;
};

/*
 * Start `fakesys run [@opt] --tmpdir WORK default.yaml -- sh -c PREFIX@script`,
 * where PREFIX writes the server's PID (the fsname fakesys:<pid> of the
 * tree's mount on /sys/bus/pci, in the command's mountinfo) and then creates
 * the start mark;
 * in @script, "$2" is the go file.  Returns once the command has started,
 * with every process of the run tracked.
 */
static void start_run(struct run *r, const char *opt, const char *script)
{
	/* the tree's mount on /sys/bus/pci inside, not another fakesys mount
	 * of the host that the namespace may have copied */
	static const char prefix[] = "grep ' /sys/bus/pci ' /proc/self/mountinfo | head -n 1 > \"$3\"; touch \"$1\"; ";
	char cmd[4096];
	posix_spawn_file_actions_t fa;
	char *argv[16];
	int n = 0;

	memset(r, 0, sizeof(*r));
	snprintf(r->started, sizeof(r->started), "%s/started", work);
	snprintf(r->go, sizeof(r->go), "%s/go", work);
	snprintf(r->srv, sizeof(r->srv), "%s/server-pid", work);
	snprintf(r->out, sizeof(r->out), "%s/stdout", work);
	snprintf(r->err, sizeof(r->err), "%s/stderr", work);
	snprintf(cmd, sizeof(cmd), "%s%s", prefix, script);
	argv[n++] = fakesys_bin;
	argv[n++] = "run";
	if (opt)
		argv[n++] = (char *)opt;
	argv[n++] = "--tmpdir";
	argv[n++] = work;
	argv[n++] = scenario;
	argv[n++] = "--";
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = cmd;
	argv[n++] = "sh";
	argv[n++] = r->started;
	argv[n++] = r->go;
	argv[n++] = r->srv;
	argv[n] = NULL;
	cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, r->out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, r->err, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	cr_assert_eq(posix_spawn(&r->pid, fakesys_bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	double deadline = now() + START_WAIT_S;
	while (access(r->started, F_OK) < 0 && now() < deadline && !ended(r->pid))
		sleep_ms(10);
	char err[2048] = "";
	if (access(r->started, F_OK) < 0) {
		vk_read_file(r->err, err, sizeof(err));
		kill(r->pid, SIGKILL);
		cr_assert_fail("the command did not start within %d s: %s", START_WAIT_S, err);
	}
	char buf[4096] = "";
	cr_assert_gt(vk_read_file(r->srv, buf, sizeof(buf)), 0, "the command saw no mount on /sys/bus/pci");
	/* FUSE: the server's PID in the source fakesys:<pid>; without options
	 * as root the tree may be static (a tmpfs "fakesys" of the namespace's
	 * own, no server: docs/architecture.md) */
	char *src = strstr(buf, " - fuse.fakesys fakesys:");
	if (!src) {
		cr_assert(!opt && strstr(buf, " - tmpfs fakesys "), "the command saw no fakesys mount: %s", buf);
		r->server = 0;
	} else {
		r->server = (pid_t)atoi(src + strlen(" - fuse.fakesys fakesys:"));
		cr_assert_gt(r->server, 0, "server PID in '%s'", buf);
	}
	/* never signal a process that is not this run's (after a command that
	 * ends at once, the server may be gone already) */
	/* a server on its way out (after a command that ends at once) has no
	 * environment to read any more (its mm is gone before it is a zombie):
	 * wait for it to become one, or to show the mark; a static run has no
	 * server (its tree is a tmpfs copy) */
	bool ours = !r->server;
	for (int i = 0; i < 200 && !ours; i++) {
		char st = proc_state(r->server, NULL);
		ours = !st || st == 'Z' || st == 'X' || has_mark(r->server);
		if (!ours)
			sleep_ms(5);
	}
	cr_assert(ours, "server PID %d does not belong to this run", (int)r->server);
	scan_marked(&r->t);
	track(&r->t, r->pid);
}

/* Reap fakesys (bounded); returns its wait status. */
static int reap_fakesys(struct run *r, int bound_s)
{
	double deadline = now() + bound_s;
	int ws = 0;
	pid_t w;

	while ((w = waitpid(r->pid, &ws, WNOHANG)) == 0 && now() < deadline)
		sleep_ms(10);
	if (w == 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, &ws, 0);
		cr_assert_fail("fakesys did not end within %d s", bound_s);
	}
	cr_assert_eq(w, r->pid, "waitpid: %s", strerror(errno));
	return ws;
}

/* Everything of the run is gone, no mount and no scratch directory is left. */
static void assert_all_gone(struct run *r, const char *what, bool orphans_expected)
{
	struct outcome o;

	wait_all_gone(&r->t, &o);
	report(what, &o);
	cr_assert_str_empty(o.left, "%s: left after %d s: %s", what, GONE_WAIT_S, o.left);
	cr_assert_eq(scratch_dirs_in(work), 0, "%s: the run's scratch directory is left in %s", what, work);
	if (!orphans_expected)
		cr_assert_eq(o.adopted, 0, "%s: %d orphan(s) of the run came to the subreaper (they would be PID 1's)",
		             what, o.adopted);
}

/* The command blocks in a FUSE request while the server is stopped: wait
 * until it sleeps in the kernel (state S or D, not R) after the go file. */
static void let_the_command_block(struct run *r)
{
	cr_assert(has_mark(r->server), "server PID %d is not this run's", (int)r->server);
	cr_assert_eq(kill(r->server, SIGSTOP), 0);
	for (int i = 0; i < 500 && proc_state(r->server, NULL) != 'T'; i++)
		sleep_ms(2);
	cr_assert_eq(proc_state(r->server, NULL), 'T', "the server did not stop");
	int fd = open(r->go, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	sleep_ms(300);
}

/* ---- SIGKILL of fakesys ------------------------------------------------------------- */

Test(ns_run_kill, sigkill_of_fakesys_ends_every_process_of_the_command)
{
	struct run r;

	need_namespaces();
	start_run(&r, NULL, "sleep 1000 & sleep 1000 & wait");
	int before = r.t.n;
	cr_assert_eq(kill(r.pid, SIGKILL), 0);
	reap_fakesys(&r, 10);
	assert_all_gone(&r, "SIGKILL of fakesys", true);
	cr_assert_geq(before, 6, "expected fakesys, its helpers, sh and two sleeps; saw %d processes", before);
}

Test(ns_run_kill, sigkill_of_a_stopped_fakesys)
{
	struct run r;

	need_namespaces();
	start_run(&r, NULL, "sleep 1000 & wait");
	cr_assert_eq(kill(r.pid, SIGSTOP), 0);
	sleep_ms(100);
	cr_assert_eq(kill(r.pid, SIGKILL), 0);
	reap_fakesys(&r, 10);
	assert_all_gone(&r, "SIGSTOP, then SIGKILL of fakesys", true);
}

/* The hard case: the server is stopped while the command waits for it (a
 * request it may have read already waits uninterruptibly), then fakesys is
 * killed.  Nothing may wait for a server that nobody continues. */
Test(ns_run_kill, sigkill_of_fakesys_while_the_server_is_stopped)
{
	struct run r;

	need_namespaces();
	start_run(&r, "--live", "sleep 1000 & while [ ! -e \"$2\" ]; do sleep 0.02; done; "
	                        "while :; do cat /sys/bus/pci/devices/0000:01:00.0/vendor >/dev/null; done");
	let_the_command_block(&r);
	cr_assert(!ended(r.pid), "fakesys ended while its server was stopped");
	cr_assert_eq(kill(r.pid, SIGKILL), 0);
	reap_fakesys(&r, 10);
	assert_all_gone(&r, "SIGSTOP of the server, then SIGKILL of fakesys", true);
}

/* A termination signal while the server is stopped: fakesys continues the
 * server (a request it read would otherwise hold the command forever), the
 * command ends with the signal, everything is cleaned up.  The signal goes
 * fakesys -> init -> command, and fakesys continues the server after its
 * first hop: the command must still be running when the signal reaches it,
 * so after the read it waits on a FIFO nobody opens (it read /dev/stdin, which
 * is /dev/null, and ended with 0 when the server was quicker than the init). */
Test(ns_run_kill, sigterm_of_fakesys_while_the_server_is_stopped)
{
	struct run r;

	need_namespaces();
	start_run(&r, "--live", "mkfifo \"$2.never\" && while [ ! -e \"$2\" ]; do sleep 0.02; done; "
	                        "exec cat /sys/bus/pci/devices/0000:01:00.0/vendor \"$2.never\"");
	let_the_command_block(&r);
	cr_assert_eq(kill(r.pid, SIGTERM), 0);
	int ws = reap_fakesys(&r, 30);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 128 + SIGTERM, "fakesys: wait status 0x%x", ws);
	assert_all_gone(&r, "SIGSTOP of the server, then SIGTERM of fakesys", false);
}

/* ---- SIGSTOP and SIGCONT ------------------------------------------------------------- */

Test(ns_run_kill, server_stopped_and_continued_the_command_finishes)
{
	struct run r;
	char out[256] = "";

	need_namespaces();
	start_run(&r, "--live", "while [ ! -e \"$2\" ]; do sleep 0.02; done; "
	                        "cat /sys/bus/pci/devices/0000:01:00.0/vendor");
	let_the_command_block(&r);
	cr_assert(!ended(r.pid), "the command ended while the server was stopped");
	cr_assert_eq(kill(r.server, SIGCONT), 0);
	int ws = reap_fakesys(&r, 30);
	vk_read_file(r.out, out, sizeof(out));
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "fakesys: wait status 0x%x, stdout %s", ws, out);
	cr_assert_str_eq(out, "0x10de\n");
	assert_all_gone(&r, "SIGSTOP and SIGCONT of the server", false);
}

Test(ns_run_kill, fakesys_stopped_and_continued_the_command_finishes)
{
	struct run r;

	need_namespaces();
	start_run(&r, NULL, "while [ ! -e \"$2\" ]; do sleep 0.02; done; exit 5");
	cr_assert_eq(kill(r.pid, SIGSTOP), 0);
	int fd = open(r.go, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	sleep_ms(300);
	cr_assert_eq(kill(r.pid, SIGCONT), 0);
	int ws = reap_fakesys(&r, 30);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 5, "fakesys: wait status 0x%x", ws);
	assert_all_gone(&r, "SIGSTOP and SIGCONT of fakesys", false);
}

/* ---- SIGKILL of the server ------------------------------------------------------------ */

/* The command sees the dead connection (ENOTCONN or ECONNABORTED), ends with
 * its own status; fakesys reports the server's end and cleans up. */
Test(ns_run_kill, sigkill_of_the_server_mid_command)
{
	struct run r;
	char out[1024] = "", err[4096] = "";

	need_namespaces();
	start_run(&r, "--live", "while [ ! -e \"$2\" ]; do sleep 0.02; done; "
	                        "cat /sys/bus/pci/devices/0000:02:00.0/vendor /sys/bus/pci/devices/0000:81:00.0/vendor "
	                        "&& echo read; exit 7");
	cr_assert(has_mark(r.server), "server PID %d is not this run's", (int)r.server);
	cr_assert_eq(kill(r.server, SIGKILL), 0);
	int fd = open(r.go, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	int ws = reap_fakesys(&r, 30);
	vk_read_file(r.out, out, sizeof(out));
	vk_read_file(r.err, err, sizeof(err));
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 7, "fakesys: wait status 0x%x: %s", ws, err);
	cr_assert_str_eq(out, "", "the command read the tree from a dead server");
	cr_assert(strstr(err, "Transport endpoint is not connected") || strstr(err, "Software caused connection abort"),
	          "%s", err);
	cr_assert_not_null(strstr(err, "server"), "fakesys did not report the server's end: %s", err);
	assert_all_gone(&r, "SIGKILL of the server", false);
}

/* ---- a normal end -------------------------------------------------------------------- */

/* No process of a run that ended normally outlives it: nothing is
 * reparented (here: to this subreaper; elsewhere: to PID 1). */
Test(ns_run_kill, a_normal_run_leaves_no_orphan)
{
	struct run r;

	need_namespaces();
	start_run(&r, NULL, "exit 3");
	int ws = reap_fakesys(&r, 30);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 3, "fakesys: wait status 0x%x", ws);
	assert_all_gone(&r, "a normal end", false);
}

/* The same with a server (--live): it and its fusermount3 helper are reaped. */
Test(ns_run_kill, a_normal_live_run_leaves_no_orphan)
{
	struct run r;

	need_namespaces();
	/* not "exit 3" at once: the server must still be there to be checked */
	start_run(&r, "--live", "while [ ! -e \"$2\" ]; do sleep 0.02; done; exit 3");
	cr_assert_gt(r.server, 0);
	int fd = open(r.go, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	int ws = reap_fakesys(&r, 30);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 3, "fakesys: wait status 0x%x", ws);
	assert_all_gone(&r, "a normal end with a server", false);
}

/* SIGKILL of fakesys with a server (--live): the guard ends the server. */
Test(ns_run_kill, sigkill_of_a_live_fakesys_ends_the_server)
{
	struct run r;

	need_namespaces();
	start_run(&r, "--live", "sleep 1000 & wait");
	cr_assert_gt(r.server, 0);
	cr_assert_eq(kill(r.pid, SIGKILL), 0);
	reap_fakesys(&r, 10);
	assert_all_gone(&r, "SIGKILL of fakesys with a server", true);
}
