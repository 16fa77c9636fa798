/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vk_fakesys_materialize(): write a host tree as a plain directory, for machines
 * without /dev/fuse.  Everything is created with *at() calls relative to
 * directory FDs opened with O_NOFOLLOW, and with O_EXCL/mkdirat/symlinkat that
 * fail on an existing name, so nothing the tree or a concurrent process puts
 * there can redirect a write outside the target.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/fakesys_serve.h>

bool vk_fakesys_path_forbidden(const char *path)
{
	static const char *const roots[] = {"/sys", "/dev", "/proc"};

	if (path[0] != '/' || path[1] == '\0')
		return true;
	for (size_t i = 0; i < VK_ARRAY_SIZE(roots); i++) {
		size_t n = strlen(roots[i]);
		if (strncmp(path, roots[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

struct mat {
	struct vtree *t;
	const char *dir;
	bool chown;
	uid_t euid; /* who new entries belong to */
	gid_t egid;
	bool newest_first; /* the target lists a directory's newest entry first */
	struct vk_error *err;
};

/* Record the failure of @what on node @n (errno is the cause); returns -errno. */
static int mat_fail(struct mat *m, const struct vk_vt_node *n, const char *what)
{
	int e = errno ? errno : EIO;
	char rel[PATH_MAX];

	if (vk_vtree_path(n, rel, sizeof(rel)) < 0)
		snprintf(rel, sizeof(rel), "%s", n->name);
	return vk_error_set(m->err, e, "materialize %s/%s: %s: %s", m->dir, rel, what, strerror(e));
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Whether @n needs a chown: a new entry already belongs to the caller. */
static bool needs_chown(const struct mat *m, const struct vk_vt_node *n)
{
	return m->chown && (n->uid != m->euid || n->gid != m->egid);
}

/* Owner first, mode second: chown clears set-id bits, so the mode must win. */
static int set_owner_mode(struct mat *m, int fd, const struct vk_vt_node *n)
{
	if (needs_chown(m, n) && fchown(fd, n->uid, n->gid) < 0)
		return mat_fail(m, n, "fchown");
	if (fchmod(fd, n->mode) < 0)
		return mat_fail(m, n, "fchmod");
	return 0;
}

static int write_dir(struct mat *m, int dfd, const struct vk_vt_node *dir);

/* The bytes of file @n past its stored ones, as it reads them (a repeated
 * line: vk_vtree_add_file_line_tail()). */
static int write_tail(int fd, const struct vk_vt_node *n)
{
	uint8_t buf[4096];
	size_t k;

	for (uint64_t off = n->u.file.stored; (k = vk_vt_file_read(n, off, buf, sizeof(buf))) > 0; off += k)
		if (write_all(fd, buf, k) < 0)
			return -1;
	return 0;
}

static int write_file(struct mat *m, int dfd, const struct vk_vt_node *n)
{
	_cleanup_close_ int fd = openat(dfd, n->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return mat_fail(m, n, "create");
	if (n->u.file.stored && write_all(fd, n->u.file.data, n->u.file.stored) < 0)
		return mat_fail(m, n, "write");
	if ((n->kern & VK_VT_K_LINE_TAIL) && write_tail(fd, n) < 0)
		return mat_fail(m, n, "write");
	/* a zero tail (vk_vtree_add_file_zero_tail()) as a hole */
	if (!(n->kern & VK_VT_K_LINE_TAIL) && n->u.file.len > n->u.file.stored && ftruncate(fd, n->u.file.len) < 0)
		return mat_fail(m, n, "truncate");
	return set_owner_mode(m, fd, n);
}

static int write_link(struct mat *m, int dfd, const struct vk_vt_node *n)
{
	if (symlinkat(n->u.link.target, dfd, n->name) < 0)
		return mat_fail(m, n, "symlink");
	if (needs_chown(m, n) && fchownat(dfd, n->name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return mat_fail(m, n, "fchownat");
	return 0;
}

static int write_subdir(struct mat *m, int dfd, const struct vk_vt_node *n)
{
	if (mkdirat(dfd, n->name, 0700) < 0)
		return mat_fail(m, n, "mkdir");
	_cleanup_close_ int fd = openat(dfd, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mat_fail(m, n, "open");
	int r = write_dir(m, fd, n);
	if (r < 0)
		return r;
	/* after the children: a 0555 directory can then still be filled */
	return set_owner_mode(m, fd, n);
}

/* The entries of a directory go in the order the tree lists them (kernfs's
 * hash order under sys/): created last to first where the target filesystem
 * lists its newest entry first, so that its listing is the tree's. */
static int write_dir(struct mat *m, int dfd, const struct vk_vt_node *dir)
{
	for (uint32_t i = 0, n = dir->u.dir.n; i < n; i++) {
		const struct vk_vt_node *k = dir->u.dir.kids[m->newest_first ? n - 1 - i : i];
		int r;

		errno = 0;
		switch (k->type) {
		case VK_VT_DIR:
			r = write_subdir(m, dfd, k);
			break;
		case VK_VT_FILE:
			r = write_file(m, dfd, k);
			break;
		case VK_VT_LINK:
			r = write_link(m, dfd, k);
			break;
		default:
			errno = EINVAL;
			r = mat_fail(m, k, "unknown node type");
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Which of @names[0] and @names[1] a listing of @dfd shows first: 0, 1, or -1. */
static int first_listed(int dfd, const char *const names[2])
{
	int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = lfd < 0 ? NULL : fdopendir(lfd);

	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	for (struct dirent *e; (e = readdir(d));)
		for (int i = 0; i < 2; i++)
			if (!strcmp(e->d_name, names[i]))
				return i;
	return -1;
}

/*
 * Whether a listing of the (empty) directory @dfd shows its newest entry
 * first: tmpfs does on the kernels seen here (6.x: the materialized copy of
 * `fakesys run` listed each directory in reverse), others list in creation
 * or hash order.  Asked with two scratch files, removed again; false when
 * the question cannot be asked.
 */
static bool lists_newest_first(int dfd)
{
	static const char *const names[] = {".vk-order-1", ".vk-order-2"};
	int first = -1, made = 0;

	for (size_t i = 0; i < VK_ARRAY_SIZE(names); i++, made++) {
		int fd = openat(dfd, names[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			break;
		close(fd);
	}
	if (made == 2)
		first = first_listed(dfd, names);
	for (int i = 0; i < made; i++)
		(void)unlinkat(dfd, names[i], 0);
	return first == 1;
}

/* Remove everything inside the directory @dfd (best effort, used on failure). */
static void remove_contents(int dfd)
{
	int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return;
	_cleanup_closedir_ DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return;
	}
	rewinddir(d); /* the dup shares the offset of @dfd, which may be at the end */
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dfd, e->d_name, 0) == 0)
			continue;
		_cleanup_close_ int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		/* a directory we already made read-only must be writable to empty it */
		(void)fchmod(sub, 0700);
		remove_contents(sub);
		(void)unlinkat(dfd, e->d_name, AT_REMOVEDIR);
	}
}

/* Whether the directory @fd has no entries; -errno on failure. */
static int dir_is_empty(int fd)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dup_fd);
	if (!d) {
		int e = errno;
		close(dup_fd);
		return -e;
	}
	rewinddir(d); /* the dup shares the file offset of @fd */
	struct dirent *e;
	while ((errno = 0, e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			return 0;
	return errno ? -errno : 1;
}

/*
 * The real path @dir will have: realpath of its parent + its last component
 * (it may not exist yet).  Also yields the parent and the base name.
 */
static int resolve_target(const char *dir, char *parent, char *base, char *real, struct vk_error *err)
{
	char tmp[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return vk_error_set(err, EINVAL, "materialize: invalid target directory \"%s\"", dir);
	memcpy(tmp, dir, n + 1);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	char *slash = strrchr(tmp, '/');
	const char *b = slash ? slash + 1 : tmp;
	if (!strcmp(tmp, "/") || !strcmp(b, ".") || !strcmp(b, ".."))
		return vk_error_set(err, EPERM, "materialize: refusing target \"%s\": give a new or empty directory by name",
		                    dir);
	if (strlen(b) > NAME_MAX)
		return vk_error_set(err, ENAMETOOLONG, "materialize %s: name too long", dir);
	memcpy(base, b, strlen(b) + 1);
	if (!slash)
		strcpy(tmp, ".");
	else if (slash == tmp)
		strcpy(tmp, "/");
	else
		*slash = '\0';
	if (!realpath(tmp, parent))
		return vk_error_set(err, errno, "materialize %s: parent directory %s: %s", dir, tmp, strerror(errno));
	if (snprintf(real, PATH_MAX, "%s/%s", strcmp(parent, "/") ? parent : "", base) >= PATH_MAX)
		return vk_error_set(err, ENAMETOOLONG, "materialize %s: path too long", dir);
	return 0;
}

int vk_fakesys_materialize(struct vtree *t, const char *dir, struct vk_error *err)
{
	char parent[PATH_MAX], base[NAME_MAX + 1], real[PATH_MAX];
	bool created = false;
	int r = resolve_target(dir, parent, base, real, err);

	if (r < 0)
		return r;
	if (vk_fakesys_path_forbidden(real))
		return vk_error_set(err, EPERM,
		                    "materialize %s: refusing to write to %s: fakesys never writes to /, /sys, /dev, "
		                    "/proc or below them; give a scratch directory",
		                    dir, real);

	_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return vk_error_set(err, errno, "materialize %s: open %s: %s", dir, parent, strerror(errno));
	if (mkdirat(pfd, base, 0700) == 0)
		created = true;
	else if (errno != EEXIST)
		return vk_error_set(err, errno, "materialize %s: mkdir: %s", dir, strerror(errno));

	_cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno == ELOOP ? ENOTDIR : errno;
		r = vk_error_set(err, e == ENOTDIR ? EEXIST : e,
		                 "materialize %s: %s exists and is not a directory (a symlink is not followed); give a "
		                 "new or empty directory",
		                 dir, real);
		if (e != ENOTDIR)
			r = vk_error_set(err, e, "materialize %s: open: %s", dir, strerror(e));
		goto fail;
	}
	if (!created) {
		r = dir_is_empty(fd);
		if (r < 0) {
			r = vk_error_set(err, r, "materialize %s: read: %s", dir, strerror(-r));
			goto fail;
		}
		if (r == 0) {
			r = vk_error_set(err, ENOTEMPTY,
			                 "materialize %s: directory is not empty; give a new or empty directory", dir);
			goto fail;
		}
	}

	struct mat m = {.t = t,
	                .dir = dir,
	                .chown = geteuid() == 0,
	                .euid = geteuid(),
	                .egid = getegid(),
	                .newest_first = lists_newest_first(fd),
	                .err = err};
	r = write_dir(&m, fd, vk_vtree_root(t));
	if (r == 0)
		r = set_owner_mode(&m, fd, vk_vtree_root(t));
	if (r == 0)
		return 0;

	/* undo: leave the target as we found it */
	(void)fchmod(fd, 0700);
	remove_contents(fd);
	if (created)
		(void)unlinkat(pfd, base, AT_REMOVEDIR);
	return r;

fail:
	if (created)
		(void)unlinkat(pfd, base, AT_REMOVEDIR);
	return r;
}
