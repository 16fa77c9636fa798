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
#include <sys/stat.h>
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>

#include "testutil.h"

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

static struct host_model *load_default(void)
{
	struct host_model *m = NULL;
	struct vk_error e = {0};

	cr_assert_eq(host_model_load(scenario, &m, &e), 0, "%s", e.msg);
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
	struct host_model *m = load_default();

	cr_assert_eq(vk_mount(scenario, mnt, sizeof(mnt)), 0);
	snprintf(opt, sizeof(opt), "sysfs.path=%s/sys/bus/pci", mnt);
	char *argv[] = {"/usr/bin/lspci", "-A", "linux-sysfs", "-O", opt, "-Dnnk", NULL};
	int rc = vk_run(argv, out, sizeof(out), err, sizeof(err));
	vk_umount(mnt);
	cr_assert_eq(rc, 0, "lspci failed: %s", err);

	for (size_t i = 0; i < m->n_devices; i++) {
		const struct host_device *d = &m->devices[i];
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
	host_model_free(m);
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
	cr_assert_gt(fakesys_mount_pid(mnt), 0);
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
	cr_assert_eq(fakesys_mount_pid(mnt), pid, "mount source names the server");
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
