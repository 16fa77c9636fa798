/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The served tree's bookkeeping (see serve/server.h for how the server's files
 * divide the work): a tree with its link counts (struct snap), grown when a
 * write changes the tree in place, and what the live mode notes by inode:
 * the nodes that changed since the mount and the files opened through the
 * page cache (struct fs.changed, fs.paged; fuse_ops.c op_open()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "serve/server.h"

/* ---- trees ---------------------------------------------------------------- */

void srv_snap_free(struct snap *s)
{
	if (s->owned)
		vk_vtree_free(s->t);
	free(s->nlink);
	memset(s, 0, sizeof(*s));
}

int srv_snap_make(struct snap *s, struct vtree *t, bool owned)
{
	uint64_t max = vk_vtree_max_ino(t);

	memset(s, 0, sizeof(*s));
	s->nlink = malloc((max ? max : 1) * sizeof(*s->nlink));
	if (!s->nlink)
		return -ENOMEM;
	for (uint64_t i = 0; i < max; i++) {
		struct vk_vt_node *n = vk_vtree_by_ino(t, i + 1);
		s->nlink[i] = n && n->type == VK_VT_DIR ? 2 : 1;
	}
	for (uint64_t i = 0; i < max; i++) {
		struct vk_vt_node *n = vk_vtree_by_ino(t, i + 1);
		if (n && n->type == VK_VT_DIR && n->parent != n)
			s->nlink[n->parent->ino - 1]++;
	}
	s->t = t;
	s->owned = owned;
	s->cap = max ? max : 1;
	return 0;
}

static uint32_t dir_nlink(const struct vk_vt_node *n)
{
	uint32_t k = 2;

	for (uint32_t i = 0; i < n->u.dir.n; i++)
		k += n->u.dir.kids[i]->type == VK_VT_DIR;
	return k;
}

int srv_snap_reserve(struct snap *s, uint64_t max)
{
	if (max <= s->cap)
		return 0;
	max += max / 16; /* room for the next changes too: not a copy per write */
	uint32_t *v = realloc(s->nlink, max * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->nlink = v;
	s->cap = max;
	return 0;
}

void srv_snap_refresh(struct snap *s, uint64_t old_max, const struct invals *iv)
{
	uint64_t max = vk_vtree_max_ino(s->t);

	for (uint64_t ino = old_max + 1; ino <= max && ino <= s->cap; ino++) {
		const struct vk_vt_node *n = vk_vtree_by_ino(s->t, ino);
		s->nlink[ino - 1] = n && n->type == VK_VT_DIR ? dir_nlink(n) : 1;
	}
	for (size_t i = 0; i < iv->n; i++) {
		const struct vk_vt_node *n = iv->v[i].name ? NULL : vk_vtree_by_ino(s->t, iv->v[i].ino);
		if (n && n->type == VK_VT_DIR && n->ino <= s->cap)
			s->nlink[n->ino - 1] = dir_nlink(n);
	}
}

bool srv_node_changed(struct fs *fs, uint64_t ino)
{
	return fs->live_nocache || (ino / 8 < fs->changed_bytes && (fs->changed[ino / 8] & (1u << (ino % 8))));
}

int srv_paged_reserve(struct fs *fs, uint64_t max_ino)
{
	if (max_ino / 8 < fs->paged_bytes)
		return 0;
	size_t bytes = (size_t)(max_ino / 8 + 1) * 2;
	uint8_t *v = realloc(fs->paged, bytes);
	if (!v)
		return -ENOMEM;
	memset(v + fs->paged_bytes, 0, bytes - fs->paged_bytes);
	fs->paged = v;
	fs->paged_bytes = bytes;
	return 0;
}

bool srv_node_paged(struct fs *fs, uint64_t ino)
{
	return ino / 8 < fs->paged_bytes &&
	       (__atomic_load_n(&fs->paged[ino / 8], __ATOMIC_RELAXED) & (1u << (ino % 8)));
}

/* Note an open of @ino through the page cache; false when there is no room
 * (the open then goes around the cache). */
bool srv_node_set_paged(struct fs *fs, uint64_t ino)
{
	if (ino / 8 >= fs->paged_bytes)
		return false;
	__atomic_fetch_or(&fs->paged[ino / 8], (uint8_t)(1u << (ino % 8)), __ATOMIC_RELAXED);
	return true;
}

int srv_mark_changed(struct fs *fs, const struct invals *iv)
{
	for (size_t i = 0; i < iv->n; i++) {
		uint64_t ino = iv->v[i].ino;
		if (iv->v[i].name)
			continue; /* an entry: its directory is noted as changed too */
		if (ino / 8 >= fs->changed_bytes) {
			size_t bytes = (size_t)(ino / 8 + 1) * 2;
			uint8_t *v = realloc(fs->changed, bytes);
			if (!v)
				return -ENOMEM;
			memset(v + fs->changed_bytes, 0, bytes - fs->changed_bytes);
			fs->changed = v;
			fs->changed_bytes = bytes;
		}
		fs->changed[ino / 8] |= (uint8_t)(1u << (ino % 8));
	}
	return 0;
}

/* ---- what the served tree and the kernel need of the server ------------- */

/* Does any file of @t read differently by reader (PCI config space)? */
bool srv_tree_per_reader(struct vtree *t)
{
	for (uint64_t i = 1; i <= vk_vtree_max_ino(t); i++) {
		const struct vk_vt_node *n = vk_vtree_by_ino(t, i);
		if (n && n->type == VK_VT_FILE && vk_vt_node_unpriv_len(n) < n->u.file.len)
			return true;
	}
	return false;
}

/* Before 6.14 the kernel cut a page-cached FUSE symlink's target at i_size
 * (page_get_link()'s nd_terminate_link(); "fuse: don't truncate cached,
 * mutated symlink" made it page_get_link_raw()). */
bool srv_kernel_keeps_cached_link_targets(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	return uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	       (major > 6 || (major == 6 && minor >= 14));
}

/*
 * With kernel opens a write fills the page cache with the bytes written
 * (the kernel's content may differ: "\n" reads back as "(null)\n"), and the
 * page stays locked until the reply, so the server's invalidation of it
 * comes later.  The write leaves the size and mtime stale, the next read
 * asks for them, and an mtime other than the cached one drops the pages
 * there and then (fs/fuse/inode.c fuse_change_attributes(),
 * FUSE_CAP_AUTO_INVAL_DATA): a node that changed since the mount carries the
 * number of changes made so far in its mtime.
 */
void srv_changed_mtime(struct fs *fs, uint64_t ino, struct timespec *mtime)
{
	if (!srv_node_changed(fs, ino))
		return;
	mtime->tv_sec += (time_t)(fs->gen / 1000000000u);
	mtime->tv_nsec += (long)(fs->gen % 1000000000u);
	if (mtime->tv_nsec >= 1000000000L) {
		mtime->tv_sec++;
		mtime->tv_nsec -= 1000000000L;
	}
}
