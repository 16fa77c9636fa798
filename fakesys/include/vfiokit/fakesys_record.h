/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_FAKESYS_RECORD_H
#define VFIOKIT_FAKESYS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <vfiokit/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Recording: read a host's /sys, /dev and /proc (the real root or any
 * directory laid out like one, such as a fakesys tree) and write a scenario
 * (docs/scenario-format.md, version 1) that replays to the same tree.
 *
 * Every read of the recorded tree goes through <vfiokit/root.h>: symlinks are
 * resolved inside the root, attributes are opened without following links and
 * with O_NONBLOCK (a FIFO cannot block the recorder), only regular files are
 * read, and reads are capped (64 KiB per attribute, 4096 bytes of config
 * space).  What is skipped is said on @notes and as YAML comments (each one
 * line of UTF-8: a byte that is not is written \xNN).
 */

struct vk_fakesys_record_opts {
	const char *root;                  /* the tree to record; NULL means "/" */
	const char *const *bdfs;           /* record only these (plus parents, group peers, PFs) */
	size_t n_bdfs;                     /* 0: every device */
	bool redact;                       /* leave out label and unrelated cmdline parameters */
	const char *const *extra_comments; /* lines written as comments at the top */
	size_t n_extra_comments;
};

/**
 * vk_fakesys_record() - record the host under @o->root as a scenario.
 * @o:     options (root, device selection, redaction).
 * @out:   receives the scenario text (written only on success).
 * @notes: receives one line per skipped or approximated item (may be NULL).
 * @err:   receives the reason on failure.
 *
 * The scenario is checked with vk_host_model_load_buffer() before it is written.
 * Returns 0, or a negative errno: -ENOENT/-ENOTDIR when the root cannot be
 * opened, -EINVAL when a named device does not exist or the recording does not
 * form a valid scenario, -ENOMEM, -EIO writing @out.
 */
int vk_fakesys_record(const struct vk_fakesys_record_opts *o, FILE *out, FILE *notes, struct vk_error *err);

/**
 * vk_fakesys_import_umockdev() - convert a umockdev-record file to a scenario.
 * @path:  the umockdev recording (P:/E:/A:/H:/L: lines).
 * @out:   receives the scenario.
 * @notes: receives what could not be carried over (may be NULL); the same is
 *         written as comments into the scenario.
 * @err:   receives the reason on failure.
 *
 * The PCI devices of the recording are laid out as a sysfs tree in a private
 * temporary directory (names checked: no "..", no absolute links followed)
 * and recorded with vk_fakesys_record(); the directory is removed afterwards.
 * Returns 0 or a negative errno (-EINVAL for a malformed file, or when no
 * PCI device could be carried over or recorded).
 */
int vk_fakesys_import_umockdev(const char *path, FILE *out, FILE *notes, struct vk_error *err);

/**
 * vk_fakesys_import_umockdev_buffer() - vk_fakesys_import_umockdev() of @len bytes
 * of @text, named @name in messages and in the scenario's first comment.
 *
 * While its temporary directory exists, SIGINT, SIGTERM, SIGHUP, SIGQUIT and
 * SIGPIPE are blocked; one that comes cuts the import short (-EINTR) and, the
 * directory removed and the caller's mask restored, takes its course.
 * Returns 0, or a negative errno as vk_fakesys_import_umockdev() (-EINVAL also
 * when no device of the recording could be recorded, -EINTR).
 */
int vk_fakesys_import_umockdev_buffer(const char *name, const char *text, size_t len, FILE *out, FILE *notes,
                                      struct vk_error *err);

#ifdef __cplusplus
}
#endif

#endif
