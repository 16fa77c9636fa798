/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Root confinement: openat2(RESOLVE_IN_ROOT) and the component walker agree,
 * and no symlink leads outside the root. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/root.h>

#include "testutil.h"
#include "tree.h"

static char dir[256];

static void setup(void)
{
	cr_assert_eq(tree_new(dir, sizeof(dir), true), 0);
	cr_assert_eq(tree_write(dir, "etc/passwd", "inside\n"), 0);
	cr_assert_eq(tree_symlink(dir, "../../../../../../../../etc/passwd", "a/b/up"), 0);
	cr_assert_eq(tree_symlink(dir, "/etc/passwd", "a/abs"), 0);
	cr_assert_eq(tree_symlink(dir, "/", "a/rootlink"), 0);
	cr_assert_eq(tree_symlink(dir, "loop2", "a/loop1"), 0);
	cr_assert_eq(tree_symlink(dir, "loop1", "a/loop2"), 0);
	cr_assert_eq(tree_symlink(dir, "b", "a/bl"), 0);
	cr_assert_eq(tree_write(dir, "a/b/file", "f\n"), 0);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

TestSuite(root, .init = setup, .fini = teardown);

static void read_in(struct vk_root *r, const char *rel, const char *want)
{
	char buf[64] = "";
	int fd = vk_root_openat(r, rel, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %s", rel, strerror(-fd));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, want, "%s", rel);
}

static void both_modes(void (*fn)(struct vk_root *r))
{
	unsigned modes[] = {0, VK_ROOT_NO_OPENAT2};
	for (size_t i = 0; i < 2; i++) {
		struct vk_root *r;
		int before = vk_fd_count();
		cr_assert_eq(vk_root_open(dir, modes[i], &r, NULL), 0);
		cr_assert_eq(vk_root_uses_openat2(r), i == 0, "this kernel (6.x) has openat2");
		fn(r);
		vk_root_close(r);
		cr_assert_eq(vk_fd_count(), before, "FD leak in mode %zu", i);
	}
}

static void escapes(struct vk_root *r)
{
	read_in(r, "a/b/up", "inside\n"); /* ../ beyond the root stays at the root */
	read_in(r, "a/abs", "inside\n");  /* absolute target restarts at the root */
	read_in(r, "/a/rootlink/etc/passwd", "inside\n");
	read_in(r, "../../../etc/passwd", "inside\n");
	read_in(r, "a/bl/file", "f\n");
	read_in(r, "a/bl/../bl/./file", "f\n");
	cr_assert_eq(vk_root_openat(r, "a/loop1", O_RDONLY), -ELOOP);
	cr_assert_eq(vk_root_openat(r, "a/missing", O_RDONLY), -ENOENT);
	cr_assert_eq(vk_root_openat(r, "a/b/file/x", O_RDONLY), -ENOTDIR);
	cr_assert_eq(vk_root_openat(r, "x", O_RDONLY | O_CREAT), -EINVAL);
}

Test(root, symlinks_never_leave_the_root_in_both_modes)
{
	both_modes(escapes);
}

static void nofollow(struct vk_root *r)
{
	int d = vk_root_openat(r, "a", O_PATH | O_DIRECTORY);
	cr_assert_geq(d, 0);
	int fd = vk_root_openat_nofollow(r, d, "b/file", O_RDONLY);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(vk_root_openat_nofollow(r, d, "abs", O_RDONLY), -ELOOP);
	cr_assert_eq(vk_root_openat_nofollow(r, d, "bl/file", O_RDONLY), -ELOOP);
	cr_assert_lt(vk_root_openat_nofollow(r, d, "../etc/passwd", O_RDONLY), 0);
	close(d);
}

Test(root, attribute_lookups_refuse_symlinks_in_both_modes)
{
	both_modes(nofollow);
}

Test(root, paths_and_errors)
{
	struct vk_root *r;
	struct vk_error e;
	char buf[512];

	cr_assert_eq(vk_root_open("/nonexistent-vfiokit", 0, &r, &e), -ENOENT);
	cr_assert(strstr(e.msg, "/nonexistent-vfiokit"));
	cr_assert_eq(vk_root_open(NULL, 0, &r, NULL), 0);
	cr_assert_str_eq(vk_root_path(r, "/dev/iommu", buf, sizeof(buf)), "/dev/iommu");
	vk_root_close(r);
	cr_assert_eq(vk_root_open(dir, 0, &r, NULL), 0);
	snprintf(buf, sizeof(buf), "%s/dev/iommu", dir);
	char b2[512];
	cr_assert_str_eq(vk_root_path(r, "dev/iommu", b2, sizeof(b2)), buf);
	vk_root_close(r);
}
