/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel-like writes on a live mount: bind, unbind, driver_override,
 * drivers_probe, new_id, remove and sriov_numvfs change the host as the
 * kernel does (with its errnos), every derived node appears and disappears
 * at once for every reader, and paths that survive keep their inode numbers.
 * Run through need-fuse.sh.
 */
#include <dirent.h>
#include <sys/stat.h>

#include <vfiokit/standin.h>

#include "live_util.h"

TestSuite(fuse_live, .fini = live_cleanup, .timeout = 120);

static char mnt[512];
static const char *const live[] = {"--live", NULL};

static bool exists(const char *rel)
{
	struct stat st;
	return lstat(P(mnt, rel), &st) == 0;
}

static int wr(const char *rel, const char *s)
{
	return vk_write_attr(P(mnt, rel), s);
}

static ino_t ino_of(const char *rel)
{
	struct stat st;
	cr_assert_eq(stat(P(mnt, rel), &st), 0, "%s: %s", rel, strerror(errno));
	return st.st_ino;
}

/* Each of @rels exists (@present) or does not. */
static void paths_exist(const char *const *rels, size_t n, bool present)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(exists(rels[i]), present, "%s should %sexist", rels[i], present ? "" : "not ");
}

/* Every node bind/unbind of 0000:01:00.0 to vfio-pci makes (group 1 stays
 * while 01:00.1 holds it). */
static void vfio0_nodes(bool present)
{
	static const char *const rels[] = {
		"dev/vfio/devices/vfio0",
		"sys/bus/pci/devices/0000:01:00.0/vfio-dev/vfio0/dev",
		"sys/class/vfio-dev/vfio0",
		"sys/bus/pci/drivers/vfio-pci/0000:01:00.0",
		"sys/bus/pci/devices/0000:01:00.0/driver",
	};
	paths_exist(rels, sizeof(rels) / sizeof(rels[0]), present);
}

Test(fuse_live, unbind_and_bind_through_sysfs)
{
	char buf[64];

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	ino_t vendor = ino_of("sys/bus/pci/devices/0000:01:00.0/vendor");
	ino_t grp = ino_of("dev/vfio/1");
	vfio0_nodes(true);

	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/unbind", "0000:01:00.0\n"), 0);
	vfio0_nodes(false);
	cr_assert(exists("dev/vfio/1"), "01:00.1 still holds group 1");
	cr_assert(exists("sys/kernel/iommu_groups/1/devices/0000:01:00.0"), "the group does not depend on the driver");
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:01:00.0/uevent"), buf, sizeof(buf)) > 0, true);
	cr_assert_eq(ino_of("sys/bus/pci/devices/0000:01:00.0/vendor"), vendor, "inode numbers survive a change");
	cr_assert_eq(ino_of("dev/vfio/1"), grp);

	/* the second function goes too: then the group node goes */
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/unbind", "0000:01:00.1"), 0);
	cr_assert(!exists("dev/vfio/1"));
	cr_assert(!exists("dev/vfio/devices/vfio1"));

	/* bind back (driver_override vfio-pci): lowest free minor */
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", "0000:01:00.0\n"), 0);
	vfio0_nodes(true);
	cr_assert(exists("dev/vfio/1"), "the group node is back");
	link_target_has(mnt, "sys/bus/pci/devices/0000:01:00.0/driver", "drivers/vfio-pci");
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:01:00.0/vfio-dev/vfio0/dev"), buf, sizeof(buf)), 6);
	cr_assert_str_eq(buf, "511:0\n");
	link_target_has(mnt, "sys/class/vfio-dev/vfio0", "0000:01:00.0/vfio-dev/vfio0");
	cr_assert_eq(ino_of("sys/bus/pci/devices/0000:01:00.0/vendor"), vendor);
	live_umount(mnt);
}

Test(fuse_live, the_kernels_errnos)
{
	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	/* bound already: EBUSY (__driver_probe_device) */
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", "0000:01:00.0"), -EBUSY);
	/* no such device, or a short name the kernel does not know: ENODEV */
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", "0000:99:00.0"), -ENODEV);
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "02:00.0"), -ENODEV);
	/* unbind from a driver it is not bound to: ENODEV (unbind_store) */
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "0000:01:00.0"), -ENODEV);
	/* vfio-pci matches nothing by itself: ENODEV */
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "0000:02:00.0"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", "0000:02:00.0"), -ENODEV);
	/* an override naming another driver: ENODEV */
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/driver_override", "i40e\n"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/bind", "0000:02:00.0"), -ENODEV);
	/* new_id: too few fields EINVAL, twice EEXIST */
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/new_id", "144d"), -EINVAL);
	/* remove and sriov_numvfs want numbers */
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/remove", "yes"), -EINVAL);
	cr_assert_eq(wr("sys/bus/pci/devices/0000:03:00.0/sriov_numvfs", "many"), -EINVAL);
	cr_assert_eq(wr("sys/bus/pci/devices/0000:03:00.0/sriov_numvfs", "5"), -ERANGE);
	/* files with nothing behind a write */
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/vendor", "0x1234"), -EROFS);
	cr_assert_eq(wr("dev/vfio/devices/vfio0", "x"), -EINVAL);
	live_umount(mnt);
}

Test(fuse_live, override_then_drivers_probe)
{
	char buf[64];

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "0000:02:00.0"), 0);
	cr_assert(!exists("sys/bus/pci/devices/0000:02:00.0/driver"));
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/driver_override", "vfio-pci\n"), 0);
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:02:00.0/driver_override"), buf, sizeof(buf)), 9);
	cr_assert_str_eq(buf, "vfio-pci\n");
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:02:00.0\n"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/vfio-pci");
	/* the lowest free minor: vfio0 and vfio1 are taken */
	cr_assert(exists("dev/vfio/devices/vfio2"));
	cr_assert(exists("sys/bus/pci/devices/0000:02:00.0/vfio-dev/vfio2"));
	cr_assert(exists("dev/vfio/2"));
	/* an empty write clears the override */
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/driver_override", "\n"), 0);
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:02:00.0/driver_override"), buf, sizeof(buf)), 7);
	cr_assert_str_eq(buf, "(null)\n");
	/* probing a bound device changes nothing and succeeds */
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:02:00.0"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:42:00.0"), -ENODEV);
	live_umount(mnt);
}

Test(fuse_live, new_id_binds_every_unbound_match)
{
	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "0000:02:00.0"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/new_id", "144d a808\n"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/vfio-pci");
	cr_assert(exists("dev/vfio/devices/vfio2"));
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/new_id", "144d a808"), -EEXIST);
	live_umount(mnt);
}

/* drivers_probe after an override is cleared binds the device's own driver
 * again (__device_attach(): the static table of the driver the scenario bound
 * it to), as `driverctl unset-override` expects; a device the scenario left on
 * vfio-pci has no driver of its own to go back to. */
Test(fuse_live, drivers_probe_finds_the_native_driver_again)
{
	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "0000:02:00.0"), 0);
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/driver_override", "vfio-pci\n"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:02:00.0\n"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/vfio-pci");
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/unbind", "0000:02:00.0"), 0);
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/driver_override", "\n"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:02:00.0\n"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/nvme");
	cr_assert(!exists("dev/vfio/devices/vfio2"), "off vfio-pci: its nodes went");
	/* with an override naming another driver, the native one does not bind */
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "0000:02:00.0"), 0);
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/driver_override", "i40e\n"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:02:00.0\n"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/i40e");
	/* the scenario's vfio-pci devices: no static table knows them */
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/unbind", "0000:01:00.1"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:01:00.1"), 0);
	cr_assert(!exists("sys/bus/pci/devices/0000:01:00.1/driver"), "nothing matches 10de:1aef");
	live_umount(mnt);
}

/* new_id of an ID the static table holds is EEXIST (new_id_store() probes
 * pci_match_device() with it); remove_id takes a dynamic ID away (ENODEV
 * when there is none, EINVAL for fewer than two fields) and unbinds nothing. */
Test(fuse_live, new_id_and_remove_id)
{
	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/new_id", "144d a808"), -EEXIST);
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/remove_id", "144d a808"), -ENODEV);
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/remove_id", "144d"), -EINVAL);
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "0000:02:00.0"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/new_id", "144d a808 ffffffff ffffffff 0 0"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/vfio-pci");
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/remove_id", "144d a808"), -ENODEV, "another driver's ID");
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/remove_id", "144d a808 1 1"), -ENODEV, "subvendor given: compared");
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/remove_id", "144d a808\n"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/vfio-pci");
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/remove_id", "144d a808"), -ENODEV, "gone");
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/new_id", "144d a808"), 0, "and may be added again");
	/* without the ID and with no override, a re-probe finds nvme */
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/remove_id", "144d a808"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers/vfio-pci/unbind", "0000:02:00.0"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:02:00.0"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/nvme");
	live_umount(mnt);
}

Test(fuse_live, remove_takes_the_device_and_its_group)
{
	DIR *d;
	struct dirent *e;

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert(exists("sys/kernel/iommu_groups/2"));
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/remove", "0"), 0);
	cr_assert(exists("sys/bus/pci/devices/0000:02:00.0"), "0 removes nothing");
	cr_assert_eq(wr("sys/bus/pci/devices/0000:02:00.0/remove", "1\n"), 0);
	cr_assert(!exists("sys/bus/pci/devices/0000:02:00.0"));
	cr_assert(!exists("sys/bus/pci/drivers/nvme/0000:02:00.0"));
	cr_assert(!exists("sys/kernel/iommu_groups/2"));
	d = opendir(P(mnt, "sys/bus/pci/devices"));
	cr_assert_not_null(d);
	while ((e = readdir(d)))
		cr_assert_str_neq(e->d_name, "0000:02:00.0", "a listing still shows the removed device");
	closedir(d);
	/* removing a bridge removes what is below it */
	cr_assert_eq(live_ctl(mnt, "remove 0000:00:01.0", (char[256]){0}, 256), 0);
	cr_assert(!exists("sys/bus/pci/devices/0000:01:00.0"));
	cr_assert(!exists("dev/vfio/devices/vfio0"));
	cr_assert(!exists("dev/vfio/1"));
	live_umount(mnt);
}

Test(fuse_live, sriov_numvfs_adds_and_removes_vfs)
{
	char buf[64];

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	const char *nv = "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs";
	cr_assert_eq(wr(nv, "2\n"), 0);
	cr_assert_eq(vk_read_file(P(mnt, nv), buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "2\n");
	/* offset 16, stride 1 from 03:00.0 */
	link_target_has(mnt, "sys/bus/pci/devices/0000:03:00.0/virtfn0", "0000:03:02.0");
	link_target_has(mnt, "sys/bus/pci/devices/0000:03:00.0/virtfn1", "0000:03:02.1");
	link_target_has(mnt, "sys/bus/pci/devices/0000:03:02.1/physfn", "0000:03:00.0");
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:03:02.0/device"), buf, sizeof(buf)), 7);
	cr_assert_str_eq(buf, "0x154c\n");
	cr_assert(exists("sys/bus/pci/devices/0000:03:02.0/iommu_group"));
	/* enabling while enabled: EBUSY; same number: fine */
	cr_assert_eq(wr(nv, "3"), -EBUSY);
	cr_assert_eq(wr(nv, "2"), 0);
	cr_assert_eq(wr(nv, "0"), 0);
	cr_assert(!exists("sys/bus/pci/devices/0000:03:02.0"));
	cr_assert(!exists("sys/bus/pci/devices/0000:03:00.0/virtfn0"));
	/* no driver, no SR-IOV: ENOENT */
	cr_assert_eq(wr("sys/bus/pci/drivers/i40e/unbind", "0000:03:00.0"), 0);
	cr_assert_eq(wr(nv, "1"), -ENOENT);
	live_umount(mnt);
}

Test(fuse_live, control_bind_and_unbind)
{
	char out[256];

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	/* bind regardless of ids: nvme -> vfio-pci */
	cr_assert_eq(live_ctl(mnt, "bind 0000:02:00.0 vfio-pci", out, sizeof(out)), 0, "%s", out);
	link_target_has(mnt, "sys/bus/pci/devices/0000:02:00.0/driver", "drivers/vfio-pci");
	cr_assert(exists("dev/vfio/devices/vfio2"));
	cr_assert(!exists("sys/bus/pci/drivers/nvme/0000:02:00.0"));
	cr_assert_eq(live_ctl(mnt, "unbind 0000:02:00.0", out, sizeof(out)), 0, "%s", out);
	cr_assert(!exists("dev/vfio/devices/vfio2"));
	cr_assert(!exists("sys/bus/pci/devices/0000:02:00.0/driver"));
	cr_assert_lt(live_ctl(mnt, "unbind 0000:02:00.0", out, sizeof(out)), 0);
	cr_assert_lt(live_ctl(mnt, "bind 0000:02:00.0 nosuchdrv", out, sizeof(out)), 0);
	cr_assert(strstr(out, "no driver nosuchdrv"), "%s", out);
	live_umount(mnt);
}

Test(fuse_live, a_reader_holding_a_directory_sees_the_change)
{
	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	/* warm every cache the kernel has for the directory and its entries */
	for (int i = 0; i < 2; i++) {
		DIR *d = opendir(P(mnt, "dev/vfio/devices"));
		cr_assert_not_null(d);
		int n = 0;
		while (readdir(d))
			n++;
		closedir(d);
		cr_assert_eq(n, 4);
		cr_assert(exists("dev/vfio/devices/vfio0"));
		cr_assert(!exists("dev/vfio/devices/vfio2"));
	}
	cr_assert_eq(wr("sys/bus/pci/drivers/nvme/unbind", "0000:02:00.0"), 0);
	cr_assert_eq(live_ctl(mnt, "bind 0000:02:00.0 vfio-pci", (char[256]){0}, 256), 0);
	cr_assert(exists("dev/vfio/devices/vfio2"), "a cached negative entry answered");
	DIR *d = opendir(P(mnt, "dev/vfio/devices"));
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	cr_assert_eq(n, 5, "a cached listing answered");
	live_umount(mnt);
}

/* A ConnectX-7 PF on mlx5_core with two VFs: 41:02.0 on the vfio-pci variant
 * driver mlx5_vfio_pci (group 7, vfio0), 41:02.1 on mlx5_core (group 8).
 * No vfio_pci module: a variant needs only its own and vfio_pci_core. */
#define VARIANT_HOST \
	"version: 1\n" \
	"kernel: {iommu: intel, vfio_device_cdev: true, iommufd: true,\n" \
	"         modules: [vfio, vfio_pci_core, iommufd, mlx5_core, mlx5_vfio_pci], drivers: [mlx5_vfio_pci]}\n" \
	"devices:\n" \
	"  - {address: 0000:40:01.0, vendor: 0x8086, device: 0x1bbe, driver: pcieport}\n" \
	"  - {address: 0000:41:00.0, parent: 0000:40:01.0, vendor: 0x15b3, device: 0x1021, driver: mlx5_core,\n" \
	"     sriov: {totalvfs: 4, vf_device: 0x101e}}\n" \
	"  - {address: 0000:41:02.0, physfn: 0000:41:00.0, driver: mlx5_vfio_pci, iommu_group: 7}\n" \
	"  - {address: 0000:41:02.1, physfn: 0000:41:00.0, driver: mlx5_core, iommu_group: 8}\n"

/* Every node a binding of 0000:41:02.1 to mlx5_vfio_pci as vfio1 makes. */
static void variant_vfio1_nodes(bool present)
{
	static const char *const rels[] = {
		"dev/vfio/devices/vfio1",
		"dev/vfio/8",
		"sys/bus/pci/devices/0000:41:02.1/vfio-dev/vfio1/dev",
		"sys/class/vfio-dev/vfio1",
		"sys/devices/virtual/vfio/8/dev",
		"sys/bus/pci/drivers/mlx5_vfio_pci/0000:41:02.1",
	};
	paths_exist(rels, sizeof(rels) / sizeof(rels[0]), present);
}

Test(fuse_live, variant_driver_binds_like_vfio_pci)
{
	char buf[64];

	cr_assert_eq(live_mount(VARIANT_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert(exists("dev/vfio/devices/vfio0"), "41:02.0 is on mlx5_vfio_pci from the start");
	cr_assert(exists("dev/vfio/7"));
	variant_vfio1_nodes(false);

	cr_assert_eq(wr("sys/bus/pci/drivers/mlx5_core/unbind", "0000:41:02.1\n"), 0);
	/* a variant's IDs are override_only: without driver_override it matches nothing */
	cr_assert_eq(wr("sys/bus/pci/drivers/mlx5_vfio_pci/bind", "0000:41:02.1"), -ENODEV);
	variant_vfio1_nodes(false);

	/* driver_override + drivers_probe, as driverctl or libvirt's managed mode does */
	cr_assert_eq(wr("sys/bus/pci/devices/0000:41:02.1/driver_override", "mlx5_vfio_pci\n"), 0);
	cr_assert_eq(wr("sys/bus/pci/drivers_probe", "0000:41:02.1\n"), 0);
	link_target_has(mnt, "sys/bus/pci/devices/0000:41:02.1/driver", "drivers/mlx5_vfio_pci");
	variant_vfio1_nodes(true);
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:41:02.1/vfio-dev/vfio1/dev"), buf, sizeof(buf)), 6);
	cr_assert_str_eq(buf, "511:1\n");
	cr_assert_eq(vk_read_file(P(mnt, "dev/vfio/devices/vfio1"), buf, sizeof(buf)), 29);
	cr_assert_str_eq(buf, VK_STANDIN_MAGIC " 511:1\n");
	link_target_has(mnt, "sys/class/vfio-dev/vfio1", "0000:41:02.1/vfio-dev/vfio1");

	/* unbind: the cdev and the group node go, the other VF keeps its own */
	cr_assert_eq(wr("sys/bus/pci/drivers/mlx5_vfio_pci/unbind", "0000:41:02.1\n"), 0);
	variant_vfio1_nodes(false);
	cr_assert(!exists("sys/bus/pci/devices/0000:41:02.1/driver"));
	cr_assert(exists("dev/vfio/devices/vfio0"));
	cr_assert(exists("dev/vfio/7"));

	/* bind back through the driver's bind file (the override still names it) */
	cr_assert_eq(wr("sys/bus/pci/drivers/mlx5_vfio_pci/bind", "0000:41:02.1\n"), 0);
	variant_vfio1_nodes(true);

	/* the first VF leaves: vfio0 and its group node go, and the lowest free
	 * minor is taken again by the next bind (the control channel's) */
	cr_assert_eq(wr("sys/bus/pci/drivers/mlx5_vfio_pci/unbind", "0000:41:02.0"), 0);
	cr_assert(!exists("dev/vfio/devices/vfio0"));
	cr_assert(!exists("dev/vfio/7"));
	cr_assert(!exists("sys/bus/pci/devices/0000:41:02.0/vfio-dev"));
	cr_assert_eq(live_ctl(mnt, "bind 0000:41:02.0 mlx5_vfio_pci", (char[256]){0}, 256), 0);
	cr_assert(exists("dev/vfio/devices/vfio0"));
	cr_assert(exists("sys/bus/pci/devices/0000:41:02.0/vfio-dev/vfio0/dev"));
	cr_assert(exists("dev/vfio/7"));
	/* vfio-pci itself is not there: its module is not loaded */
	cr_assert(!exists("sys/bus/pci/drivers/vfio-pci"));
	live_umount(mnt);
}

/* ---- nothing the live mode changes leaks (issues #14.4, #22.14) ----------- */

/* LIVE_HOST with one more device that has explicit resources: lines. */
#define HOST_WITH_RESOURCES \
	LIVE_HOST "  - {address: 0000:04:00.0, vendor: 0x144d, device: 0xa808, driver: nvme, iommu_group: 4,\n" \
		  "     resources: [[0xfe000000, 0xfe003fff, 0x40200], [0, 0, 0], [0xfd000000, 0xfd0fffff, 0x40200]]}\n"
#define REMOVE4 "sys/bus/pci/devices/0000:04:00.0/remove"

/* Write @yaml into a fresh directory (*@dir) as scenario.yaml (into @scen). */
static void write_scenario(const char *yaml, char *dir, size_t dlen, char *scen, size_t slen)
{
	cr_assert_eq(vk_mkdtemp(dir, dlen), 0);
	snprintf(scen, slen, "%s/scenario.yaml", dir);
	FILE *f = fopen(scen, "we");
	cr_assert_not_null(f);
	fputs(yaml, f);
	fclose(f);
}

Test(fuse_live, remove_of_a_device_with_resources_leaks_nothing)
{
	char dir[PATH_MAX], scen[PATH_MAX + 32], pidfile[PATH_MAX + 32], out[PATH_MAX + 32], bin[PATH_MAX],
		report[16384] = "";
	const char *head[8] = {NULL};
	int h = 0;

#ifndef VK_ASAN
	/* the plain build: valgrind sees the leak when the server frees its model */
	if (access("/usr/bin/valgrind", X_OK) < 0)
		cr_skip_test("neither the ASan build nor valgrind: nothing here would see a leak");
	static const char *const vg[] = {"/usr/bin/valgrind", "--quiet", "--leak-check=full",
	                                 "--errors-for-leak-kinds=definite", "--error-exitcode=99"};
	for (size_t i = 0; i < sizeof(vg) / sizeof(vg[0]); i++)
		head[h++] = vg[i];
#endif
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	write_scenario(HOST_WITH_RESOURCES, dir, sizeof(dir), scen, sizeof(scen));
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(out, sizeof(out), "%s/stderr", dir);
	cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
	/* in the foreground: the server frees the model and exits normally, so
	 * LeakSanitizer (at exit) or valgrind sees everything lost */
	char *argv[16];
	int n = 0;
	for (int i = 0; i < h; i++)
		argv[n++] = (char *)head[i];
	char *tail[] = {bin, "mount", "-f", "--live", "--pidfile", pidfile, scen, mnt, NULL};
	for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		argv[n++] = tail[i];
	pid_t pid = live_spawn(argv, out);
	for (double end = now_ms() + 60000; access(pidfile, F_OK) < 0 && now_ms() < end;)
		poll(NULL, 0, 10);
	snprintf(live_mnt, sizeof(live_mnt), "%s", mnt);
	cr_assert(exists("sys/bus/pci/devices/0000:04:00.0/resource"), "mounted");
	live_writable_for_all(mnt, (const char *const[]){REMOVE4, NULL});
	cr_assert_eq(wr(REMOVE4, "1\n"), 0);
	cr_assert_not(exists("sys/bus/pci/devices/0000:04:00.0"));
	char *um[] = {bin, "umount", "--timeout", "60", mnt, NULL};
	cr_assert_eq(live_run_bounded(um, 90000, NULL, 0, NULL), 0);
	live_mnt[0] = '\0';
	int st = live_wait_child(pid, 90000, NULL);
	vk_read_file(out, report, sizeof(report));
	cr_assert_eq(st, 0, "the server ended with %d; what it reported:\n%s", st, report);
	rmdir(mnt);
	vk_rm_rf(dir);
}

Test(fuse_live, the_daemons_leak_check_sees_what_the_live_mode_loses)
{
#ifndef VK_ASAN
	cr_skip_test("the daemon's leak check is in the ASan build only");
#else
	char dir[PATH_MAX], log[PATH_MAX + 16], bin[PATH_MAX], err[4096], report[16384];

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	/* No root on the stacks and registers: the check must then find the
	 * model and the tree freed, not merely still pointed to from fakesys
	 * mount's frames below the daemon, and whatever the live mode lost
	 * unreachable. */
	cr_assert_eq(live_mount_reporting(HOST_WITH_RESOURCES, live, mnt, sizeof(mnt), log,
	                                  "use_stacks=0:use_registers=0"),
	             0);
	live_writable_for_all(mnt, (const char *const[]){REMOVE4, NULL});
	cr_assert_eq(wr(REMOVE4, "1\n"), 0);
	cr_assert_not(exists("sys/bus/pci/devices/0000:04:00.0"));
	char *um[] = {bin, "umount", "--timeout", "30", mnt, NULL};
	cr_assert_eq(live_run_bounded(um, 60000, err, sizeof(err), NULL), 0, "%s", err);
	live_forget(mnt);
	const char *r = live_daemon_report(log, report, sizeof(report));
	vk_rm_rf(dir);
	cr_assert_str_empty(r, "the daemon's report:\n%s", r);
#endif
}
