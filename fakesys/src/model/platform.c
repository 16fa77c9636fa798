/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The platform around the PCI devices: the CPUs (cpu: count, nodes,
 * model_name, flags), the firmware's ACPI tables (firmware: acpi_tables:) and
 * the network interfaces of NIC functions (a device's net:).  scenario.c hands
 * these keys here; scenario_complete() calls scenario_platform_complete() once
 * the devices and the kernel are settled, which fills the defaults: a host
 * with an Intel or AMD IOMMU has that vendor's CPUs (DMAR and IVRS are their
 * firmware's tables), and the tables follow the IOMMU unless given.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/host_model.h>

#include <vfiokit/resolver.h>

#include "model/scenario_internal.h"
#include "model/sections.h"

/* CONFIG_NR_CPUS and MAX_NUMNODES (NODES_SHIFT 10) of x86-64 distribution kernels */
#define MAX_CPUS 8192u
#define MAX_NODES 1024u
#define CPUS_PER_NODE 4u

/*
 * The flags a real CPU of each vendor shows (arch/x86/kernel/cpu/proc.c prints
 * x86_cap_flags[] of the set bits): a Xeon Gold 6130 (Skylake-SP) and an EPYC
 * 7302 (Zen 2) under 6.8, with vmx and svm, which virt-host-validate and
 * others look for.
 */
static const char intel_flags[] =
	"fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse "
	"sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl "
	"xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma "
	"cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand "
	"lahf_lm abm 3dnowprefetch cpuid_fault epb cat_l3 cdp_l3 pti intel_ppin ssbd mba ibrs ibpb stibp "
	"tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm cqm "
	"mpx rdt_a avx512f avx512dq rdseed adx smap clflushopt clwb intel_pt avx512cd avx512bw avx512vl xsaveopt "
	"xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local dtherm ida arat pln pts pku "
	"ospke md_clear flush_l1d arch_capabilities";
static const char amd_flags[] =
	"fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht "
	"syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid "
	"aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c "
	"rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt "
	"tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibrs "
	"ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 cqm rdt_a rdseed adx smap clflushopt clwb sha_ni "
	"xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local clzero irperf "
	"xsaveerptr rdpru wbnoinvd amd_ppin arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid "
	"decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip rdpid overflow_recov "
	"succor smca";

/* ---- cpu: ---------------------------------------------------------------------- */

/* A cpuinfo flag as the kernel names them: lower case, digits, '_'. */
static bool flag_ok(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static void free_flags(struct vk_host_model *m)
{
	for (size_t i = 0; i < m->n_cpu_flags; i++)
		free(m->cpu_flags[i]);
	free(m->cpu_flags);
	m->cpu_flags = NULL;
	m->n_cpu_flags = 0;
}

static int add_flag(struct vk_host_model *m, const char *s, size_t len)
{
	char **v = realloc(m->cpu_flags, (m->n_cpu_flags + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	m->cpu_flags = v;
	if (!(v[m->n_cpu_flags] = strndup(s, len)))
		return -ENOMEM;
	m->n_cpu_flags++;
	return 0;
}

static bool has_flag(const struct vk_host_model *m, const char *f)
{
	for (size_t i = 0; i < m->n_cpu_flags; i++)
		if (!strcmp(m->cpu_flags[i], f))
			return true;
	return false;
}

/* flags: a list of names, or one string of them separated by spaces (as cpuinfo writes them). */
static int parse_flags(struct yreader *y, const struct ynode *v, struct vk_host_model *m)
{
	_cleanup_(name_set_free) struct name_set seen = {0};
	size_t n = v->kind == YN_SEQ ? v->n : 1;
	int r;

	if (v->kind != YN_SEQ && v->kind != YN_SCALAR)
		return yr_want_kind(y, v, "flags", YN_SEQ);
	free_flags(m);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = v->kind == YN_SEQ ? yr_item(v, i) : v;
		const char *s = NULL;
		if ((r = yr_string(y, it, "flags", &s)) < 0)
			return r;
		for (const char *p = s + strspn(s, " "); *p; p += strspn(p, " ")) {
			size_t len = strcspn(p, " ");
			if (add_flag(m, p, len) < 0)
				return yr_oom(y);
			const char *f = m->cpu_flags[m->n_cpu_flags - 1];
			if (!flag_ok(f))
				return yr_fail(y, it, "flags", "'%s' is not a cpuinfo flag (lower case letters, digits, _)", f);
			/* the kernel prints each feature bit once */
			if ((r = name_set_add(&seen, f)) < 0)
				return yr_oom(y);
			if (r == 0)
				return yr_fail(y, it, "flags", "'%s' is given twice", f);
			p += len;
		}
	}
	return 0;
}

int platform_cpu_key(struct yreader *y, const char *key, const struct ynode *v, struct vk_host_model *m)
{
	uint64_t u;
	int r;

	if (!strcmp(key, "count")) {
		r = yr_uint(y, v, key, 1, MAX_CPUS, &u);
		m->cpu_count = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "nodes")) {
		r = yr_uint(y, v, key, 1, MAX_NODES, &u);
		m->cpu_nodes = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "model_name")) {
		const char *s = NULL;
		if ((r = yr_string(y, v, key, &s)) < 0)
			return r;
		/* one cpuinfo line: x86_model_id is 64 bytes */
		if (!*s || strlen(s) > 63 || strpbrk(s, "\n\t"))
			return yr_fail(y, v, key, "'%s' is not a CPU model name (1 to 63 bytes, one line, no tab)", s);
		return yr_dup_string(y, v, key, &m->cpu_model_name);
	}
	if (!strcmp(key, "flags"))
		return parse_flags(y, v, m);
	return 1;
}

/* ---- firmware: ------------------------------------------------------------------ */

static int firmware_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct loader *l = loader_of(y);
	struct vk_host_model *m = l->m;
	int r;

	(void)obj;
	if (strcmp(key, "acpi_tables"))
		return 1;
	if ((r = yr_want_kind(y, v, key, YN_SEQ)) < 0)
		return r;
	m->acpi_tables = 0;
	for (size_t i = 0; i < v->n; i++) {
		const char *s = NULL;
		if ((r = yr_string(y, yr_item(v, i), key, &s)) < 0)
			return r;
		uint32_t bit = !strcmp(s, "DMAR") ? VK_HOST_ACPI_DMAR : !strcmp(s, "IVRS") ? VK_HOST_ACPI_IVRS
		                                                                           : 0;
		if (!bit)
			return yr_fail(y, yr_item(v, i), key, "'%s' is not a table fakesys makes (DMAR or IVRS)", s);
		if (m->acpi_tables & bit)
			return yr_fail(y, yr_item(v, i), key, "'%s' is given twice", s);
		m->acpi_tables |= bit;
	}
	l->acpi_given = true;
	return 0;
}

int platform_parse_firmware(struct yreader *y, const struct ynode *v)
{
	return yr_walk_map(y, v, "firmware", "acpi_tables", firmware_key, NULL);
}

/* ---- a device's net: --------------------------------------------------------------- */

/* net/core/dev.c dev_valid_name(): shorter than IFNAMSIZ, not "." or "..",
 * no '/', ':' or white space. */
static bool ifname_ok(const char *s)
{
	if (!*s || strlen(s) >= 16 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) || (unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char end;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[3 * i]) || !isxdigit((unsigned char)s[3 * i + 1]))
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int netif_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct vk_host_netif *n = obj;
	const char *s = NULL;
	int r;

	if (!strcmp(key, "name")) {
		if ((r = yr_string(y, v, key, &s)) < 0)
			return r;
		if (!ifname_ok(s))
			return yr_fail(y, v, key, "'%s' is not an interface name (1 to 15 bytes, not . or .., no '/', ':' "
			                          "or space)",
			               s);
		return yr_dup_string(y, v, key, &n->name);
	}
	if (!strcmp(key, "address")) {
		if ((r = yr_string(y, v, key, &s)) < 0)
			return r;
		/* is_valid_ether_addr(): what register_netdev() of a NIC driver accepts */
		if (parse_mac(s, n->mac) < 0 || (n->mac[0] & 1) || !memcmp(n->mac, (uint8_t[6]){0}, 6))
			return yr_fail(y, v, key, "'%s' is not a unicast MAC address (aa:bb:cc:dd:ee:ff, not all zero, "
			                          "bit 0 of the first byte clear)",
			               s);
		return 0;
	}
	if (!strcmp(key, "state")) {
		if ((r = yr_string(y, v, key, &s)) < 0)
			return r;
		if (strcmp(s, "up") && strcmp(s, "down"))
			return yr_fail(y, v, key, "'%s' is not an interface state (up or down)", s);
		n->up = !strcmp(s, "up");
		return 0;
	}
	return 1;
}

int platform_parse_net(struct yreader *y, const struct ynode *v, struct vk_host_device *d)
{
	int r = yr_want_kind(y, v, "net", YN_SEQ);

	if (r < 0)
		return r;
	d->netifs = calloc(v->n ? v->n : 1, sizeof(*d->netifs));
	if (!d->netifs)
		return yr_oom(y);
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *it = yr_item(v, i);
		struct vk_host_netif *n = &d->netifs[d->n_netifs++];
		const char *s = NULL;
		n->up = true;
		if (it->kind == YN_SCALAR) {
			if ((r = yr_string(y, it, "net", &s)) < 0)
				return r;
			if (!ifname_ok(s))
				return yr_fail(y, it, "net", "'%s' is not an interface name (1 to 15 bytes, not . or .., "
				                             "no '/', ':' or space)",
				               s);
			if (!(n->name = strdup(s)))
				return yr_oom(y);
			continue;
		}
		if ((r = yr_walk_map(y, it, "a net entry", "name, address, state", netif_key, n)) < 0)
			return r;
		if (!n->name)
			return yr_fail(y, it, "net", "an interface entry needs name:");
	}
	return 0;
}

/* ---- defaults and whole-host checks ------------------------------------------------ */

static int cpu_defaults(struct loader *l)
{
	struct vk_host_model *m = l->m;
	uint32_t nodes = 1;

	if (!m->cpu_vendor) {
		if (m->iommu != VK_IOMMU_INTEL && m->iommu != VK_IOMMU_AMD) {
			if (l->cpu_node)
				return yr_fail(&l->y, l->cpu_node, "cpu", "needs vendor: (intel, amd or hygon)");
			return 0; /* no CPUs modelled: the host's own show */
		}
		if (!(m->cpu_vendor = strdup(m->iommu == VK_IOMMU_INTEL ? "GenuineIntel" : "AuthenticAMD")))
			return yr_oom(&l->y);
	}
	for (size_t i = 0; i < m->n_devices; i++)
		if (m->devices[i].numa_node >= 0 && (uint32_t)m->devices[i].numa_node + 1 > nodes)
			nodes = (uint32_t)m->devices[i].numa_node + 1;
	if (!m->cpu_nodes) {
		m->cpu_nodes = nodes;
	} else if (m->cpu_nodes < nodes) {
		return yr_fail(&l->y, l->cpu_node, "nodes", "%u NUMA node(s), but a device is on node %u", m->cpu_nodes,
		               nodes - 1);
	}
	if (!m->cpu_count)
		m->cpu_count = m->cpu_nodes * CPUS_PER_NODE > MAX_CPUS ? MAX_CPUS : m->cpu_nodes * CPUS_PER_NODE;
	if (m->cpu_count < m->cpu_nodes)
		return yr_fail(&l->y, l->cpu_node, "count", "%u CPUs cannot fill %u NUMA nodes (one at least each)",
		               m->cpu_count, m->cpu_nodes);
	bool intel = !strcmp(m->cpu_vendor, "GenuineIntel");
	if (!m->cpu_model_name &&
	    !(m->cpu_model_name = strdup(intel                                    ? "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz"
	                                 : !strcmp(m->cpu_vendor, "HygonGenuine") ? "Hygon C86 7185 32-core Processor"
	                                                                          : "AMD EPYC 7302 16-Core Processor")))
		return yr_oom(&l->y);
	if (!m->cpu_flags) {
		const char *p = intel ? intel_flags : amd_flags;
		while (*p) {
			size_t len = strcspn(p, " ");
			if (add_flag(m, p, len) < 0)
				return yr_oom(&l->y);
			p += len;
			p += strspn(p, " ");
		}
	}
	/* the hypervisor bit (CPUID.1:ECX[31]) is one of the flags: hypervisor:
	 * true adds it, and a list that has it makes the host a VM */
	if (m->cpu_hypervisor && !has_flag(m, "hypervisor") && add_flag(m, "hypervisor", 10) < 0)
		return yr_oom(&l->y);
	m->cpu_hypervisor = has_flag(m, "hypervisor");
	return 0;
}

static int net_checks(struct loader *l)
{
	struct vk_host_model *m = l->m;
	_cleanup_(name_set_free) struct name_set names = {0};
	char a[VK_PCI_ADDR_STRLEN];
	int r;

	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		const struct ynode *node = l->src[i].net_node;
		if (!d->n_netifs)
			continue;
		vk_pci_addr_format(&d->addr, a);
		/* a net_device exists while its driver is bound (register_netdev()
		 * in the driver's probe); vfio-pci registers none */
		if (!d->driver || vk_pci_driver_is_vfio_pci(d->driver) || !strcmp(d->driver, "pci-stub") ||
		    !strcmp(d->driver, "pcieport"))
			return yr_fail(&l->y, node, "net", "%s is %s%s: only a device bound to a network driver has "
			                                   "interfaces",
			               a, d->driver ? "bound to " : "without a driver", d->driver ? d->driver : "");
		for (size_t k = 0; k < d->n_netifs; k++) {
			struct vk_host_netif *n = &d->netifs[k];
			if ((r = name_set_add(&names, n->name)) < 0)
				return yr_oom(&l->y);
			if (r == 0)
				return yr_fail(&l->y, node, "net", "interface %s is named twice (interface names are unique "
				                                   "on a host)",
				               n->name);
			/* no address: given (all zero): a locally administered one made
			 * of the function's address and the interface's place */
			if (!memcmp(n->mac, (uint8_t[6]){0}, 6)) {
				n->mac[0] = 0x02;
				n->mac[1] = (uint8_t)d->addr.domain;
				n->mac[2] = d->addr.bus;
				n->mac[3] = (uint8_t)(d->addr.slot << 3 | d->addr.function);
				n->mac[5] = (uint8_t)k;
			}
		}
	}
	return 0;
}

int scenario_platform_complete(struct loader *l)
{
	struct vk_host_model *m = l->m;
	int r;

	if (!l->acpi_given)
		m->acpi_tables = m->iommu == VK_IOMMU_INTEL ? VK_HOST_ACPI_DMAR : m->iommu == VK_IOMMU_AMD ? VK_HOST_ACPI_IVRS
		                                                                                           : 0;
	if ((r = cpu_defaults(l)) < 0)
		return r;
	return net_checks(l);
}
