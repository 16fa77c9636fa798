/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files of /proc the model decides, in the kernel's formats:
 *
 * - proc/cpuinfo: one block per CPU, as arch/x86/kernel/cpu/proc.c
 *   show_cpuinfo() prints it, with the topology sys/devices/system/cpu shows
 *   (platform_tree.c: one package per NUMA node, one core per CPU);
 * - proc/interrupts: one MSI line per device with a driver, one column per
 *   CPU (kernel/irq/proc.c show_interrupts());
 * - proc/bus/pci: drivers/pci/proc.c, the devices list (show_device(): bus
 *   and devfn, ids, irq, the six BARs and the ROM as start | flags, their
 *   sizes, the driver) and one config file per device, "BB/DD.F" below its bus
 *   ("DDDD:BB" outside domain 0, x86's pci_proc_domain()), 0644 and as large as
 *   its config space (proc_set_size(e, dev->cfg_size)).
 *
 * The devices list is in the kernel's order, the order of device_add() on the
 * PCI bus: pci_bus_add_devices() adds a bus's devices, then each bridge's
 * subordinate bus, depth first; VFs come later, when sriov_numvfs makes them.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>

#include "tree/pci_attrs.h"
#include "tree/textfmt.h"
#include "tree/tree_parts.h"

/* ---- proc/cpuinfo ----------------------------------------------------------------- */

/* What a CPU of each vendor shows beyond the model's fields: a Xeon Gold
 * 6130 (Skylake-SP), an EPYC 7302 (Zen 2), a Hygon C86 7185 (Dhyana). */
struct cpu_kind {
	const char *vendor;
	unsigned family, model, stepping, microcode, cache_kb, cpuid_level;
	const char *mhz, *bogomips, *bugs, *address_sizes, *power;
};

static const struct cpu_kind cpu_kinds[] = {
	{"GenuineIntel", 6, 85, 4, 0x2007006, 22528, 22, "2100.000", "4200.00",
         "cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass l1tf mds swapgs taa itlb_multihit mmio_stale_data "
         "retbleed gds",
         "46 bits physical, 48 bits virtual", ""},
	{"AuthenticAMD", 23, 49, 0, 0x830107a, 512, 16, "3000.000", "5999.87",
         "sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass retbleed smt_rsb srso",
         "43 bits physical, 48 bits virtual", "ts ttp tm hwpstate cpb eff_freq_ro [13] [14]"},
	{"HygonGenuine", 24, 0, 1, 0x900006b, 512, 13, "2000.000", "3999.91",
         "sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass retbleed smt_rsb",
         "43 bits physical, 48 bits virtual", "ts ttp tm hwpstate cpb eff_freq_ro [13] [14]"},
};

static void cpuinfo(struct tree_parts *p, struct vk_vt_node *proc)
{
	const struct vk_host_model *m = p->m;
	const struct cpu_kind *k = &cpu_kinds[0];
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < VK_ARRAY_SIZE(cpu_kinds); i++)
		if (!strcmp(cpu_kinds[i].vendor, m->cpu_vendor))
			k = &cpu_kinds[i];
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		tp_fail(p, ENOMEM, "proc/cpuinfo");
		return;
	}
	for (uint32_t node = 0; node < m->cpu_nodes; node++) {
		uint32_t first, n;
		tp_node_cpus(m, node, &first, &n);
		for (uint32_t c = first; c < first + n; c++) {
			fprintf(f,
			        "processor\t: %u\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\nmodel name\t: %s\n"
			        "stepping\t: %u\nmicrocode\t: 0x%x\ncpu MHz\t\t: %s\ncache size\t: %u KB\n"
			        "physical id\t: %u\nsiblings\t: %u\ncore id\t\t: %u\ncpu cores\t: %u\napicid\t\t: %u\n"
			        "initial apicid\t: %u\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %u\nwp\t\t: yes\n"
			        "flags\t\t:",
			        c, m->cpu_vendor, k->family, k->model, m->cpu_model_name, k->stepping, k->microcode, k->mhz,
			        k->cache_kb, node, n, c - first, n, 2 * c, 2 * c, k->cpuid_level);
			for (size_t i = 0; i < m->n_cpu_flags; i++)
				fprintf(f, " %s", m->cpu_flags[i]);
			fprintf(f,
			        "\nbugs\t\t: %s\nbogomips\t: %s\nclflush size\t: 64\ncache_alignment\t: 64\n"
			        "address sizes\t: %s\npower management: %s\n\n",
			        k->bugs, k->bogomips, k->address_sizes, k->power);
		}
	}
	if (fclose(f) != 0) {
		tp_fail(p, ENOMEM, "proc/cpuinfo");
		return;
	}
	/* "power management:" has no space after it when empty */
	char *pm = buf;
	while ((pm = strstr(pm, "power management: \n"))) {
		memmove(pm + 17, pm + 18, len - (size_t)(pm + 18 - buf) + 1);
		len--;
	}
	tp_bytes(p, proc, "cpuinfo", 0444, buf, len);
}

/* ---- proc/interrupts -------------------------------------------------------------- */

/*
 * One MSI line per device with a driver.  With interrupt remapping on, the
 * kernel names the irq chips "IR-PCI-MSI" (and "IR-IO-APIC"), which is how a
 * reader tells remapping on any vendor (kernel/irq/proc.c,
 * drivers/iommu/intel/irq_remapping.c, drivers/iommu/amd/iommu.c chip names).
 * The counts are per CPU: the model's CPUs, or two when it has none.
 */
/* The longest line but for its CPU columns and driver: "%3zu: " of an irq
 * (at most 20 digits), "  IR-PCI-MSI-", the address, "    0-edge      ", '\n'. */
#define IRQ_LINE_MAX (22 + 13 + VK_PCI_ADDR_STRLEN + 16 + 1)
#define IRQ_COLUMN 11 /* "%10u " */

/* A device's line: "%3zu: ", "%10u " of 0 per CPU, then the chip, the
 * address and the driver; by hand (tree/textfmt.h): one line per device. */
static void irq_line(struct textfmt *t, size_t irq, uint32_t ncpu, const char *ir, const struct vk_host_device *d)
{
	static const char zero[] = "         0 ";

	tf_num(t, irq, 10, 3, ' ', false);
	tf_str(t, ": ");
	for (uint32_t c = 0; c < ncpu; c++)
		tf_mem(t, zero, sizeof(zero) - 1);
	tf_str(t, "  ");
	tf_str(t, ir);
	tf_str(t, "PCI-MSI-");
	tf_pci_addr(t, &d->addr);
	tf_str(t, "    0-edge      ");
	tf_str(t, d->driver);
	tf_ch(t, '\n');
}

/* show_interrupts(): the irq column is 3 wide below 1000 irqs; the header
 * is "%*s" of that plus 8, then "CPU%-8d" per CPU; a line is "%*d: " and
 * "%10u " per CPU.  Then the timer's line. */
static void irq_header(struct textfmt *t, uint32_t ncpu, const char *ir)
{
	tf_str(t, "           ");
	for (uint32_t c = 0; c < ncpu; c++) {
		size_t at = t->len;
		tf_str(t, "CPU");
		tf_udec(t, c);
		while (t->len - at < 3 + 8) /* %-8u: padded on the right */
			tf_ch(t, ' ');
	}
	tf_ch(t, '\n');
	tf_str(t, "  0:         44 ");
	for (uint32_t c = 1; c < ncpu; c++)
		tf_str(t, "         0 ");
	tf_str(t, "  ");
	tf_str(t, ir);
	tf_str(t, "IO-APIC    2-edge      timer\n");
}

/* proc/interrupts, written into one buffer of the most it can take (see
 * devices_list()). */
static void interrupts(struct tree_parts *p, struct vk_vt_node *proc)
{
	const struct vk_host_model *m = p->m;
	const char *ir = m->interrupt_remapping && m->iommu != VK_IOMMU_NONE ? "IR-" : "";
	uint32_t ncpu = m->cpu_vendor && m->cpu_count ? m->cpu_count : 2;
	/* the header: 11 spaces, "CPU%-8u" (at most 13) per CPU; the timer's line */
	size_t cap = 12 + 13 * (size_t)ncpu + IRQ_LINE_MAX + IRQ_COLUMN * (size_t)ncpu + 32;

	for (size_t i = 0; i < m->n_devices; i++)
		if (m->devices[i].driver)
			cap += IRQ_LINE_MAX + IRQ_COLUMN * (size_t)ncpu + strlen(m->devices[i].driver);
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf) {
		tp_fail(p, ENOMEM, "proc/interrupts");
		return;
	}
	struct textfmt t = {.buf = buf, .cap = cap};
	irq_header(&t, ncpu, ir);
	for (size_t i = 0, irq = 24; i < m->n_devices; i++) {
		const struct vk_host_device *d = &m->devices[i];
		if (d->driver)
			irq_line(&t, irq++, ncpu, ir, d);
	}
	if (tf_end(&t) < 0) { /* not so: the lines are at most what was counted */
		tp_fail(p, ENAMETOOLONG, "proc/interrupts");
		return;
	}
	tp_bytes(p, proc, "interrupts", 0444, buf, t.len);
}

/* ---- proc/bus/pci ------------------------------------------------------------------ */

/* The first 7 lines (BARs 0-5, the ROM) of the device's sysfs resource file:
 * the same resources both show, taken from the model as that file is made
 * (parsing its text back was a twentieth of building 50,000 devices). */
static void resources(const struct vk_host_model *m, const struct vk_host_device *d, uint64_t start[7],
                      uint64_t end[7], uint64_t flags[7])
{
	unsigned lines = tree_pci_resource_lines(d);

	for (unsigned i = 0; i < 7; i++) {
		uint64_t r[3] = {0, 0, 0};
		if (i < lines)
			tree_pci_resource(m, d, i, r);
		start[i] = r[0];
		end[i] = r[1];
		flags[i] = r[2];
	}
}

/* The longest line of proc/bus/pci/devices but for its driver's name:
 * "%02x%02x\t%04x%04x\t%x" (22), 14 times "\t%16llx" (17 each), a tab and
 * the newline. */
#define DEVICES_LINE_MAX (22 + 14 * 17 + 2)

/* show_device(): one line of proc/bus/pci/devices, appended to @t. */
static void devices_line(struct tree_parts *p, struct textfmt *t, size_t i)
{
	const struct vk_host_device *d = &p->m->devices[i];
	uint64_t start[7], end[7], flags[7];

	resources(p->m, d, start, end, flags);
	/* "%02x%02x\t%04x%04x\t%x", "\t%16llx" of each start and size, "\t%s\n"
	 * of the driver: by hand (tree/textfmt.h), one line per device */
	tf_hex(t, d->addr.bus, 2);
	tf_hex(t, (unsigned)(d->addr.slot << 3 | d->addr.function), 2);
	tf_ch(t, '\t');
	tf_hex(t, d->vendor, 4);
	tf_hex(t, d->device, 4);
	tf_ch(t, '\t');
	tf_hex(t, d->irq, 0);
	/* PCI_REGION_FLAG_MASK (0x0f): a BAR's low bits, kept in the resource's flags */
	for (int k = 0; k < 7; k++) {
		tf_ch(t, '\t');
		tf_num(t, start[k] | (flags[k] & 0x0f), 16, 16, ' ', false);
	}
	for (int k = 0; k < 7; k++) {
		tf_ch(t, '\t');
		tf_num(t, start[k] < end[k] ? end[k] - start[k] + 1 : 0, 16, 16, ' ', false);
	}
	tf_ch(t, '\t');
	if (d->driver)
		tf_str(t, d->driver);
	tf_ch(t, '\n');
}

/* proc/bus/pci/devices, the lines of the @count devices @order gives in @bus.
 * Written into one buffer of the most it can take: open_memstream() copied
 * and zeroed its buffer at each doubling (13 MB at 50,000 devices), a tenth
 * of the build's page faults; pages never written are never faulted in. */
static void devices_list(struct tree_parts *p, struct vk_vt_node *bus, const int *order, size_t count)
{
	size_t cap = 1;

	for (size_t k = 0; k < count; k++) {
		const char *drv = p->m->devices[order[k]].driver;
		cap += DEVICES_LINE_MAX + (drv ? strlen(drv) : 0);
	}
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf) {
		tp_fail(p, ENOMEM, "proc/bus/pci/devices");
		return;
	}
	struct textfmt t = {.buf = buf, .cap = cap};
	for (size_t k = 0; k < count; k++)
		devices_line(p, &t, (size_t)order[k]);
	if (tf_end(&t) < 0) { /* not so: the lines are at most what was counted */
		tp_fail(p, ENAMETOOLONG, "proc/bus/pci/devices");
		return;
	}
	tp_bytes(p, bus, "devices", 0444, buf, t.len);
}

/* The config file of device @i below proc/bus/pci: the bytes its sysfs config
 * shows.  Devices come in address order: the bus directory is the one of the
 * device before (*@bd) or a new one, never looked up in a wide directory. */
static void config_file(struct tree_parts *p, struct vk_vt_node *bus_pci, size_t i, struct vk_vt_node **bd)
{
	const struct vk_host_device *d = &p->m->devices[i];
	const struct vk_host_device *prev = i ? &p->m->devices[i - 1] : NULL;
	const struct vk_vt_node *cfg = tp_kid(p->dev_node[i], "config");
	char dir[16], name[16];
	struct textfmt df = TEXTFMT(dir), nf = TEXTFMT(name);

	/* "%04x:%02x" ("%02x" in domain 0) and "%02x.%x": they fit */
	if (d->addr.domain) {
		tf_hex(&df, d->addr.domain, 4);
		tf_ch(&df, ':');
	}
	tf_hex(&df, d->addr.bus, 2);
	tf_hex(&nf, d->addr.slot, 2);
	tf_ch(&nf, '.');
	tf_hex(&nf, d->addr.function, 0);
	(void)tf_end(&df);
	(void)tf_end(&nf);
	if (!*bd || !prev || prev->addr.domain != d->addr.domain || prev->addr.bus != d->addr.bus) {
		if (p->rc || !(*bd = vk_vtree_add_dir(p->t, bus_pci, dir, 0555))) {
			tp_fail(p, errno, dir);
			return;
		}
	}
	if (!cfg || cfg->type != VK_VT_FILE || p->rc)
		return;
	struct vk_vt_node *f = vk_vtree_add_file_same(p->t, *bd, name, cfg, 0644);
	if (!f)
		tp_fail(p, errno, name);
	else /* proc_set_size(e, dev->cfg_size); proc_bus_pci_read(): 64 (128) bytes without CAP_SYS_ADMIN */
		f->kern = cfg->kern;
}

/*
 * The devices in the kernel's order (above), into @out: the list starting at
 * @first (linked by @next, in address order), then, depth first, the
 * children (@first_child) of each of its devices in turn.  An explicit stack
 * of the lists being walked: bridges may nest as deep as there are buses.
 */
static size_t kernel_order(const int *first_child, const int *next, int first, int *stack, int *out)
{
	size_t n = 0, top = 0;

	for (int i = first; i >= 0; i = next[i])
		out[n++] = i;
	stack[top++] = first;
	while (top) {
		int i = stack[top - 1];
		if (i < 0) {
			top--;
			continue;
		}
		stack[top - 1] = next[i];
		int c = first_child[i];
		if (c < 0)
			continue;
		for (int k = c; k >= 0; k = next[k])
			out[n++] = k;
		stack[top++] = c;
	}
	return n;
}

static void bus_pci(struct tree_parts *p, struct vk_vt_node *proc)
{
	const struct vk_host_model *m = p->m;
	size_t n = m->n_devices;
	_cleanup_free_ int *first_child = malloc((n + 1) * sizeof(int));
	_cleanup_free_ int *next = malloc((n + 1) * sizeof(int));
	_cleanup_free_ int *last = malloc((n + 1) * sizeof(int));
	_cleanup_free_ int *out = malloc((n + 1) * sizeof(int));
	size_t count = 0;

	if (!first_child || !next || !last || !out) {
		tp_fail(p, ENOMEM, "proc/bus/pci");
		return;
	}
	for (size_t i = 0; i < n; i++)
		first_child[i] = next[i] = last[i] = -1;
	/* each bridge's children, in address order (devfn order on its bus) */
	for (size_t i = 0; i < n; i++) {
		const struct vk_host_device *d = &m->devices[i];
		if (d->physfn >= 0 || d->parent < 0)
			continue;
		if (last[d->parent] < 0)
			first_child[d->parent] = (int)i;
		else
			next[last[d->parent]] = (int)i;
		last[d->parent] = (int)i;
	}
	/* root buses one after the other (acpi_pci_root_add() scans and adds
	 * each): their devices are adjacent in address order */
	for (size_t i = 0, j; i < n; i = j) {
		const struct vk_host_device *d = &m->devices[i];
		j = i + 1;
		if (d->physfn >= 0 || d->parent >= 0)
			continue;
		int prev = (int)i;
		for (; j < n && m->devices[j].addr.domain == d->addr.domain && m->devices[j].addr.bus == d->addr.bus; j++) {
			if (m->devices[j].physfn >= 0 || m->devices[j].parent >= 0)
				continue;
			next[prev] = (int)j;
			prev = (int)j;
		}
		/* last[] is free again: the stack of kernel_order() */
		count += kernel_order(first_child, next, (int)i, last, out + count);
	}
	/* pci_iov_add_virtfn(): VFs after everything found at boot, PF by PF */
	for (size_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < m->devices[i].n_vfs && count < n; k++)
			out[count++] = m->devices[i].vfs[k];

	struct vk_vt_node *bus = tp_dir(p, proc, "bus/pci");
	devices_list(p, bus, out, count);
	struct vk_vt_node *bd = NULL;
	for (size_t i = 0; i < n && !p->rc; i++)
		config_file(p, bus, i, &bd);
}

void tree_proc(struct tree_parts *p, struct vk_vt_node *proc)
{
	if (p->rc || !proc)
		return;
	if (p->m->cpu_vendor && p->m->cpu_count)
		cpuinfo(p, proc);
	interrupts(p, proc);
	bus_pci(p, proc);
}
