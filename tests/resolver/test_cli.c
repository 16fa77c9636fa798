/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-resolve end to end: usage, facts, --open, --argv, --exec with exactly
 * the opened FDs inherited, and true answers on this machine's real root. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "tree.h"

static char dir[256], bin[4096], fdlist[4096];
static char out[65536], err[65536];

static void setup(void)
{
	cr_assert_eq(tree_new(dir, sizeof(dir), true), 0);
	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	struct tree_dev d2 = {.bdf = "0000:06:00.1", .driver = "vfio-pci", .group = 12, .cdev = "vfio1", .maj = 511, .min = 1};
	cr_assert_eq(tree_add(dir, &d2), 0);
	struct tree_dev other = {.bdf = "0000:07:00.0", .driver = "nouveau", .group = 3};
	cr_assert_eq(tree_add(dir, &other), 0);
	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	vk_bin("tests/resolver/fdlist", fdlist, sizeof(fdlist));
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

TestSuite(cli, .init = setup, .fini = teardown);

#define RUN(...) \
	({ \
		char *argv_[] = {bin, __VA_ARGS__, NULL}; \
		vk_run(argv_, out, sizeof(out), err, sizeof(err)); \
	})

Test(cli, usage_help_version)
{
	cr_assert_eq(RUN("--help"), 0);
	cr_assert(strstr(out, "Usage: vfio-resolve"));
	cr_assert_eq(RUN("--version"), 0);
	cr_assert(strstr(out, "vfio-resolve (vfiokit) "));
	cr_assert_eq(RUN("--bogus", "0000:06:00.0"), 2);
	cr_assert(strstr(err, "--bogus"), "%s", err);
	cr_assert_eq(RUN("--root", dir), 2);
	cr_assert(strstr(err, "no PCI address"), "%s", err);
	cr_assert_eq(RUN("0000:06:00"), 2);
	cr_assert_eq(RUN("10000:e0:06.0/.."), 2);
	cr_assert_eq(RUN("--syntax=xml", "06:00.0"), 2);
	cr_assert_eq(RUN("--open", "--argv", "06:00.0"), 2);
	cr_assert_eq(RUN("06:00.0", "--exec"), 2);
}

Test(cli, facts_text_and_json)
{
	cr_assert_eq(RUN("--root", dir, "0000:06:00.0"), 0, "%s", err);
	cr_assert(strstr(out, "vfio_cdev        vfio0 (511:0)"), "%s", out);
	cr_assert(strstr(out, "node             /dev/vfio/devices/vfio0"), "%s", out);
	cr_assert(strstr(out, "stand-in-file owner"), "%s", out);

	cr_assert_eq(RUN("--root", dir, "--json", "0000:06:00.0", "0000:07:00.0", "0000:0f:00.0"), 1, "%s", err);
	json_t *j = json_loads(out, 0, NULL), *devs = json_object_get(j, "devices");
	cr_assert_not_null(j, "%s", out);
	/* the envelope (docs/schemas/README.md), then the facts */
	cr_assert_str_eq(json_string_value(json_object_get(j, "tool")), "vfio-resolve");
	cr_assert_eq(json_object_get(j, "ok"), json_false());
	cr_assert_eq(json_integer_value(json_object_get(j, "exit")), 1);
	cr_assert(json_is_null(json_object_get(j, "error")), "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(j, "mode")), "facts");
	cr_assert_eq(json_array_size(devs), 3);
	json_t *a = json_array_get(devs, 0), *b = json_array_get(devs, 1), *c = json_array_get(devs, 2);
	cr_assert_str_eq(json_string_value(json_object_get(a, "vfio_cdev")), "vfio0");
	cr_assert_str_eq(json_string_value(json_object_get(a, "cdev_dev")), "511:0");
	cr_assert_str_eq(json_string_value(json_object_get(a, "vendor")), "0x10de");
	cr_assert_eq(json_integer_value(json_object_get(a, "iommu_group")), 12);
	cr_assert_str_eq(json_string_value(json_object_get(a, "state")), "ok");
	cr_assert_str_eq(json_string_value(json_object_get(b, "driver")), "nouveau");
	cr_assert(strstr(json_string_value(json_object_get(b, "problem")), "driverctl"));
	cr_assert_eq(json_object_get(c, "present"), json_false());
	json_decref(j);
}

Test(cli, open_and_argv)
{
	cr_assert_eq(RUN("--root", dir, "--open", "0000:06:00.0", "06:00.1"), 0, "%s", err);
	cr_assert(strstr(out, "0000:06:00.0 fd="), "%s", out);
	cr_assert(strstr(out, "iommufd fd="), "%s", out);
	cr_assert_eq(RUN("--root", dir, "--open", "0000:06:00.0", "07:00.0"), 1);
	cr_assert(strstr(err, "0000:07:00.0: bound to driver 'nouveau'"), "%s", err);
	cr_assert_str_eq(out, "");

	cr_assert_eq(RUN("--root", dir, "--argv", "--syntax=json", "0000:06:00.0"), 0, "%s", err);
	cr_assert(strstr(out, "-object\n{\"qom-type\":\"iommufd\",\"id\":\"iommufd0\",\"fd\":\""), "%s", out);
	cr_assert(strstr(out, "{\"driver\":\"vfio-pci\",\"host\":\"0000:06:00.0\",\"id\":\"hostdev0\""), "%s", out);
	cr_assert_eq(RUN("--root", dir, "--argv", "--legacy", "0000:06:00.0"), 0, "%s", err);
	cr_assert_str_eq(out, "-device\nvfio-pci,host=0000:06:00.0,id=hostdev0\n");
	cr_assert_eq(RUN("--root", dir, "--no-openat2", "--argv", "--no-host", "0000:06:00.0"), 0, "%s", err);
	cr_assert(strstr(out, "vfio-pci,id=hostdev0,iommufd=iommufd0,fd="), "%s", out);
}

/* --exec: fdlist sees 0,1,2 and exactly the opened nodes, read-write, inheritable. */
static void exec_case(char *syntax)
{
	/* an extra inheritable FD in the test process must not reach PROGRAM */
	int leak = dup(2);
	cr_assert_geq(leak, 0);
	int rc = RUN("--root", dir, syntax, "0000:06:00.0", "0000:06:00.1", "--exec", fdlist, "--marker");
	close(leak);
	cr_assert_eq(rc, 0, "%s", err);

	char want_iommu[512], want0[512], want1[512];
	snprintf(want_iommu, sizeof(want_iommu), "%s/dev/iommu", dir);
	snprintf(want0, sizeof(want0), "%s/dev/vfio/devices/vfio0", dir);
	snprintf(want1, sizeof(want1), "%s/dev/vfio/devices/vfio1", dir);
	int nfd = 0, fd_iommu = -1, fd0 = -1, fd1 = -1;
	char *save, *line;
	char args[8192] = "";
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int fd, rdwr, cloexec;
		char target[1024];
		if (strncmp(line, "arg=", 4) == 0) {
			strcat(args, line + 4);
			strcat(args, "\n");
			continue;
		}
		cr_assert_eq(sscanf(line, "fd=%d target=%1023s rdwr=%d cloexec=%d", &fd, target, &rdwr, &cloexec), 4,
		             "%s", line);
		nfd++;
		cr_assert_eq(cloexec, 0, "%s", line);
		if (fd <= 2)
			continue;
		cr_assert_eq(rdwr, 1, "%s", line);
		if (strcmp(target, want_iommu) == 0)
			fd_iommu = fd;
		else if (strcmp(target, want0) == 0)
			fd0 = fd;
		else if (strcmp(target, want1) == 0)
			fd1 = fd;
		else
			cr_assert_fail("unexpected inherited FD: %s", line);
	}
	cr_assert_eq(nfd, 6, "want 0,1,2 + 3 nodes:\n%s", out);
	cr_assert(fd_iommu > 2 && fd0 > 2 && fd1 > 2);
	char want_args[2048];
	if (strcmp(syntax, "--syntax=json") == 0)
		snprintf(want_args, sizeof(want_args),
		         "--marker\n-object\n{\"qom-type\":\"iommufd\",\"id\":\"iommufd0\",\"fd\":\"%d\"}\n"
		         "-device\n{\"driver\":\"vfio-pci\",\"host\":\"0000:06:00.0\",\"id\":\"hostdev0\",\"iommufd\":"
		         "\"iommufd0\",\"fd\":\"%d\"}\n"
		         "-device\n{\"driver\":\"vfio-pci\",\"host\":\"0000:06:00.1\",\"id\":\"hostdev1\",\"iommufd\":"
		         "\"iommufd0\",\"fd\":\"%d\"}\n",
		         fd_iommu, fd0, fd1);
	else
		snprintf(want_args, sizeof(want_args),
		         "--marker\n-object\niommufd,id=iommufd0,fd=%d\n"
		         "-device\nvfio-pci,host=0000:06:00.0,id=hostdev0,iommufd=iommufd0,fd=%d\n"
		         "-device\nvfio-pci,host=0000:06:00.1,id=hostdev1,iommufd=iommufd0,fd=%d\n",
		         fd_iommu, fd0, fd1);
	cr_assert_str_eq(args, want_args);
}

Test(cli, exec_inherits_exactly_the_opened_fds_keyval)
{
	exec_case((char[]){"--syntax=keyval"});
}

Test(cli, exec_inherits_exactly_the_opened_fds_json)
{
	exec_case((char[]){"--syntax=json"});
}

Test(cli, exec_failures)
{
	cr_assert_eq(RUN("--root", dir, "0000:07:00.0", "--exec", fdlist), 1);
	cr_assert_str_eq(out, "", "PROGRAM must not run when a device fails");
	cr_assert_eq(RUN("--root", dir, "0000:06:00.0", "--exec", "/nonexistent/qemu"), 127);
	cr_assert(strstr(err, "cannot exec /nonexistent/qemu"), "%s", err);
}

/* This machine's real root: the facts must match sysfs. */
Test(cli, real_root_first_pci_device_matches_sysfs)
{
	struct dirent **names;
	int n = scandir("/sys/bus/pci/devices", &names, NULL, alphasort);
	char bdf[256] = "", p[512], buf[256];

	for (int i = 0; i < n; i++) {
		if (!bdf[0] && names[i]->d_name[0] != '.')
			snprintf(bdf, sizeof(bdf), "%.64s", names[i]->d_name);
		free(names[i]);
	}
	if (n > 0)
		free(names);
	if (!bdf[0])
		cr_skip_test("no PCI devices in /sys/bus/pci/devices");

	int rc = RUN("--json", bdf);
	cr_assert(rc == 0 || rc == 1, "rc %d: %s", rc, err);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	json_t *o = json_array_get(json_object_get(j, "devices"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "address")), bdf);
	cr_assert_eq(json_object_get(o, "present"), json_true());
	static const char *attrs[] = {"vendor", "device", "subsystem_vendor", "subsystem_device", "class"};
	for (size_t i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/%s", bdf, attrs[i]);
		cr_assert_gt(vk_read_file(p, buf, sizeof(buf)), 0);
		buf[strcspn(buf, "\n")] = '\0';
		cr_assert_str_eq(json_string_value(json_object_get(o, attrs[i])), buf, "%s", attrs[i]);
	}
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", bdf);
	ssize_t l = readlink(p, buf, sizeof(buf) - 1);
	json_t *drv = json_object_get(o, "driver");
	if (l < 0) {
		cr_assert(json_is_null(drv));
	} else {
		buf[l] = '\0';
		cr_assert_str_eq(json_string_value(drv), strrchr(buf, '/') + 1);
	}
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	l = readlink(p, buf, sizeof(buf) - 1);
	json_t *g = json_object_get(o, "iommu_group");
	if (l < 0) {
		cr_assert(json_is_null(g));
	} else {
		buf[l] = '\0';
		cr_assert_eq(json_integer_value(g), atol(strrchr(buf, '/') + 1));
	}
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	json_t *cdev = json_object_get(o, "vfio_cdev");
	if (access(p, F_OK) < 0) {
		cr_assert(json_is_null(cdev));
		cr_assert_eq(rc, 1, "no cdev: not usable");
		cr_assert_str_neq(json_string_value(json_object_get(o, "state")), "ok");
	}
	json_decref(j);
}
