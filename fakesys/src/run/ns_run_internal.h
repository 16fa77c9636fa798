/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fakesys run: what its files share (docs/architecture.md, "fakesys run"). */
#ifndef VFIOKIT_NS_RUN_INTERNAL_H
#define VFIOKIT_NS_RUN_INTERNAL_H

#include <limits.h>
#include <stdio.h>

#include <vfiokit/error.h>
#include <vfiokit/vtree.h>

struct run_ctx {
	struct vtree *t;
	char work[PATH_MAX - 16];  /* the scratch directory */
	char mnt[PATH_MAX];        /* work/mnt: the FUSE mount */
	char stage[PATH_MAX];      /* work/stage: a tmpfs inside the namespace while building */
	char ready[PATH_MAX];      /* work/ready: FIFO the server writes its PID to when mounted */
};

static inline int join(char *buf, size_t len, const char *a, const char *b, struct vk_error *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", a, b) >= len)
		return vk_error_set(err, ENAMETOOLONG, "run: path too long: %s/%s", a, b);
	return 0;
}

/* ns_overlay.c: in the new mount namespace, build the new /sys and /dev over
 * the real ones and bind the tree's proc files (docs/architecture.md). */
int run_build_overlay(const struct run_ctx *c, struct vk_error *err);

#endif
