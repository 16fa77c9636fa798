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
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "record_util.h"

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

Test(fuse_record, real_root_through_fuse)
{
	struct stat st;
	char rec[PATH_MAX];

	if (stat("/sys/bus/pci/devices", &st) != 0)
		cr_skip_test("this machine has no /sys/bus/pci");
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/host.yaml", work);
	record_cli((char *[]){"record", NULL}, rec);
	cr_assert_eq(vk_mount(rec, mnt, sizeof(mnt)), 0, "fakesys mount of the recording of /");

	/* lspci: line for line (config, resource and irq are served from the recording) */
	if (have_prog("/usr/bin/lspci"))
		assert_same_lspci(mnt, "FUSE replay");

	/* vfio-resolve: the same answer (exit status and facts) for every device */
	assert_same_resolve(mnt, "FUSE replay");
}

/* default.yaml → FUSE mount → record --root MNT → materialize == materialize default.yaml. */
Test(fuse_record, scenario_recorded_from_its_mount)
{
	char scen[PATH_MAX], rec[PATH_MAX];
	vk_scenario_path("default.yaml", scen, sizeof(scen));
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/from-mount.yaml", work);
	cr_assert_eq(vk_mount(scen, mnt, sizeof(mnt)), 0);
	record_cli((char *[]){"record", "--root", mnt, NULL}, rec);
	cr_assert_eq(vk_umount(mnt), 0);
	mnt[0] = '\0';
	cr_assert_eq(vk_materialize(scen, tree1, sizeof(tree1)), 0);
	cr_assert_eq(vk_materialize(rec, tree2, sizeof(tree2)), 0, "materializing the recording of the mount");
	compare_trees(tree1, tree2);
}
