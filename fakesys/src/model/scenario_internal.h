/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the scenario parser (scenario.c) and the model checks (model_check.c). */
#ifndef VFIOKIT_SCENARIO_INTERNAL_H
#define VFIOKIT_SCENARIO_INTERNAL_H

#include <stdbool.h>

#include <vfiokit/fakesys_scenario.h>
#include <vfiokit/host_model.h>

#include "model/model_internal.h"
#include "model/yaml_read.h"

/* Where a device's data came from, kept only while loading. */
struct dev_src {
	const struct ynode *node, *parent_node, *physfn_node, *group_node, *vfio_node_node, *driver_node;
	const struct ynode *net_node;
	struct vk_pci_addr parent_addr, physfn_addr;
	bool has_irq, has_parent, has_physfn, has_vendor, has_device, has_class, has_revision, has_ssvid, has_ssid,
		has_numa, has_vfio_index, has_group, has_config;
};

/* One entry of iommu_groups:, applied once the devices made their groups. */
struct group_spec {
	uint32_t id;
	char *type;                   /* NULL = the default */
	struct vk_dev_node_spec spec; /* /dev/vfio/<id> */
	bool has_id;
	const struct ynode *node;
};

struct loader {
	struct yreader y; /* first, so that loader_of() finds the loader of a reader */
	struct vk_host_model *m;
	struct vk_fakesys_scenario *s;              /* what the file says beside the host: m is s->host */
	const struct vk_scenario_section *sections; /* the caller's sections (expect: of `fakesys test`) */
	size_t n_sections;
	struct dev_src *src; /* parallel to m->devices until sorted */
	const struct ynode *modules_node;
	struct name_set modules; /* the names in m->modules */
	struct group_spec *group_specs;
	size_t n_group_specs;
	bool modules_given;
	const struct ynode *cpu_node; /* cpu:, for the messages of platform.c */
	bool acpi_given;              /* firmware: acpi_tables: */
};

static inline struct loader *loader_of(struct yreader *y)
{
	return (struct loader *)y;
}

/* What a message says a vfio-pci-core driver is. */
#define VFIO_FAMILY "vfio-pci or a vfio-pci variant driver (such as mlx5_vfio_pci)"

/* Check cross-references and fill in defaults (model_check.c). */
int scenario_complete(struct loader *l);

/* Steps of scenario_complete() in groups.c: automatic group numbers and the
 * groups (every pair of members must be able to share), the iommu_groups:
 * entries, automatic vfio-dev numbers. */
int scenario_assign_groups(struct loader *l);
int scenario_apply_group_specs(struct loader *l);
int scenario_assign_vfio_indices(struct loader *l);

/* The last step (platform.c): the CPUs, ACPI tables and network interfaces'
 * defaults and checks. */
int scenario_platform_complete(struct loader *l);

#endif
