/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_VALIDATOR_H
#define VFIOKIT_VALIDATOR_H

/*
 * The rule engine shared by vfio-validate (QEMU command lines) and
 * vfio-doctor (host readiness).  A rule has a stable id ("VV005"), a stable
 * name ("vfio.fd-without-iommufd"), a default severity, a one-line title and a
 * fix hint; docs/rules.md is the catalogue.  Checks add findings to a report;
 * front ends print it for people or as JSON.  Nothing here prints or exits.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <vfiokit/error.h>
#include <vfiokit/pci_addr.h>
#include <vfiokit/qdev_model.h>
#include <vfiokit/qemu_cmdline.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vk_severity {
	VK_SEV_INFO = 0,
	VK_SEV_WARNING = 1,
	VK_SEV_ERROR = 2,
};

struct vk_rule {
	const char *id;   /* "VV005": never reused */
	const char *name; /* "vfio.fd-without-iommufd" */
	enum vk_severity severity;
	const char *title;  /* what is wrong, one line */
	const char *hint;   /* default fix */
	const char *source; /* the upstream code the rule rests on */
};

struct vk_finding {
	const struct vk_rule *rule;
	enum vk_severity severity;
	char *subject;  /* what it is about: "hostdev0", "-device #3", "0000:06:00.0"; may be NULL */
	char *message;  /* the specific text */
	char *hint;     /* the specific fix (the rule's when none given) */
	char *evidence; /* what was seen ("fd=/dev/fdset/3", "driver=nvme"); may be NULL */
	long argi;      /* argument index of the option word, -1 when none */
	unsigned line;  /* .args line, 0 when none */
};

struct vk_report {
	struct vk_finding *findings;
	size_t n, cap;
};

/**
 * vk_rules() - the rule catalogue.
 * @n: receives the number of rules.
 * Returns the array (static storage).
 */
const struct vk_rule *vk_rules(size_t *n);

/**
 * vk_rule_find() - a rule by id ("VV005") or name ("vfio.fd-without-iommufd").
 * Returns the rule or NULL.
 */
const struct vk_rule *vk_rule_find(const char *id_or_name);

/* Severity as a word: "error", "warning", "info". */
const char *vk_severity_name(enum vk_severity s);

/**
 * vk_report_add() - add a finding.
 * @r:        the report.
 * @rule_id:  id or name of a catalogued rule (an unknown id is a programming
 *            error: -EINVAL).
 * @subject:  what it is about (may be NULL).
 * @argi:     argument index of the option, -1 when none.
 * @line:     .args line, 0 when none.
 * @evidence: what was seen (may be NULL).
 * @hint:     a specific fix, NULL for the rule's.
 * @fmt:      the message (printf format).
 *
 * Returns 0, -EINVAL, -ENOMEM.
 */
int vk_report_add(struct vk_report *r, const char *rule_id, const char *subject, long argi,
                  unsigned line, const char *evidence, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

/* Number of findings of severity @s. */
size_t vk_report_count(const struct vk_report *r, enum vk_severity s);

/* The first finding of rule @id_or_name, or NULL. */
const struct vk_finding *vk_report_find(const struct vk_report *r, const char *id_or_name);

/* Free the findings; the report is then empty and reusable. */
void vk_report_clear(struct vk_report *r);

/**
 * vk_report_print() - one line per finding for people, plus an indented hint line.
 * @color: use ANSI colours (the caller decides: a terminal and NO_COLOR unset).
 * Returns 0 or -errno of the write.
 */
int vk_report_print(const struct vk_report *r, FILE *f, bool color);

/**
 * vk_report_json() - the report as a JSON document:
 * {"findings":[{"id","name","severity","subject","message","hint","evidence",
 *  "argument","line"}...], "errors":N, "warnings":N, "infos":N}.
 * @extra: a JSON object text whose members are added at top level (may be NULL).
 * Returns a malloc'd string, or NULL on ENOMEM.
 */
char *vk_report_json(const struct vk_report *r, const char *extra);

/* ---- QEMU capabilities ---- */

/* What a QEMU can do, as far as the rules care. */
struct vk_qemu_caps {
	unsigned version; /* major*100 + minor; 0 when unknown */
	char label[64];   /* "9.0 (built-in table)", "qemu-system-x86_64 9.2.0" */
	bool from_binary;
	bool iommufd_object;    /* -object iommufd */
	bool iommufd_object_fd; /* its fd= */
	bool vfio_pci;          /* -device vfio-pci exists */
	bool vfio_iommufd;      /* vfio-pci iommufd= */
	bool vfio_fd;           /* vfio-pci fd= */
	bool vfio_sysfsdev;     /* vfio-pci sysfsdev= */
	bool json_object;       /* -object '{...}' */
	bool json_device;       /* -device '{...}' */
	/* QEMU's device model (vfiokit/qdev_model.h) for the qdev rules (VV020-VV029):
	 * vk_qemu_caps_builtin() sets the built-in table nearest to the version; a
	 * caller that probed a binary (vk_qdev_model_probe()) sets its model and frees
	 * it; NULL: those rules are not applied. */
	const struct vk_qdev_model *model;
};

/* Versions (major*100+minor) at which features appeared; see docs/rules.md. */
#define VK_QEMU_VERSION_IOMMUFD 900
#define VK_QEMU_VERSION_JSON_OBJECT 600
#define VK_QEMU_VERSION_JSON_DEVICE 602
#define VK_QEMU_VERSION_NEWEST 1001

/**
 * vk_qemu_caps_builtin() - the built-in capability table.
 * @version: "X.Y" or "X.Y.Z", NULL or "latest" for the newest known.
 * @out:     receives the capabilities.
 * Returns 0, or -EINVAL for a malformed version.
 */
int vk_qemu_caps_builtin(const char *version, struct vk_qemu_caps *out, struct vk_error *err);

/**
 * vk_qemu_caps_from_help() - capabilities from the texts a QEMU binary prints.
 * @version_text: output of `qemu -version` ("QEMU emulator version 9.2.0 ...").
 * @device_help:  output of `qemu -device vfio-pci,help` (NULL or "" when it failed).
 * @object_help:  output of `qemu -object iommufd,help` (NULL or "" when it failed).
 * Returns 0, or -EINVAL when the version cannot be read.
 */
int vk_qemu_caps_from_help(const char *version_text, const char *device_help, const char *object_help,
                           struct vk_qemu_caps *out, struct vk_error *err);

/**
 * vk_qemu_caps_probe() - run @binary with -version, -device vfio-pci,help and
 * -object iommufd,help (no machine is started) and read its answers.
 * Returns 0, or -errno when the binary cannot be run or prints no version.
 */
int vk_qemu_caps_probe(const char *binary, struct vk_qemu_caps *out, struct vk_error *err);

/**
 * vk_qemu_caps_probe_timed() - vk_qemu_caps_probe() with a deadline for each run of
 * @binary (0: 10,000 ms): a binary that does not answer in time is killed
 * (with what it started) and the probe fails with -ETIMEDOUT and a message
 * naming the question.  caps->model is left NULL.
 */
int vk_qemu_caps_probe_timed(const char *binary, unsigned timeout_ms, struct vk_qemu_caps *out, struct vk_error *err);

/**
 * vk_qemu_caps_from_model() - capabilities from a device model (a probed binary's:
 * its version, what its vfio-pci lists, whether it has -object iommufd), with
 * out->model = @m.  Returns 0.
 */
int vk_qemu_caps_from_model(const struct vk_qdev_model *m, struct vk_qemu_caps *out);

/* ---- checks ---- */

/**
 * vk_check_cmdline() - apply the command-line rules (no host access).
 * @c:    a parsed command line.
 * @caps: the target QEMU.
 * @r:    receives the findings.
 * Returns 0 or -ENOMEM.
 */
int vk_check_cmdline(const struct vk_qc_cmdline *c, const struct vk_qemu_caps *caps, struct vk_report *r,
                     struct vk_error *err);

struct vk_root;

/**
 * vk_check_host() - host rules for every vfio-pci device named by host= or a
 * /sys/bus/pci/devices sysfsdev=: present, bound to vfio-pci, a cdev when
 * iommufd is asked for; in legacy mode a viable group with its /dev/vfio node.
 * @root: the host tree (from vk_root_open()).
 * Returns 0, -ENOMEM, or -errno when the tree cannot be read at all.
 */
int vk_check_host(const struct vk_qc_cmdline *c, const struct vk_root *root, struct vk_report *r,
                  struct vk_error *err);

/* ---- live FDs (VV2xx) ---- */

/* One open FD of the inspected process, as seen when the inventory was taken. */
struct vk_fd_entry {
	int fd;
	bool cloexec; /* FD_CLOEXEC (self: F_GETFD; another process: O_CLOEXEC in fdinfo flags) */
	int flags;    /* file status flags: O_ACCMODE bits, O_NONBLOCK ... */
};

/* The open FDs of a process. */
struct vk_fd_inventory {
	pid_t pid;               /* 0: the calling process */
	char *proc;              /* where /proc is ("/proc") */
	struct vk_fd_entry *fds; /* sorted by fd */
	size_t n;
};

/**
 * vk_fdinfo_flags() - the "flags:" line of a /proc/PID/fdinfo/FD text.
 * @text:  the file's content (NUL-terminated).
 * @flags: receives the value (the kernel prints it in octal: "flags:\t02100002"),
 *         O_CLOEXEC (02000000) included.
 * Returns 0, or -EINVAL when there is no well-formed "flags:" line.
 */
int vk_fdinfo_flags(const char *text, unsigned *flags);

/**
 * vk_fd_inventory_take() - list the open FDs of a process and their flags.
 * @pid:  the process; 0 for the calling one.
 * @proc: where /proc is (NULL: "/proc").
 * @out:  receives the inventory; free with vk_fd_inventory_free().
 * @err:  the reason on failure.
 *
 * For the calling process this must be the first thing a stand-in does: every
 * FD listed is taken as inherited (the directory FD used for the listing is
 * left out; it is closed again before returning).  Flags come from
 * fcntl(F_GETFD/F_GETFL) for the calling process and from
 * @proc/PID/fdinfo/FD ("flags:", octal) for another one.  Without a readable
 * /proc the calling process falls back to probing FDs 0..1023 with fcntl().
 *
 * Returns 0, -ESRCH (no such process), -EACCES (not ours to inspect), -ENOMEM,
 * -errno.
 */
int vk_fd_inventory_take(pid_t pid, const char *proc, struct vk_fd_inventory *out, struct vk_error *err);

/* Free an inventory's memory; safe on a zeroed one. */
void vk_fd_inventory_free(struct vk_fd_inventory *inv);

/* What a VFIO-related device node is. */
enum vk_node_kind {
	VK_NODE_NONE = 0,       /* not a VFIO/iommufd node (or not identified) */
	VK_NODE_VFIO_CDEV,      /* /dev/vfio/devices/vfioN */
	VK_NODE_VFIO_GROUP,     /* /dev/vfio/<group> (or noiommu-<group>) */
	VK_NODE_VFIO_CONTAINER, /* /dev/vfio/vfio (legacy container or iommufd compat) */
	VK_NODE_IOMMU,          /* /dev/iommu */
};

/* A VFIO-related node of the host, from its sysfs class entry. */
struct vk_vfio_node {
	enum vk_node_kind kind;
	unsigned major, minor;
	char name[64];                /* "vfio0", "12", "iommu", "vfio" */
	char bdf[VK_PCI_ADDR_STRLEN]; /* the PCI device of a cdev, "" otherwise */
};

/**
 * vk_vfio_nodes_read() - every VFIO-related node the host tree declares:
 * sys/class/vfio-dev/<vfioN>/dev (with the device from the class link),
 * sys/class/vfio/<group>/dev, sys/class/misc/{iommu,vfio}/dev.
 * @root:  the host tree.
 * @nodes: receives a malloc'd array (free()); NULL when there is none.
 * @n:     receives the count.
 * Unreadable or malformed entries are skipped.  Returns 0 or -ENOMEM.
 */
int vk_vfio_nodes_read(const struct vk_root *root, struct vk_vfio_node **nodes, size_t *n,
                       struct vk_error *err);

/**
 * vk_vfio_node_of_fd() - which of @nodes an open FD is.
 * @fd:    an FD that can be fstat()ed and, for a regular file, pread() (an
 *         O_PATH FD is enough for a character device).
 * Applies the resolver's vk_vfio_node_identity_check() (a character device with
 * that st_rdev, or a fakesys stand-in naming it) to each candidate.
 * Returns the node, or NULL when @fd is none of them.
 */
const struct vk_vfio_node *vk_vfio_node_of_fd(int fd, const struct vk_vfio_node *nodes, size_t n);

/**
 * vk_check_fd_inventory() - live-FD rules against an inventory: every numeric
 * fd= of vfio-pci and of -object iommufd (and each FD of an -add-fd set that
 * such an fd=/dev/fdset/N names) is open (VV201), not close-on-exec (VV202),
 * O_RDWR (VV203), and the cdev of the device host=/sysfsdev= names (VV204;
 * without them, some VFIO cdev: VV207) or /dev/iommu for the object (VV205);
 * an -add-fd FD is open and inheritable; any other open, inheritable VFIO
 * cdev, group, container or /dev/iommu FD is a leak (VV206).
 * @c:    the command line of that process.
 * @inv:  from vk_fd_inventory_take().
 * @root: the host tree for the device numbers (may be NULL: identity and
 *        leak checks are then skipped).
 *
 * The FDs of another process are examined through @proc/PID/fd/N: opened
 * O_PATH (fstat only) for a character device, O_RDONLY only for a regular
 * file (a stand-in); a device of another process is never opened.
 * Returns 0, -ENOMEM, or -errno when the host tree cannot be read at all.
 */
int vk_check_fd_inventory(const struct vk_qc_cmdline *c, const struct vk_fd_inventory *inv,
                          const struct vk_root *root, struct vk_report *r, struct vk_error *err);

/**
 * vk_check_fds() - vk_fd_inventory_take() then vk_check_fd_inventory(): the
 * live-FD rules for process @pid as it is now (0: the calling process; a
 * stand-in should take its inventory first thing instead, before it opens
 * anything of its own).
 * @proc: where /proc is (NULL: "/proc").
 * Returns 0, -ENOMEM, or -errno when /proc/PID/fd cannot be read.
 */
int vk_check_fds(const struct vk_qc_cmdline *c, pid_t pid, const char *proc, const struct vk_root *root,
                 struct vk_report *r, struct vk_error *err);

#ifdef __cplusplus
}
#endif

#endif
