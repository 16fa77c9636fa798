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
	bool has_irq, has_parent, has_physfn, has_vendor, has_device, has_class, has_revision, has_ssvid, has_ssid,
		has_numa, has_vfio_index, has_group, has_config;
};

/* One entry of iommu_groups:, applied once the devices made their groups. */
struct group_spec {
	uint32_t id;
	char *type;                /* NULL = the default */
	struct dev_node_spec spec; /* /dev/vfio/<id> */
	bool has_id;
	yaml_node_t *node;
};

struct loader {
	const char *file;
	yaml_document_t doc;
	struct vk_error *err;
	struct host_model *m;
	struct dev_src *src;    /* parallel to m->devices until sorted */
	yaml_node_t *modules_node;
	struct group_spec *group_specs;
	size_t n_group_specs;
	bool modules_given;
};


/* "file:line:col: key: message" into l->err; returns -EINVAL. @n may be NULL (no position). */
int scenario_fail(struct loader *l, const yaml_node_t *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Check cross-references and fill in defaults (model_check.c). */
int scenario_complete(struct loader *l);

/* The scenario parser's own readers, for the parsers of other files (faults.c). */
typedef int (*scenario_key_fn)(struct loader *l, const char *key, yaml_node_t *val, void *obj);
int scenario_walk_map(struct loader *l, yaml_node_t *map, const char *what, const char *known, scenario_key_fn fn,
                      void *obj);
int scenario_want_string(struct loader *l, yaml_node_t *n, const char *key, const char **out);
/* A string value, strdup'ed into *@out (the old value freed). */
int scenario_dup_string(struct loader *l, yaml_node_t *n, const char *key, char **out);
int scenario_want_uint(struct loader *l, yaml_node_t *n, const char *key, uint64_t min, uint64_t max, uint64_t *out);

/* The faults: list (faults.c) into l->m->faults. */
int scenario_parse_faults(struct loader *l, yaml_node_t *v);
/* The steps: list (faults.c) into l->m->steps. */
int scenario_parse_steps(struct loader *l, yaml_node_t *v);
/* The expect: block (expect.c) into l->m->expect. */
int scenario_parse_expect(struct loader *l, yaml_node_t *v);

bool scenario_driver_known(const struct host_model *m, const char *name);
int scenario_add_driver(struct host_model *m, const char *name);

#endif
