/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FUSE stress with abrupt ends: cycles of `fakesys mount` of default.yaml
 * (kernel-open-cache and --live modes), several client processes walking and
 * reading the tree through a directory FD, SIGKILL of some clients mid-walk,
 * then SIGKILL or SIGTERM of the daemon mid-activity.  After each cycle:
 *   - every client ends within a bounded time (its operations fail with
 *     ENOTCONN/ECONNABORTED or it finishes from the kernel's caches: none
 *     hangs in the dead connection);
 *   - no mount remains at the mountpoint (auto_unmount or the daemon's own
 *     unmount removed it);
 *   - no process is left whose command line names the cycle's mountpoint
 *     (daemon, fusermount3 auto_unmount helper) and the daemon is gone.
 * Only generous bounded waits, no timing figures.  Cycles: $VK_STRESS_CYCLES
 * (default 20).  Run through need-fuse.sh (skipped without /dev/fuse).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define NCLIENTS 4
#define CLIENT_MAX_S 3    /* a client stops by itself after this long */
#define CLIENT_WAIT_S 30  /* bound on a client's end after the daemon's */
#define UNMOUNT_WAIT_S 10 /* bound on the mount's disappearance */
#define PROC_WAIT_S 15    /* bound on the daemon's and helpers' exit */

/* Client exit statuses. */
enum { CL_DISCONNECTED = 0,
       CL_TIMEOUT = 2,
       CL_BAD_ERRNO = 3,
       CL_NO_ROOT = 4 };

static char fakesys_bin[PATH_MAX], scenario[PATH_MAX];

static void setup(void)
{
	vk_bin("fakesys/fakesys", fakesys_bin, sizeof(fakesys_bin));
	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
}

TestSuite(stress, .init = setup, .timeout = 280);

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

/* ---- the client: walk and read through a directory FD until the connection dies ---- */

struct cwalk {
	int disconnected; /* saw ENOTCONN or ECONNABORTED */
	int bad_errno;    /* another errno, 0 = none */
};

static void note_errno(struct cwalk *w, int e)
{
	if (e == ENOTCONN || e == ECONNABORTED)
		w->disconnected = 1;
	else if (e != EINTR && !w->bad_errno)
		w->bad_errno = e;
}

static void client_walk(int dfd, struct cwalk *w, int depth)
{
	DIR *d = fdopendir(dfd);
	char buf[4096];

	if (!d) {
		note_errno(w, errno);
		close(dfd);
		return;
	}
	errno = 0;
	for (struct dirent *e; !w->disconnected && (e = readdir(d)); errno = 0) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			note_errno(w, errno);
			continue;
		}
		if (S_ISDIR(st.st_mode) && depth < 32) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				note_errno(w, errno);
			else
				client_walk(sub, w, depth + 1);
		} else if (S_ISLNK(st.st_mode)) {
			if (readlinkat(dirfd(d), e->d_name, buf, sizeof(buf)) < 0)
				note_errno(w, errno);
		} else if (S_ISREG(st.st_mode) && (st.st_mode & 0444)) {
			int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			if (fd < 0) {
				/* write-only or root-only sysfs files are refused by default_permissions */
				if (errno != EACCES && errno != EPERM)
					note_errno(w, errno);
				continue;
			}
			ssize_t r;
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				;
			/* some stand-ins (e.g. the VFIO cdevs in --live) refuse read() like the real nodes */
			if (r < 0 && errno != EINVAL && errno != EIO && errno != EAGAIN && errno != EPERM)
				note_errno(w, errno);
			close(fd);
		}
	}
	if (errno)
		note_errno(w, errno);
	closedir(d);
}

/* Never returns: _exit() with a CL_* status. */
static void client_main(const char *mnt)
{
	/* the root FD keeps the (possibly detached) mount reachable: after a
	 * SIGTERM unmount the path is an empty directory again, the FD is not */
	int root = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		_exit(CL_NO_ROOT);
	double end = now() + CLIENT_MAX_S;
	while (now() < end) {
		struct cwalk w = {0};
		int d = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d < 0)
			note_errno(&w, errno);
		else
			client_walk(d, &w, 0);
		if (w.disconnected)
			_exit(CL_DISCONNECTED);
		if (w.bad_errno) {
			fprintf(stderr, "stress client %d: unexpected errno %d (%s)\n", (int)getpid(), w.bad_errno,
			        strerror(w.bad_errno));
			_exit(CL_BAD_ERRNO);
		}
	}
	_exit(CL_TIMEOUT);
}

/* ---- checks ---- */

static bool is_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mp[PATH_MAX];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strcmp(mp, path))
			found = true;
	fclose(f);
	return found;
}

/* Whether @pid is a live (not zombie) process. */
static bool alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (vk_read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Live processes other than this one whose command line contains @needle or
 * whose PID is @daemon; their PIDs go into @out (up to @max); returns the count. */
static int leftovers(const char *needle, pid_t daemon, pid_t *out, int max, char *desc, size_t dlen)
{
	DIR *d = opendir("/proc");
	int n = 0;
	size_t used = 0;

	desc[0] = '\0';
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		char path[64], cmd[4096];
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		long len = vk_read_file(path, cmd, sizeof(cmd));
		if (len < 0)
			continue;
		for (long i = 0; i + 1 < len; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		if ((pid == daemon || strstr(cmd, needle)) && alive((pid_t)pid)) {
			if (n < max)
				out[n] = (pid_t)pid;
			n++;
			int w = snprintf(desc + used, dlen - used, "[%ld %s] ", pid, cmd);
			if (w > 0 && (size_t)w < dlen - used)
				used += (size_t)w;
		}
	}
	closedir(d);
	return n;
}

/* Remove a mount the test left behind, whatever state it is in. */
static void force_unmount(const char *mnt)
{
	if (!is_mounted(mnt))
		return;
	if (geteuid() == 0) {
		umount2(mnt, MNT_DETACH);
	} else {
		char *argv[] = {"/bin/fusermount3", "-u", "-z", "-q", (char *)mnt, NULL};
		vk_run(argv, NULL, 0, NULL, 0);
	}
}

struct tally {
	unsigned cycles, clients, killed, disconnected, finished, sigterm, sigkill;
};

/* One cycle; returns false (with @why) at the first failed check, after cleaning up. */
static bool cycle(unsigned i, bool live, bool kill9, struct tally *t, char *why, size_t wlen)
{
	char dir[PATH_MAX], mnt[PATH_MAX + 8], pidfile[PATH_MAX + 8], err[4096];
	pid_t clients[NCLIENTS];
	int nclients = 0;
	pid_t daemon = 0;
	bool ok = true;

	why[0] = '\0';
	/* the mountpoint and the PID file inside a fresh private directory: no
	 * name beside it in the shared $TMPDIR that another user could take */
	if (vk_mkdtemp(dir, sizeof(dir)) < 0) {
		snprintf(why, wlen, "mkdtemp failed");
		return false;
	}
	char real[PATH_MAX];
	if (realpath(dir, real)) /* as /proc/self/mountinfo shows it */
		memcpy(dir, real, sizeof(dir));
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	if (mkdir(mnt, 0755) < 0) {
		snprintf(why, wlen, "mkdir %s: %s", mnt, strerror(errno));
		rmdir(dir);
		return false;
	}
	char *argv[] = {fakesys_bin, "mount", "--pidfile", pidfile, live ? "--live" : scenario, live ? scenario : mnt,
	                live ? mnt : NULL, NULL};
	int rc = vk_run(argv, NULL, 0, err, sizeof(err));
	if (rc != 0) {
		snprintf(why, wlen, "cycle %u: fakesys mount failed (%d): %s", i, rc, err);
		rmdir(mnt);
		rmdir(dir);
		return false;
	}
	char pbuf[32];
	daemon = vk_read_file(pidfile, pbuf, sizeof(pbuf)) > 0 ? (pid_t)atoi(pbuf) : 0;
	if (daemon <= 0) {
		snprintf(why, wlen, "cycle %u: no daemon PID in %s", i, pidfile);
		ok = false;
		goto cleanup;
	}

	for (int c = 0; c < NCLIENTS; c++) {
		pid_t p = fork();
		if (p == 0)
			client_main(mnt);
		if (p > 0)
			clients[nclients++] = p;
	}
	t->clients += (unsigned)nclients;

	/* let them work, then SIGKILL half of them mid-walk */
	sleep_ms(50 + (int)(i * 37 % 150));
	for (int c = 0; c < nclients; c += 2) {
		kill(clients[c], SIGKILL);
		t->killed++;
	}
	sleep_ms(20 + (int)(i * 53 % 100));

	/* the daemon, mid-activity */
	kill(daemon, kill9 ? SIGKILL : SIGTERM);
	if (kill9)
		t->sigkill++;
	else
		t->sigterm++;

	/* every client ends within the bound */
	double deadline = now() + CLIENT_WAIT_S;
	for (int c = 0; c < nclients; c++) {
		int st = 0;
		pid_t r;
		while ((r = waitpid(clients[c], &st, WNOHANG)) == 0 && now() < deadline)
			sleep_ms(10);
		if (r == 0) {
			if (ok)
				snprintf(why, wlen, "cycle %u (%s, daemon %s): client %d still running %d s after the daemon's end",
				         i, live ? "live" : "fast", kill9 ? "SIGKILL" : "SIGTERM", (int)clients[c],
				         CLIENT_WAIT_S);
			ok = false;
			kill(clients[c], SIGKILL);
			waitpid(clients[c], &st, 0);
			continue;
		}
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && c % 2 == 0)
			continue; /* one we killed (it may also have ended before the signal) */
		if (WIFEXITED(st) && WEXITSTATUS(st) == CL_DISCONNECTED) {
			t->disconnected++;
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == CL_TIMEOUT) {
			t->finished++;
		} else {
			if (ok)
				snprintf(why, wlen, "cycle %u (%s, daemon %s): client %d ended with %s %d", i,
				         live ? "live" : "fast", kill9 ? "SIGKILL" : "SIGTERM", (int)clients[c],
				         WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			ok = false;
		}
	}

	/* no stale mount */
	deadline = now() + UNMOUNT_WAIT_S;
	while (is_mounted(mnt) && now() < deadline)
		sleep_ms(10);
	if (is_mounted(mnt)) {
		if (ok)
			snprintf(why, wlen, "cycle %u (%s, daemon %s): %s still mounted %d s after the daemon's end", i,
			         live ? "live" : "fast", kill9 ? "SIGKILL" : "SIGTERM", mnt, UNMOUNT_WAIT_S);
		ok = false;
	}

cleanup:;
	/* no daemon, no auto_unmount helper, nothing naming the mountpoint */
	pid_t left[16];
	char desc[2048];
	int n;
	deadline = now() + PROC_WAIT_S;
	while ((n = leftovers(mnt, daemon, left, 16, desc, sizeof(desc))) > 0 && now() < deadline)
		sleep_ms(20);
	if (n > 0) {
		if (ok)
			snprintf(why, wlen, "cycle %u (%s, daemon %s): %d process(es) left %d s after the daemon's end: %s", i,
			         live ? "live" : "fast", kill9 ? "SIGKILL" : "SIGTERM", n, PROC_WAIT_S, desc);
		ok = false;
		for (int k = 0; k < n && k < 16; k++)
			kill(left[k], SIGKILL);
	}
	force_unmount(mnt);
	rmdir(mnt);
	unlink(pidfile);
	rmdir(dir);
	t->cycles++;
	return ok;
}

Test(stress, kill_clients_and_daemon)
{
	unsigned cycles = 20;
	const char *env = getenv("VK_STRESS_CYCLES");
	if (env && *env)
		cycles = (unsigned)strtoul(env, NULL, 10);
	struct tally t = {0};
	char why[8192];
	double t0 = now();

	for (unsigned i = 0; i < cycles; i++) {
		/* every combination: fast/live x SIGKILL/SIGTERM */
		bool live = (i / 2) % 2, kill9 = i % 2 == 0;
		/* every cycle runs (and cleans up) even after a failure: the
		 * failures of all four combinations are reported together */
		if (!cycle(i, live, kill9, &t, why, sizeof(why)))
			cr_expect_fail("%s", why);
	}
	cr_log_info("%u cycles in %.1f s: %u clients (%u SIGKILLed mid-walk, %u saw the disconnect, %u finished "
	            "from caches), daemon SIGKILLed %u times, SIGTERMed %u times",
	            t.cycles, now() - t0, t.clients, t.killed, t.disconnected, t.finished, t.sigkill, t.sigterm);
	fprintf(stderr,
	        "stress: %u cycles in %.1f s: %u clients (%u SIGKILLed mid-walk, %u saw the disconnect, %u finished "
	        "from caches), daemon SIGKILLed %u times, SIGTERMed %u times\n",
	        t.cycles, now() - t0, t.clients, t.killed, t.disconnected, t.finished, t.sigkill, t.sigterm);
	/* the run must have exercised the dead connection at least once */
	cr_expect_gt(t.disconnected, 0, "no client ever saw ENOTCONN/ECONNABORTED: the kills came too late");
}
