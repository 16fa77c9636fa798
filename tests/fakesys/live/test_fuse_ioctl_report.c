/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control channel's "ioctl PATH PID UID NAME" (fakesys/src/live/control.c):
 * how the VFIO emulation of `fakesys run` reports each ioctl it answers, so
 * that the live mount logs it and counts it against faults and steps of op
 * "ioctl".  Spoken here directly, as the supervisor (run/seccomp_notify.c)
 * does; tests/emul/test_ns_emul_qemu has the same through a real QEMU.
 * Run through need-fuse.sh.
 */
#include <jansson.h>
#include <sys/stat.h>

#include "live_util.h"

static char mnt[512], logdir[512], logfile[PATH_MAX];

static void cleanup(void)
{
	live_cleanup();
	if (logdir[0])
		vk_rm_rf(logdir);
	logdir[0] = '\0';
}

TestSuite(fuse_ioctl_report, .fini = cleanup, .timeout = 120);

/* LIVE_HOST with @section (faults or steps: @items), logged to logfile. */
static void mount_logged(const char *section, const char *items)
{
	cr_assert_eq(vk_mkdtemp(logdir, sizeof(logdir)), 0);
	snprintf(logfile, sizeof(logfile), "%s/log.jsonl", logdir);
	const char *extra[] = {"--log", logfile, NULL};
	live_mount_host_with(section, items, extra, mnt, sizeof(mnt));
}

/* The log's "ioctl" lines, in order (at most @max); returns how many. */
static size_t ioctl_lines(json_t **out, size_t max)
{
	FILE *f = fopen(logfile, "re");
	char line[8192];
	size_t n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		cr_assert_not_null(o, "not JSON: %s", line);
		if (!strcmp(json_string_value(json_object_get(o, "op")), "ioctl") && n < max)
			out[n++] = o;
		else
			json_decref(o);
	}
	fclose(f);
	return n;
}

static void release(json_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
}

Test(fuse_ioctl_report, is_answered_ok_and_logged)
{
	char out[512];
	json_t *v[4];

	mount_logged("faults", NULL);
	cr_assert_eq(live_ctl(mnt, "ioctl dev/vfio/1 4242 1000 VFIO_GROUP_GET_STATUS\n", out, sizeof(out)), 0, "%s",
	             out);
	cr_assert_str_eq(out, "ok\n");
	/* a leading '/' is the same node, as for faults */
	cr_assert_eq(live_ctl(mnt, "ioctl /dev/vfio/vfio 7 0 0x00003b64\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "ok\n");
	cr_assert_eq(ioctl_lines(v, 4), 2);
	cr_assert_str_eq(json_string_value(json_object_get(v[0], "path")), "dev/vfio/1");
	cr_assert_str_eq(json_string_value(json_object_get(v[0], "ioctl")), "VFIO_GROUP_GET_STATUS");
	cr_assert_eq(json_integer_value(json_object_get(v[0], "pid")), 4242);
	cr_assert_eq(json_integer_value(json_object_get(v[0], "uid")), 1000);
	cr_assert(json_is_null(json_object_get(v[0], "errno")));
	cr_assert(json_is_integer(json_object_get(v[0], "seq")));
	cr_assert_str_eq(json_string_value(json_object_get(v[1], "path")), "dev/vfio/vfio");
	cr_assert_str_eq(json_string_value(json_object_get(v[1], "ioctl")), "0x00003b64");
	release(v, 2);
}

Test(fuse_ioctl_report, a_fault_answers_its_errno_at_its_nth)
{
	char out[512];
	json_t *v[4];

	mount_logged("faults", "  - {path: dev/vfio/*, op: ioctl, errno: EACCES, nth: 2}\n");
	const char *cmd = "ioctl dev/vfio/1 10 0 VFIO_GROUP_GET_STATUS\n";
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "ok\n");
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "fault 13 EACCES\n");
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "ok\n");
	/* another op's fault on the same node is not an ioctl's */
	cr_assert_eq(live_ctl(mnt, "fault add dev/vfio/1 read EIO\n", out, sizeof(out)), 0);
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "ok\n");
	cr_assert_eq(live_ctl(mnt, "fault list\n", out, sizeof(out)), 0);
	cr_assert(strstr(out, "dev/vfio/* ioctl EACCES nth=2 times=0 delay=0 seen=4"), "%s", out);
	cr_assert_eq(ioctl_lines(v, 4), 4);
	cr_assert(json_is_null(json_object_get(v[0], "errno")));
	cr_assert_str_eq(json_string_value(json_object_get(v[1], "errno")), "EACCES");
	cr_assert(json_is_null(json_object_get(v[2], "errno")));
	release(v, 4);
}

Test(fuse_ioctl_report, a_pattern_names_the_node_through_symlinks)
{
	char out[512];

	/* a device FD is reported by its device's path, a symlink to sys/devices/... */
	mount_logged("faults", "  - {path: sys/devices/*/*/0000:01:00.0, op: ioctl, errno: EIO}\n");
	cr_assert_eq(live_ctl(mnt, "ioctl sys/bus/pci/devices/0000:01:00.0 10 0 VFIO_DEVICE_GET_INFO\n", out,
	                      sizeof(out)),
	             0);
	cr_assert_str_eq(out, "fault 5 EIO\n");
	cr_assert_eq(live_ctl(mnt, "ioctl sys/bus/pci/devices/0000:01:00.1 10 0 VFIO_DEVICE_GET_INFO\n", out,
	                      sizeof(out)),
	             0);
	cr_assert_str_eq(out, "ok\n");
}

Test(fuse_ioctl_report, an_errno_no_fuse_reply_could_carry)
{
	char out[512];

	/* 524 (the kernel's ENOTSUPP) is past what a FUSE reply's error may be
	 * (fs/fuse/dev.c): the answer is text, the write succeeds */
	mount_logged("faults", "  - {path: dev/iommu, op: ioctl, errno: 524}\n");
	cr_assert_eq(live_ctl(mnt, "ioctl dev/iommu 10 0 IOMMU_IOAS_ALLOC\n", out, sizeof(out)), 0);
	cr_assert(!strncmp(out, "fault 524 ", 10), "%s", out);
}

Test(fuse_ioctl_report, a_step_runs_before_the_answer)
{
	char out[512], link[PATH_MAX];

	mount_logged("steps", "  - {path: dev/vfio/1, op: ioctl, nth: 2, do: unbind 0000:01:00.1}\n");
	const char *cmd = "ioctl dev/vfio/1 10 0 VFIO_GROUP_GET_STATUS\n";
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), 0);
	cr_assert_geq(readlink(P(mnt, "sys/bus/pci/devices/0000:01:00.1/driver"), link, sizeof(link)), 0);
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "ok\n");
	cr_assert_lt(readlink(P(mnt, "sys/bus/pci/devices/0000:01:00.1/driver"), link, sizeof(link)), 0);
	cr_assert_eq(errno, ENOENT);
}

Test(fuse_ioctl_report, a_delay_is_served_before_the_answer)
{
	char out[512];

	mount_logged("faults", "  - {path: dev/vfio/vfio, op: ioctl, delay_ms: 300}\n");
	double t0 = now_ms();
	cr_assert_eq(live_ctl(mnt, "ioctl dev/vfio/vfio 10 0 VFIO_GET_API_VERSION\n", out, sizeof(out)), 0);
	double took = now_ms() - t0;
	cr_assert_str_eq(out, "ok\n");
	cr_assert_geq(took, 300.0, "answered after %.0f ms", took);
}

Test(fuse_ioctl_report, does_not_replace_the_last_answer)
{
	char out[4096], path[PATH_MAX];

	mount_logged("faults", NULL);
	cr_assert_eq(live_ctl(mnt, "fault list\n", out, sizeof(out)), 0);
	cr_assert_eq(live_ctl(mnt, "help\n", out, sizeof(out)), 0);
	cr_assert(strstr(out, "ioctl PATH PID UID NAME\n"), "%s", out);
	cr_assert_eq(live_ctl(mnt, "ioctl dev/vfio/1 10 0 VFIO_GROUP_GET_STATUS\n", out, sizeof(out)), 0);
	/* a reader with no command of its own still gets help's answer */
	snprintf(path, sizeof(path), "%s/.fakesys/control", mnt);
	cr_assert_gt(vk_read_file(path, out, sizeof(out)), 0);
	cr_assert(strstr(out, "ioctl PATH PID UID NAME\n"), "%s", out);
}

Test(fuse_ioctl_report, malformed_commands_fail_with_einval)
{
	static const char *const bad[] = {
		"ioctl dev/vfio/1 10 0\n",                            /* no NAME */
		"ioctl dev/vfio/1 10 0 VFIO_GET_API_VERSION extra\n", /* a stray word */
		"ioctl dev/vfio/1 x 0 VFIO_GET_API_VERSION\n",        /* PID not a number */
		"ioctl dev/vfio/1 10 -1 VFIO_GET_API_VERSION\n",      /* UID negative */
		"ioctl dev/vfio/1 -10 0 VFIO_GET_API_VERSION\n",      /* PID negative */
		"ioctl dev/vfio/1 10 4294967296 VFIO_GET_API_VERSION\n",
	};
	char out[512];
	json_t *v[1];

	mount_logged("faults", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(live_ctl(mnt, bad[i], out, sizeof(out)), -EINVAL, "%s", bad[i]);
		cr_assert(!strncmp(out, "error: ", 7), "%s -> %s", bad[i], out);
	}
	cr_assert_eq(ioctl_lines(v, 1), 0, "a refused report is not logged");
}

Test(fuse_ioctl_report, the_op_name_is_known_to_fault_add)
{
	char out[512];

	mount_logged("faults", NULL);
	cr_assert_eq(live_ctl(mnt, "fault add dev/iommu ioctl EBUSY times=1\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(live_ctl(mnt, "fault add dev/iommu ioctls EBUSY\n", out, sizeof(out)), -EINVAL);
	cr_assert(strstr(out, "write, ioctl, any"), "%s", out);
}
