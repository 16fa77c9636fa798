/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_EMUL_UTIL_H
#define VK_EMUL_UTIL_H

/*
 * The emulated kernel (fakesys/src/emul) driven in-process: a materialized
 * scenario is the host, this process's memory is the caller's (read and
 * written with process_vm_readv/writev on ourselves, so that a bad pointer
 * is the kernel's EFAULT), and "FDs" are numbers of a table here.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "emul.h"
#include "uapi_compat.h"

#define TE_MAX_FILES 64
#define TE_FD_BASE 100 /* table FDs are TE_FD_BASE + index; below it, real FDs of ours */

struct te {
	char dir[4096]; /* the materialized tree */
	struct vk_root *root;
	struct emul *e;
	struct emul_env env;
	struct emul_creds creds; /* what the caller is */
	struct emul_file *files[TE_MAX_FILES];
	bool gc_drops[TE_MAX_FILES]; /* files the next gc finds closed */
	int gc_calls;
	int installs;
};

/* Materialize scenarios/@scenario (tests/emul/data/ for "emul-*") and start an emulation on it. */
void te_setup(struct te *t, const char *scenario);
void te_teardown(struct te *t);

/* open(2) of the stand-in at @rel ("dev/vfio/vfio") with @oflags: a table FD, or -errno. */
int te_open(struct te *t, const char *rel, int oflags);
/* close(2): drops the table's reference now. */
void te_close(struct te *t, int fd);
/* The file behind a table FD. */
struct emul_file *te_file(struct te *t, int fd);
/* Mark @fd as closed by the caller without telling the emulation: only a gc sees it. */
void te_close_behind(struct te *t, int fd);

long te_ioctl(struct te *t, int fd, unsigned long cmd, const void *arg);
long te_ioctl_v(struct te *t, int fd, unsigned long cmd, uint64_t arg);
ssize_t te_pread(struct te *t, int fd, void *buf, size_t n, uint64_t pos);
ssize_t te_pwrite(struct te *t, int fd, const void *buf, size_t n, uint64_t pos);

/* Edit the tree: the device's driver link (NULL: unbind). */
void te_set_driver(struct te *t, const char *bdf, const char *driver);

/* Common sequences: a container with @groupfd set and type1v2; the device FD. */
int te_container_for(struct te *t, int groupfd);
int te_device_fd(struct te *t, int groupfd, const char *bdf);

/* An address no mapping covers (for EFAULT). */
#define TE_BAD_PTR ((const void *)(uintptr_t)8)

#endif
