/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host rules (VV1xx) through the resolver's facts (live-FD rules VV2xx: fds.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include "rules.h"

/* Called for each member of a group bound to a driver that takes the group
 * (!pci_driver_keeps_group_free()). */
typedef int (*group_member_fn)(const struct pci_dev_facts *member, void *arg);

/*
 * Walk /sys/kernel/iommu_groups/<group>/devices and call @fn for every member
 * whose driver keeps the group from userspace.  The one walk behind VV104
 * (legacy) and VV107 (iommufd): both modes fail on the same members, only the
 * kernel's refusal differs.  A group without a devices/ listing, or a member
 * whose facts cannot be read, is not judged.  Returns 0, @fn's negative
 * return, or -errno with @err set.
 */
static int for_each_non_viable_member(const struct vk_root *root, long group, group_member_fn fn, void *arg,
                                      struct vk_error *err)
{
	char path[128];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%ld/devices", group);
	fd = vk_root_openat(root, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return 0; /* group without a devices/ listing: nothing to judge */
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return vk_error_set(err, errno, "%s: %s", path, strerror(errno));
	}
	while ((de = readdir(d))) {
		struct pci_addr a;
		struct pci_dev_facts f;
		int ret;

		if (de->d_name[0] == '.' || pci_addr_parse(de->d_name, &a, NULL) < 0)
			continue;
		if (pci_dev_facts_read(root, &a, &f, NULL) < 0 || pci_driver_keeps_group_free(f.driver))
			continue;
		ret = fn(&f, arg);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* What a finding about one group member needs to name. */
struct group_finding {
	struct vk_report *r;
	const struct qc_option *o;
	const char *subj;
	const char *bdf; /* the device the option names */
	long group;
};

static int add_not_viable(const struct pci_dev_facts *m, void *arg)
{
	const struct group_finding *g = arg;
	char ev[256];

	snprintf(ev, sizeof(ev), "%s driver=%s", m->bdf, m->driver);
	return vk_report_add(g->r, "VV104", g->subj, g->o->argi, g->o->line, ev, NULL,
	                     "IOMMU group %ld is not viable: %s is bound to %s", g->group, m->bdf, m->driver);
}

static int add_kernel_owned(const struct pci_dev_facts *m, void *arg)
{
	const struct group_finding *g = arg;
	char ev[256];

	snprintf(ev, sizeof(ev), "%s driver=%s", m->bdf, m->driver);
	return vk_report_add(g->r, "VV107", g->subj, g->o->argi, g->o->line, ev, NULL,
	                     "IOMMU group %ld is owned by the kernel: %s is bound to %s, so binding %s to iommufd "
	                     "fails with EPERM",
	                     g->group, m->bdf, m->driver, g->bdf);
}

/* Legacy mode: QEMU opens /dev/vfio/<group>, which must exist, and refuses a group that is not viable. */
static int check_group(const struct vk_root *root, const struct qc_option *o, const struct pci_dev_facts *f,
                       struct vk_report *r, struct vk_error *err)
{
	char path[128], subj[128], ev[256];
	struct group_finding g = { .r = r, .o = o, .subj = subj, .bdf = f->bdf, .group = f->iommu_group };
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
	return for_each_non_viable_member(root, f->iommu_group, add_not_viable, &g, err);
}

/*
 * iommufd mode: the cdev opens whatever the group holds, but
 * VFIO_DEVICE_BIND_IOMMUFD -> iommufd_device_bind() -> iommu_device_claim_dma_owner()
 * refuses with EPERM while a member's kernel driver holds the group (owner_cnt
 * taken at its probe).  No /dev/vfio/<group> node is involved.
 */
static int check_group_iommufd(const struct vk_root *root, const struct qc_option *o, const struct pci_dev_facts *f,
                               struct vk_report *r, struct vk_error *err)
{
	char subj[128];
	struct group_finding g = { .r = r, .o = o, .subj = subj, .bdf = f->bdf, .group = f->iommu_group };

	vk__subject(o, subj, sizeof(subj));
	return for_each_non_viable_member(root, f->iommu_group, add_kernel_owned, &g, err);
}

int vk_check_host(const struct qc_cmdline *c, const struct vk_root *root, struct vk_report *r,
                  struct vk_error *err)
{
	for (size_t i = 0; i < c->nopts; i++) {
		const struct qc_option *o = &c->opts[i];
		struct pci_addr a;
		struct pci_dev_facts f;
		char subj[128], ev[640];
		int ret;

		if (!vk__is_vfio_pci(o) || vk__vfio_device_addr(o, &a) < 0)
			continue; /* fd= alone, an mdev: nothing to look up */
		bool iommufd = qc_option_get(o, "iommufd") || qc_option_get(o, "fd");
		vk__subject(o, subj, sizeof(subj));
		ret = pci_dev_facts_read(root, &a, &f, err);
		if (ret < 0)
			return ret;
		if (!f.present) {
			snprintf(ev, sizeof(ev), "%s/sys/bus/pci/devices/%s absent", vk_root_prefix(root), f.bdf);
			ret = vk_report_add(r, "VV101", subj, o->argi, o->line, ev, NULL, "no PCI device %s on this host", f.bdf);
		} else if (!pci_driver_is_vfio_pci(f.driver)) {
			snprintf(ev, sizeof(ev), "driver=%s", f.driver[0] ? f.driver : "(none)");
			ret = vk_report_add(r, "VV102", subj, o->argi, o->line, ev, NULL, "%s is bound to %s, not vfio-pci",
			                    f.bdf, f.driver[0] ? f.driver : "no driver");
		} else if (iommufd && f.cdev_state != VFIO_CDEV_OK) {
			snprintf(ev, sizeof(ev), "%s", f.cdev_problem);
			ret = vk_report_add(r, "VV103", subj, o->argi, o->line, ev, NULL,
			                    "%s has no usable VFIO cdev, which iommufd needs", f.bdf);
		} else if (!iommufd && f.iommu_group < 0) {
			ret = vk_report_add(r, "VV106", subj, o->argi, o->line, "no iommu_group link", NULL,
			                    "%s is in no IOMMU group", f.bdf);
		} else if (!iommufd) {
			ret = check_group(root, o, &f, r, err);
		} else if (f.iommu_group >= 0) {
			ret = check_group_iommufd(root, o, &f, r, err); /* a usable cdev: only the bind is left */
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}
