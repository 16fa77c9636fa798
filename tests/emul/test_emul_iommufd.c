/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The emulated device cdev and iommufd in-process: bind, attach, detach
 * (drivers/vfio/device_cdev.c), the IOAS, HWPTs, options and accounting
 * (drivers/iommu/iommufd/), with their errnos.
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
static int ifd, gpu; /* /dev/iommu, the GPU's cdev (vfio0) */

static void setup(void)
{
	te_setup(&t, "emul-host.yaml");
	ifd = te_open(&t, "dev/iommu", O_RDWR);
	cr_assert_geq(ifd, 0);
	gpu = te_open(&t, "dev/vfio/devices/vfio0", O_RDWR);
	cr_assert_geq(gpu, 0);
	cr_assert_str_eq(emul_file_name(te_file(&t, gpu)), "0000:01:00.0");
}

static void teardown(void)
{
	te_teardown(&t);
}

TestSuite(emul_iommufd, .init = setup, .fini = teardown);

static uint32_t bind(int dev, int iommufd)
{
	struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = iommufd};
	cr_assert_eq(te_ioctl(&t, dev, VFIO_DEVICE_BIND_IOMMUFD, &b), 0);
	cr_assert_gt(b.out_devid, 0);
	return b.out_devid;
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOC, &a), 0);
	return a.out_ioas_id;
}

static long attach(int dev, uint32_t *pt)
{
	struct vfio_device_attach_iommufd_pt a = {.argsz = sizeof(a), .pt_id = *pt};
	long r = te_ioctl(&t, dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);
	*pt = a.pt_id;
	return r;
}

static long destroy(uint32_t id)
{
	struct iommu_destroy d = {.size = sizeof(d), .id = id};
	return te_ioctl(&t, ifd, IOMMU_DESTROY, &d);
}

Test(emul_iommufd, bind_rules)
{
	struct vfio_device_bind_iommufd b = {.argsz = 8, .iommufd = ifd};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL, "argsz");
	b = (struct vfio_device_bind_iommufd){.argsz = sizeof(b), .flags = 1, .iommufd = ifd};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL, "flags");
	b.flags = 0;
	b.iommufd = -1;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL, "a negative FD");
	b.iommufd = 4000;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EBADF);
	b.iommufd = 0;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EBADFD, "not an iommufd");
	b.iommufd = gpu;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EBADFD, "a cdev is no iommufd");
	/* not bound: nothing but BIND works */
	struct vfio_device_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
	uint32_t pt = 1;
	cr_assert_eq(attach(gpu, &pt), -EINVAL, "attach before bind");
	uint32_t devid = bind(gpu, ifd);
	b.iommufd = ifd;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL, "bound twice");
	/* a second cdev open of the same device cannot bind: open_count */
	int again = te_open(&t, "dev/vfio/devices/vfio0", O_RDWR);
	cr_assert_eq(te_ioctl(&t, again, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_INFO, &info), 0);
	cr_assert_eq(destroy(devid), -EBUSY, "vfio holds its device object");
	/* closed: unbound, the second open can bind now */
	te_close(&t, gpu);
	bind(again, ifd);
}

Test(emul_iommufd, legacy_and_cdev_exclude_each_other)
{
	int g = te_open(&t, "dev/vfio/12", O_RDWR);
	cr_assert_geq(g, 0);
	struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = ifd};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EBUSY, "the group is open");
	te_close(&t, g);
	bind(gpu, ifd);
	cr_assert_eq(te_open(&t, "dev/vfio/12", O_RDWR), -EBUSY, "a device of the group is bound");
	/* the other function of the group, from a second iommufd: the group's owner is the first */
	int ifd2 = te_open(&t, "dev/iommu", O_RDWR);
	int audio = te_open(&t, "dev/vfio/devices/vfio1", O_RDWR);
	b.iommufd = ifd2;
	cr_assert_eq(te_ioctl(&t, audio, VFIO_DEVICE_BIND_IOMMUFD, &b), -EPERM);
	b.iommufd = ifd;
	cr_assert_eq(te_ioctl(&t, audio, VFIO_DEVICE_BIND_IOMMUFD, &b), 0);
	/* the cdev closed behind our back: a group open finds the group free after a gc */
	te_close_behind(&t, gpu);
	te_close_behind(&t, audio);
	cr_assert_geq(te_open(&t, "dev/vfio/12", O_RDWR), 0);
}

Test(emul_iommufd, a_host_driver_in_the_group)
{
	te_set_driver(&t, "0000:01:00.1", "snd_hda_intel");
	struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = ifd};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &b), -EPERM);
	/* unbound from vfio-pci: its cdev no longer opens */
	te_set_driver(&t, "0000:01:00.1", NULL);
	cr_assert_eq(te_open(&t, "dev/vfio/devices/vfio1", O_RDWR), -ENODEV);
}

Test(emul_iommufd, ioctl_framing)
{
	struct {
		struct iommu_ioas_alloc a;
		uint32_t extra;
	} big = {.a = {.size = sizeof(big)}, .extra = 1};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOC, &big), -E2BIG, "non-zero past the known struct");
	big.extra = 0;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOC, &big), 0);
	struct iommu_ioas_alloc a = {.size = 8};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOC, &a), -EINVAL, "size below the minimum");
	a = (struct iommu_ioas_alloc){.size = sizeof(a), .flags = 1};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOC, &a), -EOPNOTSUPP);
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOC, TE_BAD_PTR), -EFAULT);
	cr_assert_eq(te_ioctl_v(&t, ifd, _IO(';', 0x80 + 40), 0), -ENOTTY, "no such command");
	cr_assert_eq(te_ioctl_v(&t, ifd, VFIO_GET_API_VERSION, 0), -ENOTTY, "VFIO compat not emulated");
	cr_assert_eq(destroy(4242), -ENOENT);
	/* ids: the lowest free one */
	uint32_t x = ioas_alloc(), y = ioas_alloc();
	cr_assert_eq(destroy(x), 0);
	cr_assert_eq(ioas_alloc(), x);
	cr_assert_neq(x, y);
}

Test(emul_iommufd, attach_ranges_map)
{
	uint32_t devid = bind(gpu, ifd);
	uint32_t ioas = ioas_alloc();
	/* a fresh IOAS: the whole range, any alignment */
	struct iommu_ioas_iova_ranges r = {.size = sizeof(r), .ioas_id = ioas};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_IOVA_RANGES, &r), -EMSGSIZE);
	cr_assert_eq(r.num_iovas, 1);
	cr_assert_eq(r.out_iova_alignment, 1);
	uint32_t pt = 4242;
	cr_assert_eq(attach(gpu, &pt), -ENOENT);
	pt = devid;
	cr_assert_eq(attach(gpu, &pt), -EINVAL, "a device is no page table");
	pt = ioas;
	cr_assert_eq(attach(gpu, &pt), 0);
	cr_assert_neq(pt, ioas, "an automatic HWPT");
	uint32_t hwpt = pt;
	struct iommu_iova_range ranges[4];
	r = (struct iommu_ioas_iova_ranges){.size = sizeof(r), .ioas_id = ioas, .num_iovas = 4, .allowed_iovas = (uintptr_t)ranges};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_IOVA_RANGES, &r), 0);
	cr_assert_eq(r.num_iovas, 2, "the MSI window cut out of the aperture");
	cr_assert_eq(ranges[0].start, 0);
	cr_assert_eq(ranges[0].last, 0xfedfffffull);
	cr_assert_eq(ranges[1].start, 0xfef00000ull);
	cr_assert_eq(r.out_iova_alignment, 4096);
	/* map: fixed, then overlapping, in the window, unaligned */
	size_t len = 1u << 20;
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map m = {.size = sizeof(m),
	                           .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	                           .ioas_id = ioas,
	                           .user_va = (uintptr_t)mem,
	                           .length = len,
	                           .iova = 0x100000};
	m.user_va = 1ull << 46; /* nothing mapped there: the pinning faults */
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), -EFAULT);
	m.user_va = (uintptr_t)mem;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), 0);
	cr_assert_eq(emul_locked_user(t.e, t.creds.uid), len, "per user by default");
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), -EEXIST);
	m.iova = 0xfee00000;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), -EINVAL, "reserved");
	m.iova = 0x300001;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), -EINVAL, "unaligned");
	m.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), -EINVAL, "neither readable nor writeable");
	m.flags = 1u << 5;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), -EOPNOTSUPP);
	/* without FIXED_IOVA the kernel picks one */
	m.flags = IOMMU_IOAS_MAP_READABLE;
	m.iova = 0;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), 0);
	cr_assert_neq(m.iova, 0);
	cr_assert_eq(m.iova % len, 0);
	cr_assert_eq(emul_locked_user(t.e, t.creds.uid), 2 * len);
	/* the IOAS and the HWPT are in use */
	cr_assert_eq(destroy(ioas), -EBUSY);
	cr_assert_eq(destroy(hwpt), -EBUSY);
	/* unmap: a part of an area is refused, the whole area is fine */
	struct iommu_ioas_unmap u = {.size = sizeof(u), .ioas_id = ioas, .iova = 0x100000, .length = 4096};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_UNMAP, &u), -ENOENT);
	u.length = len;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_UNMAP, &u), 0);
	cr_assert_eq(u.length, len);
	/* detach: the automatic HWPT goes, its pages are unpinned */
	struct vfio_device_detach_iommufd_pt d = {.argsz = sizeof(d), .flags = 1};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d), -EINVAL, "flags");
	d.flags = 0;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d), 0);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d), 0, "detached twice: no error");
	cr_assert_eq(emul_locked_user(t.e, t.creds.uid), 0);
	cr_assert_eq(destroy(hwpt), -ENOENT, "gone with its device");
	u = (struct iommu_ioas_unmap){.size = sizeof(u), .ioas_id = ioas, .iova = 0, .length = UINT64_MAX};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_UNMAP, &u), 0);
	cr_assert_eq(u.length, len);
	cr_assert_eq(destroy(ioas), 0);
	munmap(mem, len);
}

Test(emul_iommufd, memlock_modes)
{
	bind(gpu, ifd);
	uint32_t ioas = ioas_alloc();
	size_t len = 4u << 20;
	void *mem = mmap(NULL, 3 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map m = {.size = sizeof(m),
	                           .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	                           .ioas_id = ioas,
	                           .user_va = (uintptr_t)mem,
	                           .length = len,
	                           .iova = 0x1000000};
	/* no domain yet: nothing is pinned */
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), 0);
	m.iova += len;
	m.user_va += len;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), 0);
	m.iova += len;
	m.user_va += len;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), 0);
	cr_assert_eq(emul_locked_user(t.e, t.creds.uid), 0);
	/* the attach pins 12 MiB past the 8 MiB limit: refused, nothing left pinned */
	uint32_t pt = ioas;
	cr_assert_eq(attach(gpu, &pt), -ENOMEM);
	cr_assert_eq(emul_locked_user(t.e, t.creds.uid), 0);
	struct iommu_ioas_unmap u = {.size = sizeof(u), .ioas_id = ioas, .iova = m.iova, .length = len};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_UNMAP, &u), 0);
	pt = ioas;
	cr_assert_eq(attach(gpu, &pt), 0);
	cr_assert_eq(emul_locked_user(t.e, t.creds.uid), 2 * len);
	/* the limit is reached: one more map fails, per user */
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), -ENOMEM);
	/* IOMMU_OPTION_RLIMIT_MODE: CAP_SYS_RESOURCE, and only on an empty context */
	struct iommu_option o = {.size = sizeof(o), .option_id = IOMMU_OPTION_RLIMIT_MODE, .op = IOMMU_OPTION_OP_GET};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_OPTION, &o), 0);
	cr_assert_eq(o.val64, 0);
	o.op = IOMMU_OPTION_OP_SET;
	o.val64 = 1;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_OPTION, &o), -EPERM);
	t.creds.cap_sys_resource = true;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_OPTION, &o), -EBUSY);
	int ifd2 = te_open(&t, "dev/iommu", O_RDWR);
	o.val64 = 2;
	cr_assert_eq(te_ioctl(&t, ifd2, IOMMU_OPTION, &o), -EINVAL);
	o.val64 = 1;
	o.object_id = 1;
	cr_assert_eq(te_ioctl(&t, ifd2, IOMMU_OPTION, &o), -EOPNOTSUPP);
	o.object_id = 0;
	cr_assert_eq(te_ioctl(&t, ifd2, IOMMU_OPTION, &o), 0);
	/* per process: the mm's own count (and what it mlock()ed) */
	int nic = te_open(&t, "dev/vfio/devices/vfio2", O_RDWR);
	struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = ifd2};
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_BIND_IOMMUFD, &b), 0);
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	cr_assert_eq(te_ioctl(&t, ifd2, IOMMU_IOAS_ALLOC, &a), 0);
	struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at), .pt_id = a.out_ioas_id};
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
	m.ioas_id = a.out_ioas_id;
	t.creds.locked_bytes = 6u << 20;
	cr_assert_eq(te_ioctl(&t, ifd2, IOMMU_IOAS_MAP, &m), -ENOMEM, "6 MiB mlock()ed + 4 > 8");
	t.creds.locked_bytes = 0;
	cr_assert_eq(te_ioctl(&t, ifd2, IOMMU_IOAS_MAP, &m), 0);
	cr_assert_eq(emul_locked_mm(t.e, t.creds.tgid), len);
	/* CAP_IPC_LOCK: not charged at all */
	t.creds.cap_ipc_lock = true;
	m.iova += len;
	cr_assert_eq(te_ioctl(&t, ifd2, IOMMU_IOAS_MAP, &m), 0);
	cr_assert_eq(emul_locked_mm(t.e, t.creds.tgid), len);
	munmap(mem, 3 * len);
}

Test(emul_iommufd, hwpt_and_hw_info)
{
	uint32_t devid = bind(gpu, ifd);
	uint32_t ioas = ioas_alloc();
	struct iommu_hw_info_vtd vtd;
	memset(&vtd, 0xaa, sizeof(vtd));
	struct iommu_hw_info hi = {.size = sizeof(hi), .dev_id = devid, .data_len = sizeof(vtd), .data_uptr = (uintptr_t)&vtd};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_GET_HW_INFO, &hi), 0);
	cr_assert_eq(hi.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
	cr_assert_eq(hi.data_len, sizeof(vtd));
	cr_assert_neq(vtd.cap_reg, 0, "the scenario's intel-iommu/cap");
	cr_assert_eq(vtd.flags, 0);
	hi.flags = 1;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_GET_HW_INFO, &hi), -EOPNOTSUPP);
	hi.flags = 0;
	hi.dev_id = ioas;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_GET_HW_INFO, &hi), -ENOENT);

	struct iommu_hwpt_alloc ha = {.size = sizeof(ha), .dev_id = devid, .pt_id = ioas};
	ha.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_HWPT_ALLOC, &ha), -EOPNOTSUPP, "no SLADS in this VT-d");
	ha.flags = 1u << 7;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_HWPT_ALLOC, &ha), -EOPNOTSUPP);
	ha.flags = 0;
	ha.data_len = 8;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_HWPT_ALLOC, &ha), -EINVAL, "data with type NONE");
	ha.data_len = 0;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_HWPT_ALLOC, &ha), 0);
	uint32_t hwpt = ha.out_hwpt_id;
	ha.pt_id = hwpt;
	ha.data_type = IOMMU_HWPT_DATA_VTD_S1;
	ha.data_len = 8;
	ha.data_uptr = (uintptr_t)&vtd;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_HWPT_ALLOC, &ha), -EOPNOTSUPP, "no nesting in this VT-d");
	uint32_t pt = hwpt;
	cr_assert_eq(attach(gpu, &pt), 0);
	cr_assert_eq(pt, hwpt);
	cr_assert_eq(destroy(hwpt), -EBUSY);
	/* replace with an automatic domain of the IOAS, then detach */
	pt = ioas;
	cr_assert_eq(attach(gpu, &pt), 0);
	cr_assert_neq(pt, hwpt);
	cr_assert_eq(destroy(hwpt), 0, "no longer in use");
	struct vfio_device_detach_iommufd_pt d = {.argsz = sizeof(d)};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d), 0);
	cr_assert_eq(destroy(ioas), 0);
}

Test(emul_iommufd, copy_and_allow)
{
	bind(gpu, ifd);
	uint32_t a = ioas_alloc(), b = ioas_alloc();
	size_t len = 1u << 20;
	void *mem = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map m = {.size = sizeof(m), .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, .ioas_id = a, .user_va = (uintptr_t)mem, .length = len, .iova = 0x400000};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), 0);
	struct iommu_ioas_copy cp = {.size = sizeof(cp), .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, .dst_ioas_id = b, .src_ioas_id = a, .length = len, .dst_iova = 0x800000, .src_iova = 0x400000};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_COPY, &cp), 0);
	cp.flags |= IOMMU_IOAS_MAP_WRITEABLE;
	cp.dst_iova = 0x900000;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_COPY, &cp), -EPERM, "write to read-only pages");
	cp.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE;
	cp.src_iova = 0x500000;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_COPY, &cp), -ENOENT, "past the source's mapping");
	/* both IOASes hold the same pages: pinned once when both have domains */
	uint32_t pt = b;
	cr_assert_eq(attach(gpu, &pt), 0);
	cr_assert_eq(emul_locked_user(t.e, t.creds.uid), len);
	/* allowed ranges: not over reserved ones, each start below its last */
	struct iommu_iova_range allow[1] = {{.start = 0xfee00000, .last = 0xfeefffff}};
	struct iommu_ioas_allow_iovas al = {.size = sizeof(al), .ioas_id = b, .num_iovas = 1, .allowed_iovas = (uintptr_t)allow};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOW_IOVAS, &al), -EADDRINUSE);
	allow[0] = (struct iommu_iova_range){.start = 0x10000000, .last = 0x10000000};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOW_IOVAS, &al), -EINVAL);
	allow[0].last = 0x1fffffff;
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_ALLOW_IOVAS, &al), 0);
	/* an automatic IOVA now comes from the allowed range */
	m = (struct iommu_ioas_map){.size = sizeof(m), .flags = IOMMU_IOAS_MAP_READABLE, .ioas_id = b, .user_va = (uintptr_t)mem, .length = len};
	cr_assert_eq(te_ioctl(&t, ifd, IOMMU_IOAS_MAP, &m), 0);
	cr_assert_geq(m.iova, 0x10000000);
	cr_assert_leq(m.iova + len - 1, 0x1fffffff);
	munmap(mem, len);
}
