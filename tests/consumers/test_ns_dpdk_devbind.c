/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dpdk-devbind.py under `fakesys run`: --status shows a NIC's interface
 * (it walks /sys/bus/pci/devices/<BDF>/ for a net/ directory) and marks it
 * *Active* when the routing table (`ip -o route`, the real kernel's: the
 * network stack stays the host's) names it, and then refuses to unbind it.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 16], err[1 << 14];

#define SRIOV "    sriov: {totalvfs: 32, vf_device: 0x154c}\n"

Test(dpdk_devbind, status_shows_the_interfaces)
{
	const char *s = consumers_variant("default.yaml", SRIOV, SRIOV "    net: [ens1f0]\n", "    driver: iavf\n",
	                                  "    driver: iavf\n    net: [ens1f0v0]\n", NULL);

	cr_assert_eq(consumers_run(NULL, s, "dpdk-devbind.py --status-dev net 2>/dev/null", out, sizeof(out), err,
	                           sizeof(err)),
	             0, "%s", err);
	cr_assert_not_null(strstr(out, "0000:81:00.0 'Ethernet Controller X710 for 10GbE SFP+ 1572' if=ens1f0 drv=i40e "
	                               "unused=vfio-pci \n"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "0000:81:02.0 'Ethernet Virtual Function 700 Series 154c' if=ens1f0v0 drv=iavf "
	                               "unused=vfio-pci \n"),
	                   "%s", out);
	/* the VF on vfio-pci has no interface */
	cr_assert_not_null(strstr(out, "0000:81:02.1 'Ethernet Virtual Function 700 Series 154c' drv=vfio-pci"), "%s",
	                   out);
	cr_assert_null(strstr(out, "*Active*"), "%s", out);
}

/* The routing table's first interface, or NULL when it names none. */
static const char *routed_interface(void)
{
	static char name[64];
	char o[8192], e[1024];

	if (consumers_sh("ip -o route", o, sizeof(o), e, sizeof(e)) != 0)
		return NULL;
	for (const char *p = o; (p = strstr(p, " dev ")); p += 5)
		if (strncmp(o, "169.254", 7) && sscanf(p + 5, "%63s", name) == 1)
			return name;
	return NULL;
}

/* A fake NIC named like a routed interface is *Active*, and --bind leaves it
 * alone even where the sysfs writes would work (--live). */
Test(dpdk_devbind, an_active_interface_is_guarded)
{
	const char *ifname = routed_interface();
	char to[256];

	if (!ifname)
		cr_skip_test("this host's routing table names no interface: nothing can be *Active*");
	snprintf(to, sizeof(to), SRIOV "    net: [%s]\n", ifname);
	const char *s = consumers_variant("default.yaml", SRIOV, to, NULL);
	int rc = consumers_run("--live", s,
	                       "dpdk-devbind.py --status-dev net 2>/dev/null; dpdk-devbind.py -b vfio-pci 0000:81:00.0 2>&1 | "
	                       "grep -v 'Unable to load libkmod'; "
	                       "echo \"status $?\"; basename $(readlink /sys/bus/pci/devices/0000:81:00.0/driver)",
	                       out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 0, "%s%s", out, err);
	char want[256];
	snprintf(want, sizeof(want), "if=%s drv=i40e unused=vfio-pci *Active*\n", ifname);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_not_null(strstr(out, "routing table indicates that interface 0000:81:00.0 is active. Not modifying"),
	                   "%s%s", out, err);
	cr_assert_not_null(strstr(out, "\ni40e\n"), "the NIC left i40e:\n%s", out);
}

CONSUMERS_MAIN("dpdk-devbind.py", "ip", "lspci", NULL)
