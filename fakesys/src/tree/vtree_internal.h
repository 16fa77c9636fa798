/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the files of the vtree share: its storage (vtree.c: the arena, the
 * strings stored once, nodes and directories) and what changes a tree after it
 * was built (vtree_change.c: inode numbers carried over from an older tree,
 * subtrees grafted and unlinked in place), and what a file reads (vtree_file.c:
 * its stored bytes and the tail that is not stored).  Never installed.
 */
#ifndef VFIOKIT_VTREE_INTERNAL_H
#define VFIOKIT_VTREE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/vtree.h>

/* Bump arena: chunks are never freed one by one; the tree dies as a whole. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

/* A file's content the tree frees itself (vk_vtree_set_file_owned()). */
struct owned {
	const struct vk_vt_node *n;
	void *buf;
};

struct vtree {
	struct arena_chunk *chunks;
	size_t arena_bytes;
	struct vk_vt_node **by_ino; /* every node in creation order; index = ino - 1 until renumbered */
	size_t n, cap;
	struct vk_vt_node **ino_map; /* after vk_vtree_inherit_inos(): index = ino - 1, NULL = a hole */
	uint64_t max_ino;            /* highest inode number in use */
	size_t map_cap;              /* entries of ino_map (vk_vtree_graft() grows it) */
	struct owned *owned;         /* contents outside the arena (vk_vtree_set_file_owned()) */
	size_t n_owned;
	struct interned *strs;   /* short strings stored once (intern()); open addressing */
	size_t n_strs, cap_strs; /* cap: a power of two, or 0 */
	struct interned *hot;    /* the strings last found, by hash (HOT_SLOTS), before strs */
	bool sealed;             /* once: names made before are not in strs (see child_named()) */
};

/*
 * Short strings are stored once per tree: of a device directory's ~45 names
 * all but its own address are the same in every device ("vendor", "config"),
 * and so is most of what its small attributes hold ("0x8086\n", "0\n").  At
 * 50,000 devices that is a sixth of the tree.  Longer ones are seldom shared
 * and are copied as they come, but for link targets up to INTERN_LINK_MAX:
 * a device's subsystem, driver, iommu_group and iommu links lead to the same
 * place from every device at its depth ("../../../bus/pci"), while those
 * that name a device are mostly longer (some 200 bytes a device at 50,000).
 * The index goes when the tree is sealed.
 */
#define INTERN_MAX 24
#define INTERN_LINK_MAX 64

struct interned {
	const char *s; /* NUL-terminated copy in the arena; NULL = a free slot */
	uint32_t len, hash;
};

/*
 * A small direct-mapped cache in front of the index: at 50,000 devices the
 * index holds some 10 MiB, and nearly every look-up of it missed the CPU's
 * caches (an eighth of the build), while most look-ups are of the few dozen
 * strings every device repeats ("vendor", "0\n").  Those stay in the cache.
 */
#define HOT_SLOTS 512

/* A new node of @type named @name (@namelen bytes), numbered by creation order. */
struct vk_vt_node *vt_node_new(struct vtree *t, const char *name, size_t namelen, uint8_t type, uint32_t mode);
/* Append @n to the directory @dir's children; 0 or -ENOMEM. */
int vt_attach(struct vk_vt_node *dir, struct vk_vt_node *n);
/* The order of @dir's listing (enum vk_vt_order) and the comparison of two names in it. */
unsigned vt_dir_order(const struct vk_vt_node *dir);
int vt_order_cmp(unsigned order, const char *a, uint32_t ha, const char *b);
/* A copy of @len bytes of @s in the tree's arena, NUL-terminated. */
char *vt_arena_strdup(struct vtree *t, const char *s, size_t len);
/* Set file @n's content: @len bytes of which the first @stored are @data, the
 * rest its @tail (VK_VT_K_LINE_TAIL, or 0: zeros). */
int vt_file_content(struct vtree *t, struct vk_vt_node *n, const void *data, size_t len, size_t stored,
                    uint8_t tail);
/* A new file @name in @dir with that content (errno on failure, NULL). */
struct vk_vt_node *vt_add_file(struct vtree *t, struct vk_vt_node *dir, const char *name, const void *data,
                               size_t len, size_t stored, uint8_t tail, uint32_t mode);
/* Free @n's content when the tree holds it outside the arena. */
void vt_drop_owned(struct vtree *t, const struct vk_vt_node *n);

#endif
