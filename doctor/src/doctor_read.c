/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How the doctor reads a host: through the resolver's root (no blocking on a
 * FIFO, regular files only, confined to --root), and how it shows what it
 * read as evidence.  Shared by the platform checks (doctor_platform.c) and the
 * device checks (doctor_device.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/doctor.h>
#include <vfiokit/root.h>

#include "doctor_internal.h"

long vk__doc_read_why(const struct vk_root *root, const char *rel, char *buf, size_t len, struct vk_error *why)
{
	/* the resolver's one reader: never blocks on a FIFO, reads only a regular
	 * file, keeps what fits (the head of /proc/cpuinfo is all that is needed) */
	ssize_t off = vk_root_read(root, -1, rel, VK_ROOT_READ_TRUNCATE, buf, len, why);

	if (off < 0)
		return (long)off;
	while (off && (buf[off - 1] == '\n' || buf[off - 1] == ' '))
		buf[--off] = '\0';
	return (long)off;
}

long vk__doc_read(const struct vk_root *root, const char *rel, char *buf, size_t len)
{
	return vk__doc_read_why(root, rel, buf, len, NULL);
}

int vk__doc_stat(const struct vk_root *root, const char *rel, struct stat *st)
{
	_cleanup_close_ int fd = vk_root_openat(root, rel, O_PATH);

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0)
		return -errno;
	return 0;
}

const char *vk__doc_path(const struct vk_root *root, const char *rel, char *buf, size_t len)
{
	return vk_root_path(root, rel, buf, len);
}

int vk__doc_list(const struct vk_root *root, const char *rel, char ***names, size_t *n)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = vk_root_openat(root, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			/* doubling: a directory of 100,000 entries costs linear time */
			size_t nc = cap ? cap * 2 : 16;
			char **nn = realloc(*names, nc * sizeof(*nn));
			if (!nn)
				goto nomem;
			*names = nn;
			cap = nc;
		}
		if (!((*names)[*n] = strdup(de->d_name)))
			goto nomem;
		(*n)++;
	}
	return 0;
nomem:
	vk__doc_list_free(*names, *n);
	*names = NULL;
	*n = 0;
	return -ENOMEM;
}

void vk__doc_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int vk__doc_evidence_path(struct vk_doctor_report *rep, const struct vk_root *root, const char *rel,
                          const char *what)
{
	char p[512];
	vk__doc_path(root, rel, p, sizeof(p));
	return what ? vk_doctor_evidence(rep, "%s: %s", p, what) : vk_doctor_evidence(rep, "%s", p);
}

int vk__doc_node_desc(const struct stat *st, char *buf, size_t len)
{
	const char *type = S_ISCHR(st->st_mode) ? "char device" : S_ISREG(st->st_mode) ? "stand-in file"
	                                                                               : "not a device";
	if (S_ISCHR(st->st_mode))
		snprintf(buf, len, "uid %u gid %u mode %04o, %s %u:%u", (unsigned)st->st_uid, (unsigned)st->st_gid,
		         (unsigned)(st->st_mode & 07777), type, major(st->st_rdev), minor(st->st_rdev));
	else
		snprintf(buf, len, "uid %u gid %u mode %04o, %s", (unsigned)st->st_uid, (unsigned)st->st_gid,
		         (unsigned)(st->st_mode & 07777), type);
	return 0;
}

int vk__doc_user_desc(const struct vk_doctor_user *u, char *buf, size_t len)
{
	if (u->name[0])
		snprintf(buf, len, "%s (uid %u)", u->name, (unsigned)u->uid);
	else
		snprintf(buf, len, "uid %u", (unsigned)u->uid);
	return 0;
}
