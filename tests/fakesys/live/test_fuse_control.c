/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control channel of a live mount, MOUNTPOINT/.fakesys/control, used as
 * any program would: write a command, read the answer; from a shell with echo
 * and cat.  Faults added at run time take effect at once, even on what the
 * kernel had cached.  Run through need-fuse.sh.
 */
#include <dirent.h>
#include <sys/stat.h>

#include <vfiokit/fakesys_serve.h>

#include "live_util.h"

TestSuite(fuse_control, .fini = live_cleanup, .timeout = 120);

static char mnt[512];
static const char *const live[] = {"--live", NULL};

Test(fuse_control, hidden_from_the_root_listing_but_found_by_name)
{
	struct stat st;

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	DIR *d = opendir(mnt);
	cr_assert_not_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		cr_assert_str_neq(e->d_name, ".fakesys");
	closedir(d);
	cr_assert_eq(stat(P(mnt, ".fakesys"), &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(stat(P(mnt, ".fakesys/control"), &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(st.st_uid, geteuid());
	d = opendir(P(mnt, ".fakesys"));
	cr_assert_not_null(d);
	bool found = false;
	while ((e = readdir(d)))
		found |= !strcmp(e->d_name, "control");
	closedir(d);
	cr_assert(found);
	live_umount(mnt);
}

Test(fuse_control, absent_in_the_fast_mode)
{
	struct stat st;

	cr_assert_eq(live_mount(LIVE_HOST, NULL, mnt, sizeof(mnt)), 0);
	errno = 0;
	cr_assert_eq(stat(P(mnt, ".fakesys"), &st), -1);
	cr_assert_eq(errno, ENOENT);
	live_umount(mnt);
}

Test(fuse_control, fault_add_list_clear)
{
	char out[1024];
	const char *f = "sys/bus/pci/devices/0000:01:00.0/vendor";

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(live_ctl(mnt, "fault add sys/bus/pci/devices/*/vendor open EBUSY times=2\n", out, sizeof(out)), 0,
	             "%s", out);
	cr_assert_str_eq(out, "ok\n");
	for (int i = 0; i < 3; i++) {
		int fd = open(P(mnt, f), O_RDONLY | O_CLOEXEC);
		cr_assert_eq(fd < 0 ? errno : 0, i < 2 ? EBUSY : 0, "open #%d", i + 1);
		if (fd >= 0)
			close(fd);
	}
	cr_assert_eq(live_ctl(mnt, "fault list", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "sys/bus/pci/devices/*/vendor open EBUSY nth=0 times=2 delay=0 seen=3\n");
	cr_assert_eq(live_ctl(mnt, "fault add /dev/iommu open EACCES\nfault list\n", out, sizeof(out)), 0);
	cr_assert(strstr(out, "ok\n") && strstr(out, "dev/iommu open EACCES"), "%s", out);
	cr_assert_eq(live_ctl(mnt, "fault clear dev/iommu", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "ok 1 cleared\n");
	cr_assert_eq(live_ctl(mnt, "fault clear", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "ok 1 cleared\n");
	cr_assert_eq(live_ctl(mnt, "fault list", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	live_umount(mnt);
}

Test(fuse_control, bad_commands_fail_the_write_with_a_reason)
{
	char out[1024];

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	static const struct {
		const char *cmd, *needle;
	} cases[] = {
		{"frobnicate\n", "unknown command 'frobnicate'"},
		{"fault add dev/iommu open\n", "expected PATH OP ERRNO"},
		{"fault add dev/iommu fly EIO\n", "unknown operation 'fly'"},
		{"fault add dev/iommu open EWHAT\n", "not an errno name"},
		{"fault add dev/iommu open EIO nth=x\n", "expected a whole number"},
		{"fault add dev/iommu open none\n", "needs an errno or a delay"},
		{"log on\n", "no log"},
		{"bind 0000:99:00.0 vfio-pci\n", "no such device"},
		{"chmod dev/nothing 0600\n", "no such path"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = live_ctl(mnt, cases[i].cmd, out, sizeof(out));
		cr_assert_lt(r, 0, "%s accepted", cases[i].cmd);
		cr_assert(!strncmp(out, "error: ", 7) && strstr(out, cases[i].needle), "%s -> %s", cases[i].cmd, out);
	}
	live_umount(mnt);
}

Test(fuse_control, a_new_fault_sees_through_the_kernel_caches)
{
	char out[256], buf[64];
	struct stat st;
	const char *v = "sys/bus/pci/devices/0000:02:00.0/vendor";

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	/* warm the caches: entries, attributes, pages */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(stat(P(mnt, v), &st), 0);
		cr_assert_gt(vk_read_file(P(mnt, v), buf, sizeof(buf)), 0);
	}
	cr_assert_eq(live_ctl(mnt, "fault add sys/bus/pci/devices/0000:02:00.0/vendor getattr ENXIO", out, sizeof(out)),
	             0, "%s", out);
	errno = 0;
	cr_assert_eq(stat(P(mnt, v), &st), -1, "the cached attributes answered");
	cr_assert_eq(errno, ENXIO);
	cr_assert_eq(live_ctl(mnt, "fault clear", out, sizeof(out)), 0);
	cr_assert_eq(stat(P(mnt, v), &st), 0);

	cr_assert_eq(live_ctl(mnt, "fault add sys/bus/pci/devices/0000:02:00.0/vendor read EIO", out, sizeof(out)), 0);
	cr_assert_eq(vk_read_file(P(mnt, v), buf, sizeof(buf)), -EIO, "the cached pages answered");
	cr_assert_eq(live_ctl(mnt, "fault clear", out, sizeof(out)), 0);
	cr_assert_gt(vk_read_file(P(mnt, v), buf, sizeof(buf)), 0);

	cr_assert_eq(live_ctl(mnt, "fault add sys/kernel/iommu_groups readdir EIO", out, sizeof(out)), 0);
	DIR *d = opendir(P(mnt, "sys/kernel/iommu_groups"));
	cr_assert_not_null(d);
	errno = 0;
	cr_assert_null(readdir(d));
	cr_assert_eq(errno, EIO);
	closedir(d);
	live_umount(mnt);
}

Test(fuse_control, from_a_shell)
{
	char sh_cmd[4096], out[1024], err[1024];

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	snprintf(sh_cmd, sizeof(sh_cmd),
	         "echo 'fault add dev/vfio/devices/vfio1 open EBUSY' > %s/.fakesys/control && cat %s/.fakesys/control && "
	         "! cat %s/dev/vfio/devices/vfio1 2>/dev/null && echo 'fault list' > %s/.fakesys/control && "
	         "cat %s/.fakesys/control",
	         mnt, mnt, mnt, mnt, mnt);
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", sh_cmd, NULL};
	cr_assert_eq(vk_run(argv, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "ok\ndev/vfio/devices/vfio1 open EBUSY nth=0 times=0 delay=0 seen=1\n");
	live_umount(mnt);
}

Test(fuse_control, chmod_and_set)
{
	char out[256], buf[64];
	struct stat st;

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(stat(P(mnt, "dev/vfio/devices/vfio0"), &st), 0);
	cr_assert_eq(live_ctl(mnt, "chmod dev/vfio/devices/vfio0 0666", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(stat(P(mnt, "dev/vfio/devices/vfio0"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0666);
	cr_assert_gt(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:02:00.0/numa_node"), buf, sizeof(buf)), 0);
	cr_assert_eq(live_ctl(mnt, "set sys/bus/pci/devices/0000:02:00.0/numa_node 1", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:02:00.0/numa_node"), buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "1\n");
	/* kept across a later change of the tree */
	cr_assert_eq(live_ctl(mnt, "unbind 0000:01:00.1", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(stat(P(mnt, "dev/vfio/devices/vfio0"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0666);
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:02:00.0/numa_node"), buf, sizeof(buf)), 2);
	live_umount(mnt);
}

/* ---- write PATH VALUE: echo VALUE > PATH through the control channel ---- */

#define PF_DIR "sys/bus/pci/devices/0000:03:00.0"
#define NUMVFS PF_DIR "/sriov_numvfs"

/* The content of @rel must be @want. */
static void file_is(const char *rel, const char *want)
{
	char buf[256];
	cr_assert_eq(vk_read_file(P(mnt, rel), buf, sizeof(buf)), (long)strlen(want), "%s", rel);
	cr_assert_str_eq(buf, want, "%s", rel);
}

Test(fuse_control, write_creates_vfs_through_sriov_numvfs)
{
	char out[1024];
	struct stat st;

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	file_is(NUMVFS, "0\n");
	cr_assert_eq(lstat(P(mnt, "sys/bus/pci/devices/0000:03:02.0"), &st), -1);
	/* a leading '/' is ignored; devices/<BDF> is a symlink, followed */
	cr_assert_eq(live_ctl(mnt, "write /" NUMVFS " 2\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "ok\n");
	file_is(NUMVFS, "2\n");
	/* routing ID of the PF + 16 + k (sriov_offset 16, sriov_stride 1) */
	link_target_has(mnt, PF_DIR "/virtfn0", "0000:03:02.0");
	link_target_has(mnt, PF_DIR "/virtfn1", "0000:03:02.1");
	cr_assert_eq(lstat(P(mnt, PF_DIR "/virtfn2"), &st), -1);
	link_target_has(mnt, "sys/bus/pci/devices/0000:03:02.1/physfn", "0000:03:00.0");
	file_is("sys/bus/pci/devices/0000:03:02.0/device", "0x154c\n");
	cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:03:02.1/iommu_group"), &st), 0);
	/* and back to none, as echo 0 > sriov_numvfs */
	cr_assert_eq(live_ctl(mnt, "write " NUMVFS " 0", out, sizeof(out)), 0, "%s", out);
	file_is(NUMVFS, "0\n");
	cr_assert_eq(lstat(P(mnt, "sys/bus/pci/devices/0000:03:02.0"), &st), -1);
	cr_assert_eq(lstat(P(mnt, PF_DIR "/virtfn0"), &st), -1);
	live_umount(mnt);
}

Test(fuse_control, write_binds_through_driver_override_and_drivers_probe)
{
	char out[1024];
	struct stat st;

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(live_ctl(mnt,
	                      "write " NUMVFS " 1\n"
	                      "write sys/bus/pci/devices/0000:03:02.0/driver_override vfio-pci\n",
	                      out, sizeof(out)),
	             0, "%s", out);
	cr_assert_str_eq(out, "ok\nok\n");
	file_is("sys/bus/pci/devices/0000:03:02.0/driver_override", "vfio-pci\n");
	/* the override alone binds nothing: the kernel waits for a probe */
	cr_assert_eq(lstat(P(mnt, "sys/bus/pci/devices/0000:03:02.0/driver"), &st), -1);
	cr_assert_eq(live_ctl(mnt, "write sys/bus/pci/drivers_probe 0000:03:02.0", out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "ok\n");
	link_target_has(mnt, "sys/bus/pci/devices/0000:03:02.0/driver", "drivers/vfio-pci");
	cr_assert_eq(lstat(P(mnt, "sys/bus/pci/drivers/vfio-pci/0000:03:02.0"), &st), 0);
	/* vfio0 and vfio1 are the GPU's: the lowest free minor */
	cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:03:02.0/vfio-dev/vfio2/dev"), &st), 0);
	cr_assert_eq(open_errno_at(P(mnt, "dev/vfio/devices/vfio2"), O_RDWR), 0);
	live_umount(mnt);
}

#define NO_VALUE "error: write: expected PATH VALUE (written as echo VALUE > PATH would)\n"

Test(fuse_control, write_errors_fail_the_write_with_the_kernels_errno)
{
	char out[1024];
	struct stat st;

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(live_ctl(mnt, "write " NUMVFS " 2", out, sizeof(out)), 0, "%s", out);
	static const struct {
		const char *cmd;
		int err;
		const char *answer;
	} cases[] = {
		{"write sys/bus/pci/devices/0000:02:00.0/vendor 0x1234\n", EINVAL,
	         "error: sys/bus/pci/devices/0000:02:00.0/vendor: not a sysfs control file (bind, unbind, new_id, remove_id, "
	         "driver_override, drivers_probe, remove, sriov_numvfs)\n"},
		{"write dev/vfio/devices/vfio0 1\n", EINVAL,
	         "error: dev/vfio/devices/vfio0: not a sysfs control file (bind, unbind, new_id, remove_id, "
	         "driver_override, drivers_probe, remove, sriov_numvfs)\n"},
		{"write sys/bus/pci/devices/0000:42:00.0/remove 1\n", ENOENT,
	         "error: sys/bus/pci/devices/0000:42:00.0/remove: no such path\n"},
		{"write " NUMVFS " 5\n", ERANGE, "error: sriov_numvfs: 5 is above sriov_totalvfs (4)\n"},
		{"write " NUMVFS " 3\n", EBUSY,
	         "error: sriov_numvfs: 2 VFs already enabled; disable before enabling 3\n"},
		{"write " NUMVFS " many\n", EINVAL, "error: sriov_numvfs: 'many' is not a number\n"},
		{"write sys/bus/pci/drivers_probe 0000:42:00.0\n", ENODEV,
	         "error: drivers_probe: no such device '0000:42:00.0'\n"},
		{"write " NUMVFS "\n", EINVAL, NO_VALUE},
		{"write " NUMVFS "   \n", EINVAL, NO_VALUE},
		{"write\n", EINVAL, NO_VALUE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = live_ctl(mnt, cases[i].cmd, out, sizeof(out));
		cr_assert_eq(r, -cases[i].err, "%s: %s, expected %s", cases[i].cmd, strerror(-r),
		             strerror(cases[i].err));
		cr_assert_str_eq(out, cases[i].answer, "%s", cases[i].cmd);
	}
	/* nothing changed */
	file_is(NUMVFS, "2\n");
	cr_assert_eq(lstat(P(mnt, "sys/bus/pci/devices/0000:03:02.2"), &st), -1);
	file_is("sys/bus/pci/devices/0000:02:00.0/vendor", "0x144d\n");
	live_umount(mnt);
}

Test(fuse_control, write_is_not_an_access_of_the_file)
{
	char out[1024];

	/* a fault on the client's write of sriov_numvfs does not hit the
	 * control channel's write of it (nor would a step: no step in a step) */
	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(live_ctl(mnt, "fault add " NUMVFS " write EIO", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(vk_write_attr(P(mnt, NUMVFS), "1\n"), -EIO);
	file_is(NUMVFS, "0\n");
	cr_assert_eq(live_ctl(mnt, "write " NUMVFS " 1", out, sizeof(out)), 0, "%s", out);
	file_is(NUMVFS, "1\n");
	cr_assert_eq(live_ctl(mnt, "fault list", out, sizeof(out)), 0);
	cr_assert(strstr(out, " seen=1\n"), "%s", out);
	live_umount(mnt);
}

Test(fuse_control, help_lists_write)
{
	char out[1024];

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	cr_assert_eq(live_ctl(mnt, "help", out, sizeof(out)), 0);
	cr_assert(strstr(out, "\nwrite PATH VALUE\n"), "%s", out);
	live_umount(mnt);
}

Test(fuse_control, an_open_the_server_outlives_leaks_nothing)
{
#ifndef VK_ASAN
	cr_skip_test("the daemon's leak check is in the ASan build only");
#else
	char dir[PATH_MAX], log[PATH_MAX + 16], path[PATH_MAX], out[256], report[16384];

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	cr_assert_eq(live_mount_reporting(LIVE_HOST, live, mnt, sizeof(mnt), log, NULL), 0);
	int server = vk_fakesys_mount_pid(mnt);
	cr_assert_gt(server, 0);
	/* the control file open (with an answer) when the server ends: its
	 * release never comes */
	snprintf(path, sizeof(path), "%s/.fakesys/control", mnt);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "help\n", 5), 5);
	cr_assert_gt(pread(fd, out, sizeof(out), 0), 0);
	cr_assert_eq(kill(server, SIGTERM), 0);
	cr_assert(live_wait_gone(server, 20000), "the server ends on SIGTERM");
	close(fd);
	cr_assert(live_wait_unmounted(mnt, 20000), "the mount goes with its server");
	live_forget(mnt);
	const char *r = live_daemon_report(log, report, sizeof(report));
	vk_rm_rf(dir);
	cr_assert_str_empty(r, "the daemon's report:\n%s", r);
#endif
}
