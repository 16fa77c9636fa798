/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys run` answers a cdev + iommufd user: emul_client (QEMU 9's sequence
 * of hw/vfio/iommufd.c and the kernel's refusals on it) on the FDs
 * vfio-resolve --exec opens for it, through seccomp user notifications.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ns_emul_util.h"

#define RUN_CLIENT(opts, devs) \
	"\"$FAKESYS\" run " opts " \"$SCEN/default.yaml\" -- \"$RESOLVE\" " devs " --exec \"$CLIENT\""

Test(ns_emul_client, qemu9_sequence_and_refusals, .timeout = 120)
{
	static char out[16384], err[16384];
	int rc = ns_emul_sh(RUN_CLIENT("", "0000:01:00.0 0000:01:00.1"), out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 0, "status %d\nstdout:\n%s\nstderr:\n%s", rc, out, err);
	static const char *const steps[] = {
		"ok info-before-bind",
		"ok bind-while-group-open",
		"ok bind",
		"ok bind-twice",
		"ok group-while-bound",
		"ok hwpt-alloc",
		"ok detach-unattached",
		"ok attach",
		"ok iova-ranges",
		"ok destroy-ioas-in-use",
		"ok destroy-hwpt-attached",
		"ok map",
		"ok map-past-memlock",
		"ok devices",
		"ok unmap",
		"ok detach",
		"ok destroy",
		"ok attach-destroyed-ioas",
		"ok done",
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		cr_assert(strstr(out, steps[i]), "no \"%s\" in\n%s", steps[i], out);
	/* what the devices and the IOMMU said: the scenario's (VT-d, MSI window cut) */
	cr_assert(strstr(out, "hw-info type 1 "), "%s", out);
	cr_assert(strstr(out, "iova-range 0-0xfedfffff"), "%s", out);
	cr_assert(strstr(out, "iova-range 0xfef00000-"), "%s", out);
	cr_assert(strstr(out, "0000:01:00.0 vendor 0x10de device 0x2204"), "%s", out);
	cr_assert(strstr(out, "0000:01:00.1 vendor 0x10de device 0x1aef"), "%s", out);
	cr_assert(strstr(out, "0000:01:00.0 region 0 size 0x"), "%s", out);
}

Test(ns_emul_client, one_device, .timeout = 120)
{
	static char out[16384], err[16384];
	int rc = ns_emul_sh(RUN_CLIENT("", "0000:81:02.1"), out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 0, "status %d\nstdout:\n%s\nstderr:\n%s", rc, out, err);
	cr_assert(strstr(out, "ok done"), "%s", out);
}

Test(ns_emul_client, without_emulation_the_nodes_answer_nothing, .timeout = 120)
{
	static char out[16384], err[16384];
	int rc = ns_emul_sh(RUN_CLIENT("--no-emulation", "0000:01:00.0"), out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 1, "status %d\n%s\n%s", rc, out, err);
	cr_assert(strstr(err, "FAIL info-before-bind: expected Invalid argument, got Inappropriate ioctl for device"),
	          "%s", err);
}

Test(ns_emul_client, other_programs_are_untouched, .timeout = 120)
{
	static char out[16384], err[16384];
	if (ns_emul_sh("command -v lspci", out, sizeof(out), err, sizeof(err)) != 0)
		cr_skip_test("lspci (pciutils) is not installed: its preads of config files are the case here");
	/* lspci's preads of sysfs config files pass through the filter to the
	 * kernel (and the FUSE server), as does an ioctl of another type */
	int rc = ns_emul_sh("\"$FAKESYS\" run \"$SCEN/default.yaml\" -- sh -c "
	                    "'lspci -n -s 01:00.0; lspci -x -s 01:00.1 | head -2; stty -a </dev/null; echo $?'",
	                    out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 0, "%s\n%s", out, err);
	cr_assert(strstr(out, "01:00.0 0300: 10de:2204"), "%s", out);
	cr_assert(strstr(out, "00: de 10 ef 1a"), "%s", out);
	cr_assert(strstr(err, "Inappropriate ioctl for device"), "stty's TCGETS on /dev/null: %s", err);
}

NS_EMUL_MAIN(NULL)
