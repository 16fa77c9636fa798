/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>

#include "internal.h"

/* Strict "0x" + 1..16 hex digits + optional "\n"; -1 otherwise. */
static int64_t parse_hex_attr(const char *s)
{
	int64_t v = 0;
	size_t n = 0;

	if (s[0] != '0' || s[1] != 'x')
		return -1;
	s += 2;
	while (isxdigit((unsigned char)s[n])) {
		if (n == 12)
			return -1;
		char c = (char)tolower((unsigned char)s[n]);
		v = v * 16 + (isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
		n++;
	}
	if (n == 0 || !(s[n] == '\0' || (s[n] == '\n' && s[n + 1] == '\0')))
		return -1;
	return v;
}

int vk__parse_majmin(const char *s, unsigned *maj, unsigned *min)
{
	unsigned long v[2];
	const char *p = s;

	for (int i = 0; i < 2; i++) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v[i] = strtoul(p, &end, 10);
		if (errno || v[i] > (i == 0 ? 0xfffUL : 0xfffffUL))
			return -EINVAL;
		p = end;
		if (i == 0 && *p++ != ':')
			return -EINVAL;
	}
	if (!(*p == '\0' || (p[0] == '\n' && p[1] == '\0')))
		return -EINVAL;
	*maj = (unsigned)v[0];
	*min = (unsigned)v[1];
	return 0;
}

/* Read attribute @name below @devfd (no symlinks): 0, -ENOENT, -ELOOP (a
 * symlink), -EINVAL (not a regular file: a FIFO, a directory...), -errno;
 * @why receives the reason. */
static int read_attr(const struct vk_root *root, int devfd, const char *name, char *buf, size_t len,
                     struct vk_error *why)
{
	ssize_t r = vk_root_read(root, devfd, name, 0, buf, len, why);

	return r < 0 ? (int)r : 0;
}

/* What sysfs never has in an attribute's place: a symlink (-ELOOP) or
 * something that is not a regular file (-EINVAL from vk_root_read()). */
static bool attr_is_hostile(int r)
{
	return r == -ELOOP || r == -EINVAL;
}

static int read_hex_attr(const struct vk_root *root, int devfd, const char *name, int64_t *out,
                         struct vk_error *why)
{
	char buf[64];
	int r = read_attr(root, devfd, name, buf, sizeof(buf), why);

	*out = -1;
	if (attr_is_hostile(r))
		return r;
	if (r == 0)
		*out = parse_hex_attr(buf);
	return 0;
}

/* Basename of a link's target; 0 with *buf = "" when there is no link. */
static int read_link_basename(int devfd, const char *name, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = vk__readlinkat(devfd, name, target, sizeof(target) - 1);

	buf[0] = '\0';
	if (n < 0)
		return errno == ENOENT ? 0 : -errno; /* EINVAL: exists but not a symlink */
	target[n] = '\0';
	while (n > 0 && target[n - 1] == '/')
		target[--n] = '\0';
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!*base || strcmp(base, "..") == 0 || strcmp(base, ".") == 0 || strlen(base) >= len)
		return -EINVAL;
	strcpy(buf, base);
	return 0;
}

/* "vfio" followed by a decimal number as the kernel prints it (no leading zero but "vfio0"). */
static bool is_vfio_cdev_name(const char *s)
{
	if (strncmp(s, "vfio", 4) != 0)
		return false;
	s += 4;
	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 10)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Enumerate vfio-dev/: exactly one "vfio<digits>" entry, else a description of what is there. */
int vk__scan_vfio_dev(int dirfd, struct vk_pci_dev_facts *f)
{
	char buf[4096];
	size_t valid = 0, total = 0, plen = 0;
	char list[384] = "";

	for (;;) {
		vk__count();
		long n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			total++;
			/* DT_UNKNOWN (some FUSE servers): the `dev` read below, which
			 * refuses symlinks, settles whether it is a directory. */
			bool dirish = d->d_type == DT_DIR || d->d_type == DT_UNKNOWN;
			if (is_vfio_cdev_name(d->d_name) && dirish) {
				if (++valid == 1)
					snprintf(f->cdev_name, sizeof(f->cdev_name), "%s", d->d_name);
			}
			if (plen < sizeof(list) - 1) {
				int w = snprintf(list + plen, sizeof(list) - plen, "%s'%s'%s", plen ? ", " : "",
				                 d->d_name, dirish ? "" : " (not a directory)");
				plen = w < 0 ? plen : plen + (size_t)w;
				if (plen >= sizeof(list))
					plen = sizeof(list) - 1;
			}
		}
	}
	if (valid == 1 && total == 1)
		return 0;
	f->cdev_name[0] = '\0';
	f->cdev_state = VK_VFIO_CDEV_BAD_ENTRIES;
	if (total == 0)
		snprintf(f->cdev_problem, sizeof(f->cdev_problem),
		         "vfio-dev/ is empty (expected exactly one entry 'vfio<N>')");
	else
		snprintf(f->cdev_problem, sizeof(f->cdev_problem),
		         "vfio-dev/ holds %zu entr%s (%s); expected exactly one directory 'vfio<N>'", total,
		         total == 1 ? "y" : "ies", list);
	return 0;
}

void vk__facts_init(struct vk_pci_dev_facts *f, const struct vk_pci_addr *addr)
{
	memset(f, 0, sizeof(*f));
	f->addr = *addr;
	vk_pci_addr_format(addr, f->bdf);
	f->vendor = f->device = f->subsystem_vendor = f->subsystem_device = f->revision = -1;
	f->class_code = -1;
	f->iommu_group = -1;
}

/* One device's facts being read: where, and what a hostile attribute was. */
struct facts_read {
	const struct vk_root *root;
	int devfd;       /* sys/bus/pci/devices/<BDF>, O_PATH */
	const char *rel; /* its path in the root */
	struct vk_pci_dev_facts *f;
	struct vk_error why; /* what read_attr() found where a file should be */
	struct vk_error *err;
};

/* The device directory as a user sees it (in messages). */
static const char *fr_path(const struct facts_read *c, char *shown, size_t len)
{
	return vk_root_path(c->root, c->rel, shown, len);
}

/* An attribute that is not a regular file, or a symlink where sysfs has one. */
static int fr_hostile(struct facts_read *c, int r)
{
	char shown[PATH_MAX];

	if (r == -EINVAL)
		return vk_error_set(c->err, r, "%s: %s/%s; sysfs attributes are regular files: the tree is not sysfs, "
		                               "refusing to read it",
		                    c->f->bdf, fr_path(c, shown, sizeof(shown)), c->why.msg);
	return vk_error_set(c->err, r, "%s: %s holds a symlink or non-file where sysfs has an attribute: %s (%s); "
	                               "refusing to follow it",
	                    c->f->bdf, fr_path(c, shown, sizeof(shown)), strerror(-r), vk__errname(-r));
}

/* The same below vfio-dev/. */
static int fr_hostile_vfio(struct facts_read *c, int r)
{
	char shown[PATH_MAX];

	if (r == -EINVAL)
		return vk_error_set(c->err, r, "%s: %s/%s; sysfs attributes are regular files: the tree is not sysfs, "
		                               "refusing to read it",
		                    c->f->bdf, fr_path(c, shown, sizeof(shown)), c->why.msg);
	return vk_error_set(c->err, r, "%s: %s/vfio-dev holds a symlink where sysfs has a directory or attribute: "
	                               "%s (%s); refusing to follow it",
	                    c->f->bdf, fr_path(c, shown, sizeof(shown)), strerror(-r), vk__errname(-r));
}

/* The ids, class and driver_override attributes. */
static int read_ids(struct facts_read *c)
{
	static const struct {
		const char *name;
		size_t off;
	} ids[] = {
		{"vendor", offsetof(struct vk_pci_dev_facts, vendor)},
		{"device", offsetof(struct vk_pci_dev_facts, device)},
		{"subsystem_vendor", offsetof(struct vk_pci_dev_facts, subsystem_vendor)},
		{"subsystem_device", offsetof(struct vk_pci_dev_facts, subsystem_device)},
		{"revision", offsetof(struct vk_pci_dev_facts, revision)},
	};
	struct vk_pci_dev_facts *f = c->f;
	char buf[128];
	int64_t v;
	int r;

	for (size_t i = 0; i < VK_ARRAY_SIZE(ids); i++) {
		r = read_hex_attr(c->root, c->devfd, ids[i].name, &v, &c->why);
		if (r < 0)
			return fr_hostile(c, r);
		*(int32_t *)((char *)f + ids[i].off) = v > INT32_MAX ? -1 : (int32_t)v;
	}
	r = read_hex_attr(c->root, c->devfd, "class", &f->class_code, &c->why);
	if (r < 0)
		return fr_hostile(c, r);

	r = read_attr(c->root, c->devfd, "driver_override", buf, sizeof(buf), &c->why);
	if (attr_is_hostile(r))
		return fr_hostile(c, r);
	if (r == 0) {
		f->has_driver_override_attr = true;
		buf[strcspn(buf, "\n")] = '\0';
		if (strcmp(buf, "(null)") != 0)
			snprintf(f->driver_override, sizeof(f->driver_override), "%.63s", buf);
	}
	return 0;
}

/* The driver and iommu_group links. */
static int read_links(struct facts_read *c)
{
	struct vk_pci_dev_facts *f = c->f;
	char shown[PATH_MAX], buf[128];
	int r = read_link_basename(c->devfd, "driver", f->driver, sizeof(f->driver));

	if (r < 0)
		return vk_error_set(c->err, r,
		                    "%s: %s/driver is not a symlink to a driver: %s (%s); the tree is not sysfs", f->bdf,
		                    fr_path(c, shown, sizeof(shown)), strerror(-r), vk__errname(-r));
	r = read_link_basename(c->devfd, "iommu_group", buf, sizeof(buf));
	if (r < 0)
		return vk_error_set(c->err, r, "%s: %s/iommu_group is not a symlink to a group: %s (%s)", f->bdf,
		                    fr_path(c, shown, sizeof(shown)), strerror(-r), vk__errname(-r));
	if (buf[0]) {
		char *end;
		errno = 0;
		long g = strtol(buf, &end, 10);
		if (!isdigit((unsigned char)buf[0]) || *end || errno || g < 0)
			return vk_error_set(c->err, EINVAL, "%s: %s/iommu_group points to '%s', not a group number",
			                    f->bdf, fr_path(c, shown, sizeof(shown)), buf);
		f->iommu_group = g;
	}
	return 0;
}

/* vfio-dev/: its one vfio<N> entry (vk__scan_vfio_dev()). */
static int read_vfio_dev_dir(struct facts_read *c)
{
	char shown[PATH_MAX];
	_cleanup_close_ int vfd = vk_root_openat_nofollow(c->root, c->devfd, "vfio-dev", O_RDONLY | O_DIRECTORY);
	int r;

	if (vfd == -ELOOP || vfd == -ENOTDIR) {
		r = vfd;
		vfd = -1;
		return fr_hostile_vfio(c, r);
	}
	if (vfd >= 0) {
		c->f->has_vfio_dev_dir = true;
		r = vk__scan_vfio_dev(vfd, c->f);
		vk__count();
		if (r < 0)
			return vk_error_set(c->err, r, "%s: cannot list %s/vfio-dev: %s (%s)", c->f->bdf,
			                    fr_path(c, shown, sizeof(shown)), strerror(-r), vk__errname(-r));
	} else if (vfd != -ENOENT) {
		r = vfd;
		vfd = -1;
		return vk_error_set(c->err, r, "%s: cannot open %s/vfio-dev: %s (%s)", c->f->bdf,
		                    fr_path(c, shown, sizeof(shown)), strerror(-r), vk__errname(-r));
	}
	return 0;
}

/* vfio-dev/vfio<N>/dev, when there is one vfio<N>; the node path it names. */
static int read_cdev_dev_attr(struct facts_read *c)
{
	struct vk_pci_dev_facts *f = c->f;
	char shown[PATH_MAX], buf[128], attr[64];
	int r;

	if (!f->cdev_name[0])
		return 0;
	snprintf(attr, sizeof(attr), "vfio-dev/%s/dev", f->cdev_name);
	r = read_attr(c->root, c->devfd, attr, buf, sizeof(buf), &c->why);
	if (r == 0) {
		f->has_dev_attr = true;
		if (vk__parse_majmin(buf, &f->cdev_major, &f->cdev_minor) < 0) {
			f->cdev_state = VK_VFIO_CDEV_BAD_DEV_ATTR;
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(f->cdev_problem, sizeof(f->cdev_problem), "vfio-dev/%s/dev holds '%.64s', not 'major:minor'",
			         f->cdev_name, buf);
		}
	} else if (r == -ENOENT) {
		f->cdev_state = VK_VFIO_CDEV_NO_DEV_ATTR;
		snprintf(f->cdev_problem, sizeof(f->cdev_problem), "vfio-dev/%s has no 'dev' attribute", f->cdev_name);
	} else if (attr_is_hostile(r)) {
		return fr_hostile_vfio(c, r);
	} else {
		return vk_error_set(c->err, r, "%s: cannot read %s/%s: %s (%s)", f->bdf, fr_path(c, shown, sizeof(shown)),
		                    attr, strerror(-r), vk__errname(-r));
	}
	snprintf(f->node_path, sizeof(f->node_path), "/dev/vfio/devices/%s", f->cdev_name);
	return 0;
}

/* Without vfio-dev/: not on vfio-pci, or on it without a cdev. */
static void state_without_vfio_dev(struct facts_read *c)
{
	struct vk_pci_dev_facts *f = c->f;
	char shown[PATH_MAX];

	if (vk_pci_driver_is_vfio_pci(f->driver)) {
		f->cdev_state = VK_VFIO_CDEV_NO_VFIO_DEV_DIR;
		snprintf(f->cdev_problem, sizeof(f->cdev_problem), "bound to %s but %s/vfio-dev does not exist", f->driver,
		         fr_path(c, shown, sizeof(shown)));
	} else {
		f->cdev_state = VK_VFIO_CDEV_NOT_VFIO;
		if (f->driver[0])
			snprintf(f->cdev_problem, sizeof(f->cdev_problem), "bound to driver '%s', not vfio-pci", f->driver);
		else
			snprintf(f->cdev_problem, sizeof(f->cdev_problem), "not bound to any driver");
	}
}

/* The node in /dev: type, owner, mode; O_PATH so that nothing is opened yet. */
static void examine_node(struct facts_read *c)
{
	struct vk_pci_dev_facts *f = c->f;
	char shown[PATH_MAX];
	_cleanup_close_ int nfd = vk_root_openat(c->root, f->node_path, O_PATH);
	struct stat st;

	if (nfd == -ENOENT) {
		nfd = -1;
		f->cdev_state = VK_VFIO_CDEV_NODE_MISSING;
		snprintf(f->cdev_problem, sizeof(f->cdev_problem), "%s does not exist",
		         vk_root_path(c->root, f->node_path, shown, sizeof(shown)));
		return;
	}
	if (nfd < 0 || vk__fstat(nfd, &st) < 0) {
		int e = nfd < 0 ? -nfd : errno;
		/* an open node whose fstat failed (it went away) is still closed */
		if (nfd < 0)
			nfd = -1;
		f->cdev_state = VK_VFIO_CDEV_NODE_ERROR;
		snprintf(f->cdev_problem, sizeof(f->cdev_problem), "cannot examine %s: %s (%s)",
		         vk_root_path(c->root, f->node_path, shown, sizeof(shown)), strerror(e), vk__errname(e));
		return;
	}
	vk__count();
	f->node_present = true;
	f->node_uid = st.st_uid;
	f->node_gid = st.st_gid;
	f->node_mode = st.st_mode & 07777;
	f->node_is_chardev = S_ISCHR(st.st_mode);
	f->node_is_standin = S_ISREG(st.st_mode);
	if (f->node_is_chardev) {
		f->node_rdev_major = major(st.st_rdev);
		f->node_rdev_minor = minor(st.st_rdev);
	}
	if (!f->node_is_chardev && !f->node_is_standin) {
		f->cdev_state = VK_VFIO_CDEV_NODE_ERROR;
		snprintf(f->cdev_problem, sizeof(f->cdev_problem),
		         "%s is neither a character device nor a stand-in file (mode %06o)",
		         vk_root_path(c->root, f->node_path, shown, sizeof(shown)), (unsigned)st.st_mode);
	}
}

/* By phase: the device directory, its attributes, its links, vfio-dev/ and the
 * cdev's dev attribute, then the state in the order a user has to fix things,
 * and last the node in /dev. */
int vk_pci_dev_facts_read(const struct vk_root *root, const struct vk_pci_addr *addr,
                          struct vk_pci_dev_facts *f, struct vk_error *err)
{
	char rel[96], shown[PATH_MAX];
	_cleanup_close_ int devfd = -1;
	struct facts_read c = {.root = root, .rel = rel, .f = f, .err = err};
	int r;

	vk__facts_init(f, addr);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", f->bdf);
	devfd = vk_root_openat(root, rel, O_PATH | O_DIRECTORY);
	if (devfd == -ENOENT) {
		f->cdev_state = VK_VFIO_CDEV_DEVICE_ABSENT;
		snprintf(f->cdev_problem, sizeof(f->cdev_problem), "%s does not exist",
		         vk_root_path(root, rel, shown, sizeof(shown)));
		devfd = -1;
		return 0;
	}
	if (devfd < 0) {
		r = devfd;
		devfd = -1;
		return vk_error_set(err, r, "%s: cannot open %s: %s (%s)", f->bdf,
		                    vk_root_path(root, rel, shown, sizeof(shown)), strerror(-r), vk__errname(-r));
	}
	f->present = true;
	c.devfd = devfd;

	if ((r = read_ids(&c)) < 0 || (r = read_links(&c)) < 0 || (r = read_vfio_dev_dir(&c)) < 0 ||
	    (r = read_cdev_dev_attr(&c)) < 0)
		return r;
	if (!f->has_vfio_dev_dir) {
		state_without_vfio_dev(&c);
		return 0;
	}
	if (f->cdev_state == VK_VFIO_CDEV_OK)
		examine_node(&c);
	return 0;
}

bool vk_pci_driver_is_vfio_pci(const char *driver)
{
	static const char tail[] = "vfio_pci";
	size_t n = driver ? strlen(driver) : 0, k = sizeof(tail) - 1;

	if (n < k || (n > k && driver[n - k - 1] != '_' && driver[n - k - 1] != '-'))
		return false;
	/* "vfio-pci", "mlx5_vfio_pci", "xe-vfio-pci": '-' and '_' alike, as modprobe treats them */
	for (size_t i = 0; i < k; i++) {
		char c = driver[n - k + i] == '-' ? '_' : driver[n - k + i];
		if (c != tail[i])
			return false;
	}
	return true;
}

bool vk_pci_driver_keeps_group_free(const char *driver)
{
	static const char *const managed[] = {"pci-stub", "pcieport"};

	if (!driver || !*driver || vk_pci_driver_is_vfio_pci(driver))
		return true;
	for (size_t i = 0; i < VK_ARRAY_SIZE(managed); i++)
		if (!strcmp(driver, managed[i]))
			return true;
	return false;
}
