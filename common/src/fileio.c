/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one reader of files vfiokit did not write (see vk_fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"

#include "vk_fileio.h"

_Thread_local uint64_t vk_fileio_syscalls;

/* read(2), EINTR retried, counted. */
static ssize_t read_once(int fd, void *buf, size_t n)
{
	ssize_t r;

	do {
		vk_fileio_syscalls++;
		r = read(fd, buf, n);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

const char *vk_file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFDIR:
		return "directory";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	case S_IFLNK:
		return "symlink";
	default:
		return "unknown type";
	}
}

int vk_fd_check_regular(int fd, const char *shown, struct vk_error *err)
{
	struct stat st;

	vk_fileio_syscalls++;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		return vk_error_set(err, e, "%s: fstat: %s", shown, strerror(e));
	}
	if (!S_ISREG(st.st_mode))
		return vk_error_set(err, EINVAL, "%s: not a regular file (%s)", shown, vk_file_type_name(st.st_mode));
	return 0;
}

ssize_t vk_read_fd(int fd, char *buf, size_t len, unsigned flags)
{
	size_t n = 0;

	if (len == 0)
		return -EINVAL;
	while (n < len - 1) {
		ssize_t r = read_once(fd, buf + n, len - 1 - n);
		if (r < 0)
			return r;
		if (r == 0)
			goto done;
		n += (size_t)r;
	}
	/* Full.  sysfs hands out a whole attribute in the first read, so one
	 * more read (of one byte) tells whether there is more than fits. */
	if (!(flags & VK_READ_TRUNCATE)) {
		char c;
		ssize_t r = read_once(fd, &c, 1);
		if (r < 0)
			return r;
		if (r > 0)
			return -EFBIG;
	}
done:
	buf[n] = '\0';
	return (ssize_t)n;
}

int vk_read_fd_alloc(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = max < 8192 ? max : 8192, n = 0;
	_cleanup_free_ char *buf = NULL;

	*out = NULL;
	*len = 0;
	if (max > SIZE_MAX / 2 - 2)
		return -EINVAL;
	buf = malloc(cap + 2);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap == max) {
				/* at the cap: is there one byte more? */
				ssize_t r = read_once(fd, buf + n, 1);
				if (r < 0)
					return (int)r;
				if (r > 0)
					return -EFBIG;
				break;
			}
			size_t nc = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, nc + 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = nc;
		}
		ssize_t r = read_once(fd, buf + n, cap - n);
		if (r < 0)
			return (int)r;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	*out = TAKE_PTR(buf);
	return 0;
}

/* Open @path for reading; unless @flags has VK_READ_ANY_TYPE, without blocking and only a regular file. */
static int open_for_read(const char *path, unsigned flags, struct vk_error *err)
{
	int fd, r;

	if (flags & VK_READ_ANY_TYPE)
		fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	else
		fd = open(path, VK_READ_OPEN_FLAGS);
	if (fd < 0) {
		int e = errno;
		return vk_error_set(err, e, "%s: %s", path, strerror(e));
	}
	if (!(flags & VK_READ_ANY_TYPE) && (r = vk_fd_check_regular(fd, path, err)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

ssize_t vk_read_path(const char *path, unsigned flags, char *buf, size_t len, struct vk_error *err)
{
	_cleanup_close_ int fd = open_for_read(path, flags & ~VK_READ_ANY_TYPE, err);
	ssize_t n;

	if (len)
		buf[0] = '\0';
	if (fd < 0)
		return fd;
	n = vk_read_fd(fd, buf, len, flags);
	if (n == -EFBIG)
		return vk_error_set(err, EFBIG, "%s: larger than %zu bytes", path, len ? len - 1 : 0);
	if (n < 0)
		return vk_error_set(err, (int)-n, "%s: read: %s", path, strerror((int)-n));
	return n;
}

int vk_read_path_alloc(const char *path, unsigned flags, size_t max, char **out, size_t *len,
                       struct vk_error *err)
{
	_cleanup_close_ int fd = open_for_read(path, flags, err);
	int r;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return fd;
	r = vk_read_fd_alloc(fd, max, out, len);
	if (r == -EFBIG)
		return vk_error_set(err, EFBIG, "%s: larger than %zu bytes", path, max);
	if (r < 0)
		return vk_error_set(err, -r, "%s: read: %s", path, strerror(-r));
	return 0;
}
