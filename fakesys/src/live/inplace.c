/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Changing the served tree in place after a kernel-like write (issue #17):
 * instead of building the whole host's tree again (O(devices) per write), the
 * tree of the few devices a write can touch is built twice, before and after
 * the write, from a model of those devices alone (live_submodel()); what
 * differs between the two is what the write changed, and only that is applied
 * to the served tree (live_apply_diff()).
 *
 * Names come and go (grafted from the "after" tree, or taken out), contents,
 * link targets and modes change.  Each change is checked first: the served
 * node must equal the "before" node it replaces (everything below it too, for
 * a name that goes).  The two files that list every device are spliced line
 * by line (proc/bus/pci/devices, proc/interrupts); any other node whose
 * content depends on devices outside the small model fails that check, and
 * the caller then rebuilds the whole tree (control.c), so the result is
 * always what a rebuild gives.  FAKESYS_LIVE_CHECK=1 in the server's
 * environment compares the two after every change made in place
 * (tests/fakesys/test_fuse_live_cache.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
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
 * The addresses of the devices a write to @seed can touch (mark_related()),
 * into *@v (malloc'd): their number, or -1 (out of memory, no such device).
 * A removal's change is the small tree of those that are left.
 */
long live_related(const struct vk_host_model *m, const struct vk_pci_addr *seed, struct vk_pci_addr **v)
{
	const struct vk_host_device *sd = vk_host_model_find(m, seed);
	_cleanup_free_ bool *in = calloc(m->n_devices ? m->n_devices : 1, sizeof(*in));
	long n = 0;

	*v = NULL;
	if (!sd || !in || !(*v = malloc((m->n_devices ? m->n_devices : 1) * sizeof(**v))))
		return -1;
	mark_related(m, in, sd - m->devices);
	for (size_t i = 0; i < m->n_devices; i++)
		if (in[i])
			(*v)[n++] = m->devices[i].addr;
	return n;
}

/*
 * The model of the devices a write to any of @seeds can touch (mark_related()), with
 * everything else of @m shared (not copied: free it with live_submodel_free()
 * before @m changes or goes).  Indices are renumbered.  NULL when out of
 * memory or none of @seeds is a device (no seeds: a host of no device).
 */
struct vk_host_model *live_submodel(const struct vk_host_model *m, const struct vk_pci_addr *seeds, size_t n_seeds)
{
	_cleanup_free_ bool *in = calloc(m->n_devices ? m->n_devices : 1, sizeof(*in));
	_cleanup_free_ long *map = malloc((m->n_devices ? m->n_devices : 1) * sizeof(*map));
	struct vk_host_model *s = NULL;
	bool any = false;

	if (!in || !map)
		return NULL;
	for (size_t k = 0; k < n_seeds; k++) {
		const struct vk_host_device *sd = vk_host_model_find(m, &seeds[k]);
		if (sd)
			mark_related(m, in, sd - m->devices);
		any |= sd != NULL;
	}
	if ((n_seeds && !any) || !(s = calloc(1, sizeof(*s))))
		return NULL;
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
		return vk_vt_file_same(a, b);
	case VK_VT_LINK:
		return !strcmp(a->u.link.target, b->u.link.target);
	default:
		return true;
	}
}

static bool same_tree(const struct vk_vt_node *a, const struct vk_vt_node *b, char *where, size_t len);

/* Why the last change could not be made in place: the path of the node
 * whose check failed (FAKESYS_LIVE_CHECK prints it). */
__thread char live_refused_at[PATH_MAX];

static int refuse(const struct vk_vt_node *dir, const char *name)
{
	int len = vk_vtree_path(dir, live_refused_at, sizeof(live_refused_at));
	if (len >= 0)
		snprintf(live_refused_at + len, sizeof(live_refused_at) - (size_t)len, "/%s", name);
	return -EAGAIN;
}

/* Is the served @z what @x (a "before" node) says, below it too? */
static bool served_as(const struct vk_vt_node *z, const struct vk_vt_node *x)
{
	char where[8];
	return z && same_tree(x, z, where, sizeof(where));
}

/* The line of @s (of @len bytes) that starts at @p: its length, '\n' included. */
static size_t line_len(const uint8_t *s, size_t len, size_t p)
{
	const uint8_t *e = memchr(s + p, '\n', len - p);
	return e ? (size_t)(e - s) - p + 1 : len - p;
}

/* The next line of @hay (@len bytes) at or after the line start @from that
 * starts with @needle (@n bytes).  Line by line: memmem() is slow on these
 * files, whose lines differ little (a proc/bus/pci/devices line is over 256
 * bytes, memmem()'s slow path, and a prefix of it matches at many places). */
static const uint8_t *find_line(const uint8_t *hay, size_t len, size_t from, const uint8_t *needle, size_t n)
{
	for (size_t p = from; p + n <= len; p += line_len(hay, len, p))
		if (hay[p] == needle[0] && !memcmp(hay + p, needle, n))
			return hay + p;
	return NULL;
}

/* Where @needle (@n bytes) starts a line of @hay, when it is there exactly once, else -1. */
static long find_once(const uint8_t *hay, size_t len, const uint8_t *needle, size_t n)
{
	const uint8_t *p = find_line(hay, len, 0, needle, n);

	if (!p || find_line(hay, len, (size_t)(p - hay) + n, needle, n))
		return -1;
	return p - hay;
}

/* A line of a list of devices, and its key: the text up to its first tab
 * (proc/bus/pci/devices: bus and devfn), the whole line when it has none. */
struct kline {
	const uint8_t *s;
	size_t len, keylen;
};

/* The lines of the @len bytes at @s into *@v (malloc'd): their number, or -1
 * when out of memory or when two lines have one key (domains can share a
 * bus and devfn: then where a line goes is not known here). */
static long klines(const uint8_t *s, size_t len, struct kline **v)
{
	size_t n = 0;

	*v = malloc((len / 2 + 1) * sizeof(**v));
	if (!*v)
		return -1;
	for (size_t p = 0; p < len; p += (*v)[n++].len) {
		const uint8_t *tab = memchr(s + p, '\t', line_len(s, len, p));
		(*v)[n] = (struct kline){s + p, line_len(s, len, p), tab ? (size_t)(tab - s) - p + 1 : line_len(s, len, p)};
		for (size_t i = 0; i < n; i++)
			if ((*v)[i].keylen == (*v)[n].keylen && !memcmp((*v)[i].s, (*v)[n].s, (*v)[n].keylen)) {
				free(*v);
				*v = NULL;
				return -1;
			}
	}
	return (long)n;
}

static const struct kline *kline_find(const struct kline *v, long n, const struct kline *k)
{
	for (long i = 0; i < n; i++)
		if (v[i].keylen == k->keylen && !memcmp(v[i].s, k->s, k->keylen))
			return &v[i];
	return NULL;
}

/* In @buf (*@len bytes of @cap), the line at @at of @old bytes becomes the
 * @new_len bytes at @with (none: taken out). */
static bool buf_splice(uint8_t *buf, size_t *len, size_t cap, size_t at, size_t old, const uint8_t *with,
                       size_t new_len)
{
	if (*len - old + new_len > cap)
		return false;
	memmove(buf + at + new_len, buf + at + old, *len - at - old);
	if (new_len) /* memcpy()'s source may not be NULL, even for no bytes */
		memcpy(buf + at, with, new_len);
	*len = *len - old + new_len;
	return true;
}

/*
 * A file listing every device, a line each (proc/bus/pci/devices): the small
 * trees have only their devices' lines, the served file every device's.
 * Lines are matched by key (struct kline).  A line of @x (before) that @y
 * (after) changed or took out (a device removed, VFs gone) must be in @z
 * (served) exactly once, and is replaced or taken out there.  A line @y puts
 * in is refused: between it and its neighbours in @y the whole host may list
 * devices the small trees do not have.  The new content into *@out
 * (malloc'd), its length returned; -1 otherwise.
 */
static long splice_lines(const struct vk_vt_node *x, const struct vk_vt_node *y, const struct vk_vt_node *z,
                         uint8_t **out)
{
	size_t len = z->u.file.len, cap = z->u.file.len + y->u.file.len + 1;
	_cleanup_free_ struct kline *vx = NULL, *vy = NULL;
	uint8_t *buf = NULL;

	/* the lines are read from the stored bytes: not those of a file with a tail */
	if (x->u.file.stored < x->u.file.len || y->u.file.stored < y->u.file.len || z->u.file.stored < len)
		return -1;
	long nx = klines(x->u.file.data, x->u.file.len, &vx), ny = klines(y->u.file.data, y->u.file.len, &vy);
	if (nx < 0 || ny < 0 || !(buf = malloc(cap)))
		return -1;
	memcpy(buf, z->u.file.data, len);
	for (long i = 0; i < nx; i++) { /* changed or gone */
		const struct kline *b = kline_find(vy, ny, &vx[i]);
		if (b && b->len == vx[i].len && !memcmp(b->s, vx[i].s, b->len))
			continue;
		long at = find_once(buf, len, vx[i].s, vx[i].len);
		if (at < 0 || !buf_splice(buf, &len, cap, (size_t)at, vx[i].len, b ? b->s : NULL, b ? b->len : 0))
			goto no;
	}
	for (long i = 0; i < ny; i++) /* come: where it goes is not known here */
		if (!kline_find(vx, nx, &vy[i]))
			goto no;
	*out = buf;
	return (long)len;
no:
	free(buf);
	return -1;
}

/* ---- proc/interrupts: one line per bound device, numbered in order ---- */

struct irq_line {
	const char *bdf;  /* after "PCI-MSI-": 12 characters */
	const char *rest; /* after the number's ':' */
	size_t len;       /* of @rest, '\n' included */
};

#define IRQ_TAG "PCI-MSI-"
#define BDF_LEN 12 /* DDDD:BB:SS.F */

/* Where "PCI-MSI-" is in the line @line of @l bytes, or NULL (memmem() costs
 * more to set up than this loop takes on a line of proc/interrupts). */
static const char *irq_tag(const char *line, size_t l)
{
	const size_t n = sizeof(IRQ_TAG) - 1;

	for (const char *p = line; (p = memchr(p, 'P', l - (size_t)(p - line))) && (size_t)(p - line) + n <= l; p++)
		if (!memcmp(p, IRQ_TAG, n))
			return p;
	return NULL;
}

/* "%3lu:" of @v into @out (room for 22 bytes): its length.  By hand: it is
 * written once per line of the file, and snprintf() was most of a bind. */
static size_t irq_number(char *out, unsigned long v)
{
	char d[20];
	size_t n = 0, w = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	for (; n + w < 3; w++)
		out[w] = ' ';
	while (n)
		out[w++] = d[--n];
	out[w++] = ':';
	return w;
}

/* The device lines of proc/interrupts content @s; the lines before the first
 * in *@head.  NULL when out of memory or not that file's shape. */
static struct irq_line *irq_lines(const uint8_t *s, size_t len, size_t *n, size_t *head, unsigned long *first)
{
	struct irq_line *v = malloc((len / 16 + 1) * sizeof(*v));
	size_t k = 0;

	*head = len;
	*first = 0;
	for (size_t p = 0; v && p < len;) {
		size_t l = line_len(s, len, p);
		const char *line = (const char *)s + p, *tag = irq_tag(line, l);
		const char *colon = memchr(line, ':', l);
		if (tag && colon && (size_t)(tag - line) + strlen(IRQ_TAG) + BDF_LEN <= l) {
			if (!k) {
				*head = p;
				*first = strtoul(line, NULL, 10);
			}
			v[k++] = (struct irq_line){tag + strlen(IRQ_TAG), colon + 1, l - (size_t)(colon + 1 - line)};
		} else if (k) {
			free(v);
			return NULL; /* something after the device lines */
		}
		p += l;
	}
	*n = k;
	return v;
}

static const struct irq_line *irq_find(const struct irq_line *v, size_t n, const char *bdf)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(v[i].bdf, bdf, BDF_LEN))
			return &v[i];
	return NULL;
}

static bool irq_same(const struct irq_line *a, const struct irq_line *b)
{
	return a->len == b->len && !memcmp(a->rest, b->rest, a->len);
}

/*
 * proc/interrupts (fakesys/src/tree/proc_files.c interrupts()): after the
 * header, a line per device with a driver, in address order, numbered one
 * after the other.  A bind or unbind adds or takes away a line and numbers
 * the lines after it again.  From @x and @y (before, after: their devices'
 * lines alone), the served @z becomes: the lines @x has and @y has not
 * taken out, the lines @y has and @x has not put in their place, changed
 * lines replaced, every line numbered again.  Each line taken out or
 * replaced must be served as @x has it.  Into *@out (malloc'd), its length
 * returned; -1 otherwise.
 */
static long splice_interrupts(const struct vk_vt_node *x, const struct vk_vt_node *y, const struct vk_vt_node *z,
                              uint8_t **out)
{
	size_t nx, ny, nz, hx, hy, hz;
	unsigned long fx, fy, fz;
	_cleanup_free_ struct irq_line *vx = irq_lines(x->u.file.data, x->u.file.len, &nx, &hx, &fx);
	_cleanup_free_ struct irq_line *vy = irq_lines(y->u.file.data, y->u.file.len, &ny, &hy, &fy);
	_cleanup_free_ struct irq_line *vz = irq_lines(z->u.file.data, z->u.file.len, &nz, &hz, &fz);

	/* the same header (CPUs, the timer) in all three */
	if (!vx || !vy || !vz || hx != hy || hx != hz || memcmp(x->u.file.data, z->u.file.data, hx) ||
	    memcmp(x->u.file.data, y->u.file.data, hx))
		return -1;
	for (size_t i = 0; i < nx; i++) { /* what goes or changes is served as before */
		const struct irq_line *b = irq_find(vy, ny, vx[i].bdf), *s = irq_find(vz, nz, vx[i].bdf);
		if ((!b || !irq_same(b, &vx[i])) && (!s || !irq_same(s, &vx[i])))
			return -1;
	}
	for (size_t i = 0; i < ny; i++) /* what comes is not served yet */
		if (!irq_find(vx, nx, vy[i].bdf) && irq_find(vz, nz, vy[i].bdf))
			return -1;
	unsigned long irq = nz ? fz : nx ? fx
	                                 : fy;
	size_t cap = z->u.file.len + y->u.file.len + (nz + ny) * 24 + 1, len = hz;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -1;
	memcpy(buf, z->u.file.data, hz);
	size_t iz = 0, iy = 0;
	for (;;) {
		/* the next line in address order: a served one (unless it went or
		 * changed) or one that came */
		const struct irq_line *s = iz < nz ? &vz[iz] : NULL, *c = NULL;
		while (iy < ny && irq_find(vx, nx, vy[iy].bdf) && irq_same(irq_find(vx, nx, vy[iy].bdf), &vy[iy]))
			iy++; /* unchanged: served already */
		if (iy < ny)
			c = &vy[iy];
		if (!s && !c)
			break;
		const struct irq_line *take;
		if (s && (!c || memcmp(s->bdf, c->bdf, BDF_LEN) < 0)) {
			take = s;
			iz++;
			if (irq_find(vx, nx, s->bdf)) {
				const struct irq_line *b = irq_find(vy, ny, s->bdf);
				if (!b || !irq_same(b, irq_find(vx, nx, s->bdf)))
					continue; /* went, or changed: its new self comes from @y */
			}
		} else {
			take = c;
			iy++;
			if (s && !memcmp(s->bdf, c->bdf, BDF_LEN))
				iz++; /* the served line it replaces */
		}
		if (22 + take->len >= cap - len) {
			free(buf);
			return -1;
		}
		len += irq_number((char *)buf + len, irq++);
		memcpy(buf + len, take->rest, take->len);
		len += take->len;
	}
	*out = buf;
	return (long)len;
}

/*
 * Walk @a (before) and @b (after), the same directory of the two small trees,
 * and @l, the served one.  Every name that went away must be served as @a has
 * it (and everything below it); every name that came must not be served yet;
 * every node that changed must be served as @a has it.  With @apply set, the
 * served tree becomes what @b says and the kernel's copies are noted for
 * invalidation in @iv (entries for names, inodes for contents and listings).
 * 0, or -EAGAIN when a check fails (nothing is applied while checking).
 */
struct diff {
	struct vtree *t; /* the served tree */
	bool apply;
	struct invals *iv;
	size_t garbage; /* bytes of the arena the change leaves unused */
};

/* What taking @n out of the tree leaves in its arena (about). */
static size_t node_bytes(const struct vk_vt_node *n)
{
	size_t b = sizeof(*n) + sizeof(n) + strlen(n->name) + 1;

	if (n->type == VK_VT_FILE)
		b += n->u.file.len;
	else if (n->type == VK_VT_LINK)
		b += strlen(n->u.link.target) + 1;
	for (uint32_t i = 0; n->type == VK_VT_DIR && i < n->u.dir.n; i++)
		b += node_bytes(n->u.dir.kids[i]);
	return b;
}

static int diff_dir(struct diff *d, const struct vk_vt_node *a, const struct vk_vt_node *b, struct vk_vt_node *l)
{
	struct vtree *t = d->t;
	bool apply = d->apply;
	struct invals *iv = d->iv;

	bool listing = false;

	for (uint32_t i = 0; i < a->u.dir.n; i++) { /* gone, or changed */
		const struct vk_vt_node *x = a->u.dir.kids[i], *y = vk_vtree_child(b, x->name);
		struct vk_vt_node *z = vk_vtree_child(l, x->name);
		if (!y || y->type != x->type) {
			if (!served_as(z, x))
				return refuse(l, x->name); /* served differently: it depends on more than these devices */
			if (apply) {
				srv_on_change(iv, VK_VT_REMOVED, l->ino, z->name, z->ino);
				d->garbage += node_bytes(z);
				vk_vtree_unlink(t, z);
			}
			listing = true;
			continue;
		}
		bool attrs = same_attrs(x, y), content = same_content(x, y);
		char where[8];
		/* nothing changed below: no need to look at the served tree (whose
		 * wide directories cost a search per name) */
		if (attrs && content && (x->type != VK_VT_DIR || same_tree(x, y, where, sizeof(where))))
			continue;
		_cleanup_free_ uint8_t *spliced = NULL;
		long n = -1;
		bool irqs = !strcmp(x->name, "interrupts") && !strcmp(l->name, "proc") && l->parent->parent == l->parent;
		if (z && x->type == VK_VT_FILE && attrs && !content && same_attrs(x, z) &&
		    (irqs ? (n = splice_interrupts(x, y, z, &spliced)) < 0
		          : !same_content(x, z) && (n = splice_lines(x, y, z, &spliced)) < 0))
			return refuse(l, x->name);
		if (!z || !same_attrs(x, z) || (n < 0 && !same_content(x, z)))
			return refuse(l, x->name);
		if (x->type == VK_VT_DIR) {
			int r = diff_dir(d, x, y, z);
			if (r < 0)
				return r;
			if (attrs)
				continue;
		}
		if (!apply)
			continue;
		int r = 0;
		/* a whole host's list: outside the arena, freed when it changes again */
		if (n >= 0)
			r = vk_vtree_set_file_owned(t, z, TAKE_PTR(spliced), (size_t)n);
		else if (!content && x->type == VK_VT_FILE)
			r = vk_vtree_copy_file(t, z, y), d->garbage += z->u.file.stored;
		else if (!content)
			r = vk_vtree_set_link(t, z, y->u.link.target), d->garbage += strlen(x->u.link.target) + 1;
		if (r < 0)
			return r;
		z->mode = y->mode;
		z->uid = y->uid;
		z->gid = y->gid;
		z->kern = y->kern;
		srv_on_change(iv, VK_VT_CHANGED, l->ino, z->name, z->ino);
	}
	for (uint32_t i = 0; i < b->u.dir.n; i++) { /* new */
		const struct vk_vt_node *y = b->u.dir.kids[i], *x = vk_vtree_child(a, y->name);
		if (x && x->type == y->type)
			continue;
		/* a name @a has with another type was checked (and taken out) above */
		if (!x && vk_vtree_child(l, y->name))
			return refuse(l, y->name);
		listing = true;
		if (!apply)
			continue;
		struct vk_vt_node *g = vk_vtree_graft(t, l, y);
		if (!g)
			return -ENOMEM;
		srv_on_change(iv, VK_VT_ADDED, l->ino, g->name, g->ino);
	}
	if (listing && apply)
		srv_on_change(iv, VK_VT_CHANGED, l->parent->ino, l->name, l->ino);
	return 0;
}

int live_apply_diff(struct vtree *live, struct vtree *before, struct vtree *after, bool apply, struct invals *iv,
                    size_t *garbage)
{
	const struct vk_vt_node *a = vk_vtree_root(before), *b = vk_vtree_root(after);
	struct diff d = {.t = live, .apply = apply, .iv = iv};

	live_refused_at[0] = '\0';
	if (!same_attrs(a, b))
		return refuse(vk_vtree_root(live), "");
	int r = diff_dir(&d, a, b, vk_vtree_root(live));
	if (garbage)
		*garbage += d.garbage;
	return r;
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
