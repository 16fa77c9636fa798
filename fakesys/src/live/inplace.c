/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Changing the served tree in place after a kernel-like write (issue #17):
 * instead of building the whole host's tree again (O(devices) per write), the
 * tree of the few devices a write can touch is built twice, before and after
 * the write, from a model of those devices alone (live_submodel()); what
 * differs between the two is what the write changed, and only that is applied
 * to the served tree (live_apply_diff()).
 *
 * Each change is checked first: the served node must equal the "before" node
 * it replaces.  A node whose content depends on devices outside the small
 * model (a listing of every device, say) fails that check, and so does any
 * change this file does not make in place (a node added or removed, a link
 * retargeted); the caller then rebuilds the whole tree (control.c), so the
 * result is always what a rebuild gives.  FAKESYS_LIVE_CHECK=1 in the
 * server's environment compares the two after every in-place update
 * (tests/fakesys/test_fuse_live_cache.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/host_tree.h>

#include "serve/server.h"

/* ---- the devices a write can touch --------------------------------------- */

static void mark(const struct vk_host_model *m, bool *in, long i)
{
	/* the device and the bridges above it: the path of its directory */
	for (; i >= 0 && !in[i]; i = m->devices[i].parent)
		in[i] = true;
}

/*
 * Mark device @i and what a write to it can change besides itself: the
 * members of its IOMMU group (the group's viability, its /dev/vfio node), its
 * PF and the PF's VFs, its own VFs (sriov_numvfs, remove).
 */
static void mark_related(const struct vk_host_model *m, bool *in, long i)
{
	const struct vk_host_device *d = &m->devices[i];

	mark(m, in, i);
	if (d->physfn >= 0) {
		mark_related(m, in, d->physfn);
		return;
	}
	for (uint32_t k = 0; k < d->n_vfs; k++)
		mark(m, in, d->vfs[k]);
	for (size_t g = 0; d->iommu_group >= 0 && g < m->n_groups; g++) {
		if (m->groups[g].id != (uint64_t)d->iommu_group)
			continue;
		for (size_t k = 0; k < m->groups[g].n_members; k++)
			mark(m, in, (long)m->groups[g].members[k]);
	}
}

void live_submodel_free(struct vk_host_model *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].vfs);
	for (size_t g = 0; g < s->n_groups; g++)
		free(s->groups[g].members);
	free(s->devices);
	free(s->groups);
	free(s);
}

/*
 * The model of the devices a write to @seed can touch (mark_related()), with
 * everything else of @m shared (not copied: free it with live_submodel_free()
 * before @m changes or goes).  Indices are renumbered.  NULL when out of
 * memory or @seed is no device.
 */
struct vk_host_model *live_submodel(const struct vk_host_model *m, const struct vk_pci_addr *seed)
{
	const struct vk_host_device *sd = vk_host_model_find(m, seed);
	if (!sd)
		return NULL;
	_cleanup_free_ bool *in = calloc(m->n_devices ? m->n_devices : 1, sizeof(*in));
	_cleanup_free_ long *map = malloc((m->n_devices ? m->n_devices : 1) * sizeof(*map));
	struct vk_host_model *s = calloc(1, sizeof(*s));
	if (!in || !map || !s) {
		free(s);
		return NULL;
	}
	mark_related(m, in, sd - m->devices);
	size_t n = 0;
	for (size_t i = 0; i < m->n_devices; i++)
		map[i] = in[i] ? (long)n++ : -1;
	*s = *m;
	s->devices = calloc(n ? n : 1, sizeof(*s->devices));
	s->n_devices = 0;
	s->groups = NULL;
	s->n_groups = 0;
	if (!s->devices)
		goto oom;
	for (size_t i = 0; i < m->n_devices; i++) {
		if (!in[i])
			continue;
		struct vk_host_device *d = &s->devices[s->n_devices++];
		*d = m->devices[i];
		d->parent = d->parent >= 0 ? (int)map[d->parent] : -1;
		d->physfn = d->physfn >= 0 ? (int)map[d->physfn] : -1;
		d->vfs = NULL;
		d->n_vfs = 0;
		if (m->devices[i].n_vfs && !(d->vfs = calloc(m->devices[i].n_vfs, sizeof(*d->vfs))))
			goto oom;
		for (uint32_t k = 0; k < m->devices[i].n_vfs; k++)
			if (map[m->devices[i].vfs[k]] >= 0)
				d->vfs[d->n_vfs++] = (int)map[m->devices[i].vfs[k]];
	}
	s->groups = calloc(m->n_groups ? m->n_groups : 1, sizeof(*s->groups));
	if (!s->groups)
		goto oom;
	for (size_t g = 0; g < m->n_groups; g++) {
		const struct vk_host_group *og = &m->groups[g];
		struct vk_host_group ng = *og;
		ng.members = calloc(og->n_members ? og->n_members : 1, sizeof(*ng.members));
		ng.n_members = 0;
		if (!ng.members)
			goto oom;
		for (size_t k = 0; k < og->n_members; k++)
			if (map[og->members[k]] >= 0)
				ng.members[ng.n_members++] = (size_t)map[og->members[k]];
		if (!ng.n_members) {
			free(ng.members);
			continue;
		}
		s->groups[s->n_groups++] = ng;
	}
	return s;
oom:
	live_submodel_free(s);
	return NULL;
}

/* ---- the difference, checked and applied --------------------------------- */

static bool same_attrs(const struct vk_vt_node *a, const struct vk_vt_node *b)
{
	return a->type == b->type && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid && a->kern == b->kern &&
	       a->store == b->store;
}

static bool same_content(const struct vk_vt_node *a, const struct vk_vt_node *b)
{
	switch (a->type) {
	case VK_VT_FILE:
		return a->u.file.len == b->u.file.len && !memcmp(a->u.file.data, b->u.file.data, a->u.file.len);
	case VK_VT_LINK:
		return !strcmp(a->u.link.target, b->u.link.target);
	default:
		return true;
	}
}

/*
 * Walk @a (before) and @b (after), the same directory of the two small trees,
 * and @l, the served one.  Every node that differs must be a file or a mode
 * (not a name added or removed, not a link retargeted) whose served self
 * equals @a's; with @apply set, it takes @b's content and mode, and the
 * kernel's copy is noted for invalidation in @iv.  0, or -EAGAIN for a
 * change not made here (nothing applied when checking).
 */
static int diff_dir(struct vtree *t, const struct vk_vt_node *a, const struct vk_vt_node *b, struct vk_vt_node *l,
                    bool apply, struct invals *iv)
{
	if (a->u.dir.n != b->u.dir.n)
		return -EAGAIN;
	for (uint32_t i = 0; i < a->u.dir.n; i++) {
		const struct vk_vt_node *x = a->u.dir.kids[i], *y = b->u.dir.kids[i];
		if (strcmp(x->name, y->name) || x->type != y->type)
			return -EAGAIN; /* a name came or went */
		bool attrs = same_attrs(x, y), content = same_content(x, y);
		if (attrs && content && x->type != VK_VT_DIR)
			continue;
		struct vk_vt_node *z = vk_vtree_child(l, x->name);
		if (!z || !same_attrs(x, z) || !same_content(x, z))
			return -EAGAIN; /* served differently: it depends on more than these devices */
		if (x->type == VK_VT_DIR) {
			int r = diff_dir(t, x, y, z, apply, iv);
			if (r < 0)
				return r;
			if (attrs)
				continue;
		}
		if (x->type == VK_VT_LINK && !content)
			return -EAGAIN;
		if (!apply)
			continue;
		if (!content && vk_vtree_set_file(t, z, y->u.file.data, y->u.file.len) < 0)
			return -ENOMEM;
		z->mode = y->mode;
		z->uid = y->uid;
		z->gid = y->gid;
		srv_on_change(iv, VK_VT_CHANGED, l->ino, z->name, z->ino);
	}
	return 0;
}

int live_apply_diff(struct vtree *live, struct vtree *before, struct vtree *after, bool apply, struct invals *iv)
{
	const struct vk_vt_node *a = vk_vtree_root(before), *b = vk_vtree_root(after);

	if (!same_attrs(a, b))
		return -EAGAIN;
	return diff_dir(live, a, b, vk_vtree_root(live), apply, iv);
}

/* ---- the consistency check (FAKESYS_LIVE_CHECK) --------------------------- */

/* Do the trees below @a and @b hold the same nodes (names, types, modes,
 * owners, contents, link targets)?  The first difference's path into @where. */
static bool same_tree(const struct vk_vt_node *a, const struct vk_vt_node *b, char *where, size_t len)
{
	if (!same_attrs(a, b) || !same_content(a, b) ||
	    (a->type == VK_VT_DIR && a->u.dir.n != b->u.dir.n)) {
		vk_vtree_path(a, where, len);
		return false;
	}
	for (uint32_t i = 0; a->type == VK_VT_DIR && i < a->u.dir.n; i++) {
		if (strcmp(a->u.dir.kids[i]->name, b->u.dir.kids[i]->name)) {
			vk_vtree_path(a->u.dir.kids[i], where, len);
			return false;
		}
		if (!same_tree(a->u.dir.kids[i], b->u.dir.kids[i], where, len))
			return false;
	}
	return true;
}

bool live_trees_equal(struct vtree *a, struct vtree *b, char *where, size_t len)
{
	return same_tree(vk_vtree_root(a), vk_vtree_root(b), where, len);
}
