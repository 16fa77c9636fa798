/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_emul: what the VFIO emulation of `fakesys run` costs per call.  Runs
 * itself under `fakesys run scenarios/default.yaml` and times, in the same
 * process, calls of each kind against a plain ioctl (FIONREAD on a pipe,
 * which the seccomp filter allows without a notification):
 *
 *   allowed      FIONREAD on a pipe                 (the filter: ALLOW)
 *   let through  a VFIO-type ioctl on a pipe, and   (notified, looked at, CONTINUE)
 *                a pread of a regular file
 *   emulated     VFIO_GET_API_VERSION on the container, VFIO_DEVICE_GET_REGION_INFO
 *                and a 4-byte config space pread on a device FD
 *
 * Prints ns per call and the ratio to the plain ioctl; with --no-emulation the
 * same calls without any filter (the let-through rows then cost what the
 * kernel's ENOTTY does).  Not a test: no pass/fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define TIME(label, n, expr) \
	do { \
		double t0 = now_ns(); \
		for (long i_ = 0; i_ < (n); i_++) \
			(void)(expr); \
		ns[k] = (now_ns() - t0) / (double)(n); \
		names[k++] = (label); \
	} while (0)

/* In the namespace: the measurements. */
static int inner(long n)
{
	const char *names[8];
	double ns[8];
	int k = 0, p[2], avail;
	char buf[64];

	if (pipe(p) < 0)
		return 1;
	int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	int group = open("/dev/vfio/12", O_RDWR | O_CLOEXEC);
	int file = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (container < 0 || group < 0 || file < 0) {
		fprintf(stderr, "bench_emul: opening the nodes: %s\n", strerror(errno));
		return 1;
	}
	/* a device FD, when the emulation is on */
	int dev = -1;
	struct vfio_region_info ri = {.argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX};
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0 &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0)
		dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.0");
	if (dev >= 0 && ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		dev = -1;

	TIME("plain ioctl (FIONREAD on a pipe, allowed)", n, ioctl(p[0], FIONREAD, &avail));
	TIME("VFIO-type ioctl on a pipe (let through)", n, ioctl(p[0], VFIO_GET_API_VERSION));
	TIME("pread of a /proc file (let through)", n, pread(file, buf, sizeof(buf), 0));
	TIME("VFIO_GET_API_VERSION on the container", n, ioctl(container, VFIO_GET_API_VERSION));
	if (dev >= 0) {
		TIME("VFIO_DEVICE_GET_REGION_INFO on a device", n, ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri));
		TIME("pread of 4 bytes of config space", n, pread(dev, buf, 4, (off_t)ri.offset));
	}
	printf("%-48s %12s %8s\n", "call", "ns/call", "ratio");
	for (int i = 0; i < k; i++)
		printf("%-48s %12.0f %7.1fx\n", names[i], ns[i], ns[i] / ns[0]);
	if (dev < 0)
		printf("(no device FD: the emulation is off)\n");
	return 0;
}

int main(int argc, char **argv)
{
	long n = getenv("VK_BENCH_QUICK") && !strcmp(getenv("VK_BENCH_QUICK"), "0") ? 200000 : 20000;
	char fakesys[4096], scen[4096], self[4096], count[32];

	if (argc > 1 && !strcmp(argv[1], "--inner"))
		return inner(argc > 2 ? atol(argv[2]) : n);
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return 1;
	self[len] = '\0';
	vk_bin("fakesys/fakesys", fakesys, sizeof(fakesys));
	vk_scenario_path("default.yaml", scen, sizeof(scen));
	snprintf(count, sizeof(count), "%ld", n);
	static char out[16384], err[16384];
	for (int pass = 0; pass < 2; pass++) {
		char *with[] = {fakesys, "run", scen, "--", self, "--inner", count, NULL};
		char *without[] = {fakesys, "run", "--no-emulation", scen, "--", self, "--inner", count, NULL};
		printf("%s (%ld calls each):\n", pass ? "fakesys run --no-emulation" : "fakesys run", n);
		int rc = vk_run(pass ? without : with, out, sizeof(out), err, sizeof(err));
		fputs(out, stdout);
		if (rc != 0)
			fprintf(stderr, "bench_emul: fakesys run exited %d: %s\n", rc, err);
		printf("\n");
	}
	return 0;
}
