/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt's own generated command lines (../shared/corpus/libvirt-args, 76
 * files): every one parses, and the ones with host devices give exactly the
 * findings written down below.  Skipped (exit 77) when the corpus is absent.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vfiokit/validator.h>

#include "testutil.h"

static char corpus[4096];

static const char *corpus_dir(void)
{
	snprintf(corpus, sizeof(corpus), "%s/../shared/corpus/libvirt-args", vk_source_dir());
	return corpus;
}

/* Expected rule ids per file (sorted, space separated); files not listed: none.
 * Newest QEMU table.  Why:
 *  - iommufd-*: libvirt's test suite writes placeholders ("@iommufd-fd@",
 *    "@hostdev-hostdev0-fd@", "XXXXXXX", "@iommu-0@-dup") where the real FD numbers
 *    go: VV019 (info) for each, nothing else: fd= has iommufd=, the object exists,
 *    JSON values are strings, no host= beside fd=.
 *  - disk-source-fd, name-escape, net-vdpa: -add-fd with a placeholder fd: VV019;
 *    their /dev/fdset/N users refer to sets those -add-fd define, so no VV016.
 *  - qemu-ns: passes "-unknown" through <qemu:commandline>: VV014 (warning).
 *  - every hostdev file (host= in domains 0000..ffff, sysfsdev= mdev paths,
 *    multifunction, zPCI, pseries, net-hostdev): clean.  hostdev-vfio-zpci-boundaries
 *    uses domain ffff, the largest QEMU accepts: no VV004.
 *  - amd-iommu (pci-id=) and virtio-iommu-x86_64 (granule=): properties newer
 *    than the newest built-in device table (QEMU 7.2): VV029 (info, not judged).
 *    Files for other targets (s390x, aarch64, ppc64) are not held against the
 *    x86_64 table at all. */
static const struct {
	const char *file;
	const char *ids;
} expected[] = {
	{"amd-iommu.x86_64-latest.args", "VV029"},
	{"disk-source-fd.x86_64-latest.args", "VV019 VV019 VV019 VV019 VV019 VV019 VV019 VV019"},
	{"iommufd-q35-fd.x86_64-latest.args", "VV019 VV019"},
	{"iommufd-virt-pci-bus-single.aarch64-latest.args", "VV019 VV019"},
	{"iommufd-virt.aarch64-latest.args", "VV019 VV019 VV019"},
	{"name-escape.x86_64-latest.args", "VV019"},
	{"net-vdpa.x86_64-latest.args", "VV019"},
	{"qemu-ns.x86_64-latest.args", "VV014"},
	{"virtio-iommu-x86_64.x86_64-latest.args", "VV029"},
};

/* Files with vfio-pci devices and how many (a reader counts them with grep). */
static const struct {
	const char *file;
	int vfio;
} vfio_counts[] = {
	{"hostdev-pci-multifunction.x86_64-latest.args", 7},
	{"hostdev-vfio-zpci-multidomain-many.s390x-latest.args", 8},
	{"iommufd-virt.aarch64-latest.args", 2},
	{"hostdev-mdev-display-ramfb.x86_64-latest.args", 2},
};

static void ids_of(const struct vk_report *r, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, "%s%s", l ? " " : "", r->findings[i].rule->id);
	}
}

static int check_file(const char *name, const char *qemu_version, struct vk_report *r, struct vk_qc_cmdline **out)
{
	char path[8192];
	struct vk_qc_cmdline *c = NULL;
	struct vk_qc_pos pos;
	struct vk_error e = {0};
	struct vk_qemu_caps caps;

	snprintf(path, sizeof(path), "%s/%s", corpus, name);
	int ret = vk_qc_parse_args_file(path, &c, &pos, &e);
	cr_assert_eq(ret, 0, "%s: %s", name, e.msg);
	cr_assert_eq(vk_qemu_caps_builtin(qemu_version, &caps, &e), 0);
	cr_assert_eq(vk_check_cmdline(c, &caps, r, &e), 0);
	if (out)
		*out = c;
	else
		vk_qc_cmdline_free(c);
	return 0;
}

/* In the runner process, before any test: no corpus, the whole program is skipped. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	struct stat st;
	if (stat(corpus_dir(), &st) != 0) {
		fprintf(stderr, "corpus %s absent: skipped\n", corpus);
		exit(77);
	}
}

Test(corpus, every_file_parses_with_expected_findings)
{
	corpus_dir();
	DIR *d = opendir(corpus);
	struct dirent *de;
	int nfiles = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 5, ".args") != 0)
			continue;
		struct vk_report r = {0};
		struct vk_qc_cmdline *c;
		char ids[4096];
		const char *want = "";

		check_file(de->d_name, NULL, &r, &c);
		ids_of(&r, ids, sizeof(ids));
		for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
			if (strcmp(expected[i].file, de->d_name) == 0)
				want = expected[i].ids;
		cr_expect_str_eq(ids, want, "%s: findings [%s], expected [%s]", de->d_name, ids, want);
		for (size_t i = 0; i < sizeof(vfio_counts) / sizeof(vfio_counts[0]); i++) {
			if (strcmp(vfio_counts[i].file, de->d_name) != 0)
				continue;
			int n = 0;
			for (size_t k = 0; k < c->nopts; k++) {
				const char *t = vk_qc_option_type(&c->opts[k]);
				n += c->opts[k].def && strcmp(c->opts[k].def->name, "device") == 0 && t &&
				     strncmp(t, "vfio-pci", 8) == 0;
			}
			cr_expect_eq(n, vfio_counts[i].vfio, "%s: %d vfio-pci devices", de->d_name, n);
		}
		vk_qc_cmdline_free(c);
		vk_report_clear(&r);
		nfiles++;
	}
	closedir(d);
	cr_assert_eq(nfiles, 76, "the corpus has 76 files, found %d", nfiles);
}

Test(corpus, iommufd_against_debian12_qemu)
{
	struct vk_report r = {0};

	corpus_dir();
	/* QEMU 7.2 (Debian 12) has neither the iommufd object nor vfio-pci fd=/iommufd=. */
	check_file("iommufd-q35-fd.x86_64-latest.args", "7.2", &r, NULL);
	const struct vk_finding *f = vk_report_find(&r, "VV013");
	cr_assert_not_null(f);
	cr_assert(strstr(f->message, "QEMU 7.2 cannot do this") && strstr(f->message, "9.0"), "%s", f->message);
	cr_assert_eq(vk_report_count(&r, VK_SEV_ERROR), 3);
	vk_report_clear(&r);
	/* A plain host= device is fine on 7.2. */
	check_file("hostdev-pci-address.x86_64-latest.args", "7.2", &r, NULL);
	cr_assert_eq(vk_report_count(&r, VK_SEV_ERROR), 0);
	vk_report_clear(&r);
}
