/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_RUN_SECCOMP_NOTIFY_H
#define VFIOKIT_RUN_SECCOMP_NOTIFY_H

/*
 * The VFIO emulation of `fakesys run` (docs/architecture.md, "VFIO
 * emulation"): the command gets a seccomp filter that turns its VFIO and
 * iommufd ioctls (type ';') and its pread64/pwrite64 into user notifications;
 * a supervisor thread in the caller answers those on the stand-in nodes (and
 * on the device FDs it installs) from the emulated kernel (emul/) and lets the
 * kernel run every other one.
 *
 * Order of use:
 *   vk_supervisor_prepare()   the caller, before forking the namespace side
 *   vk_supervisor_child()     the namespace's init, before it drops CAP_SYS_ADMIN
 *                             (the command it forks inherits the filter)
 *   vk_supervisor_start()     the caller, after the fork
 *   vk_supervisor_stop()      the caller, once the command and its namespace are gone
 */
#include <stdbool.h>

#include <vfiokit/error.h>
#include <vfiokit/vtree.h>

struct vk_supervisor;

/* Does the tree have a device on vfio-pci or one of its variants? */
bool vk_emulation_wanted(const struct vtree *t);

/* Before the fork, with the tree mounted on @mnt: open it (a directory FD
 * that outlives the detach of the host's mount), the emulated kernel, and a
 * socketpair whose *child_fd is for vk_supervisor_child().  @mnt NULL: the
 * tree is the namespace's own (a static tree on a tmpfs there), whose
 * directory vk_supervisor_child() sends; the emulated kernel is made then. */
int vk_supervisor_prepare(const char *mnt, struct vk_supervisor **out, int *child_fd, struct vk_error *err);

/*
 * In the init of the command's namespace: install the filter (with SECCOMP_FILTER_FLAG_NEW_LISTENER;
 * no_new_privs only when the kernel refuses a filter without it) and send the
 * listener and the mount namespace's identity over @child_fd, or the errno of
 * the refusal; with @tree (the static tree's directory in the namespace), a
 * directory FD of it too.  Closes @child_fd.  Returns 0 or -errno; the
 * command runs either way.
 */
int vk_supervisor_child(int child_fd, const char *tree);

/* In the caller, after the fork: the supervisor thread. */
int vk_supervisor_start(struct vk_supervisor *s, struct vk_error *err);

/* Stop the thread, drop every file and the listener; NULL is allowed. */
void vk_supervisor_stop(struct vk_supervisor *s);

#endif
