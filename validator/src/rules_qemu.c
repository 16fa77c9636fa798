/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command-line rules: what QEMU itself would refuse or do differently. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/validator.h>

#include "rules.h"

bool vk__is_vfio_pci(const struct vk_qc_option *o)
{
	const char *drv;

	if (!o->def || strcmp(o->def->name, "device") != 0)
		return false;
	drv = vk_qc_option_type(o);
	return drv && (strcmp(drv, "vfio-pci") == 0 || strcmp(drv, "vfio-pci-nohotplug") == 0);
}

bool vk__is_iommufd_object(const struct vk_qc_option *o)
{
	const char *t;

	if (!o->def || strcmp(o->def->name, "object") != 0)
		return false;
	t = vk_qc_option_type(o);
	return t && strcmp(t, "iommufd") == 0;
}

/* QEMU's host= parser (hw/core/qdev-properties-system.c set_pci_host_devaddr):
 * [domain:]bus:slot.function, hex except the function (decimal), domain <= 0xffff,
 * bus <= 0xff, slot <= 0x1f, function <= 7.  Returns 0, -EINVAL malformed,
 * -ERANGE for a domain above 0xffff (otherwise well formed). */
int vk__qemu_host_parse(const char *s, struct vk_pci_addr *out)
{
	unsigned long f[3];
	int nf = 0;
	const char *p = s;
	char *e;
	unsigned long fn;
	bool big_domain = false;

	for (;;) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
			return -EINVAL;
		errno = 0;
		f[nf] = strtoul(p, &e, 16);
		if (errno)
			return -EINVAL;
		nf++;
		if (*e == ':' && nf < 3) {
			p = e + 1;
			continue;
		}
		if (*e != '.')
			return -EINVAL;
		p = e + 1;
		break;
	}
	if (nf < 2)
		return -EINVAL;
	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	fn = strtoul(p, &e, 10);
	if (*e != '\0' || fn > 7)
		return -EINVAL;
	unsigned long dom = nf == 3 ? f[0] : 0, bus = f[nf - 2], slot = f[nf - 1];
	if (bus > 0xff || slot > 0x1f)
		return -EINVAL;
	if (dom > 0xffffffffUL)
		return -EINVAL;
	if (dom > 0xffff)
		big_domain = true;
	if (out) {
		out->domain = (uint32_t)dom;
		out->bus = (uint8_t)bus;
		out->slot = (uint8_t)slot;
		out->function = (uint8_t)fn;
	}
	return big_domain ? -ERANGE : 0;
}

/* The PCI address of a vfio-pci device (sysfsdev= wins over host=, as in QEMU). */
int vk__vfio_device_addr(const struct vk_qc_option *o, struct vk_pci_addr *out)
{
	const char *sysfsdev = vk_qc_option_get(o, "sysfsdev");
	const char *host = vk_qc_option_get(o, "host");

	if (sysfsdev) {
		const char *pfx = "/sys/bus/pci/devices/";
		const char *b = sysfsdev;
		if (strncmp(b, pfx, strlen(pfx)) == 0)
			b += strlen(pfx);
		else if (strncmp(b, "/sys/devices/", 13) == 0 && strrchr(b, '/'))
			b = strrchr(b, '/') + 1;
		else
			return -ENOENT; /* an mdev or another bus */
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", b);
		size_t l = strlen(buf);
		while (l && buf[l - 1] == '/')
			buf[--l] = '\0';
		return vk_pci_addr_parse(buf, out, NULL);
	}
	if (host) {
		int r = vk__qemu_host_parse(host, out);
		return r == -ERANGE ? 0 : r;
	}
	return -ENOENT;
}

void vk__subject(const struct vk_qc_option *o, char *buf, size_t len)
{
	const char *id = vk_qc_option_get(o, "id");
	const char *t = vk_qc_option_type(o);

	if (id)
		snprintf(buf, len, "%s", id);
	else
		snprintf(buf, len, "-%s%s%s (argument %ld)", o->name, t ? " " : "", t ? t : "", o->argi);
}

static bool is_decimal(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A placeholder of libvirt's test suite (tests/qemuxmlconfdata): "@name@", "@name@-dup",
 * "XXXXXXX".  The real program substitutes FD numbers; the rules do not judge them. */
bool vk__is_placeholder(const char *s)
{
	size_t n = strlen(s);

	if (n >= 3 && strspn(s, "X") == n)
		return true;
	if (n < 3 || s[0] != '@')
		return false;
	const char *end = strchr(s + 1, '@');
	if (!end || end == s + 1)
		return false;
	for (const char *p = s + 1; p < end; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return end[1] == '\0' || strcmp(end + 1, "-dup") == 0;
}

#define ADD(rule, o, ev, hint, ...) \
	do { \
		char subj_[128]; \
		vk__subject((o), subj_, sizeof(subj_)); \
		int r_ = vk_report_add(r, rule, subj_, (o)->argi, (o)->line, ev, hint, __VA_ARGS__); \
		if (r_ < 0) \
			return r_; \
	} while (0)

static const char *version_str(const struct vk_qemu_caps *caps, char *buf, size_t len)
{
	snprintf(buf, len, "%s", caps->label[0] ? caps->label : "this QEMU");
	return buf;
}

/* JSON values QEMU reads as strings (fd, host, sysfsdev, iommufd, id). */
static int check_json_strings(const struct vk_qc_option *o, struct vk_report *r, const char *const *keys)
{
	if (!o->json)
		return 0;
	for (size_t k = 0; keys[k]; k++) {
		const struct vk_qc_prop *p = vk_qc_option_prop(o, keys[k]);
		if (p && p->kind != VK_QC_V_STRING) {
			char ev[256];
			snprintf(ev, sizeof(ev), "\"%s\":%s", p->key, p->value);
			char hint[256];
			snprintf(hint, sizeof(hint), "write \"%s\":\"%s\"", p->key, p->value);
			ADD("VV012", o, ev, hint, "%s must be a JSON string; QEMU refuses a %s here", p->key,
			    p->kind == VK_QC_V_NUMBER ? "number" : p->kind == VK_QC_V_BOOL ? "boolean"
			                                                                   : "non-string");
		}
	}
	return 0;
}

/* fd= of vfio-pci or of the iommufd object. */
static int check_fd_value(const struct vk_qc_option *o, const struct vk_qc_prop *fd, struct vk_report *r)
{
	char ev[256];

	snprintf(ev, sizeof(ev), "fd=%s", fd->value);
	if (strncmp(fd->value, "/dev/fdset/", 11) == 0)
		ADD("VV010", o, ev, NULL, "fd=%s: an fd set is not accepted for fd= here", fd->value);
	else if (vk__is_placeholder(fd->value))
		ADD("VV019", o, ev, NULL, "fd=%s is a test placeholder, not an FD: not checked", fd->value);
	else if (fd->kind == VK_QC_V_STRING && !is_decimal(fd->value))
		ADD("VV011", o, ev, NULL, "fd=%s is not a number: QEMU resolves it as a monitor FD name",
		    fd->value);
	return 0;
}

/*
 * Indexes of the command line, built once so that the rules that relate
 * options to each other (duplicates, references) cost O(n log n) for n
 * options instead of comparing every pair.
 */

/* One option under a string key (an id, an fd=, an iommufd=). */
struct keyed {
	const char *key;
	size_t idx;   /* index into c->opts */
	size_t space; /* which name space the key lives in */
	size_t first; /* after keyed_mark_first(): idx of the first option with the same space and key */
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int k;

	if (x->space != y->space)
		return x->space < y->space ? -1 : 1;
	if ((k = strcmp(x->key, y->key)) != 0)
		return k;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int keyed_cmp_idx(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->space != y->space)
		return x->space < y->space ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sort by (space, key, idx) and give every entry the idx of the first of its group. */
static void keyed_mark_first(struct keyed *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), keyed_cmp);
	for (size_t i = 0; i < n; i++)
		v[i].first = i && v[i - 1].space == v[i].space && strcmp(v[i - 1].key, v[i].key) == 0 ? v[i - 1].first
		                                                                                      : v[i].idx;
}

/* The first entry with @key in @space of an array sorted by keyed_mark_first(), or NULL. */
static const struct keyed *keyed_find(const struct keyed *v, size_t n, size_t space, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = v[mid].space != space ? (v[mid].space < space ? -1 : 1) : strcmp(v[mid].key, key);
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].space == space && strcmp(v[lo].key, key) == 0 ? &v[lo] : NULL;
}

struct idspace {
	const char *opt;
	const char *key;
};

static const struct idspace idspaces[] = {
	{"device", "id"},
	{"object", "id"},
	{"netdev", "id"},
	{"chardev", "id"},
	{"blockdev", "node-name"},
	{"audiodev", "id"},
};

static int check_duplicate_ids(const struct vk_qc_cmdline *c, struct vk_report *r)
{
	_cleanup_free_ struct keyed *v = calloc(c->nopts ? c->nopts : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		for (size_t s = 0; o->def && s < VK_ARRAY_SIZE(idspaces); s++) {
			if (strcmp(o->def->name, idspaces[s].opt) != 0)
				continue;
			const char *id = vk_qc_option_get(o, idspaces[s].key);
			if (id)
				v[n++] = (struct keyed){.key = id, .idx = i, .space = s};
			break;
		}
	}
	keyed_mark_first(v, n);
	/* findings in the order of a pairwise walk: by space, then by option */
	if (n > 1)
		qsort(v, n, sizeof(*v), keyed_cmp_idx);
	for (size_t k = 0; k < n; k++) {
		const struct vk_qc_option *a = &c->opts[v[k].idx], *b = &c->opts[v[k].first];
		const struct idspace *sp = &idspaces[v[k].space];
		char ev[256];
		if (v[k].first == v[k].idx)
			continue;
		snprintf(ev, sizeof(ev), "%s=%s also at argument %ld", sp->key, v[k].key, b->argi);
		ADD("VV007", a, ev, NULL, "-%s %s '%s' is used twice (first at argument %ld)", sp->opt, sp->key, v[k].key,
		    b->argi);
	}
	return 0;
}

static int check_vfio_device(const struct vk_qc_cmdline *c, const struct keyed *objects, size_t nobjects,
                             const struct vk_qc_option *o, const struct vk_qemu_caps *caps, struct vk_report *r)
{
	/* a non-string "id" QEMU ignores (qdev_device_add_from_qdict(): qdict_get_try_str()): VV028 */
	static const char *const strkeys[] = {"host", "sysfsdev", "fd", "iommufd", NULL};
	const struct vk_qc_prop *host = vk_qc_option_prop(o, "host");
	const struct vk_qc_prop *sysfsdev = vk_qc_option_prop(o, "sysfsdev");
	const struct vk_qc_prop *fd = vk_qc_option_prop(o, "fd");
	const struct vk_qc_prop *iommufd = vk_qc_option_prop(o, "iommufd");
	char ev[256], ver[80];
	int ret;

	ret = check_json_strings(o, r, strkeys);
	if (ret < 0)
		return ret;
	if (!host && !sysfsdev && !fd)
		ADD("VV001", o, NULL, NULL, "No provided host device: vfio-pci needs host=, sysfsdev= or fd=");
	if (host && sysfsdev) {
		snprintf(ev, sizeof(ev), "host=%s sysfsdev=%s", host->value, sysfsdev->value);
		ADD("VV002", o, ev, NULL, "both host= and sysfsdev= are given; QEMU uses sysfsdev=%s and ignores host=%s",
		    sysfsdev->value, host->value);
	}
	if (host) {
		struct vk_pci_addr a;
		int hr = vk__qemu_host_parse(host->value, &a);
		snprintf(ev, sizeof(ev), "host=%s", host->value);
		if (hr == -ERANGE)
			ADD("VV004", o, ev, NULL,
			    "host=%s: domain %x is above 0xffff (an Intel VMD domain?); QEMU refuses it", host->value,
			    a.domain);
		else if (hr < 0)
			ADD("VV003", o, ev, NULL, "host=%s is not [domain:]bus:slot.function as QEMU parses it",
			    host->value);
	}
	if (sysfsdev && sysfsdev->value[0] != '/') {
		snprintf(ev, sizeof(ev), "sysfsdev=%s", sysfsdev->value);
		ADD("VV018", o, ev, NULL, "sysfsdev=%s is not an absolute sysfs path", sysfsdev->value);
	}
	if (fd) {
		ret = check_fd_value(o, fd, r);
		if (ret < 0)
			return ret;
		if (!iommufd)
			ADD("VV005", o, "fd= without iommufd=", NULL, "Use FD passing only with iommufd backend: fd=%s needs iommufd=<id of an -object iommufd>",
			    fd->value);
		if (!caps->vfio_fd)
			ADD("VV013", o, "fd=", "use QEMU 9.0 or newer, or legacy VFIO: host=<BDF> without fd=/iommufd=",
			    "%s cannot do this: vfio-pci has no fd= property (from QEMU 9.0)", version_str(caps, ver, sizeof(ver)));
	}
	if (iommufd) {
		/* the first -object with that id (QEMU refuses a second one: VV007) */
		const struct keyed *k = keyed_find(objects, nobjects, 0, iommufd->value);
		const struct vk_qc_option *obj = k ? &c->opts[k->idx] : NULL;
		snprintf(ev, sizeof(ev), "iommufd=%s", iommufd->value);
		if (!obj)
			ADD("VV006", o, ev, NULL, "iommufd=%s names no -object", iommufd->value);
		else if (!vk__is_iommufd_object(obj))
			ADD("VV006", o, ev, NULL, "iommufd=%s names an object of type '%s', not iommufd", iommufd->value,
			    vk_qc_option_type(obj) ? vk_qc_option_type(obj) : "?");
		if (!caps->vfio_iommufd)
			ADD("VV013", o, ev, "use QEMU 9.0 or newer, or legacy VFIO: host=<BDF> without fd=/iommufd=",
			    "%s cannot do this: vfio-pci has no iommufd= property (from QEMU 9.0)", version_str(caps, ver, sizeof(ver)));
	}
	return 0;
}

/* A growing array of struct keyed. */
struct keyvec {
	struct keyed *v;
	size_t n, cap;
};

static int keyvec_add(struct keyvec *kv, const char *key, size_t idx, size_t space)
{
	if (kv->n == kv->cap) {
		size_t nc = kv->cap ? kv->cap * 2 : 16;
		struct keyed *p = realloc(kv->v, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		kv->v = p;
		kv->cap = nc;
	}
	kv->v[kv->n++] = (struct keyed){.key = key, .idx = idx, .space = space};
	return 0;
}

/* The indexes vk_check_cmdline() looks options up in. */
struct cmdline_index {
	struct keyvec objects; /* -object by id (space 0) */
	struct keyvec users;   /* iommufd= of vfio-pci devices (space 0) */
	struct keyvec fds;     /* fd= of vfio-pci devices and iommufd objects, /dev/fdset/N excluded (space 0) */
	long *sets;            /* fd sets -add-fd defines, sorted */
	size_t nsets, capsets;
};

static void cmdline_index_free(struct cmdline_index *x)
{
	free(x->objects.v);
	free(x->users.v);
	free(x->fds.v);
	free(x->sets);
}

static int long_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

static int add_set(struct cmdline_index *x, long set)
{
	if (x->nsets == x->capsets) {
		size_t nc = x->capsets ? x->capsets * 2 : 16;
		long *p = realloc(x->sets, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		x->sets = p;
		x->capsets = nc;
	}
	x->sets[x->nsets++] = set;
	return 0;
}

static int cmdline_index_build(const struct vk_qc_cmdline *c, struct cmdline_index *x)
{
	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		const char *v;
		int ret = 0;

		if (!o->def)
			continue;
		if (strcmp(o->def->name, "object") == 0 && (v = vk_qc_option_get(o, "id")))
			ret = keyvec_add(&x->objects, v, i, 0);
		if (ret == 0 && vk__is_vfio_pci(o) && (v = vk_qc_option_get(o, "iommufd")))
			ret = keyvec_add(&x->users, v, i, 0);
		if (ret == 0 && (vk__is_vfio_pci(o) || vk__is_iommufd_object(o)) && (v = vk_qc_option_get(o, "fd")) &&
		    strncmp(v, "/dev/fdset/", 11) != 0)
			ret = keyvec_add(&x->fds, v, i, 0);
		if (ret < 0)
			return ret;
	}
	keyed_mark_first(x->objects.v, x->objects.n);
	keyed_mark_first(x->users.v, x->users.n);
	keyed_mark_first(x->fds.v, x->fds.n);
	return 0;
}

/* A vfio-pci device's PCI address, with the index of its option. */
struct addr_at {
	struct vk_pci_addr a;
	size_t idx;
};

static int addr_at_cmp(const void *a, const void *b)
{
	const struct addr_at *x = a, *y = b;
	int k = vk_pci_addr_cmp(&x->a, &y->a);
	return k ? k : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static int report_dup_addr(const struct vk_qc_option *a, const struct vk_qc_option *first, struct vk_report *r)
{
	char bdf[VK_PCI_ADDR_STRLEN], ev[256];
	struct vk_pci_addr pa;

	vk__vfio_device_addr(a, &pa);
	vk_pci_addr_format(&pa, bdf);
	snprintf(ev, sizeof(ev), "%s also at argument %ld", bdf, first->argi);
	ADD("VV008", a, ev, NULL, "host device %s is already assigned by argument %ld", bdf, first->argi);
	return 0;
}

static int report_dup_fd(const struct vk_qc_option *a, const struct vk_qc_option *first, struct vk_report *r)
{
	const char *fd = vk_qc_option_get(a, "fd");
	char ev[256];

	snprintf(ev, sizeof(ev), "fd=%s also at argument %ld", fd, first->argi);
	ADD("VV009", a, ev, NULL, "fd=%s is already used by argument %ld", fd, first->argi);
	return 0;
}

/*
 * VV008 (the same host device twice) and VV009 (the same fd= twice): each
 * option after the first names the first one, and an option that repeats
 * both reports them in the order of those first options.  Sorting makes it
 * O(n log n).
 */
static int check_duplicate_devices(const struct vk_qc_cmdline *c, const struct cmdline_index *x, struct vk_report *r)
{
	_cleanup_free_ struct addr_at *addrs = calloc(c->nopts ? c->nopts : 1, sizeof(*addrs));
	_cleanup_free_ size_t *first_addr = calloc(c->nopts ? c->nopts : 1, sizeof(size_t));
	_cleanup_free_ size_t *first_fd = calloc(c->nopts ? c->nopts : 1, sizeof(size_t));
	size_t na = 0;

	if (!addrs || !first_addr || !first_fd)
		return -ENOMEM;
	for (size_t i = 0; i < c->nopts; i++) {
		first_addr[i] = first_fd[i] = i;
		if (vk__is_vfio_pci(&c->opts[i]) && vk__vfio_device_addr(&c->opts[i], &addrs[na].a) == 0)
			addrs[na++].idx = i;
	}
	if (na > 1)
		qsort(addrs, na, sizeof(*addrs), addr_at_cmp);
	for (size_t k = 1; k < na; k++)
		if (vk_pci_addr_equal(&addrs[k].a, &addrs[k - 1].a))
			first_addr[addrs[k].idx] = first_addr[addrs[k - 1].idx];
	for (size_t k = 0; k < x->fds.n; k++)
		first_fd[x->fds.v[k].idx] = x->fds.v[k].first;

	for (size_t i = 0; i < c->nopts; i++) {
		size_t ja = first_addr[i], jf = first_fd[i];
		bool addr_first = ja != i && (jf == i || ja <= jf);
		int ret = 0;

		if (addr_first)
			ret = report_dup_addr(&c->opts[i], &c->opts[ja], r);
		if (ret == 0 && jf != i)
			ret = report_dup_fd(&c->opts[i], &c->opts[jf], r);
		if (ret == 0 && ja != i && !addr_first)
			ret = report_dup_addr(&c->opts[i], &c->opts[ja], r);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* VV016: /dev/fdset/N in any property names a set an -add-fd defines. */
static int check_fdset_users(const struct vk_qc_cmdline *c, const struct cmdline_index *x, struct vk_report *r)
{
	char ev[256];

	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		char subj[128] = "";
		for (size_t k = 0; k < o->nprops; k++) {
			const char *v = o->props[k].value;
			if (strncmp(v, "/dev/fdset/", 11) != 0 || !is_decimal(v + 11))
				continue;
			long s = atol(v + 11);
			if (x->nsets && bsearch(&s, x->sets, x->nsets, sizeof(long), long_cmp))
				continue;
			/* the subject once per option: an option with many properties
			 * must not cost a lookup of its id per finding */
			if (!subj[0])
				vk__subject(o, subj, sizeof(subj));
			snprintf(ev, sizeof(ev), "%s=%s", o->props[k].key, v);
			int ret = vk_report_add(r, "VV016", subj, o->argi, o->line, ev, NULL,
			                        "%s=%s: no -add-fd defines fd set %ld", o->props[k].key, v, s);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int check_options(const struct vk_qc_cmdline *c, const struct vk_qemu_caps *caps, struct cmdline_index *x,
                         struct vk_report *r)
{
	char ev[256], ver[80];
	int ret;

	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];

		if (!o->def && !o->is_image) {
			snprintf(ev, sizeof(ev), "-%s", o->name);
			ret = vk_report_add(r, "VV014", NULL, o->argi, o->line, ev, NULL,
			                    "unknown option -%s (assumed to take no argument)", o->name);
			if (ret < 0)
				return ret;
			continue;
		}
		if (!o->def)
			continue;
		if (strcmp(o->def->name, "object") == 0 && o->json && !caps->json_object)
			ADD("VV013", o, "-object '{...}'", "use QEMU 6.0 or newer, or the key=value form",
			    "%s cannot parse JSON -object (from QEMU 6.0)", version_str(caps, ver, sizeof(ver)));
		if (strcmp(o->def->name, "device") == 0 && o->json && !caps->json_device)
			ADD("VV013", o, "-device '{...}'", "use QEMU 6.2 or newer, or the key=value form",
			    "%s cannot parse JSON -device (from QEMU 6.2)", version_str(caps, ver, sizeof(ver)));
		if (vk__is_iommufd_object(o)) {
			static const char *const k[] = {"fd", "id", NULL};
			const struct vk_qc_prop *fd = vk_qc_option_prop(o, "fd");
			if ((ret = check_json_strings(o, r, k)) < 0)
				return ret;
			if (fd && (ret = check_fd_value(o, fd, r)) < 0)
				return ret;
			if (!caps->iommufd_object)
				ADD("VV013", o, "-object iommufd",
				    "use QEMU 9.0 or newer (Debian 12 ships 7.2), or legacy VFIO: -device vfio-pci,host=<BDF> without iommufd",
				    "%s cannot do this: it has no iommufd backend object (from QEMU 9.0)",
				    version_str(caps, ver, sizeof(ver)));
			const char *id = vk_qc_option_get(o, "id");
			if (!id || !keyed_find(x->users.v, x->users.n, 0, id))
				ADD("VV017", o, NULL, NULL, "iommufd object '%s' is used by no vfio-pci device", id ? id : "?");
		}
		if (vk__is_vfio_pci(o) && (ret = check_vfio_device(c, x->objects.v, x->objects.n, o, caps, r)) < 0)
			return ret;
		if (strcmp(o->def->name, "add-fd") == 0) {
			const char *fd = vk_qc_option_get(o, "fd"), *set = vk_qc_option_get(o, "set");
			snprintf(ev, sizeof(ev), "%s", o->arg);
			if (fd && set && vk__is_placeholder(fd) && is_decimal(set)) {
				ADD("VV019", o, ev, NULL, "-add-fd fd=%s is a test placeholder, not an FD: not checked", fd);
				if ((ret = add_set(x, atol(set))) < 0)
					return ret;
			} else if (!fd || !is_decimal(fd) || !set || !is_decimal(set))
				ADD("VV015", o, ev, NULL, "-add-fd needs fd=N and set=M, both numbers");
			else if (atol(fd) <= 2)
				ADD("VV015", o, ev, NULL, "-add-fd fd=%s: fd must not be stdin, stdout or stderr", fd);
			else if ((ret = add_set(x, atol(set))) < 0)
				return ret;
		}
	}
	if (x->nsets > 1)
		qsort(x->sets, x->nsets, sizeof(long), long_cmp);
	return 0;
}

int vk_check_cmdline(const struct vk_qc_cmdline *c, const struct vk_qemu_caps *caps, struct vk_report *r,
                     struct vk_error *err)
{
	struct cmdline_index x = {0};
	int ret;

	if ((ret = cmdline_index_build(c, &x)) < 0 || (ret = check_options(c, caps, &x, r)) < 0 ||
	    (ret = check_fdset_users(c, &x, r)) < 0 || (ret = check_duplicate_devices(c, &x, r)) < 0 ||
	    (ret = check_duplicate_ids(c, r)) < 0 || (ret = vk__check_qdev(c, caps, r)) < 0) {
		cmdline_index_free(&x);
		return ret == -ENOMEM ? vk_error_set(err, ENOMEM, "out of memory") : ret;
	}
	cmdline_index_free(&x);
	return 0;
}
