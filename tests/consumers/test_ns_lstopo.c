/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lstopo (hwloc) under `fakesys run`: the scenario's NUMA nodes, packages and
 * CPUs, its PCI devices on their nodes, its interfaces on their devices, and
 * no real device below a fake one (hwloc's Linux backend reads sysfs only).
 * HWLOC_COMPONENTS=-x86 keeps hwloc from asking the real CPU (CPUID), and
 * --whole-system shows the CPUs the real scheduler does not let this process
 * use (docs/architecture.md, "fakesys run").
 */
#include <criterion/criterion.h>
#include <string.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 16], err[1 << 14];

#define LSTOPO "HWLOC_COMPONENTS=-x86 lstopo-no-graphics --whole-system --no-caches -p --no-io --no-bridges "

Test(lstopo, the_scenarios_numa_layout)
{
	cr_assert_eq(consumers_run(NULL, "default.yaml", "HWLOC_COMPONENTS=-x86 lstopo-no-graphics --whole-system "
	                                                 "--no-caches -p --of console",
	                           out, sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	/* two packages with their nodes: the GPU on node 0, the NIC on node 1 */
	const char *p0 = strstr(out, "Package P#0"), *n0 = strstr(out, "NUMANode P#0");
	const char *p1 = strstr(out, "Package P#1"), *n1 = strstr(out, "NUMANode P#1");
	const char *gpu = strstr(out, "PCI 01:00.0"), *nic = strstr(out, "PCI 81:00.0");
	cr_assert(p0 && n0 && p1 && n1 && gpu && nic, "%s", out);
	cr_assert(p0 < n0 && n0 < gpu && gpu < p1 && p1 < n1 && n1 < nic, "%s", out);
	for (int c = 0; c < 8; c++) {
		char pu[32];
		snprintf(pu, sizeof(pu), "PU P#%d\n", c);
		const char *at = strstr(out, pu);
		cr_assert(at && (c < 4 ? at < p1 : at > p1), "%s not in its package:\n%s", pu, out);
	}
	cr_assert_null(strstr(out, "PU P#8"), "%s", out);
}

/* A scenario interface is on its device; with none, no OS device of the
 * host's appears below the fake devices (whatever address its NIC has). */
Test(lstopo, only_the_scenarios_interfaces)
{
	cr_assert_eq(consumers_run(NULL, "default.yaml", "HWLOC_COMPONENTS=-x86 lstopo-no-graphics -p --of console", out,
	                           sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	cr_assert_null(strstr(out, "Net "), "%s", out);
	cr_assert_null(strstr(out, "Block"), "%s", out);

	const char *s = consumers_variant("default.yaml", "    sriov: {totalvfs: 32, vf_device: 0x154c}\n",
	                                  "    sriov: {totalvfs: 32, vf_device: 0x154c}\n"
	                                  "    net: [{name: ens1f0, address: \"3c:fd:fe:a1:b2:c3\"}]\n",
	                                  NULL);
	cr_assert_eq(consumers_run(NULL, s, "HWLOC_COMPONENTS=-x86 lstopo-no-graphics -p -v --of console", out,
	                           sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	const char *nic = strstr(out, "busid=0000:81:00.0"), *net = strstr(out, "Network (");
	cr_assert(nic && net && nic < net, "%s", out);
	cr_assert_eq(strncmp(net, "Network (Address=3c:fd:fe:a1:b2:c3) \"ens1f0\"\n", 43), 0, "%s", out);
	cr_assert_null(strstr(net + 1, "Network ("), "%s", out);
}

CONSUMERS_MAIN("lstopo-no-graphics", NULL)
