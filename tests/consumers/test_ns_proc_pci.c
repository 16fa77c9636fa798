/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/bus/pci under `fakesys run` is the scenario's: lspci through the proc
 * access method (pciutils lib/proc.c: the devices list, then
 * /proc/bus/pci/BB/DD.F for config space) prints what it prints through
 * sysfs; the devices list has the kernel's shape and order
 * (drivers/pci/proc.c show_device(): bus and devfn, ids, irq in hex, seven
 * start|flags, seven sizes, the driver).  Its one limit, the kernel's: the
 * list has no domain, so lspci -A linux-proc puts every device in domain 0,
 * and a device of another domain has its config file under "DDDD:BB", where
 * lspci does not look.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 17], err[1 << 14];

/* lspci's output through both methods, split at "--" */
static void same_both_ways(const char *scenario, const char *opts)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "lspci -A linux-proc %s; echo --; lspci -A linux-sysfs %s", opts, opts);
	cr_assert_eq(consumers_run(NULL, scenario, cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	char *sep = strstr(out, "--\n");
	cr_assert_not_null(sep);
	*sep = '\0';
	cr_assert_str_eq(out, sep + 3, "lspci %s: through /proc/bus/pci\n%sthrough sysfs\n%s", opts, out, sep + 3);
	cr_assert_gt(strlen(out), 100, "lspci printed nearly nothing: %s", out);
}

Test(proc_pci, lspci_through_proc_equals_lspci_through_sysfs)
{
	same_both_ways("default.yaml", "-nn");
	same_both_ways("default.yaml", "-x");
	same_both_ways("default.yaml", "-tv");
	same_both_ways("happy-nic-vf-x710-keyval.yaml", "-nn");
}

/* The devices list: one line per device, in the kernel's order (a root bus's
 * devices, then below each bridge in turn; VFs at the end), its fields as
 * show_device() prints them. */
Test(proc_pci, the_devices_list_has_the_kernels_shape_and_order)
{
	/* root bus 00, then below 00:01.0 and 00:1c.0; root bus 80, then below
	 * 80:02.0; the VFs, made after boot, last */
	static const char *const order[] = {
		"0000:00:00.0",
		"0000:00:01.0",
		"0000:00:14.0",
		"0000:00:14.2",
		"0000:00:17.0",
		"0000:00:1c.0",
		"0000:01:00.0",
		"0000:01:00.1",
		"0000:02:00.0",
		"0000:80:02.0",
		"0000:81:00.0",
		"0000:81:02.0",
		"0000:81:02.1",
	};
	struct vk_host_model *m = consumers_model("default.yaml");
	char want[4096] = "";

	cr_assert_eq(m->n_devices, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_pci_addr a;
		cr_assert_eq(vk_pci_addr_parse(order[i], &a, NULL), 0);
		const struct vk_host_device *d = vk_host_model_find(m, &a);
		cr_assert_not_null(d);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%02x%02x\t%04x%04x\t%x\t%s\n", d->addr.bus,
		         d->addr.slot << 3 | d->addr.function, d->vendor, d->device, d->irq, d->driver ? d->driver : "");
	}
	cr_assert_eq(consumers_run(NULL, "default.yaml", "cut -f1-3,18 /proc/bus/pci/devices; awk -F '\\t' '{ print NF }' "
	                                                 "/proc/bus/pci/devices | sort -u",
	                           out, sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	/* 18 fields each: 3, the 7 starts, the 7 sizes, the driver */
	strcat(want, "18\n");
	cr_assert_str_eq(out, want);
	vk_host_model_free(m);
}

/* A config file is as large as the device's config space, 0644; the bus
 * directory of another domain is "DDDD:BB" (x86's pci_proc_domain()). */
Test(proc_pci, config_files_and_other_domains)
{
	struct vk_host_model *m = consumers_model("vmd-domains.yaml");
	char cmd[512], a[VK_PCI_ADDR_STRLEN];
	const struct vk_host_device *far = NULL;

	for (size_t i = 0; i < m->n_devices && !far; i++)
		if (m->devices[i].addr.domain)
			far = &m->devices[i];
	cr_assert_not_null(far, "vmd-domains.yaml has a device outside domain 0");
	vk_pci_addr_format(&far->addr, a);
	snprintf(cmd, sizeof(cmd),
	         "stat -c '%%a %%s' /proc/bus/pci/%04x:%02x/%02x.%x; cmp /proc/bus/pci/%04x:%02x/%02x.%x "
	         "/sys/bus/pci/devices/%s/config && echo same; ls /proc/bus/pci | grep -c :",
	         far->addr.domain, far->addr.bus, far->addr.slot, far->addr.function, far->addr.domain, far->addr.bus,
	         far->addr.slot, far->addr.function, a);
	cr_assert_eq(consumers_run(NULL, "vmd-domains.yaml", cmd, out, sizeof(out), err, sizeof(err)), 0, "%s%s", out,
	             err);
	char want[64];
	snprintf(want, sizeof(want), "644 %zu\nsame\n", far->config_len);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
	vk_host_model_free(m);
}

/* The host's /proc/bus/pci is where the kernel has one: without it there is
 * nothing to mount the scenario's on. */
static const char *no_proc_bus_pci(void)
{
	return access("/proc/bus/pci/devices", R_OK) == 0 ? "lspci" : NULL;
}

int main(int argc, char *argv[])
{
	const char *const progs[] = {no_proc_bus_pci(), NULL};
	const char *why = progs[0] ? consumers_unavailable(progs) : "this host has no /proc/bus/pci (no PCI, or no procfs PCI)";

	if (why) {
		fprintf(stderr, "SKIP: %s\n", why);
		return 77;
	}
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
