/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI config space as vfio-pci shows it to its user
 * (drivers/vfio/pci/vfio_pci_config.c): a virtual copy (vconfig) for the
 * fields vfio-pci virtualizes, the "hardware" for the rest.  The hardware is
 * the served tree's `config` file, read at each access, under the writes the
 * user made to hardware bits (kept here: fakesys does not write the tree).
 *
 *  - header: vendor/device virtualized (a VF's from sysfs), INTx-disable and
 *    the capability-list bit virtualized, BARs and the ROM BAR virtual with
 *    sizing (vfio_bar_fixup(): a write of all ones reads back the size mask),
 *    interrupt line virtual and writable, interrupt pin virtual (0 for a VF
 *    or a device without an IRQ), cache line/latency/BIST writable;
 *  - capabilities: id and next pointer virtual, unknown ones unlinked
 *    (pci_cap_length[] == 0), MSI's flags/address/data virtual and writable,
 *    PM's control writable, PCIe DEVCTL writable except phantom functions (an
 *    FLR bit write resets a device that has FLR), the rest read-only;
 *  - bytes in no capability: raw access (unassigned_perms);
 *  - extended capabilities: header virtual, unknown ones unlinked, read-only.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emul_internal.h"

#define MAP_UNASSIGNED 0xff

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t config_find_cap(const uint8_t *cfg, uint8_t id)
{
	if (!(le16(cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	uint8_t pos = cfg[PCI_CAPABILITY_LIST] & ~3;
	for (int ttl = 48; pos >= PCI_STD_HEADER_SIZEOF && ttl--; pos = cfg[pos + PCI_CAP_LIST_NEXT] & ~3)
		if (cfg[pos + PCI_CAP_LIST_ID] == id)
			return pos;
	return 0;
}

bool config_is_pcie(const uint8_t *cfg)
{
	return config_find_cap(cfg, PCI_CAP_ID_EXP) != 0;
}

/* The hardware: the tree's config file under the writes made to hardware bits. */
int config_phys(struct emul_call *c, struct emul_device *d, uint8_t *buf, size_t len)
{
	int r = host_dev_config(c->e, d->bdf, buf, len);

	if (r < 0)
		return r;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((buf[i] & ~d->physw_mask[i]) | (d->physw[i] & d->physw_mask[i]));
	return 0;
}

/* vfio_cap_len(): the length of a standard capability, 0 to hide it */
static unsigned cap_len(const uint8_t *cfg, uint8_t id, uint8_t pos)
{
	switch (id) {
	case PCI_CAP_ID_PM:
		return PCI_PM_SIZEOF;
	case PCI_CAP_ID_AGP:
		return 12;
	case PCI_CAP_ID_VPD:
		return 8;
	case PCI_CAP_ID_MSI: {
		uint16_t fl = le16(cfg + pos + PCI_MSI_FLAGS);
		unsigned len = 10;
		if (fl & PCI_MSI_FLAGS_64BIT)
			len += 4;
		if (fl & PCI_MSI_FLAGS_MASKBIT)
			len += 10;
		return len;
	}
	case PCI_CAP_ID_PCIX:
		return 8;
	case PCI_CAP_ID_HT:
	case PCI_CAP_ID_SATA:
		return 8;
	case PCI_CAP_ID_VNDR:
		return cfg[pos + 2] >= 3 ? cfg[pos + 2] : 3;
	case PCI_CAP_ID_EXP:
		return (le16(cfg + pos + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_VERS) == 1 ? 0x14 : 0x3c;
	case PCI_CAP_ID_MSIX:
		return PCI_CAP_MSIX_SIZEOF;
	case PCI_CAP_ID_AF:
		return PCI_CAP_AF_SIZEOF;
	default:
		return 0; /* SLOTID, CHSWP, DBG, CCRC, SHPC, SSVID, AGP3, SECDEV, EA, unknown */
	}
}

/* pci_ext_cap_length[]: 0 hides */
static unsigned ecap_len(const uint8_t *cfg, uint16_t id, unsigned pos)
{
	switch (id) {
	case PCI_EXT_CAP_ID_ERR:
		return PCI_ERR_ROOT_COMMAND;
	case PCI_EXT_CAP_ID_DSN:
		return PCI_EXT_CAP_DSN_SIZEOF;
	case PCI_EXT_CAP_ID_PWR:
		return PCI_EXT_CAP_PWR_SIZEOF;
	case PCI_EXT_CAP_ID_ARI:
		return PCI_EXT_CAP_ARI_SIZEOF;
	case PCI_EXT_CAP_ID_ATS:
		return PCI_EXT_CAP_ATS_SIZEOF;
	case PCI_EXT_CAP_ID_SRIOV:
		return PCI_EXT_CAP_SRIOV_SIZEOF;
	case PCI_EXT_CAP_ID_MCAST:
		return PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF;
	case PCI_EXT_CAP_ID_PRI:
		return PCI_EXT_CAP_PRI_SIZEOF;
	case PCI_EXT_CAP_ID_LTR:
		return PCI_EXT_CAP_LTR_SIZEOF;
	case PCI_EXT_CAP_ID_VNDR:
	case PCI_EXT_CAP_ID_DVSEC:
		return (le32(cfg + pos + 4) >> 20) ?: 8; /* the vendor header's length */
	case PCI_EXT_CAP_ID_VC:
	case PCI_EXT_CAP_ID_VC9:
	case PCI_EXT_CAP_ID_MFVC:
	case PCI_EXT_CAP_ID_ACS:
	case PCI_EXT_CAP_ID_REBAR:
	case PCI_EXT_CAP_ID_DPA:
	case PCI_EXT_CAP_ID_TPH:
		return 8; /* variable: the header and the first register */
	default:
		return 0;
	}
}

/* The per-byte rules: which bits read from vconfig (virt), which a write changes. */
struct perm {
	uint8_t virt[4096];
	uint8_t write[4096];
	uint8_t map[4096];    /* cap id (0 for the header), MAP_UNASSIGNED */
	uint16_t start[4096]; /* start of the capability a byte belongs to */
};

static void setw(struct perm *p, unsigned off, uint16_t virt, uint16_t write)
{
	put16(p->virt + off, virt);
	put16(p->write + off, write);
}

static void setd(struct perm *p, unsigned off, uint32_t virt, uint32_t write)
{
	put32(p->virt + off, virt);
	put32(p->write + off, write);
}

static void mark(struct perm *p, unsigned pos, unsigned len, uint8_t id, unsigned limit)
{
	for (unsigned i = pos; i < pos + len && i < limit; i++) {
		p->map[i] = id;
		p->start[i] = (uint16_t)pos;
	}
}

/* init_pci_cap_basic_perm() */
static void basic_perm(struct perm *p)
{
	mark(p, 0, PCI_STD_HEADER_SIZEOF, 0, 4096);
	setw(p, PCI_VENDOR_ID, 0xffff, 0);
	setw(p, PCI_DEVICE_ID, 0xffff, 0);
	setw(p, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 0xffff);
	setw(p, PCI_STATUS, PCI_STATUS_CAP_LIST, 0);
	p->write[PCI_CACHE_LINE_SIZE] = p->write[PCI_LATENCY_TIMER] = p->write[PCI_BIST] = 0xff;
	for (unsigned bar = PCI_BASE_ADDRESS_0; bar <= PCI_BASE_ADDRESS_5; bar += 4)
		setd(p, bar, 0xffffffff, 0xffffffff);
	setd(p, PCI_ROM_ADDRESS, 0xffffffff, 0xffffffff);
	p->virt[PCI_CAPABILITY_LIST] = 0xff;
	p->virt[PCI_INTERRUPT_LINE] = 0xff;
	p->write[PCI_INTERRUPT_LINE] = 0xff;
	p->virt[PCI_INTERRUPT_PIN] = 0xff;
}

/* The rules for one standard capability at @pos. */
static void cap_perm(struct perm *p, const uint8_t *cfg, uint8_t id, unsigned pos)
{
	p->virt[pos + PCI_CAP_LIST_ID] = 0xff;
	p->virt[pos + PCI_CAP_LIST_NEXT] = 0xff;
	switch (id) {
	case PCI_CAP_ID_PM:
		/* the state bits change through vfio_pci_set_power_state() */
		setw(p, pos + PCI_PM_CTRL, 0, 0xffff);
		break;
	case PCI_CAP_ID_MSI: { /* init_pci_cap_msi_perm() */
		uint16_t fl = le16(cfg + pos + PCI_MSI_FLAGS);
		p->virt[pos + PCI_MSI_FLAGS] = 0xff;
		p->write[pos + PCI_MSI_FLAGS] = PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE;
		setd(p, pos + PCI_MSI_ADDRESS_LO, 0xffffffff, 0xffffffff);
		if (fl & PCI_MSI_FLAGS_64BIT) {
			setd(p, pos + PCI_MSI_ADDRESS_HI, 0xffffffff, 0xffffffff);
			setw(p, pos + PCI_MSI_DATA_64, 0xffff, 0xffff);
			if (fl & PCI_MSI_FLAGS_MASKBIT)
				setd(p, pos + PCI_MSI_MASK_64, 0, 0xffffffff);
		} else {
			setw(p, pos + PCI_MSI_DATA_32, 0xffff, 0xffff);
			if (fl & PCI_MSI_FLAGS_MASKBIT)
				setd(p, pos + PCI_MSI_MASK_32, 0, 0xffffffff);
		}
		break;
	}
	case PCI_CAP_ID_EXP: /* init_pci_cap_exp_perm() */
		setw(p, pos + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ,
		     (uint16_t)~PCI_EXP_DEVCTL_PHANTOM);
		setw(p, pos + PCI_EXP_DEVCTL2, 0, (uint16_t)~PCI_EXP_DEVCTL2_ARI);
		break;
	case PCI_CAP_ID_AF: /* init_pci_cap_af_perm() */
		p->virt[pos + PCI_AF_CTRL] = PCI_AF_CTRL_FLR;
		p->write[pos + PCI_AF_CTRL] = PCI_AF_CTRL_FLR;
		break;
	}
}

static struct perm *perm_build(struct emul_device *d, const uint8_t *cfg)
{
	struct perm *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	memset(p->map, MAP_UNASSIGNED, sizeof(p->map));
	memset(p->write, 0xff, sizeof(p->write)); /* unassigned: raw */
	memset(p->write, 0, PCI_STD_HEADER_SIZEOF);
	basic_perm(p);
	/* walk the user-visible list: vconfig already has the hidden ones unlinked */
	uint8_t pos = (le16(d->vconfig + PCI_STATUS) & PCI_STATUS_CAP_LIST) ? d->vconfig[PCI_CAPABILITY_LIST] & ~3 : 0;
	for (int ttl = 48; pos >= PCI_STD_HEADER_SIZEOF && ttl--; pos = d->vconfig[pos + PCI_CAP_LIST_NEXT] & ~3) {
		uint8_t id = cfg[pos];
		unsigned len = cap_len(cfg, id, pos);
		mark(p, pos, len, id, PCI_CFG_SPACE_SIZE);
		for (unsigned i = pos; i < pos + len && i < PCI_CFG_SPACE_SIZE; i++)
			p->write[i] = 0;
		cap_perm(p, cfg, id, pos);
	}
	if (d->cfg_size > PCI_CFG_SPACE_SIZE) {
		unsigned epos = PCI_CFG_SPACE_SIZE;
		for (int ttl = 480; epos >= PCI_CFG_SPACE_SIZE && epos < d->cfg_size - 4 && ttl--;) {
			uint32_t hdr = le32(d->vconfig + epos);
			unsigned len = ecap_len(cfg, (uint16_t)PCI_EXT_CAP_ID(le32(cfg + epos)), epos);
			if (!hdr)
				break;
			mark(p, epos, len ?: 4, 0xfe, d->cfg_size);
			for (unsigned i = epos; i < epos + (len ?: 4) && i < d->cfg_size; i++)
				p->write[i] = 0;
			put32(p->virt + epos, 0xffffffff); /* the header is virtual */
			epos = PCI_EXT_CAP_NEXT(hdr);
		}
	}
	return p;
}

/* vfio_cap_init(): unlink the capabilities vfio-pci does not show */
static void caps_hide(struct emul_device *d)
{
	uint8_t *v = d->vconfig;
	uint8_t *prev = &v[PCI_CAPABILITY_LIST];

	if (!(le16(v + PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return;
	uint8_t pos = *prev & ~3;
	for (int ttl = 48; pos >= PCI_STD_HEADER_SIZEOF && ttl--;) {
		uint8_t next = v[pos + PCI_CAP_LIST_NEXT] & ~3;
		if (!cap_len(v, v[pos], pos)) {
			*prev = next;
		} else {
			prev = &v[pos + PCI_CAP_LIST_NEXT];
		}
		pos = next;
	}
	if (!v[PCI_CAPABILITY_LIST])
		put16(v + PCI_STATUS, le16(v + PCI_STATUS) & ~PCI_STATUS_CAP_LIST);
	/* vfio_ecap_init(): unknown extended capabilities */
	if (d->cfg_size <= PCI_CFG_SPACE_SIZE)
		return;
	unsigned epos = PCI_CFG_SPACE_SIZE, prev_e = 0;
	for (int ttl = 480; epos >= PCI_CFG_SPACE_SIZE && epos < d->cfg_size - 4 && ttl--;) {
		uint32_t hdr = le32(v + epos);
		unsigned next = PCI_EXT_CAP_NEXT(hdr);
		if (!hdr)
			break;
		if (!ecap_len(v, (uint16_t)PCI_EXT_CAP_ID(hdr), epos)) {
			if (!prev_e) /* the first cannot be unlinked: id 0, version 0 */
				put32(v + epos, (uint32_t)next << 20);
			else
				put32(v + prev_e, (le32(v + prev_e) & 0x000fffff) | (uint32_t)next << 20);
			if (prev_e)
				epos = next;
			else {
				prev_e = epos;
				epos = next;
			}
			continue;
		}
		prev_e = epos;
		epos = next;
	}
}

/* vfio_generate_bar_flags() from the resource's IORESOURCE_* flags */
static uint32_t bar_flags(uint64_t flags)
{
	if (flags & 0x100) /* IORESOURCE_IO */
		return PCI_BASE_ADDRESS_SPACE_IO;
	uint32_t v = PCI_BASE_ADDRESS_SPACE_MEMORY;
	if (flags & 0x2000) /* IORESOURCE_PREFETCH */
		v |= PCI_BASE_ADDRESS_MEM_PREFETCH;
	if (flags & 0x100000) /* IORESOURCE_MEM_64 */
		v |= PCI_BASE_ADDRESS_MEM_TYPE_64;
	return v;
}

/* vfio_bar_fixup(): what the virtual BARs read after the user wrote them */
static void bar_fixup(struct emul_call *c, struct emul_device *d)
{
	struct emul_resource res[7];
	int n = host_dev_resources(c->e, d->bdf, res, 7);

	for (int i = 0; i < PCI_NUM_RESOURCES_STD; i++) {
		uint8_t *bar = d->vconfig + PCI_BASE_ADDRESS_0 + 4 * i;
		if (i >= n || !res[i].start) {
			put32(bar, 0); /* Unmapped by host = unimplemented to user */
			continue;
		}
		uint64_t mask = ~(res[i].end - res[i].start);
		uint32_t v = (le32(bar) & (uint32_t)mask) | bar_flags(res[i].flags);
		put32(bar, v);
		if (v & PCI_BASE_ADDRESS_MEM_TYPE_64) {
			bar += 4;
			put32(bar, le32(bar) & (uint32_t)(mask >> 32));
			i++;
		}
	}
	uint8_t *rom = d->vconfig + PCI_ROM_ADDRESS;
	if (n > 6 && res[6].start)
		put32(rom, le32(rom) & (uint32_t)(~(res[6].end - res[6].start) | PCI_ROM_ADDRESS_ENABLE));
	else
		put32(rom, 0);
}

/* vfio_config_init() */
int config_init(struct emul_call *c, struct emul_device *d)
{
	uint8_t cfg[4096];
	char rel[96], buf[32];
	int r;

	memset(d->physw_mask, 0, sizeof(d->physw_mask));
	r = host_dev_config(c->e, d->bdf, cfg, sizeof(cfg));
	if (r < 0)
		return r;
	/* pci_cfg_space_size(): 4096 for PCIe, when the tree has the bytes */
	d->cfg_size = config_is_pcie(cfg) && r >= 4096 ? 4096 : PCI_CFG_SPACE_SIZE;
	memcpy(d->vconfig, cfg, sizeof(cfg));
	if (host_dev_is_vf(c->e, d->bdf)) {
		/* a VF's IDs read 0xffff from hardware; the pin is 0 (SR-IOV 3.4.1.18) */
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vendor", d->bdf);
		if (host_read(c->e, rel, buf, sizeof(buf)) > 0)
			put16(d->vconfig + PCI_VENDOR_ID, (uint16_t)strtoul(buf, NULL, 16));
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/device", d->bdf);
		if (host_read(c->e, rel, buf, sizeof(buf)) > 0)
			put16(d->vconfig + PCI_DEVICE_ID, (uint16_t)strtoul(buf, NULL, 16));
		d->vconfig[PCI_INTERRUPT_PIN] = 0;
	}
	if (host_dev_irq(c->e, d->bdf) <= 0)
		d->vconfig[PCI_INTERRUPT_PIN] = 0;
	caps_hide(d);
	bar_fixup(c, d);
	return 0;
}

/* vfio_pci_cap_remaining_dword(): accesses do not straddle a capability */
static size_t remaining_in_cap(const struct perm *p, unsigned pos)
{
	uint8_t id = p->map[pos];
	size_t n = 1;

	while (n < 4 && pos + n < 4096 && p->map[pos + n] == id && p->start[pos + n] == p->start[pos])
		n++;
	return n;
}

/* PCIe FLR through DEVCTL, AF FLR through AF_CTRL: vfio_exp_config_write(), vfio_af_config_write() */
static void flr_written(struct emul_call *c, struct emul_device *d, const struct perm *p, const uint8_t *phys,
                        unsigned pos)
{
	unsigned start = p->start[pos];
	uint8_t id = p->map[pos];

	if (id == PCI_CAP_ID_EXP && pos <= start + PCI_EXP_DEVCTL + 1 && pos + 1 >= start + PCI_EXP_DEVCTL) {
		uint16_t ctl = le16(d->vconfig + start + PCI_EXP_DEVCTL);
		if (ctl & PCI_EXP_DEVCTL_BCR_FLR) {
			put16(d->vconfig + start + PCI_EXP_DEVCTL, ctl & ~PCI_EXP_DEVCTL_BCR_FLR);
			if (le32(phys + start + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR)
				d->resets++;
		}
	} else if (id == PCI_CAP_ID_AF && pos == start + PCI_AF_CTRL) {
		if (d->vconfig[pos] & PCI_AF_CTRL_FLR) {
			d->vconfig[pos] &= ~PCI_AF_CTRL_FLR;
			uint8_t cap = phys[start + PCI_AF_CAP];
			if ((cap & PCI_AF_CAP_TP) && (cap & PCI_AF_CAP_FLR))
				d->resets++;
		}
	}
}

/* vfio_pci_config_rw(): chunks of 4, 2 or 1 bytes, each in one capability */
ssize_t config_rw(struct emul_call *c, struct emul_device *d, uint8_t *buf, size_t count, uint64_t pos, bool write)
{
	uint8_t phys[4096];
	size_t done = 0;
	int r;

	pos &= VFIO_PCI_OFFSET_MASK;
	if (pos >= d->cfg_size || pos + count > d->cfg_size)
		return -EFAULT;
	r = config_phys(c, d, phys, sizeof(phys));
	if (r < 0)
		return r;
	struct perm *p = perm_build(d, phys);
	if (!p)
		return -ENOMEM;
	while (done < count) {
		unsigned at = (unsigned)(pos + done);
		size_t n = count - done, rem = remaining_in_cap(p, at);
		n = n < rem ? n : rem;
		n = n >= 4 && !(at % 4) ? 4 : n >= 2 && !(at % 2) ? 2
		                                                  : 1;
		bool header_bar = at < PCI_STD_HEADER_SIZEOF &&
		                  ((at >= PCI_BASE_ADDRESS_0 && at < PCI_BASE_ADDRESS_5 + 4) ||
		                   (at >= PCI_ROM_ADDRESS && at < PCI_ROM_ADDRESS + 4));
		if (!write) {
			if (header_bar)
				bar_fixup(c, d);
			for (size_t i = 0; i < n; i++) {
				uint8_t v = p->virt[at + i];
				buf[done + i] = (uint8_t)((phys[at + i] & ~v) | (d->vconfig[at + i] & v));
			}
			/* Mask in virtual memory enable for SR-IOV devices */
			if (at == PCI_COMMAND && host_dev_is_vf(c->e, d->bdf))
				buf[done] |= d->vconfig[PCI_COMMAND] & PCI_COMMAND_MEMORY;
		} else {
			for (size_t i = 0; i < n; i++) {
				uint8_t w = p->write[at + i], v = p->virt[at + i], val = buf[done + i];
				if (w & v)
					d->vconfig[at + i] = (uint8_t)((d->vconfig[at + i] & ~(w & v)) | (val & w & v));
				if (w & ~v) {
					uint8_t m = (uint8_t)(w & ~v);
					d->physw[at + i] = (uint8_t)((phys[at + i] & ~m) | (val & m));
					d->physw_mask[at + i] |= m;
					phys[at + i] = d->physw[at + i];
				}
			}
			/* the memory/io enable bits are hardware, and the virtual copy follows */
			if (at == PCI_COMMAND)
				put16(d->vconfig + PCI_COMMAND, (uint16_t)((le16(d->vconfig + PCI_COMMAND) &
				                                            PCI_COMMAND_INTX_DISABLE) |
				                                           (le16(phys + PCI_COMMAND) &
				                                            ~PCI_COMMAND_INTX_DISABLE)));
			if (p->map[at] != MAP_UNASSIGNED && p->map[at] != 0)
				flr_written(c, d, p, phys, at);
		}
		done += n;
	}
	free(p);
	return (ssize_t)done;
}

/*
 * pci_probe_reset_function(): FLR (PCIe DEVCAP), AF FLR, PM reset (no
 * NoSoftRst), or a bus reset when the function is alone on a bus below a
 * bridge (pci_parent_bus_reset()).  Device-specific quirks are not modelled.
 */
int device_reset_works(struct emul_call *c, struct emul_device *d, const uint8_t *cfg)
{
	uint8_t pos;

	if ((pos = config_find_cap(cfg, PCI_CAP_ID_EXP)) && (le32(cfg + pos + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR))
		return 1;
	if ((pos = config_find_cap(cfg, PCI_CAP_ID_AF)) && (cfg[pos + PCI_AF_CAP] & PCI_AF_CAP_TP) &&
	    (cfg[pos + PCI_AF_CAP] & PCI_AF_CAP_FLR))
		return 1;
	if ((pos = config_find_cap(cfg, PCI_CAP_ID_PM)) && !(le16(cfg + pos + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RESET))
		return 1;
	/* a bridge (subordinate bus) is never bus-reset this way */
	if ((cfg[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_BRIDGE)
		return 0;
	char peers[EMUL_MAX_GROUP_DEVS][20];
	bool root;
	int n = host_dev_bus_peers(c->e, d->bdf, peers, EMUL_MAX_GROUP_DEVS, &root);
	if (n < 0 || root)
		return 0;
	/* only this function on its own bus (the bus number is the BDF's second field) */
	const char *bus = strchr(d->bdf, ':');
	int same = 0;
	for (int i = 0; i < n; i++) {
		const char *b = strchr(peers[i], ':');
		if (b && bus && !strncmp(b, bus, 4))
			same++;
	}
	return same == 1;
}
