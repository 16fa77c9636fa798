/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live-FD rules (VV2xx): the FDs a QEMU process holds (or, for a stand-in, the
 * FDs this process inherited) against its command line and the host tree.
 *
 * Which device an FD is, is decided only by the resolver's
 * vk_vfio_node_identity_check() (a character device with the right st_rdev on a
 * real host, a fakesys stand-in naming it on a fake one): to identify an FD
 * without a device name (libvirt's fd= alone, a leak) each VFIO-related node
 * the host's sysfs declares is tried with that one check.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include "rules.h"
#include "vk_fileio.h"

/* ---- fdinfo and inventories ---- */

int vk_fdinfo_flags(const char *text, unsigned *flags)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, "flags:", 6) != 0)
			continue;
		const char *p = l + 6;
		unsigned long v = 0;
		size_t nd = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		for (; *p >= '0' && *p <= '7'; p++, nd++) {
			v = v * 8 + (unsigned long)(*p - '0');
			if (v > 0xffffffffUL)
				return -EINVAL;
		}
		if (!nd || (*p != '\n' && *p != '\0'))
			return -EINVAL;
		*flags = (unsigned)v;
		return 0;
	}
	return -EINVAL;
}

static int fd_entry_cmp(const void *a, const void *b)
{
	const struct vk_fd_entry *x = a, *y = b;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int inv_push(struct vk_fd_inventory *inv, size_t *cap, int fd, bool cloexec, int flags)
{
	if (inv->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		struct vk_fd_entry *p = realloc(inv->fds, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		inv->fds = p;
		*cap = nc;
	}
	inv->fds[inv->n++] = (struct vk_fd_entry){.fd = fd, .cloexec = cloexec, .flags = flags};
	return 0;
}

static bool parse_fdname(const char *s, int *fd)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > INT_MAX)
		return false;
	*fd = (int)v;
	return true;
}

/* Read @fd to its end or until @buf is full (NUL-terminated); the length or -errno. */
static int inventory_self(struct vk_fd_inventory *inv, struct vk_error *err)
{
	char path[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t cap = 0;
	int r;

	snprintf(path, sizeof(path), "%s/self/fd", inv->proc);
	d = opendir(path); /* glibc opens it O_CLOEXEC; its FD is left out below */
	if (!d) {
		/* No /proc: probe the low FDs one by one. */
		for (int fd = 0; fd < 1024; fd++) {
			int fdfl = fcntl(fd, F_GETFD), fl;
			if (fdfl < 0)
				continue;
			fl = fcntl(fd, F_GETFL);
			if ((r = inv_push(inv, &cap, fd, fdfl & FD_CLOEXEC, fl < 0 ? 0 : fl)) < 0)
				return vk_error_set(err, r, "out of memory");
		}
		return 0;
	}
	int self = dirfd(d);
	while ((errno = 0, de = readdir(d))) {
		int fd, fdfl, fl;
		if (!parse_fdname(de->d_name, &fd) || fd == self)
			continue;
		fdfl = fcntl(fd, F_GETFD);
		if (fdfl < 0)
			continue; /* closed meanwhile (another thread) */
		fl = fcntl(fd, F_GETFL);
		if ((r = inv_push(inv, &cap, fd, fdfl & FD_CLOEXEC, fl < 0 ? 0 : fl)) < 0)
			return vk_error_set(err, r, "out of memory");
	}
	if (errno)
		return vk_error_set(err, errno, "%s: %s", path, strerror(errno));
	return 0;
}

static int inventory_pid(struct vk_fd_inventory *inv, struct vk_error *err)
{
	char path[PATH_MAX], ipath[PATH_MAX + 32], buf[4096];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t cap = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%ld/fd", inv->proc, (long)inv->pid);
	d = opendir(path);
	if (!d) {
		int e = errno;
		if (e == ENOENT)
			return vk_error_set(err, ESRCH, "process %ld: no such process (%s is absent)", (long)inv->pid, path);
		return vk_error_set(err, e, "process %ld: cannot list its FDs: %s: %s%s", (long)inv->pid, path,
		                    strerror(e),
		                    e == EACCES || e == EPERM ? " (run as the process' user or as root)" : "");
	}
	while ((errno = 0, de = readdir(d))) {
		int fd;
		unsigned fl;
		ssize_t n;
		if (!parse_fdname(de->d_name, &fd))
			continue;
		snprintf(ipath, sizeof(ipath), "%s/%ld/fdinfo/%d", inv->proc, (long)inv->pid, fd);
		n = vk_read_path(ipath, VK_READ_TRUNCATE, buf, sizeof(buf), NULL);
		if (n == -ENOENT)
			continue; /* closed meanwhile */
		if (n < 0)
			return vk_error_set(err, (int)-n, "%s: %s", ipath, strerror((int)-n));
		if (vk_fdinfo_flags(buf, &fl) < 0)
			return vk_error_set(err, EINVAL, "%s: no \"flags:\" line", ipath);
		if ((r = inv_push(inv, &cap, fd, fl & O_CLOEXEC, (int)(fl & ~(unsigned)O_CLOEXEC))) < 0)
			return vk_error_set(err, r, "out of memory");
	}
	if (errno)
		return vk_error_set(err, errno, "%s: %s", path, strerror(errno));
	return 0;
}

int vk_fd_inventory_take(pid_t pid, const char *proc, struct vk_fd_inventory *out, struct vk_error *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->proc = strdup(proc ? proc : "/proc");
	if (!out->proc)
		return vk_error_set(err, ENOMEM, "out of memory");
	r = pid ? inventory_pid(out, err) : inventory_self(out, err);
	if (r < 0) {
		vk_fd_inventory_free(out);
		return r;
	}
	if (out->n)
		qsort(out->fds, out->n, sizeof(*out->fds), fd_entry_cmp);
	return 0;
}

void vk_fd_inventory_free(struct vk_fd_inventory *inv)
{
	if (!inv)
		return;
	free(inv->fds);
	free(inv->proc);
	inv->fds = NULL;
	inv->proc = NULL;
	inv->n = 0;
}

static const struct vk_fd_entry *inv_find(const struct vk_fd_inventory *inv, int fd)
{
	struct vk_fd_entry key = {.fd = fd};
	if (!inv->n)
		return NULL;
	return bsearch(&key, inv->fds, inv->n, sizeof(key), fd_entry_cmp);
}

/* ---- the host's VFIO nodes ---- */

static int read_majmin(const struct vk_root *root, const char *rel, unsigned *maj, unsigned *min)
{
	char buf[64], tail;
	ssize_t n = vk_root_read(root, -1, rel, 0, buf, sizeof(buf), NULL);

	if (n < 0)
		return (int)n;
	if (sscanf(buf, "%u:%u%c", maj, min, &tail) != 3 || tail != '\n')
		return -EINVAL;
	return 0;
}

struct nodes {
	struct vk_vfio_node *v;
	size_t n, cap;
};

static int nodes_add(struct nodes *ns, enum vk_node_kind kind, unsigned maj, unsigned min, const char *name,
                     const char *bdf)
{
	if (ns->n == ns->cap) {
		size_t nc = ns->cap ? ns->cap * 2 : 16;
		struct vk_vfio_node *p = realloc(ns->v, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ns->v = p;
		ns->cap = nc;
	}
	struct vk_vfio_node *x = &ns->v[ns->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->major = maj;
	x->minor = min;
	snprintf(x->name, sizeof(x->name), "%s", name);
	snprintf(x->bdf, sizeof(x->bdf), "%s", bdf ? bdf : "");
	return 0;
}

/* The PCI device of a vfio-dev class link: ".../<BDF>/vfio-dev/vfioN". */
static void class_link_bdf(int dirfd, const char *name, char bdf[static VK_PCI_ADDR_STRLEN])
{
	char t[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, t, sizeof(t) - 1);
	struct vk_pci_addr a;

	bdf[0] = '\0';
	if (n <= 0)
		return;
	t[n] = '\0';
	char *v = strstr(t, "/vfio-dev/");
	if (!v)
		return;
	*v = '\0';
	char *b = strrchr(t, '/');
	b = b ? b + 1 : t;
	if (vk_pci_addr_parse(b, &a, NULL) == 0)
		vk_pci_addr_format(&a, bdf);
}

static int scan_class(const struct vk_root *root, const char *cls, enum vk_node_kind kind, struct nodes *ns)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = vk_root_openat(root, cls, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return 0; /* no such class on this host */
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		char rel[PATH_MAX], bdf[VK_PCI_ADDR_STRLEN] = "";
		unsigned maj, min;
		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/dev", cls, de->d_name);
		if (read_majmin(root, rel, &maj, &min) < 0)
			continue;
		if (kind == VK_NODE_VFIO_CDEV)
			class_link_bdf(dirfd(d), de->d_name, bdf);
		if (nodes_add(ns, kind, maj, min, de->d_name, bdf) < 0)
			return -ENOMEM;
	}
	return 0;
}

int vk_vfio_nodes_read(const struct vk_root *root, struct vk_vfio_node **nodes, size_t *n, struct vk_error *err)
{
	struct nodes ns = {0};
	unsigned maj, min;
	int r = 0;

	if ((r = scan_class(root, "sys/class/vfio-dev", VK_NODE_VFIO_CDEV, &ns)) < 0 ||
	    (r = scan_class(root, "sys/class/vfio", VK_NODE_VFIO_GROUP, &ns)) < 0)
		goto fail;
	if (read_majmin(root, "sys/class/misc/iommu/dev", &maj, &min) == 0 &&
	    (r = nodes_add(&ns, VK_NODE_IOMMU, maj, min, "iommu", NULL)) < 0)
		goto fail;
	if (read_majmin(root, "sys/class/misc/vfio/dev", &maj, &min) == 0 &&
	    (r = nodes_add(&ns, VK_NODE_VFIO_CONTAINER, maj, min, "vfio", NULL)) < 0)
		goto fail;
	*nodes = ns.v;
	*n = ns.n;
	return 0;
fail:
	free(ns.v);
	*nodes = NULL;
	*n = 0;
	return vk_error_set(err, r, "out of memory");
}

const struct vk_vfio_node *vk_vfio_node_of_fd(int fd, const struct vk_vfio_node *nodes, size_t n)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISREG(st.st_mode)))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (vk_vfio_node_identity_check(fd, nodes[i].major, nodes[i].minor, NULL, NULL) == 0)
			return &nodes[i];
	return NULL;
}

static const char *node_describe(const struct vk_vfio_node *x, char *buf, size_t len)
{
	switch (x->kind) {
	case VK_NODE_VFIO_CDEV:
		snprintf(buf, len, "the VFIO cdev of %s (%s, %u:%u)", x->bdf[0] ? x->bdf : "an unknown device", x->name,
		         x->major, x->minor);
		break;
	case VK_NODE_VFIO_GROUP:
		snprintf(buf, len, "the VFIO group node /dev/vfio/%s (%u:%u)", x->name, x->major, x->minor);
		break;
	case VK_NODE_VFIO_CONTAINER:
		snprintf(buf, len, "the VFIO container /dev/vfio/vfio (%u:%u)", x->major, x->minor);
		break;
	case VK_NODE_IOMMU:
		snprintf(buf, len, "/dev/iommu (%u:%u)", x->major, x->minor);
		break;
	default:
		snprintf(buf, len, "no VFIO node");
	}
	return buf;
}

static const struct vk_vfio_node *nodes_find_kind(const struct vk_vfio_node *v, size_t n, enum vk_node_kind k)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == k)
			return &v[i];
	return NULL;
}

/* ---- looking at one FD ---- */

/*
 * An FD to examine FD @fd of the inventoried process with, through
 * <proc>/<pid|self>/fd/<fd>: O_PATH (enough for fstat) unless the object is a
 * regular file, which is reopened O_RDONLY so that a stand-in's line can be
 * read.  A device of another process is never opened.  @target receives the
 * link's text.  Returns the FD or -errno.
 */
static int inspect_open(const struct vk_fd_inventory *inv, int fd, char *target, size_t tlen)
{
	char path[PATH_MAX];
	struct stat st;
	int pfd, rfd;
	ssize_t n;

	if (inv->pid)
		snprintf(path, sizeof(path), "%s/%ld/fd/%d", inv->proc, (long)inv->pid, fd);
	else
		snprintf(path, sizeof(path), "%s/self/fd/%d", inv->proc, fd);
	n = readlink(path, target, tlen - 1);
	target[n > 0 ? n : 0] = '\0';
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		if (inv->pid)
			return -errno;
		/* no /proc: examine our own FD through a duplicate */
		pfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		return pfd < 0 ? -errno : pfd;
	}
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode))
		return pfd;
	rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (rfd < 0)
		return pfd; /* unreadable: the identity check will say so */
	close(pfd);
	return rfd;
}

/* ---- the rules ---- */

struct ctx {
	const struct vk_qc_cmdline *c;
	const struct vk_fd_inventory *inv;
	const struct vk_root *root;
	struct vk_report *r;
	struct vk_error *err;
	struct vk_vfio_node *nodes;
	size_t nnodes;
	int *named; /* FD numbers the command line names */
	size_t nnamed, capnamed;
	struct {
		int fd;
		const struct vk_qc_option *o;
		char bdf[VK_PCI_ADDR_STRLEN];
	} * cdevs; /* identified vfio-pci FDs */
	size_t ncdevs, capcdevs;
};

static bool is_decimal_fd(const char *s, int *fd)
{
	return s && parse_fdname(s, fd);
}

static int add_named(struct ctx *x, int fd)
{
	if (x->nnamed == x->capnamed) {
		size_t nc = x->capnamed ? x->capnamed * 2 : 16;
		int *p = realloc(x->named, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		x->named = p;
		x->capnamed = nc;
	}
	x->named[x->nnamed++] = fd;
	return 0;
}

static bool is_named(const struct ctx *x, int fd)
{
	for (size_t i = 0; i < x->nnamed; i++)
		if (x->named[i] == fd)
			return true;
	return false;
}

#define ADDF(rule, o, ev, hint, ...) \
	do { \
		char subj_[128]; \
		vk__subject((o), subj_, sizeof(subj_)); \
		int r_ = vk_report_add(x->r, rule, subj_, (o)->argi, (o)->line, ev, hint, __VA_ARGS__); \
		if (r_ < 0) \
			return r_; \
	} while (0)

enum role { ROLE_VFIO,
	    ROLE_IOMMUFD,
	    ROLE_ADDFD };

/* Open, inheritable, read-write: true when the FD exists (identity may follow). */
static int check_open_flags(struct ctx *x, const struct vk_qc_option *o, const char *via, int fd, bool rdwr,
                            const struct vk_fd_entry **out)
{
	const struct vk_fd_entry *e = inv_find(x->inv, fd);
	char ev[256];

	*out = e;
	snprintf(ev, sizeof(ev), "%s", via);
	if (!e) {
		if (x->inv->pid)
			ADDF("VV201", o, ev, NULL, "%s: FD %d is not open in process %ld", via, fd, (long)x->inv->pid);
		else
			ADDF("VV201", o, ev,
			     "pass the FD open and without FD_CLOEXEC: execve() closes close-on-exec FDs before QEMU "
			     "(or this stand-in) starts",
			     "%s: FD %d is not open in this process (not passed, closed, or close-on-exec in the caller)",
			     via, fd);
		return 0;
	}
	if (e->cloexec)
		ADDF("VV202", o, ev, NULL, "%s: FD %d is close-on-exec: an exec'd QEMU would not have it", via, fd);
	if (rdwr && (e->flags & O_ACCMODE) != O_RDWR)
		ADDF("VV203", o, ev, NULL, "%s: FD %d is open %s, not read-write", via, fd,
		     (e->flags & O_ACCMODE) == O_RDONLY ? "read-only" : "write-only");
	return 0;
}

static int check_vfio_identity(struct ctx *x, const struct vk_qc_option *o, const char *via, int fd, int ifd,
                               const char *target)
{
	struct vk_pci_addr a;
	struct vk_pci_dev_facts f;
	struct vk_error why = {0};
	char ev[PATH_MAX + 1536], d1[160];
	const struct vk_vfio_node *got = vk_vfio_node_of_fd(ifd, x->nodes, x->nnodes);
	bool named_dev = vk__vfio_device_addr(o, &a) == 0;
	int ret;

	if (got && got->kind == VK_NODE_VFIO_CDEV && x->ncdevs < x->capcdevs) {
		x->cdevs[x->ncdevs].fd = fd;
		x->cdevs[x->ncdevs].o = o;
		snprintf(x->cdevs[x->ncdevs].bdf, VK_PCI_ADDR_STRLEN, "%s", got->bdf);
		x->ncdevs++;
	}
	if (!named_dev) {
		/* libvirt's form: fd= alone.  The FD must be some device's cdev. */
		if (got && got->kind == VK_NODE_VFIO_CDEV)
			return 0;
		snprintf(ev, sizeof(ev), "%s -> %s", via, target);
		ADDF("VV207", o, ev, NULL, "%s: FD %d is not a VFIO device cdev: it is %s", via, fd,
		     got ? node_describe(got, d1, sizeof(d1)) : "no VFIO node of this host");
		return 0;
	}
	ret = vk_pci_dev_facts_read(x->root, &a, &f, x->err);
	if (ret < 0)
		return ret;
	if (f.present && f.has_dev_attr && f.cdev_name[0]) {
		ret = vk_vfio_node_identity_check(ifd, f.cdev_major, f.cdev_minor, NULL, &why);
		if (ret == 0)
			return 0;
		snprintf(ev, sizeof(ev), "%s -> %s: %s", via, target, why.msg);
		if (got && got->kind == VK_NODE_VFIO_CDEV)
			ADDF("VV204", o, ev, NULL, "%s: FD %d is %s, not the cdev of %s (%s, %u:%u)", via, fd,
			     node_describe(got, d1, sizeof(d1)), f.bdf, f.cdev_name, f.cdev_major, f.cdev_minor);
		else
			ADDF("VV207", o, ev, NULL, "%s: FD %d is not a VFIO device cdev (%s expects %s, %u:%u): it is %s",
			     via, fd, f.bdf, f.cdev_name, f.cdev_major, f.cdev_minor,
			     got ? node_describe(got, d1, sizeof(d1)) : "no VFIO node of this host");
		return 0;
	}
	/* The named device has no cdev to compare with (the host rules say why). */
	snprintf(ev, sizeof(ev), "%s -> %s", via, target);
	if (got && got->kind == VK_NODE_VFIO_CDEV) {
		if (strcmp(got->bdf, f.bdf) == 0)
			return 0;
		ADDF("VV204", o, ev, NULL, "%s: FD %d is %s, but the device named is %s, which has no VFIO cdev", via, fd,
		     node_describe(got, d1, sizeof(d1)), f.bdf);
	} else {
		ADDF("VV207", o, ev, NULL, "%s: FD %d is not a VFIO device cdev: it is %s", via, fd,
		     got ? node_describe(got, d1, sizeof(d1)) : "no VFIO node of this host");
	}
	return 0;
}

static int check_iommufd_identity(struct ctx *x, const struct vk_qc_option *o, const char *via, int fd, int ifd,
                                  const char *target)
{
	const struct vk_vfio_node *want = nodes_find_kind(x->nodes, x->nnodes, VK_NODE_IOMMU);
	const struct vk_vfio_node *got = vk_vfio_node_of_fd(ifd, x->nodes, x->nnodes);
	struct vk_error why = {0};
	char ev[PATH_MAX + 1536], d1[160];
	int ret;

	if (want) {
		ret = vk_vfio_node_identity_check(ifd, want->major, want->minor, NULL, &why);
	} else {
		/* No sys/class/misc/iommu/dev: any misc device but the VFIO ones. */
		ret = vk_vfio_node_identity_check(ifd, VK_VFIO_MISC_MAJOR, -1, NULL, &why);
		if (ret == 0 && got)
			ret = -ENODEV;
	}
	if (ret == 0)
		return 0;
	snprintf(ev, sizeof(ev), "%s -> %s: %s", via, target, why.msg[0] ? why.msg : "a VFIO node");
	ADDF("VV205", o, ev, NULL, "%s: FD %d is not /dev/iommu%s: it is %s", via, fd,
	     want ? "" : " (and this host declares no sys/class/misc/iommu/dev)",
	     got ? node_describe(got, d1, sizeof(d1)) : "no VFIO/iommufd node of this host");
	return 0;
}

static int check_one(struct ctx *x, const struct vk_qc_option *o, enum role role, const char *via, int fd)
{
	const struct vk_fd_entry *e;
	char target[PATH_MAX];
	int ret;

	if ((ret = add_named(x, fd)) < 0)
		return ret;
	if ((ret = check_open_flags(x, o, via, fd, role != ROLE_ADDFD, &e)) < 0)
		return ret;
	if (!e || !x->root || role == ROLE_ADDFD)
		return 0;
	_cleanup_close_ int ifd = inspect_open(x->inv, fd, target, sizeof(target));
	if (ifd < 0)
		return 0; /* gone meanwhile: nothing more to say */
	if (role == ROLE_VFIO)
		return check_vfio_identity(x, o, via, fd, ifd, target);
	return check_iommufd_identity(x, o, via, fd, ifd, target);
}

/* fd= of vfio-pci or the iommufd object: a number, or /dev/fdset/N (then each FD of the set). */
static int check_fd_prop(struct ctx *x, const struct vk_qc_option *o, enum role role)
{
	const char *v = vk_qc_option_get(o, "fd");
	char via[256];
	int fd, ret;

	if (!v)
		return 0;
	if (is_decimal_fd(v, &fd)) {
		snprintf(via, sizeof(via), "fd=%s", v);
		return check_one(x, o, role, via, fd);
	}
	if (strncmp(v, "/dev/fdset/", 11) != 0 || !is_decimal_fd(v + 11, &fd))
		return 0; /* a getfd name or a placeholder: VV011/VV019 */
	for (size_t j = 0; j < x->c->nopts; j++) {
		const struct vk_qc_option *a = &x->c->opts[j];
		const char *afd, *set;
		int n;
		if (!a->def || strcmp(a->def->name, "add-fd") != 0)
			continue;
		afd = vk_qc_option_get(a, "fd");
		set = vk_qc_option_get(a, "set");
		if (!set || strcmp(set, v + 11) != 0 || !is_decimal_fd(afd, &n))
			continue;
		snprintf(via, sizeof(via), "fd=%s (-add-fd fd=%s)", v, afd);
		if ((ret = check_one(x, o, role, via, n)) < 0)
			return ret;
	}
	return 0;
}

/* Other options' FD properties (-netdev tap,fd=/fds=, -chardev ...,fd=): named, not judged. */
static int collect_other_fds(struct ctx *x, const struct vk_qc_option *o)
{
	static const char *const keys[] = {"fd", "fds", "vhostfd", "vhostfds"};
	for (size_t k = 0; k < o->nprops; k++) {
		bool match = false;
		for (size_t i = 0; i < VK_ARRAY_SIZE(keys); i++)
			match |= strcmp(o->props[k].key, keys[i]) == 0;
		if (!match)
			continue;
		const char *p = o->props[k].value;
		while (*p) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			if (v >= 0 && v <= INT_MAX && add_named(x, (int)v) < 0)
				return -ENOMEM;
			p = *end == ':' ? end + 1 : end;
			if (*end != ':')
				break;
		}
	}
	return 0;
}

static int check_duplicate_cdevs(struct ctx *x)
{
	for (size_t i = 0; i < x->ncdevs; i++)
		for (size_t j = 0; j < i; j++) {
			if (!x->cdevs[i].bdf[0] || x->cdevs[i].fd == x->cdevs[j].fd ||
			    strcmp(x->cdevs[i].bdf, x->cdevs[j].bdf) != 0 || x->cdevs[i].o == x->cdevs[j].o)
				continue;
			char ev[128];
			snprintf(ev, sizeof(ev), "fd=%d and fd=%d (argument %ld)", x->cdevs[i].fd, x->cdevs[j].fd,
			         x->cdevs[j].o->argi);
			ADDF("VV008", x->cdevs[i].o, ev, NULL,
			     "host device %s is passed twice: FDs %d and %d are both its cdev (the second "
			     "VFIO_DEVICE_BIND_IOMMUFD fails)",
			     x->cdevs[i].bdf, x->cdevs[j].fd, x->cdevs[i].fd);
			break;
		}
	return 0;
}

static int check_leaks(struct ctx *x)
{
	for (size_t i = 0; i < x->inv->n; i++) {
		const struct vk_fd_entry *e = &x->inv->fds[i];
		char target[PATH_MAX], ev[PATH_MAX + 64], d1[160], subj[32];
		const struct vk_vfio_node *got;
		int ret;

		/* A close-on-exec FD of another process was opened by that process
		 * itself (QEMU opens the nodes it needs O_CLOEXEC); it passes no exec. */
		if (is_named(x, e->fd) || e->cloexec)
			continue;
		_cleanup_close_ int ifd = inspect_open(x->inv, e->fd, target, sizeof(target));
		if (ifd < 0)
			continue;
		got = vk_vfio_node_of_fd(ifd, x->nodes, x->nnodes);
		if (!got)
			continue;
		snprintf(ev, sizeof(ev), "fd %d -> %s", e->fd, target);
		snprintf(subj, sizeof(subj), "fd %d", e->fd);
		ret = vk_report_add(x->r, "VV206", subj, -1, 0, ev, NULL,
		                    "FD %d is %s, open and inheritable, but no option of the command line names it",
		                    e->fd, node_describe(got, d1, sizeof(d1)));
		if (ret < 0)
			return ret;
	}
	return 0;
}

int vk_check_fd_inventory(const struct vk_qc_cmdline *c, const struct vk_fd_inventory *inv,
                          const struct vk_root *root, struct vk_report *r, struct vk_error *err)
{
	struct ctx x = {.c = c, .inv = inv, .root = root, .r = r, .err = err};
	int ret = 0;

	if (root && (ret = vk_vfio_nodes_read(root, &x.nodes, &x.nnodes, err)) < 0)
		return ret;
	x.capcdevs = c->nopts;
	x.cdevs = calloc(x.capcdevs ? x.capcdevs : 1, sizeof(*x.cdevs));
	if (!x.cdevs) {
		ret = vk_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* The devices' and objects' FDs first (an -add-fd set they name is checked
	 * as theirs), then the other -add-fd FDs and the FDs other options name. */
	for (size_t i = 0; i < c->nopts && ret >= 0; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		if (vk__is_vfio_pci(o))
			ret = check_fd_prop(&x, o, ROLE_VFIO);
		else if (vk__is_iommufd_object(o))
			ret = check_fd_prop(&x, o, ROLE_IOMMUFD);
	}
	for (size_t i = 0; i < c->nopts && ret >= 0; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		int fd;
		if (!o->def || vk__is_vfio_pci(o) || vk__is_iommufd_object(o))
			continue;
		if (strcmp(o->def->name, "add-fd") == 0) {
			const char *v = vk_qc_option_get(o, "fd");
			if (is_decimal_fd(v, &fd) && fd > 2 && !is_named(&x, fd)) {
				char via[64];
				snprintf(via, sizeof(via), "-add-fd fd=%s", v);
				ret = check_one(&x, o, ROLE_ADDFD, via, fd);
			}
		} else {
			ret = collect_other_fds(&x, o);
		}
	}
	if (ret >= 0)
		ret = check_duplicate_cdevs(&x);
	if (ret >= 0 && root)
		ret = check_leaks(&x);
	if (ret == -ENOMEM)
		vk_error_set(err, ENOMEM, "out of memory");
out:
	free(x.nodes);
	free(x.named);
	free(x.cdevs);
	return ret < 0 ? ret : 0;
}

int vk_check_fds(const struct vk_qc_cmdline *c, pid_t pid, const char *proc, const struct vk_root *root,
                 struct vk_report *r, struct vk_error *err)
{
	struct vk_fd_inventory inv;
	int ret = vk_fd_inventory_take(pid, proc, &inv, err);

	if (ret < 0)
		return ret;
	ret = vk_check_fd_inventory(c, &inv, root, r, err);
	vk_fd_inventory_free(&inv);
	return ret;
}
