/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * emul_client: a VFIO cdev + iommufd user, run by `vfio-resolve BDF...
 * --exec emul_client` under `fakesys run`: it takes the FDs from QEMU's
 * arguments vfio-resolve appends (-object iommufd,...,fd=N -device
 * vfio-pci,host=BDF,...,fd=M) and goes through QEMU's sequence of
 * hw/vfio/iommufd.c (qemu/qemu 010643ee, iommufd_cdev_attach()):
 *
 *   VFIO_DEVICE_BIND_IOMMUFD per device (iommufd_cdev_connect_and_bind()),
 *   IOMMU_IOAS_ALLOC (iommufd_backend_alloc_ioas()),
 *   IOMMU_GET_HW_INFO then IOMMU_HWPT_ALLOC (iommufd_cdev_autodomains_get()),
 *   VFIO_DEVICE_ATTACH_IOMMUFD_PT (the second device to the existing HWPT),
 *   IOMMU_IOAS_IOVA_RANGES twice (iommufd_cdev_get_info_iova_range()),
 *   IOMMU_IOAS_MAP of "guest RAM" at IOVA 0 (iommufd_cdev_map()),
 *   VFIO_DEVICE_GET_INFO, region infos, config space by pread,
 *   IOMMU_IOAS_UNMAP in halves (iommufd_cdev_unmap() unmap_all),
 *   VFIO_DEVICE_DETACH_IOMMUFD_PT, IOMMU_DESTROY of the HWPT and the IOAS,
 *
 * and checks, on that path, what the kernel refuses: a bind before the legacy
 * group is closed (EBUSY), a second bind (EINVAL), the group while a device is
 * bound (EBUSY), a map past RLIMIT_MEMLOCK without CAP_IPC_LOCK (ENOMEM), the
 * IOAS and HWPT destroyed while attached (EBUSY), an attach to a destroyed
 * IOAS (ENOENT), a detach with nothing attached (no error).
 *
 * Prints "ok <step>" per step; exits 0, or 1 with "FAIL <step>: ..." on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uapi_compat.h"

#define MAX_DEV 8

static int iommufd = -1, ndev;
static struct {
	char bdf[32];
	int fd;
	uint32_t devid;
} dev[MAX_DEV];

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void ok(const char *step)
{
	printf("ok %s\n", step);
	fflush(stdout);
}

/* ioctl() that must succeed */
static void must(int fd, unsigned long cmd, void *arg, const char *step)
{
	if (ioctl(fd, cmd, arg) < 0)
		fail("%s: %s", step, strerror(errno));
}

/* ioctl() that must fail with @err */
static void refused(int fd, unsigned long cmd, void *arg, int err, const char *step)
{
	int r = ioctl(fd, cmd, arg);
	if (r >= 0 || errno != err)
		fail("%s: expected %s, got %s", step, strerror(err), r >= 0 ? "success" : strerror(errno));
	ok(step);
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *p;
		if ((p = strstr(a, "iommufd,")) == a && (p = strstr(a, ",fd=")))
			iommufd = atoi(p + 4);
		if (!strncmp(a, "vfio-pci,", 9) && ndev < MAX_DEV) {
			const char *h = strstr(a, "host="), *f = strstr(a, ",fd=");
			if (!h || !f)
				fail("parse: %s", a);
			snprintf(dev[ndev].bdf, sizeof(dev[ndev].bdf), "%.*s", (int)strcspn(h + 5, ","), h + 5);
			dev[ndev].fd = atoi(f + 4);
			ndev++;
		}
	}
	if (iommufd < 0 || !ndev)
		fail("parse: no -object iommufd,...,fd= or -device vfio-pci,...,fd= in the arguments");
}

static long group_of(const char *bdf)
{
	char path[128], target[256];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		fail("%s: %s", path, strerror(errno));
	target[n] = '\0';
	return strtol(strrchr(target, '/') + 1, NULL, 10);
}

/* The group node is busy: its open fails (a kernel), or its first ioctl (the emulation). */
static void group_busy(long group, const char *step)
{
	char path[64];
	struct vfio_group_status st = {.argsz = sizeof(st)};

	snprintf(path, sizeof(path), "/dev/vfio/%ld", group);
	int g = open(path, O_RDWR | O_CLOEXEC);
	if (g < 0) {
		if (errno != EBUSY)
			fail("%s: open %s: %s", step, path, strerror(errno));
		ok(step);
		return;
	}
	refused(g, VFIO_GROUP_GET_STATUS, &st, EBUSY, step);
	close(g);
}

/* Drop CAP_IPC_LOCK: pinned memory is charged to RLIMIT_MEMLOCK, which
 * becomes @limit or the hard limit if lower; returns it. */
static rlim_t unprivileged_memlock(rlim_t limit)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	struct rlimit rl;

	if (syscall(SYS_capget, &h, d) == 0) {
		d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
		d[CAP_TO_INDEX(CAP_IPC_LOCK)].permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
		if (syscall(SYS_capset, &h, d) < 0)
			fail("capset: %s", strerror(errno));
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		fail("getrlimit: %s", strerror(errno));
	rl.rlim_cur = limit;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < limit)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		fail("setrlimit: %s", strerror(errno));
	return rl.rlim_cur;
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	long group = group_of(dev[0].bdf);

	/* before the bind the device answers nothing */
	struct vfio_device_info info = {.argsz = sizeof(info)};
	refused(dev[0].fd, VFIO_DEVICE_GET_INFO, &info, EINVAL, "info-before-bind");

	/* the legacy group held: the bind is refused */
	char gpath[64];
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%ld", group);
	int g = open(gpath, O_RDWR | O_CLOEXEC);
	if (g < 0)
		fail("open %s: %s", gpath, strerror(errno));
	struct vfio_group_status st = {.argsz = sizeof(st)};
	must(g, VFIO_GROUP_GET_STATUS, &st, "group-status");
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = iommufd};
	refused(dev[0].fd, VFIO_DEVICE_BIND_IOMMUFD, &bind, EBUSY, "bind-while-group-open");
	close(g);

	/* iommufd_cdev_connect_and_bind() */
	for (int i = 0; i < ndev; i++) {
		bind = (struct vfio_device_bind_iommufd){.argsz = sizeof(bind), .iommufd = iommufd};
		must(dev[i].fd, VFIO_DEVICE_BIND_IOMMUFD, &bind, "bind");
		dev[i].devid = bind.out_devid;
	}
	ok("bind");
	bind = (struct vfio_device_bind_iommufd){.argsz = sizeof(bind), .iommufd = iommufd};
	refused(dev[0].fd, VFIO_DEVICE_BIND_IOMMUFD, &bind, EINVAL, "bind-twice");
	group_busy(group, "group-while-bound");

	/* iommufd_backend_alloc_ioas() */
	struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
	must(iommufd, IOMMU_IOAS_ALLOC, &alloc, "ioas-alloc");
	uint32_t ioas = alloc.out_ioas_id;
	ok("ioas-alloc");

	/* iommufd_cdev_autodomains_get(): hw info, then a HWPT for the first device */
	uint8_t vendor[64];
	struct iommu_hw_info hi = {.size = sizeof(hi), .dev_id = dev[0].devid, .data_len = sizeof(vendor), .data_uptr = (uintptr_t)vendor};
	must(iommufd, IOMMU_GET_HW_INFO, &hi, "hw-info");
	printf("hw-info type %u caps %#llx\n", hi.out_data_type, (unsigned long long)hi.out_capabilities);
	struct iommu_hwpt_alloc ha = {
		.size = sizeof(ha),
		.flags = hi.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0,
		.dev_id = dev[0].devid,
		.pt_id = ioas,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	must(iommufd, IOMMU_HWPT_ALLOC, &ha, "hwpt-alloc");
	uint32_t hwpt = ha.out_hwpt_id;
	ok("hwpt-alloc");

	/* nothing attached yet: a detach is no error */
	struct vfio_device_detach_iommufd_pt detach = {.argsz = sizeof(detach)};
	must(dev[0].fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach, "detach-unattached");
	ok("detach-unattached");
	/* iommufd_cdev_attach_ioas_hwpt(): every device to the one HWPT */
	for (int i = 0; i < ndev; i++) {
		struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at), .pt_id = hwpt};
		must(dev[i].fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at, "attach");
		if (at.pt_id != hwpt)
			fail("attach: pt_id %u, not %u", at.pt_id, hwpt);
	}
	ok("attach");

	/* iommufd_cdev_get_info_iova_range(): the count, then the ranges */
	struct iommu_ioas_iova_ranges *rng = calloc(1, sizeof(*rng));
	rng->size = sizeof(*rng);
	rng->ioas_id = ioas;
	if (ioctl(iommufd, IOMMU_IOAS_IOVA_RANGES, rng) && errno != EMSGSIZE)
		fail("iova-ranges: %s", strerror(errno));
	uint32_t n = rng->num_iovas;
	rng = realloc(rng, sizeof(*rng) + n * sizeof(struct iommu_iova_range));
	rng->allowed_iovas = (uintptr_t)(rng + 1);
	must(iommufd, IOMMU_IOAS_IOVA_RANGES, rng, "iova-ranges");
	struct iommu_iova_range *r = (void *)(rng + 1);
	for (uint32_t i = 0; i < rng->num_iovas; i++)
		printf("iova-range %#llx-%#llx\n", (unsigned long long)r[i].start, (unsigned long long)r[i].last);
	printf("iova-alignment %llu\n", (unsigned long long)rng->out_iova_alignment);
	free(rng);
	ok("iova-ranges");

	struct iommu_destroy des = {.size = sizeof(des), .id = ioas};
	refused(iommufd, IOMMU_DESTROY, &des, EBUSY, "destroy-ioas-in-use");
	des.id = hwpt;
	refused(iommufd, IOMMU_DESTROY, &des, EBUSY, "destroy-hwpt-attached");

	/* iommufd_cdev_map(): "guest RAM" at IOVA 0, as an unprivileged QEMU */
	rlim_t limit = unprivileged_memlock(8u << 20);
	size_t ram = (size_t)(limit / 2) & ~(size_t)4095;
	if (!ram)
		fail("RLIMIT_MEMLOCK's hard limit is %llu bytes: too low to map anything", (unsigned long long)limit);
	uint8_t *mem = mmap(NULL, 3 * ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	struct iommu_ioas_map map = {.size = sizeof(map),
	                             .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA |
	                                      IOMMU_IOAS_MAP_WRITEABLE,
	                             .ioas_id = ioas,
	                             .user_va = (uintptr_t)mem,
	                             .length = ram,
	                             .iova = 0};
	must(iommufd, IOMMU_IOAS_MAP, &map, "map");
	ok("map");
	/* half the limit pinned already, one more half and a page is past it */
	map.user_va += ram;
	map.length = ram + 4096;
	map.iova = 0x40000000;
	refused(iommufd, IOMMU_IOAS_MAP, &map, ENOMEM, "map-past-memlock");

	/* the devices, as vfio_device_prepare() and vfio_populate_device() read them */
	for (int i = 0; i < ndev; i++) {
		must(dev[i].fd, VFIO_DEVICE_GET_INFO, &info, "device-info");
		if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) || info.num_regions < VFIO_PCI_CONFIG_REGION_INDEX + 1 ||
		    info.num_irqs < VFIO_PCI_MSIX_IRQ_INDEX + 1)
			fail("device-info: flags %#x regions %u irqs %u", info.flags, info.num_regions, info.num_irqs);
		struct vfio_region_info ri = {.argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX};
		must(dev[i].fd, VFIO_DEVICE_GET_REGION_INFO, &ri, "config-region");
		uint16_t id[2];
		if (pread(dev[i].fd, id, sizeof(id), (off_t)ri.offset) != sizeof(id))
			fail("config pread: %s", strerror(errno));
		char path[400], want[16];
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", dev[i].bdf);
		FILE *f = fopen(path, "re");
		if (!f || !fgets(want, sizeof(want), f))
			fail("%s: %s", path, strerror(errno));
		fclose(f);
		if (strtoul(want, NULL, 16) != id[0])
			fail("config: vendor %#x, sysfs says %s", id[0], want);
		for (unsigned k = 0; k < VFIO_PCI_NUM_REGIONS; k++) {
			ri = (struct vfio_region_info){.argsz = sizeof(ri), .index = k};
			if (ioctl(dev[i].fd, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0 && ri.size)
				printf("%s region %u size %#llx\n", dev[i].bdf, k, (unsigned long long)ri.size);
		}
		printf("%s vendor %#06x device %#06x flags %#x\n", dev[i].bdf, id[0], id[1], info.flags);
	}
	ok("devices");

	/* teardown: unmap all in halves, detach, free the ids */
	struct iommu_ioas_unmap un = {.size = sizeof(un), .ioas_id = ioas, .iova = 0, .length = 1ull << 63};
	must(iommufd, IOMMU_IOAS_UNMAP, &un, "unmap-low-half");
	if (un.length != ram)
		fail("unmap: %llu bytes, mapped %zu", (unsigned long long)un.length, ram);
	un = (struct iommu_ioas_unmap){.size = sizeof(un), .ioas_id = ioas, .iova = 1ull << 63, .length = 1ull << 63};
	if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &un) < 0 && errno != ENOENT)
		fail("unmap-high-half: %s", strerror(errno));
	ok("unmap");
	for (int i = 0; i < ndev; i++)
		must(dev[i].fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach, "detach");
	ok("detach");
	des.id = hwpt;
	must(iommufd, IOMMU_DESTROY, &des, "destroy-hwpt");
	des.id = ioas;
	must(iommufd, IOMMU_DESTROY, &des, "destroy-ioas");
	ok("destroy");
	struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at), .pt_id = ioas};
	refused(dev[0].fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at, ENOENT, "attach-destroyed-ioas");
	for (int i = 0; i < ndev; i++)
		close(dev[i].fd);
	munmap(mem, 3 * ram);
	ok("done");
	return 0;
}
