/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An iommufd IOAS (drivers/iommu/iommufd/ioas.c, io_pagetable.c, pages.c):
 * areas of IOVA mapped to slices of user memory ("pages"), the reserved IOVA
 * (outside the domains' apertures, the attached groups' reserved regions),
 * the allowed list, the alignment, and the pinning: a slice of user memory is
 * pinned, and charged to RLIMIT_MEMLOCK, while an area using it sits in an
 * IOAS with at least one domain (a HWPT_PAGING) - per user by default, per
 * process with IOMMU_OPTION_RLIMIT_MODE (incr_user_locked_vm(),
 * update_mm_locked_vm()), not at all with CAP_IPC_LOCK.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emul_internal.h"

static bool gc(struct emul_call *c)
{
	return c->env && c->env->gc && c->env->gc(c->env->ctx) > 0;
}

static uint64_t pages_bytes(const struct emul_pages *p)
{
	return EMUL_ALIGN_UP(p->uva + p->length, EMUL_PAGE_SIZE) - EMUL_ALIGN_DOWN(p->uva, EMUL_PAGE_SIZE);
}

/* Is an area using @p in an IOAS with a domain? */
static bool pages_wanted(const struct emul_ictx *ictx, const struct emul_pages *p)
{
	for (uint32_t id = 1; id < ictx->nobjs; id++) {
		const struct emul_iobj *o = ictx->objs[id];
		if (!o || o->type != IOBJ_IOAS || !o->u.ioas.ndomains)
			continue;
		for (const struct emul_area *a = o->u.ioas.areas; a; a = a->next)
			if (a->pages == p)
				return true;
	}
	return false;
}

static int charge(struct emul *e, struct emul_pages *p, uint64_t bytes)
{
	if (p->account == 1)
		return acct_charge(e, false, (uint32_t)p->uid, bytes, p->memlock_limit, 0);
	if (p->account == 2)
		return acct_charge(e, true, (uint32_t)p->tgid, bytes, p->memlock_limit, p->locked_before);
	return 0;
}

static void uncharge(struct emul *e, struct emul_pages *p, uint64_t bytes)
{
	if (p->account)
		acct_uncharge(e, p->account == 2, p->account == 2 ? (uint32_t)p->tgid : (uint32_t)p->uid, bytes);
}

/* Pin or unpin @p as the IOASes now want: -ENOMEM past the limit. */
static int pages_sync(struct emul_call *c, const struct emul_ictx *ictx, struct emul_pages *p)
{
	uint64_t want = pages_wanted(ictx, p) ? pages_bytes(p) : 0;

	if (want > p->pinned) {
		/* pin_user_pages() before the accounting: the first and last page
		 * must be mapped (the pages between are not looked at) */
		uint8_t b;
		if (c->env && (copy_from_user(c, &b, p->uva, 1) < 0 || copy_from_user(c, &b, p->uva + p->length - 1, 1) < 0))
			return -EFAULT;
		int r = charge(c->e, p, want - p->pinned);
		if (r < 0 && gc(c))
			r = charge(c->e, p, want - p->pinned);
		if (r < 0)
			return -ENOMEM;
	} else if (want < p->pinned) {
		uncharge(c->e, p, p->pinned - want);
	}
	p->pinned = want;
	return 0;
}

static void pages_put(struct emul_call *c, const struct emul_ictx *ictx, struct emul_pages *p)
{
	if (--p->refs) {
		pages_sync(c, ictx, p);
		return;
	}
	if (p->pinned)
		uncharge(c->e, p, p->pinned);
	free(p);
}

static struct emul_ictx *ictx_of(struct emul *e, const struct emul_iobj *ioas)
{
	for (struct emul_ictx *i = e->ictxs; i; i = i->next)
		if (ioas->id < i->nobjs && i->objs[ioas->id] == ioas)
			return i;
	return NULL;
}

static void area_remove(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *ioas, struct emul_area *a)
{
	for (struct emul_area **p = &ioas->u.ioas.areas; *p; p = &(*p)->next)
		if (*p == a) {
			*p = a->next;
			break;
		}
	pages_put(c, ictx, a->pages);
	free(a);
}

void ioas_destroy(struct emul_call *c, struct emul_iobj *ioas)
{
	struct emul_ictx *ictx = ictx_of(c->e, ioas);

	while (ioas->u.ioas.areas)
		area_remove(c, ictx, ioas, ioas->u.ioas.areas);
}

/* ---- reserved IOVA ---------------------------------------------------------------------------- */

static int add_range(struct emul_range *r, int n, int max, uint64_t s, uint64_t l)
{
	if (n < max && s <= l)
		r[n++] = (struct emul_range){s, l};
	return n;
}

/* Sorted and merged. */
static int ranges_merge(struct emul_range *r, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && r[j - 1].start > r[j].start; j--) {
			struct emul_range t = r[j];
			r[j] = r[j - 1];
			r[j - 1] = t;
		}
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (m && r[i].start <= r[m - 1].last + 1 && r[m - 1].last != UINT64_MAX) {
			if (r[i].last > r[m - 1].last)
				r[m - 1].last = r[i].last;
		} else if (m && r[m - 1].last == UINT64_MAX) {
			continue;
		} else {
			r[m++] = r[i];
		}
	}
	return m;
}

/* The IOAS's reserved_itree: each domain's outside, each attached device's group's regions. */
static int ioas_reserved(struct emul_call *c, const struct emul_ictx *ictx, const struct emul_iobj *ioas,
                         struct emul_range *out, int max)
{
	int n = 0;

	for (uint32_t id = 1; id < ictx->nobjs; id++) {
		const struct emul_iobj *h = ictx->objs[id];
		if (!h || h->type != IOBJ_HWPT || h->u.hwpt.ioas_id != ioas->id)
			continue;
		if (h->u.hwpt.iommu.aperture_last != UINT64_MAX)
			n = add_range(out, n, max, h->u.hwpt.iommu.aperture_last + 1, UINT64_MAX);
	}
	for (uint32_t id = 1; id < ictx->nobjs; id++) {
		const struct emul_iobj *d = ictx->objs[id];
		const struct emul_iobj *h = d && d->type == IOBJ_DEVICE && d->u.idev.hwpt_id
		                                    ? ictx->objs[d->u.idev.hwpt_id]
		                                    : NULL;
		if (!h || h->u.hwpt.ioas_id != ioas->id)
			continue;
		struct emul_range resv[EMUL_MAX_RANGES];
		int nr = host_group_reserved(c->e, d->u.idev.group, resv, EMUL_MAX_RANGES);
		for (int i = 0; i < nr; i++)
			n = add_range(out, n, max, resv[i].start, resv[i].last);
	}
	return ranges_merge(out, n);
}

static bool overlaps(const struct emul_range *r, int n, uint64_t s, uint64_t l)
{
	for (int i = 0; i < n; i++)
		if (r[i].start <= l && r[i].last >= s)
			return true;
	return false;
}

/*
 * iopt_table_add_domain(): the domain's aperture and the PAGE_SIZE alignment
 * must hold for every mapping (-EADDRINUSE), then every area gets pinned
 * (-ENOMEM past RLIMIT_MEMLOCK, undone).
 */
int ioas_add_domain(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *ioas,
                    const struct emul_iommu_info *ii, long group)
{
	uint64_t old_align = ioas->u.ioas.iova_alignment;
	int r = 0;

	for (struct emul_area *a = ioas->u.ioas.areas; a; a = a->next) {
		if (a->iova + a->length - 1 > ii->aperture_last)
			return -EADDRINUSE;
		if ((a->iova | a->length) & (EMUL_PAGE_SIZE - 1))
			return -EADDRINUSE;
	}
	for (int i = 0; i < ioas->u.ioas.nallowed; i++)
		if (ioas->u.ioas.allowed[i].last > ii->aperture_last)
			return -EADDRINUSE;
	ioas->u.ioas.ndomains++;
	if (ioas->u.ioas.iova_alignment < EMUL_PAGE_SIZE)
		ioas->u.ioas.iova_alignment = EMUL_PAGE_SIZE;
	for (struct emul_area *a = ioas->u.ioas.areas; a && !r; a = a->next)
		r = pages_sync(c, ictx, a->pages);
	if (r < 0) {
		ioas->u.ioas.ndomains--;
		ioas->u.ioas.iova_alignment = old_align;
		for (struct emul_area *a = ioas->u.ioas.areas; a; a = a->next)
			pages_sync(c, ictx, a->pages);
	}
	(void)group;
	return r;
}

void ioas_remove_domain(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *ioas)
{
	if (ioas->u.ioas.ndomains && !--ioas->u.ioas.ndomains) {
		ioas->u.ioas.iova_alignment = 1;
		for (struct emul_area *a = ioas->u.ioas.areas; a; a = a->next)
			pages_sync(c, ictx, a->pages);
	}
}

/* ---- IOVA allocation and checks ---------------------------------------------------------------- */

static uint64_t roundup_pow2(uint64_t x)
{
	uint64_t p = 1;
	while (p < x)
		p <<= 1;
	return p;
}

/* __alloc_iova_check_hole(): does [hs, hl] hold @length at an aligned start? */
static bool fits(uint64_t hs, uint64_t hl, uint64_t align, uint64_t page_offset, uint64_t length, uint64_t *out)
{
	uint64_t start = EMUL_ALIGN_UP(hs, align) | page_offset;

	if (start < hs || start > hl || hl - start < length - 1)
		return false;
	*out = start;
	return true;
}

/* iopt_alloc_iova(): the lowest hole, aligned as the user pointer allows */
static int alloc_iova(struct emul_call *c, const struct emul_ictx *ictx, const struct emul_iobj *ioas,
                      uint64_t uptr, uint64_t length, uint64_t *out)
{
	struct emul_range used[EMUL_MAX_RANGES * 4];
	uint64_t page_offset = uptr % EMUL_PAGE_SIZE, align;
	int nu;

	if (length == 0 || length >= UINT64_MAX / 2)
		return -EOVERFLOW;
	align = roundup_pow2(length);
	if (uptr && (uptr & -uptr) < align)
		align = uptr & -uptr;
	if (align < ioas->u.ioas.iova_alignment)
		return -EINVAL;
	nu = ioas_reserved(c, ictx, ioas, used, EMUL_MAX_RANGES * 2);
	for (const struct emul_area *a = ioas->u.ioas.areas; a; a = a->next)
		nu = add_range(used, nu, EMUL_MAX_RANGES * 4, a->iova, a->iova + a->length - 1);
	nu = ranges_merge(used, nu);
	struct emul_range spans[EMUL_MAX_ALLOWED];
	int ns = ioas->u.ioas.nallowed;
	memcpy(spans, ioas->u.ioas.allowed, sizeof(spans[0]) * (size_t)ns);
	if (!ns)
		spans[ns++] = (struct emul_range){EMUL_PAGE_SIZE, UINT64_MAX - EMUL_PAGE_SIZE};
	for (int i = 0; i < ns; i++) {
		uint64_t s = spans[i].start < EMUL_PAGE_SIZE ? EMUL_PAGE_SIZE : spans[i].start;
		uint64_t l = spans[i].last > UINT64_MAX - EMUL_PAGE_SIZE ? UINT64_MAX - EMUL_PAGE_SIZE : spans[i].last;
		uint64_t hole = s;
		bool more = s <= l;
		for (int j = 0; j < nu && more; j++) {
			if (used[j].last < hole)
				continue;
			if (used[j].start > l)
				break;
			if (used[j].start > hole && fits(hole, used[j].start - 1, align, page_offset, length, out))
				return 0;
			more = used[j].last < l;
			hole = used[j].last + 1;
		}
		if (more && fits(hole, l, align, page_offset, length, out))
			return 0;
	}
	return -ENOSPC;
}

/* iopt_check_iova() for a fixed IOVA */
static int check_iova(struct emul_call *c, const struct emul_ictx *ictx, const struct emul_iobj *ioas,
                      uint64_t iova, uint64_t length)
{
	struct emul_range resv[EMUL_MAX_RANGES * 2];
	uint64_t last;

	if (iova & (ioas->u.ioas.iova_alignment - 1))
		return -EINVAL;
	if (__builtin_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	int nr = ioas_reserved(c, ictx, ioas, resv, EMUL_MAX_RANGES * 2);
	if (overlaps(resv, nr, iova, last))
		return -EINVAL;
	for (const struct emul_area *a = ioas->u.ioas.areas; a; a = a->next)
		if (a->iova <= last && a->iova + a->length - 1 >= iova)
			return -EEXIST;
	return 0;
}

/* A slice of @pages mapped at @iova; pinned now when the IOAS has a domain. */
static int area_insert(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *ioas, struct emul_pages *p,
                       uint64_t start_byte, uint64_t iova, uint64_t length, int prot)
{
	if ((prot & 2) && !p->writable)
		return -EPERM;
	if (((p->uva + start_byte) % EMUL_PAGE_SIZE) & (ioas->u.ioas.iova_alignment - 1))
		return -EINVAL;
	struct emul_area *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->iova = iova;
	a->length = length;
	a->pages = p;
	a->start_byte = start_byte;
	a->prot = prot;
	p->refs++;
	struct emul_area **pp = &ioas->u.ioas.areas;
	while (*pp && (*pp)->iova < iova)
		pp = &(*pp)->next;
	a->next = *pp;
	*pp = a;
	int r = pages_sync(c, ictx, p);
	if (r < 0) {
		*pp = a->next;
		p->refs--;
		free(a);
	}
	return r;
}

/* ---- the ioctls ------------------------------------------------------------------------------- */

static long iova_ranges(struct emul_call *c, struct emul_ictx *ictx, struct iommu_ioas_iova_ranges *cmd,
                        uint32_t usize, uint64_t arg)
{
	struct emul_range resv[EMUL_MAX_RANGES * 2];
	uint32_t max = cmd->num_iovas, n = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	struct emul_iobj *ioas = iobj_get(ictx, cmd->ioas_id, IOBJ_IOAS);
	if (!ioas)
		return -ENOENT;
	int nr = ioas_reserved(c, ictx, ioas, resv, EMUL_MAX_RANGES * 2);
	cmd->out_iova_alignment = ioas->u.ioas.iova_alignment;
	uint64_t hole = 0;
	bool done = false;
	for (int i = 0; i <= nr && !done; i++) {
		uint64_t last = i < nr ? resv[i].start - 1 : UINT64_MAX;
		if (i < nr && resv[i].start == 0) {
			hole = resv[i].last + 1;
			done = resv[i].last == UINT64_MAX;
			continue;
		}
		if (n < max) {
			struct iommu_iova_range elm = {hole, last};
			if (copy_to_user(c, cmd->allowed_iovas + sizeof(elm) * n, &elm, sizeof(elm)) < 0)
				return -EFAULT;
		}
		n++;
		if (i < nr) {
			done = resv[i].last == UINT64_MAX;
			hole = resv[i].last + 1;
		}
	}
	cmd->num_iovas = n;
	uint32_t len = usize < sizeof(*cmd) ? usize : sizeof(*cmd);
	if (copy_to_user(c, arg, cmd, len) < 0)
		return -EFAULT;
	return n > max ? -EMSGSIZE : 0;
}

static long allow_iovas(struct emul_call *c, struct emul_ictx *ictx, struct iommu_ioas_allow_iovas *cmd)
{
	struct emul_range list[EMUL_MAX_ALLOWED], resv[EMUL_MAX_RANGES * 2];

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	struct emul_iobj *ioas = iobj_get(ictx, cmd->ioas_id, IOBJ_IOAS);
	if (!ioas)
		return -ENOENT;
	if (cmd->num_iovas > EMUL_MAX_ALLOWED)
		return -ENOMEM; /* the emulation's limit, see docs/architecture.md */
	for (uint32_t i = 0; i < cmd->num_iovas; i++) {
		struct iommu_iova_range r;
		if (copy_from_user(c, &r, cmd->allowed_iovas + sizeof(r) * i, sizeof(r)) < 0)
			return -EFAULT;
		if (r.start >= r.last)
			return -EINVAL;
		if (overlaps(list, (int)i, r.start, r.last))
			return -EINVAL;
		list[i] = (struct emul_range){r.start, r.last};
	}
	/* iopt_set_allow_iova(): no allowed range over a reserved one */
	int nr = ioas_reserved(c, ictx, ioas, resv, EMUL_MAX_RANGES * 2);
	for (uint32_t i = 0; i < cmd->num_iovas; i++)
		if (overlaps(resv, nr, list[i].start, list[i].last))
			return -EADDRINUSE;
	memcpy(ioas->u.ioas.allowed, list, sizeof(list[0]) * cmd->num_iovas);
	ioas->u.ioas.nallowed = (int)cmd->num_iovas;
	return 0;
}

static int map_creds(struct emul_call *c, struct emul_ictx *ictx, struct emul_pages *p)
{
	const struct emul_creds *cr;

	if (call_creds(c, &cr) < 0)
		return -EPERM;
	p->tgid = cr->tgid;
	p->uid = cr->uid;
	p->memlock_limit = cr->memlock_limit;
	p->locked_before = cr->locked_bytes;
	/* iopt_alloc_pages(): CAP_IPC_LOCK is never accounted; else per user,
	 * or per mm with IOMMU_OPTION_RLIMIT_MODE */
	p->account = cr->cap_ipc_lock ? 0 : ictx->account_mm ? 2
	                                                     : 1;
	return 0;
}

static long ioas_map(struct emul_call *c, struct emul_ictx *ictx, struct iommu_ioas_map *cmd, uint32_t usize,
                     uint64_t arg)
{
	uint32_t known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
	uint64_t iova = cmd->iova, end;
	int r;

	if ((cmd->flags & ~known) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	struct emul_iobj *ioas = iobj_get(ictx, cmd->ioas_id, IOBJ_IOAS);
	if (!ioas)
		return -ENOENT;
	/* iopt_alloc_pages() */
	if (cmd->length > UINT64_MAX - EMUL_PAGE_SIZE || cmd->length == 0)
		return -EINVAL;
	if (__builtin_add_overflow(cmd->user_va, cmd->length, &end))
		return -EOVERFLOW;
	/* iopt_alloc_area_pages() */
	if (cmd->length & (ioas->u.ioas.iova_alignment - 1))
		return -EINVAL;
	if (cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		r = check_iova(c, ictx, ioas, iova, cmd->length);
	else
		r = alloc_iova(c, ictx, ioas, cmd->user_va, cmd->length, &iova);
	if (r < 0)
		return r;
	struct emul_pages *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->uva = cmd->user_va;
	p->length = cmd->length;
	p->writable = cmd->flags & IOMMU_IOAS_MAP_WRITEABLE;
	if ((r = map_creds(c, ictx, p)) < 0) {
		free(p);
		return r;
	}
	int prot = (cmd->flags & IOMMU_IOAS_MAP_WRITEABLE ? 2 : 0) | (cmd->flags & IOMMU_IOAS_MAP_READABLE ? 1 : 0);
	r = area_insert(c, ictx, ioas, p, 0, iova, cmd->length, prot);
	if (r < 0) {
		free(p);
		return r;
	}
	cmd->iova = iova;
	uint32_t len = usize < sizeof(*cmd) ? usize : sizeof(*cmd);
	if (copy_to_user(c, arg, cmd, len) < 0) {
		struct emul_area *a = ioas->u.ioas.areas;
		while (a && a->pages != p)
			a = a->next;
		if (a)
			area_remove(c, ictx, ioas, a);
		return -EFAULT;
	}
	return 0;
}

static long ioas_copy(struct emul_call *c, struct emul_ictx *ictx, struct iommu_ioas_copy *cmd, uint32_t usize,
                      uint64_t arg)
{
	uint32_t known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
	uint64_t last, dst;
	int r;

	if (cmd->flags & ~known)
		return -EOPNOTSUPP;
	if (cmd->length >= UINT64_MAX || cmd->src_iova >= UINT64_MAX || cmd->dst_iova >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	struct emul_iobj *src = iobj_get(ictx, cmd->src_ioas_id, IOBJ_IOAS);
	if (!src)
		return -ENOENT;
	/* iopt_get_pages(): contiguous areas from src_iova to its end */
	if (!cmd->length)
		return -EINVAL;
	if (__builtin_add_overflow(cmd->src_iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	struct {
		struct emul_pages *p;
		uint64_t start_byte, length;
	} slices[64];
	int ns = 0;
	uint64_t cur = cmd->src_iova;
	for (struct emul_area *a = src->u.ioas.areas; a && cur <= last; a = a->next) {
		if (a->iova + a->length - 1 < cur)
			continue;
		if (a->iova > cur || ns == 64)
			return -ENOENT;
		uint64_t alast = a->iova + a->length - 1, slast = alast < last ? alast : last;
		slices[ns].p = a->pages;
		slices[ns].start_byte = a->start_byte + (cur - a->iova);
		slices[ns].length = slast - cur + 1;
		ns++;
		if (slast == UINT64_MAX)
			break;
		cur = slast + 1;
	}
	if (!ns || cur <= last)
		return -ENOENT;
	struct emul_iobj *dsto = iobj_get(ictx, cmd->dst_ioas_id, IOBJ_IOAS);
	if (!dsto)
		return -ENOENT;
	if ((cmd->length & (dsto->u.ioas.iova_alignment - 1)))
		return -EINVAL;
	dst = cmd->dst_iova;
	if (cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		r = check_iova(c, ictx, dsto, dst, cmd->length);
	else
		r = alloc_iova(c, ictx, dsto, slices[0].p->uva + slices[0].start_byte, cmd->length, &dst);
	if (r < 0)
		return r;
	int prot = (cmd->flags & IOMMU_IOAS_MAP_WRITEABLE ? 2 : 0) | (cmd->flags & IOMMU_IOAS_MAP_READABLE ? 1 : 0);
	uint64_t at = dst;
	for (int i = 0; i < ns; i++) {
		r = area_insert(c, ictx, dsto, slices[i].p, slices[i].start_byte, at, slices[i].length, prot);
		if (r < 0) {
			/* undo the slices already in */
			for (uint64_t u = dst; u < at;) {
				struct emul_area *a = dsto->u.ioas.areas;
				while (a && a->iova != u)
					a = a->next;
				if (!a)
					break;
				u += a->length;
				area_remove(c, ictx, dsto, a);
			}
			return r;
		}
		at += slices[i].length;
	}
	cmd->dst_iova = dst;
	uint32_t len = usize < sizeof(*cmd) ? usize : sizeof(*cmd);
	return copy_to_user(c, arg, cmd, len) < 0 ? -EFAULT : 0;
}

/* iopt_unmap_iova_range(): whole areas only; one that sticks out stops it (-ENOENT) */
static long ioas_unmap(struct emul_call *c, struct emul_ictx *ictx, struct iommu_ioas_unmap *cmd, uint32_t usize,
                       uint64_t arg)
{
	uint64_t start = cmd->iova, last, unmapped = 0;
	bool all = cmd->iova == 0 && cmd->length == UINT64_MAX;
	long rc = -ENOENT;

	struct emul_iobj *ioas = iobj_get(ictx, cmd->ioas_id, IOBJ_IOAS);
	if (!ioas)
		return -ENOENT;
	if (all) {
		last = UINT64_MAX;
	} else {
		if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX)
			return -EOVERFLOW;
		if (!cmd->length)
			return -EINVAL;
		if (__builtin_add_overflow(cmd->iova, cmd->length - 1, &last))
			return -EOVERFLOW;
	}
	for (struct emul_area *a = ioas->u.ioas.areas, *n; a; a = n) {
		n = a->next;
		uint64_t alast = a->iova + a->length - 1;
		if (alast < start || a->iova > last)
			continue;
		if (a->iova < start || alast > last) {
			rc = -ENOENT;
			goto out;
		}
		unmapped += a->length;
		area_remove(c, ictx, ioas, a);
	}
	rc = unmapped || all ? 0 : -ENOENT;
out:
	if (rc)
		return rc;
	cmd->length = unmapped;
	uint32_t len = usize < sizeof(*cmd) ? usize : sizeof(*cmd);
	return copy_to_user(c, arg, cmd, len) < 0 ? -EFAULT : 0;
}

long ioas_ioctl(struct emul_call *c, struct emul_ictx *ictx, unsigned int cmd, void *cmdbuf, uint32_t usize,
                uint64_t arg)
{
	switch (cmd) {
	case IOMMU_IOAS_IOVA_RANGES:
		return iova_ranges(c, ictx, cmdbuf, usize, arg);
	case IOMMU_IOAS_ALLOW_IOVAS:
		return allow_iovas(c, ictx, cmdbuf);
	case IOMMU_IOAS_MAP:
		return ioas_map(c, ictx, cmdbuf, usize, arg);
	case IOMMU_IOAS_COPY:
		return ioas_copy(c, ictx, cmdbuf, usize, arg);
	case IOMMU_IOAS_UNMAP:
		return ioas_unmap(c, ictx, cmdbuf, usize, arg);
	default:
		return -ENOTTY;
	}
}
