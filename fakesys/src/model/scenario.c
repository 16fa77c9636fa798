/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scenario format v1 -> host model.  libyaml's document API gives every node
 * its line and column, so each error names file:line:column and the key.
 * Parsing fills the model with what the file says; complete_model() then
 * checks cross-references and fills the defaults, in that order, so that a
 * default is never computed from a value that is about to be rejected.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/fakesys_live.h>
#include <vfiokit/host_model.h>
#include <vfiokit/resolver.h>

#include "model/scenario_internal.h"

#define SCENARIO_MAX_BYTES (64u << 20)
#define CONFIG_MIN 64
#define CONFIG_MAX 4096

const char *const host_known_drivers[] = {
	"vfio-pci", "pci-stub", "pcieport", "nvme", "ahci", "xhci_hcd", "ehci-pci", "ohci-pci",
	"snd_hda_intel", "e1000e", "igb", "igbvf", "igc", "ixgbe", "ixgbevf", "i40e", "iavf", "ice",
	"mlx4_core", "mlx5_core", "bnxt_en", "qede", "virtio-pci", "nvidia", "nouveau", "amdgpu",
	"radeon", "i915", "xe", "ast", "mgag200", "vmd", "megaraid_sas", "mpt3sas", "i801_smbus",
	"lpc_ich", "shpchp", "idxd", "qat_4xxx",
	/* vfio-pci variant drivers: the .name of each struct pci_driver under drivers/vfio/pci/ */
	"mlx5_vfio_pci", "hisi_acc_vfio_pci", "pds_vfio_pci", "nvgrace_gpu_vfio_pci", "virtio_vfio_pci",
	"qat_vfio_pci", "xe-vfio-pci", NULL,
};

const char *host_driver_module(const char *driver)
{
	/* Drivers whose module has another name, or that are always built in. */
	static const char *const map[][2] = {
		{"vfio-pci", "vfio_pci"}, {"xhci_hcd", "xhci_pci"}, {"ehci-pci", "ehci_pci"},
		{"ohci-pci", "ohci_pci"}, {"virtio-pci", "virtio_pci"}, {"i801_smbus", "i2c_i801"},
		{"pcieport", NULL}, {"pci-stub", NULL}, {"shpchp", NULL},
	};
	static __thread char buf[256];

	for (size_t i = 0; i < VK_ARRAY_SIZE(map); i++)
		if (!strcmp(map[i][0], driver))
			return map[i][1];
	/* module names use '_' where driver names may use '-' */
	snprintf(buf, sizeof(buf), "%s", driver);
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = '_';
	return buf;
}

/* ---------- messages ---------- */

int scenario_fail(struct loader *l, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n)
		return vk_error_set(l->err, EINVAL, "%s:%zu:%zu: %s%s%s", l->file, n->start_mark.line + 1,
		                    n->start_mark.column + 1, key ? key : "", key ? ": " : "", what);
	return vk_error_set(l->err, EINVAL, "%s: %s%s%s", l->file, key ? key : "", key ? ": " : "", what);
}

/* ---------- scalar access ---------- */

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int want_string(struct loader *l, yaml_node_t *n, const char *key, const char **out)
{
	const char *s = scalar(n);

	if (!s)
		return scenario_fail(l, n, key, "expected a string, found a %s", n->type == YAML_MAPPING_NODE ? "mapping" : "list");
	if (strlen(s) != n->data.scalar.length)
		return scenario_fail(l, n, key, "the value contains a NUL byte");
	*out = s;
	return 0;
}

int scenario_dup_string(struct loader *l, yaml_node_t *n, const char *key, char **out)
{
	const char *s = NULL;
	int r = want_string(l, n, key, &s);

	if (r < 0)
		return r;
	free(*out);
	*out = strdup(s);
	return *out ? 0 : vk_error_set(l->err, ENOMEM, "out of memory");
}

/* An unsigned number in decimal or 0x hex (0o/leading 0 octal is not guessed:
 * "010" is ten), within [min,max]. */
static int want_uint(struct loader *l, yaml_node_t *n, const char *key, uint64_t min, uint64_t max,
                     uint64_t *out)
{
	const char *s = NULL;
	char *end;
	int base = 10;
	int r = want_string(l, n, key, &s);

	if (r < 0)
		return r;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	if (!isxdigit((unsigned char)s[0]))
		return scenario_fail(l, n, key, "'%s' is not a number (expected decimal or 0x-prefixed hex)",
		            scalar(n));
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end)
		return scenario_fail(l, n, key, "'%s' is not a number (expected decimal or 0x-prefixed hex)",
		            scalar(n));
	if (v < min || v > max)
		return scenario_fail(l, n, key, "%s is out of range (0x%llx..0x%llx)", scalar(n), (unsigned long long)min,
		            (unsigned long long)max);
	*out = v;
	return 0;
}

static int want_int(struct loader *l, yaml_node_t *n, const char *key, int64_t min, int64_t max, int64_t *out)
{
	const char *s = NULL;
	char *end;
	int r = want_string(l, n, key, &s);
	bool neg = s && s[0] == '-';
	const char *digits = neg ? s + 1 : s;
	int base = 10;

	if (r < 0)
		return r;
	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
		base = 16, digits += 2;
	if (!isxdigit((unsigned char)digits[0]))
		return scenario_fail(l, n, key, "'%s' is not a number (expected decimal or 0x-prefixed hex)", s);
	errno = 0;
	unsigned long long v = strtoull(digits, &end, base);
	if (errno || *end)
		return scenario_fail(l, n, key, "'%s' is not a number (expected decimal or 0x-prefixed hex)", s);
	if (v > (unsigned long long)INT64_MAX || (neg ? -(int64_t)v < min : (int64_t)v > max) ||
	    (!neg && (int64_t)v < min))
		return scenario_fail(l, n, key, "%s is out of range (%lld..%lld)", s, (long long)min, (long long)max);
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int want_bool(struct loader *l, yaml_node_t *n, const char *key, bool *out)
{
	/* YAML 1.1 booleans, any case (the kernel's own Y/N included) */
	static const char *const yes[] = {"true", "yes", "on", "y", NULL};
	static const char *const no[] = {"false", "no", "off", "n", NULL};
	const char *s = NULL;
	int r = want_string(l, n, key, &s);

	if (r < 0)
		return r;
	for (int i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i]))
			return *out = true, 0;
	for (int i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i]))
			return *out = false, 0;
	return scenario_fail(l, n, key, "'%s' is not a boolean (expected true or false)", s);
}

/* Modes are octal whatever their spelling: 0660, "0660", 660, 0o660. */
static int want_mode(struct loader *l, yaml_node_t *n, const char *key, uint32_t *out)
{
	const char *s = NULL;
	char *end;
	int r = want_string(l, n, key, &s);

	if (r < 0)
		return r;
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		s += 2;
	if (!*s || strspn(s, "01234567") != strlen(s))
		return scenario_fail(l, n, key, "'%s' is not an octal mode (expected e.g. \"0660\")", scalar(n));
	unsigned long v = strtoul(s, &end, 8);
	if (v > 07777)
		return scenario_fail(l, n, key, "mode %s is out of range (0..07777)", scalar(n));
	*out = (uint32_t)v;
	return 0;
}

static int want_addr(struct loader *l, yaml_node_t *n, const char *key, struct pci_addr *out)
{
	const char *s = NULL;
	struct vk_error e;
	int r = want_string(l, n, key, &s);

	if (r < 0)
		return r;
	if (pci_addr_parse(s, out, &e) < 0)
		return scenario_fail(l, n, key, "%s", e.msg);
	return 0;
}

/* A name that becomes a path component: no '/', not "." or "..", printable. */
static int want_name(struct loader *l, yaml_node_t *n, const char *key, char **out)
{
	const char *s = NULL;
	int r = want_string(l, n, key, &s);

	if (r < 0)
		return r;
	if (!*s || strlen(s) > 255 || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, ".."))
		return scenario_fail(l, n, key, "'%s' cannot be a file name (empty, '.', '..', over 255 bytes, or contains '/')",
		            s);
	/* UTF-8 is fine in a file name; spaces and control characters are not */
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return scenario_fail(l, n, key, "'%s' contains a space or control character", s);
	return scenario_dup_string(l, n, key, out);
}

static int want_id(struct loader *l, yaml_node_t *n, const char *key, bool group, uint32_t *out)
{
	const char *s = scalar(n);
	uint64_t v;

	if (s && *s && strspn(s, "0123456789") == strlen(s)) {
		int r = want_uint(l, n, key, 0, UINT32_MAX, &v);
		if (r < 0)
			return r;
		*out = (uint32_t)v;
		return 0;
	}
	if (!s)
		return want_string(l, n, key, &s);
	if (!strcmp(s, "root"))
		return *out = 0, 0;
	if (group) {
		struct group *g = getgrnam(s);
		if (g)
			return *out = g->gr_gid, 0;
	} else {
		struct passwd *p = getpwnam(s);
		if (p)
			return *out = p->pw_uid, 0;
	}
	return scenario_fail(l, n, key, "no %s named '%s' on this machine; give a number so the scenario means the same everywhere",
	            group ? "group" : "user", s);
}

/* ---------- mappings ---------- */

typedef int (*key_fn)(struct loader *l, const char *key, yaml_node_t *val, void *obj);

static int want_kind(struct loader *l, yaml_node_t *n, const char *key, yaml_node_type_t t)
{
	static const char *const names[] = {"nothing", "a scalar", "a list", "a mapping"};

	if (n->type != t)
		return scenario_fail(l, n, key, "expected %s, found %s", names[t], names[n->type]);
	return 0;
}

/*
 * Walk a mapping, handing each key to @fn.  Rejects duplicate keys (libyaml
 * keeps both) and, through @fn returning 1, unknown keys with the list of the
 * known ones.
 */
static int walk_map(struct loader *l, yaml_node_t *map, const char *what, const char *known, key_fn fn,
                    void *obj)
{
	int r = want_kind(l, map, what, YAML_MAPPING_NODE);

	if (r < 0)
		return r;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
		const char *key = scalar(k);

		if (!key)
			return scenario_fail(l, k, what, "keys must be plain words");
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *prev = scalar(yaml_document_get_node(&l->doc, q->key));
			if (prev && !strcmp(prev, key))
				return scenario_fail(l, k, key, "given twice in %s (the first is at line %zu)", what,
				            yaml_document_get_node(&l->doc, q->key)->start_mark.line + 1);
		}
		r = fn(l, key, v, obj);
		if (r < 0)
			return r;
		if (r > 0)
			return scenario_fail(l, k, key, "unknown key in %s (expected one of: %s)", what, known);
	}
	return 0;
}

static yaml_node_t *item(struct loader *l, yaml_node_item_t *it)
{
	return yaml_document_get_node(&l->doc, *it);
}

/* ---------- dev node specs ---------- */

static int node_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct dev_node_spec *s = obj;

	if (!strcmp(key, "owner"))
		return want_id(l, v, key, false, &s->uid);
	if (!strcmp(key, "group"))
		return want_id(l, v, key, true, &s->gid);
	if (!strcmp(key, "mode"))
		return want_mode(l, v, key, &s->mode);
	if (!strcmp(key, "present"))
		return want_bool(l, v, key, &s->present);
	return 1;
}

static int parse_node_spec(struct loader *l, yaml_node_t *v, const char *what, struct dev_node_spec *s)
{
	return walk_map(l, v, what, "owner, group, mode, present", node_key, s);
}

/* ---------- kernel ---------- */

static int parse_module(struct loader *l, yaml_node_t *n, struct kmodule *mod);

static int module_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct kmodule *mod = obj;

	if (!strcmp(key, "name"))
		return want_name(l, v, key, &mod->name);
	if (!strcmp(key, "builtin"))
		return want_bool(l, v, key, &mod->builtin);
	if (!strcmp(key, "parameters")) {
		int r = want_kind(l, v, key, YAML_MAPPING_NODE);
		size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
		if (r < 0)
			return r;
		mod->param_names = calloc(n + 1, sizeof(char *));
		mod->param_values = calloc(n + 1, sizeof(char *));
		if (!mod->param_names || !mod->param_values)
			return vk_error_set(l->err, ENOMEM, "out of memory");
		for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
			yaml_node_t *pk = yaml_document_get_node(&l->doc, p->key);
			yaml_node_t *pv = yaml_document_get_node(&l->doc, p->value);
			r = want_name(l, pk, "parameters", &mod->param_names[mod->n_params]);
			if (r < 0)
				return r;
			/* counted before the checks below, so that freeing the model frees it */
			const char *name = mod->param_names[mod->n_params++];
			for (size_t i = 0; i + 1 < mod->n_params; i++)
				if (!strcmp(mod->param_names[i], name))
					return scenario_fail(l, pk, "parameters", "'%s' given twice", name);
			r = scenario_dup_string(l, pv, name, &mod->param_values[mod->n_params - 1]);
			if (r < 0)
				return r;
		}
		return 0;
	}
	return 1;
}

static int parse_module(struct loader *l, yaml_node_t *n, struct kmodule *mod)
{
	if (n->type == YAML_SCALAR_NODE)
		return want_name(l, n, "modules", &mod->name);
	int r = walk_map(l, n, "module", "name, builtin, parameters", module_key, mod);
	if (r == 0 && !mod->name)
		return scenario_fail(l, n, "modules", "a module entry needs name:");
	return r;
}

static int parse_modules(struct loader *l, yaml_node_t *v)
{
	int r = want_kind(l, v, "modules", YAML_SEQUENCE_NODE);
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);

	if (r < 0)
		return r;
	l->m->modules = calloc(n ? n : 1, sizeof(*l->m->modules));
	if (!l->m->modules)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		struct kmodule *mod = &l->m->modules[l->m->n_modules++];
		r = parse_module(l, item(l, it), mod);
		if (r < 0)
			return r;
		for (size_t i = 0; i + 1 < l->m->n_modules; i++)
			if (!strcmp(l->m->modules[i].name, mod->name))
				return scenario_fail(l, item(l, it), "modules", "module '%s' is listed twice", mod->name);
	}
	l->modules_given = true;
	l->modules_node = v;
	return 0;
}

bool scenario_driver_known(const struct host_model *m, const char *name)
{
	for (int i = 0; host_known_drivers[i]; i++)
		if (!strcmp(host_known_drivers[i], name))
			return true;
	for (size_t i = 0; i < m->n_drivers; i++)
		if (!strcmp(m->drivers[i], name))
			return true;
	return false;
}

int scenario_add_driver(struct host_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_drivers; i++)
		if (!strcmp(m->drivers[i], name))
			return 0;
	char **v = realloc(m->drivers, (m->n_drivers + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->drivers = v;
	m->drivers[m->n_drivers] = strdup(name);
	if (!m->drivers[m->n_drivers])
		return -ENOMEM;
	m->n_drivers++;
	return 0;
}

static int parse_drivers(struct loader *l, yaml_node_t *v)
{
	int r = want_kind(l, v, "drivers", YAML_SEQUENCE_NODE);

	if (r < 0)
		return r;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		_cleanup_free_ char *name = NULL;
		r = want_name(l, item(l, it), "drivers", &name);
		if (r < 0)
			return r;
		if (scenario_add_driver(l->m, name) < 0)
			return vk_error_set(l->err, ENOMEM, "out of memory");
	}
	return 0;
}

static const struct {
	const char *name;
	enum iommu_vendor v;
} iommu_names[] = {
	{"none", IOMMU_NONE}, {"intel", IOMMU_INTEL}, {"amd", IOMMU_AMD},
	{"arm-smmu-v3", IOMMU_ARM_SMMU}, {"virtio", IOMMU_VIRTIO},
};

const char *iommu_vendor_name(enum iommu_vendor v)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(iommu_names); i++)
		if (iommu_names[i].v == v)
			return iommu_names[i].name;
	return "none";
}

static int want_group_type(struct loader *l, yaml_node_t *v, const char *key, char **out)
{
	static const char *const types[] = {"DMA", "DMA-FQ", "identity", "blocked", "unmanaged", NULL};
	const char *s = NULL;
	int r = want_string(l, v, key, &s);

	if (r < 0)
		return r;
	for (int i = 0; types[i]; i++)
		if (!strcmp(types[i], s))
			return scenario_dup_string(l, v, key, out);
	return scenario_fail(l, v, key, "'%s' is not a group type (expected DMA, DMA-FQ, identity, blocked or unmanaged)", s);
}

static int kernel_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct host_model *m = l->m;
	uint64_t u;
	int r;

	if (!strcmp(key, "release"))
		return scenario_dup_string(l, v, key, &m->kernel_release);
	if (!strcmp(key, "cmdline"))
		return scenario_dup_string(l, v, key, &m->cmdline);
	if (!strcmp(key, "iommu")) {
		const char *s = NULL;
		r = want_string(l, v, key, &s);
		if (r < 0)
			return r;
		for (size_t i = 0; i < VK_ARRAY_SIZE(iommu_names); i++)
			if (!strcmp(iommu_names[i].name, s))
				return m->iommu = iommu_names[i].v, 0;
		return scenario_fail(l, v, key, "'%s' is not an IOMMU (expected intel, amd, arm-smmu-v3, virtio or none)", s);
	}
	if (!strcmp(key, "iommu_units")) {
		r = want_uint(l, v, key, 1, 64, &u);
		m->iommu_units = (unsigned)u;
		return r;
	}
	if (!strcmp(key, "group_type"))
		return want_group_type(l, v, key, &m->default_group_type);
	if (!strcmp(key, "vfio_device_cdev"))
		return want_bool(l, v, key, &m->vfio_device_cdev);
	if (!strcmp(key, "iommufd"))
		return want_bool(l, v, key, &m->iommufd);
	if (!strcmp(key, "noiommu"))
		return want_bool(l, v, key, &m->noiommu);
	if (!strcmp(key, "interrupt_remapping"))
		return want_bool(l, v, key, &m->interrupt_remapping);
	if (!strcmp(key, "modules"))
		return parse_modules(l, v);
	if (!strcmp(key, "drivers"))
		return parse_drivers(l, v);
	if (!strcmp(key, "vfio_cdev_major") || !strcmp(key, "vfio_group_major")) {
		r = want_uint(l, v, key, 1, 4095, &u);
		*(key[5] == 'c' ? &m->vfio_cdev_major : &m->vfio_group_major) = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "iommufd_minor")) {
		r = want_uint(l, v, key, 0, 255, &u);
		m->iommufd_minor = (uint32_t)u;
		return r;
	}
	return 1;
}

/* ---------- devices ---------- */

struct dev_ctx {
	struct host_device *d;
	struct dev_src *s;
};

static int hex_config(struct loader *l, yaml_node_t *v, struct host_device *d)
{
	const char *s = NULL;
	int r = want_string(l, v, "config", &s);
	uint8_t *buf;
	size_t n = 0;
	int hi = -1;

	if (r < 0)
		return r;
	buf = calloc(1, CONFIG_MAX);
	if (!buf)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (const char *p = s; *p; p++) {
		if (isspace((unsigned char)*p) || *p == ':')
			continue;
		if (!isxdigit((unsigned char)*p)) {
			free(buf);
			return scenario_fail(l, v, "config", "'%c' is not a hex digit (config is hex bytes, spaces allowed)", *p);
		}
		int x = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
		if (hi < 0) {
			hi = x;
			continue;
		}
		if (n == CONFIG_MAX) {
			free(buf);
			return scenario_fail(l, v, "config", "longer than %d bytes (the PCIe extended config space)", CONFIG_MAX);
		}
		buf[n++] = (uint8_t)(hi << 4 | x);
		hi = -1;
	}
	if (hi >= 0 || n < CONFIG_MIN) {
		free(buf);
		return scenario_fail(l, v, "config", "%s (need whole bytes, at least the %d-byte header)",
		            hi >= 0 ? "odd number of hex digits" : "too short", CONFIG_MIN);
	}
	d->config = buf;
	d->config_len = n < 256 ? 256 : n; /* the kernel always shows at least 256 bytes */
	return 0;
}

/* resources: the lines of the sysfs resource file, each [start, end, flags]
 * (at most PCI_NUM_RESOURCES = 17), kept exactly as a recording read them. */
static int parse_resources(struct loader *l, yaml_node_t *v, struct host_device *d)
{
	size_t n = 0;
	int r = want_kind(l, v, "resources", YAML_SEQUENCE_NODE);

	if (r < 0)
		return r;
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n == 0 || n > 17)
		return scenario_fail(l, v, "resources", "%zu lines; the resource file has 1 to 17 (PCI_NUM_RESOURCES)", n);
	free(d->resources);
	d->resources = calloc(n, sizeof(*d->resources));
	if (!d->resources)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *line = item(l, it);
		if (line->type != YAML_SEQUENCE_NODE || line->data.sequence.items.top - line->data.sequence.items.start != 3)
			return scenario_fail(l, line, "resources", "each line is [start, end, flags]");
		for (int k = 0; k < 3; k++) {
			uint64_t x;
			r = want_uint(l, item(l, line->data.sequence.items.start + k), "resources", 0, UINT64_MAX, &x);
			if (r < 0)
				return r;
			d->resources[d->n_resources][k] = x;
		}
		if (d->resources[d->n_resources][1] < d->resources[d->n_resources][0] && d->resources[d->n_resources][1])
			return scenario_fail(l, line, "resources", "end 0x%llx is below start 0x%llx",
			                     (unsigned long long)d->resources[d->n_resources][1],
			                     (unsigned long long)d->resources[d->n_resources][0]);
		d->n_resources++;
	}
	return 0;
}

static int sriov_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct host_device *d = obj;
	uint64_t u;
	int r;

	if (!strcmp(key, "totalvfs")) {
		r = want_uint(l, v, key, 1, 65535, &u);
		d->sriov_totalvfs = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "vf_device")) {
		r = want_uint(l, v, key, 0, 0xffff, &u);
		d->sriov_vf_device = (uint16_t)u;
		return r;
	}
	return 1;
}

static int u16_field(struct loader *l, yaml_node_t *v, const char *key, uint16_t *out, bool *given)
{
	uint64_t u;
	int r = want_uint(l, v, key, 0, 0xffff, &u);

	*out = (uint16_t)u;
	*given = true;
	return r;
}

static int device_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct dev_ctx *c = obj;
	struct host_device *d = c->d;
	struct dev_src *s = c->s;
	uint64_t u;
	int64_t i;
	int r;

	if (!strcmp(key, "address"))
		return want_addr(l, v, key, &d->addr);
	if (!strcmp(key, "parent")) {
		if (is_null(v))
			return 0;
		s->has_parent = true;
		s->parent_node = v;
		return want_addr(l, v, key, &s->parent_addr);
	}
	if (!strcmp(key, "physfn")) {
		if (is_null(v))
			return 0;
		s->has_physfn = true;
		s->physfn_node = v;
		return want_addr(l, v, key, &s->physfn_addr);
	}
	if (!strcmp(key, "vendor"))
		return u16_field(l, v, key, &d->vendor, &s->has_vendor);
	if (!strcmp(key, "device"))
		return u16_field(l, v, key, &d->device, &s->has_device);
	if (!strcmp(key, "subsystem_vendor"))
		return u16_field(l, v, key, &d->subsystem_vendor, &s->has_ssvid);
	if (!strcmp(key, "subsystem_device"))
		return u16_field(l, v, key, &d->subsystem_device, &s->has_ssid);
	if (!strcmp(key, "class")) {
		r = want_uint(l, v, key, 0, 0xffffff, &u);
		d->class_code = (uint32_t)u;
		s->has_class = true;
		return r;
	}
	if (!strcmp(key, "revision")) {
		r = want_uint(l, v, key, 0, 0xff, &u);
		d->revision = (uint8_t)u;
		s->has_revision = true;
		return r;
	}
	if (!strcmp(key, "driver") || !strcmp(key, "driver_override")) {
		char **dst = key[6] ? &d->driver_override : &d->driver;
		if (is_null(v))
			return 0;
		if (!key[6])
			s->driver_node = v;
		return want_name(l, v, key, dst);
	}
	if (!strcmp(key, "label"))
		return scenario_dup_string(l, v, key, &d->label);
	if (!strcmp(key, "iommu_group")) {
		if (is_null(v))
			return 0;
		r = want_int(l, v, key, 0, INT32_MAX, &i);
		d->iommu_group = i;
		s->has_group = true;
		s->group_node = v;
		return r;
	}
	if (!strcmp(key, "numa_node")) {
		r = want_int(l, v, key, -1, 1023, &i);
		d->numa_node = (int)i;
		s->has_numa = true;
		return r;
	}
	if (!strcmp(key, "vfio_cdev")) {
		r = want_int(l, v, key, 0, (1 << 20) - 1, &i);
		d->vfio_index = i;
		s->has_vfio_index = true;
		return r;
	}
	if (!strcmp(key, "vfio_node")) {
		s->vfio_node_node = v;
		return parse_node_spec(l, v, "vfio_node", &d->vfio_node);
	}
	if (!strcmp(key, "config")) {
		s->has_config = true;
		return hex_config(l, v, d);
	}
	if (!strcmp(key, "config_readable")) { /* a recording by a reader the kernel gave only part */
		r = want_uint(l, v, key, CONFIG_MIN, CONFIG_MAX, &u);
		d->config_readable = (size_t)u;
		return r;
	}
	if (!strcmp(key, "sriov"))
		return walk_map(l, v, "sriov", "totalvfs, vf_device", sriov_key, d);
	if (!strcmp(key, "irq")) {
		r = want_uint(l, v, key, 0, UINT32_MAX, &u);
		d->irq = (uint32_t)u;
		s->has_irq = true;
		return r;
	}
	if (!strcmp(key, "resources"))
		return parse_resources(l, v, d);
	return 1;
}

#define DEVICE_KEYS                                                                                   \
	"address, parent, physfn, vendor, device, subsystem_vendor, subsystem_device, class, revision, " \
	"driver, driver_override, label, iommu_group, numa_node, vfio_cdev, vfio_node, config, config_readable, " \
	"sriov, irq, resources"

static int parse_devices(struct loader *l, yaml_node_t *v)
{
	struct host_model *m = l->m;
	int r = want_kind(l, v, "devices", YAML_SEQUENCE_NODE);
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);

	if (r < 0)
		return r;
	m->devices = calloc(n ? n : 1, sizeof(*m->devices));
	l->src = calloc(n ? n : 1, sizeof(*l->src));
	if (!m->devices || !l->src)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *dn = item(l, it);
		struct host_device *d = &m->devices[m->n_devices];
		struct dev_src *s = &l->src[m->n_devices];
		bool has_addr = false;

		m->n_devices++;
		d->parent = d->physfn = -1;
		d->iommu_group = d->vfio_index = -1;
		d->numa_node = -1;
		d->vfio_node = (struct dev_node_spec){.mode = 0600, .present = true};
		d->line = (unsigned)dn->start_mark.line + 1;
		s->node = dn;
		r = walk_map(l, dn, "device", DEVICE_KEYS, device_key, &(struct dev_ctx){d, s});
		if (r < 0)
			return r;
		for (yaml_node_pair_t *p = dn->data.mapping.pairs.start; p < dn->data.mapping.pairs.top; p++)
			has_addr |= !strcmp(scalar(yaml_document_get_node(&l->doc, p->key)), "address");
		if (!has_addr)
			return scenario_fail(l, dn, "devices", "a device needs address: (e.g. 0000:01:00.0)");
		if (d->config_readable && !d->config)
			return scenario_fail(l, dn, "config_readable", "needs config: (the bytes it serves part of)");
		if (d->config_readable > d->config_len)
			return scenario_fail(l, dn, "config_readable", "%zu bytes, but the config file has %zu",
			                     d->config_readable, d->config_len);
	}
	return 0;
}

/* ---------- groups and dev ---------- */

static int group_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct group_spec *g = obj;

	if (!strcmp(key, "id")) {
		uint64_t u;
		int r = want_uint(l, v, key, 0, INT32_MAX, &u);
		g->id = (uint32_t)u;
		g->has_id = true;
		return r;
	}
	if (!strcmp(key, "type"))
		return want_group_type(l, v, key, &g->type);
	if (!strcmp(key, "node"))
		return parse_node_spec(l, v, "node", &g->spec);
	return 1;
}

static int parse_groups(struct loader *l, yaml_node_t *v)
{
	int r = want_kind(l, v, "iommu_groups", YAML_SEQUENCE_NODE);
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);

	if (r < 0)
		return r;
	l->group_specs = calloc(n ? n : 1, sizeof(*l->group_specs));
	if (!l->group_specs)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		struct group_spec *g = &l->group_specs[l->n_group_specs++];
		g->node = item(l, it);
		g->spec = (struct dev_node_spec){.mode = 0600, .present = true};
		r = walk_map(l, g->node, "an iommu_groups entry", "id, type, node", group_key, g);
		if (r < 0)
			return r;
		if (!g->has_id)
			return scenario_fail(l, g->node, "iommu_groups", "a group entry needs id:");
	}
	return 0;
}

/* cpu: what proc/cpuinfo says (the doctor's vendor hint, "is this a VM"). */
static int cpu_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	static const char *const vendors[][2] = {
		{"intel", "GenuineIntel"}, {"amd", "AuthenticAMD"}, {"hygon", "HygonGenuine"},
	};
	const char *s = NULL;
	int r;

	if (!strcmp(key, "hypervisor"))
		return want_bool(l, v, key, &l->m->cpu_hypervisor);
	if (strcmp(key, "vendor"))
		return 1;
	r = want_string(l, v, key, &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < VK_ARRAY_SIZE(vendors); i++)
		if (!strcmp(s, vendors[i][0]) || !strcmp(s, vendors[i][1])) {
			free(l->m->cpu_vendor);
			l->m->cpu_vendor = strdup(vendors[i][1]);
			return l->m->cpu_vendor ? 0 : vk_error_set(l->err, ENOMEM, "out of memory");
		}
	return scenario_fail(l, v, key, "'%s' is not a CPU vendor (expected intel, amd or hygon)", s);
}

static int dev_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	if (!strcmp(key, "iommu"))
		return parse_node_spec(l, v, "dev.iommu", &l->m->dev_iommu);
	if (!strcmp(key, "vfio"))
		return parse_node_spec(l, v, "dev.vfio", &l->m->dev_vfio);
	return 1;
}

/* ---------- top level ---------- */

static int top_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	uint64_t u;
	int r;

	if (!strcmp(key, "version")) {
		r = want_uint(l, v, key, 0, UINT32_MAX, &u);
		if (r == 0 && u != 1)
			return scenario_fail(l, v, key, "format version %llu is not supported (this fakesys reads version 1)",
			            (unsigned long long)u);
		*(bool *)obj = true;
		return r;
	}
	if (!strcmp(key, "name"))
		return want_name(l, v, key, &l->m->name);
	if (!strcmp(key, "description"))
		return scenario_dup_string(l, v, key, &l->m->description);
	if (!strcmp(key, "kernel"))
		return walk_map(l, v, "kernel",
		                "release, iommu, iommu_units, group_type, vfio_device_cdev, iommufd, noiommu, "
		                "interrupt_remapping, cmdline, modules, drivers, vfio_cdev_major, vfio_group_major, "
		                "iommufd_minor",
		                kernel_key, NULL);
	if (!strcmp(key, "devices"))
		return parse_devices(l, v);
	if (!strcmp(key, "iommu_groups"))
		return parse_groups(l, v);
	if (!strcmp(key, "cpu")) {
		r = walk_map(l, v, "cpu", "vendor, hypervisor", cpu_key, NULL);
		if (r == 0 && !l->m->cpu_vendor)
			r = scenario_fail(l, v, "cpu", "needs vendor: (intel, amd or hygon)");
		return r;
	}
	if (!strcmp(key, "dev"))
		return walk_map(l, v, "dev", "iommu, vfio", dev_key, NULL);
	if (!strcmp(key, "faults"))
		return scenario_parse_faults(l, v);
	if (!strcmp(key, "steps"))
		return scenario_parse_steps(l, v);
	if (!strcmp(key, "expect"))
		return scenario_parse_expect(l, v);
	return 1;
}


static void model_defaults(struct host_model *m)
{
	m->iommu = IOMMU_NONE;
	m->vfio_cdev_major = 511;
	m->vfio_group_major = 243;
	m->iommufd_minor = 122;
	m->dev_iommu = (struct dev_node_spec){.mode = 0660, .present = true};
	m->dev_vfio = (struct dev_node_spec){.mode = 0666, .present = true};
}

static int load_doc(struct loader *l, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_node_t *root;
	bool version = false;
	int r;

	if (!yaml_parser_initialize(&p))
		return vk_error_set(l->err, ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &l->doc)) {
		r = vk_error_set(l->err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s%s%s", l->file,
		                 p.problem_mark.line + 1, p.problem_mark.column + 1,
		                 p.problem ? p.problem : "malformed", p.context ? " " : "",
		                 p.context ? p.context : "");
		yaml_parser_delete(&p);
		memset(&l->doc, 0, sizeof(l->doc));
		return r;
	}
	/* A second document in the same file is almost always a mistake (an empty
	 * one after a trailing '---' is harmless). */
	yaml_document_t extra;
	if (yaml_parser_load(&p, &extra)) {
		yaml_node_t *more = yaml_document_get_root_node(&extra);
		size_t line = extra.start_mark.line + 1;
		bool empty = !more || is_null(more);
		yaml_document_delete(&extra);
		if (!empty) {
			yaml_parser_delete(&p);
			return vk_error_set(l->err, EINVAL, "%s:%zu: a scenario is one YAML document; remove the second '---'",
			                    l->file, line);
		}
	}
	yaml_parser_delete(&p);
	root = yaml_document_get_root_node(&l->doc);
	if (!root)
		return vk_error_set(l->err, EINVAL, "%s: empty scenario (expected a mapping with version: 1)", l->file);
	r = walk_map(l, root, "the scenario",
	             "version, name, description, kernel, cpu, devices, iommu_groups, dev, faults, steps, expect",
	             top_key, &version);
	if (r < 0)
		return r;
	if (!version)
		return scenario_fail(l, root, NULL, "missing 'version: 1' at the top (the scenario format version)");
	return 0;
}

int host_model_load_buffer(const char *name, const char *buf, size_t len, struct host_model **out,
                           struct vk_error *err)
{
	struct loader l = {.file = name, .err = err};
	int r;

	*out = NULL;
	l.m = calloc(1, sizeof(*l.m));
	if (!l.m)
		return vk_error_set(err, ENOMEM, "out of memory");
	model_defaults(l.m);
	l.m->source = strdup(name);
	r = l.m->source ? load_doc(&l, buf, len) : vk_error_set(err, ENOMEM, "out of memory");
	if (r == 0)
		r = scenario_complete(&l);
	yaml_document_delete(&l.doc);
	free(l.src);
	for (size_t i = 0; i < l.n_group_specs; i++)
		free(l.group_specs[i].type);
	free(l.group_specs);
	if (r < 0) {
		host_model_free(l.m);
		return r;
	}
	*out = l.m;
	return 0;
}

int host_model_load(const char *path, struct host_model **out, struct vk_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vk_error_set(err, errno, "%s: cannot open scenario: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return vk_error_set(err, errno, "%s: cannot stat scenario: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vk_error_set(err, EINVAL, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > SCENARIO_MAX_BYTES)
		return vk_error_set(err, EFBIG, "%s: %lld bytes is larger than a scenario may be (%u MiB)", path,
		                    (long long)st.st_size, SCENARIO_MAX_BYTES >> 20);
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
	return host_model_load_buffer(path, buf, n, out, err);
}

void host_model_free(struct host_model *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->description);
	free(m->source);
	free(m->default_group_type);
	free(m->kernel_release);
	free(m->cmdline);
	free(m->cpu_vendor);
	for (size_t i = 0; i < m->n_modules; i++) {
		struct kmodule *k = &m->modules[i];
		for (size_t j = 0; j < k->n_params; j++) {
			free(k->param_names[j]);
			free(k->param_values[j]);
		}
		free(k->param_names);
		free(k->param_values);
		free(k->name);
	}
	free(m->modules);
	for (size_t i = 0; i < m->n_drivers; i++)
		free(m->drivers[i]);
	free(m->drivers);
	for (size_t i = 0; i < m->n_devices; i++) {
		free(m->devices[i].driver);
		free(m->devices[i].driver_override);
		free(m->devices[i].label);
		free(m->devices[i].config);
		free(m->devices[i].vfs);
		free(m->devices[i].resources);
	}
	free(m->devices);
	for (size_t i = 0; i < m->n_groups; i++) {
		free(m->groups[i].type);
		free(m->groups[i].members);
	}
	free(m->groups);
	fakesys_faults_free(m->faults, m->n_faults);
	fakesys_faults_free(m->steps, m->n_steps);
	fakesys_expect_free(m->expect);
	for (size_t i = 0; i < m->n_dynids; i++)
		free(m->dynids[i].driver);
	free(m->dynids);
	free(m);
}

const struct host_device *host_model_find(const struct host_model *m, const struct pci_addr *a)
{
	size_t lo = 0, hi = m->n_devices;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = pci_addr_cmp(a, &m->devices[mid].addr);
		if (c == 0)
			return &m->devices[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct host_group *host_model_group(const struct host_model *m, uint32_t id)
{
	size_t lo = 0, hi = m->n_groups;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->groups[mid].id == id)
			return &m->groups[mid];
		if (id < m->groups[mid].id)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool group_held_by_vfio(const struct host_model *m, const struct host_group *g)
{
	for (size_t k = 0; k < g->n_members; k++) {
		/* vfio_group_find_or_alloc(): any vfio-pci-core driver, variants too */
		if (pci_driver_is_vfio_pci(m->devices[g->members[k]].driver))
			return true;
	}
	return false;
}

void host_model_assign_group_minors(struct host_model *m)
{
	/* release first, so that a freed minor can be taken again */
	for (size_t g = 0; g < m->n_groups; g++)
		if (!group_held_by_vfio(m, &m->groups[g]))
			m->groups[g].vfio_minor = -1;
	for (size_t g = 0; g < m->n_groups; g++) {
		struct host_group *grp = &m->groups[g];
		if (grp->vfio_minor >= 0 || !group_held_by_vfio(m, grp))
			continue;
		for (int64_t k = 0;; k++) {
			bool used = false;
			for (size_t j = 0; j < m->n_groups && !used; j++)
				used = m->groups[j].vfio_minor == k;
			if (!used) {
				grp->vfio_minor = k;
				break;
			}
		}
	}
}

bool host_model_has_module(const struct host_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_modules; i++)
		if (!strcmp(m->modules[i].name, name))
			return true;
	return false;
}

bool host_model_has_vfio(const struct host_model *m)
{
	/* vfio_pci and vfio_pci_core (which every variant driver needs) depend on vfio */
	return host_model_has_module(m, "vfio") || host_model_has_module(m, "vfio_pci") ||
	       host_model_has_module(m, "vfio_pci_core");
}

/* ---- readers shared with the other parsers (scenario_internal.h) ---- */

int scenario_walk_map(struct loader *l, yaml_node_t *map, const char *what, const char *known, scenario_key_fn fn,
                      void *obj)
{
	return walk_map(l, map, what, known, fn, obj);
}

int scenario_want_string(struct loader *l, yaml_node_t *n, const char *key, const char **out)
{
	return want_string(l, n, key, out);
}

int scenario_want_uint(struct loader *l, yaml_node_t *n, const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	return want_uint(l, n, key, min, max, out);
}
