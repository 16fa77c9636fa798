/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generated host the benchmarks share (bench_fakesys, bench_run). */
#ifndef VFIOKIT_BENCH_HOST_H
#define VFIOKIT_BENCH_HOST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A host of @n devices: per PCI domain, 248 root ports (slots 1-31, functions
 * 0-7 of bus 00), each with an 8-function endpoint on its own bus (NICs or
 * NVMe); every fourth endpoint slot is handed to vfio-pci.  One IOMMU group
 * per endpoint slot (functions without ACS share it), one per root port.
 */
static inline int bench_write_host(const char *path, unsigned n)
{
	static const char *const drivers[] = {"i40e", "nvme", "vfio-pci", "xhci_hcd"};
	static const uint32_t classes[] = {0x020000, 0x010802, 0x030000, 0x0c0330};
	static const uint16_t devids[] = {0x1572, 0xa80a, 0x2204, 0xa1af};
	FILE *f = fopen(path, "we");
	unsigned made = 0, group = 1;

	if (!f)
		return -errno;
	fprintf(f, "version: 1\nname: bench-%u\n"
	           "kernel:\n  iommu: intel\n  vfio_device_cdev: true\n  iommufd: true\n"
	           "  modules: [vfio, vfio_pci, vfio_pci_core, vfio_iommu_type1, iommufd, nvme, i40e, xhci_pci]\n"
	           "devices:\n",
	        n);
	for (unsigned dom = 0; made < n; dom++) {
		for (unsigned port = 0; port < 248 && made < n; port++) {
			unsigned slot = 1 + port / 8, fn = port % 8, bus = port + 1;
			fprintf(f,
			        "  - {address: \"%04x:00:%02x.%x\", vendor: 0x8086, device: 0x2030, class: 0x060400, "
			        "driver: pcieport, iommu_group: %u, numa_node: %u}\n",
			        dom, slot, fn, group++, dom % 2);
			made++;
			unsigned kind = port % 4, g = group++;
			for (unsigned ef = 0; ef < 8 && made < n; ef++, made++)
				fprintf(f,
				        "  - {address: \"%04x:%02x:00.%x\", parent: \"%04x:00:%02x.%x\", vendor: 0x%04x, "
				        "device: 0x%04x, class: 0x%06x, driver: %s, iommu_group: %u, numa_node: %u}\n",
				        dom, bus, ef, dom, slot, fn, kind == 2 ? 0x10de : 0x8086, devids[kind], classes[kind],
				        drivers[kind], g, dom % 2);
		}
	}
	return fclose(f) == 0 ? 0 : -errno;
}

#endif
