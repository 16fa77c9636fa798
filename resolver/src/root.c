/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/root.h>

#include "internal.h"
#include "vk_fileio.h"

_Thread_local uint64_t vk__syscalls;

/* Symlinks followed per lookup before ELOOP, as the kernel's MAXSYMLINKS. */
#define VK_MAXSYMLINKS 40
/* Depth of the fallback walker's directory stack. */
#define VK_MAXDEPTH 128

struct vk_root {
	int fd;
	bool openat2;
	char prefix[]; /* "" for "/" */
};

uint64_t vk_resolver_syscall_count(void)
{
	/* the reads of vk_root_read() are counted by the shared reader */
	return vk__syscalls + vk_fileio_syscalls;
}

const char *vk__errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static int sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	vk__count();
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

int vk_root_open(const char *path, unsigned flags, struct vk_root **out, struct vk_error *err)
{
	struct vk_root *r;
	size_t len;

	if (!path || !*path)
		path = "/";
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 1 && path[0] == '/')
		len = 0;
	r = calloc(1, sizeof(*r) + len + 1);
	if (!r)
		return vk_error_set(err, ENOMEM, "out of memory");
	memcpy(r->prefix, path, len);
	r->prefix[len] = '\0';
	vk__count();
	r->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = errno;
		free(r);
		return vk_error_set(err, e, "cannot open root directory %s: %s (%s)", path, strerror(e),
		                    vk__errname(e));
	}
	r->openat2 = false;
	if (!(flags & VK_ROOT_NO_OPENAT2)) {
		/* Probe once: ENOSYS on kernels before 5.6 (or under a seccomp filter
		 * that refuses it), then every lookup takes the fallback. */
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		                       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		int fd = sys_openat2(r->fd, ".", &how);
		if (fd >= 0) {
			vk__close(fd);
			r->openat2 = true;
		}
	}
	*out = r;
	return 0;
}

void vk_root_close(struct vk_root *root)
{
	if (!root)
		return;
	vk__close(root->fd);
	free(root);
}

int vk_root_fd(const struct vk_root *root)
{
	return root->fd;
}

const char *vk_root_prefix(const struct vk_root *root)
{
	return root->prefix;
}

bool vk_root_uses_openat2(const struct vk_root *root)
{
	return root->openat2;
}

const char *vk_root_path(const struct vk_root *root, const char *rel, char *buf, size_t len)
{
	while (*rel == '/')
		rel++;
	snprintf(buf, len, "%s/%s", root->prefix, rel);
	return buf;
}

/* openat2 with a few retries on EAGAIN (a concurrent rename anywhere makes
 * RESOLVE_IN_ROOT give up rather than risk a wrong answer). */
static int openat2_retry(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve};
	int fd = -1;

	for (int i = 0; i < 64; i++) {
		fd = sys_openat2(dirfd, path, &how);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd < 0 ? -errno : fd;
}

/*
 * The fallback of RESOLVE_IN_ROOT.  A stack of directory FDs from the root down
 * to the current directory; ".." pops (never above the root); a symlink is read
 * with readlinkat() and its target spliced in front of the rest of the path (an
 * absolute target pops back to the root).  Every open uses O_NOFOLLOW, so a
 * symlink swapped in after readlinkat() said "not a symlink" fails instead of
 * being followed by the kernel.
 */
/* Where a walk is: the directories from the root down, the path still to go. */
struct walk {
	int stack[VK_MAXDEPTH]; /* [0]: the root's FD (not owned); then the directories opened */
	int depth, links;
	char *path; /* the path as symlinks rewrote it (owned) */
	char *rest; /* what is left of it */
};

/* Back to the root (an absolute symlink target, the end of the walk). */
static void walk_to_root(struct walk *w)
{
	while (w->depth > 0)
		vk__close(w->stack[w->depth--]);
}

/* The next component of the path into @comp, *@last when only slashes follow
 * it: 0, 1 when the path ended (in '/', or empty), or -ENAMETOOLONG. */
static int walk_component(struct walk *w, char comp[NAME_MAX + 1], bool *last)
{
	size_t n;

	while (*w->rest == '/')
		w->rest++;
	if (!*w->rest)
		return 1;
	n = strcspn(w->rest, "/");
	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(comp, w->rest, n);
	comp[n] = '\0';
	w->rest += n;
	*last = w->rest[strspn(w->rest, "/")] == '\0';
	return 0;
}

/* A symlink's target (@tl bytes of @target, a buffer of @size) spliced in
 * front of the rest of the path. */
static int walk_follow(struct walk *w, char *target, ssize_t tl, size_t size)
{
	if ((size_t)tl >= size)
		return -ENAMETOOLONG;
	if (++w->links > VK_MAXSYMLINKS)
		return -ELOOP;
	target[tl] = '\0';
	/* new path = target + "/" + rest */
	size_t rl = strlen(w->rest);
	char *np = malloc((size_t)tl + 1 + rl + 1);
	if (!np)
		return -ENOMEM;
	memcpy(np, target, (size_t)tl);
	np[tl] = '/';
	memcpy(np + tl + 1, w->rest, rl + 1);
	free(w->path);
	w->path = w->rest = np;
	if (target[0] == '/')
		walk_to_root(w);
	return 0;
}

/* Down into directory @comp (O_PATH, never following a symlink). */
static int walk_down(struct walk *w, const char *comp)
{
	if (w->depth + 1 >= VK_MAXDEPTH)
		return -ENAMETOOLONG;
	vk__count();
	int fd = openat(w->stack[w->depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w->stack[++w->depth] = fd;
	return 0;
}

static int walk_in_root(const struct vk_root *root, const char *rel, int flags)
{
	struct walk w = {.stack = {root->fd}};
	size_t cap = strlen(rel) + 1;
	int ret;

	if (!(w.path = malloc(cap)))
		return -ENOMEM;
	memcpy(w.path, rel, cap);
	w.rest = w.path;

	for (;;) {
		char comp[NAME_MAX + 1], target[PATH_MAX];
		bool last = false;

		if ((ret = walk_component(&w, comp, &last)) < 0)
			break;
		if (ret > 0) {
			/* path ended in '/' or was empty: open the current directory */
			ret = openat(w.stack[w.depth], ".", flags | O_CLOEXEC);
			vk__count();
			ret = ret < 0 ? -errno : ret;
			break;
		}
		if (strcmp(comp, ".") == 0) {
			if (last)
				w.rest = (char *)"";
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			if (w.depth > 0)
				vk__close(w.stack[w.depth--]);
			continue;
		}

		ssize_t tl = vk__readlinkat(w.stack[w.depth], comp, target, sizeof(target));
		if (tl >= 0 && !(last && (flags & O_NOFOLLOW))) {
			if ((ret = walk_follow(&w, target, tl, sizeof(target))) < 0)
				break;
			continue;
		}
		if (tl < 0 && errno != EINVAL) {
			ret = -errno; /* ENOENT, ENOTDIR, EACCES ... */
			break;
		}
		if (last) {
			vk__count();
			ret = openat(w.stack[w.depth], comp, flags | O_NOFOLLOW | O_CLOEXEC);
			ret = ret < 0 ? -errno : ret;
			break;
		}
		if ((ret = walk_down(&w, comp)) < 0)
			break;
	}
	walk_to_root(&w);
	free(w.path);
	return ret;
}

int vk_root_openat(const struct vk_root *root, const char *rel, int flags)
{
	if (flags & O_CREAT)
		return -EINVAL;
	while (*rel == '/')
		rel++;
	if (root->openat2) {
		int fd = openat2_retry(root->fd, *rel ? rel : ".", flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		/* a system busy renaming can starve RESOLVE_IN_ROOT: the walk gives the
		 * same answer under the same rules, only slower */
		if (fd != -EAGAIN)
			return fd;
	}
	return walk_in_root(root, rel, flags);
}

int vk_root_openat_nofollow(const struct vk_root *root, int dirfd, const char *rel, int flags)
{
	if (flags & O_CREAT)
		return -EINVAL;
	if (root->openat2)
		return openat2_retry(dirfd, rel, flags,
		                     RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);

	/* Fallback: one component at a time, each with O_NOFOLLOW, no "..". */
	const char *p = rel;
	int cur = dirfd, ret;

	if (*p == '/')
		return -EXDEV;
	for (;;) {
		char comp[NAME_MAX + 1];
		size_t n = strcspn(p, "/");
		bool last;

		if (n == 0 || n > NAME_MAX) {
			ret = n ? -ENAMETOOLONG : -EINVAL;
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		while (*p == '/')
			p++;
		last = *p == '\0';
		if (strcmp(comp, "..") == 0) {
			ret = -EXDEV;
			break;
		}
		vk__count();
		int fd = openat(cur, comp,
		                last ? flags | O_NOFOLLOW | O_CLOEXEC
		                     : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			/* O_PATH|O_DIRECTORY|O_NOFOLLOW on a symlink says ENOTDIR; make it
			 * the ELOOP openat2 gives. */
			ret = -errno;
			if (ret == -ENOTDIR) {
				char t[2];
				if (vk__readlinkat(cur, comp, t, sizeof(t)) >= 0)
					ret = -ELOOP;
			}
			break;
		}
		if (last && (flags & O_PATH)) {
			/* O_PATH|O_NOFOLLOW opens a symlink itself: refuse it like openat2. */
			struct stat st;
			if (vk__fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
				vk__close(fd);
				ret = -ELOOP;
				break;
			}
		}
		if (cur != dirfd)
			vk__close(cur);
		cur = -1;
		if (last)
			return fd;
		cur = fd;
	}
	if (cur != dirfd && cur >= 0)
		vk__close(cur);
	return ret;
}

/* What a failed vk_root_read() names: the path under the root, or @rel below a directory FD. */
static const char *read_shown(const struct vk_root *root, int dirfd, const char *rel, char *buf, size_t len)
{
	if (dirfd >= 0) {
		snprintf(buf, len, "%s", rel);
		return buf;
	}
	return vk_root_path(root, rel, buf, len);
}

int vk_root_open_regular(const struct vk_root *root, int dirfd, const char *rel, struct vk_error *err)
{
	char shown[PATH_MAX];
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	/* O_NONBLOCK: a FIFO planted as an attribute opens without a writer
	 * instead of blocking the open (fs/pipe.c fifo_open()); it is then refused
	 * below, before any read. */
	r = dirfd < 0 ? vk_root_openat(root, rel, VK_READ_OPEN_FLAGS)
	              : vk_root_openat_nofollow(root, dirfd, rel, VK_READ_OPEN_FLAGS);
	if (r < 0)
		return vk_error_set(err, r, "%s: %s (%s)", read_shown(root, dirfd, rel, shown, sizeof(shown)),
		                    strerror(-r), vk__errname(-r));
	fd = r;
	if (vk__fstat(fd, &st) < 0) {
		int e = errno;
		r = vk_error_set(err, e, "%s: fstat: %s", read_shown(root, dirfd, rel, shown, sizeof(shown)), strerror(e));
		vk__count();
		return r;
	}
	/* sysfs attributes and procfs files are regular files; anything else in
	 * their place (a FIFO, a socket, a device, a directory) is not read */
	if (!S_ISREG(st.st_mode)) {
		r = vk_error_set(err, EINVAL, "%s: not a regular file (%s)",
		                 read_shown(root, dirfd, rel, shown, sizeof(shown)), vk_file_type_name(st.st_mode));
		vk__count();
		return r;
	}
	return TAKE_FD(fd);
}

ssize_t vk_root_read(const struct vk_root *root, int dirfd, const char *rel, unsigned flags, char *buf, size_t len,
                     struct vk_error *err)
{
	char shown[PATH_MAX];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (!len)
		return vk_error_set(err, EINVAL, "%s: no room to read into", rel);
	buf[0] = '\0';
	fd = vk_root_open_regular(root, dirfd, rel, err);
	if (fd < 0) {
		n = fd;
		fd = -1;
		return n;
	}
	vk__count(); /* the close of the cleanup */
	n = vk_read_fd(fd, buf, len, flags & VK_ROOT_READ_TRUNCATE ? VK_READ_TRUNCATE : 0);
	if (n == -EFBIG)
		return vk_error_set(err, EFBIG, "%s: larger than %zu bytes",
		                    read_shown(root, dirfd, rel, shown, sizeof(shown)), len - 1);
	if (n < 0)
		return vk_error_set(err, (int)-n, "%s: read: %s (%s)", read_shown(root, dirfd, rel, shown, sizeof(shown)),
		                    strerror((int)-n), vk__errname((int)-n));
	return n;
}
