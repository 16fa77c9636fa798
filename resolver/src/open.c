/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>
#include <vfiokit/standin.h>

#include "internal.h"

static const char *shown_path(const struct vk_root *root, const char *rel, char *buf, size_t len)
{
	if (!root) {
		snprintf(buf, len, "/%s", rel[0] == '/' ? rel + 1 : rel);
		return buf;
	}
	return vk_root_path(root, rel, buf, len);
}

/* The fix for a device that is not on vfio-pci (shared by cdev and legacy mode). */
static int not_vfio_error(const struct vk_root *root, const struct vk_pci_dev_facts *f, struct vk_error *err)
{
	char p[PATH_MAX], rel[96];
	const char *noiommu = f->iommu_group < 0
	                              ? "; note: the device has no IOMMU group, so the IOMMU is off or absent: enable it "
	                                "(intel_iommu=on or amd_iommu=on on the kernel command line, VT-d/AMD-Vi in "
	                                "firmware) before binding vfio-pci"
	                              : "";

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vfio-dev", f->bdf);
	shown_path(root, rel, p, sizeof(p));
	if (f->driver[0])
		return vk_error_set(err, EINVAL,
		                    "%s: bound to driver '%s', not vfio-pci (%s: %s); fix: `driverctl set-override %s "
		                    "vfio-pci`, or: echo vfio-pci > /sys/bus/pci/devices/%s/driver_override; echo %s > "
		                    "/sys/bus/pci/drivers/%s/unbind; echo %s > /sys/bus/pci/drivers_probe%s%s%s%s",
		                    f->bdf, f->driver, p, vk__errname(ENOENT), f->bdf, f->bdf, f->bdf, f->driver,
		                    f->bdf, f->driver_override[0] ? " (driver_override is currently '" : "",
		                    f->driver_override, f->driver_override[0] ? "')" : "", noiommu);
	return vk_error_set(err, EINVAL,
	                    "%s: not bound to any driver (%s: %s); fix: modprobe vfio-pci; then `driverctl "
	                    "set-override %s vfio-pci`, or: echo vfio-pci > /sys/bus/pci/devices/%s/driver_override; "
	                    "echo %s > /sys/bus/pci/drivers_probe%s%s%s%s",
	                    f->bdf, p, vk__errname(ENOENT), f->bdf, f->bdf, f->bdf,
	                    f->driver_override[0] ? " (driver_override is currently '" : "", f->driver_override,
	                    f->driver_override[0] ? "')" : "", noiommu);
}

static int lookup_with_root(const struct vk_root *root, const struct vk_pci_dev_facts *f, char *path, size_t len,
                            struct vk_error *err)
{
	char p[PATH_MAX], rel[128];

	switch (f->cdev_state) {
	case VK_VFIO_CDEV_OK:
		if (snprintf(path, len, "%s", f->node_path) >= (int)len)
			return vk_error_set(err, ENAMETOOLONG, "%s: buffer too small for %s", f->bdf, f->node_path);
		return 0;
	case VK_VFIO_CDEV_DEVICE_ABSENT:
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", f->bdf);
		return vk_error_set(err, ENODEV,
		                    "%s: no such PCI device: %s does not exist (%s); likely cause: a wrong address "
		                    "(domain:bus:slot.function, see `lspci -D`), or the device was removed or hot-unplugged",
		                    f->bdf, shown_path(root, rel, p, sizeof(p)), vk__errname(ENOENT));
	case VK_VFIO_CDEV_NOT_VFIO:
		return not_vfio_error(root, f, err);
	case VK_VFIO_CDEV_NO_VFIO_DEV_DIR:
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vfio-dev", f->bdf);
		return vk_error_set(err, EOPNOTSUPP,
		                    "%s: bound to %s but %s does not exist (%s); likely cause: the kernel was "
		                    "built without CONFIG_VFIO_DEVICE_CDEV (per-device cdevs need Linux >= 6.2 with "
		                    "that option and CONFIG_IOMMUFD); fix: use a kernel with VFIO_DEVICE_CDEV=y, or the "
		                    "legacy group interface (--legacy: QEMU opens /dev/vfio/<group> itself)",
		                    f->bdf, f->driver, shown_path(root, rel, p, sizeof(p)), vk__errname(ENOENT));
	case VK_VFIO_CDEV_BAD_ENTRIES:
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vfio-dev", f->bdf);
		return vk_error_set(err, EINVAL, "%s: %s: %s; the tree is not what the kernel shows, refusing to guess",
		                    f->bdf, shown_path(root, rel, p, sizeof(p)), f->cdev_problem);
	case VK_VFIO_CDEV_NO_DEV_ATTR:
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vfio-dev/%s/dev", f->bdf, f->cdev_name);
		return vk_error_set(err, EOPNOTSUPP,
		                    "%s: %s does not exist (%s); likely cause: the kernel has no VFIO device cdev "
		                    "(CONFIG_VFIO_DEVICE_CDEV unset) or vfio runs in no-IOMMU mode; fix: a kernel with "
		                    "VFIO_DEVICE_CDEV=y and an IOMMU, or the legacy group interface (--legacy)",
		                    f->bdf, shown_path(root, rel, p, sizeof(p)), vk__errname(ENOENT));
	case VK_VFIO_CDEV_BAD_DEV_ATTR:
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", f->bdf);
		return vk_error_set(err, EINVAL, "%s: %s/%s; the tree is not what the kernel shows", f->bdf,
		                    shown_path(root, rel, p, sizeof(p)), f->cdev_problem);
	case VK_VFIO_CDEV_NODE_MISSING:
		return vk_error_set(err, ENOENT,
		                    "%s: the device has cdev %s (%u:%u) but %s does not exist (%s); likely cause: "
		                    "/dev is not devtmpfs or udev has not created the node (containers: the node was "
		                    "not passed in); fix: mount devtmpfs on /dev, `udevadm trigger`, or `mknod %s c %u "
		                    "%u` with the right owner and mode",
		                    f->bdf, f->cdev_name, f->cdev_major, f->cdev_minor,
		                    shown_path(root, f->node_path, p, sizeof(p)), vk__errname(ENOENT), f->node_path,
		                    f->cdev_major, f->cdev_minor);
	case VK_VFIO_CDEV_NODE_ERROR:
		return vk_error_set(err, EIO, "%s: %s", f->bdf, f->cdev_problem);
	}
	return vk_error_set(err, EINVAL, "%s: unknown cdev state %d", f->bdf, (int)f->cdev_state);
}

int vk_vfio_cdev_lookup(const struct vk_pci_dev_facts *f, char *path, size_t len, struct vk_error *err)
{
	return lookup_with_root(NULL, f, path, len, err);
}

int vk_vfio_node_identity_check(int fd, unsigned maj, long min, bool *is_standin, struct vk_error *err)
{
	struct stat st;
	char want[32];

	if (min < 0)
		snprintf(want, sizeof(want), "%u:*", maj);
	else
		snprintf(want, sizeof(want), "%u:%ld", maj, min);
	if (is_standin)
		*is_standin = false;
	if (vk__fstat(fd, &st) < 0)
		return vk_error_set(err, errno, "fstat: %s (%s)", strerror(errno), vk__errname(errno));

	/* A real host: the character device itself. */
	if (S_ISCHR(st.st_mode)) {
		if (major(st.st_rdev) == maj && (min < 0 || minor(st.st_rdev) == (unsigned long)min))
			return 0;
		return vk_error_set(err, ENODEV, "a character device %u:%u, not %s", major(st.st_rdev),
		                    minor(st.st_rdev), want);
	}

	/* A fake host: a regular file whose whole content names the device (standin.h). */
	if (S_ISREG(st.st_mode)) {
		char buf[64];
		unsigned gmaj, gmin;
		ssize_t n;
		size_t ml = strlen(VK_STANDIN_MAGIC);

		do
			n = vk__pread(fd, buf, sizeof(buf) - 1, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return vk_error_set(err, errno, "a regular file that cannot be read: %s (%s)", strerror(errno),
			                    vk__errname(errno));
		buf[n] = '\0';
		if ((size_t)n <= ml + 1 || strncmp(buf, VK_STANDIN_MAGIC " ", ml + 1) != 0 ||
		    buf[n - 1] != '\n' || vk__parse_majmin(buf + ml + 1, &gmaj, &gmin) < 0)
			return vk_error_set(err, ENODEV,
			                    "a regular file that is not a stand-in (want \"%s %s\\n\")", VK_STANDIN_MAGIC, want);
		if (gmaj != maj || (min >= 0 && gmin != (unsigned long)min))
			return vk_error_set(err, ENODEV, "a stand-in for %u:%u, not %s", gmaj, gmin, want);
		if (is_standin)
			*is_standin = true;
		return 0;
	}
	return vk_error_set(err, ENODEV, "neither a character device nor a stand-in (mode %06o), not %s",
	                    (unsigned)st.st_mode, want);
}

/* The diagnosis of a failed open(2) of a node. */
int vk__open_error(const struct vk_root *root, const char *bdf, const char *what, const char *rel, int e,
                   bool have_stat, uid_t uid, gid_t gid, mode_t mode, long group, struct vk_error *err)
{
	char p[PATH_MAX];

	shown_path(root, rel, p, sizeof(p));
	switch (e) {
	case EACCES:
	case EPERM:
		if (have_stat)
			return vk_error_set(err, e,
			                    "%s: cannot open %s %s read-write: %s (%s); the node is owner %u group %u mode "
			                    "%04o, the caller is uid %u gid %u; fix: run as a user that may open it, or give "
			                    "access (chown/chmod the node, a udev rule, or let the management layer pass the "
			                    "FD)%s",
			                    bdf, what, p, strerror(e), vk__errname(e), (unsigned)uid, (unsigned)gid,
			                    (unsigned)mode, (unsigned)geteuid(), (unsigned)getegid(),
			                    e == EPERM ? "; EPERM can also come from a seccomp filter, an LSM "
			                                 "(SELinux/AppArmor) or a device cgroup"
			                               : "");
		return vk_error_set(err, e, "%s: cannot open %s %s read-write: %s (%s); the caller is uid %u gid %u",
		                    bdf, what, p, strerror(e), vk__errname(e), (unsigned)geteuid(), (unsigned)getegid());
	case EBUSY:
		if (group >= 0)
			return vk_error_set(err, e,
			                    "%s: cannot open %s %s: %s (%s); likely cause: the device is in use, e.g. "
			                    "through the legacy group interface /dev/vfio/%ld by another process; fix: stop "
			                    "that user (`fuser -v /dev/vfio/%ld %s`)",
			                    bdf, what, p, strerror(e), vk__errname(e), group, group, p);
		return vk_error_set(err, e, "%s: cannot open %s %s: %s (%s); likely cause: in use by another process "
		                            "(`fuser -v %s`)",
		                    bdf, what, p, strerror(e), vk__errname(e), p);
	case ENODEV:
	case ENXIO:
	case ENOENT:
		return vk_error_set(err, e,
		                    "%s: cannot open %s %s: %s (%s); likely cause: the device went away between lookup "
		                    "and open (unbound from vfio-pci, hot-unplugged or removed); fix: check `dmesg` and "
		                    "the binding, then retry",
		                    bdf, what, p, strerror(e), vk__errname(e));
	default:
		return vk_error_set(err, e, "%s: cannot open %s %s: %s (%s)", bdf, what, p, strerror(e),
		                    vk__errname(e));
	}
}

int vk_vfio_device_open(const struct vk_root *root, const struct vk_pci_addr *addr, struct vk_pci_dev_facts *fout,
                        struct vk_error *err)
{
	struct vk_pci_dev_facts local, *f = fout ? fout : &local;
	char path[64], p[PATH_MAX], rel[128], buf[64];
	_cleanup_close_ int fd = -1;
	struct vk_error why;
	unsigned maj, min;
	long group;
	int r;

	/* no facts wanted: the lean path, the full one only to explain a failure */
	if (!fout && (r = vk__device_open_lean(root, addr, &group, path, sizeof(path), err)) != -EAGAIN)
		return r;
	r = vk_pci_dev_facts_read(root, addr, f, err);
	if (r < 0)
		return r;
	r = lookup_with_root(root, f, path, sizeof(path), err);
	if (r < 0)
		return r;

	fd = vk_root_openat(root, path, O_RDWR);
	if (fd < 0) {
		r = -fd;
		fd = -1;
		return vk__open_error(root, f->bdf, "VFIO device", path, r, f->node_present, f->node_uid, f->node_gid,
		                      f->node_mode, f->iommu_group, err);
	}
	vk_error_clear(&why);
	r = vk_vfio_node_identity_check(fd, f->cdev_major, f->cdev_minor, NULL, &why);
	/* ESTALE, not the check's ENODEV: the device is there, the node is not
	 * its own, and callers must not mistake that for "the device went away" */
	if (r == -ENODEV)
		r = -ESTALE;
	if (r < 0)
		return vk_error_set(err, r,
		                    "%s: %s is not the device's cdev %s (%u:%u from vfio-dev/%s/dev): it is %s; likely "
		                    "cause: a stale or foreign node in /dev (the device was rebound and got a new "
		                    "number, or /dev was populated by hand); fix: `udevadm trigger` or recreate the node",
		                    f->bdf, shown_path(root, path, p, sizeof(p)), f->cdev_name, f->cdev_major,
		                    f->cdev_minor, f->cdev_name, why.msg);

	/* Did the device go away (or get rebound) between lookup and open? */
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vfio-dev/%s/dev", f->bdf, f->cdev_name);
	{
		ssize_t n = vk_root_read(root, -1, rel, 0, buf, sizeof(buf), NULL);
		if (n < 0 || vk__parse_majmin(buf, &maj, &min) < 0 || maj != f->cdev_major || min != f->cdev_minor)
			return vk__went_away(root, f->bdf, rel, n < 0 ? (int)-n : 0, path, err);
	}
	return TAKE_FD(fd);
}

int vk__went_away(const struct vk_root *root, const char *bdf, const char *rel, int e, const char *node,
                  struct vk_error *err)
{
	char p[PATH_MAX];

	return vk_error_set(err, ENODEV,
	                    "%s: the device went away between lookup and open: %s %s after %s was opened; "
	                    "likely cause: unbound from vfio-pci or removed meanwhile; fix: check `dmesg` and "
	                    "the binding, then retry",
	                    bdf, shown_path(root, rel, p, sizeof(p)),
	                    e ? strerrorname_np(e) ? strerrorname_np(e) : "fails" : "changed", node);
}

int vk_vfio_iommufd_open(const struct vk_root *root, struct vk_error *err)
{
	static const char rel[] = "/dev/iommu";
	_cleanup_close_ int fd = vk_root_openat(root, rel, O_RDWR);
	struct vk_error why;
	char p[PATH_MAX];
	int r;

	if (fd < 0) {
		int e = -fd;
		struct stat st;
		bool have = false;
		fd = -1;
		if (e == ENOENT)
			return vk_error_set(err, ENOENT,
			                    "iommufd: %s does not exist (%s); likely cause: the kernel has no IOMMUFD "
			                    "(CONFIG_IOMMUFD) or the iommufd module is not loaded, or udev/devtmpfs did not "
			                    "create the node; fix: `modprobe iommufd`, a kernel with IOMMUFD=y, or the legacy "
			                    "group interface (--legacy)",
			                    shown_path(root, rel, p, sizeof(p)), vk__errname(ENOENT));
		if (e == EACCES || e == EPERM) {
			_cleanup_close_ int pfd = vk_root_openat(root, rel, O_PATH);
			if (pfd >= 0 && vk__fstat(pfd, &st) == 0)
				have = true;
			if (pfd >= 0)
				vk__count();
		}
		return vk__open_error(root, "iommufd", "the iommufd node", rel, e, have, have ? st.st_uid : 0,
		                      have ? st.st_gid : 0, have ? st.st_mode & 07777 : 0, -1, err);
	}
	vk_error_clear(&why);
	r = vk_vfio_node_identity_check(fd, VK_VFIO_MISC_MAJOR, -1, NULL, &why);
	if (r < 0)
		return vk_error_set(err, r,
		                    "iommufd: %s is not the iommufd misc device (major %u): it is %s; fix: recreate the "
		                    "node (`udevadm trigger`) or check what was mounted over /dev",
		                    shown_path(root, rel, p, sizeof(p)), VK_VFIO_MISC_MAJOR, why.msg);
	return TAKE_FD(fd);
}

/* Legacy group mode: check, open nothing. */
static int legacy_check(const struct vk_root *root, const struct vk_pci_addr *addr, struct vk_vfio_opened *o,
                        struct vk_error *err)
{
	struct vk_pci_dev_facts f;
	char rel[64], p[PATH_MAX];
	int r = vk_pci_dev_facts_read(root, addr, &f, err);

	if (r < 0)
		return r;
	if (!f.present)
		return lookup_with_root(root, &f, rel, sizeof(rel), err);
	if (!vk_pci_driver_is_vfio_pci(f.driver) && !f.has_vfio_dev_dir)
		return not_vfio_error(root, &f, err);
	if (f.iommu_group < 0)
		return vk_error_set(err, ENODEV,
		                    "%s: no iommu_group link: the IOMMU is off or absent (or vfio runs in no-IOMMU mode); "
		                    "fix: enable it (intel_iommu=on or amd_iommu=on, VT-d/AMD-Vi in firmware)",
		                    f.bdf);
	snprintf(rel, sizeof(rel), "/dev/vfio/%ld", f.iommu_group);
	{
		_cleanup_close_ int gfd = vk_root_openat(root, rel, O_PATH);
		if (gfd < 0)
			return vk_error_set(err, -gfd,
			                    "%s: group node %s: %s (%s); likely cause: vfio / vfio_iommu_type1 not loaded "
			                    "or udev has not created the node; fix: `modprobe vfio-pci vfio_iommu_type1`, "
			                    "`udevadm trigger`",
			                    f.bdf, shown_path(root, rel, p, sizeof(p)), strerror(-gfd), vk__errname(-gfd));
		vk__count();
	}
	o->iommu_group = f.iommu_group;
	snprintf(o->node_path, sizeof(o->node_path), "%s", rel);
	return 0;
}

void vk_vfio_set_close(struct vk_vfio_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		if (set->dev[i].fd >= 0)
			vk__close(set->dev[i].fd);
	if (set->iommufd >= 0)
		vk__close(set->iommufd);
	free(set->dev);
	set->dev = NULL;
	set->n = 0;
	set->iommufd = -1;
}

int vk_vfio_set_open_diag(const struct vk_root *root, const struct vk_pci_addr *addrs, size_t n, unsigned flags,
                          struct vk_vfio_set *out, struct vk_vfio_set_failure *fail, struct vk_error *err)
{
	struct vk_vfio_set s = {.iommufd = -1};
	struct vk_vfio_set_failure dummy;
	int r;

	if (!fail)
		fail = &dummy;
	memset(fail, 0, sizeof(*fail));
	fail->index = VK_VFIO_SET_FAILED_ARGS;

	out->iommufd = -1;
	out->n = 0;
	out->dev = NULL;
	if (n == 0)
		return vk_error_set(err, EINVAL, "no devices given");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (vk_pci_addr_equal(&addrs[i], &addrs[j])) {
				char b[VK_PCI_ADDR_STRLEN];
				return vk_error_set(err, EINVAL, "%s: given twice; a device can be assigned once",
				                    vk_pci_addr_format(&addrs[i], b));
			}
	s.dev = calloc(n, sizeof(*s.dev));
	if (!s.dev)
		return vk_error_set(err, ENOMEM, "out of memory");

	for (size_t i = 0; i < n; i++) {
		struct vk_vfio_opened *o = &s.dev[i];
		o->addr = addrs[i];
		vk_pci_addr_format(&addrs[i], o->bdf);
		o->fd = -1;
		o->iommu_group = -1;
		s.n = i + 1;
		if (flags & VK_VFIO_SET_LEGACY) {
			r = legacy_check(root, &addrs[i], o, err);
		} else if ((r = vk__device_open_lean(root, &addrs[i], &o->iommu_group, o->node_path,
		                                     sizeof(o->node_path), err)) >= 0) {
			o->fd = r; /* the lean path: no facts read */
		} else if (r != -EAGAIN) {
			/* it went away while it was opened: the facts of now */
			vk_pci_dev_facts_read(root, &addrs[i], &fail->facts, NULL);
		} else {
			struct vk_pci_dev_facts f;
			r = vk_vfio_device_open(root, &addrs[i], &f, err);
			if (r < 0) {
				fail->facts = f;
			} else {
				o->fd = r;
				o->iommu_group = f.iommu_group;
				snprintf(o->node_path, sizeof(o->node_path), "%s", f.node_path);
			}
		}
		if (r < 0) {
			fail->index = (long)i;
			goto fail;
		}
	}
	/* /dev/iommu once per set, after the devices: a device's own problem is the
	 * more useful first diagnosis. */
	if (!(flags & VK_VFIO_SET_LEGACY)) {
		r = vk_vfio_iommufd_open(root, err);
		if (r < 0) {
			fail->index = VK_VFIO_SET_FAILED_IOMMUFD;
			goto fail;
		}
		s.iommufd = r;
	}
	*out = s;
	return 0;
fail:
	vk_vfio_set_close(&s); /* all or nothing: no FD survives a failure */
	return r;
}

int vk_vfio_set_open(const struct vk_root *root, const struct vk_pci_addr *addrs, size_t n, unsigned flags,
                     struct vk_vfio_set *out, struct vk_error *err)
{
	return vk_vfio_set_open_diag(root, addrs, n, flags, out, NULL, err);
}
