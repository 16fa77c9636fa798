/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `fakesys test --list` and `--shard K/N`: the list is the library, the shards
 * partition it the same way whatever the order or directory of the files,
 * shards run what they list; the JUnit XML validates against
 * tests/conformance/junit.xsd (the Jenkins xUnit junit-10 shape), which
 * refuses the attributes the runner used to write; contrib/junit-merge.py. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner_util.h"

TestSuite(shard, .init = runner_setup, .fini = runner_teardown);

#define run_test(...) runner_run(false, __VA_ARGS__)

#define MAXS 512

/* The lines of @text (modified in place) into @v; returns their number. */
static size_t lines(char *text, char **v, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		cr_assert_lt(n, max);
		v[n++] = l;
	}
	return n;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *base_of(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

/* The *.yaml of @dir, as "<dir>/<name>", sorted: what the library is, read here. */
static size_t yaml_files(const char *dir, char **v, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	cr_assert_not_null(d, "%s", dir);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		cr_assert_lt(n, max);
		cr_assert_geq(asprintf(&v[n++], "%s/%s", dir, de->d_name), 0);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), str_cmp);
	return n;
}

/* `fakesys test --list [--shard K/N] DIR` as the sorted base names of what it printed. */
static size_t list_names(const char *dir, long k, long n_shards, char *buf, size_t len, char **v)
{
	char shard[64];
	int r;

	if (n_shards) {
		snprintf(shard, sizeof(shard), "%ld/%ld", k, n_shards);
		r = run_test("--list", "--shard", shard, dir, NULL);
	} else {
		r = run_test("--list", dir, NULL);
	}
	cr_assert_eq(r, 0, "--list %s: %d %s", n_shards ? shard : "", r, errb);
	cr_assert_eq(errb[0], '\0', "%s", errb);
	snprintf(buf, len, "%s", out);
	size_t n = lines(buf, v, MAXS);
	for (size_t i = 0; i < n; i++)
		v[i] = (char *)base_of(v[i]);
	qsort(v, n, sizeof(*v), str_cmp);
	return n;
}

Test(shard, list_prints_every_scenario_of_the_library)
{
	char dir[4096], *files[MAXS], *listed[MAXS];
	static char text[OUTLEN];

	snprintf(dir, sizeof(dir), "%s/scenarios", vk_source_dir());
	size_t n = yaml_files(dir, files, MAXS);
	cr_assert_gt(n, 10);
	cr_assert_eq(run_test("--list", dir, NULL), 0, "%s", errb);
	snprintf(text, sizeof(text), "%s", out);
	cr_assert_eq(lines(text, listed, MAXS), n, "%s", out);
	/* the paths, in the order they would run, one per line, nothing else */
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(listed[i], files[i]);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	/* a file named twice is listed twice, and nothing runs (no summary line) */
	char expect[8300];
	vk_scenario_path("default.yaml", dir, sizeof(dir));
	cr_assert_eq(run_test("--list", dir, dir, NULL), 0);
	snprintf(expect, sizeof(expect), "%s\n%s\n", dir, dir);
	cr_assert_str_eq(out, expect);
}

Test(shard, shards_partition_the_list)
{
	static const long counts[] = {1, 2, 3, 7, 100};
	char dir[4096], *all[MAXS], *part[MAXS];
	static char all_text[OUTLEN], part_text[OUTLEN];
	static unsigned seen[MAXS];

	snprintf(dir, sizeof(dir), "%s/scenarios", vk_source_dir());
	size_t n = list_names(dir, 0, 0, all_text, sizeof(all_text), all);
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		long shards = counts[c];
		size_t min = n, max = 0;
		memset(seen, 0, sizeof(seen));
		for (long k = 1; k <= shards; k++) {
			size_t m = list_names(dir, k, shards, part_text, sizeof(part_text), part);
			min = m < min ? m : min;
			max = m > max ? m : max;
			for (size_t i = 0; i < m; i++) {
				char **hit = bsearch(&part[i], all, n, sizeof(*all), str_cmp);
				cr_assert_not_null(hit, "shard %ld/%ld lists %s, which --list does not", k, shards, part[i]);
				seen[hit - all]++;
			}
		}
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(seen[i], 1, "%s is in %u of the %ld shards", all[i], seen[i], shards);
		/* round robin over the sorted names: sizes within one of each other */
		cr_assert_leq(max - min, 1, "%ld shards: %zu to %zu scenarios", shards, min, max);
	}
}

/* Copy @n files of the library into @to, as the same names. */
static void copy_scenarios(char **files, size_t n, const char *to)
{
	for (size_t i = 0; i < n; i++) {
		char dst[4200], buf[1 << 16];
		snprintf(dst, sizeof(dst), "%s/%s", to, base_of(files[i]));
		FILE *a = fopen(files[i], "r"), *b = fopen(dst, "w");
		cr_assert(a && b, "%s", dst);
		size_t r;
		while ((r = fread(buf, 1, sizeof(buf), a)) > 0)
			cr_assert_eq(fwrite(buf, 1, r, b), r);
		fclose(a);
		cr_assert_eq(fclose(b), 0);
	}
}

/* A shard is chosen by file name: the same from another directory, and from
 * the files named one by one in another order, as on another machine. */
Test(shard, a_shard_depends_on_the_names_only)
{
	char dir[4096], copy[4200], *files[MAXS], shard[16];
	static char a[OUTLEN], b[OUTLEN];
	char *va[MAXS], *vb[MAXS];

	snprintf(dir, sizeof(dir), "%s/scenarios", vk_source_dir());
	size_t n = yaml_files(dir, files, MAXS);
	snprintf(copy, sizeof(copy), "%s/elsewhere", tmp);
	cr_assert_eq(mkdir(copy, 0755), 0);
	copy_scenarios(files, n, copy);
	for (long k = 1; k <= 3; k++) {
		size_t na = list_names(dir, k, 3, a, sizeof(a), va);
		size_t nb = list_names(copy, k, 3, b, sizeof(b), vb);
		cr_assert_eq(na, nb);
		for (size_t i = 0; i < na; i++)
			cr_assert_str_eq(va[i], vb[i], "shard %ld/3", k);
		/* the files one by one, last first */
		const char *head[MAXS + 8];
		size_t h = 0;
		char bin[4096];
		head[h++] = vk_bin("fakesys/fakesys", bin, sizeof(bin));
		head[h++] = "test";
		head[h++] = "--list";
		head[h++] = "--shard";
		snprintf(shard, sizeof(shard), "%ld/3", k);
		head[h++] = shard;
		for (size_t i = n; i-- > 0;)
			head[h++] = files[i];
		head[h] = NULL;
		cr_assert_eq(vk_run((char *const *)head, out, OUTLEN, errb, OUTLEN), 0, "%s", errb);
		snprintf(b, sizeof(b), "%s", out);
		nb = lines(b, vb, MAXS);
		for (size_t i = 0; i < nb; i++)
			vb[i] = (char *)base_of(vb[i]);
		qsort(vb, nb, sizeof(*vb), str_cmp);
		cr_assert_eq(na, nb);
		for (size_t i = 0; i < na; i++)
			cr_assert_str_eq(va[i], vb[i], "shard %ld/3 of the files in reverse", k);
	}
	for (size_t i = 0; i < n; i++)
		free(files[i]);
}

Test(shard, usage_errors)
{
	static const char *const bad[] = {"0/3", "4/3", "3", "1/0", "a/b", "1/3x", "/3", "1/", "-1/3", "1/100001", "",
	                                  "99999999999999999999/3"};
	char p[4096];

	vk_scenario_path("default.yaml", p, sizeof(p));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = run_test("--shard", bad[i], p, NULL);
		cr_assert_eq(r, 2, "--shard '%s': %d %s%s", bad[i], r, out, errb);
		cr_assert(strstr(errb, "--shard expects K/N"), "--shard '%s': %s", bad[i], errb);
	}
	cr_assert_eq(run_test("--list", "--shard", "100000/100000", p, NULL), 0, "%s", errb);
	cr_assert_eq(run_test("--list", NULL), 2, "no scenario: usage");
	/* a list that cannot be written is no list */
	char cmd[8400], bin[4096];
	snprintf(cmd, sizeof(cmd), "'%s' test --list --shard 1/2 '%s/scenarios' > /dev/full",
	         vk_bin("fakesys/fakesys", bin, sizeof(bin)), vk_source_dir());
	char *sh[] = {"/bin/sh", "-c", cmd, NULL};
	cr_assert_eq(vk_run(sh, out, OUTLEN, errb, OUTLEN), 1, "%s", errb);
	cr_assert(strstr(errb, "writing the list to standard output: No space left on device"), "%s", errb);
	/* a name --list cannot print on one line */
	char nl[4200];
	cr_assert_eq(vk_scenario_variant("default.yaml", "name: default", "name: default", tmp, "a\nb.yaml", nl, sizeof(nl)), 0);
	cr_assert_eq(run_test("--list", nl, NULL), 2);
	cr_assert(strstr(errb, "a file name with a newline cannot be listed"), "%s", errb);
}

/* xmllint --noout --schema tests/conformance/junit.xsd @file: its exit status. */
static int xsd_check(const char *file)
{
	char xsd[4096];
	static char o[65536], e[65536];

	snprintf(xsd, sizeof(xsd), "%s/tests/conformance/junit.xsd", vk_source_dir());
	char *argv[] = {"/usr/bin/env", "xmllint", "--noout", "--schema", xsd, (char *)file, NULL};
	int r = vk_run(argv, o, sizeof(o), e, sizeof(e));
	if (r == 127)
		cr_skip_test("xmllint is not installed (apt-get install libxml2-utils)");
	if (r != 0)
		cr_log_info("xmllint %s: %d %s%s", file, r, o, e);
	return r;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* Replace the first @from in the file @in by @to, into @outp. */
static void mutate(const char *in, const char *from, const char *to, const char *outp)
{
	static char text[1 << 20], res[1 << 20];
	cr_assert_geq(vk_read_file(in, text, sizeof(text)), 0);
	char *p = strstr(text, from);
	cr_assert_not_null(p, "%s has no %s", in, from);
	snprintf(res, sizeof(res), "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
	write_file(outp, res);
}

/* Three shards of a few scenarios run what they list, each once; their JUnit
 * and the merge validate; an empty shard is a run of nothing. */
Test(shard, shards_run_what_they_list_and_junit_merges)
{
	static const char *const pick[] = {"default.yaml", "doctor-iommu-off.yaml", "doctor-memlock-too-low.yaml",
	                                   "perms-qemu-user-nodes.yaml", "resolver-vfio-dev-readdir-eio.yaml"};
	char dir[4200], *files[8], xml[3][4300], merged[4300], merge[4096], shard[16], lst[4300];
	static char text[OUTLEN];
	size_t total = 0;

	snprintf(dir, sizeof(dir), "%s/few", tmp);
	cr_assert_eq(mkdir(dir, 0755), 0);
	for (size_t i = 0; i < 5; i++) {
		char p[4096];
		vk_scenario_path(pick[i], p, sizeof(p));
		files[i] = strdup(p);
	}
	copy_scenarios(files, 5, dir);
	for (int k = 1; k <= 3; k++) {
		char *names[MAXS];
		snprintf(shard, sizeof(shard), "%d/3", k);
		snprintf(xml[k - 1], sizeof(xml[0]), "%s/junit-%d.xml", tmp, k);
		size_t m = list_names(dir, k, 3, text, sizeof(text), names);
		int r = run_test("-j", "2", "--shard", shard, "--junit", xml[k - 1], dir, NULL);
		cr_assert(r == 0 || r == 1, "shard %s: %d %s%s", shard, r, out, errb);
		/* the summary counts what the shard listed, and each listed name ran */
		snprintf(lst, sizeof(lst), "%zu scenario%s: ", m, m == 1 ? "" : "s");
		cr_assert(strstr(out, lst), "shard %s listed %zu: %s", shard, m, out);
		for (size_t i = 0; i < m; i++) {
			char line[300], stem[256];
			snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(names[i]) - 5), names[i]);
			snprintf(line, sizeof(line), " %s (", stem);
			cr_assert(strstr(out, line), "shard %s did not run %s: %s", shard, stem, out);
		}
		total += m;
		cr_assert_eq(xsd_check(xml[k - 1]), 0, "shard %s's JUnit is not valid", shard);
	}
	cr_assert_eq(total, 5);
	snprintf(merge, sizeof(merge), "%s/contrib/junit-merge.py", vk_source_dir());
	snprintf(merged, sizeof(merged), "%s/junit.xml", tmp);
	char *argv[] = {"/usr/bin/env", "python3", merge, merged, xml[0], xml[1], xml[2], NULL};
	cr_assert_eq(vk_run(argv, out, OUTLEN, errb, OUTLEN), 0, "%s%s", out, errb);
	cr_assert_eq(xsd_check(merged), 0);
	cr_assert_geq(vk_read_file(merged, text, sizeof(text)), 0);
	cr_assert(strstr(text, "<testsuites name=\"fakesys test\" tests=\"5\" "), "%s", text);
	for (size_t i = 0; i < 5; i++) {
		char tc[300];
		snprintf(tc, sizeof(tc), "name=\"%.*s\"", (int)(strlen(pick[i]) - 5), pick[i]);
		cr_assert(strstr(text, tc), "%s missing from the merge: %s", tc, text);
		cr_assert_null(strstr(strstr(text, tc) + 1, tc), "%s twice in the merge", tc);
		free(files[i]);
	}

	/* more shards than scenarios: an empty one runs nothing and says so */
	snprintf(xml[0], sizeof(xml[0]), "%s/empty.xml", tmp);
	cr_assert_eq(run_test("--list", "--shard", "9/9", dir, NULL), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(run_test("--shard", "9/9", "--junit", xml[0], "--skipped-exit", "77", dir, NULL), 0, "%s%s", out, errb);
	cr_assert(strstr(out, "0 scenarios: 0 passed"), "%s", out);
	cr_assert_eq(xsd_check(xml[0]), 0);
	cr_assert_geq(vk_read_file(xml[0], text, sizeof(text)), 0);
	cr_assert(strstr(text, "tests=\"0\""), "%s", text);
}

/* The schema is strict where Jenkins is: the attributes the runner wrote
 * before (file on a testcase, skipped on testsuites) are refused; bytes that
 * are not UTF-8 in a file name do not make the report unreadable. */
Test(shard, junit_schema_and_hostile_names)
{
	char good[4096], bad_name[4200], xml[4300], mut[4300];
	static char text[OUTLEN];

	vk_scenario_path("default.yaml", good, sizeof(good));
	cr_assert_eq(vk_scenario_variant("default.yaml", "name: default", "name: default", tmp, "h\xff\xfe<&\x01.yaml",
	                                 bad_name, sizeof(bad_name)),
	             0);
	snprintf(xml, sizeof(xml), "%s/r.xml", tmp);
	int r = run_test("--plain", "--junit", xml, good, bad_name, NULL);
	cr_assert(r == 0 || r == 1, "%d %s%s", r, out, errb);
	cr_assert_eq(xsd_check(xml), 0);
	cr_assert_geq(vk_read_file(xml, text, sizeof(text)), 0);
	cr_assert(strstr(text, "name=\"h??&lt;&amp;?\""), "%s", text);
	cr_assert(strstr(text, "<system-out>file: "), "%s", text);
	cr_assert_null(strstr(text, " file=\""), "%s", text);

	snprintf(mut, sizeof(mut), "%s/m1.xml", tmp);
	mutate(xml, "<testcase classname=\"scenarios\" name=\"default\"",
	       "<testcase classname=\"scenarios\" name=\"default\" file=\"x.yaml\"", mut);
	cr_assert_neq(xsd_check(mut), 0, "a testcase's file attribute must be refused");
	snprintf(mut, sizeof(mut), "%s/m2.xml", tmp);
	mutate(xml, "<testsuites name=\"fakesys test\"", "<testsuites name=\"fakesys test\" skipped=\"0\"", mut);
	cr_assert_neq(xsd_check(mut), 0, "testsuites' skipped attribute must be refused");
	snprintf(mut, sizeof(mut), "%s/m3.xml", tmp);
	mutate(xml, "tests=\"2\"", "tests=\"two\"", mut);
	cr_assert_neq(xsd_check(mut), 0, "a count that is not a number must be refused");
}

Test(shard, merge_refuses_what_is_not_one_run)
{
	char merge[4096], a[4300], b[4300], o[4300], good[4096];

	snprintf(merge, sizeof(merge), "%s/contrib/junit-merge.py", vk_source_dir());
	snprintf(a, sizeof(a), "%s/a.xml", tmp);
	snprintf(b, sizeof(b), "%s/b.xml", tmp);
	snprintf(o, sizeof(o), "%s/o.xml", tmp);
	vk_scenario_path("default.yaml", good, sizeof(good));
	cr_assert_eq(run_test("--plain", "--junit", a, good, NULL), 0, "%s%s", out, errb);
	/* the same shard twice */
	char *twice[] = {"/usr/bin/env", "python3", merge, o, a, a, NULL};
	cr_assert_eq(vk_run(twice, out, OUTLEN, errb, OUTLEN), 1);
	cr_assert(strstr(errb, "testcase 'default' of suite 'scenarios' is also in"), "%s", errb);
	cr_assert_neq(access(o, F_OK), 0, "nothing written on an error");
	/* not JUnit, not XML, missing */
	write_file(b, "<html><body/></html>\n");
	char *html[] = {"/usr/bin/env", "python3", merge, o, a, b, NULL};
	cr_assert_eq(vk_run(html, out, OUTLEN, errb, OUTLEN), 1);
	cr_assert(strstr(errb, "the root element is <html>"), "%s", errb);
	write_file(b, "<testsuites><testsuite name=\"x\"");
	cr_assert_eq(vk_run(html, out, OUTLEN, errb, OUTLEN), 1, "%s", errb);
	unlink(b);
	cr_assert_eq(vk_run(html, out, OUTLEN, errb, OUTLEN), 1, "%s", errb);
	cr_assert(strstr(errb, "No such file"), "%s", errb);
	/* usage */
	char *none[] = {"/usr/bin/env", "python3", merge, o, NULL};
	cr_assert_eq(vk_run(none, out, OUTLEN, errb, OUTLEN), 2);
	cr_assert(strstr(errb, "usage:"), "%s", errb);
	cr_assert_neq(access(o, F_OK), 0);
	/* one input: a valid file of its own */
	char *one[] = {"/usr/bin/env", "python3", merge, o, a, NULL};
	cr_assert_eq(vk_run(one, out, OUTLEN, errb, OUTLEN), 0, "%s", errb);
	cr_assert_eq(xsd_check(o), 0);
}
