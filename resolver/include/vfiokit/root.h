/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_ROOT_H
#define VFIOKIT_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfiokit/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A root directory inside which every path of the resolver is looked up.
 *
 * The root is opened once as a directory FD.  Lookups use openat2() with
 * RESOLVE_IN_ROOT: ".." at the root stays at the root and an absolute symlink
 * target restarts at the root, so nothing in the tree (a fake host, a hostile
 * one) can lead a lookup outside it.  Where the kernel lacks openat2() (ENOSYS,
 * before 5.6) a fallback walks the path one component at a time with
 * O_NOFOLLOW, expanding symlinks itself with the same semantics.
 */
struct vk_root;

/* Flags for vk_root_open(). */
enum {
	/* Never use openat2(); always walk components (tests both paths on one kernel). */
	VK_ROOT_NO_OPENAT2 = 1u << 0,
};

/**
 * vk_root_open() - open @path as the root of all later lookups.
 * @path:  a directory ("/" for the real host); NULL means "/".
 * @flags: VK_ROOT_* flags.
 * @out:   receives the root; free with vk_root_close().
 * @err:   receives the reason on failure (may be NULL).
 *
 * Returns 0, or -errno: -ENOENT/-ENOTDIR/-EACCES when @path cannot be opened as
 * a directory, -ENOMEM.
 */
int vk_root_open(const char *path, unsigned flags, struct vk_root **out, struct vk_error *err);

/* Close the root's FD and free it; NULL is allowed. */
void vk_root_close(struct vk_root *root);

/* The root's directory FD (owned by the root; O_CLOEXEC). */
int vk_root_fd(const struct vk_root *root);

/* The path the root was opened with, without a trailing slash ("" for "/"). */
const char *vk_root_prefix(const struct vk_root *root);

/* True when lookups use openat2() (false when the kernel lacks it or it was disabled). */
bool vk_root_uses_openat2(const struct vk_root *root);

/**
 * vk_root_openat() - open @rel (relative to the root; a leading '/' is allowed)
 *                    with symlinks resolved inside the root.
 * @flags: open(2) flags; O_CLOEXEC is always added.  No O_CREAT.
 *
 * Returns an FD, or -errno of the failing step (-ENOENT, -ELOOP after 40
 * symlinks, -EACCES, ...).
 */
int vk_root_openat(const struct vk_root *root, const char *rel, int flags);

/**
 * vk_root_openat_nofollow() - open @rel below directory @dirfd with no symlink
 *                             anywhere in @rel and no ".." component.
 * @dirfd: a directory FD obtained from the same root.
 *
 * For sysfs attributes, which are never symlinks: a symlink planted in their
 * place fails with -ELOOP instead of being followed.  Returns an FD or -errno.
 */
int vk_root_openat_nofollow(const struct vk_root *root, int dirfd, const char *rel, int flags);

/**
 * vk_root_open_regular() - open a file of the tree for reading, as
 *                          vk_root_read() does, for a caller that reads it
 *                          in pieces (a long /proc file).
 * @dirfd, @rel, @err: as vk_root_read().
 * Returns an FD (O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC) of a regular file, or
 * -errno as vk_root_read().
 */
int vk_root_open_regular(const struct vk_root *root, int dirfd, const char *rel, struct vk_error *err);

/* Flags for vk_root_read(). */
enum {
	/* Keep the first @len - 1 bytes of a longer file instead of failing with -EFBIG. */
	VK_ROOT_READ_TRUNCATE = 1u << 0,
};

/**
 * vk_root_read() - read a whole file of the tree: the one reader of sysfs
 *                  attributes and procfs files for the resolver, the validator
 *                  and the doctor.
 * @dirfd: -1: @rel is relative to the root, symlinks resolved inside it
 *         (vk_root_openat()); else a directory FD of the same root, below
 *         which @rel is opened with no symlink and no ".."
 *         (vk_root_openat_nofollow(), for attributes).
 * @flags: VK_ROOT_READ_* flags.
 * @buf, @len: receive the content, NUL-terminated (at most @len - 1 bytes).
 * @err:   receives "<path>: <why>" (may be NULL); the path is the one a user
 *         would type, or @rel when @dirfd is given.
 *
 * The file is opened O_RDONLY|O_NONBLOCK|O_NOCTTY, so that a FIFO (or a
 * terminal) in the tree never blocks the open, and is read only if it is a
 * regular file, as every sysfs attribute and procfs file is.
 *
 * Returns the length, or -errno of the open (-ENOENT, -ELOOP for a symlink
 * where @dirfd forbids one, ...), -EINVAL with "<path>: not a regular file
 * (fifo)" for anything but a regular file, -EFBIG when the file is larger than
 * @len - 1 bytes (without VK_ROOT_READ_TRUNCATE), -errno of read().
 */
ssize_t vk_root_read(const struct vk_root *root, int dirfd, const char *rel, unsigned flags, char *buf, size_t len,
                     struct vk_error *err);

/* "<prefix>/<rel>" into @buf: the path a user would type on this machine. */
const char *vk_root_path(const struct vk_root *root, const char *rel, char *buf, size_t len);

/*
 * Number of system calls the resolver library has made in this thread
 * (openat2/openat, read, readlinkat, fstat, getdents, close ...).  The
 * benchmark uses it to show that a lookup's cost does not grow with the number
 * of devices on the host.
 */
uint64_t vk_resolver_syscall_count(void);

#ifdef __cplusplus
}
#endif

#endif
