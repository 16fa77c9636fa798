/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iommufd (/dev/iommu, drivers/iommu/iommufd/main.c, device.c,
 * hw_pagetable.c, vfio_compat.c) as of the 6.7 UAPI, and the VFIO device
 * cdev's use of it (drivers/vfio/device_cdev.c, drivers/vfio/iommufd.c):
 * VFIO_DEVICE_BIND_IOMMUFD, _ATTACH_IOMMUFD_PT, _DETACH_IOMMUFD_PT.
 * The IOAS operations (map, copy, unmap, IOVA ranges, pinning) are in
 * iommufd_ioas.c.
 *
 * Objects live in a table indexed by id, the lowest free id first from 1
 * (xa_alloc() with XA_FLAGS_ALLOC1); `users` counts the references the
 * kernel's object graph holds, which IOMMU_DESTROY needs to be 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emul_internal.h"

static bool gc(struct emul_call *c)
{
	return c->env && c->env->gc && c->env->gc(c->env->ctx) > 0;
}

struct emul_iobj *iobj_get(struct emul_ictx *ictx, uint32_t id, enum iobj_type type)
{
	if (!id || id >= ictx->nobjs || !ictx->objs[id])
		return NULL;
	if (type && ictx->objs[id]->type != type)
		return NULL;
	return ictx->objs[id];
}

static struct emul_iobj *iobj_new(struct emul_ictx *ictx, enum iobj_type type)
{
	uint32_t id = 1;

	while (id < ictx->nobjs && ictx->objs[id])
		id++;
	if (id >= ictx->nobjs) {
		uint32_t n = ictx->nobjs ? ictx->nobjs * 2 : 16;
		struct emul_iobj **o = realloc(ictx->objs, sizeof(*o) * n);
		if (!o)
			return NULL;
		memset(o + ictx->nobjs, 0, sizeof(*o) * (n - ictx->nobjs));
		ictx->objs = o;
		ictx->nobjs = n;
	}
	struct emul_iobj *obj = calloc(1, sizeof(*obj));
	if (!obj)
		return NULL;
	obj->type = type;
	obj->id = id;
	obj->users = 1;
	ictx->objs[id] = obj;
	return obj;
}

static void iobj_free(struct emul_ictx *ictx, struct emul_iobj *obj)
{
	ictx->objs[obj->id] = NULL;
	if (ictx->vfio_ioas == obj->id)
		ictx->vfio_ioas = 0;
	free(obj);
}

static void hwpt_destroy(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *hwpt)
{
	struct emul_iobj *ioas = iobj_get(ictx, hwpt->u.hwpt.ioas_id, IOBJ_IOAS);

	if (ioas) {
		ioas_remove_domain(c, ictx, ioas);
		ioas->users--;
	}
	iobj_free(ictx, hwpt);
}

/* iommufd_fops_release(): leaves first, the IOASes last */
void ictx_put(struct emul *e, struct emul_ictx *ictx)
{
	struct emul_call c = {.e = e};

	if (--ictx->refs)
		return;
	for (int t = IOBJ_DEVICE; t >= IOBJ_IOAS; t--)
		for (uint32_t id = 1; id < ictx->nobjs; id++) {
			struct emul_iobj *obj = ictx->objs[id];
			if (!obj || (int)obj->type != t)
				continue;
			if (t == IOBJ_HWPT)
				hwpt_destroy(&c, ictx, obj);
			else if (t == IOBJ_IOAS) {
				ioas_destroy(&c, obj);
				iobj_free(ictx, obj);
			} else
				iobj_free(ictx, obj);
		}
	for (struct emul_ictx **p = &e->ictxs; *p; p = &(*p)->next)
		if (*p == ictx) {
			*p = ictx->next;
			break;
		}
	free(ictx->objs);
	free(ictx);
}

/* iommufd_ucmd_respond() */
static int respond(struct emul_call *c, uint64_t arg, const void *cmd, uint32_t usize, size_t len)
{
	return copy_to_user(c, arg, cmd, usize < len ? usize : len) < 0 ? -EFAULT : 0;
}

/* ---- devices ---------------------------------------------------------------------------------- */

/* The iommufd that owns @group through one of its devices, NULL for none. */
static struct emul_ictx *group_owner(struct emul *e, long group, const struct emul_device *except)
{
	for (struct emul_device *d = e->devices; d; d = d->next)
		if (d != except && d->ictx && d->idev_id && host_dev_group(e, d->bdf) == group)
			return d->ictx;
	return NULL;
}

/* iommufd_device_bind() */
int iommufd_bind_device(struct emul_call *c, struct emul_ictx *ictx, struct emul_device *d, uint32_t *devid)
{
	struct emul_iommu_info ii;
	long group = host_dev_group(c->e, d->bdf);

	if (group < 0)
		return -ENODEV;
	/* iommu_device_claim_dma_owner(): a kernel driver's DMA, or another owner */
	if (!host_group_free_of_kernel_dma(c->e, group))
		return -EPERM;
	struct emul_group *g = group_get(c->e, group);
	if (g && g->container)
		return -EPERM;
	struct emul_ictx *owner = group_owner(c->e, group, d);
	if (owner && owner != ictx)
		return -EPERM;
	/* MSI isolation, or iommufd's allow_unsafe_interrupts */
	if (host_iommu_info(c->e, d->bdf, &ii) < 0 || ii.kind == IOMMU_NONE_KIND)
		return -ENODEV;
	if (!ii.isolated_msi && !host_module_param_y(c->e, "iommufd", "allow_unsafe_interrupts"))
		return -EPERM;
	struct emul_iobj *obj = iobj_new(ictx, IOBJ_DEVICE);
	if (!obj)
		return -ENOMEM;
	obj->users = 2; /* "The calling driver is a user until iommufd_device_unbind()" */
	obj->u.idev.dev = d;
	obj->u.idev.group = group;
	ictx->refs++; /* iommufd_ctx_get() */
	*devid = obj->id;
	return 0;
}

void iommufd_unbind_device(struct emul_call *c, struct emul_ictx *ictx, uint32_t devid)
{
	struct emul_iobj *obj = iobj_get(ictx, devid, IOBJ_DEVICE);

	if (!obj)
		return;
	iommufd_detach(c, ictx, devid);
	iobj_free(ictx, obj);
	ictx_put(c->e, ictx);
}

/* Can @hwpt take the device @idev? (the group's one hwpt, the same IOMMU kind) */
static int hwpt_compatible(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *hwpt,
                           struct emul_iobj *idev, const struct emul_iommu_info *ii)
{
	if (hwpt->u.hwpt.iommu.kind != ii->kind)
		return -EINVAL;
	/* every device of an iommu group shares its hwpt (igroup->hwpt) */
	for (uint32_t id = 1; id < ictx->nobjs; id++) {
		struct emul_iobj *o = ictx->objs[id];
		if (o && o != idev && o->type == IOBJ_DEVICE && o->u.idev.group == idev->u.idev.group &&
		    o->u.idev.hwpt_id && o->u.idev.hwpt_id != hwpt->id)
			return -EINVAL;
	}
	return 0;
}

/* A paging hwpt on @ioas for the device's IOMMU: a domain, pinning the IOAS. */
static int hwpt_paging_new(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *ioas,
                           const struct emul_iommu_info *ii, long group, uint32_t flags, bool auto_domain,
                           struct emul_iobj **out)
{
	struct emul_iobj *hwpt = iobj_new(ictx, IOBJ_HWPT);
	int r;

	if (!hwpt)
		return -ENOMEM;
	hwpt->u.hwpt.ioas_id = ioas->id;
	hwpt->u.hwpt.flags = flags;
	hwpt->u.hwpt.auto_domain = auto_domain;
	hwpt->u.hwpt.iommu = *ii;
	r = ioas_add_domain(c, ictx, ioas, ii, group);
	if (r < 0) {
		iobj_free(ictx, hwpt);
		return r;
	}
	ioas->users++;
	*out = hwpt;
	return 0;
}

/* Attach @idev to @hwpt: the group's reserved regions enter the IOAS. */
static int hwpt_attach(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *hwpt, struct emul_iobj *idev)
{
	struct emul_iobj *ioas = iobj_get(ictx, hwpt->u.hwpt.ioas_id, IOBJ_IOAS);

	if (!ioas)
		return -ENOENT;
	/* iopt_table_enforce_dev_resv_regions(): no mapping or allowed range there */
	struct emul_range resv[EMUL_MAX_RANGES];
	int nr = host_group_reserved(c->e, idev->u.idev.group, resv, EMUL_MAX_RANGES);
	for (int i = 0; i < nr; i++) {
		for (struct emul_area *a = ioas->u.ioas.areas; a; a = a->next)
			if (a->iova <= resv[i].last && a->iova + a->length - 1 >= resv[i].start)
				return -EADDRINUSE;
		for (int j = 0; j < ioas->u.ioas.nallowed; j++)
			if (ioas->u.ioas.allowed[j].start <= resv[i].last && ioas->u.ioas.allowed[j].last >= resv[i].start)
				return -EADDRINUSE;
	}
	hwpt->u.hwpt.ndev++;
	hwpt->u.hwpt.group = idev->u.idev.group;
	hwpt->users++;
	idev->u.idev.hwpt_id = hwpt->id;
	return 0;
}

static void hwpt_detach(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *idev)
{
	struct emul_iobj *hwpt = iobj_get(ictx, idev->u.idev.hwpt_id, IOBJ_HWPT);

	idev->u.idev.hwpt_id = 0;
	if (!hwpt)
		return;
	hwpt->u.hwpt.ndev--;
	hwpt->users--;
	/* an automatic domain goes with its last device */
	if (hwpt->u.hwpt.auto_domain && hwpt->users == 1)
		hwpt_destroy(c, ictx, hwpt);
}

/* iommufd_device_attach() / iommufd_device_replace() */
int iommufd_attach(struct emul_call *c, struct emul_ictx *ictx, uint32_t devid, uint32_t *pt_id)
{
	struct emul_iobj *idev = iobj_get(ictx, devid, IOBJ_DEVICE);
	struct emul_iobj *pt = iobj_get(ictx, *pt_id, 0);
	struct emul_iommu_info ii;
	int r;

	if (!idev)
		return -EINVAL;
	if (!pt)
		return -ENOENT;
	if (host_iommu_info(c->e, idev->u.idev.dev->bdf, &ii) < 0)
		return -ENODEV;
	uint32_t old = idev->u.idev.hwpt_id;
	struct emul_iobj *hwpt = NULL;
	if (pt->type == IOBJ_HWPT) {
		if (old == pt->id)
			return 0; /* replacing with itself */
		if ((r = hwpt_compatible(c, ictx, pt, idev, &ii)) < 0)
			return r;
		hwpt = pt;
	} else if (pt->type == IOBJ_IOAS) {
		/* iommufd_device_auto_get_domain(): an automatic domain of the IOAS, or a new one */
		for (uint32_t id = 1; id < ictx->nobjs && !hwpt; id++) {
			struct emul_iobj *o = ictx->objs[id];
			if (o && o->type == IOBJ_HWPT && o->u.hwpt.auto_domain && o->u.hwpt.ioas_id == pt->id &&
			    hwpt_compatible(c, ictx, o, idev, &ii) == 0)
				hwpt = o;
		}
		if (hwpt && hwpt->id == old)
			return (*pt_id = old), 0;
		if (!hwpt) {
			r = hwpt_paging_new(c, ictx, pt, &ii, idev->u.idev.group, 0, true, &hwpt);
			if (r < 0)
				return r;
		}
	} else {
		return -EINVAL;
	}
	r = hwpt_attach(c, ictx, hwpt, idev);
	if (r < 0) {
		if (hwpt->u.hwpt.auto_domain && hwpt->users == 1)
			hwpt_destroy(c, ictx, hwpt);
		return r;
	}
	if (old) {
		uint32_t now = idev->u.idev.hwpt_id;
		idev->u.idev.hwpt_id = old;
		hwpt_detach(c, ictx, idev);
		idev->u.idev.hwpt_id = now;
	}
	*pt_id = hwpt->id;
	return 0;
}

void iommufd_detach(struct emul_call *c, struct emul_ictx *ictx, uint32_t devid)
{
	struct emul_iobj *idev = iobj_get(ictx, devid, IOBJ_DEVICE);

	if (idev && idev->u.idev.hwpt_id)
		hwpt_detach(c, ictx, idev);
}

/* iommufd_vfio_compat_ioas_create() */
int iommufd_compat_ioas(struct emul_call *c, struct emul_ictx *ictx, uint32_t *out)
{
	if (!iobj_get(ictx, ictx->vfio_ioas, IOBJ_IOAS)) {
		struct emul_iobj *ioas = iobj_new(ictx, IOBJ_IOAS);
		if (!ioas)
			return -ENOMEM;
		ioas->u.ioas.iova_alignment = 1;
		ioas->u.ioas.huge_pages = true;
		ictx->vfio_ioas = ioas->id;
	}
	*out = ictx->vfio_ioas;
	return 0;
}

/* ---- the VFIO device cdev ----------------------------------------------------------------------- */

static struct emul_group *device_group(struct emul_call *c, struct emul_device *d)
{
	long g = host_dev_group(c->e, d->bdf);
	return g < 0 ? NULL : group_get(c->e, g);
}

/* vfio_df_ioctl_bind_iommufd() */
long cdev_ioctl_bind(struct emul_call *c, struct emul_file *f, uint64_t arg)
{
	struct emul_devfile *df = f->u.df;
	struct vfio_device_bind_iommufd bind;
	size_t minsz = offsetof(struct vfio_device_bind_iommufd, out_devid) + sizeof(bind.out_devid);
	struct emul_file *ifile = NULL;
	long r;

	if (copy_from_user(c, &bind, arg, minsz) < 0)
		return -EFAULT;
	if (bind.argsz < minsz || bind.flags || bind.iommufd < 0)
		return -EINVAL;
	/* vfio_device_block_group(): the group's legacy node is open */
	struct emul_group *g = device_group(c, df->dev);
	if (!g)
		return -ENODEV;
	if (g->opened_file)
		gc(c); /* its close may not have been seen yet */
	if (g->opened_file)
		return -EBUSY;
	g->cdev_open_cnt++;
	/* one device cannot be bound twice */
	r = -EINVAL;
	if (df->access_granted)
		goto out_unblock;
	r = c->env && c->env->get_file ? c->env->get_file(c->env->ctx, bind.iommufd, &ifile) : -EBADF;
	if (r < 0)
		goto out_unblock;
	r = -EBADFD;
	if (!ifile || ifile->kind != EMUL_IOMMUFD)
		goto out_put;
	df->ictx = ifile->u.ictx;
	df->ictx->refs++;
	r = device_open(c, df);
	if (r == -EINVAL && df->dev->open_count && gc(c))
		r = device_open(c, df);
	if (r < 0)
		goto out_ictx;
	if (copy_to_user(c, arg + offsetof(struct vfio_device_bind_iommufd, out_devid), &df->devid,
	                 sizeof(df->devid)) < 0) {
		r = -EFAULT;
		device_close(c, df);
		goto out_ictx;
	}
	df->dev->cdev_opened = true;
	df->access_granted = true;
	emul_file_put(c->e, ifile);
	return 0;
out_ictx:
	ictx_put(c->e, df->ictx);
	df->ictx = NULL;
out_put:
	if (ifile)
		emul_file_put(c->e, ifile);
out_unblock:
	g->cdev_open_cnt--;
	return r;
}

/* vfio_df_unbind_iommufd() */
void cdev_unbind(struct emul_call *c, struct emul_devfile *df)
{
	struct emul_group *g = device_group(c, df->dev);

	if (!df->access_granted)
		return;
	device_close(c, df);
	if (df->ictx)
		ictx_put(c->e, df->ictx);
	df->ictx = NULL;
	df->dev->cdev_opened = false;
	df->access_granted = false;
	if (g && g->cdev_open_cnt)
		g->cdev_open_cnt--;
}

/* vfio_df_ioctl_attach_pt() (6.8: no PASID) */
long cdev_ioctl_attach(struct emul_call *c, struct emul_file *f, uint64_t arg)
{
	struct emul_devfile *df = f->u.df;
	struct vfio_device_attach_iommufd_pt attach;
	size_t minsz = offsetof(struct vfio_device_attach_iommufd_pt, pt_id) + sizeof(attach.pt_id);

	if (copy_from_user(c, &attach, arg, minsz) < 0)
		return -EFAULT;
	if (attach.argsz < minsz || attach.flags)
		return -EINVAL;
	int r = iommufd_attach(c, df->ictx, df->devid, &attach.pt_id);
	if (r < 0)
		return r;
	if (copy_to_user(c, arg + offsetof(struct vfio_device_attach_iommufd_pt, pt_id), &attach.pt_id,
	                 sizeof(attach.pt_id)) < 0) {
		iommufd_detach(c, df->ictx, df->devid);
		return -EFAULT;
	}
	return 0;
}

/* vfio_df_ioctl_detach_pt(): detaching a device that is not attached is no error */
long cdev_ioctl_detach(struct emul_call *c, struct emul_file *f, uint64_t arg)
{
	struct vfio_device_detach_iommufd_pt detach;
	size_t minsz = offsetof(struct vfio_device_detach_iommufd_pt, flags) + sizeof(detach.flags);

	if (copy_from_user(c, &detach, arg, minsz) < 0)
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;
	iommufd_detach(c, f->u.df->ictx, f->u.df->devid);
	return 0;
}

/* ---- /dev/iommu's ioctls ------------------------------------------------------------------------ */

union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_hw_info info;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
};

/* iommufd_object_remove() */
static long iommufd_destroy(struct emul_call *c, struct emul_ictx *ictx, uint32_t id)
{
	struct emul_iobj *obj = iobj_get(ictx, id, 0);

	if (!obj)
		return -ENOENT;
	if (obj->users != 1 && gc(c))
		obj = iobj_get(ictx, id, 0);
	if (!obj)
		return -ENOENT;
	if (obj->users != 1)
		return -EBUSY;
	if (obj->type == IOBJ_HWPT) {
		hwpt_destroy(c, ictx, obj);
	} else {
		if (obj->type == IOBJ_IOAS)
			ioas_destroy(c, obj);
		iobj_free(ictx, obj);
	}
	return 0;
}

static bool ictx_empty(const struct emul_ictx *ictx)
{
	for (uint32_t id = 1; id < ictx->nobjs; id++)
		if (ictx->objs[id])
			return false;
	return true;
}

/* iommufd_option(): RLIMIT_MODE on the context, HUGE_PAGES on an IOAS */
static long iommufd_option(struct emul_call *c, struct emul_ictx *ictx, struct iommu_option *cmd, uint64_t arg)
{
	const struct emul_creds *cr;
	struct emul_iobj *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		if (cmd->object_id)
			return -EOPNOTSUPP;
		if (cmd->op == IOMMU_OPTION_OP_GET) {
			cmd->val64 = ictx->account_mm;
			break;
		}
		if (cmd->op != IOMMU_OPTION_OP_SET)
			return -EOPNOTSUPP;
		if (call_creds(c, &cr) < 0 || !cr->cap_sys_resource)
			return -EPERM;
		if (!ictx_empty(ictx))
			gc(c); /* a device object goes with its cdev's close */
		if (!ictx_empty(ictx))
			return -EBUSY;
		if (cmd->val64 > 1)
			return -EINVAL;
		ictx->account_mm = cmd->val64 == 1;
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		ioas = iobj_get(ictx, cmd->object_id, IOBJ_IOAS);
		if (!ioas)
			return -ENOENT;
		if (cmd->op == IOMMU_OPTION_OP_GET) {
			cmd->val64 = ioas->u.ioas.huge_pages;
			break;
		}
		if (cmd->op != IOMMU_OPTION_OP_SET)
			return -EOPNOTSUPP;
		if (cmd->val64 > 1)
			return -EINVAL;
		/* iopt_disable_large_pages(): not once domains hold mappings */
		if (!cmd->val64 && ioas->u.ioas.huge_pages && ioas->u.ioas.ndomains && ioas->u.ioas.areas)
			return -EINVAL;
		ioas->u.ioas.huge_pages = cmd->val64 == 1;
		break;
	default:
		return -EOPNOTSUPP;
	}
	return copy_to_user(c, arg + offsetof(struct iommu_option, val64), &cmd->val64, sizeof(cmd->val64)) < 0
	               ? -EFAULT
	               : 0;
}

/* iommufd_vfio_ioas() */
static long vfio_ioas(struct emul_call *c, struct emul_ictx *ictx, struct iommu_vfio_ioas *cmd, uint32_t usize,
                      uint64_t arg)
{
	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		if (!iobj_get(ictx, ictx->vfio_ioas, IOBJ_IOAS))
			return -ENODEV;
		cmd->ioas_id = ictx->vfio_ioas;
		return respond(c, arg, cmd, usize, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		if (!iobj_get(ictx, cmd->ioas_id, IOBJ_IOAS))
			return -ENOENT;
		ictx->vfio_ioas = cmd->ioas_id;
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		ictx->vfio_ioas = 0;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* iommufd_hwpt_alloc(): a paging HWPT on an IOAS; nesting needs VT-d's NEST */
static long hwpt_alloc(struct emul_call *c, struct emul_ictx *ictx, struct iommu_hwpt_alloc *cmd, uint32_t usize,
                       uint64_t arg)
{
	struct emul_iommu_info ii;
	struct emul_iobj *hwpt;
	int r;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && (!cmd->data_len || !cmd->data_uptr)))
		return -EINVAL;
	struct emul_iobj *idev = iobj_get(ictx, cmd->dev_id, IOBJ_DEVICE);
	if (!idev)
		return -ENOENT;
	struct emul_iobj *pt = iobj_get(ictx, cmd->pt_id, 0);
	if (!pt)
		return -ENOENT;
	if (host_iommu_info(c->e, idev->u.idev.dev->bdf, &ii) < 0)
		return -ENODEV;
	bool nest_cap = ii.kind == VK_IOMMU_INTEL && (ii.ecap & (1ull << 26));
	if (pt->type == IOBJ_HWPT) {
		/* iommufd_hwpt_nested_alloc() -> intel_nested_domain_alloc() */
		if (cmd->flags || cmd->data_type != IOMMU_HWPT_DATA_VTD_S1 || !nest_cap)
			return -EOPNOTSUPP;
		if (pt->u.hwpt.auto_domain || !(pt->u.hwpt.flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
			return -EINVAL;
		return -EOPNOTSUPP; /* a stage-1 table is a guest's: not modelled */
	}
	if (pt->type != IOBJ_IOAS)
		return -EINVAL;
	if (cmd->data_type != IOMMU_HWPT_DATA_NONE)
		return -EINVAL;
	/* iommufd_hwpt_paging_alloc() with the driver's domain_alloc_user() */
	if (cmd->flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
		return -EOPNOTSUPP;
	if ((cmd->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !ii.dirty_tracking)
		return -EOPNOTSUPP;
	if ((cmd->flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && !nest_cap)
		return -EOPNOTSUPP;
	r = hwpt_paging_new(c, ictx, pt, &ii, idev->u.idev.group, cmd->flags, false, &hwpt);
	if (r < 0)
		return r;
	cmd->out_hwpt_id = hwpt->id;
	r = respond(c, arg, cmd, usize, sizeof(*cmd));
	if (r < 0)
		hwpt_destroy(c, ictx, hwpt);
	return r;
}

/* iommufd_get_hw_info(): VT-d reports its registers, the others type NONE (6.7) */
static long get_hw_info(struct emul_call *c, struct emul_ictx *ictx, struct iommu_hw_info *cmd, uint32_t usize,
                        uint64_t arg)
{
	struct emul_iommu_info ii;
	struct iommu_hw_info_vtd vtd = {0};
	uint32_t data_len = 0;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	struct emul_iobj *idev = iobj_get(ictx, cmd->dev_id, IOBJ_DEVICE);
	if (!idev)
		return -ENOENT;
	if (host_iommu_info(c->e, idev->u.idev.dev->bdf, &ii) < 0)
		return -ENODEV;
	cmd->out_data_type = IOMMU_HW_INFO_TYPE_NONE;
	if (ii.kind == VK_IOMMU_INTEL) {
		vtd.cap_reg = ii.cap;
		vtd.ecap_reg = ii.ecap;
		data_len = sizeof(vtd);
		cmd->out_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	}
	uint32_t copy = cmd->data_len < data_len ? cmd->data_len : data_len;
	if (copy_to_user(c, cmd->data_uptr, &vtd, copy) < 0)
		return -EFAULT;
	/* Zero the trailing bytes if the user buffer is bigger than the data size */
	if (copy < cmd->data_len && clear_user(c, cmd->data_uptr + copy, cmd->data_len - copy) < 0)
		return -EFAULT;
	cmd->data_len = data_len;
	cmd->out_capabilities = ii.dirty_tracking ? IOMMU_HW_CAP_DIRTY_TRACKING : 0;
	return respond(c, arg, cmd, usize, sizeof(*cmd));
}

/* iommufd_hwpt_set_dirty_tracking(), iommufd_hwpt_get_dirty_bitmap(): no
 * device ever writes to memory here, so no page is dirty */
static long dirty(struct emul_call *c, struct emul_ictx *ictx, unsigned int cmdnum, union ucmd_buffer *b)
{
	if (cmdnum == IOMMU_HWPT_SET_DIRTY_TRACKING) {
		struct iommu_hwpt_set_dirty_tracking *cmd = &b->set_dirty_tracking;
		if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved)
			return -EOPNOTSUPP;
		struct emul_iobj *hwpt = iobj_get(ictx, cmd->hwpt_id, IOBJ_HWPT);
		if (!hwpt)
			return -ENOENT;
		if (!(hwpt->u.hwpt.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
			return -EINVAL;
		hwpt->u.hwpt.dirty = cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
		return 0;
	}
	struct iommu_hwpt_get_dirty_bitmap *cmd = &b->get_dirty_bitmap;
	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (!cmd->page_size || (cmd->page_size & (cmd->page_size - 1)) || !cmd->length ||
	    (cmd->iova | cmd->length) & (cmd->page_size - 1) || cmd->iova + cmd->length - 1 < cmd->iova)
		return -EINVAL;
	struct emul_iobj *hwpt = iobj_get(ictx, cmd->hwpt_id, IOBJ_HWPT);
	if (!hwpt)
		return -ENOENT;
	if (!hwpt->u.hwpt.dirty)
		return -EINVAL;
	uint64_t bits = cmd->length / cmd->page_size;
	return clear_user(c, cmd->data, (size_t)(EMUL_ALIGN_UP(bits, 64) / 8));
}

struct ioctl_op {
	unsigned int cmd;
	uint32_t size, min_size;
};

#define OP(_cmd, _struct, _last) \
	{ \
		_cmd, sizeof(struct _struct), offsetof(struct _struct, _last) + sizeof(((struct _struct *)0)->_last) \
	}

static const struct ioctl_op ops[] = {
	OP(IOMMU_DESTROY, iommu_destroy, id),
	OP(IOMMU_IOAS_ALLOC, iommu_ioas_alloc, out_ioas_id),
	OP(IOMMU_IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas, allowed_iovas),
	OP(IOMMU_IOAS_COPY, iommu_ioas_copy, src_iova),
	OP(IOMMU_IOAS_IOVA_RANGES, iommu_ioas_iova_ranges, out_iova_alignment),
	OP(IOMMU_IOAS_MAP, iommu_ioas_map, iova),
	OP(IOMMU_IOAS_UNMAP, iommu_ioas_unmap, length),
	OP(IOMMU_OPTION, iommu_option, val64),
	OP(IOMMU_VFIO_IOAS, iommu_vfio_ioas, __reserved),
	OP(IOMMU_HWPT_ALLOC, iommu_hwpt_alloc, __reserved),
	OP(IOMMU_GET_HW_INFO, iommu_hw_info, __reserved),
	OP(IOMMU_HWPT_SET_DIRTY_TRACKING, iommu_hwpt_set_dirty_tracking, __reserved),
	OP(IOMMU_HWPT_GET_DIRTY_BITMAP, iommu_hwpt_get_dirty_bitmap, data),
};

/* iommufd_fops_ioctl() */
long iommufd_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg)
{
	struct emul_ictx *ictx = f->u.ictx;
	unsigned nr = _IOC_NR(cmd);
	union ucmd_buffer buf;
	uint32_t usize;
	int r;

	/* iommufd_vfio_ioctl(): the VFIO container ioctls of /dev/iommu are not emulated */
	if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= sizeof(ops) / sizeof(ops[0]))
		return -ENOTTY;
	if (copy_from_user(c, &usize, arg, sizeof(usize)) < 0)
		return -EFAULT;
	const struct ioctl_op *op = &ops[nr - IOMMUFD_CMD_BASE];
	if (op->cmd != cmd)
		return -ENOTTY;
	if (usize < op->min_size)
		return -EINVAL;
	r = copy_struct_from_user(c, &buf, op->size, arg, usize);
	if (r < 0)
		return r;
	switch (cmd) {
	case IOMMU_DESTROY:
		return iommufd_destroy(c, ictx, buf.destroy.id);
	case IOMMU_IOAS_ALLOC: {
		if (buf.alloc.flags)
			return -EOPNOTSUPP;
		struct emul_iobj *ioas = iobj_new(ictx, IOBJ_IOAS);
		if (!ioas)
			return -ENOMEM;
		ioas->u.ioas.iova_alignment = 1;
		ioas->u.ioas.huge_pages = true;
		buf.alloc.out_ioas_id = ioas->id;
		r = respond(c, arg, &buf.alloc, usize, sizeof(buf.alloc));
		if (r < 0)
			iobj_free(ictx, ioas);
		return r;
	}
	case IOMMU_OPTION:
		return iommufd_option(c, ictx, &buf.option, arg);
	case IOMMU_VFIO_IOAS:
		return vfio_ioas(c, ictx, &buf.vfio_ioas, usize, arg);
	case IOMMU_HWPT_ALLOC:
		return hwpt_alloc(c, ictx, &buf.hwpt, usize, arg);
	case IOMMU_GET_HW_INFO:
		return get_hw_info(c, ictx, &buf.info, usize, arg);
	case IOMMU_HWPT_SET_DIRTY_TRACKING:
	case IOMMU_HWPT_GET_DIRTY_BITMAP:
		return dirty(c, ictx, cmd, &buf);
	default:
		return ioas_ioctl(c, ictx, cmd, &buf, usize, arg);
	}
}
