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
	uint32_t irq;          /* the irq attribute; config byte 0x3c holds its low byte */
	char *driver;          /* NULL = no driver bound */
	char *driver_override; /* NULL = "(null)" */
	char *label;           /* optional firmware label, NULL = none */
	int64_t iommu_group;   /* -1 = none */
	int numa_node;         /* -1 = none */
	int64_t vfio_index;    /* vfio-dev/vfioN; -1 when not bound to vfio-pci or a variant */
	/* Config space, zero-tailed: only the bytes up to the last non-zero one
	 * are stored (most of a 4096-byte PCIe space is zeros), the rest read 0.
	 * Read and write it through vk_host_config_read()/vk_host_config_writable(). */
	uint8_t *config;         /* config_stored bytes; NULL when none */
	size_t config_stored;    /* <= config_len */
	size_t config_len;       /* 256 to 4096 (the kernel shows at least 256); 0: no config yet */
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
	/* When udev initialized it, in the order of the scenario (1, 2, ...; its
	 * udev database entry's "I:"): a device's own, kept when another goes.
	 * 0: its index in @devices. */
	uint32_t udev_seq;
	struct vk_host_netif *netifs; /* net: its interfaces while a network driver is bound */
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

	/* IDs added at run time through a driver's new_id (a live mount). */
	struct vk_host_dynid *dynids;
	size_t n_dynids;
	/* The part of each driver's static ID table fakesys knows: the vendor and
	 * device of every device the scenario binds to it (but to vfio-pci, its
	 * variants and pci-stub, which have none); a re-probe finds them. */
	struct vk_host_dynid *native_ids;
	size_t n_native_ids;
};

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
 * vk_host_model_load() - read, validate and complete a scenario file's host.
 * @path: YAML scenario (format version 1, docs/scenario-format.md).  Its
 *        faults: and steps: are checked and left out (vk_fakesys_scenario_load()
 *        keeps them, <vfiokit/fakesys_scenario.h>); expect:, the conformance
 *        runner's, is skipped.
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

/**
 * vk_host_config_read() - copy bytes [@off, @off + @len) of @d's config space.
 * @buf: receives @len bytes: those stored, zeros past them (and past config_len).
 */
void vk_host_config_read(const struct vk_host_device *d, size_t off, void *buf, size_t len);

/* One byte of @d's config space (0 past the stored part). */
static inline uint8_t vk_host_config_byte(const struct vk_host_device *d, size_t off)
{
	return off < d->config_stored ? d->config[off] : 0;
}

/**
 * vk_host_config_writable() - make bytes [@off, @off + @len) of @d's config writable.
 * @out: receives a pointer to byte @off, valid until the next call that grows
 *       the storage.
 *
 * Grows the stored part, the new bytes zero, to cover the range.
 * Returns 0, -ERANGE for a range past config_len, -ENOMEM.
 */
int vk_host_config_writable(struct vk_host_device *d, size_t off, size_t len, uint8_t **out);

/**
 * vk_host_config_set() - replace @d's config space.
 * @bytes: its first @n bytes, the rest zero.
 * @len:   the size the kernel shows (config_len), at least @n.
 *
 * Keeps only the bytes up to the last non-zero one.  Returns 0, -EINVAL
 * (@n > @len) or -ENOMEM (@d unchanged).
 */
int vk_host_config_set(struct vk_host_device *d, const uint8_t *bytes, size_t n, size_t len);

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
