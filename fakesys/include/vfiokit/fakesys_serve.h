/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_FAKESYS_SERVE_H
#define VFIOKIT_FAKESYS_SERVE_H

#include <stdbool.h>

#include <vfiokit/error.h>
#include <vfiokit/fakesys_live.h>
#include <vfiokit/host_model.h>
#include <vfiokit/vtree.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Serving a host tree: as a plain directory (materialize) or as a FUSE mount.
 * Both show the same names, types, modes, owners, link targets and bytes.
 *
 * Neither ever writes to the real host: a target whose real path is /, /sys,
 * /dev, /proc or anything under them is refused.
 */

/**
 * vk_fakesys_path_forbidden() - whether @path (absolute, already resolved by
 * realpath) is /, /sys, /dev, /proc or under one of them, i.e. a place where
 * fakesys must never write or mount.
 */
bool vk_fakesys_path_forbidden(const char *path);

/**
 * vk_fakesys_materialize() - write @t as a plain directory tree at @dir.
 * @t:   a sealed tree.
 * @dir: a path that does not exist yet (it is created, mode of the tree's root)
 *       or an empty directory (it is filled and gets the root's mode).
 *       A symlink is not followed, neither as @dir nor inside it.
 * @err: receives a message naming the path and the errno.
 *
 * Files get their content and mode, directories their mode (set after they are
 * filled, so read-only directories work), symlinks their target; as root every
 * entry also gets the node's owner.  On failure everything created is removed
 * again (@dir too when this call created it), and no FD is left open.
 *
 * Returns 0 or a negative errno: -EEXIST/-ENOTEMPTY when @dir exists and is not
 * an empty directory, -EPERM for a forbidden place (see vk_fakesys_path_forbidden),
 * -ENOENT when the parent of @dir is missing, or the errno of the failing call.
 */
int vk_fakesys_materialize(struct vtree *t, const char *dir, struct vk_error *err);

/* Options of vk_fakesys_mount(); a zeroed struct (or NULL) gives the defaults. */
struct vk_fakesys_mount_opts {
	/* Serve in the calling process until unmounted or signalled, instead of
	 * forking a daemon. */
	bool foreground;
	/*
	 * Have open() and opendir() of the tree reach the server: the live mode.
	 * Off (default): the server answers the first open with ENOSYS where the
	 * kernel supports FUSE_CAP_NO_OPEN_SUPPORT, after which the kernel opens
	 * files itself and keeps their page cache: a warm read costs no round
	 * trip.  On: every open is a request, which is what logging and faulting
	 * opens needs; the control channel .fakesys/control exists, and (with
	 * @model) writes to sysfs control files act as the kernel does.  Turned
	 * on by itself when @log, @faults or @steps are given.
	 */
	bool serve_opens;
	/*
	 * The host model @t was built from, for the live mode: kernel-like writes (bind, unbind, driver_override, ...)
	 * and control commands change it and rebuild the tree.  NULL: no
	 * mutations.  The server changes it: in the foreground mode it must stay
	 * valid until vk_fakesys_mount() returns; in the background mode the daemon
	 * works on its own copy.
	 */
	struct vk_host_model *model;
	/* Faults to inject (a scenario's faults:, struct vk_fakesys_scenario;
	 * implies serve_opens); the server copies them. */
	const struct vk_fakesys_fault *faults;
	size_t n_faults;
	/* Steps to run (a scenario's steps:; implies serve_opens, needs @model:
	 * EINVAL without it); the server copies them. */
	const struct vk_fakesys_fault *steps;
	size_t n_steps;
	/* Append one JSON line per operation to this file (implies serve_opens).
	 * NULL = no log. */
	const char *log;
	/* With @log: no kernel caching of entries and attributes, so that every
	 * lookup and getattr reaches the server and the log (slower). */
	bool log_lookups;
	/* Write the serving process's PID here once the mount is ready; removed
	 * when the server exits cleanly.  NULL = none. */
	const char *pidfile;
	/* libfuse debug output of every request (foreground only, on stderr). */
	bool debug;
	/*
	 * A read-only superblock (MS_RDONLY, fuse "-o ro"), for readers: on a
	 * writable FUSE superblock every read, readdir and readlink marks the
	 * inode's attributes stale (fs/fuse/dir.c fuse_invalidate_atime(): "if
	 * (!IS_RDONLY(inode))"), so the next stat is a GETATTR round trip and a
	 * second walk costs as much as the first.  The price: no file can be
	 * opened for writing, stand-ins included (EROFS), so a program that
	 * opens /dev/vfio nodes read-write (vfio-resolve --open, QEMU) needs the
	 * default.  Not with the live mode (EINVAL): its writes need a writable
	 * superblock.
	 */
	bool read_only;
	/*
	 * The kernel opens files and directories itself
	 * (FUSE_CAP_NO_OPEN_SUPPORT) and keeps their pages and listings until a
	 * change invalidates them, so that a warm read costs no round trip, in
	 * the live mode too, where sysfs writes (bind, unbind, driver_override,
	 * ...) still act as the kernel does.  Files report their content's
	 * length as st_size (what the kernel's FUSE client makes of sysfs's 4096
	 * after the first read anyway).  What needs to see every open is given
	 * up: config space by reader (every reader reads all of it; without
	 * this, a mount of root's sends every open to the server for it), and
	 * in the live mode the access log, faults and steps on open, read or
	 * readdir (EINVAL, naming the fault), and the control channel's
	 * answers: .fakesys/control is write-only (a command's failure is its
	 * write's; reading gives nothing).
	 */
	bool kernel_opens;
};

/*
 * Whether a mount with options @o (NULL: the defaults) is live: serve_opens,
 * a log, faults or steps.  Only a live server reads fakesys_mount_opts.model;
 * a caller may free the model before vk_fakesys_mount() otherwise, which
 * keeps it out of the daemon's memory.
 */
bool vk_fakesys_mount_is_live(const struct vk_fakesys_mount_opts *o);

/**
 * vk_fakesys_mount() - mount @t read-only with FUSE at @mountpoint and serve it.
 * @t:          a sealed tree; the daemon serves its own (copy-on-write) copy,
 *              so the caller may free @t as soon as the call returns.
 * @mountpoint: an existing empty directory, not forbidden (see above).
 * @o:          options, NULL for the defaults.
 * @err:        receives the reason of a failure.
 *
 * The mount uses fsname "fakesys:<server pid>", subtype fakesys (fstype
 * "fuse.fakesys" in /proc/self/mountinfo), default_permissions (the kernel
 * checks the tree's modes), allow_other when run as root, and auto_unmount (a
 * killed server leaves no stale mount).  File sizes are the true content
 * length, not sysfs's 4096, so readers that trust st_size read everything.
 * Writes and other changes fail with EROFS, but in the live mode (see
 * fakesys_mount_opts.serve_opens) kernel-like writes to sysfs control files
 * and commands to .fakesys/control.  SIGINT, SIGTERM and SIGHUP unmount
 * cleanly; SIGUSR1 ends the faults' delays (see vk_fakesys_umount_with()).  A
 * delay also ends when the client's request is interrupted (the client got
 * a signal, SIGKILL included: the request then fails with EINTR) and on
 * "fault clear".
 *
 * In the background mode (the default) a daemon process is forked; the call
 * returns in the caller once the mount is in place (or failed), and the daemon
 * never returns: it ends with _exit() when the mount goes away.  In the
 * foreground mode the call returns when the mount has gone away.
 *
 * Returns 0 or a negative errno: -ENOTDIR/-ENOENT/-ENOTEMPTY for a bad
 * mountpoint, -EPERM for a forbidden one, -EIO (with libfuse's message) when
 * the mount itself fails, -ENOMEM.
 */
int vk_fakesys_mount(struct vtree *t, const char *mountpoint, const struct vk_fakesys_mount_opts *o,
                     struct vk_error *err);

/* How long vk_fakesys_umount() waits, by default, for the mount's users to go
 * and then for its server to exit. */
#define VK_FAKESYS_UMOUNT_TIMEOUT_MS 5000

/* Options of vk_fakesys_umount_with(); a zeroed struct (or NULL) gives the defaults. */
struct vk_fakesys_umount_opts {
	/* How long to wait while the mount is in use, and then for its server to
	 * exit, in ms: 0 = VK_FAKESYS_UMOUNT_TIMEOUT_MS, negative = not at all. */
	int timeout_ms;
	/* Detach the mount at once even while in use (umount2(MNT_DETACH), or
	 * fusermount3 -u -z): it disappears from the namespace, and its server
	 * serves what is still open until the last user closes it. */
	bool lazy;
};

/**
 * vk_fakesys_umount_with() - unmount the fakesys FUSE mount at @mountpoint and
 * wait for its server to exit.
 *
 * Only a mount whose fstype is fuse.fakesys in /proc/self/mountinfo is touched:
 * anything else is refused with -EINVAL, so that a wrong path never unmounts
 * another filesystem.  The server the mount names in its source
 * ("fakesys:<pid>") is signalled and waited on only once verified: alive, of
 * the uid that made the mount (its user_id=), and holding /dev/fuse; any user
 * can make a FUSE mount with any source.  A verified server first gets
 * SIGUSR1: an unmount is coming, so it ends the faults' delays in progress (a
 * client waiting in one keeps the mount busy) and delays nothing any more.
 *
 * As root the mount is removed with umount2(), otherwise with `fusermount3
 * -u`.  While it is in use the unmount is retried for @o->timeout_ms, then
 * refused with -EBUSY and a message naming the processes that use it (PID,
 * command, and what: cwd, root, fd N, mmap).  With @o->lazy it is detached at
 * once instead.  Then the call waits (on a pidfd, no polling) for the server.
 *
 * Returns 0 (unmounted; the server, if verified, exited), 1 (@o->lazy: detached,
 * but the server still serves files in use, named in @err->msg, @err->code 0),
 * -EINVAL (not a fakesys mount), -EBUSY (in use), -EPERM (made by another
 * user), -ETIMEDOUT (unmounted, but the server did not exit in time), or
 * another -errno.
 */
int vk_fakesys_umount_with(const char *mountpoint, const struct vk_fakesys_umount_opts *o, struct vk_error *err);

/* vk_fakesys_umount_with() with the default options. */
int vk_fakesys_umount(const char *mountpoint, struct vk_error *err);

/**
 * vk_fakesys_mount_pid() - the PID of the server of the fakesys mount at
 * @mountpoint (read from its fsname and verified as vk_fakesys_umount_with()
 * does), 0 when the fsname names none or not the mount's server, -EINVAL
 * when @mountpoint is not a fakesys mount, or another -errno.
 */
int vk_fakesys_mount_pid(const char *mountpoint);

#ifdef __cplusplus
}
#endif

#endif
