/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor's pieces: sizes, DAC access, the rule catalogue, report plumbing, SKIP. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/doctor.h>
#include <vfiokit/root.h>

Test(units, parse_size)
{
	uint64_t v;
	cr_assert_eq(vk_doctor_parse_size("16G", false, &v), 0);
	cr_assert_eq(v, 16ull << 30);
	cr_assert_eq(vk_doctor_parse_size("512m", false, &v), 0);
	cr_assert_eq(v, 512ull << 20);
	cr_assert_eq(vk_doctor_parse_size("1GiB", false, &v), 0);
	cr_assert_eq(v, 1ull << 30);
	cr_assert_eq(vk_doctor_parse_size("2T", false, &v), 0);
	cr_assert_eq(v, 2ull << 40);
	cr_assert_eq(vk_doctor_parse_size("4096", false, &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(vk_doctor_parse_size("64KB", false, &v), 0);
	cr_assert_eq(v, 64ull << 10);
	cr_assert_eq(vk_doctor_parse_size("unlimited", true, &v), 0);
	cr_assert_eq(v, VK_DOCTOR_UNLIMITED);
	cr_assert_eq(vk_doctor_parse_size("unlimited", false, &v), -EINVAL);
	static const char *const bad[] = {"", "G", "-1", "1.5G", "16X", "16 G", "16Gx", "99999999999999999999",
	                                  "17179869184T", "0x10"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(vk_doctor_parse_size(bad[i], true, &v), -EINVAL, "'%s'", bad[i]);
}

Test(units, format_size)
{
	char b[32];
	cr_assert_str_eq(vk_doctor_format_size(16ull << 30, b, sizeof(b)), "16 GiB");
	cr_assert_str_eq(vk_doctor_format_size(8ull << 20, b, sizeof(b)), "8 MiB");
	cr_assert_str_eq(vk_doctor_format_size(3ull << 29, b, sizeof(b)), "1.5 GiB");
	cr_assert_str_eq(vk_doctor_format_size(100, b, sizeof(b)), "100 bytes");
	cr_assert_str_eq(vk_doctor_format_size(VK_DOCTOR_UNLIMITED, b, sizeof(b)), "unlimited");
}

Test(units, dac_access)
{
	gid_t groups[] = {107, 36};
	struct vk_doctor_user qemu = {.name = "qemu", .uid = 107, .gid = 107, .groups = groups, .n_groups = 2};
	struct vk_doctor_user root = {.name = "root", .uid = 0, .gid = 0};
	struct vk_doctor_user anon = {.uid = 4242, .gid = (gid_t)-1};

	cr_assert(vk_doctor_user_can_rw(&root, 0, 0, 0000), "root has CAP_DAC_OVERRIDE");
	cr_assert(vk_doctor_user_can_rw(&qemu, 107, 0, 0600));
	cr_assert_not(vk_doctor_user_can_rw(&qemu, 107, 36, 0460), "the owner bits decide for the owner");
	cr_assert(vk_doctor_user_can_rw(&qemu, 0, 36, 0660), "a supplementary group");
	cr_assert_not(vk_doctor_user_can_rw(&qemu, 0, 36, 0640));
	cr_assert_not(vk_doctor_user_can_rw(&qemu, 0, 0, 0660));
	cr_assert(vk_doctor_user_can_rw(&qemu, 0, 0, 0666));
	cr_assert_not(vk_doctor_user_can_rw(&anon, 0, (gid_t)-1 - 1, 0660));
	cr_assert(vk_doctor_user_can_rw(&anon, 4242, 0, 0600));
}

Test(units, user_resolve)
{
	struct vk_doctor_user u;
	struct vk_error e = {0};
	cr_assert_eq(vk_doctor_user_resolve("root", &u, &e), 0, "%s", e.msg);
	cr_assert_eq(u.uid, 0);
	cr_assert_str_eq(u.name, "root");
	cr_assert_geq(u.n_groups, 1);
	vk_doctor_user_free(&u);
	cr_assert_eq(vk_doctor_user_resolve("0", &u, &e), 0);
	cr_assert_str_eq(u.name, "root", "a numeric uid with a passwd entry gets its name");
	vk_doctor_user_free(&u);
	cr_assert_eq(vk_doctor_user_resolve("4000000000", &u, &e), 0);
	cr_assert_eq(u.uid, 4000000000u);
	cr_assert_eq(u.n_groups, 0);
	vk_doctor_user_free(&u);
	cr_assert_eq(vk_doctor_user_resolve("no-such-user-vfiokit", &u, &e), -ENOENT);
	cr_assert_eq(vk_doctor_user_resolve("", &u, &e), -EINVAL);
}

Test(units, catalogue)
{
	size_t n, nd = 0;
	const struct vk_rule *r = vk_rules(&n);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(r[i].id, "VD", 2) != 0)
			continue;
		nd++;
		cr_assert_eq(vk_rule_find(r[i].id), &r[i]);
		cr_assert_eq(vk_rule_find(r[i].name), &r[i]);
		cr_assert(strcmp(vk_doctor_category(&r[i]), "other") != 0, "%s", r[i].id);
		cr_assert(strncmp(r[i].name, vk_doctor_category(&r[i]), strlen(vk_doctor_category(&r[i]))) == 0,
		          "%s: the name starts with the category", r[i].id);
		cr_assert(r[i].title && *r[i].title && r[i].hint && *r[i].hint && r[i].source && *r[i].source);
		for (size_t k = i + 1; k < n; k++)
			cr_assert(strcmp(r[i].id, r[k].id) && strcmp(r[i].name, r[k].name), "%s twice", r[i].id);
	}
	cr_assert_eq(nd, 17);
	cr_assert_not_null(vk_rule_find("VV001"), "the engine's own rules are still there");
}

Test(units, report_plumbing)
{
	struct vk_doctor_report rep = {0};
	struct vk_report findings = {0};

	cr_assert_eq(vk_doctor_add(&rep, "VV001", VK_DOCTOR_FAIL, NULL, NULL, "x"), -EINVAL, "only VD rules");
	cr_assert_eq(vk_doctor_add(&rep, "VD999", VK_DOCTOR_FAIL, NULL, NULL, "x"), -EINVAL);
	cr_assert_eq(vk_doctor_evidence(&rep, "nothing to attach to"), -EINVAL);
	cr_assert_eq(vk_doctor_add(&rep, "platform.iommu", VK_DOCTOR_PASS, NULL, NULL, "%d groups", 3), 0);
	cr_assert_eq(vk_doctor_evidence(&rep, "/sys/kernel/iommu_groups"), 0);
	cr_assert_eq(vk_doctor_add(&rep, "VD102", VK_DOCTOR_FAIL, "0000:01:00.0", "do this\nthen that", "bound to %s", "nvme"), 0);
	cr_assert_eq(vk_doctor_evidence(&rep, "driver=nvme"), 0);
	cr_assert_eq(vk_doctor_add(&rep, "VD107", VK_DOCTOR_WARN, "0000:01:00.0", "echo", "no VFs"), 0);
	cr_assert_eq(vk_doctor_count(&rep, VK_DOCTOR_PASS), 1);
	cr_assert_eq(vk_doctor_count(&rep, VK_DOCTOR_FAIL), 1);
	cr_assert_not_null(vk_doctor_find(&rep, "VD102", "0000:01:00.0"));
	cr_assert_null(vk_doctor_find(&rep, "VD102", "0000:02:00.0"));

	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	cr_assert_eq(vk_doctor_print(&rep, f, false), 0);
	fclose(f);
	cr_assert(strstr(buf, "VFIO: Checking for an IOMMU"), "%s", buf);
	cr_assert(strstr(buf, ": FAIL\n              bound to nvme\n              fix: do this\n                   then that\n"), "%s", buf);

	cr_assert_eq(vk_doctor_to_findings(&rep, &findings), 0);
	cr_assert_eq(findings.n, 2, "PASS is not a finding");
	cr_assert_eq(findings.findings[0].severity, VK_SEV_ERROR);
	cr_assert_str_eq(findings.findings[0].evidence, "driver=nvme");
	cr_assert_eq(findings.findings[1].severity, VK_SEV_WARNING);
	vk_report_clear(&findings);

	char *js = vk_doctor_json(&rep, "{\"root\":\"/\"}");
	cr_assert(js && strstr(js, "\"fix\": \"do this\\nthen that\"") && strstr(js, "\"root\": \"/\""), "%s", js);
	free(js);
	vk_doctor_report_clear(&rep);
	cr_assert_eq(rep.n, 0);
}

/* Issue #19: SKIP is a status of its own, named, counted, no finding; the
 * library gives it to VD201 and VD301 for another host's tree unless the limit
 * or the QEMU binary is stated. */
Test(units, skip_not_checked)
{
	struct vk_doctor_report rep = {0};
	struct vk_report findings = {0};
	struct vk_root *root = NULL;
	struct vk_error e = {0};

	cr_assert_str_eq(vk_doctor_status_name(VK_DOCTOR_SKIP), "SKIP");
	cr_assert_str_eq(vk_doctor_status_name(VK_DOCTOR_FAIL), "FAIL");
	cr_assert_eq(vk_root_open("/tmp", 0, &root, &e), 0, "%s", e.msg);
	struct vk_doctor_options o = {.root = root, .other_host = true};
	cr_assert_eq(vk_doctor_check_memlock(&o, &rep, &e), 0);
	cr_assert_eq(vk_doctor_check_qemu(&o, &rep, &e), 0);
	cr_assert_eq(rep.n, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct vk_doctor_check *c = &rep.checks[i];
		cr_assert_eq(c->status, VK_DOCTOR_SKIP, "%s", c->rule->id);
		cr_assert(strstr(c->reason, "not checked: --root names another host's tree"), "%s", c->reason);
		cr_assert(c->fix && strstr(c->fix, i ? "--qemu BINARY" : "--memlock SIZE"), "%s", c->fix);
		cr_assert_eq(c->n_evidence, 1);
		cr_assert_str_eq(c->evidence[0], "--root /tmp/: not this machine's /");
	}
	cr_assert_eq(vk_doctor_count(&rep, VK_DOCTOR_SKIP), 2);
	cr_assert_eq(vk_doctor_to_findings(&rep, &findings), 0);
	cr_assert_eq(findings.n, 0, "SKIP is not a finding");
	char *js = vk_doctor_json(&rep, NULL);
	cr_assert(js && strstr(js, "\"status\": \"SKIP\"") && strstr(js, "\"skip\": 2"), "%s", js);
	free(js);
	vk_doctor_report_clear(&rep);

	/* stated: judged as on this machine (a 64 MiB limit below a 16 GiB VM) */
	o.memlock_given = true;
	o.memlock = 64ull << 20;
	o.memory = 16ull << 30;
	cr_assert_eq(vk_doctor_check_memlock(&o, &rep, &e), 0);
	cr_assert_eq(rep.checks[0].status, VK_DOCTOR_FAIL);
	/* a QEMU that is named is asked (this one cannot be run: WARN, not SKIP) */
	o.qemu = "/nonexistent/qemu-system-x86_64";
	cr_assert_eq(vk_doctor_check_qemu(&o, &rep, &e), 0);
	cr_assert_eq(rep.checks[1].status, VK_DOCTOR_WARN);
	/* --no-qemu leaves it out altogether */
	o.qemu = NULL;
	o.skip_qemu = true;
	cr_assert_eq(vk_doctor_check_qemu(&o, &rep, &e), 0);
	cr_assert_eq(rep.n, 2);
	vk_doctor_report_clear(&rep);
	/* this machine's root: not skipped */
	o = (struct vk_doctor_options){.root = root, .skip_qemu = true};
	cr_assert_eq(vk_doctor_check_memlock(&o, &rep, &e), 0);
	cr_assert_neq(rep.checks[0].status, VK_DOCTOR_SKIP);
	vk_doctor_report_clear(&rep);
	vk_root_close(root);
}
