/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FUSE mount through the `fakesys` CLI: real lspci reads it, it shows the
 * same tree as materialize, and it goes away cleanly however the server ends.
 * Run through need-fuse.sh (skipped without /dev/fuse).
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
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>

#include "live_util.h"

static char fakesys_bin[PATH_MAX];
static char scenario[PATH_MAX];

static void setup(void)
{
	vk_bin("fakesys/fakesys", fakesys_bin, sizeof(fakesys_bin));
	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
}

TestSuite(fuse_mount, .init = setup, .timeout = 120);

/* Whether anything is mounted at @path according to /proc/self/mountinfo. */
static bool is_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mp[PATH_MAX];
	bool found = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strcmp(mp, path))
			found = true;
	fclose(f);
	return found;
}

/* Poll (bounded, 10 s) until @path is no longer a mount point. */
static bool wait_unmounted(const char *path)
{
	for (int i = 0; i < 1000; i++) {
		if (!is_mounted(path))
			return true;
		poll(NULL, 0, 10);
	}
	return false;
}

static pid_t read_pidfile(const char *path)
{
	char buf[32];

	cr_assert_gt(vk_read_file(path, buf, sizeof(buf)), 0, "pidfile %s written", path);
	return (pid_t)atoi(buf);
}

/* `fakesys mount [extra] SCENARIO MNT` on a fresh temp dir; returns the exit status. */
static int mount_with(const char *scen, char *mnt, size_t len, const char *extra, const char *pidfile, char *err,
                      size_t errlen)
{
	char *argv[8];
	int n = 0;

	cr_assert_eq(vk_mkdtemp(mnt, len), 0);
	argv[n++] = fakesys_bin;
	argv[n++] = "mount";
	if (extra)
		argv[n++] = (char *)extra;
	if (pidfile) {
		argv[n++] = "--pidfile";
		argv[n++] = (char *)pidfile;
	}
	argv[n++] = (char *)scen;
	argv[n++] = mnt;
	argv[n] = NULL;
	return vk_run(argv, NULL, 0, err, errlen);
}

static struct vk_host_model *load_default(void)
{
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load(scenario, &m, &e), 0, "%s", e.msg);
	return m;
}

/* The lspci block (first line up to the next device) of @addr, or NULL. */
static char *lspci_block(char *out, const char *addr)
{
	size_t n = strlen(addr);
	for (char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, addr, n) && p[n] == ' ') {
			char *end = p;
			while ((end = strchr(end, '\n')) && end[1] == '\t')
				end++;
			return strndup(p, end ? (size_t)(end - p) : strlen(p));
		}
	}
	return NULL;
}

Test(fuse_mount, real_lspci_sees_every_device)
{
	char mnt[512], err[4096], opt[PATH_MAX + 32];
	static char out[1 << 16];
	struct vk_host_model *m = load_default();

	cr_assert_eq(vk_mount(scenario, mnt, sizeof(mnt)), 0);
	snprintf(opt, sizeof(opt), "sysfs.path=%s/sys/bus/pci", mnt);
	char *argv[] = {"/usr/bin/lspci", "-A", "linux-sysfs", "-O", opt, "-Dnnk", NULL};
	int rc = vk_run(argv, out, sizeof(out), err, sizeof(err));
	vk_umount(mnt);
	cr_assert_eq(rc, 0, "lspci failed: %s", err);

	for (size_t i = 0; i < m->n_devices; i++) {
		const struct vk_host_device *d = &m->devices[i];
		char addr[32], ids[32], cls[16], drv[128];

		snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", d->addr.domain, d->addr.bus, d->addr.slot,
		         d->addr.function);
		char *blk = lspci_block(out, addr);
		cr_assert_not_null(blk, "device %s missing from lspci output:\n%s", addr, out);
		snprintf(ids, sizeof(ids), "[%04x:%04x]", d->vendor, d->device);
		snprintf(cls, sizeof(cls), "[%04x]", d->class_code >> 8);
		cr_assert(strstr(blk, ids), "%s: ids %s in:\n%s", addr, ids, blk);
		cr_assert(strstr(blk, cls), "%s: class %s in:\n%s", addr, cls, blk);
		if (d->driver) {
			snprintf(drv, sizeof(drv), "Kernel driver in use: %s\n", d->driver);
			size_t bl = strlen(blk);
			char *withnl = malloc(bl + 2);
			memcpy(withnl, blk, bl);
			withnl[bl] = '\n';
			withnl[bl + 1] = '\0';
			cr_assert(strstr(withnl, drv), "%s: '%s' in:\n%s", addr, drv, blk);
			free(withnl);
		} else {
			cr_assert_null(strstr(blk, "Kernel driver in use"), "%s has no driver:\n%s", addr, blk);
		}
		free(blk);
	}
	vk_host_model_free(m);
}

/* Compare trees @a and @b recursively; returns the number of entries compared. */
static size_t compare_trees(const char *a, const char *b)
{
	char why[1024] = "";
	size_t n = 0;
	int r = vk_tree_diff(a, b, why, sizeof(why), &n);
	cr_assert_eq(r, 0, "%s (%d)", why, r);
	return n;
}

static void compare_mount_with_materialized(const char *extra)
{
	char mnt[512], dir[PATH_MAX], err[4096];

	cr_assert_eq(vk_materialize(scenario, dir, sizeof(dir)), 0);
	cr_assert_eq(mount_with(scenario, mnt, sizeof(mnt), extra, NULL, err, sizeof(err)), 0, "%s", err);
	size_t n = compare_trees(mnt, dir);
	cr_assert_gt(n, 100, "compared %zu entries", n);
	/* the materialized copy resolves its own relative links like the mount */
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:01:00.0/vendor", mnt);
	cr_assert_eq(stat(p, &st), 0, "%s", p);
	cr_assert_eq(vk_umount(mnt), 0);
	cr_assert_not(is_mounted(mnt));
	/* materialize makes read-only directories; vk_rm_rf runs as root in CI */
	vk_rm_rf(dir);
}

Test(fuse_mount, same_tree_as_materialize)
{
	compare_mount_with_materialized(NULL);
}

Test(fuse_mount, same_tree_as_materialize_serving_opens)
{
	compare_mount_with_materialized("--serve-opens");
}

Test(fuse_mount, read_only_and_kernel_checked_modes)
{
	char mnt[512], p[PATH_MAX];

	cr_assert_eq(vk_mount(scenario, mnt, sizeof(mnt)), 0);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:01:00.0/driver_override", mnt);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) { /* the fast mode lets the kernel open; the write is refused */
		cr_assert_eq(write(fd, "x\n", 2), -1);
		cr_assert_eq(errno, EROFS);
		close(fd);
	} else {
		cr_assert(errno == EROFS || errno == EACCES, "open for write: %s", strerror(errno));
	}
	snprintf(p, sizeof(p), "%s/newfile", mnt);
	cr_assert_eq(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
	cr_assert(errno == EROFS || errno == EACCES, "create: %s", strerror(errno));
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/nonexistent", mnt);
	struct stat st;
	cr_assert_eq(lstat(p, &st), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(vk_umount(mnt), 0);
}

Test(fuse_mount, umount_leaves_no_mount_and_refuses_others)
{
	char mnt[512], err[4096], tmp[512];

	cr_assert_eq(vk_mount(scenario, mnt, sizeof(mnt)), 0);
	cr_assert(is_mounted(mnt));
	cr_assert_gt(vk_fakesys_mount_pid(mnt), 0);
	char *argv[] = {fakesys_bin, "umount", mnt, NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(is_mounted(mnt), "umount returns after the mount is gone");
	/* again: nothing mounted there now */
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 1);
	cr_assert(strstr(err, "fakesys: ") && strstr(err, mnt), "%s", err);
	rmdir(mnt);

	/* never unmounts something that is not fakesys */
	char *argv2[] = {fakesys_bin, "umount", "/proc", NULL};
	cr_assert_eq(vk_run(argv2, NULL, 0, err, sizeof(err)), 1);
	cr_assert(strstr(err, "not a fakesys mount"), "%s", err);
	cr_assert(is_mounted("/proc"));
	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	char *argv3[] = {fakesys_bin, "umount", tmp, NULL};
	cr_assert_eq(vk_run(argv3, NULL, 0, err, sizeof(err)), 1);
	rmdir(tmp);
}

static void kill_server_and_expect_unmount(int sig)
{
	char mnt[512], err[4096], pidfile[PATH_MAX], tmp[512];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(pidfile, sizeof(pidfile), "%s/fakesys.pid", tmp);
	cr_assert_eq(mount_with(scenario, mnt, sizeof(mnt), NULL, pidfile, err, sizeof(err)), 0, "%s", err);
	pid_t pid = read_pidfile(pidfile);
	cr_assert_gt(pid, 1);
	cr_assert_eq(vk_fakesys_mount_pid(mnt), pid, "mount source names the server");
	cr_assert(is_mounted(mnt));
	cr_assert_eq(kill(pid, sig), 0);
	bool gone = wait_unmounted(mnt);
	if (!gone) { /* do not leave it behind for the next test */
		char *argv[] = {"/bin/umount", "-l", mnt, NULL};
		vk_run(argv, NULL, 0, NULL, 0);
	}
	cr_assert(gone, "mount gone after signal %d", sig);
	if (sig == SIGTERM) {
		for (int i = 0; i < 500 && access(pidfile, F_OK) == 0; i++)
			poll(NULL, 0, 10);
		cr_assert_neq(access(pidfile, F_OK), 0, "pidfile removed on clean exit");
	}
	rmdir(mnt);
	vk_rm_rf(tmp);
}

Test(fuse_mount, sigterm_unmounts_cleanly)
{
	kill_server_and_expect_unmount(SIGTERM);
}

Test(fuse_mount, sigkill_leaves_no_stale_mount)
{
	kill_server_and_expect_unmount(SIGKILL);
}

Test(fuse_mount, bad_scenario_fails_and_mounts_nothing)
{
	char tmp[512], yaml[PATH_MAX], mnt[512], err[4096];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(yaml, sizeof(yaml), "%s/broken.yaml", tmp);
	FILE *f = fopen(yaml, "w");
	cr_assert_not_null(f);
	fputs("version: 1\nname: broken\ndevices:\n  - address: [unclosed\n    vendor: 0x8086\n", f);
	fclose(f);

	int rc = mount_with(yaml, mnt, sizeof(mnt), NULL, NULL, err, sizeof(err));
	cr_assert_eq(rc, 1, "exit status %d: %s", rc, err);
	cr_assert(!strncmp(err, "fakesys: ", 9) && strstr(err, "broken.yaml"), "message names the file: %s", err);
	cr_assert_not(is_mounted(mnt));
	rmdir(mnt);

	/* materialize of a bad scenario writes nothing */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	char *argv[] = {fakesys_bin, "materialize", yaml, dir, NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 1);
	cr_assert_neq(access(dir, F_OK), 0, "nothing half-written");
	vk_rm_rf(tmp);
}

Test(fuse_mount, bad_mountpoints_are_refused)
{
	char tmp[512], p[PATH_MAX], err[4096];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(p, sizeof(p), "%s/missing", tmp);
	char *argv[] = {fakesys_bin, "mount", scenario, p, NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 1);
	cr_assert(strstr(err, "fakesys: ") && strstr(err, p), "%s", err);
	cr_assert_not(is_mounted(p));

	snprintf(p, sizeof(p), "%s/file", tmp);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	/* tmp is now not empty */
	char *argv2[] = {fakesys_bin, "mount", scenario, tmp, NULL};
	cr_assert_eq(vk_run(argv2, NULL, 0, err, sizeof(err)), 1);
	cr_assert(strstr(err, "not empty"), "%s", err);
	cr_assert_not(is_mounted(tmp));

	char *argv3[] = {fakesys_bin, "mount", scenario, "/sys", NULL};
	cr_assert_eq(vk_run(argv3, NULL, 0, err, sizeof(err)), 1);
	cr_assert(strstr(err, "refusing"), "%s", err);

	char *argv4[] = {fakesys_bin, "mount", scenario, NULL};
	cr_assert_eq(vk_run(argv4, NULL, 0, err, sizeof(err)), 2, "usage error");
	vk_rm_rf(tmp);
}

/* ---- fakesys umount: in use, --lazy, whose mount, which server ------------ */

static pid_t holder = -1;

/* A child whose working directory is @dir (in a mount) until it is killed
 * (60 s at most) or, with @leave_ms, until it moves out after that long. */
static pid_t start_holder(const char *dir, int leave_ms)
{
	char cwd[PATH_MAX], proc[64];
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(1);
		if (leave_ms) {
			poll(NULL, 0, leave_ms);
			if (chdir("/") < 0)
				_exit(1);
		}
		sleep(60);
		_exit(0);
	}
	/* until the child is in there */
	snprintf(proc, sizeof(proc), "/proc/%d/cwd", (int)pid);
	for (double end = now_ms() + 10000; now_ms() < end; poll(NULL, 0, 2)) {
		ssize_t n = readlink(proc, cwd, sizeof(cwd) - 1);
		if (n > 0 && (cwd[n] = '\0', !strcmp(cwd, dir)))
			return pid;
	}
	cr_assert_fail("the holder never entered %s", dir);
	return pid;
}

static void stop_holder(void)
{
	if (holder > 0) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
	}
	holder = -1;
}

static void umount_cleanup(void)
{
	stop_holder();
	live_cleanup();
}

Test(fuse_mount, umount_in_use_waits_then_names_who_holds_it_and_lazy_detaches, .fini = umount_cleanup)
{
	char mnt[512], dir[PATH_MAX], out[4096], want[64];
	double took;

	cr_assert_eq(vk_mount(scenario, mnt, sizeof(mnt)), 0);
	snprintf(live_mnt, sizeof(live_mnt), "%s", mnt); /* for the cleanup */
	int server = vk_fakesys_mount_pid(mnt);
	cr_assert_gt(server, 0);
	snprintf(dir, sizeof(dir), "%s/sys/bus/pci", mnt);
	holder = start_holder(dir, 0);
	snprintf(want, sizeof(want), "%d (", (int)holder);

	char *argv[] = {fakesys_bin, "umount", "--timeout", "0.3", mnt, NULL};
	int rc = live_run_bounded(argv, 20000, out, sizeof(out), &took);
	cr_assert_eq(rc, 1, "%d: %s", rc, out);
	cr_assert(strstr(out, "still in use after 300 ms") && strstr(out, want) && strstr(out, "): cwd") &&
	                  strstr(out, "--lazy"),
	          "the message names the holder (%s): %s", want, out);
	cr_log_info("umount --timeout 0.3 of a mount in use: refused after %.0f ms", took);
	cr_assert(is_mounted(mnt), "still mounted");

	char *lazy[] = {fakesys_bin, "umount", "--lazy", "--timeout", "0.3", mnt, NULL};
	rc = live_run_bounded(lazy, 20000, out, sizeof(out), &took);
	cr_assert_eq(rc, 0, "%d: %s", rc, out);
	cr_assert(strstr(out, "detached") && strstr(out, want), "%s", out);
	cr_assert_not(is_mounted(mnt), "detached at once");
	stop_holder();
	cr_assert(live_wait_gone(server, 20000), "the server exits once the last user is gone");
	rmdir(mnt);
	live_mnt[0] = '\0';
}

Test(fuse_mount, umount_waits_for_a_user_that_leaves, .fini = umount_cleanup)
{
	char mnt[512], out[4096];
	double took;

	cr_assert_eq(vk_mount(scenario, mnt, sizeof(mnt)), 0);
	snprintf(live_mnt, sizeof(live_mnt), "%s", mnt);
	holder = start_holder(mnt, 300);
	char *argv[] = {fakesys_bin, "umount", mnt, NULL};
	int rc = live_run_bounded(argv, 20000, out, sizeof(out), &took);
	cr_assert_eq(rc, 0, "%d: %s", rc, out);
	cr_assert_not(is_mounted(mnt));
	cr_log_info("umount of a mount its user leaves after 300 ms: %.0f ms", took);
	rmdir(mnt);
	live_mnt[0] = '\0';
}

/* A FUSE mount of type fuse.fakesys made with mount(2), whose source names
 * @pid and whose user_id= is @uid; no server behind it.  Returns the
 * /dev/fuse FD (close it after the unmount). */
static int forged_mount(const char *mnt, pid_t pid, unsigned uid)
{
	char src[64], opts[128];
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0, "/dev/fuse: %s", strerror(errno));
	snprintf(src, sizeof(src), "fakesys:%d", (int)pid);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=0", fd, uid);
	cr_assert_eq(mount(src, mnt, "fuse.fakesys", MS_NOSUID | MS_NODEV, opts), 0, "mount: %s", strerror(errno));
	return fd;
}

Test(fuse_mount, root_signals_and_waits_on_no_pid_a_mount_merely_names, .fini = umount_cleanup)
{
	char mnt[512], out[4096];
	double took;

	if (geteuid() != 0)
		cr_skip_test("needs root: the forged mounts are made with mount(2)");
	/* the victim: SIGUSR1 or SIGTERM would end it; it holds no /dev/fuse */
	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0) {
		sleep(60);
		_exit(0);
	}
	static const struct {
		unsigned uid;
		const char *why;
	} cases[] = {
		{65534, "a mount made by another user (user_id=65534) names root's process"},
		{0, "a mount of root names a process of root that is no FUSE server"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
		int fd = forged_mount(mnt, holder, cases[i].uid);
		char *argv[] = {fakesys_bin, "umount", mnt, NULL};
		int rc = live_run_bounded(argv, 20000, out, sizeof(out), &took);
		if (rc != 0)
			umount2(mnt, MNT_DETACH);
		close(fd);
		cr_assert_eq(rc, 0, "%s: umount gave %d after %.0f ms: %s", cases[i].why, rc, took, out);
		cr_assert_not(is_mounted(mnt), "%s: unmounted", cases[i].why);
		cr_assert_eq(waitpid(holder, NULL, WNOHANG), 0, "%s: the named process was signalled", cases[i].why);
		cr_log_info("%s: unmounted in %.0f ms, the process untouched", cases[i].why, took);
		rmdir(mnt);
	}
}

Test(fuse_mount, a_user_is_told_the_mount_is_not_theirs, .fini = umount_cleanup)
{
	char mnt[512], out[4096];

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) < 0)
		cr_skip_test("needs root and setpriv (util-linux): the mount is root's, the unmount nobody's");
	cr_assert_eq(vk_mount(scenario, mnt, sizeof(mnt)), 0);
	snprintf(live_mnt, sizeof(live_mnt), "%s", mnt);
	char *argv[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", fakesys_bin, "umount",
	                mnt, NULL};
	int rc = live_run_bounded(argv, 20000, out, sizeof(out), NULL);
	cr_assert_eq(rc, 1, "%d: %s", rc, out);
	cr_assert(strstr(out, "not permitted") && strstr(out, "uid 0") && !strstr(out, "in use"), "%s", out);
	cr_assert(is_mounted(mnt));
	cr_assert_eq(vk_umount(mnt), 0);
	live_mnt[0] = '\0';
}

Test(fuse_mount, debug_prints_every_request, .fini = umount_cleanup)
{
	char mnt[512], tmp[512], log[PATH_MAX], pidfile[PATH_MAX], p[PATH_MAX], buf[65536], err[4096];
	struct stat st;

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
	snprintf(log, sizeof(log), "%s/stderr", tmp);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", tmp);
	char *argv[] = {fakesys_bin, "mount", "-f", "-d", "--pidfile", pidfile, scenario, mnt, NULL};
	pid_t pid = live_spawn(argv, log);
	for (double end = now_ms() + 20000; access(pidfile, F_OK) < 0 && now_ms() < end;)
		poll(NULL, 0, 5);
	snprintf(live_mnt, sizeof(live_mnt), "%s", mnt);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices", mnt);
	cr_assert_eq(stat(p, &st), 0, "%s", strerror(errno));
	cr_assert_eq(vk_umount(mnt), 0);
	live_mnt[0] = '\0';
	cr_assert_eq(live_wait_child(pid, 20000, NULL), 0);
	cr_assert_gt(vk_read_file(log, buf, sizeof(buf)), 0);
	cr_assert(strstr(buf, "opcode: LOOKUP") && strstr(buf, "opcode: INIT"), "-d printed: %.2000s", buf);

	/* a daemon has no stderr to print to */
	char *daemon[] = {fakesys_bin, "mount", "-d", scenario, tmp, NULL};
	cr_assert_eq(vk_run(daemon, NULL, 0, err, sizeof(err)), 2, "%s", err);
	cr_assert(strstr(err, "-d needs -f"), "%s", err);
	vk_rm_rf(tmp);
}

/* A FIFO (or a symlink) where fakesys writes its PID file or access log would
 * block the open for good (issue #22.7): refused at once, before anything is
 * mounted, with or without a reader on the FIFO. */
Test(fuse_mount, pidfile_or_log_that_is_not_a_regular_file_is_refused, .timeout = 60)
{
	char tmp[512], fifo[PATH_MAX], link[PATH_MAX], mnt[PATH_MAX], err[4096];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmp);
	snprintf(link, sizeof(link), "%s/link", tmp);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmp);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	cr_assert_eq(symlink("target", link), 0);
	cr_assert_eq(mkdir(mnt, 0755), 0);
	for (int reader = 0; reader < 2; reader++) {
		int rfd = reader ? open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
		const char *opts[] = {"--pidfile", "--log"};
		const char *paths[] = {fifo, link};
		for (size_t o = 0; o < 2; o++) {
			for (size_t p = 0; p < 2; p++) {
				char *argv[] = {fakesys_bin, "mount", (char *)opts[o], (char *)paths[p], scenario, mnt, NULL};
				cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 1, "%s %s: %s", opts[o], paths[p], err);
				cr_assert(strstr(err, paths[p]) && strstr(err, "not a regular file"), "%s", err);
				cr_assert_not(is_mounted(mnt), "%s %s left a mount", opts[o], paths[p]);
			}
		}
		if (rfd >= 0)
			close(rfd);
	}
	cr_assert_eq(access(tmp, F_OK), 0);
	vk_rm_rf(tmp);
}
