/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctorutil.h"
#include "testutil.h"

void dt_materialize(const char *name, char *dir, size_t len)
{
	char file[1024], path[1024];
	snprintf(file, sizeof(file), "%s.yaml", name);
	vk_test_data_path("doctor", file, path, sizeof(path));
	cr_assert_eq(vk_materialize(path, dir, len), 0, "fakesys materialize %s failed", path);
}

const char *dt_fake_qemu(const char *dir, const char *version, char *buf, size_t len)
{
	bool new = strcmp(version, "9.2") == 0;
	FILE *f;

	snprintf(buf, len, "%s/qemu-%s/qemu-system-x86_64", dir, version);
	{
		char d[1024];
		snprintf(d, sizeof(d), "%s/qemu-%s", dir, version);
		mkdir(d, 0755);
	}
	f = fopen(buf, "w");
	cr_assert_not_null(f);
	/* The texts a real QEMU prints: `-device vfio-pci,help` lists "  name=<type>  - ..."
	 * lines after "vfio-pci options:"; an unknown -object type is an error. */
	fprintf(f, "#!/bin/sh\ncase \"$*\" in\n");
	if (new) {
		fprintf(f, "-version) echo 'QEMU emulator version 9.2.0'; echo 'Copyright (c) 2003-2024 Fabrice Bellard and the QEMU Project developers';;\n"
		           "'-device vfio-pci,help') printf 'vfio-pci options:\\n  fd=<str>\\n  host=<str>             - Address (bus/device/function) of the host device, example: 04:10.0\\n  iommufd=<link<iommufd>>\\n  sysfsdev=<str>\\n';;\n"
		           "'-object iommufd,help') printf 'iommufd options:\\n  fd=<string>\\n';;\n");
	} else {
		fprintf(f, "-version) echo 'QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)'; echo 'Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers';;\n"
		           "'-device vfio-pci,help') printf 'vfio-pci options:\\n  host=<str>             - Address (bus/device/function) of the host device, example: 04:10.0\\n  sysfsdev=<str>\\n  x-no-mmap=<bool>       -  (default: false)\\n';;\n"
		           "'-object iommufd,help') echo \"qemu-system-x86_64: -object iommufd,help: invalid object type: iommufd\" >&2; exit 1;;\n");
	}
	fprintf(f, "esac\n");
	fclose(f);
	chmod(buf, 0755);
	return buf;
}

const char *dt_qemu_user(void)
{
	static char buf[32];
	if (geteuid() == 0)
		return "107";
	snprintf(buf, sizeof(buf), "%u", (unsigned)getuid());
	return buf;
}

int dt_run(char *out, size_t outlen, char *err, size_t errlen, const char *first, ...)
{
	static char bin[4096];
	const char *head[] = {vk_bin("doctor/vfio-doctor", bin, sizeof(bin)), NULL};
	va_list ap;

	va_start(ap, first);
	int rc = vk_vrun(out, outlen, err, errlen, head, first, ap);
	va_end(ap);
	return rc;
}
