/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/vtree.h>

#include "testutil.h"

static char tmp[512];

static void setup(void)
{
	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
}

static void teardown(void)
{
	vk_rm_rf(tmp);
}

/* A small tree with every node type, odd modes, owners, and binary data. */
static struct vtree *sample_tree(void)
{
	static const uint8_t bin[] = {0x86, 0x80, 0x00, 0x00, 0xff, 0x0a};
	struct vtree *t = vk_vtree_new();

	cr_assert_not_null(t);
	struct vk_vt_node *dev = vk_vtree_mkdir_p(t, "sys/devices/pci0000:00/0000:00:01.0");
	cr_assert_not_null(dev);
	cr_assert_not_null(vk_vtree_add_filef(t, dev, "vendor", 0444, "0x%04x\n", 0x8086));
	cr_assert_not_null(vk_vtree_add_file(t, dev, "config", bin, sizeof(bin), 0644));
	struct vk_vt_node *w = vk_vtree_add_file(t, dev, "remove", "", 0, 0200);
	cr_assert_not_null(w);
	vk_vtree_chown(w, 123, 456);
	struct vk_vt_node *ro = vk_vtree_add_dir(t, dev, "power", 0555); /* read-only dir with content */
	cr_assert_not_null(ro);
	cr_assert_not_null(vk_vtree_add_filef(t, ro, "control", 0644, "auto\n"));
	struct vk_vt_node *devs = vk_vtree_mkdir_p(t, "sys/bus/pci/devices");
	cr_assert_not_null(vk_vtree_add_link(t, devs, "0000:00:01.0", "../../../devices/pci0000:00/0000:00:01.0"));
	cr_assert_not_null(vk_vtree_add_link(t, devs, "dangling", "/nonexistent/target"));
	struct vk_vt_node *vfio = vk_vtree_mkdir_p(t, "dev/vfio/devices");
	struct vk_vt_node *sn = vk_vtree_add_filef(t, vfio, "vfio0", 0600, "VFIOKIT-STANDIN-CHRDEV 511:0\n");
	cr_assert_not_null(sn);
	vk_vtree_chown(sn, 107, 107);
	cr_assert_eq(vk_vtree_seal(t), 0);
	return t;
}

/* A tree whose last entry is too big for RLIMIT_FSIZE below: fails midway. */
static struct vtree *tree_failing_midway(void)
{
	static uint8_t big[65536];
	struct vtree *t = vk_vtree_new();

	cr_assert_not_null(vk_vtree_mkdir_p(t, "a/b/c"));
	struct vk_vt_node *ro = vk_vtree_mkdir_p(t, "a/ro");
	cr_assert_not_null(vk_vtree_add_filef(t, ro, "f", 0444, "x\n"));
	ro->mode = 0555;
	cr_assert_not_null(vk_vtree_add_link(t, vk_vtree_root(t), "l", "a/b"));
	cr_assert_not_null(vk_vtree_add_file(t, vk_vtree_root(t), "zz-big", big, sizeof(big), 0644));
	cr_assert_eq(vk_vtree_seal(t), 0);
	return t;
}

static void assert_file(const char *dir, const char *rel, const void *data, size_t len, mode_t mode)
{
	char path[PATH_MAX], buf[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert(S_ISREG(st.st_mode), "%s is a regular file", rel);
	cr_assert_eq(st.st_mode & 07777, mode, "%s mode %o, want %o", rel, st.st_mode & 07777, mode);
	cr_assert_eq((size_t)st.st_size, len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && geteuid() != 0)
		return; /* a 0200 file as non-root: the size check above suffices */
	cr_assert_geq(fd, 0);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	cr_assert_eq((size_t)n, len);
	cr_assert_arr_eq(buf, data, len, "content of %s", rel);
}

static void assert_link(const char *dir, const char *rel, const char *target)
{
	char path[PATH_MAX], buf[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0, "%s is a symlink", rel);
	buf[n] = '\0';
	cr_assert_str_eq(buf, target);
}

static void assert_dir_mode(const char *dir, const char *rel, mode_t mode)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	cr_assert_eq(lstat(path, &st), 0, "%s", path);
	cr_assert(S_ISDIR(st.st_mode), "%s is a directory", rel);
	cr_assert_eq(st.st_mode & 07777, mode, "%s mode %o", rel, st.st_mode & 07777);
}

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

TestSuite(materialize, .init = setup, .fini = teardown);

Test(materialize, writes_types_contents_links_modes_owners)
{
	struct vtree *t = sample_tree();
	struct vk_error e = {0};
	char dir[600];
	static const uint8_t bin[] = {0x86, 0x80, 0x00, 0x00, 0xff, 0x0a};

	snprintf(dir, sizeof(dir), "%s/out", tmp);
	int fds = vk_fd_count();
	cr_assert_eq(vk_fakesys_materialize(t, dir, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_fd_count(), fds, "no FD leaked");

	const char *d0 = "sys/devices/pci0000:00/0000:00:01.0";
	char rel[256];
	assert_dir_mode(dir, "", 0755);
	assert_dir_mode(dir, d0, 0755);
	snprintf(rel, sizeof(rel), "%s/vendor", d0);
	assert_file(dir, rel, "0x8086\n", 7, 0444);
	snprintf(rel, sizeof(rel), "%s/config", d0);
	assert_file(dir, rel, bin, sizeof(bin), 0644);
	snprintf(rel, sizeof(rel), "%s/remove", d0);
	assert_file(dir, rel, "", 0, 0200);
	snprintf(rel, sizeof(rel), "%s/power", d0);
	assert_dir_mode(dir, rel, 0555);
	snprintf(rel, sizeof(rel), "%s/power/control", d0);
	assert_file(dir, rel, "auto\n", 5, 0644);
	assert_link(dir, "sys/bus/pci/devices/0000:00:01.0", "../../../devices/pci0000:00/0000:00:01.0");
	assert_link(dir, "sys/bus/pci/devices/dangling", "/nonexistent/target");
	assert_file(dir, "dev/vfio/devices/vfio0", "VFIOKIT-STANDIN-CHRDEV 511:0\n", 29, 0600);

	/* the relative link resolves inside the copy */
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:00:01.0/vendor", dir);
	cr_assert_eq(stat(path, &st), 0);

	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "%s/%s/remove", dir, d0);
		cr_assert_eq(lstat(path, &st), 0);
		cr_assert_eq(st.st_uid, 123);
		cr_assert_eq(st.st_gid, 456);
		snprintf(path, sizeof(path), "%s/dev/vfio/devices/vfio0", dir);
		cr_assert_eq(lstat(path, &st), 0);
		cr_assert_eq(st.st_uid, 107);
	}
	/* make the read-only dir removable for teardown as non-root */
	snprintf(path, sizeof(path), "%s/%s/power", dir, d0);
	chmod(path, 0755);
	vk_vtree_free(t);
}

Test(materialize, fills_an_existing_empty_dir)
{
	struct vtree *t = sample_tree();
	struct vk_error e = {0};

	cr_assert_eq(vk_fakesys_materialize(t, tmp, &e), 0, "%s", e.msg);
	assert_file(tmp, "dev/vfio/devices/vfio0", "VFIOKIT-STANDIN-CHRDEV 511:0\n", 29, 0600);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sys/devices/pci0000:00/0000:00:01.0/power", tmp);
	chmod(path, 0755);
	vk_vtree_free(t);
}

Test(materialize, refuses_non_empty_dir_file_and_symlink)
{
	struct vtree *t = sample_tree();
	struct vk_error e = {0};
	char path[PATH_MAX], file[PATH_MAX], link[PATH_MAX];
	int fds = vk_fd_count();

	snprintf(file, sizeof(file), "%s/keep", tmp);
	cr_assert_eq(vk_read_file("/proc/self/stat", path, 16) > 0, true);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("precious\n", f);
	fclose(f);

	cr_assert_eq(vk_fakesys_materialize(t, tmp, &e), -ENOTEMPTY);
	cr_assert(strstr(e.msg, tmp) && strstr(e.msg, "not empty"), "message: %s", e.msg);
	cr_assert_eq(vk_fakesys_materialize(t, file, &e), -EEXIST, "a regular file is refused: %s", e.msg);
	snprintf(link, sizeof(link), "%s/link", tmp);
	snprintf(path, sizeof(path), "%s/empty", tmp);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_lt(vk_fakesys_materialize(t, link, &e), 0, "a symlink is not followed");
	cr_assert(dir_is_empty(path));
	cr_assert_eq(vk_fd_count(), fds, "no FD leaked on refusals");

	char buf[64];
	cr_assert_eq(vk_read_file(file, buf, sizeof(buf)), 9);
	cr_assert_str_eq(buf, "precious\n", "existing content untouched");
	vk_vtree_free(t);
}

Test(materialize, refuses_the_real_host)
{
	struct vtree *t = sample_tree();
	struct vk_error e = {0};
	static const char *const bad[] = {"/", "/sys", "/sys/", "/dev", "/proc", "/sys/bus/pci/new", "/dev/fakesys-x",
	                                  "/proc/x", "//", "/sys/.."};
	int fds = vk_fd_count();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vk_error_clear(&e);
		int r = vk_fakesys_materialize(t, bad[i], &e);
		cr_assert_lt(r, 0, "%s refused", bad[i]);
		cr_assert(e.msg[0], "message for %s", bad[i]);
	}
	cr_assert_eq(vk_fakesys_materialize(t, "/sys", &e), -EPERM, "%s", e.msg);
	cr_assert(strstr(e.msg, "/sys"), "%s", e.msg);

	/* a relative path that resolves to /sys is refused as well */
	char cwd[PATH_MAX];
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir("/"), 0);
	int r = vk_fakesys_materialize(t, "sys", &e);
	cr_assert_eq(chdir(cwd), 0);
	cr_assert_eq(r, -EPERM, "%s", e.msg);

	cr_assert_eq(vk_fd_count(), fds);
	vk_vtree_free(t);
}

Test(materialize, missing_parent_and_parent_is_a_file)
{
	struct vtree *t = sample_tree();
	struct vk_error e = {0};
	char path[PATH_MAX], file[PATH_MAX];
	int fds = vk_fd_count();

	snprintf(path, sizeof(path), "%s/no/such/dir", tmp);
	cr_assert_eq(vk_fakesys_materialize(t, path, &e), -ENOENT, "%s", e.msg);
	cr_assert(strstr(e.msg, path), "names the path: %s", e.msg);

	snprintf(file, sizeof(file), "%s/file", tmp);
	close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	snprintf(path, sizeof(path), "%s/file/sub", tmp);
	cr_assert_eq(vk_fakesys_materialize(t, path, &e), -ENOTDIR, "%s", e.msg);
	cr_assert_eq(vk_fd_count(), fds);
	vk_vtree_free(t);
}

/* Fail after part of the tree is written (EFBIG from RLIMIT_FSIZE, which
 * binds root too): everything made must be gone, no FD left. */
static int materialize_with_fsize_limit(struct vtree *t, const char *dir, struct vk_error *e)
{
	struct rlimit old, lim = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};

	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	signal(SIGXFSZ, SIG_IGN);
	int r = vk_fakesys_materialize(t, dir, e);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	return r;
}

Test(materialize, failure_midway_removes_created_dir)
{
	struct vtree *t = tree_failing_midway();
	struct vk_error e = {0};
	char dir[600];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/out", tmp);
	int fds = vk_fd_count();
	cr_assert_eq(materialize_with_fsize_limit(t, dir, &e), -EFBIG, "%s", e.msg);
	cr_assert_eq(vk_fd_count(), fds, "no FD leaked");
	cr_assert(strstr(e.msg, "zz-big") && strstr(e.msg, strerror(EFBIG)), "names path and errno: %s", e.msg);
	cr_assert_eq(lstat(dir, &st), -1, "the directory we created is removed");
	cr_assert_eq(errno, ENOENT);
	vk_vtree_free(t);
}

Test(materialize, failure_midway_empties_existing_dir)
{
	struct vtree *t = tree_failing_midway();
	struct vk_error e = {0};
	int fds = vk_fd_count();

	cr_assert_eq(materialize_with_fsize_limit(t, tmp, &e), -EFBIG, "%s", e.msg);
	cr_assert_eq(vk_fd_count(), fds, "no FD leaked");
	cr_assert(dir_is_empty(tmp), "the given directory is left as it was: empty");
	vk_vtree_free(t);
}

Test(materialize, forbidden_paths)
{
	cr_assert(vk_fakesys_path_forbidden("/"));
	cr_assert(vk_fakesys_path_forbidden("/sys"));
	cr_assert(vk_fakesys_path_forbidden("/sys/bus"));
	cr_assert(vk_fakesys_path_forbidden("/dev/vfio"));
	cr_assert(vk_fakesys_path_forbidden("/proc"));
	cr_assert(vk_fakesys_path_forbidden("relative"));
	cr_assert_not(vk_fakesys_path_forbidden("/system"));
	cr_assert_not(vk_fakesys_path_forbidden("/devices"));
	cr_assert_not(vk_fakesys_path_forbidden("/tmp/x/sys"));
}

/* A file with a zero tail (config space) is written whole: its stored bytes,
 * then zeros up to its length. */
Test(materialize, writes_a_zero_tail)
{
	struct vtree *t = vk_vtree_new();
	struct vk_error e = {0};
	static uint8_t cfg[4096];
	char dir[600];

	cfg[0] = 0x86;
	cfg[0x101] = 0x55;
	struct vk_vt_node *f = vk_vtree_add_file_zero_tail(t, vk_vtree_root(t), "config", cfg, sizeof(cfg), 0644);
	cr_assert_not_null(f);
	cr_assert_lt(f->u.file.stored, f->u.file.len, "the tail is not stored");
	cr_assert_eq(vk_vtree_seal(t), 0);
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	cr_assert_eq(vk_fakesys_materialize(t, dir, &e), 0, "%s", e.msg);
	assert_file(dir, "config", cfg, sizeof(cfg), 0644);
	vk_vtree_free(t);
}

/* A file with a line tail (a resource file) is written as it reads: its
 * stored lines, then the repeated one up to its length. */
Test(materialize, writes_a_line_tail)
{
	static const char res[] = "0x00000000fe000000 0x00000000feffffff 0x0000000000040200\n"
				  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
				  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
				  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
	struct vtree *t = vk_vtree_new();
	struct vk_error e = {0};
	char dir[600];

	struct vk_vt_node *f = vk_vtree_add_file_line_tail(t, vk_vtree_root(t), "resource", res, strlen(res), 0444);
	cr_assert_not_null(f);
	cr_assert_lt(f->u.file.stored, f->u.file.len, "the tail is not stored");
	cr_assert_eq(vk_vtree_seal(t), 0);
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	cr_assert_eq(vk_fakesys_materialize(t, dir, &e), 0, "%s", e.msg);
	assert_file(dir, "resource", res, strlen(res), 0444);
	vk_vtree_free(t);
}
