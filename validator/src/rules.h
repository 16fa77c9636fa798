/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_VALIDATOR_RULES_H
#define VFIOKIT_VALIDATOR_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <vfiokit/pci_addr.h>
#include <vfiokit/qemu_cmdline.h>

bool vk__is_vfio_pci(const struct qc_option *o);
bool vk__is_iommufd_object(const struct qc_option *o);
int vk__qemu_host_parse(const char *s, struct pci_addr *out);
int vk__vfio_device_addr(const struct qc_option *o, struct pci_addr *out);
bool vk__is_placeholder(const char *s);
void vk__subject(const struct qc_option *o, char *buf, size_t len);

#endif
