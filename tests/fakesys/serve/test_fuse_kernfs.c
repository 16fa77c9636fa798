/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mount as the kernel's sysfs and procfs show themselves (issue #16):
 * listings in kernfs's hash order (fs/kernfs/dir.c) and procfs's (length,
 * name) order, st_size as kernfs_init_inode() sets it (4096 for an attribute,
 * a binary attribute's size, 0 for directories and links), and config space
 * as pci_read_config() gives it per opener: all of it to root (and to the
 * server's own user), the first 64 bytes to anyone else.
 * Run through need-fuse.sh (skipped without /dev/fuse).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/vtree.h>

#include "live_util.h"

static char fakesys_bin[PATH_MAX];
static char scenario[PATH_MAX];
static char mnt[512];

static void setup(void)
{
	vk_bin("fakesys/fakesys", fakesys_bin, sizeof(fakesys_bin));
	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
	mnt[0] = '\0';
}

static void teardown(void)
{
	if (mnt[0])
		vk_umount(mnt);
	mnt[0] = '\0';
}

TestSuite(fuse_kernfs, .init = setup, .fini = teardown, .timeout = 120);

/* `fakesys mount [@extra] default.yaml` on a new directory (mnt). */
static void mount_default(const char *extra)
{
	char err[4096];
	char *argv[] = {fakesys_bin, "mount", (char *)(extra ? extra : scenario), extra ? scenario : mnt,
	                extra ? mnt : NULL, NULL};

	cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 0, "%s", err);
}

static off_t size_of(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", mnt, rel);
	cr_assert_eq(lstat(p, &st), 0, "%s: %s", p, strerror(errno));
	return st.st_size;
}

/* Before 6.14 a page-cached FUSE link is cut at its i_size: the server then
 * reports the target's length (fuse_ops.c op_init()). */
static bool links_may_be_zero(bool live)
{
	struct utsname u;
	unsigned a = 0, b = 0;

	return live || (uname(&u) == 0 && sscanf(u.release, "%u.%u", &a, &b) == 2 && (a > 6 || (a == 6 && b >= 14)));
}

static void sizes_are_kernfs_sizes(const char *extra)
{
	const char *dev = "sys/bus/pci/devices/0000:01:00.0";
	char p[PATH_MAX], buf[8192];

	mount_default(extra);
	/* stat before any read: a page-cached read of a shorter content lowers
	 * the kernel's i_size to it (fuse_short_read()) */
	snprintf(p, sizeof(p), "%s/vendor", dev);
	cr_assert_eq(size_of(p), 4096, "an attribute: PAGE_SIZE");
	snprintf(p, sizeof(p), "%s/config", dev);
	cr_assert_eq(size_of(p), 4096, "a PCIe function's config: cfg_size 4096");
	cr_assert_eq(size_of("proc/bus/pci/01/00.0"), 4096, "proc_set_size(e, dev->cfg_size)");
	cr_assert_eq(size_of("sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"), 0, "a kernfs directory");
	cr_assert_eq(size_of("sys/bus/pci"), 0, "a kernfs directory");
	cr_assert_eq(size_of(dev), links_may_be_zero(extra != NULL) ? 0 : (off_t)strlen("../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0"), "a link");
	cr_assert_eq(size_of("dev/vfio/vfio"), (off_t)strlen("VFIOKIT-STANDIN-CHRDEV 10:196\n"), "a stand-in: its line");
	/* a read still ends where the content does */
	snprintf(p, sizeof(p), "%s/%s/vendor", mnt, dev);
	cr_assert_eq(vk_read_file(p, buf, sizeof(buf)), 7);
	cr_assert_str_eq(buf, "0x10de\n");
	snprintf(p, sizeof(p), "%s/%s/config", mnt, dev);
	cr_assert_eq(vk_read_file(p, buf, sizeof(buf)), 4096);
}

Test(fuse_kernfs, sizes_are_kernfs_sizes)
{
	sizes_are_kernfs_sizes(NULL);
}

Test(fuse_kernfs, sizes_are_kernfs_sizes_serving_opens)
{
	sizes_are_kernfs_sizes("--serve-opens");
}

/* The names of directory @rel of the mount as readdir returns them. */
static size_t list(const char *rel, char names[][64], size_t max)
{
	char p[PATH_MAX];
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/%s", mnt, rel);
	DIR *d = opendir(p);
	cr_assert_not_null(d, "%s", p);
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && n < max)
			snprintf(names[n++], 64, "%.63s", e->d_name);
	closedir(d);
	return n;
}

static void listed_in_kernfs_order(const char *extra)
{
	static char names[256][64];

	mount_default(extra);
	size_t n = list("sys/bus/pci/devices", names, 256);
	cr_assert_gt(n, 5);
	bool by_name = true;
	for (size_t i = 1; i < n; i++) {
		uint32_t a = vk_vt_kernfs_hash(names[i - 1]), b = vk_vt_kernfs_hash(names[i]);
		cr_assert(a < b || (a == b && strcmp(names[i - 1], names[i]) < 0), "%s before %s", names[i - 1],
		          names[i]);
		by_name = by_name && strcmp(names[i - 1], names[i]) < 0;
	}
	cr_assert_not(by_name, "the default scenario's devices hash out of name order");
	n = list("proc/bus/pci", names, 256);
	cr_assert_gt(n, 2);
	cr_assert_str_eq(names[n - 1], "devices", "procfs: shorter names first");
	n = list("dev/vfio", names, 256);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(strcmp(names[i - 1], names[i]), 0, "outside sysfs and procfs: by name");
}

Test(fuse_kernfs, listings_in_kernfs_order)
{
	listed_in_kernfs_order(NULL);
}

Test(fuse_kernfs, listings_in_kernfs_order_serving_opens)
{
	listed_in_kernfs_order("--serve-opens");
}

/* How many bytes of @rel (of the mount) a reader with @uid gets: a child
 * that takes that uid when it is not ours. */
static long read_as(uid_t uid, const char *rel)
{
	char p[PATH_MAX];
	int fd[2];

	snprintf(p, sizeof(p), "%s/%s", mnt, rel);
	cr_assert_eq(pipe(fd), 0);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		static char buf[8192];
		long n = -1;
		close(fd[0]);
		if (uid == geteuid() || (setgroups(0, NULL) == 0 && setresgid(uid, uid, uid) == 0 &&
		                         setresuid(uid, uid, uid) == 0))
			n = vk_read_file(p, buf, sizeof(buf));
		if (write(fd[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	long n = -2;
	cr_assert_eq(read(fd[0], &n, sizeof(n)), (ssize_t)sizeof(n));
	close(fd[0]);
	int ws;
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	return n;
}

static void config_by_opener(const char *extra)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (of the test's namespace): only root's mount has other readers");
	mount_default(extra);
	/* in turn, so that one reader's bytes in the page cache would show */
	const char *files[] = {"sys/bus/pci/devices/0000:01:00.0/config", "proc/bus/pci/01/00.0"};
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(read_as(0, files[k]), 4096, "%s: root reads all", files[k]);
		long n = read_as(65534, files[k]);
		cr_assert_neq(n, -1, "uid 65534 is not mapped here");
		cr_assert_eq(n, 64, "%s: pci_read_config() gives a reader without CAP_SYS_ADMIN 64 bytes", files[k]);
		cr_assert_eq(read_as(0, files[k]), 4096, "%s: and root all of it again", files[k]);
		cr_assert_eq(read_as(65534, files[k]), 64);
	}
	/* other files read the same for everyone */
	cr_assert_eq(read_as(65534, "sys/bus/pci/devices/0000:01:00.0/vendor"), 7);
}

Test(fuse_kernfs, config_space_by_opener)
{
	config_by_opener(NULL);
}

Test(fuse_kernfs, config_space_by_opener_serving_opens)
{
	config_by_opener("--serve-opens");
}
