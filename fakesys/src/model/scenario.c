/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scenario format v1 -> host model: the top-level parser and the sections of
 * the host (kernel, devices, iommu_groups, cpu, dev).  The YAML is read by the
 * toolkit of yaml_read.c (bounded, every node with its line and column, so each
 * error names file:line:column and the key); faults: and steps: have
 * parsers of their own (sections.h), expect: is the conformance runner's
 * (handed in as a struct vk_scenario_section).  Parsing fills the model with what the
 * file says; scenario_complete() (model_check.c) then checks cross-references
 * and fills the defaults, in that order, so that a default is never computed
 * from a value that is about to be rejected.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/fakesys_scenario.h>
#include <vfiokit/host_model.h>

#include "model/pci_caps.h"
#include "model/scenario_internal.h"
#include "model/sections.h"

#define CONFIG_MIN 64
#define CONFIG_MAX 4096

/* ---------- dev node specs ---------- */

static int node_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct vk_dev_node_spec *s = obj;

	if (!strcmp(key, "owner"))
		return yr_owner(y, v, key, false, &s->uid);
	if (!strcmp(key, "group"))
		return yr_owner(y, v, key, true, &s->gid);
	if (!strcmp(key, "mode"))
		return yr_mode(y, v, key, &s->mode);
	if (!strcmp(key, "present"))
		return yr_bool(y, v, key, &s->present);
	return 1;
}

static int parse_node_spec(struct yreader *y, const struct ynode *v, const char *what, struct vk_dev_node_spec *s)
{
	return yr_walk_map(y, v, what, "owner, group, mode, present", node_key, s);
}

/* ---------- kernel ---------- */

static int parse_module(struct yreader *y, const struct ynode *n, struct vk_kmodule *mod);

static int module_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct vk_kmodule *mod = obj;

	if (!strcmp(key, "name"))
		return yr_name(y, v, key, &mod->name);
	if (!strcmp(key, "builtin"))
		return yr_bool(y, v, key, &mod->builtin);
	if (!strcmp(key, "parameters")) {
		_cleanup_(name_set_free) struct name_set seen = {0};
		int r = yr_want_kind(y, v, key, YN_MAP);
		if (r < 0)
			return r;
		mod->param_names = calloc(v->n + 1, sizeof(char *));
		mod->param_values = calloc(v->n + 1, sizeof(char *));
		if (!mod->param_names || !mod->param_values)
			return yr_oom(y);
		for (size_t i = 0; i < v->n; i++) {
			const struct ynode *pk = yr_key(v, i), *pv = yr_val(v, i);
			r = yr_name(y, pk, "parameters", &mod->param_names[mod->n_params]);
			if (r < 0)
				return r;
			/* counted before the checks below, so that freeing the model frees it */
			const char *name = mod->param_names[mod->n_params++];
			r = name_set_add(&seen, name);
			if (r < 0)
				return yr_oom(y);
			if (r == 0)
				return yr_fail(y, pk, "parameters", "'%s' given twice", name);
			r = yr_dup_string(y, pv, name, &mod->param_values[mod->n_params - 1]);
			if (r < 0)
				return r;
		}
		return 0;
	}
	return 1;
}

static int parse_module(struct yreader *y, const struct ynode *n, struct vk_kmodule *mod)
{
	if (n->kind == YN_SCALAR)
		return yr_name(y, n, "modules", &mod->name);
	int r = yr_walk_map(y, n, "module", "name, builtin, parameters", module_key, mod);
	if (r == 0 && !mod->name)
		return yr_fail(y, n, "modules", "a module entry needs name:");
	return r;
}

static int parse_modules(struct yreader *y, const struct ynode *v)
{
	struct loader *l = loader_of(y);
	struct vk_host_model *m = l->m;
	int r = yr_want_kind(y, v, "modules", YN_SEQ);

	if (r < 0)
		return r;
	m->modules = calloc(v->n ? v->n : 1, sizeof(*m->modules));
	if (!m->modules)
		return yr_oom(y);
	for (size_t i = 0; i < v->n; i++) {
		struct vk_kmodule *mod = &m->modules[m->n_modules++];
		r = parse_module(y, yr_item(v, i), mod);
		if (r < 0)
			return r;
		r = name_set_add(&l->modules, mod->name);
		if (r < 0)
			return yr_oom(y);
		if (r == 0)
			return yr_fail(y, yr_item(v, i), "modules", "module '%s' is listed twice", mod->name);
	}
	l->modules_given = true;
	l->modules_node = v;
	return 0;
}

static int parse_drivers(struct yreader *y, const struct ynode *v)
{
	struct vk_host_model *m = loader_of(y)->m;
	int r = yr_want_kind(y, v, "drivers", YN_SEQ);

	if (r < 0)
		return r;
	/* appended as given, then sorted once: a repeat is dropped, not an error */
	char **more = realloc(m->drivers, (m->n_drivers + v->n + 1) * sizeof(*more));
	if (!more)
		return yr_oom(y);
	m->drivers = more;
	for (size_t i = 0; i < v->n; i++) {
		m->drivers[m->n_drivers] = NULL;
		r = yr_name(y, yr_item(v, i), "drivers", &m->drivers[m->n_drivers]);
		if (r < 0)
			break;
		m->n_drivers++;
	}
	model_sort_drivers(m);
	return r;
}

static const struct {
	const char *name;
	enum vk_iommu_vendor v;
} iommu_names[] = {
	{"none", VK_IOMMU_NONE},
	{"intel", VK_IOMMU_INTEL},
	{"amd", VK_IOMMU_AMD},
	{"arm-smmu-v3", VK_IOMMU_ARM_SMMU},
	{"virtio", VK_IOMMU_VIRTIO},
};

const char *vk_iommu_vendor_name(enum vk_iommu_vendor v)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(iommu_names); i++)
		if (iommu_names[i].v == v)
			return iommu_names[i].name;
	return "none";
}

static int want_group_type(struct yreader *y, const struct ynode *v, const char *key, char **out)
{
	static const char *const types[] = {"DMA", "DMA-FQ", "identity", "blocked", "unmanaged", NULL};
	const char *s = NULL;
	int r = yr_string(y, v, key, &s);

	if (r < 0)
		return r;
	for (int i = 0; types[i]; i++)
		if (!strcmp(types[i], s))
			return yr_dup_string(y, v, key, out);
	return yr_fail(y, v, key, "'%s' is not a group type (expected DMA, DMA-FQ, identity, blocked or unmanaged)", s);
}

static int kernel_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct vk_host_model *m = loader_of(y)->m;
	uint64_t u;
	int r;

	if (!strcmp(key, "release"))
		return yr_dup_string(y, v, key, &m->kernel_release);
	if (!strcmp(key, "cmdline"))
		return yr_dup_string(y, v, key, &m->cmdline);
	if (!strcmp(key, "iommu")) {
		const char *s = NULL;
		r = yr_string(y, v, key, &s);
		if (r < 0)
			return r;
		for (size_t i = 0; i < VK_ARRAY_SIZE(iommu_names); i++)
			if (!strcmp(iommu_names[i].name, s))
				return m->iommu = iommu_names[i].v, 0;
		return yr_fail(y, v, key, "'%s' is not an IOMMU (expected intel, amd, arm-smmu-v3, virtio or none)", s);
	}
	if (!strcmp(key, "iommu_units")) {
		r = yr_uint(y, v, key, 1, 64, &u);
		m->iommu_units = (unsigned)u;
		return r;
	}
	if (!strcmp(key, "group_type"))
		return want_group_type(y, v, key, &m->default_group_type);
	if (!strcmp(key, "vfio_device_cdev"))
		return yr_bool(y, v, key, &m->vfio_device_cdev);
	if (!strcmp(key, "iommufd"))
		return yr_bool(y, v, key, &m->iommufd);
	if (!strcmp(key, "noiommu"))
		return yr_bool(y, v, key, &m->noiommu);
	if (!strcmp(key, "interrupt_remapping"))
		return yr_bool(y, v, key, &m->interrupt_remapping);
	if (!strcmp(key, "modules"))
		return parse_modules(y, v);
	if (!strcmp(key, "drivers"))
		return parse_drivers(y, v);
	if (!strcmp(key, "vfio_cdev_major") || !strcmp(key, "vfio_group_major")) {
		r = yr_uint(y, v, key, 1, 4095, &u);
		*(key[5] == 'c' ? &m->vfio_cdev_major : &m->vfio_group_major) = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "iommufd_minor")) {
		r = yr_uint(y, v, key, 0, 255, &u);
		m->iommufd_minor = (uint32_t)u;
		return r;
	}
	return 1;
}

/* ---------- devices ---------- */

struct dev_ctx {
	struct vk_host_device *d;
	struct dev_src *s;
};

static int hex_config(struct yreader *y, const struct ynode *v, struct vk_host_device *d)
{
	const char *s = NULL;
	int r = yr_string(y, v, "config", &s);
	uint8_t buf[CONFIG_MAX];
	size_t n = 0;
	int hi = -1;

	if (r < 0)
		return r;
	for (const char *p = s; *p; p++) {
		if (isspace((unsigned char)*p) || *p == ':')
			continue;
		if (!isxdigit((unsigned char)*p))
			return yr_fail(y, v, "config", "'%c' is not a hex digit (config is hex bytes, spaces allowed)", *p);
		int x = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
		if (hi < 0) {
			hi = x;
			continue;
		}
		if (n == CONFIG_MAX)
			return yr_fail(y, v, "config", "longer than %d bytes (the PCIe extended config space)", CONFIG_MAX);
		buf[n++] = (uint8_t)(hi << 4 | x);
		hi = -1;
	}
	if (hi >= 0 || n < CONFIG_MIN)
		return yr_fail(y, v, "config", "%s (need whole bytes, at least the %d-byte header)",
		               hi >= 0 ? "odd number of hex digits" : "too short", CONFIG_MIN);
	/* the kernel always shows at least 256 bytes */
	return vk_host_config_set(d, buf, n, n < 256 ? 256 : n) < 0 ? yr_oom(y) : 0;
}

/* resources: the lines of the sysfs resource file, each [start, end, flags]
 * (at most PCI_NUM_RESOURCES = 17), kept exactly as a recording read them. */
static int parse_resources(struct yreader *y, const struct ynode *v, struct vk_host_device *d)
{
	size_t n = 0;
	int r = yr_want_kind(y, v, "resources", YN_SEQ);

	if (r < 0)
		return r;
	n = v->n;
	if (n == 0 || n > 17)
		return yr_fail(y, v, "resources", "%zu lines; the resource file has 1 to 17 (PCI_NUM_RESOURCES)", n);
	free(d->resources);
	d->resources = calloc(n, sizeof(*d->resources));
	if (!d->resources)
		return yr_oom(y);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *line = yr_item(v, i);
		if (line->kind != YN_SEQ || line->n != 3)
			return yr_fail(y, line, "resources", "each line is [start, end, flags]");
		for (int k = 0; k < 3; k++) {
			uint64_t x;
			r = yr_uint(y, yr_item(line, (size_t)k), "resources", 0, UINT64_MAX, &x);
			if (r < 0)
				return r;
			d->resources[d->n_resources][k] = x;
		}
		if (d->resources[d->n_resources][1] < d->resources[d->n_resources][0] && d->resources[d->n_resources][1])
			return yr_fail(y, line, "resources", "end 0x%llx is below start 0x%llx",
			               (unsigned long long)d->resources[d->n_resources][1],
			               (unsigned long long)d->resources[d->n_resources][0]);
		d->n_resources++;
	}
	return 0;
}

static int sriov_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct vk_host_device *d = obj;
	uint64_t u;
	int r;

	if (!strcmp(key, "totalvfs")) {
		r = yr_uint(y, v, key, 1, 65535, &u);
		d->sriov_totalvfs = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "vf_device")) {
		uint32_t id;
		r = yr_pci_id(y, v, key, 0xffff, &id);
		d->sriov_vf_device = (uint16_t)id;
		return r;
	}
	return 1;
}

static int u16_field(struct yreader *y, const struct ynode *v, const char *key, uint16_t *out, bool *given)
{
	uint32_t u;
	int r = yr_pci_id(y, v, key, 0xffff, &u);

	*out = (uint16_t)u;
	*given = true;
	return r;
}

/* A device's keys, by what they say; each handler returns 1 for a key not its own. */

/* Where the function is: address, parent, physfn. */
static int device_place_key(struct yreader *y, const char *key, const struct ynode *v, struct dev_ctx *c)
{
	struct dev_src *s = c->s;

	if (!strcmp(key, "address"))
		return yr_addr(y, v, key, &c->d->addr);
	if (!strcmp(key, "parent")) {
		if (yr_is_null(v))
			return 0;
		s->has_parent = true;
		s->parent_node = v;
		return yr_addr(y, v, key, &s->parent_addr);
	}
	if (!strcmp(key, "physfn")) {
		if (yr_is_null(v))
			return 0;
		s->has_physfn = true;
		s->physfn_node = v;
		return yr_addr(y, v, key, &s->physfn_addr);
	}
	return 1;
}

/* What it is: the ids, class and revision. */
static int device_id_key(struct yreader *y, const char *key, const struct ynode *v, struct dev_ctx *c)
{
	struct vk_host_device *d = c->d;
	struct dev_src *s = c->s;
	int r;

	if (!strcmp(key, "vendor"))
		return u16_field(y, v, key, &d->vendor, &s->has_vendor);
	if (!strcmp(key, "device"))
		return u16_field(y, v, key, &d->device, &s->has_device);
	if (!strcmp(key, "subsystem_vendor"))
		return u16_field(y, v, key, &d->subsystem_vendor, &s->has_ssvid);
	if (!strcmp(key, "subsystem_device"))
		return u16_field(y, v, key, &d->subsystem_device, &s->has_ssid);
	if (!strcmp(key, "class")) {
		r = yr_pci_id(y, v, key, 0xffffff, &d->class_code);
		s->has_class = true;
		return r;
	}
	if (!strcmp(key, "revision")) {
		uint32_t rev;
		r = yr_pci_id(y, v, key, 0xff, &rev);
		d->revision = (uint8_t)rev;
		s->has_revision = true;
		return r;
	}
	return 1;
}

/* What the kernel made of it: driver, label, group, NUMA node, VFIO cdev and node. */
static int device_kernel_key(struct yreader *y, const char *key, const struct ynode *v, struct dev_ctx *c)
{
	struct vk_host_device *d = c->d;
	struct dev_src *s = c->s;
	int64_t i;
	int r;

	if (!strcmp(key, "driver") || !strcmp(key, "driver_override")) {
		char **dst = key[6] ? &d->driver_override : &d->driver;
		if (yr_is_null(v))
			return 0;
		if (!key[6])
			s->driver_node = v;
		return yr_name(y, v, key, dst);
	}
	if (!strcmp(key, "label"))
		return yr_dup_string(y, v, key, &d->label);
	if (!strcmp(key, "iommu_group")) {
		if (yr_is_null(v))
			return 0;
		r = yr_int(y, v, key, 0, INT32_MAX, &i);
		d->iommu_group = i;
		s->has_group = true;
		s->group_node = v;
		return r;
	}
	if (!strcmp(key, "numa_node")) {
		r = yr_int(y, v, key, -1, 1023, &i);
		d->numa_node = (int)i;
		s->has_numa = true;
		return r;
	}
	if (!strcmp(key, "vfio_cdev")) {
		r = yr_int(y, v, key, 0, (1 << 20) - 1, &i);
		d->vfio_index = i;
		s->has_vfio_index = true;
		return r;
	}
	if (!strcmp(key, "vfio_node")) {
		s->vfio_node_node = v;
		return parse_node_spec(y, v, "vfio_node", &d->vfio_node);
	}
	return 1;
}

/* Its hardware: config space, SR-IOV, irq, resources, capabilities, network interfaces. */
static int device_hw_key(struct yreader *y, const char *key, const struct ynode *v, struct dev_ctx *c)
{
	struct vk_host_device *d = c->d;
	struct dev_src *s = c->s;
	uint64_t u;
	int r;

	if (!strcmp(key, "config")) {
		s->has_config = true;
		return hex_config(y, v, d);
	}
	if (!strcmp(key, "config_readable")) { /* a recording by a reader the kernel gave only part */
		r = yr_uint(y, v, key, CONFIG_MIN, CONFIG_MAX, &u);
		d->config_readable = (size_t)u;
		return r;
	}
	if (!strcmp(key, "sriov"))
		return yr_walk_map(y, v, "sriov", "totalvfs, vf_device", sriov_key, d);
	if (!strcmp(key, "irq")) {
		r = yr_uint(y, v, key, 0, UINT32_MAX, &u);
		d->irq = (uint32_t)u;
		s->has_irq = true;
		return r;
	}
	if (!strcmp(key, "resources"))
		return parse_resources(y, v, d);
	if (!strcmp(key, "capabilities"))
		return pci_caps_parse(y, v, &d->caps);
	if (!strcmp(key, "net")) {
		s->net_node = v;
		return platform_parse_net(y, v, d);
	}
	return 1;
}

static int device_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct dev_ctx *c = obj;
	int r;

	if ((r = device_place_key(y, key, v, c)) != 1 || (r = device_id_key(y, key, v, c)) != 1 ||
	    (r = device_kernel_key(y, key, v, c)) != 1)
		return r;
	return device_hw_key(y, key, v, c);
}

#define DEVICE_KEYS \
	"address, parent, physfn, vendor, device, subsystem_vendor, subsystem_device, class, revision, " \
	"driver, driver_override, label, iommu_group, numa_node, vfio_cdev, vfio_node, config, config_readable, " \
	"sriov, irq, resources, capabilities, net"

static int parse_devices(struct yreader *y, const struct ynode *v)
{
	struct loader *l = loader_of(y);
	struct vk_host_model *m = l->m;
	int r = yr_want_kind(y, v, "devices", YN_SEQ);
	size_t n = v->n;

	if (r < 0)
		return r;
	m->devices = calloc(n ? n : 1, sizeof(*m->devices));
	l->src = calloc(n ? n : 1, sizeof(*l->src));
	if (!m->devices || !l->src)
		return yr_oom(y);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *dn = yr_item(v, i);
		struct vk_host_device *d = &m->devices[m->n_devices];
		struct dev_src *s = &l->src[m->n_devices];
		bool has_addr = false;

		m->n_devices++;
		d->parent = d->physfn = -1;
		d->iommu_group = d->vfio_index = -1;
		d->numa_node = -1;
		d->vfio_node = (struct vk_dev_node_spec){.mode = 0600, .present = true};
		d->line = dn->line + 1;
		s->node = dn;
		r = yr_walk_map(y, dn, "device", DEVICE_KEYS, device_key, &(struct dev_ctx){d, s});
		if (r < 0)
			return r;
		for (size_t k = 0; k < dn->n; k++)
			has_addr |= !strcmp(yr_scalar(yr_key(dn, k)), "address");
		if (!has_addr)
			return yr_fail(y, dn, "devices", "a device needs address: (e.g. 0000:01:00.0)");
		if (d->config_readable && !d->config_len)
			return yr_fail(y, dn, "config_readable", "needs config: (the bytes it serves part of)");
		if (d->config_readable > d->config_len)
			return yr_fail(y, dn, "config_readable", "%zu bytes, but the config file has %zu",
			               d->config_readable, d->config_len);
		if (d->caps && d->config_len)
			return yr_fail(y, dn, "capabilities", "lists what a synthesized config space has; with config: "
			                                      "the bytes' own list is used, so drop one");
	}
	return 0;
}

/* ---------- groups and dev ---------- */

static int group_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct group_spec *g = obj;

	if (!strcmp(key, "id")) {
		uint64_t u;
		int r = yr_uint(y, v, key, 0, INT32_MAX, &u);
		g->id = (uint32_t)u;
		g->has_id = true;
		return r;
	}
	if (!strcmp(key, "type"))
		return want_group_type(y, v, key, &g->type);
	if (!strcmp(key, "node"))
		return parse_node_spec(y, v, "node", &g->spec);
	return 1;
}

static int parse_groups(struct yreader *y, const struct ynode *v)
{
	struct loader *l = loader_of(y);
	int r = yr_want_kind(y, v, "iommu_groups", YN_SEQ);

	if (r < 0)
		return r;
	l->group_specs = calloc(v->n ? v->n : 1, sizeof(*l->group_specs));
	if (!l->group_specs)
		return yr_oom(y);
	for (size_t i = 0; i < v->n; i++) {
		struct group_spec *g = &l->group_specs[l->n_group_specs++];
		g->node = yr_item(v, i);
		g->spec = (struct vk_dev_node_spec){.mode = 0600, .present = true};
		r = yr_walk_map(y, g->node, "an iommu_groups entry", "id, type, node", group_key, g);
		if (r < 0)
			return r;
		if (!g->has_id)
			return yr_fail(y, g->node, "iommu_groups", "a group entry needs id:");
	}
	return 0;
}

/* cpu: what proc/cpuinfo says (the doctor's vendor hint, "is this a VM"). */
static int cpu_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	static const char *const vendors[][2] = {
		{"intel", "GenuineIntel"},
		{"amd", "AuthenticAMD"},
		{"hygon", "HygonGenuine"},
	};
	struct vk_host_model *m = loader_of(y)->m;
	const char *s = NULL;
	int r;

	if (!strcmp(key, "hypervisor"))
		return yr_bool(y, v, key, &m->cpu_hypervisor);
	if (strcmp(key, "vendor"))
		return platform_cpu_key(y, key, v, m);
	r = yr_string(y, v, key, &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < VK_ARRAY_SIZE(vendors); i++)
		if (!strcmp(s, vendors[i][0]) || !strcmp(s, vendors[i][1])) {
			free(m->cpu_vendor);
			m->cpu_vendor = strdup(vendors[i][1]);
			return m->cpu_vendor ? 0 : yr_oom(y);
		}
	return yr_fail(y, v, key, "'%s' is not a CPU vendor (expected intel, amd or hygon)", s);
}

static int dev_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct vk_host_model *m = loader_of(y)->m;

	if (!strcmp(key, "iommu"))
		return parse_node_spec(y, v, "dev.iommu", &m->dev_iommu);
	if (!strcmp(key, "vfio"))
		return parse_node_spec(y, v, "dev.vfio", &m->dev_vfio);
	return 1;
}

/* ---------- top level ---------- */

/* The top-level keys; expect: is the conformance runner's (`fakesys test`),
 * parsed by the section it hands in (vk_scenario_section.h) and skipped by a
 * loader without it. */
static const char top_keys[] =
	"version, name, description, kernel, cpu, firmware, devices, iommu_groups, dev, faults, steps, expect";

/* The caller's parser of top-level section @key, or NULL. */
static const struct vk_scenario_section *section_of(const struct loader *l, const char *key)
{
	for (size_t i = 0; i < l->n_sections; i++)
		if (!strcmp(l->sections[i].key, key))
			return &l->sections[i];
	return NULL;
}

static int top_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct loader *l = loader_of(y);
	struct vk_host_model *m = l->m;
	const struct vk_scenario_section *sec;
	uint64_t u;
	int r;

	if (!strcmp(key, "version")) {
		r = yr_uint(y, v, key, 0, UINT32_MAX, &u);
		if (r == 0 && u != 1)
			return yr_fail(y, v, key, "format version %llu is not supported (this fakesys reads version 1)",
			               (unsigned long long)u);
		*(bool *)obj = true;
		return r;
	}
	if (!strcmp(key, "name"))
		return yr_name(y, v, key, &m->name);
	if (!strcmp(key, "description"))
		return yr_dup_string(y, v, key, &m->description);
	if (!strcmp(key, "kernel"))
		return yr_walk_map(y, v, "kernel",
		                   "release, iommu, iommu_units, group_type, vfio_device_cdev, iommufd, noiommu, "
		                   "interrupt_remapping, cmdline, modules, drivers, vfio_cdev_major, vfio_group_major, "
		                   "iommufd_minor",
		                   kernel_key, NULL);
	if (!strcmp(key, "devices"))
		return parse_devices(y, v);
	if (!strcmp(key, "iommu_groups"))
		return parse_groups(y, v);
	if (!strcmp(key, "cpu")) {
		loader_of(y)->cpu_node = v;
		return yr_walk_map(y, v, "cpu", "vendor, hypervisor, count, nodes, model_name, flags", cpu_key, NULL);
	}
	if (!strcmp(key, "firmware"))
		return platform_parse_firmware(y, v);
	if (!strcmp(key, "dev"))
		return yr_walk_map(y, v, "dev", "iommu, vfio", dev_key, NULL);
	if (!strcmp(key, "faults"))
		return scenario_parse_faults(y, v, &l->s->faults, &l->s->n_faults);
	if (!strcmp(key, "steps"))
		return scenario_parse_steps(y, v, &l->s->steps, &l->s->n_steps);
	if ((sec = section_of(l, key)))
		return sec->parse(y, v, sec->data);
	if (!strcmp(key, "expect"))
		return 0;
	return 1;
}

/* top_keys and the caller's sections not among them, for the message of an unknown key. */
static void known_keys(const struct loader *l, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "%s", top_keys);

	for (size_t i = 0; i < l->n_sections && o < len; i++) {
		const char *k = l->sections[i].key, *p = strstr(top_keys, k);
		size_t kl = strlen(k);
		bool listed = p && (p == top_keys || p[-1] == ' ') && (p[kl] == ',' || p[kl] == '\0');
		if (!listed)
			o += (size_t)snprintf(buf + o, len - o, ", %s", k);
	}
}

static void model_defaults(struct vk_host_model *m)
{
	m->iommu = VK_IOMMU_NONE;
	m->vfio_cdev_major = 511;
	m->vfio_group_major = 243;
	m->iommufd_minor = 122;
	m->dev_iommu = (struct vk_dev_node_spec){.mode = 0660, .present = true};
	m->dev_vfio = (struct vk_dev_node_spec){.mode = 0666, .present = true};
}

static int load_doc(struct loader *l, const char *buf, size_t len)
{
	struct yreader *y = &l->y;
	bool version = false;
	char known[1024];
	int r = yr_load(y, buf, len);

	if (r < 0)
		return r;
	if (!y->root)
		return vk_error_set(y->err, EINVAL, "%s: empty scenario (expected a mapping with version: 1)", y->file);
	known_keys(l, known, sizeof(known));
	r = yr_walk_map(y, y->root, "the scenario", known, top_key, &version);
	if (r < 0)
		return r;
	if (!version)
		return yr_fail(y, y->root, NULL, "missing 'version: 1' at the top (the scenario format version)");
	return 0;
}

void vk_fakesys_scenario_free(struct vk_fakesys_scenario *s)
{
	if (!s)
		return;
	vk_host_model_free(s->host);
	vk_fakesys_faults_free(s->faults, s->n_faults);
	vk_fakesys_faults_free(s->steps, s->n_steps);
	free(s);
}

int vk__scenario_load_buffer_sections(const char *name, const char *buf, size_t len,
                                      const struct vk_scenario_section *sections, size_t n,
                                      struct vk_fakesys_scenario **out, struct vk_error *err)
{
	struct loader l = {.y = {.file = name, .err = err}, .sections = sections, .n_sections = n};
	int r;

	*out = NULL;
	l.s = calloc(1, sizeof(*l.s));
	if (!l.s || !(l.s->host = l.m = calloc(1, sizeof(*l.m)))) {
		free(l.s);
		return vk_error_set(err, ENOMEM, "out of memory");
	}
	model_defaults(l.m);
	l.m->source = strdup(name);
	r = l.m->source ? load_doc(&l, buf, len) : vk_error_set(err, ENOMEM, "out of memory");
	if (r == 0)
		r = scenario_complete(&l);
	yr_free(&l.y);
	name_set_free(&l.modules);
	free(l.src);
	for (size_t i = 0; i < l.n_group_specs; i++)
		free(l.group_specs[i].type);
	free(l.group_specs);
	if (r < 0) {
		vk_fakesys_scenario_free(l.s);
		return r;
	}
	*out = l.s;
	return 0;
}

int vk_fakesys_scenario_load_buffer(const char *name, const char *buf, size_t len, struct vk_fakesys_scenario **out,
                                    struct vk_error *err)
{
	return vk__scenario_load_buffer_sections(name, buf, len, NULL, 0, out, err);
}

/* The host of scenario @s into *@out, the rest freed (the host-only loaders). */
static void host_only(struct vk_fakesys_scenario *s, struct vk_host_model **out)
{
	*out = TAKE_PTR(s->host);
	vk_fakesys_scenario_free(s);
}

int vk_host_model_load_buffer(const char *name, const char *buf, size_t len, struct vk_host_model **out,
                              struct vk_error *err)
{
	struct vk_fakesys_scenario *s = NULL;
	int r = vk_fakesys_scenario_load_buffer(name, buf, len, &s, err);

	*out = NULL;
	if (r < 0)
		return r;
	host_only(s, out);
	return 0;
}

static const char *file_type(mode_t mode)
{
	return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO"
	                               : S_ISSOCK(mode)       ? "a socket"
	                               : S_ISCHR(mode)        ? "a character device"
	                               : S_ISBLK(mode)        ? "a block device"
	                                                      : "not a regular file";
}

/* The text of scenario file @path into *@out (malloc'd, NUL-terminated), its length into *@len. */
static int read_scenario(const char *path, char **out, size_t *len, struct vk_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n = 0;

	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer, forever (fifo(7)); what is opened is looked at before it is read. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vk_error_set(err, errno, "%s: cannot open scenario: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return vk_error_set(err, errno, "%s: cannot stat scenario: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vk_error_set(err, EINVAL, "%s: not a regular file (%s); a scenario is read from a regular file",
		                    path, file_type(st.st_mode));
	if ((uint64_t)st.st_size > YR_MAX_BYTES)
		return vk_error_set(err, EFBIG, "%s: %lld bytes is larger than a scenario may be (%u MiB)", path,
		                    (long long)st.st_size, YR_MAX_BYTES >> 20);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return vk_error_set(err, errno, "%s: fcntl: %s", path, strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return vk_error_set(err, ENOMEM, "out of memory");
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vk_error_set(err, errno, "%s: read failed: %s", path, strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		return vk_error_set(err, EINVAL, "%s: contains a NUL byte: not a YAML text file", path);
	*out = TAKE_PTR(buf);
	*len = n;
	return 0;
}

int vk__scenario_load_sections(const char *path, const struct vk_scenario_section *sections, size_t n,
                               struct vk_fakesys_scenario **out, struct vk_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = read_scenario(path, &buf, &len, err)) < 0)
		return r;
	return vk__scenario_load_buffer_sections(path, buf, len, sections, n, out, err);
}

int vk_fakesys_scenario_load(const char *path, struct vk_fakesys_scenario **out, struct vk_error *err)
{
	return vk__scenario_load_sections(path, NULL, 0, out, err);
}

int vk_host_model_load(const char *path, struct vk_host_model **out, struct vk_error *err)
{
	struct vk_fakesys_scenario *s = NULL;
	int r = vk_fakesys_scenario_load(path, &s, err);

	*out = NULL;
	if (r < 0)
		return r;
	host_only(s, out);
	return 0;
}
