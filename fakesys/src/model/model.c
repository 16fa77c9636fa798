/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host model's queries and lifetime: lookups by address and group id,
 * modules, drivers, /dev/vfio/<group> minors, and freeing.  Nothing here reads
 * YAML; the parsers (scenario.c) and the checks (model_check.c) call down to it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include "vk_strv.h"
#include <vfiokit/fakesys_live.h>
#include <vfiokit/host_model.h>
#include <vfiokit/resolver.h>

#include "model/model_internal.h"

const char *const host_known_drivers[] = {
	"vfio-pci",
	"pci-stub",
	"pcieport",
	"nvme",
	"ahci",
	"xhci_hcd",
	"ehci-pci",
	"ohci-pci",
	"snd_hda_intel",
	"e1000e",
	"igb",
	"igbvf",
	"igc",
	"ixgbe",
	"ixgbevf",
	"i40e",
	"iavf",
	"ice",
	"mlx4_core",
	"mlx5_core",
	"bnxt_en",
	"qede",
	"virtio-pci",
	"nvidia",
	"nouveau",
	"amdgpu",
	"radeon",
	"i915",
	"xe",
	"ast",
	"mgag200",
	"vmd",
	"megaraid_sas",
	"mpt3sas",
	"i801_smbus",
	"lpc_ich",
	"shpchp",
	"idxd",
	"qat_4xxx",
	/* vfio-pci variant drivers: the .name of each struct pci_driver under drivers/vfio/pci/ */
	"mlx5_vfio_pci",
	"hisi_acc_vfio_pci",
	"pds_vfio_pci",
	"nvgrace_gpu_vfio_pci",
	"virtio_vfio_pci",
	"qat_vfio_pci",
	"xe-vfio-pci",
	NULL,
};

const char *vk_host_driver_module(const char *driver)
{
	/* Drivers whose module has another name, or that are always built in. */
	static const char *const map[][2] = {
		{"vfio-pci", "vfio_pci"},
		{"xhci_hcd", "xhci_pci"},
		{"ehci-pci", "ehci_pci"},
		{"ohci-pci", "ohci_pci"},
		{"virtio-pci", "virtio_pci"},
		{"i801_smbus", "i2c_i801"},
		{"pcieport", NULL},
		{"pci-stub", NULL},
		{"shpchp", NULL},
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

void vk_host_config_read(const struct vk_host_device *d, size_t off, void *buf, size_t len)
{
	size_t have = off < d->config_stored ? d->config_stored - off : 0;
	size_t n = have < len ? have : len;

	if (n)
		memcpy(buf, d->config + off, n);
	memset((uint8_t *)buf + n, 0, len - n);
}

int vk_host_config_writable(struct vk_host_device *d, size_t off, size_t len, uint8_t **out)
{
	if (off > d->config_len || len > d->config_len - off)
		return -ERANGE;
	if (off + len > d->config_stored) {
		uint8_t *n = realloc(d->config, off + len);
		if (!n)
			return -ENOMEM;
		memset(n + d->config_stored, 0, off + len - d->config_stored);
		d->config = n;
		d->config_stored = off + len;
	}
	*out = d->config + off;
	return 0;
}

/* The length of @b without its zero tail.  Word at a time: a synthesized
 * PCIe space is mostly a tail of zeros to skip. */
static size_t nonzero_len(const uint8_t *b, size_t n)
{
	while (n % sizeof(uint64_t) && !b[n - 1])
		n--;
	while (n >= sizeof(uint64_t)) {
		uint64_t w;
		memcpy(&w, b + n - sizeof(w), sizeof(w));
		if (w)
			break;
		n -= sizeof(w);
	}
	while (n && !b[n - 1])
		n--;
	return n;
}

int vk_host_config_set(struct vk_host_device *d, const uint8_t *bytes, size_t n, size_t len)
{
	if (n > len)
		return -EINVAL;
	size_t keep = nonzero_len(bytes, n);
	uint8_t *c = NULL;
	if (keep && !(c = malloc(keep)))
		return -ENOMEM;
	if (keep)
		memcpy(c, bytes, keep);
	free(d->config);
	d->config = c;
	d->config_stored = keep;
	d->config_len = len;
	return 0;
}

void host_device_clear(struct vk_host_device *d)
{
	free(d->driver);
	free(d->driver_override);
	free(d->label);
	free(d->config);
	free(d->vfs);
	free(d->resources);
	for (size_t i = 0; i < d->n_netifs; i++)
		free(d->netifs[i].name);
	free(d->netifs);
	memset(d, 0, sizeof(*d));
}

void vk_host_model_free(struct vk_host_model *m)
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
	free(m->cpu_model_name);
	for (size_t i = 0; i < m->n_cpu_flags; i++)
		free(m->cpu_flags[i]);
	free(m->cpu_flags);
	for (size_t i = 0; i < m->n_modules; i++) {
		struct vk_kmodule *k = &m->modules[i];
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
	for (size_t i = 0; i < m->n_devices; i++)
		host_device_clear(&m->devices[i]);
	free(m->devices);
	for (size_t i = 0; i < m->n_groups; i++) {
		free(m->groups[i].type);
		free(m->groups[i].members);
	}
	free(m->groups);
	for (size_t i = 0; i < m->n_dynids; i++)
		free(m->dynids[i].driver);
	free(m->dynids);
	free(m->native_ids); /* drivers point into m->drivers */
	free(m);
}

static int cmp_native(const void *a, const void *b)
{
	const struct vk_host_dynid *x = a, *y = b;
	int c = strcmp(x->driver, y->driver);

	if (c)
		return c;
	return x->vendor != y->vendor   ? (x->vendor < y->vendor ? -1 : 1)
	       : x->device != y->device ? (x->device < y->device ? -1 : 1)
	                                : 0;
}

/* The IDs of the devices the scenario binds, per driver (host_model.native_ids):
 * after m->drivers is final, whose names the entries share. */
int host_model_note_native_ids(struct vk_host_model *m)
{
	size_t n = 0;

	m->native_ids = calloc(m->n_devices ? m->n_devices : 1, sizeof(*m->native_ids));
	if (!m->native_ids)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_devices; i++) {
		const struct vk_host_device *d = &m->devices[i];
		if (!d->driver || vk_pci_driver_is_vfio_pci(d->driver) || !strcmp(d->driver, "pci-stub"))
			continue;
		for (size_t k = 0; k < m->n_drivers; k++)
			if (!strcmp(m->drivers[k], d->driver))
				m->native_ids[n++] = (struct vk_host_dynid){.driver = m->drivers[k], .vendor = d->vendor, .device = d->device, .subvendor = 0xffffffffu, .subdevice = 0xffffffffu};
	}
	if (n)
		qsort(m->native_ids, n, sizeof(*m->native_ids), cmp_native);
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (!w || cmp_native(&m->native_ids[w - 1], &m->native_ids[i]))
			m->native_ids[w++] = m->native_ids[i];
	m->n_native_ids = w;
	return 0;
}

const struct vk_host_device *vk_host_model_find(const struct vk_host_model *m, const struct vk_pci_addr *a)
{
	size_t lo = 0, hi = m->n_devices;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = vk_pci_addr_cmp(a, &m->devices[mid].addr);
		if (c == 0)
			return &m->devices[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct vk_host_group *vk_host_model_group(const struct vk_host_model *m, uint32_t id)
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

static bool group_held_by_vfio(const struct vk_host_model *m, const struct vk_host_group *g)
{
	for (size_t k = 0; k < g->n_members; k++) {
		/* vfio_group_find_or_alloc(): any vfio-pci-core driver, variants too */
		if (vk_pci_driver_is_vfio_pci(m->devices[g->members[k]].driver))
			return true;
	}
	return false;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The lowest minor no group holds (the plain scan, for when no memory is left for the sorted one). */
static int64_t lowest_free_minor(const struct vk_host_model *m)
{
	for (int64_t k = 0;; k++) {
		bool used = false;
		for (size_t j = 0; j < m->n_groups && !used; j++)
			used = m->groups[j].vfio_minor == k;
		if (!used)
			return k;
	}
}

/*
 * vfio's group minors come from an IDA (vfio_group_alloc(): ida_alloc_max()),
 * which hands out the lowest free number.  The minors in use are sorted once,
 * then the groups that need one take the gaps in order: O(G log G), where a
 * scan of every group for every candidate was O(G^3) (20,000 groups: minutes).
 */
void vk_host_model_assign_group_minors(struct vk_host_model *m)
{
	_cleanup_free_ int64_t *used = malloc((m->n_groups ? m->n_groups : 1) * sizeof(*used));
	size_t n_used = 0, k = 0;
	int64_t next = 0;

	/* release first, so that a freed minor can be taken again */
	for (size_t g = 0; g < m->n_groups; g++) {
		if (!group_held_by_vfio(m, &m->groups[g]))
			m->groups[g].vfio_minor = -1;
		else if (used && m->groups[g].vfio_minor >= 0)
			used[n_used++] = m->groups[g].vfio_minor;
	}
	if (used)
		qsort(used, n_used, sizeof(*used), cmp_i64);
	for (size_t g = 0; g < m->n_groups; g++) {
		struct vk_host_group *grp = &m->groups[g];
		if (grp->vfio_minor >= 0 || !group_held_by_vfio(m, grp))
			continue;
		if (!used) {
			grp->vfio_minor = lowest_free_minor(m);
			continue;
		}
		for (; k < n_used && used[k] <= next; k++)
			if (used[k] == next)
				next++;
		grp->vfio_minor = next++;
	}
}

bool vk_host_model_has_module(const struct vk_host_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_modules; i++)
		if (!strcmp(m->modules[i].name, name))
			return true;
	return false;
}

bool vk_host_model_has_vfio(const struct vk_host_model *m)
{
	/* vfio_pci and vfio_pci_core (which every variant driver needs) depend on vfio */
	return vk_host_model_has_module(m, "vfio") || vk_host_model_has_module(m, "vfio_pci") ||
	       vk_host_model_has_module(m, "vfio_pci_core");
}

/* ---- drivers (m->drivers sorted and unique while a scenario loads) ---- */

/* Where @name is in m->drivers, or where it would go. */
static size_t driver_pos(const struct vk_host_model *m, const char *name, bool *found)
{
	size_t lo = 0, hi = m->n_drivers;

	*found = false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, m->drivers[mid]);
		if (c == 0)
			return *found = true, mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

size_t model_driver_index(const struct vk_host_model *m, const char *name)
{
	bool found;
	size_t at = driver_pos(m, name, &found);

	if (found)
		return at;
	/* the list is sorted while a scenario loads; should it not be, a scan */
	for (size_t k = 0; k < m->n_drivers; k++)
		if (!strcmp(m->drivers[k], name))
			return k;
	return SIZE_MAX;
}

/* The devices bound to each driver m->drivers[k]: first[k], then next[i]
 * after device i, in address order; n_devices ends a list. */
void model_driver_devices(const struct vk_host_model *m, size_t *first, size_t *next)
{
	size_t n = m->n_devices, last_k = SIZE_MAX;

	for (size_t k = 0; k < m->n_drivers; k++)
		first[k] = n;
	for (size_t i = n; i-- > 0;) { /* backwards: each device goes in front */
		const char *drv = m->devices[i].driver;
		next[i] = n;
		if (!drv)
			continue;
		/* neighbours mostly share a driver: try the last one before searching */
		size_t k = last_k != SIZE_MAX && !strcmp(m->drivers[last_k], drv) ? last_k : model_driver_index(m, drv);
		if (k == SIZE_MAX)
			continue;
		next[i] = first[k];
		first[k] = i;
		last_k = k;
	}
}

bool model_driver_known(const struct vk_host_model *m, const char *name)
{
	bool found;

	for (int i = 0; host_known_drivers[i]; i++)
		if (!strcmp(host_known_drivers[i], name))
			return true;
	driver_pos(m, name, &found);
	return found;
}

int model_add_driver(struct vk_host_model *m, const char *name)
{
	bool found;
	size_t at = driver_pos(m, name, &found);

	if (found)
		return 0;
	char **v = realloc(m->drivers, (m->n_drivers + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->drivers = v;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	memmove(&v[at + 1], &v[at], (m->n_drivers - at) * sizeof(*v));
	v[at] = copy;
	m->n_drivers++;
	return 0;
}

void model_sort_drivers(struct vk_host_model *m)
{
	size_t w = 0;

	if (!m->n_drivers)
		return;
	qsort(m->drivers, m->n_drivers, sizeof(*m->drivers), vk_strptr_cmp);
	for (size_t i = 0; i < m->n_drivers; i++) {
		if (w && !strcmp(m->drivers[w - 1], m->drivers[i]))
			free(m->drivers[i]);
		else
			m->drivers[w++] = m->drivers[i];
	}
	m->n_drivers = w;
}

/* ---- a set of names ---- */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static size_t name_slot(const char **v, size_t cap, const char *name)
{
	size_t i = name_hash(name) & (cap - 1);

	while (v[i] && strcmp(v[i], name))
		i = (i + 1) & (cap - 1);
	return i;
}

int name_set_add(struct name_set *s, const char *name)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		const char **v = calloc(cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i])
				v[name_slot(v, cap, s->v[i])] = s->v[i];
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	size_t i = name_slot(s->v, s->cap, name);
	if (s->v[i])
		return 0;
	s->v[i] = name;
	s->n++;
	return 1;
}

bool name_set_has(const struct name_set *s, const char *name)
{
	return s->cap && s->v[name_slot(s->v, s->cap, name)];
}

void name_set_free(struct name_set *s)
{
	free(s->v);
	*s = (struct name_set){0};
}

/* For the section parsers outside the library (vk_scenario_section.h). */
extern __typeof__(name_set_add) vk__name_set_add __attribute__((alias("name_set_add")));
extern __typeof__(name_set_has) vk__name_set_has __attribute__((alias("name_set_has")));
extern __typeof__(name_set_free) vk__name_set_free __attribute__((alias("name_set_free")));
