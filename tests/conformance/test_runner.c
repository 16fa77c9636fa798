/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `fakesys test`: the scenario library passes; a changed expectation fails with a
 * readable diff; the JUnit XML parses; the TAP output is TAP version 13. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner_util.h"

TestSuite(runner, .init = runner_setup, .fini = runner_teardown);

/* fakesys test ARGS... (up to the first NULL). */
#define run_test(...) runner_run(false, __VA_ARGS__)

/* A copy of default.yaml with one string replaced, as DIR/NAME. */
static void broken_copy(const char *name, const char *from, const char *to, char *path, size_t len)
{
	cr_assert_eq(vk_scenario_variant("default.yaml", from, to, tmp, name, path, len), 0, "default.yaml has no '%s'",
	             from);
}

Test(runner, library_passes)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/scenarios", vk_source_dir());
	int r = run_test("-j", "4", dir, NULL);
	cr_assert_eq(r, 0, "fakesys test scenarios/: %d\n%s%s", r, out, errb);
	cr_assert(strstr(out, "ok    default ("), "%s", out);
	cr_assert(strstr(out, " 0 failed, 0 errors"), "%s", out);
}

Test(runner, plain_tree_says_so)
{
	char src[4096];

	int r = run_test("--plain", vk_scenario_path("default.yaml", src, sizeof(src)), NULL);
	cr_assert_eq(r, 0, "%s%s", out, errb);
	cr_assert(strstr(out, "ok    default (plain, "), "%s", out);
}

Test(runner, changed_expectation_fails_with_diff)
{
	char path[4200];

	broken_copy("broken.yaml", "0000:02:00.0: not-vfio-pci", "0000:02:00.0: /dev/vfio/devices/vfio9", path,
	            sizeof(path));
	int r = run_test(path, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	cr_assert(strstr(out, "FAIL  broken ("), "%s", out);
	cr_assert(strstr(out, "1 expectation not met"), "%s", out);
	cr_assert(strstr(out, "resolver 0000:02:00.0 (line "), "%s", out);
	cr_assert(strstr(out, "expected: /dev/vfio/devices/vfio9"), "%s", out);
	cr_assert(strstr(out, "got:      not-vfio-pci: "), "%s", out);
	/* the other items are not reported */
	cr_assert_null(strstr(out, "doctor"), "%s", out);
}

Test(runner, doctor_and_validate_differences)
{
	char path[4200];

	broken_copy("b2.yaml", "validate: {clean: true}", "validate: {findings: [VV005]}", path, sizeof(path));
	int r = run_test("--plain", path, NULL);
	cr_assert_eq(r, 1, "%s%s", out, errb);
	cr_assert(strstr(out, "validate\n"), "%s", out);
	cr_assert(strstr(out, "expected: findings VV005"), "%s", out);
	cr_assert(strstr(out, "got:      clean (no findings)"), "%s", out);
	cr_assert(strstr(out, "argv:     '-object' 'iommufd,id=iommufd0,fd="), "%s", out);

	broken_copy("b3.yaml", "VD007: PASS", "VD007: FAIL", path, sizeof(path));
	r = run_test(path, NULL);
	cr_assert_eq(r, 1, "%s%s", out, errb);
	cr_assert(strstr(out, "doctor VD007 (line "), "%s", out);
	cr_assert(strstr(out, "expected: FAIL\n"), "%s", out);
	cr_assert(strstr(out, "got:      PASS ("), "%s", out);
}

Test(runner, junit_xml_parses)
{
	char path[4200], good[4096], xml[4300], script[9000];

	broken_copy("broken.yaml", "VD001: PASS", "VD001: WARN", path, sizeof(path));
	snprintf(xml, sizeof(xml), "%s/report.xml", tmp);
	int r = run_test("-j", "2", "--junit", xml, path, vk_scenario_path("default.yaml", good, sizeof(good)), NULL);
	cr_assert_eq(r, 1, "%s%s", out, errb);
	snprintf(script, sizeof(script),
	         "import xml.etree.ElementTree as ET\n"
	         "t = ET.parse('%s').getroot()\n"
	         "assert t.tag == 'testsuites', t.tag\n"
	         "assert t.get('tests') == '2' and t.get('failures') == '1' and t.get('errors') == '0', t.attrib\n"
	         "cases = {c.get('name'): c for c in t.iter('testcase')}\n"
	         "assert set(cases) == {'broken', 'default'}, cases\n"
	         "f = cases['broken'].find('failure')\n"
	         "assert f is not None and 'doctor VD001' in f.text and 'expected: WARN' in f.text, f\n"
	         "assert cases['default'].find('failure') is None\n"
	         "float(cases['default'].get('time'))\n"
	         "print('junit ok')\n",
	         xml);
	char *argv[] = {(char *)"/usr/bin/env", (char *)"python3", (char *)"-c", script, NULL};
	r = vk_run(argv, out, OUTLEN, errb, OUTLEN);
	cr_assert_eq(r, 0, "python3: %d\n%s%s", r, out, errb);
	cr_assert(strstr(out, "junit ok"));
}

Test(runner, tap13)
{
	char path[4200], good[4096];

	broken_copy("a-broken.yaml", "0000:01:00.1: /dev/vfio/devices/vfio1", "0000:01:00.1: busy", path, sizeof(path));
	int r = run_test("--tap", path, vk_scenario_path("default.yaml", good, sizeof(good)), NULL);
	cr_assert_eq(r, 1, "%s%s", out, errb);
	/* stdout is TAP only; the human lines went to stderr */
	cr_assert(!strncmp(out, "TAP version 13\n1..2\nnot ok 1 - a-broken\n  ---\n", 44), "%s", out);
	cr_assert(strstr(out, "\n  diff: |\n    resolver 0000:01:00.1 (line "), "%s", out);
	cr_assert(strstr(out, "\n      expected: busy\n"), "%s", out);
	cr_assert(strstr(out, "\n  ...\nok 2 - default\n"), "%s", out);
	cr_assert(strstr(errb, "FAIL  a-broken"), "%s", errb);
	/* every line: a plan, a result, or inside a YAML block */
	bool in_yaml = false;
	for (char *l = out, *nl; *l; l = nl + 1) {
		nl = strchrnul(l, '\n');
		size_t len = (size_t)(nl - l);
		if (!strncmp(l, "  ---", 5) && len == 5)
			in_yaml = true;
		else if (!strncmp(l, "  ...", 5) && len == 5)
			in_yaml = false;
		else if (!in_yaml)
			cr_assert(!strncmp(l, "TAP version 13", 14) || !strncmp(l, "1..", 3) || !strncmp(l, "ok ", 3) ||
			                  !strncmp(l, "not ok ", 7),
			          "not a TAP line: %.*s", (int)len, l);
		else
			cr_assert(!strncmp(l, "  ", 2), "YAML block line not indented: %.*s", (int)len, l);
		if (!*nl)
			break;
	}
	cr_assert(!in_yaml);
}

Test(runner, errors_and_usage)
{
	char path[4200];

	cr_assert_eq(run_test(NULL), 2);
	cr_assert_eq(run_test("-j", "0", "x.yaml", NULL), 2);
	cr_assert_eq(run_test("--timeout", "0", "x.yaml", NULL), 2);
	cr_assert_eq(run_test("--timeout", "9x", "x.yaml", NULL), 2);
	cr_assert_eq(run_test("-j", "99999999999999999999", "x.yaml", NULL), 2);
	cr_assert_eq(run_test("--bogus", "x.yaml", NULL), 2);
	snprintf(path, sizeof(path), "%s/does-not-exist.yaml", tmp);
	cr_assert_eq(run_test(path, NULL), 2);

	/* a scenario without expect: is an error, not a pass */
	snprintf(path, sizeof(path), "%s/bare.yaml", tmp);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("version: 1\n", f);
	fclose(f);
	cr_assert_eq(run_test(path, NULL), 1, "%s", out);
	cr_assert(strstr(out, "ERROR bare ("), "%s", out);
	cr_assert(strstr(out, "no expect: block"), "%s", out);

	/* a malformed expect: names the place */
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("version: 1\nexpect:\n  resolver: {0000:01:00.0: sideways}\n", f);
	fclose(f);
	cr_assert_eq(run_test(path, NULL), 1, "%s", out);
	cr_assert(strstr(out, "bare.yaml:3:28: resolver: 'sideways' is neither"), "%s", out);
}

Test(runner, plain_tree_skips_what_needs_a_mount)
{
	char p[4200];

	vk_scenario_path("access-libvirt-open-pattern.yaml", p, sizeof(p));
	cr_assert_eq(run_test("--plain", "--skipped-exit", "77", p, NULL), 77, "%s", out);
	cr_assert(strstr(out, "skip  access-libvirt-open-pattern (plain, "), "%s", out);
	cr_assert(strstr(out, "access-log expectations need a FUSE mount"), "%s", out);
	/* without --skipped-exit a skip is not a failure */
	cr_assert_eq(run_test("--plain", p, NULL), 0, "%s", out);
}
