/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-doctor gives the same answers on a host and on the replay of its
 * recording (`fakesys record` → `fakesys materialize`): the same checks, in
 * the same order, for the same subjects, with the same status, reason and
 * evidence once the replay's root prefix is taken off.
 *
 * What the doctor reads that a scenario cannot carry, and so may differ on
 * the real root (each difference is named where it is allowed below):
 *
 *  - /boot/config-<release> (VD006, only when no device is bound to vfio-pci):
 *    a file of /boot, not of /sys, /dev or /proc; the replay has no /boot, so
 *    the real root's PASS/FAIL from the kernel config is "cannot tell" (WARN)
 *    on the replay.
 *  - The device nodes (VD005, VD104, VD105): the real /dev has character
 *    devices, the replay stand-in regular files (docs/scenario-format.md,
 *    "Stand-in device nodes"); "char device M:m" and "stand-in file" are the
 *    same node.  Their owners are applied by materialize only as root.
 *  - The caller's RLIMIT_MEMLOCK and CAP_IPC_LOCK (VD201) and QEMU (VD301)
 *    belong to the process, not the tree: --memlock unlimited and --no-qemu
 *    keep them out.
 *
 * Everything else the doctor reads is recorded: sys/kernel/iommu_groups,
 * sys/class/iommu (ecap/features), sys/module (and vfio parameters such as
 * enable_unsafe_noiommu_mode, allow_unsafe_interrupts), sys/class/misc/iommu,
 * vfio-dev/, physfn/sriov_*, /dev/iommu and the /dev/vfio nodes, proc/cmdline,
 * proc/sys/kernel/osrelease, (as kernel.interrupt_remapping, replayed as
 * IR- chips) proc/interrupts and (as cpu: {vendor, hypervisor}, which choose
 * VD001's firmware hints) proc/cpuinfo.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record_util.h"

#define BIG (4u << 20)

static char doctor_bin[PATH_MAX];

static void setup(void)
{
	vk_bin("doctor/vfio-doctor", doctor_bin, sizeof(doctor_bin));
	if (access(doctor_bin, X_OK) != 0)
		cr_skip_test("%s is not built", doctor_bin);
}

TestSuite(record_doctor, .init = setup, .timeout = 300);

/* The doctor's JSON report of @root (exit 0 or 1: a FAIL is an answer too). */
static json_t *doctor(const char *root)
{
	char *out = calloc(1, BIG), *err = calloc(1, BIG);
	char *argv[] = {doctor_bin, "--root", (char *)root, "--json", "--no-qemu", "--memlock", "unlimited", NULL};
	cr_assert(out && err);
	int r = vk_run(argv, out, BIG, err, BIG);
	cr_assert(r == 0 || r == 1, "vfio-doctor --root %s: exit %d: %s", root, r, err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "vfio-doctor --root %s: bad JSON: %s", root, je.text);
	free(out);
	free(err);
	json_t *checks = json_incref(json_object_get(j, "checks"));
	json_decref(j);
	cr_assert(json_is_array(checks));
	return checks;
}

/* @s with every @prefix removed and the node descriptions made comparable:
 * "uid U gid G mode M, char device A:B" and "..., stand-in file" become
 * "mode M, node" (the owners only when the test is not root). */
static char *normalize(const char *s, const char *prefix)
{
	size_t n = strlen(s) + 1, o = 0, pl = prefix ? strlen(prefix) : 0;
	char *t = calloc(1, n), *u;
	const char *p = s, *q;
	cr_assert_not_null(t);
	while (pl && (q = strstr(p, prefix))) {
		memcpy(t + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		p = q + pl;
	}
	strcpy(t + o, p);

	regex_t re;
	regmatch_t m[4];
	cr_assert_eq(regcomp(&re, "uid ([0-9]+) gid ([0-9]+) mode ([0-7]+), (char device [0-9]+:[0-9]+|stand-in file)",
	                     REG_EXTENDED),
	             0);
	u = calloc(1, strlen(t) + 64);
	cr_assert_not_null(u);
	o = 0;
	p = t;
	while (regexec(&re, p, 4, m, 0) == 0) {
		o += (size_t)sprintf(u + o, "%.*s", (int)m[0].rm_so, p);
		if (geteuid() == 0)
			o += (size_t)sprintf(u + o, "uid %.*s gid %.*s ", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so,
			                     (int)(m[2].rm_eo - m[2].rm_so), p + m[2].rm_so);
		o += (size_t)sprintf(u + o, "mode %.*s, node", (int)(m[3].rm_eo - m[3].rm_so), p + m[3].rm_so);
		p += m[0].rm_eo;
	}
	strcpy(u + o, p);
	regfree(&re);
	free(t);
	return u;
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "(null)";
}

/* Whether the evidence of @c has a line starting with @start. */
static bool has_evidence(json_t *c, const char *start)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(c, "evidence"), i, e) if (json_is_string(e) && !strncmp(json_string_value(e), start, strlen(start))) return true;
	return false;
}

/* Evidence lines of @c (prefix removed, nodes normalized), except those starting with @skip. */
static char *evidence(json_t *c, const char *prefix, const char *skip)
{
	char *buf = NULL;
	size_t len = 0, i;
	json_t *e;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	json_array_foreach(json_object_get(c, "evidence"), i, e)
	{
		const char *s = json_is_string(e) ? json_string_value(e) : "";
		if (skip && !strncmp(s, skip, strlen(skip)))
			continue;
		char *n = normalize(s, prefix);
		fprintf(f, "%s\n", n);
		free(n);
	}
	fclose(f);
	return buf;
}

/*
 * Compare the reports of @a (on the tree @ra) and @b (on the replay @rb).
 * With @host false both are fakesys trees and must agree exactly; with @host
 * true @a is the real root and the differences named at the top are allowed
 * (and logged).  Returns the number of differences explained.
 */
static int compare_reports(json_t *a, json_t *b, const char *ra, const char *rb, bool host)
{
	size_t na = json_array_size(a), nb = json_array_size(b);
	int explained = 0;
	const char *pa = strcmp(ra, "/") ? ra : NULL;

	for (size_t i = 0; i < na || i < nb; i++) {
		json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
		cr_assert(x && y, "check %zu: %s on %s only", i, str(x ? x : y, "id"), x ? ra : rb);
		const char *id = str(x, "id");
		cr_assert_str_eq(id, str(y, "id"), "check %zu: %s vs %s", i, id, str(y, "id"));
		cr_assert_str_eq(str(x, "subject"), str(y, "subject"), "%s: subject", id);

		char *rx = normalize(str(x, "reason"), pa), *ry = normalize(str(y, "reason"), rb);
		char *fx = normalize(str(x, "fix"), pa), *fy = normalize(str(y, "fix"), rb);
		const char *skip = NULL;

		if (host && !strcmp(id, "VD006") && has_evidence(x, "/boot/config-")) {
			/* outside the scenario: /boot */
			cr_assert_str_eq(str(y, "status"), "WARN", "VD006 on the replay (no /boot)");
			cr_assert_not_null(strstr(ry, "cannot tell"), "%s", ry);
			cr_log_info("VD006: the real root answered from /boot/config-*, the replay has no /boot: %s vs WARN",
			            str(x, "status"));
			explained++;
		} else {
			cr_assert_str_eq(str(x, "status"), str(y, "status"), "%s %s: %s on %s, %s on the replay (%s / %s)", id,
			                 str(x, "subject"), str(x, "status"), ra, str(y, "status"), rx, ry);
			cr_assert_str_eq(rx, ry, "%s %s: reason differs", id, str(x, "subject"));
			cr_assert_str_eq(fx, fy, "%s %s: fix differs", id, str(x, "subject"));
			char *ex = evidence(x, pa, skip), *ey = evidence(y, rb, skip);
			cr_assert_str_eq(ex, ey, "%s %s: evidence differs", id, str(x, "subject"));
			free(ex);
			free(ey);
		}
		free(rx);
		free(ry);
		free(fx);
		free(fy);
	}
	return explained;
}

/* Record @root, materialize the recording, compare the doctor's reports. */
static void doctor_roundtrip(const char *root, const char *name, bool host)
{
	char work[512], rec[PATH_MAX], tree[512];
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/rec.yaml", work);
	record_cli((char *[]){"record", "--root", (char *)root, NULL}, rec);
	cr_assert_eq(vk_materialize(rec, tree, sizeof(tree)), 0, "materializing the recording of %s", name);
	json_t *a = doctor(root), *b = doctor(tree);
	int n = compare_reports(a, b, root, tree, host);
	cr_log_info("%s: %zu checks agree (%d difference%s outside the scenario)", name, json_array_size(a), n,
	            n == 1 ? "" : "s");
	json_decref(a);
	json_decref(b);
	vk_rm_rf(tree);
	vk_rm_rf(work);
}

Test(record_doctor, real_root)
{
	struct stat st;
	if (stat("/sys/bus/pci/devices", &st) != 0)
		cr_skip_test("this machine has no /sys/bus/pci");
	doctor_roundtrip("/", "the real root", true);
}

/*
 * The doctor's own scenarios (one per FAIL/WARN cause) and the bundled ones:
 * the tree and the replay of its recording give exactly the same report, so
 * everything the doctor reads from a tree is recorded (IOMMU units and their
 * remapping bits, noiommu, module parameters, cdevs, nodes, SR-IOV...).
 */
static void scenarios_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l <= 5 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		char p[PATH_MAX], t[512];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (vk_materialize(p, t, sizeof(t)) != 0)
			continue; /* not a loadable scenario (a rejection case) */
		doctor_roundtrip(t, de->d_name, false);
		vk_rm_rf(t);
	}
	closedir(d);
}

Test(record_doctor, fakesys_trees)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/tests/doctor/data", vk_source_dir());
	scenarios_in(p);
	snprintf(p, sizeof(p), "%s/scenarios", vk_source_dir());
	scenarios_in(p);
}
