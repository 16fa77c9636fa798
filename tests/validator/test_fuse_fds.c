/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live-FD rules (VV2xx) through the real programs against a FUSE-mounted
 * scenarios/default.yaml (0000:01:00.0 = vfio0 511:0, 0000:01:00.1 = vfio1
 * 511:1, 0000:81:02.1 = vfio2 511:2, /dev/iommu 10:122, /dev/vfio/vfio 10:196,
 * group node /dev/vfio/12):
 *   vfio-resolve --root MNT BDF... --exec vfio-validate --stand-in --root MNT --
 * and vk-fdhelper (tests/validator/fdhelper.c) where a test needs FDs that
 * vfio-resolve would never pass: another device's cdev, a read-only or
 * close-on-exec FD, a leak.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char mnt[1024];
static char validate[4096], resolve[4096], helper[4096];
static char out[65536], errb[65536];
static char rootopt[1100];

static void setup(void)
{
	char sc[1024];
	cr_assert_eq(vk_mount(vk_scenario_path("default.yaml", sc, sizeof(sc)), mnt, sizeof(mnt)), 0);
	vk_bin("validator/vfio-validate", validate, sizeof(validate));
	vk_bin("resolver/vfio-resolve", resolve, sizeof(resolve));
	vk_bin("tests/validator/vk-fdhelper", helper, sizeof(helper));
	snprintf(rootopt, sizeof(rootopt), "--root=%s", mnt);
}

static void teardown(void)
{
	if (vk_umount(mnt) != 0) {
		char *argv[] = {(char *)"/usr/bin/fusermount3", (char *)"-u", (char *)"-z", mnt, NULL};
		vk_run(argv, NULL, 0, NULL, 0);
		rmdir(mnt);
	}
}

/* "N=<mnt>/REL[:opts]" (a few live at once) */
static char *spec(int n, const char *rel)
{
	static char ring[8][2048];
	static unsigned next;
	char *s = ring[next++ % 8];
	snprintf(s, sizeof(ring[0]), "%d=%s/%s", n, mnt, rel);
	return s;
}

/* Run a NULL-terminated list of words; returns the exit status. */
#define run(...) vk_runv(out, sizeof(out), errb, sizeof(errb), __VA_ARGS__)

#define HAS(s) (strstr(errb, (s)) != NULL)

Test(fds, resolver_pipeline_clean, .init = setup, .fini = teardown)
{
	int rc = run(resolve, rootopt, "0000:01:00.0", "0000:01:00.1", "0000:81:02.1", "--exec", validate, "--stand-in",
	             rootopt, "--", NULL);
	cr_assert_eq(rc, 0, "rc %d: %s%s", rc, out, errb);
	cr_assert_eq(errb[0], '\0', "a clean stand-in says nothing: %s", errb);

	/* JSON syntax, libvirt's form (no host= beside fd=): each FD identified from the FD itself. */
	rc = run(resolve, rootopt, "--syntax=json", "--no-host", "0000:01:00.0", "0000:81:02.1", "--exec", validate,
	         "--stand-in", "--json", rootopt, "--", NULL);
	cr_assert_eq(rc, 0, "rc %d: %s%s", rc, out, errb);
	cr_assert(strstr(errb, "\"errors\": 0") && strstr(errb, "\"warnings\": 0"), "%s", errb);
}

Test(fds, resolver_pipeline_then_exec_keeps_exactly_the_fds, .init = setup, .fini = teardown)
{
	char dir[512], rec[600], buf[8192];
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(rec, sizeof(rec), "%s/argv", dir);
	setenv("VK_FDHELPER_MODE", "record", 1);
	setenv("VK_FDHELPER_RECORD", rec, 1);
	int rc = run(resolve, rootopt, "0000:01:00.0", "--exec", validate, "--stand-in", rootopt, "--report",
	             "/dev/null", "--then-exec", helper, "--", NULL);
	unsetenv("VK_FDHELPER_MODE");
	unsetenv("VK_FDHELPER_RECORD");
	cr_assert_eq(rc, 0, "rc %d: %s%s", rc, out, errb);
	cr_assert_gt(vk_read_file(rec, buf, sizeof(buf)), 0, "the real program ran");
	/* argv[0] is the real program; then vfio-resolve's arguments, unchanged. */
	char want0[4200];
	snprintf(want0, sizeof(want0), "arg: %s\narg: -object\narg: iommufd,id=iommufd0,fd=", helper);
	cr_assert(strncmp(buf, want0, strlen(want0)) == 0, "%s", buf);
	int ifd = -1, dfd = -1;
	const char *p = strstr(buf, "iommufd,id=iommufd0,fd=");
	cr_assert(p && sscanf(p, "iommufd,id=iommufd0,fd=%d", &ifd) == 1, "%s", buf);
	p = strstr(buf, "iommufd=iommufd0,fd=");
	cr_assert(p && sscanf(p, "iommufd=iommufd0,fd=%d", &dfd) == 1, "%s", buf);
	/* Exactly 0, 1, 2 and the two FDs: the validator's root FD, report file and
	 * /proc FDs were close-on-exec. */
	char wantfds[64], fds[256];
	const char *f = strstr(buf, "fds:");
	cr_assert_not_null(f);
	int a = ifd < dfd ? ifd : dfd, b = ifd < dfd ? dfd : ifd;
	snprintf(wantfds, sizeof(wantfds), "fds: 0 1 2 %d %d\n", a, b);
	snprintf(fds, sizeof(fds), "%s", f);
	cr_assert_str_eq(fds, wantfds);
	vk_rm_rf(dir);
}

Test(fds, then_exec_only_when_clean, .init = setup, .fini = teardown)
{
	char dir[512], rec[600], buf[256];
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(rec, sizeof(rec), "%s/argv", dir);
	/* fd 21 is the audio function's cdev, the command line says the GPU; --record
	 * reaches the real program (vk-fdhelper again) through the environment. */
	int rc = run(helper, "--record", rec, spec(20, "dev/iommu"), spec(21, "dev/vfio/devices/vfio1"), "--", validate,
	             "vfio-validate", "--stand-in", rootopt, "--then-exec", helper, "--", "-object", "iommufd,id=i0,fd=20",
	             "-device", "vfio-pci,host=0000:01:00.0,iommufd=i0,fd=21", NULL);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, errb);
	cr_assert(HAS("VV204") && HAS("not starting"), "%s", errb);
	cr_assert_lt(vk_read_file(rec, buf, sizeof(buf)), 0, "the real program did not run");
	vk_rm_rf(dir);
}

Test(fds, wrong_device, .init = setup, .fini = teardown)
{
	int rc = run(helper, spec(20, "dev/iommu"), spec(21, "dev/vfio/devices/vfio2"), "--", validate, "vfio-validate",
	             "--stand-in", rootopt, "--", "/usr/bin/qemu-system-x86_64", "-object", "iommufd,id=i0,fd=20",
	             "-device", "vfio-pci,host=0000:01:00.0,id=hostdev0,iommufd=i0,fd=21", NULL);
	cr_assert_eq(rc, 1, "%s", errb);
	cr_assert(HAS("error   VV204") && HAS("[hostdev0]") && HAS("0000:81:02.1 (vfio2, 511:2)") &&
	                  HAS("not the cdev of 0000:01:00.0 (vfio0, 511:0)") && HAS("a stand-in for 511:2, not 511:0"),
	          "%s", errb);
}

Test(fds, not_a_cdev_read_only_and_iommufd_wrong, .init = setup, .fini = teardown)
{
	/* the object gets the legacy container, a device gets its group node, one is read-only */
	int rc = run(helper, spec(20, "dev/vfio/vfio"), spec(21, "dev/vfio/12"), spec(22, "dev/vfio/devices/vfio1:ro"),
	             "--", validate, "vfio-validate", "--stand-in", rootopt, "--", "-object", "iommufd,id=i0,fd=20",
	             "-device", "vfio-pci,iommufd=i0,fd=21", "-device", "vfio-pci,host=01:00.1,iommufd=i0,fd=22", NULL);
	cr_assert_eq(rc, 1, "%s", errb);
	cr_assert(HAS("VV205") && HAS("the VFIO container /dev/vfio/vfio (10:196)"), "%s", errb);
	cr_assert(HAS("VV207") && HAS("the VFIO group node /dev/vfio/12"), "%s", errb);
	cr_assert(HAS("VV203") && HAS("FD 22 is open read-only"), "%s", errb);
	cr_assert_null(strstr(errb, "VV204"), "fd 22 is the right device: %s", errb);
}

Test(fds, leak_and_missing_iommufd_object, .init = setup, .fini = teardown)
{
	/* vfio2 open and inheritable but named nowhere; /dev/iommu passed but no object uses it */
	int rc = run(helper, spec(20, "dev/iommu"), spec(21, "dev/vfio/devices/vfio0"), spec(22, "dev/vfio/devices/vfio2"),
	             "--", validate, "vfio-validate", "--stand-in", rootopt, "--", "-device",
	             "vfio-pci,host=0000:01:00.0,iommufd=iommufd0,fd=21", NULL);
	cr_assert_eq(rc, 1, "%s", errb);
	cr_assert(HAS("VV006"), "%s", errb);
	cr_assert(HAS("warning VV206 [fd 22]") && HAS("the VFIO cdev of 0000:81:02.1"), "%s", errb);
	cr_assert(HAS("warning VV206 [fd 20]") && HAS("/dev/iommu (10:122)"), "%s", errb);

	/* vfio-resolve marks everything it did not open close-on-exec: the same
	 * inherited vfio2 does not reach the stand-in through it. */
	rc = run(helper, spec(22, "dev/vfio/devices/vfio2"), "--", resolve, "vfio-resolve", rootopt, "0000:01:00.0",
	         "--exec", validate, "--stand-in", rootopt, "--", NULL);
	cr_assert_eq(rc, 0, "%s", errb);
	cr_assert_null(strstr(errb, "VV206"), "%s", errb);
}

/* A close-on-exec FD named on the command line: execve() closes it before the
 * stand-in runs, so the stand-in sees what QEMU would see: not open (VV201). */
Test(fds, cloexec_fd_is_not_open_after_exec, .init = setup, .fini = teardown)
{
	int rc = run(helper, spec(20, "dev/iommu"), spec(21, "dev/vfio/devices/vfio0:cloexec"), "--", validate,
	             "vfio-validate", "--stand-in", rootopt, "--", "-object", "iommufd,id=i0,fd=20", "-device",
	             "vfio-pci,host=0000:01:00.0,iommufd=i0,fd=21", NULL);
	cr_assert_eq(rc, 1, "%s", errb);
	cr_assert(HAS("VV201") && HAS("FD 21 is not open in this process") && HAS("FD_CLOEXEC"), "%s", errb);
	cr_assert_null(strstr(errb, "VV202"), "%s", errb);
}

Test(fds, fdset_fds_are_checked, .init = setup, .fini = teardown)
{
	int rc = run(helper, spec(20, "dev/iommu"), spec(23, "dev/vfio/devices/vfio2"), "--", validate, "vfio-validate",
	             "--stand-in", rootopt, "--", "-add-fd", "fd=23,set=1", "-add-fd", "fd=24,set=2", "-object",
	             "iommufd,id=i0,fd=20", "-device", "vfio-pci,host=0000:01:00.0,iommufd=i0,fd=/dev/fdset/1", NULL);
	cr_assert_eq(rc, 1, "%s", errb);
	cr_assert(HAS("VV010"), "%s", errb);
	cr_assert(HAS("VV204") && HAS("fd=/dev/fdset/1 (-add-fd fd=23)"), "%s", errb);
	cr_assert(HAS("VV201") && HAS("-add-fd fd=24: FD 24 is not open"), "%s", errb);
	cr_assert_null(strstr(errb, "VV206"), "an -add-fd FD is named: %s", errb);
}

/* Start a process that holds FDs under a QEMU command line; returns its pid. */
static pid_t hold(int *in_w, const char *cloexec_after, const char *const *words)
{
	int inp[2], outp[2];
	char *argv[64];
	size_t n = 0;
	pid_t pid;

	argv[n++] = helper;
	argv[n++] = (char *)"--hold";
	if (cloexec_after) {
		argv[n++] = (char *)"--cloexec-after";
		argv[n++] = (char *)cloexec_after;
	}
	for (; *words && n < 63; words++)
		argv[n++] = (char *)*words;
	argv[n] = NULL;
	cr_assert_eq(pipe2(inp, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(outp, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		execv(helper, argv);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	char buf[16] = "";
	ssize_t r = read(outp[0], buf, sizeof(buf) - 1);
	close(outp[0]);
	cr_assert(r > 0 && strncmp(buf, "ready", 5) == 0, "the helper is holding");
	*in_w = inp[1];
	return pid;
}

static void release(pid_t pid, int in_w)
{
	int st;
	close(in_w);
	waitpid(pid, &st, 0);
}

Test(fds, pid_mode, .init = setup, .fini = teardown)
{
	char pidbuf[32];
	int in_w;
	char *s20 = spec(20, "dev/iommu"), *s21 = spec(21, "dev/vfio/devices/vfio1"), *s22 = spec(22, "dev/vfio/devices/vfio2");
	const char *words[] = {s20, s21, s22, "--", helper, "qemu-system-x86_64", "-object", "iommufd,id=i0,fd=20",
	                       "-device", "vfio-pci,host=0000:01:00.0,iommufd=i0,fd=21", NULL};
	pid_t pid = hold(&in_w, NULL, words);

	snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)pid);
	int rc = run(validate, "--pid", pidbuf, "--fds", rootopt, NULL);
	cr_assert_eq(rc, 1, "%s%s", out, errb);
	cr_assert(strstr(out, "VV204") && strstr(out, "vfio1, 511:1"), "%s", out);
	cr_assert(strstr(out, "VV206 [fd 22]"), "%s", out);
	cr_assert_null(strstr(out, "VV202"), "%s", out);
	release(pid, in_w);

	/* The same FDs, fd 21 marked close-on-exec after the exec (fdinfo flags). */
	pid = hold(&in_w, "21", words);
	snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)pid);
	rc = run(validate, "--pid", pidbuf, "--fds", "--json", rootopt, NULL);
	cr_assert_eq(rc, 1, "%s%s", out, errb);
	cr_assert(strstr(out, "\"id\": \"VV202\""), "%s", out);
	release(pid, in_w);

	/* A process that is gone. */
	rc = run(validate, "--pid", pidbuf, "--fds", rootopt, NULL);
	cr_assert_eq(rc, 2, "%s%s", out, errb);
}

/* Installed in QEMU's place through the two-line script of vfio-validate(1):
 * argv[0] is the emulator's path, the shell adds no FD, QEMU gets the same FDs. */
Test(fds, wrapper_script_in_place_of_qemu, .init = setup, .fini = teardown)
{
	char dir[512], script[600], rec[600], buf[8192];
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(script, sizeof(script), "%s/qemu-system-x86_64", dir);
	snprintf(rec, sizeof(rec), "%s/argv", dir);
	FILE *f = fopen(script, "we");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\nexec %s --stand-in --root %s --then-exec %s -- \"$0\" \"$@\"\n", validate, mnt, helper);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(script, 0755), 0);

	int rc = run(helper, "--record", rec, spec(20, "dev/iommu"), spec(21, "dev/vfio/devices/vfio0"), "--", script,
	             "qemu-system-x86_64", "-object", "iommufd,id=i0,fd=20", "-device",
	             "vfio-pci,host=0000:01:00.0,iommufd=i0,fd=21", NULL);
	cr_assert_eq(rc, 0, "%s", errb);
	cr_assert_gt(vk_read_file(rec, buf, sizeof(buf)), 0);
	char want[8192];
	snprintf(want, sizeof(want),
	         "arg: %s\narg: -object\narg: iommufd,id=i0,fd=20\narg: -device\n"
	         "arg: vfio-pci,host=0000:01:00.0,iommufd=i0,fd=21\nfds: 0 1 2 20 21\n",
	         helper);
	cr_assert_str_eq(buf, want);
	vk_rm_rf(dir);
}
