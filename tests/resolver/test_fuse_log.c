/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What `vfio-resolve --open` does to a host, asserted from the access log of a
 * fakesys mount (`fakesys mount --log FILE --log-lookups`): one open per
 * device node, read-write, /dev/iommu once, and never the legacy container
 * /dev/vfio/vfio.  Run through need-fuse.sh.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char mnt[256], logdir[256], logfile[PATH_MAX];
static bool mounted;

static void cleanup(void)
{
	if (mounted) {
		mounted = false;
		if (vk_umount(mnt) != 0) {
			char *argv[] = {(char *)"/usr/bin/fusermount3", (char *)"-u", (char *)"-z", mnt, NULL};
			vk_run(argv, NULL, 0, NULL, 0);
			rmdir(mnt);
		}
	}
	if (logdir[0])
		vk_rm_rf(logdir);
	logdir[0] = '\0';
}

TestSuite(resolver_log, .fini = cleanup, .timeout = 60);

static void mount_logged(const char *scenario)
{
	char bin[PATH_MAX], sc[PATH_MAX], err[4096];

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	vk_scenario_path(scenario, sc, sizeof(sc));
	cr_assert_eq(vk_mkdtemp(logdir, sizeof(logdir)), 0);
	snprintf(logfile, sizeof(logfile), "%s/access.jsonl", logdir);
	cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
	char *argv[] = {bin, (char *)"mount", (char *)"--log", logfile, (char *)"--log-lookups", sc, mnt, NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 0, "%s", err);
	mounted = true;
}

struct tally {
	int opens_vfio0, opens_vfio1, opens_vfio2, opens_iommu, rw_vfio0, rw_vfio1, rw_iommu;
	int legacy; /* any operation on dev/vfio/vfio */
	int lookups, lines;
};

static void count(struct tally *t)
{
	FILE *f = fopen(logfile, "re");
	char line[8192];

	cr_assert_not_null(f);
	memset(t, 0, sizeof(*t));
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		cr_assert_not_null(o, "bad JSON line: %s (%s)", line, je.text);
		const char *op = json_string_value(json_object_get(o, "op"));
		const char *path = json_string_value(json_object_get(o, "path"));
		const char *flags = json_string_value(json_object_get(o, "flags"));
		cr_assert(op && path, "%s", line);
		cr_assert(json_is_integer(json_object_get(o, "pid")) && json_is_number(json_object_get(o, "time")), "%s",
		          line);
		cr_assert(json_object_get(o, "errno"), "%s", line);
		t->lines++;
		if (!strcmp(op, "lookup"))
			t->lookups++;
		if (!strcmp(path, "dev/vfio/vfio"))
			t->legacy++;
		bool rw = flags && !strncmp(flags, "O_RDWR", 6);
		if (!strcmp(op, "open")) {
			if (!strcmp(path, "dev/vfio/devices/vfio0"))
				t->opens_vfio0++, t->rw_vfio0 += rw;
			if (!strcmp(path, "dev/vfio/devices/vfio1"))
				t->opens_vfio1++, t->rw_vfio1 += rw;
			if (!strcmp(path, "dev/vfio/devices/vfio2"))
				t->opens_vfio2++;
			if (!strcmp(path, "dev/iommu"))
				t->opens_iommu++, t->rw_iommu += rw;
		}
		json_decref(o);
	}
	fclose(f);
}

Test(resolver_log, open_touches_one_node_per_device_read_write_and_never_the_container)
{
	char bin[PATH_MAX], out[4096], err[4096];
	struct tally t;

	mount_logged("default.yaml");
	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	char *argv[] = {bin, (char *)"--root", mnt, (char *)"--open", (char *)"0000:01:00.0", (char *)"0000:01:00.1",
	                NULL};
	cr_assert_eq(vk_run(argv, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	count(&t);
	cr_assert_eq(t.opens_vfio0, 1, "vfio0 opened %d times", t.opens_vfio0);
	cr_assert_eq(t.opens_vfio1, 1, "vfio1 opened %d times", t.opens_vfio1);
	cr_assert_eq(t.rw_vfio0 + t.rw_vfio1, 2, "device nodes are opened O_RDWR");
	cr_assert_eq(t.opens_vfio2, 0, "a device not asked for was opened");
	cr_assert_eq(t.opens_iommu, 1, "/dev/iommu is opened once per VM");
	cr_assert_eq(t.rw_iommu, 1);
	cr_assert_eq(t.legacy, 0, "the legacy container dev/vfio/vfio was touched");
	cr_assert_gt(t.lookups, 0, "with --log-lookups the log sees the path walks");
}

Test(resolver_log, legacy_mode_opens_nothing)
{
	char bin[PATH_MAX], out[4096], err[4096];
	struct tally t;

	mount_logged("default.yaml");
	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	char *argv[] = {bin, (char *)"--root", mnt, (char *)"--legacy", (char *)"--argv", (char *)"0000:01:00.0", NULL};
	cr_assert_eq(vk_run(argv, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	count(&t);
	cr_assert_eq(t.opens_vfio0 + t.opens_vfio1 + t.opens_vfio2 + t.opens_iommu, 0,
	             "legacy mode leaves the opening to QEMU");
	cr_assert_gt(t.lines, 0);
}
