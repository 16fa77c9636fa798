/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The load-time checks of a scenario's expectations that need the validator's
 * rule catalogue and the doctor's size syntax (fakesys's loader knows
 * neither), and `fakesys check`, which runs the whole load on scenario files
 * without serving them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vfiokit/doctor.h>
#include <vfiokit/validator.h>

#include "precheck.h"
#include "runner.h"
#include "scen.h"

static bool rule_known(const char *id)
{
	const struct vk_rule *r = vk_rule_find(id);
	/* by id, not by name: vk_rule_find() also takes "vfio.fd-without-iommufd" */
	return r && !strcmp(r->id, id);
}

int runner_precheck(const char *path, const struct vk_fakesys_expect *x, char *note, size_t len)
{
	uint64_t size;

	for (size_t i = 0; i < x->n_rule_refs; i++) {
		const struct vk_fakesys_expect_rule_ref *r = &x->rule_refs[i];
		bool doctor = !strncmp(r->id, "VD", 2);
		if (rule_known(r->id))
			continue;
		snprintf(note, len, "%s:%u:%u: %s: '%s' is not %s (`%s`)", path, r->pos.line, r->pos.col,
		         doctor ? "doctor" : "findings", r->id,
		         doctor ? "a vfio-doctor check" : "a vfio-validate rule",
		         doctor ? "vfio-doctor --list-checks" : "vfio-validate --list-rules");
		return -EINVAL;
	}
	if (x->memory && vk_doctor_parse_size(x->memory, false, &size) < 0) {
		snprintf(note, len, "%s:%u:%u: memory: '%s' is not a size (16G, 512M, 1024k)", path, x->memory_pos.line,
		         x->memory_pos.col, x->memory);
		return -EINVAL;
	}
	if (x->memlock && vk_doctor_parse_size(x->memlock, true, &size) < 0) {
		snprintf(note, len, "%s:%u:%u: memlock: '%s' is not a size (64M, unlimited)", path, x->memlock_pos.line,
		         x->memlock_pos.col, x->memlock);
		return -EINVAL;
	}
	return 0;
}

/* One file: 0 valid, 1 not (printed). */
static int check_one(const char *path)
{
	struct vk_fakesys_scenario *s = NULL;
	struct vk_fakesys_expect *x = NULL;
	struct vk_error e = {0};
	char note[1200];
	int rc = 0;

	if (runner_scenario_load(path, &s, &x, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	if (x && runner_precheck(path, x, note, sizeof(note)) < 0) {
		fprintf(stderr, "%s\n", note);
		rc = 1;
	}
	vk_fakesys_expect_free(x);
	vk_fakesys_scenario_free(s);
	return rc;
}

int fakesys_cmd_check(int argc, char **argv)
{
	struct scen *v = NULL;
	size_t n = 0, bad = 0;
	int rc = 0;

	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "fakesys check: expects SCENARIO or DIR arguments\nTry 'fakesys check --help'.\n");
		return 2;
	}
	for (int i = 1; i < argc && rc == 0; i++)
		if (runner_collect(argv[i], &v, &n) < 0)
			rc = 2;
	for (size_t i = 0; i < n && rc == 0; i++)
		bad += (size_t)check_one(v[i].path);
	if (rc == 0)
		printf("%zu scenario%s checked, %zu invalid\n", n, n == 1 ? "" : "s", bad);
	runner_scens_free(v, n);
	return rc ? rc : bad ? 1
	                     : 0;
}
