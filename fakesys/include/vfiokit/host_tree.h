/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_HOST_TREE_H
#define VFIOKIT_HOST_TREE_H

#include <stdio.h>

#include <vfiokit/host_model.h>
#include <vfiokit/vtree.h>

/* Device nodes are stand-ins (regular files), see <vfiokit/standin.h>. */
#include <vfiokit/standin.h>

/*
 * What a write to a sysfs file does (struct vk_vt_node.store): the "store" half of
 * a kernel attribute, named where the tree declares the file, so that the live
 * mode dispatches on it instead of guessing from the path.
 */
enum vk_host_store {
	VK_HOST_STORE_NONE = 0,
	VK_HOST_STORE_BIND,      /* sys/bus/pci/drivers/<drv>/bind */
	VK_HOST_STORE_UNBIND,    /* sys/bus/pci/drivers/<drv>/unbind */
	VK_HOST_STORE_NEW_ID,    /* sys/bus/pci/drivers/<drv>/new_id */
	VK_HOST_STORE_PROBE,     /* sys/bus/pci/drivers_probe */
	VK_HOST_STORE_OVERRIDE,  /* <device>/driver_override */
	VK_HOST_STORE_REMOVE,    /* <device>/remove */
	VK_HOST_STORE_NUMVFS,    /* <device>/sriov_numvfs */
	VK_HOST_STORE_REMOVE_ID, /* sys/bus/pci/drivers/<drv>/remove_id */
};

/**
 * vk_host_tree_build() - render a host model into the tree fakesys serves:
 * sys/bus/pci, sys/devices, sys/kernel/iommu_groups, sys/class/{iommu,vfio-dev},
 * sys/module, proc/cmdline, dev/vfio, dev/iommu, with the kernel's formats.
 * The tree is sealed on return.
 *
 * Returns 0 or a negative errno (-ENOMEM; -EEXIST/-ENAMETOOLONG for a model
 * that slipped past validation) with @err filled in.
 */
int vk_host_tree_build(const struct vk_host_model *m, struct vtree **out, struct vk_error *err);

/**
 * vk_host_model_show() - print the host as a readable tree: root buses, bridges
 * and devices with ids, class, driver, IOMMU group and VFIO node, drawn with
 * UTF-8 box-drawing characters.
 */
void vk_host_model_show(const struct vk_host_model *m, FILE *out);

/* vk_host_model_show_with() flags */
#define VK_HOST_SHOW_ASCII 0x1u /* draw with |- `- | (a locale whose charset is not UTF-8) */

/* vk_host_model_show() drawn as @flags say. */
void vk_host_model_show_with(const struct vk_host_model *m, FILE *out, unsigned flags);

#endif
