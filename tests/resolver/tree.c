/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "testutil.h"
#include "tree.h"

const struct tree_dev tree_happy = {
	.bdf = "0000:06:00.0",
	.driver = "vfio-pci",
	.group = 12,
	.cdev = "vfio0",
	.maj = 511,
	.min = 0,
};

int tree_mkdir(const char *root, const char *rel)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int mkparent(const char *root, const char *rel)
{
	char d[4096];
	snprintf(d, sizeof(d), "%s", rel);
	char *slash = strrchr(d, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	return tree_mkdir(root, d);
}

int tree_write(const char *root, const char *rel, const char *content)
{
	char p[4096];
	int r = mkparent(root, rel);
	if (r < 0)
		return r;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t n = strlen(content);
	ssize_t w = write(fd, content, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -EIO;
}

int tree_symlink(const char *root, const char *target, const char *rel)
{
	char p[4096];
	int r = mkparent(root, rel);
	if (r < 0)
		return r;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return symlink(target, p) < 0 ? -errno : 0;
}

const char *tree_devpath(const char *root, const char *bdf, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/sys/devices/pci0000:00/0000:00:01.0/%s%s%s", root, bdf, rel && *rel ? "/" : "",
	         rel ? rel : "");
	return buf;
}

int tree_new(char *dir, size_t len, bool iommu)
{
	int r = vk_mkdtemp(dir, len);
	if (r < 0)
		return r;
	if ((r = tree_mkdir(dir, "sys/bus/pci/devices")) < 0 || (r = tree_mkdir(dir, "sys/bus/pci/drivers")) < 0 ||
	    (r = tree_mkdir(dir, "sys/kernel/iommu_groups")) < 0 ||
	    (r = tree_mkdir(dir, "sys/devices/pci0000:00/0000:00:01.0")) < 0 ||
	    (r = tree_mkdir(dir, "dev/vfio/devices")) < 0)
		return r;
	if (iommu && (r = tree_write(dir, "dev/iommu", "VFIOKIT-STANDIN-CHRDEV 10:123\n")) < 0)
		return r;
	return 0;
}

/*
 * A real character device node rdev at path: mknod(2) where it is allowed.
 * In a user namespace (the tests' root as an ordinary user, tests/lib/run-test.sh)
 * mknod of a device needs CAP_MKNOD in the initial namespace (vfs_mknod() in
 * fs/namei.c); only 0:0, overlayfs's whiteout, is let through (since 5.8,
 * a3c751a50fe6 "vfs: allow unprivileged whiteout creation").  There, a device
 * of /dev with that number is bind-mounted over a plain file instead (the
 * test's mount namespace is its own; vk_rm_rf() unmounts it).  Returns 0 for
 * a node made, 1 for a device bound (which keeps its own owner and mode),
 * -errno otherwise.
 */
static int chardev_node(const char *path, mode_t mode, dev_t rdev)
{
	struct stat st;
	char src[300] = "";
	int fd;

	if (mknod(path, S_IFCHR | mode, rdev) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	DIR *d = opendir("/dev");
	if (!d)
		return -EPERM;
	for (struct dirent *e; !*src && (e = readdir(d));) {
		char p[300];
		snprintf(p, sizeof(p), "/dev/%s", e->d_name);
		if (lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev)
			snprintf(src, sizeof(src), "%s", p);
	}
	closedir(d);
	if (!*src)
		return -EPERM; /* no such device to bind: as mknod said */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -errno;
	close(fd);
	if (mount(src, path, NULL, MS_BIND, NULL) < 0)
		return -errno;
	return 1;
}

int tree_add(const char *root, const struct tree_dev *d)
{
	char dev[256], p[1024], t[2048], c[128];
	bool do_chmod = true;
	int r;

	snprintf(dev, sizeof(dev), "sys/devices/pci0000:00/0000:00:01.0/%s", d->bdf);
#define W(name, val) \
	do { \
		snprintf(p, sizeof(p), "%s/%s", dev, name); \
		if ((r = tree_write(root, p, val)) < 0) \
			return r; \
	} while (0)
	W("vendor", "0x10de\n");
	W("device", "0x2204\n");
	W("subsystem_vendor", "0x1458\n");
	W("subsystem_device", "0x403b\n");
	W("class", "0x030000\n");
	W("revision", "0xa1\n");
	snprintf(c, sizeof(c), "%s\n", d->override ? d->override : "(null)");
	W("driver_override", c);
	snprintf(p, sizeof(p), "sys/bus/pci/devices/%s", d->bdf);
	snprintf(t, sizeof(t), "../../../devices/pci0000:00/0000:00:01.0/%s", d->bdf);
	if ((r = tree_symlink(root, t, p)) < 0)
		return r;
	if (d->driver) {
		snprintf(p, sizeof(p), "sys/bus/pci/drivers/%s", d->driver);
		if ((r = tree_mkdir(root, p)) < 0)
			return r;
		snprintf(p, sizeof(p), "%s/driver", dev);
		snprintf(t, sizeof(t), "../../../../bus/pci/drivers/%s", d->driver);
		if ((r = tree_symlink(root, t, p)) < 0)
			return r;
	}
	if (d->group >= 0) {
		snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/devices", d->group);
		if ((r = tree_mkdir(root, p)) < 0)
			return r;
		snprintf(p, sizeof(p), "%s/iommu_group", dev);
		snprintf(t, sizeof(t), "../../../../kernel/iommu_groups/%d", d->group);
		if ((r = tree_symlink(root, t, p)) < 0)
			return r;
		snprintf(p, sizeof(p), "dev/vfio/%d", d->group);
		if ((r = tree_write(root, p, "VFIOKIT-STANDIN-CHRDEV 509:0\n")) < 0)
			return r;
	}
	if (d->cdev) {
		snprintf(p, sizeof(p), "%s/vfio-dev/%s", dev, d->cdev);
		if ((r = tree_mkdir(root, p)) < 0)
			return r;
		if (!d->no_dev_attr) {
			snprintf(p, sizeof(p), "%s/vfio-dev/%s/dev", dev, d->cdev);
			snprintf(c, sizeof(c), "%u:%u\n", d->maj, d->min);
			if ((r = tree_write(root, p, c)) < 0)
				return r;
		}
		if (!d->no_node) {
			mode_t mode = d->node_mode ? d->node_mode : 0600;
			snprintf(p, sizeof(p), "dev/vfio/devices/%s", d->cdev);
			snprintf(t, sizeof(t), "%s/%s", root, p);
			if (d->chardev_node) {
				if ((r = chardev_node(t, mode, makedev(d->maj, d->min))) < 0)
					return r;
				if (r > 0) /* a bound device keeps its mode: chmod would change the real one */
					do_chmod = false;
			} else {
				snprintf(c, sizeof(c), "VFIOKIT-STANDIN-CHRDEV %u:%u\n", d->maj, d->min);
				if ((r = tree_write(root, p, c)) < 0)
					return r;
			}
			if (do_chmod && chmod(t, mode) < 0)
				return -errno;
		}
	}
#undef W
	return 0;
}
