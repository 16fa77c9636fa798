/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_HOST_MODEL_H
#define VFIOKIT_HOST_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/error.h>
#include <vfiokit/pci_addr.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vk_fakesys_fault; /* <vfiokit/fakesys_live.h> */

/*
 * The host model: what a scenario says about one machine, with every default
 * filled in and every cross-reference checked.  The tree builder reads only
 * this; nothing here knows YAML or FUSE.
 */

/* ACPI tables a scenario can have (firmware: acpi_tables:). */
enum {
	VK_HOST_ACPI_DMAR = 1u << 0, /* Intel VT-d: DMA remapping reporting */
	VK_HOST_ACPI_IVRS = 1u << 1, /* AMD-Vi: I/O virtualization reporting */
};

enum vk_iommu_vendor {
	VK_IOMMU_NONE,
	VK_IOMMU_INTEL,    /* DMAR units: sys/class/iommu/dmarN */
	VK_IOMMU_AMD,      /* AMD-Vi: sys/class/iommu/ivhdN */
	VK_IOMMU_ARM_SMMU, /* SMMUv3: sys/class/iommu/smmu3.N */
	VK_IOMMU_VIRTIO,   /* virtio-iommu in a guest */
};

/* Owner and mode of one /dev node; @present false removes a node the model
 * would otherwise have (a udev rule that did not run, a devtmpfs gap). */
struct vk_dev_node_spec {
	uint32_t uid, gid;
	uint32_t mode; /* permission bits */
	bool present;
};

struct vk_kmodule {
	char *name;
	bool builtin;       /* sys/module/<name> without initstate/refcnt */
	char **param_names; /* sys/module/<name>/parameters/<p> */
	char **param_values;
	size_t n_params;
};

struct vk_host_group {
	uint32_t id;
	char *type;                   /* "DMA", "DMA-FQ", "identity", "blocked" */
	struct vk_dev_node_spec node; /* /dev/vfio/<id> (noiommu-<id> in no-IOMMU mode) */
	int64_t vfio_minor;           /* minor of /dev/vfio/<id> while vfio holds the group, else -1;
	                        * kept for the group's life, as vfio's group ida does */
	size_t *members;              /* indices into devices, in address order */
	size_t n_members;
};

/* One network interface of a NIC function (a device's net:): sys/class/net/<name>
 * and <device>/net/<name> while a network driver is bound. */
struct vk_host_netif {
	char *name;     /* a valid interface name (dev_valid_name()) */
	uint8_t mac[6]; /* address */
	bool up;        /* operstate up (carrier) or down */
};

struct vk_host_device {
	struct vk_pci_addr addr;
	unsigned line; /* scenario line, for messages */
	int parent;    /* index into devices, -1 = on a root bus */
	uint16_t vendor, device, subsystem_vendor, subsystem_device;
	uint32_t class_code; /* 24 bits: base, sub, prog-if */
	uint8_t revision;
	uint32_t irq;            /* the irq attribute; config byte 0x3c holds its low byte */
	char *driver;            /* NULL = no driver bound */
	char *driver_override;   /* NULL = "(null)" */
	char *label;             /* optional firmware label, NULL = none */
	int64_t iommu_group;     /* -1 = none */
	int numa_node;           /* -1 = none */
	int64_t vfio_index;      /* vfio-dev/vfioN; -1 when not bound to vfio-pci or a variant */
	uint8_t *config;         /* config space bytes */
	size_t config_len;       /* 256 to 4096 (the kernel shows at least 256) */
	size_t config_readable;  /* 0: all config_len bytes; else what a read returns (config_readable:) */
	uint32_t caps;           /* capabilities: as listed (PCI_CAPS_* bits, PCI_CAPS_GIVEN set); 0: by default */
	int physfn;              /* index of the PF for a VF, -1 otherwise */
	uint32_t sriov_totalvfs; /* > 0 marks an SR-IOV PF */
	int *vfs;                /* a PF's VFs (indices, address order): virtfn0.. */
	uint32_t n_vfs;
	uint16_t sriov_vf_device;
	uint64_t bar0_base, bar0_size; /* synthesized memory BAR, 0 size = none */
	uint64_t (*resources)[3];      /* resources: lines (start, end, flags) as given; NULL = synthesize */
	size_t n_resources;
	struct vk_dev_node_spec vfio_node; /* /dev/vfio/devices/vfioN */
	struct vk_host_netif *netifs;      /* net: its interfaces while a network driver is bound */
	size_t n_netifs;
};

struct vk_host_model {
	char *name;
	char *description;
	char *source; /* scenario file path (for messages) */

	/* kernel features */
	enum vk_iommu_vendor iommu;
	unsigned iommu_units; /* DMAR/IVHD/SMMU instances (one per socket by default) */
	char *default_group_type;
	bool vfio_device_cdev; /* CONFIG_VFIO_DEVICE_CDEV */
	bool iommufd;          /* CONFIG_IOMMUFD and the module loaded */
	bool noiommu;          /* vfio enable_unsafe_noiommu_mode=Y */
	bool interrupt_remapping;
	char *kernel_release;
	char *cmdline;
	char *cpu_vendor;     /* proc/cpuinfo vendor_id ("GenuineIntel"); NULL: no CPUs modelled (the host's show) */
	bool cpu_hypervisor;  /* the "hypervisor" cpuinfo flag: the host is itself a VM */
	uint32_t cpu_count;   /* logical CPUs: proc/cpuinfo, sys/devices/system/cpu (with cpu_vendor) */
	uint32_t cpu_nodes;   /* NUMA nodes the CPUs are spread over: sys/devices/system/node */
	char *cpu_model_name; /* cpuinfo "model name" */
	char **cpu_flags;     /* cpuinfo "flags", in order */
	size_t n_cpu_flags;
	uint32_t acpi_tables;      /* HOST_ACPI_* bits: sys/firmware/acpi/tables/<signature> */
	uint32_t vfio_cdev_major;  /* dynamic char major of vfio-dev */
	uint32_t vfio_group_major; /* dynamic char major of /dev/vfio/<group> */
	uint32_t iommufd_minor;    /* misc minor of /dev/iommu */

	struct vk_kmodule *modules;
	size_t n_modules;
	char **drivers; /* sys/bus/pci/drivers/<name> (sorted, unique) */
	size_t n_drivers;

	struct vk_host_device *devices; /* sorted by address */
	size_t n_devices;
	struct vk_host_group *groups; /* sorted by id */
	size_t n_groups;

	struct vk_dev_node_spec dev_iommu; /* /dev/iommu */
	struct vk_dev_node_spec dev_vfio;  /* /dev/vfio/vfio */

	struct vk_fakesys_fault *faults; /* the scenario's faults: (served by a FUSE mount) */
	size_t n_faults;
	struct vk_fakesys_fault *steps; /* the scenario's steps: (fakesys_fault.step set) */
	size_t n_steps;

	/* IDs added at run time through a driver's new_id (a live mount). */
	struct vk_host_dynid *dynids;
	size_t n_dynids;
	/* The part of each driver's static ID table fakesys knows: the vendor and
	 * device of every device the scenario binds to it (but to vfio-pci, its
	 * variants and pci-stub, which have none); a re-probe finds them. */
	struct vk_host_dynid *native_ids;
	size_t n_native_ids;

	/* The scenario's expect: block (`fakesys test`); NULL when it has none. */
	struct vk_fakesys_expect *expect;
};

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

/* One sys/bus/pci/drivers/<driver>/new_id entry; 0xffffffff = any. */
struct vk_host_dynid {
	char *driver;
	uint32_t vendor, device, subvendor, subdevice, class_code, class_mask;
};

/* Drivers fakesys knows without a declaration (their kernel names). */
extern const char *const host_known_drivers[];

/* The kernel module providing @driver ("xhci_hcd" -> "xhci_pci", a vfio-pci
 * variant its KBUILD_MODNAME: "xe-vfio-pci" -> "xe_vfio_pci"), NULL for a
 * driver that is always built in (pcieport).  The result may point into a
 * per-thread buffer valid until the next call. */
const char *vk_host_driver_module(const char *driver);

/**
 * vk_host_model_load() - read, validate and complete a scenario file.
 * @path: YAML scenario (format version 1, docs/scenario-format.md).
 * @out:  receives a model to free with vk_host_model_free().
 * @err:  receives "file:line:column: key: what was expected; how to fix".
 *
 * Returns 0, or a negative errno: -ENOENT/-EACCES/... reading @path, -EINVAL
 * for a malformed or inconsistent scenario, -ENOMEM.
 */
int vk_host_model_load(const char *path, struct vk_host_model **out, struct vk_error *err);

/* As vk_host_model_load(), from a buffer; @name is used in messages. */
int vk_host_model_load_buffer(const char *name, const char *buf, size_t len, struct vk_host_model **out,
                              struct vk_error *err);

void vk_host_model_free(struct vk_host_model *m);

/* The device at @a, or NULL. */
const struct vk_host_device *vk_host_model_find(const struct vk_host_model *m, const struct vk_pci_addr *a);

/* The group with @id, or NULL. */
const struct vk_host_group *vk_host_model_group(const struct vk_host_model *m, uint32_t id);

/**
 * vk_host_model_assign_group_minors() - give every group that vfio holds (a member
 * bound to vfio-pci or a variant driver) the lowest free /dev/vfio/<group> minor it does not have
 * yet, and release the minor of a group vfio no longer holds.  Minors of held
 * groups never change, so a group node keeps its number while others come and go.
 */
void vk_host_model_assign_group_minors(struct vk_host_model *m);

/* Whether module @name is loaded or built in. */
bool vk_host_model_has_module(const struct vk_host_model *m, const char *name);

/* Whether the VFIO core is there: a vfio, vfio_pci or vfio_pci_core module
 * (the last two need vfio).  It gives /dev/vfio/vfio, sys/class/vfio and
 * sys/class/vfio-dev, and the /dev/vfio nodes of groups and cdevs. */
bool vk_host_model_has_vfio(const struct vk_host_model *m);

/* "intel", "amd", "arm-smmu-v3", "virtio", "none". */
const char *vk_iommu_vendor_name(enum vk_iommu_vendor v);

/* A short English name for a class code ("VGA compatible controller"). */
const char *vk_pci_class_name(uint32_t class_code);

#ifdef __cplusplus
}
#endif

#endif
