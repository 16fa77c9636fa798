/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_RESOLVER_H
#define VFIOKIT_RESOLVER_H

/*
 * PCI address -> facts -> VFIO cdev path -> open FDs.
 *
 * Everything is read through a struct vk_root (see root.h), so the same calls
 * answer for the real host ("/") and for a fake host tree.  Nothing here exits,
 * prints or knows about fakesys.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfiokit/error.h>
#include <vfiokit/pci_addr.h>
#include <vfiokit/root.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VK_VFIO_DRIVER_NAME "vfio-pci"
/* Major of the misc class, which /dev/iommu belongs to. */
#define VK_VFIO_MISC_MAJOR 10u

/* Why a device has (or has not) a usable cdev, from its sysfs facts alone. */
enum vk_vfio_cdev_state {
	VK_VFIO_CDEV_OK = 0,          /* vfio-dev/vfioN/dev read, node present */
	VK_VFIO_CDEV_DEVICE_ABSENT,   /* no sys/bus/pci/devices/<BDF> */
	VK_VFIO_CDEV_NOT_VFIO,        /* bound to another driver, or to none */
	VK_VFIO_CDEV_NO_VFIO_DEV_DIR, /* vfio-pci bound but no vfio-dev/: kernel without VFIO_DEVICE_CDEV */
	VK_VFIO_CDEV_BAD_ENTRIES,     /* vfio-dev/ holds zero, several or malformed entries */
	VK_VFIO_CDEV_NO_DEV_ATTR,     /* vfio-dev/vfioN without `dev` (no cdev option, or no-IOMMU mode) */
	VK_VFIO_CDEV_BAD_DEV_ATTR,    /* `dev` is not "major:minor\n" */
	VK_VFIO_CDEV_NODE_MISSING,    /* /dev/vfio/devices/vfioN does not exist (udev/devtmpfs) */
	VK_VFIO_CDEV_NODE_ERROR,      /* the node could not be examined (fstat error, not a file) */
};

/* Everything the resolver knows about one PCI function, from one walk. */
struct vk_pci_dev_facts {
	struct vk_pci_addr addr;
	char bdf[VK_PCI_ADDR_STRLEN];
	bool present; /* sys/bus/pci/devices/<BDF> exists */

	/* IDs; -1 when the attribute is missing or unreadable. */
	int32_t vendor, device, subsystem_vendor, subsystem_device, revision;
	int64_t class_code;

	char driver[64];          /* basename of the `driver` link, "" when unbound */
	char driver_override[64]; /* "" when "(null)" or missing */
	bool has_driver_override_attr;
	long iommu_group; /* -1 when there is no `iommu_group` link */

	/* vfio-dev/ */
	bool has_vfio_dev_dir;
	char cdev_name[32]; /* "vfio3", "" when not exactly one valid entry */
	bool has_dev_attr;  /* vfio-dev/vfioN/dev exists */
	unsigned cdev_major, cdev_minor;

	/* dev/vfio/devices/vfioN */
	char node_path[64]; /* "/dev/vfio/devices/vfio3", relative to the root */
	bool node_present;
	bool node_is_chardev; /* S_ISCHR (a real host) */
	bool node_is_standin; /* a regular file: a stand-in (see standin.h) */
	uid_t node_uid;
	gid_t node_gid;
	mode_t node_mode;                          /* permission bits only */
	unsigned node_rdev_major, node_rdev_minor; /* when node_is_chardev */

	enum vk_vfio_cdev_state cdev_state;
	char cdev_problem[512]; /* what was found, when cdev_state != VK_VFIO_CDEV_OK */
};

/**
 * vk_pci_dev_facts_read() - read every fact of one PCI function in one walk.
 * @root: where to look.
 * @addr: the function.
 * @out:  receives the facts (always fully initialised, also on error).
 * @err:  receives the reason on failure (may be NULL).
 *
 * An absent device, a wrong driver or a missing cdev are facts, not errors:
 * they are reported in @out->present / @out->cdev_state and the call returns 0.
 *
 * Returns 0, or -errno when the tree could not be read at all: -ELOOP for a
 * symlink where sysfs has a plain file (a hostile tree), -EACCES, -EIO, ...
 */
int vk_pci_dev_facts_read(const struct vk_root *root, const struct vk_pci_addr *addr,
                          struct vk_pci_dev_facts *out, struct vk_error *err);

/**
 * vk_pci_driver_is_vfio_pci() - is @driver vfio-pci or one of its variant drivers?
 * @driver: the driver's name ("" or NULL: unbound).
 *
 * The variant drivers are built on vfio-pci-core and give the device a VFIO
 * cdev like vfio-pci does: mlx5_vfio_pci, hisi_acc_vfio_pci, pds_vfio_pci,
 * nvgrace_gpu_vfio_pci, virtio_vfio_pci, qat_vfio_pci (KBUILD_MODNAME),
 * xe-vfio-pci (drivers/vfio/pci/<name>/main.c, each `struct pci_driver`).  They are
 * recognised by that naming: a name ending in "vfio_pci" or "vfio-pci".
 */
bool vk_pci_driver_is_vfio_pci(const char *driver);

/**
 * vk_pci_driver_keeps_group_free() - may a device bound to @driver share an
 * IOMMU group with a device given to userspace?
 * @driver: the driver's name, "" for an unbound device.
 *
 * True for no driver, vfio-pci and its variants, pci-stub and pcieport: the
 * drivers that set driver_managed_dma, so their probe does not take the group for the kernel's
 * DMA API (drivers/pci/pci-driver.c pci_dma_configure() ->
 * iommu_device_use_default_domain()).  Any other driver makes the legacy group
 * not viable (drivers/vfio/group.c) and the iommufd bind fail with EPERM
 * (drivers/iommu/iommu.c iommu_device_claim_dma_owner()).
 */
bool vk_pci_driver_keeps_group_free(const char *driver);

/**
 * vk_vfio_cdev_lookup() - the cdev node of a device, or why there is none.
 * @f:    facts from vk_pci_dev_facts_read().
 * @path: receives the node's path relative to the root ("/dev/vfio/devices/vfioN").
 * @len:  size of @path.
 * @err:  receives the diagnosis: device, path, likely cause and the fix.
 *
 * No I/O.  Returns 0, or -ENODEV (device absent), -EINVAL (another driver,
 * none, or a malformed vfio-dev/), -EOPNOTSUPP (kernel without
 * VFIO_DEVICE_CDEV), -ENOENT (node missing in /dev).
 */
int vk_vfio_cdev_lookup(const struct vk_pci_dev_facts *f, char *path, size_t len, struct vk_error *err);

/**
 * vk_vfio_node_identity_check() - is the open @fd the node we meant to open?
 * @fd:         an open FD of a device node.
 * @major:      expected major.
 * @minor:      expected minor, or -1 for any (e.g. /dev/iommu, a misc device).
 * @is_standin: receives true when @fd is a stand-in (may be NULL).
 * @err:        receives what was found instead.
 *
 * THE one place where a real host and a fake one differ.  Accepts either
 *  - a character device whose st_rdev is major:minor (a real host), or
 *  - a regular file whose whole content is "VFIOKIT-STANDIN-CHRDEV <maj>:<min>\n"
 *    naming major:minor (a stand-in served by fakesys, see standin.h).
 * Anything else (a block device, a directory, a regular file with other content,
 * another device number) is refused.
 *
 * Returns 0, or -ENODEV when @fd is not that device, -errno of fstat/pread.
 */
int vk_vfio_node_identity_check(int fd, unsigned major, long minor, bool *is_standin,
                                struct vk_error *err);

/**
 * vk_vfio_device_open() - open one device's cdev O_RDWR|O_CLOEXEC and verify it.
 * @root: where to look.
 * @addr: the device.
 * @f:    optional: receives the facts used (may be NULL).
 * @err:  receives the device, path, errno and likely cause with a fix.
 *
 * Reads the facts, looks up the cdev, opens the node, checks its identity
 * against vfio-dev/vfioN/dev and re-reads that attribute to catch a device
 * that went away between lookup and open.
 *
 * Returns the FD, or -errno (see vk_vfio_cdev_lookup(); also -EACCES/-EPERM,
 * -EBUSY, -ENODEV/-ENXIO when the device vanished, -ESTALE when the node is
 * not the device's cdev: a stale or foreign node in /dev).
 */
int vk_vfio_device_open(const struct vk_root *root, const struct vk_pci_addr *addr,
                        struct vk_pci_dev_facts *f, struct vk_error *err);

/**
 * vk_vfio_iommufd_open() - open dev/iommu O_RDWR|O_CLOEXEC and verify it is the
 *                       iommufd misc device (or its stand-in).
 * Returns the FD or -errno with the cause and fix in @err.
 */
int vk_vfio_iommufd_open(const struct vk_root *root, struct vk_error *err);

/* One opened device of a set. */
struct vk_vfio_opened {
	struct vk_pci_addr addr;
	char bdf[VK_PCI_ADDR_STRLEN];
	int fd;             /* -1 in legacy mode */
	long iommu_group;   /* -1 when none */
	char node_path[64]; /* relative to the root */
};

/* An all-or-nothing set of opened devices. */
struct vk_vfio_set {
	int iommufd; /* -1 in legacy mode */
	size_t n;
	struct vk_vfio_opened *dev;
};

enum {
	/* Legacy group/container mode: open nothing; check each device is bound to
	 * vfio-pci, in an IOMMU group, and that /dev/vfio/<group> exists. */
	VK_VFIO_SET_LEGACY = 1u << 0,
};

/**
 * vk_vfio_set_open() - open /dev/iommu once and every device's cdev, all or nothing.
 * @root:  where to look.
 * @addrs: the devices (duplicates are refused).
 * @n:     how many.
 * @flags: VFIO_SET_* flags.
 * @out:   receives the set; release with vk_vfio_set_close().
 * @err:   the first failure: device, path, errno, cause, fix.
 *
 * On failure every FD already opened is closed and @out is left empty.
 * Returns 0 or the -errno of the failing device.
 */
int vk_vfio_set_open(const struct vk_root *root, const struct vk_pci_addr *addrs, size_t n,
                     unsigned flags, struct vk_vfio_set *out, struct vk_error *err);

/* What made a vk_vfio_set_open_diag() fail. */
struct vk_vfio_set_failure {
	/* Index in @addrs of the device that failed; VK_VFIO_SET_FAILED_IOMMUFD when
	 * /dev/iommu did; VK_VFIO_SET_FAILED_ARGS for the arguments (none, duplicates). */
	long index;
	struct vk_pci_dev_facts facts; /* the failing device's facts (index >= 0) */
};
#define VK_VFIO_SET_FAILED_IOMMUFD (-1L)
#define VK_VFIO_SET_FAILED_ARGS (-2L)

/**
 * vk_vfio_set_open_diag() - vk_vfio_set_open(), and on failure which part failed.
 * @fail: receives the failing device (index and facts) when the call fails;
 *        untouched on success.
 * Returns as vk_vfio_set_open().
 */
int vk_vfio_set_open_diag(const struct vk_root *root, const struct vk_pci_addr *addrs, size_t n, unsigned flags,
                          struct vk_vfio_set *out, struct vk_vfio_set_failure *fail, struct vk_error *err);

/* Close every FD of the set and free it; safe on an empty or closed set. */
void vk_vfio_set_close(struct vk_vfio_set *set);

#ifdef __cplusplus
}
#endif

#endif
