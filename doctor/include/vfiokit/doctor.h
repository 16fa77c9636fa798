/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_DOCTOR_H
#define VFIOKIT_DOCTOR_H

/*
 * vfio-doctor: is this host ready to pass devices to a VM?
 *
 * Each check is one rule of the validator's engine (ids VD0xx platform,
 * VD1xx per device, VD2xx process limits, VD3xx QEMU; see docs/rules.md,
 * "vfio-doctor checks") with a status PASS, WARN, FAIL or SKIP (not checked:
 * what the tree cannot tell, such as another host's QEMU), a one-line reason,
 * what to do about it, and the paths it read.  Every host path is read
 * through a struct vk_root, so the same checks run on "/" and on a fakesys
 * tree.  Nothing here prints (except the *_print function) or exits.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <vfiokit/error.h>
#include <vfiokit/pci_addr.h>
#include <vfiokit/validator.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vk_doctor_status {
	VK_DOCTOR_PASS = 0,
	VK_DOCTOR_WARN = 1,
	VK_DOCTOR_FAIL = 2,
	VK_DOCTOR_SKIP = 3, /* not checked: the fact belongs to a host that is not this one */
};

/* One check's result. */
struct vk_doctor_check {
	const struct vk_rule *rule; /* VDxxx: id, name, title (what is checked), source */
	enum vk_doctor_status status;
	char *subject;   /* "0000:01:00.0" for a device check, NULL otherwise */
	char *reason;    /* one line: why this status */
	char *fix;       /* what to do; lines separated by '\n'; NULL on PASS */
	char **evidence; /* the paths read (as a user would type them) and values seen */
	size_t n_evidence;
};

struct vk_doctor_report {
	struct vk_doctor_check *checks;
	size_t n, cap;
};

/* The account QEMU runs as (--user). */
struct vk_doctor_user {
	char name[64]; /* "" for a numeric uid without a passwd entry */
	uid_t uid;
	gid_t gid;     /* (gid_t)-1 when unknown */
	gid_t *groups; /* supplementary groups (primary included), malloc'd */
	size_t n_groups;
};

#define VK_DOCTOR_UNLIMITED UINT64_MAX

struct vk_doctor_options {
	const struct vk_root *root;        /* the host tree (required) */
	const struct vk_pci_addr *devices; /* devices to check; NULL/0: every device bound to vfio-pci */
	size_t n_devices;
	const struct vk_doctor_user *user; /* check node access for this account (NULL: skip) */
	uint64_t memory;                   /* the VM's memory in bytes, 0 = not given */
	uint64_t memlock;                  /* RLIMIT_MEMLOCK stated by the caller (bytes or VK_DOCTOR_UNLIMITED) */
	bool memlock_given;                /* false: getrlimit() for the caller, "unknown" for another --user */
	const char *qemu;                  /* QEMU binary; NULL: search $PATH (see vk_doctor_find_qemu()) */
	bool skip_qemu;                    /* leave the QEMU check out */
	/* The root is another host's tree (not this machine's "/"): this
	 * machine's QEMU and this process's RLIMIT_MEMLOCK say nothing about
	 * that host, so VD201 without memlock_given and VD301 without qemu are
	 * VK_DOCTOR_SKIP rather than judged from here. */
	bool other_host;
};

/* "PASS", "WARN", "FAIL", "SKIP". */
const char *vk_doctor_status_name(enum vk_doctor_status s);

/**
 * vk_doctor_run() - run every check.
 * @o:   what to check.
 * @rep: receives the checks, in order: platform, devices, limits, QEMU.
 * @err: the reason on failure.
 *
 * Facts about the host (no IOMMU, a missing node) are results, not errors.
 * Returns 0, -ENOMEM, or -errno when the tree cannot be read at all.
 */
int vk_doctor_run(const struct vk_doctor_options *o, struct vk_doctor_report *rep, struct vk_error *err);

/**
 * vk_doctor_check_platform() - IOMMU (VD001), interrupt remapping (VD002),
 * VFIO modules (VD003), iommufd (VD004), /dev/iommu (VD005),
 * VFIO_DEVICE_CDEV (VD006) and no-IOMMU mode (VD007).
 * Returns 0, -ENOMEM.
 */
int vk_doctor_check_platform(const struct vk_doctor_options *o, struct vk_doctor_report *rep,
                             struct vk_error *err);

/**
 * vk_doctor_check_device() - the per-device checks VD101..VD107 for @addr.
 * Returns 0, -ENOMEM, or -errno when the tree cannot be read (a hostile tree).
 */
int vk_doctor_check_device(const struct vk_doctor_options *o, const struct vk_pci_addr *addr,
                           struct vk_doctor_report *rep, struct vk_error *err);

/**
 * vk_doctor_vfio_devices() - every device bound to vfio-pci or one of its
 * variant drivers (sys/bus/pci/drivers/<driver>/<BDF> links, for each driver
 * vk_pci_driver_is_vfio_pci() accepts), in address order.
 * @out: receives a malloc'd array (NULL when none).
 * Returns 0, -ENOMEM.
 */
int vk_doctor_vfio_devices(const struct vk_root *root, struct vk_pci_addr **out, size_t *n, struct vk_error *err);

/**
 * vk_doctor_check_memlock() - RLIMIT_MEMLOCK against the VM's memory (VD201);
 * SKIP for @o->other_host without @o->memlock_given.
 * Returns 0, -ENOMEM.
 */
int vk_doctor_check_memlock(const struct vk_doctor_options *o, struct vk_doctor_report *rep,
                            struct vk_error *err);

/**
 * vk_doctor_check_qemu() - whether the QEMU binary has the iommufd backend and
 * FD passing (VD301), by running it (vk_qemu_caps_probe()); a binary that cannot
 * be found or run is a WARN, never a guessed result; SKIP for @o->other_host
 * without @o->qemu.
 * Returns 0, -ENOMEM.
 */
int vk_doctor_check_qemu(const struct vk_doctor_options *o, struct vk_doctor_report *rep,
                         struct vk_error *err);

/**
 * vk_doctor_find_qemu() - the first of qemu-system-x86_64, qemu-system-aarch64,
 * qemu-system-ppc64, qemu-system-s390x, qemu-kvm found executable in @path
 * (a $PATH-style list; NULL: getenv("PATH")), then /usr/libexec/qemu-kvm.
 * @buf: receives the full path.
 * Returns 0, or -ENOENT when there is none.
 */
int vk_doctor_find_qemu(const char *path, char *buf, size_t len);

/**
 * vk_doctor_user_resolve() - a user by name or numeric uid: uid, primary gid
 * and groups (getpwnam()/getpwuid() and getgrouplist() of this machine).
 * A numeric uid without a passwd entry is accepted with no groups.
 * @out: free with vk_doctor_user_free().
 * Returns 0, -ENOENT (no such user name), -EINVAL (empty), -ENOMEM.
 */
int vk_doctor_user_resolve(const char *spec, struct vk_doctor_user *out, struct vk_error *err);

/* Free the groups of a resolved user; safe on a zeroed one. */
void vk_doctor_user_free(struct vk_doctor_user *u);

/**
 * vk_doctor_user_can_rw() - whether @u may open a node of owner @uid, group
 * @gid and permission bits @mode for reading and writing, by the kernel's DAC
 * rules: uid 0 always (CAP_DAC_OVERRIDE); the owner bits when @u owns it,
 * else the group bits when @gid is one of @u's groups, else the other bits.
 * POSIX ACLs are not evaluated.
 */
bool vk_doctor_user_can_rw(const struct vk_doctor_user *u, uid_t uid, gid_t gid, mode_t mode);

/**
 * vk_doctor_parse_size() - "16G", "512M", "1024k", "2T", "1GiB", "4096" (bytes),
 * binary multiples as QEMU's -m and ulimit use; "unlimited"/"infinity" give
 * VK_DOCTOR_UNLIMITED when @allow_unlimited.
 * Returns 0, or -EINVAL for anything else (overflow included).
 */
int vk_doctor_parse_size(const char *s, bool allow_unlimited, uint64_t *out);

/* "16 GiB", "64 MiB", "1.5 GiB", "unlimited" into @buf. */
const char *vk_doctor_format_size(uint64_t bytes, char *buf, size_t len);

/**
 * vk_doctor_add() - append a check result.
 * @rule_id:  a VDxxx id or name from the catalogue (-EINVAL otherwise).
 * @subject:  may be NULL.
 * @fix:      may be NULL (the rule's hint is NOT substituted: a PASS has none).
 * @reason:   printf format.
 * Returns 0, -EINVAL, -ENOMEM.  Evidence is added with vk_doctor_evidence().
 */
int vk_doctor_add(struct vk_doctor_report *rep, const char *rule_id, enum vk_doctor_status status,
                  const char *subject, const char *fix, const char *reason, ...)
	__attribute__((format(printf, 6, 7)));

/* Add one evidence line (printf format) to the last check.  Returns 0 or -ENOMEM. */
int vk_doctor_evidence(struct vk_doctor_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Number of checks with status @s. */
size_t vk_doctor_count(const struct vk_doctor_report *rep, enum vk_doctor_status s);

/* The first check of rule @id_or_name (and @subject when not NULL), or NULL. */
const struct vk_doctor_check *vk_doctor_find(const struct vk_doctor_report *rep, const char *id_or_name,
                                             const char *subject);

/* Free every check; the report is then empty and reusable. */
void vk_doctor_report_clear(struct vk_doctor_report *rep);

/* vk_doctor_print_with() flags */
#define VK_DOCTOR_PRINT_COLOR 0x1u    /* ANSI colours (the caller decides: --color, a terminal, NO_COLOR) */
#define VK_DOCTOR_PRINT_EVIDENCE 0x2u /* each check's evidence under it (-v) */
#define VK_DOCTOR_PRINT_PROBLEMS 0x4u /* only the checks that did not pass (-q) */

/**
 * vk_doctor_print_with() - the checks in the style of virt-host-validate, in
 * 80 columns: one line per check,
 * "        VFIO: Checking for an IOMMU ...                    : FAIL",
 * (a title too long for its field goes on over two lines), then indented
 * under it the reason, the fix lines and with VK_DOCTOR_PRINT_EVIDENCE the
 * evidence, each wrapped at a space before column 80.
 * Returns 0 or -errno of the write.
 */
int vk_doctor_print_with(const struct vk_doctor_report *rep, FILE *f, unsigned flags);

/* vk_doctor_print_with() with colours or none, every check, no evidence. */
int vk_doctor_print(const struct vk_doctor_report *rep, FILE *f, bool color);

/**
 * vk_doctor_json() - the report as JSON (docs/schemas/vfio-doctor.schema.json):
 * {"tool":"vfio-doctor","checks":[{"id","name","category","subject","title",
 *  "status","reason","fix","evidence":[...],"source"}...],
 *  "summary":{"pass","warn","fail","skip"}} plus the members of @extra (a JSON object
 * text, may be NULL).
 * Returns a malloc'd string or NULL on ENOMEM.
 */
char *vk_doctor_json(const struct vk_doctor_report *rep, const char *extra);

/* "platform", "device", "limits" or "qemu", from a rule id. */
const char *vk_doctor_category(const struct vk_rule *rule);

/**
 * vk_doctor_to_findings() - every WARN (warning) and FAIL (error) check as a
 * finding of the engine's report (PASS and SKIP are none), so that one
 * consumer can take both tools' output.  Returns 0 or -ENOMEM.
 */
int vk_doctor_to_findings(const struct vk_doctor_report *rep, struct vk_report *out);

#ifdef __cplusplus
}
#endif

#endif
