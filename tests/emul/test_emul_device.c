/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The emulated vfio-pci device in-process: its info, regions, interrupts,
 * config space virtualization, resets and features
 * (drivers/vfio/pci/vfio_pci_core.c, vfio_pci_config.c, vfio_pci_intrs.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "emul_util.h"

static struct te t;
static int g, c, gpu, audio, g13, nic;

#define CFG(off) (VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) + (off))
#define VFIO_PCI_INDEX_TO_OFFSET(i) ((uint64_t)(i) << 40)

static void setup(void)
{
	te_setup(&t, "emul-host.yaml");
	g = te_open(&t, "dev/vfio/12", O_RDWR);
	c = te_container_for(&t, g);
	gpu = te_device_fd(&t, g, "0000:01:00.0");
	audio = te_device_fd(&t, g, "0000:01:00.1");
	g13 = te_open(&t, "dev/vfio/13", O_RDWR);
	int32_t cfd = c;
	cr_assert_eq(te_ioctl(&t, g13, VFIO_GROUP_SET_CONTAINER, &cfd), 0);
	nic = te_device_fd(&t, g13, "0000:02:00.0");
}

static void teardown(void)
{
	te_teardown(&t);
}

TestSuite(emul_device, .init = setup, .fini = teardown);

Test(emul_device, info)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_INFO, &info), 0);
	/* no FLR, no PM, and the slot has two functions: no reset (pci_probe_reset_function()) */
	cr_assert_eq(info.flags, VFIO_DEVICE_FLAGS_PCI);
	cr_assert_eq(info.num_regions, VFIO_PCI_NUM_REGIONS);
	cr_assert_eq(info.num_irqs, VFIO_PCI_NUM_IRQS);
	struct vfio_device_info small = {.argsz = 12};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_INFO, &small), -EINVAL);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_INFO, TE_BAD_PTR), -EFAULT);
	cr_assert_eq(te_ioctl_v(&t, gpu, VFIO_GROUP_GET_STATUS, 0), -ENOTTY);
	/* only a cdev binds to iommufd */
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = 0};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
	cr_assert_eq(te_ioctl_v(&t, gpu, VFIO_DEVICE_RESET, 0), -EINVAL, "reset does not work here");
}

Test(emul_device, regions)
{
	struct vfio_region_info r = {.argsz = sizeof(r), .index = VFIO_PCI_BAR0_REGION_INDEX};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	cr_assert_eq(r.size, 16u << 20);
	cr_assert_eq(r.offset, 0);
	cr_assert_eq(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, "no mmap offered");
	r = (struct vfio_region_info){.argsz = sizeof(r), .index = VFIO_PCI_BAR1_REGION_INDEX};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	cr_assert_eq(r.size, 0);
	cr_assert_eq(r.flags, 0);
	cr_assert_eq(r.offset, 1ull << 40);
	r = (struct vfio_region_info){.argsz = sizeof(r), .index = VFIO_PCI_CONFIG_REGION_INDEX};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	cr_assert_eq(r.size, 256, "no PCIe capability: 256 bytes");
	cr_assert_eq(r.offset, 7ull << 40);
	r = (struct vfio_region_info){.argsz = sizeof(r), .index = VFIO_PCI_ROM_REGION_INDEX};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	cr_assert_eq(r.size, 0);
	/* VGA: the GPU (class 0x0300) has it, the audio function not */
	r = (struct vfio_region_info){.argsz = sizeof(r), .index = VFIO_PCI_VGA_REGION_INDEX};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	cr_assert_eq(r.size, 0xc0000);
	cr_assert_eq(te_ioctl(&t, audio, VFIO_DEVICE_GET_REGION_INFO, &r), -EINVAL);
	r = (struct vfio_region_info){.argsz = sizeof(r), .index = VFIO_PCI_NUM_REGIONS};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_REGION_INFO, &r), -EINVAL);
	r = (struct vfio_region_info){.argsz = 8};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_REGION_INFO, &r), -EINVAL);
}

Test(emul_device, config_space)
{
	uint8_t cfg[256];
	cr_assert_eq(te_pread(&t, gpu, cfg, sizeof(cfg), CFG(0)), 256);
	cr_assert_eq(cfg[0] | cfg[1] << 8, 0x10de);
	cr_assert_eq(cfg[2] | cfg[3] << 8, 0x2204);
	cr_assert_eq(cfg[0x2c] | cfg[0x2d] << 8, 0x1458);
	cr_assert_eq(cfg[PCI_INTERRUPT_PIN], 1);
	cr_assert_eq(te_pread(&t, gpu, cfg, 4, CFG(254)), -EFAULT, "past the end");
	cr_assert_eq(te_pread(&t, gpu, cfg, 4, CFG(256)), -EFAULT);
	/* BAR sizing: all ones reads back the size mask and the flags */
	uint32_t v = 0xffffffff, lo, hi;
	cr_assert_eq(te_pwrite(&t, gpu, &v, 4, CFG(PCI_BASE_ADDRESS_0)), 4);
	cr_assert_eq(te_pwrite(&t, gpu, &v, 4, CFG(PCI_BASE_ADDRESS_1)), 4);
	cr_assert_eq(te_pread(&t, gpu, &lo, 4, CFG(PCI_BASE_ADDRESS_0)), 4);
	cr_assert_eq(te_pread(&t, gpu, &hi, 4, CFG(PCI_BASE_ADDRESS_1)), 4);
	cr_assert_eq(lo, 0xff000000 | PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	cr_assert_eq(hi, 0xffffffff);
	/* an unimplemented BAR stays 0 whatever is written */
	cr_assert_eq(te_pwrite(&t, gpu, &v, 4, CFG(PCI_BASE_ADDRESS_2)), 4);
	cr_assert_eq(te_pread(&t, gpu, &lo, 4, CFG(PCI_BASE_ADDRESS_2)), 4);
	cr_assert_eq(lo, 0);
	/* read-only fields stay: the vendor ID */
	uint16_t w = 0x1234;
	cr_assert_eq(te_pwrite(&t, gpu, &w, 2, CFG(PCI_VENDOR_ID)), 2);
	cr_assert_eq(te_pread(&t, gpu, &w, 2, CFG(PCI_VENDOR_ID)), 2);
	cr_assert_eq(w, 0x10de);
	/* the interrupt line is virtual and writable, the pin is not */
	uint8_t b = 0x0b;
	cr_assert_eq(te_pwrite(&t, gpu, &b, 1, CFG(PCI_INTERRUPT_LINE)), 1);
	b = 7;
	cr_assert_eq(te_pwrite(&t, gpu, &b, 1, CFG(PCI_INTERRUPT_PIN)), 1);
	uint16_t lp;
	cr_assert_eq(te_pread(&t, gpu, &lp, 2, CFG(PCI_INTERRUPT_LINE)), 2);
	cr_assert_eq(lp, 0x010b);
	/* QEMU's 6 BAR writes at reset (vfio_pci_post_reset()) */
	uint32_t z = 0;
	for (int i = 0; i < 6; i++)
		cr_assert_eq(te_pwrite(&t, gpu, &z, 4, CFG(PCI_BASE_ADDRESS_0 + 4 * i)), 4);
}

Test(emul_device, bars)
{
	uint8_t buf[64];
	uint32_t w = 0xdeadbeef;
	uint16_t cmd = 0;
	/* memory decode off: the BAR does not answer (vfio_pci_core_do_io_rw()) */
	cr_assert_eq(te_pwrite(&t, gpu, &cmd, 2, CFG(PCI_COMMAND)), 2);
	cr_assert_eq(te_pread(&t, gpu, buf, 4, 0), -EIO);
	cmd = PCI_COMMAND_MEMORY;
	cr_assert_eq(te_pwrite(&t, gpu, &cmd, 2, CFG(PCI_COMMAND)), 2);
	cr_assert_eq(te_pread(&t, gpu, &cmd, 2, CFG(PCI_COMMAND)), 2);
	cr_assert(cmd & PCI_COMMAND_MEMORY);
	memset(buf, 0x55, sizeof(buf));
	cr_assert_eq(te_pread(&t, gpu, buf, sizeof(buf), 0x100), (ssize_t)sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0);
	cr_assert_eq(te_pwrite(&t, gpu, &w, 4, 0x1000), 4);
	struct emul_bar_write last;
	cr_assert_eq(emul_bar_writes(t.e, "0000:01:00.0", &last), 1);
	cr_assert_eq(last.bar, 0);
	cr_assert_eq(last.offset, 0x1000);
	cr_assert_eq(last.value, 0xdeadbeef);
	/* the end of the BAR: a short count, then EINVAL */
	cr_assert_eq(te_pread(&t, gpu, buf, 8, (16u << 20) - 4), 4);
	cr_assert_eq(te_pread(&t, gpu, buf, 8, 16u << 20), -EINVAL);
	/* BAR1 is not implemented, the ROM has no image, no region 9 */
	cr_assert_eq(te_pread(&t, gpu, buf, 4, 1ull << 40), -EINVAL);
	cr_assert_eq(te_pread(&t, gpu, buf, 4, 6ull << 40), -EINVAL);
	cr_assert_eq(te_pwrite(&t, gpu, buf, 4, 6ull << 40), -EINVAL);
	cr_assert_eq(te_pread(&t, gpu, buf, 4, 9ull << 40), -EINVAL);
	/* VGA's legacy ranges */
	cr_assert_eq(te_pread(&t, gpu, buf, 8, (8ull << 40) + 0x3b8), 4);
	cr_assert_eq(te_pread(&t, gpu, buf, 8, (8ull << 40) + 0x100), -EINVAL);
	cr_assert_eq(te_pread(&t, gpu, buf, 1, (uint64_t)-1), -EINVAL, "a negative position");
}

Test(emul_device, irqs)
{
	struct vfio_irq_info ii = {.argsz = sizeof(ii), .index = VFIO_PCI_INTX_IRQ_INDEX};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	cr_assert_eq(ii.count, 1);
	cr_assert_eq(ii.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED);
	ii.index = VFIO_PCI_MSI_IRQ_INDEX;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	cr_assert_eq(ii.count, 0, "no MSI capability");
	ii.index = VFIO_PCI_REQ_IRQ_INDEX;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	cr_assert_eq(ii.count, 1);
	cr_assert_eq(ii.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);
	ii.index = VFIO_PCI_ERR_IRQ_INDEX;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL, "not PCIe");
	ii.index = VFIO_PCI_NUM_IRQS;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);

	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} set = {.s = {.argsz = sizeof(set), .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_INTX_IRQ_INDEX, .start = 0, .count = 1},
	         .fd = efd};
	/* mask before INTx is enabled */
	struct vfio_irq_set m = {.argsz = sizeof(m), .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 1};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &m), -EINVAL);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &set), 0);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &m), 0);
	/* loopback: DATA_NONE triggers the eventfd */
	struct vfio_irq_set trig = {.argsz = sizeof(trig), .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 1};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &trig), 0);
	uint64_t n = 0;
	cr_assert_eq(read(efd, &n, sizeof(n)), 8);
	cr_assert_eq(n, 1);
	/* INTx on: MSI cannot come too; MSI has no vectors anyway */
	struct vfio_irq_set msi = {.argsz = sizeof(msi), .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_MSI_IRQ_INDEX, .count = 1};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &msi), -EINVAL);
	/* argsz too short for the data, unknown flags, two actions, two data types */
	set.s.argsz = sizeof(set.s);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	set.s.argsz = sizeof(set);
	set.s.flags |= 1u << 10;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	set.s.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &set), -ENOTTY);
	set.s.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	/* an FD that is no eventfd, one that is not open */
	set.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.s.index = VFIO_PCI_REQ_IRQ_INDEX;
	set.fd = 0;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	set.fd = 4000;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &set), -EBADF);
	set.fd = efd;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &set), 0);
	/* INTx off (count 0), then on with no eventfd */
	struct vfio_irq_set off = {.argsz = sizeof(off), .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 0};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &off), 0);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_SET_IRQS, &m), -EINVAL, "INTx is off");
	close(efd);
}

Test(emul_device, hot_reset)
{
	struct vfio_pci_hot_reset_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &info), -ENOSPC);
	cr_assert_eq(info.count, 2, "both functions of bus 01");
	struct {
		struct vfio_pci_hot_reset_info h;
		struct vfio_pci_dependent_device d[2];
	} full = {.h = {.argsz = sizeof(full)}};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &full), 0);
	cr_assert_eq(full.h.count, 2);
	cr_assert_eq(full.h.flags, 0);
	cr_assert_eq(full.d[0].group_id, 12);
	cr_assert_eq(full.d[0].bus, 1);
	cr_assert_eq(full.d[1].devfn, 1);
	struct {
		struct vfio_pci_hot_reset h;
		int32_t fds[1];
	} hr = {.h = {.argsz = sizeof(hr), .count = 1}, .fds = {g}};
	unsigned before = emul_resets(t.e, "0000:01:00.1");
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_PCI_HOT_RESET, &hr), 0);
	cr_assert_eq(emul_resets(t.e, "0000:01:00.1"), before + 1);
	hr.fds[0] = c;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL, "not a group");
	hr.fds[0] = 4000;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EBADF);
	hr.h.count = 0;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL, "groups are required");
	hr.h.count = 3;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL, "more groups than devices");
	hr.h.count = 1;
	hr.h.flags = 1;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
}

Test(emul_device, features)
{
	struct vfio_device_feature f = {.argsz = sizeof(f), .flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), -ENOTTY, "no migration");
	f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), -EINVAL, "GET and SET");
	f.flags = 1u << 20;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), -EINVAL, "an unknown flag");
	f.argsz = 4;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), -EINVAL);
	f.argsz = sizeof(f);
	f.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), 0);
	f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), -EINVAL, "SET only");
	f.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), 0);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), -EINVAL, "entered already");
	f.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), 0);
	f.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), -ENOTTY, "not a PF");
	f.flags = VFIO_DEVICE_FEATURE_SET | 0x7777;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_FEATURE, &f), -ENOTTY);
}

Test(emul_device, ioeventfd)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	struct vfio_device_ioeventfd io = {.argsz = sizeof(io), .flags = VFIO_DEVICE_IOEVENTFD_32, .offset = 0x100, .data = 1, .fd = efd};
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_IOEVENTFD, &io), 0);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_IOEVENTFD, &io), -EEXIST);
	io.fd = -1;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_IOEVENTFD, &io), 0);
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_IOEVENTFD, &io), -ENODEV);
	io.flags = VFIO_DEVICE_IOEVENTFD_32 | VFIO_DEVICE_IOEVENTFD_16;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_IOEVENTFD, &io), -EINVAL);
	io.flags = VFIO_DEVICE_IOEVENTFD_32;
	io.offset = 7ull << 40; /* config space: only BARs */
	io.fd = efd;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_IOEVENTFD, &io), -EINVAL);
	io.offset = 16u << 20;
	cr_assert_eq(te_ioctl(&t, gpu, VFIO_DEVICE_IOEVENTFD, &io), -EINVAL, "past the BAR");
	close(efd);
}

Test(emul_device, access_modes)
{
	/* a device FD is O_RDWR; the group and the container have no read op */
	uint8_t b[4];
	cr_assert_eq(te_pread(&t, g, b, 4, 0), -EINVAL);
	cr_assert_eq(te_pread(&t, gpu, b, 0, CFG(0)), 0);
	/* reopened read-only, a cdev cannot be written (EBADF before anything) */
	int cdev = te_open(&t, "dev/vfio/devices/vfio2", O_RDONLY);
	cr_assert_geq(cdev, 0);
	cr_assert_eq(te_pwrite(&t, cdev, b, 4, CFG(0)), -EBADF);
	cr_assert_eq(te_pread(&t, cdev, b, 4, CFG(0)), -EINVAL, "not bound yet");
}

/* The NIC of emul-host.yaml: PM, MSI, MSI-X, a hidden SHPC, PCIe with FLR. */
Test(emul_device, pcie_device_with_capabilities)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_GET_INFO, &info), 0);
	cr_assert_eq(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, "FLR works");
	struct vfio_irq_info ii = {.argsz = sizeof(ii), .index = VFIO_PCI_MSI_IRQ_INDEX};
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	cr_assert_eq(ii.count, 4);
	ii.index = VFIO_PCI_MSIX_IRQ_INDEX;
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	cr_assert_eq(ii.count, 8);
	ii.index = VFIO_PCI_ERR_IRQ_INDEX;
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	cr_assert_eq(ii.count, 1, "PCIe: AER");
	/* the capability list as the user sees it: SHPC (0x90) unlinked */
	uint8_t next;
	cr_assert_eq(te_pread(&t, nic, &next, 1, CFG(0x71)), 1);
	cr_assert_eq(next, 0xa0);
	/* MSI's flags are virtual: the enable bit reads back, the hardware's stays */
	uint16_t fl = 0x0001;
	cr_assert_eq(te_pwrite(&t, nic, &fl, 2, CFG(0x52)), 2);
	cr_assert_eq(te_pread(&t, nic, &fl, 2, CFG(0x52)), 2);
	cr_assert_eq(fl, 0x0185);
	/* FLR through DEVCTL and VFIO_DEVICE_RESET both reset it */
	unsigned r0 = emul_resets(t.e, "0000:02:00.0");
	uint16_t ctl = PCI_EXP_DEVCTL_BCR_FLR;
	cr_assert_eq(te_pwrite(&t, nic, &ctl, 2, CFG(0xa0 + PCI_EXP_DEVCTL)), 2);
	cr_assert_eq(te_pread(&t, nic, &ctl, 2, CFG(0xa0 + PCI_EXP_DEVCTL)), 2);
	cr_assert_eq(ctl & PCI_EXP_DEVCTL_BCR_FLR, 0, "the FLR bit reads 0");
	cr_assert_eq(te_ioctl_v(&t, nic, VFIO_DEVICE_RESET, 0), 0);
	cr_assert_eq(emul_resets(t.e, "0000:02:00.0"), r0 + 2);
	/* the MSI-X table in BAR0 does not reach the device: 0xff, writes dropped */
	uint16_t cmd = PCI_COMMAND_MEMORY;
	cr_assert_eq(te_pwrite(&t, nic, &cmd, 2, CFG(PCI_COMMAND)), 2);
	uint8_t buf[8];
	cr_assert_eq(te_pread(&t, nic, buf, 8, 0x2000), 8);
	cr_assert_eq(buf[0], 0xff);
	cr_assert_eq(buf[7], 0xff);
	unsigned long w0 = emul_bar_writes(t.e, "0000:02:00.0", NULL);
	cr_assert_eq(te_pwrite(&t, nic, buf, 4, 0x2010), 4);
	cr_assert_eq(emul_bar_writes(t.e, "0000:02:00.0", NULL), w0);
	cr_assert_eq(te_pwrite(&t, nic, buf, 4, 0x3000), 4, "the PBA is not excluded");
	cr_assert_eq(emul_bar_writes(t.e, "0000:02:00.0", NULL), w0 + 1);
	/* MSI vectors: two eventfds, one loopback */
	int e1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), e2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct {
		struct vfio_irq_set s;
		int32_t fd[2];
	} set = {.s = {.argsz = sizeof(set), .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_MSI_IRQ_INDEX, .start = 0, .count = 2},
	         .fd = {e1, e2}};
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_SET_IRQS, &set), 0);
	struct {
		struct vfio_irq_set s;
		uint8_t b[2];
	} fire = {.s = {.argsz = sizeof(fire), .flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_MSI_IRQ_INDEX, .start = 0, .count = 2},
	          .b = {0, 1}};
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_SET_IRQS, &fire), 0);
	uint64_t n;
	cr_assert_eq(read(e1, &n, 8), -1, "vector 0 not fired");
	cr_assert_eq(read(e2, &n, 8), 8);
	/* MSI on: MSI-X cannot be enabled too */
	set.s.index = VFIO_PCI_MSIX_IRQ_INDEX;
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	set.s.index = VFIO_PCI_MSI_IRQ_INDEX;
	set.s.start = 3;
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_SET_IRQS, &set), -EINVAL, "past the 4 vectors");
	/* alone on its bus: a hot reset lists one function */
	struct {
		struct vfio_pci_hot_reset_info h;
		struct vfio_pci_dependent_device d[1];
	} full = {.h = {.argsz = sizeof(full)}};
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &full), 0);
	cr_assert_eq(full.h.count, 1);
	cr_assert_eq(full.d[0].group_id, 13);
	close(e1);
	close(e2);
}

Test(emul_device, ioeventfd_not_on_the_msix_table)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	struct vfio_device_ioeventfd io = {.argsz = sizeof(io), .flags = VFIO_DEVICE_IOEVENTFD_32, .offset = 0x2008, .data = 1, .fd = efd};
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_IOEVENTFD, &io), -EINVAL);
	io.offset = 0x1000;
	cr_assert_eq(te_ioctl(&t, nic, VFIO_DEVICE_IOEVENTFD, &io), 0);
	close(efd);
}
