/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command-line rules: what QEMU itself would refuse or do differently. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/validator.h>

#include "rules.h"

bool vk__is_vfio_pci(const struct qc_option *o)
{
	const char *drv;

	if (!o->def || strcmp(o->def->name, "device") != 0)
		return false;
	drv = qc_option_type(o);
	return drv && (strcmp(drv, "vfio-pci") == 0 || strcmp(drv, "vfio-pci-nohotplug") == 0);
}

bool vk__is_iommufd_object(const struct qc_option *o)
{
	const char *t;

	if (!o->def || strcmp(o->def->name, "object") != 0)
		return false;
	t = qc_option_type(o);
	return t && strcmp(t, "iommufd") == 0;
}

/* QEMU's host= parser (hw/core/qdev-properties-system.c set_pci_host_devaddr):
 * [domain:]bus:slot.function, hex except the function (decimal), domain <= 0xffff,
 * bus <= 0xff, slot <= 0x1f, function <= 7.  Returns 0, -EINVAL malformed,
 * -ERANGE for a domain above 0xffff (otherwise well formed). */
int vk__qemu_host_parse(const char *s, struct pci_addr *out)
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
int vk__vfio_device_addr(const struct qc_option *o, struct pci_addr *out)
{
	const char *sysfsdev = qc_option_get(o, "sysfsdev");
	const char *host = qc_option_get(o, "host");

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
		return pci_addr_parse(buf, out, NULL);
	}
	if (host) {
		int r = vk__qemu_host_parse(host, out);
		return r == -ERANGE ? 0 : r;
	}
	return -ENOENT;
}

void vk__subject(const struct qc_option *o, char *buf, size_t len)
{
	const char *id = qc_option_get(o, "id");
	const char *t = qc_option_type(o);

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

#define ADD(rule, o, ev, hint, ...)                                                              \
	do {                                                                                     \
		char subj_[128];                                                                 \
		vk__subject((o), subj_, sizeof(subj_));                                          \
		int r_ = vk_report_add(r, rule, subj_, (o)->argi, (o)->line, ev, hint, __VA_ARGS__); \
		if (r_ < 0)                                                                      \
			return r_;                                                               \
	} while (0)

static const char *version_str(const struct qemu_caps *caps, char *buf, size_t len)
{
	snprintf(buf, len, "%s", caps->label[0] ? caps->label : "this QEMU");
	return buf;
}

/* JSON values QEMU reads as strings (fd, host, sysfsdev, iommufd, id). */
static int check_json_strings(const struct qc_option *o, struct vk_report *r, const char *const *keys)
{
	if (!o->json)
		return 0;
	for (size_t k = 0; keys[k]; k++) {
		const struct qc_prop *p = qc_option_prop(o, keys[k]);
		if (p && p->kind != QC_V_STRING) {
			char ev[256];
			snprintf(ev, sizeof(ev), "\"%s\":%s", p->key, p->value);
			char hint[256];
			snprintf(hint, sizeof(hint), "write \"%s\":\"%s\"", p->key, p->value);
			ADD("VV012", o, ev, hint, "%s must be a JSON string; QEMU refuses a %s here", p->key,
			    p->kind == QC_V_NUMBER ? "number" : p->kind == QC_V_BOOL ? "boolean" : "non-string");
		}
	}
	return 0;
}

/* fd= of vfio-pci or of the iommufd object. */
static int check_fd_value(const struct qc_option *o, const struct qc_prop *fd, struct vk_report *r)
{
	char ev[256];

	snprintf(ev, sizeof(ev), "fd=%s", fd->value);
	if (strncmp(fd->value, "/dev/fdset/", 11) == 0)
		ADD("VV010", o, ev, NULL, "fd=%s: an fd set is not accepted for fd= here", fd->value);
	else if (vk__is_placeholder(fd->value))
		ADD("VV019", o, ev, NULL, "fd=%s is a test placeholder, not an FD: not checked", fd->value);
	else if (fd->kind == QC_V_STRING && !is_decimal(fd->value))
		ADD("VV011", o, ev, NULL, "fd=%s is not a number: QEMU resolves it as a monitor FD name",
		    fd->value);
	return 0;
}

struct idspace {
	const char *opt;
	const char *key;
};

static int check_duplicate_ids(const struct qc_cmdline *c, struct vk_report *r)
{
	static const struct idspace spaces[] = {
		{ "device", "id" }, { "object", "id" }, { "netdev", "id" }, { "chardev", "id" },
		{ "blockdev", "node-name" }, { "audiodev", "id" },
	};

	for (size_t s = 0; s < VK_ARRAY_SIZE(spaces); s++) {
		for (size_t i = 0; i < c->nopts; i++) {
			const struct qc_option *a = &c->opts[i];
			if (!a->def || strcmp(a->def->name, spaces[s].opt) != 0)
				continue;
			const char *ida = qc_option_get(a, spaces[s].key);
			if (!ida)
				continue;
			for (size_t j = 0; j < i; j++) {
				const struct qc_option *b = &c->opts[j];
				if (!b->def || strcmp(b->def->name, spaces[s].opt) != 0)
					continue;
				const char *idb = qc_option_get(b, spaces[s].key);
				if (idb && strcmp(ida, idb) == 0) {
					char ev[256];
					snprintf(ev, sizeof(ev), "%s=%s also at argument %ld", spaces[s].key, ida, b->argi);
					ADD("VV007", a, ev, NULL, "-%s %s '%s' is used twice (first at argument %ld)",
					    spaces[s].opt, spaces[s].key, ida, b->argi);
					break;
				}
			}
		}
	}
	return 0;
}

static const struct qc_option *find_object(const struct qc_cmdline *c, const char *id)
{
	for (size_t i = 0; i < c->nopts; i++) {
		const struct qc_option *o = &c->opts[i];
		if (o->def && strcmp(o->def->name, "object") == 0) {
			const char *oid = qc_option_get(o, "id");
			if (oid && strcmp(oid, id) == 0)
				return o;
		}
	}
	return NULL;
}

static int check_vfio_device(const struct qc_cmdline *c, const struct qc_option *o,
                             const struct qemu_caps *caps, struct vk_report *r)
{
	static const char *const strkeys[] = { "host", "sysfsdev", "fd", "iommufd", "id", NULL };
	const struct qc_prop *host = qc_option_prop(o, "host");
	const struct qc_prop *sysfsdev = qc_option_prop(o, "sysfsdev");
	const struct qc_prop *fd = qc_option_prop(o, "fd");
	const struct qc_prop *iommufd = qc_option_prop(o, "iommufd");
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
		struct pci_addr a;
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
		const struct qc_option *obj = find_object(c, iommufd->value);
		snprintf(ev, sizeof(ev), "iommufd=%s", iommufd->value);
		if (!obj)
			ADD("VV006", o, ev, NULL, "iommufd=%s names no -object", iommufd->value);
		else if (!vk__is_iommufd_object(obj))
			ADD("VV006", o, ev, NULL, "iommufd=%s names an object of type '%s', not iommufd", iommufd->value,
			    qc_option_type(obj) ? qc_option_type(obj) : "?");
		if (!caps->vfio_iommufd)
			ADD("VV013", o, ev, "use QEMU 9.0 or newer, or legacy VFIO: host=<BDF> without fd=/iommufd=",
			    "%s cannot do this: vfio-pci has no iommufd= property (from QEMU 9.0)", version_str(caps, ver, sizeof(ver)));
	}
	return 0;
}

int vk_check_cmdline(const struct qc_cmdline *c, const struct qemu_caps *caps, struct vk_report *r,
                     struct vk_error *err)
{
	struct { long set; bool used; } sets[64];
	size_t nsets = 0;
	char ev[256], ver[80];
	int ret;

	(void)err;
	for (size_t i = 0; i < c->nopts; i++) {
		const struct qc_option *o = &c->opts[i];

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
			static const char *const k[] = { "fd", "id", NULL };
			const struct qc_prop *fd = qc_option_prop(o, "fd");
			if ((ret = check_json_strings(o, r, k)) < 0)
				return ret;
			if (fd && (ret = check_fd_value(o, fd, r)) < 0)
				return ret;
			if (!caps->iommufd_object)
				ADD("VV013", o, "-object iommufd",
				    "use QEMU 9.0 or newer (Debian 12 ships 7.2), or legacy VFIO: -device vfio-pci,host=<BDF> without iommufd",
				    "%s cannot do this: it has no iommufd backend object (from QEMU 9.0)",
				    version_str(caps, ver, sizeof(ver)));
			bool used = false;
			const char *id = qc_option_get(o, "id");
			for (size_t j = 0; id && j < c->nopts; j++) {
				const char *u = vk__is_vfio_pci(&c->opts[j]) ? qc_option_get(&c->opts[j], "iommufd") : NULL;
				used |= u && strcmp(u, id) == 0;
			}
			if (!used)
				ADD("VV017", o, NULL, NULL, "iommufd object '%s' is used by no vfio-pci device", id ? id : "?");
		}
		if (vk__is_vfio_pci(o) && (ret = check_vfio_device(c, o, caps, r)) < 0)
			return ret;
		if (strcmp(o->def->name, "add-fd") == 0) {
			const char *fd = qc_option_get(o, "fd"), *set = qc_option_get(o, "set");
			snprintf(ev, sizeof(ev), "%s", o->arg);
			if (fd && set && vk__is_placeholder(fd) && is_decimal(set)) {
				ADD("VV019", o, ev, NULL, "-add-fd fd=%s is a test placeholder, not an FD: not checked", fd);
				if (nsets < VK_ARRAY_SIZE(sets))
					sets[nsets++].set = atol(set);
			} else if (!fd || !is_decimal(fd) || !set || !is_decimal(set))
				ADD("VV015", o, ev, NULL, "-add-fd needs fd=N and set=M, both numbers");
			else if (atol(fd) <= 2)
				ADD("VV015", o, ev, NULL, "-add-fd fd=%s: fd must not be stdin, stdout or stderr", fd);
			else if (nsets < VK_ARRAY_SIZE(sets))
				sets[nsets++].set = atol(set);
		}
	}
	/* /dev/fdset/N references */
	for (size_t i = 0; i < c->nopts; i++) {
		const struct qc_option *o = &c->opts[i];
		for (size_t k = 0; k < o->nprops; k++) {
			const char *v = o->props[k].value;
			if (strncmp(v, "/dev/fdset/", 11) != 0 || !is_decimal(v + 11))
				continue;
			long s = atol(v + 11);
			bool found = false;
			for (size_t j = 0; j < nsets; j++)
				found |= sets[j].set == s;
			if (!found) {
				snprintf(ev, sizeof(ev), "%s=%s", o->props[k].key, v);
				ADD("VV016", o, ev, NULL, "%s=%s: no -add-fd defines fd set %ld", o->props[k].key, v, s);
			}
		}
	}
	/* Same host device twice; same fd twice. */
	for (size_t i = 0; i < c->nopts; i++) {
		const struct qc_option *a = &c->opts[i];
		struct pci_addr pa;
		const char *fda;
		if (!vk__is_vfio_pci(a) && !vk__is_iommufd_object(a))
			continue;
		bool addr_ok = vk__is_vfio_pci(a) && vk__vfio_device_addr(a, &pa) == 0;
		fda = qc_option_get(a, "fd");
		for (size_t j = 0; j < i; j++) {
			const struct qc_option *b = &c->opts[j];
			struct pci_addr pb;
			const char *fdb = qc_option_get(b, "fd");
			if (!vk__is_vfio_pci(b) && !vk__is_iommufd_object(b))
				continue;
			if (addr_ok && vk__is_vfio_pci(b) && vk__vfio_device_addr(b, &pb) == 0 && pci_addr_equal(&pa, &pb)) {
				char bdf[PCI_ADDR_STRLEN];
				pci_addr_format(&pa, bdf);
				snprintf(ev, sizeof(ev), "%s also at argument %ld", bdf, b->argi);
				ADD("VV008", a, ev, NULL, "host device %s is already assigned by argument %ld", bdf, b->argi);
				addr_ok = false;
			}
			if (fda && fdb && strcmp(fda, fdb) == 0 && strncmp(fda, "/dev/fdset/", 11) != 0) {
				snprintf(ev, sizeof(ev), "fd=%s also at argument %ld", fda, b->argi);
				ADD("VV009", a, ev, NULL, "fd=%s is already used by argument %ld", fda, b->argi);
				fda = NULL;
			}
		}
	}
	return check_duplicate_ids(c, r);
}
