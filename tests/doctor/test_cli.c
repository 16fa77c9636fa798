/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor the program: this machine's real root, exit codes, JSON (every
 * field of every check, and docs/schemas/vfio-doctor.schema.json), colour, usage errors. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctorutil.h"
#include "testutil.h"

static char out[262144], errb[65536];
static char dir[1024], qdir[1024];

static void teardown(void)
{
	if (dir[0])
		vk_rm_rf(dir);
	if (qdir[0])
		vk_rm_rf(qdir);
	dir[0] = qdir[0] = '\0';
}

TestSuite(cli, .fini = teardown);

/* Whether this machine has IOMMU groups (the real-root test says what is true here). */
static bool host_has_iommu_groups(void)
{
	DIR *d = opendir("/sys/kernel/iommu_groups");
	struct dirent *de;
	bool any = false;
	while (d && (de = readdir(d)))
		any |= de->d_name[0] != '.';
	if (d)
		closedir(d);
	return any;
}

Test(cli, real_root_iommu_check)
{
	int rc = dt_run(out, sizeof(out), errb, sizeof(errb), "--no-qemu", NULL);
	const char *line = strstr(out, "Checking for an IOMMU");

	cr_assert_not_null(line, "%s%s", out, errb);
	if (host_has_iommu_groups()) {
		cr_assert(strstr(line, ": PASS\n"), "%s", out);
		return;
	}
	/* This machine: PCI devices on virtio-pci, no IOMMU groups, no VFIO modules. */
	cr_assert_eq(rc, 1, "a FAIL exits 1: %s%s", out, errb);
	/* the status ends the line (80 columns), the reason is under it */
	cr_assert(strncmp(strstr(line, ": FAIL") ? strstr(line, ": FAIL") : "", ": FAIL\n              no IOMMU groups", 35) == 0,
	          "%s", out);
	const char *fix = strstr(line, "fix: ");
	cr_assert_not_null(fix, "%s", out);
	cr_assert(strstr(fix, "intel_iommu=on") || strstr(fix, "AMD-Vi"), "the fix names the command line / firmware: %s", out);
	cr_assert_null(strstr(out, "\033["), "no colour when stdout is not a terminal");

	/* the same in JSON, with the paths it read */
	rc = dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--no-qemu", NULL);
	cr_assert_eq(rc, 1);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "%s: %s", je.text, out);
	json_t *c = json_array_get(json_object_get(j, "checks"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(c, "id")), "VD001");
	cr_assert_str_eq(json_string_value(json_object_get(c, "status")), "FAIL");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "evidence"), 0)), "/sys/kernel/iommu_groups");
	cr_assert_str_eq(json_string_value(json_object_get(j, "root")), "/");
	json_decref(j);
}

Test(cli, exit_codes)
{
	char user[32];
	snprintf(user, sizeof(user), "%s", dt_qemu_user());
	dt_materialize("clean", dir, sizeof(dir));
	cr_assert_eq(vk_mkdtemp(qdir, sizeof(qdir)), 0);
	char qemu[1024];
	dt_fake_qemu(qdir, "9.2", qemu, sizeof(qemu));
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", dir, "--user", user, "--memory", "16G",
	                    "--memlock", "20G", "--qemu", qemu, NULL),
	             0, "all pass: %s%s", out, errb);
	cr_assert(strstr(out, " 0 warnings, 0 failed"), "%s", out);
	/* a named device, given in the short form */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", dir, "--no-qemu", "--memlock", "unlimited",
	                    "01:00.1", NULL),
	             0, "%s%s", out, errb);
	cr_assert(strstr(out, "0000:01:00.1: Checking that the device is bound to vfio-pci") && !strstr(out, "0000:01:00.0:"),
	          "%s", out);
	/* too little memlock: FAIL, exit 1 */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", dir, "--no-qemu", "--memory", "16G",
	                    "--memlock", "64M", NULL),
	             1, "%s", out);
	cr_assert(strstr(out, "LIMITS: Checking the locked-memory limit") && strstr(out, ": FAIL\n              64 MiB"), "%s", out);
	/* an old QEMU: FAIL */
	dt_fake_qemu(qdir, "7.2", qemu, sizeof(qemu));
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", dir, "--memlock", "unlimited", "--qemu", qemu,
	                    NULL),
	             1, "%s", out);
	cr_assert(strstr(out, "QEMU: Checking that QEMU has the iommufd backend") && strstr(out, "7.2.15"), "%s", out);
	/* a QEMU that cannot be run: WARN, never a guessed result */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", dir, "--memlock", "unlimited", "--qemu",
	                    "/nonexistent/qemu-system-x86_64", NULL),
	             0, "%s", out);
	cr_assert(strstr(out, ": WARN\n              cannot ask /nonexistent/qemu-system-x86_64"), "%s", out);
	teardown();

	/* warnings only: exit 0 */
	dt_materialize("ir-off", dir, sizeof(dir));
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", dir, "--no-qemu", "--memlock", "unlimited",
	                    NULL),
	             0, "%s", out);
	cr_assert(strstr(out, "interrupt remapping") && strstr(out, ": WARN\n              not enabled: no IR- interrupt chip"), "%s",
	          out);
}

Test(cli, usage_errors)
{
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "0000:00:20.0", NULL), 2);
	cr_assert(strstr(errb, "0000:00:20.0"), "%s", errb);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--memory", "lots", NULL), 2);
	cr_assert(strstr(errb, "not a size"), "%s", errb);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--memory", "0", NULL), 2);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--memlock", "-1", NULL), 2);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--bogus", NULL), 2);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--qemu", "x", "--no-qemu", NULL), 2);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--user", "no-such-user-vfiokit", NULL), 2);
	cr_assert(strstr(errb, "no such user"), "%s", errb);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", "/nonexistent-vfiokit", NULL), 2);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--help", NULL), 0);
	cr_assert(strstr(out, "Exit status"), "%s", out);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--list-checks", NULL), 0);
	static const char *const ids[] = {"VD001", "VD002", "VD003", "VD004", "VD005", "VD006", "VD007", "VD100", "VD101",
	                                  "VD102", "VD103", "VD104", "VD105", "VD106", "VD107", "VD201", "VD301"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		cr_assert(strstr(out, ids[i]), "%s missing from --list-checks", ids[i]);
	cr_assert_null(strstr(out, "VV001"), "only the doctor's checks");
}

/* Every field of every check of a report, against what docs/schemas/vfio-doctor.schema.json says. */
static void check_json(const char *text, int rc)
{
	static const char *const keys[] = {"id", "name", "category", "subject", "title", "status",
	                                   "reason", "fix", "evidence", "source"};
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	regex_t id_re;
	size_t n[4] = {0};

	cr_assert_not_null(j, "%s: %s", je.text, text);
	cr_assert_str_eq(json_string_value(json_object_get(j, "tool")), "vfio-doctor");
	cr_assert(json_is_string(json_object_get(j, "version")));
	cr_assert(json_is_string(json_object_get(j, "root")));
	json_t *u = json_object_get(j, "user");
	cr_assert(json_is_null(u) || (json_is_object(u) && json_is_integer(json_object_get(u, "uid"))));
	json_t *mem = json_object_get(j, "memory"), *ml = json_object_get(j, "memlock");
	cr_assert(json_is_null(mem) || json_integer_value(mem) > 0);
	cr_assert(json_is_null(ml) || json_is_integer(ml) || (json_is_string(ml) && !strcmp(json_string_value(ml), "unlimited")));
	cr_assert_eq(regcomp(&id_re, "^VD[0-3][0-9][0-9]$", REG_EXTENDED | REG_NOSUB), 0);
	json_t *checks = json_object_get(j, "checks");
	cr_assert(json_is_array(checks) && json_array_size(checks) > 0);
	size_t i;
	json_t *c;
	json_array_foreach(checks, i, c)
	{
		cr_assert_eq(json_object_size(c), sizeof(keys) / sizeof(keys[0]), "check %zu has extra or missing members", i);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			cr_assert_not_null(json_object_get(c, keys[k]), "check %zu lacks %s", i, keys[k]);
		const char *id = json_string_value(json_object_get(c, "id"));
		cr_assert(id && regexec(&id_re, id, 0, NULL, 0) == 0, "id %s", id ? id : "(null)");
		const char *cat = json_string_value(json_object_get(c, "category"));
		static const char *const cats[] = {"platform", "device", "limits", "qemu"};
		cr_assert(cat && strcmp(cat, cats[id[2] - '0']) == 0, "%s: category %s", id, cat ? cat : "(null)");
		cr_assert(json_string_length(json_object_get(c, "name")) > 0);
		cr_assert(json_string_length(json_object_get(c, "title")) > 0);
		cr_assert(json_string_length(json_object_get(c, "reason")) > 0);
		cr_assert(json_string_length(json_object_get(c, "source")) > 0);
		json_t *subj = json_object_get(c, "subject");
		if (!strcmp(cat, "device") && strcmp(id, "VD100") != 0)
			cr_assert(json_is_string(subj), "%s: a device check names its device", id);
		else
			cr_assert(json_is_null(subj), "%s: a host check has no subject", id);
		const char *st = json_string_value(json_object_get(c, "status"));
		cr_assert(st && (!strcmp(st, "PASS") || !strcmp(st, "WARN") || !strcmp(st, "FAIL") || !strcmp(st, "SKIP")),
		          "%s: status", id);
		n[!strcmp(st, "PASS") ? 0 : !strcmp(st, "WARN") ? 1
		                    : !strcmp(st, "FAIL")       ? 2
		                                                : 3]++;
		json_t *fix = json_object_get(c, "fix");
		if (!strcmp(st, "PASS"))
			cr_assert(json_is_null(fix), "%s: a PASS has no fix", id);
		else
			cr_assert(json_is_null(fix) || json_string_length(fix) > 0, "%s: fix", id);
		json_t *ev = json_object_get(c, "evidence"), *e;
		size_t k;
		cr_assert(json_is_array(ev) && json_array_size(ev) > 0, "%s: evidence", id);
		json_array_foreach(ev, k, e)
			cr_assert(json_string_length(e) > 0, "%s: evidence %zu", id, k);
	}
	json_t *sum = json_object_get(j, "summary");
	cr_assert_eq(json_integer_value(json_object_get(sum, "pass")), (json_int_t)n[0]);
	cr_assert_eq(json_integer_value(json_object_get(sum, "warn")), (json_int_t)n[1]);
	cr_assert_eq(json_integer_value(json_object_get(sum, "fail")), (json_int_t)n[2]);
	cr_assert_eq(json_integer_value(json_object_get(sum, "skip")), (json_int_t)n[3]);
	cr_assert_eq(json_object_size(sum), 4, "summary: pass, warn, fail, skip");
	cr_assert_eq(rc, n[2] ? 1 : 0);
	regfree(&id_re);
	json_decref(j);
}

/* Validate @text against docs/schemas/vfio-doctor.schema.json with python3-jsonschema; false when unavailable. */
static bool schema_validate(const char *text)
{
	char path[1100], schema[1100], py[4096];
	snprintf(path, sizeof(path), "%s/report.json", qdir);
	snprintf(schema, sizeof(schema), "%s/docs/schemas/vfio-doctor.schema.json", vk_source_dir());
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(py, sizeof(py),
	         "import json,sys\n"
	         "try:\n import jsonschema\nexcept ImportError:\n sys.exit(77)\n"
	         "s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2]))\n"
	         "jsonschema.Draft202012Validator.check_schema(s)\n"
	         "jsonschema.Draft202012Validator(s).validate(d)\n");
	/* Debian's python3-jsonschema (setup.sh installs it) is for /usr/bin/python3,
	 * whatever other python3 comes first on PATH */
	char *argv[] = {access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "/usr/bin/env",
	                access("/usr/bin/python3", X_OK) == 0 ? "-I" : "python3", "-c", py, schema, path, NULL};
	char o[8192], e[8192];
	int rc = vk_run(argv, o, sizeof(o), e, sizeof(e));
	if (rc == 77 || rc == 127 || rc < 0)
		return false;
	cr_assert_eq(rc, 0, "schema validation failed: %s%s", o, e);
	return true;
}

/* The status of check @id in the JSON report @text, "" when it is not there. */
static const char *json_status(const char *text, const char *id, char *buf, size_t len)
{
	json_t *j = json_loads(text, 0, NULL), *c;
	size_t i;

	cr_assert_not_null(j, "%s", text);
	buf[0] = '\0';
	json_array_foreach(json_object_get(j, "checks"), i, c) if (!strcmp(json_string_value(json_object_get(c, "id")), id))
		snprintf(buf, len, "%s", json_string_value(json_object_get(c, "status")));
	json_decref(j);
	return buf;
}

/* Issue #19: under another host's tree, this machine's QEMU and this process's
 * limit are not that host's: VD201 and VD301 are SKIP ("not checked"), counted,
 * never a failure, unless --memlock / --qemu give them. */
Test(cli, another_hosts_tree_leaves_qemu_and_memlock_unchecked)
{
	char scen[1024], qemu[1024], st[16], link[1100];

	cr_assert_eq(vk_materialize(vk_scenario_path("default.yaml", scen, sizeof(scen)), dir, sizeof(dir)), 0);
	/* the demo's healthy host: exit 0 whatever QEMU and limit this machine has */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", dir, NULL), 0, "%s%s", out, errb);
	static const char skip[] = ": SKIP\n              not checked: --root names another host's tree";
	const char *lim = strstr(out, "Checking the locked-memory limit (RLIMIT_MEMLOCK)");
	const char *qem = strstr(out, "Checking that QEMU has the iommufd backend");
	cr_assert(lim && qem, "%s", out);
	cr_assert(strncmp(strstr(lim, ": ") ?: "", skip, sizeof(skip) - 1) == 0, "%s", out);
	cr_assert(strncmp(strstr(qem, ": ") ?: "", skip, sizeof(skip) - 1) == 0, "%s", out);
	cr_assert(strstr(out, "fix: give --qemu BINARY") && strstr(out, "fix: give --memlock SIZE"), "%s", out);
	cr_assert(strstr(out, " 0 failed, 2 not checked\n"), "%s", out);
	/* -v: the evidence names the tree */
	dt_run(out, sizeof(out), errb, sizeof(errb), "-v", "--root", dir, NULL);
	cr_assert(strstr(out, "evidence: --root "), "%s", out);
	cr_assert(strstr(out, ": not this machine's /"), "%s", out);

	/* JSON: both SKIP, counted in the summary; no finding of a guess */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--root", dir, NULL), 0, "%s", errb);
	check_json(out, 0);
	cr_assert_str_eq(json_status(out, "VD201", st, sizeof(st)), "SKIP");
	cr_assert_str_eq(json_status(out, "VD301", st, sizeof(st)), "SKIP");
	cr_assert(strstr(out, "\"skip\": 2"), "%s", out);

	/* given explicitly, they are checked as on this machine's root */
	cr_assert_eq(vk_mkdtemp(qdir, sizeof(qdir)), 0);
	dt_fake_qemu(qdir, "7.2", qemu, sizeof(qemu));
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--root", dir, "--qemu", qemu, NULL), 1, "%s", errb);
	cr_assert_str_eq(json_status(out, "VD301", st, sizeof(st)), "FAIL");
	cr_assert_str_eq(json_status(out, "VD201", st, sizeof(st)), "SKIP");
	cr_assert(strstr(out, "\"skip\": 1"), "%s", out);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--root", dir, "--memory", "16G", "--memlock",
	                    "64M", NULL),
	             1, "%s", errb);
	cr_assert_str_eq(json_status(out, "VD201", st, sizeof(st)), "FAIL");
	cr_assert_str_eq(json_status(out, "VD301", st, sizeof(st)), "SKIP");
	/* --no-qemu still leaves the check out altogether */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--root", dir, "--no-qemu", NULL), 0, "%s", errb);
	cr_assert_str_eq(json_status(out, "VD301", st, sizeof(st)), "");
	/* the real Debian QEMU, when installed: asked, so its answer (7.2: FAIL) and not SKIP */
	if (access("/usr/bin/qemu-system-x86_64", X_OK) == 0) {
		int rc = dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--root", dir, "--memlock", "unlimited",
		                "--qemu", "/usr/bin/qemu-system-x86_64", NULL);
		json_status(out, "VD301", st, sizeof(st));
		cr_assert(!strcmp(st, "PASS") || !strcmp(st, "FAIL"), "VD301 %s: %s", st, out);
		cr_assert_eq(rc, !strcmp(st, "FAIL") ? 1 : 0, "%s", out);
		if (strstr(out, "-version: 7."))
			cr_assert_str_eq(st, "FAIL", "QEMU 7.x lacks iommufd: %s", out);
	}

	/* a path that is this machine's "/" (a symlink to it) is not another host */
	snprintf(link, sizeof(link), "%s/slash", qdir);
	cr_assert_eq(symlink("/", link), 0);
	dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--root", link, "--no-qemu", NULL);
	json_status(out, "VD201", st, sizeof(st));
	cr_assert(!strcmp(st, "PASS") || !strcmp(st, "WARN"), "VD201 on this machine's / is checked: %s %s", st, errb);
}

Test(cli, json_every_field_and_schema)
{
	static char copy[262144];
	const char *scen[] = {"clean", "group-shared", "node-denied", "noiommu", "sriov-novfs"};
	char qemu[1024];
	bool validated = false;

	cr_assert_eq(vk_mkdtemp(qdir, sizeof(qdir)), 0);
	dt_fake_qemu(qdir, "7.2", qemu, sizeof(qemu));
	for (size_t s = 0; s < sizeof(scen) / sizeof(scen[0]); s++) {
		dt_materialize(scen[s], dir, sizeof(dir));
		int rc = dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--root", dir, "--user", "4242", "--memory",
		                "8G", "--qemu", qemu, s == 4 ? "0000:81:00.0" : NULL, NULL);
		cr_assert(rc == 0 || rc == 1, "%s: %d %s", scen[s], rc, errb);
		check_json(out, rc);
		validated = schema_validate(out);
		vk_rm_rf(dir);
		dir[0] = '\0';
	}
	/* the real root too */
	int rc = dt_run(out, sizeof(out), errb, sizeof(errb), "--json", NULL);
	memcpy(copy, out, sizeof(copy));
	check_json(copy, rc);
	schema_validate(copy);
	if (!validated)
		cr_log_warn("python3-jsonschema not available: the schema itself was not applied");
}

/* Run vfio-doctor on a pseudo-terminal; returns what it printed. */
static void run_on_pty(const char *root, bool no_color, const char *term, const char *color, char *buf, size_t len)
{
	char bin[4096];
	int master;
	pid_t pid;
	size_t off = 0;

	vk_bin("doctor/vfio-doctor", bin, sizeof(bin));
	pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (no_color)
			setenv("NO_COLOR", "1", 1);
		else
			unsetenv("NO_COLOR");
		if (term)
			setenv("TERM", term, 1);
		else
			unsetenv("TERM");
		execl(bin, bin, "--root", root, "--no-qemu", "--memlock", "unlimited", color, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		struct pollfd p = {master, POLLIN, 0};
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t n = read(master, buf + off, len - 1 - off);
		if (n <= 0)
			break;
		off += (size_t)n;
		if (off + 1 >= len)
			break;
	}
	buf[off] = '\0';
	close(master);
	waitpid(pid, NULL, 0);
}

Test(cli, colour_only_on_a_terminal_and_never_with_no_color)
{
	dt_materialize("iommu-off", dir, sizeof(dir));
	run_on_pty(dir, false, "xterm", NULL, out, sizeof(out));
	cr_assert(strstr(out, "\033[1;31mFAIL\033[0m"), "colour on a terminal: %s", out);
	run_on_pty(dir, true, "xterm", NULL, out, sizeof(out));
	cr_assert(strstr(out, "FAIL"), "%s", out);
	cr_assert_null(strstr(out, "\033["), "NO_COLOR: %s", out);
	/* --color=auto: not on a dumb terminal, nor without TERM (systemd's rule) */
	run_on_pty(dir, false, "dumb", "--color=auto", out, sizeof(out));
	cr_assert(strstr(out, "FAIL") && !strstr(out, "\033["), "TERM=dumb: %s", out);
	run_on_pty(dir, false, NULL, NULL, out, sizeof(out));
	cr_assert(strstr(out, "FAIL") && !strstr(out, "\033["), "no TERM: %s", out);
	/* never and always win over the terminal and NO_COLOR */
	run_on_pty(dir, false, "xterm", "--color=never", out, sizeof(out));
	cr_assert(strstr(out, "FAIL") && !strstr(out, "\033["), "--color=never: %s", out);
	run_on_pty(dir, true, "dumb", "--color=always", out, sizeof(out));
	cr_assert(strstr(out, "\033[1;31mFAIL\033[0m"), "--color=always: %s", out);
	run_on_pty(dir, true, "dumb", "--color", out, sizeof(out));
	cr_assert(strstr(out, "\033[1;31mFAIL\033[0m"), "--color (always, as ls): %s", out);
}

Test(cli, validate_lists_the_doctor_rules)
{
	char bin[4096];
	vk_bin("validator/vfio-validate", bin, sizeof(bin));
	char *argv[] = {bin, "--list-rules", NULL};
	cr_assert_eq(vk_run(argv, out, sizeof(out), errb, sizeof(errb)), 0);
	cr_assert(strstr(out, "VV001") && strstr(out, "VD001") && strstr(out, "platform.iommu"), "one catalogue: %s", out);
}
