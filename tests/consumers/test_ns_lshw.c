/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lshw under `fakesys run`: no real device appears below a fake PCI device.
 * The host's links into its PCI hierarchy (class/net/eth0, block/vda, ...)
 * are hidden, so lshw attaches the host's interfaces nowhere; a scenario's
 * interface (net:) is found on its fake device.  The limit, documented: lshw
 * falls back to the kernel's ETHTOOL_GDRVINFO bus address of an interface
 * sysfs does not place, so a real NIC at an address the scenario also uses
 * joins that fake device, unless the command has a network namespace of its
 * own (`unshare -rn`).  Checked on `lshw -json`: the node of a scenario's
 * PCI device, and what is below it, has only the scenario's logical names.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 20], err[1 << 14];

static bool allowed_name(const char *name, const char *const *allowed)
{
	for (const char *const *a = allowed; *a; a++)
		if (!strcmp(*a, name))
			return true;
	return false;
}

/* Every logical name (interface, disk...) of @n and below it. */
static void names_below(json_t *n, const char *bus, const char *const *allowed, const char *text)
{
	json_t *ln = json_object_get(n, "logicalname"), *v, *c;
	size_t i;

	if (json_is_string(ln))
		cr_assert(allowed_name(json_string_value(ln), allowed), "%s appears on the fake %s:\n%s",
		          json_string_value(ln), bus, text);
	json_array_foreach(ln, i, v)
		cr_assert(allowed_name(json_string_value(v) ?: "", allowed), "%s appears on the fake %s:\n%s",
	                  json_string_value(v), bus, text);
	json_array_foreach(json_object_get(n, "children"), i, c)
		names_below(c, bus, allowed, text);
}

/* In `lshw -json`, every node of one of the scenario's PCI devices (@bdfs)
 * has only the logical names of @allowed, itself and below it; returns how
 * many of them lshw showed. */
static size_t only_these_on_pci(const char *text, const char *const *bdfs, const char *const *allowed)
{
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je), *stack[256];
	size_t top = 0, found = 0;

	cr_assert_not_null(doc, "lshw -json: %s\n%s", je.text, text);
	stack[top++] = json_is_array(doc) ? json_array_get(doc, 0) : doc;
	while (top) {
		json_t *n = stack[--top], *c;
		size_t i;
		const char *bus = json_string_value(json_object_get(n, "businfo"));
		if (bus && !strncmp(bus, "pci@", 4) && allowed_name(bus + 4, bdfs)) {
			found++;
			names_below(n, bus, allowed, text);
		}
		json_array_foreach(json_object_get(n, "children"), i, c) if (top < 256)
			stack[top++] = c;
	}
	json_decref(doc);
	return found;
}

/* The addresses of the scenario's devices. */
static const char *const *bdfs_of(const char *scenario)
{
	static char buf[64][VK_PCI_ADDR_STRLEN];
	static const char *v[65];
	struct vk_host_model *m = consumers_model(scenario);
	size_t n = 0;

	for (size_t i = 0; i < m->n_devices && n < 64; i++)
		v[n] = vk_pci_addr_format(&m->devices[i].addr, buf[n]), n++;
	v[n] = NULL;
	vk_host_model_free(m);
	return v;
}

Test(lshw, no_real_device_below_a_fake_pci_device)
{
	cr_assert_eq(consumers_run(NULL, "default.yaml", "lshw -json 2>/dev/null", out, sizeof(out), err, sizeof(err)), 0,
	             "%s", err);
	cr_assert_eq(only_these_on_pci(out, bdfs_of("default.yaml"), (const char *const[]){NULL}), 13, "%s", out);
}

Test(lshw, a_scenario_interface_is_on_its_device)
{
	const char *s = consumers_variant("default.yaml", "    sriov: {totalvfs: 32, vf_device: 0x154c}\n",
	                                  "    sriov: {totalvfs: 32, vf_device: 0x154c}\n    net: [ens1f0]\n", NULL);

	cr_assert_eq(consumers_run(NULL, s, "lshw -json 2>/dev/null", out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(only_these_on_pci(out, bdfs_of(s), (const char *const[]){"ens1f0", NULL}), 13, "%s", out);
	/* lshw takes the interfaces from the real kernel's list (/proc/net/dev):
	 * ens1f0 is only in sysfs, there on the device's net/ */
	cr_assert_eq(consumers_run(NULL, s, "readlink -f /sys/class/net/ens1f0/device", out, sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	cr_assert_str_eq(out, "/sys/devices/pci0000:80/0000:80:02.0/0000:81:00.0\n");
}

/* The host's first interface whose device is (below) a PCI function, and
 * that function's address into @bdf; NULL when it has none. */
static const char *real_pci_interface(char *bdf, size_t len)
{
	static char name[256];
	char link[PATH_MAX], target[PATH_MAX];
	DIR *d = opendir("/sys/class/net");
	struct dirent *e;
	const char *found = NULL;

	while (d && !found && (e = readdir(d))) {
		snprintf(link, sizeof(link), "/sys/class/net/%s/device", e->d_name);
		if (e->d_name[0] == '.' || !realpath(link, target))
			continue;
		/* the deepest PCI address on the way: a virtio NIC is virtioN below one */
		for (char *save = NULL, *c = strtok_r(target, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			unsigned dom, bus, slot, fn;
			if (strlen(c) == 12 && sscanf(c, "%4x:%2x:%2x.%1x", &dom, &bus, &slot, &fn) == 4) {
				snprintf(bdf, len, "%s", c);
				snprintf(name, sizeof(name), "%s", e->d_name);
				found = name;
			}
		}
	}
	if (d)
		closedir(d);
	return found;
}

Test(lshw, a_real_nic_at_a_scenarios_address_needs_a_network_namespace)
{
	char bdf[32], text[512];
	const char *ifname = real_pci_interface(bdf, sizeof(bdf));

	if (!ifname)
		cr_skip_test("this host has no network interface on a PCI function");
	snprintf(text, sizeof(text),
	         "version: 1\nkernel: {iommu: intel}\ndevices:\n"
	         "  - {address: %s, vendor: 0x8086, device: 0x1572, class: 0x020000, driver: i40e}\n",
	         bdf);
	const char *s = consumers_scenario_text("at-real-nic.yaml", text);
	const char *const here[] = {bdf, NULL};
	int rc = consumers_run(NULL, s, "unshare -rn true && unshare -rn lshw -json 2>/dev/null", out, sizeof(out), err,
	                       sizeof(err));
	if (rc != 0)
		cr_skip_test("unshare -rn does not work here: %s", err);
	cr_assert_eq(only_these_on_pci(out, here, (const char *const[]){NULL}), 1, "%s", out);
	/* without a network namespace of its own, lshw takes the kernel's
	 * ETHTOOL_GDRVINFO bus address of the host's interface: the limit
	 * docs/architecture.md describes */
	cr_assert_eq(consumers_run(NULL, s, "lshw -json 2>/dev/null", out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	char ln[300];
	snprintf(ln, sizeof(ln), "\"logicalname\" : \"%s\"", ifname);
	cr_assert_not_null(strstr(out, ln), "%s is not where lshw showed it: update the docs\n%s", ifname, out);
}

CONSUMERS_MAIN("lshw", NULL)
