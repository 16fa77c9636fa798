/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A real QEMU (qemu-system-x86_64, Debian 12's 7.2 on the CI image) under
 * `fakesys run` with the VFIO emulation: it realizes vfio-pci devices of a
 * scenario through the legacy container/group interface, and fails where a
 * real host makes it fail (a group that is not viable, a device on a host
 * driver, RLIMIT_MEMLOCK below the guest's RAM).  Skipped (77) without QEMU,
 * FUSE, namespaces or seccomp user notifications.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ns_emul_util.h"
#include "testutil.h"

/* QMP on stdio: the capabilities, query-pci, quit. */
#define QMP "printf '%s\\n' '{\"execute\":\"qmp_capabilities\"}' '{\"execute\":\"query-pci\"}' '{\"execute\":\"quit\"}'"

static char out[1 << 16], err[1 << 16];

static const char *need_qemu(void)
{
	char o[256], e[256];
	if (ns_emul_sh("command -v qemu-system-x86_64", o, sizeof(o), e, sizeof(e)) != 0)
		return "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86; setup.sh installs it)";
	return NULL;
}

/* Root of the initial user namespace: CAP_IPC_LOCK, pinned memory is not
 * charged to RLIMIT_MEMLOCK (the kernel's capable(), which a user namespace's
 * root does not pass). */
static bool initial_root(void)
{
	char map[128];
	return geteuid() == 0 && vk_read_file("/proc/self/uid_map", map, sizeof(map)) >= 0 && strstr(map, "4294967295");
}

/* For a test whose QEMU maps its guest RAM: skip where RLIMIT_MEMLOCK cannot
 * hold $QEMU's 4 MiB and its ROMs (ns_emul_util.c); the soft limit is raised
 * to the hard one first. */
#define QEMU_PINNED_KIB 6144
static void need_pinning(void)
{
	struct rlimit rl;

	if (initial_root())
		return;
	cr_assert_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < QEMU_PINNED_KIB * 1024ull)
		cr_skip_test("RLIMIT_MEMLOCK is %llu KiB here (hard), below the %u KiB QEMU's guest RAM and ROMs pin "
		             "for VFIO; without CAP_IPC_LOCK in the initial user namespace it is charged (raise it in "
		             "/etc/security/limits.conf: memlock)",
		             (unsigned long long)rl.rlim_cur / 1024, QEMU_PINNED_KIB);
}

/* The device of query-pci's answer with this qdev id. */
static json_t *pci_device(json_t *answer, const char *qdev_id)
{
	size_t i, j;
	json_t *bus, *dev;

	json_array_foreach(answer, i, bus)
	{
		json_array_foreach(json_object_get(bus, "devices"), j, dev)
		{
			const char *id = json_string_value(json_object_get(dev, "qdev_id"));
			if (id && !strcmp(id, qdev_id))
				return dev;
		}
	}
	return NULL;
}

/* The line of QEMU's stdout that answers query-pci. */
static json_t *query_pci_answer(const char *text)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		json_t *j = json_loadb(line, len, 0, NULL);
		json_t *ret = j ? json_object_get(j, "return") : NULL;
		if (ret && json_is_array(ret)) {
			json_incref(ret);
			json_decref(j);
			return ret;
		}
		json_decref(j);
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static long attr(const char *tree, const char *bdf, const char *name)
{
	char path[8192], buf[64];
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/%s", tree, bdf, name);
	cr_assert_geq(vk_read_file(path, buf, sizeof(buf)), 0, "%s", path);
	return strtol(buf, NULL, 16);
}

static unsigned long long bar0_size(const char *tree, const char *bdf)
{
	char path[8192], buf[2048];
	unsigned long long start, end;
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/resource", tree, bdf);
	cr_assert_geq(vk_read_file(path, buf, sizeof(buf)), 0, "%s", path);
	cr_assert_eq(sscanf(buf, "%llx %llx", &start, &end), 2);
	return end ? end - start + 1 : 0;
}

/* What QEMU says of @qdev_id is what the host's sysfs says of @bdf. */
static void check_device(json_t *answer, const char *qdev_id, const char *tree, const char *bdf)
{
	json_t *dev = pci_device(answer, qdev_id);
	cr_assert(dev, "no %s in query-pci", qdev_id);
	json_t *id = json_object_get(dev, "id");
	cr_assert_eq(json_integer_value(json_object_get(id, "vendor")), attr(tree, bdf, "vendor"));
	cr_assert_eq(json_integer_value(json_object_get(id, "device")), attr(tree, bdf, "device"));
	cr_assert_eq(json_integer_value(json_object_get(id, "subsystem-vendor")), attr(tree, bdf, "subsystem_vendor"));
	cr_assert_eq(json_integer_value(json_object_get(id, "subsystem")), attr(tree, bdf, "subsystem_device"));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(dev, "class_info"), "class")),
	             attr(tree, bdf, "class") >> 8);
	json_t *bar = json_array_get(json_object_get(dev, "regions"), 0);
	cr_assert(bar, "%s: no BAR", qdev_id);
	cr_assert_eq(json_integer_value(json_object_get(bar, "bar")), 0);
	cr_assert_eq((unsigned long long)json_integer_value(json_object_get(bar, "size")), bar0_size(tree, bdf));
}

Test(ns_emul_qemu, realizes_gpu_and_audio, .timeout = 180)
{
	char tree[4096], scen[4096];
	need_pinning();
	int rc = ns_emul_sh(QMP " | \"$FAKESYS\" run \"$SCEN/default.yaml\" -- $QEMU -qmp stdio "
	                        "-device vfio-pci,host=0000:01:00.0,id=gpu -device vfio-pci,host=0000:01:00.1,id=audio",
	                    out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 0, "status %d\n%s\n%s", rc, out, err);
	json_t *answer = query_pci_answer(out);
	cr_assert(answer, "no query-pci answer in\n%s\n%s", out, err);
	cr_assert_eq(vk_materialize(vk_scenario_path("default.yaml", scen, sizeof(scen)), tree, sizeof(tree)), 0);
	check_device(answer, "gpu", tree, "0000:01:00.0");
	check_device(answer, "audio", tree, "0000:01:00.1");
	json_decref(answer);
	vk_rm_rf(tree);
}

Test(ns_emul_qemu, group_not_viable, .timeout = 180)
{
	int rc = ns_emul_sh("\"$FAKESYS\" run \"$SCEN/doctor-group-shared-host-driver.yaml\" -- $QEMU "
	                    "-device vfio-pci,host=0000:01:00.0 </dev/null",
	                    out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 1, "status %d\n%s", rc, err);
	cr_assert(strstr(err, "vfio 0000:01:00.0: group 1 is not viable"), "%s", err);
	cr_assert(strstr(err, "Please ensure all devices within the iommu_group are bound to their vfio bus driver"),
	          "%s", err);
}

Test(ns_emul_qemu, device_on_a_host_driver, .timeout = 180)
{
	int rc = ns_emul_sh("\"$FAKESYS\" run \"$SCEN/doctor-nvme-on-host-driver.yaml\" -- $QEMU "
	                    "-device vfio-pci,host=0000:02:00.0 </dev/null",
	                    out, sizeof(out), err, sizeof(err));

	/* as on a real host: the group has no VFIO node while nvme has the device */
	cr_assert_eq(rc, 1, "status %d\n%s", rc, err);
	cr_assert(strstr(err, "vfio 0000:02:00.0: failed to open /dev/vfio/"), "%s", err);
	cr_assert(strstr(err, "No such file or directory"), "%s", err);
}

Test(ns_emul_qemu, memlock_too_small_for_the_guest, .timeout = 180)
{
	/* unprivileged (a user namespace: no CAP_IPC_LOCK), 1 MiB against -m 4 */
	int rc = ns_emul_sh("\"$FAKESYS\" run --userns \"$SCEN/default.yaml\" -- sh -c "
	                    "'ulimit -l 1024 && exec $QEMU -device vfio-pci,host=0000:01:00.0' </dev/null",
	                    out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 1, "status %d\n%s", rc, err);
	cr_assert(strstr(err, "failed to setup container for group 12: memory listener initialization failed"), "%s",
	          err);
	cr_assert(strstr(err, "(Cannot allocate memory)"), "%s", err);
}

Test(ns_emul_qemu, privileged_qemu_pins_past_the_limit, .timeout = 180)
{
	if (!initial_root())
		cr_skip_test("not root of the initial user namespace: no CAP_IPC_LOCK to show");
	int rc = ns_emul_sh(QMP " | sh -c 'ulimit -l 1024 && exec \"$FAKESYS\" run \"$SCEN/default.yaml\" -- $QEMU "
	                        "-qmp stdio -device vfio-pci,host=0000:01:00.0,id=gpu'",
	                    out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 0, "status %d\n%s", rc, err);
	json_t *answer = query_pci_answer(out);
	cr_assert(answer && pci_device(answer, "gpu"), "%s", out);
	json_decref(answer);
}

Test(ns_emul_qemu, a_sysfs_write_changes_the_answers, .timeout = 180)
{
	/* the audio function moved to a host driver through sysfs (--live), as
	 * driverctl does it: its group is no longer viable for the GPU */
	int rc = ns_emul_sh("\"$FAKESYS\" run --live \"$SCEN/default.yaml\" -- sh -c '"
	                    "echo nvme > /sys/bus/pci/devices/0000:01:00.1/driver_override && "
	                    "echo 0000:01:00.1 > /sys/bus/pci/drivers/vfio-pci/unbind && "
	                    "echo 0000:01:00.1 > /sys/bus/pci/drivers_probe && "
	                    "exec $QEMU -device vfio-pci,host=0000:01:00.0' </dev/null",
	                    out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 1, "status %d\n%s", rc, err);
	cr_assert(strstr(err, "group 12 is not viable"), "%s", err);
}

/*
 * Faults of op "ioctl" (--live): the supervisor reports each emulated ioctl
 * to the server (.fakesys/control "ioctl ..."), which counts it; a fault's
 * errno is what the ioctl fails with, and QEMU reports it as for a kernel's.
 */
static int qemu_with_fault(const char *fault)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
	         "\"$FAKESYS\" run --live \"$SCEN/default.yaml\" -- sh -c '"
	         "echo \"fault add %s\" > $FAKESYS_MOUNT/.fakesys/control && "
	         "$QEMU -device vfio-pci,host=0000:01:00.0; s=$?; "
	         "echo \"fault list\" > $FAKESYS_MOUNT/.fakesys/control && cat $FAKESYS_MOUNT/.fakesys/control; "
	         "exit $s' </dev/null",
	         fault);
	return ns_emul_sh(cmd, out, sizeof(out), err, sizeof(err));
}

Test(ns_emul_qemu, a_group_ioctl_fault, .timeout = 180)
{
	int rc = qemu_with_fault("dev/vfio/12 ioctl EACCES");

	cr_assert_eq(rc, 1, "status %d\n%s", rc, err);
	cr_assert(strstr(err, "vfio 0000:01:00.0: failed to get group 12 status: Permission denied"), "%s", err);
	/* VFIO_GROUP_GET_STATUS is QEMU's first ioctl on the group, and its last */
	cr_assert(strstr(out, "dev/vfio/12 ioctl EACCES nth=0 times=0 delay=0 seen=1"), "%s", out);
}

Test(ns_emul_qemu, the_nth_container_ioctl_fails, .timeout = 180)
{
	/* hw/vfio/common.c vfio_connect_container(): VFIO_GET_API_VERSION,
	 * VFIO_CHECK_EXTENSION (TYPE1v2), VFIO_SET_IOMMU, then the 4th,
	 * VFIO_IOMMU_GET_INFO */
	int rc = qemu_with_fault("dev/vfio/vfio ioctl ENOMEM nth=4");

	cr_assert_eq(rc, 1, "status %d\n%s", rc, err);
	cr_assert(strstr(err, "failed to setup container for group 12: Failed to get VFIO IOMMU info: "
	                      "Cannot allocate memory"),
	          "%s", err);
}

Test(ns_emul_qemu, a_device_fd_ioctl_fault, .timeout = 180)
{
	/* the device FD from VFIO_GROUP_GET_DEVICE_FD is reported as its device */
	need_pinning();
	int rc = qemu_with_fault("sys/bus/pci/devices/0000:01:00.0 ioctl EIO");

	cr_assert_eq(rc, 1, "status %d\n%s", rc, err);
	cr_assert(strstr(err, "vfio 0000:01:00.0: error getting device info: Input/output error"), "%s", err);
}

/* How many "ioctl" lines of @log have @path and @name (and errno @err, NULL: null). */
static int logged(const char *log, const char *path, const char *name, const char *e, long *pid)
{
	FILE *f = fopen(log, "re");
	char line[4096];
	int n = 0;

	cr_assert_not_null(f, "%s", log);
	while (fgets(line, sizeof(line), f)) {
		json_t *o = json_loads(line, 0, NULL);
		cr_assert_not_null(o, "not JSON: %s", line);
		const char *op = json_string_value(json_object_get(o, "op"));
		const char *p = json_string_value(json_object_get(o, "path"));
		const char *io = json_string_value(json_object_get(o, "ioctl"));
		json_t *je = json_object_get(o, "errno");
		if (op && !strcmp(op, "ioctl") && p && !strcmp(p, path) && io && !strcmp(io, name) &&
		    (e ? json_is_string(je) && !strcmp(json_string_value(je), e) : json_is_null(je))) {
			n++;
			if (pid)
				*pid = (long)json_integer_value(json_object_get(o, "pid"));
		}
		json_decref(o);
	}
	fclose(f);
	return n;
}

Test(ns_emul_qemu, the_log_has_each_ioctl, .timeout = 180)
{
	char dir[4096], log[4200], cmd[8192];
	long p1 = 0, p2 = 0, p3 = 0;

	need_pinning();
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(log, sizeof(log), "%s/log.jsonl", dir);
	snprintf(cmd, sizeof(cmd),
	         "printf '%%s\\n' '{\"execute\":\"qmp_capabilities\"}' '{\"execute\":\"quit\"}' | "
	         "\"$FAKESYS\" run --log %s \"$SCEN/default.yaml\" -- $QEMU -qmp stdio "
	         "-device vfio-pci,host=0000:01:00.0,id=gpu",
	         log);
	int rc = ns_emul_sh(cmd, out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 0, "status %d\n%s", rc, err);
	cr_assert_eq(logged(log, "dev/vfio/12", "VFIO_GROUP_GET_STATUS", NULL, &p1), 1);
	/* the container's VFIO_BASE + 12 by its name there, not the device's */
	cr_assert_geq(logged(log, "dev/vfio/vfio", "VFIO_IOMMU_GET_INFO", NULL, &p2), 1);
	cr_assert_geq(logged(log, "dev/vfio/vfio", "VFIO_IOMMU_MAP_DMA", NULL, NULL), 1);
	cr_assert_eq(logged(log, "dev/vfio/vfio", "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", NULL, NULL), 0);
	cr_assert_eq(logged(log, "sys/bus/pci/devices/0000:01:00.0", "VFIO_DEVICE_GET_INFO", NULL, &p3), 1);
	cr_assert(p1 > 0 && p1 == p2 && p2 == p3, "pids %ld %ld %ld", p1, p2, p3);
	vk_rm_rf(dir);
}

Test(ns_emul_qemu, the_log_has_the_fault, .timeout = 180)
{
	char dir[4096], log[4200], cmd[8192];

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(log, sizeof(log), "%s/log.jsonl", dir);
	/* QMP's quit on stdin: QEMU ends also if the fault were missed */
	snprintf(cmd, sizeof(cmd),
	         "%s | \"$FAKESYS\" run --log %s \"$SCEN/default.yaml\" -- sh -c '"
	         "echo \"fault add dev/vfio/vfio ioctl EPERM nth=3\" > $FAKESYS_MOUNT/.fakesys/control && "
	         "exec $QEMU -qmp stdio -device vfio-pci,host=0000:01:00.0'",
	         QMP, log);
	int rc = ns_emul_sh(cmd, out, sizeof(out), err, sizeof(err));

	/* the 3rd container ioctl, VFIO_SET_IOMMU (after VFIO_GET_API_VERSION and
	 * VFIO_CHECK_EXTENSION; hw/vfio/common.c vfio_connect_container()) */
	cr_assert_eq(rc, 1, "status %d\n%s", rc, err);
	cr_assert(strstr(err, "Failed to set iommu for container: Operation not permitted"), "%s", err);
	cr_assert_eq(logged(log, "dev/vfio/vfio", "VFIO_GET_API_VERSION", NULL, NULL), 1);
	cr_assert_eq(logged(log, "dev/vfio/vfio", "VFIO_CHECK_EXTENSION", NULL, NULL), 1);
	cr_assert_eq(logged(log, "dev/vfio/vfio", "VFIO_SET_IOMMU", "EPERM", NULL), 1, "%s", err);
	cr_assert_eq(logged(log, "dev/vfio/vfio", "VFIO_IOMMU_GET_INFO", NULL, NULL), 0);
	vk_rm_rf(dir);
}

NS_EMUL_MAIN(need_qemu)
