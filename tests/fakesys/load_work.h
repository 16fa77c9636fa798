/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The load workload on a live mount of scenarios/default.yaml, shared by
 * tests/fakesys/serve/test_fuse_load.c (checks) and tests/bench/bench_live.c
 * (figures).  No Criterion here: threads record the first wrong thing they
 * see in a message; the caller asserts.
 *
 * Readers, each iteration: list sys/bus/pci/devices; for every device lstat
 * and readlink `driver`, read vendor, device and driver_override; list
 * dev/vfio/devices and dev/vfio, open every entry O_RDWR (stand-ins) and read
 * it; vk_pci_dev_facts_read() of three devices through a vk_root of the mount.
 * Every answer must be one of the states the toggled device (0000:81:02.1,
 * vfio-pci <-> iavf) can be in; every other device never changes.
 *
 * The only errors a reader accepts, all on the toggled device's nodes, which
 * come and go while a toggle runs (counted in load_reader.transient):
 *  - ENOENT from lstat/readlink of 81:02.1/driver: the device is unbound
 *    between the unbind and the probe (the kernel's link is absent then too);
 *  - ENOENT from open of dev/vfio/devices/vfio2 or dev/vfio/9 that a listing
 *    just showed: unbinding removed the node between readdir and open (as
 *    devtmpfs does when vfio-pci releases the device);
 *  - from vk_pci_dev_facts_read() of 81:02.1: -ENOENT, or a cdev state other
 *    than OK/NOT_VFIO (NO_VFIO_DEV_DIR, BAD_ENTRIES, NO_DEV_ATTR,
 *    NODE_MISSING), or OK with a driver other than vfio-pci: its walk is several lookups, and a toggle between two of
 *    them gives a mix of before and after, as on a real host.
 * Any other error, on any node, is a failure.
 */
#ifndef VK_LOAD_WORK_H
#define VK_LOAD_WORK_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfiokit/pci_addr.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include "testutil.h"

#define LOAD_TOGGLED "0000:81:02.1"

/*
 * What the readers hold fakesys to, as on a real host: a group node keeps its
 * minor while vfio holds the group (vfio_create_group()'s ida_alloc()); a
 * listing that straddles a change lists every name that neither came nor went
 * exactly once (kernfs resumes by name hash); a read returns one whole value
 * (a seq_file show()), never a torn mix of old bytes and a new size.  Each
 * was a bug this test found; they are checked strictly.
 */

struct load_dev {
	const char *bdf;
	const char *vendor, *device; /* file contents */
	const char *driver;          /* NULL: unbound; "*": the toggled one */
	const char *override;        /* content of driver_override ("*": toggled) */
	int depth;                   /* "../" count of its driver link */
};

/* scenarios/default.yaml */
static const struct load_dev load_devs[] = {
	{"0000:00:00.0", "0x8086\n", "0x2020\n", NULL, "(null)\n", 3},
	{"0000:00:01.0", "0x8086\n", "0x2030\n", "pcieport", "(null)\n", 3},
	{"0000:00:14.0", "0x8086\n", "0xa1af\n", "xhci_hcd", "(null)\n", 3},
	{"0000:00:14.2", "0x8086\n", "0xa1b1\n", NULL, "(null)\n", 3},
	{"0000:00:17.0", "0x8086\n", "0xa182\n", "ahci", "(null)\n", 3},
	{"0000:00:1c.0", "0x8086\n", "0xa190\n", "pcieport", "(null)\n", 3},
	{"0000:01:00.0", "0x10de\n", "0x2204\n", "vfio-pci", "vfio-pci\n", 4},
	{"0000:01:00.1", "0x10de\n", "0x1aef\n", "vfio-pci", "vfio-pci\n", 4},
	{"0000:02:00.0", "0x144d\n", "0xa80a\n", "nvme", "(null)\n", 4},
	{"0000:80:02.0", "0x8086\n", "0x2032\n", "pcieport", "(null)\n", 3},
	{"0000:81:00.0", "0x8086\n", "0x1572\n", "i40e", "(null)\n", 4},
	{"0000:81:02.0", "0x8086\n", "0x154c\n", "iavf", "(null)\n", 4},
	{LOAD_TOGGLED, "0x8086\n", "0x154c\n", "*", "*", 4},
};
#define LOAD_NDEVS (sizeof(load_devs) / sizeof(load_devs[0]))

/* Contents fixed at setup (load_snapshot()): the stand-ins. */
struct load_expect {
	char vfio0[64], vfio1[64], vfio2[64], grp12[64], grp9[64];
};

struct load_reader {
	const char *mnt;
	const struct load_expect *ex;
	unsigned iters;
	pthread_barrier_t *start;
	/* results */
	unsigned long ops;       /* file-system operations done */
	unsigned long transient; /* accepted errors (see above) */
	unsigned long facts_mixed;
	unsigned long readdir_dups; /* listings that named an entry twice */
	char fail[512];             /* first failure, "" = none */
	pthread_t th;
};

struct load_writer {
	const char *mnt;
	unsigned toggles; /* fixed number (test); 0 = until *stop (bench), an even count */
	atomic_bool *stop;
	pthread_barrier_t *start;
	unsigned long done, writes;
	char fail[512];
	pthread_t th;
};

__attribute__((format(printf, 2, 3))) static inline void load_fail(char fail[512], const char *fmt, ...)
{
	if (fail[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fail, 512, fmt, ap);
	va_end(ap);
}

/* Read a whole file (open, read to EOF, close): length or -errno. */
static inline long load_read(const char *path, int flags, char *buf, size_t len)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, len - 1 - n);
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0 || n + (size_t)r >= len - 1) {
			n += (size_t)r;
			break;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	return (long)n;
}

/* Names of a directory (without . and ..) as a sorted, '|'-joined string. */
static inline int load_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline int load_list(const char *path, char *out, size_t len, unsigned long *dups)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char names[64][NAME_MAX + 1];
	char *v[64];
	size_t n = 0;

	if (!d)
		return -errno;
	errno = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n < 64) {
			snprintf(names[n], sizeof(names[n]), "%s", e->d_name);
			v[n] = names[n];
			n++;
		}
	}
	int err = errno;
	closedir(d);
	if (err)
		return -err;
	qsort(v, n, sizeof(v[0]), load_cmp);
	out[0] = '\0';
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !strcmp(v[i], v[i - 1]))
			(*dups)++; /* counted, and a listing with a repeat fails the check */
		o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s%s", i ? "|" : "", v[i]);
	}
	return (int)n;
}

/* The stand-ins' contents, read with nothing else running (toggled device on vfio-pci). */
static inline int load_snapshot(const char *mnt, struct load_expect *ex)
{
	struct {
		const char *rel;
		char *buf;
	} f[] = {{"dev/vfio/devices/vfio0", ex->vfio0}, {"dev/vfio/devices/vfio1", ex->vfio1}, {"dev/vfio/devices/vfio2", ex->vfio2}, {"dev/vfio/12", ex->grp12}, {"dev/vfio/9", ex->grp9}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s", mnt, f[i].rel);
		long n = load_read(p, O_RDONLY, f[i].buf, 64);
		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
	}
	return 0;
}

static inline bool load_is_driver_link(const char *target, int depth, const char *drv)
{
	char want[128];
	int o = 0;
	for (int i = 0; i < depth; i++)
		o += snprintf(want + o, sizeof(want) - (size_t)o, "../");
	snprintf(want + o, sizeof(want) - (size_t)o, "bus/pci/drivers/%s", drv);
	return strcmp(target, want) == 0;
}

static inline void load_check_dev(struct load_reader *r, const struct load_dev *d)
{
	char p[PATH_MAX], buf[256];
	struct stat st;
	bool toggled = !strcmp(d->driver ? d->driver : "", "*");

	/* driver link */
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/driver", r->mnt, d->bdf);
	int rc = lstat(p, &st) == 0 ? 0 : -errno;
	r->ops++;
	if (rc == 0 && !S_ISLNK(st.st_mode))
		load_fail(r->fail, "%s/driver: mode %o, not a link", d->bdf, st.st_mode);
	if (rc < 0 && !(rc == -ENOENT && (toggled || !d->driver)))
		load_fail(r->fail, "lstat %s/driver: %s", d->bdf, strerror(-rc));
	if (rc == 0 && !toggled && !d->driver)
		load_fail(r->fail, "%s/driver exists on an unbound device", d->bdf);
	if (rc < 0 && toggled)
		r->transient++;
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);
	r->ops++;
	if (n < 0) {
		if (errno == ENOENT && toggled)
			r->transient++;
		else if (!(errno == ENOENT && !d->driver))
			load_fail(r->fail, "readlink %s/driver: %s", d->bdf, strerror(errno));
	} else {
		buf[n] = '\0';
		bool ok = toggled ? load_is_driver_link(buf, d->depth, "vfio-pci") || load_is_driver_link(buf, d->depth, "iavf")
		                  : d->driver && load_is_driver_link(buf, d->depth, d->driver);
		if (!ok)
			load_fail(r->fail, "%s/driver -> \"%s\"", d->bdf, buf);
	}

	/* vendor, device, driver_override */
	const char *attr[] = {"vendor", "device", "driver_override"};
	const char *want[] = {d->vendor, d->device, d->override};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/%s", r->mnt, d->bdf, attr[i]);
		long m = load_read(p, O_RDONLY, buf, sizeof(buf));
		r->ops++;
		if (m < 0) {
			load_fail(r->fail, "read %s/%s: %s", d->bdf, attr[i], strerror((int)-m));
			continue;
		}
		bool ok = strcmp(want[i], "*") ? !strcmp(buf, want[i])
		                               : !strcmp(buf, "vfio-pci\n") || !strcmp(buf, "iavf\n");
		if (!ok)
			load_fail(r->fail, "%s/%s reads \"%s\" (%ld bytes)", d->bdf, attr[i], buf, m);
	}
}

/* Open every entry of @dir O_RDWR and compare its content. */
static inline void load_check_nodes(struct load_reader *r, const char *dir, const char *list)
{
	char names[512], p[PATH_MAX], buf[128];
	snprintf(names, sizeof(names), "%s", list);
	for (char *save = NULL, *s = strtok_r(names, "|", &save); s; s = strtok_r(NULL, "|", &save)) {
		const char *want = NULL;
		bool comes_and_goes = false;
		if (!strcmp(s, "devices") || !strcmp(s, "vfio"))
			continue; /* the directory, the container node (not a device) */
		if (!strcmp(s, "vfio0"))
			want = r->ex->vfio0;
		else if (!strcmp(s, "vfio1"))
			want = r->ex->vfio1;
		else if (!strcmp(s, "vfio2"))
			want = r->ex->vfio2, comes_and_goes = true;
		else if (!strcmp(s, "12"))
			want = r->ex->grp12;
		else if (!strcmp(s, "9"))
			want = r->ex->grp9, comes_and_goes = true;
		if (!want) {
			load_fail(r->fail, "%s lists \"%s\"", dir, s);
			continue;
		}
		snprintf(p, sizeof(p), "%s/%s/%s", r->mnt, dir, s);
		long m = load_read(p, O_RDWR, buf, sizeof(buf));
		r->ops++;
		if (m == -ENOENT && comes_and_goes)
			r->transient++;
		else if (m < 0)
			load_fail(r->fail, "open O_RDWR %s/%s: %s", dir, s, strerror((int)-m));
		else if (strcmp(buf, want))
			load_fail(r->fail, "%s/%s reads \"%s\", expected \"%s\"", dir, s, buf, want);
	}
}

static inline void load_check_facts(struct load_reader *r, struct vk_root *root, const char *bdf)
{
	struct vk_pci_addr a;
	struct vk_pci_dev_facts f;
	struct vk_error e = {0};

	vk_pci_addr_parse(bdf, &a, NULL);
	int rc = vk_pci_dev_facts_read(root, &a, &f, &e);
	r->ops++;
	bool toggled = !strcmp(bdf, LOAD_TOGGLED);
	if (rc == -ENOENT && toggled) {
		r->transient++;
		r->facts_mixed++;
		return;
	}
	if (rc < 0) {
		load_fail(r->fail, "pci_dev_facts_read %s: %s", bdf, e.msg);
		return;
	}
	if (!f.present || f.vendor < 0 || f.device < 0) {
		load_fail(r->fail, "facts %s: present %d vendor %d device %d", bdf, f.present, f.vendor, f.device);
		return;
	}
	if (!strcmp(bdf, "0000:01:00.0")) {
		if (strcmp(f.driver, "vfio-pci") || f.cdev_state != VK_VFIO_CDEV_OK || strcmp(f.cdev_name, "vfio0") ||
		    f.cdev_major != 511 || f.cdev_minor != 0 || !f.node_present || f.iommu_group != 12)
			load_fail(r->fail, "facts %s: driver %s state %d cdev %s %u:%u group %ld: %s", bdf, f.driver,
			          f.cdev_state, f.cdev_name, f.cdev_major, f.cdev_minor, f.iommu_group, f.cdev_problem);
	} else if (!strcmp(bdf, "0000:81:02.0")) {
		if (strcmp(f.driver, "iavf") || f.cdev_state != VK_VFIO_CDEV_NOT_VFIO || f.iommu_group != 8)
			load_fail(r->fail, "facts %s: driver %s state %d", bdf, f.driver, f.cdev_state);
	} else {
		if (f.vendor != 0x8086 || f.device != 0x154c || f.iommu_group != 9)
			load_fail(r->fail, "facts %s: %04x:%04x group %ld", bdf, (unsigned)f.vendor, (unsigned)f.device,
			          f.iommu_group);
		if (strcmp(f.driver, "vfio-pci") && strcmp(f.driver, "iavf") && strcmp(f.driver, ""))
			load_fail(r->fail, "facts %s: driver \"%s\"", bdf, f.driver);
		if (strcmp(f.driver_override, "vfio-pci") && strcmp(f.driver_override, "iavf"))
			load_fail(r->fail, "facts %s: driver_override \"%s\"", bdf, f.driver_override);
		switch (f.cdev_state) {
		case VK_VFIO_CDEV_OK:
			if (strcmp(f.cdev_name, "vfio2") || f.cdev_major != 511 || f.cdev_minor != 2)
				load_fail(r->fail, "facts %s: OK with driver %s cdev %s %u:%u", bdf, f.driver,
				          f.cdev_name, f.cdev_major, f.cdev_minor);
			if (strcmp(f.driver, "vfio-pci")) { /* driver read unbound, vfio-dev/ after the rebind */
				r->transient++;
				r->facts_mixed++;
			}
			break;
		case VK_VFIO_CDEV_NOT_VFIO:
			if (!strcmp(f.driver, "vfio-pci"))
				load_fail(r->fail, "facts %s: NOT_VFIO with driver vfio-pci", bdf);
			break;
		case VK_VFIO_CDEV_NODE_ERROR: /* the node went between its lookup and its stat */
			if (!strstr(f.cdev_problem, "ENOENT")) {
				load_fail(r->fail, "facts %s: state %d: %s", bdf, f.cdev_state, f.cdev_problem);
				break;
			}
			/* fall through */
		case VK_VFIO_CDEV_NO_VFIO_DEV_DIR:
		case VK_VFIO_CDEV_BAD_ENTRIES:
		case VK_VFIO_CDEV_NO_DEV_ATTR:
		case VK_VFIO_CDEV_NODE_MISSING:
			r->transient++;
			r->facts_mixed++;
			break;
		default:
			load_fail(r->fail, "facts %s: state %d: %s", bdf, f.cdev_state, f.cdev_problem);
		}
	}
}

static void *load_reader_main(void *arg)
{
	struct load_reader *r = arg;
	struct vk_root *root = NULL;
	char p[PATH_MAX], list[1024];

	if (vk_root_open(r->mnt, 0, &root, NULL) < 0) {
		load_fail(r->fail, "vk_root_open %s failed", r->mnt);
		pthread_barrier_wait(r->start);
		return NULL;
	}
	pthread_barrier_wait(r->start);
	for (unsigned it = 0; it < r->iters && !r->fail[0]; it++) {
		static const char want_devs[] = "0000:00:00.0|0000:00:01.0|0000:00:14.0|0000:00:14.2|0000:00:17.0|"
						"0000:00:1c.0|0000:01:00.0|0000:01:00.1|0000:02:00.0|0000:80:02.0|"
						"0000:81:00.0|0000:81:02.0|0000:81:02.1";
		snprintf(p, sizeof(p), "%s/sys/bus/pci/devices", r->mnt);
		int n = load_list(p, list, sizeof(list), &r->readdir_dups);
		r->ops++;
		if (n < 0)
			load_fail(r->fail, "readdir sys/bus/pci/devices: %s", strerror(-n));
		else if (strcmp(list, want_devs))
			load_fail(r->fail, "sys/bus/pci/devices lists %s", list);
		for (size_t i = 0; i < LOAD_NDEVS; i++)
			load_check_dev(r, &load_devs[i]);

		snprintf(p, sizeof(p), "%s/dev/vfio/devices", r->mnt);
		n = load_list(p, list, sizeof(list), &r->readdir_dups);
		r->ops++;
		if (n < 0)
			load_fail(r->fail, "readdir dev/vfio/devices: %s", strerror(-n));
		else if (strcmp(list, "vfio0|vfio1") && strcmp(list, "vfio0|vfio1|vfio2"))
			load_fail(r->fail, "dev/vfio/devices lists %s", list);
		else
			load_check_nodes(r, "dev/vfio/devices", list);
		snprintf(p, sizeof(p), "%s/dev/vfio", r->mnt);
		n = load_list(p, list, sizeof(list), &r->readdir_dups);
		r->ops++;
		if (n < 0)
			load_fail(r->fail, "readdir dev/vfio: %s", strerror(-n));
		else if (strcmp(list, "12|devices|vfio") && strcmp(list, "12|9|devices|vfio"))
			load_fail(r->fail, "dev/vfio lists %s", list);
		else
			load_check_nodes(r, "dev/vfio", list);

		load_check_facts(r, root, "0000:01:00.0");
		load_check_facts(r, root, "0000:81:02.0");
		load_check_facts(r, root, LOAD_TOGGLED);
	}
	vk_root_close(root);
	return NULL;
}

static inline int load_write(const char *mnt, const char *rel, const char *s)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", mnt, rel);
	return vk_write_attr(p, s);
}

/*
 * Toggle @k (0-based): even ones move 81:02.1 from vfio-pci to iavf, odd ones
 * back; pairs alternate between sysfs (unbind, driver_override,
 * drivers_probe) and the control channel (bind, which unbinds first).
 */
static inline int load_toggle(struct load_writer *w, unsigned long k)
{
	const char *to = k % 2 ? "vfio-pci" : "iavf", *from = k % 2 ? "iavf" : "vfio-pci";
	char rel[128], ov[32];
	int rc;

	if ((k / 2) % 2 == 0) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/unbind", from);
		snprintf(ov, sizeof(ov), "%s\n", to);
		if ((rc = load_write(w->mnt, rel, LOAD_TOGGLED "\n")) < 0 ||
		    (rc = load_write(w->mnt, "sys/bus/pci/devices/" LOAD_TOGGLED "/driver_override", ov)) < 0 ||
		    (rc = load_write(w->mnt, "sys/bus/pci/drivers_probe", LOAD_TOGGLED)) < 0) {
			load_fail(w->fail, "toggle %lu (sysfs, to %s): %s", k, to, strerror(-rc));
			return rc;
		}
		w->writes += 3;
	} else {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "bind " LOAD_TOGGLED " %s\n", to);
		if ((rc = load_write(w->mnt, ".fakesys/control", cmd)) < 0) {
			load_fail(w->fail, "toggle %lu (control, to %s): %s", k, to, strerror(-rc));
			return rc;
		}
		w->writes++;
	}
	return 0;
}

static void *load_writer_main(void *arg)
{
	struct load_writer *w = arg;
	pthread_barrier_wait(w->start);
	for (unsigned long k = 0; w->toggles ? k < w->toggles : (k % 2 || !atomic_load(w->stop)); k++) {
		if (load_toggle(w, k) < 0)
			break;
		w->done++;
	}
	return NULL;
}

/* Run @nr readers of @iters iterations each, and a writer when @writer is
 * not NULL, to the end; returns 0 or -1 when a thread could not start. */
static inline int load_round(const char *mnt, const struct load_expect *ex, struct load_reader *rd, unsigned nr,
                             unsigned iters, struct load_writer *writer)
{
	pthread_barrier_t start;
	atomic_bool stop = false;
	unsigned parties = nr + 1 + (writer ? 1 : 0);
	pthread_barrier_init(&start, NULL, parties);
	for (unsigned i = 0; i < nr; i++) {
		memset(&rd[i], 0, sizeof(rd[i]));
		rd[i].mnt = mnt;
		rd[i].ex = ex;
		rd[i].iters = iters;
		rd[i].start = &start;
		if (pthread_create(&rd[i].th, NULL, load_reader_main, &rd[i]) != 0)
			abort();
	}
	if (writer) {
		writer->mnt = mnt;
		writer->start = &start;
		writer->stop = &stop;
		writer->done = writer->writes = 0;
		writer->fail[0] = '\0';
		if (pthread_create(&writer->th, NULL, load_writer_main, writer) != 0)
			abort();
	}
	pthread_barrier_wait(&start);
	for (unsigned i = 0; i < nr; i++)
		pthread_join(rd[i].th, NULL);
	atomic_store(&stop, true);
	if (writer)
		pthread_join(writer->th, NULL);
	pthread_barrier_destroy(&start);
	return 0;
}

/* A process's VmRSS in KiB, or -1. */
#endif
