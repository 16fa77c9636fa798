/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_FAKESYS_RUN_H
#define VFIOKIT_FAKESYS_RUN_H

#include <stdbool.h>

#include <vfiokit/error.h>
#include <vfiokit/host_model.h>
#include <vfiokit/vtree.h>

/*
 * The third way to serve a tree: run one command in a private mount namespace
 * where the tree is overlaid on /sys, /dev and /proc's files, so unmodified
 * programs (lspci, driverctl, dpdk-devbind.py, static binaries) see the fake
 * host at the real paths.  The real host's mounts are never changed.
 * docs/architecture.md ("fakesys run") describes the layout.
 */

/* Options of fakesys_run(); a zeroed struct (or NULL) gives the defaults. */
struct fakesys_run_opts {
	/* Serve every open() through the FUSE server (see fakesys_mount_opts). */
	bool serve_opens;
	/* The model the tree was built from: the server runs in the live mode
	 * (fakesys_mount_opts.model; implies serve_opens), so that writes to
	 * sysfs control files (bind, unbind, driver_override, ...) act as the
	 * kernel does.  The server works on its own copy.  NULL: read-only. */
	struct host_model *model;
	/* Always create a user namespace (as an unprivileged user would), even
	 * when running as root.  Off: only when not root, or when a plain mount
	 * namespace is refused (EPERM). */
	bool userns;
	/* Directory for the temporary mountpoint; NULL = $TMPDIR, else /tmp. */
	const char *tmpdir;
};

/**
 * fakesys_run() - run @argv with @t overlaid on /sys, /dev and /proc files.
 * @t:      a sealed tree (host_tree_build()); the caller keeps ownership.
 * @argv:   the command and its arguments; argv[0] is searched in PATH.
 * @o:      options, NULL for the defaults.
 * @status: receives the command's exit status as a shell reports it: 0..255,
 *          or 128 + signal number when it was killed.  On failure it receives
 *          127 (command not found), 126 (found but not executable) or 125
 *          (fakesys could not set up), as env(1) and chroot(1) do.
 * @err:    receives the reason of a failure.
 *
 * The tree is mounted with FUSE on a fresh directory under @o->tmpdir by a
 * server process that outlives nothing: it gets SIGTERM if the caller dies.
 * The command runs in a child that enters a new mount namespace (plus a user
 * namespace when not root, mapping the caller's uid and gid to themselves),
 * makes every mount private, builds a new /sys and /dev (a tmpfs holding bind
 * mounts of the real entries the scenario does not model and of the fake
 * tree's entries), binds the fake proc files over the real ones, and execs.
 * Only the tree's own parts replace real ones (sys/bus/pci, sys/devices/pci*,
 * sys/kernel/iommu_groups, sys/class/{iommu,vfio,vfio-dev,pci_bus},
 * vfio/iommu in sys/class/misc and sys/devices/virtual, VFIO, iommufd and PCI
 * driver modules in sys/module, dev/vfio, dev/iommu); everything else in /sys
 * and /dev stays the real one.  The real /sys parts are read-only inside.
 *
 * The command's environment gets FAKESYS_MOUNT, the path of the FUSE mount
 * (visible inside too), for the live mode's .fakesys/control.
 *
 * While the command runs, SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the
 * calling process by another process are forwarded to the command (signals
 * from the terminal reach the command directly and are not forwarded twice);
 * the previous handlers are restored on return.  SIGCHLD has its default
 * disposition for the duration of the call (so that the children can be
 * waited for).  When the command ends, every
 * process left in its namespace is killed, the FUSE mount is unmounted
 * (fakesys_umount()), the server reaped and the temporary directory removed,
 * on every path.  Not reentrant: one run per process at a time.
 *
 * Returns 0 when the command ran (whatever its status), or a negative errno:
 * -EPERM when namespaces are not permitted, -ENOENT/-EACCES when the command
 * cannot be executed, -EIO when the mount fails, or the errno of the failing
 * step.
 */
int fakesys_run(struct vtree *t, char *const argv[], const struct fakesys_run_opts *o, int *status,
                struct vk_error *err);

#endif
