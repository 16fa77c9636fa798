/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fakesys run: what its files share (docs/architecture.md, "fakesys run"). */
#ifndef VFIOKIT_NS_RUN_INTERNAL_H
#define VFIOKIT_NS_RUN_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "vk_cleanup.h"
#include <vfiokit/error.h>
#include <vfiokit/fakesys_run.h>
#include <vfiokit/vtree.h>

struct run_ctx {
	struct vtree *t;
	char work[PATH_MAX - 16]; /* the scratch directory */
	char mnt[PATH_MAX];       /* work/mnt: the FUSE mount */
	char stage[PATH_MAX];     /* work/stage: a tmpfs inside the namespace while building */
	char ready[PATH_MAX];     /* work/ready: FIFO the server writes its PID to when mounted */
	/* Served without a server: the tree materialized on a tmpfs mounted on
	 * mnt inside the namespace (run_static_wanted()), bound read-only. */
	bool static_tree;
};

static inline int join(char *buf, size_t len, const char *a, const char *b, struct vk_error *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", a, b) >= len)
		return vk_error_set(err, ENAMETOOLONG, "run: path too long: %s/%s", a, b);
	return 0;
}

/* The termination signals the caller forwards to the command. */
static const int run_fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static inline void run_fwd_sigset(sigset_t *s)
{
	sigemptyset(s);
	for (size_t i = 0; i < VK_ARRAY_SIZE(run_fwd_signals); i++)
		sigaddset(s, run_fwd_signals[i]);
}

/* ns_run.c: remove the scratch directory (empty by then); 0 or -errno. */
int run_remove_workdir(const struct run_ctx *c, struct vk_error *err);

/* ns_overlay.c: whether the tree can be served from a tmpfs copy (no server):
 * nothing asks for the server (live mode, a log), and the copy can hold the
 * tree's owners (docs/architecture.md, "How a run serves its tree"). */
bool run_static_wanted(const struct run_ctx *c, const struct vk_fakesys_run_opts *o);

/* ns_overlay.c: in the new mount namespace, for a static tree: mount a tmpfs
 * on c->mnt and materialize the tree there. */
int run_build_static_tree(const struct run_ctx *c, struct vk_error *err);

/* ns_overlay.c: in the new mount namespace, build the new /sys and /dev over
 * the real ones (docs/architecture.md). */
int run_build_overlay(const struct run_ctx *c, struct vk_error *err);

/* ns_overlay.c: in the new PID namespace (its init), mount its own /proc
 * over the host's, bind the tree's proc files over it, and make the host's
 * control files in it read-only. */
int run_build_proc(const struct run_ctx *c, struct vk_error *err);

/* ns_guard.c: the FUSE server and the process that guards it. */
struct run_guard {
	pid_t pid;    /* the guard, the caller's child */
	pid_t server; /* the server, the guard's child (as it wrote to the FIFO) */
	int ctl;      /* the caller's end of the socket to the guard */
};

/* Start the guard and the server; return once the tree is mounted on
 * c->mnt (in the caller's mount namespace). */
int run_guard_start(const struct run_ctx *c, const struct vk_fakesys_run_opts *o, struct run_guard *g,
                    struct vk_error *err);

/* Have the guard end the server and reap it; then reap the guard.  An error
 * when the server ended badly (killed while the command ran, or it had to
 * be killed) or its mount could not be removed. */
int run_guard_stop(const struct run_ctx *c, struct run_guard *g, struct vk_error *err);

/* Detach the host's mount of the tree at @mnt if it is @server's (lazily:
 * the command's namespace holds its own copies).  0 when nothing of
 * @server's is mounted there any more. */
int run_detach_tree(const char *mnt, pid_t server, struct vk_error *err);

#endif
