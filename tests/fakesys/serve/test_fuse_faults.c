/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Faults declared in a scenario's faults: list, as real programs see them on
 * a live FUSE mount: each operation fails with its errno, nth/times pick the
 * accesses, a delay makes the answer late.  Run through need-fuse.sh.
 */
#include <dirent.h>
#include <sys/stat.h>

#include <vfiokit/fakesys_scenario.h>
#include <vfiokit/host_model.h>
#include <vfiokit/fakesys_live.h>

#include "live_util.h"

TestSuite(fuse_faults, .fini = live_cleanup, .timeout = 120);

static char mnt[512];

static void mount_faults(const char *faults)
{
	live_mount_host_with("faults", faults, NULL, mnt, sizeof(mnt));
}

static int open_errno(const char *rel, int flags)
{
	return open_errno_at(P(mnt, rel), flags);
}

Test(fuse_faults, scenario_faults_are_parsed)
{
	struct vk_fakesys_scenario *m = NULL;
	struct vk_error e = {0};
	const char *y = LIVE_HOST "faults:\n"
				  "  - {path: /dev/vfio/devices/vfio*, op: open, errno: EBUSY, nth: 2, times: 3}\n"
				  "  - {path: sys/bus/pci/devices/*/config, op: read, delay_ms: 50}\n";

	cr_assert_eq(vk_fakesys_scenario_load_buffer("t.yaml", y, strlen(y), &m, &e), 0, "%s", e.msg);
	cr_assert_eq(m->n_faults, 2);
	cr_assert_str_eq(m->faults[0].path, "dev/vfio/devices/vfio*", "the leading / is dropped");
	cr_assert_eq(m->faults[0].ops, VK_FAKESYS_OP_OPEN);
	cr_assert_eq(m->faults[0].err, EBUSY);
	cr_assert_eq(m->faults[0].nth, 2);
	cr_assert_eq(m->faults[0].times, 3);
	cr_assert_eq(m->faults[0].line, 14);
	cr_assert_eq(m->faults[1].err, 0);
	cr_assert_eq(m->faults[1].delay_ms, 50);
	vk_fakesys_scenario_free(m);
}

Test(fuse_faults, each_operation_fails_with_its_errno)
{
	mount_faults("  - {path: dev/vfio/devices/vfio0, op: open, errno: EACCES}\n"
	             "  - {path: sys/bus/pci/devices/*/config, op: read, errno: EIO}\n"
	             "  - {path: sys/kernel/iommu_groups, op: readdir, errno: ENXIO}\n"
	             "  - {path: sys/bus/pci/devices/0000:02:00.0, op: readlink, errno: EPERM}\n"
	             "  - {path: sys/bus/pci/devices/0000:01:00.1/vendor, op: getattr, errno: ENODEV}\n"
	             "  - {path: sys/bus/pci/devices/0000:01:00.0/driver_override, op: write, errno: EAGAIN}\n");
	char buf[256];

	/* open: the stand-in, read-write as the resolver opens it; others open */
	cr_assert_eq(open_errno("dev/vfio/devices/vfio0", O_RDWR), EACCES);
	cr_assert_eq(open_errno("dev/vfio/devices/vfio0", O_RDONLY), EACCES);
	cr_assert_eq(open_errno("dev/vfio/devices/vfio1", O_RDWR), 0);

	/* read: open works, every read fails (not answered from the page cache) */
	for (int i = 0; i < 2; i++) {
		int fd = open(P(mnt, "sys/bus/pci/devices/0000:01:00.0/config"), O_RDONLY | O_CLOEXEC);
		cr_assert_geq(fd, 0, "%s", strerror(errno));
		errno = 0;
		cr_assert_eq(read(fd, buf, sizeof(buf)), -1);
		cr_assert_eq(errno, EIO);
		close(fd);
	}
	cr_assert_gt(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:01:00.0/vendor"), buf, sizeof(buf)), 0);

	/* readdir: opendir works, the listing fails */
	DIR *d = opendir(P(mnt, "sys/kernel/iommu_groups"));
	cr_assert_not_null(d, "%s", strerror(errno));
	errno = 0;
	cr_assert_null(readdir(d));
	cr_assert_eq(errno, ENXIO);
	closedir(d);

	/* readlink */
	errno = 0;
	cr_assert_eq(readlink(P(mnt, "sys/bus/pci/devices/0000:02:00.0"), buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_gt(readlink(P(mnt, "sys/bus/pci/devices/0000:01:00.0"), buf, sizeof(buf)), 0);

	/* getattr/lookup: stat fails, every time (no kernel cache), and so does open */
	struct stat st;
	for (int i = 0; i < 3; i++) {
		errno = 0;
		cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:01:00.1/vendor"), &st), -1);
		cr_assert_eq(errno, ENODEV);
	}
	cr_assert_eq(open_errno("sys/bus/pci/devices/0000:01:00.1/vendor", O_RDONLY), ENODEV);
	cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:01:00.1/device"), &st), 0);

	/* write */
	int w = vk_write_attr(P(mnt, "sys/bus/pci/devices/0000:01:00.0/driver_override"), "vfio-pci\n");
	cr_assert_eq(w, -EAGAIN, "write: %s", strerror(-w));
	live_umount(mnt);
}

Test(fuse_faults, nth_and_times)
{
	mount_faults("  - {path: sys/bus/pci/devices/0000:01:00.0/vendor, op: open, errno: EIO, nth: 2}\n"
	             "  - {path: sys/bus/pci/devices/0000:01:00.0/device, op: open, errno: EIO, times: 2}\n"
	             "  - {path: sys/bus/pci/devices/0000:01:00.0/class, op: open, errno: EBUSY, nth: 2, times: 2}\n"
	             "  - {path: sys/bus/pci/devices/0000:01:00.1/class, op: open, errno: EBUSY}\n");
	static const struct {
		const char *rel;
		int want[5];
	} cases[] = {
		{"sys/bus/pci/devices/0000:01:00.0/vendor", {0, EIO, 0, 0, 0}},                  /* only the 2nd */
		{"sys/bus/pci/devices/0000:01:00.0/device", {EIO, EIO, 0, 0, 0}},                /* the first 2 */
		{"sys/bus/pci/devices/0000:01:00.0/class", {0, EBUSY, EBUSY, 0, 0}},             /* 2nd and 3rd */
		{"sys/bus/pci/devices/0000:01:00.1/class", {EBUSY, EBUSY, EBUSY, EBUSY, EBUSY}}, /* always */
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (int i = 0; i < 5; i++)
			cr_assert_eq(open_errno(cases[c].rel, O_RDONLY), cases[c].want[i], "%s, open #%d", cases[c].rel,
			             i + 1);
	live_umount(mnt);
}

Test(fuse_faults, delay_makes_the_answer_late)
{
	mount_faults("  - {path: dev/vfio/devices/vfio1, op: open, delay_ms: 300}\n"
	             "  - {path: dev/vfio/devices/vfio0, op: open, delay_ms: 200, errno: ENODEV, times: 1}\n");
	double t0 = now_ms();
	cr_assert_eq(open_errno("dev/vfio/devices/vfio1", O_RDWR), 0);
	double t1 = now_ms();
	cr_assert_geq(t1 - t0, 300.0, "delayed open took %.1f ms", t1 - t0);
	cr_assert_eq(open_errno("dev/vfio/devices/vfio0", O_RDWR), ENODEV);
	cr_assert_geq(now_ms() - t1, 200.0);
	cr_assert_eq(open_errno("dev/vfio/devices/vfio0", O_RDWR), 0);
	live_umount(mnt);
}

Test(fuse_faults, globs_match_root_relative_paths_per_component)
{
	mount_faults("  - {path: sys/bus/pci/devices/*/config, op: open, errno: EACCES}\n");
	cr_assert_eq(open_errno("sys/bus/pci/devices/0000:01:00.0/config", O_RDONLY), EACCES);
	cr_assert_eq(open_errno("sys/bus/pci/devices/0000:02:00.0/config", O_RDONLY), EACCES);
	/* the pattern names the file behind the directory link: the same file by
	 * its own path fails too */
	cr_assert_eq(open_errno("sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config", O_RDONLY), EACCES);
	/* '*' does not cross '/' */
	cr_assert_eq(open_errno("sys/bus/pci/devices/0000:01:00.0/vendor", O_RDONLY), 0);
	live_umount(mnt);
}
