/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys record: read a host's sysfs/devfs/procfs (or a tree laid out like
 * them, through the root: read.c) into a struct rec, make it fit the scenario
 * format (every adjustment a note), and write it (scenario_write.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/fakesys_record.h>
#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include "record.h"

/* ---- devices ------------------------------------------------------------ */

/* "pciDDDD:BB": a root bus directory. */
static bool is_root_bus(const char *c)
{
	unsigned d, b;
	char tail;
	return strncmp(c, "pci", 3) == 0 && sscanf(c + 3, "%x:%x%c", &d, &b, &tail) == 2;
}

/*
 * The parent from the device's real path ("../../../devices/pci0000:00/
 * 0000:00:01.0/0000:01:00.0"): the nearest PCI function above it.  A
 * pciDDDD:BB component between them is a VMD-style domain, which the scenario
 * expresses by the parent's other domain.
 */
static void find_parent(struct rec *r, int devicesfd, struct rdev *d)
{
	char target[PATH_MAX];
	int k = read_link(devicesfd, d->bdf, target, sizeof(target));

	if (k < 0) {
		if (k != -EINVAL) /* a plain directory: no path to read a parent from */
			note(r, "%s: cannot read its sysfs path: %s; recorded on a root bus", d->bdf, strerror(-k));
		return;
	}
	char *comps[PATH_MAX / 2];
	size_t n = 0;
	for (char *save = NULL, *c = strtok_r(target, "/", &save); c && n < VK_ARRAY_SIZE(comps);
	     c = strtok_r(NULL, "/", &save))
		comps[n++] = c;
	if (n == 0 || strcmp(comps[n - 1], d->bdf) != 0) {
		note(r, "%s: its sysfs path does not end in its address; recorded on a root bus", d->bdf);
		return;
	}
	for (size_t i = n - 1; i-- > 0;) {
		struct vk_pci_addr a;
		if (vk_pci_addr_parse(comps[i], &a, NULL) == 0) {
			d->have_parent = true;
			d->parent = a;
			return;
		}
		if (!is_root_bus(comps[i]))
			return;
	}
}

/* The resource file: up to 17 lines of three hex numbers (BARs, ROM, IOV and
 * bridge windows), which lspci reads for the regions it prints. */
static void read_resources(struct rec *r, int fd, const char *bdf, struct rdev *d)
{
	_cleanup_free_ char *s = NULL;
	char what[256];
	uint64_t(*res)[3] = calloc(17, sizeof(*res));
	size_t n = 0;

	snprintf(what, sizeof(what), "%s/resource", bdf);
	if (!res || read_text(r, fd, "resource", what, &s) < 0) {
		free(res);
		return;
	}
	for (char *line = s, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		unsigned long long a, b, c;
		char junk;
		if (n == 17 || sscanf(line, "%llx %llx %llx %c", &a, &b, &c, &junk) != 3) {
			note(r, "skipped %s: '%.60s' is not a line of three hex numbers (or more than 17 lines)", what, line);
			free(res);
			return;
		}
		res[n][0] = a;
		res[n][1] = b;
		res[n][2] = c;
		n++;
	}
	if (n == 0) {
		free(res);
		return;
	}
	d->res = res;
	d->n_res = n;
}

/* The ids and numa_node. */
static void read_ids(struct rec *r, int fd, const char *name, struct rdev *d)
{
	_cleanup_free_ char *s = NULL;
	char what[256];

	d->have_vendor = read_num(r, fd, name, "vendor", 0xffff, &d->vendor);
	d->have_device = read_num(r, fd, name, "device", 0xffff, &d->device);
	d->have_svendor = read_num(r, fd, name, "subsystem_vendor", 0xffff, &d->svendor);
	d->have_sdevice = read_num(r, fd, name, "subsystem_device", 0xffff, &d->sdevice);
	d->have_class = read_num(r, fd, name, "class", 0xffffff, &d->class_code);
	d->have_rev = read_num(r, fd, name, "revision", 0xff, &d->revision);
	snprintf(what, sizeof(what), "%s/numa_node", name);
	if (read_text(r, fd, "numa_node", what, &s) == 0) {
		if (parse_i64(s, &d->numa) && d->numa >= -1 && d->numa <= 1023)
			d->have_numa = true;
		else
			note(r, "skipped %s: '%.40s' is not a NUMA node (-1..1023)", what, s);
	}
}

/* config, as much of it as this reader may read. */
static void read_config(struct rec *r, int fd, const char *name, struct rdev *d)
{
	char what[256];
	char *cfg = NULL;
	size_t clen = 0;

	snprintf(what, sizeof(what), "%s/config", name);
	if (read_file(r, fd, "config", what, CONFIG_CAP, true, &cfg, &clen) < 0)
		return;
	/* A reader without CAP_SYS_ADMIN gets the first 64 bytes (128 of a
	 * CardBus bridge): pci_read_config() in drivers/pci/pci-sysfs.c.
	 * Those are recorded with config_readable:, so the replay serves as
	 * much as was read and lspci says "<access denied>" as it did here. */
	if (clen < 64) {
		note(r, "skipped %s: only %zu bytes readable (need the 64-byte header)", what, clen);
		free(cfg);
		return;
	}
	if (clen < 256)
		note(r, "%s: only %zu bytes readable (not root? the kernel gives others the header only); "
		        "recorded with config_readable: %zu, so that the replay serves as much",
		     what, clen, clen);
	d->config = (uint8_t *)cfg;
	d->config_len = clen;
}

/* driver_override and the firmware label (not with --redact). */
static void read_override_and_label(struct rec *r, int fd, const char *name, struct rdev *d)
{
	_cleanup_free_ char *s = NULL;
	char rel[PATH_MAX], what[256];

	snprintf(what, sizeof(what), "%s/driver_override", name);
	if (read_text(r, fd, "driver_override", what, &s) == 0 && strcmp(s, "(null)") != 0 && *s) {
		if (name_ok(s))
			d->override = TAKE_PTR(s);
		else
			note(r, "skipped %s: '%.60s' is not a driver name", what, s);
	}
	free(TAKE_PTR(s));

	if (r->o->redact) {
		if (exists(r, (snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/label", name), rel)))
			note(r, "%s/label: left out (--redact)", name);
		return;
	}
	snprintf(what, sizeof(what), "%s/label", name);
	if (read_text(r, fd, "label", what, &s) == 0) {
		if (utf8_valid(s))
			d->label = TAKE_PTR(s);
		else
			note(r, "skipped %s: not UTF-8 text", what);
	}
}

/* An SR-IOV PF's sriov_totalvfs and sriov_vf_device. */
static void read_sriov(struct rec *r, int fd, const char *name, struct rdev *d)
{
	_cleanup_free_ char *s = NULL;
	char what[256];
	uint64_t v;

	if (!read_num(r, fd, name, "sriov_totalvfs", 65535, &v) || v == 0)
		return;
	d->totalvfs = v;
	snprintf(what, sizeof(what), "%s/sriov_vf_device", name);
	if (read_text(r, fd, "sriov_vf_device", what, &s) == 0) {
		if (parse_u64(s, 16, &v) && v <= 0xffff) {
			d->vf_device = v;
			d->have_vf_device = true;
		} else {
			note(r, "skipped %s: '%.40s' is not a device id", what, s);
		}
	}
}

/* The physfn and driver links; -ENOMEM. */
static int read_physfn_and_driver(struct rec *r, int fd, const char *name, struct rdev *d)
{
	char lnk[PATH_MAX];

	if (read_link(fd, "physfn", lnk, sizeof(lnk)) == 0) {
		if (vk_pci_addr_parse(base_name(lnk), &d->physfn, NULL) == 0)
			d->have_physfn = true;
		else
			note(r, "skipped %s/physfn: link to '%.60s' names no PCI function", name, lnk);
	}
	if (read_link(fd, "driver", lnk, sizeof(lnk)) == 0) {
		const char *b = base_name(lnk);
		if (name_ok(b)) {
			d->driver = strdup(b);
			if (!d->driver)
				return -ENOMEM;
		} else {
			note(r, "skipped %s/driver: '%.60s' is not a driver name", name, b);
		}
	}
	return 0;
}

/* net/<if>: the interfaces its network driver registered (the scenario's
 * net:, which it takes only on such a driver); -ENOMEM. */
static int read_netifs(struct rec *r, int fd, const char *name, struct rdev *d)
{
	char **ifs = NULL;
	size_t nif = 0;

	if (!d->driver || vk_pci_driver_is_vfio_pci(d->driver) || !strcmp(d->driver, "pci-stub") ||
	    !strcmp(d->driver, "pcieport"))
		return 0;
	if (list_dir(r, fd, "net", &ifs, &nif) == 0) {
		for (size_t k = 0; k < nif; k++) {
			const char *n = ifs[k];
			/* dev_valid_name(): what the scenario's loader accepts */
			if (strlen(n) >= 16 || strpbrk(n, "/: \t\n") || !name_ok(n)) {
				note(r, "skipped %s/net/%.60s: not an interface name fakesys takes", name, n);
				continue;
			}
			char *copy = strdup(n);
			if (!copy || strv_push(&d->netifs, &d->n_netifs, copy) < 0) {
				free(copy);
				vk_strv_free(ifs, nif);
				return -ENOMEM;
			}
		}
	}
	vk_strv_free(ifs, nif);
	return 0;
}

static void read_group(struct rec *r, int fd, const char *name, struct rdev *d)
{
	char lnk[PATH_MAX];
	int64_t g;

	if (read_link(fd, "iommu_group", lnk, sizeof(lnk)) < 0)
		return;
	if (parse_i64(base_name(lnk), &g) && g >= 0 && g <= INT32_MAX)
		d->group = g;
	else
		note(r, "skipped %s/iommu_group: '%.60s' is not a group", name, base_name(lnk));
}

/* vfio-dev/vfioN: the cdev index and, with CONFIG_VFIO_DEVICE_CDEV, its major */
static void read_vfio_dev(struct rec *r, int fd, const char *name, struct rdev *d)
{
	_cleanup_free_ char *s = NULL;
	char rel[PATH_MAX], what[256];
	char **vd = NULL;
	size_t nvd = 0;

	if (list_dir(r, fd, "vfio-dev", &vd, &nvd) == 0) {
		for (size_t i = 0; i < nvd; i++) {
			uint64_t idx;
			if (strncmp(vd[i], "vfio", 4) || !parse_u64(vd[i] + 4, 10, &idx) || idx > 1048575) {
				note(r, "skipped %s/vfio-dev/%.60s: not a vfioN entry", name, vd[i]);
				continue;
			}
			if (d->vfio_index >= 0) {
				note(r, "%s: more than one vfio-dev entry; kept vfio%lld", name, (long long)d->vfio_index);
				continue;
			}
			d->vfio_index = (int64_t)idx;
			snprintf(rel, sizeof(rel), "vfio-dev/%s/dev", vd[i]);
			snprintf(what, sizeof(what), "%s/vfio-dev/%s/dev", name, vd[i]);
			unsigned maj, min;
			if (read_text(r, fd, rel, what, &s) == 0) {
				if (sscanf(s, "%u:%u", &maj, &min) == 2 && maj >= 1 && maj <= 4095) {
					r->cdev = true;
					if (!r->have_cdev_major) {
						r->cdev_major = maj;
						r->have_cdev_major = true;
					}
				} else {
					note(r, "skipped %s: '%.40s' is not MAJOR:MINOR", what, s);
				}
			}
			free(TAKE_PTR(s));
		}
	}
	vk_strv_free(vd, nvd);
}

/* One device, attribute by attribute in the order of its notes. */
static int read_device(struct rec *r, int devicesfd, const char *name, struct rdev *d)
{
	char rel[PATH_MAX];
	int e;

	d->group = -1;
	d->vfio_index = -1;
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", name);
	_cleanup_close_ int fd = vk_root_openat(r->root, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	if (fd < 0) {
		note(r, "skipped device %s: %s", name, strerror(-fd));
		return fd;
	}
	find_parent(r, devicesfd, d);
	read_ids(r, fd, name, d);
	read_config(r, fd, name, d);
	d->have_irq = read_num(r, fd, name, "irq", UINT32_MAX, &d->irq);
	read_resources(r, fd, name, d);
	read_override_and_label(r, fd, name, d);
	read_sriov(r, fd, name, d);
	if ((e = read_physfn_and_driver(r, fd, name, d)) < 0 || (e = read_netifs(r, fd, name, d)) < 0)
		return e;
	read_group(r, fd, name, d);
	read_vfio_dev(r, fd, name, d);
	return 0;
}

static int cmp_dev(const void *a, const void *b)
{
	return vk_pci_addr_cmp(&((const struct rdev *)a)->addr, &((const struct rdev *)b)->addr);
}

/* r->devs is sorted by address once read_devices() is done. */
static struct rdev *find_dev(struct rec *r, const struct vk_pci_addr *a)
{
	struct rdev key = {.addr = *a};
	return r->n_devs ? bsearch(&key, r->devs, r->n_devs, sizeof(*r->devs), cmp_dev) : NULL;
}

static void free_dev(struct rdev *d)
{
	vk_strv_free(d->netifs, d->n_netifs);
	free(d->driver);
	free(d->override);
	free(d->label);
	free(d->config);
	free(d->res);
}

static int read_devices(struct rec *r)
{
	char **names = NULL;
	size_t n = 0;
	int k = list_dir(r, -1, "sys/bus/pci/devices", &names, &n);
	if (k < 0 && k != -ENOENT) {
		vk_strv_free(names, n);
		return k == -ENOMEM ? k : 0;
	}
	_cleanup_close_ int devicesfd = vk_root_openat(r->root, "sys/bus/pci/devices", O_RDONLY | O_DIRECTORY);
	r->devs = calloc(n ? n : 1, sizeof(*r->devs));
	if (!r->devs) {
		vk_strv_free(names, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && devicesfd >= 0; i++) {
		struct rdev *d = &r->devs[r->n_devs];
		if (vk_pci_addr_parse(names[i], &d->addr, NULL) < 0 ||
		    strcmp(vk_pci_addr_format(&d->addr, d->bdf), names[i]) != 0) {
			note(r, "skipped sys/bus/pci/devices/%.80s: not a PCI address in the kernel's spelling", names[i]);
			continue;
		}
		k = read_device(r, devicesfd, names[i], d);
		if (k == -ENOMEM) {
			free_dev(d);
			vk_strv_free(names, n);
			return k;
		}
		if (k < 0) {
			free_dev(d);
			memset(d, 0, sizeof(*d));
			continue;
		}
		if (!d->config && (!d->have_vendor || !d->have_device) && !d->have_physfn) {
			note(r, "skipped device %s: neither its ids nor its config space could be read", d->bdf);
			free_dev(d);
			memset(d, 0, sizeof(*d));
			continue;
		}
		r->n_devs++;
	}
	vk_strv_free(names, n);
	qsort(r->devs, r->n_devs, sizeof(*r->devs), cmp_dev);
	return 0;
}

static int cmp_group_of(const void *a, const void *b)
{
	int64_t x = (*(struct rdev *const *)a)->group, y = (*(struct rdev *const *)b)->group;
	return (x > y) - (x < y);
}

/* Select @d (if not yet) and queue it for what it needs in turn. */
static void pick(struct rec *r, struct rdev *d, size_t *todo, size_t *nt)
{
	if (d && !d->selected) {
		d->selected = true;
		todo[(*nt)++] = (size_t)(d - r->devs);
	}
}

/* The named devices plus what they need: parents, PFs, group peers.  Each
 * device is queued once and each group's members walked once. */
static int select_devices(struct rec *r, struct vk_error *err)
{
	if (!r->o->n_bdfs) {
		for (size_t i = 0; i < r->n_devs; i++)
			r->devs[i].selected = true;
		return 0;
	}
	_cleanup_free_ size_t *todo = malloc((r->n_devs + 1) * sizeof(*todo));
	_cleanup_free_ struct rdev **by_group = malloc((r->n_devs + 1) * sizeof(*by_group));
	_cleanup_free_ bool *walked = calloc(r->n_devs + 1, sizeof(*walked));
	size_t nt = 0;

	if (!todo || !by_group || !walked)
		return -ENOMEM;
	for (size_t i = 0; i < r->o->n_bdfs; i++) {
		struct vk_pci_addr a;
		struct vk_error pe = {0};
		if (vk_pci_addr_parse(r->o->bdfs[i], &a, &pe) < 0)
			return vk_error_set(err, EINVAL, "record: '%s': %s", r->o->bdfs[i], pe.msg);
		struct rdev *d = find_dev(r, &a);
		if (!d)
			return vk_error_set(err, ENOENT, "record: %s is not a PCI device of %s/sys/bus/pci/devices",
			                    r->o->bdfs[i], vk_root_prefix(r->root));
		pick(r, d, todo, &nt);
	}
	for (size_t i = 0; i < r->n_devs; i++)
		by_group[i] = &r->devs[i];
	qsort(by_group, r->n_devs, sizeof(*by_group), cmp_group_of);
	while (nt) {
		struct rdev *d = &r->devs[todo[--nt]];
		pick(r, d->have_parent ? find_dev(r, &d->parent) : NULL, todo, &nt);
		pick(r, d->have_physfn ? find_dev(r, &d->physfn) : NULL, todo, &nt);
		if (d->group < 0)
			continue;
		size_t lo = 0, hi = r->n_devs; /* the first member of the group */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (by_group[mid]->group < d->group)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (walked[lo])
			continue;
		walked[lo] = true;
		for (size_t j = lo; j < r->n_devs && by_group[j]->group == d->group; j++)
			pick(r, by_group[j], todo, &nt);
	}
	return 0;
}

/* r->drivers is sorted (list_dir()) and stays so (add_bound_drivers()). */
char **find_driver(struct rec *r, const char *d)
{
	return r->n_drivers ? bsearch(&d, r->drivers, r->n_drivers, sizeof(char *), cmp_strp) : NULL;
}

bool known_driver(const char *d)
{
	for (size_t i = 0; host_known_drivers[i]; i++)
		if (!strcmp(host_known_drivers[i], d))
			return true;
	return false;
}

/* vfio-pci or one of its variant drivers (mlx5_vfio_pci, ...): a VFIO cdev. */
static bool is_vfio_pci(const struct rdev *d)
{
	return vk_pci_driver_is_vfio_pci(d->driver);
}

/* The modules a device on a VFIO driver needs in a scenario that lists
 * modules (model_check.c): vfio_pci, or a variant's own and vfio_pci_core.
 * One the host does not show is recorded as built in. */
static int add_vfio_modules(struct rec *r, const struct rdev *d)
{
	char own[256];
	const char *need[2] = {"vfio_pci", NULL};

	if (strcmp(d->driver, "vfio-pci")) {
		snprintf(own, sizeof(own), "%s", vk_host_driver_module(d->driver));
		need[0] = own;
		need[1] = "vfio_pci_core";
	}
	for (size_t k = 0; k < 2 && need[k]; k++) {
		if (find_mod(r, need[k]))
			continue;
		note(r, "a device is bound to %s but sys/module/%s is missing; recorded it as built in", d->driver,
		     need[k]);
		if (add_mod(r, need[k], true, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Drivers bound to a recorded device but with no sys/bus/pci/drivers entry
 * (nor one fakesys knows) join r->drivers, which stays sorted and unique. */
static int add_bound_drivers(struct rec *r)
{
	char **add = NULL;
	size_t n = 0, o = 0;

	for (size_t i = 0; i < r->n_devs; i++) {
		const char *dn = r->devs[i].driver;
		if (r->devs[i].selected && dn && !known_driver(dn) && !find_driver(r, dn) &&
		    strv_push(&add, &n, strdup(dn)) < 0) {
			vk_strv_free(add, n);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (strv_push(&r->drivers, &r->n_drivers, TAKE_PTR(add[i])) < 0) {
			vk_strv_free(add, n);
			return -ENOMEM;
		}
	free(add);
	if (r->n_drivers)
		qsort(r->drivers, r->n_drivers, sizeof(char *), cmp_strp);
	for (size_t i = 0; i < r->n_drivers; i++) {
		if (o && !strcmp(r->drivers[o - 1], r->drivers[i]))
			free(r->drivers[i]);
		else
			r->drivers[o++] = r->drivers[i];
	}
	r->n_drivers = o;
	return 0;
}

/*
 * The ids the sysfs files gave must agree with the config space read beside
 * them (the scenario takes both and refuses a disagreement).  They do on a
 * host; a recording assembled by hand or damaged may not: the config space's
 * value is kept, which is what the kernel's files show from.
 */
static void ids_from_config(struct rec *r, struct rdev *d)
{
	const uint8_t *c = d->config;
	bool type0 = (c[0x0e] & 0x7f) == 0; /* subsystem ids in the header: endpoints only */
	struct {
		const char *name;
		bool *have;
		uint64_t val, cfg;
	} f[] = {
		{"vendor", &d->have_vendor, d->vendor, (uint64_t)(c[0] | c[1] << 8)},
		{"device", &d->have_device, d->device, (uint64_t)(c[2] | c[3] << 8)},
		{"class", &d->have_class, d->class_code, (uint64_t)(c[9] | c[10] << 8 | c[11] << 16)},
		{"revision", &d->have_rev, d->revision, c[8]},
		{"subsystem_vendor", &d->have_svendor, d->svendor, (uint64_t)(c[0x2c] | c[0x2d] << 8)},
		{"subsystem_device", &d->have_sdevice, d->sdevice, (uint64_t)(c[0x2e] | c[0x2f] << 8)},
	};

	for (size_t k = 0; k < (type0 ? 6u : 4u); k++)
		if (*f[k].have && f[k].val != f[k].cfg) {
			note(r, "%s/%s: %#llx, but its config space says %#llx; recorded the config space's", d->bdf, f[k].name,
			     (unsigned long long)f[k].val, (unsigned long long)f[k].cfg);
			*f[k].have = false;
		}
}

/* Make what was read agree with the scenario's rules; say what changed. */
static int reconcile(struct rec *r)
{
	for (size_t i = 0; i < r->n_devs; i++) {
		struct rdev *d = &r->devs[i];
		if (!d->selected)
			continue;
		if (d->config)
			ids_from_config(r, d);
		if (d->have_parent && !find_dev(r, &d->parent)) {
			char pb[VK_PCI_ADDR_STRLEN];
			note(r, "%s: parent %s is not a recorded device; recorded on a root bus", d->bdf,
			     vk_pci_addr_format(&d->parent, pb));
			d->have_parent = false;
		}
		if (d->have_physfn && !find_dev(r, &d->physfn)) {
			note(r, "%s: its PF is not a recorded device; recorded as a plain function", d->bdf);
			d->have_physfn = false;
		}
		if (d->group >= 0 && !r->iommu && !(r->noiommu && is_vfio_pci(d))) {
			note(r, "%s: iommu_group %lld dropped (%s)", d->bdf, (long long)d->group,
			     r->noiommu ? "in no-IOMMU mode only devices on vfio-pci or a variant driver have a group"
			                : "no IOMMU unit recorded");
			d->group = -1;
		}
		if (d->vfio_index >= 0 && !is_vfio_pci(d)) {
			note(r, "%s: vfio-dev/vfio%lld on a device bound to %s: the scenario format has VFIO cdevs only for "
			        "vfio-pci and its variant drivers; left out",
			     d->bdf, (long long)d->vfio_index, d->driver ? d->driver : "no driver");
			d->vfio_index = -1;
		}
		if (is_vfio_pci(d) && r->cdev && !r->noiommu && d->vfio_index >= 0) {
			char rel[64];
			snprintf(rel, sizeof(rel), "dev/vfio/devices/vfio%lld", (long long)d->vfio_index);
			stat_node(r, rel, &d->vfio_node);
		}
		struct rgroup *g = d->group >= 0 ? find_group(r, d->group) : NULL;
		if (g) {
			g->used = true;
			g->vfio |= is_vfio_pci(d);
		}
	}
	if (add_bound_drivers(r) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_groups; i++) {
		struct rgroup *g = &r->groups[i];
		if (g->vfio) {
			char rel[64];
			snprintf(rel, sizeof(rel), r->noiommu ? "dev/vfio/noiommu-%lld" : "dev/vfio/%lld", (long long)g->id);
			stat_node(r, rel, &g->node);
		}
	}
	struct rmod *m;
	if (r->no_modules)
		note(r, "no sys/module: kernel.modules left to fakesys's defaults");
	for (size_t i = 0; i < r->n_devs && !r->no_modules; i++) {
		int e = r->devs[i].selected && is_vfio_pci(&r->devs[i]) ? add_vfio_modules(r, &r->devs[i]) : 0;
		if (e < 0)
			return e;
	}
	if (r->iommufd && !r->no_modules && !find_mod(r, "iommufd")) {
		note(r, "iommufd is present but sys/module/iommufd is missing; recorded it as built in");
		if (add_mod(r, "iommufd", true, NULL) < 0)
			return -ENOMEM;
	}
	if (r->noiommu && !r->no_modules && !(m = find_mod(r, "vfio"))) {
		note(r, "no-IOMMU mode but sys/module/vfio is missing; recorded it as built in");
		if (add_mod(r, "vfio", true, NULL) < 0)
			return -ENOMEM;
	}
	if (r->iommufd)
		stat_node(r, "dev/iommu", &r->dev_iommu);
	if (find_mod(r, "vfio") || find_mod(r, "vfio_pci") || find_mod(r, "vfio_pci_core")) /* vk_host_model_has_vfio() */
		stat_node(r, "dev/vfio/vfio", &r->dev_vfio);
	return 0;
}

static void rec_free(struct rec *r)
{
	vk_root_close(r->root);
	notes_free(&r->nt);
	free(r->release);
	free(r->cmdline);
	free(r->cpu_model);
	free(r->cpu_flags);
	for (size_t i = 0; i < r->n_mods; i++) {
		free(r->mods[i].name);
		vk_strv_free(r->mods[i].pn, r->mods[i].np);
		vk_strv_free(r->mods[i].pv, r->mods[i].np);
	}
	free(r->mods);
	vk_strv_free(r->drivers, r->n_drivers);
	for (size_t i = 0; i < r->n_devs; i++)
		free_dev(&r->devs[i]);
	free(r->devs);
	for (size_t i = 0; i < r->n_groups; i++)
		free(r->groups[i].type);
	free(r->groups);
}

/* ---- what the scenario's loader still refuses ---------------------------- */

/*
 * reconcile() makes a host fit the rules a real host keeps anyway; a
 * recording assembled by hand, damaged, or hostile can break others (a VF
 * before its PF, a group two devices may not share, a bridge whose buses do
 * not match what is behind it, ...).  The loader names the line and key it
 * refuses; the device whose entry holds that line loses that key, or, refused
 * again, is left out, each with a note, until the scenario loads.
 */
#define MAX_REFUSALS 256u

/* The device whose entry holds line @line of @buf, NULL when it is not in devices:. */
static struct rdev *device_at_line(struct rec *r, const char *buf, unsigned line)
{
	struct rdev *cur = NULL;
	bool in_devices = false;
	unsigned l = 1;

	for (const char *p = buf; *p && l <= line; l++) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n && p[0] != ' ' && p[0] != '-' && p[0] != '#') { /* a top-level key */
			in_devices = n >= 8 && !strncmp(p, "devices:", 8);
			cur = NULL;
		} else if (in_devices && n > 13 && n < 13 + 64 && !strncmp(p, "-   address: ", 13)) {
			char bdf[64];
			struct vk_pci_addr a;
			memcpy(bdf, p + 13, n - 13);
			bdf[n - 13] = '\0';
			cur = vk_pci_addr_parse(bdf, &a, NULL) == 0 ? find_dev(r, &a) : NULL;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return cur;
}

/* Leave out what @key of @d gave; false when it gave nothing to leave out. */
static bool drop_key(struct rdev *d, const char *key)
{
	struct {
		const char *key;
		bool *flag;
	} flags[] = {
		{"parent", &d->have_parent},
		{"physfn", &d->have_physfn},
		{"vendor", &d->have_vendor},
		{"device", &d->have_device},
		{"subsystem_vendor", &d->have_svendor},
		{"subsystem_device", &d->have_sdevice},
		{"class", &d->have_class},
		{"revision", &d->have_rev},
		{"numa_node", &d->have_numa},
		{"irq", &d->have_irq},
	};
	for (size_t i = 0; i < VK_ARRAY_SIZE(flags); i++)
		if (!strcmp(key, flags[i].key)) {
			bool had = *flags[i].flag;
			*flags[i].flag = false;
			return had;
		}
	char **str = !strcmp(key, "driver") ? &d->driver : !strcmp(key, "driver_override") ? &d->override
	                                           : !strcmp(key, "label")                 ? &d->label
	                                                                                   : NULL;
	if (str) {
		bool had = *str != NULL;
		free(*str);
		*str = NULL;
		return had;
	}
	if (!strcmp(key, "iommu_group") || !strcmp(key, "vfio_cdev") || !strcmp(key, "vfio_node")) {
		bool had = key[0] == 'i' ? d->group >= 0 : d->vfio_index >= 0 || d->vfio_node.known;
		if (key[0] == 'i')
			d->group = -1;
		else
			d->vfio_index = -1, d->vfio_node.known = false;
		return had;
	}
	if (!strcmp(key, "sriov")) {
		bool had = d->totalvfs != 0;
		d->totalvfs = 0;
		return had;
	}
	if (!strcmp(key, "net")) {
		bool had = d->n_netifs != 0;
		vk_strv_free(d->netifs, d->n_netifs);
		d->netifs = NULL;
		d->n_netifs = 0;
		return had;
	}
	if (!strcmp(key, "config") || !strcmp(key, "config_readable") || !strcmp(key, "resources")) {
		bool had = d->config != NULL;
		free(d->config);
		d->config = NULL;
		d->config_len = 0;
		return had;
	}
	return false;
}

/* Leave @d out, and what named it its parent or PF. */
static void drop_device(struct rec *r, struct rdev *d)
{
	d->selected = false;
	for (size_t i = 0; i < r->n_devs; i++) {
		struct rdev *o = &r->devs[i];
		if (!o->selected)
			continue;
		if (o->have_parent && vk_pci_addr_equal(&o->parent, &d->addr)) {
			note(r, "%s: its parent %s is left out; recorded on a root bus", o->bdf, d->bdf);
			o->have_parent = false;
		}
		if (o->have_physfn && vk_pci_addr_equal(&o->physfn, &d->addr)) {
			note(r, "%s: its PF %s is left out; recorded as a plain function", o->bdf, d->bdf);
			o->have_physfn = false;
		}
	}
}

/* Which groups the selected devices use (again, after devices were left out). */
static void mark_groups(struct rec *r)
{
	for (size_t i = 0; i < r->n_groups; i++)
		r->groups[i].used = r->groups[i].vfio = false;
	for (size_t i = 0; i < r->n_devs; i++) {
		struct rgroup *g = r->devs[i].selected && r->devs[i].group >= 0 ? find_group(r, r->devs[i].group) : NULL;
		if (g) {
			g->used = true;
			g->vfio |= vk_pci_driver_is_vfio_pci(r->devs[i].driver);
		}
	}
	for (size_t i = 0; i < r->n_groups; i++)
		if (!r->groups[i].vfio)
			r->groups[i].node.known = false;
}

/* cpu: count must give each NUMA node a device names a CPU (the loader's
 * rule; a host with memory-only nodes breaks it): otherwise left out. */
static void fit_cpu_count(struct rec *r)
{
	int64_t nodes = 1;

	for (size_t i = 0; i < r->n_devs; i++)
		if (r->devs[i].selected && r->devs[i].have_numa && r->devs[i].numa + 1 > nodes)
			nodes = r->devs[i].numa + 1;
	if (r->cpu_count && r->cpu_count < nodes) {
		note(r, "proc/cpuinfo: %u CPUs for %lld NUMA nodes: the count is left out (fakesys gives every node a CPU)",
		     r->cpu_count, (long long)nodes);
		r->cpu_count = 0;
	}
}

/* The scenario text of @r that the loader takes (malloc'd into *@out), or a negative errno. */
static int loadable_text(struct rec *r, const char *root, char **out, size_t *len, struct vk_error *err)
{
	struct vk_error le = {0};

	fit_cpu_count(r);

	for (unsigned tries = 0;; tries++) {
		struct vk_host_model *m = NULL;
		int k;
		unsigned line, col;
		int at = 0;
		char key[64];

		mark_groups(r);
		choose_configs(r);
		char *buf = scenario_text(r, len, &k);
		if (!buf)
			return vk_error_set(err, k, "record %s: %s", root,
			                    k == -ENOMEM ? "out of memory" : "libyaml's emitter refused the scenario");
		k = vk_host_model_load_buffer("recording", buf, *len, &m, &le);
		vk_host_model_free(m);
		if (k == 0) {
			*out = buf;
			return 0;
		}
		struct rdev *d = NULL;
		if (k != -ENOMEM && tries < MAX_REFUSALS &&
		    sscanf(le.msg, "recording:%u:%u: %n%63[^:]:", &line, &col, &at, key) == 3)
			d = device_at_line(r, buf, line);
		free(buf);
		if (!d)
			return vk_error_set(err, k, "record %s: the recording does not form a valid scenario: %s", root,
			                    le.msg);
		const char *why = le.msg + at; /* "key: what", the line numbers are of a draft */
		if (d->refused++ < 2 && drop_key(d, key)) {
			note(r, "%s: left out its %s, which the scenario refuses (%s)", d->bdf, key, why);
		} else {
			note(r, "%s: left out, the scenario refuses it (%s)", d->bdf, why);
			drop_device(r, d);
		}
	}
}

int record_host(const struct vk_fakesys_record_opts *o, FILE *out, FILE *notes, size_t *n_devices,
                struct vk_error *err)
{
	struct rec r = {.o = o, .nt = {.f = notes, .who = "record"}};
	const char *root = o->root && *o->root ? o->root : "/";
	size_t len = 0, nsel = 0;
	int k;

	k = vk_root_open(root, 0, &r.root, err);
	if (k < 0)
		return k;
	if ((k = read_devices(&r)) < 0 || (k = read_kernel(&r)) < 0 || (k = select_devices(&r, err)) < 0 ||
	    (k = reconcile(&r)) < 0) {
		if (k == -ENOMEM)
			vk_error_set(err, ENOMEM, "record %s: out of memory", root);
		rec_free(&r);
		return k;
	}
	if (r.nt.oom) {
		rec_free(&r);
		return vk_error_set(err, ENOMEM, "record %s: out of memory", root);
	}
	_cleanup_free_ char *buf = NULL;
	k = loadable_text(&r, root, &buf, &len, err);
	for (size_t i = 0; i < r.n_devs; i++)
		nsel += r.devs[i].selected;
	bool oom = r.nt.oom;
	rec_free(&r);
	if (k < 0)
		return k;
	if (oom)
		return vk_error_set(err, ENOMEM, "record %s: out of memory", root);
	if (fwrite(buf, 1, len, out) != len || fflush(out) != 0)
		return vk_error_set(err, EIO, "record %s: writing the scenario: %s", root, strerror(errno ? errno : EIO));
	if (n_devices)
		*n_devices = nsel;
	return 0;
}

int vk_fakesys_record(const struct vk_fakesys_record_opts *o, FILE *out, FILE *notes, struct vk_error *err)
{
	return record_host(o, out, notes, NULL, err);
}
