/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Opening: the identity check on both branches (real chardev, stand-in),
 * all-or-nothing sets, and that no error path leaks an FD. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/resolver.h>

#include "testutil.h"
#include "tree.h"

static char dir[256];
static struct vk_root *root;

static void setup(void)
{
	cr_assert_eq(tree_new(dir, sizeof(dir), true), 0);
	cr_assert_eq(vk_root_open(dir, 0, &root, NULL), 0);
}

static void teardown(void)
{
	vk_root_close(root);
	vk_rm_rf(dir);
}

TestSuite(open, .init = setup, .fini = teardown);
TestSuite(identity);

static struct vk_pci_addr A(const char *s) {
	struct vk_pci_addr a;
	cr_assert_eq(vk_pci_addr_parse(s, &a, NULL), 0);
	return a;
}

/* ---- vk_vfio_node_identity_check(): the one place where fake and real differ ---- */

Test(identity, real_chardev_branch)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct vk_error e;
	bool standin = true;

	cr_assert_geq(fd, 0);
	cr_assert_eq(vk_vfio_node_identity_check(fd, 1, 3, &standin, &e), 0, "%s", e.msg);
	cr_assert_not(standin);
	cr_assert_eq(vk_vfio_node_identity_check(fd, 1, -1, NULL, &e), 0);
	cr_assert_eq(vk_vfio_node_identity_check(fd, 1, 5, NULL, &e), -ENODEV);
	cr_assert(strstr(e.msg, "character device 1:3, not 1:5"), "%s", e.msg);
	cr_assert_eq(vk_vfio_node_identity_check(fd, 511, 0, NULL, &e), -ENODEV);
	close(fd);
}

Test(identity, standin_branch_and_impostors)
{
	char d[256], p[512];
	struct vk_error e;
	bool standin = false;
	static const struct {
		const char *content;
		unsigned maj;
		long min;
		int want;
	} cases[] = {
		{"VFIOKIT-STANDIN-CHRDEV 511:0\n", 511, 0, 0},
		{"VFIOKIT-STANDIN-CHRDEV 10:123\n", 10, -1, 0},
		{"VFIOKIT-STANDIN-CHRDEV 511:0\n", 511, 1, -ENODEV},
		{"VFIOKIT-STANDIN-CHRDEV 511:0", 511, 0, -ENODEV},    /* no newline */
		{"VFIOKIT-STANDIN-CHRDEV 511:0\nx", 511, 0, -ENODEV}, /* trailing junk */
		{"VFIOKIT-STANDIN-CHRDEV  511:0\n", 511, 0, -ENODEV}, /* two spaces */
		{"VFIOKIT-STANDIN-CHRDEV 511:0 \n", 511, 0, -ENODEV},
		{"hello\n", 511, 0, -ENODEV},
		{"", 511, 0, -ENODEV},
	};

	cr_assert_eq(vk_mkdtemp(d, sizeof(d)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(p, sizeof(p), "%s/node%zu", d, i);
		int w = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		cr_assert_geq(w, 0);
		cr_assert_eq(write(w, cases[i].content, strlen(cases[i].content)), (ssize_t)strlen(cases[i].content));
		close(w);
		int fd = open(p, O_RDWR | O_CLOEXEC);
		vk_error_clear(&e);
		int r = vk_vfio_node_identity_check(fd, cases[i].maj, cases[i].min, &standin, &e);
		cr_assert_eq(r, cases[i].want, "case %zu: %d %s", i, r, e.msg);
		if (r == 0)
			cr_assert(standin);
		close(fd);
	}
	/* a directory is neither */
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_eq(vk_vfio_node_identity_check(fd, 511, 0, NULL, &e), -ENODEV);
	cr_assert(strstr(e.msg, "neither"), "%s", e.msg);
	close(fd);
	vk_rm_rf(d);
}

/* ---- single devices ---- */

Test(open, standin_node_opens_read_write_cloexec)
{
	struct vk_pci_addr a = A("0000:06:00.0");
	struct vk_pci_dev_facts f;
	struct vk_error e;

	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	int fd = vk_vfio_device_open(root, &a, &f, &e);
	cr_assert_geq(fd, 0, "%s", e.msg);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert_str_eq(f.node_path, "/dev/vfio/devices/vfio0");
	close(fd);
}

Test(open, real_chardev_node_with_matching_dev_attribute)
{
	struct vk_pci_addr a = A("0000:06:00.0");
	struct vk_error e;
	struct tree_dev d = tree_happy;
	char p[512];
	struct stat st;

	if (geteuid() != 0)
		cr_skip_test("mknod needs root");
	d.maj = 1;
	d.min = 3;
	d.chardev_node = true;
	cr_assert_eq(tree_add(dir, &d), 0);
	int fd = vk_vfio_device_open(root, &a, NULL, &e);
	cr_assert_geq(fd, 0, "%s", e.msg);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISCHR(st.st_mode));
	cr_assert_eq(st.st_rdev, makedev(1, 3));
	close(fd);

	/* the same node when the device's cdev is 1:5: refused as a stale node */
	snprintf(p, sizeof(p), "sys/devices/pci0000:00/0000:00:01.0/0000:06:00.0/vfio-dev/vfio0/dev");
	cr_assert_eq(tree_write(dir, p, "1:5\n"), 0);
	int before = vk_fd_count();
	cr_assert_eq(vk_vfio_device_open(root, &a, NULL, &e), -ESTALE);
	cr_assert(strstr(e.msg, "character device 1:3, not 1:5"), "%s", e.msg);
	cr_assert(strstr(e.msg, "stale"), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before);
}

Test(open, stale_standin_is_refused_without_leaking)
{
	struct vk_pci_addr a = A("0000:06:00.0");
	struct vk_error e;
	int before = vk_fd_count();

	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	cr_assert_eq(tree_write(dir, "dev/vfio/devices/vfio0", "VFIOKIT-STANDIN-CHRDEV 511:9\n"), 0);
	cr_assert_eq(vk_vfio_device_open(root, &a, NULL, &e), -ESTALE);
	cr_assert(strstr(e.msg, "stand-in for 511:9, not 511:0"), "%s", e.msg);
	cr_assert(strstr(e.msg, "0000:06:00.0"), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before);
}

/* EACCES as an unprivileged user: owner, group, mode, and the caller's ids. */
Test(open, permission_denied_names_owner_mode_and_caller)
{
	char msg[1024] = "";
	int pfd[2];

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to nobody");
	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct vk_error e;
		struct vk_pci_addr a = A("0000:06:00.0");
		close(pfd[0]);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		int before = vk_fd_count();
		vk_error_clear(&e);
		int r = vk_vfio_device_open(root, &a, NULL, &e);
		if (write(pfd[1], e.msg, strlen(e.msg)) < 0)
			_exit(4);
		_exit(r == -EACCES && vk_fd_count() == before ? 0 : 1);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], msg, sizeof(msg) - 1);
	msg[n < 0 ? 0 : n] = '\0';
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %d %s", WEXITSTATUS(st), msg);
	cr_assert(strstr(msg, "EACCES"), "%s", msg);
	cr_assert(strstr(msg, "owner 0 group 0 mode 0600"), "%s", msg);
	cr_assert(strstr(msg, "uid 65534 gid 65534"), "%s", msg);
	cr_assert(strstr(msg, "/dev/vfio/devices/vfio0"), "%s", msg);
}

/* ---- sets ---- */

/* vk_vfio_set_open() fails with @want and @needle in the message, and
 * vk_vfio_set_open_diag() names @want_index as the failing part. */
static void set_fails(const struct vk_pci_addr *addrs, size_t n, unsigned flags, int want, const char *needle,
                      long want_index)
{
	struct vk_vfio_set s;
	struct vk_vfio_set_failure f;
	struct vk_error e;
	int before = vk_fd_count();

	vk_error_clear(&e);
	cr_assert_eq(vk_vfio_set_open(root, addrs, n, flags, &s, &e), want, "%s", e.msg);
	cr_assert(strstr(e.msg, needle), "want '%s' in: %s", needle, e.msg);
	cr_assert_eq(vk_vfio_set_open_diag(root, addrs, n, flags, &s, &f, &e), want, "%s", e.msg);
	cr_assert_eq(f.index, want_index, "%s", e.msg);
	if (want_index >= 0 && !(flags & VK_VFIO_SET_LEGACY))
		cr_assert(vk_pci_addr_equal(&f.facts.addr, &addrs[want_index]), "facts of %s", f.facts.bdf);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(s.iommufd, -1);
	cr_assert_eq(vk_fd_count(), before, "an FD survived a failed set");
}

Test(open, set_opens_iommufd_once_and_every_device)
{
	struct tree_dev d2 = {.bdf = "0000:06:00.1", .driver = "vfio-pci", .group = 12, .cdev = "vfio1", .maj = 511, .min = 1};
	struct vk_pci_addr a[] = {A("0000:06:00.0"), A("0000:06:00.1")};
	struct vk_vfio_set s;
	struct vk_error e;
	int before = vk_fd_count();

	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	cr_assert_eq(tree_add(dir, &d2), 0);
	cr_assert_eq(vk_vfio_set_open(root, a, 2, 0, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before + 3);
	cr_assert_geq(s.iommufd, 0);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.dev[1].node_path, "/dev/vfio/devices/vfio1");
	cr_assert_eq(s.dev[1].iommu_group, 12);
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(fcntl(s.dev[i].fd, F_GETFL) & O_ACCMODE, O_RDWR);
	vk_vfio_set_close(&s);
	vk_vfio_set_close(&s); /* idempotent */
	cr_assert_eq(vk_fd_count(), before);
}

Test(open, set_is_all_or_nothing_on_every_cause)
{
	struct vk_pci_addr good = A("0000:06:00.0");
	struct tree_dev other = {.bdf = "0000:07:00.0", .driver = "nouveau", .group = 3};
	struct tree_dev nocdev = {.bdf = "0000:08:00.0", .driver = "vfio-pci", .group = 4};
	struct tree_dev nodev = {.bdf = "0000:09:00.0", .driver = "vfio-pci", .group = 5, .cdev = "vfio2", .maj = 511, .min = 2, .no_dev_attr = true};
	struct tree_dev nonode = {.bdf = "0000:0a:00.0", .driver = "vfio-pci", .group = 6, .cdev = "vfio3", .maj = 511, .min = 3, .no_node = true};

	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	cr_assert_eq(tree_add(dir, &other), 0);
	cr_assert_eq(tree_add(dir, &nocdev), 0);
	cr_assert_eq(tree_add(dir, &nodev), 0);
	cr_assert_eq(tree_add(dir, &nonode), 0);

	struct {
		const char *bdf;
		int want;
		const char *needle;
	} cases[] = {
		{"0000:0b:00.0", -ENODEV, "no such PCI device"},
		{"0000:07:00.0", -EINVAL, "bound to driver 'nouveau'"},
		{"0000:08:00.0", -EOPNOTSUPP, "VFIO_DEVICE_CDEV"},
		{"0000:09:00.0", -EOPNOTSUPP, "vfio-dev/vfio2/dev does not exist"},
		{"0000:0a:00.0", -ENOENT, "/dev/vfio/devices/vfio3 does not exist"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vk_pci_addr a[2] = {good, A(cases[i].bdf)};
		set_fails(a, 2, 0, cases[i].want, cases[i].needle, 1);
		set_fails(a, 2, 0, cases[i].want, cases[i].bdf, 1);
	}
	struct vk_pci_addr dup[2] = {good, good};
	set_fails(dup, 2, 0, -EINVAL, "given twice", VK_VFIO_SET_FAILED_ARGS);
	set_fails(dup, 0, 0, -EINVAL, "no devices", VK_VFIO_SET_FAILED_ARGS);

	/* /dev/iommu missing: opened after the devices, which must be closed again */
	cr_assert_eq(unlink(strcat(strcpy((char[512]){0}, dir), "/dev/iommu")), 0);
	set_fails(&good, 1, 0, -ENOENT, "IOMMUFD", VK_VFIO_SET_FAILED_IOMMUFD);
	/* /dev/iommu that is not the misc device */
	cr_assert_eq(tree_write(dir, "dev/iommu", "VFIOKIT-STANDIN-CHRDEV 11:0\n"), 0);
	set_fails(&good, 1, 0, -ENODEV, "not the iommufd misc device", VK_VFIO_SET_FAILED_IOMMUFD);
}

Test(open, legacy_set_opens_nothing_and_checks_the_group)
{
	struct tree_dev nogroup = {.bdf = "0000:07:00.0", .driver = "vfio-pci", .group = -1};
	struct vk_pci_addr a = A("0000:06:00.0");
	struct vk_vfio_set s;
	struct vk_error e;
	int before = vk_fd_count();

	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	cr_assert_eq(tree_add(dir, &nogroup), 0);
	cr_assert_eq(vk_vfio_set_open(root, &a, 1, VK_VFIO_SET_LEGACY, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(s.iommufd, -1);
	cr_assert_eq(s.dev[0].fd, -1);
	cr_assert_eq(s.dev[0].iommu_group, 12);
	cr_assert_str_eq(s.dev[0].node_path, "/dev/vfio/12");
	vk_vfio_set_close(&s);
	cr_assert_eq(vk_fd_count(), before);

	struct vk_pci_addr b[2] = {a, A("0000:07:00.0")};
	set_fails(b, 2, VK_VFIO_SET_LEGACY, -ENODEV, "no iommu_group", 1);
	cr_assert_eq(unlink(strcat(strcpy((char[512]){0}, dir), "/dev/vfio/12")), 0);
	set_fails(&a, 1, VK_VFIO_SET_LEGACY, -ENOENT, "/dev/vfio/12", 0);
}

/* A real character node whose driver is gone (no driver registered for its
 * major): open(2) fails with ENXIO (chrdev_open() in fs/char_dev.c), which is
 * reported as a device that went away.  The node is 0:0: no driver has major 0
 * (register_chrdev_region() takes 0 as "pick one"), and 0:0 is the one device
 * number mknod(2) allows in a user namespace (overlayfs's whiteout), so the
 * test runs as an ordinary user too. */
Test(open, node_without_driver_is_a_device_that_went_away)
{
	struct vk_pci_addr a = A("0000:06:00.0");
	struct vk_error e;
	struct tree_dev d = tree_happy;

	if (geteuid() != 0)
		cr_skip_test("mknod needs root");
	d.maj = 0;
	d.min = 0;
	d.chardev_node = true;
	cr_assert_eq(tree_add(dir, &d), 0);
	int before = vk_fd_count();
	int r = vk_vfio_device_open(root, &a, NULL, &e);
	if (r == -EACCES)
		cr_skip_test("this file system is mounted nodev");
	cr_assert_eq(r, -ENXIO, "%d %s", r, e.msg);
	cr_assert(strstr(e.msg, "ENXIO"), "%s", e.msg);
	cr_assert(strstr(e.msg, "went away between lookup and open"), "%s", e.msg);
	cr_assert(strstr(e.msg, "/dev/vfio/devices/vfio0"), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before);
}
