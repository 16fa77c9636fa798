/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What contrib/ ships for a fleet: the systemd service and timer pass
 * `systemd-analyze verify` and the service's command line, run here against a
 * fake host, writes the textfile; the alerting rules pass `promtool check
 * rules` and their unit tests (`promtool test rules`), and every vfiokit metric
 * they name is one the doctor writes. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctorutil.h"
#include "testutil.h"

static char tmp[1024], root[1024];
static char out[262144], errb[65536];

static void teardown(void)
{
	if (tmp[0])
		vk_rm_rf(tmp);
	if (root[0])
		vk_rm_rf(root);
	tmp[0] = root[0] = '\0';
}

TestSuite(contrib, .fini = teardown);

/* Run @cmd with /bin/sh; 127 when its first word is not installed. */
static int sh(const char *cmd)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	return vk_run(argv, out, sizeof(out), errb, sizeof(errb));
}

static const char *contrib(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/contrib/%s", vk_source_dir(), rel);
	return buf;
}

/* @text with every @from replaced by @to, into @buf. */
static void replace_all(const char *text, const char *from, const char *to, char *buf, size_t len)
{
	size_t o = 0, fl = strlen(from);
	for (const char *p = text; *p;) {
		const char *h = strstr(p, from);
		size_t n = h ? (size_t)(h - p) : strlen(p);
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%.*s%s", (int)n, p, h ? to : "");
		p += n + (h ? fl : 0);
	}
	cr_assert_lt(o, len);
}

/* The value of "@key=" in a unit file's text, into @buf. */
static const char *unit_value(const char *text, const char *key, char *buf, size_t len)
{
	char k[64];
	snprintf(k, sizeof(k), "\n%s=", key);
	const char *p = strstr(text, k);
	cr_assert_not_null(p, "no %s=", key);
	p += strlen(k);
	snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
	return buf;
}

Test(contrib, systemd_units_verify_and_the_service_writes_the_textfile)
{
	static char svc[16384], unit[16384];
	char path[1300], bin[4096], dir[1200], cmd[16384], exec[4096], rw[1024], prom[1300];

	if (sh("command -v systemd-analyze") == 127 || !strstr(out, "systemd-analyze"))
		cr_skip_test("systemd-analyze is not installed (apt-get install systemd)");
	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	cr_assert_geq(vk_read_file(contrib("systemd/vfio-doctor-metrics.service", path, sizeof(path)), svc, sizeof(svc)), 0);
	/* the file it writes is in the one directory it may write */
	unit_value(svc, "ReadWritePaths", rw, sizeof(rw));
	unit_value(svc, "ExecStart", exec, sizeof(exec));
	snprintf(prom, sizeof(prom), "--output=%s/vfio-doctor.prom ", rw);
	cr_assert(strstr(exec, prom), "ExecStart writes outside ReadWritePaths=%s: %s", rw, exec);
	cr_assert(strstr(exec, "--format=prometheus"), "%s", exec);
	cr_assert_eq(strncmp(exec, "/usr/bin/vfio-doctor ", 21), 0, "%s", exec);

	/* verify the pair as installed, but for the program's path: systemd-analyze
	 * checks that ExecStart's binary exists, and man that the
	 * Documentation= page does (docs/man/vfio-doctor.1 where man looks) */
	snprintf(dir, sizeof(dir), "%s/units", tmp);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/man/man1", tmp);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && ln -s '%s/docs/man/vfio-doctor.1' '%s/'", path, vk_source_dir(), path);
	cr_assert_eq(sh(cmd), 0, "%s", errb);
	vk_bin("doctor/vfio-doctor", bin, sizeof(bin));
	replace_all(svc, "/usr/bin/vfio-doctor", bin, unit, sizeof(unit));
	snprintf(path, sizeof(path), "%s/vfio-doctor-metrics.service", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(unit, f);
	cr_assert_eq(fclose(f), 0);
	char timer[1100];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/'", contrib("systemd/vfio-doctor-metrics.timer", timer, sizeof(timer)), dir);
	cr_assert_eq(sh(cmd), 0, "%s", errb);
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && MANPATH='%s/man' SYSTEMD_LOG_COLOR=0 systemd-analyze verify ./vfio-doctor-metrics.timer "
	         "./vfio-doctor-metrics.service",
	         dir, tmp);
	int rc = sh(cmd);
	if (rc != 0 && (strstr(errb, "Failed to initialize manager") || strstr(errb, "Failed to setup working directory") ||
	                strstr(errb, "Permission denied")))
		cr_skip_test("systemd-analyze verify cannot run here: %s", errb);
	cr_assert_eq(rc, 0, "systemd-analyze verify: %d\n%s%s", rc, out, errb);
	/* a warning (an unknown key, a bad value) is printed and still exits 0 */
	cr_assert_str_eq(errb, "", "%s", errb);
	cr_assert_str_eq(out, "", "%s", out);

	/* the service's command line, run the way systemd would with
	 * VFIO_DOCTOR_ARGS from /etc/default/vfio-doctor, on a fake host and a
	 * directory of this test's */
	cr_assert_eq(vk_materialize(vk_scenario_path("doctor-iommu-off.yaml", path, sizeof(path)), root, sizeof(root)), 0);
	snprintf(dir, sizeof(dir), "%s/textfile", tmp);
	cr_assert_eq(mkdir(dir, 0755), 0);
	char line[8192], line2[8192];
	replace_all(exec, "/usr/bin/vfio-doctor", bin, line, sizeof(line));
	replace_all(line, rw, dir, line2, sizeof(line2));
	snprintf(cmd, sizeof(cmd), "VFIO_DOCTOR_ARGS='--root %s --no-qemu --memlock unlimited'; %s", root, line2);
	rc = sh(cmd);
	unit_value(svc, "SuccessExitStatus", rw, sizeof(rw));
	cr_assert(rc == 0 || (rc == 1 && strstr(rw, "1")), "the service fails with %d (SuccessExitStatus=%s): %s", rc, rw, errb);
	cr_assert_eq(rc, 1, "this fake host fails a check");
	snprintf(path, sizeof(path), "%s/vfio-doctor.prom", dir);
	cr_assert_geq(vk_read_file(path, unit, sizeof(unit)), 0, "the service wrote no %s", path);
	cr_assert(strstr(unit, "vfiokit_doctor_check_status{check=\"VD001\""), "%s", unit);
}

Test(contrib, alert_rules_check_and_their_tests_pass)
{
	char rules[1100], tests[1100], cmd[4096], root_arg[1100];
	static char text[65536], prom[262144];

	contrib("prometheus/vfiokit-alerts.yml", rules, sizeof(rules));
	contrib("prometheus/vfiokit-alerts.test.yml", tests, sizeof(tests));
	snprintf(cmd, sizeof(cmd), "command -v promtool >/dev/null || exit 127; promtool check rules '%s'", rules);
	int rc = sh(cmd);
	if (rc == 127)
		cr_skip_test("promtool is not installed (apt-get install prometheus)");
	cr_assert_eq(rc, 0, "%s%s", out, errb);
	cr_assert(strstr(out, "SUCCESS: 4 rules found"), "%s", out);
	/* the alerts fire when, and only when, they should (the test file's cases) */
	snprintf(cmd, sizeof(cmd), "cd '%s/contrib/prometheus' && promtool test rules vfiokit-alerts.test.yml", vk_source_dir());
	rc = sh(cmd);
	cr_assert_eq(rc, 0, "promtool test rules: %s%s", out, errb);
	cr_assert(strstr(out, "SUCCESS"), "%s", out);

	/* every vfiokit_* metric of the rules and their tests is in the doctor's output */
	cr_assert_eq(vk_materialize(vk_scenario_path("default.yaml", root_arg, sizeof(root_arg)), root, sizeof(root)), 0);
	rc = dt_run(prom, sizeof(prom), errb, sizeof(errb), "--format=prometheus", "--root", root, "--no-qemu", NULL);
	cr_assert(rc == 0 || rc == 1, "%s", errb);
	const char *files[] = {rules, tests};
	regex_t re;
	cr_assert_eq(regcomp(&re, "vfiokit_[a-z_]+", REG_EXTENDED), 0);
	size_t names = 0;
	for (size_t i = 0; i < 2; i++) {
		cr_assert_geq(vk_read_file(files[i], text, sizeof(text)), 0);
		regmatch_t m;
		for (const char *p = text; regexec(&re, p, 1, &m, 0) == 0; p += m.rm_eo) {
			char name[128], typeline[200];
			snprintf(name, sizeof(name), "%.*s", (int)(m.rm_eo - m.rm_so), p + m.rm_so);
			snprintf(typeline, sizeof(typeline), "# TYPE %s gauge\n", name);
			cr_assert(strstr(prom, typeline), "%s names %s, which vfio-doctor does not write", files[i], name);
			names++;
		}
	}
	regfree(&re);
	cr_assert_geq(names, 4);
}
