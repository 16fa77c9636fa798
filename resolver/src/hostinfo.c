/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/hostinfo.h>

enum vk_iommu_kind vk_iommu_unit_kind(const char *name)
{
	static const struct {
		const char *prefix;
		enum vk_iommu_kind kind;
	} prefixes[] = {
		{"dmar", VK_IOMMU_KIND_INTEL},
		{"ivhd", VK_IOMMU_KIND_AMD},
		{"smmu", VK_IOMMU_KIND_SMMU},
		{"viommu", VK_IOMMU_KIND_VIRTIO},
	};

	for (size_t i = 0; name && i < VK_ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i].prefix, strlen(prefixes[i].prefix)))
			return prefixes[i].kind;
	return VK_IOMMU_KIND_UNKNOWN;
}

/*
 * The chip column of a line of /proc/interrupts is set off by blanks
 * (kernel/irq/proc.c show_interrupts()), and the remapping domains name their
 * chips "IR-PCI-MSI", "IR-IO-APIC"... (drivers/iommu/intel/irq_remapping.c,
 * drivers/iommu/amd/iommu.c), so " IR-" is the chip's name starting.
 */
#define IR_MARK " IR-"

int vk_interrupt_remapping_in_use(const struct vk_root *root)
{
	enum { INTERRUPTS_MAX = 64 << 20,
	       KEEP = sizeof(IR_MARK) - 2 };
	_cleanup_close_ int fd = vk_root_open_regular(root, -1, "/proc/interrupts", NULL);
	char buf[65536 + KEEP];
	size_t keep = 0, total = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n = read(fd, buf + keep, sizeof(buf) - 1 - keep);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		total += (size_t)n;
		buf[keep + (size_t)n] = '\0';
		if (strstr(buf, IR_MARK))
			return 1;
		if (total > INTERRUPTS_MAX)
			return -EFBIG;
		/* a mark cut by the end of this piece is found with the next one */
		size_t tot = keep + (size_t)n;
		keep = tot < KEEP ? tot : KEEP;
		memmove(buf, buf + tot - keep, keep);
	}
}
