/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Changing a tree after it was built: the inode numbers of a rebuilt tree
 * carried over from the tree it replaces (so that the kernel's caches of what
 * did not change stay valid), and the live mode's changes made in place.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree/vtree_internal.h"

/* ---- carrying inode numbers over from an older tree ---- */

struct inherit {
	uint64_t next;
	vk_vt_change_fn fn;
	void *ctx;
};

static void fresh_inos(struct inherit *h, struct vk_vt_node *n)
{
	n->ino = h->next++;
	if (n->type == VK_VT_DIR)
		for (uint32_t i = 0; i < n->u.dir.n; i++)
			fresh_inos(h, n->u.dir.kids[i]);
}

static bool node_differs(const struct vk_vt_node *a, const struct vk_vt_node *b)
{
	if (a->mode != b->mode || a->uid != b->uid || a->gid != b->gid)
		return true;
	switch (a->type) {
	case VK_VT_FILE:
		/* the same bytes stored another way are not a change */
		return ((a->kern ^ b->kern) & ~VK_VT_K_TAIL_MASK) || !vk_vt_file_same(a, b);
	case VK_VT_LINK:
		return strcmp(a->u.link.target, b->u.link.target) != 0;
	default:
		return false;
	}
}

static void note(struct inherit *h, enum vk_vt_change what, uint64_t parent, const char *name, uint64_t ino)
{
	if (h->fn)
		h->fn(h->ctx, what, parent, name, ino);
}

/* @nd (new) and @od (old) are the same directory: merge their kids, sorted
 * in the directory's order. */
static void inherit_dir(struct inherit *h, struct vk_vt_node *nd, const struct vk_vt_node *od)
{
	uint32_t i = 0, j = 0;
	bool listing_changed = false;
	unsigned o = vt_dir_order(nd); /* both trees' builder gave the same path the same order */

	while (i < nd->u.dir.n || j < od->u.dir.n) {
		struct vk_vt_node *nk = i < nd->u.dir.n ? nd->u.dir.kids[i] : NULL;
		const struct vk_vt_node *ok = j < od->u.dir.n ? od->u.dir.kids[j] : NULL;
		int c = !nk ? 1 : !ok ? -1
		                      : vt_order_cmp(o, nk->name, o == VK_VT_ORDER_KERNFS ? vk_vt_kernfs_hash(nk->name) : 0, ok->name);
		if (c < 0) {
			fresh_inos(h, nk);
			note(h, VK_VT_ADDED, nd->ino, nk->name, nk->ino);
			listing_changed = true;
			i++;
		} else if (c > 0) {
			note(h, VK_VT_REMOVED, nd->ino, ok->name, ok->ino);
			listing_changed = true;
			j++;
		} else {
			if (nk->type != ok->type) {
				fresh_inos(h, nk);
				note(h, VK_VT_REMOVED, nd->ino, ok->name, ok->ino);
				listing_changed = true;
			} else {
				nk->ino = ok->ino;
				if (node_differs(nk, ok))
					note(h, VK_VT_CHANGED, nd->ino, nk->name, nk->ino);
				if (nk->type == VK_VT_DIR)
					inherit_dir(h, nk, ok);
			}
			i++;
			j++;
		}
	}
	if (listing_changed)
		note(h, VK_VT_CHANGED, nd->parent->ino, nd->name, nd->ino);
}

int vk_vtree_inherit_inos(struct vtree *t, const struct vtree *old, vk_vt_change_fn fn, void *ctx)
{
	struct inherit h = {.next = old->max_ino + 1, .fn = fn, .ctx = ctx};
	struct vk_vt_node *root = vk_vtree_root(t);
	const struct vk_vt_node *oroot = old->ino_map ? old->ino_map[0] : old->by_ino[0];

	root->ino = 1;
	inherit_dir(&h, root, oroot);
	uint64_t max = h.next - 1;
	struct vk_vt_node **map = calloc(max, sizeof(*map));
	if (!map)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		map[t->by_ino[i]->ino - 1] = t->by_ino[i];
	free(t->ino_map);
	t->ino_map = map;
	t->max_ino = max;
	t->map_cap = max;
	return 0;
}

/* ---- changing a sealed tree in place ---- */

/* Room in the inode map for @max inodes (made from the creation order when
 * the tree has no map yet: inode = index + 1). */
static int map_reserve(struct vtree *t, uint64_t max)
{
	if (!t->ino_map) {
		t->ino_map = calloc(t->max_ino ? t->max_ino : 1, sizeof(*t->ino_map));
		if (!t->ino_map)
			return -ENOMEM;
		for (size_t i = 0; i < t->n; i++)
			t->ino_map[t->by_ino[i]->ino - 1] = t->by_ino[i];
		t->map_cap = t->max_ino;
	}
	if (max <= t->map_cap)
		return 0;
	size_t cap = t->map_cap * 2 > max ? t->map_cap * 2 : max;
	struct vk_vt_node **v = realloc(t->ino_map, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(v + t->map_cap, 0, (cap - t->map_cap) * sizeof(*v));
	t->ino_map = v;
	t->map_cap = cap;
	return 0;
}

static struct vk_vt_node *copy_tree(struct vtree *t, const struct vk_vt_node *src)
{
	uint64_t ino = t->max_ino + 1;

	if (map_reserve(t, ino) < 0)
		return NULL;
	struct vk_vt_node *n = vt_node_new(t, src->name, strlen(src->name), src->type, src->mode);
	if (!n)
		return NULL;
	n->ino = ino; /* vt_node_new() numbered it by creation order */
	t->max_ino = ino;
	t->ino_map[ino - 1] = n;
	n->uid = src->uid;
	n->gid = src->gid;
	n->store = src->store;
	n->kern = src->kern;
	if (src->type == VK_VT_FILE && vt_file_content(t, n, src->u.file.data, src->u.file.len, src->u.file.stored,
	                                               src->kern & VK_VT_K_TAIL_MASK) < 0)
		return NULL;
	if (src->type == VK_VT_LINK && vk_vtree_set_link(t, n, src->u.link.target) < 0)
		return NULL;
	for (uint32_t i = 0; src->type == VK_VT_DIR && i < src->u.dir.n; i++) {
		struct vk_vt_node *k = copy_tree(t, src->u.dir.kids[i]);
		if (!k || vt_attach(n, k) < 0) /* in @src's order, which is sorted */
			return NULL;
	}
	return n;
}

struct vk_vt_node *vk_vtree_graft(struct vtree *t, struct vk_vt_node *dir, const struct vk_vt_node *src)
{
	if (dir->type != VK_VT_DIR) {
		errno = ENOTDIR;
		return NULL;
	}
	if (vk_vtree_child(dir, src->name)) {
		errno = EEXIST;
		return NULL;
	}
	struct vk_vt_node *n = copy_tree(t, src);
	if (!n || vt_attach(dir, n) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	/* move it from the end to its place in the directory's order */
	unsigned o = vt_dir_order(dir);
	uint32_t h = o == VK_VT_ORDER_KERNFS ? vk_vt_kernfs_hash(n->name) : 0;
	uint32_t pos = dir->u.dir.n - 1;
	while (pos > 0 && vt_order_cmp(o, n->name, h, dir->u.dir.kids[pos - 1]->name) < 0)
		pos--;
	memmove(dir->u.dir.kids + pos + 1, dir->u.dir.kids + pos, (dir->u.dir.n - 1 - pos) * sizeof(*dir->u.dir.kids));
	dir->u.dir.kids[pos] = n;
	return n;
}

static void unmap(struct vtree *t, const struct vk_vt_node *n)
{
	if (n->ino && n->ino <= t->map_cap)
		t->ino_map[n->ino - 1] = NULL;
	for (uint32_t i = 0; n->type == VK_VT_DIR && i < n->u.dir.n; i++)
		unmap(t, n->u.dir.kids[i]);
}

void vk_vtree_unlink(struct vtree *t, struct vk_vt_node *n)
{
	struct vk_vt_node *dir = n->parent;

	if (dir == n || map_reserve(t, 0) < 0)
		return;
	for (uint32_t i = 0; i < dir->u.dir.n; i++) {
		if (dir->u.dir.kids[i] != n)
			continue;
		memmove(dir->u.dir.kids + i, dir->u.dir.kids + i + 1, (dir->u.dir.n - i - 1) * sizeof(*dir->u.dir.kids));
		dir->u.dir.n--;
		break;
	}
	unmap(t, n);
}

int vk_vtree_set_link(struct vtree *t, struct vk_vt_node *n, const char *target)
{
	if (n->type != VK_VT_LINK)
		return -EINVAL;
	const char *copy = vt_arena_strdup(t, target, strlen(target));
	if (!copy)
		return -ENOMEM;
	n->u.link.target = copy;
	return 0;
}
