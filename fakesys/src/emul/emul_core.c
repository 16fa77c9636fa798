/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The emulated kernel's core: files and their release, what open(2) of a
 * stand-in does, the dispatch of ioctl/pread/pwrite by file kind (the f_op
 * tables of drivers/vfio/container.c, group.c, vfio_main.c and
 * drivers/iommu/iommufd/main.c), locked-memory accounting and the copies
 * from and to the caller's memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/root.h>
#include <vfiokit/standin.h>

#include "emul_internal.h"

struct emul_acct {
	struct emul_acct *next;
	bool mm;
	uint32_t key; /* uid, or tgid */
	uint64_t bytes;
};

int emul_new(const struct emul_opts *o, struct emul **out, struct vk_error *err)
{
	struct emul *e;

	*out = NULL;
	if (!o || !o->root)
		return vk_error_set(err, EINVAL, "emul: no tree to read the host from");
	e = calloc(1, sizeof(*e));
	if (!e)
		return vk_error_set(err, ENOMEM, "emul: out of memory");
	e->root = o->root;
	*out = e;
	return 0;
}

void emul_free(struct emul *e)
{
	if (!e)
		return;
	/* drop the references the caller never gave back, devices first (they
	 * hold their group's file), as the kernel releases them at exit */
	for (int pass = 0; pass < 3; pass++) {
		for (struct emul_file *f = e->files; f;) {
			bool dev = f->kind == EMUL_DEVICE || f->kind == EMUL_CDEV;
			if ((pass == 0 && !dev) || (pass == 1 && f->kind != EMUL_GROUP)) {
				f = f->next;
				continue;
			}
			f->refs = 1;
			emul_file_put(e, f);
			f = e->files; /* the list changed */
		}
	}
	while (e->containers) {
		struct emul_container *ct = e->containers;
		ct->refs = 1;
		legacy_container_put(e, ct);
	}
	while (e->ictxs) {
		struct emul_ictx *i = e->ictxs;
		i->refs = 1;
		ictx_put(e, i);
	}
	for (struct emul_group *g = e->groups, *n; g; g = n) {
		n = g->next;
		free(g);
	}
	for (struct emul_device *d = e->devices, *n; d; d = n) {
		n = d->next;
		device_irqs_off(d);
		free(d);
	}
	for (struct emul_acct *a = e->acct, *n; a; a = n) {
		n = a->next;
		free(a);
	}
	free(e);
}

/* ---- files ------------------------------------------------------------------------- */

struct emul_file *file_new(struct emul *e, enum emul_kind kind, int oflags, const char *name)
{
	struct emul_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->kind = kind;
	f->refs = 1;
	f->oflags = oflags;
	snprintf(f->name, sizeof(f->name), "%s", name ? name : "");
	f->next = e->files;
	e->files = f;
	return f;
}

struct emul_file *emul_file_get(struct emul_file *f)
{
	if (f)
		f->refs++;
	return f;
}

enum emul_kind emul_file_kind(const struct emul_file *f)
{
	return f->kind;
}

bool emul_file_rw_ready(const struct emul_file *f)
{
	return (f->kind == EMUL_DEVICE || f->kind == EMUL_CDEV) && f->u.df->access_granted;
}

const char *emul_file_name(const struct emul_file *f)
{
	return f->name;
}

static void file_unlink(struct emul *e, struct emul_file *f)
{
	for (struct emul_file **p = &e->files; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			return;
		}
}

/* The kernel's ->release() of each kind, at the last fput(). */
void emul_file_put(struct emul *e, struct emul_file *f)
{
	struct emul_call c = {.e = e};

	if (!f || --f->refs)
		return;
	file_unlink(e, f);
	switch (f->kind) {
	case EMUL_CONTAINER:
		/* vfio_fops_release(): the groups keep the container */
		legacy_container_put(e, f->u.c);
		break;
	case EMUL_GROUP:
		legacy_group_release(&c, f->u.g);
		break;
	case EMUL_DEVICE:
		device_close(&c, f->u.df);
		free(f->u.df);
		break;
	case EMUL_CDEV:
		if (f->u.df->access_granted)
			cdev_unbind(&c, f->u.df);
		free(f->u.df);
		break;
	case EMUL_IOMMUFD:
		ictx_put(e, f->u.ictx);
		break;
	}
	free(f);
}

/* ---- open(2) of a stand-in ----------------------------------------------------------- */

static int parse_majmin(const char *s, unsigned *maj, unsigned *min)
{
	char tail;

	return sscanf(s, "%u:%u%c", maj, min, &tail) >= 2 ? 0 : -EINVAL;
}

static bool attr_is(const struct emul *e, const char *rel, unsigned maj, unsigned min)
{
	char buf[32];
	unsigned a, b;

	return host_read(e, rel, buf, sizeof(buf)) > 0 && parse_majmin(buf, &a, &b) == 0 && a == maj && b == min;
}

/* The entry of sys/class/<cls> whose dev attribute is maj:min, into @name. */
static int class_lookup(const struct emul *e, const char *cls, unsigned maj, unsigned min, char *name, size_t len)
{
	char rel[64];
	int fd;

	snprintf(rel, sizeof(rel), "sys/class/%s", cls);
	fd = vk_root_openat(e->root, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	struct dirent *de;
	int r = -ENXIO;
	while ((de = readdir(d))) {
		char arel[300];
		if (de->d_name[0] == '.')
			continue;
		snprintf(arel, sizeof(arel), "sys/class/%s/%s/dev", cls, de->d_name);
		if (attr_is(e, arel, maj, min) && strlen(de->d_name) < len) {
			strcpy(name, de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

static int open_cdev(struct emul_call *c, const char *vfiodev, int oflags, struct emul_file **out)
{
	char rel[96], bdf[32], drv[64];
	struct emul_device *d;

	/* vfio-dev/vfioN's parent device */
	snprintf(rel, sizeof(rel), "sys/class/vfio-dev/%s/device", vfiodev);
	if (host_readlink_base(c->e, rel, bdf, sizeof(bdf)) < 0)
		return -ENXIO;
	/* vfio_device_fops_cdev_open(): vfio_device_try_get_registration() */
	if (host_dev_driver(c->e, bdf, drv, sizeof(drv)) < 0 || !host_driver_is_vfio(drv))
		return -ENODEV;
	d = device_get(c->e, bdf);
	if (!d)
		return -ENOMEM;
	struct emul_devfile *df = calloc(1, sizeof(*df));
	struct emul_file *f = df ? file_new(c->e, EMUL_CDEV, oflags, bdf) : NULL;
	if (!f) {
		free(df);
		return -ENOMEM;
	}
	df->dev = d;
	f->u.df = df;
	*out = f;
	return 0;
}

int emul_open_standin(struct emul *e, const struct emul_env *env, const char *content, int oflags,
                      struct emul_file **out)
{
	struct emul_call c = {.e = e, .env = env};
	char name[64];
	unsigned maj, min;
	int r;

	*out = NULL;
	if (strncmp(content, VK_STANDIN_MAGIC " ", sizeof(VK_STANDIN_MAGIC)) != 0 ||
	    parse_majmin(content + sizeof(VK_STANDIN_MAGIC), &maj, &min) < 0)
		return -ENXIO;

	if (class_lookup(e, "misc", maj, min, name, sizeof(name)) == 0) {
		if (!strcmp(name, "vfio")) {
			/* vfio_fops_open(): a new container */
			struct emul_container *ct = calloc(1, sizeof(*ct));
			struct emul_file *f = ct ? file_new(e, EMUL_CONTAINER, oflags, "vfio") : NULL;
			if (!f) {
				free(ct);
				return -ENOMEM;
			}
			ct->refs = 1;
			ct->next = e->containers;
			e->containers = ct;
			f->u.c = ct;
			*out = f;
			return 0;
		}
		if (!strcmp(name, "iommu")) {
			/* iommufd_fops_open(): a new context, per-user accounting */
			struct emul_ictx *ictx = calloc(1, sizeof(*ictx));
			struct emul_file *f = ictx ? file_new(e, EMUL_IOMMUFD, oflags, "iommu") : NULL;
			if (!f) {
				free(ictx);
				return -ENOMEM;
			}
			ictx->refs = 1;
			ictx->next = e->ictxs;
			e->ictxs = ictx;
			f->u.ictx = ictx;
			*out = f;
			return 0;
		}
		return -ENXIO;
	}
	if (class_lookup(e, "vfio", maj, min, name, sizeof(name)) == 0) {
		const char *num = !strncmp(name, "noiommu-", 8) ? name + 8 : name;
		struct emul_group *g;
		char *end;
		long id = strtol(num, &end, 10);
		if (*end || end == num)
			return -ENXIO;
		r = legacy_group_open(&c, id, num != name, &g);
		if (r < 0)
			return r;
		struct emul_file *f = file_new(e, EMUL_GROUP, oflags, name);
		if (!f)
			return -ENOMEM;
		f->u.g = g;
		g->opened_file = f;
		*out = f;
		return 0;
	}
	if (class_lookup(e, "vfio-dev", maj, min, name, sizeof(name)) == 0)
		return open_cdev(&c, name, oflags, out);
	return -ENXIO;
}

/* ---- dispatch ----------------------------------------------------------------------- */

/* vfio_device_fops_unl_ioctl() (drivers/vfio/vfio_main.c) */
static long devfile_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg)
{
	struct emul_devfile *df = f->u.df;

	if (cmd == VFIO_DEVICE_BIND_IOMMUFD) {
		/* BIND_IOMMUFD only allowed for cdev fds */
		if (f->kind != EMUL_CDEV)
			return -EINVAL;
		return cdev_ioctl_bind(c, f, arg);
	}
	if (!df->access_granted)
		return -EINVAL;
	if (f->kind == EMUL_CDEV) {
		if (cmd == VFIO_DEVICE_ATTACH_IOMMUFD_PT)
			return cdev_ioctl_attach(c, f, arg);
		if (cmd == VFIO_DEVICE_DETACH_IOMMUFD_PT)
			return cdev_ioctl_detach(c, f, arg);
	}
	return device_ioctl(c, f, cmd, arg);
}

long emul_ioctl(struct emul *e, const struct emul_env *env, struct emul_file *f, unsigned int cmd, uint64_t arg)
{
	struct emul_call c = {.e = e, .env = env};
	long r;

	emul_file_get(f);
	switch (f->kind) {
	case EMUL_CONTAINER:
		r = legacy_container_ioctl(&c, f, cmd, arg);
		break;
	case EMUL_GROUP:
		r = legacy_group_ioctl(&c, f, cmd, arg);
		break;
	case EMUL_DEVICE:
	case EMUL_CDEV:
		r = devfile_ioctl(&c, f, cmd, arg);
		break;
	case EMUL_IOMMUFD:
		r = iommufd_ioctl(&c, f, cmd, arg);
		break;
	default:
		r = -ENOTTY;
	}
	emul_file_put(e, f);
	return r;
}

/*
 * vfs_read()/vfs_write(): EBADF without the access mode, EINVAL for a file
 * without a read/write op (container, group, iommufd), then the device's
 * vfio_device_fops_read/write(): EINVAL until access is granted.
 */
ssize_t emul_rw(struct emul *e, const struct emul_env *env, struct emul_file *f, void *buf, size_t count,
                uint64_t pos, bool write)
{
	struct emul_call c = {.e = e, .env = env};
	int acc = f->oflags & O_ACCMODE;
	ssize_t r;

	if ((int64_t)pos < 0)
		return -EINVAL; /* ksys_pread64() */
	if (write ? acc == O_RDONLY : acc == O_WRONLY)
		return -EBADF;
	if (f->kind != EMUL_DEVICE && f->kind != EMUL_CDEV)
		return -EINVAL;
	if (!f->u.df->access_granted)
		return -EINVAL;
	if (!count)
		return 0;
	emul_file_get(f);
	r = device_rw(&c, f->u.df->dev, buf, count, pos, write);
	emul_file_put(e, f);
	return r;
}

/* ---- the caller's memory and credentials --------------------------------------------- */

int copy_from_user(struct emul_call *c, void *dst, uint64_t src, size_t len)
{
	if (!len)
		return 0;
	if (!c->env || !c->env->read_mem)
		return -EFAULT;
	return c->env->read_mem(c->env->ctx, src, dst, len) < 0 ? -EFAULT : 0;
}

int copy_to_user(struct emul_call *c, uint64_t dst, const void *src, size_t len)
{
	if (!len)
		return 0;
	if (!c->env || !c->env->write_mem)
		return -EFAULT;
	return c->env->write_mem(c->env->ctx, dst, src, len) < 0 ? -EFAULT : 0;
}

int clear_user(struct emul_call *c, uint64_t dst, size_t len)
{
	static const uint8_t zeros[256];

	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		if (copy_to_user(c, dst, zeros, n) < 0)
			return -EFAULT;
		dst += n;
		len -= n;
	}
	return 0;
}

/* include/linux/uaccess.h copy_struct_from_user() */
int copy_struct_from_user(struct emul_call *c, void *dst, size_t ksize, uint64_t src, size_t usize)
{
	size_t size = usize < ksize ? usize : ksize;

	memset(dst, 0, ksize);
	if (usize > ksize) {
		/* check_zeroed_user() on the tail */
		uint8_t chunk[256];
		for (size_t off = ksize; off < usize;) {
			size_t n = usize - off < sizeof(chunk) ? usize - off : sizeof(chunk);
			if (copy_from_user(c, chunk, src + off, n) < 0)
				return -EFAULT;
			for (size_t i = 0; i < n; i++)
				if (chunk[i])
					return -E2BIG;
			off += n;
		}
	}
	return copy_from_user(c, dst, src, size);
}

int call_creds(struct emul_call *c, const struct emul_creds **out)
{
	if (!c->have_creds) {
		if (!c->env || !c->env->creds)
			return -EPERM;
		int r = c->env->creds(c->env->ctx, &c->creds);
		if (r < 0)
			return r;
		c->have_creds = true;
	}
	*out = &c->creds;
	return 0;
}

/* ---- locked memory --------------------------------------------------------------------- */

static struct emul_acct *acct_find(struct emul *e, bool mm, uint32_t key, bool create)
{
	for (struct emul_acct *a = e->acct; a; a = a->next)
		if (a->mm == mm && a->key == key)
			return a;
	if (!create)
		return NULL;
	struct emul_acct *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->mm = mm;
	a->key = key;
	a->next = e->acct;
	e->acct = a;
	return a;
}

int acct_charge(struct emul *e, bool mm, uint32_t key, uint64_t bytes, uint64_t limit, uint64_t already)
{
	struct emul_acct *a = acct_find(e, mm, key, true);

	if (!a)
		return -ENOMEM;
	if (limit != UINT64_MAX &&
	    (a->bytes + already > limit || bytes > limit - a->bytes - already))
		return -ENOMEM;
	a->bytes += bytes;
	return 0;
}

void acct_uncharge(struct emul *e, bool mm, uint32_t key, uint64_t bytes)
{
	struct emul_acct *a = acct_find(e, mm, key, false);

	if (a)
		a->bytes = a->bytes > bytes ? a->bytes - bytes : 0;
}

uint64_t emul_locked_user(const struct emul *e, uid_t uid)
{
	struct emul_acct *a = acct_find((struct emul *)e, false, (uint32_t)uid, false);
	return a ? a->bytes : 0;
}

uint64_t emul_locked_mm(const struct emul *e, pid_t tgid)
{
	struct emul_acct *a = acct_find((struct emul *)e, true, (uint32_t)tgid, false);
	return a ? a->bytes : 0;
}

/* ---- introspection ------------------------------------------------------------------------ */

static struct emul_device *device_find(const struct emul *e, const char *bdf)
{
	for (struct emul_device *d = e->devices; d; d = d->next)
		if (!strcmp(d->bdf, bdf))
			return d;
	return NULL;
}

unsigned long emul_bar_writes(const struct emul *e, const char *bdf, struct emul_bar_write *last)
{
	struct emul_device *d = device_find(e, bdf);

	if (!d)
		return 0;
	if (last)
		*last = d->last_bar_write;
	return d->bar_writes;
}

unsigned emul_resets(const struct emul *e, const char *bdf)
{
	struct emul_device *d = device_find(e, bdf);
	return d ? d->resets : 0;
}

const char *emul_ioctl_name(enum emul_kind kind, unsigned int cmd)
{
	/* the files a name is of: numbers repeat across them (VFIO_BASE + 12 is
	 * VFIO_IOMMU_GET_INFO on a container, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO
	 * on a device; + 13, + 17 likewise: include/uapi/linux/vfio.h) */
	enum {
		C = 1u << EMUL_CONTAINER,
		G = 1u << EMUL_GROUP,
		D = 1u << EMUL_DEVICE | 1u << EMUL_CDEV,
		I = 1u << EMUL_IOMMUFD,
	};
	static const struct {
		unsigned int cmd;
		unsigned kinds;
		const char *name;
	} names[] = {
#define N(k, x) {x, k, #x}
		N(C, VFIO_GET_API_VERSION),
		N(C, VFIO_CHECK_EXTENSION),
		N(C, VFIO_SET_IOMMU),
		N(C, VFIO_IOMMU_GET_INFO),
		N(C, VFIO_IOMMU_MAP_DMA),
		N(C, VFIO_IOMMU_UNMAP_DMA),
		N(C, VFIO_IOMMU_DIRTY_PAGES),
		N(G, VFIO_GROUP_GET_STATUS),
		N(G, VFIO_GROUP_SET_CONTAINER),
		N(G, VFIO_GROUP_UNSET_CONTAINER),
		N(G, VFIO_GROUP_GET_DEVICE_FD),
		N(D, VFIO_DEVICE_GET_INFO),
		N(D, VFIO_DEVICE_GET_REGION_INFO),
		N(D, VFIO_DEVICE_GET_IRQ_INFO),
		N(D, VFIO_DEVICE_SET_IRQS),
		N(D, VFIO_DEVICE_RESET),
		N(D, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO),
		N(D, VFIO_DEVICE_PCI_HOT_RESET),
		N(D, VFIO_DEVICE_IOEVENTFD),
		N(D, VFIO_DEVICE_FEATURE),
		N(D, VFIO_DEVICE_BIND_IOMMUFD),
		N(D, VFIO_DEVICE_ATTACH_IOMMUFD_PT),
		N(D, VFIO_DEVICE_DETACH_IOMMUFD_PT),
		N(I, IOMMU_DESTROY),
		N(I, IOMMU_IOAS_ALLOC),
		N(I, IOMMU_IOAS_ALLOW_IOVAS),
		N(I, IOMMU_IOAS_COPY),
		N(I, IOMMU_IOAS_IOVA_RANGES),
		N(I, IOMMU_IOAS_MAP),
		N(I, IOMMU_IOAS_UNMAP),
		N(I, IOMMU_OPTION),
		N(I, IOMMU_VFIO_IOAS),
		N(I, IOMMU_HWPT_ALLOC),
		N(I, IOMMU_GET_HW_INFO),
		N(I, IOMMU_HWPT_SET_DIRTY_TRACKING),
		N(I, IOMMU_HWPT_GET_DIRTY_BITMAP),
#undef N
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].cmd == cmd && (names[i].kinds & (1u << kind)))
			return names[i].name;
	return NULL;
}
