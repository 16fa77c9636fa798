/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The expect: block, parsed by the conformance runner (conformance/src/expect.c)
 * as fakesys's scenario loader hands it the section: every class of bad input
 * with its "file:line:column: key:" message, the shapes of rule ids, and the
 * section's place among the others (file order, the same first error).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include <vfiokit/fakesys_scenario.h>

#include "expect.h"
#include "testutil.h"

/* @yaml's expectations (NULL when it has no expect:), its scenario into *@s. */
static struct vk_fakesys_expect *load_ok(const char *yaml, struct vk_fakesys_scenario **s)
{
	struct vk_fakesys_expect *x = NULL;
	struct vk_error e = {0};
	int r = runner_scenario_load_buffer("t.yaml", yaml, strlen(yaml), s, &x, &e);

	cr_assert_eq(r, 0, "scenario rejected: %s", e.msg);
	return x;
}

struct bad_case {
	const char *yaml;
	const char *where; /* "t.yaml:L:C" prefix */
	const char *msg;   /* a phrase the message must contain */
};

static const struct bad_case bad[] = {
	{"version: 1\nexpect: {bogus: 1}\n", "t.yaml:2:10", "bogus: unknown key in expect"},
	{"version: 1\nexpect: {set: maybe}\n", "t.yaml:2:15", "expected 'opened' or {fails_at"},
	{"version: 1\nexpect: {set: {fails_at: 0000:01:00.0}}\n", "t.yaml:2:15", "needs 'fails_at' (a PCI address or /dev/iommu) and 'class'"},
	{"version: 1\nexpect: {set: {fails_at: nowhere, class: busy}}\n", "t.yaml:2:26", "'nowhere' is not a PCI address"},
	{"version: 1\nexpect: {set: {fails_at: 0000:01:00.0, class: sideways}}\n", "t.yaml:2:47", "'sideways' is not one of: absent"},
	{"version: 1\nexpect: {access: {}}\n", "t.yaml:2:18", "expected a list of {path, op, flags, count | each}"},
	{"version: 1\nexpect: {access: [{op: open}]}\n", "t.yaml:2:19", "say how many"},
	{"version: 1\nexpect: {access: [{op: fly, count: 1}]}\n", "t.yaml:2:24", "'fly' is not an operation of the log"},
	{"version: 1\nexpect: {access: [{flags: RDWR, count: 1}]}\n", "t.yaml:2:27", "'RDWR' is not an open flag"},
	{"version: 1\nexpect: {access: [{count: 1, each: 1}]}\n", "t.yaml:2:36", "give either 'count'"},
	{"version: 1\nexpect: {access: [{each: 0}]}\n", "t.yaml:2:19", "use 'count: 0'"},
	{"version: 1\nexpect: {user: {gid: 5}}\n", "t.yaml:2:16", "give the account's 'uid'"},
	{"version: 1\nexpect: {user: qemu}\n", "t.yaml:2:16", "'qemu' is not a number"},
	{"version: 1\nexpect: {user: {uid: 1, groups: x}}\n", "t.yaml:2:33", "expected a list of group ids"},
	{"version: 1\nexpect: {doctor_options: {memory: 1G, cpus: 4}}\n", "t.yaml:2:39", "cpus: unknown key in doctor_options"},
	{"version: 1\nexpect: {requires: qemu}\n", "t.yaml:2:20", "expected a list of program names"},
	{"version: 1\nexpect: {requires: [\"\"]}\n", "t.yaml:2:21", "an empty program name"},
	{"version: 1\nexpect: {set: {fails_at: 0000:01:00.0, class: busy}, argv: resolver, validate: {clean: true}}\n",
         "t.yaml:2:9", "'argv: resolver' needs the set to open"},
	{"version: 1\nexpect: {argv: [qemu], argv_devices: [0000:01:00.0], validate: {clean: true}}\n", "t.yaml:2:9",
         "(and argv_devices to set: and access:) only"},
	{"version: 1\nexpect: {resolver: {0000:01:00.0: maybe}}\n", "t.yaml:2:35", "neither a cdev path"},
	/* issue 19: a node path is the resolver's one answer, /dev/vfio/devices/vfioN */
	{"version: 1\nexpect: {resolver: {0000:01:00.0: /dev/vfio/device/vfio0}}\n", "t.yaml:2:35",
         "resolver: '/dev/vfio/device/vfio0' is not a VFIO cdev path"},
	{"version: 1\nexpect: {resolver: {0000:01:00.0: /dev/vfio/12}}\n", "t.yaml:2:35", "is not a VFIO cdev path"},
	{"version: 1\nexpect: {resolver: {0000:01:00.0: /dev/vfio/devices/vfio}}\n", "t.yaml:2:35", "is not a VFIO cdev path"},
	{"version: 1\nexpect: {resolver: {0000:01:00.0: /dev/vfio/devices/vfio01}}\n", "t.yaml:2:35", "is not a VFIO cdev path"},
	{"version: 1\nexpect: {resolver: {0000:01:00.0: /dev/vfio/devices/vfio0x}}\n", "t.yaml:2:35", "is not a VFIO cdev path"},
	{"version: 1\nexpect: {doctor: {VX1: PASS}}\n", "t.yaml:2:19", "not a vfio-doctor check id"},
	/* issue 19: ids are checked for their shape here (whether they exist is the runner's to say) */
	{"version: 1\nexpect: {doctor: {VV101: PASS}}\n", "t.yaml:2:19", "'VV101' is not a vfio-doctor check id"},
	{"version: 1\nexpect: {doctor: {VD1011@0000:01:00.0: PASS}}\n", "t.yaml:2:19",
         "'VD1011@0000:01:00.0' is not a vfio-doctor check id"},
	{"version: 1\nexpect: {doctor: {vd101: PASS}}\n", "t.yaml:2:19", "'vd101' is not a vfio-doctor check id"},
	{"version: 1\nexpect: {argv: [qemu], validate: {findings: [VV005, VD101]}}\n", "t.yaml:2:53",
         "findings: 'VD101' is not a vfio-validate rule id (VV005, VV101)"},
	{"version: 1\nexpect: {argv: [qemu], validate: {findings: [XX123]}}\n", "t.yaml:2:46",
         "'XX123' is not a vfio-validate rule id"},
	{"version: 1\nexpect: {argv: [qemu], validate: {findings: [VV05]}}\n", "t.yaml:2:46",
         "'VV05' is not a vfio-validate rule id"},
	{"version: 1\nexpect: {doctor: {VD001: OK}}\n", "t.yaml:2:26", "not a check status"},
	{"version: 1\nexpect: {argv: resolver}\n", "t.yaml:2:9", "add one"},
	{"version: 1\nexpect: {validate: {clean: true, findings: [VV005]}}\n", "t.yaml:2:20", "either 'clean: true'"},
	/* the section is parsed in file order: an error before it is the first, as one after it is not */
	{"version: 1\nname: ..\nexpect: {bogus: 1}\n", "t.yaml:2:7", "cannot be a file name"},
	{"version: 1\nexpect: {bogus: 1}\nname: ..\n", "t.yaml:2:10", "bogus: unknown key in expect"},
	{"version: 1\nexpect: {}\nexpect: {}\n", "t.yaml:3:1", "expect: given twice in the scenario"},
	{"version: 1\nexpectations: {}\n", "t.yaml:2:1",
         "expectations: unknown key in the scenario (expected one of: version, name, description, kernel, cpu, firmware, "
         "devices, iommu_groups, dev, faults, steps, expect)"},
	/* a host error found once the file is read (model_check.c) still comes after expect: */
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, iommu_group: 1}\nexpect: {bogus: 1}\n",
         "t.yaml:4:10", "bogus: unknown key in expect"},
};

#define VK_N_BAD (sizeof(bad) / sizeof(bad[0]))
static size_t bad_index[VK_N_BAD];

ParameterizedTestParameters(expect, rejects_bad_input)
{
	for (size_t i = 0; i < VK_N_BAD; i++)
		bad_index[i] = i;
	return cr_make_param_array(size_t, bad_index, VK_N_BAD);
}

ParameterizedTest(size_t *idx, expect, rejects_bad_input)
{
	const struct bad_case *c = &bad[*idx];
	struct vk_fakesys_scenario *s = (struct vk_fakesys_scenario *)0x1;
	struct vk_fakesys_expect *x = (struct vk_fakesys_expect *)0x1;
	struct vk_error e = {0};
	int r = runner_scenario_load_buffer("t.yaml", c->yaml, strlen(c->yaml), &s, &x, &e);

	cr_assert_eq(r, -EINVAL, "accepted (rc %d): %s", r, c->yaml);
	cr_assert_null(s, "no scenario is handed out on error");
	cr_assert_null(x, "no expectations are handed out on error");
	cr_assert(strstr(e.msg, c->msg), "message '%s' lacks '%s'", e.msg, c->msg);
	cr_assert(!strncmp(e.msg, c->where, strlen(c->where)) && e.msg[strlen(c->where)] == ':',
	          "message '%s' does not start with '%s:'", e.msg, c->where);
}

/* A syntactically valid id the catalogue lacks (VD999) passes here: the
 * conformance runner, which links the catalogue, is the one to refuse it. */
Test(expect, rule_ids_are_checked_for_their_shape)
{
	struct vk_fakesys_scenario *s = NULL;
	struct vk_fakesys_expect *x = load_ok("version: 1\nexpect:\n  doctor: {VD999: PASS, VD101@01:00.0: FAIL}\n"
	                                      "  argv: [qemu-system-x86_64]\n  validate: {findings: [VV999, VV005, VV005]}\n",
	                                      &s);

	cr_assert_eq(x->n_doctor, 2);
	cr_assert_str_eq(x->doctor[0].id, "VD999");
	cr_assert_str_eq(x->doctor[1].subject, "0000:01:00.0");
	cr_assert_eq(x->n_findings, 2, "repeats count once");
	cr_assert_str_eq(x->findings[0], "VV005");
	cr_assert_str_eq(x->findings[1], "VV999");
	vk_fakesys_expect_free(x);
	vk_fakesys_scenario_free(s);
}

/* The scenario beside the block: host, faults and steps as fakesys's own loader reads them. */
Test(expect, the_scenario_comes_with_its_expectations)
{
	struct vk_fakesys_scenario *s = NULL;
	struct vk_fakesys_expect *x = load_ok("version: 1\nname: h\nfaults:\n  - {path: dev/iommu, op: open, errno: EIO}\n"
	                                      "steps:\n  - {path: dev/iommu, op: open, nth: 2, do: unbind 0000:01:00.0}\n"
	                                      "expect:\n  requires: [qemu-system-x86_64]\n",
	                                      &s);

	cr_assert_str_eq(s->host->name, "h");
	cr_assert_eq(s->n_faults, 1);
	cr_assert_str_eq(s->faults[0].path, "dev/iommu");
	cr_assert_eq(s->n_steps, 1);
	cr_assert_str_eq(s->steps[0].step, "unbind 0000:01:00.0");
	cr_assert_eq(x->n_requires, 1);
	cr_assert_str_eq(x->requires[0], "qemu-system-x86_64");
	vk_fakesys_expect_free(x);
	vk_fakesys_scenario_free(s);

	/* no expect: block, no expectations */
	cr_assert_null(load_ok("version: 1\n", &s));
	cr_assert_not_null(s->host);
	vk_fakesys_scenario_free(s);
}

/* From a file: its errors name the path, and nothing is left open. */
Test(expect, files_load_and_fail_with_their_path)
{
	char dir[4096], path[4200];
	struct vk_fakesys_scenario *s = NULL;
	struct vk_fakesys_expect *x = NULL;
	struct vk_error e = {0};
	int fds = vk_fd_count();

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/s.yaml", dir);
	cr_assert_eq(runner_scenario_load(path, &s, &x, &e), -ENOENT);
	cr_assert(strstr(e.msg, path) && strstr(e.msg, "cannot open scenario"), "%s", e.msg);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("version: 1\nexpect:\n  doctor: {VD101: MAYBE}\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(runner_scenario_load(path, &s, &x, &e), -EINVAL);
	cr_assert_null(s);
	cr_assert_null(x);
	char want[4300];
	snprintf(want, sizeof(want), "%s:3:19: ", path);
	cr_assert(!strncmp(e.msg, want, strlen(want)) && strstr(e.msg, "not a check status"), "%s", e.msg);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("version: 1\nexpect:\n  doctor: {VD101: PASS}\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(runner_scenario_load(path, &s, &x, &e), 0, "%s", e.msg);
	cr_assert_eq(x->n_doctor, 1);
	vk_fakesys_expect_free(x);
	vk_fakesys_scenario_free(s);
	cr_assert_eq(vk_fd_count(), fds);
	vk_rm_rf(dir);
}
