/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VFIO's legacy interface: the container (/dev/vfio/vfio, drivers/vfio/container.c),
 * the group (/dev/vfio/<group>, drivers/vfio/group.c) and the type1 IOMMU
 * driver behind the container (drivers/vfio/vfio_iommu_type1.c), including
 * the pinning of mapped memory against RLIMIT_MEMLOCK (vfio_pin_pages_remote()).
 * Read beside the kernel functions named in each comment (6.8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emul_internal.h"

/* vfio_iommu_type1's dma_entry_limit default (U16_MAX) */
#define TYPE1_DMA_ENTRY_LIMIT 65535u
/* DIRTY_BITMAP_BYTES(DIRTY_BITMAP_PAGES_MAX) */
#define TYPE1_DIRTY_BITMAP_SIZE_MAX 268435456ull

struct emul_group *group_get(struct emul *e, long id)
{
	for (struct emul_group *g = e->groups; g; g = g->next)
		if (g->id == id)
			return g;
	struct emul_group *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->id = id;
	g->next = e->groups;
	e->groups = g;
	return g;
}

bool group_has_iommu(const struct emul_group *g)
{
	return g->container || g->iommufd;
}

/* The kernel's vfio_group exists while a device of the group is registered
 * with VFIO (bound to vfio-pci or a variant); after that its iommu_group is
 * NULL and the open file answers ENODEV. */
static bool group_alive(const struct emul *e, long id)
{
	char bdfs[EMUL_MAX_GROUP_DEVS][20], drv[64];
	int n = host_group_devices(e, id, bdfs, EMUL_MAX_GROUP_DEVS);

	for (int i = 0; i < n; i++)
		if (host_dev_driver(e, bdfs[i], drv, sizeof(drv)) == 0 && host_driver_is_vfio(drv))
			return true;
	return false;
}

static bool gc(struct emul_call *c)
{
	return c->env && c->env->gc && c->env->gc(c->env->ctx) > 0;
}

/* vfio_group_fops_open() */
int legacy_group_open(struct emul_call *c, long id, bool noiommu, struct emul_group **out)
{
	const struct emul_creds *cr;
	struct emul_group *g;

	if (!group_alive(c->e, id))
		return -ENODEV;
	g = group_get(c->e, id);
	if (!g)
		return -ENOMEM;
	g->noiommu = noiommu;
	if (noiommu && (call_creds(c, &cr) < 0 || !cr->cap_sys_rawio))
		return -EPERM;
	if (g->cdev_open_cnt || g->opened_file)
		gc(c); /* a close we had not seen yet may free it */
	if (g->cdev_open_cnt)
		return -EBUSY;
	/* "Do we need multiple instances of the group open?  Seems not." */
	if (g->opened_file)
		return -EBUSY;
	*out = g;
	return 0;
}

/* ---- type1 ---------------------------------------------------------------------------------- */

static void type1_uncharge(struct emul *e, struct emul_dma *d)
{
	if (d->charged)
		acct_uncharge(e, true, (uint32_t)d->tgid, d->charged);
	d->charged = 0;
}

static void type1_unmap_all(struct emul *e, struct emul_container *ct)
{
	while (ct->dma) {
		struct emul_dma *d = ct->dma;
		ct->dma = d->next;
		type1_uncharge(e, d);
		free(d);
	}
	ct->dma_avail = TYPE1_DMA_ENTRY_LIMIT;
}

static bool range_in_list(const struct emul_range *r, int n, uint64_t start, uint64_t last)
{
	for (int i = 0; i < n; i++)
		if (start >= r[i].start && last <= r[i].last)
			return true;
	return false;
}

/* The iova_list after a group joins: the aperture cut by the group's reserved
 * regions (vfio_iommu_aper_resize(), vfio_iommu_resv_exclude()). */
static int type1_iova_list(struct emul_call *c, long group, const struct emul_iommu_info *ii,
                           struct emul_range *out, int max)
{
	struct emul_range resv[EMUL_MAX_RANGES];
	int nr = host_group_reserved(c->e, group, resv, EMUL_MAX_RANGES);
	int n = 1;

	out[0].start = 0;
	out[0].last = ii->aperture_last;
	for (int i = 0; i < nr; i++) {
		for (int j = 0; j < n; j++) {
			struct emul_range cur = out[j];
			if (resv[i].last < cur.start || resv[i].start > cur.last)
				continue;
			/* split cur around resv[i] */
			memmove(&out[j], &out[j + 1], sizeof(out[0]) * (size_t)(n - j - 1));
			n--;
			if (cur.start < resv[i].start && n < max)
				out[n++] = (struct emul_range){cur.start, resv[i].start - 1};
			if (resv[i].last < cur.last && n < max)
				out[n++] = (struct emul_range){resv[i].last + 1, cur.last};
			j = -1; /* rescan */
		}
	}
	/* sorted, as the kernel's list */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && out[j - 1].start > out[j].start; j--) {
			struct emul_range t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* The intersection of two sorted range lists, into @a. */
static int ranges_intersect(struct emul_range *a, int na, const struct emul_range *b, int nb)
{
	struct emul_range out[EMUL_MAX_RANGES];
	int n = 0;

	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++) {
			uint64_t s = a[i].start > b[j].start ? a[i].start : b[j].start;
			uint64_t l = a[i].last < b[j].last ? a[i].last : b[j].last;
			if (s <= l && n < EMUL_MAX_RANGES)
				out[n++] = (struct emul_range){s, l};
		}
	memcpy(a, out, sizeof(out[0]) * (size_t)n);
	return n;
}

/* A device of the group: the one whose IOMMU unit stands for the group's. */
static int group_first_device(const struct emul *e, long group, char *bdf, size_t len)
{
	char bdfs[EMUL_MAX_GROUP_DEVS][20];
	int n = host_group_devices(e, group, bdfs, EMUL_MAX_GROUP_DEVS);

	if (n <= 0)
		return -ENODEV;
	snprintf(bdf, len, "%s", bdfs[0]);
	return 0;
}

/*
 * vfio_iommu_type1_attach_group(): @first for the container's first domain
 * (the aperture starts the iova list), else the lists and page sizes narrow.
 */
static int type1_attach_group(struct emul_call *c, struct emul_container *ct, struct emul_group *g, int type,
                              bool first)
{
	struct emul_iommu_info ii;
	struct emul_range list[EMUL_MAX_RANGES];
	char bdf[20];
	int n;

	if (group_first_device(c->e, g->id, bdf, sizeof(bdf)) < 0 || host_iommu_info(c->e, bdf, &ii) < 0)
		return -ENODEV;
	if (ii.kind == IOMMU_NONE_KIND)
		return -ENODEV;
	/* iommu_enable_nesting(): only arm-smmu-v3 has enable_nesting */
	if (type == VFIO_TYPE1_NESTING_IOMMU && ii.kind != IOMMU_OTHER)
		return -EINVAL;
	if (!ii.isolated_msi && !host_module_param_y(c->e, "vfio_iommu_type1", "allow_unsafe_interrupts"))
		return -EPERM; /* "No interrupt remapping support." */
	n = type1_iova_list(c, g->id, &ii, list, EMUL_MAX_RANGES);
	if (!first)
		n = ranges_intersect(list, n, ct->iova, ct->niova);
	/* vfio_iommu_aper_conflict()/vfio_iommu_resv_conflict(): a mapping outside */
	for (struct emul_dma *d = ct->dma; d; d = d->next)
		if (!range_in_list(list, n, d->iova, d->iova + d->size - 1))
			return -EINVAL;
	memcpy(ct->iova, list, sizeof(list[0]) * (size_t)n);
	ct->niova = n;
	ct->pgsize_bitmap = first ? ii.pgsize_bitmap : ct->pgsize_bitmap & ii.pgsize_bitmap;
	ct->enforce_cc = (first || ct->enforce_cc) && ii.enforce_cc;
	return 0;
}

/* Attach every group of @ct to a type1 iommu of @type, first to last. */
static int type1_attach_all(struct emul_call *c, struct emul_container *ct, int type)
{
	for (struct emul_group *g = ct->groups; g; g = g->cnext) {
		int r = type1_attach_group(c, ct, g, type, g == ct->groups);
		if (r < 0)
			return r;
	}
	return 0;
}

/* vfio_container_attach_group() */
static int container_attach_group(struct emul_call *c, struct emul_container *ct, struct emul_group *g)
{
	const struct emul_creds *cr;
	int r;

	if (g->noiommu && (call_creds(c, &cr) < 0 || !cr->cap_sys_rawio))
		return -EPERM;
	/* Real groups and fake groups cannot mix */
	if (ct->groups && ct->noiommu != g->noiommu)
		return -EPERM;
	/* iommu_group_claim_dma_owner(): a kernel driver uses the group for DMA */
	if (!g->noiommu && !host_group_free_of_kernel_dma(c->e, g->id))
		return -EPERM;
	if (ct->iommu && ct->iommu != VFIO_NOIOMMU_IOMMU) {
		r = type1_attach_group(c, ct, g, ct->iommu, false);
		if (r < 0)
			return r;
	}
	g->container = ct;
	g->container_users = 1;
	ct->noiommu = g->noiommu;
	g->cnext = ct->groups;
	ct->groups = g;
	ct->refs++;
	return 0;
}

/* vfio_group_detach_container() */
static void group_detach_container(struct emul_call *c, struct emul_group *g)
{
	struct emul_container *ct = g->container;

	for (struct emul_group **p = &ct->groups; *p; p = &(*p)->cnext)
		if (*p == g) {
			*p = g->cnext;
			break;
		}
	g->cnext = NULL;
	g->container = NULL;
	g->container_users = 0;
	/* Detaching the last group deprivileges a container, remove iommu */
	if (ct->iommu && !ct->groups) {
		type1_unmap_all(c->e, ct);
		ct->iommu = 0;
		ct->niova = 0;
		ct->dirty_tracking = false;
	} else if (ct->iommu && ct->iommu != VFIO_NOIOMMU_IOMMU) {
		/* the remaining groups' lists (the aperture and reserved regions
		 * can only widen: no mapping conflicts) */
		type1_attach_all(c, ct, ct->iommu);
	}
	legacy_container_put(c->e, ct);
}

void legacy_container_put(struct emul *e, struct emul_container *ct)
{
	if (--ct->refs)
		return;
	type1_unmap_all(e, ct);
	for (struct emul_container **p = &e->containers; *p; p = &(*p)->next)
		if (*p == ct) {
			*p = ct->next;
			break;
		}
	free(ct);
}

/* vfio_group_fops_release() */
void legacy_group_release(struct emul_call *c, struct emul_group *g)
{
	if (g->container)
		group_detach_container(c, g);
	if (g->iommufd) {
		ictx_put(c->e, g->iommufd);
		g->iommufd = NULL;
	}
	g->opened_file = NULL;
}

/* ---- the container's ioctls -------------------------------------------------------------- */

static bool type1_registered(const struct emul *e)
{
	return host_module_loaded(e, "vfio_iommu_type1");
}

static bool noiommu_enabled(const struct emul *e)
{
	return host_module_param_y(e, "vfio", "enable_unsafe_noiommu_mode");
}

/* vfio_iommu_type1_check_extension(); @ct NULL: the probe without an iommu */
static long type1_check_extension(const struct emul_container *ct, uint64_t arg)
{
	switch (arg) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_TYPE1_NESTING_IOMMU:
	case VFIO_UNMAP_ALL:
	case VFIO_UPDATE_VADDR:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return ct ? ct->enforce_cc : 0;
	default:
		return 0;
	}
}

/* vfio_container_ioctl_check_extension(): with no driver set, poll the
 * registered drivers (type1 registered last, so asked first); noiommu only
 * for a no-IOMMU container and the other way round (vfio_iommu_driver_allowed()). */
static long container_check_extension(struct emul_call *c, struct emul_container *ct, uint64_t arg)
{
	if (ct->iommu == VFIO_NOIOMMU_IOMMU)
		return arg == VFIO_NOIOMMU_IOMMU && noiommu_enabled(c->e);
	if (ct->iommu)
		return type1_check_extension(ct, arg);
	if (type1_registered(c->e) && !(ct->groups && ct->noiommu)) {
		long r = type1_check_extension(NULL, arg);
		if (r > 0)
			return r;
	}
	if (!(ct->groups && !ct->noiommu) && arg == VFIO_NOIOMMU_IOMMU && noiommu_enabled(c->e))
		return 1;
	return 0;
}

/* vfio_ioctl_set_iommu() */
static long container_set_iommu(struct emul_call *c, struct emul_container *ct, uint64_t arg)
{
	long ret = -ENODEV;

	if (!ct->groups || ct->iommu)
		return -EINVAL;
	/* type1 */
	if (type1_registered(c->e) && !ct->noiommu && type1_check_extension(NULL, arg) > 0) {
		if (arg != VFIO_TYPE1_IOMMU && arg != VFIO_TYPE1v2_IOMMU && arg != VFIO_TYPE1_NESTING_IOMMU) {
			ret = -EINVAL; /* vfio_iommu_type1_open() */
		} else {
			ret = type1_attach_all(c, ct, (int)arg);
			if (ret == 0) {
				ct->iommu = (int)arg;
				ct->dma_avail = TYPE1_DMA_ENTRY_LIMIT;
				return 0;
			}
			ct->niova = 0;
		}
	}
	/* noiommu */
	if (ct->noiommu && arg == VFIO_NOIOMMU_IOMMU && noiommu_enabled(c->e)) {
		const struct emul_creds *cr;
		if (call_creds(c, &cr) < 0 || !cr->cap_sys_rawio)
			return -EPERM;
		ct->iommu = VFIO_NOIOMMU_IOMMU;
		return 0;
	}
	return ret;
}

/* vfio_iommu_type1_get_info() and its capability chain */
static long type1_get_info(struct emul_call *c, struct emul_container *ct, uint64_t arg)
{
	struct vfio_iommu_type1_info info;
	size_t minsz = offsetof(struct vfio_iommu_type1_info, iova_pgsizes) + sizeof(info.iova_pgsizes);
	size_t capsz = offsetof(struct vfio_iommu_type1_info, cap_offset) + sizeof(info.cap_offset);
	uint8_t caps[64 + 16 * EMUL_MAX_RANGES];
	size_t csize = 0;

	memset(&info, 0, sizeof(info));
	if (copy_from_user(c, &info, arg, minsz) < 0)
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (info.argsz >= capsz) {
		minsz = capsz;
		info.cap_offset = 0;
	}
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = ct->pgsize_bitmap;

	memset(caps, 0, sizeof(caps));
	/* migration (vfio_iommu_migration_build_caps()) */
	struct vfio_iommu_type1_info_cap_migration mig = {
		.header = {.id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, .version = 1},
		.pgsize_bitmap = ct->pgsize_bitmap & -ct->pgsize_bitmap,
		.max_dirty_bitmap_size = TYPE1_DIRTY_BITMAP_SIZE_MAX,
	};
	size_t s1 = EMUL_ALIGN_UP(sizeof(mig), 8);
	/* dma avail */
	struct vfio_iommu_type1_info_dma_avail avail = {
		.header = {.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1},
		.avail = ct->dma_avail,
	};
	size_t s2 = EMUL_ALIGN_UP(sizeof(avail), 8);
	/* iova ranges (none for an empty list) */
	size_t s3 = ct->niova ? EMUL_ALIGN_UP(sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
	                                              sizeof(struct vfio_iova_range) * (size_t)ct->niova,
	                                      8)
	                      : 0;
	size_t base = sizeof(info);
	mig.header.next = (uint32_t)(base + s1);
	avail.header.next = s3 ? (uint32_t)(base + s1 + s2) : 0;
	memcpy(caps, &mig, sizeof(mig));
	memcpy(caps + s1, &avail, sizeof(avail));
	if (s3) {
		struct vfio_iommu_type1_info_cap_iova_range hdr = {
			.header = {.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1},
			.nr_iovas = (uint32_t)ct->niova,
		};
		memcpy(caps + s1 + s2, &hdr, sizeof(hdr));
		for (int i = 0; i < ct->niova; i++) {
			struct vfio_iova_range r = {ct->iova[i].start, ct->iova[i].last};
			memcpy(caps + s1 + s2 + sizeof(hdr) + sizeof(r) * (size_t)i, &r, sizeof(r));
		}
	}
	csize = s1 + s2 + s3;
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (info.argsz < sizeof(info) + csize) {
		info.argsz = (uint32_t)(sizeof(info) + csize);
	} else {
		if (copy_to_user(c, arg + sizeof(info), caps, csize) < 0)
			return -EFAULT;
		info.cap_offset = sizeof(info);
	}
	return copy_to_user(c, arg, &info, minsz) < 0 ? -EFAULT : 0;
}

static struct emul_dma *type1_find(struct emul_container *ct, uint64_t start, uint64_t size)
{
	for (struct emul_dma *d = ct->dma; d; d = d->next)
		if (start < d->iova + d->size && start + size > d->iova)
			return d;
	return NULL;
}

/* vfio_dma_do_map() and vfio_pin_pages_remote()'s RLIMIT_MEMLOCK check */
static long type1_map(struct emul_call *c, struct emul_container *ct, uint64_t arg)
{
	struct vfio_iommu_type1_dma_map map;
	size_t minsz = offsetof(struct vfio_iommu_type1_dma_map, size) + sizeof(map.size);
	uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR;
	const struct emul_creds *cr;
	int prot = 0;

	if (copy_from_user(c, &map, arg, minsz) < 0)
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~mask)
		return -EINVAL;
	bool set_vaddr = map.flags & VFIO_DMA_MAP_FLAG_VADDR;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= 2;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= 1;
	if ((prot && set_vaddr) || (!prot && !set_vaddr))
		return -EINVAL;
	uint64_t pgsize = ct->pgsize_bitmap & -ct->pgsize_bitmap;
	if (!map.size || (map.size | map.iova | map.vaddr) & (pgsize - 1))
		return -EINVAL;
	/* Don't allow IOVA or virtual address wrap */
	if (map.iova + map.size - 1 < map.iova || map.vaddr + map.size - 1 < map.vaddr)
		return -EINVAL;
	struct emul_dma *hit = type1_find(ct, map.iova, map.size);
	if (set_vaddr)
		return hit ? -EINVAL : -ENOENT; /* only after VFIO_DMA_UNMAP_FLAG_VADDR, which we refuse */
	if (hit)
		return -EEXIST;
	if (!ct->dma_avail)
		return -ENOSPC;
	if (!range_in_list(ct->iova, ct->niova, map.iova, map.iova + map.size - 1))
		return -EINVAL;
	if (call_creds(c, &cr) < 0)
		return -EPERM;
	struct emul_dma *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->iova = map.iova;
	d->size = map.size;
	d->vaddr = map.vaddr;
	d->prot = prot;
	d->tgid = cr->tgid;
	d->lock_cap = cr->cap_ipc_lock;
	/* every group has an IOMMU domain: pin (vaddr_get_pfns(): the first and
	 * last page must be mapped) and charge the mm now */
	uint8_t b;
	if (copy_from_user(c, &b, map.vaddr, 1) < 0 || copy_from_user(c, &b, map.vaddr + map.size - 1, 1) < 0) {
		free(d);
		return -EFAULT;
	}
	if (!d->lock_cap) {
		int r = acct_charge(c->e, true, (uint32_t)d->tgid, map.size, cr->memlock_limit, cr->locked_bytes);
		if (r < 0 && gc(c))
			r = acct_charge(c->e, true, (uint32_t)d->tgid, map.size, cr->memlock_limit, cr->locked_bytes);
		if (r < 0) {
			free(d);
			return -ENOMEM; /* "RLIMIT_MEMLOCK (%ld) exceeded" */
		}
		d->charged = map.size;
	}
	struct emul_dma **p = &ct->dma;
	while (*p && (*p)->iova < d->iova)
		p = &(*p)->next;
	d->next = *p;
	*p = d;
	ct->dma_avail--;
	return 0;
}

/* vfio_dma_do_unmap() (type1 v2: no splitting of a mapping) */
static long type1_unmap(struct emul_call *c, struct emul_container *ct, uint64_t arg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	size_t minsz = offsetof(struct vfio_iommu_type1_dma_unmap, size) + sizeof(unmap.size);
	uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL;
	uint64_t pgsize = ct->pgsize_bitmap & -ct->pgsize_bitmap, unmapped = 0, iova_end;

	if (copy_from_user(c, &unmap, arg, minsz) < 0)
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~mask)
		return -EINVAL;
	if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	/* the dirty bitmap and vaddr invalidation need migration support we do not model */
	if (unmap.flags & (VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR))
		return -EINVAL;
	bool all = unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL;
	long ret = -EINVAL;
	if (unmap.iova & (pgsize - 1))
		goto out;
	if (all) {
		if (unmap.iova || unmap.size)
			goto out;
		iova_end = UINT64_MAX;
	} else {
		if (!unmap.size || unmap.size & (pgsize - 1) || unmap.iova + unmap.size - 1 < unmap.iova)
			goto out;
		iova_end = unmap.iova + unmap.size - 1;
		if (ct->iommu != VFIO_TYPE1_IOMMU) {
			struct emul_dma *d = type1_find(ct, unmap.iova, 1);
			if (d && d->iova != unmap.iova)
				goto out;
			d = type1_find(ct, iova_end, 1);
			if (d && d->iova + d->size != iova_end + 1)
				goto out;
		}
	}
	ret = 0;
	for (struct emul_dma **p = &ct->dma; *p;) {
		struct emul_dma *d = *p;
		if (d->iova > iova_end)
			break;
		if (d->iova + d->size - 1 < unmap.iova) {
			p = &d->next;
			continue;
		}
		if (ct->iommu == VFIO_TYPE1_IOMMU && unmap.iova > d->iova)
			break;
		unmapped += d->size;
		*p = d->next;
		type1_uncharge(c->e, d);
		free(d);
		ct->dma_avail++;
	}
out:
	unmap.size = unmapped;
	if (ret == 0 && copy_to_user(c, arg, &unmap, minsz) < 0)
		return -EFAULT;
	return ret;
}

/* vfio_iommu_type1_dirty_pages(): a physical device's pages are all dirty
 * (vfio_iommu_populate_bitmap_full()) */
static long type1_dirty_pages(struct emul_call *c, struct emul_container *ct, uint64_t arg)
{
	struct vfio_iommu_type1_dirty_bitmap dirty;
	size_t minsz = offsetof(struct vfio_iommu_type1_dirty_bitmap, flags) + sizeof(dirty.flags);
	uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
	                VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;

	if (ct->iommu == VFIO_TYPE1_IOMMU)
		return -EACCES;
	if (copy_from_user(c, &dirty, arg, minsz) < 0)
		return -EFAULT;
	if (dirty.argsz < minsz || dirty.flags & ~mask)
		return -EINVAL;
	/* only one flag should be set at a time */
	if (!dirty.flags || (dirty.flags & (dirty.flags - 1)))
		return -EINVAL;
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
		ct->dirty_tracking = true;
		return 0;
	}
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
		ct->dirty_tracking = false;
		return 0;
	}
	struct vfio_iommu_type1_dirty_bitmap_get range;
	if (dirty.argsz - minsz < sizeof(range))
		return -EINVAL;
	if (copy_from_user(c, &range, arg + minsz, sizeof(range)) < 0)
		return -EFAULT;
	if (range.iova + range.size < range.iova)
		return -EINVAL;
	uint64_t pgsize = ct->pgsize_bitmap & -ct->pgsize_bitmap;
	if (range.bitmap.pgsize != pgsize || range.iova & (pgsize - 1) || !range.size || range.size & (pgsize - 1))
		return -EINVAL;
	/* verify_bitmap_size() */
	uint64_t npages = range.size / pgsize, bytes = EMUL_ALIGN_UP(npages, 64) / 8;
	if (!npages || !range.bitmap.size || npages > INT32_MAX || range.bitmap.size < bytes)
		return -EINVAL;
	if (!ct->dirty_tracking)
		return -EINVAL;
	/* the range must be covered by mappings (vfio_iova_dirty_bitmap()) */
	for (uint64_t iova = range.iova; iova < range.iova + range.size;) {
		struct emul_dma *d = type1_find(ct, iova, 1);
		if (!d || d->iova != iova)
			return -EINVAL;
		iova = d->iova + d->size;
	}
	uint8_t chunk[512];
	for (uint64_t off = 0; off < bytes;) {
		size_t n = bytes - off < sizeof(chunk) ? (size_t)(bytes - off) : sizeof(chunk);
		for (size_t i = 0; i < n; i++) {
			uint64_t b = off + i;
			chunk[i] = (b + 1) * 8 <= npages ? 0xff : b * 8 < npages ? (uint8_t)((1u << (npages - b * 8)) - 1)
			                                                         : 0;
		}
		if (copy_to_user(c, (uint64_t)(uintptr_t)range.bitmap.data + off, chunk, n) < 0)
			return -EFAULT;
		off += n;
	}
	return 0;
}

/* vfio_fops_unl_ioctl() */
long legacy_container_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg)
{
	struct emul_container *ct = f->u.c;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return container_check_extension(c, ct, arg);
	case VFIO_SET_IOMMU:
		return container_set_iommu(c, ct, arg);
	}
	if (!ct->iommu)
		return -EINVAL;
	if (ct->iommu == VFIO_NOIOMMU_IOMMU)
		return -ENOTTY;
	switch (cmd) {
	case VFIO_IOMMU_GET_INFO:
		return type1_get_info(c, ct, arg);
	case VFIO_IOMMU_MAP_DMA:
		return type1_map(c, ct, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return type1_unmap(c, ct, arg);
	case VFIO_IOMMU_DIRTY_PAGES:
		return type1_dirty_pages(c, ct, arg);
	default:
		return -ENOTTY;
	}
}

/* ---- the group's ioctls --------------------------------------------------------------------- */

static long group_get_status(struct emul_call *c, struct emul_group *g, uint64_t arg)
{
	struct vfio_group_status status;
	size_t minsz = offsetof(struct vfio_group_status, flags) + sizeof(status.flags);

	if (copy_from_user(c, &status, arg, minsz) < 0)
		return -EFAULT;
	if (status.argsz < minsz)
		return -EINVAL;
	status.flags = 0;
	if (!group_alive(c->e, g->id))
		return -ENODEV;
	if (group_has_iommu(g))
		status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
	else if (g->noiommu || host_group_free_of_kernel_dma(c->e, g->id))
		status.flags |= VFIO_GROUP_FLAGS_VIABLE;
	return copy_to_user(c, arg, &status, minsz) < 0 ? -EFAULT : 0;
}

static long group_set_container(struct emul_call *c, struct emul_group *g, uint64_t arg)
{
	struct emul_file *cf = NULL;
	int32_t fd;
	long r;

	if (copy_from_user(c, &fd, arg, sizeof(fd)) < 0)
		return -EFAULT;
	if (!c->env || !c->env->get_file)
		return -EBADF;
	r = c->env->get_file(c->env->ctx, fd, &cf);
	if (r < 0)
		return r;
	if (group_has_iommu(g)) {
		r = -EINVAL;
	} else if (!group_alive(c->e, g->id)) {
		r = -ENODEV;
	} else if (cf && cf->kind == EMUL_CONTAINER) {
		r = container_attach_group(c, cf->u.c, g);
	} else if (cf && cf->kind == EMUL_IOMMUFD) {
		/* iommufd as the container: the compat IOAS (iommufd_vfio_compat_ioas_create()) */
		uint32_t ioas;
		r = g->noiommu ? -EPERM : iommufd_compat_ioas(c, cf->u.ictx, &ioas);
		if (r == 0) {
			g->iommufd = cf->u.ictx;
			g->iommufd->refs++;
		}
	} else {
		r = -EBADFD; /* The FD passed is not recognized. */
	}
	if (cf)
		emul_file_put(c->e, cf);
	return r;
}

static long group_unset_container(struct emul_call *c, struct emul_group *g)
{
	if (!group_has_iommu(g))
		return -EINVAL;
	if (g->container) {
		if (g->container_users != 1 && gc(c) && !g->container)
			return -EINVAL;
		if (g->container_users != 1)
			return -EBUSY;
		group_detach_container(c, g);
	}
	if (g->iommufd) {
		ictx_put(c->e, g->iommufd);
		g->iommufd = NULL;
	}
	return 0;
}

/* vfio_group_ioctl_get_device_fd() */
static long group_get_device_fd(struct emul_call *c, struct emul_group *g, uint64_t arg)
{
	char buf[4096], bdfs[EMUL_MAX_GROUP_DEVS][20], drv[64];
	struct emul_device *dev = NULL;
	size_t len;
	int n, r = -ENODEV;

	/* strndup_user(arg, PAGE_SIZE): -EFAULT, or -EINVAL without a NUL */
	for (len = 0; len < sizeof(buf); len++) {
		if (copy_from_user(c, &buf[len], arg + len, 1) < 0)
			return -EFAULT;
		if (!buf[len])
			break;
	}
	if (len == sizeof(buf))
		return -EINVAL;
	/* vfio_device_get_from_name(): the group's registered devices */
	n = host_group_devices(c->e, g->id, bdfs, EMUL_MAX_GROUP_DEVS);
	for (int i = 0; i < n; i++) {
		if (host_dev_driver(c->e, bdfs[i], drv, sizeof(drv)) < 0 || !host_driver_is_vfio(drv))
			continue;
		struct emul_device *d = device_get(c->e, bdfs[i]);
		if (!d)
			return -ENOMEM;
		r = device_match_name(c, d, buf);
		if (r < 0)
			return r;
		if (r > 0) {
			dev = d;
			break;
		}
		r = -ENODEV;
	}
	if (!dev)
		return r;
	struct emul_devfile *df = calloc(1, sizeof(*df));
	if (!df)
		return -ENOMEM;
	df->dev = dev;
	df->group_file = g->opened_file;
	/* vfio_df_group_open() */
	if (!group_has_iommu(g)) {
		free(df);
		return -EINVAL;
	}
	r = device_open(c, df);
	if (r < 0) {
		free(df);
		return r;
	}
	struct emul_file *f = file_new(c->e, EMUL_DEVICE, O_RDWR, dev->bdf);
	if (!f) {
		device_close(c, df);
		free(df);
		return -ENOMEM;
	}
	emul_file_get(df->group_file); /* device FDs hold the group file */
	df->access_granted = true;
	f->u.df = df;
	char name[48];
	snprintf(name, sizeof(name), "vfio-device:%s", dev->bdf);
	int fd = c->env && c->env->install_file ? c->env->install_file(c->env->ctx, f, name) : -EMFILE;
	emul_file_put(c->e, f); /* the FD holds it now, or nobody does */
	return fd;
}

/* vfio_group_fops_unl_ioctl() */
long legacy_group_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg)
{
	struct emul_group *g = f->u.g;

	switch (cmd) {
	case VFIO_GROUP_GET_DEVICE_FD:
		return group_get_device_fd(c, g, arg);
	case VFIO_GROUP_GET_STATUS:
		return group_get_status(c, g, arg);
	case VFIO_GROUP_SET_CONTAINER:
		return group_set_container(c, g, arg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return group_unset_container(c, g);
	default:
		return -ENOTTY;
	}
}
