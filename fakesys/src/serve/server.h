/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the FUSE server's files share: the served filesystem (struct fs), its
 * per-request bookkeeping and the calls between its concerns:
 *   serve/fuse_ops.c     the FUSE operations (requests, faults, the access log)
 *   serve/snap.c         a served tree's link counts; what changed, what is page-cached; per-reader files, the kernel's link cache
 *   serve/fuse_ro.c      statfs and the operations a read-only tree refuses
 *   serve/invalidate.c   naming nodes by pattern, invalidating the kernel's caches
 *   live/control.c       kernel-like writes, rebuilds, the control channel, steps
 *   live/inplace.c       a write's change made in place rather than by a rebuild
 *   serve/mount.c        mounting, the daemon
 *   serve/umount.c       unmounting: the mount's server verified, its users named
 *   serve/delay.c        a fault's delay and what ends it early; signals
 */
#ifndef FAKESYS_SERVE_SERVER_H
#define FAKESYS_SERVE_SERVER_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_tree.h>

#include "live/live.h"

#define CACHE_TIMEOUT (365.0 * 24 * 3600)

/* The control channel: a directory and a file outside the tree, with inode
 * numbers no tree reaches. */
#define CTL_DIR_NAME ".fakesys"
#define CTL_FILE_NAME "control"
#define CTL_DIR_INO (UINT64_MAX - 1)
#define CTL_FILE_INO (UINT64_MAX - 2)

/* One served tree with its per-inode link counts. */
struct snap {
	struct vtree *t;
	uint32_t *nlink; /* by inode - 1: 2 + subdirectories for a directory, else 1 */
	uint64_t cap;    /* entries of @nlink */
	bool owned;      /* freed by the server (trees it built) */
};

/* A change to the model or the tree, for the control channel's "chmod" and
 * "set": re-applied to every rebuilt tree. */
struct override {
	char *path;
	bool is_mode;
	uint32_t mode;
	char *value;
	size_t len;
};

/* The head of every per-open allocation (fi->fh): a listing, a file, the
 * control file.  @dtor frees it (NULL: free() of the handle alone). */
struct open_handle {
	struct open_handle *prev, *next;
	void (*dtor)(struct open_handle *h);
};

struct fs {
	pthread_rwlock_t lock; /* readers: requests using nodes; writer: the swap */
	struct snap cur;
	struct timespec mounted; /* every timestamp of the tree */
	bool live;
	bool kernel_opens; /* live, with no OPEN/OPENDIR requests (vk_fakesys_mount_opts.kernel_opens) */
	bool log_lookups;  /* zero timeouts: every lookup reaches the server (and the log) */
	struct fault_table faults;
	struct access_log log;
	bool have_log;
	struct vk_host_model *model; /* NULL: no kernel-like mutations */
	pthread_mutex_t model_mu;    /* serialises mutations and rebuilds */
	struct override *ovr;
	size_t n_ovr;
	struct fuse_session *se;
	pthread_mutex_t ctl_mu;
	/* Per-open snapshots not released yet: freed at the end if the kernel
	 * never sends their release (clients killed, a lazy unmount). */
	pthread_mutex_t open_mu;
	struct open_handle *open_list;
	char *last_result; /* of the last control command, for a reader with none of its own */
	/* Invalidations a step made inside a request: sent by a thread of their
	 * own, since the request may hold a directory lock the kernel needs. */
	pthread_t notifier;
	bool notifier_on, srv_notifier_stop;
	pthread_mutex_t nq_mu;
	pthread_cond_t nq_cond;
	struct invals *nq; /* queued batches */
	size_t nq_n, nq_cap;
	uid_t owner;
	gid_t owner_gid;
	/* Set at init (fuse_ops.c op_init()): opens reach the server even in the
	 * fast mode, since some reader may get less of a file than another (PCI
	 * config space); a link may report st_size 0 as kernfs's do. */
	bool per_reader;
	bool links_size_zero;
	/* Live mode: the kernel keeps link targets in its page cache
	 * (FUSE_CAP_CACHE_SYMLINKS), invalidated when they change. */
	bool cache_links;
	/*
	 * Nodes whose content or listing has changed since the mount, a bit
	 * by inode (inodes are never reused), written under the tree lock for
	 * writing.  Their opens stay out of the kernel's page and readdir
	 * caches from then on: an open taken before the change reads its own
	 * snapshot and may refill the cache with the old bytes after the
	 * invalidation; only opens that go around the cache are sure to see
	 * what is current (see op_open()).
	 */
	uint8_t *changed;
	size_t changed_bytes;
	bool live_nocache; /* @changed could not be kept: every node counts as changed */
	/* Bytes of the tree's arena the in-place updates left unused since it
	 * was built (replaced contents, nodes taken out): a rebuild hands them back. */
	size_t inplace_bytes;
	/* The small tree of the device the last in-place change was about,
	 * after it (live/inplace.c): the next write to that device, with no
	 * change in between (@gen counts them), starts from it. */
	struct vtree *last_after;
	struct vk_pci_addr last_seed;
	uint64_t gen, last_gen;
	/*
	 * Files opened through the page cache, a bit by inode (set under the
	 * read lock with an atomic OR; room for every inode is made under the
	 * write lock, srv_paged_reserve()).  From their first such open they
	 * report their content's length as st_size, which the kernel's first
	 * short read would make their i_size anyway (fuse_short_read()); a
	 * getattr answering the kernfs size again would set i_size back above
	 * the cached page's bytes, and a read racing with it returns the
	 * page's zero fill (fs/fuse/file.c fuse_read_update_size() keeps the
	 * newer attributes).
	 */
	uint8_t *paged;
	size_t paged_bytes;
	/* Delayed requests wait on delay_cond until their deadline, a "fault
	 * clear" (delay_gen changes), or for good (delays_off): serve/delay.c. */
	pthread_mutex_t delay_mu;
	pthread_cond_t delay_cond;
	uint64_t delay_gen;
	bool delays_off;
	/* Signals reach a thread of ours through this pipe (serve/delay.c). */
	int sig_pipe[2];
	pthread_t sig_thread;
	bool sig_installed, sig_thread_on;
	_Atomic bool sig_quit;
};

/* Per open of the control file: the result of the commands written through it. */
struct ctl_fh {
	struct open_handle h; /* first: freed through it */
	char *result;
	bool have;
};

/* Invalidations to send to the kernel (serve/invalidate.c). */
struct inval {
	uint64_t parent, ino;
	char *name; /* NULL: the inode @ino (attributes, pages, listing) */
};

struct invals {
	struct inval *v;
	size_t n, cap;
	bool oom;
};

/* serve/snap.c: does any file of @t read differently by reader (PCI config
 * space)?  Does this kernel keep a page-cached link's whole target? */
bool srv_tree_per_reader(struct vtree *t);
bool srv_kernel_keeps_cached_link_targets(void);
/* serve/snap.c: @mtime (the mount's) moved on by the changes made so far,
 * when node @ino changed since the mount (how kernel opens see a write). */
void srv_changed_mtime(struct fs *fs, uint64_t ino, struct timespec *mtime);
/* serve/snap.c: a served tree and its link counts */
void srv_snap_free(struct snap *s);
int srv_snap_make(struct snap *s, struct vtree *t, bool owned);
void srv_open_handle_free(struct fs *fs, struct open_handle *h);
/* Room in @s for @max inodes (before a change in place adds nodes).  0 or -ENOMEM. */
int srv_snap_reserve(struct snap *s, uint64_t max);
/* The link counts of the inodes above @old_max and of the directories @iv
 * names, after a change in place (within the room reserved). */
void srv_snap_refresh(struct snap *s, uint64_t old_max, const struct invals *iv);
/* The node of @ino in the current tree, or NULL; call with fs->lock held. */
struct vk_vt_node *srv_node_of(struct fs *fs, fuse_ino_t ino);
/* Has node @ino changed since the mount (struct fs.changed)?  Call with fs->lock held. */
bool srv_node_changed(struct fs *fs, uint64_t ino);
/* Was file @ino opened through the page cache (struct fs.paged)? */
bool srv_node_paged(struct fs *fs, uint64_t ino);
/* Note an open of @ino through the page cache; false when there is no room
 * (the open then goes around the cache).  Call with fs->lock held. */
bool srv_node_set_paged(struct fs *fs, uint64_t ino);
/* Make room in fs->paged for inodes up to @max_ino; call with fs->lock held
 * for writing (or before serving).  0 or -ENOMEM. */
int srv_paged_reserve(struct fs *fs, uint64_t max_ino);
/* Mark the nodes @iv says changed; call with fs->lock held for writing.  0 or -ENOMEM. */
int srv_mark_changed(struct fs *fs, const struct invals *iv);
/* A stand-in device node (dev/...): opened read-write like the real one. */
bool srv_is_standin(const struct vk_vt_node *n);

/* serve/fuse_ro.c: statfs, and the operations a read-only tree refuses */
void srv_statfs(fuse_req_t req, fuse_ino_t ino);
void srv_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void srv_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void srv_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void srv_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void srv_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
                unsigned int flags);
void srv_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void srv_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi);
void srv_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags);
void srv_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void srv_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi);

/* serve/invalidate.c: what a pattern names (through symlinks), and telling the
 * kernel what changed */
struct vk_vt_node *srv_walk_from(struct vtree *t, struct vk_vt_node *dir, const char *rel, int depth);
int srv_expand_pattern(void *ctx, const char *pattern, uint64_t **inos, size_t *n);
void *srv_notifier_main(void *arg);
void srv_invals_send(struct fs *fs, struct invals *iv);
void srv_on_change(void *ctx, enum vk_vt_change what, uint64_t parent, const char *name, uint64_t ino);
void srv_invalidate_matching(struct fs *fs, const char *pattern);
/* Set while a step runs inside a request (see struct fs, notifier). */
extern __thread bool srv_invals_deferred;
/* The inode whose pages the kernel holds locked until the current request's
 * reply (a write through the page cache, with kernel opens); 0 = none.  Its
 * attributes are invalidated at once, its pages by the notifier. */
extern __thread uint64_t srv_pages_locked;

/* live/control.c: kernel-like writes, the control channel, steps */
bool srv_open_writable(struct fs *fs, const struct vk_vt_node *n);
long srv_live_write(struct fs *fs, fuse_ino_t ino, const char *buf, size_t size, struct vk_error *err);
int srv_ctl_write(struct fs *fs, struct ctl_fh *h, const char *buf, size_t size);
void srv_run_step(struct fs *fs, char *cmds);

/* live/inplace.c: a write's change made in place (see there) */
struct vk_host_model *live_submodel(const struct vk_host_model *m, const struct vk_pci_addr *seeds, size_t n_seeds);
long live_related(const struct vk_host_model *m, const struct vk_pci_addr *seed, struct vk_pci_addr **v);
void live_submodel_free(struct vk_host_model *s);
int live_apply_diff(struct vtree *live, struct vtree *before, struct vtree *after, bool apply, struct invals *iv,
                    size_t *garbage);
bool live_trees_equal(struct vtree *a, struct vtree *b, char *where, size_t len);
extern __thread char live_refused_at[PATH_MAX];

/* serve/mount.c */
void srv_notifier_stop(struct fs *fs);

/* serve/delay.c: a fault's delay, and what ends it early */
int srv_delays_init(struct fs *fs);
void srv_delays_destroy(struct fs *fs);
/* Wait @ms (at most VK_FAKESYS_DELAY_MAX_MS) for request @req (NULL: none):
 * 0 when the time ran out or the delay was ended early, -EINTR when the
 * kernel interrupted the request. */
int srv_delay(struct fs *fs, fuse_req_t req, uint32_t ms);
/* "fault clear": end the delays in progress. */
void srv_delays_wake(struct fs *fs);
/* End the delays in progress and delay nothing from now on. */
void srv_delays_stop(struct fs *fs);
/* Handlers for SIGHUP, SIGINT, SIGTERM (end the session and the delays),
 * SIGUSR1 (an unmount is coming: end the delays) and SIGPIPE (ignored),
 * installed before the mount; the thread that acts on them, started once
 * mounted; both undone by srv_signals_remove(). */
int srv_signals_install(struct fs *fs, struct fuse_session *se);
int srv_signals_start(struct fs *fs);
void srv_signals_remove(struct fs *fs);

/* serve/fuse_ops.c: the operations handed to fuse_session_new() */
extern const struct fuse_lowlevel_ops srv_fs_ops;

#endif
