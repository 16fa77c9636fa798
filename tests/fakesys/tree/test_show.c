/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys show (vk_host_model_show()): the drawing of a topology with every
 * shape (bridges under bridges, last and middle children, SR-IOV, a VMD-style
 * domain, several root buses and domains), a deep chain of bridges, and a
 * host of 100,000 devices in a child with a time limit (it took 90 s when
 * each device looked for its children among all the others).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/host_tree.h>

#include "testutil.h"

static struct vk_host_model *load(const char *yaml, size_t len)
{
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load_buffer("t.yaml", yaml, len, &m, &e), 0, "%s", e.msg);
	return m;
}

static char *show(const struct vk_host_model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	vk_host_model_show(m, f);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

static const char topology[] =
	"version: 1\n"
	"name: topology\n"
	"description: show's drawing\n"
	"kernel: {release: 6.12.0-show, cmdline: \"intel_iommu=on iommu=pt\", iommu: intel, iommu_units: 2, vfio_device_cdev: true, iommufd: true,\n"
	"         modules: [vfio, vfio_pci, vfio_pci_core, vfio_iommu_type1, iommufd, vmd, i40e, iavf, nvme]}\n"
	"devices:\n"
	"  - {address: 0000:00:00.0, vendor: 0x8086, device: 0x2020}\n"
	"  - {address: 0000:00:01.0, vendor: 0x8086, device: 0x2030, driver: pcieport}\n"
	"  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 0x10b5, device: 0x8747, class: 0x060400, driver: pcieport}\n"
	"  - {address: 0000:02:08.0, parent: 0000:01:00.0, vendor: 0x10b5, device: 0x8747, class: 0x060400, driver: pcieport}\n"
	"  - {address: 0000:02:10.0, parent: 0000:01:00.0, vendor: 0x10b5, device: 0x8747, class: 0x060400, driver: pcieport}\n"
	"  - {address: 0000:03:00.0, parent: 0000:02:08.0, vendor: 0x10de, device: 0x2204, class: 0x030000, driver: vfio-pci}\n"
	"  - {address: 0000:03:00.1, parent: 0000:02:08.0, vendor: 0x10de, device: 0x1aef, class: 0x040300, driver: vfio-pci}\n"
	"  - {address: 0000:04:00.0, parent: 0000:02:10.0, vendor: 0x8086, device: 0x1572, driver: i40e, sriov: {totalvfs: 4, vf_device: 0x154c}}\n"
	"  - {address: 0000:04:02.0, physfn: 0000:04:00.0, driver: iavf}\n"
	"  - {address: 0000:04:02.1, physfn: 0000:04:00.0}\n"
	"  - {address: 0000:00:0e.0, vendor: 0x8086, device: 0x467f, driver: vmd}\n"
	"  - {address: 10000:e0:06.0, parent: 0000:00:0e.0, vendor: 0x8086, device: 0x464d, driver: pcieport}\n"
	"  - {address: 10000:e1:00.0, parent: 10000:e0:06.0, vendor: 0x144d, device: 0xa80a, driver: nvme}\n"
	"  - {address: 0000:00:1f.0, vendor: 0x8086, device: 0x7a84}\n"
	"  - {address: 0000:80:00.0, vendor: 0x8086, device: 0x09a2}\n"
	"  - {address: 0000:80:01.0, vendor: 0x8086, device: 0x09a3}\n"
	"  - {address: 0001:00:00.0, vendor: 0x1022, device: 0x1480}\n";

/* What `fakesys show` printed for it before it was made linear, line for line. */
static const char topology_shown[] =
	"host topology: show's drawing\n"
	"  kernel 6.12.0-show, IOMMU intel (2 units, default domain identity, interrupt remapping off)\n"
	"  VFIO cdev yes, iommufd yes\n"
	"  cmdline: intel_iommu=on iommu=pt\n"
	"  modules: vfio vfio_pci vfio_pci_core vfio_iommu_type1 iommufd vmd i40e iavf nvme\n"
	"  /dev/iommu (0:0 0660)  /dev/vfio/vfio (0:0 0666)\n"
	"\n"
	"pci0000:00\n"
	"├─ 0000:00:00.0 [8086:2020] Unassigned class\n"
	"│     driver: (none)     group 0   numa -1\n"
	"├─ 0000:00:01.0 [8086:2030] PCI bridge\n"
	"│     driver: pcieport   group 1   numa -1\n"
	"│   └─ 0000:01:00.0 [10b5:8747] PCI bridge\n"
	"│         driver: pcieport   group 4   numa -1\n"
	"│       ├─ 0000:02:08.0 [10b5:8747] PCI bridge\n"
	"│       │     driver: pcieport   group 5   numa -1\n"
	"│       │   ├─ 0000:03:00.0 [10de:2204] VGA compatible controller\n"
	"│       │   │     driver: vfio-pci   group 7   numa -1  /dev/vfio/devices/vfio0 (0:0 0600)\n"
	"│       │   └─ 0000:03:00.1 [10de:1aef] Audio device\n"
	"│       │         driver: vfio-pci   group 8   numa -1  /dev/vfio/devices/vfio1 (0:0 0600)\n"
	"│       └─ 0000:02:10.0 [10b5:8747] PCI bridge\n"
	"│             driver: pcieport   group 6   numa -1\n"
	"│           ├─ 0000:04:00.0 [8086:1572] Ethernet controller SR-IOV PF (4 VFs max)\n"
	"│           │     driver: i40e       group 9   numa -1\n"
	"│           ├─ 0000:04:02.0 [8086:154c] Ethernet controller VF of 0000:04:00.0\n"
	"│           │     driver: iavf       group 10  numa -1\n"
	"│           └─ 0000:04:02.1 [8086:154c] Ethernet controller VF of 0000:04:00.0\n"
	"│                 driver: (none)     group 11  numa -1\n"
	"├─ 0000:00:0e.0 [8086:467f] RAID bus controller\n"
	"│     driver: vmd        group 2   numa -1\n"
	"│   └─ 10000:e0:06.0 [8086:464d] PCI bridge\n"
	"│         driver: pcieport   group 15  numa -1\n"
	"│       └─ 10000:e1:00.0 [144d:a80a] Non-Volatile memory controller\n"
	"│             driver: nvme       group 16  numa -1\n"
	"└─ 0000:00:1f.0 [8086:7a84] Unassigned class\n"
	"      driver: (none)     group 3   numa -1\n"
	"pci0000:80\n"
	"├─ 0000:80:00.0 [8086:09a2] Unassigned class\n"
	"│     driver: (none)     group 12  numa -1\n"
	"└─ 0000:80:01.0 [8086:09a3] Unassigned class\n"
	"      driver: (none)     group 13  numa -1\n"
	"pci0001:00\n"
	"└─ 0001:00:00.0 [1022:1480] Unassigned class\n"
	"      driver: (none)     group 14  numa -1\n"
	"\n"
	"IOMMU groups:\n"
	"  0 identity: 0000:00:00.0(none)\n"
	"  1 identity: 0000:00:01.0(pcieport)\n"
	"  2 identity: 0000:00:0e.0(vmd)\n"
	"  3 identity: 0000:00:1f.0(none)\n"
	"  4 identity: 0000:01:00.0(pcieport)\n"
	"  5 identity: 0000:02:08.0(pcieport)\n"
	"  6 identity: 0000:02:10.0(pcieport)\n"
	"  7 identity: 0000:03:00.0(vfio-pci)\n"
	"  8 identity: 0000:03:00.1(vfio-pci)\n"
	"  9 identity: 0000:04:00.0(i40e)\n"
	"  10 identity: 0000:04:02.0(iavf)\n"
	"  11 identity: 0000:04:02.1(none)\n"
	"  12 identity: 0000:80:00.0(none)\n"
	"  13 identity: 0000:80:01.0(none)\n"
	"  14 identity: 0001:00:00.0(none)\n"
	"  15 identity: 10000:e0:06.0(pcieport)\n"
	"  16 identity: 10000:e1:00.0(nvme)\n";

Test(show, topology)
{
	struct vk_host_model *m = load(topology, sizeof(topology) - 1);
	char *s = show(m);
	cr_assert_str_eq(s, topology_shown);
	free(s);
	vk_host_model_free(m);
}

/* A chain of 200 bridges, each behind the last: every device is shown, in
 * order, and the drawing's indentation stops growing at 255 bytes (whole
 * pieces: no line ends in the middle of a "│"). */
Test(show, deep_chain)
{
	char *yaml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);

	cr_assert_not_null(f);
	fputs("version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 0x8086, device: 0x2030, class: 0x060400}\n", f);
	for (int b = 1; b < 200; b++)
		fprintf(f, "  - {address: 0000:%02x:00.0, parent: 0000:%02x:%s, vendor: 0x8086, device: 0x2030, "
		           "class: 0x060400}\n",
		        b, b - 1, b == 1 ? "01.0" : "00.0");
	cr_assert_eq(fclose(f), 0);
	struct vk_host_model *m = load(yaml, len);
	char *s = show(m);
	const char *p = s;
	for (int b = 1; b < 200; b++) {
		char want[32];
		snprintf(want, sizeof(want), "─ 0000:%02x:00.0 ", b);
		const char *q = strstr(p, want);
		cr_assert_not_null(q, "0000:%02x:00.0 missing or out of order", b);
		p = q;
	}
	for (char *save = NULL, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *dev = strstr(l, "─ 0000:"); /* after the corner, "├" or "└" (3 bytes each) */
		if (dev)
			cr_assert_leq(dev - 3 - l, 255, "indentation of %td bytes: %s", dev - 3 - l, l);
	}
	free(s);
	free(yaml);
	vk_host_model_free(m);
}

/* 100 root ports with 250 devices each, and 75,000 devices on root buses of
 * other domains. */
static char *hundred_thousand(size_t *len)
{
	char *yaml = NULL;
	FILE *f = open_memstream(&yaml, len);
	unsigned n = 0;

	cr_assert_not_null(f);
	fputs("version: 1\nkernel: {iommu: intel}\ndevices:\n", f);
	for (unsigned p = 0; p < 100; p++) {
		unsigned slot = 1 + p / 8, fn = p % 8;
		fprintf(f, "  - {address: 0000:00:%02x.%u, vendor: 0x8086, device: 0x2030, class: 0x060400}\n", slot, fn);
		for (unsigned e = 0; e < 250; e++)
			fprintf(f, "  - {address: 0000:%02x:%02x.%u, parent: 0000:00:%02x.%u, vendor: 0x8086, device: 0x1234}\n",
			        p + 1, e / 8, e % 8, slot, fn);
		n += 251;
	}
	for (unsigned i = 0; n < 100000; i++, n++)
		fprintf(f, "  - {address: %04x:%02x:%02x.%u, vendor: 0x8086, device: 0x1234}\n", 1 + (i >> 16),
		        (i >> 8) & 0xff, (i >> 3) & 31, i & 7);
	cr_assert_eq(fclose(f), 0);
	return yaml;
}

Test(show, hundred_thousand_devices, .timeout = 180)
{
	size_t len;
	char *yaml = hundred_thousand(&len);
	struct vk_host_model *m = load(yaml, len);
	struct timespec t0, t1;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		FILE *null = fopen("/dev/null", "w");
		vk_host_model_show(m, null);
		_exit(fclose(null) == 0 ? 0 : 1);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		cr_assert_geq(w, 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (w == pid)
			break;
		if (t1.tv_sec - t0.tv_sec >= 60) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cr_assert_fail("show of 100,000 devices: not done after 60 s");
		}
		usleep(10000);
	}
	cr_log_info("show of 100,000 devices: %.2f s",
	            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);

	/* and what it shows: every device once, the root buses once each */
	char *s = show(m);
	size_t lines = 0, buses = 0;
	for (const char *p = s; (p = strchr(p, '\n')); p++)
		lines++;
	for (const char *p = s; (p = strstr(p, "\npci")); p++)
		buses++;
	size_t flat = 100000 - 100 * 251; /* 256 functions a bus */
	cr_assert_eq(buses, 1 + (flat + 255) / 256, "pci0000:00 and the buses of the other domains");
	cr_assert_gt(lines, 2 * 100000);
	free(s);
	free(yaml);
	vk_host_model_free(m);
}
