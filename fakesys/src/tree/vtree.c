/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vk_cleanup.h"
#include <vfiokit/vtree.h>

#include "tree/vtree_internal.h"

#define ARENA_CHUNK (256 * 1024)

/* @len bytes aligned to @align (a power of two): strings and contents take
 * 1, so that a 3-byte name does not take 16 (a tenth of the tree at 50,000
 * devices was padding). */
static void *arena_alloc_aligned(struct vtree *t, size_t len, size_t align)
{
	struct arena_chunk *c = t->chunks;
	size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;

	if (!c || c->size < at || c->size - at < len) {
		size_t size = len > ARENA_CHUNK ? len : ARENA_CHUNK;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = t->chunks;
		c->used = 0;
		c->size = size;
		t->chunks = c;
		t->arena_bytes += sizeof(*c) + size;
		at = 0;
	}
	void *p = (char *)c->data + at;
	c->used = at + len;
	return p;
}

char *vt_arena_strdup(struct vtree *t, const char *s, size_t len)
{
	char *p = arena_alloc_aligned(t, len + 1, 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* FNV-1a */
static uint32_t str_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/*
 * The strings' index, @cap slots, zeroed.  A large one is mapped on its own:
 * it goes at the seal, and from malloc's heap, below the arena's chunks, its
 * pages stayed with the process (8 MiB at 50,000 devices, once the index was
 * filled to three quarters and so no longer past malloc's mmap threshold).
 */
#define STRS_MAPPED (256 * 1024)

static struct interned *strs_alloc(size_t cap)
{
	size_t len = cap * sizeof(struct interned);

	if (len < STRS_MAPPED)
		return calloc(cap, sizeof(struct interned));
	void *v = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return v == MAP_FAILED ? NULL : v;
}

static void strs_free(struct interned *v, size_t cap)
{
	size_t len = cap * sizeof(struct interned);

	if (len < STRS_MAPPED)
		free(v);
	else if (v)
		munmap(v, len);
}

static int intern_grow(struct vtree *t)
{
	size_t cap = t->cap_strs ? t->cap_strs * 2 : 1024;
	struct interned *v = strs_alloc(cap);

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap_strs; i++) {
		if (!t->strs[i].s)
			continue;
		size_t j = t->strs[i].hash & (cap - 1);
		while (v[j].s)
			j = (j + 1) & (cap - 1);
		v[j] = t->strs[i];
	}
	strs_free(t->strs, t->cap_strs);
	t->strs = v;
	t->cap_strs = cap;
	return 0;
}

static bool interned_is(const struct interned *e, const char *s, size_t len, uint32_t h)
{
	return e->hash == h && e->len == len && !memcmp(e->s, s, len);
}

/* A NUL-terminated copy of the @len bytes at @s (which may hold NULs), shared
 * with every equal one when at most @max bytes; NULL on ENOMEM. */
static char *intern_upto(struct vtree *t, const char *s, size_t len, size_t max)
{
	if (len > max)
		return vt_arena_strdup(t, s, len);
	/* filled up to three quarters: at half, the index of 50,000 devices'
	 * strings took 32 MiB of pages to fault in (with the ones it grew from),
	 * a tenth of the build; probes stay short at this fill */
	if (4 * (t->n_strs + 1) > 3 * t->cap_strs && intern_grow(t) < 0)
		return NULL;
	if (!t->hot && !(t->hot = calloc(HOT_SLOTS, sizeof(*t->hot))))
		return NULL;
	uint32_t h = str_hash(s, len);
	struct interned *hot = &t->hot[h % HOT_SLOTS];
	if (hot->s && interned_is(hot, s, len, h))
		return (char *)hot->s;
	size_t j = h & (t->cap_strs - 1);
	for (; t->strs[j].s; j = (j + 1) & (t->cap_strs - 1))
		if (interned_is(&t->strs[j], s, len, h))
			return (char *)(*hot = t->strs[j]).s;
	char *p = vt_arena_strdup(t, s, len);
	if (p) {
		t->strs[j] = (struct interned){p, (uint32_t)len, h};
		t->n_strs++;
		*hot = t->strs[j];
	}
	return p;
}

static char *intern(struct vtree *t, const char *s, size_t len)
{
	return intern_upto(t, s, len, INTERN_MAX);
}

/* A new node named by @iname, a string of the tree's (interned or in its arena). */
static struct vk_vt_node *node_named(struct vtree *t, const char *iname, uint8_t type, uint32_t mode)
{
	struct vk_vt_node *n;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct vk_vt_node **v = realloc(t->by_ino, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->by_ino = v;
		t->cap = cap;
	}
	n = arena_alloc_aligned(t, sizeof(*n), _Alignof(struct vk_vt_node));
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->name = iname;
	n->type = type;
	n->mode = mode;
	t->by_ino[t->n++] = n;
	n->ino = t->n;
	t->max_ino = t->n;
	return n;
}

struct vk_vt_node *vt_node_new(struct vtree *t, const char *name, size_t namelen, uint8_t type, uint32_t mode)
{
	const char *iname = intern(t, name, namelen);

	return iname ? node_named(t, iname, type, mode) : NULL;
}

struct vtree *vk_vtree_new(void)
{
	struct vtree *t = calloc(1, sizeof(*t));
	struct vk_vt_node *root;

	if (!t)
		return NULL;
	root = vt_node_new(t, "", 0, VK_VT_DIR, 0755);
	if (!root) {
		vk_vtree_free(t);
		return NULL;
	}
	root->parent = root;
	return t;
}

void vk_vtree_free(struct vtree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		struct vk_vt_node *n = t->by_ino[i];
		if (n->type == VK_VT_DIR && n->u.dir.cap)
			free(n->u.dir.kids);
	}
	while (t->chunks) {
		struct arena_chunk *c = t->chunks;
		t->chunks = c->next;
		free(c);
	}
	free(t->by_ino);
	free(t->ino_map);
	strs_free(t->strs, t->cap_strs);
	free(t->hot);
	for (size_t i = 0; i < t->n_owned; i++)
		free(t->owned[i].buf);
	free(t->owned);
	free(t);
}

/* Free the content of @n that lives outside the arena, if any. */
void vt_drop_owned(struct vtree *t, const struct vk_vt_node *n)
{
	for (size_t i = 0; i < t->n_owned; i++) {
		if (t->owned[i].n != n)
			continue;
		free(t->owned[i].buf);
		t->owned[i] = t->owned[--t->n_owned];
		return;
	}
}

int vk_vtree_set_file_owned(struct vtree *t, struct vk_vt_node *n, void *buf, size_t len)
{
	if (n->type != VK_VT_FILE) {
		free(buf);
		return -EINVAL;
	}
	struct owned *v = realloc(t->owned, (t->n_owned + 1) * sizeof(*v));
	if (!v) {
		free(buf);
		return -ENOMEM;
	}
	t->owned = v;
	vt_drop_owned(t, n);
	t->owned[t->n_owned++] = (struct owned){n, buf};
	n->u.file.data = buf;
	n->u.file.len = (uint32_t)len;
	n->u.file.stored = (uint32_t)len;
	n->kern &= (uint8_t)~VK_VT_K_TAIL_MASK;
	return 0;
}

struct vk_vt_node *vk_vtree_root(struct vtree *t)
{
	return t->by_ino[0];
}

static bool name_ok(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len))
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	return true;
}

/* Linear scan: used while building, before the directory is sorted. Building
 * adds a handful of entries per directory except in a few wide ones
 * (devices/, iommu_groups/), whose names are unique by construction, so the
 * scan only runs on small directories in practice (see vtree_attach). */
static struct vk_vt_node *child_scan(const struct vk_vt_node *dir, const char *name, size_t len)
{
	for (uint32_t i = 0; i < dir->u.dir.n; i++) {
		const struct vk_vt_node *k = dir->u.dir.kids[i];
		/* the first byte before the call: a device directory's ~45 names
		 * differ there mostly, and this scan ran for each of them */
		if (k->name[0] == name[0] && strncmp(k->name, name, len) == 0 && k->name[len] == '\0')
			return (struct vk_vt_node *)k;
	}
	return NULL;
}

/* child_scan() of a name the tree stores (@iname, interned when short):
 * until the tree is first sealed every short name went through one index, so
 * it is there only as the same pointer, a compare of pointers, not of
 * strings (this scan is quadratic in a directory's width, ~45 entries a
 * device's).  The index goes at the seal: later names may be new copies. */
static bool child_named(const struct vtree *t, const struct vk_vt_node *dir, const char *iname, size_t len)
{
	if (len > INTERN_MAX || t->sealed)
		return child_scan(dir, iname, len) != NULL;
	for (uint32_t i = 0; i < dir->u.dir.n; i++)
		if (dir->u.dir.kids[i]->name == iname)
			return true;
	return false;
}

/* Directories wider than this are not checked for duplicates entry by entry
 * while building; vk_vtree_seal() finds any duplicate after sorting instead. */
#define SCAN_LIMIT 64

/* Room for one more child of @dir in a malloc'd array: grown by doubling, or
 * made anew from a sealed directory's exact one in the arena (which stays). */
static int kids_reserve(struct vk_vt_node *dir)
{
	uint32_t n = dir->u.dir.n;

	if (n < dir->u.dir.cap)
		return 0;
	uint32_t cap = n ? n * 2 : 8;
	bool in_arena = dir->u.dir.cap == 0 && dir->u.dir.kids;
	struct vk_vt_node **v = realloc(in_arena ? NULL : dir->u.dir.kids, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (in_arena)
		memcpy(v, dir->u.dir.kids, n * sizeof(*v));
	dir->u.dir.kids = v;
	dir->u.dir.cap = cap;
	return 0;
}

int vt_attach(struct vk_vt_node *dir, struct vk_vt_node *n)
{
	if (kids_reserve(dir) < 0)
		return -ENOMEM;
	dir->u.dir.kids[dir->u.dir.n++] = n;
	n->parent = dir;
	return 0;
}

/* A new child of @dir named by @iname (@len bytes), a string the tree stores. */
static struct vk_vt_node *add_named(struct vtree *t, struct vk_vt_node *dir, const char *iname, size_t len,
                                    uint8_t type, uint32_t mode)
{
	struct vk_vt_node *n;

	if (dir->u.dir.n < SCAN_LIMIT && child_named(t, dir, iname, len)) {
		errno = EEXIST;
		return NULL;
	}
	n = node_named(t, iname, type, mode);
	if (!n || vt_attach(dir, n) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return n;
}

static struct vk_vt_node *add_node(struct vtree *t, struct vk_vt_node *dir, const char *name, uint8_t type,
                                   uint32_t mode)
{
	size_t len = strlen(name);

	if (!dir || dir->type != VK_VT_DIR) {
		errno = ENOTDIR;
		return NULL;
	}
	if (!name_ok(name, len)) {
		errno = EINVAL;
		return NULL;
	}
	const char *iname = intern(t, name, len);
	if (!iname) {
		errno = ENOMEM;
		return NULL;
	}
	return add_named(t, dir, iname, len, type, mode);
}

struct vk_vt_node *vk_vtree_add_dir(struct vtree *t, struct vk_vt_node *dir, const char *name, uint32_t mode)
{
	return add_node(t, dir, name, VK_VT_DIR, mode);
}

int vt_file_content(struct vtree *t, struct vk_vt_node *n, const void *data, size_t len, size_t stored,
                    uint8_t tail)
{
	uint8_t *copy;

	if (len > UINT32_MAX)
		return -EFBIG;
	copy = (uint8_t *)intern(t, stored ? data : "", stored);
	if (!copy)
		return -ENOMEM;
	n->u.file.data = copy;
	n->u.file.len = (uint32_t)len;
	n->u.file.stored = (uint32_t)stored;
	n->kern = (uint8_t)((n->kern & ~VK_VT_K_TAIL_MASK) | (tail & VK_VT_K_TAIL_MASK));
	return 0;
}

struct vk_vt_node *vt_add_file(struct vtree *t, struct vk_vt_node *dir, const char *name, const void *data,
                               size_t len, size_t stored, uint8_t tail, uint32_t mode)
{
	struct vk_vt_node *n = add_node(t, dir, name, VK_VT_FILE, mode);
	int r;

	if (!n)
		return NULL;
	if ((r = vt_file_content(t, n, data, len, stored, tail)) < 0) {
		errno = -r;
		return NULL;
	}
	return n;
}

struct vk_vt_node *vk_vtree_add_file(struct vtree *t, struct vk_vt_node *dir, const char *name, const void *data,
                                     size_t len, uint32_t mode)
{
	return vt_add_file(t, dir, name, data, len, len, 0, mode);
}

struct vk_vt_node *vk_vtree_add_file_same(struct vtree *t, struct vk_vt_node *dir, const char *name, const struct vk_vt_node *src,
                                          uint32_t mode)
{
	struct vk_vt_node *n;

	if (!src || src->type != VK_VT_FILE) {
		errno = EINVAL;
		return NULL;
	}
	n = add_node(t, dir, name, VK_VT_FILE, mode);
	if (!n)
		return NULL;
	/* the bytes live in the arena as long as the tree; a later
	 * vk_vtree_set_file() of either file gives it bytes of its own */
	n->u.file.data = src->u.file.data;
	n->u.file.len = src->u.file.len;
	n->u.file.stored = src->u.file.stored;
	n->kern = (uint8_t)(n->kern | (src->kern & VK_VT_K_TAIL_MASK));
	return n;
}

struct vk_vt_node *vk_vtree_add_filef(struct vtree *t, struct vk_vt_node *dir, const char *name, uint32_t mode,
                                      const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return vk_vtree_add_file(t, dir, name, buf, (size_t)len, mode);
}

/* Link @n's target, stored once when short; @n, or NULL (errno). */
static struct vk_vt_node *link_target(struct vtree *t, struct vk_vt_node *n, const char *target)
{
	if (!n)
		return NULL;
	n->u.link.target = intern_upto(t, target, strlen(target), INTERN_LINK_MAX);
	if (!n->u.link.target) {
		errno = ENOMEM;
		return NULL;
	}
	return n;
}

struct vk_vt_node *vk_vtree_add_link(struct vtree *t, struct vk_vt_node *dir, const char *name, const char *target)
{
	return link_target(t, add_node(t, dir, name, VK_VT_LINK, 0777), target);
}

struct vk_vt_node *vk_vtree_add_link_as(struct vtree *t, struct vk_vt_node *dir, const struct vk_vt_node *namesake,
                                        const char *target)
{
	if (!dir || dir->type != VK_VT_DIR) {
		errno = ENOTDIR;
		return NULL;
	}
	if (!namesake || namesake == vk_vtree_root(t)) {
		errno = EINVAL;
		return NULL;
	}
	/* the name is the tree's already: no look-up among its strings (the
	 * whole-host lists name a link after each device, 200,000 look-ups at
	 * 50,000 devices that each missed the caches) */
	return link_target(t, add_named(t, dir, namesake->name, strlen(namesake->name), VK_VT_LINK, 0777), target);
}

int vk_vtree_set_file(struct vtree *t, struct vk_vt_node *n, const void *data, size_t len)
{
	if (n->type != VK_VT_FILE)
		return -EINVAL;
	int r = vt_file_content(t, n, data, len, len, 0);
	if (r == 0 && t->n_owned)
		vt_drop_owned(t, n);
	return r;
}

int vk_vtree_copy_file(struct vtree *t, struct vk_vt_node *n, const struct vk_vt_node *src)
{
	if (n->type != VK_VT_FILE || src->type != VK_VT_FILE)
		return -EINVAL;
	int r = vt_file_content(t, n, src->u.file.data, src->u.file.len, src->u.file.stored,
	                        src->kern & VK_VT_K_TAIL_MASK);
	if (r == 0 && t->n_owned)
		vt_drop_owned(t, n);
	return r;
}

struct vk_vt_node *vk_vtree_mkdir_p(struct vtree *t, const char *path)
{
	return vk_vtree_mkdir_at(t, vk_vtree_root(t), path);
}

struct vk_vt_node *vk_vtree_mkdir_at(struct vtree *t, struct vk_vt_node *dir, const char *path)
{
	struct vk_vt_node *cur = dir;
	const char *p = path;

	if (!dir || dir->type != VK_VT_DIR) {
		errno = ENOTDIR;
		return NULL;
	}

	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if (len) {
			struct vk_vt_node *k = child_scan(cur, p, len);
			if (!k) {
				char name[256];
				if (len >= sizeof(name)) {
					errno = ENAMETOOLONG;
					return NULL;
				}
				memcpy(name, p, len);
				name[len] = '\0';
				k = vk_vtree_add_dir(t, cur, name, 0755);
				if (!k)
					return NULL;
			} else if (k->type != VK_VT_DIR) {
				errno = ENOTDIR;
				return NULL;
			}
			cur = k;
		}
		p = *end ? end + 1 : end;
	}
	return cur;
}

void vk_vtree_chown(struct vk_vt_node *n, uint32_t uid, uint32_t gid)
{
	n->uid = uid;
	n->gid = gid;
}

/* ---- the kernel's order and sizes ---- */

/*
 * fs/kernfs/dir.c kernfs_name_hash() with no namespace tag (init_name_hash(0)),
 * include/linux/stringhash.h partial_name_hash() over each char (unsigned:
 * the kernel builds with -funsigned-char since 6.2), end_name_hash() = hash_long(hash, 32) on a
 * 64-bit kernel (hash_64_generic(): times GOLDEN_RATIO_64, top 32 bits); then
 * 31 bits, with 0, 1 and INT_MAX kept for the directory's "." and ".." and
 * its end.  A namespaced directory (class/net) hashes its tag's address too:
 * that order cannot be known outside the kernel, and is taken without it.
 */
uint32_t vk_vt_kernfs_hash(const char *name)
{
	uint64_t h = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		uint64_t c = *p;
		h = (h + (c << 4) + (c >> 4)) * 11;
	}
	uint32_t r = (uint32_t)((h * 0x61C8864680B583EBull) >> 32) & 0x7fffffffu;
	if (r < 2)
		r += 2;
	if (r >= 0x7fffffffu)
		r = 0x7ffffffe;
	return r;
}

/* kernfs_name_compare(): hash, then name; proc_match(): length, then bytes. */
int vt_order_cmp(unsigned order, const char *a, uint32_t ha, const char *b)
{
	if (order == VK_VT_ORDER_KERNFS) {
		uint32_t hb = vk_vt_kernfs_hash(b);
		if (ha != hb)
			return ha < hb ? -1 : 1;
	} else if (order == VK_VT_ORDER_PROCFS) {
		size_t la = strlen(a), lb = strlen(b);
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	return strcmp(a, b);
}

unsigned vt_dir_order(const struct vk_vt_node *dir)
{
	return dir->kern & VK_VT_K_ORDER_MASK;
}

/* A directory's children with the hash each is sorted by (kernfs keeps it
 * in the node; here it lives while a sort does), and where each was. */
struct keyed {
	struct vk_vt_node *n;
	uint32_t hash, at;
};

static int keyed_cmp(const void *a, const void *b, void *order)
{
	const struct keyed *x = a, *y = b;
	unsigned o = *(const unsigned *)order;

	if (o == VK_VT_ORDER_KERNFS && x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return vt_order_cmp(o == VK_VT_ORDER_KERNFS ? VK_VT_ORDER_NAME : o, x->n->name, 0, y->n->name);
}

/* Sort @dir's children; with @perm (room for all), where each sorted one was. */
static int sort_dir(struct vk_vt_node *dir, uint8_t *perm)
{
	unsigned o = vt_dir_order(dir);
	uint32_t n = dir->u.dir.n;
	struct keyed *k = malloc(n * sizeof(*k));

	if (!k)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct vk_vt_node *kid = dir->u.dir.kids[i];
		k[i] = (struct keyed){kid, o == VK_VT_ORDER_KERNFS ? vk_vt_kernfs_hash(kid->name) : 0, i};
	}
	qsort_r(k, n, sizeof(*k), keyed_cmp, &o);
	int r = 0;
	for (uint32_t i = 0; i < n; i++) {
		dir->u.dir.kids[i] = k[i].n;
		if (perm)
			perm[i] = (uint8_t)k[i].at;
		if (i && strcmp(k[i - 1].n->name, k[i].n->name) == 0)
			r = -EEXIST; /* equal names sort next to each other in every order */
	}
	free(k);
	return r;
}

/*
 * Sorting was a tenth of building 50,000 devices, and most directories are
 * alike: every endpoint's has the same names made in the same order, every
 * power/ the same two.  Names up to INTERN_MAX are stored once (one name, one
 * pointer), so a directory whose children's names are, pointer for pointer
 * in creation order, those of one sorted before sorts into the same order:
 * it is copied, not sorted again.  A longer name is a pointer of its own and
 * never matches: such a directory is sorted.
 */
#define SORT_MEMOS 16
#define SORT_MEMO_MAX 128 /* wider ones are few and seldom alike */

struct sort_memo {
	uint32_t n; /* 0: empty */
	unsigned order;
	const char *names[SORT_MEMO_MAX]; /* in creation order */
	uint8_t perm[SORT_MEMO_MAX];      /* sorted position -> creation index */
};

static struct sort_memo *memo_slot(struct sort_memo *memos, const struct vk_vt_node *dir)
{
	uint32_t n = dir->u.dir.n;
	uintptr_t h = (uintptr_t)dir->u.dir.kids[0]->name ^ (uintptr_t)dir->u.dir.kids[n - 1]->name;

	return &memos[(h / 8 + n) % SORT_MEMOS]; /* names are at least 8 apart: a shift of 3 */
}

static bool memo_fits(const struct sort_memo *mm, const struct vk_vt_node *dir)
{
	if (mm->n != dir->u.dir.n || mm->order != vt_dir_order(dir))
		return false;
	for (uint32_t i = 0; i < mm->n; i++)
		if (mm->names[i] != dir->u.dir.kids[i]->name)
			return false;
	return true;
}

/* sort_dir(), or the order of an alike directory sorted before (@memos). */
static int sort_dir_memo(struct vk_vt_node *dir, struct sort_memo *memos)
{
	uint32_t n = dir->u.dir.n;
	struct vk_vt_node **kids = dir->u.dir.kids;

	if (n > SORT_MEMO_MAX)
		return sort_dir(dir, NULL);
	struct sort_memo *mm = memo_slot(memos, dir);
	if (memo_fits(mm, dir)) {
		struct vk_vt_node *was[SORT_MEMO_MAX];
		memcpy(was, kids, n * sizeof(*kids));
		for (uint32_t i = 0; i < n; i++)
			kids[i] = was[mm->perm[i]];
		return 0;
	}
	for (uint32_t i = 0; i < n; i++)
		mm->names[i] = kids[i]->name;
	int r = sort_dir(dir, mm->perm);
	/* a directory with a name twice is not one to copy from */
	mm->n = r == 0 ? n : 0;
	mm->order = vt_dir_order(dir);
	return r;
}

void vk_vtree_set_kernfs(struct vk_vt_node *dir, enum vk_vt_order order)
{
	if (dir->type != VK_VT_DIR)
		return;
	dir->kern = (uint8_t)((dir->kern & ~VK_VT_K_ORDER_MASK) | (unsigned)order);
	if (order == VK_VT_ORDER_KERNFS)
		dir->kern = (uint8_t)((dir->kern & ~VK_VT_K_SIZE_MASK) | VK_VT_SIZE_ZERO);
	for (uint32_t i = 0; i < dir->u.dir.n; i++) {
		struct vk_vt_node *k = dir->u.dir.kids[i];
		if (k->type == VK_VT_DIR)
			vk_vtree_set_kernfs(k, order);
		else if (order == VK_VT_ORDER_KERNFS && (k->kern & VK_VT_K_SIZE_MASK) == VK_VT_SIZE_CONTENT)
			k->kern |= k->type == VK_VT_LINK ? VK_VT_SIZE_ZERO : VK_VT_SIZE_PAGE;
	}
}

uint64_t vk_vt_node_size(const struct vk_vt_node *n)
{
	uint64_t len = n->type == VK_VT_FILE ? n->u.file.len : n->type == VK_VT_LINK ? strlen(n->u.link.target)
	                                                                             : 0;

	switch (n->kern & VK_VT_K_SIZE_MASK) {
	case VK_VT_SIZE_ZERO:
		return 0;
	case VK_VT_SIZE_PAGE: /* a show() fills at most a page; never claim less than there is */
		return len > 4096 ? len : 4096;
	case VK_VT_SIZE_256:
		return len > 256 ? len : 256;
	case VK_VT_SIZE_4096:
		return len > 4096 ? len : 4096;
	default:
		return n->type == VK_VT_DIR ? 4096 : len;
	}
}

size_t vk_vt_node_unpriv_len(const struct vk_vt_node *n)
{
	size_t len = n->type == VK_VT_FILE ? n->u.file.len : 0;
	size_t max = (n->kern & VK_VT_K_UNPRIV_128) ? 128 : (n->kern & VK_VT_K_UNPRIV_64) ? 64
	                                                                                  : len;

	return len < max ? len : max;
}

/* Move @dir's children into the arena, exactly as many as it has: growing
 * arrays (doubling from 8) left half their room unused, with malloc's headers
 * some 550 bytes a device.  Its cap is 0 from then on; the next vt_attach()
 * copies it out. */
static int kids_to_arena(struct vtree *t, struct vk_vt_node *dir)
{
	uint32_t n = dir->u.dir.n;

	if (!dir->u.dir.cap)
		return 0; /* no array, or already in the arena (sealed twice) */
	struct vk_vt_node **v = NULL;
	if (n) {
		v = arena_alloc_aligned(t, n * sizeof(*v), _Alignof(struct vk_vt_node *));
		if (!v)
			return -ENOMEM;
		memcpy(v, dir->u.dir.kids, n * sizeof(*v));
	}
	free(dir->u.dir.kids);
	dir->u.dir.kids = v;
	dir->u.dir.cap = 0;
	return 0;
}

int vk_vtree_seal(struct vtree *t)
{
	_cleanup_free_ struct sort_memo *memos = calloc(SORT_MEMOS, sizeof(*memos));

	if (!memos)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		struct vk_vt_node *n = t->by_ino[i];
		if (n->type != VK_VT_DIR)
			continue;
		int r = n->u.dir.n < 2 ? 0 : sort_dir_memo(n, memos);
		if (r == 0)
			r = kids_to_arena(t, n);
		if (r < 0)
			return r;
	}
	/* Building is done: the strings' index goes (160 bytes a device at
	 * 50,000, for nothing while serving).  What is added later (grafts)
	 * starts a new one. */
	strs_free(t->strs, t->cap_strs);
	free(t->hot);
	t->strs = t->hot = NULL;
	t->sealed = true;
	t->n_strs = t->cap_strs = 0;
	return 0;
}

struct vk_vt_node *vk_vtree_child(const struct vk_vt_node *dir, const char *name)
{
	size_t lo = 0, hi;

	if (dir->type != VK_VT_DIR)
		return NULL;
	unsigned o = vt_dir_order(dir);
	uint32_t h = o == VK_VT_ORDER_KERNFS ? vk_vt_kernfs_hash(name) : 0;
	hi = dir->u.dir.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = vt_order_cmp(o, name, h, dir->u.dir.kids[mid]->name);
		if (c == 0)
			return dir->u.dir.kids[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct vk_vt_node *vk_vtree_lookup(struct vtree *t, const char *path)
{
	struct vk_vt_node *cur = vk_vtree_root(t);
	char name[256];
	const char *p = path;

	while (cur && *p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if (len >= sizeof(name))
			return NULL;
		if (len) {
			memcpy(name, p, len);
			name[len] = '\0';
			cur = vk_vtree_child(cur, name);
		}
		p = *end ? end + 1 : end;
	}
	return cur;
}

struct vk_vt_node *vk_vtree_by_ino(struct vtree *t, uint64_t ino)
{
	if (ino == 0 || ino > t->max_ino)
		return NULL;
	return t->ino_map ? t->ino_map[ino - 1] : t->by_ino[ino - 1];
}

uint64_t vk_vtree_max_ino(const struct vtree *t)
{
	return t->max_ino;
}

size_t vk_vtree_size(const struct vtree *t)
{
	return t->n;
}

size_t vk_vtree_bytes(const struct vtree *t)
{
	return t->arena_bytes + t->cap * sizeof(*t->by_ino) + t->cap_strs * sizeof(*t->strs) +
	       (t->hot ? HOT_SLOTS * sizeof(*t->hot) : 0) +
	       (t->ino_map ? t->map_cap * sizeof(*t->ino_map) : 0);
}

int vk_vtree_path(const struct vk_vt_node *n, char *buf, size_t len)
{
	size_t pos;
	const struct vk_vt_node *c;

	/* Measure first, then fill from the end: no recursion, no temporary. */
	size_t total = 0;
	for (c = n; c->parent != c; c = c->parent)
		total += strlen(c->name) + (c->parent->parent != c->parent ? 1 : 0);
	if (total + 1 > len)
		return -ENAMETOOLONG;
	buf[total] = '\0';
	pos = total;
	for (c = n; c->parent != c; c = c->parent) {
		size_t l = strlen(c->name);
		pos -= l;
		memcpy(buf + pos, c->name, l);
		if (c->parent->parent != c->parent)
			buf[--pos] = '/';
	}
	return (int)total;
}

int vk_relpath(const char *from_dir, const char *to, char *buf, size_t len)
{
	size_t common = 0, i = 0, out = 0;

	/* Longest common prefix that ends at a component boundary. */
	for (;; i++) {
		bool fend = from_dir[i] == '\0' || from_dir[i] == '/';
		bool tend = to[i] == '\0' || to[i] == '/';
		if (fend && tend) {
			common = i;
			if (from_dir[i] == '\0' || to[i] == '\0')
				break;
			continue;
		}
		if (from_dir[i] != to[i])
			break;
	}
	/* The base must be a strict ancestor of the target, as in the kernel's
	 * kernfs_get_target_path(): a link to an ancestor of its own directory
	 * goes up past it and back down ("../../../0000:01:00.0"). */
	if (to[common] == '\0') {
		while (common > 0 && to[common - 1] != '/')
			common--;
		if (common > 0)
			common--;
	}
	/* One ".." for every component of from_dir past the common prefix. */
	const char *rest = from_dir + common;
	while (*rest == '/')
		rest++;
	while (*rest) {
		if (out + 3 >= len)
			return -ENAMETOOLONG;
		memcpy(buf + out, "../", 3);
		out += 3;
		rest = strchrnul(rest, '/');
		while (*rest == '/')
			rest++;
	}
	const char *tail = to + common;
	while (*tail == '/')
		tail++;
	size_t tl = strlen(tail);
	if (out + tl + 1 > len)
		return -ENAMETOOLONG;
	memcpy(buf + out, tail, tl + 1);
	out += tl;
	if (out > 0 && buf[out - 1] == '/')
		buf[--out] = '\0';
	return 0;
}
