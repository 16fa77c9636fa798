/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_RESOLVER_INTERNAL_H
#define VFIOKIT_RESOLVER_INTERNAL_H

#include <fcntl.h>
#include <stdbool.h>
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

static inline int vk__fstatat(int dirfd, const char *p, struct stat *st, int flags)
{
	vk__count();
	return fstatat(dirfd, p, st, flags);
}

static inline ssize_t vk__readlinkat(int dirfd, const char *p, char *buf, size_t n)
{
	vk__count();
	return readlinkat(dirfd, p, buf, n);
}

/* Strict "<major>:<minor>\n" as the kernel's `dev` attributes; 0 or -EINVAL. */
int vk__parse_majmin(const char *s, unsigned *maj, unsigned *min);

struct vk_pci_addr;
struct vk_pci_dev_facts;
struct vk_error;
struct vk_root;

/* facts.c: @f zeroed for @addr, every number "unknown". */
void vk__facts_init(struct vk_pci_dev_facts *f, const struct vk_pci_addr *addr);

/* facts.c: list the vfio-dev/ directory @dirfd: exactly one "vfio<digits>"
 * directory gives f->cdev_name; anything else f->cdev_state
 * VK_VFIO_CDEV_BAD_ENTRIES with what is there.  0 or -errno of getdents64. */
int vk__scan_vfio_dev(int dirfd, struct vk_pci_dev_facts *f);

/* lean.c: vk_vfio_device_open()'s success path in the fewest system calls,
 * for callers that want the FD and not the facts.  The FD; -EAGAIN when
 * anything is not as on a healthy host (the full path then explains); or,
 * with @err set, the -errno of a device that went away while it was being
 * opened (as the full path reports it). */
int vk__device_open_lean(const struct vk_root *root, const struct vk_pci_addr *addr, long *group, char *node_path,
                         size_t len, struct vk_error *err);

/* open.c: the diagnosis of a failed open(2) of a node (@have_stat: the
 * node's owner and mode are known); -@e. */
int vk__open_error(const struct vk_root *root, const char *bdf, const char *what, const char *rel, int e,
                   bool have_stat, uid_t uid, gid_t gid, mode_t mode, long group, struct vk_error *err);

/* open.c: "went away between lookup and open": @rel (the `dev` attribute)
 * failed with @e (0: it changed) after @node was opened.  -ENODEV. */
int vk__went_away(const struct vk_root *root, const char *bdf, const char *rel, int e, const char *node,
                  struct vk_error *err);

/* errno name ("EACCES") with a fallback for unknown values. */
const char *vk__errname(int e);

#endif
