/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the scenario parser (scenario.c) and the model checks (model_check.c). */
#ifndef VFIOKIT_SCENARIO_INTERNAL_H
#define VFIOKIT_SCENARIO_INTERNAL_H

#include <stdbool.h>
#include <yaml.h>

#include <vfiokit/host_model.h>

/* Where a device's data came from, kept only while loading. */
struct dev_src {
	yaml_node_t *node, *parent_node, *physfn_node, *group_node, *vfio_node_node, *driver_node;
	struct pci_addr parent_addr, physfn_addr;
	bool has_parent, has_physfn, has_vendor, has_device, has_class, has_revision, has_ssvid, has_ssid,
		has_numa, has_vfio_index, has_group, has_config;
};

struct loader {
	const char *file;
	yaml_document_t doc;
	struct vk_error *err;
	struct host_model *m;
	struct dev_src *src;    /* parallel to m->devices until sorted */
	yaml_node_t *modules_node, *groups_node;
	bool modules_given, group_type_given;
};


/* "file:line:col: key: message" into l->err; returns -EINVAL. @n may be NULL (no position). */
int scenario_fail(struct loader *l, const yaml_node_t *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Check cross-references and fill in defaults (model_check.c). */
int scenario_complete(struct loader *l);

bool scenario_driver_known(const struct host_model *m, const char *name);
int scenario_add_driver(struct host_model *m, const char *name);
int scenario_group_key(struct loader *l, const char *key, yaml_node_t *v, void *obj);

#endif
