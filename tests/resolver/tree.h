/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_TEST_TREE_H
#define VK_TEST_TREE_H

/*
 * Small host trees built by hand in a temp dir, with the kernel's shapes, for
 * unit tests of the resolver and for hostile layouts no scenario can express.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tree_dev {
	const char *bdf;
	const char *driver;   /* NULL: unbound */
	const char *override; /* NULL: "(null)" */
	int group;            /* -1: no iommu_group link */
	const char *cdev;     /* "vfio0", NULL: no vfio-dev/ */
	unsigned maj, min;
	bool no_dev_attr;  /* vfio-dev/<cdev>/ without `dev` */
	bool no_node;      /* no dev/vfio/devices/<cdev> */
	bool chardev_node; /* dev/vfio/devices/<cdev> a real character device maj:min,
	                       * not a stand-in file: mknod, or in a user namespace a
	                       * bind mount of /dev's device maj:min (its own mode) */
	mode_t node_mode;  /* 0: 0600 (not applied to a bound device) */
};

/* A new temp tree with the skeleton (sys/bus/pci/{devices,drivers}, dev/vfio/devices),
 * /dev/iommu (stand-in 10:123) unless !iommu. */
int tree_new(char *dir, size_t len, bool iommu);
/* Add a device under sys/devices/pci0000:00/0000:00:01.0/<bdf>, linked from sys/bus/pci/devices. */
int tree_add(const char *root, const struct tree_dev *d);
/* Write a file (creating parents), make a symlink, mkdir -p, all relative to root. */
int tree_write(const char *root, const char *rel, const char *content);
int tree_symlink(const char *root, const char *target, const char *rel);
int tree_mkdir(const char *root, const char *rel);
/* "<root>/sys/devices/pci0000:00/0000:00:01.0/<bdf>/<rel>" */
const char *tree_devpath(const char *root, const char *bdf, const char *rel, char *buf, size_t len);
/* The standard happy device: 0000:06:00.0 on vfio-pci, group 12, vfio0 511:0. */
extern const struct tree_dev tree_happy;

#endif
