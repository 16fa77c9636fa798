/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host-info reader the doctor and the recorder share: IOMMU unit kinds and
 * whether /proc/interrupts shows remapping chips. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vfiokit/hostinfo.h>

#include "testutil.h"
#include "tree.h"

static char dir[256];

static void setup(void)
{
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

TestSuite(hostinfo, .init = setup, .fini = teardown);

/* vk_interrupt_remapping_in_use() on a tree whose /proc/interrupts is @text. */
static int ir_of(const char *text)
{
	struct vk_root *r;
	int before = vk_fd_count();

	if (text)
		cr_assert_eq(tree_write(dir, "proc/interrupts", text), 0);
	cr_assert_eq(vk_root_open(dir, 0, &r, NULL), 0);
	int ir = vk_interrupt_remapping_in_use(r);
	vk_root_close(r);
	cr_assert_eq(vk_fd_count(), before, "FD leak");
	return ir;
}

Test(hostinfo, unit_kinds)
{
	cr_assert_eq(vk_iommu_unit_kind("dmar0"), VK_IOMMU_KIND_INTEL);
	cr_assert_eq(vk_iommu_unit_kind("ivhd1"), VK_IOMMU_KIND_AMD);
	cr_assert_eq(vk_iommu_unit_kind("smmu3.0x0000000009050000"), VK_IOMMU_KIND_SMMU);
	cr_assert_eq(vk_iommu_unit_kind("viommu0"), VK_IOMMU_KIND_VIRTIO);
	cr_assert_eq(vk_iommu_unit_kind("dma"), VK_IOMMU_KIND_UNKNOWN);
	cr_assert_eq(vk_iommu_unit_kind(""), VK_IOMMU_KIND_UNKNOWN);
	cr_assert_eq(vk_iommu_unit_kind(NULL), VK_IOMMU_KIND_UNKNOWN);
}

Test(hostinfo, remapping_chips)
{
	cr_assert_eq(ir_of("           CPU0       CPU1\n"
	                   " 24:          0          0  IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]\n"),
	             1);
	cr_assert_eq(ir_of("           CPU0       CPU1\n"
	                   " 24:          0          0   PCI-MSI 512000-edge      ahci[0000:00:1f.2]\n"),
	             0);
	/* "IR-" inside a device's name is no chip */
	cr_assert_eq(ir_of(" 30:          0          0   PCI-MSI 1-edge      xIR-sensor\n"), 0);
	cr_assert_eq(ir_of(""), 0);
}

/* A chip name cut by the end of the 64 KiB the reader takes at a time. */
Test(hostinfo, mark_across_pieces)
{
	for (size_t cut = 65536 - 4; cut <= 65536 + 1; cut++) {
		char *s = malloc(cut + 32);
		cr_assert_not_null(s);
		memset(s, 'x', cut);
		strcpy(s + cut - 2, " IR-PCI-MSI\n");
		cr_assert_eq(ir_of(s), 1, "mark at %zu", cut - 2);
		free(s);
	}
}

Test(hostinfo, unreadable)
{
	cr_assert_eq(ir_of(NULL), -ENOENT);
	/* a FIFO where the file should be: refused, never waited on */
	cr_assert_eq(tree_mkdir(dir, "proc"), 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/proc/interrupts", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	int ir = ir_of(NULL);
	cr_assert_lt(ir, 0, "a FIFO: %d", ir);
}
