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
	return write_file(P(mnt, rel), s);
}

static ino_t ino_of(const char *rel)
{
	struct stat st;
	cr_assert_eq(stat(P(mnt, rel), &st), 0, "%s: %s", rel, strerror(errno));
	return st.st_ino;
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
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++)
		cr_assert_eq(exists(rels[i]), present, "%s should %sexist", rels[i], present ? "" : "not ");
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
