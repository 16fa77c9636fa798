/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host rules (VV1xx) through the resolver's facts (live-FD rules VV2xx: fds.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include "rules.h"

/* A member of an IOMMU group bound to a driver that takes the group
 * (!vk_pci_driver_keeps_group_free()). */
struct member {
	char bdf[VK_PCI_ADDR_STRLEN];
	char driver[64];
};

/* The members of one group that keep it from userspace. */
struct group_members {
	long group; /* -1: a free slot of the cache */
	struct member *m;
	size_t n;
};

/*
 * Every group walked so far, by group number (open addressing): a command
 * line naming many devices of one big group walks it once, not once per
 * device (100,000 members read 100,000 times each was a hang).
 */
struct group_cache {
	struct group_members *slot;
	size_t cap, used;
};

static void group_cache_free(struct group_cache *gc)
{
	for (size_t i = 0; i < gc->cap; i++)
		free(gc->slot[i].m);
	free(gc->slot);
}

static size_t group_hash(long group, size_t cap)
{
	return (size_t)(((uint64_t)group * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

/* The slot of @group: its entry, or the free slot where it goes (after growing the table). */
static struct group_members *group_slot(struct group_cache *gc, long group)
{
	if (2 * (gc->used + 1) > gc->cap) {
		size_t nc = gc->cap ? gc->cap * 2 : 64;
		struct group_members *ns = malloc(nc * sizeof(*ns));
		if (!ns)
			return NULL;
		for (size_t i = 0; i < nc; i++)
			ns[i] = (struct group_members){.group = -1};
		for (size_t i = 0; i < gc->cap; i++) {
			size_t h = group_hash(gc->slot[i].group, nc);
			if (gc->slot[i].group < 0)
				continue;
			while (ns[h].group >= 0)
				h = (h + 1) & (nc - 1);
			ns[h] = gc->slot[i];
		}
		free(gc->slot);
		gc->slot = ns;
		gc->cap = nc;
	}
	size_t h = group_hash(group, gc->cap);
	while (gc->slot[h].group >= 0 && gc->slot[h].group != group)
		h = (h + 1) & (gc->cap - 1);
	return &gc->slot[h];
}

/*
 * The members of @group whose driver keeps the group from userspace, from
 * /sys/kernel/iommu_groups/<group>/devices, read once per group.  The one
 * walk behind VV104 (legacy) and VV107 (iommufd): both modes fail on the same
 * members, only the kernel's refusal differs.  A group without a devices/
 * listing, or a member whose facts cannot be read, is not judged.  Returns
 * the entry, or NULL with -errno in *ret.
 */
static const struct group_members *group_members(const struct vk_root *root, struct group_cache *gc, long group,
                                                 int *ret, struct vk_error *err)
{
	char path[128];
	_cleanup_closedir_ DIR *d = NULL;
	struct group_members *g = group_slot(gc, group);
	struct dirent *de;
	size_t cap = 0;
	int fd;

	*ret = -ENOMEM;
	if (!g) {
		vk_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (g->group == group)
		return g;
	*g = (struct group_members){.group = group};
	gc->used++;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%ld/devices", group);
	fd = vk_root_openat(root, path, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	if (fd < 0)
		return g; /* group without a devices/ listing: nothing to judge */
	d = fdopendir(fd);
	if (!d) {
		*ret = vk_error_set(err, errno, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	while ((de = readdir(d))) {
		struct vk_pci_addr a;
		struct vk_pci_dev_facts f;

		if (de->d_name[0] == '.' || vk_pci_addr_parse(de->d_name, &a, NULL) < 0)
			continue;
		if (vk_pci_dev_facts_read(root, &a, &f, NULL) < 0 || vk_pci_driver_keeps_group_free(f.driver))
			continue;
		if (g->n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct member *nm = realloc(g->m, nc * sizeof(*nm));
			if (!nm) {
				vk_error_set(err, ENOMEM, "out of memory");
				return NULL;
			}
			g->m = nm;
			cap = nc;
		}
		snprintf(g->m[g->n].bdf, sizeof(g->m[g->n].bdf), "%s", f.bdf);
		snprintf(g->m[g->n].driver, sizeof(g->m[g->n].driver), "%s", f.driver);
		g->n++;
	}
	return g;
}

/* Members named one finding each; the rest of a bigger group in one more. */
#define GROUP_MEMBERS_SHOWN 16

/* What a finding about the members of a group needs to name. */
struct group_finding {
	struct vk_report *r;
	const struct vk_qc_option *o;
	const char *subj;
	const char *bdf; /* the device the option names */
	long group;
	bool iommufd; /* VV107, else VV104 */
};

static int add_member(const struct group_finding *g, const struct member *m)
{
	char ev[256];

	snprintf(ev, sizeof(ev), "%s driver=%s", m->bdf, m->driver);
	if (g->iommufd)
		return vk_report_add(g->r, "VV107", g->subj, g->o->argi, g->o->line, ev, NULL,
		                     "IOMMU group %ld is owned by the kernel: %s is bound to %s, so binding %s to iommufd "
		                     "fails with EPERM",
		                     g->group, m->bdf, m->driver, g->bdf);
	return vk_report_add(g->r, "VV104", g->subj, g->o->argi, g->o->line, ev, NULL,
	                     "IOMMU group %ld is not viable: %s is bound to %s", g->group, m->bdf, m->driver);
}

static int add_members_more(const struct group_finding *g, size_t more)
{
	char ev[256];

	snprintf(ev, sizeof(ev), "/sys/kernel/iommu_groups/%ld/devices: %zu more", g->group, more);
	if (g->iommufd)
		return vk_report_add(g->r, "VV107", g->subj, g->o->argi, g->o->line, ev, NULL,
		                     "IOMMU group %ld is owned by the kernel: %zu more members are bound to kernel drivers "
		                     "(not listed one by one)",
		                     g->group, more);
	return vk_report_add(g->r, "VV104", g->subj, g->o->argi, g->o->line, ev, NULL,
	                     "IOMMU group %ld is not viable: %zu more members are bound to kernel drivers (not listed "
	                     "one by one)",
	                     g->group, more);
}

/* VV104/VV107 for the members of @f's group that keep it from userspace. */
static int check_members(const struct vk_root *root, struct group_cache *gc, const struct group_finding *g,
                         struct vk_error *err)
{
	int ret;
	const struct group_members *gm = group_members(root, gc, g->group, &ret, err);

	if (!gm)
		return ret;
	for (size_t i = 0; i < gm->n && i < GROUP_MEMBERS_SHOWN; i++)
		if ((ret = add_member(g, &gm->m[i])) < 0)
			return ret;
	if (gm->n > GROUP_MEMBERS_SHOWN && (ret = add_members_more(g, gm->n - GROUP_MEMBERS_SHOWN)) < 0)
		return ret;
	return 0;
}

/* Legacy mode: QEMU opens /dev/vfio/<group>, which must exist, and refuses a group that is not viable. */
static int check_group(const struct vk_root *root, struct group_cache *gc, const struct vk_qc_option *o,
                       const struct vk_pci_dev_facts *f, struct vk_report *r, struct vk_error *err)
{
	char path[128], subj[128], ev[256];
	struct group_finding g = {.r = r, .o = o, .subj = subj, .bdf = f->bdf, .group = f->iommu_group};
	int fd;

	vk__subject(o, subj, sizeof(subj));
	snprintf(path, sizeof(path), "/dev/vfio/%ld", f->iommu_group);
	fd = vk_root_openat(root, path, O_PATH);
	if (fd < 0) {
		snprintf(ev, sizeof(ev), "%s: %s", path, strerror(-fd));
		int ret = vk_report_add(r, "VV105", subj, o->argi, o->line, ev, NULL,
		                        "IOMMU group %ld has no node %s", f->iommu_group, path);
		if (ret < 0)
			return ret;
	} else {
		close(fd);
	}
	return check_members(root, gc, &g, err);
}

/*
 * iommufd mode: the cdev opens whatever the group holds, but
 * VFIO_DEVICE_BIND_IOMMUFD -> iommufd_device_bind() -> iommu_device_claim_dma_owner()
 * refuses with EPERM while a member's kernel driver holds the group (owner_cnt
 * taken at its probe).  No /dev/vfio/<group> node is involved.
 */
static int check_group_iommufd(const struct vk_root *root, struct group_cache *gc, const struct vk_qc_option *o,
                               const struct vk_pci_dev_facts *f, struct vk_report *r, struct vk_error *err)
{
	char subj[128];
	struct group_finding g = {.r = r, .o = o, .subj = subj, .bdf = f->bdf, .group = f->iommu_group, .iommufd = true};

	vk__subject(o, subj, sizeof(subj));
	return check_members(root, gc, &g, err);
}

int vk_check_host(const struct vk_qc_cmdline *c, const struct vk_root *root, struct vk_report *r,
                  struct vk_error *err)
{
	struct group_cache gc = {0};
	int ret = 0;

	for (size_t i = 0; i < c->nopts && ret >= 0; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		struct vk_pci_addr a;
		struct vk_pci_dev_facts f;
		char subj[128], ev[640];

		if (!vk__is_vfio_pci(o) || vk__vfio_device_addr(o, &a) < 0)
			continue; /* fd= alone, an mdev: nothing to look up */
		bool iommufd = vk_qc_option_get(o, "iommufd") || vk_qc_option_get(o, "fd");
		vk__subject(o, subj, sizeof(subj));
		ret = vk_pci_dev_facts_read(root, &a, &f, err);
		if (ret < 0)
			break;
		if (!f.present) {
			snprintf(ev, sizeof(ev), "%s/sys/bus/pci/devices/%s absent", vk_root_prefix(root), f.bdf);
			ret = vk_report_add(r, "VV101", subj, o->argi, o->line, ev, NULL, "no PCI device %s on this host", f.bdf);
		} else if (!vk_pci_driver_is_vfio_pci(f.driver)) {
			snprintf(ev, sizeof(ev), "driver=%s", f.driver[0] ? f.driver : "(none)");
			ret = vk_report_add(r, "VV102", subj, o->argi, o->line, ev, NULL, "%s is bound to %s, not vfio-pci",
			                    f.bdf, f.driver[0] ? f.driver : "no driver");
		} else if (iommufd && f.cdev_state != VK_VFIO_CDEV_OK) {
			snprintf(ev, sizeof(ev), "%s", f.cdev_problem);
			ret = vk_report_add(r, "VV103", subj, o->argi, o->line, ev, NULL,
			                    "%s has no usable VFIO cdev, which iommufd needs", f.bdf);
		} else if (!iommufd && f.iommu_group < 0) {
			ret = vk_report_add(r, "VV106", subj, o->argi, o->line, "no iommu_group link", NULL,
			                    "%s is in no IOMMU group", f.bdf);
		} else if (!iommufd) {
			ret = check_group(root, &gc, o, &f, r, err);
		} else if (f.iommu_group >= 0) {
			ret = check_group_iommufd(root, &gc, o, &f, r, err); /* a usable cdev: only the bind is left */
		}
	}
	group_cache_free(&gc);
	return ret < 0 ? ret : 0;
}
