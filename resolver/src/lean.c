/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The success path of opening a device's VFIO cdev, lean (issue #17): the
 * checks the full path makes (facts.c, open.c) — the strict address (parsed
 * before any call), exactly one "vfio<digits>" directory in vfio-dev/, a
 * `dev` attribute that is a regular file holding strict "major:minor", the
 * node opened read-write and identified against it (a character device with
 * that st_rdev, or the stand-in naming it: vk_vfio_node_identity_check()), the
 * device still there after the open — without the facts nobody asked for
 * (ids, driver, override).  With openat2, per device:
 *
 *   openat2 vfio-dev/ (O_NOFOLLOW)       1
 *   getdents64 until it is empty         2
 *   openat2 dev/vfio/devices/vfioN rw    1
 *   openat2, fstat, read, close `dev`    4   (after the open: the device is
 *                                             still bound to that number)
 *   fstat (+ pread of a stand-in)        1-2
 *   readlinkat ../iommu_group            1
 *   close vfio-dev/                      1
 *                                        11 on a real host, 12 on a fake one
 *
 * libvirt's lookup (qemuProcessOpenVfioDeviceFd(), virPCIDeviceGetVfioPath())
 * is opendir, readdir, closedir and open: 5 + open, and checks nothing.
 * A device whose `dev` attribute is gone once its node is open went away
 * meanwhile (-ENODEV, as the full path reports it); anything else not as on
 * a healthy host gives -EAGAIN, everything opened here is closed, and the
 * caller takes the full path, whose facts explain it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include "internal.h"

/* The group number the link @dirfd/@rel points to (its basename, digits
 * only), or -1 for no link; -EAGAIN for anything else. */
static long read_group(int dirfd, const char *rel)
{
	char buf[256];
	ssize_t n = vk__readlinkat(dirfd, rel, buf, sizeof(buf) - 1);

	if (n < 0)
		return errno == ENOENT ? -1 : -EAGAIN;
	buf[n] = '\0';
	const char *b = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
	char *end;
	errno = 0;
	long g = strtol(b, &end, 10);
	if (*b < '0' || *b > '9' || *end || errno || g < 0)
		return -EAGAIN;
	return g;
}

/* The `dev` attribute @rel below @dirfd: a regular file holding strict
 * "major:minor\n" in one read.  0, -ENOENT when it is gone, or -EAGAIN. */
static int read_dev(const struct vk_root *root, int dirfd, const char *rel, unsigned *maj, unsigned *min)
{
	int fd = vk_root_openat_nofollow(root, dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char buf[64];
	ssize_t n = -1;

	if (fd < 0)
		return fd == -ENOENT || fd == -ENODEV ? -ENOENT : -EAGAIN;
	/* sysfs hands out a whole attribute in one read; a full buffer is
	 * something else */
	if (vk__fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		n = vk__read(fd, buf, sizeof(buf) - 1);
	vk__close(fd);
	if (n <= 0 || n == (ssize_t)sizeof(buf) - 1)
		return -EAGAIN;
	buf[n] = '\0';
	return vk__parse_majmin(buf, maj, min) < 0 ? -EAGAIN : 0;
}

int vk__device_open_lean(const struct vk_root *root, const struct vk_pci_addr *addr, long *group, char *node_path,
                         size_t len, struct vk_error *err)
{
	struct vk_pci_dev_facts f;
	char rel[96], path[64];
	unsigned maj, min;
	int fd = -1, r = -EAGAIN;

	vk__facts_init(&f, addr);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vfio-dev", f.bdf);
	/* O_NOFOLLOW: vfio-dev is a directory in sysfs, never a link */
	int vfd = vk_root_openat(root, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (vfd < 0)
		return -EAGAIN;
	if (vk__scan_vfio_dev(vfd, &f) < 0 || !f.cdev_name[0])
		goto out;
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", f.cdev_name);
	fd = vk_root_openat(root, path, O_RDWR);
	if (fd == -ENOENT || fd == -ENODEV || fd == -ENXIO) {
		/* a node that never was (the full path says so), or a device that
		 * went away since it was listed: its listing differs now */
		struct vk_pci_dev_facts now;
		if (vk_pci_dev_facts_read(root, addr, &now, NULL) == 0 && strcmp(now.cdev_name, f.cdev_name))
			r = vk__open_error(root, f.bdf, "VFIO device", path, -fd, false, 0, 0, 0, -1, err);
		fd = -1;
		goto out;
	}
	if (fd < 0)
		goto out;
	/* read after the open: the number the device has now, so that a device
	 * unbound or rebound since the listing fails here as in the full path */
	snprintf(rel, sizeof(rel), "%s/dev", f.cdev_name);
	int e = read_dev(root, vfd, rel, &maj, &min);
	struct stat st;
	if (e == -ENOENT && vk__fstatat(vfd, f.cdev_name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		/* listed, its node opened, and now its vfio-dev entry is gone
		 * (a missing `dev` alone is the full path's to explain) */
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vfio-dev/%s/dev", f.bdf, f.cdev_name);
		r = vk__went_away(root, f.bdf, rel, ENOENT, path, err);
		goto out;
	}
	if (e < 0 || vk_vfio_node_identity_check(fd, maj, (long)min, NULL, NULL) < 0)
		goto out;
	long g = read_group(vfd, "../iommu_group");
	if (g == -EAGAIN || (size_t)snprintf(node_path, len, "%s", path) >= len)
		goto out;
	*group = g;
	r = fd;
	fd = -1;
out:
	if (fd >= 0)
		vk__close(fd);
	vk__close(vfd);
	return r;
}
