/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parts of the tree vk_host_tree_build() leaves to files of their own, built
 * after the PCI devices' sysfs and before the tree is sealed: the CPUs, NUMA
 * nodes, ACPI tables and network interfaces (platform_tree.c), the files of
 * /proc (proc_files.c) and udev's database (udev_db.c).  They read the model
 * and what host_tree.c made (the device directories, their attribute files),
 * so that every view of a device agrees with its sysfs directory.
 */
#ifndef VFIOKIT_TREE_PARTS_H
#define VFIOKIT_TREE_PARTS_H

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vfiokit/host_model.h>
#include <vfiokit/vtree.h>

struct tree_parts {
	struct vtree *t;
	const struct vk_host_model *m;
	char *const *dev_path;              /* each device's sysfs directory, relative to the root */
	struct vk_vt_node *const *dev_node; /* and its node */
	int rc;                             /* the first failure (-errno); every helper is then a no-op */
	char failed_at[PATH_MAX];           /* and what was being made */
};

/* Record the first failure: -@err (or -ENOMEM) at @what. */
static inline void tp_fail(struct tree_parts *p, int err, const char *what)
{
	if (p->rc == 0) {
		p->rc = -(err ? err : ENOMEM);
		snprintf(p->failed_at, sizeof(p->failed_at), "%s", what);
	}
}

/* The child @name of the unsealed directory @dir (a scan: for the small
 * directories of one device), or NULL. */
static inline struct vk_vt_node *tp_kid(const struct vk_vt_node *dir, const char *name)
{
	/* the first byte before the call: this runs for a device's config and
	 * iommu among its ~45 names, which differ there mostly */
	for (uint32_t i = 0; dir && dir->type == VK_VT_DIR && i < dir->u.dir.n; i++)
		if (dir->u.dir.kids[i]->name[0] == name[0] && !strcmp(dir->u.dir.kids[i]->name, name))
			return dir->u.dir.kids[i];
	return NULL;
}

/* The directory @rel below @dir (made with its parents). */
static inline struct vk_vt_node *tp_dir(struct tree_parts *p, struct vk_vt_node *dir, const char *rel)
{
	struct vk_vt_node *n;

	if (p->rc || !dir)
		return NULL;
	n = vk_vtree_mkdir_at(p->t, dir, rel);
	if (!n)
		tp_fail(p, errno, rel);
	return n;
}

static inline struct vk_vt_node *tp_bytes(struct tree_parts *p, struct vk_vt_node *dir, const char *name, uint32_t mode,
                                          const void *data, size_t len)
{
	struct vk_vt_node *n;

	if (p->rc || !dir)
		return NULL;
	n = vk_vtree_add_file(p->t, dir, name, data, len, mode);
	if (!n)
		tp_fail(p, errno, name);
	return n;
}

static inline struct vk_vt_node *tp_file(struct tree_parts *p, struct vk_vt_node *dir, const char *name, uint32_t mode,
                                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline struct vk_vt_node *tp_file(struct tree_parts *p, struct vk_vt_node *dir, const char *name, uint32_t mode,
                                         const char *fmt, ...)
{
	char buf[4096]; /* a sysfs attribute's page */
	va_list ap;
	int len;

	if (p->rc || !dir)
		return NULL;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(buf)) {
		tp_fail(p, ENAMETOOLONG, name);
		return NULL;
	}
	return tp_bytes(p, dir, name, mode, buf, (size_t)len);
}

/* A link named @name in @dir (at root-relative @dir_path) to root-relative
 * @target, relative as sysfs makes them. */
static inline void tp_link(struct tree_parts *p, struct vk_vt_node *dir, const char *dir_path, const char *name,
                           const char *target)
{
	char rel[PATH_MAX];

	if (p->rc || !dir)
		return;
	if (vk_relpath(dir_path, target, rel, sizeof(rel)) < 0) {
		tp_fail(p, ENAMETOOLONG, name);
		return;
	}
	if (!vk_vtree_add_link(p->t, dir, name, rel))
		tp_fail(p, errno, name);
}

/* platform_tree.c */
void tree_cpus(struct tree_parts *p);   /* sys/devices/system/{cpu,node}, sys/bus/{cpu,node}, local_cpus */
void tree_acpi(struct tree_parts *p);   /* sys/firmware/acpi/tables/{DMAR,IVRS} */
void tree_netifs(struct tree_parts *p); /* <device>/net/<if>, sys/class/net/<if> */
/* proc_files.c: proc/cpuinfo, proc/interrupts, proc/bus/pci */
void tree_proc(struct tree_parts *p, struct vk_vt_node *proc);
/* udev_db.c: run/udev/data */
void tree_udev_db(struct tree_parts *p);

/* host_tree.c: a config file's vt_node.kern (its size, what an unprivileged reader gets). */
uint8_t host_config_kern(const struct vk_host_device *d);

/* "0-3", "0,2-5" (the kernel's %*pbl) of CPUs [@first, @first + @n) into @buf. */
static inline void tp_cpulist(char *buf, size_t len, uint32_t first, uint32_t n)
{
	if (n <= 1)
		snprintf(buf, len, "%u", first);
	else
		snprintf(buf, len, "%u-%u", first, first + n - 1);
}

/* The CPUs of NUMA node @node: [*first, *first + *n), the model's CPUs spread
 * over its nodes in contiguous blocks. */
static inline void tp_node_cpus(const struct vk_host_model *m, uint32_t node, uint32_t *first, uint32_t *n)
{
	uint64_t a = (uint64_t)m->cpu_count * node / m->cpu_nodes;
	uint64_t b = (uint64_t)m->cpu_count * (node + 1) / m->cpu_nodes;

	*first = (uint32_t)a;
	*n = (uint32_t)(b - a);
}

#endif
