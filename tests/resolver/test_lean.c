/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lean success path of opening (resolver/src/lean.c, issue #17): what a
 * device costs in system calls once the set is open, counted two ways — by
 * the library (vk_resolver_syscall_count()) on hand-built trees, and by
 * strace on `vfio-resolve --open` over a materialized scenario.  A count is
 * deterministic: at most 12 per device on a real host's shape (character
 * device nodes), one pread more for a stand-in.  The failures the lean path
 * hands to the full one keep the full diagnosis (test_open, test_fuse_faults).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include "testutil.h"
#include "tree.h"

static char dir[256];

static void setup(void)
{
	cr_assert_eq(tree_new(dir, sizeof(dir), true), 0);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

TestSuite(lean, .init = setup, .fini = teardown);

/* Devices 0000:06:00.0 .. 0000:06:00.<n-1>, each vfio<i>, group 12 + i. */
static void add_devices(int n, bool chardev)
{
	static char bdf[8][16], cdev[8][16];

	for (int i = 0; i < n; i++) {
		struct tree_dev d = tree_happy;
		snprintf(bdf[i], sizeof(bdf[i]), "0000:06:00.%d", i);
		snprintf(cdev[i], sizeof(cdev[i]), "vfio%d", i);
		d.bdf = bdf[i];
		d.cdev = cdev[i];
		d.group = 12 + i;
		if (chardev) {
			/* /dev/null's number: a node that opens read-write anywhere */
			d.maj = 1;
			d.min = 3;
			d.chardev_node = true;
		} else {
			d.min = (unsigned)i;
		}
		int r = tree_add(dir, &d);
		if (r == -EPERM)
			cr_skip_test("mknod is not permitted here (%s): no real-host shape", strerror(-r));
		cr_assert_eq(r, 0, "%s", strerror(-r));
	}
}

/* System calls vk_vfio_set_open() makes for the first @n devices. */
static uint64_t open_cost(int n, struct vk_vfio_set *set)
{
	struct vk_pci_addr a[8];
	struct vk_root *root;
	struct vk_error e = {0};

	for (int i = 0; i < n; i++) {
		char bdf[16];
		snprintf(bdf, sizeof(bdf), "0000:06:00.%d", i);
		cr_assert_eq(vk_pci_addr_parse(bdf, &a[i], NULL), 0);
	}
	cr_assert_eq(vk_root_open(dir, 0, &root, NULL), 0);
	uint64_t before = vk_resolver_syscall_count();
	int r = vk_vfio_set_open(root, a, (size_t)n, 0, set, &e);
	uint64_t cost = vk_resolver_syscall_count() - before;
	vk_root_close(root);
	cr_assert_eq(r, 0, "%s", e.msg);
	return cost;
}

static uint64_t per_extra_device(bool chardev)
{
	struct vk_vfio_set one, four;

	add_devices(4, chardev);
	uint64_t c1 = open_cost(1, &one), c4 = open_cost(4, &four);
	for (size_t i = 0; i < four.n; i++) {
		char want[64];
		snprintf(want, sizeof(want), "/dev/vfio/devices/vfio%zu", i);
		cr_assert_str_eq(four.dev[i].node_path, want);
		cr_assert_eq(four.dev[i].iommu_group, 12 + (long)i);
		cr_assert_geq(four.dev[i].fd, 0);
	}
	vk_vfio_set_close(&one);
	vk_vfio_set_close(&four);
	return (c4 - c1) / 3;
}

Test(lean, a_device_costs_at_most_12_calls_on_a_real_hosts_shape)
{
	if (geteuid() != 0)
		cr_skip_test("mknod of a character device needs root");
	uint64_t n = per_extra_device(true);
	cr_log_info("lean open, character device nodes: %llu system calls per device", (unsigned long long)n);
	/* the open alone (the set's close comes later): 11 in lean.c's table */
	cr_assert_leq(n, 12, "%llu system calls per device", (unsigned long long)n);
}

Test(lean, a_stand_in_costs_one_pread_more)
{
	uint64_t n = per_extra_device(false);
	cr_log_info("lean open, stand-ins: %llu system calls per device", (unsigned long long)n);
	cr_assert_leq(n, 13, "%llu system calls per device", (unsigned long long)n);
}

/* The facts are read when asked for (vk_vfio_device_open() with @fout): the
 * full path, with every fact. */
Test(lean, facts_asked_for_are_all_read)
{
	struct vk_root *root;
	struct vk_pci_dev_facts f;
	struct vk_pci_addr a;
	struct vk_error e = {0};

	add_devices(1, false);
	cr_assert_eq(vk_pci_addr_parse("0000:06:00.0", &a, NULL), 0);
	cr_assert_eq(vk_root_open(dir, 0, &root, NULL), 0);
	int fd = vk_vfio_device_open(root, &a, &f, &e);
	vk_root_close(root);
	cr_assert_geq(fd, 0, "%s", e.msg);
	close(fd);
	cr_assert_str_eq(f.driver, "vfio-pci");
	cr_assert_neq(f.vendor, -1);
	cr_assert(f.node_present && f.node_is_standin);
}

/* strace -f over `vfio-resolve --open`: the whole program, per extra device,
 * without the stand-in's pread a real node does not need. */
static unsigned strace_count(const char *tree, const char *const *bdfs, int n, unsigned *preads)
{
	char bin[PATH_MAX], out[PATH_MAX], err[4096], line[4096];
	char *argv[16];
	int k = 0;

	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	snprintf(out, sizeof(out), "%s/strace.out", dir);
	argv[k++] = "/usr/bin/strace";
	argv[k++] = "-f";
	argv[k++] = "-qq";
	argv[k++] = "-o";
	argv[k++] = out;
	argv[k++] = bin;
	argv[k++] = "--root";
	argv[k++] = (char *)tree;
	argv[k++] = "--open";
	for (int i = 0; i < n; i++)
		argv[k++] = (char *)bdfs[i];
	argv[k] = NULL;
	int rc = vk_run(argv, NULL, 0, err, sizeof(err));
	if (rc == 127 || (rc != 0 && strstr(err, "ptrace")))
		cr_skip_test("strace cannot trace here: %s", err);
	cr_assert_eq(rc, 0, "%s", err);
	FILE *f = fopen(out, "re");
	cr_assert_not_null(f);
	unsigned lines = 0;
	*preads = 0;
	while (fgets(line, sizeof(line), f)) {
		lines++;
		*preads += strstr(line, "pread64(") != NULL;
	}
	fclose(f);
	return lines;
}

Test(lean, vfio_resolve_open_under_strace)
{
	static const char *const bdfs[] = {"0000:01:00.0", "0000:01:00.1", "0000:81:02.1"};
	char tree[PATH_MAX], scen[PATH_MAX];
	unsigned p1, p3;

	if (access("/usr/bin/strace", X_OK) < 0)
		cr_skip_test("strace is not installed");
	vk_scenario_path("default.yaml", scen, sizeof(scen));
	cr_assert_eq(vk_materialize(scen, tree, sizeof(tree)), 0);
	unsigned c1 = strace_count(tree, bdfs, 1, &p1), c3 = strace_count(tree, bdfs, 3, &p3);
	vk_rm_rf(tree);
	unsigned per = (c3 - c1) / 2, pread = (p3 - p1) / 2;
	cr_log_info("vfio-resolve --open: %u system calls per extra device (%u of them the stand-in's pread)", per,
	            pread);
	cr_assert_eq(pread, 1, "one pread of the stand-in per device");
	cr_assert_leq(per - pread, 12, "%u system calls per extra device, %u without the stand-in's pread", per,
	              per - pread);
}
