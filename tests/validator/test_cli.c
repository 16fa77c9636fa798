/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

static char bin[4096];
static char out[65536], errb[65536];

static int run(const char *first, ...)
{
	const char *head[] = {vk_bin("validator/vfio-validate", bin, sizeof(bin)), NULL};
	va_list ap;

	va_start(ap, first);
	int rc = vk_vrun(out, sizeof(out), errb, sizeof(errb), head, first, ap);
	va_end(ap);
	return rc;
}

Test(cli, exit_codes_and_text)
{
	cr_assert_eq(run("--", "qemu-system-x86_64", "-device", "vfio-pci,host=06:00.0", NULL), 0, "%s%s", out, errb);
	cr_assert(strstr(out, "no findings"));
	cr_assert_eq(run("--", "-device", "vfio-pci,fd=22", NULL), 1);
	cr_assert(strstr(out, "VV005") && strstr(out, "Use FD passing only with iommufd backend"), "%s", out);
	cr_assert_null(strstr(out, "\033["), "no colour when stdout is not a terminal");
	cr_assert_eq(run("--", "-device", NULL), 2);
	cr_assert(strstr(errb, "requires an argument"), "%s", errb);
	cr_assert_eq(run(NULL), 2, "no input is a usage error");
	cr_assert_eq(run("--bogus", NULL), 2);
	cr_assert_eq(run("--list-rules", NULL), 0);
	cr_assert(strstr(out, "VV001") && strstr(out, "fd.leaked"));
}

Test(cli, json_and_versions)
{
	cr_assert_eq(run("--json", "--qemu-version", "7.2", "--", "-object", "iommufd,id=i0", "-device",
	                 "vfio-pci,fd=5,iommufd=i0", NULL),
	             1);
	cr_assert(strstr(out, "\"id\": \"VV013\"") && strstr(out, "\"qemu\": \"QEMU 7.2\""), "%s", out);
	cr_assert(strstr(out, "QEMU 7.2 cannot do this") && strstr(out, "QEMU 9.0"), "%s", out);
	cr_assert_eq(run("--qemu-version", "9.0", "--", "-object", "iommufd,id=i0", "-device", "vfio-pci,fd=5,iommufd=i0",
	                 NULL),
	             0, "%s", out);
	cr_assert_eq(run("--qemu-version", "nine", "--", "-S", NULL), 2);
	cr_assert_eq(run("--json", "--", "-device", "{\"driver\":", NULL), 2);
	cr_assert(strstr(out, "\"parse_error\"") && strstr(out, "\"argument\": 1"), "%s", out);
}

Test(cli, args_file_with_positions)
{
	char dir[256], path[512];
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/bad.args", dir);
	FILE *f = fopen(path, "w");
	fputs("LC_ALL=C \\\n/usr/bin/qemu-system-x86_64 \\\n-S \\\n-device '{\"driver\":\"vfio-pci\" \"x\":1}' \\\n-S\n", f);
	fclose(f);
	cr_assert_eq(run("--args-file", path, NULL), 2);
	cr_assert(strstr(errb, "line 4") && strstr(errb, "argument 3"), "%s", errb);
	f = fopen(path, "w");
	fputs("/usr/bin/qemu \\\n-device 'vfio-pci,host=10000:e0:06.0' \\\n-S\n", f);
	fclose(f);
	cr_assert_eq(run("--args-file", path, NULL), 1);
	cr_assert(strstr(out, "VV004 line 2 arg 1"), "%s", out);
	vk_rm_rf(dir);
}

Test(cli, fake_qemu_binary)
{
	char dir[256], path[512];
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/qemu-system-x86_64", dir);
	FILE *f = fopen(path, "w");
	/* What a QEMU 7.2 prints (no fd=/iommufd= on vfio-pci, no iommufd object). */
	fputs("#!/bin/sh\n"
	      "case \"$*\" in\n"
	      "-version) echo 'QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)'; echo 'Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers';;\n"
	      "'-device vfio-pci,help') printf 'vfio-pci options:\\n  host=<str>             - Address (bus/device/function) of the host device, example: 04:10.0\\n  sysfsdev=<str>\\n  x-no-mmap=<bool>       -  (default: false)\\n';;\n"
	      "'-object iommufd,help') echo \"qemu-system-x86_64: -object iommufd,help: invalid object type: iommufd\" >&2; exit 1;;\n"
	      "esac\n",
	      f);
	fclose(f);
	chmod(path, 0755);
	cr_assert_eq(run("--qemu", path, "--", "-object", "iommufd,id=i0", "-device", "vfio-pci,fd=5,iommufd=i0", NULL), 1);
	cr_assert(strstr(out, "qemu-system-x86_64 7.2.15") && strstr(out, "VV013"), "%s", out);
	cr_assert_eq(run("--qemu", path, "--", "-device", "vfio-pci,host=06:00.0", NULL), 0, "%s", out);
	cr_assert_eq(run("--qemu", "/nonexistent/qemu", "--", "-S", NULL), 2);
	vk_rm_rf(dir);
}

Test(cli, live_fd_option_combinations)
{
	cr_assert_eq(run("--fds", "--", "-S", NULL), 2, "--fds needs --pid");
	cr_assert_eq(run("--stand-in", "--pid", "1", NULL), 2);
	cr_assert_eq(run("--report", "/dev/null", "--", "-S", NULL), 2, "--report only with --stand-in");
	cr_assert_eq(run("--then-exec", "/bin/true", "--", "-S", NULL), 2);
	/* a stand-in without VFIO arguments and no VFIO FDs: clean, silent */
	cr_assert_eq(run("--stand-in", "--", "qemu-system-x86_64", "-S", NULL), 0, "%s", errb);
	cr_assert_eq(errb[0], '\0', "%s", errb);
	cr_assert_eq(run("--stand-in", "--then-exec", "/bin/true", "--", "-S", NULL), 0, "%s", errb);
	cr_assert_eq(run("--stand-in", "--then-exec", "/nonexistent/qemu", "--", "-S", NULL), 2);
	cr_assert(strstr(errb, "--then-exec /nonexistent/qemu"), "%s", errb);
}
