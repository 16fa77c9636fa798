/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to the FUSE server: the fault table, the access log, and the
 * kernel-like mutations of the host model (faults.c, access_log.c, live.c). */
#ifndef VFIOKIT_FAKESYS_LIVE_INTERNAL_H
#define VFIOKIT_FAKESYS_LIVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <vfiokit/fakesys_live.h>
#include <vfiokit/host_model.h>

/* ---- faults (faults.c) ---- */

struct fault_ent {
	struct vk_fakesys_fault f;
	uint64_t seen;  /* matching accesses so far */
	uint64_t *inos; /* sorted: the nodes the pattern names through symlinks */
	size_t n_inos;
};

/* Expand @pattern on the served tree: the inodes it names when directory
 * symlinks on the way are followed (sys/bus/pci/devices/X/config is the
 * config file under sys/devices/...).  Sets *@inos (sorted, malloc'd). */
typedef int (*fault_expand_fn)(void *ctx, const char *pattern, uint64_t **inos, size_t *n);

/* The faults in force; every function is thread-safe. */
struct fault_table {
	pthread_mutex_t mu;
	struct fault_ent *v;
	size_t n, cap;
	_Atomic unsigned ops; /* union of the ops of all faults: the fast path reads only this */
	_Atomic bool steps;   /* a step was ever added (steps are never cleared) */
};

void fault_table_init(struct fault_table *t);
void fault_table_destroy(struct fault_table *t);

/* Add a copy of @f.  Returns 0 or -ENOMEM. */
int fault_table_add(struct fault_table *t, const struct vk_fakesys_fault *f);

/* Recompute every fault's inode set with @fn (after a change of the tree). */
void fault_table_expand(struct fault_table *t, fault_expand_fn fn, void *ctx);

/* Remove the faults (not the steps) whose pattern is @path (all when NULL);
 * returns how many. */
size_t fault_table_clear(struct fault_table *t, const char *path);

/* Whether the table has steps (cheap, no lock). */
static inline bool fault_table_has_steps(struct fault_table *t)
{
	return atomic_load_explicit(&t->steps, memory_order_relaxed);
}

/* Whether any fault may apply to @op (cheap, no lock). */
static inline bool fault_table_has(struct fault_table *t, unsigned op)
{
	return atomic_load_explicit(&t->ops, memory_order_relaxed) & op;
}

/**
 * fault_table_check() - count one access @op of @path (inode @ino, 0 for a
 * name that does not exist) against every matching fault: one whose pattern
 * matches @path, or names @ino through symlinks.  Steps that fire put their
 * commands (one per line, malloc'd; NULL when none) in *@step.  Returns the errno to fail with (0: none) and sets *@delay_ms to the
 * longest delay of the faults that fire.
 */
int fault_table_check(struct fault_table *t, unsigned op, const char *path, uint64_t ino, uint32_t *delay_ms,
                      char **step);

/* Whether a fault with an op in @ops matches @path or @ino (nothing is counted). */
bool fault_table_matches(struct fault_table *t, unsigned ops, const char *path, uint64_t ino);

/* The faults as text, one per line ("PATH OP ERRNO nth=.. times=.. delay=.. seen=.."). */
char *fault_table_list(struct fault_table *t);

/* ---- the access log (access_log.c) ---- */

struct access_log {
	pthread_mutex_t mu;
	FILE *f;
	_Atomic bool on;
	uint64_t seq;
};

/**
 * output_file_open() - open a file fakesys writes for its caller (the access
 * log, a PID file): created 0644, never through a symlink, and only a regular
 * file: a FIFO (or a device) in its place would block the server or the caller
 * forever, so it is refused at once with -EINVAL.  @flags adds O_APPEND or
 * O_TRUNC.  Returns the FD or -errno.
 */
int output_file_open(const char *path, int flags);

/* Is @path, if it exists, something output_file_open() would refuse?  0 or -EINVAL.
 * Checked before mounting, so that a bad path leaves no mount behind. */
int output_file_check(const char *path);

/* Open @path for appending (created 0644, a regular file only).  Returns 0 or -errno. */
int access_log_open(struct access_log *l, const char *path);
void access_log_close(struct access_log *l);

/**
 * access_log_write() - one JSON line: seq, time, pid, uid, op, path, and for
 * open the flags ("O_RDWR|O_NONBLOCK"), errno (null on success), and @extra
 * (offset/size for read/write, may be NULL).
 */
void access_log_write(struct access_log *l, int pid, unsigned uid, const char *op, const char *path,
                      int flags, int err, long long off, long long size);

/* One "ioctl" line (the VFIO emulation's report, control.c): the call's @name
 * ("VFIO_GROUP_GET_STATUS") in "ioctl". */
void access_log_ioctl(struct access_log *l, int pid, unsigned uid, const char *path, const char *name, int err);

/* ---- kernel-like mutations of the host model (live.c) ---- */

/* The most a sysfs store is handed of one write (PAGE_SIZE on x86-64 and
 * arm64 with 4K pages; fs/kernfs/file.c kernfs_fop_write_iter()). */
#define SYSFS_PAGE_SIZE 4096

/*
 * Each returns 0 when the model changed (the caller rebuilds the tree), 1 when
 * the write succeeded without a change, or a negative errno as the kernel
 * would return it, with the reason in @err.  @buf/@len are what kernfs hands
 * a store: at most SYSFS_PAGE_SIZE bytes written, with a NUL after them, so
 * that @buf is a C string ending at the first NUL written; @len counts them
 * all (driver_override checks it before it looks at the string).
 */
int live_bind(struct vk_host_model *m, const char *driver, const char *buf, size_t len, struct vk_error *err);
int live_unbind(struct vk_host_model *m, const char *driver, const char *buf, size_t len, struct vk_error *err);
int live_driver_override(struct vk_host_model *m, const struct vk_pci_addr *a, const char *buf, size_t len,
                         struct vk_error *err);
int live_drivers_probe(struct vk_host_model *m, const char *buf, size_t len, struct vk_error *err);
int live_remove(struct vk_host_model *m, const struct vk_pci_addr *a, const char *buf, size_t len, struct vk_error *err);
int live_new_id(struct vk_host_model *m, const char *driver, const char *buf, size_t len, struct vk_error *err);
int live_remove_id(struct vk_host_model *m, const char *driver, const char *buf, size_t len, struct vk_error *err);
int live_sriov_numvfs(struct vk_host_model *m, const struct vk_pci_addr *a, const char *buf, size_t len,
                      struct vk_error *err);

/* Control-channel forms: bind regardless of ids (unbinding first), unbind
 * from whatever driver, remove. */
int live_force_bind(struct vk_host_model *m, const struct vk_pci_addr *a, const char *driver, struct vk_error *err);
int live_force_unbind(struct vk_host_model *m, const struct vk_pci_addr *a, struct vk_error *err);

#endif
