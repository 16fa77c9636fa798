/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_VTREE_H
#define VFIOKIT_VTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The in-memory file tree that fakesys serves: directories, regular files with
 * their bytes, and symlinks.  It is built once from a host model, then served
 * read-only (FUSE) or written out (materialize), so both ways show the same
 * content.  All nodes and strings live in one arena: building 10,000 devices is
 * a few hundred thousand bump allocations and freeing is one call.
 *
 * Inode numbers are dense (1 = root, as FUSE_ROOT_ID), so the FUSE server maps
 * an inode to its node with one array index.  A tree rebuilt after a change
 * takes the numbers of the old one (vk_vtree_inherit_inos()), which leaves holes.
 */
enum vk_vt_type { VK_VT_DIR,
	          VK_VT_FILE,
	          VK_VT_LINK };

struct vk_vt_node {
	const char *name;          /* "" for the root */
	struct vk_vt_node *parent; /* the root is its own parent */
	/* 32 bits, and the mode's 16, make a node 48 bytes, not 56 (2.3 million
	 * nodes at 50,000 devices); an inode is an index of vk_vtree_by_ino()'s
	 * map, which could not hold 2^32 entries anyway. */
	uint32_t ino;
	uint16_t mode;     /* permission bits only; the type is in @type */
	uint8_t type : 2;  /* enum vk_vt_type */
	uint8_t store : 6; /* what a write does: the tree's builder names it (host_tree.h's
	                    * enum vk_host_store); 0 = nothing beyond the mode */
	uint8_t kern;      /* how the kernel's filesystem shows it: VT_K_* bits below */
	uint32_t uid, gid;
	union {
		struct {
			struct vk_vt_node **kids; /* sorted by name after vk_vtree_seal() */
			uint32_t n;
			uint32_t cap; /* of a malloc'd @kids; 0: none, or @n exactly in the tree's
			               * arena (vk_vtree_seal() puts them there) */
		} dir;
		struct {
			const uint8_t *data; /* @stored bytes; the rest of @len is a tail (kern) */
			uint32_t len;        /* the content's length */
			uint32_t stored;     /* <= @len: read with vk_vt_file_read() */
		} file;
		struct {
			const char *target;
		} link;
	} u;
};

/*
 * vt_node.kern: what a served tree reports as the kernel's filesystem would.
 * Bits 0-1, a directory: the order of its listing (and of u.dir.kids once
 * sealed).  Bits 2-4, any node: its st_size.  Bits 5-6, a file: how much of
 * it a reader without CAP_SYS_ADMIN may read (PCI config space).  Bit 7, a
 * file: what its bytes past u.file.stored read as (the kernel shows them;
 * the tree does not store them).
 */
enum vk_vt_order {
	VK_VT_ORDER_NAME = 0,   /* by name (strcmp): a plain directory */
	VK_VT_ORDER_KERNFS = 1, /* fs/kernfs/dir.c: by (kernfs_name_hash(), name), as sysfs lists */
	VK_VT_ORDER_PROCFS = 2, /* fs/proc/generic.c proc_match(): by (length, name) */
};
#define VK_VT_K_ORDER_MASK 0x03u
enum vk_vt_size {
	VK_VT_SIZE_CONTENT = 0 << 2, /* the length of the content (of the target for a link) */
	VK_VT_SIZE_ZERO = 1 << 2,    /* 0: a kernfs directory or link (kernfs_init_inode() sets none) */
	VK_VT_SIZE_PAGE = 2 << 2,    /* 4096: a sysfs attribute (sysfs_add_file_mode_ns(): PAGE_SIZE) */
	VK_VT_SIZE_256 = 3 << 2,     /* a binary attribute of 256 bytes (config space, cfg_size) */
	VK_VT_SIZE_4096 = 4 << 2,    /* a binary attribute of 4096 bytes (extended config space) */
};
#define VK_VT_K_SIZE_MASK 0x1cu
#define VK_VT_K_UNPRIV_64 0x20u  /* a reader without CAP_SYS_ADMIN reads the first 64 bytes */
#define VK_VT_K_UNPRIV_128 0x40u /* ... the first 128 (a CardBus bridge's config) */
#define VK_VT_K_UNPRIV_MASK 0x60u
/* The tail: set, the last stored line over and over (vk_vtree_add_file_line_tail());
 * clear, zeros (vk_vtree_add_file_zero_tail()). */
#define VK_VT_K_LINE_TAIL 0x80u
#define VK_VT_K_TAIL_MASK 0x80u

/* The st_size of @n as the kernel would report it (@n->kern's size bits). */
uint64_t vk_vt_node_size(const struct vk_vt_node *n);

/* How many bytes of file @n a reader without CAP_SYS_ADMIN reads: its length,
 * or less for PCI config space (drivers/pci/pci-sysfs.c pci_read_config()). */
size_t vk_vt_node_unpriv_len(const struct vk_vt_node *n);

/* The hash kernfs orders a directory's children by (fs/kernfs/dir.c
 * kernfs_name_hash() of a name without a namespace tag). */
uint32_t vk_vt_kernfs_hash(const char *name);

struct vtree;

/* A new tree holding only its root directory (mode 0755); NULL on ENOMEM. */
struct vtree *vk_vtree_new(void);
void vk_vtree_free(struct vtree *t);

struct vk_vt_node *vk_vtree_root(struct vtree *t);

/**
 * vk_vtree_mkdir_p() - the directory at @path (relative, '/'-separated), made with
 * its missing parents (mode 0755).  Returns NULL with errno ENOTDIR when a
 * component exists as a file or link, ENOMEM when out of memory.
 */
struct vk_vt_node *vk_vtree_mkdir_p(struct vtree *t, const char *path);

/* As vk_vtree_mkdir_p(), relative to directory @dir.  Each component already
 * present is found by a scan of its directory: start from the deepest known
 * directory, since scanning a wide one for every entry would be quadratic. */
struct vk_vt_node *vk_vtree_mkdir_at(struct vtree *t, struct vk_vt_node *dir, const char *path);

/**
 * vk_vtree_add_dir/file/link() - add one entry to directory @dir.  The name and
 * content are copied into the tree.  Return the new node, or NULL with errno
 * EEXIST (name taken), EINVAL (name empty or with '/', ".", ".."), ENOMEM.
 */
struct vk_vt_node *vk_vtree_add_dir(struct vtree *t, struct vk_vt_node *dir, const char *name, uint32_t mode);
struct vk_vt_node *vk_vtree_add_file(struct vtree *t, struct vk_vt_node *dir, const char *name,
                                     const void *data, size_t len, uint32_t mode);
struct vk_vt_node *vk_vtree_add_filef(struct vtree *t, struct vk_vt_node *dir, const char *name, uint32_t mode,
                                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
struct vk_vt_node *vk_vtree_add_link(struct vtree *t, struct vk_vt_node *dir, const char *name, const char *target);
/*
 * vk_vtree_add_link_as() - a link named as @namesake, a node of @t (not the
 * root) made before, is named: its name is not looked up again.  For lists
 * of links named after other nodes (sys/bus/pci/devices after each device's
 * directory).  NULL with errno as vk_vtree_add_link(), EINVAL without a
 * @namesake.
 */
struct vk_vt_node *vk_vtree_add_link_as(struct vtree *t, struct vk_vt_node *dir, const struct vk_vt_node *namesake,
                                        const char *target);

/*
 * As vk_vtree_add_file(), for content that mostly ends in zeros (a PCIe
 * device's 4096 bytes of config space: the extended capabilities end a few
 * hundred bytes in).  Only the bytes up to the last non-zero one (at least the
 * first 256) are kept; the rest of @len reads as zeros.  Read such a file with
 * vk_vt_file_read(): u.file.data holds u.file.stored bytes, not u.file.len.
 */
struct vk_vt_node *vk_vtree_add_file_zero_tail(struct vtree *t, struct vk_vt_node *dir, const char *name,
                                               const void *data, size_t len, uint32_t mode);

/*
 * As vk_vtree_add_file(), for lines whose last ones are the same (a PCI
 * device's `resource`: 13 or 17 lines, mostly ending in all-zero ones).  The
 * bytes up to the end of the first of those last lines are kept; the rest of
 * @len reads as that line again and again (VK_VT_K_LINE_TAIL).  Content that
 * does not end in two equal lines is kept whole.  Read it with
 * vk_vt_file_read().
 */
struct vk_vt_node *vk_vtree_add_file_line_tail(struct vtree *t, struct vk_vt_node *dir, const char *name,
                                               const void *data, size_t len, uint32_t mode);

/* Up to @len bytes of file @n from @off into @buf, its tail past the stored
 * ones; returns how many (0 at or past the end). */
size_t vk_vt_file_read(const struct vk_vt_node *n, uint64_t off, void *buf, size_t len);

/* Whether files @a and @b read the same, however much of each is stored. */
bool vk_vt_file_same(const struct vk_vt_node *a, const struct vk_vt_node *b);

/* A file @name in @dir with the content of the file @src of the same tree,
 * not copied (proc/bus/pci's config files are the sysfs config's bytes).
 * NULL with errno EINVAL when @src is not a file, else as vk_vtree_add_file(). */
struct vk_vt_node *vk_vtree_add_file_same(struct vtree *t, struct vk_vt_node *dir, const char *name, const struct vk_vt_node *src,
                                          uint32_t mode);

/* Replace the content of file @n with a copy of @data (the old bytes stay in
 * the arena until the tree is freed).  Returns 0, -EINVAL (not a file), -ENOMEM. */
int vk_vtree_set_file(struct vtree *t, struct vk_vt_node *n, const void *data, size_t len);

/* Replace the content of file @n with that of file @src (of any tree), its
 * stored bytes and tail as they are.  Returns 0, -EINVAL, -ENOMEM. */
int vk_vtree_copy_file(struct vtree *t, struct vk_vt_node *n, const struct vk_vt_node *src);

/* Set owner of @n (defaults are 0:0). */
void vk_vtree_chown(struct vk_vt_node *n, uint32_t uid, uint32_t gid);

/**
 * vk_vtree_set_kernfs() - mark the subtree at @dir as the kernel's filesystem of
 * that kind shows it: each directory's listing in @order; with VK_VT_ORDER_KERNFS
 * (sysfs) also st_size 0 for directories and links and 4096 for every file
 * not already given a size (an attribute: a binary one was marked when made).
 * Call before vk_vtree_seal().
 */
void vk_vtree_set_kernfs(struct vk_vt_node *dir, enum vk_vt_order order);

/* Sort every directory (in its order, vt_node.kern) so that lookups are binary
 * searches, store its children exactly in the arena and drop the index of the
 * strings stored once; call once after building (vk_vtree_graft() still adds
 * to a directory later, its strings shared among themselves only).  Returns 0,
 * -ENOMEM, or -EEXIST when a directory holds a name twice (a bug of the
 * builder: wide directories are not checked entry by entry). */
int vk_vtree_seal(struct vtree *t);

/* The child @name of @dir, or NULL.  Needs a sealed tree. */
struct vk_vt_node *vk_vtree_child(const struct vk_vt_node *dir, const char *name);

/* The node at relative @path (no symlinks followed), or NULL.  Needs a sealed tree. */
struct vk_vt_node *vk_vtree_lookup(struct vtree *t, const char *path);

/* The node with inode @ino, or NULL. */
struct vk_vt_node *vk_vtree_by_ino(struct vtree *t, uint64_t ino);

/* The highest inode number in use: vk_vtree_size() until vk_vtree_inherit_inos()
 * left holes (arrays indexed by inode need this many entries). */
uint64_t vk_vtree_max_ino(const struct vtree *t);

enum vk_vt_change {
	VK_VT_ADDED,   /* @name appeared in directory @parent_ino (new inode @ino) */
	VK_VT_REMOVED, /* @name went away from @parent_ino (its old inode was @ino) */
	VK_VT_CHANGED, /* the node @ino (@name in @parent_ino) has other content, mode, owner or entries */
};
typedef void (*vk_vt_change_fn)(void *ctx, enum vk_vt_change what, uint64_t parent_ino, const char *name, uint64_t ino);

/**
 * vk_vtree_inherit_inos() - renumber the sealed tree @t so that every path that
 * also exists in the sealed tree @old, with the same type, keeps its inode
 * number; other nodes get numbers above any @old used, so a number is never
 * reused for another file.  @fn (may be NULL) hears of each difference, for
 * invalidating caches; a removed directory is reported once, not its entries.
 * Afterwards vk_vtree_by_ino() may find holes (NULL).  Returns 0 or -ENOMEM.
 */
int vk_vtree_inherit_inos(struct vtree *t, const struct vtree *old, vk_vt_change_fn fn, void *ctx);

/* Number of nodes, the root included. */
size_t vk_vtree_size(const struct vtree *t);

/* Bytes the tree's arena holds (for benchmarks). */
size_t vk_vtree_bytes(const struct vtree *t);

/*
 * Changing a sealed tree in place (the live mode's writes, fakesys/src/live/
 * inplace.c).  Inode numbers stay those of the nodes that stay; new nodes get
 * numbers never used before.  What is taken out stays in the tree's arena
 * until the tree is freed (vk_vtree_bytes() counts it).
 *
 * vk_vtree_graft() - a copy of @src (and everything below it, from any
 * sealed tree) as a child of directory @dir, in @dir's order.  Returns the
 * copy, or NULL with errno (EEXIST: @dir has a child of that name; ENOMEM).
 */
struct vk_vt_node *vk_vtree_graft(struct vtree *t, struct vk_vt_node *dir, const struct vk_vt_node *src);
/* Take @n (not the root) and everything below it out of the tree. */
void vk_vtree_unlink(struct vtree *t, struct vk_vt_node *n);
/* Give file @n the content @buf (malloc'd; the tree frees it when the
 * content is replaced or the tree freed, and at once on failure): a large
 * content changed often leaves nothing behind in the arena.  0, -EINVAL (not
 * a file) or -ENOMEM. */
int vk_vtree_set_file_owned(struct vtree *t, struct vk_vt_node *n, void *buf, size_t len);
/* Point link @n at @target.  0, -EINVAL (not a link) or -ENOMEM. */
int vk_vtree_set_link(struct vtree *t, struct vk_vt_node *n, const char *target);

/* Write the path of @n relative to the root into @buf ("" for the root).
 * Returns the length, or -ENAMETOOLONG when it does not fit. */
int vk_vtree_path(const struct vk_vt_node *n, char *buf, size_t len);

/**
 * vk_relpath() - the relative link target leading from directory @from_dir to
 * @to (both relative to the same root, without "." or ".." components), as the
 * kernel writes sysfs links: "sys/bus/pci/devices" -> "sys/devices/pci0000:00/X"
 * gives "../../../devices/pci0000:00/X".  Returns 0 or -ENAMETOOLONG.
 */
int vk_relpath(const char *from_dir, const char *to, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
