/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_EMUL_INTERNAL_H
#define VFIOKIT_EMUL_INTERNAL_H

/*
 * The emulated kernel's objects, shared by the files of emul/.  Names follow
 * the kernel's (drivers/vfio/vfio.h, container.c, group.c, vfio_iommu_type1.c,
 * pci/vfio_pci_core.c, drivers/iommu/iommufd/iommufd_private.h) so that each
 * handler can be read beside the function it imitates.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "emul.h"
#include "uapi_compat.h"

#define EMUL_PAGE_SIZE 4096ull
#define EMUL_ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define EMUL_ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define EMUL_MAX_RANGES 16
#define EMUL_MAX_ALLOWED 64

/* vfio-pci's region offsets: drivers/vfio/pci/vfio_pci_priv.h */
#define VFIO_PCI_OFFSET_SHIFT 40
#define VFIO_PCI_OFFSET_TO_INDEX(off) ((off) >> VFIO_PCI_OFFSET_SHIFT)
#define VFIO_PCI_INDEX_TO_OFFSET(index) ((uint64_t)(index) << VFIO_PCI_OFFSET_SHIFT)
#define VFIO_PCI_OFFSET_MASK (((uint64_t)1 << VFIO_PCI_OFFSET_SHIFT) - 1)

/* One call: the env and, read once on demand, the caller's credentials. */
struct emul_call {
	struct emul *e;
	const struct emul_env *env;
	struct emul_creds creds;
	bool have_creds;
};

struct emul_range {
	uint64_t start, last; /* inclusive */
};

/* ---- the host, read from the tree (host.c) --------------------------------------- */

enum emul_iommu_kind { IOMMU_NONE_KIND,
	               VK_IOMMU_INTEL,
	               VK_IOMMU_AMD,
	               IOMMU_OTHER };

struct emul_iommu_info {
	enum emul_iommu_kind kind;
	uint64_t cap, ecap;     /* intel-iommu/{cap,ecap} */
	uint64_t aperture_last; /* last IOVA a domain translates */
	uint64_t pgsize_bitmap; /* the domain's page sizes */
	bool isolated_msi;      /* interrupt remapping */
	bool enforce_cc;        /* IOMMU_CAP_ENFORCE_CACHE_COHERENCY */
	bool dirty_tracking;    /* IOMMU_CAP_DIRTY_TRACKING */
};

struct emul_resource {
	uint64_t start, end, flags; /* a line of the `resource` file */
};

#define EMUL_MAX_GROUP_DEVS 64
#define PCI_NUM_RESOURCES_STD 6

int host_read(const struct emul *e, const char *rel, char *buf, size_t len);
int host_readlink_base(const struct emul *e, const char *rel, char *buf, size_t len);
bool host_exists(const struct emul *e, const char *rel);
int host_dev_driver(const struct emul *e, const char *bdf, char *buf, size_t len);
long host_dev_group(const struct emul *e, const char *bdf);
int host_group_devices(const struct emul *e, long group, char (*bdfs)[20], int max);
int host_dev_config(const struct emul *e, const char *bdf, uint8_t *buf, size_t len);
int host_dev_resources(const struct emul *e, const char *bdf, struct emul_resource *res, int max);
long host_dev_irq(const struct emul *e, const char *bdf);
bool host_dev_is_vf(const struct emul *e, const char *bdf);
int host_dev_physfn(const struct emul *e, const char *bdf, char *buf, size_t len);
bool host_dev_is_pf(const struct emul *e, const char *bdf);
int host_dev_bus_peers(const struct emul *e, const char *bdf, char (*bdfs)[20], int max, bool *root_bus);
int host_iommu_info(const struct emul *e, const char *bdf, struct emul_iommu_info *out);
int host_group_reserved(const struct emul *e, long group, struct emul_range *out, int max);
bool host_module_loaded(const struct emul *e, const char *mod);
bool host_module_param_y(const struct emul *e, const char *mod, const char *param);
bool host_driver_is_vfio(const char *driver);
bool host_driver_keeps_group_free(const char *driver);
/* A group no kernel driver uses for DMA: iommu_group_dma_owner_claimed() is false. */
bool host_group_free_of_kernel_dma(const struct emul *e, long group);

/* ---- files ------------------------------------------------------------------------- */

struct emul_container;
struct emul_group;
struct emul_device;
struct emul_devfile;
struct emul_ictx;

struct emul_file {
	struct emul_file *next;
	enum emul_kind kind;
	unsigned refs;
	int oflags;
	char name[64];
	union {
		struct emul_container *c;
		struct emul_group *g;
		struct emul_devfile *df;
		struct emul_ictx *ictx;
	} u;
};

struct emul_file *file_new(struct emul *e, enum emul_kind kind, int oflags, const char *name);

/* ---- legacy: container, group, type1 (vfio_legacy.c) ----------------------------------- */

struct emul_dma {
	struct emul_dma *next; /* sorted by iova */
	uint64_t iova, size, vaddr;
	int prot;
	pid_t tgid; /* dma->task: whose mm and rlimit */
	bool lock_cap;
	uint64_t charged; /* bytes charged to the mm */
};

struct emul_container {
	struct emul_container *next;
	unsigned refs; /* the file and each group set to it (container kref) */
	struct emul_group *groups;
	int iommu; /* the VFIO_SET_IOMMU type, 0 when unset */
	bool noiommu;
	struct emul_dma *dma;
	unsigned dma_avail;
	uint64_t pgsize_bitmap;
	bool dirty_tracking;
	struct emul_range iova[EMUL_MAX_RANGES];
	int niova;
	bool enforce_cc;
};

struct emul_group {
	struct emul_group *next;
	long id;
	bool noiommu;
	struct emul_file *opened_file;
	unsigned cdev_open_cnt;
	struct emul_container *container;
	unsigned container_users;
	struct emul_group *cnext;  /* in container->groups */
	struct emul_ictx *iommufd; /* VFIO_GROUP_SET_CONTAINER with an iommufd */
};

struct emul_group *group_get(struct emul *e, long id);
long legacy_container_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg);
long legacy_group_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg);
void legacy_group_release(struct emul_call *c, struct emul_group *g);
void legacy_container_put(struct emul *e, struct emul_container *ct);
int legacy_group_open(struct emul_call *c, long id, bool noiommu, struct emul_group **out);
bool group_has_iommu(const struct emul_group *g);

/* ---- devices (vfio_device.c, vfio_config.c) ----------------------------------------- */

enum { IRQ_NONE_TYPE = -1 };

/* VFIO_DEVICE_IOEVENTFD: a write to a BAR on a signal */
struct emul_ioeventfd {
	struct emul_ioeventfd *next;
	unsigned bar;
	uint64_t pos, data;
	unsigned count;
	int handle;
};

struct emul_device {
	struct emul_device *next;
	char bdf[20];
	unsigned open_count;
	bool cdev_opened;
	/* per-open state: vfio_pci_core_enable() .. vfio_pci_core_disable() */
	uint8_t vconfig[4096];
	uint8_t physw[4096]; /* writes that went to "hardware" */
	uint8_t physw_mask[4096];
	unsigned cfg_size;
	bool reset_works;
	int irq_type;     /* VFIO_PCI_*_IRQ_INDEX in use, IRQ_NONE_TYPE */
	int intx_trigger; /* handles (FDs of ours), -1 none */
	bool intx_masked;
	int *ctx_trigger; /* MSI/MSI-X vectors */
	unsigned nctx;
	int err_trigger, req_trigger;
	bool low_power;
	int pm_wake; /* the low power entry's wakeup eventfd, -1 none */
	struct emul_ioeventfd *ioeventfds;
	unsigned nioeventfds;
	uint8_t vf_token[16];
	/* iommufd (cdev, or a group set to an iommufd) */
	struct emul_ictx *ictx;
	uint32_t idev_id;
	/* what the tests and the access log see */
	unsigned long bar_writes;
	struct emul_bar_write last_bar_write;
	unsigned resets;
};

struct emul_devfile {
	struct emul_device *dev;
	struct emul_file *group_file; /* opened through a group: a reference on it */
	bool access_granted;
	struct emul_ictx *ictx; /* cdev: the bound iommufd (a reference) */
	uint32_t devid;
};

struct emul_device *device_get(struct emul *e, const char *bdf);
int device_open(struct emul_call *c, struct emul_devfile *df);
void device_close(struct emul_call *c, struct emul_devfile *df);
long device_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg);
ssize_t device_rw(struct emul_call *c, struct emul_device *d, void *buf, size_t count, uint64_t pos, bool write);
void device_irqs_off(struct emul_device *d);
/* vfio_intrs.c */
void put_handle(int *h);
void signal_handle(int h);
void msi_off(struct emul_device *d);
unsigned irq_count(struct emul_call *c, struct emul_device *d, unsigned index, const uint8_t *cfg);
int get_trigger(struct emul_call *c, int32_t fd, int *out);
long device_set_irqs(struct emul_call *c, struct emul_device *d, uint64_t arg);
/* vfio_pci_core_match() + vfio_pci_validate_vf_token(): 1 match, 0 no, -errno */
int device_match_name(struct emul_call *c, struct emul_device *d, const char *buf);
/* vfio_config.c */
int config_init(struct emul_call *c, struct emul_device *d);
ssize_t config_rw(struct emul_call *c, struct emul_device *d, uint8_t *buf, size_t count, uint64_t pos, bool write);
int config_phys(struct emul_call *c, struct emul_device *d, uint8_t *buf, size_t len);
uint8_t config_find_cap(const uint8_t *cfg, uint8_t id);
bool config_is_pcie(const uint8_t *cfg);
int device_reset_works(struct emul_call *c, struct emul_device *d, const uint8_t *cfg);

/* ---- iommufd (iommufd.c, iommufd_ioas.c) ------------------------------------------------- */

enum iobj_type { IOBJ_IOAS = 1,
	         IOBJ_HWPT,
	         IOBJ_DEVICE };

struct emul_pages {
	unsigned refs; /* areas using these pages */
	uint64_t uva, length;
	bool writable;
	pid_t tgid;
	uid_t uid;
	int account; /* 0 none (CAP_IPC_LOCK), 1 per user, 2 per mm */
	uint64_t memlock_limit;
	uint64_t locked_before; /* the mm's VmLck when pinned (per-mm mode) */
	uint64_t pinned;        /* bytes charged */
};

struct emul_area {
	struct emul_area *next; /* sorted by iova */
	uint64_t iova, length;
	struct emul_pages *pages;
	uint64_t start_byte; /* offset into pages */
	int prot;
};

struct emul_iobj {
	enum iobj_type type;
	uint32_t id;
	unsigned users;
	union {
		struct {
			struct emul_area *areas;
			struct emul_range allowed[EMUL_MAX_ALLOWED];
			int nallowed;
			uint64_t iova_alignment;
			bool huge_pages;
			unsigned ndomains; /* HWPT_PAGING objects on it */
		} ioas;
		struct {
			uint32_t ioas_id;
			uint32_t flags;
			bool auto_domain;
			bool dirty;
			unsigned ndev;
			struct emul_iommu_info iommu;
			long group; /* the iommu group attached (igroup->hwpt) */
		} hwpt;
		struct {
			struct emul_device *dev;
			long group;
			uint32_t hwpt_id; /* attached, 0 none */
		} idev;
	} u;
};

struct emul_ictx {
	struct emul_ictx *next;
	unsigned refs; /* the file, bound devices, groups set to it */
	struct emul_iobj **objs;
	uint32_t nobjs; /* capacity; ids are 1..nobjs-1 */
	bool account_mm;
	uint32_t vfio_ioas;
};

void ictx_put(struct emul *e, struct emul_ictx *ictx);
long iommufd_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg);
int iommufd_bind_device(struct emul_call *c, struct emul_ictx *ictx, struct emul_device *d, uint32_t *devid);
void iommufd_unbind_device(struct emul_call *c, struct emul_ictx *ictx, uint32_t devid);
int iommufd_attach(struct emul_call *c, struct emul_ictx *ictx, uint32_t devid, uint32_t *pt_id);
void iommufd_detach(struct emul_call *c, struct emul_ictx *ictx, uint32_t devid);
int iommufd_compat_ioas(struct emul_call *c, struct emul_ictx *ictx, uint32_t *out);
struct emul_iobj *iobj_get(struct emul_ictx *ictx, uint32_t id, enum iobj_type type);
long cdev_ioctl_bind(struct emul_call *c, struct emul_file *f, uint64_t arg);
long cdev_ioctl_attach(struct emul_call *c, struct emul_file *f, uint64_t arg);
long cdev_ioctl_detach(struct emul_call *c, struct emul_file *f, uint64_t arg);
void cdev_unbind(struct emul_call *c, struct emul_devfile *df);
/* iommufd_ioas.c */
long ioas_ioctl(struct emul_call *c, struct emul_ictx *ictx, unsigned int cmd, void *cmdbuf, uint32_t usize,
                uint64_t arg);
int ioas_add_domain(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *ioas,
                    const struct emul_iommu_info *iommu, long group);
void ioas_remove_domain(struct emul_call *c, struct emul_ictx *ictx, struct emul_iobj *ioas);
void ioas_destroy(struct emul_call *c, struct emul_iobj *ioas);

/* ---- accounting (emul_core.c) -------------------------------------------------------- */

int call_creds(struct emul_call *c, const struct emul_creds **out);
/* Charge @bytes to the per-user (@mm false) or per-mm counter, within @limit
 * given what is locked already: -ENOMEM past it (vfio_iommu_type1.c
 * vfio_lock_acct(), iommufd/pages.c incr_user_locked_vm()). */
int acct_charge(struct emul *e, bool mm, uint32_t key, uint64_t bytes, uint64_t limit, uint64_t already);
void acct_uncharge(struct emul *e, bool mm, uint32_t key, uint64_t bytes);

/* ---- memory of the caller ------------------------------------------------------------- */

int copy_from_user(struct emul_call *c, void *dst, uint64_t src, size_t len);
int copy_to_user(struct emul_call *c, uint64_t dst, const void *src, size_t len);
/* copy_struct_from_user(): E2BIG when the caller's larger struct has non-zero bytes past ours */
int copy_struct_from_user(struct emul_call *c, void *dst, size_t ksize, uint64_t src, size_t usize);
int clear_user(struct emul_call *c, uint64_t dst, size_t len);

/* The emulated kernel. */
struct emul {
	struct vk_root *root;
	struct emul_file *files;
	struct emul_group *groups;
	struct emul_device *devices;
	struct emul_container *containers;
	struct emul_ictx *ictxs;
	struct emul_acct *acct;
};

#endif
