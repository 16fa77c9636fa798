/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys record: the kernel side of a host (read through the root, read.c):
 * release and command line, CPU vendor, IOMMU units and interrupt remapping,
 * IOMMU groups, modules and the parameters of the VFIO ones, the VFIO and
 * iommufd device numbers, the PCI drivers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/hostinfo.h>

#include "record.h"

static int cmp_group(const void *a, const void *b)
{
	int64_t x = ((const struct rgroup *)a)->id, y = ((const struct rgroup *)b)->id;
	return (x > y) - (x < y);
}

/* r->groups is sorted by id once read_kernel() is done. */
struct rgroup *find_group(struct rec *r, int64_t id)
{
	struct rgroup key = {.id = id};
	return r->n_groups ? bsearch(&key, r->groups, r->n_groups, sizeof(*r->groups), cmp_group) : NULL;
}

static bool cmdline_keep(const char *t)
{
	static const char *const prefixes[] = {"intel_iommu=", "amd_iommu=", "iommu=", "iommu.", "vfio",
	                                       "pci=", "pcie_acs_override=", "kvm"};
	for (size_t i = 0; i < VK_ARRAY_SIZE(prefixes); i++)
		if (!strncmp(t, prefixes[i], strlen(prefixes[i]))) {
			/* kvm*.x only: module parameters of kvm, kvm_intel, kvm_amd */
			return strcmp(prefixes[i], "kvm") != 0 || strchr(t, '.') != NULL;
		}
	return false;
}

static int redact_cmdline(struct rec *r, char *cmdline)
{
	size_t kept = 0, dropped = 0, o = 0;
	_cleanup_free_ char *out = calloc(1, strlen(cmdline) + 1);
	if (!out)
		return -ENOMEM;
	for (char *save = NULL, *t = strtok_r(cmdline, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (!cmdline_keep(t)) {
			dropped++;
			continue;
		}
		o += (size_t)sprintf(out + o, "%s%s", kept++ ? " " : "", t);
	}
	strcpy(cmdline, out);
	if (dropped)
		note(r, "kernel.cmdline: %zu parameter(s) unrelated to IOMMU/VFIO left out (--redact)", dropped);
	return 0;
}

struct rmod *find_mod(struct rec *r, const char *name)
{
	for (size_t i = 0; i < r->n_mods; i++)
		if (!strcmp(r->mods[i].name, name))
			return &r->mods[i];
	return NULL;
}

int add_mod(struct rec *r, const char *name, bool builtin, struct rmod **out)
{
	struct rmod *nm = realloc(r->mods, (r->n_mods + 1) * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	r->mods = nm;
	struct rmod *m = &r->mods[r->n_mods];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	if (!m->name)
		return -ENOMEM;
	m->builtin = builtin;
	r->n_mods++;
	if (out)
		*out = m;
	return 0;
}

static int read_modules(struct rec *r)
{
	static const char *const with_params[] = {"vfio", "vfio_iommu_type1", "vfio_pci", "iommufd"};
	char **names = NULL, rel[PATH_MAX];
	size_t n = 0;
	int k = list_dir(r, -1, "sys/module", &names, &n);
	if (k == -ENOMEM)
		return k;
	r->no_modules = k == -ENOENT;
	for (size_t i = 0; i < n; i++) {
		struct rmod *m;
		if (!name_ok(names[i])) {
			note(r, "skipped module '%.60s': not a module name", names[i]);
			continue;
		}
		snprintf(rel, sizeof(rel), "sys/module/%s/initstate", names[i]);
		if (add_mod(r, names[i], !exists(r, rel), &m) < 0)
			goto oom;
		bool want = false;
		for (size_t j = 0; j < VK_ARRAY_SIZE(with_params); j++)
			want |= !strcmp(names[i], with_params[j]);
		if (!want)
			continue;
		char **pn = NULL;
		size_t np = 0;
		snprintf(rel, sizeof(rel), "sys/module/%s/parameters", names[i]);
		if (list_dir(r, -1, rel, &pn, &np) == -ENOMEM)
			goto oom;
		_cleanup_close_ int pfd = vk_root_openat(r->root, rel, O_RDONLY | O_DIRECTORY);
		for (size_t j = 0; j < np && pfd >= 0; j++) {
			char what[PATH_MAX];
			char *val = NULL;
			snprintf(what, sizeof(what), "sys/module/%s/parameters/%s", names[i], pn[j]);
			if (!name_ok(pn[j]) || read_text(r, pfd, pn[j], what, &val) < 0)
				continue;
			if (!text_ok(val)) {
				note(r, "skipped %s: not one line of UTF-8 text", what);
				free(val);
				continue;
			}
			char **a = realloc(m->pn, (m->np + 1) * sizeof(char *));
			char **b = a ? realloc(m->pv, (m->np + 1) * sizeof(char *)) : NULL;
			if (a)
				m->pn = a;
			if (b)
				m->pv = b;
			char *dn = strdup(pn[j]);
			if (!a || !b || !dn) {
				free(dn);
				free(val);
				vk_strv_free(pn, np);
				goto oom;
			}
			m->pn[m->np] = dn;
			m->pv[m->np++] = val;
		}
		vk_strv_free(pn, np);
	}
	vk_strv_free(names, n);
	return 0;
oom:
	vk_strv_free(names, n);
	return -ENOMEM;
}
/* The value of the first "@key<tabs>: value" line of @s, as a malloc'd
 * string (NULL: none, or ENOMEM). */
static char *cpuinfo_value(const char *s, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, kl) || (p[kl] != '\t' && p[kl] != ' ' && p[kl] != ':'))
			continue;
		const char *v = strchr(p, ':');
		if (!v || (strchr(p, '\n') && v > strchr(p, '\n')))
			continue;
		v += 1 + (v[1] == ' ');
		return strndup(v, strcspn(v, "\n"));
	}
	return NULL;
}

/* A flags line fakesys loads: names of [a-z0-9_], one space apart, each once
 * (platform.c's rules). */
static bool flags_ok(const char *f)
{
	if (!*f)
		return false;
	for (const char *p = f; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == ' '))
			return false;
	for (const char *p = f; *p; p += strcspn(p, " "), p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");
		for (const char *q = p + n + strspn(p + n, " "); *q; q += strcspn(q, " "), q += strspn(q, " "))
			if (strcspn(q, " ") == n && !strncmp(p, q, n))
				return false;
	}
	return true;
}

/*
 * proc/cpuinfo: the vendor, whether the host is a VM (the "hypervisor" flag),
 * the number of CPUs, and the first CPU's model name and flags, so that a
 * replay keeps what virt-host-validate and others read (vmx/svm); nothing
 * that identifies the machine.
 */
static void read_cpuinfo(struct rec *r)
{
	static const char *const vendors[][2] = {
		{"GenuineIntel", "intel"},
		{"AuthenticAMD", "amd"},
		{"HygonGenuine", "hygon"},
	};
	_cleanup_free_ char *s = NULL;

	if (read_text(r, -1, "proc/cpuinfo", NULL, &s) < 0)
		return;
	for (size_t i = 0; i < VK_ARRAY_SIZE(vendors); i++)
		if (strstr(s, vendors[i][0]))
			r->cpu_vendor = vendors[i][1];
	r->cpu_hypervisor = strstr(s, " hypervisor ") || strstr(s, " hypervisor\n") ||
	                    (strlen(s) > 11 && !strcmp(s + strlen(s) - 11, " hypervisor"));
	if (!r->cpu_vendor) {
		note(r, "proc/cpuinfo names no CPU vendor fakesys knows (intel, amd, hygon): not recorded");
		return;
	}
	for (const char *p = s; p; p = strstr(p + 1, "\nprocessor"))
		if (!strncmp(p, "processor", 9) || !strncmp(p, "\nprocessor", 10))
			r->cpu_count++;
	if (r->cpu_count > 8192) {
		note(r, "proc/cpuinfo: %u CPUs, more than fakesys models (8192): count not recorded", r->cpu_count);
		r->cpu_count = 0;
	}
	r->cpu_model = cpuinfo_value(s, "model name");
	if (r->cpu_model && (!*r->cpu_model || strlen(r->cpu_model) > 63 || strchr(r->cpu_model, '\t') ||
	                     !utf8_valid(r->cpu_model))) {
		note(r, "proc/cpuinfo: model name '%.63s' not recorded (1 to 63 bytes of text)", r->cpu_model);
		free(r->cpu_model);
		r->cpu_model = NULL;
	}
	r->cpu_flags = cpuinfo_value(s, "flags");
	if (r->cpu_flags && !flags_ok(r->cpu_flags)) {
		note(r, "proc/cpuinfo: flags not recorded (not names of [a-z0-9_], each once)");
		free(r->cpu_flags);
		r->cpu_flags = NULL;
	}
}

/* sys/firmware/acpi/tables: whether the firmware has the IOMMUs' tables
 * (virt-host-validate looks for them; whoever may list the directory may see
 * the names, even where reading the tables needs root). */
static void read_acpi(struct rec *r)
{
	if (!exists(r, "sys/firmware/acpi/tables"))
		return;
	r->acpi_known = true;
	r->acpi_dmar = exists(r, "sys/firmware/acpi/tables/DMAR");
	r->acpi_ivrs = exists(r, "sys/firmware/acpi/tables/IVRS");
}

/* proc/sys/kernel/osrelease and proc/cmdline (redacted with --redact). */
static int read_release_cmdline(struct rec *r)
{
	char *s = NULL;
	int k;

	if (read_text(r, -1, "proc/sys/kernel/osrelease", NULL, &s) == 0) {
		if (text_ok(s))
			r->release = s;
		else
			free(s);
	}
	s = NULL;
	if (read_text(r, -1, "proc/cmdline", NULL, &s) == 0) {
		if (text_ok(s)) {
			r->cmdline = s;
			if (r->o->redact && (k = redact_cmdline(r, s)) < 0)
				return k;
		} else {
			note(r, "skipped proc/cmdline: not one line of UTF-8 text");
			free(s);
		}
	}
	return 0;
}

/* sys/class/iommu: the kind and number of units; interrupt remapping. */
static int read_iommu_units(struct rec *r)
{
	/* the scenario's name of each kind (vk_iommu_unit_kind()), and the file
	 * whose bit 3 says whether it can remap interrupts */
	static const struct {
		const char *vendor, *feat, *file;
	} kinds[] = {
		[VK_IOMMU_KIND_INTEL] = {"intel", "intel-iommu", "ecap"},
		[VK_IOMMU_KIND_AMD] = {"amd", NULL, NULL}, /* features bit 3 is not remapping: see below */
		[VK_IOMMU_KIND_SMMU] = {"arm-smmu-v3", NULL, NULL},
		[VK_IOMMU_KIND_VIRTIO] = {"virtio", NULL, NULL},
	};
	char **names = NULL, rel[PATH_MAX];
	size_t n = 0;
	char *s = NULL;

	if (list_dir(r, -1, "sys/class/iommu", &names, &n) == -ENOMEM)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		enum vk_iommu_kind kd = vk_iommu_unit_kind(names[i]);
		if (kd == VK_IOMMU_KIND_UNKNOWN) {
			note(r, "sys/class/iommu/%.60s: unknown IOMMU kind; not recorded", names[i]);
			continue;
		}
		if (r->iommu && strcmp(r->iommu, kinds[kd].vendor)) {
			note(r, "sys/class/iommu/%.60s: a second IOMMU kind; not recorded", names[i]);
			continue;
		}
		if (!r->iommu && kinds[kd].feat) {
			snprintf(rel, sizeof(rel), "sys/class/iommu/%s/%s/%s", names[i], kinds[kd].feat, kinds[kd].file);
			uint64_t bits;
			if (read_text(r, -1, rel, NULL, &s) == 0) {
				const char *t = !strncmp(s, "0x", 2) ? s + 2 : s;
				if (parse_u64(t, 16, &bits))
					r->ir = bits & 8; /* interrupt remapping: ecap.IR / features bit 3 */
			}
			free(s);
			s = NULL;
		}
		r->iommu = kinds[kd].vendor;
		if (r->units < 64)
			r->units++;
	}
	vk_strv_free(names, n);
	/* whether remapping is in use, for every vendor (the ecap bit says only
	 * "supported"); an unreadable /proc/interrupts leaves the ecap's answer */
	int ir = r->iommu ? vk_interrupt_remapping_in_use(r->root) : -ENOENT;
	if (ir >= 0)
		r->ir = ir;
	return 0;
}

/* sys/kernel/iommu_groups: ids (sorted, unique), types, no-IOMMU groups. */
static int read_groups(struct rec *r)
{
	char **names = NULL, rel[PATH_MAX];
	size_t n = 0, o = 0;
	char *s = NULL;

	if (list_dir(r, -1, "sys/kernel/iommu_groups", &names, &n) == -ENOMEM)
		return -ENOMEM;
	r->groups = calloc(n ? n : 1, sizeof(*r->groups));
	if (!r->groups) {
		vk_strv_free(names, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct rgroup *g = &r->groups[r->n_groups];
		uint64_t id;
		if (!parse_u64(names[i], 10, &id) || id > INT32_MAX) {
			note(r, "skipped sys/kernel/iommu_groups/%.60s: not a group number", names[i]);
			continue;
		}
		g->id = (int64_t)id;
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%s/type", names[i]);
		if (read_text(r, -1, rel, NULL, &s) == 0) {
			static const char *const types[] = {"DMA", "DMA-FQ", "identity", "blocked", "unmanaged"};
			for (size_t j = 0; j < VK_ARRAY_SIZE(types); j++)
				if (!strcmp(s, types[j]))
					g->type = s;
			if (!g->type) {
				note(r, "sys/kernel/iommu_groups/%s/type: '%.40s' is not a group type; left out", names[i], s);
				free(s);
			}
		}
		s = NULL;
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%s/name", names[i]);
		if (read_text(r, -1, rel, NULL, &s) == 0)
			g->noiommu = !strcmp(s, "vfio-noiommu");
		free(s);
		s = NULL;
		r->noiommu |= g->noiommu;
		r->n_groups++;
	}
	vk_strv_free(names, n);
	qsort(r->groups, r->n_groups, sizeof(*r->groups), cmp_group);
	for (size_t i = 0; i < r->n_groups; i++) {
		if (o && r->groups[i].id == r->groups[o - 1].id) { /* "1" and "01" */
			note(r, "sys/kernel/iommu_groups: group %lld listed twice; kept one", (long long)r->groups[i].id);
			free(r->groups[i].type);
			continue;
		}
		r->groups[o++] = r->groups[i];
	}
	r->n_groups = o;
	if (r->iommu && r->noiommu) {
		note(r, "no-IOMMU groups on a host with an IOMMU; recorded the IOMMU");
		r->noiommu = false;
	}
	return 0;
}

/* iommufd's minor, the VFIO cdev and group majors. */
static int read_vfio_numbers(struct rec *r)
{
	char **names = NULL, rel[PATH_MAX];
	size_t n = 0;
	char *s = NULL;
	unsigned maj, min;

	if (read_text(r, -1, "sys/class/misc/iommu/dev", NULL, &s) == 0 && sscanf(s, "%u:%u", &maj, &min) == 2 &&
	    min <= 255) {
		r->iommufd = true;
		r->have_minor = true;
		r->iommufd_minor = min;
	}
	free(s);
	s = NULL;
	if (exists(r, "dev/vfio/devices"))
		r->cdev = true;
	if (list_dir(r, -1, "sys/class/vfio", &names, &n) == -ENOMEM)
		return -ENOMEM;
	for (size_t i = 0; i < n && !r->have_group_major; i++) {
		snprintf(rel, sizeof(rel), "sys/class/vfio/%s/dev", names[i]);
		if (!name_ok(names[i]) || read_text(r, -1, rel, NULL, &s) < 0)
			continue;
		if (sscanf(s, "%u:%u", &maj, &min) == 2 && maj >= 1 && maj <= 4095) {
			r->group_major = maj;
			r->have_group_major = true;
		}
		free(s);
		s = NULL;
	}
	vk_strv_free(names, n);
	return 0;
}

/* sys/bus/pci/drivers, sorted (list_dir()). */
static int read_drivers(struct rec *r)
{
	char **names = NULL;
	size_t n = 0;

	if (list_dir(r, -1, "sys/bus/pci/drivers", &names, &n) == -ENOMEM)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!name_ok(names[i])) {
			note(r, "skipped driver '%.60s': not a driver name", names[i]);
			continue;
		}
		if (strv_push(&r->drivers, &r->n_drivers, strdup(names[i])) < 0) {
			vk_strv_free(names, n);
			return -ENOMEM;
		}
	}
	vk_strv_free(names, n);
	return 0;
}

int read_kernel(struct rec *r)
{
	int k;

	read_cpuinfo(r);
	read_acpi(r);
	if ((k = read_release_cmdline(r)) < 0 || (k = read_iommu_units(r)) < 0 || (k = read_groups(r)) < 0 ||
	    (k = read_modules(r)) < 0)
		return k;
	struct rmod *vm = find_mod(r, "vfio");
	for (size_t i = 0; vm && !r->iommu && i < vm->np; i++)
		if (!strcmp(vm->pn[i], "enable_unsafe_noiommu_mode") && strchr("yY1", vm->pv[i][0]))
			r->noiommu = true;
	if ((k = read_vfio_numbers(r)) < 0 || (k = read_drivers(r)) < 0)
		return k;
	return 0;
}
