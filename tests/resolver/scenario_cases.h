/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scenario tests of the resolver, run against a tree served by fakesys; the
 * including file defines SERVE(scenario, dir) and UNSERVE(dir) (a plain
 * materialized tree, or a FUSE mount) and the suite name.  Same cases, same
 * answers, whichever way the host is served.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/qemu_argv.h>
#include <vfiokit/resolver.h>

#include "testutil.h"

static char host[256], nocdev[256];
static bool served_host, served_nocdev;

static void serve_all(void)
{
	char sc[4096], bin[4096];

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	if (access(bin, X_OK) < 0)
		cr_skip_test("fakesys is not built (%s)", bin);
	vk_test_data_path("resolver", "resolver-host.yaml", sc, sizeof(sc));
	cr_assert_eq(SERVE(sc, host, sizeof(host)), 0, "serving %s", sc);
	served_host = true;
	vk_test_data_path("resolver", "resolver-nocdev.yaml", sc, sizeof(sc));
	cr_assert_eq(SERVE(sc, nocdev, sizeof(nocdev)), 0, "serving %s", sc);
	served_nocdev = true;
}

static void unserve_all(void)
{
	if (served_host)
		UNSERVE(host);
	if (served_nocdev)
		UNSERVE(nocdev);
}

TestSuite(SUITE, .init = serve_all, .fini = unserve_all, .timeout = 60);

static struct vk_pci_addr A(const char *s) {
	struct vk_pci_addr a;
	cr_assert_eq(vk_pci_addr_parse(s, &a, NULL), 0);
	return a;
}

static void
with_root(const char *dir, unsigned flags, void (*fn)(struct vk_root *))
{
	struct vk_root *r;
	struct vk_error e;
	int before = vk_fd_count();

	cr_assert_eq(vk_root_open(dir, flags, &r, &e), 0, "%s", e.msg);
	fn(r);
	vk_root_close(r);
	cr_assert_eq(vk_fd_count(), before, "FD leak");
}

static void happy(struct vk_root *r)
{
	struct vk_pci_addr a[] = {A("0000:06:00.0"), A("0000:06:00.1")};
	struct vk_pci_dev_facts f;
	struct vk_vfio_set s;
	struct vk_error e;
	struct vk_qemu_argv argv;

	cr_assert_eq(vk_pci_dev_facts_read(r, &a[0], &f, &e), 0, "%s", e.msg);
	cr_assert(f.present);
	cr_assert_eq(f.vendor, 0x10de);
	cr_assert_eq(f.device, 0x2204);
	cr_assert_eq(f.class_code, 0x030000);
	cr_assert_eq(f.revision, 0xa1);
	cr_assert_str_eq(f.driver, "vfio-pci");
	cr_assert_eq(f.iommu_group, 12);
	cr_assert_eq(f.cdev_state, VK_VFIO_CDEV_OK, "%s", f.cdev_problem);
	cr_assert(f.node_is_standin);
	cr_assert_eq(f.node_mode, 0600);
	cr_assert_eq(f.node_uid, 0);

	int before = vk_fd_count();
	cr_assert_eq(vk_vfio_set_open(r, a, 2, 0, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before + 3);
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(fcntl(s.dev[i].fd, F_GETFL) & O_ACCMODE, O_RDWR);
	cr_assert_eq(vk_qemu_argv_build(&s, VK_QEMU_SYNTAX_KEYVAL, 0, &argv, &e), 0);
	cr_assert_eq(argv.argc, 6);
	cr_assert(strstr(argv.argv[3], "vfio-pci,host=0000:06:00.0,id=hostdev0,iommufd=iommufd0,fd="));
	vk_qemu_argv_free(&argv);
	vk_vfio_set_close(&s);
	cr_assert_eq(vk_fd_count(), before);
}

Test(SUITE, happy_path)
{
	with_root(host, 0, happy);
	with_root(host, VK_ROOT_NO_OPENAT2, happy);
}

static void vmd(struct vk_root *r)
{
	struct vk_pci_addr a[] = {A("10000:e0:06.0")};
	struct vk_pci_dev_facts f;
	struct vk_vfio_set s;
	struct vk_error e;
	struct vk_qemu_argv argv;
	char path[64];

	cr_assert_eq(vk_pci_dev_facts_read(r, &a[0], &f, &e), 0, "%s", e.msg);
	cr_assert_str_eq(f.driver, "vfio-pci");
	cr_assert_eq(vk_vfio_cdev_lookup(&f, path, sizeof(path), &e), 0, "%s", e.msg);
	cr_assert_eq(vk_vfio_set_open(r, a, 1, 0, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_qemu_argv_build(&s, VK_QEMU_SYNTAX_JSON, 0, &argv, &e), 0);
	cr_assert_null(strstr(argv.argv[3], "\"host\""), "no host= for a 32-bit domain: %s", argv.argv[3]);
	cr_assert(strstr(argv.argv[3], "\"fd\":\""));
	vk_qemu_argv_free(&argv);
	vk_vfio_set_close(&s);

	/* the twin: same bus:slot.fn in domain 0, on nvme, must not pick up the VMD device's cdev */
	struct vk_pci_addr t = A("0000:e0:06.0");
	cr_assert_eq(vk_pci_dev_facts_read(r, &t, &f, &e), 0, "%s", e.msg);
	cr_assert_str_eq(f.driver, "nvme");
	cr_assert_eq(f.device, 0xa808);
	cr_assert_eq(f.cdev_name[0], '\0');
	int before = vk_fd_count();
	struct vk_pci_addr both[] = {a[0], t};
	cr_assert_eq(vk_vfio_set_open(r, both, 2, 0, &s, &e), -EINVAL);
	cr_assert(strstr(e.msg, "0000:e0:06.0: bound to driver 'nvme'"), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before);
}

Test(SUITE, vmd_domain_beside_its_16_bit_twin)
{
	with_root(host, 0, vmd);
	with_root(host, VK_ROOT_NO_OPENAT2, vmd);
}

static void causes(struct vk_root *r)
{
	static const struct {
		const char *bdf;
		int want;
		const char *needle;
	} cases[] = {
		{"0000:07:00.0", -EINVAL, "bound to driver 'nouveau'"},
		{"0000:08:00.0", -EINVAL, "not bound to any driver"},
		{"0000:09:00.0", -ENODEV, "no such PCI device"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vk_pci_addr a[] = {A("0000:06:00.0"), A(cases[i].bdf)};
		struct vk_vfio_set s;
		struct vk_error e;
		int before = vk_fd_count();
		cr_assert_eq(vk_vfio_set_open(r, a, 2, 0, &s, &e), cases[i].want, "%s", e.msg);
		cr_assert(strstr(e.msg, cases[i].needle), "%s", e.msg);
		cr_assert(strstr(e.msg, cases[i].bdf), "%s", e.msg);
		cr_assert_eq(vk_fd_count(), before);
	}
}

Test(SUITE, every_error_cause_closes_everything)
{
	with_root(host, 0, causes);
}

static void no_cdev_kernel(struct vk_root *r)
{
	struct vk_pci_addr a = A("0000:06:00.0");
	struct vk_vfio_set s;
	struct vk_error e;
	int before = vk_fd_count();

	cr_assert_eq(vk_vfio_set_open(r, &a, 1, 0, &s, &e), -EOPNOTSUPP);
	cr_assert(strstr(e.msg, "VFIO_DEVICE_CDEV"), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before);
	/* legacy mode works there */
	cr_assert_eq(vk_vfio_set_open(r, &a, 1, VK_VFIO_SET_LEGACY, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(s.dev[0].iommu_group, 12);
	vk_vfio_set_close(&s);
	/* and /dev/iommu is absent */
	cr_assert_eq(vk_vfio_iommufd_open(r, &e), -ENOENT);
	cr_assert(strstr(e.msg, "IOMMUFD"), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before);
}

Test(SUITE, kernel_without_cdev)
{
	with_root(nocdev, 0, no_cdev_kernel);
}

/* As nobody: the node is root's 0600; the message names owner, mode and caller. */
Test(SUITE, permission_denied)
{
	char msg[1024] = "";
	int pfd[2];

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to nobody");
	chmod(host, 0755);
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct vk_root *r;
		struct vk_error e;
		struct vk_pci_addr a = A("0000:06:00.0");
		close(pfd[0]);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		vk_error_clear(&e);
		if (vk_root_open(host, 0, &r, &e) < 0 ||
		    (e.msg[0] = '\0', access(host, X_OK) < 0)) {
			if (write(pfd[1], "SKIP", 4) < 0)
				_exit(4);
			_exit(77);
		}
		int before = vk_fd_count();
		int rc = vk_vfio_device_open(r, &a, NULL, &e);
		if (write(pfd[1], e.msg, strlen(e.msg)) < 0)
			_exit(4);
		vk_root_close(r);
		_exit(rc == -EACCES && vk_fd_count() == before - 1 ? 0 : 1);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], msg, sizeof(msg) - 1);
	msg[n < 0 ? 0 : n] = '\0';
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		cr_skip_test("nobody cannot enter the served tree (FUSE mount without allow_other)");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: %s", WEXITSTATUS(st), msg);
	cr_assert(strstr(msg, "owner 0 group 0 mode 0600"), "%s", msg);
	cr_assert(strstr(msg, "uid 65534 gid 65534"), "%s", msg);
}
