/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test` on FUSE mounts: the set:, access:, user:, doctor_options:
 * and requires: expectations pass on the library's scenarios and fail, with
 * a readable entry, when changed; an FD leaked by the set phase is reported.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner_util.h"

TestSuite(fuse_runner, .init = runner_setup, .fini = runner_teardown);

/* fakesys test --fuse ARGS... (NULL-terminated). */
#define run_test(...) runner_run(true, __VA_ARGS__)

/* scenarios/@name with @from replaced by @to, as tmp/@as. */
static const char *variant(const char *name, const char *from, const char *to, const char *as, char *path,
                           size_t len)
{
	cr_assert_eq(vk_scenario_variant(name, from, to, tmp, as, path, len), 0, "%s has no '%s'", name, from);
	return path;
}

static void want(const char *needle)
{
	cr_assert(strstr(out, needle), "want '%s' in:\n%s\nstderr:\n%s", needle, out, errb);
}

Test(fuse_runner, new_expectations_pass_on_the_library)
{
	char p[8][4200];
	const char *names[] = {"access-libvirt-open-pattern.yaml", "set-second-device-fails-no-fd-left.yaml",
	                       "set-iommufd-refused-closes-devices.yaml", "doctor-memlock-too-low.yaml",
	                       "doctor-memlock-enough.yaml", "doctor-qemu-not-found.yaml"};

	for (size_t i = 0; i < 6; i++)
		vk_scenario_path(names[i], p[i], sizeof(p[i]));
	cr_assert_eq(run_test(p[0], p[1], p[2], p[3], p[4], p[5], NULL), 0, "%s%s", out, errb);
	want("6 scenarios: 6 passed, 0 failed");
	want("ok    access-libvirt-open-pattern (fuse,");
}

Test(fuse_runner, access_rules_fail_listing_the_records)
{
	char p[4200];

	variant("access-libvirt-open-pattern.yaml", "flags: O_RDWR, each: 1", "flags: O_RDWR, each: 2", "a1.yaml", p,
	        sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("FAIL  a1 (fuse,");
	want("access (line 25) {path: dev/vfio/devices/vfio*, op: open, flags: O_RDWR}\n"
	     "        expected: each path 2 time(s)\n"
	     "        got:      dev/vfio/devices/vfio0: 1\n"
	     "          open dev/vfio/devices/vfio0 O_RDWR\n");
	want("got:      dev/vfio/devices/vfio1: 1");

	/* a count: the legacy container opened once would be listed; here: the reads of a cdev */
	variant("access-libvirt-open-pattern.yaml", "{path: dev/vfio/vfio, count: 0}",
	        "{path: dev/vfio/devices/vfio1, op: read, count: 0}", "a2.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("access (line 28) {path: dev/vfio/devices/vfio1, op: read}\n"
	     "        expected: 0 record(s)\n"
	     "        got:      1 record(s)\n"
	     "          read dev/vfio/devices/vfio1");

	/* each: with nothing matched is a failure, not a vacuous pass */
	variant("access-libvirt-open-pattern.yaml", "{path: dev/vfio/devices/vfio*, op: open, flags: O_RDWR, each: 1}",
	        "{path: dev/vfio/devices/vfio*, op: open, flags: O_WRONLY, each: 1}", "a3.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("expected: each path matched\n        got:      no record matched 1 time(s)");
}

Test(fuse_runner, set_expectations_fail_with_where_and_class)
{
	char p[4200];

	variant("set-second-device-fails-no-fd-left.yaml", "class: node-missing", "class: busy", "s1.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("set (line 22)\n        expected: fails at 0000:02:00.0 (busy)\n"
	     "        got:      fails at 0000:02:00.0 (node-missing): 0000:02:00.0: the device has cdev vfio1");

	variant("set-second-device-fails-no-fd-left.yaml", "set: {fails_at: 0000:02:00.0, class: node-missing}",
	        "set: opened", "s2.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("expected: opened\n        got:      fails at 0000:02:00.0 (node-missing)");

	variant("set-iommufd-refused-closes-devices.yaml", "set: {fails_at: /dev/iommu, class: access}",
	        "set: {fails_at: 0000:41:00.0, class: access}", "s3.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("expected: fails at 0000:41:00.0 (access)\n        got:      fails at /dev/iommu (access): iommufd:");

	/* a set expected to fail that opens: the fault taken away */
	variant("set-iommufd-refused-closes-devices.yaml", "faults:\n  - {path: dev/iommu, op: open, errno: EACCES}\n", "",
	        "s4.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("expected: fails at /dev/iommu (access)\n        got:      opened: 2 device(s) and /dev/iommu");
}

Test(fuse_runner, fd_left_open_by_the_set_is_reported)
{
	char p[4200];

	/* the shim skips the first close() of a vfio0 FD: the set phase leaks it */
	vk_scenario_path("access-libvirt-open-pattern.yaml", p, sizeof(p));
	cr_assert_eq(setenv("LD_PRELOAD", VK_LEAK_SHIM, 1), 0);
	/* an ASan build insists on coming first; the shim has no allocations to check */
	cr_assert_eq(setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1), 0);
	int rc = run_test(p, NULL);
	unsetenv("LD_PRELOAD");
	cr_assert_eq(rc, 1, "%s%s", out, errb);
	want("set: file descriptors\n        expected: none left open once the set is closed or failed\n"
	     "        got:      ");
	cr_assert(strstr(out, "after"), "%s", out);
	/* and without the shim the same scenario passes: the leak was the shim's */
	cr_assert_eq(run_test(p, NULL), 0, "%s", out);
}

Test(fuse_runner, user_runs_the_client_with_its_credentials)
{
	char p[4200];

	if (geteuid() != 0)
		cr_skip_test("switching to uid 107 needs root");
	/* without the kvm group, /dev/iommu (root:kvm 0660) refuses uid 107 */
	variant("perms-qemu-user-nodes.yaml", "user: {uid: 107, gid: 107, groups: [36]}", "user: {uid: 107, gid: 107}",
	        "u1.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("got:      fails at /dev/iommu (access): iommufd: cannot open the iommufd node");
	want("the caller is uid 107 gid 107");
	/* the same user as root's guest: the cdev open succeeds for its owner */
	variant("perms-qemu-user-eacces.yaml", "vfio_node: {owner: 0, group: 0, mode: \"0600\"}",
	        "vfio_node: {owner: 107, group: 0, mode: \"0600\"}", "u2.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("resolver 0000:01:00.0 (line 32)\n        expected: access\n        got:      /dev/vfio/devices/vfio0");
}

Test(fuse_runner, user_needs_root_and_requires_a_program)
{
	char p[4200], bin[4096], dir[4200];

	/* requires: a program that is nowhere: skipped, with the reason; 77 on request */
	variant("doctor-qemu72-debian12.yaml", "requires: [qemu-system-x86_64]", "requires: [vfiokit-no-such-qemu]",
	        "r1.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 0, "%s", out);
	want("skip  r1 (-, ");
	want("requires vfiokit-no-such-qemu, which is not on PATH");
	cr_assert_eq(run_test("--skipped-exit", "77", p, NULL), 77, "%s", out);
	cr_assert_eq(run_test("--skipped-exit", "300", p, NULL), 2, "%s", out);

	/* user: from an unprivileged runner without subordinate ids (nobody): it is
	 * root of a user namespace where only its own id is mapped, so uid 107
	 * does not exist there: skipped with the reason, not failed */
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("needs root and setpriv to run the runner as nobody");
	vk_scenario_path("perms-qemu-user-eacces.yaml", p, sizeof(p));
	snprintf(dir, sizeof(dir), "%s/copy.yaml", tmp);
	char text[65536];
	cr_assert_gt(vk_read_file(p, text, sizeof(text)), 0);
	FILE *f = fopen(dir, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(tmp, 0755), 0);
	cr_assert_eq(chmod(dir, 0644), 0);
	char *argv[] = {(char *)"/usr/bin/setpriv", (char *)"--reuid=65534", (char *)"--regid=65534",
	                (char *)"--clear-groups", (char *)vk_bin("fakesys/fakesys", bin, sizeof(bin)), (char *)"test",
	                (char *)"--skipped-exit", (char *)"77", dir, NULL};
	cr_assert_eq(vk_run(argv, out, OUTLEN, errb, OUTLEN), 77, "%s%s", out, errb);
	want("skip  copy (-, ");
	want("user: uid 107 or gid 107 is not mapped in this user namespace");
}

Test(fuse_runner, doctor_options_are_passed_and_checked)
{
	char p[4200];

	variant("doctor-memlock-too-low.yaml", "memlock: 8M", "memlock: 32G", "d1.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("doctor VD201 (line 31)\n        expected: FAIL\n        got:      PASS");

	variant("doctor-memlock-too-low.yaml", "memory: 16G", "memory: lots", "d2.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("d2.yaml:28:28: memory: 'lots' is not a size (16G, 512M, 1024k)");

	/* the QEMU named is asked, so a missing one is a WARN the scenario sees */
	variant("doctor-qemu-not-found.yaml", "VD301: WARN", "VD301: PASS", "d3.yaml", p, sizeof(p));
	cr_assert_eq(run_test(p, NULL), 1, "%s", out);
	want("got:      WARN (cannot ask /nonexistent/libexec/qemu-kvm");
}
