/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resolver lookup cost against host size: resolve every device of generated
 * 1,000- and 10,000-device hosts (materialized by the fakesys CLI) and print
 * time and system calls per device.  The per-device cost must not grow with
 * the number of devices: a lookup opens sys/bus/pci/devices/<BDF> by name and
 * reads that device's own files; it never scans a directory of all devices.
 * Syscalls are counted by the library itself (vk_resolver_syscall_count()).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/resolver.h>

#include "testutil.h"

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Device i: bus 1 + i/256 behind root port 0000:00:<slot>.<fn>, on vfio-pci, own group, cdev i. */
static void dev_addr(unsigned i, struct vk_pci_addr *a)
{
	a->domain = 0;
	a->bus = (uint8_t)(1 + i / 256);
	a->slot = (uint8_t)((i % 256) / 8);
	a->function = (uint8_t)(i % 8);
}

static int write_scenario(const char *path, unsigned n)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "version: 1\nname: bench-%u\ndescription: %u vfio-pci devices\n"
	           "kernel:\n  iommu: intel\n  vfio_device_cdev: true\n  iommufd: true\n"
	           "  modules: [vfio, vfio_pci, iommufd]\ndevices:\n",
	        n, n);
	unsigned buses = (n + 255) / 256;
	for (unsigned b = 0; b < buses; b++)
		fprintf(f, "  - {address: \"0000:00:%02x.%x\", vendor: 0x8086, device: 0x2030, class: 0x060400, "
		           "driver: pcieport}\n",
		        1 + b / 8, b % 8);
	for (unsigned i = 0; i < n; i++) {
		struct vk_pci_addr a;
		char bdf[VK_PCI_ADDR_STRLEN];
		dev_addr(i, &a);
		unsigned b = i / 256;
		fprintf(f, "  - {address: \"%s\", parent: \"0000:00:%02x.%x\", vendor: 0x8086, device: 0x1572, "
		           "class: 0x020000, driver: vfio-pci, iommu_group: %u, vfio_cdev: %u}\n",
		        vk_pci_addr_format(&a, bdf), 1 + b / 8, b % 8, 100 + i, i);
	}
	fprintf(f, "dev:\n  iommu: {owner: 0, group: 0, mode: \"0660\"}\n");
	return fclose(f);
}

struct row {
	unsigned n;
	double facts_ns, open_ns;
	double facts_sys, open_sys;
};

static int measure(const char *tree, unsigned n, unsigned flags, struct row *row)
{
	struct vk_root *root;
	struct vk_error e;
	int rc = -1;

	if (vk_root_open(tree, flags, &root, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}

	/* every device once per pass: the first pass warms the dentry cache; the
	 * fastest of the later passes is kept (the machine may be shared) */
	row->facts_ns = 1e30;
	for (int pass = 0; pass < 4; pass++) {
		uint64_t s0 = vk_resolver_syscall_count();
		double t0 = now_ns();
		for (unsigned i = 0; i < n; i++) {
			struct vk_pci_addr a;
			struct vk_pci_dev_facts f;
			char path[64];
			dev_addr(i, &a);
			if (vk_pci_dev_facts_read(root, &a, &f, &e) < 0 || vk_vfio_cdev_lookup(&f, path, sizeof(path), &e) < 0) {
				fprintf(stderr, "device %u: %s\n", i, e.msg);
				goto out_root;
			}
		}
		double t = (now_ns() - t0) / n;
		if (pass > 0 && t < row->facts_ns)
			row->facts_ns = t;
		row->facts_sys = (double)(vk_resolver_syscall_count() - s0) / n;
	}
	row->open_ns = 1e30;
	for (int pass = 0; pass < 3; pass++) {
		uint64_t s0 = vk_resolver_syscall_count();
		double t0 = now_ns();
		for (unsigned i = 0; i < n; i++) {
			struct vk_pci_addr a;
			dev_addr(i, &a);
			int fd = vk_vfio_device_open(root, &a, NULL, &e);
			if (fd < 0) {
				fprintf(stderr, "device %u: %s\n", i, e.msg);
				goto out_root;
			}
			close(fd);
		}
		double t = (now_ns() - t0) / n;
		if (t < row->open_ns)
			row->open_ns = t;
		row->open_sys = (double)(vk_resolver_syscall_count() - s0) / n;
	}
	row->n = n;
	rc = 0;
out_root:
	vk_root_close(root);
	return rc;
}

/* Materialize an n-device host once and measure both lookup modes on it. */
static int run(unsigned n, struct row rows[2])
{
	char tmp[256], yaml[512], tree[256];
	int rc = -1;

	if (vk_mkdtemp(tmp, sizeof(tmp)) < 0)
		return -1;
	snprintf(yaml, sizeof(yaml), "%s/bench.yaml", tmp);
	double t0 = now_ns();
	if (write_scenario(yaml, n) < 0 || vk_materialize(yaml, tree, sizeof(tree)) != 0)
		goto out;
	fprintf(stderr, "bench_resolver: materialized %u devices in %.1f s\n", n, (now_ns() - t0) / 1e9);
	rc = measure(tree, n, 0, &rows[0]);
	if (rc == 0)
		rc = measure(tree, n, VK_ROOT_NO_OPENAT2, &rows[1]);
	vk_rm_rf(tree);
out:
	unlink(yaml);
	rmdir(tmp);
	return rc;
}

/*
 * libvirt's lookup and open (the patch "qemu: open VFIO FDs from libvirt
 * backend", virPCIDeviceGetVfioPath()'s first try and
 * qemuProcessOpenVfioDeviceFd()): opendir sys/bus/pci/devices/<BDF>/vfio-dev,
 * the first entry named vfio*, closedir, open /dev/vfio/devices/<it> O_RDWR.
 * It checks nothing else.  Run as `bench_resolver --libvirt ROOT BDF...`.
 */
static int libvirt_open(const char *root, char **bdfs, int n)
{
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], node[PATH_MAX] = "";
		struct dirent *e;
		snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/vfio-dev/", root, bdfs[i]);
		DIR *d = opendir(path);
		while (d && (e = readdir(d)))
			if (!strncmp(e->d_name, "vfio", 4)) {
				snprintf(node, sizeof(node), "%s/dev/vfio/devices/%s", root, e->d_name);
				break;
			}
		if (d)
			closedir(d);
		if (!node[0] || open(node, O_RDWR | O_CLOEXEC) < 0) {
			fprintf(stderr, "bench_resolver: %s: no VFIO device\n", bdfs[i]);
			return 1;
		}
	}
	return 0;
}

/* System calls of @argv (the whole program) under strace -f, or -1. */
static long strace_calls(char **argv, const char *out)
{
	char *sargv[64] = {"/usr/bin/strace", "-f", "-qq", "-o", (char *)out};
	char err[1024], line[4096];
	int k = 5;
	long n = 0;

	for (int i = 0; argv[i] && k < 63; i++)
		sargv[k++] = argv[i];
	sargv[k] = NULL;
	if (vk_run(sargv, NULL, 0, err, sizeof(err)) != 0)
		return -1;
	FILE *f = fopen(out, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Per extra device, from a 1-device and an 11-device run of @head + BDFs. */
static double per_device(char **head, int nhead, char bdfs[][VK_PCI_ADDR_STRLEN], const char *out)
{
	char *argv[64];
	long c[2];

	for (int r = 0; r < 2; r++) {
		int k = 0, n = r ? 11 : 1;
		for (int i = 0; i < nhead; i++)
			argv[k++] = head[i];
		for (int i = 0; i < n; i++)
			argv[k++] = bdfs[i];
		argv[k] = NULL;
		if ((c[r] = strace_calls(argv, out)) < 0)
			return -1;
	}
	return (double)(c[1] - c[0]) / 10;
}

/* The resolver's open against libvirt's, in system calls per device. */
static void against_libvirt(void)
{
	char tmp[256], yaml[512], tree[256], out[600], self[PATH_MAX], resolve[PATH_MAX];
	char bdfs[11][VK_PCI_ADDR_STRLEN];

	if (access("/usr/bin/strace", X_OK) < 0) {
		printf("\n(no strace: the comparison with libvirt's lookup is left out)\n");
		return;
	}
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k <= 0 || vk_mkdtemp(tmp, sizeof(tmp)) < 0)
		return;
	self[k] = '\0';
	vk_bin("resolver/vfio-resolve", resolve, sizeof(resolve));
	snprintf(yaml, sizeof(yaml), "%s/bench.yaml", tmp);
	snprintf(out, sizeof(out), "%s/strace.out", tmp);
	if (write_scenario(yaml, 1000) < 0 || vk_materialize(yaml, tree, sizeof(tree)) != 0)
		goto out;
	for (unsigned i = 0; i < 11; i++) {
		struct vk_pci_addr a;
		dev_addr(i * 90, &a);
		vk_pci_addr_format(&a, bdfs[i]);
	}
	char *lv[] = {self, "--libvirt", tree};
	char *vr[] = {resolve, "--root", tree, "--open"};
	double l = per_device(lv, 3, bdfs, out), v = per_device(vr, 4, bdfs, out);
	printf("\nopen per extra device, system calls of the whole program (strace -f), 1,000-device host:\n");
	printf("  libvirt's lookup + open (checks nothing)      %6.1f\n", l);
	printf("  vfio-resolve --open (lean path, every check)  %6.1f   %.2fx libvirt\n", v, l > 0 ? v / l : 0);
	vk_rm_rf(tree);
out:
	unlink(out);
	unlink(yaml);
	rmdir(tmp);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--libvirt"))
		return libvirt_open(argv[2], argv + 3, argc - 3);
	static const unsigned sizes[] = {1000, 10000};
	static const struct {
		unsigned flags;
		const char *name;
	} modes[] = {{0, "openat2"}, {VK_ROOT_NO_OPENAT2, "walk"}};
	struct row rows[2][2]; /* [mode][size] */
	struct row by_size[2][2];

	printf("bench_resolver: resolve every device of a generated host (plain tree, warm cache, best pass)\n\n");
	printf("%-8s %8s | %12s %12s | %12s %12s\n", "lookup", "devices", "facts ns/dev", "syscalls/dev",
	       "open ns/dev", "syscalls/dev");
	printf("---------------------------------------------------------------------------------\n");
	for (size_t s = 0; s < 2; s++) {
		if (run(sizes[s], by_size[s]) < 0) {
			fprintf(stderr, "bench_resolver: the %u-device run failed\n", sizes[s]);
			return 1;
		}
		rows[0][s] = by_size[s][0];
		rows[1][s] = by_size[s][1];
	}
	for (size_t m = 0; m < 2; m++) {
		for (size_t s = 0; s < 2; s++) {
			struct row *r = &rows[m][s];
			printf("%-8s %8u | %12.0f %12.1f | %12.0f %12.1f\n", modes[m].name, r->n, r->facts_ns, r->facts_sys,
			       r->open_ns, r->open_sys);
		}
	}
	printf("\nratio 10000/1000 devices (1.0 = lookup cost independent of host size):\n");
	for (size_t m = 0; m < 2; m++)
		printf("  %-8s time facts %.2f, open %.2f; syscalls facts %.2f, open %.2f\n", modes[m].name,
		       rows[m][1].facts_ns / rows[m][0].facts_ns, rows[m][1].open_ns / rows[m][0].open_ns,
		       rows[m][1].facts_sys / rows[m][0].facts_sys, rows[m][1].open_sys / rows[m][0].open_sys);
	against_libvirt();
	return 0;
}
