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

/* Drivers the kernel lets share a group with a vfio-pci device
 * (drivers/vfio/group.c vfio_dev_driver_allowed(): none, pci-stub, pcieport, vfio-pci). */
static bool driver_viable(const char *drv)
{
	return !*drv || strcmp(drv, "vfio-pci") == 0 || strcmp(drv, "pci-stub") == 0 || strcmp(drv, "pcieport") == 0;
}

static int check_group(const struct vk_root *root, const struct qc_option *o, long group, struct vk_report *r,
                       struct vk_error *err)
{
	char path[128], subj[128], ev[256];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	vk__subject(o, subj, sizeof(subj));
	snprintf(path, sizeof(path), "/dev/vfio/%ld", group);
	fd = vk_root_openat(root, path, O_PATH);
	if (fd < 0) {
		snprintf(ev, sizeof(ev), "%s: %s", path, strerror(-fd));
		int ret = vk_report_add(r, "VV105", subj, o->argi, o->line, ev, NULL,
		                        "IOMMU group %ld has no node %s", group, path);
		if (ret < 0)
			return ret;
	} else {
		close(fd);
	}
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
		if (de->d_name[0] == '.' || pci_addr_parse(de->d_name, &a, NULL) < 0)
			continue;
		if (pci_dev_facts_read(root, &a, &f, NULL) < 0)
			continue;
		if (!driver_viable(f.driver)) {
			snprintf(ev, sizeof(ev), "%s driver=%s", f.bdf, f.driver);
			int ret = vk_report_add(r, "VV104", subj, o->argi, o->line, ev, NULL,
			                        "IOMMU group %ld is not viable: %s is bound to %s", group, f.bdf, f.driver);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
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
		} else if (strcmp(f.driver, VFIO_DRIVER_NAME) != 0) {
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
			ret = check_group(root, o, f.iommu_group, r, err);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}
