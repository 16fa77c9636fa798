/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/host_model.h>

#include "tree/owned.h"

/* When a pattern of owned[] applies. */
enum owned_when {
	ALWAYS,    /* whatever the scenario has: its absence is a statement too */
	WITH_CPUS, /* when the scenario has CPUs (else the host's show through) */
};

/*
 * The subtrees the builders make whole, with the builder that makes each; a
 * fnmatch() pattern (FNM_PATHNAME) per subtree.
 */
static const struct {
	const char *pattern;
	enum owned_when when;
} owned[] = {
	/* host_tree.c: the PCI hierarchy, its bus, groups, IOMMUs, VFIO */
	{"sys/bus/pci", ALWAYS},
	{"sys/devices/pci*", ALWAYS},
	{"sys/kernel/iommu_groups", ALWAYS},
	{"sys/class/iommu", ALWAYS},
	{"sys/class/vfio", ALWAYS},
	{"sys/class/vfio-dev", ALWAYS},
	{"sys/class/pci_bus", ALWAYS},
	{"sys/class/misc/vfio", ALWAYS},
	{"sys/class/misc/iommu", ALWAYS},
	{"sys/devices/virtual/iommu", ALWAYS},
	{"sys/devices/virtual/vfio", ALWAYS},
	{"sys/devices/virtual/vfio-dev", ALWAYS},
	{"sys/devices/virtual/misc/vfio", ALWAYS},
	{"sys/devices/virtual/misc/iommu", ALWAYS},
	{"sys/module/vfio", ALWAYS},
	{"sys/module/vfio_*", ALWAYS},
	{"sys/module/iommufd", ALWAYS},
	{"dev/vfio", ALWAYS},
	{"dev/iommu", ALWAYS},
	/* platform_tree.c: the IOMMUs' firmware tables (whether there is one is
	 * the scenario's to say), the CPUs and NUMA nodes when it has them */
	{"sys/firmware/acpi/tables/DMAR", ALWAYS},
	{"sys/firmware/acpi/tables/IVRS", ALWAYS},
	{"sys/devices/system/cpu/cpu[0-9]*", WITH_CPUS},
	{"sys/bus/cpu/devices", WITH_CPUS},
	{"sys/devices/system/node/node[0-9]*", WITH_CPUS},
	{"sys/bus/node/devices", WITH_CPUS},
	/* udev_db.c: the PCI devices' udev entries */
	{"run/udev/data/+pci:*", ALWAYS},
};

/* host_tree.c modules(): the module of every PCI driver a scenario can name
 * (whether it is loaded is the scenario's to say, not the host's). */
static bool driver_module(const char *rel)
{
	if (strncmp(rel, "sys/module/", 11) != 0 || strchr(rel + 11, '/'))
		return false;
	for (size_t i = 0; host_known_drivers[i]; i++) {
		const char *m = vk_host_driver_module(host_known_drivers[i]);
		if (m && !strcmp(m, rel + 11))
			return true;
	}
	return false;
}

bool tree_owns(struct vtree *t, const char *rel)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(owned); i++) {
		if (fnmatch(owned[i].pattern, rel, FNM_PATHNAME) != 0)
			continue;
		if (owned[i].when == ALWAYS || vk_vtree_lookup(t, "sys/devices/system/cpu"))
			return true;
	}
	return driver_module(rel);
}
