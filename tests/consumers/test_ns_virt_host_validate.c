/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt's own host check under `fakesys run` agrees with vfio-doctor.
 * virHostValidateIOMMU() (libvirt tools/virt-host-validate-common.c) decides
 * the vendor by the vmx/svm flags of /proc/cpuinfo, wants the ACPI DMAR (Intel)
 * or IVRS (AMD) table in /sys/firmware/acpi/tables/, then calls the IOMMU
 * enabled by the kernel when /sys/kernel/iommu_groups has a subdirectory
 * (st_nlink > 2).  Only its IOMMU lines are looked at: the others are about
 * /dev/kvm, cgroups and the like, which stay the host's.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 16], err[1 << 14];

#define SUPPORT "Checking for device assignment IOMMU support"
#define ENABLED "Checking if IOMMU is enabled by kernel"

/* The verdict virt-host-validate gives on the line of @check ("PASS",
 * "WARN (why)"), "" when it has no such line. */
static const char *verdict(const char *text, const char *check, char *buf, size_t len)
{
	const char *at = strstr(text, check);

	buf[0] = '\0';
	if (!at || !(at = strstr(at, ": ")))
		return buf;
	at += 2;
	snprintf(buf, len, "%.*s", (int)strcspn(at, "\n"), at);
	return buf;
}

/* vfio-doctor's status for its check @id under fakesys run on @scenario. */
static void doctor_status(const char *scenario, const char *id, char *buf, size_t len)
{
	json_error_t je;

	consumers_run(NULL, scenario, "\"$DOCTOR\" --json", out, sizeof(out), err, sizeof(err));
	json_t *doc = json_loads(out, 0, &je);
	cr_assert_not_null(doc, "vfio-doctor --json: %s\n%s%s", je.text, out, err);
	json_t *c;
	size_t i;
	buf[0] = '\0';
	json_array_foreach(json_object_get(doc, "checks"), i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "id")) ?: "", id))
			snprintf(buf, len, "%s", json_string_value(json_object_get(c, "status")) ?: "");
	}
	json_decref(doc);
}

static void validate(const char *scenario)
{
	int rc = consumers_run(NULL, scenario, "virt-host-validate qemu", out, sizeof(out), err, sizeof(err));
	/* its status says whether any check failed (/dev/kvm...): not looked at */
	cr_assert(rc == 0 || rc == 1, "status %d: %s%s", rc, out, err);
}

Test(virt_host_validate, default_intel_host_passes_as_the_doctor_does)
{
	char v[512], d[32];

	validate("default.yaml");
	cr_assert_str_eq(verdict(out, SUPPORT, v, sizeof(v)), "PASS", "%s", out);
	cr_assert_str_eq(verdict(out, ENABLED, v, sizeof(v)), "PASS", "%s", out);
	doctor_status("default.yaml", "VD001", d, sizeof(d));
	cr_assert_str_eq(d, "PASS");
}

Test(virt_host_validate, amd_host_passes_through_ivrs)
{
	char v[512], d[32];
	const char *s = consumers_variant("default.yaml", "iommu: intel", "iommu: amd", NULL);

	validate(s);
	cr_assert_str_eq(verdict(out, SUPPORT, v, sizeof(v)), "PASS", "%s", out);
	cr_assert_str_eq(verdict(out, ENABLED, v, sizeof(v)), "PASS", "%s", out);
	doctor_status(s, "VD001", d, sizeof(d));
	cr_assert_str_eq(d, "PASS");
	cr_assert_eq(consumers_run(NULL, s, "ls /sys/firmware/acpi/tables/ | grep -c -x -e IVRS -e DMAR; "
	                                    "grep -c -w svm /proc/cpuinfo",
	                           out, sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	cr_assert_str_eq(out, "1\n8\n", "one IVRS table, eight CPUs with svm");
}

/* IOMMU off, and no DMAR table either (the default when the IOMMU is off):
 * the firmware's IOMMU is off or absent, which both tools say. */
Test(virt_host_validate, iommu_off_host_warns_as_the_doctor_fails)
{
	char v[512], d[32];

	validate("doctor-iommu-off.yaml");
	cr_assert_str_eq(verdict(out, SUPPORT, v, sizeof(v)),
	                 "WARN (No ACPI DMAR table found, IOMMU either disabled in BIOS or not supported by this hardware "
	                 "platform)",
	                 "%s", out);
	cr_assert_null(strstr(out, ENABLED), "%s", out);
	doctor_status("doctor-iommu-off.yaml", "VD001", d, sizeof(d));
	cr_assert_str_eq(d, "FAIL");
}

/* The firmware has VT-d (a DMAR table) but the kernel did not enable it. */
Test(virt_host_validate, iommu_off_in_the_kernel_only_warns_as_the_doctor_fails)
{
	char v[512], d[32];
	const char *s = consumers_variant("doctor-iommu-off.yaml", "cpu: {vendor: intel}",
	                                  "cpu: {vendor: intel}\nfirmware: {acpi_tables: [DMAR]}", NULL);

	validate(s);
	cr_assert_str_eq(verdict(out, SUPPORT, v, sizeof(v)), "PASS", "%s", out);
	cr_assert_str_eq(verdict(out, ENABLED, v, sizeof(v)),
	                 "WARN (IOMMU appears to be disabled in kernel. Add intel_iommu=on to kernel cmdline arguments)",
	                 "%s", out);
	doctor_status(s, "VD001", d, sizeof(d));
	cr_assert_str_eq(d, "FAIL");
}

/* /proc/cpuinfo and /sys/devices/system/cpu tell one count. */
Test(virt_host_validate, cpuinfo_and_sysfs_agree_on_the_cpus)
{
	const char *s = consumers_variant("default.yaml", "kernel:\n", "cpu: {vendor: intel, count: 12}\nkernel:\n", NULL);

	cr_assert_eq(consumers_run(NULL, s,
	                           "grep -c '^processor' /proc/cpuinfo; cat /sys/devices/system/cpu/online "
	                           "/sys/devices/system/cpu/possible /sys/devices/system/cpu/present; "
	                           "ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l; ls /sys/bus/cpu/devices | wc -l; "
	                           "cat /sys/devices/system/node/node0/cpulist /sys/devices/system/node/node1/cpulist",
	                           out, sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	cr_assert_str_eq(out, "12\n0-11\n0-11\n0-11\n12\n12\n0-5\n6-11\n");
}

CONSUMERS_MAIN("virt-host-validate", NULL)
