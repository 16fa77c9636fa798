/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel-like writes to sysfs control files, applied to the host model.  The
 * answers follow the kernel (v6.8):
 *
 * - drivers/base/bus.c bind_store(): -ENODEV unless the named device exists
 *   and driver_match_device() accepts it; device_driver_attach() ->
 *   __driver_probe_device(): -EBUSY when the device already has a driver.
 * - bus.c unbind_store(): -ENODEV unless the device is bound to this driver.
 * - bus.c drivers_probe_store(): -ENODEV for an unknown device, otherwise the
 *   write succeeds whether or not a driver took the device.
 * - drivers/pci/pci-driver.c pci_match_device(): a driver_override names the
 *   only driver that may bind; new_id_store(): fewer than two fields -EINVAL,
 *   an ID the driver already matches (dynamic or static) -EEXIST, then
 *   driver_attach().
 * - drivers/base/driver.c driver_set_override(): a value of PAGE_SIZE - 1 or
 *   more -EINVAL, an empty value (or a lone newline) clears it.
 * - drivers/pci/pci-sysfs.c remove_store(): kstrtoul() failure -EINVAL, 0 does
 *   nothing, else the device and everything below it goes away.
 * - drivers/pci/iov.c sriov_numvfs_store(): -EINVAL when kstrtou16() fails,
 *   -ERANGE above sriov_totalvfs, -ENOENT no driver bound, -EBUSY enabling
 *   while VFs exist.  (Both map every kstrto*() error to -EINVAL since v5.15,
 *   "PCI/sysfs: Return -EINVAL consistently from "store" functions".)
 * - lib/kstrtox.c kstrtoull(): an optional '+', digits (base 0: "0x" hex, "0"
 *   octal), one optional trailing newline, nothing else: a leading space and
 *   "-1" fail.  lib/vsprintf.c vsscanf() (new_id's fields) takes no sign for
 *   %x either.
 * - fs/kernfs/file.c kernfs_fop_write_iter(), fs/sysfs/file.c sysfs_kf_write():
 *   an empty write never reaches the store; a store gets at most PAGE_SIZE
 *   bytes with a NUL after them (see live.h).
 *
 * - pci-driver.c remove_id_store(): fewer than two fields -EINVAL, no dynamic
 *   ID equal to the one written (subvendor, subdevice any when not given)
 *   -ENODEV; it unbinds nothing.
 * - drivers/base/dd.c __device_attach() (drivers_probe): the drivers in turn
 *   (bus_for_each_drv()), the first that pci_match_device() accepts binds:
 *   the driver_override alone when set, else the driver's dynamic IDs, then
 *   its static table.
 *
 * What fakesys cannot know is a driver's static ID table.  It knows a part of
 * it: the scenario binds each device to a driver whose table matches it
 * (host_model.native_ids), which is what a re-probe after an override was
 * cleared finds (driverctl unset-override).  An explicit bind to a driver
 * other than vfio-pci, its variant drivers and pci-stub is taken to match
 * every device (its real table may well hold the device); those three match
 * only through driver_override or new_id, as on a real host (a variant's
 * table entries are PCI_DRIVER_OVERRIDE_DEVICE_VFIO(), override_only, which
 * pci_match_device() takes only with a driver_override).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>

#include "live/live.h"
#include "model/model_internal.h"
#include "model/pci_caps.h"

#define ANY_ID 0xffffffffu

/* The kernel's ctype (lib/ctype.c): isspace() includes 0xa0 (Latin-1 NBSP),
 * and nothing depends on the locale. */
static bool k_isspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

static int k_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
}

/* lib/kstrtox.c _parse_integer_fixup_radix(): base 0 is 16 after "0x" and a
 * hex digit, 8 after "0", else 10; base 16 skips a "0x". */
static const char *fixup_radix(const char *s, unsigned *base)
{
	if (*base == 0)
		*base = s[0] == '0' ? ((s[1] | 0x20) == 'x' && k_digit((unsigned char)s[2]) < 16 ? 16 : 8) : 10;
	if (*base == 16 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	return s;
}

/* lib/kstrtox.c _parse_integer_limit(): digits of @base from @s; returns how
 * many, *@overflow when the value wrapped. */
static size_t parse_digits(const char *s, unsigned base, unsigned long long *res, bool *overflow)
{
	unsigned long long v = 0;
	size_t n = 0;

	*overflow = false;
	for (int d; (d = k_digit((unsigned char)s[n])) < (int)base; n++) {
		if (v > (ULLONG_MAX - (unsigned)d) / base)
			*overflow = true;
		v = v * base + (unsigned)d;
	}
	*res = v;
	return n;
}

/* lib/kstrtox.c kstrtoull(): an optional '+', digits (base 0: by prefix),
 * one optional newline, the end.  -ERANGE on overflow, -EINVAL otherwise:
 * no leading space, no sign, nothing after. */
static int k_strtoull(const char *s, unsigned base, unsigned long long *res)
{
	bool overflow;
	unsigned long long v;

	if (*s == '+')
		s++;
	s = fixup_radix(s, &base);
	size_t n = parse_digits(s, base, &v, &overflow);
	if (overflow)
		return -ERANGE;
	if (!n)
		return -EINVAL;
	s += n;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = v;
	return 0;
}

/* What a message quotes of the written string: not the newline echo adds,
 * at most 48 bytes, anything else unprintable (a newline, a non-ASCII byte)
 * as \xNN, so that the message (a control-channel answer) stays one line. */
static const char *quoted(const char *s, char out[static 256])
{
	size_t w = 0, i = 0, n = strlen(s);

	if (n && s[n - 1] == '\n')
		n--;
	for (; i < n && i < 48; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[w++] = (char)c;
		else
			w += (size_t)snprintf(out + w, 5, "\\x%02x", c);
	}
	if (i < n)
		w += (size_t)snprintf(out + w, 4, "...");
	out[w] = '\0';
	return out;
}

/* The number a sysfs store parses with kstrtoul(buf, 0, ...) / kstrtou16():
 * any failure, and a value above @max, is -EINVAL (remove_store(),
 * sriov_numvfs_store() do not pass -ERANGE on).  @what names the file. */
static int written_number(const char *what, const char *buf, unsigned long long max, unsigned long long *out,
                          struct vk_error *err)
{
	char q[256];

	int r = k_strtoull(buf, 0, out);

	if (r == 0 && *out > max)
		return vk_error_set(err, EINVAL, "%s: '%s' is above %llu", what, quoted(buf, q), max);
	if (r < 0)
		return vk_error_set(err, EINVAL, "%s: '%s' is not a number%s", what, quoted(buf, q),
		                    r == -ERANGE ? " that fits" : "");
	return 0;
}

static long dev_index(const struct vk_host_model *m, const struct vk_pci_addr *a)
{
	const struct vk_host_device *d = vk_host_model_find(m, a);
	return d ? d - m->devices : -1;
}

/* The device named by the written string, or -1: bus_find_device_by_name()
 * compares names with sysfs_streq(), which allows one trailing newline. */
static long named_device(const struct vk_host_model *m, const char *buf)
{
	size_t n = strlen(buf);

	if (n && buf[n - 1] == '\n')
		n--;
	_cleanup_free_ char *s = strndup(buf, n);
	struct vk_pci_addr a;

	if (!s || vk_pci_addr_parse(s, &a, NULL) < 0)
		return -1;
	/* the kernel compares names: a short form such as 01:00.0 names nothing */
	char canon[VK_PCI_ADDR_STRLEN];
	if (strcmp(vk_pci_addr_format(&a, canon), s))
		return -1;
	return dev_index(m, &a);
}

static bool driver_exists(const struct vk_host_model *m, const char *drv)
{
	for (size_t i = 0; i < m->n_drivers; i++)
		if (!strcmp(m->drivers[i], drv))
			return true;
	return false;
}

static bool dynid_matches(const struct vk_host_dynid *id, const struct vk_host_device *d)
{
	return (id->vendor == ANY_ID || id->vendor == d->vendor) && (id->device == ANY_ID || id->device == d->device) &&
	       (id->subvendor == ANY_ID || id->subvendor == d->subsystem_vendor) &&
	       (id->subdevice == ANY_ID || id->subdevice == d->subsystem_device) &&
	       !((id->class_code ^ d->class_code) & id->class_mask);
}

static bool has_dynid(const struct vk_host_model *m, const char *drv, const struct vk_host_device *d)
{
	for (size_t i = 0; i < m->n_dynids; i++)
		if (!strcmp(m->dynids[i].driver, drv) && dynid_matches(&m->dynids[i], d))
			return true;
	return false;
}

/* Does @drv's static table hold @d's IDs, as far as fakesys knows it? */
static bool has_native_id(const struct vk_host_model *m, const char *drv, const struct vk_host_device *d)
{
	for (size_t i = 0; i < m->n_native_ids; i++)
		if (!strcmp(m->native_ids[i].driver, drv) && dynid_matches(&m->native_ids[i], d))
			return true;
	return false;
}

/* Drivers that bind only what they are told to (no static ID table). */
static bool told_only(const char *drv)
{
	return vk_pci_driver_is_vfio_pci(drv) || !strcmp(drv, "pci-stub");
}

/* pci_match_device(): may @drv bind @d? */
static bool driver_matches(const struct vk_host_model *m, const char *drv, const struct vk_host_device *d)
{
	if (d->driver_override)
		return !strcmp(d->driver_override, drv);
	return has_dynid(m, drv, d) || !told_only(drv);
}

/* The lowest vfio-dev minor no device uses (the kernel's ida_alloc()). */
static int64_t free_vfio_index(const struct vk_host_model *m)
{
	for (int64_t k = 0;; k++) {
		bool used = false;
		for (size_t i = 0; i < m->n_devices && !used; i++)
			used = m->devices[i].vfio_index == k;
		if (!used)
			return k;
	}
}

static int attach(struct vk_host_model *m, size_t i, const char *drv)
{
	struct vk_host_device *d = &m->devices[i];
	char *s = strdup(drv);

	if (!s)
		return -ENOMEM;
	free(d->driver);
	d->driver = s;
	if (vk_pci_driver_is_vfio_pci(drv)) { /* vfio-pci or a variant: vfio_pci_core_register_device() */
		d->vfio_index = free_vfio_index(m);
		vk_host_model_assign_group_minors(m);
		if (!d->vfio_node.present && !d->vfio_node.mode)
			d->vfio_node = (struct vk_dev_node_spec){.mode = 0600, .present = true};
	}
	return 0;
}

static void detach(struct vk_host_model *m, struct vk_host_device *d)
{
	free(d->driver);
	d->driver = NULL;
	d->vfio_index = -1;
	vk_host_model_assign_group_minors(m);
}

int live_bind(struct vk_host_model *m, const char *drv, const char *buf, size_t len, struct vk_error *err)
{
	long i = named_device(m, buf);
	char q[256];

	(void)len;
	if (i < 0)
		return vk_error_set(err, ENODEV, "bind: no such device '%s'", quoted(buf, q));
	struct vk_host_device *d = &m->devices[i];
	if (!driver_matches(m, drv, d))
		return vk_error_set(err, ENODEV, "bind: %s does not match device %s (driver_override %s)", drv,
		                    quoted(buf, q), d->driver_override ? d->driver_override : "unset");
	if (d->driver)
		return vk_error_set(err, EBUSY, "bind: the device is bound to %s", d->driver);
	int r = attach(m, (size_t)i, drv);
	return r < 0 ? vk_error_set(err, r, "out of memory") : 0;
}

int live_unbind(struct vk_host_model *m, const char *drv, const char *buf, size_t len, struct vk_error *err)
{
	long i = named_device(m, buf);
	char q[256];

	(void)len;
	if (i < 0 || !m->devices[i].driver || strcmp(m->devices[i].driver, drv))
		return vk_error_set(err, ENODEV, "unbind: '%s' is not bound to %s", quoted(buf, q), drv);
	detach(m, &m->devices[i]);
	return 0;
}

int live_force_bind(struct vk_host_model *m, const struct vk_pci_addr *a, const char *drv, struct vk_error *err)
{
	long i = dev_index(m, a);

	if (i < 0)
		return vk_error_set(err, ENODEV, "bind: no such device");
	if (!driver_exists(m, drv))
		return vk_error_set(err, ENOENT, "bind: no driver %s on this host (sys/bus/pci/drivers)", drv);
	if (m->devices[i].driver && !strcmp(m->devices[i].driver, drv))
		return 0;
	detach(m, &m->devices[i]);
	int r = attach(m, (size_t)i, drv);
	return r < 0 ? vk_error_set(err, r, "out of memory") : 0;
}

int live_force_unbind(struct vk_host_model *m, const struct vk_pci_addr *a, struct vk_error *err)
{
	long i = dev_index(m, a);

	if (i < 0)
		return vk_error_set(err, ENODEV, "unbind: no such device");
	if (!m->devices[i].driver)
		return vk_error_set(err, ENODEV, "unbind: the device has no driver");
	detach(m, &m->devices[i]);
	return 0;
}

int live_driver_override(struct vk_host_model *m, const struct vk_pci_addr *a, const char *buf, size_t len,
                         struct vk_error *err)
{
	long i = dev_index(m, a);

	if (i < 0)
		return vk_error_set(err, ENODEV, "driver_override: the device went away");
	/* driver_set_override(): the length written first (PAGE_SIZE - 1 or
	 * more: -EINVAL), then the string up to its first NUL; empty, or a
	 * newline first, clears the override; otherwise it ends at a newline */
	if (len >= SYSFS_PAGE_SIZE - 1)
		return vk_error_set(err, EINVAL, "driver_override: %zu bytes; the value must be shorter than %d", len,
		                    SYSFS_PAGE_SIZE - 1);
	char *s = strdup(buf);
	if (!s)
		return vk_error_set(err, ENOMEM, "out of memory");
	s[strcspn(s, "\n")] = '\0';
	struct vk_host_device *d = &m->devices[i];
	if (!*s) {
		free(s);
		s = NULL;
	}
	bool same = (!s && !d->driver_override) || (s && d->driver_override && !strcmp(s, d->driver_override));
	free(d->driver_override);
	d->driver_override = s;
	return same ? 1 : 0;
}

/* device_attach(): the first driver that matches an unbound device. */
static int probe_one(struct vk_host_model *m, size_t i)
{
	struct vk_host_device *d = &m->devices[i];

	if (d->driver)
		return 1;
	if (d->driver_override)
		return driver_exists(m, d->driver_override) ? attach(m, i, d->driver_override) : 1;
	for (size_t k = 0; k < m->n_drivers; k++)
		if (has_dynid(m, m->drivers[k], d) || has_native_id(m, m->drivers[k], d))
			return attach(m, i, m->drivers[k]);
	return 1;
}

int live_drivers_probe(struct vk_host_model *m, const char *buf, size_t len, struct vk_error *err)
{
	long i = named_device(m, buf);
	char q[256];

	(void)len;
	if (i < 0)
		return vk_error_set(err, ENODEV, "drivers_probe: no such device '%s'", quoted(buf, q));
	int r = probe_one(m, (size_t)i);
	return r < 0 ? vk_error_set(err, r, "out of memory") : r;
}

/*
 * sscanf(buf, "%x %x %x %x %x %x %lx") as the kernel's vsscanf() does it
 * (lib/vsprintf.c), not glibc's: each field after optional white space must
 * start with a hex digit (no sign: "-1" is no field), "0x" is skipped, digits
 * run as far as they go (an overflow wraps), and the values are cut to 32
 * bits but the last.  Returns how many fields were converted.
 */
static int scan_new_id(const char *s, unsigned long long v[7])
{
	int n = 0;

	while (n < 7 && *s) {
		bool overflow;
		unsigned base = 16;
		while (k_isspace((unsigned char)*s))
			s++;
		if (k_digit((unsigned char)*s) >= 16)
			break;
		s = fixup_radix(s, &base);
		s += parse_digits(s, base, &v[n], &overflow);
		if (n < 6)
			v[n] = (uint32_t)v[n];
		n++;
	}
	return n;
}

int live_new_id(struct vk_host_model *m, const char *drv, const char *buf, size_t len, struct vk_error *err)
{
	unsigned long long f[7] = {0, 0, ANY_ID, ANY_ID, 0, 0, 0};
	int fields = scan_new_id(buf, f);
	uint32_t vendor = (uint32_t)f[0], device = (uint32_t)f[1], subvendor = (uint32_t)f[2],
		 subdevice = (uint32_t)f[3], cls = (uint32_t)f[4], cls_mask = (uint32_t)f[5];

	(void)len;
	if (fields < 2)
		return vk_error_set(err, EINVAL, "new_id: expected 'VENDOR DEVICE [SUBVENDOR SUBDEVICE CLASS MASK DATA]'");
	struct vk_host_dynid id = {.vendor = vendor, .device = device, .subvendor = subvendor, .subdevice = subdevice, .class_code = cls, .class_mask = cls_mask};
	if (fields != 7) {
		/* the kernel probes its tables with a device of these ids */
		struct vk_host_device probe = {.vendor = (uint16_t)vendor, .device = (uint16_t)device, .subsystem_vendor = (uint16_t)subvendor, .subsystem_device = (uint16_t)subdevice, .class_code = cls};
		if (has_dynid(m, drv, &probe) || has_native_id(m, drv, &probe))
			return vk_error_set(err, EEXIST, "new_id: %s already matches %04x:%04x", drv, vendor, device);
	}
	struct vk_host_dynid *v = realloc(m->dynids, (m->n_dynids + 1) * sizeof(*v));
	if (!v)
		return vk_error_set(err, ENOMEM, "out of memory");
	m->dynids = v;
	if (!(id.driver = strdup(drv)))
		return vk_error_set(err, ENOMEM, "out of memory");
	m->dynids[m->n_dynids++] = id;
	/* driver_attach(): every unbound device the driver now matches */
	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		if (!d->driver && (!d->driver_override || !strcmp(d->driver_override, drv)) && dynid_matches(&id, d) &&
		    attach(m, i, drv) < 0)
			return vk_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int live_remove_id(struct vk_host_model *m, const char *drv, const char *buf, size_t len, struct vk_error *err)
{
	unsigned long long f[7] = {0, 0, ANY_ID, ANY_ID, 0, 0, 0};
	char q[256];

	(void)len;
	if (scan_new_id(buf, f) < 2) /* sscanf(buf, "%x %x %x %x %x %x", ...) */
		return vk_error_set(err, EINVAL, "remove_id: expected 'VENDOR DEVICE [SUBVENDOR SUBDEVICE CLASS MASK]'");
	for (size_t i = 0; i < m->n_dynids; i++) {
		struct vk_host_dynid *id = &m->dynids[i];
		if (strcmp(id->driver, drv) || id->vendor != (uint32_t)f[0] || id->device != (uint32_t)f[1] ||
		    ((uint32_t)f[2] != ANY_ID && id->subvendor != (uint32_t)f[2]) ||
		    ((uint32_t)f[3] != ANY_ID && id->subdevice != (uint32_t)f[3]) ||
		    ((id->class_code ^ (uint32_t)f[4]) & (uint32_t)f[5]))
			continue;
		free(id->driver);
		memmove(id, id + 1, (m->n_dynids - i - 1) * sizeof(*id));
		m->n_dynids--;
		return 0;
	}
	return vk_error_set(err, ENODEV, "remove_id: %s has no dynamic ID '%s'", drv, quoted(buf, q));
}

/* ---- removing and adding devices -------------------------------------------- */

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_by_addr(const void *a, const void *b, void *model)
{
	const struct vk_host_model *m = model;
	return vk_pci_addr_cmp(&m->devices[*(const size_t *)a].addr, &m->devices[*(const size_t *)b].addr);
}

/*
 * Drop the devices with @gone[i] set and put the rest in address order,
 * rewriting every index (parent, physfn, vfs, group members); groups left
 * empty go away.
 */
static int compact(struct vk_host_model *m, const bool *gone)
{
	size_t n = m->n_devices, kept = 0;
	_cleanup_free_ size_t *order = malloc((n ? n : 1) * sizeof(*order));
	_cleanup_free_ long *map = malloc((n ? n : 1) * sizeof(*map));
	_cleanup_free_ struct vk_host_device *nd = malloc((n ? n : 1) * sizeof(*nd));

	if (!order || !map || !nd)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!gone[i])
			order[kept++] = i;
	qsort_r(order, kept, sizeof(*order), cmp_by_addr, m);
	for (size_t i = 0; i < n; i++)
		map[i] = -1;
	for (size_t k = 0; k < kept; k++)
		map[order[k]] = (long)k;
	for (size_t i = 0; i < n; i++) {
		struct vk_host_device *d = &m->devices[i];
		if (gone[i]) {
			host_device_clear(d); /* the model's own destructor: nothing it owns is forgotten */
			continue;
		}
		d->parent = d->parent >= 0 ? (int)map[d->parent] : -1;
		d->physfn = d->physfn >= 0 ? (int)map[d->physfn] : -1;
		uint32_t w = 0;
		for (uint32_t v = 0; v < d->n_vfs; v++)
			if (map[d->vfs[v]] >= 0)
				d->vfs[w++] = (int)map[d->vfs[v]];
		d->n_vfs = w;
		nd[map[i]] = *d;
	}
	memcpy(m->devices, nd, kept * sizeof(*nd));
	/* no stale copy of a device (and its pointers) past the end */
	memset(m->devices + kept, 0, (n - kept) * sizeof(*nd));
	m->n_devices = kept;
	size_t wg = 0;
	for (size_t g = 0; g < m->n_groups; g++) {
		struct vk_host_group *grp = &m->groups[g];
		size_t w = 0;
		for (size_t k = 0; k < grp->n_members; k++)
			if (map[grp->members[k]] >= 0)
				grp->members[w++] = (size_t)map[grp->members[k]];
		grp->n_members = w;
		qsort(grp->members, w, sizeof(*grp->members), cmp_size);
		if (!w) {
			free(grp->type);
			free(grp->members);
			continue;
		}
		m->groups[wg++] = *grp;
	}
	m->n_groups = wg;
	return 0;
}

int live_remove(struct vk_host_model *m, const struct vk_pci_addr *a, const char *buf, size_t len, struct vk_error *err)
{
	long i = dev_index(m, a);
	unsigned long long v;

	(void)len;
	int r = written_number("remove", buf, ULONG_MAX, &v, err);

	if (r < 0)
		return r;
	if (i < 0)
		return vk_error_set(err, ENODEV, "remove: the device went away");
	if (!v)
		return 1;
	_cleanup_free_ bool *gone = calloc(m->n_devices, sizeof(*gone));
	if (!gone)
		return vk_error_set(err, ENOMEM, "out of memory");
	gone[i] = true;
	/* everything below it (children of a bridge) and its VFs */
	for (bool more = true; more;) {
		more = false;
		for (size_t k = 0; k < m->n_devices; k++) {
			const struct vk_host_device *d = &m->devices[k];
			if (!gone[k] && ((d->parent >= 0 && gone[d->parent]) || (d->physfn >= 0 && gone[d->physfn])))
				gone[k] = more = true;
		}
	}
	r = compact(m, gone);
	return r < 0 ? vk_error_set(err, r, "out of memory") : 0;
}

/* The lowest group id in use by no group. */
static uint32_t free_group_id(const struct vk_host_model *m)
{
	for (uint32_t id = 0;; id++)
		if (!vk_host_model_group(m, id))
			return id;
}

static int cmp_group(const void *a, const void *b)
{
	uint32_t x = ((const struct vk_host_group *)a)->id, y = ((const struct vk_host_group *)b)->id;
	return x < y ? -1 : x > y;
}

/* Enable @num VFs of PF @pf: new devices at the routing IDs the PF's SR-IOV
 * capability gives (offset 16, stride 1, as sriov_offset/sriov_stride show). */
static int add_vfs(struct vk_host_model *m, size_t pf, uint16_t num)
{
	size_t n = m->n_devices;
	const struct vk_host_device *p = &m->devices[pf];
	uint32_t rid0 = ((uint32_t)p->addr.bus << 8) | ((uint32_t)p->addr.slot << 3) | p->addr.function;

	/* every address must be free before anything changes */
	for (uint16_t k = 0; k < num; k++) {
		uint32_t rid = rid0 + 16 + k;
		struct vk_pci_addr a = {.domain = p->addr.domain, .bus = (uint8_t)(rid >> 8), .slot = (uint8_t)((rid >> 3) & 31), .function = (uint8_t)(rid & 7)};
		if (rid > 0xffff)
			return -ERANGE;
		if (vk_host_model_find(m, &a))
			return -EEXIST;
	}
	struct vk_host_device *v = realloc(m->devices, (n + num) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->devices = v;
	p = &m->devices[pf];
	int *vfs = calloc(num, sizeof(*vfs));
	if (!vfs)
		return -ENOMEM;
	/* udev initializes the VFs after every device there is */
	uint32_t seq = 0;
	for (size_t i = 0; i < n; i++)
		seq = m->devices[i].udev_seq > seq ? m->devices[i].udev_seq : seq;
	for (uint16_t k = 0; k < num; k++) {
		uint32_t rid = rid0 + 16 + k;
		struct vk_host_device *d = &m->devices[n + k];
		*d = (struct vk_host_device){
			.addr = {.domain = p->addr.domain, .bus = (uint8_t)(rid >> 8), .slot = (uint8_t)((rid >> 3) & 31), .function = (uint8_t)(rid & 7)},
			.parent = p->parent,
			.vendor = p->vendor,
			.device = p->sriov_vf_device ? p->sriov_vf_device : p->device,
			.subsystem_vendor = p->subsystem_vendor,
			.subsystem_device = p->subsystem_device,
			.class_code = p->class_code,
			.revision = p->revision,
			.iommu_group = -1,
			.numa_node = p->numa_node,
			.vfio_index = -1,
			.physfn = (int)pf,
			.vfio_node = {.mode = 0600, .present = true},
			.udev_seq = seq ? seq + 1 + k : 0,
		};
		/* the PF's header with the VF's ids; pci_caps_synthesize() makes the rest */
		uint8_t hdr[PCI_STD_HEADER_SIZEOF];
		vk_host_config_read(p, 0, hdr, sizeof(hdr));
		hdr[0] = (uint8_t)d->vendor;
		hdr[1] = (uint8_t)(d->vendor >> 8);
		hdr[2] = (uint8_t)d->device;
		hdr[3] = (uint8_t)(d->device >> 8);
		if (vk_host_config_set(d, hdr, sizeof(hdr), p->config_len) < 0) {
			free(vfs);
			return -ENOMEM;
		}
		/* the VF's own capability list and BAR, not the PF's (model/pci_caps.c) */
		if (pci_caps_synthesize(m, n + k, NULL, 0) < 0) {
			free(vfs);
			return -ENOMEM;
		}
		vfs[k] = (int)(n + k);
		m->n_devices++;
		if (p->iommu_group >= 0 && !m->noiommu) {
			struct vk_host_group *g = realloc(m->groups, (m->n_groups + 1) * sizeof(*g));
			if (!g) {
				free(vfs);
				return -ENOMEM;
			}
			m->groups = g;
			uint32_t id = free_group_id(m);
			struct vk_host_group ng = {.id = id, .node = {.mode = 0600, .present = true}, .vfio_minor = -1};
			ng.type = strdup(p->iommu_group >= 0 && vk_host_model_group(m, (uint32_t)p->iommu_group)
			                         ? vk_host_model_group(m, (uint32_t)p->iommu_group)->type
			                 : m->default_group_type ? m->default_group_type
			                                         : "DMA");
			ng.members = malloc(sizeof(*ng.members));
			if (!ng.type || !ng.members) {
				free(ng.type);
				free(ng.members);
				free(vfs);
				return -ENOMEM;
			}
			ng.members[0] = n + k;
			ng.n_members = 1;
			m->groups[m->n_groups++] = ng;
			qsort(m->groups, m->n_groups, sizeof(*m->groups), cmp_group);
			d->iommu_group = id;
		}
		p = &m->devices[pf];
	}
	free(m->devices[pf].vfs);
	m->devices[pf].vfs = vfs;
	m->devices[pf].n_vfs = num;
	_cleanup_free_ bool *gone = calloc(m->n_devices, sizeof(*gone));
	return gone ? compact(m, gone) : -ENOMEM;
}

int live_sriov_numvfs(struct vk_host_model *m, const struct vk_pci_addr *a, const char *buf, size_t len,
                      struct vk_error *err)
{
	long i = dev_index(m, a);
	unsigned long long num;

	(void)len;
	int r = written_number("sriov_numvfs", buf, 0xffff, &num, err);

	if (r < 0)
		return r;
	if (i < 0)
		return vk_error_set(err, ENODEV, "sriov_numvfs: the device went away");
	struct vk_host_device *d = &m->devices[i];
	if (num > d->sriov_totalvfs)
		return vk_error_set(err, ERANGE, "sriov_numvfs: %llu is above sriov_totalvfs (%u)", num, d->sriov_totalvfs);
	if (num == d->n_vfs)
		return 1;
	if (!d->driver)
		return vk_error_set(err, ENOENT, "sriov_numvfs: no driver bound to the device; cannot configure SR-IOV");
	if (num && d->n_vfs)
		return vk_error_set(err, EBUSY, "sriov_numvfs: %u VFs already enabled; disable before enabling %llu",
		                    d->n_vfs, num);
	if (num) {
		r = add_vfs(m, (size_t)i, (uint16_t)num);
		return r < 0 ? vk_error_set(err, r, "sriov_numvfs: cannot add the VFs: %s", strerror(-r)) : 0;
	}
	_cleanup_free_ bool *gone = calloc(m->n_devices, sizeof(*gone));
	if (!gone)
		return vk_error_set(err, ENOMEM, "out of memory");
	for (uint32_t k = 0; k < d->n_vfs; k++)
		gone[d->vfs[k]] = true;
	r = compact(m, gone);
	return r < 0 ? vk_error_set(err, r, "out of memory") : 0;
}
