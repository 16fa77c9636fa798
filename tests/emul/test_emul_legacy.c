/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The emulated legacy interface in-process: the container, the group and
 * type1, with the kernel's errnos for every misuse (drivers/vfio/container.c,
 * group.c, vfio_iommu_type1.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emul_util.h"

static struct te t;

static void setup_default(void)
{
	te_setup(&t, "default.yaml");
}

static void teardown(void)
{
	te_teardown(&t);
}

TestSuite(emul_legacy, .init = setup_default, .fini = teardown);

Test(emul_legacy, container_api_and_extensions)
{
	int c = te_open(&t, "dev/vfio/vfio", O_RDWR);
	cr_assert_geq(c, 0);
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	/* no group yet: cache coherency cannot be known */
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
	/* no-IOMMU mode is off in the scenario */
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), 0);
	/* SET_IOMMU needs a group; the type1 ioctls need an iommu */
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
	struct vfio_iommu_type1_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
	/* a container has no read op */
	char b[4];
	cr_assert_eq(te_pread(&t, c, b, 4, 0), -EINVAL);
}

Test(emul_legacy, group_status_and_container)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	cr_assert_geq(g, 0);
	struct vfio_group_status st = {.argsz = sizeof(st)};
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_STATUS, &st), 0);
	cr_assert_eq(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	struct vfio_group_status small = {.argsz = 4};
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_STATUS, &small), -EINVAL);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_STATUS, TE_BAD_PTR), -EFAULT);
	cr_assert_eq(te_ioctl_v(&t, g, VFIO_GROUP_UNSET_CONTAINER, 0), -EINVAL);
	cr_assert_eq(te_ioctl_v(&t, g, VFIO_GET_API_VERSION, 0), -ENOTTY);

	/* SET_CONTAINER with no FD, an FD that is no VFIO file, then the container */
	int32_t bad = 4000;
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_SET_CONTAINER, &bad), -EBADF);
	int32_t notvfio = 0; /* our stdin: open, not a container */
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_SET_CONTAINER, &notvfio), -EBADFD);
	int c = te_container_for(&t, g);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_STATUS, &st), 0);
	cr_assert_eq(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	int32_t cfd = c;
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_SET_CONTAINER, &cfd), -EINVAL, "a group belongs to one container");
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL, "the iommu is set already");
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
	cr_assert_eq(te_ioctl_v(&t, c, 0x3b7f, 0), -ENOTTY);
	cr_assert_eq(te_ioctl_v(&t, g, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_STATUS, &st), 0);
	cr_assert_eq(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	/* the last group gone: the container is deprivileged */
	struct vfio_iommu_type1_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
}

Test(emul_legacy, set_iommu_types)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	int c = te_open(&t, "dev/vfio/vfio", O_RDWR);
	int32_t cfd = c;
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_SET_CONTAINER, &cfd), 0);
	/* no driver answers 2 (sPAPR), type1 refuses its own UNMAP_ALL "type" */
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU), -ENODEV);
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_SET_IOMMU, VFIO_UNMAP_ALL), -EINVAL);
	/* nesting needs enable_nesting, which VT-d has not */
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_SET_IOMMU, VFIO_TYPE1_NESTING_IOMMU), -EINVAL);
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	/* type1 v1: no dirty page tracking */
	struct vfio_iommu_type1_dirty_bitmap d = {.argsz = sizeof(d), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_DIRTY_PAGES, &d), -EACCES);
}

Test(emul_legacy, second_open_of_a_group_is_busy)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	cr_assert_geq(g, 0);
	cr_assert_eq(te_open(&t, "dev/vfio/12", O_RDWR), -EBUSY);
	/* closed behind the emulation's back: the open's gc finds it */
	te_close_behind(&t, g);
	int g2 = te_open(&t, "dev/vfio/12", O_RDWR);
	cr_assert_geq(g2, 0);
	cr_assert_geq(t.gc_calls, 1);
	te_close(&t, g2);
	cr_assert_geq(te_open(&t, "dev/vfio/12", O_RDWR), 0);
	/* another group is independent */
	cr_assert_geq(te_open(&t, "dev/vfio/9", O_RDWR), 0);
}

Test(emul_legacy, get_device_fd)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	int c = te_open(&t, "dev/vfio/vfio", O_RDWR);
	int32_t cfd = c;
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_SET_CONTAINER, &cfd), 0);
	/* the container has no IOMMU yet: vfio_group_use_container() */
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.0"), -EINVAL);
	cr_assert_eq(te_ioctl_v(&t, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	/* not in this group, not a device, junk after the name, a bad token, a bad pointer */
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, "0000:02:00.0"), -ENODEV);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, "nonsense"), -ENODEV);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.0x"), -ENODEV);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.0 vf_token=zz"), -EINVAL);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.0 speed=fast"), -EINVAL);
	/* a token for a device that is neither PF nor VF */
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD,
	                      "0000:01:00.0 vf_token=bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3"),
	             -EINVAL);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, TE_BAD_PTR), -EFAULT);
	char *huge = malloc(8192);
	memset(huge, 'a', 8192);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, huge), -EINVAL, "no NUL within PAGE_SIZE");
	free(huge);
	int d = te_device_fd(&t, g, "0000:01:00.0");
	cr_assert_eq(emul_file_kind(te_file(&t, d)), EMUL_DEVICE);
	/* the group path may open a device again */
	int d2 = te_device_fd(&t, g, "0000:01:00.0 ");
	/* devices open: the group cannot leave its container */
	cr_assert_eq(te_ioctl_v(&t, g, VFIO_GROUP_UNSET_CONTAINER, 0), -EBUSY);
	te_close(&t, d);
	te_close(&t, d2);
	cr_assert_eq(te_ioctl_v(&t, g, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
}

Test(emul_legacy, device_fd_holds_the_group)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	int c = te_container_for(&t, g);
	int d = te_device_fd(&t, g, "0000:01:00.1");
	/* the group's FD closed: the device keeps the group open (and busy) */
	te_close(&t, g);
	cr_assert_eq(te_open(&t, "dev/vfio/12", O_RDWR), -EBUSY);
	struct vfio_device_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, d, VFIO_DEVICE_GET_INFO, &info), 0);
	te_close(&t, d);
	cr_assert_geq(te_open(&t, "dev/vfio/12", O_RDWR), 0);
	(void)c;
}

Test(emul_legacy, unbound_device_disappears)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	int c = te_container_for(&t, g);
	int d = te_device_fd(&t, g, "0000:01:00.0");
	/* a sysfs unbind the kernel would have waited for: the device is gone */
	te_set_driver(&t, "0000:01:00.0", NULL);
	struct vfio_device_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, d, VFIO_DEVICE_GET_INFO, &info), -ENODEV);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.0"), -ENODEV);
	/* its function on a host driver: the group is no longer viable */
	te_set_driver(&t, "0000:01:00.0", "snd_hda_intel");
	te_close(&t, d);
	cr_assert_eq(te_ioctl_v(&t, g, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	struct vfio_group_status st = {.argsz = sizeof(st)};
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_STATUS, &st), 0);
	cr_assert_eq(st.flags, 0);
	int32_t cfd = c;
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_SET_CONTAINER, &cfd), -EPERM);
	/* both functions off VFIO: the kernel's vfio_group is gone */
	te_set_driver(&t, "0000:01:00.1", NULL);
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_STATUS, &st), -ENODEV);
	cr_assert_eq(te_open(&t, "dev/vfio/12", O_RDWR), -ENODEV);
}

Test(emul_legacy, not_viable_group)
{
	te_teardown(&t);
	te_setup(&t, "doctor-group-shared-host-driver.yaml");
	int g = te_open(&t, "dev/vfio/1", O_RDWR);
	cr_assert_geq(g, 0);
	struct vfio_group_status st = {.argsz = sizeof(st)};
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_GET_STATUS, &st), 0);
	cr_assert_eq(st.flags & VFIO_GROUP_FLAGS_VIABLE, 0);
	int c = te_open(&t, "dev/vfio/vfio", O_RDWR);
	int32_t cfd = c;
	cr_assert_eq(te_ioctl(&t, g, VFIO_GROUP_SET_CONTAINER, &cfd), -EPERM);
}

Test(emul_legacy, iommu_info_caps)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	int c = te_container_for(&t, g);
	struct vfio_iommu_type1_info small = {.argsz = 8};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_GET_INFO, &small), -EINVAL);
	/* too short for the caps: argsz says how much is needed */
	struct vfio_iommu_type1_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_GET_INFO, &info), 0);
	cr_assert(info.flags & VFIO_IOMMU_INFO_PGSIZES);
	cr_assert(info.flags & VFIO_IOMMU_INFO_CAPS);
	cr_assert_eq(info.iova_pgsizes, 0x40201000ull);
	cr_assert_eq(info.cap_offset, 0);
	cr_assert_gt(info.argsz, sizeof(info));
	uint8_t *buf = calloc(1, info.argsz);
	struct vfio_iommu_type1_info *full = (void *)buf;
	full->argsz = info.argsz;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_GET_INFO, full), 0);
	cr_assert_eq(full->cap_offset, sizeof(info));
	bool mig = false, avail = false, iova = false;
	for (uint32_t off = full->cap_offset; off; off = ((struct vfio_info_cap_header *)(buf + off))->next) {
		struct vfio_info_cap_header *h = (void *)(buf + off);
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION)
			mig = true;
		if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			avail = true;
			cr_assert_eq(((struct vfio_iommu_type1_info_dma_avail *)h)->avail, 65535);
		}
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
			iova = true;
			/* VT-d with MGAW 39 (the scenario's cap), the MSI window cut out */
			cr_assert_eq(r->nr_iovas, 2);
			cr_assert_eq(r->iova_ranges[0].start, 0);
			cr_assert_eq(r->iova_ranges[0].end, 0xfedfffffull);
			cr_assert_eq(r->iova_ranges[1].start, 0xfef00000ull);
			cr_assert_eq(r->iova_ranges[1].end, (1ull << 39) - 1);
		}
	}
	cr_assert(mig && avail && iova);
	free(buf);
}

Test(emul_legacy, map_unmap_and_memlock)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	int c = te_container_for(&t, g);
	size_t len = 4u << 20;
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(mem, MAP_FAILED);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)mem,
		.iova = 0x100000,
		.size = len,
	};
	struct vfio_iommu_type1_dma_map m = map;
	m.argsz = 8;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);
	m = map;
	m.flags = 0x80;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);
	m = map;
	m.flags = 0;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), -EINVAL, "no access");
	m = map;
	m.iova += 1;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), -EINVAL, "unaligned");
	m = map;
	m.iova = 0xfee00000;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), -EINVAL, "the MSI window");
	m = map;
	m.iova = 1ull << 40;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), -EINVAL, "past the aperture");
	m = map;
	m.vaddr = 1ull << 46; /* nothing mapped there: the pinning faults */
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), -EFAULT);
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &map), 0);
	cr_assert_eq(emul_locked_mm(t.e, getpid()), len);
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &map), -EEXIST);
	/* 4 MiB more would pass the 8 MiB limit with 1 MiB locked already */
	t.creds.locked_bytes = 1u << 20;
	m = map;
	m.iova = 0x10000000;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), -ENOMEM);
	/* CAP_IPC_LOCK: not accounted */
	t.creds.cap_ipc_lock = true;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &m), 0);
	cr_assert_eq(emul_locked_mm(t.e, getpid()), len);
	t.creds.cap_ipc_lock = false;

	struct vfio_iommu_type1_dma_unmap un = {.argsz = sizeof(un), .iova = 0x100000 + 4096, .size = 4096};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_UNMAP_DMA, &un), -EINVAL, "v2 does not split a mapping");
	un = (struct vfio_iommu_type1_dma_unmap){.argsz = sizeof(un), .flags = VFIO_DMA_UNMAP_FLAG_ALL, .size = 4096};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_UNMAP_DMA, &un), -EINVAL, "ALL with a size");
	un = (struct vfio_iommu_type1_dma_unmap){.argsz = sizeof(un), .iova = 0x100000, .size = len};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_UNMAP_DMA, &un), 0);
	cr_assert_eq(un.size, len);
	cr_assert_eq(emul_locked_mm(t.e, getpid()), 0);
	un = (struct vfio_iommu_type1_dma_unmap){.argsz = sizeof(un), .flags = VFIO_DMA_UNMAP_FLAG_ALL};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_UNMAP_DMA, &un), 0);
	cr_assert_eq(un.size, len, "the CAP_IPC_LOCK mapping");
	/* the last group leaving unmaps and uncharges everything */
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &map), 0);
	cr_assert_eq(te_ioctl_v(&t, g, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	cr_assert_eq(emul_locked_mm(t.e, getpid()), 0);
	munmap(mem, len);
}

Test(emul_legacy, dirty_pages)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	int c = te_container_for(&t, g);
	static uint8_t mem[8192] __attribute__((aligned(4096)));
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)mem,
		.iova = 0x200000,
		.size = sizeof(mem),
	};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_MAP_DMA, &map), 0);
	__u64 bitmap = 0;
	struct {
		struct vfio_iommu_type1_dirty_bitmap h;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} q = {
		.h = {.argsz = sizeof(q), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP},
		.g = {.iova = 0x200000, .size = sizeof(mem), .bitmap = {.pgsize = 4096, .size = 8, .data = &bitmap}},
	};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_DIRTY_PAGES, &q), -EINVAL, "not tracking");
	struct vfio_iommu_type1_dirty_bitmap two = {
		.argsz = sizeof(two), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_DIRTY_PAGES, &two), -EINVAL);
	struct vfio_iommu_type1_dirty_bitmap start = {.argsz = sizeof(start), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START};
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_DIRTY_PAGES, &start), 0);
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_DIRTY_PAGES, &q), 0);
	cr_assert_eq(bitmap, 3, "both pages of a physical device's mapping are dirty");
	q.g.bitmap.pgsize = 8192;
	cr_assert_eq(te_ioctl(&t, c, VFIO_IOMMU_DIRTY_PAGES, &q), -EINVAL);
}

Test(emul_legacy, ioctl_names_are_per_kind_of_file)
{
	/* VFIO_BASE + 12, + 13, + 17 are two ioctls each (include/uapi/linux/vfio.h) */
	cr_assert_eq(VFIO_IOMMU_GET_INFO, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO);
	cr_assert_str_eq(emul_ioctl_name(EMUL_CONTAINER, VFIO_IOMMU_GET_INFO), "VFIO_IOMMU_GET_INFO");
	cr_assert_str_eq(emul_ioctl_name(EMUL_DEVICE, VFIO_IOMMU_GET_INFO), "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
	cr_assert_str_eq(emul_ioctl_name(EMUL_CONTAINER, VFIO_IOMMU_MAP_DMA), "VFIO_IOMMU_MAP_DMA");
	cr_assert_str_eq(emul_ioctl_name(EMUL_CDEV, VFIO_IOMMU_MAP_DMA), "VFIO_DEVICE_PCI_HOT_RESET");
	cr_assert_str_eq(emul_ioctl_name(EMUL_CONTAINER, VFIO_DEVICE_FEATURE), "VFIO_IOMMU_DIRTY_PAGES");
	cr_assert_str_eq(emul_ioctl_name(EMUL_DEVICE, VFIO_DEVICE_FEATURE), "VFIO_DEVICE_FEATURE");
	cr_assert_str_eq(emul_ioctl_name(EMUL_GROUP, VFIO_GROUP_GET_STATUS), "VFIO_GROUP_GET_STATUS");
	cr_assert_str_eq(emul_ioctl_name(EMUL_IOMMUFD, IOMMU_IOAS_ALLOC), "IOMMU_IOAS_ALLOC");
	/* none of the file's, or none at all */
	cr_assert_null(emul_ioctl_name(EMUL_GROUP, VFIO_GET_API_VERSION));
	cr_assert_null(emul_ioctl_name(EMUL_IOMMUFD, VFIO_GROUP_GET_STATUS));
	cr_assert_null(emul_ioctl_name(EMUL_CONTAINER, _IO(VFIO_TYPE, 99)));
}
