/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scenario's expect: block, the runner's own section (expect.c): what the
 * resolver, vfio-doctor and vfio-validate are expected to say about the host.
 * fakesys's loader hands the section over (vk_scenario_section.h) and knows
 * nothing of its schema.  docs/scenario-format.md, "expect:".
 */
#ifndef CONFORMANCE_EXPECT_H
#define CONFORMANCE_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/error.h>
#include <vfiokit/fakesys_scenario.h>
#include <vfiokit/pci_addr.h>

/* What the resolver is expected to answer for one device (expect: resolver:). */
enum vk_fakesys_expect_class {
	VK_FAKESYS_EXPECT_CDEV = 0,     /* opened: the node path in .path */
	VK_FAKESYS_EXPECT_ABSENT,       /* no sys/bus/pci/devices/<BDF> */
	VK_FAKESYS_EXPECT_NOT_VFIO_PCI, /* bound to another driver or to none */
	VK_FAKESYS_EXPECT_NO_CDEV,      /* vfio-pci, but no vfio-dev/ or no `dev` (no VFIO_DEVICE_CDEV, no-IOMMU) */
	VK_FAKESYS_EXPECT_MALFORMED,    /* vfio-dev/ or its `dev` attribute malformed, node not examinable */
	VK_FAKESYS_EXPECT_NODE_MISSING, /* /dev/vfio/devices/vfioN missing */
	VK_FAKESYS_EXPECT_ACCESS,       /* open failed with EACCES or EPERM */
	VK_FAKESYS_EXPECT_BUSY,         /* open failed with EBUSY */
	VK_FAKESYS_EXPECT_GONE,         /* the device went away between lookup and open (ENODEV, ENXIO, ENOENT) */
	VK_FAKESYS_EXPECT_ERROR,        /* any other failure */
};

struct vk_fakesys_expect_resolve {
	struct vk_pci_addr addr;
	enum vk_fakesys_expect_class cls;
	char *path; /* VK_FAKESYS_EXPECT_CDEV: "/dev/vfio/devices/vfio0" */
	unsigned line;
};

/* A doctor check's status; VK_FAKESYS_EXPECT_MISSING: the check must not be reported. */
enum { VK_FAKESYS_EXPECT_PASS = 0,
       VK_FAKESYS_EXPECT_WARN = 1,
       VK_FAKESYS_EXPECT_FAIL = 2,
       VK_FAKESYS_EXPECT_MISSING = 3 };

struct vk_fakesys_expect_doctor {
	char *id;      /* "VD101" */
	char *subject; /* "0000:01:00.0", or NULL: every check of that id */
	int status;    /* VK_FAKESYS_EXPECT_PASS.. */
	unsigned line;
};

/* One rule on the access log of the set phase (expect: access:). */
struct vk_fakesys_expect_access {
	char *path;   /* fnmatch(3) pattern with FNM_PATHNAME; NULL: any path */
	char *op;     /* "open", "read", ... as the log names them; NULL: any */
	char **flags; /* open flags that must all be present ("O_RDWR"); NULL-terminated */
	size_t n_flags;
	bool each;      /* @count applies to each path matched (at least one must be) */
	uint64_t count; /* exactly this many matching records */
	unsigned line;
};

/* The expect: block; see docs/scenario-format.md, "expect:". */
/* A place in the scenario file, 1-based (0: none). */
struct vk_fakesys_pos {
	unsigned line, col;
};

/* A rule id the expectations name (doctor: VDnnn, validate: findings: VVnnn),
 * where it is written.  The loader checks its shape only; whether the rule
 * exists is for a checker that knows the catalogue (conformance's precheck). */
struct vk_fakesys_expect_rule_ref {
	char *id;
	struct vk_fakesys_pos pos;
};

struct vk_fakesys_expect {
	struct vk_fakesys_expect_resolve *resolve;
	size_t n_resolve;
	struct vk_fakesys_expect_doctor *doctor;
	size_t n_doctor;

	bool has_argv;
	bool argv_resolver; /* argv: resolver (the resolver's set, opened in the runner) */
	char **argv;        /* otherwise the words (NULL-terminated) */
	size_t argc;
	bool argv_json;                   /* argv_syntax: json */
	struct vk_pci_addr *argv_devices; /* argv_devices: (default: every device bound to vfio-pci) */
	size_t n_argv_devices;
	bool has_argv_devices;

	bool has_validate;
	char **findings; /* validate: findings: ids, sorted and unique */
	size_t n_findings;
	char *qemu; /* validate: qemu: built-in capability table version, NULL = newest */

	/* user: the resolver and the set run as this account; vfio-doctor --user */
	bool has_user;
	uint32_t user_uid, user_gid;
	uint32_t *user_groups; /* supplementary groups */
	size_t n_user_groups;

	/* doctor_options: */
	char *memory, *memlock; /* sizes as written ("16G", "unlimited"); checked by the runner */
	char *doctor_qemu;      /* QEMU binary asked for VD301; NULL: that check is left out */
	unsigned doctor_options_line;
	struct vk_fakesys_pos memory_pos, memlock_pos;
	struct vk_fakesys_expect_rule_ref *rule_refs; /* every rule id named, in file order */
	size_t n_rule_refs;

	/* requires: programs that must be found on $PATH, else the scenario is skipped */
	char **requires;
	size_t n_requires;

	/* set: (the set phase runs with set:, access: or argv: resolver) */
	bool has_set;
	bool set_fails; /* set: {fails_at: ...}; otherwise "opened" */
	struct vk_pci_addr set_fail_addr;
	bool set_fail_iommufd; /* fails_at: /dev/iommu */
	enum vk_fakesys_expect_class set_fail_class;
	unsigned set_line;
	struct vk_fakesys_expect_access *access;
	size_t n_access;
};

/* Free an expect: block; NULL is allowed. */
void vk_fakesys_expect_free(struct vk_fakesys_expect *x);

/* "absent", "not-vfio-pci", ... for a class. */
const char *vk_fakesys_expect_class_name(enum vk_fakesys_expect_class c);

/**
 * runner_scenario_load() - a scenario file with its expect: block.
 * @path: the scenario.
 * @s:    receives the scenario (vk_fakesys_scenario_free()).
 * @x:    receives its expect: block (vk_fakesys_expect_free()), NULL when it has none.
 * @err:  receives "file:line:column: key: ..." as fakesys's loader words it.
 *
 * Returns 0 or a negative errno, with nothing to free.
 */
int runner_scenario_load(const char *path, struct vk_fakesys_scenario **s, struct vk_fakesys_expect **x,
                         struct vk_error *err);
/* As runner_scenario_load(), from a buffer; @name is used in messages. */
int runner_scenario_load_buffer(const char *name, const char *buf, size_t len, struct vk_fakesys_scenario **s,
                                struct vk_fakesys_expect **x, struct vk_error *err);

#endif
