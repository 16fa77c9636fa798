/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_QEMU_ARGV_H
#define VFIOKIT_QEMU_ARGV_H

#include <stddef.h>

#include <vfiokit/error.h>
#include <vfiokit/resolver.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The two syntaxes QEMU accepts for -object and -device. */
enum vk_qemu_syntax {
	VK_QEMU_SYNTAX_KEYVAL, /* iommufd,id=iommufd0,fd=21 (',' in a value doubled) */
	VK_QEMU_SYNTAX_JSON,   /* {"qom-type":"iommufd","id":"iommufd0","fd":"21"} */
};

enum {
	/* Never write host= beside fd= (what libvirt generates). */
	VK_QEMU_ARGV_NO_HOST = 1u << 0,
};

/* A NULL-terminated argument vector; argv[argc] == NULL. */
struct vk_qemu_argv {
	size_t argc;
	char **argv;
};

/**
 * vk_qemu_argv_build() - QEMU arguments for an opened set.
 * @set:    from vk_vfio_set_open(); a set with iommufd < 0 is a legacy set.
 * @syntax: key=value or JSON.
 * @flags:  QEMU_ARGV_* flags.
 * @out:    receives the vector; free with vk_qemu_argv_free().
 * @err:    receives the reason on failure.
 *
 * cdev sets give "-object iommufd,id=iommufd0,fd=N" and per device
 * "-device vfio-pci,host=BDF,id=hostdevI,iommufd=iommufd0,fd=M".
 *
 * host= choice: QEMU parses host= as [domain:]bus:slot.fn with a 16-bit
 * domain and refuses a 32-bit (Intel VMD) domain such as 10000:e0:06.0.  With
 * fd= the device is already identified by the FD; host= then only names the
 * device in QEMU's messages and lets its hot-reset code find the device in the
 * dependent-devices list.  So host= is written when the domain fits 16 bits and
 * left out (fd= alone, as libvirt does for every device) when it does not, or
 * always with VK_QEMU_ARGV_NO_HOST.
 *
 * Legacy sets give "-device vfio-pci,host=BDF,id=hostdevI" (QEMU opens
 * /dev/vfio/<group> itself); a 32-bit domain is named by
 * sysfsdev=/sys/bus/pci/devices/<BDF> instead, which QEMU accepts for any domain.
 *
 * Returns 0, -ENOMEM, or -EINVAL for an empty set.
 */
int vk_qemu_argv_build(const struct vk_vfio_set *set, enum vk_qemu_syntax syntax, unsigned flags,
                       struct vk_qemu_argv *out, struct vk_error *err);

/* Free the vector and its strings; safe on a zeroed struct. */
void vk_qemu_argv_free(struct vk_qemu_argv *a);

/**
 * vk_qemu_keyval_escape() - a value for QEMU's key=value syntax: every ',' doubled.
 * Returns a malloc'd string, or NULL on ENOMEM.
 */
char *vk_qemu_keyval_escape(const char *value);

#ifdef __cplusplus
}
#endif

#endif
