/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-doctor platform checks (VD001..VD007): IOMMU, interrupt remapping,
 * modules, iommufd, /dev/iommu, VFIO_DEVICE_CDEV, no-IOMMU mode.  Every path
 * is read through the root (never the real /sys when --root is given).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/doctor.h>
#include <vfiokit/hostinfo.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include "doctor_internal.h"

/* Whether the kernel command line holds the word @w (before a "--", which starts init's arguments). */
static bool cmdline_has(const char *cmdline, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = cmdline; p && *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *e = p;
		while (*e && *e != ' ' && *e != '\t')
			e++;
		if ((size_t)(e - p) == 2 && strncmp(p, "--", 2) == 0)
			return false;
		if ((size_t)(e - p) == n && strncmp(p, w, n) == 0)
			return true;
		p = e;
	}
	return false;
}

enum cpu_vendor { CPU_UNKNOWN,
	          CPU_INTEL,
	          CPU_AMD };

static enum cpu_vendor cpu_vendor(const struct vk_root *root, bool *have, bool *guest)
{
	char buf[16384];
	long n = vk__doc_read(root, "/proc/cpuinfo", buf, sizeof(buf));

	*have = n >= 0;
	/* x86 "flags" of a virtual machine carry "hypervisor" (CPUID.1:ECX bit 31):
	 * a whole word, possibly the last of the (trimmed) text */
	*guest = false;
	for (const char *p = buf; n > 0 && (p = strstr(p, " hypervisor")); p++)
		if (p[11] == ' ' || p[11] == '\n' || p[11] == '\0')
			*guest = true;
	if (n < 0)
		return CPU_UNKNOWN;
	if (strstr(buf, "GenuineIntel"))
		return CPU_INTEL;
	if (strstr(buf, "AuthenticAMD") || strstr(buf, "HygonGenuine"))
		return CPU_AMD;
	return CPU_UNKNOWN;
}

static const char *unit_kind(const char *name)
{
	switch (vk_iommu_unit_kind(name)) {
	case VK_IOMMU_KIND_INTEL:
		return "Intel VT-d";
	case VK_IOMMU_KIND_AMD:
		return "AMD-Vi";
	case VK_IOMMU_KIND_SMMU:
		return "Arm SMMU";
	case VK_IOMMU_KIND_VIRTIO:
		return "virtio-iommu";
	default:
		return "IOMMU";
	}
}

struct platform {
	char cmdline[4096];
	bool have_cmdline;
	struct vk_error cmdline_why; /* why it could not be read */
	enum cpu_vendor vendor;
	bool have_cpuinfo;
	bool guest;
	char **units;
	size_t n_units;
	size_t n_groups, n_noiommu_groups;
	bool have_vfio, have_vfio_pci, have_type1, have_iommufd_mod, have_misc_iommu;
};

static const char *vendor_hint(const struct platform *p)
{
	bool intel_off = cmdline_has(p->cmdline, "intel_iommu=off");
	bool amd_off = cmdline_has(p->cmdline, "amd_iommu=off");
	bool iommu_off = cmdline_has(p->cmdline, "iommu=off");
	bool intel_on = cmdline_has(p->cmdline, "intel_iommu=on");
	static char buf[1024];
	size_t off = 0;

#define ADD(...) off += (size_t)snprintf(buf + off, off < sizeof(buf) ? sizeof(buf) - off : 0, __VA_ARGS__)
	buf[0] = '\0';
	if (iommu_off)
		ADD("remove iommu=off from the kernel command line\n");
	if (p->vendor != CPU_AMD) {
		if (intel_off)
			ADD("Intel: remove intel_iommu=off and add intel_iommu=on to the kernel command line\n");
		else if (intel_on)
			ADD("Intel: intel_iommu=on is already set: enable VT-d (\"Intel Virtualization Technology for Directed I/O\") in the firmware setup\n");
		else
			ADD("Intel: enable VT-d in the firmware setup and add intel_iommu=on to the kernel command line (iommu=pt is optional)\n");
	}
	if (p->vendor != CPU_INTEL) {
		if (amd_off)
			ADD("AMD: remove amd_iommu=off from the kernel command line (the AMD IOMMU is on by default)\n");
		else
			ADD("AMD: enable the IOMMU (AMD-Vi) in the firmware setup; the kernel turns it on by default (iommu=pt is optional)\n");
	}
	ADD("set the command line in /etc/default/grub (GRUB_CMDLINE_LINUX), run update-grub and reboot");
	if (p->guest)
		ADD("\nthis host is itself a virtual machine (cpuinfo flag \"hypervisor\"): its hypervisor must give it a virtual IOMMU (QEMU: -device intel-iommu,intremap=on or -device virtio-iommu-pci)");
#undef ADD
	return buf;
}

static int check_iommu(const struct vk_doctor_options *o, struct platform *p, struct vk_doctor_report *rep)
{
	const struct vk_root *root = o->root;
	size_t real_groups = p->n_groups - p->n_noiommu_groups;
	char units[256] = "";
	size_t off = 0;

	for (size_t i = 0; i < p->n_units && off < sizeof(units); i++)
		off += (size_t)snprintf(units + off, sizeof(units) - off, "%s%s", i ? ", " : "", p->units[i]);
	if (p->n_units && real_groups)
		TRY(vk_doctor_add(rep, "VD001", VK_DOCTOR_PASS, NULL, NULL, "%zu IOMMU group%s, %s unit%s %s",
		                  real_groups, real_groups == 1 ? "" : "s", unit_kind(p->units[0]),
		                  p->n_units == 1 ? "" : "s", units));
	else if (!p->n_units && real_groups)
		TRY(vk_doctor_add(rep, "VD001", VK_DOCTOR_PASS, NULL, NULL,
		                  "%zu IOMMU group%s (no unit listed in /sys/class/iommu)", real_groups,
		                  real_groups == 1 ? "" : "s"));
	else if (p->n_units)
		TRY(vk_doctor_add(rep, "VD001", VK_DOCTOR_FAIL, NULL, vendor_hint(p),
		                  "IOMMU unit%s %s but no IOMMU groups: DMA remapping is off", p->n_units == 1 ? "" : "s",
		                  units));
	else
		TRY(vk_doctor_add(rep, "VD001", VK_DOCTOR_FAIL, NULL, vendor_hint(p),
		                  "no IOMMU groups%s: the IOMMU is off or absent%s",
		                  p->n_noiommu_groups ? " except no-IOMMU ones" : "",
		                  p->have_cpuinfo ? "" : " (no /proc/cpuinfo: hints for both vendors)"));
	TRY(vk__doc_evidence_path(rep, root, "/sys/kernel/iommu_groups", NULL));
	TRY(vk__doc_evidence_path(rep, root, "/sys/class/iommu", NULL));
	if (p->have_cmdline)
		TRY(vk__doc_evidence_path(rep, root, "/proc/cmdline", p->cmdline));
	else if (p->cmdline_why.code != ENOENT)
		TRY(vk_doctor_evidence(rep, "%s", p->cmdline_why.msg)); /* "<path>: not a regular file (fifo)" */
	if (p->have_cpuinfo)
		TRY(vk__doc_evidence_path(rep, root, "/proc/cpuinfo",
		                          p->vendor == CPU_INTEL ? "GenuineIntel" : p->vendor == CPU_AMD ? "AuthenticAMD"
		                                                                                         : "vendor not recognised"));
	return 0;
}

static int check_intremap(const struct vk_doctor_options *o, struct platform *p, struct vk_doctor_report *rep)
{
	const struct vk_root *root = o->root;
	char unsafe[16] = "", rel[512], val[64];
	bool allow_unsafe = vk__doc_read(root, "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", unsafe,
	                                 sizeof(unsafe)) > 0 &&
	                    (unsafe[0] == 'Y' || unsafe[0] == 'y' || unsafe[0] == '1');
	const char *note = allow_unsafe ? "; vfio_iommu_type1.allow_unsafe_interrupts=Y lets VFIO run without it" : "";
	int ir;

	if (!p->n_units)
		return 0; /* VD001 already fails */
	if (cmdline_has(p->cmdline, "intremap=off")) {
		TRY(vk_doctor_add(rep, "VD002", VK_DOCTOR_WARN, NULL, NULL,
		                  "interrupt remapping is disabled by intremap=off on the kernel command line%s", note));
		return vk__doc_evidence_path(rep, root, "/proc/cmdline", p->cmdline);
	}
	ir = vk_interrupt_remapping_in_use(root);
	if (ir >= 0) {
		if (ir)
			TRY(vk_doctor_add(rep, "VD002", VK_DOCTOR_PASS, NULL, NULL,
			                  "enabled: /proc/interrupts shows IR- (remapped) interrupt chips"));
		else
			TRY(vk_doctor_add(rep, "VD002", VK_DOCTOR_WARN, NULL, NULL,
			                  "not enabled: no IR- interrupt chip in /proc/interrupts%s", note));
		return vk__doc_evidence_path(rep, root, "/proc/interrupts", ir ? "IR- chips present" : "no IR- chip");
	}
	if (vk_iommu_unit_kind(p->units[0]) == VK_IOMMU_KIND_INTEL) {
		/* Intel: ECAP bit 3 (IR) of every unit; the attribute is "%llx" of the register. */
		const char *missing = NULL;
		for (size_t i = 0; i < p->n_units; i++) {
			snprintf(rel, sizeof(rel), "/sys/class/iommu/%s/intel-iommu/ecap", p->units[i]);
			if (vk__doc_read(root, rel, val, sizeof(val)) <= 0) {
				missing = p->units[i];
				break;
			}
			unsigned long long ecap = strtoull(val, NULL, 16);
			if (!((ecap >> 3) & 1)) {
				TRY(vk_doctor_add(rep, "VD002", VK_DOCTOR_WARN, NULL, NULL,
				                  "%s: ecap %s has bit 3 (IR) clear: this VT-d unit cannot remap interrupts%s",
				                  p->units[i], val, note));
				return vk__doc_evidence_path(rep, root, rel, val);
			}
		}
		if (missing) {
			TRY(vk_doctor_add(rep, "VD002", VK_DOCTOR_WARN, NULL, NULL,
			                  "cannot tell: %s has no readable intel-iommu/ecap", missing));
			return vk__doc_evidence_path(rep, root, rel, "unreadable");
		}
		TRY(vk_doctor_add(rep, "VD002", VK_DOCTOR_PASS, NULL, NULL,
		                  "supported by every VT-d unit (ecap bit 3) and not disabled on the command line"));
		for (size_t i = 0; i < p->n_units; i++) {
			snprintf(rel, sizeof(rel), "/sys/class/iommu/%s/intel-iommu/ecap", p->units[i]);
			vk__doc_read(root, rel, val, sizeof(val));
			TRY(vk__doc_evidence_path(rep, root, rel, val));
		}
		return 0;
	}
	if (vk_iommu_unit_kind(p->units[0]) == VK_IOMMU_KIND_AMD) {
		/* AMD-Vi has no interrupt-remapping capability bit: amd-iommu/features is the
		 * extended feature register, whose bit 3 is NX (FEATURE_NX). */
		TRY(vk_doctor_add(rep, "VD002", VK_DOCTOR_PASS, NULL, NULL,
		                  "AMD-Vi remaps interrupts unless intremap=off, which is not set (no /proc/interrupts to confirm)"));
		return vk__doc_evidence_path(rep, root, "/proc/cmdline", p->cmdline);
	}
	TRY(vk_doctor_add(rep, "VD002", VK_DOCTOR_PASS, NULL, NULL,
	                  "%s: no x86 interrupt remapping; MSI isolation is the platform's (vfio_iommu_type1 checks it)",
	                  p->units[0]));
	return 0;
}

static bool module_present(const struct vk_root *root, const char *name, bool *builtin)
{
	char rel[256];
	struct stat st;

	snprintf(rel, sizeof(rel), "/sys/module/%s", name);
	if (vk__doc_stat(root, rel, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	snprintf(rel, sizeof(rel), "/sys/module/%s/initstate", name);
	*builtin = vk__doc_stat(root, rel, &st) < 0;
	return true;
}

static int check_modules(const struct vk_doctor_options *o, struct platform *p, struct vk_doctor_report *rep)
{
	static const char *const mods[] = {"vfio", "vfio_pci", "vfio_iommu_type1"};
	bool have[3], builtin[3] = {false};
	char seen[256] = "", missing[128] = "";
	size_t so = 0, mo = 0;

	for (size_t i = 0; i < 3; i++) {
		have[i] = module_present(o->root, mods[i], &builtin[i]);
		if (have[i])
			so += (size_t)snprintf(seen + so, sizeof(seen) - so, "%s%s%s", so ? ", " : "", mods[i],
			                       builtin[i] ? " (built in)" : "");
		else
			mo += (size_t)snprintf(missing + mo, sizeof(missing) - mo, "%s%s", mo ? ", " : "", mods[i]);
	}
	p->have_vfio = have[0];
	p->have_vfio_pci = have[1];
	p->have_type1 = have[2];
	if (have[0] && have[1] && have[2])
		TRY(vk_doctor_add(rep, "VD003", VK_DOCTOR_PASS, NULL, NULL, "%s", seen));
	else if (have[0] && have[1])
		TRY(vk_doctor_add(rep, "VD003", p->have_iommufd_mod || p->have_misc_iommu ? VK_DOCTOR_WARN : VK_DOCTOR_FAIL,
		                  NULL, "modprobe vfio_iommu_type1 (needed for the legacy /dev/vfio/vfio container)",
		                  "%s loaded, vfio_iommu_type1 is not: the legacy container interface is unavailable%s", seen,
		                  p->have_iommufd_mod || p->have_misc_iommu ? " (iommufd works without it)" : ""));
	else
		TRY(vk_doctor_add(rep, "VD003", VK_DOCTOR_FAIL, NULL,
		                  "modprobe vfio-pci (loads vfio and vfio_pci); modprobe vfio_iommu_type1\n"
		                  "to load them at boot: echo vfio-pci > /etc/modules-load.d/vfio.conf",
		                  "not loaded: %s", missing));
	for (size_t i = 0; i < 3; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "/sys/module/%s", mods[i]);
		TRY(vk__doc_evidence_path(rep, o->root, rel, have[i] ? (builtin[i] ? "built in" : "loaded") : "absent"));
	}
	return 0;
}

static int check_iommufd(const struct vk_doctor_options *o, struct platform *p, struct vk_doctor_report *rep)
{
	bool builtin = false;

	p->have_iommufd_mod = module_present(o->root, "iommufd", &builtin);
	if (p->have_iommufd_mod || p->have_misc_iommu)
		TRY(vk_doctor_add(rep, "VD004", VK_DOCTOR_PASS, NULL, NULL, "iommufd is %s",
		                  !p->have_iommufd_mod ? "built in (misc device \"iommu\" registered)"
		                  : builtin            ? "built in"
		                                       : "loaded"));
	else
		TRY(vk_doctor_add(rep, "VD004", VK_DOCTOR_WARN, NULL, NULL,
		                  "iommufd is neither loaded nor built in: only the legacy group interface can be used"));
	TRY(vk__doc_evidence_path(rep, o->root, "/sys/module/iommufd", p->have_iommufd_mod ? "present" : "absent"));
	return vk__doc_evidence_path(rep, o->root, "/sys/class/misc/iommu", p->have_misc_iommu ? "present" : "absent");
}

static int check_dev_iommu(const struct vk_doctor_options *o, struct platform *p, struct vk_doctor_report *rep)
{
	struct stat st;
	char desc[160], who[96];
	int r = vk__doc_stat(o->root, "/dev/iommu", &st);

	if (r < 0) {
		TRY(vk_doctor_add(rep, "VD005", VK_DOCTOR_WARN, NULL,
		                  p->have_iommufd_mod || p->have_misc_iommu ? "udevadm trigger (or mknod /dev/iommu c 10 <minor of /sys/class/misc/iommu/dev>)"
		                                                            : "modprobe iommufd",
		                  "/dev/iommu is missing%s", p->have_iommufd_mod || p->have_misc_iommu ? " although iommufd is there" : ""));
		return vk__doc_evidence_path(rep, o->root, "/dev/iommu", strerror(-r));
	}
	vk__doc_node_desc(&st, desc, sizeof(desc));
	if (o->user && !vk_doctor_user_can_rw(o->user, st.st_uid, st.st_gid, st.st_mode)) {
		vk__doc_user_desc(o->user, who, sizeof(who));
		TRY(vk_doctor_add(rep, "VD005", VK_DOCTOR_WARN, NULL,
		                  "pass QEMU an FD of /dev/iommu opened by the management layer (-object iommufd,fd=N), as libvirt does; or give the user access",
		                  "present (%s), but %s cannot open it read-write", desc, who));
	} else {
		TRY(vk_doctor_add(rep, "VD005", VK_DOCTOR_PASS, NULL, NULL, "present (%s)", desc));
	}
	return vk__doc_evidence_path(rep, o->root, "/dev/iommu", desc);
}

static int check_cdev(const struct vk_doctor_options *o, struct platform *p, struct vk_doctor_report *rep,
                      struct vk_error *err)
{
	_cleanup_free_ struct vk_pci_addr *devs = NULL;
	_cleanup_free_ char *cfg = NULL;
	size_t n = 0, with_dir = 0;
	char rel[512], val[256], release[128];
	int r;

	(void)p;
	r = vk_doctor_vfio_devices(o->root, &devs, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct vk_pci_dev_facts f;
		if (vk_pci_dev_facts_read(o->root, &devs[i], &f, NULL) < 0 || !f.present)
			continue;
		with_dir += f.has_vfio_dev_dir;
		if (f.has_dev_attr) {
			TRY(vk_doctor_add(rep, "VD006", VK_DOCTOR_PASS, NULL, NULL,
			                  "%s has %s (%u:%u): the kernel has VFIO_DEVICE_CDEV", f.bdf, f.cdev_name,
			                  f.cdev_major, f.cdev_minor));
			snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/vfio-dev/%s/dev", f.bdf, f.cdev_name);
			snprintf(val, sizeof(val), "%u:%u", f.cdev_major, f.cdev_minor);
			return vk__doc_evidence_path(rep, o->root, rel, val);
		}
	}
	bool noiommu = false;
	if (vk__doc_read(o->root, "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", val, sizeof(val)) > 0)
		noiommu = val[0] == 'Y' || val[0] == 'y' || val[0] == '1';
	if (n) {
		char bdf[VK_PCI_ADDR_STRLEN];
		vk_pci_addr_format(&devs[0], bdf);
		TRY(vk_doctor_add(rep, "VD006", VK_DOCTOR_FAIL, NULL, NULL,
		                  "%zu device%s bound to vfio-pci, none with vfio-dev/vfioN/dev: %s", n, n == 1 ? "" : "s",
		                  noiommu    ? "no-IOMMU mode has no device cdev"
		                  : with_dir ? "the kernel was built without VFIO_DEVICE_CDEV"
		                             : "no vfio-dev/ at all: a kernel before 6.2, or without VFIO_DEVICE_CDEV"));
		snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
		return vk__doc_evidence_path(rep, o->root, rel, with_dir ? "vfioN without dev" : "absent");
	}
	/* No device to look at: the kernel's config, when the distribution ships it. */
	if (vk__doc_read(o->root, "/proc/sys/kernel/osrelease", release, sizeof(release)) > 0) {
		cfg = malloc(1 << 20);
		snprintf(rel, sizeof(rel), "/boot/config-%s", release);
		if (cfg && vk__doc_read(o->root, rel, cfg, 1 << 20) > 0) {
			bool y = strstr(cfg, "\nCONFIG_VFIO_DEVICE_CDEV=y") != NULL;
			TRY(vk_doctor_add(rep, "VD006", y ? VK_DOCTOR_PASS : VK_DOCTOR_FAIL, NULL, NULL,
			                  "the kernel config %s CONFIG_VFIO_DEVICE_CDEV (no device is bound to vfio-pci to look at)",
			                  y ? "has" : "lacks"));
			return vk__doc_evidence_path(rep, o->root, rel, y ? "CONFIG_VFIO_DEVICE_CDEV=y" : "not set");
		}
	}
	TRY(vk_doctor_add(rep, "VD006", VK_DOCTOR_WARN, NULL,
	                  "bind a device to vfio-pci and run again: vfio-dev/vfioN/dev shows the cdev",
	                  "cannot tell: no device is bound to vfio-pci and there is no /boot/config-%s",
	                  release[0] ? release : "<release>"));
	TRY(vk__doc_evidence_path(rep, o->root, "/sys/bus/pci/drivers/vfio-pci", "no devices"));
	return 0;
}

static int check_noiommu(const struct vk_doctor_options *o, struct vk_doctor_report *rep)
{
	static const char rel[] = "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode";
	char val[32];
	long n = vk__doc_read(o->root, rel, val, sizeof(val));

	if (n > 0 && (val[0] == 'Y' || val[0] == 'y' || val[0] == '1'))
		TRY(vk_doctor_add(rep, "VD007", VK_DOCTOR_WARN, NULL, NULL,
		                  "UNSAFE: no-IOMMU mode is ON: a device given to a VM can DMA anywhere in host memory, and using it taints the kernel"));
	else if (n > 0)
		TRY(vk_doctor_add(rep, "VD007", VK_DOCTOR_PASS, NULL, NULL, "no-IOMMU mode is off"));
	else
		TRY(vk_doctor_add(rep, "VD007", VK_DOCTOR_PASS, NULL, NULL,
		                  "no-IOMMU mode is off (no enable_unsafe_noiommu_mode parameter: vfio is not loaded or has no no-IOMMU support)"));
	return vk__doc_evidence_path(rep, o->root, rel, n > 0 ? val : "absent");
}

int vk_doctor_check_platform(const struct vk_doctor_options *o, struct vk_doctor_report *rep, struct vk_error *err)
{
	struct platform p = {0};
	char **groups = NULL;
	size_t ng = 0;
	struct stat st;
	int r;

	p.have_cmdline = vk__doc_read_why(o->root, "/proc/cmdline", p.cmdline, sizeof(p.cmdline), &p.cmdline_why) >= 0;
	p.vendor = cpu_vendor(o->root, &p.have_cpuinfo, &p.guest);
	if (vk__doc_list(o->root, "/sys/class/iommu", &p.units, &p.n_units) == -ENOMEM ||
	    vk__doc_list(o->root, "/sys/kernel/iommu_groups", &groups, &ng) == -ENOMEM) {
		r = vk_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (p.n_units > 1)
		qsort(p.units, p.n_units, sizeof(char *), vk__doc_strcmp);
	p.n_groups = ng;
	for (size_t i = 0; i < ng; i++) {
		char rel[300], name[64];
		snprintf(rel, sizeof(rel), "/sys/kernel/iommu_groups/%s/name", groups[i]);
		if (vk__doc_read(o->root, rel, name, sizeof(name)) > 0 && strcmp(name, "vfio-noiommu") == 0)
			p.n_noiommu_groups++;
	}
	p.have_misc_iommu = vk__doc_stat(o->root, "/sys/class/misc/iommu", &st) == 0;

	{
		bool builtin; /* known before VD003: a missing type1 matters less with iommufd */
		p.have_iommufd_mod = module_present(o->root, "iommufd", &builtin);
	}
	if ((r = check_iommu(o, &p, rep)) < 0 || (r = check_intremap(o, &p, rep)) < 0 ||
	    (r = check_modules(o, &p, rep)) < 0 || (r = check_iommufd(o, &p, rep)) < 0 ||
	    (r = check_dev_iommu(o, &p, rep)) < 0)
		goto nomem;
	if ((r = check_cdev(o, &p, rep, err)) < 0)
		goto out;
	if ((r = check_noiommu(o, rep)) < 0)
		goto nomem;
	r = 0;
	goto out;
nomem:
	r = vk_error_set(err, r, "out of memory");
out:
	vk__doc_list_free(p.units, p.n_units);
	vk__doc_list_free(groups, ng);
	return r;
}
