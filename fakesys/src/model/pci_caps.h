/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI capabilities: the lists a synthesized config space carries, and what
 * the kernel derives from a config space's capabilities (reset methods, PCIe
 * link attributes, ARI, the SR-IOV registers).  Layouts follow the kernel's
 * include/uapi/linux/pci_regs.h, which this code includes.
 */
#ifndef VFIOKIT_PCI_CAPS_H
#define VFIOKIT_PCI_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/host_model.h>

/* The capabilities a synthesized config space may carry (host_device.caps). */
#define PCI_CAPS_PM 0x01u          /* Power Management (PCI_CAP_ID_PM) */
#define PCI_CAPS_MSI 0x02u         /* MSI (PCI_CAP_ID_MSI) */
#define PCI_CAPS_MSIX 0x04u        /* MSI-X (PCI_CAP_ID_MSIX) */
#define PCI_CAPS_PCIE 0x08u        /* PCI Express (PCI_CAP_ID_EXP), and 4096 bytes of config */
#define PCI_CAPS_AER 0x10u         /* Advanced Error Reporting (PCI_EXT_CAP_ID_ERR) */
#define PCI_CAPS_ACS 0x20u         /* Access Control Services (PCI_EXT_CAP_ID_ACS) */
#define PCI_CAPS_SRIOV 0x40u       /* SR-IOV (PCI_EXT_CAP_ID_SRIOV) */
#define PCI_CAPS_ARI 0x80u         /* Alternative Routing-ID (PCI_EXT_CAP_ID_ARI) */
#define PCI_CAPS_GIVEN 0x80000000u /* the scenario listed them (capabilities:) */

/* The bit of a capabilities: name ("pm", "msix", ...), 0 for an unknown name. */
uint32_t pci_caps_bit(const char *name);

/* The names, for messages: "pm, msi, msix, pcie, aer, acs, sriov, ari". */
const char *pci_caps_names(void);

struct yreader;
struct ynode;
/* A capabilities: list (names, each once) into *@out, PCI_CAPS_GIVEN set; an
 * empty list is a config space without capabilities.  0 or -EINVAL/-ENOMEM. */
int pci_caps_parse(struct yreader *y, const struct ynode *v, uint32_t *out);

/*
 * pci_caps_synthesize() - the capability list of device @i's synthesized config.
 * @m:   the model; devices sorted, parents, PFs and VFs resolved.
 * @i:   the device, whose 256-byte header synthesize_config() wrote.
 * @why: receives the reason when the scenario's capabilities: cannot be.
 *
 * The set is the scenario's capabilities: (d->caps with PCI_CAPS_GIVEN), else
 * the default for the device's class, SR-IOV role and place in the topology.
 * A PCIe set grows the config to 4096 bytes.  A VF's BAR0 moves into its PF's
 * VF BAR window (the SR-IOV capability's VF BAR0).
 *
 * Returns 0, -EINVAL (@why filled) or -ENOMEM.
 */
int pci_caps_synthesize(struct vk_host_model *m, size_t i, char *why, size_t why_len);

/*
 * The reset methods the kernel would find for device @i, as reset_method
 * shows them ("flr bus\n"; "" when none: then there is no reset file either).
 * Returns the length, or -1 when @len is too small.
 */
int pci_reset_methods(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len);

/* Whether @d is PCI Express (its config has the Express capability). */
bool pci_is_pcie(const struct vk_host_device *d);

/* "16.0 GT/s PCIe\n" / "16\n": the link attributes of a PCIe device (pci-sysfs.c). */
int pci_link_speed_show(const struct vk_host_device *d, bool max, char *buf, size_t len);
int pci_link_width_show(const struct vk_host_device *d, bool max, char *buf, size_t len);

/* pci_ari_enabled(dev->bus): the bridge above @d forwards ARI. */
bool pci_ari_enabled(const struct vk_host_model *m, const struct vk_host_device *d);

/* First VF offset and stride of PF @d (the SR-IOV capability, else from its VFs' addresses). */
void pci_sriov_offset_stride(const struct vk_host_model *m, const struct vk_host_device *d, unsigned *offset,
                             unsigned *stride);

/* The VF BAR0 window of PF @d: its base and the size of one VF's BAR0; false when it has none. */
bool pci_sriov_vf_bar(const struct vk_host_model *m, const struct vk_host_device *d, uint64_t *base, uint64_t *size);

/*
 * @cfg (a copy of @d's config, @len bytes) as the device shows it now: the
 * SR-IOV NumVFs and VF Enable follow the VFs the model has (sriov_numvfs
 * writes change them on a live mount).
 */
void pci_config_current(const struct vk_host_device *d, uint8_t *cfg, size_t len);

#endif
