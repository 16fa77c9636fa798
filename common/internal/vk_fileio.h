/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_FILEIO_H
#define VFIOKIT_FILEIO_H

/*
 * The one reader of files that vfiokit did not write: sysfs attributes, procfs
 * files, an .args file, a child's output.  An internal static library (hidden
 * symbols, position-independent) linked PRIVATE into the libraries; the
 * resolver's vk_root_read() opens through a struct vk_root and reads with it,
 * and the doctor and the validator read host trees through that one.
 *
 * What it guarantees:
 * - an open never blocks: VK_READ_OPEN_FLAGS has O_NONBLOCK, so a FIFO with no
 *   writer opens at once (fs/pipe.c fifo_open(): a reader with O_NONBLOCK does
 *   not wait_for_partner()) instead of waiting forever, and O_NOCTTY, so a
 *   terminal planted in a tree never becomes the controlling terminal;
 * - only a regular file is read unless the caller says otherwise (sysfs
 *   attributes and procfs files are regular files; a FIFO, socket, device or
 *   directory in their place is refused with -EINVAL and "<path>: not a regular
 *   file (fifo)");
 * - a size cap: a fixed buffer or a maximum, -EFBIG past it (or the first
 *   bytes with VK_READ_TRUNCATE), so a huge or endless file costs no more than
 *   the cap.
 */

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfiokit/error.h>

/* open(2) flags of a file that is only read (see above). */
#define VK_READ_OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

enum {
	/* Keep the first bytes of a file longer than the buffer instead of -EFBIG. */
	VK_READ_TRUNCATE = 1u << 0,
	/* Accept a FIFO, a pipe, a character device (a file the user named on the
	 * command line, e.g. --args-file <(...)): opened blocking, read to the cap. */
	VK_READ_ANY_TYPE = 1u << 1,
};

/* read(2) calls made by the readers in this thread (the resolver adds them to
 * vk_resolver_syscall_count()). */
extern _Thread_local uint64_t vk_fileio_syscalls;

/* "regular file", "directory", "fifo", "socket", "character device", "block device", "symlink", "unknown type". */
const char *vk_file_type_name(mode_t mode);

/**
 * vk_fd_check_regular() - 0 when @fd is a regular file.
 * @shown: the path for the message.
 * Returns -EINVAL with "<shown>: not a regular file (fifo)", or -errno of fstat().
 */
int vk_fd_check_regular(int fd, const char *shown, struct vk_error *err);

/**
 * vk_read_fd() - read @fd to its end into @buf, NUL-terminated.
 * @len:   size of @buf (> 0); at most @len - 1 bytes are kept.
 * @flags: VK_READ_TRUNCATE.
 * Returns the length, -EFBIG when there is more than fits (without
 * VK_READ_TRUNCATE), -errno of read() (EINTR is retried).
 */
ssize_t vk_read_fd(int fd, char *buf, size_t len, unsigned flags);

/**
 * vk_read_fd_alloc() - read @fd to its end into a malloc'd buffer.
 * @max: the most bytes taken; one more byte means -EFBIG.
 * @out: receives the buffer, NUL-terminated, with room for one more byte; free().
 * @len: receives the length.
 * Returns 0, -EFBIG, -ENOMEM, -errno of read().  Memory grows with what was
 * read (doubling), never with @max.
 */
int vk_read_fd_alloc(int fd, size_t max, char **out, size_t *len);

/**
 * vk_read_path() - open @path (VK_READ_OPEN_FLAGS), check it is a regular file,
 *                  read it into @buf as vk_read_fd().
 * Returns the length or -errno, with "<path>: ..." in @err.
 */
ssize_t vk_read_path(const char *path, unsigned flags, char *buf, size_t len, struct vk_error *err);

/**
 * vk_read_path_alloc() - vk_read_fd_alloc() of @path.
 * @flags: VK_READ_ANY_TYPE to accept what is not a regular file.
 * Returns 0 or -errno, with "<path>: ..." in @err.
 */
int vk_read_path_alloc(const char *path, unsigned flags, size_t max, char **out, size_t *len,
                       struct vk_error *err);

#endif
