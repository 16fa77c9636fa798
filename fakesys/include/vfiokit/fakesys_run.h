/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_FAKESYS_RUN_H
#define VFIOKIT_FAKESYS_RUN_H

#include <stdbool.h>

#include <vfiokit/error.h>
#include <vfiokit/fakesys_live.h>
#include <vfiokit/host_model.h>
#include <vfiokit/vtree.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The third way to serve a tree: run one command in private mount and PID
 * namespaces where the tree is overlaid on /sys, /dev and /proc's files, so
 * unmodified programs (lspci, driverctl, dpdk-devbind.py, static binaries)
 * see the fake host at the real paths.  The real host's mounts are never
 * changed.  docs/architecture.md ("fakesys run") describes the layout.
 */

/* Options of vk_fakesys_run(); a zeroed struct (or NULL) gives the defaults. */
struct vk_fakesys_run_opts {
	/* Serve every open() through the FUSE server (see fakesys_mount_opts). */
	bool serve_opens;
	/* The model the tree was built from: the server runs in the live mode
	 * (fakesys_mount_opts.model; implies serve_opens), so that writes to
	 * sysfs control files (bind, unbind, driver_override, ...) act as the
	 * kernel does.  The server works on its own copy.  NULL: read-only. */
	struct vk_host_model *model;
	/* The scenario's faults: and steps: (fakesys_mount_opts.faults, .steps;
	 * steps need @model). */
	const struct vk_fakesys_fault *faults;
	size_t n_faults;
	const struct vk_fakesys_fault *steps;
	size_t n_steps;
	/* Always create a user namespace (as an unprivileged user would), even
	 * when running as root.  Off: only when not root, or when a plain mount
	 * namespace is refused (EPERM). */
	bool userns;
	/* Directory for the temporary mountpoint; NULL = $TMPDIR, else /tmp. */
	const char *tmpdir;
	/* No VFIO emulation.  Off (the default): when the tree has a device on
	 * vfio-pci or a variant, the command's VFIO and iommufd ioctls and its
	 * pread/pwrite on the stand-in nodes are answered by an emulated kernel
	 * through seccomp user notifications (docs/architecture.md, "VFIO
	 * emulation"); where the kernel refuses the filter, a line on stderr says
	 * so and the command runs without it. */
	bool no_emulation;
	/* The server's access log (fakesys_mount_opts.log; implies
	 * serve_opens): every access, and with the emulation every VFIO ioctl
	 * it answers (op "ioctl").  NULL = none. */
	const char *log;
	/* Serve the tree by FUSE even when nothing else needs the server.  Off:
	 * a tree needing no server (no live mode, log, faults or steps; root,
	 * every owner mapped) is a tmpfs copy, at tmpfs speed but as a plain
	 * tree: every reader reads all of config, listings in tmpfs's order,
	 * sizes the content's.  On: the kernel's details the server gives
	 * (config per reader, kernfs order, sysfs sizes; docs/architecture.md). */
	bool fuse;
};

/**
 * vk_fakesys_run() - run @argv with @t overlaid on /sys, /dev and /proc files.
 * @t:      a sealed tree (vk_host_tree_build()); the caller keeps ownership.
 * @argv:   the command and its arguments; argv[0] is searched in PATH.
 * @o:      options, NULL for the defaults.
 * @status: receives the command's exit status as a shell reports it: 0..255,
 *          or 128 + signal number when it was killed.  On failure it receives
 *          127 (command not found), 126 (found but not executable) or 125
 *          (fakesys could not set up), as env(1) and chroot(1) do.
 * @err:    receives the reason of a failure.
 *
 * The tree is mounted with FUSE on a fresh directory under @o->tmpdir by a
 * server process whose parent, a guard process, ends it when the caller dies
 * however it dies.  The command runs in new mount and PID namespaces (plus a
 * user namespace when not root, mapping the caller's uid and gid to
 * themselves): every mount is made private, a new /sys and /dev are built (a
 * tmpfs holding bind mounts of the real entries the scenario does not model
 * and of the fake tree's entries), and the host's mount of the tree is
 * detached (the namespace keeps its copy).  The PID namespace's init mounts
 * its own /proc, binds the fake proc files over it, makes /proc/sys,
 * /proc/sysrq-trigger, /proc/irq, /proc/bus and /proc/fs read-only, drops
 * CAP_SYS_ADMIN (from its bounding set too) and forks the command, which is
 * PID 2 there.  Only the tree's own parts replace real ones (sys/bus/pci,
 * sys/devices/pci*, sys/kernel/iommu_groups,
 * sys/class/{iommu,vfio,vfio-dev,pci_bus}, vfio/iommu in sys/class/misc and
 * sys/devices/virtual, VFIO, iommufd and PCI driver modules in sys/module,
 * dev/vfio, dev/iommu); everything else in /sys and /dev stays the real one.
 * The real /sys parts are read-only inside, and without CAP_SYS_ADMIN the
 * command can neither remount them nor unmount what covers the real /sys.
 *
 * The command's environment gets FAKESYS_MOUNT, the path of the FUSE mount
 * (visible inside only), for the live mode's .fakesys/control.
 *
 * While the command runs, SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the
 * calling process by another process are forwarded to the command (signals
 * from the terminal reach the command directly and are not forwarded twice);
 * the previous handlers are restored on return.  SIGCHLD has its default
 * disposition for the duration of the call (so that the children can be
 * waited for).  When the command ends, every process left in its PID
 * namespace is killed by the kernel, the server ends with the namespace's
 * mounts and is reaped with the fusermount3 helper of its mount, and the
 * temporary directory is removed, on every path.  If the caller is killed
 * (SIGKILL), its children's parent-death signals end the namespace, and the
 * guard ends the server (continuing it if it was stopped), removes any mount
 * of the tree left in the host and the temporary directory.  Not reentrant:
 * one run per process at a time.  Needs Linux 5.12 (mount_setattr()).
 *
 * Returns 0 when the command ran (whatever its status), or a negative errno:
 * -EPERM when namespaces are not permitted, -ENOENT/-EACCES when the command
 * cannot be executed, -EIO when the mount fails or the server was killed
 * while the command ran (the command then saw ENOTCONN; @status is still its
 * status), or the errno of the failing step.
 */
int vk_fakesys_run(struct vtree *t, char *const argv[], const struct vk_fakesys_run_opts *o, int *status,
                   struct vk_error *err);

/**
 * vk_fakesys_userns_enter() - as an ordinary user, make the calling process root
 * of a new user namespace with a mount namespace of its own, so that it may
 * mount the tree and be the scenario's users (`fakesys run`, `fakesys test`).
 * The caller's ids become 0; with an entry in /etc/subuid and /etc/subgid and
 * newuidmap(1)/newgidmap(1), its subordinate ids are mapped from 1 (*@subids
 * true), else nothing else is.  / is made private in the new namespace.
 * Must be called while single-threaded.  As root it does nothing.
 * Returns 0 (root already), 1 (entered), or -errno with @err set.
 */
int vk_fakesys_userns_enter(bool *subids, struct vk_error *err);

#ifdef __cplusplus
}
#endif

#endif
