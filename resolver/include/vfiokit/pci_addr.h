/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_PCI_ADDR_H
#define VFIOKIT_PCI_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/error.h>

/*
 * A PCI function address.  The domain is 32 bits wide: Intel VMD puts the
 * devices behind it in domains from 0x10000 up, which the kernel prints with
 * five or more hex digits ("10000:e0:06.0").
 */
struct vk_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t slot;     /* 0..31 */
	uint8_t function; /* 0..7 */
};

/* "dddd:bb:ss.f" with a 32-bit domain is at most 8+1+2+1+2+1+1 chars + NUL. */
#define VK_PCI_ADDR_STRLEN 17

/**
 * vk_pci_addr_parse() - parse a PCI address strictly.
 * @s:   "DDDD:BB:SS.F" (domain of 1 to 8 hex digits) or "BB:SS.F" (domain 0);
 *       hex digits in either case; nothing before or after.
 * @out: receives the address.
 * @err: receives a message saying what was wrong (may be NULL).
 *
 * Returns 0, or -EINVAL when @s is not an address (empty, junk, a field out of
 * range such as slot > 0x1f or function > 7, a bus not of exactly two digits).
 */
int vk_pci_addr_parse(const char *s, struct vk_pci_addr *out, struct vk_error *err);

/**
 * vk_pci_addr_format() - the kernel's spelling: "%04x:%02x:%02x.%x".
 * @a:   address.
 * @buf: at least VK_PCI_ADDR_STRLEN bytes.
 *
 * Returns @buf.  Domains above 0xffff print with more digits, as sysfs does.
 */
char *vk_pci_addr_format(const struct vk_pci_addr *a, char buf[static VK_PCI_ADDR_STRLEN]);

/* Total order (domain, bus, slot, function); returns <0, 0, >0 like strcmp. */
int vk_pci_addr_cmp(const struct vk_pci_addr *a, const struct vk_pci_addr *b);

/* True when both name the same function. */
bool vk_pci_addr_equal(const struct vk_pci_addr *a, const struct vk_pci_addr *b);

#endif
