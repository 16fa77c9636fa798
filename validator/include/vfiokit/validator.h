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
#include <vfiokit/qemu_cmdline.h>

enum vk_severity {
	VK_SEV_INFO = 0,
	VK_SEV_WARNING = 1,
	VK_SEV_ERROR = 2,
};

struct vk_rule {
	const char *id;          /* "VV005": never reused */
	const char *name;        /* "vfio.fd-without-iommufd" */
	enum vk_severity severity;
	const char *title;       /* what is wrong, one line */
	const char *hint;        /* default fix */
	const char *source;      /* the upstream code the rule rests on */
};

struct vk_finding {
	const struct vk_rule *rule;
	enum vk_severity severity;
	char *subject;    /* what it is about: "hostdev0", "-device #3", "0000:06:00.0"; may be NULL */
	char *message;    /* the specific text */
	char *hint;       /* the specific fix (the rule's when none given) */
	char *evidence;   /* what was seen ("fd=/dev/fdset/3", "driver=nvme"); may be NULL */
	long argi;        /* argument index of the option word, -1 when none */
	unsigned line;    /* .args line, 0 when none */
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
struct qemu_caps {
	unsigned version;         /* major*100 + minor; 0 when unknown */
	char label[64];           /* "9.0 (built-in table)", "qemu-system-x86_64 9.2.0" */
	bool from_binary;
	bool iommufd_object;      /* -object iommufd */
	bool iommufd_object_fd;   /* its fd= */
	bool vfio_pci;            /* -device vfio-pci exists */
	bool vfio_iommufd;        /* vfio-pci iommufd= */
	bool vfio_fd;             /* vfio-pci fd= */
	bool vfio_sysfsdev;       /* vfio-pci sysfsdev= */
	bool json_object;         /* -object '{...}' */
	bool json_device;         /* -device '{...}' */
};

/* Versions (major*100+minor) at which features appeared; see docs/rules.md. */
#define QEMU_VERSION_IOMMUFD     900
#define QEMU_VERSION_JSON_OBJECT 600
#define QEMU_VERSION_JSON_DEVICE 602
#define QEMU_VERSION_NEWEST      1001

/**
 * qemu_caps_builtin() - the built-in capability table.
 * @version: "X.Y" or "X.Y.Z", NULL or "latest" for the newest known.
 * @out:     receives the capabilities.
 * Returns 0, or -EINVAL for a malformed version.
 */
int qemu_caps_builtin(const char *version, struct qemu_caps *out, struct vk_error *err);

/**
 * qemu_caps_from_help() - capabilities from the texts a QEMU binary prints.
 * @version_text: output of `qemu -version` ("QEMU emulator version 9.2.0 ...").
 * @device_help:  output of `qemu -device vfio-pci,help` (NULL or "" when it failed).
 * @object_help:  output of `qemu -object iommufd,help` (NULL or "" when it failed).
 * Returns 0, or -EINVAL when the version cannot be read.
 */
int qemu_caps_from_help(const char *version_text, const char *device_help, const char *object_help,
                        struct qemu_caps *out, struct vk_error *err);

/**
 * qemu_caps_probe() - run @binary with -version, -device vfio-pci,help and
 * -object iommufd,help (no machine is started) and read its answers.
 * Returns 0, or -errno when the binary cannot be run or prints no version.
 */
int qemu_caps_probe(const char *binary, struct qemu_caps *out, struct vk_error *err);

/* ---- checks ---- */

/**
 * vk_check_cmdline() - apply the command-line rules (no host access).
 * @c:    a parsed command line.
 * @caps: the target QEMU.
 * @r:    receives the findings.
 * Returns 0 or -ENOMEM.
 */
int vk_check_cmdline(const struct qc_cmdline *c, const struct qemu_caps *caps, struct vk_report *r,
                     struct vk_error *err);

struct vk_root;

/**
 * vk_check_host() - host rules for every vfio-pci device named by host= or a
 * /sys/bus/pci/devices sysfsdev=: present, bound to vfio-pci, a cdev when
 * iommufd is asked for; in legacy mode a viable group with its /dev/vfio node.
 * @root: the host tree (from vk_root_open()).
 * Returns 0, -ENOMEM, or -errno when the tree cannot be read at all.
 */
int vk_check_host(const struct qc_cmdline *c, const struct vk_root *root, struct vk_report *r,
                  struct vk_error *err);

/**
 * vk_check_fds() - live-FD rules for a process: every numeric fd= is open,
 * inherited (no FD_CLOEXEC), O_RDWR and the cdev of its device; the iommufd
 * object's FD is /dev/iommu; no other VFIO/iommufd FD is open (a leak).
 * @pid:  the process; 0 for the calling one (a stand-in for QEMU).
 * @proc: where /proc is (NULL: "/proc").
 * @root: the host tree for the expected device numbers (may be NULL: identity
 *        checks are then skipped).
 * Returns 0, -ENOMEM, or -errno when /proc/PID/fd cannot be read.
 */
int vk_check_fds(const struct qc_cmdline *c, pid_t pid, const char *proc, const struct vk_root *root,
                 struct vk_report *r, struct vk_error *err);

#endif
