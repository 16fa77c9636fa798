/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_RESOLVER_INTERNAL_H
#define VFIOKIT_RESOLVER_INTERNAL_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* Per-thread count of the library's system calls (see vk_resolver_syscall_count()). */
extern _Thread_local uint64_t vk__syscalls;

static inline void vk__count(void)
{
	vk__syscalls++;
}

/* Counted wrappers: every syscall of the library goes through one of these. */
static inline ssize_t vk__read(int fd, void *buf, size_t n)
{
	vk__count();
	return read(fd, buf, n);
}

static inline ssize_t vk__pread(int fd, void *buf, size_t n, off_t off)
{
	vk__count();
	return pread(fd, buf, n, off);
}

static inline int vk__close(int fd)
{
	vk__count();
	return close(fd);
}

static inline int vk__fstat(int fd, struct stat *st)
{
	vk__count();
	return fstat(fd, st);
}

static inline ssize_t vk__readlinkat(int dirfd, const char *p, char *buf, size_t n)
{
	vk__count();
	return readlinkat(dirfd, p, buf, n);
}

/* Strict "<major>:<minor>\n" as the kernel's `dev` attributes; 0 or -EINVAL. */
int vk__parse_majmin(const char *s, unsigned *maj, unsigned *min);

/* errno name ("EACCES") with a fallback for unknown values. */
const char *vk__errname(int e);

#endif
