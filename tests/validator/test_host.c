/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host rules (VV1xx) against a fakesys tree materialized from scenarios/default.yaml
 * (01:00.0 + 01:00.1 on vfio-pci in group 12 with cdevs, 02:00.0 on nvme). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include "testutil.h"

static char dir[1024];

static void setup(void)
{
	char sc[1024];
	int r = vk_materialize(vk_scenario_path("default.yaml", sc, sizeof(sc)), dir, sizeof(dir));
	cr_assert_eq(r, 0, "fakesys materialize failed: %d", r);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

static struct vk_report host_check(const char *first, ...)
{
	const char *argv[32];
	size_t n = 0;
	va_list ap;
	struct vk_qc_cmdline *c;
	struct vk_report rep = {0};
	struct vk_error e = {0};
	struct vk_root *root;

	va_start(ap, first);
	for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	cr_assert_eq(vk_qc_parse_argv(n, (char *const *)argv, NULL, 0, &c, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_root_open(dir, 0, &root, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_check_host(c, root, &rep, &e), 0, "%s", e.msg);
	vk_root_close(root);
	vk_qc_cmdline_free(c);
	return rep;
}

static void devpath(const char *bdf, const char *rel, char *buf, size_t len)
{
	char p[PATH_MAX], real[PATH_MAX];
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", dir, bdf);
	cr_assert_not_null(realpath(p, real));
	cr_assert_lt(snprintf(buf, len, "%s/%s", real, rel), (int)len);
}

#define HAS(rep, id) (vk_report_find(&(rep), id) != NULL)

Test(host, clean_absent_and_wrong_driver, .init = setup, .fini = teardown)
{
	struct vk_report r = host_check("-object", "iommufd,id=i0", "-device", "vfio-pci,host=01:00.0,iommufd=i0",
	                                "-device", "vfio-pci,host=01:00.1", NULL);
	cr_assert_eq(r.n, 0, "%s", r.n ? r.findings[0].message : "");
	vk_report_clear(&r);
	r = host_check("-device", "vfio-pci,host=0000:09:00.0", NULL);
	cr_assert(HAS(r, "VV101"));
	vk_report_clear(&r);
	r = host_check("-device", "vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:02:00.0", NULL);
	cr_assert(HAS(r, "VV102"));
	cr_assert_str_eq(r.findings[0].evidence, "driver=nvme");
	vk_report_clear(&r);
}

Test(host, no_cdev_for_iommufd, .init = setup, .fini = teardown)
{
	char p[PATH_MAX];
	struct vk_report r = host_check("-device", "vfio-pci,host=01:00.0", NULL);
	cr_assert_eq(r.n, 0);
	vk_report_clear(&r);
	/* Legacy use does not need the cdev; iommufd does. */
	char cmd[PATH_MAX + 64];
	devpath("0000:01:00.0", "vfio-dev", p, sizeof(p));
	snprintf(cmd, sizeof(cmd), "rm -f %s/vfio*/dev", p);
	cr_assert_eq(system(cmd), 0);
	r = host_check("-object", "iommufd,id=i0", "-device", "vfio-pci,host=01:00.0,iommufd=i0", NULL);
	cr_assert(HAS(r, "VV103"));
	vk_report_clear(&r);
	r = host_check("-device", "vfio-pci,host=01:00.0", NULL);
	cr_assert_eq(r.n, 0);
	vk_report_clear(&r);
}

Test(host, legacy_group_rules, .init = setup, .fini = teardown)
{
	char p[PATH_MAX];

	/* A group mate on another driver: the group is not viable. */
	devpath("0000:01:00.1", "driver", p, sizeof(p));
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(symlink("../../../../bus/pci/drivers/snd_hda_intel", p), 0);
	struct vk_report r = host_check("-device", "vfio-pci,host=01:00.0", NULL);
	cr_assert(HAS(r, "VV104"));
	cr_assert(strstr(vk_report_find(&r, "VV104")->message, "snd_hda_intel"));
	vk_report_clear(&r);

	/* The group node is missing. */
	snprintf(p, sizeof(p), "%s/dev/vfio/12", dir);
	cr_assert_eq(unlink(p), 0);
	r = host_check("-device", "vfio-pci,host=01:00.0", NULL);
	cr_assert(HAS(r, "VV105"));
	vk_report_clear(&r);
}

/* Rebind @bdf in the materialized tree: point its driver link at @drv, or drop it (NULL). */
static void set_driver(const char *bdf, const char *drv)
{
	char p[PATH_MAX], target[128];

	devpath(bdf, "driver", p, sizeof(p));
	cr_assert_eq(unlink(p), 0);
	if (!drv)
		return;
	snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", drv);
	cr_assert_eq(symlink(target, p), 0);
}

Test(host, iommufd_group_kernel_owned, .init = setup, .fini = teardown)
{
	/* The GPU's audio function back on snd_hda_intel: its probe took group 12. */
	set_driver("0000:01:00.1", "snd_hda_intel");

	struct vk_report r = host_check("-object", "iommufd,id=i0", "-device", "vfio-pci,host=01:00.0,iommufd=i0", NULL);
	cr_assert_eq(r.n, 1, "%zu findings", r.n);
	const struct vk_finding *f = vk_report_find(&r, "VV107");
	cr_assert_not_null(f);
	cr_assert(strstr(f->message, "group 12"), "%s", f->message);
	cr_assert(strstr(f->message, "0000:01:00.1"), "%s", f->message);
	cr_assert(strstr(f->message, "snd_hda_intel"), "%s", f->message);
	cr_assert_str_eq(f->evidence, "0000:01:00.1 driver=snd_hda_intel");
	cr_assert_str_eq(f->rule->name, "host.group-kernel-owned");
	vk_report_clear(&r);

	/* fd= alone also means the cdev and iommufd (libvirt's form, here with host= to find the device). */
	r = host_check("-device", "vfio-pci,host=01:00.0,fd=21", NULL);
	cr_assert(HAS(r, "VV107"));
	cr_assert_not(HAS(r, "VV104"));
	vk_report_clear(&r);
	r = host_check("-object", "iommufd,id=i0", "-device",
	               "vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:01:00.0,iommufd=i0,fd=21", NULL);
	cr_assert(HAS(r, "VV107"));
	vk_report_clear(&r);

	/* Legacy mode keeps its own rule for the same group. */
	r = host_check("-device", "vfio-pci,host=01:00.0", NULL);
	cr_assert(HAS(r, "VV104"));
	cr_assert_not(HAS(r, "VV107"));
	vk_report_clear(&r);
}

Test(host, iommufd_group_dma_managed_members, .init = setup, .fini = teardown)
{
	/* driver_managed_dma drivers and no driver leave owner_cnt alone: the bind works. */
	static const char *const ok[] = {"pcieport", "pci-stub", NULL /* unbound */};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *what = ok[i] ? ok[i] : "(no driver)";
		set_driver("0000:01:00.1", ok[i]);
		struct vk_report r =
			host_check("-object", "iommufd,id=i0", "-device", "vfio-pci,host=01:00.0,iommufd=i0", NULL);
		cr_assert_eq(r.n, 0, "%s: %s", what, r.n ? r.findings[0].message : "");
		vk_report_clear(&r);
		r = host_check("-device", "vfio-pci,host=01:00.0,fd=21", NULL);
		cr_assert_eq(r.n, 0, "%s (fd=): %s", what, r.n ? r.findings[0].message : "");
		vk_report_clear(&r);
		r = host_check("-device", "vfio-pci,host=01:00.0", NULL);
		cr_assert_eq(r.n, 0, "%s (legacy): %s", what, r.n ? r.findings[0].message : "");
		vk_report_clear(&r);
	}
}

Test(host, iommufd_group_rule_precedence, .init = setup, .fini = teardown)
{
	char p[PATH_MAX], cmd[PATH_MAX + 64];

	set_driver("0000:01:00.1", "snd_hda_intel");
	/* The device itself off vfio-pci: VV102 only; the group is not looked at. */
	set_driver("0000:01:00.0", "nouveau");
	struct vk_report r = host_check("-object", "iommufd,id=i0", "-device", "vfio-pci,host=01:00.0,iommufd=i0", NULL);
	cr_assert(HAS(r, "VV102"));
	cr_assert_not(HAS(r, "VV107"));
	vk_report_clear(&r);

	/* Back on vfio-pci without a usable cdev: VV103 only. */
	set_driver("0000:01:00.0", "vfio-pci");
	devpath("0000:01:00.0", "vfio-dev", p, sizeof(p));
	snprintf(cmd, sizeof(cmd), "rm -f %s/vfio*/dev", p);
	cr_assert_eq(system(cmd), 0);
	r = host_check("-object", "iommufd,id=i0", "-device", "vfio-pci,host=01:00.0,iommufd=i0", NULL);
	cr_assert(HAS(r, "VV103"));
	cr_assert_not(HAS(r, "VV107"));
	vk_report_clear(&r);
}
