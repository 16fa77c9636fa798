/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-doctor past one machine: the host facts a report carries, its
 * Prometheus text exposition, and the atomic write of an output file.
 *
 * The exposition follows the Prometheus text format 0.0.4 (HELP, TYPE,
 * `name{label="value",...} value`; label values escape \\, \" and \n, HELP
 * text \\ and \n) and the naming guide (prefix of the exporter, base units:
 * bytes, seconds; `_info` for a metric whose labels are the information).
 * See docs/fleet.md for why a check is one series per status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include "vk_utf8.h"
#include <vfiokit/doctor.h>
#include <vfiokit/doctor_export.h>

#include "doctor_internal.h"

/* ---- host facts ---- */

/* The first line of a one-line kernel file under the root into @buf, "" when unreadable. */
static void read_line(const struct vk_root *root, const char *rel, char *buf, size_t len)
{
	if (vk__doc_read(root, rel, buf, len) < 0)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* 1 when check @id passed, 0 when it failed (or, with @warn_unknown false, warned), -1 otherwise. */
static int verdict(const struct vk_doctor_report *rep, const char *id, bool warn_unknown)
{
	const struct vk_doctor_check *c = vk_doctor_find(rep, id, NULL);

	if (!c)
		return -1;
	if (c->status == VK_DOCTOR_PASS)
		return 1;
	return c->status == VK_DOCTOR_WARN && warn_unknown ? -1 : 0;
}

int vk_doctor_host_read(const struct vk_doctor_options *o, const struct vk_doctor_report *rep,
                        struct vk_doctor_host *h, struct vk_error *err)
{
	_cleanup_free_ struct vk_pci_addr *devs = NULL;
	size_t n = 0;
	int r;

	if (!o->root)
		return vk_error_set(err, EINVAL, "no host tree to read");
	/* the kernel's own names: gethostname() and uname() read the same UTS
	 * fields (kernel/utsname_sysctl.c), but only these files exist in a tree */
	read_line(o->root, "/proc/sys/kernel/hostname", h->hostname, sizeof(h->hostname));
	read_line(o->root, "/proc/sys/kernel/osrelease", h->kernel, sizeof(h->kernel));
	h->iommu = verdict(rep, "VD001", false);
	h->iommufd = verdict(rep, "VD004", false);
	h->cdev = verdict(rep, "VD006", true); /* WARN: "cannot tell" */
	r = vk_doctor_vfio_devices(o->root, &devs, &n, err);
	if (r < 0)
		return r;
	h->vfio_devices = n;
	/* the limit VD201 judged: stated, this process's, or unknown for another
	 * user or another host's tree (VD201 not checked) */
	h->memlock_known = true;
	if (o->memlock_given) {
		h->memlock = o->memlock;
	} else if (o->other_host || (o->user && o->user->uid != geteuid())) {
		h->memlock_known = false;
	} else {
		struct rlimit rl;
		if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
			return vk_error_set(err, errno, "getrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
		h->memlock = rl.rlim_cur == RLIM_INFINITY ? VK_DOCTOR_UNLIMITED : (uint64_t)rl.rlim_cur;
	}
	return 0;
}

const char *vk_doctor_rfc3339(const struct timespec *t, char *buf, size_t len)
{
	struct tm tm;
	time_t s = t->tv_sec;

	if (!gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}

/* ---- Prometheus text exposition ---- */

/* @s escaped for a label value (@label) or a HELP text: \\ and \n always, \" in a label. */
static void prom_escape(FILE *f, const char *s, bool label)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = vk_utf8_char_len(p, NULL); /* 0: not UTF-8, which the Go parser of promtool refuses */
		if (n == 0) {
			fputc('?', f);
			p++;
		} else if (*p == '\\') {
			fputs("\\\\", f);
			p++;
		} else if (*p == '\n') {
			fputs("\\n", f);
			p++;
		} else if (*p == '"' && label) {
			fputs("\\\"", f);
			p++;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
}

static void family(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	prom_escape(f, help, false);
	fprintf(f, "\n# TYPE %s gauge\n", name);
}

static void label(FILE *f, bool first, const char *name, const char *value)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	prom_escape(f, value, true);
	fputc('"', f);
}

/* Order of checks by rule, then device (none first), then position: equal
 * keys next to each other, the first of them first. */
static int check_key_cmp(const void *a, const void *b, void *arg)
{
	const struct vk_doctor_report *rep = arg;
	size_t i = *(const size_t *)a, k = *(const size_t *)b;
	const struct vk_doctor_check *x = &rep->checks[i], *y = &rep->checks[k];
	int c = strcmp(x->rule->id, y->rule->id);

	if (!c && (x->subject || y->subject))
		c = !x->subject ? -1 : !y->subject ? 1
		                                   : strcmp(x->subject, y->subject);
	return c ? c : (i > k) - (i < k);
}

/* dup[i] for each check that repeats an earlier one's rule and device: the
 * same series twice would make the whole file invalid.  NULL on ENOMEM. */
static bool *find_repeats(const struct vk_doctor_report *rep)
{
	_cleanup_free_ size_t *idx = malloc((rep->n ? rep->n : 1) * sizeof(*idx));
	bool *dup = calloc(rep->n ? rep->n : 1, sizeof(*dup));

	if (!idx || !dup) {
		free(dup);
		return NULL;
	}
	for (size_t i = 0; i < rep->n; i++)
		idx[i] = i;
	qsort_r(idx, rep->n, sizeof(*idx), check_key_cmp, (void *)rep);
	for (size_t i = 1; i < rep->n; i++) {
		const struct vk_doctor_check *x = &rep->checks[idx[i - 1]], *y = &rep->checks[idx[i]];
		if (x->rule == y->rule && !x->subject == !y->subject && (!x->subject || !strcmp(x->subject, y->subject)))
			dup[idx[i]] = true;
	}
	return dup;
}

static void write_checks(FILE *f, const struct vk_doctor_report *rep, const bool *dup, size_t cnt[4])
{
	static const char *const st[] = {"pass", "warn", "fail", "skip"};

	family(f, "vfiokit_doctor_check_status",
	       "Result of one vfio-doctor check (check: the rule, see docs/rules.md; device: the PCI device of a "
	       "device check, empty for a host check): 1 for the status it has (status: pass, warn, fail, skip: not checked), 0 for the others.");
	for (size_t i = 0; i < rep->n; i++) {
		const struct vk_doctor_check *c = &rep->checks[i];
		if (dup[i])
			continue;
		cnt[c->status]++;
		for (int s = VK_DOCTOR_PASS; s <= VK_DOCTOR_SKIP; s++) {
			fputs("vfiokit_doctor_check_status{", f);
			label(f, true, "check", c->rule->id);
			label(f, false, "name", c->rule->name);
			/* one set of label names in a family: "" (which PromQL
			 * takes as no label) for a host check; node_exporter's
			 * textfile collector fills it in anyway, older ones refused
			 * a family whose label names differ */
			label(f, false, "device", c->subject ? c->subject : "");
			label(f, false, "status", st[s]);
			fprintf(f, "} %d\n", c->status == (enum vk_doctor_status)s);
		}
	}
	family(f, "vfiokit_doctor_checks", "Number of checks of the last vfio-doctor run by status.");
	for (int s = VK_DOCTOR_PASS; s <= VK_DOCTOR_SKIP; s++)
		fprintf(f, "vfiokit_doctor_checks{status=\"%s\"} %zu\n", st[s], cnt[s]);
}

/* A 0/1 fact, left out when it is not known (-1): a guessed 0 would page someone. */
static void flag(FILE *f, const char *name, const char *help, int v)
{
	if (v < 0)
		return;
	family(f, name, help);
	fprintf(f, "%s %d\n", name, v);
}

static void write_host(FILE *f, const struct vk_doctor_host *h, const char *version)
{
	flag(f, "vfiokit_doctor_iommu_enabled",
	     "1 when DMA remapping is on (IOMMU groups exist, check VD001), 0 when it is off.", h->iommu);
	flag(f, "vfiokit_doctor_iommufd_supported",
	     "1 when iommufd is loaded or built in (check VD004), 0 when it is not.", h->iommufd);
	flag(f, "vfiokit_doctor_vfio_device_cdev_supported",
	     "1 when the kernel has VFIO_DEVICE_CDEV (check VD006), 0 when it has not; absent when it cannot tell.",
	     h->cdev);
	family(f, "vfiokit_doctor_vfio_devices", "Number of PCI devices bound to vfio-pci or one of its variant drivers.");
	fprintf(f, "vfiokit_doctor_vfio_devices %zu\n", h->vfio_devices);
	if (h->memlock_known) {
		family(f, "vfiokit_doctor_memlock_limit_bytes",
		       "RLIMIT_MEMLOCK of the QEMU user as checked by VD201 (--memlock, or the doctor's own), +Inf when unlimited.");
		if (h->memlock == VK_DOCTOR_UNLIMITED)
			fputs("vfiokit_doctor_memlock_limit_bytes +Inf\n", f);
		else
			fprintf(f, "vfiokit_doctor_memlock_limit_bytes %llu\n", (unsigned long long)h->memlock);
	}
	family(f, "vfiokit_doctor_info", "vfio-doctor's version and the kernel release of the host it checked; always 1.");
	fputs("vfiokit_doctor_info{", f);
	label(f, true, "version", version ? version : "");
	if (h->kernel[0])
		label(f, false, "kernel", h->kernel);
	fputs("} 1\n", f);
	family(f, "vfiokit_doctor_last_run_timestamp_seconds",
	       "When the last vfio-doctor run started, in seconds since the Epoch.");
	fprintf(f, "vfiokit_doctor_last_run_timestamp_seconds %lld.%03ld\n", (long long)h->time.tv_sec,
	        h->time.tv_nsec / 1000000);
}

char *vk_doctor_prometheus(const struct vk_doctor_report *rep, const struct vk_doctor_host *h, const char *version)
{
	_cleanup_free_ bool *dup = find_repeats(rep);
	size_t cnt[4] = {0}, len = 0;
	char *buf = NULL;
	FILE *f;

	if (!dup)
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	write_checks(f, rep, dup, cnt);
	write_host(f, h, version);
	/* a memory stream fails only for lack of memory */
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- atomic output ---- */

static int write_all(int fd, const char *p, size_t len)
{
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

int vk_doctor_write_atomic(const char *path, const char *data, size_t len, struct vk_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *step;
	int fd, r;

	if (!*base)
		return vk_error_set(err, EISDIR, "%s: names a directory, not a file", path);
	/* beside the file: rename(2) is atomic only within one filesystem */
	if (asprintf(&tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash - path + 1) : 0, path, base) < 0)
		return vk_error_set(err, ENOMEM, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return vk_error_set(err, errno, "%s: cannot create a temporary file beside it (%s): %s", path, tmp,
		                    strerror(errno));
	step = "fchmod";
	/* mkstemp() makes 0600; node_exporter runs as its own user */
	if (fchmod(fd, 0644) < 0) {
		r = -errno;
		goto fail;
	}
	step = "write";
	if ((r = write_all(fd, data, len)) < 0)
		goto fail;
	step = "fsync";
	/* the data before the name: after a crash the file is the old one or the whole new one */
	if (fsync(fd) < 0 && errno != EINVAL) {
		r = -errno;
		goto fail;
	}
	step = "close";
	r = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (r < 0)
		goto fail;
	step = "rename";
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return vk_error_set(err, r, "%s: %s of the temporary file %s: %s", path, step, tmp, strerror(-r));
}
