/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test` never turns an unknown result into a pass: started with
 * SIGCHLD ignored it still reports a wrong expectation as failed; a scenario
 * file that is gone by the time it runs, a report that cannot be written and
 * a result file that is not whole are errors (issue 14.1).  Plain trees only;
 * test_fuse_runner_outcomes.c has the timeouts, killed and lost children.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "result.h"
#include "runner_util.h"

extern char **environ;

TestSuite(outcomes, .init = runner_setup, .fini = runner_teardown);

static void want_err(const char *needle)
{
	cr_assert(strstr(errb, needle), "want '%s' in stderr:\n%s\nstdout:\n%s", needle, errb, out);
}

static void want(const char *needle)
{
	cr_assert(strstr(out, needle), "want '%s' in:\n%s\nstderr:\n%s", needle, out, errb);
}

/* default.yaml with the cdev of 02:00.0 expected where it has none, as tmp/broken.yaml. */
static void broken_copy(char *path, size_t len)
{
	cr_assert_eq(vk_scenario_variant("default.yaml", "0000:02:00.0: not-vfio-pci",
	                                 "0000:02:00.0: /dev/vfio/devices/vfio9", tmp, "broken.yaml", path, len),
	             0);
}

Test(outcomes, sigchld_ignored_wrong_expectation_still_fails)
{
	static const char *const ign[] = {"-i", "CHLD", NULL};
	char bad[4200], good[4096];

	broken_copy(bad, sizeof(bad));
	/* before the fix: "1 passed" and exit 0, every child reaped by the kernel */
	int r = runner_run_under(ign, false, "--plain", bad, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("FAIL  broken (plain, ");
	want("expected: /dev/vfio/devices/vfio9");
	want("1 scenario: 0 passed, 1 failed, 0 errors");
	/* and it does not fail everything: a good scenario passes under it, several at once too */
	vk_scenario_path("default.yaml", good, sizeof(good));
	r = runner_run_under(ign, false, "--plain", "-j", "2", good, bad, good, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("3 scenarios: 2 passed, 1 failed, 0 errors");
	r = runner_run_under(ign, false, "--plain", good, NULL);
	cr_assert_eq(r, 0, "%d\n%s%s", r, out, errb);
	want("1 scenario: 1 passed, 0 failed");
}

/* -q: the lines of the scenarios that failed (with their diffs) and the
 * summary; none for those that passed. */
Test(outcomes, quiet_prints_failures_only)
{
	char bad[4200], good[4096];

	broken_copy(bad, sizeof(bad));
	vk_scenario_path("default.yaml", good, sizeof(good));
	int r = runner_run(false, "--plain", "-q", good, bad, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("FAIL  broken (plain, ");
	want("expected: /dev/vfio/devices/vfio9");
	want("2 scenarios: 1 passed, 1 failed, 0 errors");
	cr_assert_null(strstr(out, "ok    default"), "a passed scenario's line under -q:\n%s", out);
	r = runner_run(false, "--plain", "--quiet", good, NULL);
	cr_assert_eq(r, 0, "%d\n%s%s", r, out, errb);
	cr_assert_null(strstr(out, "ok    "), "%s", out);
	want("1 scenario: 1 passed, 0 failed");
}

Test(outcomes, scenario_gone_before_it_runs_is_an_error)
{
	char dir[4200], link[4300], good[4096], bin[4096];

	/* a directory's listing names it, but the file is gone (a dangling link) */
	snprintf(dir, sizeof(dir), "%s/lib", tmp);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(link, sizeof(link), "%s/gone.yaml", dir);
	cr_assert_eq(symlink("removed-meanwhile.yaml", link), 0);
	snprintf(link, sizeof(link), "%s/good.yaml", dir);
	cr_assert_eq(symlink(vk_scenario_path("default.yaml", good, sizeof(good)), link), 0);
	char *argv[] = {(char *)vk_bin("fakesys/fakesys", bin, sizeof(bin)), "test", "--plain", dir, NULL};
	int r = vk_run(argv, out, OUTLEN, errb, OUTLEN);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("ERROR gone (-, ");
	want("lib/gone.yaml: cannot open scenario: No such file or directory");
	want("ok    good (plain, ");
	want("2 scenarios: 1 passed, 0 failed, 1 errors");
}

/* `fakesys test --plain ARGS` with stdout on /dev/full; its stderr into errb. */
static int run_to_full(const char *a, const char *b, const char *c)
{
	char bin[4096], errf[4200];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	snprintf(errf, sizeof(errf), "%s/stderr", tmp);
	char *argv[] = {(char *)vk_bin("fakesys/fakesys", bin, sizeof(bin)), "test", "--plain", (char *)a, (char *)b,
	                (char *)c, NULL};
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/full", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(vk_read_file(errf, errb, OUTLEN) >= 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(outcomes, report_that_cannot_be_written_is_a_failure)
{
	char good[4096];

	if (access("/dev/full", W_OK) != 0)
		cr_skip_test("no /dev/full here");
	vk_scenario_path("default.yaml", good, sizeof(good));
	/* the scenario passes, but nobody can read that it did */
	int r = run_to_full(good, NULL, NULL);
	cr_assert_eq(r, 1, "%d\n%s", r, errb);
	cr_assert(strstr(errb, "fakesys: test: writing the report to standard output: "), "%s", errb);
	r = run_to_full("--tap", good, NULL);
	cr_assert_eq(r, 1, "%d\n%s", r, errb);
	cr_assert(strstr(errb, "ok    default (plain, "), "the text lines go to stderr with --tap: %s", errb);
	cr_assert(strstr(errb, "writing the report to standard output"), "%s", errb);

	r = runner_run(false, "--plain", "--junit", "/dev/full", good, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("1 scenario: 1 passed, 0 failed");
	cr_assert(strstr(errb, "fakesys: test: /dev/full: writing the JUnit report: "), "%s", errb);
}

/* The result file between the child and the parent (result.c). */

static int read_text(const char *text, struct result *r, char *why, size_t len)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/result", tmp);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return runner_result_read(path, r, why, len);
}

Test(outcomes, result_file_round_trip)
{
	char path[4200], why[256] = "";
	struct result r = {0};

	snprintf(path, sizeof(path), "%s/result", tmp);
	cr_assert_eq(runner_result_write(path, ST_FAIL, "fuse", "2 expectations\nnot met", "a\n  b\n"), 0);
	cr_assert_eq(runner_result_read(path, &r, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(r.status, ST_FAIL);
	cr_assert_str_eq(r.mode, "fuse");
	cr_assert_str_eq(r.note, "2 expectations not met", "a note stays one line");
	cr_assert_str_eq(r.diff, "a\n  b\n");
	runner_result_clear(&r);
	cr_assert_eq(runner_result_write(path, ST_OK, "plain", "", NULL), 0);
	cr_assert_eq(runner_result_read(path, &r, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(r.status, ST_OK);
	cr_assert_str_eq(r.diff, "");
	runner_result_clear(&r);
	cr_assert_eq(runner_result_write("/nonexistent-dir/result", ST_OK, "-", "", NULL), -EIO);
}

Test(outcomes, result_file_not_whole_is_refused)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "not the four lines"},
		{"1\nfuse\n", "not the four lines"},
		{"1\nfuse\nnote\n", "not the four lines"},
		{"1\nfuse\nnote\n4\nabc", "announces a diff of '4' bytes and has 3"}, /* truncated */
		{"1\nfuse\nnote\n2\nabc", "announces a diff of '2' bytes and has 3"}, /* longer */
		{"1\nfuse\nnote\nx\n", "announces a diff of 'x'"},
		{"0\nfuse\nnote\n0\n", "status '0' is not a known outcome"}, /* not run */
		{"5\nfuse\nnote\n0\n", "status '5' is not a known outcome"},
		{"-1\nfuse\nnote\n0\n", "status '-1' is not a known outcome"},
		{"ok\nfuse\nnote\n0\n", "status 'ok' is not a known outcome"},
		{"1 \nfuse\nnote\n0\n", "status '1 ' is not a known outcome"},
		{"\nfuse\nnote\n0\n", "status '' is not a known outcome"},
	};
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct result r = {.status = 77};
		why[0] = '\0';
		cr_assert_eq(read_text(bad[i].text, &r, why, sizeof(why)), -EBADMSG, "case %zu", i);
		cr_assert(strstr(why, bad[i].why), "case %zu: '%s'", i, why);
		cr_assert_eq(r.status, 77, "case %zu: the result is untouched", i);
		cr_assert_null(r.mode);
	}
	struct result r = {0};
	char path[4200];
	snprintf(path, sizeof(path), "%s/none", tmp);
	cr_assert_eq(runner_result_read(path, &r, why, sizeof(why)), -ENOENT);
	cr_assert(strstr(why, "No such file"), "%s", why);
	cr_assert_eq(r.status, ST_NOTRUN, "the zero result is not a pass");
	cr_assert(runner_status_is_error(ST_NOTRUN) && runner_status_is_error(ST_ERROR) && runner_status_is_error(99));
	cr_assert(!runner_status_is_error(ST_OK) && !runner_status_is_error(ST_FAIL) && !runner_status_is_error(ST_SKIP));
}

/* `fakesys check ARGS...` with its output in out and errb. */
static int check_run(const char *a0, ...)
{
	char bin[4096];
	const char *head[] = {vk_bin("fakesys/fakesys", bin, sizeof(bin)), "check", NULL};
	va_list ap;

	va_start(ap, a0);
	int rc = vk_vrun(out, OUTLEN, errb, OUTLEN, head, a0, ap);
	va_end(ap);
	return rc;
}

/* issue 19: what only the runner can check is caught by `fakesys check`
 * too, with file:line:column, on a machine that would skip the scenario */
Test(outcomes, check_finds_every_load_error_without_serving)
{
	char d[4200], p[4200], scen[4096];

	snprintf(scen, sizeof(scen), "%s/scenarios", vk_source_dir());
	cr_assert_eq(check_run(scen, NULL), 0, "%s%s", out, errb);
	cr_assert_str_empty(errb);
	cr_assert(strstr(out, " scenarios checked, 0 invalid\n"), "%s", out);

	snprintf(d, sizeof(d), "%s/lib", tmp);
	cr_assert_eq(mkdir(d, 0755), 0);
	cr_assert_eq(vk_scenario_variant("default.yaml", "VD007: PASS", "VD999: PASS", d, "vd.yaml", p, sizeof(p)), 0);
	cr_assert_eq(vk_scenario_variant("default.yaml", "validate: {clean: true}", "validate: {findings: [VV999]}", d,
	                                 "vv.yaml", p, sizeof(p)),
	             0);
	/* user: 107 is skipped by an ordinary user's run: the size must still be an error */
	cr_assert_eq(vk_scenario_variant("doctor-memlock-too-low.yaml", "memlock: 8M", "memlock: 8 MiB", d, "size.yaml", p,
	                                 sizeof(p)),
	             0);
	cr_assert_eq(vk_scenario_variant("default.yaml", "0000:01:00.0: /dev/vfio/devices/vfio0",
	                                 "0000:01:00.0: /dev/vfio/device/vfio0", d, "path.yaml", p, sizeof(p)),
	             0);
	cr_assert_eq(vk_scenario_variant("default.yaml", "vendor: 0x10de", "vendor: 10de", d, "id.yaml", p, sizeof(p)), 0);
	cr_assert_eq(vk_scenario_variant("default.yaml", "VD007: PASS", "VD007: PASS", d, "good.yaml", p, sizeof(p)), 0);
	cr_assert_eq(check_run(d, NULL), 1, "%s%s", out, errb);
	cr_assert(strstr(out, "6 scenarios checked, 5 invalid\n"), "%s", out);
	want_err("vd.yaml:173:5: doctor: 'VD999' is not a vfio-doctor check (`vfio-doctor --list-checks`)");
	want_err("vv.yaml:177:25: findings: 'VV999' is not a vfio-validate rule (`vfio-validate --list-rules`)");
	want_err("size.yaml:28:42: memlock: '8 MiB' is not a size (64M, unlimited)");
	want_err("path.yaml:160:19: resolver: '/dev/vfio/device/vfio0' is not a VFIO cdev path");
	want_err("id.yaml:");
	want_err("needs the 0x of a hex PCI id");
	cr_assert_null(strstr(errb, "good.yaml"), "%s", errb);

	cr_assert_eq(check_run("--bogus", NULL), 2);
	cr_assert_eq(check_run("/nonexistent/vfiokit.yaml", NULL), 2);
}

Test(outcomes, unknown_rule_ids_are_refused_before_serving)
{
	char p[4200];

	/* `absent` of a check that does not exist would always hold: a typo passing */
	cr_assert_eq(vk_scenario_variant("default.yaml", "    VD007: PASS\n", "    VD007: PASS\n    VD998: absent\n", tmp,
	                                 "typo.yaml", p, sizeof(p)),
	             0);
	int r = runner_run(false, p, NULL);
	cr_assert_eq(r, 1, "%d\n%s%s", r, out, errb);
	want("ERROR typo (-, "); /* "-": nothing was served */
	want("typo.yaml:174:5: doctor: 'VD998' is not a vfio-doctor check (`vfio-doctor --list-checks`)");
	want("1 scenario: 0 passed, 0 failed, 1 errors");

	cr_assert_eq(vk_scenario_variant("default.yaml", "VD007: PASS", "VD999: PASS", tmp, "vd.yaml", p, sizeof(p)), 0);
	cr_assert_eq(runner_run(false, p, NULL), 1, "%s%s", out, errb);
	want("vd.yaml:173:5: doctor: 'VD999' is not a vfio-doctor check");

	cr_assert_eq(vk_scenario_variant("default.yaml", "validate: {clean: true}", "validate: {findings: [VV102, VV999]}",
	                                 tmp, "vv.yaml", p, sizeof(p)),
	             0);
	cr_assert_eq(runner_run(false, p, NULL), 1, "%s%s", out, errb);
	want("ERROR vv (-, ");
	want("vv.yaml:177:32: findings: 'VV999' is not a vfio-validate rule (`vfio-validate --list-rules`)");

	/* a known id that the run does not report is a plain difference, not this error */
	cr_assert_eq(vk_scenario_variant("default.yaml", "validate: {clean: true}", "validate: {findings: [VV102]}", tmp,
	                                 "known.yaml", p, sizeof(p)),
	             0);
	cr_assert_eq(runner_run(false, p, NULL), 1, "%s%s", out, errb);
	want("FAIL  known (");
	want("expected: findings VV102");
}
