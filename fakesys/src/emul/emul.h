/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_EMUL_H
#define VFIOKIT_EMUL_H

/*
 * The emulated kernel behind fakesys's stand-in device nodes: VFIO's legacy
 * container and group files, VFIO device files (from a group or the device
 * cdev) and iommufd (docs/architecture.md, "VFIO emulation").
 *
 * A pure state machine: it owns no process and makes no system call on
 * anybody's behalf.  What it needs from the world comes through a struct
 * emul_env per call: the caller's memory (copy_from_user/copy_to_user), its
 * file descriptors (fget, fd_install), its eventfds and its credentials.  The
 * host's facts (which driver a device is bound to, its group, config space,
 * BARs, the IOMMU) are read from the served tree at the moment of each call,
 * so a sysfs write (unbind, driver_override, bind) changes what the next
 * ioctl answers.  fakesys run drives it from seccomp user notifications
 * (run/seccomp_notify.c); the tests drive it in-process.
 *
 * Every entry point returns what the kernel's would: a value >= 0, or -errno.
 * Not thread-safe: one caller (the supervisor thread) at a time.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfiokit/error.h>

struct vk_root;
struct emul;
struct emul_file;

/* What an open file description is, as the kernel's f_op would say. */
enum emul_kind {
	EMUL_CONTAINER = 1, /* /dev/vfio/vfio */
	EMUL_GROUP,         /* /dev/vfio/<group> */
	EMUL_DEVICE,        /* anon_inode:[vfio-device] from VFIO_GROUP_GET_DEVICE_FD */
	EMUL_CDEV,          /* /dev/vfio/devices/vfioN */
	EMUL_IOMMUFD,       /* /dev/iommu */
};

/* The caller's credentials, as far as VFIO and iommufd look at them. */
struct emul_creds {
	uid_t uid;              /* real uid: iommufd's per-user accounting */
	pid_t tgid;             /* the mm: type1's and iommufd's per-process accounting */
	uint64_t memlock_limit; /* RLIMIT_MEMLOCK soft limit in bytes (UINT64_MAX: unlimited) */
	uint64_t locked_bytes;  /* what the mm already has locked (VmLck: mlock()) */
	bool cap_ipc_lock;      /* capable(CAP_IPC_LOCK): pinning is not accounted */
	bool cap_sys_resource;  /* capable(CAP_SYS_RESOURCE): IOMMU_OPTION_RLIMIT_MODE */
	bool cap_sys_rawio;     /* capable(CAP_SYS_RAWIO): no-IOMMU groups */
};

/*
 * The world of one call.  Every callback gets @ctx.  Memory callbacks return
 * 0 or -EFAULT (a partial copy is a fault, as copy_*_user makes it).
 */
struct emul_env {
	void *ctx;
	int (*read_mem)(void *ctx, uint64_t addr, void *buf, size_t len);
	int (*write_mem)(void *ctx, uint64_t addr, const void *buf, size_t len);
	/* fget(): the emulated file behind the caller's FD @fd (a new reference,
	 * dropped with emul_file_put()); *out = NULL for an open FD that is no
	 * emulated file; -EBADF when @fd is not open. */
	int (*get_file)(void *ctx, int fd, struct emul_file **out);
	/* get_unused_fd_flags(O_CLOEXEC) + fd_install(): give the caller a new FD
	 * for @f, shown as @name; the FD holds a new reference on @f.  The return
	 * value is the call's answer (the call is then complete): the FD number,
	 * or -errno when it could not be installed. */
	int (*install_file)(void *ctx, struct emul_file *f, const char *name);
	/* eventfd_ctx_fdget(): a handle (an FD of the caller of emul_*, closed by
	 * the emulation) on the caller's eventfd @fd; -EBADF, or -EINVAL when @fd
	 * is no eventfd. */
	int (*get_eventfd)(void *ctx, int fd);
	int (*creds)(void *ctx, struct emul_creds *out);
	/* Drop every emulated file no process holds any more (closes the kernel
	 * would have seen); returns how many.  Called only where an answer
	 * depends on files being open (EBUSY/EINVAL/ENOMEM), then checked again.
	 * May be NULL. */
	int (*gc)(void *ctx);
};

/* Options of emul_new(). */
struct emul_opts {
	/* Read the host from this tree (a FUSE mount, a materialized dir, "/"
	 * in no case: the emulation never looks at the real host). */
	struct vk_root *root;
};

int emul_new(const struct emul_opts *o, struct emul **out, struct vk_error *err);
/* Frees everything, including files still referenced (closes their eventfds). */
void emul_free(struct emul *e);

/*
 * emul_open_standin() - what open(2) of a stand-in node does in the kernel.
 * @content: the stand-in's content ("VFIOKIT-STANDIN-CHRDEV <maj>:<min>\n").
 * @oflags:  the open flags (O_ACCMODE matters: reads and writes check it).
 * Classifies the node by its device number against the tree (the misc vfio
 * and iommu minors, sys/class/vfio/<group>/dev, sys/class/vfio-dev/vfioN/dev)
 * and applies the open's checks: a second open of a group, or one while a
 * device of the group is bound through its cdev, is -EBUSY
 * (drivers/vfio/group.c vfio_group_fops_open()); a cdev of a device no longer
 * on a VFIO driver -ENODEV (device_cdev.c vfio_device_fops_cdev_open()).
 * Returns 0 and a file with one reference, -ENODEV for a number nothing
 * answers to (the kernel's chrdev_open() gives -ENXIO/-ENODEV), or -errno.
 */
int emul_open_standin(struct emul *e, const struct emul_env *env, const char *content, int oflags,
                      struct emul_file **out);

struct emul_file *emul_file_get(struct emul_file *f);
/* The last reference is the kernel's release(): a group leaves its container,
 * a device file unbinds from iommufd, an iommufd frees its objects. */
void emul_file_put(struct emul *e, struct emul_file *f);
enum emul_kind emul_file_kind(const struct emul_file *f);
/* A device file reads and writes go to: a device FD, or a cdev bound to iommufd. */
bool emul_file_rw_ready(const struct emul_file *f);
/* The PCI device of an EMUL_DEVICE/EMUL_CDEV file, the group number of a group, "" else. */
const char *emul_file_name(const struct emul_file *f);

/* ioctl(2) on @f: the return value or -errno. */
long emul_ioctl(struct emul *e, const struct emul_env *env, struct emul_file *f, unsigned int cmd, uint64_t arg);
/* pread(2)/pwrite(2) on @f with a buffer of ours (the mechanism copies it). */
ssize_t emul_rw(struct emul *e, const struct emul_env *env, struct emul_file *f, void *buf, size_t count,
                uint64_t pos, bool write);

/* ---- introspection, for tests and the access log -------------------------------- */

/* Bytes pinned for DMA and charged to @uid's (per-user) and @tgid's (per-mm) locked memory. */
uint64_t emul_locked_user(const struct emul *e, uid_t uid);
uint64_t emul_locked_mm(const struct emul *e, pid_t tgid);
/* Writes a device's BARs received (count), and the last one. */
struct emul_bar_write {
	unsigned bar;
	uint64_t offset;
	uint64_t value;
	unsigned size;
};
unsigned long emul_bar_writes(const struct emul *e, const char *bdf, struct emul_bar_write *last);
/* How many times a device was reset (function or bus reset). */
unsigned emul_resets(const struct emul *e, const char *bdf);
/* The name of ioctl number @cmd on a file of @kind ("VFIO_GROUP_GET_STATUS"),
 * NULL when unknown there (the numbers repeat across kinds). */
const char *emul_ioctl_name(enum emul_kind kind, unsigned int cmd);

#endif
