/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts and cdev lookup on hand-built trees: the happy path, every hostile
 * vfio-dev/ layout, VMD domains, symlinked attributes; both lookup modes. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>

#include "testutil.h"
#include "tree.h"

static char dir[256];

static void setup(void)
{
	cr_assert_eq(tree_new(dir, sizeof(dir), true), 0);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

TestSuite(facts, .init = setup, .fini = teardown);

/* Read facts in both modes, check both give the same, return the openat2 one. */
static int facts(const char *bdf, struct vk_pci_dev_facts *f, struct vk_error *e)
{
	struct vk_pci_addr a;
	struct vk_pci_dev_facts f2;
	struct vk_error e2;
	struct vk_root *r;
	int before = vk_fd_count();

	cr_assert_eq(vk_pci_addr_parse(bdf, &a, NULL), 0);
	vk_error_clear(e);
	vk_error_clear(&e2);
	cr_assert_eq(vk_root_open(dir, 0, &r, NULL), 0);
	int rc = vk_pci_dev_facts_read(r, &a, f, e);
	vk_root_close(r);
	cr_assert_eq(vk_root_open(dir, VK_ROOT_NO_OPENAT2, &r, NULL), 0);
	int rc2 = vk_pci_dev_facts_read(r, &a, &f2, &e2);
	vk_root_close(r);
	cr_assert_eq(rc, rc2, "%s: openat2 %d vs walk %d", bdf, rc, rc2);
	cr_assert_eq(memcmp(f, &f2, sizeof(f2)), 0, "%s: facts differ between lookup modes", bdf);
	cr_assert_str_eq(e->msg, e2.msg);
	cr_assert_eq(vk_fd_count(), before, "%s: FD leak", bdf);
	return rc;
}

static int lookup(const char *bdf, char *msg, size_t len)
{
	struct vk_pci_dev_facts f;
	struct vk_error e;
	char path[64];

	cr_assert_eq(facts(bdf, &f, &e), 0, "%s: %s", bdf, e.msg);
	vk_error_clear(&e);
	int r = vk_vfio_cdev_lookup(&f, path, sizeof(path), &e);
	snprintf(msg, len, "%s", r < 0 ? e.msg : path);
	return r;
}

Test(facts, happy_path_reads_everything_in_one_call)
{
	struct vk_pci_dev_facts f;
	struct vk_error e;
	char path[64];

	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	cr_assert_eq(facts("0000:06:00.0", &f, &e), 0, "%s", e.msg);
	cr_assert(f.present);
	cr_assert_eq(f.vendor, 0x10de);
	cr_assert_eq(f.device, 0x2204);
	cr_assert_eq(f.subsystem_vendor, 0x1458);
	cr_assert_eq(f.subsystem_device, 0x403b);
	cr_assert_eq(f.class_code, 0x030000);
	cr_assert_eq(f.revision, 0xa1);
	cr_assert_str_eq(f.driver, "vfio-pci");
	cr_assert_str_eq(f.driver_override, "");
	cr_assert(f.has_driver_override_attr);
	cr_assert_eq(f.iommu_group, 12);
	cr_assert_str_eq(f.cdev_name, "vfio0");
	cr_assert(f.has_dev_attr);
	cr_assert_eq(f.cdev_major, 511);
	cr_assert_eq(f.cdev_minor, 0);
	cr_assert_str_eq(f.node_path, "/dev/vfio/devices/vfio0");
	cr_assert(f.node_present);
	cr_assert(f.node_is_standin);
	cr_assert_not(f.node_is_chardev);
	cr_assert_eq(f.node_mode, 0600);
	cr_assert_eq(f.node_uid, getuid());
	cr_assert_eq(f.cdev_state, VK_VFIO_CDEV_OK);
	cr_assert_eq(vk_vfio_cdev_lookup(&f, path, sizeof(path), &e), 0);
	cr_assert_str_eq(path, "/dev/vfio/devices/vfio0");
}

Test(facts, driver_override_and_other_driver_with_fix)
{
	char m[1024];
	struct tree_dev d = {.bdf = "0000:07:00.0", .driver = "nvidia", .override = "vfio-pci", .group = 3};

	cr_assert_eq(tree_add(dir, &d), 0);
	cr_assert_eq(lookup("0000:07:00.0", m, sizeof(m)), -EINVAL);
	cr_assert(strstr(m, "0000:07:00.0"), "%s", m);
	cr_assert(strstr(m, "'nvidia'"), "%s", m);
	cr_assert(strstr(m, "driverctl set-override 0000:07:00.0 vfio-pci"), "%s", m);
	cr_assert(strstr(m, "/sys/bus/pci/drivers/nvidia/unbind"), "%s", m);
	cr_assert(strstr(m, "driver_override is currently 'vfio-pci'"), "%s", m);
	cr_assert(strstr(m, "ENOENT"), "%s", m);

	struct tree_dev u = {.bdf = "0000:08:00.0", .group = -1};
	cr_assert_eq(tree_add(dir, &u), 0);
	cr_assert_eq(lookup("0000:08:00.0", m, sizeof(m)), -EINVAL);
	cr_assert(strstr(m, "not bound to any driver"), "%s", m);
	cr_assert(strstr(m, "no IOMMU group"), "%s", m);
}

Test(facts, absent_device)
{
	char m[1024];
	struct vk_pci_dev_facts f;
	struct vk_error e;

	cr_assert_eq(facts("0000:09:00.0", &f, &e), 0);
	cr_assert_not(f.present);
	cr_assert_eq(f.cdev_state, VK_VFIO_CDEV_DEVICE_ABSENT);
	cr_assert_eq(lookup("0000:09:00.0", m, sizeof(m)), -ENODEV);
	cr_assert(strstr(m, "no such PCI device"), "%s", m);
	cr_assert(strstr(m, "/sys/bus/pci/devices/0000:09:00.0"), "%s", m);
}

Test(facts, vfio_pci_without_vfio_dev_is_a_kernel_without_cdev)
{
	char m[1024];
	struct tree_dev d = tree_happy;
	d.cdev = NULL;
	cr_assert_eq(tree_add(dir, &d), 0);
	cr_assert_eq(lookup("0000:06:00.0", m, sizeof(m)), -EOPNOTSUPP);
	cr_assert(strstr(m, "VFIO_DEVICE_CDEV"), "%s", m);
	cr_assert(strstr(m, "--legacy"), "%s", m);
}

Test(facts, vfio_dev_without_dev_attribute)
{
	char m[1024];
	struct tree_dev d = tree_happy;
	d.no_dev_attr = true;
	cr_assert_eq(tree_add(dir, &d), 0);
	cr_assert_eq(lookup("0000:06:00.0", m, sizeof(m)), -EOPNOTSUPP);
	cr_assert(strstr(m, "vfio-dev/vfio0/dev does not exist"), "%s", m);
}

Test(facts, node_missing_in_dev)
{
	char m[1024];
	struct tree_dev d = tree_happy;
	d.no_node = true;
	cr_assert_eq(tree_add(dir, &d), 0);
	cr_assert_eq(lookup("0000:06:00.0", m, sizeof(m)), -ENOENT);
	cr_assert(strstr(m, "/dev/vfio/devices/vfio0 does not exist"), "%s", m);
	cr_assert(strstr(m, "udev"), "%s", m);
}

/* Every malformed vfio-dev/ is refused with what was found. */
struct bad_case {
	/* no pointers: Criterion runs each parameter in a fresh process (ASLR) */
	char extra[3][16]; /* entries to create in vfio-dev/ */
	bool file;         /* create them as files, not directories */
	char want[32];
};

ParameterizedTestParameters(facts, hostile_vfio_dev_entries)
{
	static struct bad_case cases[] = {
		{{"vfio0", "vfio1"}, false, "2 entries ('vfio"},
		{{"vfioX"}, false, "'vfioX'"},
		{{"vfio"}, false, "'vfio'"},
		{{"vfio01"}, false, "'vfio01'"},
		{{"vfio-3"}, false, "'vfio-3'"},
		{{"xvfio0"}, false, "'xvfio0'"},
		{{"vfio0"}, true, "(not a directory)"},
		{{"vfio0", "extra"}, false, "'extra'"},
		{{""}, false, "empty"},
	};
	return cr_make_param_array(struct bad_case, cases, VK_ARRAY_SIZE(cases));
}

ParameterizedTest(struct bad_case *c, facts, hostile_vfio_dev_entries)
{
	char m[1024], p[4096];
	struct tree_dev d = tree_happy;
	d.cdev = NULL;
	cr_assert_eq(tree_add(dir, &d), 0);
	cr_assert_eq(tree_mkdir(dir, "sys/devices/pci0000:00/0000:00:01.0/0000:06:00.0/vfio-dev"), 0);
	for (int i = 0; i < 3 && c->extra[i][0]; i++) {
		snprintf(p, sizeof(p), "sys/devices/pci0000:00/0000:00:01.0/0000:06:00.0/vfio-dev/%s%s", c->extra[i],
		         c->file ? "" : "/dev");
		cr_assert_eq(tree_write(dir, p, "511:0\n"), 0);
	}
	cr_assert_eq(lookup("0000:06:00.0", m, sizeof(m)), -EINVAL);
	cr_assert(strstr(m, c->want), "want '%s' in: %s", c->want, m);
	cr_assert(strstr(m, "0000:06:00.0"), "%s", m);
}

Test(facts, bad_dev_attribute)
{
	char m[1024], p[4096];
	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	tree_devpath(dir, "0000:06:00.0", "vfio-dev/vfio0/dev", p, sizeof(p));
	cr_assert_eq(tree_write(dir, p + strlen(dir) + 1, "511\n"), 0);
	cr_assert_eq(lookup("0000:06:00.0", m, sizeof(m)), -EINVAL);
	cr_assert(strstr(m, "'511'"), "%s", m);
}

Test(facts, symlinked_attribute_is_refused_not_followed)
{
	struct vk_pci_dev_facts f;
	struct vk_error e;
	char p[4096];

	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	tree_devpath(dir, "0000:06:00.0", "vendor", p, sizeof(p));
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(symlink("/etc/passwd", p), 0);
	cr_assert_eq(facts("0000:06:00.0", &f, &e), -ELOOP);
	cr_assert(strstr(e.msg, "refusing to follow"), "%s", e.msg);

	/* a vfio-dev that is a symlink to somewhere else */
	tree_devpath(dir, "0000:06:00.0", "vendor", p, sizeof(p));
	unlink(p);
	cr_assert_eq(tree_write(dir, p + strlen(dir) + 1, "0x10de\n"), 0);
	tree_devpath(dir, "0000:06:00.0", "vfio-dev", p, sizeof(p));
	char q[4200];
	snprintf(q, sizeof(q), "%s.real", p);
	cr_assert_eq(rename(p, q), 0);
	cr_assert_eq(symlink("vfio-dev.real", p), 0);
	cr_assert_eq(facts("0000:06:00.0", &f, &e), -ELOOP);
	cr_assert(strstr(e.msg, "vfio-dev"), "%s", e.msg);
}

Test(facts, device_link_pointing_outside_the_root_stays_inside)
{
	struct vk_pci_dev_facts f;
	struct vk_error e;

	/* the real /sys has this device? it must not matter: the link is resolved in the root */
	cr_assert_eq(tree_symlink(dir, "/sys/devices/pci0000:00/0000:00:01.0/0000:05:00.0",
	                          "sys/bus/pci/devices/0000:05:00.0"),
	             0);
	cr_assert_eq(facts("0000:05:00.0", &f, &e), 0);
	cr_assert_not(f.present, "an absolute link must resolve inside the root, where it does not exist");
	cr_assert_eq(tree_symlink(dir, "../../../../../../../../../../sys/devices/pci0000:00/0000:00:00.0",
	                          "sys/bus/pci/devices/0000:00:00.0"),
	             0);
	cr_assert_eq(facts("0000:00:00.0", &f, &e), 0);
	cr_assert_not(f.present);
}

Test(facts, vmd_domain_is_not_confused_with_its_16_bit_twin)
{
	struct vk_pci_dev_facts f;
	struct vk_error e;
	char m[1024];
	struct tree_dev twin = {.bdf = "0000:e0:06.0", .driver = "nvme", .group = 4};
	struct tree_dev vmd = {.bdf = "10000:e0:06.0", .driver = "vfio-pci", .group = 5, .cdev = "vfio7", .maj = 511, .min = 7};

	cr_assert_eq(tree_add(dir, &twin), 0);
	cr_assert_eq(tree_add(dir, &vmd), 0);
	cr_assert_eq(facts("10000:e0:06.0", &f, &e), 0);
	cr_assert_str_eq(f.bdf, "10000:e0:06.0");
	cr_assert_str_eq(f.driver, "vfio-pci");
	cr_assert_str_eq(f.cdev_name, "vfio7");
	cr_assert_eq(lookup("10000:e0:06.0", m, sizeof(m)), 0, "%s", m);
	cr_assert_str_eq(m, "/dev/vfio/devices/vfio7");
	cr_assert_eq(lookup("0000:e0:06.0", m, sizeof(m)), -EINVAL);
	cr_assert(strstr(m, "'nvme'"), "%s", m);
	cr_assert_eq(lookup("e0:06.0", m, sizeof(m)), -EINVAL, "short form is domain 0");
}

Test(facts, chardev_node_is_reported_as_such)
{
	struct vk_pci_dev_facts f;
	struct vk_error e;
	struct tree_dev d = tree_happy;

	if (geteuid() != 0)
		cr_skip_test("mknod needs root");
	d.maj = 1;
	d.min = 3;
	d.chardev_node = true;
	d.node_mode = 0660;
	cr_assert_eq(tree_add(dir, &d), 0);
	/* 0660 where mknod made it; a bound /dev/null keeps its own mode (tree.h) */
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/dev/vfio/devices/vfio0", dir);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(facts("0000:06:00.0", &f, &e), 0);
	cr_assert(f.node_is_chardev);
	cr_assert_eq(f.node_rdev_major, 1);
	cr_assert_eq(f.node_rdev_minor, 3);
	cr_assert_eq(f.node_mode, st.st_mode & 07777);
	cr_assert_neq(f.node_mode, 0600, "the test must tell the node's mode from the default");
	cr_assert_eq(f.cdev_state, VK_VFIO_CDEV_OK);
}

Test(facts, drivers_that_keep_a_group_free)
{
	const char *yes[] = {"", "vfio-pci", "pci-stub", "pcieport", "mlx5_vfio_pci", "xe-vfio-pci"};
	const char *no[] = {"xhci_hcd", "nvme", "snd_hda_intel", "vfio", "vfio-pci2", "pcieport "};

	cr_assert(vk_pci_driver_keeps_group_free(NULL));
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(vk_pci_driver_keeps_group_free(yes[i]), "'%s'", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(vk_pci_driver_keeps_group_free(no[i]), "'%s'", no[i]);
}

Test(facts, vfio_pci_and_its_variant_drivers)
{
	const char *yes[] = {"vfio-pci", "vfio_pci", "mlx5_vfio_pci", "hisi_acc_vfio_pci", "pds_vfio_pci",
	                     "nvgrace_gpu_vfio_pci", "virtio_vfio_pci", "qat_vfio_pci", "xe-vfio-pci"};
	const char *no[] = {NULL, "", "vfio", "pci", "vfio-pci-core", "xvfio_pci", "vfio_pcie", "vfio-pci ",
	                    "mlx5_core", "ivfio-pci"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(vk_pci_driver_is_vfio_pci(yes[i]), "'%s'", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(vk_pci_driver_is_vfio_pci(no[i]), "'%s'", no[i] ? no[i] : "(null)");
}

/* A device on a vfio-pci variant driver is a VFIO device: its cdev is found
 * and opened; without vfio-dev/ the diagnosis names that driver. */
Test(facts, variant_driver_device_is_a_vfio_device)
{
	char m[1024];
	struct tree_dev v = {.bdf = "0000:07:00.0", .driver = "mlx5_vfio_pci", .group = 3, .cdev = "vfio1", .maj = 511, .min = 1};
	struct tree_dev nocdev = {.bdf = "0000:08:00.0", .driver = "xe-vfio-pci", .group = 4};

	cr_assert_eq(tree_add(dir, &v), 0);
	cr_assert_eq(tree_add(dir, &nocdev), 0);
	cr_assert_eq(lookup("0000:07:00.0", m, sizeof(m)), 0, "%s", m);
	cr_assert_str_eq(m, "/dev/vfio/devices/vfio1");
	struct vk_pci_addr a;
	struct vk_root *r;
	struct vk_error e;
	cr_assert_eq(vk_pci_addr_parse("0000:07:00.0", &a, NULL), 0);
	cr_assert_eq(vk_root_open(dir, 0, &r, NULL), 0);
	int fd = vk_vfio_device_open(r, &a, NULL, &e);
	vk_root_close(r);
	cr_assert_geq(fd, 0, "%s", e.msg);
	close(fd);
	cr_assert_eq(lookup("0000:08:00.0", m, sizeof(m)), -EOPNOTSUPP, "%s", m);
	cr_assert(strstr(m, "bound to xe-vfio-pci but"), "%s", m);
}
