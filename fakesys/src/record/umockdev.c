/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys import-umockdev: a umockdev-record file laid out as a sysfs tree in
 * a private temporary directory, then recorded (host.c) as any tree is.
 *
 * The file is umockdev's device description (umockdev-record's output, the
 * text umockdev_testbed_add_from_string() reads): blocks separated by blank
 * lines, each "P: /devices/..." and then "E: KEY=VALUE" (uevent properties),
 * "A: NAME=VALUE" (an attribute, C escapes), "H: NAME=HEX" (a binary
 * attribute), "L: NAME=TARGET" (a link), "N:"/"S:" (device nodes, which a
 * PCI function has none of).  Such files come attached to bug reports: every
 * name is checked (no "..", no "/" in a link name, no control character),
 * files are created O_EXCL|O_NOFOLLOW in a directory from mkdtemp(), and the
 * directory is removed on every path, also when SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT or SIGPIPE (a note written to a closed stderr) come while it exists:
 * they wait, blocked, until it is gone.  SIGKILL cannot wait: then the
 * directory stays.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"

#include "record.h"

#define UMOCKDEV_CAP (64u << 20) /* largest recording read */
#define MAX_PATH_DEPTH 64u       /* components of a P: path; a PCI hierarchy is far shallower */
#define LOST_SHOWN 40u           /* attribute names a "not carried over" note lists */

/* Attributes the scenario carries; the rest fakesys derives or has no key for. */
static const char *const carried_attrs[] = {
	"vendor",
	"device",
	"subsystem_vendor",
	"subsystem_device",
	"class",
	"revision",
	"numa_node",
	"config",
	"driver_override",
	"label",
	"sriov_totalvfs",
	"sriov_vf_device",
	"resource",
	"irq",
};
static const char *const carried_links[] = {"driver", "iommu_group", "iommu", "physfn"};

struct imp {
	struct notes nt;
	int sysfd; /* the tree's sys/ */
	size_t blocks, laid_out;
	const sigset_t *old; /* the caller's signal mask */
};

#define inote(im, ...) notes_add(&(im)->nt, __VA_ARGS__)

/* The signals that end a CLI by default and are blocked while the temporary
 * directory exists. */
static const int ending_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};

static bool safe_component(const char *c, size_t n)
{
	if (n == 0 || n > 255 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f || c[i] == '/')
			return false;
	return true;
}

/* mkdir -p of @path (components checked, no link followed) below @dirfd;
 * returns a directory FD or -errno. */
static int mkdirs_at(int dirfd, const char *path)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	for (const char *p = path; *p;) {
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

/* Write @data as the new file @name in @dirfd, never following a link. */
static int write_new(int dirfd, const char *name, const void *data, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (const uint8_t *p = data; len;) {
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

static unsigned hexval(char c)
{
	return (unsigned)(isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10);
}

/* umockdev's attribute escapes: \n \t \r \\ \xNN \NNN. Returns the decoded length. */
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
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case 'x': {
			unsigned v = 0;
			for (int k = 0; k < 2 && isxdigit((unsigned char)p[1]); k++)
				v = v * 16 + hexval(*++p);
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

/* The names a device's recording has but the scenario cannot carry: the
 * first LOST_SHOWN listed, the rest counted (a recording may hold a million). */
struct lost {
	FILE *f;
	char *text;
	size_t len, n;
};

static void lost_add(struct lost *l, const char *name)
{
	if (l->n++ >= LOST_SHOWN)
		return;
	if (!l->f)
		l->f = open_memstream(&l->text, &l->len);
	if (l->f)
		fprintf(l->f, "%s%.60s", l->n > 1 ? ", " : "", name);
}

static void lost_note(struct imp *im, const char *bdf, struct lost *l)
{
	if (!l->f || fclose(l->f) != 0) {
		if (l->n)
			im->nt.oom = true;
	} else if (l->n > LOST_SHOWN) {
		inote(im, "%s: not carried over (fakesys derives its own or has no key): %s and %zu more", bdf, l->text,
		      l->n - LOST_SHOWN);
	} else {
		inote(im, "%s: not carried over (fakesys derives its own or has no key): %s", bdf, l->text);
	}
	free(l->text);
}

/* The attribute @name=@val of an H: line (hex) or an A: line (escaped). */
static int import_attr(struct imp *im, int devfd, const char *bdf, char kind, const char *name, char *val)
{
	int k;

	if (kind == 'H') {
		size_t hl = strlen(val), bl = 0;
		_cleanup_free_ uint8_t *bin = malloc(hl / 2 + 1);
		if (!bin)
			return -ENOMEM;
		bool ok = hl % 2 == 0;
		for (size_t j = 0; ok && j < hl; j += 2) {
			ok = isxdigit((unsigned char)val[j]) && isxdigit((unsigned char)val[j + 1]);
			bin[bl++] = (uint8_t)(hexval(val[j]) << 4 | hexval(val[j + 1]));
		}
		if (!ok) {
			inote(im, "%s: binary attribute %.60s is not hex; not carried over", bdf, name);
			return 0;
		}
		k = write_new(devfd, name, bin, bl);
	} else {
		size_t vl = unescape(val);
		k = write_new(devfd, name, val, vl);
	}
	if (k < 0)
		inote(im, "%s: attribute %.60s not carried over: %s", bdf, name,
		      k == -EEXIST ? "recorded twice; kept the first" : strerror(-k));
	return k == -ENOMEM ? k : 0;
}

/*
 * The IOMMU side of a device's links, which umockdev records but not what
 * they point to (sys/kernel/iommu_groups is no device): "iommu_group" makes
 * sys/kernel/iommu_groups/<N>/devices/<BDF> link back to the device at @path,
 * so the group and its members come back as the recorder reads a host;
 * "iommu" makes sys/class/iommu/<unit> (the unit's kind is in its name:
 * dmar, ivhd, smmu...; its features are not in the recording).
 */
static int import_iommu_link(struct imp *im, const char *path, const char *bdf, const char *name, const char *val)
{
	const char *last = base_name(val);
	char rel[PATH_MAX];
	size_t n = strlen(last);

	if (!safe_component(last, n) || (!strcmp(name, "iommu_group") && strspn(last, "0123456789") != n)) {
		inote(im, "%s: link %s -> '%.60s' names no %s; not carried over", bdf, name, val,
		      !strcmp(name, "iommu") ? "IOMMU unit" : "group");
		return 0;
	}
	if (!strcmp(name, "iommu")) {
		snprintf(rel, sizeof(rel), "class/iommu/%s", last);
		int fd = mkdirs_at(im->sysfd, rel);
		if (fd < 0)
			return fd == -ENOMEM ? fd : 0;
		close(fd);
		return 0;
	}
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%s/devices", last);
	_cleanup_close_ int fd = mkdirs_at(im->sysfd, rel);
	if (fd < 0)
		return fd == -ENOMEM ? fd : 0;
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "../../../..%s", path);
	if (symlinkat(target, fd, bdf) < 0)
		inote(im, "%s: iommu group %s: %s", bdf, last, strerror(errno));
	return 0;
}

/* Whether @path (from a P: line) can become a device directory of the tree. */
static bool usable_path(struct imp *im, const char *path)
{
	size_t depth = 0;

	for (const char *p = path; *p; p++)
		depth += *p == '/';
	if (strlen(path) > PATH_MAX - 64 || depth > MAX_PATH_DEPTH) {
		inote(im, "%.120s...: %s; skipped", path,
		      depth > MAX_PATH_DEPTH ? "deeper than 64 components" : "longer than a path can be");
		return false;
	}
	return true;
}

/* One P: block: lay out a PCI device below the tree's sys/. */
static int import_device(struct imp *im, char **lines, size_t n)
{
	const char *path = lines[0] + 3;
	const char *subsystem = NULL, *edriver = NULL;
	bool have_driver_link = false;
	struct lost lost = {0};
	int k = 0;

	im->blocks++;
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
	struct vk_pci_addr a;
	if (vk_pci_addr_parse(bdf, &a, NULL) < 0) {
		inote(im, "%.120s: does not end in a PCI address; skipped", path);
		return 0;
	}
	if (!usable_path(im, path))
		return 0;
	_cleanup_close_ int devfd = mkdirs_at(im->sysfd, path + 1);
	if (devfd < 0) {
		inote(im, "%.120s: unsafe or unusable path (%s); skipped", path, strerror(-devfd));
		return devfd == -ENOMEM ? devfd : 0;
	}
	/* sys/bus/pci/devices/<BDF> -> ../../../devices/... */
	_cleanup_close_ int busfd = mkdirs_at(im->sysfd, "bus/pci/devices");
	if (busfd < 0)
		return busfd;
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "../../..%s", path);
	if (symlinkat(target, busfd, bdf) < 0) {
		inote(im, "%s: recorded twice; kept the first", bdf);
		return 0;
	}
	im->laid_out++;
	for (size_t i = 1; i < n && k >= 0; i++) {
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
			if (!in_list(name, carried_links, VK_ARRAY_SIZE(carried_links)))
				lost_add(&lost, name);
			else if (symlinkat(val, devfd, name) < 0)
				inote(im, "%s: link %.60s not carried over: %s", bdf, name,
				      errno == EEXIST ? "recorded twice; kept the first" : strerror(errno));
			else if (!strcmp(name, "iommu_group") || !strcmp(name, "iommu"))
				k = import_iommu_link(im, path, bdf, name, val);
			else
				have_driver_link |= !strcmp(name, "driver");
			continue;
		}
		if (!in_list(name, carried_attrs, VK_ARRAY_SIZE(carried_attrs)))
			lost_add(&lost, name);
		else
			k = import_attr(im, devfd, bdf, l[0], name, val);
	}
	if (k >= 0 && !have_driver_link && edriver) {
		char t[PATH_MAX];
		snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", edriver);
		if (safe_component(edriver, strlen(edriver)) && symlinkat(t, devfd, "driver") == 0)
			inote(im, "%s: no driver link in the recording; driver %.60s taken from the uevent (DRIVER=)", bdf,
			      edriver);
	}
	lost_note(im, bdf, &lost);
	return k;
}

/* A signal that the caller would take is waiting (blocked by us meanwhile). */
static bool interrupted(const struct imp *im)
{
	sigset_t p;

	if (sigpending(&p) < 0)
		return false;
	for (size_t i = 0; i < VK_ARRAY_SIZE(ending_signals); i++)
		if (sigismember(&p, ending_signals[i]) && !sigismember(im->old, ending_signals[i]))
			return true;
	return false;
}

/* Blocks of lines separated by blank lines, each starting with P:. @text is
 * the caller's copy (lines are cut and unescaped in place). */
static int import_blocks(struct imp *im, const char *name, char *text, struct vk_error *err)
{
	_cleanup_free_ char **lines = NULL;
	size_t nl = 0, cap = 0;
	unsigned lineno = 0;
	int k = 0;

	for (char *l = text; k >= 0 && l;) {
		char *nlp = strchr(l, '\n');
		if (nlp)
			*nlp = '\0';
		lineno++;
		bool blank = !*l;
		bool p_line = l[0] == 'P' && l[1] == ':';
		if (!blank && !p_line && nl == 0)
			return vk_error_set(err, EINVAL, "%s:%u: expected a 'P: /devices/...' line (a umockdev-record file)",
			                    name, lineno);
		if (!blank && p_line && nl)
			return vk_error_set(err, EINVAL, "%s:%u: a 'P:' line inside a device block", name, lineno);
		if (!blank) {
			if (nl == cap) {
				char **nv = realloc(lines, (cap = cap ? 2 * cap : 64) * sizeof(*lines));
				if (!nv)
					return -ENOMEM;
				lines = nv;
			}
			lines[nl++] = l;
		}
		l = nlp ? nlp + 1 : NULL;
		if ((blank || !l) && nl) {
			if (strncmp(lines[0], "P: ", 3) != 0)
				return vk_error_set(err, EINVAL, "%s:%u: expected 'P: PATH'", name, lineno);
			k = import_device(im, lines, nl);
			nl = 0;
			if (k >= 0 && interrupted(im))
				return vk_error_set(err, EINTR, "import %s: interrupted", name);
		}
	}
	return k;
}

/* rm -rf of @name in @pfd, never following a link; false if something stayed. */
static bool rm_tree_at(int pfd, const char *name, unsigned depth)
{
	bool ok = true;

	/* deeper than anything import_device() makes: only another writer of the
	 * private directory could have put it there */
	if (depth > MAX_PATH_DEPTH + 8)
		return false;
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return unlinkat(pfd, name, 0) == 0 || errno == ENOENT;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ok &= rm_tree_at(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	return unlinkat(pfd, name, AT_REMOVEDIR) == 0 && ok;
}

/* Lay @text out in a fresh temporary directory and record it into @out. */
static int import_in_tmpdir(struct imp *im, const char *name, char *text, FILE *out, FILE *notes,
                            struct vk_error *err)
{
	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	size_t ndev = 0;
	int k;

	if (snprintf(tmpl, sizeof(tmpl), "%s/fakesys-umockdev.XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(tmpl))
		return vk_error_set(err, ENAMETOOLONG, "import %s: TMPDIR is too long", name);
	if (!mkdtemp(tmpl)) /* mode 0700, a name no one else had */
		return vk_error_set(err, errno, "import %s: cannot create a temporary directory in %s: %s", name,
		                    tmp && *tmp ? tmp : "/tmp", strerror(errno));
	int rootfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	im->sysfd = rootfd >= 0 ? mkdirs_at(rootfd, "sys") : -errno;
	k = im->sysfd < 0 ? vk_error_set(err, -im->sysfd, "import %s: %s: %s", name, tmpl, strerror(-im->sysfd))
	                  : import_blocks(im, name, text, err);
	if (im->sysfd >= 0)
		close(im->sysfd);
	if (k >= 0 && im->nt.oom)
		k = -ENOMEM;
	if (k >= 0 && !im->laid_out)
		k = vk_error_set(err, EINVAL,
		                 "%s: no PCI device could be carried over (%zu device block%s, none a PCI function "
		                 "below /devices; see the notes)",
		                 name, im->blocks, im->blocks == 1 ? "" : "s");
	if (k >= 0) {
		_cleanup_free_ char *head = NULL;
		char **c = NULL;
		size_t nc = 0;
		if (asprintf(&head, "Imported from the umockdev recording %s by fakesys import-umockdev. umockdev records "
		                    "sysfs only: no /dev nodes, modules, cmdline or kernel release (defaults apply); IOMMU "
		                    "groups and units only as the devices' links name them (no group types, no unit "
		                    "features).",
		             name) < 0 ||
		    strv_push(&c, &nc, TAKE_PTR(head)) < 0)
			k = -ENOMEM;
		for (size_t i = 0; k >= 0 && i < im->nt.n; i++)
			if (strv_push(&c, &nc, strdup(im->nt.v[i])) < 0)
				k = -ENOMEM;
		if (k >= 0 && im->nt.dropped && (asprintf(&head, "%zu more notes not shown", im->nt.dropped) < 0 || strv_push(&c, &nc, TAKE_PTR(head)) < 0))
			k = -ENOMEM;
		struct vk_fakesys_record_opts o = {
			.root = tmpl,
			.extra_comments = (const char *const *)c,
			.n_extra_comments = nc,
		};
		if (k >= 0 && interrupted(im))
			k = vk_error_set(err, EINTR, "import %s: interrupted", name);
		if (k >= 0)
			k = record_host(&o, out, notes, &ndev, err);
		vk_strv_free(c, nc);
	}
	if (k >= 0 && !ndev)
		k = vk_error_set(err, EINVAL,
		                 "%s: none of the %zu PCI device%s laid out could be recorded (neither ids nor config "
		                 "space; see the notes)",
		                 name, im->laid_out, im->laid_out == 1 ? "" : "s");
	bool gone = rootfd < 0 || rm_tree_at(rootfd, "sys", 0);
	if (rootfd >= 0)
		close(rootfd);
	gone = rmdir(tmpl) == 0 && gone;
	if (!gone && notes)
		fprintf(notes, "fakesys: import-umockdev: could not remove all of the temporary directory %s\n", tmpl);
	return k;
}

int vk_fakesys_import_umockdev_buffer(const char *name, const char *text, size_t len, FILE *out, FILE *notes,
                                      struct vk_error *err)
{
	struct imp im = {.nt = {.f = notes, .who = "import-umockdev"}};
	sigset_t ours, old;
	char *buf = NULL;
	size_t blen = 0;
	int k;

	if (memchr(text, '\0', len))
		return vk_error_set(err, EINVAL, "%s: contains a NUL byte: not a umockdev recording", name);
	_cleanup_free_ char *copy = malloc(len + 1);
	if (!copy)
		return vk_error_set(err, ENOMEM, "import %s: out of memory", name);
	memcpy(copy, text, len);
	copy[len] = '\0';

	/* Until the temporary directory is gone, the signals that end a CLI wait
	 * (a pending one cuts the import short); then the caller's mask is back
	 * and a pending one takes its course. */
	sigemptyset(&ours);
	for (size_t i = 0; i < VK_ARRAY_SIZE(ending_signals); i++)
		sigaddset(&ours, ending_signals[i]);
	if (pthread_sigmask(SIG_BLOCK, &ours, &old) != 0)
		return vk_error_set(err, EINVAL, "import %s: cannot block signals", name);
	im.old = &old;
	FILE *mem = open_memstream(&buf, &blen);
	k = mem ? import_in_tmpdir(&im, name, copy, mem, notes, err) : -ENOMEM;
	if (mem && fclose(mem) != 0 && k >= 0)
		k = -ENOMEM;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	notes_free(&im.nt);
	if (k >= 0 && (fwrite(buf, 1, blen, out) != blen || fflush(out) != 0))
		k = vk_error_set(err, EIO, "import %s: writing the scenario: %s", name, strerror(errno ? errno : EIO));
	free(buf);
	if (k == -ENOMEM && err && !err->code)
		vk_error_set(err, ENOMEM, "import %s: out of memory", name);
	return k;
}

int vk_fakesys_import_umockdev(const char *path, FILE *out, FILE *notes, struct vk_error *err)
{
	struct stat st;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
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
	return vk_fakesys_import_umockdev_buffer(path, text, len, out, notes, err);
}
