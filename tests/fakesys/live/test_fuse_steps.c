/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scripted steps (a scenario's steps: list): control commands run once when
 * the nth matching access arrives, before that access is answered, so a race
 * (a device unbound between a program's lookup and its open) happens at the
 * same point every run.  Run through need-fuse.sh.
 */
#include <sys/stat.h>

#include <vfiokit/fakesys_live.h>
#include <vfiokit/fakesys_scenario.h>
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "live_util.h"

TestSuite(fuse_steps, .fini = live_cleanup, .timeout = 120);

static char mnt[512];

static void mount_steps(const char *steps)
{
	live_mount_host_with("steps", steps, NULL, mnt, sizeof(mnt));
}

static int open_errno(const char *rel)
{
	return open_errno_at(P(mnt, rel), O_RDONLY);
}

Test(fuse_steps, parsed_into_the_model)
{
	struct vk_fakesys_scenario *m = NULL;
	struct vk_error e = {0};
	const char *y = LIVE_HOST "steps:\n"
				  "  - {path: dev/vfio/devices/vfio0, op: open, do: unbind 0000:01:00.0}\n"
				  "  - path: proc/cmdline\n"
				  "    op: read\n"
				  "    nth: 3\n"
				  "    do: [fault add dev/iommu open EBUSY, set proc/cmdline x]\n";

	cr_assert_eq(vk_fakesys_scenario_load_buffer("t.yaml", y, strlen(y), &m, &e), 0, "%s", e.msg);
	cr_assert_eq(m->n_steps, 2);
	cr_assert_str_eq(m->steps[0].step, "unbind 0000:01:00.0");
	cr_assert_eq(m->steps[0].ops, VK_FAKESYS_OP_OPEN);
	cr_assert_eq(m->steps[1].nth, 3);
	cr_assert_str_eq(m->steps[1].step, "fault add dev/iommu open EBUSY\nset proc/cmdline x");
	vk_fakesys_scenario_free(m);
}

Test(fuse_steps, write_is_a_step_verb)
{
	struct vk_fakesys_scenario *m = NULL;
	struct vk_error e = {0};
	const char *y = LIVE_HOST "steps:\n"
				  "  - {path: proc/cmdline, op: read,\n"
				  "     do: [write sys/bus/pci/devices/0000:03:00.0/sriov_numvfs 2]}\n";
	const char *bad = LIVE_HOST "steps:\n"
				    "  - {path: proc/cmdline, op: read, do: wrote x 1}\n";

	cr_assert_eq(vk_fakesys_scenario_load_buffer("t.yaml", y, strlen(y), &m, &e), 0, "%s", e.msg);
	cr_assert_eq(m->n_steps, 1);
	cr_assert_str_eq(m->steps[0].step, "write sys/bus/pci/devices/0000:03:00.0/sriov_numvfs 2");
	vk_fakesys_scenario_free(m);
	m = NULL;
	cr_assert_lt(vk_fakesys_scenario_load_buffer("t.yaml", bad, strlen(bad), &m, &e), 0);
	cr_assert(strstr(e.msg, "'wrote x 1' is not a control command") && strstr(e.msg, "set or write"), "%s", e.msg);
	vk_fakesys_scenario_free(m);
}

/* A step's commands change the model: a mount given steps without one is
 * refused before anything is mounted, and leaves nothing open. */
Test(fuse_steps, steps_without_a_model_are_refused)
{
	struct vk_fakesys_scenario *s = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};
	char dir[4096];
	const char *y = LIVE_HOST "steps:\n"
				  "  - {path: dev/vfio/devices/vfio0, op: open, do: unbind 0000:01:00.0}\n";

	cr_assert_eq(vk_fakesys_scenario_load_buffer("t.yaml", y, strlen(y), &s, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(s->host, &t, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	int fds = vk_fd_count();
	struct vk_fakesys_mount_opts o = {.steps = s->steps, .n_steps = s->n_steps, .foreground = true};
	cr_assert_eq(vk_fakesys_mount(t, dir, &o, &e), -EINVAL);
	cr_assert(strstr(e.msg, "steps need the host model they change"), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), fds);
	cr_assert_eq(rmdir(dir), 0, "%s is no mount point: %s", dir, strerror(errno));
	vk_vtree_free(t);
	vk_fakesys_scenario_free(s);
}

Test(fuse_steps, unbound_at_the_open_the_open_finds_nothing)
{
	char out[1024];

	mount_steps("  - {path: dev/vfio/devices/vfio0, op: open, do: unbind 0000:01:00.0}\n");
	cr_assert_eq(open_errno("dev/vfio/devices/vfio1"), 0);
	cr_assert_eq(open_errno("dev/vfio/devices/vfio0"), ENOENT, "the step ran before the open was answered");
	cr_assert_eq(open_errno("dev/vfio/devices/vfio0"), ENOENT);
	cr_assert_eq(access(P(mnt, "sys/bus/pci/devices/0000:01:00.0/driver"), F_OK), -1);
	/* what ran is the control channel's last answer */
	int fd = open(P(mnt, ".fakesys/control"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	ssize_t n = read(fd, out, sizeof(out) - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	cr_assert_str_eq(out, "step: unbind 0000:01:00.0\nok\n");
	live_umount(mnt);
}

Test(fuse_steps, at_a_lookup_in_the_directory_that_changes)
{
	struct stat st;

	/* the step invalidates entries of the directory whose lookup triggers
	 * it: no deadlock, and the lookup answers from the new tree */
	mount_steps("  - {path: sys/bus/pci/devices/0000:01:00.0/vfio-dev, op: lookup, do: unbind 0000:01:00.0}\n");
	errno = 0;
	cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:01:00.0/vfio-dev"), &st), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:01:00.1/vfio-dev"), &st), 0);
	cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:01:00.0/vendor"), &st), 0);
	live_umount(mnt);
}

Test(fuse_steps, nth_and_once)
{
	char out[1024];

	mount_steps("  - path: sys/bus/pci/devices/0000:02:00.0/vendor\n"
	            "    op: open\n"
	            "    nth: 2\n"
	            "    do: [fault add dev/vfio/devices/vfio1 open EBUSY times=1]\n");
	const char *v = "sys/bus/pci/devices/0000:02:00.0/vendor";
	cr_assert_eq(open_errno(v), 0);
	cr_assert_eq(open_errno("dev/vfio/devices/vfio1"), 0);
	cr_assert_eq(open_errno(v), 0); /* the 2nd: the step adds the fault */
	cr_assert_eq(open_errno("dev/vfio/devices/vfio1"), EBUSY);
	cr_assert_eq(open_errno("dev/vfio/devices/vfio1"), 0);
	cr_assert_eq(open_errno(v), 0); /* the 3rd: nothing again */
	cr_assert_eq(open_errno("dev/vfio/devices/vfio1"), 0);
	cr_assert_eq(live_ctl(mnt, "fault list", out, sizeof(out)), 0);
	cr_assert(strstr(out, "step sys/bus/pci/devices/0000:02:00.0/vendor open nth=2 seen=3: fault add"), "%s", out);
	cr_assert_eq(live_ctl(mnt, "fault clear", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "ok 1 cleared\n", "clear leaves the steps");
	live_umount(mnt);
}

/* The control channel's last answer, from a fresh open. */
static void last_answer(char *out, size_t len)
{
	int fd = open(P(mnt, ".fakesys/control"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	ssize_t n = read(fd, out, len - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
}

#define VF0 "sys/bus/pci/devices/0000:03:02.0"

Test(fuse_steps, write_creates_and_binds_vfs_the_triggering_lookup_finds)
{
	char out[2048], buf[64];
	struct stat st;

	/* the VF is looked up before it exists; the step creates it (echo 2 >
	 * sriov_numvfs) and binds it to vfio-pci the way driverctl does, and the
	 * lookup that triggered it is answered from the new tree */
	mount_steps("  - path: " VF0 "\n"
	            "    op: lookup\n"
	            "    do: [write sys/bus/pci/devices/0000:03:00.0/sriov_numvfs 2,\n"
	            "         write " VF0 "/driver_override vfio-pci,\n"
	            "         write sys/bus/pci/drivers_probe 0000:03:02.0]\n");
	cr_assert_eq(stat(P(mnt, VF0 "/driver"), &st), 0, "the lookup did not see the new VF: %s", strerror(errno));
	ssize_t n = readlink(P(mnt, VF0 "/driver"), buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "../../../bus/pci/drivers/vfio-pci");
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs"), buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "2\n");
	cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:03:02.1"), &st), 0);
	cr_assert_eq(lstat(P(mnt, "sys/bus/pci/devices/0000:03:02.1/driver"), &st), -1, "VF 1 has no driver");
	cr_assert_eq(open_errno_at(P(mnt, "dev/vfio/devices/vfio2"), O_RDWR), 0);
	last_answer(out, sizeof(out));
	cr_assert_str_eq(out, "step: write sys/bus/pci/devices/0000:03:00.0/sriov_numvfs 2\nok\n"
	                      "step: write " VF0 "/driver_override vfio-pci\nok\n"
	                      "step: write sys/bus/pci/drivers_probe 0000:03:02.0\nok\n");
	live_umount(mnt);
}

Test(fuse_steps, a_failing_write_does_not_stop_the_step_or_fail_the_access)
{
	char out[2048], buf[64];

	mount_steps("  - path: proc/cmdline\n"
	            "    op: open\n"
	            "    do: [write sys/bus/pci/devices/0000:03:00.0/sriov_numvfs 9,\n"
	            "         write sys/bus/pci/devices/0000:03:00.0/sriov_numvfs 1]\n");
	cr_assert_eq(open_errno("proc/cmdline"), 0);
	last_answer(out, sizeof(out));
	cr_assert_str_eq(out, "step: write sys/bus/pci/devices/0000:03:00.0/sriov_numvfs 9\n"
	                      "error: sriov_numvfs: 9 is above sriov_totalvfs (4)\n"
	                      "step: write sys/bus/pci/devices/0000:03:00.0/sriov_numvfs 1\nok\n");
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs"), buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "1\n");
	live_umount(mnt);
}
