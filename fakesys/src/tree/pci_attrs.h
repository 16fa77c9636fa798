/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A PCI device's sysfs attributes, and its driver's and the bus's, as the
 * kernel declares them (tree/pci_attrs.c: the DEVICE_ATTR tables of
 * drivers/pci/pci-sysfs.c, iov.c and pci-driver.c), for host_tree.c.
 */
#ifndef VFIOKIT_TREE_PCI_ATTRS_H
#define VFIOKIT_TREE_PCI_ATTRS_H

#include <stdbool.h>

#include <vfiokit/host_model.h>
#include <vfiokit/vtree.h>

enum tree_attr_table {
	TREE_ATTRS_DEVICE, /* a device's directory */
	TREE_ATTRS_DRIVER, /* sys/bus/pci/drivers/<driver> */
	TREE_ATTRS_BUS,    /* sys/bus/pci */
};

/* The attribute files of table @which in @dir, for device @d (NULL but for
 * TREE_ATTRS_DEVICE): 0, or -errno with the failing attribute's name in *@failed. */
int tree_pci_attrs(struct vtree *t, struct vk_vt_node *dir, enum tree_attr_table which,
                   const struct vk_host_model *m, const struct vk_host_device *d, const char **failed);

/* How many lines device @d's sysfs resource file has. */
unsigned tree_pci_resource_lines(const struct vk_host_device *d);

/* Line @i (< tree_pci_resource_lines()) of device @d's sysfs resource file:
 * its start, end and flags, what drivers/pci/proc.c's devices list shows too. */
void tree_pci_resource(const struct vk_host_model *m, const struct vk_host_device *d, unsigned i, uint64_t r[3]);

/* A PCI-to-PCI or CardBus bridge (class 0x0604, 0x0609). */
static inline bool tree_is_bridge(const struct vk_host_device *d)
{
	return (d->class_code >> 8) == 0x0604 || (d->class_code >> 8) == 0x0609;
}

#endif
