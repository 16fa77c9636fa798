/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IOMMU groups and VFIO cdev numbers of a freshly parsed scenario: automatic
 * numbers, the check that the devices of a group could share one, the
 * iommu_groups: entries.  Called by scenario_complete() (model_check.c) once
 * devices are sorted and their parents resolved.
 *
 * Every step is O(n log n) in the number of devices, so that a 50,000-device
 * scenario loads in well under a second (a pairwise check of each group and
 * parent chains walked per pair made a group of k devices cost k^2 * depth).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>

#include "model/scenario_internal.h"

static int oom(struct loader *l)
{
	return yr_oom(&l->y);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static bool sorted_has(const int64_t *v, size_t n, int64_t x)
{
	return n && bsearch(&x, v, n, sizeof(*v), cmp_i64);
}

/* The lowest number from *next on that @taken (sorted) does not hold; advances *next. */
static int64_t next_free(int64_t *next, const int64_t *taken, size_t n)
{
	while (sorted_has(taken, n, *next))
		(*next)++;
	return (*next)++;
}

/* The numbers given explicitly (has(i) true), sorted. */
static int64_t *explicit_numbers(struct loader *l, bool group, size_t *count)
{
	struct vk_host_model *m = l->m;
	int64_t *v = malloc((m->n_devices ? m->n_devices : 1) * sizeof(*v));

	*count = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->n_devices; i++)
		if (group ? l->src[i].has_group : l->src[i].has_vfio_index)
			v[(*count)++] = group ? m->devices[i].iommu_group : m->devices[i].vfio_index;
	qsort(v, *count, sizeof(*v), cmp_i64);
	return v;
}

/* ---- may two devices share a group ---- */

/*
 * The device forest (parent links) numbered in depth-first order: @i's
 * descendants are exactly the devices numbered tin[i]+1 .. tout[i]-1, so "is
 * an ancestor of" is two comparisons instead of a walk up the chain.
 * @pkey: the parent, or for a device on a root bus n + the rank of its
 * (domain, bus): equal keys are the "behind one bridge or on one root bus" of
 * may_share_group().
 */
struct forest {
	size_t n;
	size_t *tin, *tout, *pkey;
};

static void forest_free(struct forest *f)
{
	free(f->tin);
	free(f->tout);
	free(f->pkey);
}

static int forest_build(const struct vk_host_model *m, struct forest *f)
{
	size_t n = m->n_devices, k = n ? n : 1, t = 0, top = 0;
	_cleanup_free_ size_t *first = calloc(k + 1, sizeof(size_t)); /* children of i: kids[first[i]..first[i+1]) */
	_cleanup_free_ size_t *kids = malloc(k * sizeof(size_t));
	_cleanup_free_ size_t *stack = malloc(k * sizeof(size_t));
	_cleanup_free_ size_t *next = malloc(k * sizeof(size_t)); /* the next child to visit */

	*f = (struct forest){.n = n, .tin = malloc(k * sizeof(size_t)), .tout = malloc(k * sizeof(size_t)), .pkey = malloc(k * sizeof(size_t))};
	if (!first || !kids || !stack || !next || !f->tin || !f->tout || !f->pkey)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (m->devices[i].parent >= 0)
			first[m->devices[i].parent + 1]++;
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	memcpy(next, first, n * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		if (m->devices[i].parent >= 0)
			kids[next[m->devices[i].parent]++] = i;
	memcpy(next, first, n * sizeof(size_t));
	/* parent chains were checked for loops, so every device hangs below a root */
	for (size_t r = 0; r < n; r++) {
		if (m->devices[r].parent >= 0)
			continue;
		f->tin[r] = t++;
		stack[top++] = r;
		while (top) {
			size_t i = stack[top - 1];
			if (next[i] < first[i + 1]) {
				size_t c = kids[next[i]++];
				f->tin[c] = t++;
				stack[top++] = c;
			} else {
				f->tout[i] = t;
				top--;
			}
		}
	}
	/* devices are sorted by address: those of one root bus are neighbours */
	size_t rank = n;
	const struct vk_host_device *prev = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct vk_host_device *d = &m->devices[i];
		if (d->parent >= 0) {
			f->pkey[i] = (size_t)d->parent;
			continue;
		}
		if (prev && (prev->addr.domain != d->addr.domain || prev->addr.bus != d->addr.bus))
			rank++;
		prev = d;
		f->pkey[i] = rank;
	}
	return 0;
}

static bool is_ancestor(const struct forest *f, size_t anc, size_t i)
{
	return f->tin[anc] < f->tin[i] && f->tin[i] < f->tout[anc];
}

static bool same_slot(const struct vk_host_device *x, const struct vk_host_device *y)
{
	return x->addr.domain == y->addr.domain && x->addr.bus == y->addr.bus && x->addr.slot == y->addr.slot;
}

/* Devices share an IOMMU group only when the kernel cannot isolate them: the
 * functions of one slot, devices behind one bridge (or one root bus), or a
 * bridge and what is behind it (a PCIe-to-PCI bridge, a VMD domain). */
static bool may_share_group(const struct vk_host_model *m, const struct forest *f, size_t i, size_t j)
{
	return same_slot(&m->devices[i], &m->devices[j]) || f->pkey[i] == f->pkey[j] || is_ancestor(f, i, j) ||
	       is_ancestor(f, j, i);
}

/* A Fenwick tree over the depth-first numbers. */
static void bit_add(int64_t *bit, size_t n, size_t pos, int64_t v)
{
	for (size_t i = pos + 1; i <= n; i += i & -i)
		bit[i] += v;
}

static int64_t bit_sum(const int64_t *bit, size_t end) /* positions [0, end) */
{
	int64_t s = 0;

	for (size_t i = end; i; i -= i & -i)
		s += bit[i];
	return s;
}

/*
 * The members of one group checked so far, counted so that "how many of them
 * may share with device j" is a few lookups: by parent key (an array), by
 * ancestry (@anc: +1 over each member's descendants, read at j; @desc: +1 at
 * each member, summed over j's descendants), and by slot (the at most 7 other
 * functions of j's slot, its neighbours in address order).
 */
struct share_count {
	const struct vk_host_model *m;
	const struct forest *f;
	int64_t *anc, *desc;
	uint32_t *by_pkey;
};

static void share_add(struct share_count *c, size_t i, int64_t v)
{
	const struct forest *f = c->f;

	c->by_pkey[f->pkey[i]] += (uint32_t)v;
	bit_add(c->anc, f->n, f->tin[i] + 1, v);
	if (f->tout[i] < f->n)
		bit_add(c->anc, f->n, f->tout[i], -v);
	bit_add(c->desc, f->n, f->tin[i], v);
}

/* How many members added so far may share a group with @j (inclusion-exclusion
 * over the three relations; a pair with one parent key is never an ancestor pair). */
static int64_t share_with(const struct share_count *c, size_t j)
{
	const struct vk_host_model *m = c->m;
	const struct forest *f = c->f;
	int64_t n = c->by_pkey[f->pkey[j]] + bit_sum(c->anc, f->tin[j] + 1) +
	            bit_sum(c->desc, f->tout[j]) - bit_sum(c->desc, f->tin[j] + 1);

	/* same slot, with lower addresses: added already when they are members */
	for (size_t q = j; q-- > 0 && same_slot(&m->devices[q], &m->devices[j]);) {
		if (m->devices[q].iommu_group != m->devices[j].iommu_group)
			continue;
		n += 1 - (f->pkey[q] == f->pkey[j]) - (is_ancestor(f, q, j) || is_ancestor(f, j, q));
	}
	return n;
}

static const struct vk_host_model *group_sort_model;

static int cmp_by_group(const void *a, const void *b)
{
	const struct vk_host_device *d = group_sort_model->devices;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (d[x].iommu_group != d[y].iommu_group)
		return d[x].iommu_group < d[y].iommu_group ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The first pair of @members (in the order the pairwise check takes them) that
 * may not share a group, ending at member @j; -EINVAL with the message. */
static int refuse_pair(struct loader *l, const struct forest *f, const size_t *members, size_t j)
{
	struct vk_host_model *m = l->m;
	char a[VK_PCI_ADDR_STRLEN], b[VK_PCI_ADDR_STRLEN];
	size_t q = 0, dj = members[j];

	while (q < j && may_share_group(m, f, members[q], dj))
		q++;
	return yr_fail(&l->y, l->src[dj].group_node ? l->src[dj].group_node : l->src[dj].node, "iommu_group",
	               "group %lld holds %s and %s, which share no slot, bridge or root bus; the kernel "
	               "groups devices only when it cannot isolate them. Give one of them another group",
	               (long long)m->devices[dj].iommu_group, vk_pci_addr_format(&m->devices[members[q]].addr, a),
	               vk_pci_addr_format(&m->devices[dj].addr, b));
}

/*
 * Every pair of a group must be able to share ("shares with the first member"
 * is not transitive).  Members are taken in address order; member j passes
 * when every earlier member may share with it, which share_with() counts in
 * O(log n): the whole check is O(n log n), and the first failing pair is the
 * one the pairwise loop would have named.
 */
static int check_group(struct loader *l, struct share_count *c, const size_t *members, size_t n)
{
	int r = 0;
	size_t added = 0;

	for (; added < n; added++) {
		if (share_with(c, members[added]) < (int64_t)added) {
			r = refuse_pair(l, c->f, members, added);
			break;
		}
		share_add(c, members[added], 1);
	}
	while (added--)
		share_add(c, members[added], -1);
	return r;
}

/* Group the devices: one run per group id in the index array sorted by
 * (group, address); the members of each run must be able to share. */
static int build_groups(struct loader *l)
{
	struct vk_host_model *m = l->m;
	size_t n = 0, n_groups = 0, k = m->n_devices ? m->n_devices : 1;
	_cleanup_free_ size_t *idx = malloc(k * sizeof(*idx));
	_cleanup_(forest_free) struct forest f = {0};
	_cleanup_free_ int64_t *anc = calloc(k + 1, sizeof(int64_t));
	_cleanup_free_ int64_t *desc = calloc(k + 1, sizeof(int64_t));
	_cleanup_free_ uint32_t *by_pkey = calloc(2 * k, sizeof(uint32_t));
	int r;

	if (!idx || !anc || !desc || !by_pkey || forest_build(m, &f) < 0)
		return oom(l);
	struct share_count c = {.m = m, .f = &f, .anc = anc, .desc = desc, .by_pkey = by_pkey};
	for (size_t i = 0; i < m->n_devices; i++)
		if (m->devices[i].iommu_group >= 0)
			idx[n++] = i;
	group_sort_model = m;
	qsort(idx, n, sizeof(*idx), cmp_by_group);
	group_sort_model = NULL;
	for (size_t i = 0; i < n; i++)
		n_groups += i == 0 || m->devices[idx[i]].iommu_group != m->devices[idx[i - 1]].iommu_group;
	if (n_groups && !(m->groups = calloc(n_groups, sizeof(*m->groups))))
		return oom(l);
	for (size_t i = 0; i < n;) {
		size_t end = i + 1;
		while (end < n && m->devices[idx[end]].iommu_group == m->devices[idx[i]].iommu_group)
			end++;
		if ((r = check_group(l, &c, idx + i, end - i)) < 0)
			return r;
		struct vk_host_group *g = &m->groups[m->n_groups++];
		*g = (struct vk_host_group){.id = (uint32_t)m->devices[idx[i]].iommu_group,
		                            .node = {.mode = 0600, .present = true},
		                            .vfio_minor = -1};
		if (!(g->members = malloc((end - i) * sizeof(*g->members))))
			return oom(l);
		for (size_t j = i; j < end; j++)
			g->members[g->n_members++] = idx[j];
		i = end;
	}
	return 0;
}

int scenario_assign_groups(struct loader *l)
{
	struct vk_host_model *m = l->m;
	char a[VK_PCI_ADDR_STRLEN];
	int64_t next = 0;
	size_t n_taken;

	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		struct dev_src *s = &l->src[i];
		bool vfio = vk_pci_driver_is_vfio_pci(d->driver);
		if (!s->has_group)
			continue;
		if (m->iommu == VK_IOMMU_NONE && !m->noiommu)
			return yr_fail(&l->y, s->group_node, "iommu_group",
			               "the host has no IOMMU (kernel.iommu: none), so there are no groups; "
			               "set kernel.iommu or drop iommu_group");
		if (m->noiommu && !vfio)
			return yr_fail(&l->y, s->group_node, "iommu_group",
			               "in no-IOMMU mode only devices bound to " VFIO_FAMILY " get a (fake) group; %s is not",
			               vk_pci_addr_format(&d->addr, a));
	}
	_cleanup_free_ int64_t *taken = explicit_numbers(l, true, &n_taken);
	if (!taken)
		return oom(l);
	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		bool vfio = vk_pci_driver_is_vfio_pci(d->driver);
		if (l->src[i].has_group || (m->iommu == VK_IOMMU_NONE && !(m->noiommu && vfio)))
			continue;
		d->iommu_group = next_free(&next, taken, n_taken);
	}
	return build_groups(l);
}

static int cmp_group(const void *a, const void *b)
{
	const struct vk_host_group *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct group_spec *spec_sort_base;

static int cmp_spec(const void *a, const void *b)
{
	const struct group_spec *x = &spec_sort_base[*(const size_t *)a], *y = &spec_sort_base[*(const size_t *)b];
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* For each entry that repeats an earlier one's id, the earliest of them; SIZE_MAX otherwise. */
static size_t *repeated_specs(const struct loader *l)
{
	size_t n = l->n_group_specs;
	size_t *idx = malloc((n ? n : 1) * sizeof(size_t));
	size_t *first = malloc((n ? n : 1) * sizeof(size_t));

	if (!idx || !first) {
		free(idx);
		free(first);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i, first[i] = SIZE_MAX;
	spec_sort_base = l->group_specs;
	qsort(idx, n, sizeof(*idx), cmp_spec);
	spec_sort_base = NULL;
	for (size_t i = 1, run = 0; i < n; i++) {
		if (l->group_specs[idx[i]].id != l->group_specs[idx[run]].id)
			run = i;
		else
			first[idx[i]] = idx[run];
	}
	free(idx);
	return first;
}

/* Apply the iommu_groups: entries (parsed by scenario.c) to the groups the
 * devices made; then every group gets the default type where none is given. */
int scenario_apply_group_specs(struct loader *l)
{
	struct vk_host_model *m = l->m;
	_cleanup_free_ size_t *first = repeated_specs(l);

	if (!first)
		return oom(l);
	for (size_t k = 0; k < l->n_group_specs; k++) {
		struct group_spec *gs = &l->group_specs[k];
		struct vk_host_group *g = NULL;
		if (first[k] != SIZE_MAX)
			return yr_fail(&l->y, gs->node, "iommu_groups", "group %u is described twice (also at line %u)", gs->id,
			               l->group_specs[first[k]].node->line + 1);
		struct vk_host_group key = {.id = gs->id};
		if (m->n_groups)
			g = bsearch(&key, m->groups, m->n_groups, sizeof(*m->groups), cmp_group);
		if (!g)
			return yr_fail(&l->y, gs->node, "iommu_groups",
			               "group %u has no device in it; put iommu_group: %u on a device or drop the entry", gs->id,
			               gs->id);
		if (gs->type) {
			free(g->type);
			g->type = TAKE_PTR(gs->type);
		}
		g->node = gs->spec;
	}
	for (size_t i = 0; i < m->n_groups; i++)
		if (!m->groups[i].type && !m->noiommu && !(m->groups[i].type = strdup(m->default_group_type)))
			return oom(l);
	return 0;
}

int scenario_assign_vfio_indices(struct loader *l)
{
	struct vk_host_model *m = l->m;
	char a[VK_PCI_ADDR_STRLEN], b[VK_PCI_ADDR_STRLEN];
	int64_t next = 0;
	size_t n_taken;
	_cleanup_free_ int64_t *taken = explicit_numbers(l, false, &n_taken);

	if (!taken)
		return oom(l);
	for (size_t k = 1; k < n_taken; k++) {
		if (taken[k] != taken[k - 1])
			continue;
		/* name both devices; point at the later one (one scan, then the load fails) */
		size_t first = SIZE_MAX;
		for (size_t i = 0; i < m->n_devices; i++) {
			if (!l->src[i].has_vfio_index || m->devices[i].vfio_index != taken[k])
				continue;
			if (first == SIZE_MAX) {
				first = i;
				continue;
			}
			return yr_fail(&l->y, l->src[i].node, "vfio_cdev", "vfio%lld is given to both %s and %s",
			               (long long)taken[k], vk_pci_addr_format(&m->devices[first].addr, b),
			               vk_pci_addr_format(&m->devices[i].addr, a));
		}
	}
	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		if (!vk_pci_driver_is_vfio_pci(d->driver) || l->src[i].has_vfio_index)
			continue;
		d->vfio_index = next_free(&next, taken, n_taken);
	}
	return 0;
}
