/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_HOST_TREE_H
#define VFIOKIT_HOST_TREE_H

#include <stdio.h>

#include <vfiokit/host_model.h>
#include <vfiokit/vtree.h>

/*
 * Stand-in device nodes.  A FUSE mount cannot serve a character device (and
 * there is no CUSE here), so fakesys shows dev/vfio/devices/vfioN, dev/iommu,
 * dev/vfio/vfio and dev/vfio/<group> as regular files whose content is one line
 *     "VFIOKIT-STANDIN-CHRDEV <major>:<minor>\n"
 * naming the device numbers the real node would have.  docs/architecture.md
 * says what a program sees on a fake host versus a real one.
 */
#define VK_STANDIN_MAGIC "VFIOKIT-STANDIN-CHRDEV"

/**
 * host_tree_build() - render a host model into the tree fakesys serves:
 * sys/bus/pci, sys/devices, sys/kernel/iommu_groups, sys/class/{iommu,vfio-dev},
 * sys/module, proc/cmdline, dev/vfio, dev/iommu, with the kernel's formats.
 * The tree is sealed on return.
 *
 * Returns 0 or a negative errno (-ENOMEM; -EEXIST/-ENAMETOOLONG for a model
 * that slipped past validation) with @err filled in.
 */
int host_tree_build(const struct host_model *m, struct vtree **out, struct vk_error *err);

/**
 * host_model_show() - print the host as a readable tree: root buses, bridges
 * and devices with ids, class, driver, IOMMU group and VFIO node.
 */
void host_model_show(const struct host_model *m, FILE *out);

#endif
