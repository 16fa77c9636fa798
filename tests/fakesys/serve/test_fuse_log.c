/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The access log of a live mount (`fakesys mount --log FILE`): one JSON object
 * per line and operation, with the pid, the path served, the open flags and
 * the errno; `log off`/`log on` through the control channel.  Run through
 * need-fuse.sh.
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

TestSuite(fuse_log, .fini = cleanup, .timeout = 120);

static void mount_logged(const char *faults, bool lookups)
{
	cr_assert_eq(vk_mkdtemp(logdir, sizeof(logdir)), 0);
	snprintf(logfile, sizeof(logfile), "%s/log.jsonl", logdir);
	const char *extra[] = {"--log", logfile, lookups ? "--log-lookups" : NULL, NULL};
	live_mount_host_with("faults", faults, extra, mnt, sizeof(mnt));
}

/* The log lines with @op and @path (NULL: any), as JSON objects; returns how many. */
static size_t find(const char *op, const char *path, json_t **out, size_t max)
{
	FILE *f = fopen(logfile, "re");
	char line[8192];
	size_t n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		cr_assert_not_null(o, "not JSON: %s", line);
		const char *lop = json_string_value(json_object_get(o, "op"));
		const char *lpath = json_string_value(json_object_get(o, "path"));
		if ((!op || !strcmp(op, lop)) && (!path || !strcmp(path, lpath)) && n < max)
			out[n++] = json_incref(o);
		else if (!op || !strcmp(op, lop) ? !path || !strcmp(path, lpath) : false)
			n++;
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

Test(fuse_log, each_operation_is_a_line)
{
	char buf[256];
	json_t *v[8];

	mount_logged("  - {path: sys/bus/pci/devices/0000:02:00.0/vendor, op: open, errno: EACCES}\n", false);
	int fd = open(P(mnt, "dev/vfio/devices/vfio0"), O_RDWR | O_CLOEXEC | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(open(P(mnt, "sys/bus/pci/devices/0000:02:00.0/vendor"), O_RDONLY | O_CLOEXEC), -1);
	cr_assert_gt(readlink(P(mnt, "sys/bus/pci/devices/0000:01:00.0/driver"), buf, sizeof(buf)), 0);
	cr_assert_gt(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:01:00.0/class"), buf, sizeof(buf)), 0);

	size_t n = find("open", "dev/vfio/devices/vfio0", v, 8);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(json_string_value(json_object_get(v[0], "flags")), "O_RDWR|O_NONBLOCK");
	cr_assert(json_is_null(json_object_get(v[0], "errno")));
	cr_assert_eq(json_integer_value(json_object_get(v[0], "pid")), getpid());
	cr_assert_eq(json_integer_value(json_object_get(v[0], "uid")), getuid());
	cr_assert(json_real_value(json_object_get(v[0], "time")) > 1e9);
	release(v, n);

	/* the path is the one served: the file under sys/devices */
	n = find("open", "sys/devices/pci0000:02/0000:02:00.0/vendor", v, 8);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(json_string_value(json_object_get(v[0], "errno")), "EACCES");
	release(v, n);

	n = find("readlink", "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/driver", v, 8);
	cr_assert_eq(n, 1);
	release(v, n);
	n = find("read", "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/class", v, 8);
	cr_assert_geq(n, 1);
	cr_assert_eq(json_integer_value(json_object_get(v[0], "offset")), 0);
	release(v, n);
	/* without --log-lookups the lookups the kernel answers from its cache are not there */
	live_umount(mnt);
}

Test(fuse_log, log_lookups_sees_every_path_walk)
{
	struct stat st;
	json_t *v[8];

	mount_logged(NULL, true);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:01:00.0/vendor"), &st), 0);
	size_t n = find("lookup", "sys/bus/pci/devices/0000:01:00.0", v, 8);
	release(v, n < 8 ? n : 8);
	cr_assert_geq(n, 3, "every stat walks through the link again: %zu lookups", n);
	live_umount(mnt);
}

Test(fuse_log, off_and_on_through_the_control_channel)
{
	char out[256];
	json_t *v[8];

	mount_logged(NULL, false);
	cr_assert_eq(live_ctl(mnt, "log off\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_gt(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:01:00.1/device"), out, sizeof(out)), 0);
	size_t n = find("open", "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1/device", v, 8);
	cr_assert_eq(n, 0);
	cr_assert_eq(live_ctl(mnt, "log on\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_gt(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:01:00.1/device"), out, sizeof(out)), 0);
	n = find("open", "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1/device", v, 8);
	cr_assert_eq(n, 1);
	release(v, n);
	live_umount(mnt);
}
