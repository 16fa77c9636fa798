/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A materialized host tree's sys/devices as a umockdev recording: the text
 * umockdev-run --device (umockdev_testbed_add_from_string(), src/umockdev.vala
 * in umockdev) reads, the other direction of fakesys/src/record/umockdev.c.
 * For bench_umockdev only: it exists to serve the same tree through
 * umockdev's preload, not as a faithful recorder (that would be a `fakesys`
 * command; see the notes below on what a recording cannot carry).
 *
 * A device is a directory with a "subsystem" link, as in sysfs; each is one
 * block: "P: /devices/...", "E: SUBSYSTEM=<the link's last component>" and
 * its uevent's lines as "E:" (umockdev writes them back as the uevent file
 * and makes the subsystem link itself), then every file as "A: NAME=VALUE"
 * (printable text; umockdev unescapes it with g_strcompress()) or
 * "H: NAME=HEX" (anything else), every link as "L: NAME=TARGET", the files
 * and links of non-device subdirectories (power/, msi_irqs/) named with
 * their path ("A: power/control=auto"; umockdev 0.17 makes the directories).
 * A device found below another is a block of its own.  Not carried: modes
 * (umockdev writes every attribute 0644), empty directories, and files of a
 * directory that is neither a device nor below one; *lost counts them.
 */
#ifndef VFIOKIT_BENCH_UMOCKDEV_EXPORT_H
#define VFIOKIT_BENCH_UMOCKDEV_EXPORT_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct um_export {
	FILE *f;
	char **todo; /* devices still to write, as paths below sys/ */
	size_t ntodo, cap;
	unsigned long devices, lost;
	int err; /* the first -errno */
};

static inline void um_fail(struct um_export *x, int e)
{
	if (!x->err)
		x->err = e;
}

static inline bool um_is_device(int dfd)
{
	struct stat st;
	return fstatat(dfd, "subsystem", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

static inline void um_push(struct um_export *x, const char *path)
{
	if (x->ntodo == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		char **v = realloc(x->todo, cap * sizeof(*v));
		if (!v) {
			um_fail(x, -ENOMEM);
			return;
		}
		x->todo = v;
		x->cap = cap;
	}
	if (!(x->todo[x->ntodo] = strdup(path)))
		um_fail(x, -ENOMEM);
	else
		x->ntodo++;
}

/* The whole of @name in @dfd into @buf (at most @len bytes), or -errno. */
static inline ssize_t um_read(int dfd, const char *name, unsigned char *buf, size_t len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -errno;
	while (n < len && (r = read(fd, buf + n, len - n)) > 0)
		n += (size_t)r;
	int e = errno;
	close(fd);
	return r < 0 ? -e : (ssize_t)n;
}

/* "A:" when every byte is printable (escaped as umockdev-record does), else "H:". */
static inline int um_value(FILE *f, const char *name, const unsigned char *b, size_t n)
{
	bool text = true;
	for (size_t i = 0; i < n && text; i++)
		text = (b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\n' || b[i] == '\t';
	if (!text) {
		fprintf(f, "H: %s=", name);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%02X", b[i]);
		return fputc('\n', f) == EOF ? -EIO : 0;
	}
	fprintf(f, "A: %s=", name);
	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\n')
			fputs("\\n", f);
		else if (b[i] == '\t')
			fputs("\\t", f);
		else if (b[i] == '\\')
			fputs("\\\\", f);
		else
			fputc(b[i], f);
	}
	return fputc('\n', f) == EOF ? -EIO : 0;
}

/* Files, links and non-device subdirectories of the device @dev (a path
 * below sys/), from its directory or one of its subdirectories @dfd
 * (closed here), named with @prefix ("" or "power/").  Returns the number
 * of entries carried (lines written, devices found). */
static inline unsigned long um_attrs(struct um_export *x, int dfd, const char *dev, const char *prefix)
{
	unsigned long put = 0;

	DIR *d = fdopendir(dfd);
	struct dirent *e;
	static unsigned char buf[65536];

	if (!d) {
		um_fail(x, -errno);
		close(dfd);
		return 0;
	}
	while ((e = readdir(d))) {
		char name[PATH_MAX], target[PATH_MAX];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* umockdev makes these two from the "E:" lines */
		if (!*prefix && (!strcmp(e->d_name, "subsystem") || !strcmp(e->d_name, "uevent")))
			continue;
		snprintf(name, sizeof(name), "%s%s", prefix, e->d_name);
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			um_fail(x, -errno);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
			if (n < 0)
				um_fail(x, -errno);
			else
				put += fprintf(x->f, "L: %s=%.*s\n", name, (int)n, target) > 0;
		} else if (S_ISREG(st.st_mode)) {
			ssize_t n = um_read(dirfd(d), e->d_name, buf, sizeof(buf));
			if (n == -EACCES) /* write-only (remove, reset) when not root */
				n = 0;
			if (n < 0)
				um_fail(x, (int)n);
			else
				put += um_value(x->f, name, buf, (size_t)n) == 0;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char path[2 * PATH_MAX];
			if (sub < 0) {
				um_fail(x, -errno);
			} else if (um_is_device(sub)) {
				snprintf(path, sizeof(path), "%s/%s", dev, name);
				um_push(x, path);
				close(sub);
				put++;
			} else {
				strcat(name, "/");
				unsigned long k = um_attrs(x, sub, dev, name);
				if (k == 0) /* an empty directory is not carried */
					x->lost++;
				put += k;
			}
		} else {
			x->lost++;
		}
	}
	closedir(d);
	return put;
}

/* One device's block, @dev a path below @sysfd (sys/). */
static inline void um_device(struct um_export *x, int sysfd, const char *dev)
{
	char sub[PATH_MAX];
	unsigned char uev[8192];
	int dfd = openat(sysfd, dev, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0) {
		um_fail(x, -errno);
		return;
	}
	ssize_t n = readlinkat(dfd, "subsystem", sub, sizeof(sub) - 1);
	ssize_t u = um_read(dfd, "uevent", uev, sizeof(uev) - 1);
	if (n < 0) {
		um_fail(x, -errno);
		close(dfd);
		return;
	}
	sub[n] = '\0';
	uev[u > 0 ? u : 0] = '\0';
	const char *s = strrchr(sub, '/');
	fprintf(x->f, "P: /%s\nE: SUBSYSTEM=%s\n", dev, s ? s + 1 : sub);
	for (char *save, *l = strtok_r((char *)uev, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "SUBSYSTEM=", 10) && strchr(l, '='))
			fprintf(x->f, "E: %s\n", l);
	um_attrs(x, dfd, dev, "");
	fputc('\n', x->f);
	x->devices++;
}

/* Devices below a directory that is not one (devices/, pci0000:00/); at
 * the top, only the entries whose names start with @only (NULL: all). */
static inline void um_find(struct um_export *x, int sysfd, const char *path, const char *only)
{
	int dfd = openat(sysfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		um_fail(x, -errno);
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (only && strncmp(e->d_name, only, strlen(only))))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
			x->lost++;
			continue;
		}
		int c = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		bool dev = c >= 0 && um_is_device(c);
		if (c >= 0)
			close(c);
		if (dev)
			um_push(x, sub);
		else
			um_find(x, sysfd, sub, NULL);
	}
	closedir(d);
}

/* Write the devices of @tree/sys/devices (those below the entries starting
 * with @only, NULL: all) to @out; 0 or -errno. */
static inline int um_export(const char *tree, const char *only, const char *out, unsigned long *devices,
                            unsigned long *lost)
{
	struct um_export x = {0};
	char sys[PATH_MAX];

	snprintf(sys, sizeof(sys), "%s/sys", tree);
	int sysfd = open(sys, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sysfd < 0)
		return -errno;
	if (!(x.f = fopen(out, "we"))) {
		int e = -errno;
		close(sysfd);
		return e;
	}
	um_find(&x, sysfd, "devices", only);
	while (x.ntodo && !x.err) {
		char *dev = x.todo[--x.ntodo];
		um_device(&x, sysfd, dev);
		free(dev);
	}
	for (size_t i = 0; i < x.ntodo; i++)
		free(x.todo[i]);
	free(x.todo);
	close(sysfd);
	if (fclose(x.f) != 0)
		um_fail(&x, -errno);
	*devices = x.devices;
	*lost = x.lost;
	return x.err;
}

#endif
