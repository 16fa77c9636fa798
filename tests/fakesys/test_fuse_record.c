/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A recording replayed through FUSE: `fakesys record` of this machine, served
 * by `fakesys mount`, reads the same to lspci -nnvk and vfio-resolve as the
 * real root; and a bundled scenario recorded from its FUSE mount
 * (`record --root MNT`) materializes to the same tree as the scenario itself.
 * Run through need-fuse.sh (skipped without /dev/fuse).  Every mount is
 * undone by the suite's fini, also when an assertion fails.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* The sorted entries of @dir (a test failure when it cannot be read). */
static char **names_of(const char *dir, size_t *n)
{
	char **v = vk_dir_names(dir, n);
	cr_assert_not_null(v, "listing %s: %s", dir, strerror(errno));
	return v;
}

#define BIG (1u << 20)

static char mnt[512], work[512], tree1[512], tree2[512];

static void cleanup(void)
{
	if (mnt[0])
		vk_umount(mnt);
	if (tree1[0])
		vk_rm_rf(tree1);
	if (tree2[0])
		vk_rm_rf(tree2);
	if (work[0])
		vk_rm_rf(work);
	mnt[0] = tree1[0] = tree2[0] = work[0] = '\0';
}

TestSuite(fuse_record, .fini = cleanup, .timeout = 180);

static char *xmalloc(size_t n)
{
	char *p = calloc(1, n);
	cr_assert_not_null(p);
	return p;
}

static bool have_prog(const char *p)
{
	return access(p, X_OK) == 0;
}

/* Two trees are identical: names, types, modes, owners, link targets and contents. */
static void compare_trees(const char *a, const char *b)
{
	char why[1024] = "";
	int r = vk_tree_diff(a, b, why, sizeof(why), NULL);
	cr_assert_eq(r, 0, "%s (%d)", why, r);
}

/* `fakesys record [--root ROOT] --output OUT`. */
static void record_cli(const char *root, const char *out)
{
	char bin[PATH_MAX], *err = xmalloc(BIG), *argv[8];
	int a = 0;
	argv[a++] = (char *)vk_bin("fakesys/fakesys", bin, sizeof(bin));
	argv[a++] = "record";
	if (root) {
		argv[a++] = "--root";
		argv[a++] = (char *)root;
	}
	argv[a++] = "--output";
	argv[a++] = (char *)out;
	argv[a] = NULL;
	cr_assert_eq(vk_run(argv, NULL, 0, err, BIG), 0, "fakesys record --root %s: %s", root ? root : "/", err);
	free(err);
}

/* lspci -A linux-sysfs [-O sysfs.path=SYSFS_PCI] -nnvk. */
static char *lspci(const char *sysfs_pci)
{
	char *out = xmalloc(BIG), *err = xmalloc(BIG), opt[PATH_MAX], *argv[8];
	int a = 0;
	argv[a++] = "/usr/bin/lspci";
	argv[a++] = "-A";
	argv[a++] = "linux-sysfs";
	if (sysfs_pci) {
		snprintf(opt, sizeof(opt), "sysfs.path=%s", sysfs_pci);
		argv[a++] = "-O";
		argv[a++] = opt;
	}
	argv[a++] = "-nnvk";
	argv[a] = NULL;
	cr_assert_eq(vk_run(argv, out, BIG, err, BIG), 0, "lspci %s: %s", sysfs_pci ? sysfs_pci : "", err);
	free(err);
	return out;
}

/* @s with every @prefix removed (malloc'd). */
static char *strip(const char *s, const char *prefix)
{
	char *t = xmalloc(strlen(s) + 1);
	size_t o = 0, pl = strlen(prefix);
	const char *p = s, *q;
	while ((q = strstr(p, prefix))) {
		memcpy(t + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		p = q + pl;
	}
	strcpy(t + o, p);
	return t;
}

Test(fuse_record, real_root_through_fuse)
{
	struct stat st;
	char rec[PATH_MAX], pci[PATH_MAX], bin[PATH_MAX];

	if (stat("/sys/bus/pci/devices", &st) != 0)
		cr_skip_test("this machine has no /sys/bus/pci");
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/host.yaml", work);
	record_cli(NULL, rec);
	cr_assert_eq(vk_mount(rec, mnt, sizeof(mnt)), 0, "fakesys mount of the recording of /");

	/* lspci: line for line (config, resource and irq are served from the recording) */
	if (have_prog("/usr/bin/lspci")) {
		snprintf(pci, sizeof(pci), "%s/sys/bus/pci", mnt);
		char *real = lspci(NULL), *replay = lspci(pci);
		char *s1 = NULL, *s2 = NULL;
		char *l1 = strtok_r(real, "\n", &s1), *l2 = strtok_r(replay, "\n", &s2);
		for (; l1 || l2; l1 = strtok_r(NULL, "\n", &s1), l2 = strtok_r(NULL, "\n", &s2))
			cr_assert(l1 && l2 && !strcmp(l1, l2), "lspci differs: real '%s', FUSE replay '%s'",
			          l1 ? l1 : "(end)", l2 ? l2 : "(end)");
		free(real);
		free(replay);
	}

	/* vfio-resolve: the same answer (exit status and facts) for every device */
	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	if (!have_prog(bin))
		return;
	size_t n;
	char **devs = names_of("/sys/bus/pci/devices", &n);
	for (size_t i = 0; i < n; i++) {
		char *o1 = xmalloc(BIG), *o2 = xmalloc(BIG);
		char *argv1[] = {bin, "--root", "/", devs[i], NULL};
		char *argv2[] = {bin, "--root", mnt, devs[i], NULL};
		int r1 = vk_run(argv1, o1, BIG, NULL, 0), r2 = vk_run(argv2, o2, BIG, NULL, 0);
		cr_assert_eq(r1, r2, "%s: exit %d on the real root, %d on the FUSE replay", devs[i], r1, r2);
		char *fixed = strip(o2, mnt);
		cr_assert_str_eq(o1, fixed, "vfio-resolve %s differs", devs[i]);
		free(o1);
		free(o2);
		free(fixed);
	}
	vk_names_free(devs, n);
}

/* default.yaml → FUSE mount → record --root MNT → materialize == materialize default.yaml. */
Test(fuse_record, scenario_recorded_from_its_mount)
{
	char scen[PATH_MAX], rec[PATH_MAX];
	vk_scenario_path("default.yaml", scen, sizeof(scen));
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/from-mount.yaml", work);
	cr_assert_eq(vk_mount(scen, mnt, sizeof(mnt)), 0);
	record_cli(mnt, rec);
	cr_assert_eq(vk_umount(mnt), 0);
	mnt[0] = '\0';
	cr_assert_eq(vk_materialize(scen, tree1, sizeof(tree1)), 0);
	cr_assert_eq(vk_materialize(rec, tree2, sizeof(tree2)), 0, "materializing the recording of the mount");
	compare_trees(tree1, tree2);
}
