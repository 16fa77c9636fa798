/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys record: read a host's sysfs/devfs/procfs (or a tree laid out like
 * them) and write a scenario that replays to the same tree; and
 * fakesys import-umockdev, which lays a umockdev-record file out as such a
 * tree and records it.
 *
 * Safety: every path of the recorded tree is opened through struct vk_root
 * (symlinks resolved inside the root), attributes with no symlink followed,
 * always O_NONBLOCK (a FIFO planted as an attribute cannot block us), and only
 * regular files are read, with a cap.  Device nodes are only stat'ed (O_PATH),
 * never opened.  Everything skipped becomes a note: stderr and YAML comments.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/fakesys_record.h>
#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#define ATTR_CAP (64u * 1024u)   /* largest attribute read */
#define CONFIG_CAP 4096u         /* PCIe extended config space */
#define MAX_ENTRIES 65536u       /* entries read from one directory */
#define MAX_NOTES 1000u

struct rnode {
	bool known;   /* false: leave the key out (defaults) */
	bool present;
	uint32_t uid, gid, mode;
};

struct rdev {
	struct pci_addr addr;
	char bdf[PCI_ADDR_STRLEN];
	bool have_parent, have_physfn;
	struct pci_addr parent, physfn;
	bool have_vendor, have_device, have_svendor, have_sdevice, have_class, have_rev, have_numa;
	uint64_t vendor, device, svendor, sdevice, class_code, revision;
	int64_t numa;
	char *driver, *override, *label;
	int64_t group;      /* -1 = none */
	int64_t vfio_index; /* -1 = none */
	struct rnode vfio_node;
	uint8_t *config;
	size_t config_len;
	uint64_t (*res)[3]; /* the resource file's lines */
	size_t n_res;
	bool have_irq;
	uint64_t irq;
	uint64_t totalvfs, vf_device;
	bool have_vf_device;
	bool selected, emit_config;
};

struct rmod {
	char *name;
	bool builtin;
	char **pn, **pv;
	size_t np;
};

struct rgroup {
	int64_t id;
	char *type;
	bool noiommu;
	struct rnode node;
};

struct rec {
	const struct fakesys_record_opts *o;
	struct vk_root *root;
	FILE *notes_f;
	char **notes;
	size_t n_notes, dropped_notes;
	char **left_out;
	size_t n_left_out;
	bool oom;

	char *release, *cmdline;
	const char *cpu_vendor; /* "intel"/"amd"/"hygon" from proc/cpuinfo, NULL: unknown */
	bool cpu_hypervisor;
	const char *iommu;
	unsigned units;
	bool ir, cdev, iommufd, noiommu, no_modules;
	bool have_cdev_major, have_group_major, have_minor;
	uint32_t cdev_major, group_major, iommufd_minor;
	struct rmod *mods;
	size_t n_mods;
	char **drivers;
	size_t n_drivers;
	struct rdev *devs;
	size_t n_devs;
	struct rgroup *groups;
	size_t n_groups;
	struct rnode dev_iommu, dev_vfio;
};

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int strv_push(char ***v, size_t *n, char *s)
{
	if (!s)
		return -ENOMEM;
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

static void __attribute__((format(printf, 2, 3))) note(struct rec *r, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	if (r->n_notes >= MAX_NOTES) {
		r->dropped_notes++;
		return;
	}
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->oom = true;
		return;
	}
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?'; /* one note is one line */
	if (r->notes_f)
		fprintf(r->notes_f, "fakesys: record: %s\n", s);
	if (strv_push(&r->notes, &r->n_notes, s) < 0)
		r->oom = true;
}

static const char *shown(struct rec *r, const char *rel, char *buf, size_t len)
{
	return vk_root_path(r->root, rel, buf, len);
}

/*
 * Read a regular file: @dirfd < 0 means @rel is relative to the root
 * (symlinks followed inside it), else @rel is below @dirfd with no symlink.
 * Returns 0 with a NUL-terminated malloc'd buffer, -ENOENT quietly, other
 * errors with a note.  With @truncate, a longer file gives its first @cap bytes.
 */
static int read_file(struct rec *r, int dirfd, const char *rel, const char *what, size_t cap, bool truncate,
                     char **out, size_t *len)
{
	char p[PATH_MAX];
	struct stat st;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;

	*out = NULL;
	if (len)
		*len = 0;
	if (dirfd < 0)
		fd = vk_root_openat(r->root, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	else
		fd = vk_root_openat_nofollow(r->root, dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (fd != -ENOENT)
			note(r, "skipped %s: %s", what ? what : shown(r, rel, p, sizeof(p)), strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		note(r, "skipped %s: not a regular file", what ? what : shown(r, rel, p, sizeof(p)));
		return -EINVAL;
	}
	buf = malloc(cap + 2);
	if (!buf)
		return -ENOMEM;
	while (n < cap + 1) {
		ssize_t k = read(fd, buf + n, cap + 1 - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			note(r, "skipped %s: read: %s", what ? what : shown(r, rel, p, sizeof(p)), strerror(e));
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > cap) {
		if (!truncate) {
			note(r, "skipped %s: larger than %zu bytes", what ? what : shown(r, rel, p, sizeof(p)), cap);
			return -EFBIG;
		}
		note(r, "%s: longer than %zu bytes; kept the first %zu", what ? what : shown(r, rel, p, sizeof(p)),
		     cap, cap);
		n = cap;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = TAKE_PTR(buf);
	return 0;
}

/* A text attribute without its trailing newline; NUL bytes make it unusable. */
static int read_text(struct rec *r, int dirfd, const char *rel, const char *what, char **out)
{
	size_t n;
	int k = read_file(r, dirfd, rel, what, ATTR_CAP, false, out, &n);
	if (k < 0)
		return k;
	if (strlen(*out) != n) {
		char p[PATH_MAX];
		note(r, "skipped %s: contains a NUL byte", what ? what : shown(r, rel, p, sizeof(p)));
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	if (n && (*out)[n - 1] == '\n')
		(*out)[n - 1] = '\0';
	return 0;
}

static bool parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, base);
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

static bool parse_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	long long x = strtoll(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*v = x;
	return true;
}

/* A number attribute of a device (base 0: "0x10de" or "12"). */
static bool read_num(struct rec *r, int dirfd, const char *bdf, const char *name, uint64_t max, uint64_t *v)
{
	_cleanup_free_ char *s = NULL;
	char what[256];

	snprintf(what, sizeof(what), "%s/%s", bdf, name);
	if (read_text(r, dirfd, name, what, &s) < 0)
		return false;
	if (!parse_u64(s, 0, v) || *v > max) {
		note(r, "skipped %s: '%.40s' is not a number in 0..%#llx", what, s, (unsigned long long)max);
		return false;
	}
	return true;
}

/* Target of the symlink @name in @dirfd (never followed), NUL-terminated. */
static int read_link(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n = readlinkat(dirfd, name, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of a directory (no "." / ".."); -ENOENT quietly. */
static int list_dir(struct rec *r, int dirfd, const char *rel, char ***names, size_t *n)
{
	char p[PATH_MAX];
	int fd;

	*names = NULL;
	*n = 0;
	if (dirfd < 0)
		fd = vk_root_openat(r->root, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	else
		fd = vk_root_openat_nofollow(r->root, dirfd, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	if (fd < 0) {
		if (fd != -ENOENT)
			note(r, "skipped directory %s: %s", shown(r, rel, p, sizeof(p)), strerror(-fd));
		return fd;
	}
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n >= MAX_ENTRIES) {
			note(r, "%s: more than %u entries; read the first %u", shown(r, rel, p, sizeof(p)),
			     MAX_ENTRIES, MAX_ENTRIES);
			break;
		}
		if (strv_push(names, n, strdup(de->d_name)) < 0) {
			strv_free(*names, *n);
			*names = NULL;
			*n = 0;
			return -ENOMEM;
		}
		errno = 0;
	}
	if (!de && errno) {
		note(r, "%s: listing failed: %s", shown(r, rel, p, sizeof(p)), strerror(errno));
	}
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_strp);
	return 0;
}

/* stat() of a /dev node (O_PATH: never opened). */
static void stat_node(struct rec *r, const char *rel, struct rnode *out)
{
	struct stat st;
	_cleanup_close_ int fd = vk_root_openat(r->root, rel, O_PATH);

	out->known = true;
	out->present = false;
	if (fd < 0) {
		if (fd != -ENOENT) {
			char p[PATH_MAX];
			note(r, "%s: %s; recorded as absent", shown(r, rel, p, sizeof(p)), strerror(-fd));
		}
		return;
	}
	if (fstat(fd, &st) < 0)
		return;
	out->present = true;
	out->uid = st.st_uid;
	out->gid = st.st_gid;
	out->mode = st.st_mode & 07777;
}

static bool exists(struct rec *r, const char *rel)
{
	_cleanup_close_ int fd = vk_root_openat(r->root, rel, O_PATH);
	return fd >= 0;
}

/* A file name fakesys accepts (docs/scenario-format.md, "name"). */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '/')
			return false;
	return true;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *p < 0xc2))
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

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
		struct pci_addr a;
		if (pci_addr_parse(comps[i], &a, NULL) == 0) {
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
	uint64_t (*res)[3] = calloc(17, sizeof(*res));
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

static int read_device(struct rec *r, int devicesfd, const char *name, struct rdev *d)
{
	char rel[PATH_MAX], lnk[PATH_MAX], what[256];
	_cleanup_free_ char *s = NULL;
	uint64_t v;

	d->group = -1;
	d->vfio_index = -1;
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", name);
	_cleanup_close_ int fd = vk_root_openat(r->root, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	if (fd < 0) {
		note(r, "skipped device %s: %s", name, strerror(-fd));
		return fd;
	}
	find_parent(r, devicesfd, d);

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
	free(TAKE_PTR(s));

	snprintf(what, sizeof(what), "%s/config", name);
	char *cfg = NULL;
	size_t clen = 0;
	if (read_file(r, fd, "config", what, CONFIG_CAP, true, &cfg, &clen) == 0) {
		if (clen < 64) {
			note(r, "skipped %s: only %zu bytes readable (need the 64-byte header)", what, clen);
			free(cfg);
		} else {
			if (clen < 256 && clen != 64)
				note(r, "%s: %zu bytes readable; recorded those (replayed padded to 256)", what, clen);
			d->config = (uint8_t *)cfg;
			d->config_len = clen;
		}
	}

	d->have_irq = read_num(r, fd, name, "irq", UINT32_MAX, &d->irq);
	read_resources(r, fd, name, d);

	snprintf(what, sizeof(what), "%s/driver_override", name);
	if (read_text(r, fd, "driver_override", what, &s) == 0 && strcmp(s, "(null)") != 0 && *s) {
		if (valid_name(s))
			d->override = TAKE_PTR(s);
		else
			note(r, "skipped %s: '%.60s' is not a driver name", what, s);
	}
	free(TAKE_PTR(s));

	if (r->o->redact) {
		if (exists(r, (snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/label", name), rel)))
			note(r, "%s/label: left out (--redact)", name);
	} else {
		snprintf(what, sizeof(what), "%s/label", name);
		if (read_text(r, fd, "label", what, &s) == 0) {
			if (utf8_valid(s))
				d->label = TAKE_PTR(s);
			else
				note(r, "skipped %s: not UTF-8 text", what);
		}
		free(TAKE_PTR(s));
	}

	if (read_num(r, fd, name, "sriov_totalvfs", 65535, &v) && v > 0) {
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
		free(TAKE_PTR(s));
	}

	if (read_link(fd, "physfn", lnk, sizeof(lnk)) == 0) {
		if (pci_addr_parse(base_name(lnk), &d->physfn, NULL) == 0)
			d->have_physfn = true;
		else
			note(r, "skipped %s/physfn: link to '%.60s' names no PCI function", name, lnk);
	}
	if (read_link(fd, "driver", lnk, sizeof(lnk)) == 0) {
		const char *b = base_name(lnk);
		if (valid_name(b)) {
			d->driver = strdup(b);
			if (!d->driver)
				return -ENOMEM;
		} else {
			note(r, "skipped %s/driver: '%.60s' is not a driver name", name, b);
		}
	}
	if (read_link(fd, "iommu_group", lnk, sizeof(lnk)) == 0) {
		int64_t g;
		if (parse_i64(base_name(lnk), &g) && g >= 0 && g <= INT32_MAX)
			d->group = g;
		else
			note(r, "skipped %s/iommu_group: '%.60s' is not a group", name, base_name(lnk));
	}

	/* vfio-dev/vfioN: the cdev index and, with CONFIG_VFIO_DEVICE_CDEV, its major */
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
	strv_free(vd, nvd);
	return 0;
}

static struct rdev *find_dev(struct rec *r, const struct pci_addr *a)
{
	for (size_t i = 0; i < r->n_devs; i++)
		if (pci_addr_equal(&r->devs[i].addr, a))
			return &r->devs[i];
	return NULL;
}

static int cmp_dev(const void *a, const void *b)
{
	return pci_addr_cmp(&((const struct rdev *)a)->addr, &((const struct rdev *)b)->addr);
}

static void free_dev(struct rdev *d)
{
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
		strv_free(names, n);
		return k == -ENOMEM ? k : 0;
	}
	_cleanup_close_ int devicesfd = vk_root_openat(r->root, "sys/bus/pci/devices", O_RDONLY | O_DIRECTORY);
	r->devs = calloc(n ? n : 1, sizeof(*r->devs));
	if (!r->devs) {
		strv_free(names, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && devicesfd >= 0; i++) {
		struct rdev *d = &r->devs[r->n_devs];
		if (pci_addr_parse(names[i], &d->addr, NULL) < 0 ||
		    strcmp(pci_addr_format(&d->addr, d->bdf), names[i]) != 0) {
			note(r, "skipped sys/bus/pci/devices/%.80s: not a PCI address in the kernel's spelling", names[i]);
			continue;
		}
		k = read_device(r, devicesfd, names[i], d);
		if (k == -ENOMEM) {
			free_dev(d);
			strv_free(names, n);
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
	strv_free(names, n);
	qsort(r->devs, r->n_devs, sizeof(*r->devs), cmp_dev);
	return 0;
}

/* The named devices plus what they need: parents, PFs, group peers. */
static int select_devices(struct rec *r, struct vk_error *err)
{
	if (!r->o->n_bdfs) {
		for (size_t i = 0; i < r->n_devs; i++)
			r->devs[i].selected = true;
		return 0;
	}
	for (size_t i = 0; i < r->o->n_bdfs; i++) {
		struct pci_addr a;
		struct vk_error pe = {0};
		if (pci_addr_parse(r->o->bdfs[i], &a, &pe) < 0)
			return vk_error_set(err, EINVAL, "record: '%s': %s", r->o->bdfs[i], pe.msg);
		struct rdev *d = find_dev(r, &a);
		if (!d)
			return vk_error_set(err, ENOENT, "record: %s is not a PCI device of %s/sys/bus/pci/devices",
			                    r->o->bdfs[i], vk_root_prefix(r->root));
		d->selected = true;
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < r->n_devs; i++) {
			struct rdev *d = &r->devs[i];
			if (!d->selected)
				continue;
			struct rdev *p = d->have_parent ? find_dev(r, &d->parent) : NULL;
			struct rdev *pf = d->have_physfn ? find_dev(r, &d->physfn) : NULL;
			if (p && !p->selected)
				p->selected = changed = true;
			if (pf && !pf->selected)
				pf->selected = changed = true;
			for (size_t j = 0; d->group >= 0 && j < r->n_devs; j++)
				if (r->devs[j].group == d->group && !r->devs[j].selected)
					r->devs[j].selected = changed = true;
		}
	}
	return 0;
}

/* ---- kernel ------------------------------------------------------------- */

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

static struct rmod *find_mod(struct rec *r, const char *name)
{
	for (size_t i = 0; i < r->n_mods; i++)
		if (!strcmp(r->mods[i].name, name))
			return &r->mods[i];
	return NULL;
}

static int add_mod(struct rec *r, const char *name, bool builtin, struct rmod **out)
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

static bool text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 && *p != '\t')
			return false;
	return utf8_valid(s);
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
		if (!valid_name(names[i])) {
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
			if (!valid_name(pn[j]) || read_text(r, pfd, pn[j], what, &val) < 0)
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
				strv_free(pn, np);
				goto oom;
			}
			m->pn[m->np] = dn;
			m->pv[m->np++] = val;
		}
		strv_free(pn, np);
	}
	strv_free(names, n);
	return 0;
oom:
	strv_free(names, n);
	return -ENOMEM;
}
/* proc/cpuinfo: only the vendor and whether the host is a VM (the
 * "hypervisor" flag), which is what vfio-doctor reads; nothing that
 * identifies the machine. */
static void read_cpuinfo(struct rec *r)
{
	static const char *const vendors[][2] = {
		{"GenuineIntel", "intel"}, {"AuthenticAMD", "amd"}, {"HygonGenuine", "hygon"},
	};
	_cleanup_free_ char *s = NULL;

	if (read_text(r, -1, "proc/cpuinfo", NULL, &s) < 0)
		return;
	for (size_t i = 0; i < VK_ARRAY_SIZE(vendors); i++)
		if (strstr(s, vendors[i][0]))
			r->cpu_vendor = vendors[i][1];
	r->cpu_hypervisor = strstr(s, " hypervisor ") || strstr(s, " hypervisor\n") ||
	                    (strlen(s) > 11 && !strcmp(s + strlen(s) - 11, " hypervisor"));
	if (!r->cpu_vendor)
		note(r, "proc/cpuinfo names no CPU vendor fakesys knows (intel, amd, hygon): not recorded");
}


static int read_kernel(struct rec *r)
{
	char **names = NULL, rel[PATH_MAX];
	size_t n = 0;
	char *s = NULL;
	int k;

	read_cpuinfo(r);
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
	s = NULL;

	/* IOMMU units */
	if ((k = list_dir(r, -1, "sys/class/iommu", &names, &n)) == -ENOMEM)
		return k;
	static const struct {
		const char *prefix, *vendor, *feat, *file;
	} kinds[] = {
		{"dmar", "intel", "intel-iommu", "ecap"},
		{"ivhd", "amd", NULL, NULL}, /* features bit 3 is not remapping: see below */
		{"smmu", "arm-smmu-v3", NULL, NULL},
		{"viommu", "virtio", NULL, NULL},
	};
	for (size_t i = 0; i < n; i++) {
		size_t kd = VK_ARRAY_SIZE(kinds);
		for (size_t j = 0; j < VK_ARRAY_SIZE(kinds); j++)
			if (!strncmp(names[i], kinds[j].prefix, strlen(kinds[j].prefix)))
				kd = j;
		if (kd == VK_ARRAY_SIZE(kinds)) {
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
	strv_free(names, n);
	/* Remapping in use shows as the "IR-" irq chips (IR-PCI-MSI, IR-IO-APIC) in
	 * /proc/interrupts, for every vendor; the Intel ecap bit says only "supported". */
	size_t il;
	if (r->iommu && read_file(r, -1, "proc/interrupts", NULL, ATTR_CAP, true, &s, &il) == 0)
		r->ir = strstr(s, "IR-") != NULL;
	free(s);
	s = NULL;

	/* IOMMU groups */
	if ((k = list_dir(r, -1, "sys/kernel/iommu_groups", &names, &n)) == -ENOMEM)
		return k;
	r->groups = calloc(n ? n : 1, sizeof(*r->groups));
	if (!r->groups) {
		strv_free(names, n);
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
	strv_free(names, n);
	if (r->iommu && r->noiommu) {
		note(r, "no-IOMMU groups on a host with an IOMMU; recorded the IOMMU");
		r->noiommu = false;
	}

	if ((k = read_modules(r)) < 0)
		return k;
	struct rmod *vm = find_mod(r, "vfio");
	for (size_t i = 0; vm && !r->iommu && i < vm->np; i++)
		if (!strcmp(vm->pn[i], "enable_unsafe_noiommu_mode") && strchr("yY1", vm->pv[i][0]))
			r->noiommu = true;

	/* iommufd, /dev/vfio, majors */
	if (read_text(r, -1, "sys/class/misc/iommu/dev", NULL, &s) == 0) {
		unsigned maj, min;
		if (sscanf(s, "%u:%u", &maj, &min) == 2 && min <= 255) {
			r->iommufd = true;
			r->have_minor = true;
			r->iommufd_minor = min;
		}
	}
	free(s);
	s = NULL;
	if (exists(r, "dev/vfio/devices"))
		r->cdev = true;
	if ((k = list_dir(r, -1, "sys/class/vfio", &names, &n)) == -ENOMEM)
		return k;
	for (size_t i = 0; i < n && !r->have_group_major; i++) {
		unsigned maj, min;
		snprintf(rel, sizeof(rel), "sys/class/vfio/%s/dev", names[i]);
		if (!valid_name(names[i]) || read_text(r, -1, rel, NULL, &s) < 0)
			continue;
		if (sscanf(s, "%u:%u", &maj, &min) == 2 && maj >= 1 && maj <= 4095) {
			r->group_major = maj;
			r->have_group_major = true;
		}
		free(s);
		s = NULL;
	}
	strv_free(names, n);

	if ((k = list_dir(r, -1, "sys/bus/pci/drivers", &names, &n)) == -ENOMEM)
		return k;
	for (size_t i = 0; i < n; i++) {
		if (!valid_name(names[i])) {
			note(r, "skipped driver '%.60s': not a driver name", names[i]);
			continue;
		}
		if (strv_push(&r->drivers, &r->n_drivers, strdup(names[i])) < 0) {
			strv_free(names, n);
			return -ENOMEM;
		}
	}
	strv_free(names, n);
	return 0;
}

static bool has_driver(struct rec *r, const char *d)
{
	for (size_t i = 0; i < r->n_drivers; i++)
		if (!strcmp(r->drivers[i], d))
			return true;
	return false;
}

static bool known_driver(const char *d)
{
	for (size_t i = 0; host_known_drivers[i]; i++)
		if (!strcmp(host_known_drivers[i], d))
			return true;
	return false;
}

/* vfio-pci or one of its variant drivers (mlx5_vfio_pci, ...): a VFIO cdev. */
static bool is_vfio_pci(const struct rdev *d)
{
	return pci_driver_is_vfio_pci(d->driver);
}

/* The modules a device on a VFIO driver needs in a scenario that lists
 * modules (model_check.c): vfio_pci, or a variant's own and vfio_pci_core.
 * One the host does not show is recorded as built in. */
static int add_vfio_modules(struct rec *r, const struct rdev *d)
{
	char own[256];
	const char *need[2] = {"vfio_pci", NULL};

	if (strcmp(d->driver, "vfio-pci")) {
		snprintf(own, sizeof(own), "%s", host_driver_module(d->driver));
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

/* Make what was read agree with the scenario's rules; say what changed. */
static int reconcile(struct rec *r)
{
	for (size_t i = 0; i < r->n_devs; i++) {
		struct rdev *d = &r->devs[i];
		if (!d->selected)
			continue;
		if (d->have_parent && !find_dev(r, &d->parent)) {
			char pb[PCI_ADDR_STRLEN];
			note(r, "%s: parent %s is not a recorded device; recorded on a root bus", d->bdf,
			     pci_addr_format(&d->parent, pb));
			d->have_parent = false;
		}
		if (d->have_physfn && !find_dev(r, &d->physfn)) {
			note(r, "%s: its PF is not a recorded device; recorded as a plain function", d->bdf);
			d->have_physfn = false;
		}
		if (d->driver && !known_driver(d->driver) && !has_driver(r, d->driver) &&
		    strv_push(&r->drivers, &r->n_drivers, strdup(d->driver)) < 0)
			return -ENOMEM;
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
	}
	for (size_t i = 0; i < r->n_groups; i++) {
		struct rgroup *g = &r->groups[i];
		bool vfio = false;
		for (size_t j = 0; j < r->n_devs; j++)
			if (r->devs[j].selected && r->devs[j].group == g->id && is_vfio_pci(&r->devs[j]))
				vfio = true;
		if (vfio) {
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
	if (find_mod(r, "vfio") || find_mod(r, "vfio_pci") || find_mod(r, "vfio_pci_core")) /* host_model_has_vfio() */
		stat_node(r, "dev/vfio/vfio", &r->dev_vfio);
	return 0;
}

/* ---- writing the scenario ---------------------------------------------- */

/* A YAML double-quoted scalar (UTF-8 checked by the caller). */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void put_node(FILE *f, const struct rnode *n)
{
	if (n->present)
		fprintf(f, "{owner: %u, group: %u, mode: \"%04o\"}", n->uid, n->gid, n->mode);
	else
		fputs("{present: false}", f);
}

static void put_comment(FILE *f, const char *prefix, const char *s)
{
	fprintf(f, "# %s", prefix);
	for (const char *p = s; *p; p++)
		fputc(*p == '\n' ? ' ' : *p, f);
	fputc('\n', f);
}

static void emit(struct rec *r, FILE *f)
{
	const struct fakesys_record_opts *o = r->o;

	fputs("# Recorded by fakesys record (docs/scenario-format.md).\n", f);
	for (size_t i = 0; i < o->n_extra_comments; i++)
		put_comment(f, "", o->extra_comments[i]);
	fputs("# Not recorded: vpd (may hold serial numbers), msi and power state (fakesys derives its\n"
	      "# own), /dev nodes other than VFIO and iommufd, module parameters other than\n"
	      "# those of vfio, vfio_iommu_type1, vfio_pci and iommufd.\n",
	      f);
	if (o->redact)
		fputs("# Left out (--redact): device labels and kernel command-line parameters unrelated to\n"
		      "# IOMMU/VFIO (kept: intel_iommu= amd_iommu= iommu= iommu.* vfio* pci= pcie_acs_override= "
		      "kvm*.*).\n",
		      f);
	for (size_t i = 0; i < r->n_notes; i++)
		put_comment(f, "note: ", r->notes[i]);
	if (r->dropped_notes)
		fprintf(f, "# note: %zu more notes not shown\n", r->dropped_notes);

	fputs("version: 1\nname: recorded\n", f);
	if (r->cpu_vendor)
		fprintf(f, "cpu: {vendor: %s, hypervisor: %s}\n", r->cpu_vendor, r->cpu_hypervisor ? "true" : "false");
	fputs("kernel:\n", f);
	if (r->release) {
		fputs("  release: ", f);
		put_str(f, r->release);
		fputc('\n', f);
	}
	fprintf(f, "  iommu: %s\n", r->iommu ? r->iommu : "none");
	if (r->iommu)
		fprintf(f, "  iommu_units: %u\n", r->units);
	fprintf(f, "  vfio_device_cdev: %s\n", r->cdev ? "true" : "false");
	fprintf(f, "  iommufd: %s\n", r->iommufd ? "true" : "false");
	fprintf(f, "  noiommu: %s\n", r->noiommu ? "true" : "false");
	fprintf(f, "  interrupt_remapping: %s\n", r->ir ? "true" : "false");
	if (r->cmdline) {
		fputs("  cmdline: ", f);
		put_str(f, r->cmdline);
		fputc('\n', f);
	}
	if (r->have_cdev_major)
		fprintf(f, "  vfio_cdev_major: %u\n", r->cdev_major);
	if (r->have_group_major)
		fprintf(f, "  vfio_group_major: %u\n", r->group_major);
	if (r->have_minor)
		fprintf(f, "  iommufd_minor: %u\n", r->iommufd_minor);
	if (!r->no_modules)
		fputs(r->n_mods ? "  modules:\n" : "  modules: []\n", f);
	for (size_t i = 0; i < r->n_mods; i++) {
		const struct rmod *m = &r->mods[i];
		fputs("    - {name: ", f);
		put_str(f, m->name);
		if (m->builtin)
			fputs(", builtin: true", f);
		if (m->np) {
			fputs(", parameters: {", f);
			for (size_t j = 0; j < m->np; j++) {
				fputs(j ? ", " : "", f);
				put_str(f, m->pn[j]);
				fputs(": ", f);
				put_str(f, m->pv[j]);
			}
			fputc('}', f);
		}
		fputs("}\n", f);
	}
	/* every driver directory the replay would not create by itself */
	bool any = false;
	for (size_t i = 0; i < r->n_drivers; i++) {
		const char *dn = r->drivers[i];
		bool bound = false;
		for (size_t j = 0; j < r->n_devs; j++)
			bound |= r->devs[j].selected && r->devs[j].driver && !strcmp(r->devs[j].driver, dn);
		if (!strcmp(dn, "pcieport") || (!strcmp(dn, "vfio-pci") && find_mod(r, "vfio_pci")) ||
		    (bound && known_driver(dn)))
			continue;
		fputs(any ? ", " : "  drivers: [", f);
		put_str(f, dn);
		any = true;
	}
	if (any)
		fputs("]\n", f);

	fputs("devices:", f);
	size_t nsel = 0;
	for (size_t i = 0; i < r->n_devs; i++)
		nsel += r->devs[i].selected;
	fputs(nsel ? "\n" : " []\n", f);
	for (size_t i = 0; i < r->n_devs; i++) {
		const struct rdev *d = &r->devs[i];
		char b[PCI_ADDR_STRLEN];
		if (!d->selected)
			continue;
		fprintf(f, "  - address: %s\n", d->bdf);
		if (d->have_parent)
			fprintf(f, "    parent: %s\n", pci_addr_format(&d->parent, b));
		if (d->have_physfn)
			fprintf(f, "    physfn: %s\n", pci_addr_format(&d->physfn, b));
		if (d->have_vendor)
			fprintf(f, "    vendor: 0x%04llx\n", (unsigned long long)d->vendor);
		if (d->have_device)
			fprintf(f, "    device: 0x%04llx\n", (unsigned long long)d->device);
		if (d->have_svendor)
			fprintf(f, "    subsystem_vendor: 0x%04llx\n", (unsigned long long)d->svendor);
		if (d->have_sdevice)
			fprintf(f, "    subsystem_device: 0x%04llx\n", (unsigned long long)d->sdevice);
		if (d->have_class)
			fprintf(f, "    class: 0x%06llx\n", (unsigned long long)d->class_code);
		if (d->have_rev)
			fprintf(f, "    revision: 0x%02llx\n", (unsigned long long)d->revision);
		if (d->driver) {
			fputs("    driver: ", f);
			put_str(f, d->driver);
			fputc('\n', f);
		}
		if (d->override) {
			fputs("    driver_override: ", f);
			put_str(f, d->override);
			fputc('\n', f);
		}
		if (d->label) {
			fputs("    label: ", f);
			put_str(f, d->label);
			fputc('\n', f);
		}
		if (d->group >= 0)
			fprintf(f, "    iommu_group: %lld\n", (long long)d->group);
		if (d->have_numa)
			fprintf(f, "    numa_node: %lld\n", (long long)d->numa);
		if (d->vfio_index >= 0)
			fprintf(f, "    vfio_cdev: %lld\n", (long long)d->vfio_index);
		if (d->vfio_node.known) {
			fputs("    vfio_node: ", f);
			put_node(f, &d->vfio_node);
			fputc('\n', f);
		}
		if (d->totalvfs) {
			fprintf(f, "    sriov: {totalvfs: %llu", (unsigned long long)d->totalvfs);
			if (d->have_vf_device)
				fprintf(f, ", vf_device: 0x%04llx", (unsigned long long)d->vf_device);
			fputs("}\n", f);
		}
		if (d->config && d->emit_config) {
			fprintf(f, "    config: |  # %zu bytes, as read\n", d->config_len);
			for (size_t j = 0; j < d->config_len; j++)
				fprintf(f, "%s%02x%s", j % 16 ? "" : "      ", d->config[j],
				        j % 16 == 15 || j + 1 == d->config_len ? "\n" : " ");
			/* with its own config a device gets no synthesized BAR: keep what was read */
			if (d->have_irq)
				fprintf(f, "    irq: %llu\n", (unsigned long long)d->irq);
			if (d->n_res) {
				fputs("    resources:\n", f);
				for (size_t j = 0; j < d->n_res; j++)
					fprintf(f, "      - [0x%llx, 0x%llx, 0x%llx]\n", (unsigned long long)d->res[j][0],
					        (unsigned long long)d->res[j][1], (unsigned long long)d->res[j][2]);
			}
		}
	}

	bool groups = false;
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct rgroup *g = &r->groups[i];
		bool used = false;
		for (size_t j = 0; j < r->n_devs; j++)
			used |= r->devs[j].selected && r->devs[j].group == g->id;
		if (!used || (!g->type && !g->node.known))
			continue;
		if (!groups)
			fputs("iommu_groups:\n", f);
		groups = true;
		fprintf(f, "  - {id: %lld", (long long)g->id);
		if (g->type && !r->noiommu)
			fprintf(f, ", type: %s", g->type);
		if (g->node.known) {
			fputs(", node: ", f);
			put_node(f, &g->node);
		}
		fputs("}\n", f);
	}
	if (r->dev_iommu.known || r->dev_vfio.known) {
		fputs("dev:\n", f);
		if (r->dev_iommu.known) {
			fputs("  iommu: ", f);
			put_node(f, &r->dev_iommu);
			fputc('\n', f);
		}
		if (r->dev_vfio.known) {
			fputs("  vfio: ", f);
			put_node(f, &r->dev_vfio);
			fputc('\n', f);
		}
	}
}

/* The scenario as text (malloc'd) or NULL. */
static char *emit_buffer(struct rec *r, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	emit(r, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Keep a device's config only where the replay would not synthesize the same
 * bytes (a recorded fakesys tree gives back its short scenario, and its
 * synthesized BAR0 in resource; a real host keeps every byte).
 */
static void choose_configs(struct rec *r)
{
	size_t len;
	struct host_model *m = NULL;

	for (size_t i = 0; i < r->n_devs; i++)
		r->devs[i].emit_config = false;
	_cleanup_free_ char *buf = emit_buffer(r, &len);
	bool ok = buf && host_model_load_buffer("recording", buf, len, &m, NULL) == 0;
	for (size_t i = 0; i < r->n_devs; i++) {
		struct rdev *d = &r->devs[i];
		if (!d->config)
			continue;
		d->emit_config = true;
		if (!ok || d->config_len > 256)
			continue;
		const struct host_device *hd = host_model_find(m, &d->addr);
		uint8_t padded[256] = {0};
		memcpy(padded, d->config, d->config_len);
		if (hd && hd->config_len == 256 && memcmp(hd->config, padded, 256) == 0)
			d->emit_config = false;
	}
	host_model_free(m);
}

static void rec_free(struct rec *r)
{
	vk_root_close(r->root);
	strv_free(r->notes, r->n_notes);
	free(r->release);
	free(r->cmdline);
	for (size_t i = 0; i < r->n_mods; i++) {
		free(r->mods[i].name);
		strv_free(r->mods[i].pn, r->mods[i].np);
		strv_free(r->mods[i].pv, r->mods[i].np);
	}
	free(r->mods);
	strv_free(r->drivers, r->n_drivers);
	for (size_t i = 0; i < r->n_devs; i++)
		free_dev(&r->devs[i]);
	free(r->devs);
	for (size_t i = 0; i < r->n_groups; i++)
		free(r->groups[i].type);
	free(r->groups);
}

int fakesys_record(const struct fakesys_record_opts *o, FILE *out, FILE *notes, struct vk_error *err)
{
	struct rec r = {.o = o, .notes_f = notes};
	const char *root = o->root && *o->root ? o->root : "/";
	struct host_model *m = NULL;
	struct vk_error le = {0};
	size_t len = 0;
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
	if (r.oom) {
		rec_free(&r);
		return vk_error_set(err, ENOMEM, "record %s: out of memory", root);
	}
	choose_configs(&r);
	_cleanup_free_ char *buf = emit_buffer(&r, &len);
	rec_free(&r);
	if (!buf)
		return vk_error_set(err, ENOMEM, "record %s: out of memory", root);
	k = host_model_load_buffer("recording", buf, len, &m, &le);
	host_model_free(m);
	if (k < 0)
		return vk_error_set(err, k, "record %s: the recording does not form a valid scenario: %s", root, le.msg);
	if (fwrite(buf, 1, len, out) != len || fflush(out) != 0)
		return vk_error_set(err, EIO, "record %s: writing the scenario: %s", root, strerror(errno ? errno : EIO));
	return 0;
}

/* ---- umockdev-record import -------------------------------------------- */

#define UMOCKDEV_CAP (64u << 20)

/* Attributes the scenario carries; the rest fakesys derives or has no key for. */
static const char *const carried_attrs[] = {
	"vendor", "device", "subsystem_vendor", "subsystem_device", "class", "revision", "numa_node",
	"config", "driver_override", "label", "sriov_totalvfs", "sriov_vf_device", "resource", "irq",
};
static const char *const carried_links[] = {"driver", "iommu_group", "physfn"};

struct imp {
	char **comments;
	size_t n_comments;
	FILE *notes;
	bool oom;
};

static void __attribute__((format(printf, 2, 3))) inote(struct imp *im, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		im->oom = true;
		return;
	}
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (im->notes)
		fprintf(im->notes, "fakesys: import-umockdev: %s\n", s);
	if (im->n_comments < MAX_NOTES && strv_push(&im->comments, &im->n_comments, s) == 0)
		return;
	if (im->n_comments >= MAX_NOTES)
		free(s);
	else
		im->oom = true;
}

static bool safe_component(const char *c, size_t n)
{
	if (n == 0 || n > 255 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f || c[i] == '/')
			return false;
	return true;
}

/* mkdir -p of @path (components checked) below @dirfd; returns an O_PATH-free dir FD or -errno. */
static int mkdirs_at(int dirfd, const char *path)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		char comp[256];
		if (!safe_component(p, n)) {
			close(fd);
			return -EINVAL;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			close(fd);
			return -e;
		}
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (nfd < 0)
			return -e;
		fd = nfd;
		p += n;
	}
	return fd;
}

/* Write @data as the file @rel (a name with no '/') in @dirfd, never following a link. */
static int write_new(int dirfd, const char *name, const void *data, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	const uint8_t *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* umockdev's attribute escapes: \n \t \\ \xNN \NNN. Returns the decoded length. */
static size_t unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*o++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case '\\': *o++ = '\\'; break;
		case 'x': {
			unsigned v = 0;
			int k = 0;
			while (k < 2 && isxdigit((unsigned char)p[1])) {
				p++;
				v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
				k++;
			}
			*o++ = (char)v;
			break;
		}
		default:
			if (*p >= '0' && *p <= '7') {
				unsigned v = 0;
				for (int k = 0; k < 3 && *p >= '0' && *p <= '7'; k++, p++)
					v = v * 8 + (unsigned)(*p - '0');
				p--;
				*o++ = (char)v;
			} else {
				*o++ = *p;
			}
		}
	}
	*o = '\0';
	return (size_t)(o - s);
}

static bool in_list(const char *s, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, l[i]))
			return true;
	return false;
}

/* Append @name to a comma list (for the "not carried over" summary). */
static void list_add(char **list, const char *name)
{
	char *n = NULL;
	if (asprintf(&n, "%s%s%s", *list ? *list : "", *list ? ", " : "", name) < 0)
		return;
	free(*list);
	*list = n;
}

/* One P: block: lay out a PCI device below @sysfd (the tree's sys/). */
static int import_device(struct imp *im, int sysfd, char **lines, size_t n, size_t *laid_out)
{
	const char *path = lines[0] + 3;
	const char *subsystem = NULL, *edriver = NULL;
	bool have_driver_link = false;
	_cleanup_free_ char *lost = NULL;

	for (size_t i = 1; i < n; i++)
		if (!strncmp(lines[i], "E: SUBSYSTEM=", 13))
			subsystem = lines[i] + 13;
		else if (!strncmp(lines[i], "E: DRIVER=", 10))
			edriver = lines[i] + 10;
	if (strncmp(path, "/devices/", 9) != 0) {
		inote(im, "%.120s: not below /devices; skipped", path);
		return 0;
	}
	if (!subsystem || strcmp(subsystem, "pci") != 0) {
		inote(im, "%.120s: not a PCI device (SUBSYSTEM=%.40s); not carried over", path,
		      subsystem ? subsystem : "none");
		return 0;
	}
	const char *bdf = base_name(path);
	struct pci_addr a;
	if (pci_addr_parse(bdf, &a, NULL) < 0) {
		inote(im, "%.120s: does not end in a PCI address; skipped", path);
		return 0;
	}
	_cleanup_close_ int devfd = mkdirs_at(sysfd, path + 1);
	if (devfd < 0) {
		inote(im, "%.120s: unsafe or unusable path (%s); skipped", path, strerror(-devfd));
		return devfd == -ENOMEM ? devfd : 0;
	}
	/* sys/bus/pci/devices/<BDF> -> ../../../devices/... */
	_cleanup_close_ int busfd = mkdirs_at(sysfd, "bus/pci/devices");
	if (busfd < 0)
		return busfd;
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "../../..%s", path);
	if (symlinkat(target, busfd, bdf) < 0) {
		inote(im, "%s: recorded twice; kept the first", bdf);
		return 0;
	}
	(*laid_out)++;
	for (size_t i = 1; i < n; i++) {
		char *l = lines[i];
		if (l[0] == 'E' || l[0] == 'P')
			continue;
		if ((l[0] != 'A' && l[0] != 'H' && l[0] != 'L') || l[1] != ':' || l[2] != ' ') {
			inote(im, "%s: unknown line '%.40s'; ignored", bdf, l);
			continue;
		}
		char *eq = strchr(l + 3, '=');
		if (!eq) {
			inote(im, "%s: line without '=': '%.40s'; ignored", bdf, l);
			continue;
		}
		*eq = '\0';
		const char *name = l + 3;
		char *val = eq + 1;
		if (l[0] == 'L') {
			if (!in_list(name, carried_links, VK_ARRAY_SIZE(carried_links))) {
				list_add(&lost, name);
				continue;
			}
			if (!safe_component(name, strlen(name)) || symlinkat(val, devfd, name) < 0) {
				inote(im, "%s: link %.60s not carried over", bdf, name);
				continue;
			}
			have_driver_link |= !strcmp(name, "driver");
			continue;
		}
		if (!in_list(name, carried_attrs, VK_ARRAY_SIZE(carried_attrs))) {
			list_add(&lost, name);
			continue;
		}
		int k;
		if (l[0] == 'H') {
			size_t hl = strlen(val), bl = 0;
			_cleanup_free_ uint8_t *bin = malloc(hl / 2 + 1);
			if (!bin)
				return -ENOMEM;
			bool ok = hl % 2 == 0;
			for (size_t j = 0; ok && j < hl; j += 2) {
				unsigned v = 0;
				ok = isxdigit((unsigned char)val[j]) && isxdigit((unsigned char)val[j + 1]) &&
				     sscanf(val + j, "%2x", &v) == 1;
				bin[bl++] = (uint8_t)v;
			}
			if (!ok) {
				inote(im, "%s: binary attribute %.60s is not hex; not carried over", bdf, name);
				continue;
			}
			k = write_new(devfd, name, bin, bl);
		} else {
			size_t vl = unescape(val);
			k = write_new(devfd, name, val, vl);
		}
		if (k < 0)
			inote(im, "%s: attribute %.60s not carried over: %s", bdf, name, strerror(-k));
	}
	if (!have_driver_link && edriver) {
		char t[PATH_MAX];
		snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", edriver);
		if (safe_component(edriver, strlen(edriver)) && symlinkat(t, devfd, "driver") == 0)
			inote(im, "%s: no driver link in the recording; driver %.60s taken from the uevent (DRIVER=)", bdf,
			      edriver);
	}
	if (lost)
		inote(im, "%s: not carried over (fakesys derives its own or has no key): %s", bdf, lost);
	return 0;
}

/* rm -rf below @dirfd, never following a link. */
static void rm_tree_at(int pfd, const char *name, int depth)
{
	if (depth > 64)
		return;
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return;
		}
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				rm_tree_at(dirfd(d), de->d_name, depth + 1);
		closedir(d);
		unlinkat(pfd, name, AT_REMOVEDIR);
		return;
	}
	unlinkat(pfd, name, 0);
}

int fakesys_import_umockdev(const char *path, FILE *out, FILE *notes, struct vk_error *err)
{
	struct imp im = {.notes = notes};
	struct stat st;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int k;

	{
		_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return vk_error_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			return vk_error_set(err, EINVAL, "%s: not a regular file", path);
		if (st.st_size > (off_t)UMOCKDEV_CAP)
			return vk_error_set(err, EFBIG, "%s: larger than 64 MiB", path);
		text = malloc((size_t)st.st_size + 1);
		if (!text)
			return vk_error_set(err, ENOMEM, "%s: out of memory", path);
		while (len < (size_t)st.st_size) {
			ssize_t r = read(fd, text + len, (size_t)st.st_size - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return vk_error_set(err, errno, "%s: read: %s", path, strerror(errno));
			if (r == 0)
				break;
			len += (size_t)r;
		}
		text[len] = '\0';
		if (strlen(text) != len)
			return vk_error_set(err, EINVAL, "%s: contains a NUL byte: not a umockdev recording", path);
	}

	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	snprintf(tmpl, sizeof(tmpl), "%s/fakesys-umockdev.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		return vk_error_set(err, errno, "import %s: cannot create a temporary directory: %s", path,
		                    strerror(errno));
	_cleanup_close_ int rootfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int sysfd = rootfd >= 0 ? mkdirs_at(rootfd, "sys") : -EIO;
	size_t devices = 0;
	k = sysfd < 0 ? sysfd : 0;

	/* blocks of lines separated by blank lines, each starting with P: */
	char **lines = NULL;
	size_t nl = 0;
	char *save = NULL;
	unsigned lineno = 0;
	for (char *l = text; k >= 0 && l;) {
		char *nlp = strchr(l, '\n');
		if (nlp)
			*nlp = '\0';
		lineno++;
		bool blank = !*l;
		if (!blank && !(l[0] == 'P' && l[1] == ':') && nl == 0) {
			k = vk_error_set(err, EINVAL, "%s:%u: expected a 'P: /devices/...' line (a umockdev-record file)",
			                 path, lineno);
			break;
		}
		if (!blank && l[0] == 'P' && l[1] == ':' && nl) {
			k = vk_error_set(err, EINVAL, "%s:%u: a 'P:' line inside a device block", path, lineno);
			break;
		}
		if (!blank) {
			char **nv = realloc(lines, (nl + 1) * sizeof(*lines));
			if (!nv) {
				k = -ENOMEM;
				break;
			}
			lines = nv;
			lines[nl++] = l;
		}
		l = nlp ? nlp + 1 : NULL;
		if ((blank || !l) && nl) {
			if (strncmp(lines[0], "P: ", 3) != 0) {
				k = vk_error_set(err, EINVAL, "%s:%u: expected 'P: PATH'", path, lineno);
				break;
			}
			k = import_device(&im, sysfd, lines, nl, &devices);
			nl = 0;
		}
	}
	(void)save;
	free(lines);
	if (sysfd >= 0)
		close(sysfd);
	if (k >= 0 && im.oom)
		k = vk_error_set(err, ENOMEM, "import %s: out of memory", path);
	if (k >= 0 && !devices)
		k = vk_error_set(err, EINVAL, "%s: no PCI device could be carried over", path);
	if (k >= 0) {
		_cleanup_free_ char *head = NULL;
		if (asprintf(&head, "Imported from the umockdev recording %s by fakesys import-umockdev. umockdev records "
		                    "sysfs only: no /dev nodes, modules, IOMMU units, cmdline or kernel release (defaults "
		                    "apply).", path) < 0) {
			k = -ENOMEM;
		} else {
			char **c = realloc(im.comments, (im.n_comments + 1) * sizeof(char *));
			if (c) {
				im.comments = c;
				memmove(c + 1, c, im.n_comments * sizeof(char *));
				c[0] = TAKE_PTR(head);
				im.n_comments++;
			}
			struct fakesys_record_opts o = {
				.root = tmpl,
				.extra_comments = (const char *const *)im.comments,
				.n_extra_comments = im.n_comments,
			};
			k = fakesys_record(&o, out, notes, err);
		}
	}
	if (rootfd >= 0) {
		rm_tree_at(rootfd, "sys", 0);
		rmdir(tmpl);
	}
	strv_free(im.comments, im.n_comments);
	if (k == -ENOMEM && err && !err->code)
		vk_error_set(err, ENOMEM, "import %s: out of memory", path);
	return k;
}
