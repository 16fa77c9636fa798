/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a host says about its IOMMUs, read the same way by every part that
 * needs it (the doctor's checks, the recorder): the kind of an IOMMU unit from
 * its name in /sys/class/iommu, and whether interrupt remapping is in use.
 */
#ifndef VFIOKIT_HOSTINFO_H
#define VFIOKIT_HOSTINFO_H

#include <vfiokit/root.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kinds of IOMMU unit, by the name the kernel gives a unit. */
enum vk_iommu_kind {
	VK_IOMMU_KIND_UNKNOWN = 0,
	VK_IOMMU_KIND_INTEL,  /* "dmarN": drivers/iommu/intel/dmar.c alloc_iommu() */
	VK_IOMMU_KIND_AMD,    /* "ivhdN": drivers/iommu/amd/init.c iommu_init_pci() */
	VK_IOMMU_KIND_SMMU,   /* "smmu3.0x...": drivers/iommu/arm/arm-smmu-v3 arm_smmu_device_probe() */
	VK_IOMMU_KIND_VIRTIO, /* "viommu...": virtio-iommu */
};

/**
 * vk_iommu_unit_kind() - the kind of the IOMMU unit listed in /sys/class/iommu
 * as @name, or VK_IOMMU_KIND_UNKNOWN.
 */
enum vk_iommu_kind vk_iommu_unit_kind(const char *name);

/**
 * vk_interrupt_remapping_in_use() - whether /proc/interrupts under @root names
 * interrupt-remapping irq chips ("IR-PCI-MSI", "IR-IO-APIC", "IR-..."), which is
 * how every vendor's remapping shows once it is enabled (the Intel ecap bit
 * says only that it is supported).
 *
 * Opened as vk_root_open_regular() opens (no blocking on a FIFO) and scanned
 * in pieces: the file runs to megabytes on a machine with many CPUs.
 *
 * Returns 1 in use, 0 not, or a negative errno when unreadable (-EFBIG past
 * 64 MiB: not /proc/interrupts).
 */
int vk_interrupt_remapping_in_use(const struct vk_root *root);

#ifdef __cplusplus
}
#endif

#endif
