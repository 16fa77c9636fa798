/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_VALIDATOR_RULES_H
#define VFIOKIT_VALIDATOR_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <vfiokit/pci_addr.h>
#include <vfiokit/qemu_cmdline.h>

bool vk__is_vfio_pci(const struct vk_qc_option *o);
bool vk__is_iommufd_object(const struct vk_qc_option *o);
int vk__qemu_host_parse(const char *s, struct vk_pci_addr *out);
int vk__vfio_device_addr(const struct vk_qc_option *o, struct vk_pci_addr *out);
bool vk__is_placeholder(const char *s);
void vk__subject(const struct vk_qc_option *o, char *buf, size_t len);

#include <vfiokit/qdev_model.h>
#include <vfiokit/validator.h>

/* qapi_bool_parse(): 1 on/yes/true/y, 0 off/no/false/n, -1 otherwise. */
int vk__qemu_bool(const char *s);
/* QEMU's message when @v is not a value of @p's type (into @buf), or NULL (fine, or a type not judged). */
const char *vk__qdev_value_error(const struct vk_qdev_prop *p, const struct vk_qc_prop *v, bool json, char *buf,
                                 size_t len);
/* addr= of a PCI device as set_pci_devfn() reads it: 0 and the devfn (-1: automatic), or -EINVAL. */
int vk__pci_devfn_parse(const struct vk_qc_prop *v, int *devfn);
/* The qdev rules (VV020-VV029): properties, then the PCI topology. */
int vk__check_qdev(const struct vk_qc_cmdline *c, const struct vk_qemu_caps *caps, struct vk_report *r);
int vk__check_pci_topology(const struct vk_qc_cmdline *c, const struct vk_qemu_caps *caps, struct vk_report *r);
/* Whether the model describes the target QEMU exactly (a binary, or the table of that version). */
bool vk__model_exact(const struct vk_qemu_caps *caps);

#endif
