/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor on a live FUSE mount of the clean scenario: the same results as on a
 * materialized tree, with the owners fakesys serves whoever runs the test. */
#include <criterion/criterion.h>
#include <string.h>

#include "doctorutil.h"
#include "testutil.h"

static char out[262144], errb[65536];

Test(fuse, clean_and_shared_group_on_a_mount)
{
	char mnt[1024], sc[1024];

	vk_test_data_path("doctor", "clean.yaml", sc, sizeof(sc));
	cr_assert_eq(vk_mount(sc, mnt, sizeof(mnt)), 0);
	int rc = dt_run(out, sizeof(out), errb, sizeof(errb), "--root", mnt, "--user", "107", "--memory", "16G",
	                "--memlock", "20G", "--no-qemu", NULL);
	vk_umount(mnt);
	cr_assert_eq(rc, 0, "%s%s", out, errb);
	cr_assert(strstr(out, "0000:03:02.0: Checking that the QEMU user can open the device nodes") &&
	                  strstr(out, " 0 warnings, 0 failed"),
	          "%s", out);

	vk_test_data_path("doctor", "group-shared.yaml", sc, sizeof(sc));
	cr_assert_eq(vk_mount(sc, mnt, sizeof(mnt)), 0);
	rc = dt_run(out, sizeof(out), errb, sizeof(errb), "--root", mnt, "--no-qemu", "--memlock", "unlimited", NULL);
	vk_umount(mnt);
	cr_assert_eq(rc, 1, "%s%s", out, errb);
	cr_assert(strstr(out, "FAIL\n              group 5 is not viable: 0000:04:00.1 is bound to igb\n"), "%s", out);
}
