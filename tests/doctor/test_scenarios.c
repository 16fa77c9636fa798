/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One scenario (tests/doctor/data/NAME.yaml, materialized by fakesys) per FAIL and
 * WARN cause of vfio-doctor, each asserting the check id, its subject and its
 * status, and one clean host where every check passes.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/doctor.h>
#include <vfiokit/root.h>

#include "doctorutil.h"
#include "testutil.h"

static char dir[1024], qdir[1024];

/* What to run: the scenario and the options that are not part of the tree. */
struct run {
	const char *scenario;
	const char *devices[4];
	const char *user;
	const char *memory, *memlock;
	const char *qemu_version; /* NULL: no QEMU check */
	bool no_proc_interrupts;  /* a tree without proc/interrupts (as a recording may be) */
};

static struct vk_doctor_report doctor(const struct run *w)
{
	struct vk_doctor_options o = {0};
	struct vk_doctor_user user = {0};
	struct vk_doctor_report rep = {0};
	struct vk_error e = {0};
	struct vk_root *root = NULL;
	struct vk_pci_addr addrs[4];
	char qemu[1024];
	int before;

	dt_materialize(w->scenario, dir, sizeof(dir));
	if (w->no_proc_interrupts) {
		char p[1200];
		snprintf(p, sizeof(p), "%s/proc/interrupts", dir);
		cr_assert_eq(unlink(p), 0);
	}
	cr_assert_eq(vk_mkdtemp(qdir, sizeof(qdir)), 0);
	for (size_t i = 0; i < 4 && w->devices[i]; i++) {
		cr_assert_eq(vk_pci_addr_parse(w->devices[i], &addrs[i], NULL), 0);
		o.n_devices++;
	}
	o.devices = o.n_devices ? addrs : NULL;
	if (w->user) {
		cr_assert_eq(vk_doctor_user_resolve(w->user, &user, &e), 0, "%s", e.msg);
		o.user = &user;
	}
	if (w->memory)
		cr_assert_eq(vk_doctor_parse_size(w->memory, false, &o.memory), 0);
	if (w->memlock) {
		cr_assert_eq(vk_doctor_parse_size(w->memlock, true, &o.memlock), 0);
		o.memlock_given = true;
	}
	if (w->qemu_version)
		o.qemu = dt_fake_qemu(qdir, w->qemu_version, qemu, sizeof(qemu));
	else
		o.skip_qemu = true;
	cr_assert_eq(vk_root_open(dir, 0, &root, &e), 0, "%s", e.msg);
	o.root = root;
	before = vk_fd_count();
	cr_assert_eq(vk_doctor_run(&o, &rep, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before, "vk_doctor_run leaks FDs");
	vk_root_close(root);
	vk_doctor_user_free(&user);
	/* Every check has a reason, a fix unless it passed, and evidence. */
	for (size_t i = 0; i < rep.n; i++) {
		const struct vk_doctor_check *c = &rep.checks[i];
		cr_assert(c->reason && *c->reason, "%s has no reason", c->rule->id);
		cr_assert(c->status == VK_DOCTOR_PASS || (c->fix && *c->fix) || c->rule->hint,
		          "%s %s has no fix", c->rule->id, vk_doctor_status_name(c->status));
		cr_assert(c->n_evidence > 0, "%s has no evidence", c->rule->id);
	}
	return rep;
}

static void teardown(void)
{
	vk_rm_rf(dir);
	vk_rm_rf(qdir);
}

static void dump(const struct vk_doctor_report *rep)
{
	vk_doctor_print(rep, stderr, false);
}

/* Assert check @id (for @subject, NULL = a host check) has @status; returns it. */
static const struct vk_doctor_check *expect(const struct vk_doctor_report *rep, const char *id, const char *subject,
                                            enum vk_doctor_status status)
{
	const struct vk_doctor_check *c = vk_doctor_find(rep, id, subject);
	if (!c || c->status != status)
		dump(rep);
	cr_assert_not_null(c, "no check %s for %s", id, subject ? subject : "the host");
	cr_assert_eq(c->status, status, "%s %s: %s, expected %s (%s)", id, subject ? subject : "", vk_doctor_status_name(c->status),
	             vk_doctor_status_name(status), c->reason);
	return c;
}

TestSuite(scenario, .fini = teardown);

Test(scenario, clean_host_all_pass)
{
	struct run w = {.scenario = "clean", .user = dt_qemu_user(), .memory = "16G", .memlock = "20G", .qemu_version = "9.2"};
	struct vk_doctor_report rep = doctor(&w);

	if (vk_doctor_count(&rep, VK_DOCTOR_PASS) != rep.n)
		dump(&rep);
	cr_assert_eq(vk_doctor_count(&rep, VK_DOCTOR_FAIL), 0);
	cr_assert_eq(vk_doctor_count(&rep, VK_DOCTOR_WARN), 0);
	static const char *const host[] = {"VD001", "VD002", "VD003", "VD004", "VD005", "VD006", "VD007", "VD201", "VD301"};
	for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++)
		expect(&rep, host[i], NULL, VK_DOCTOR_PASS);
	/* all three vfio-pci devices are found without naming them */
	static const char *const devs[] = {"0000:01:00.0", "0000:01:00.1", "0000:03:02.0"};
	static const char *const dev_checks[] = {"VD101", "VD102", "VD103", "VD104", "VD105", "VD106"};
	for (size_t d = 0; d < 3; d++)
		for (size_t k = 0; k < sizeof(dev_checks) / sizeof(dev_checks[0]); k++)
			expect(&rep, dev_checks[k], devs[d], VK_DOCTOR_PASS);
	const struct vk_doctor_check *c = expect(&rep, "VD107", "0000:03:02.0", VK_DOCTOR_PASS);
	cr_assert(strstr(c->reason, "VF of PF 0000:03:00.0 (i40e)"), "%s", c->reason);
	cr_assert_null(vk_doctor_find(&rep, "VD107", "0000:01:00.0"), "no SR-IOV check for a non-SR-IOV device");
	c = expect(&rep, "VD103", "0000:01:00.0", VK_DOCTOR_PASS);
	cr_assert(strstr(c->reason, "group 2: 0000:01:00.0 vfio-pci, 0000:01:00.1 vfio-pci"), "%s", c->reason);
	c = expect(&rep, "VD301", NULL, VK_DOCTOR_PASS);
	cr_assert(strstr(c->reason, "9.2.0"), "%s", c->reason);
	vk_doctor_report_clear(&rep);
}

Test(scenario, iommu_off)
{
	struct run w = {.scenario = "iommu-off", .devices = {"0000:02:00.0"}, .memlock = "unlimited"};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD001", NULL, VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "no IOMMU groups"), "%s", c->reason);
	/* fakesys has no /proc/cpuinfo: hints for both vendors */
	cr_assert(strstr(c->fix, "intel_iommu=on") && strstr(c->fix, "AMD"), "%s", c->fix);
	bool cmdline_seen = false;
	for (size_t i = 0; i < c->n_evidence; i++)
		cmdline_seen |= strstr(c->evidence[i], "/proc/cmdline: BOOT_IMAGE=/vmlinuz") != NULL;
	cr_assert(cmdline_seen, "the command line is evidence");
	cr_assert_null(vk_doctor_find(&rep, "VD002", NULL), "no interrupt-remapping check without an IOMMU");
	expect(&rep, "VD102", "0000:02:00.0", VK_DOCTOR_FAIL);
	c = expect(&rep, "VD103", "0000:02:00.0", VK_DOCTOR_FAIL);
	cr_assert(strstr(c->reason, "no IOMMU group"), "%s", c->reason);
	expect(&rep, "VD201", NULL, VK_DOCTOR_PASS);
	vk_doctor_report_clear(&rep);
}

Test(scenario, iommu_off_vendor_from_cpuinfo)
{
	char path[1200];
	struct vk_doctor_options o = {.skip_qemu = true, .memlock_given = true, .memlock = VK_DOCTOR_UNLIMITED};
	struct vk_doctor_report rep = {0};
	struct vk_root *root;
	FILE *f;

	dt_materialize("iommu-off", dir, sizeof(dir));
	cr_assert_eq(vk_mkdtemp(qdir, sizeof(qdir)), 0);
	snprintf(path, sizeof(path), "%s/proc/cpuinfo", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse vmx\n", f);
	fclose(f);
	cr_assert_eq(vk_root_open(dir, 0, &root, NULL), 0);
	o.root = root;
	cr_assert_eq(vk_doctor_run(&o, &rep, NULL), 0);
	const struct vk_doctor_check *c = expect(&rep, "VD001", NULL, VK_DOCTOR_FAIL);
	cr_assert(strstr(c->fix, "intel_iommu=on") && !strstr(c->fix, "AMD"), "%s", c->fix);
	vk_doctor_report_clear(&rep);
	vk_root_close(root);
}

Test(scenario, module_missing)
{
	struct run w = {.scenario = "module-missing", .devices = {"0000:05:00.0"}};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD003", NULL, VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "vfio, vfio_pci, vfio_iommu_type1"), "%s", c->reason);
	cr_assert(strstr(c->fix, "modprobe vfio-pci"), "%s", c->fix);
	expect(&rep, "VD004", NULL, VK_DOCTOR_WARN);
	expect(&rep, "VD001", NULL, VK_DOCTOR_PASS);
	c = expect(&rep, "VD102", "0000:05:00.0", VK_DOCTOR_FAIL);
	cr_assert(strstr(c->fix, "modprobe vfio-pci"), "the driver fix loads vfio-pci first: %s", c->fix);
	vk_doctor_report_clear(&rep);
}

Test(scenario, kernel_without_cdev)
{
	struct run w = {.scenario = "no-cdev"};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD006", NULL, VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "without VFIO_DEVICE_CDEV"), "%s", c->reason);
	c = expect(&rep, "VD104", "0000:0a:00.0", VK_DOCTOR_FAIL);
	cr_assert(strstr(c->reason, "vfio-dev/vfio0 has no dev"), "%s", c->reason);
	expect(&rep, "VD004", NULL, VK_DOCTOR_WARN);
	expect(&rep, "VD005", NULL, VK_DOCTOR_WARN);
	expect(&rep, "VD105", "0000:0a:00.0", VK_DOCTOR_PASS); /* the legacy group node is there */
	expect(&rep, "VD002", NULL, VK_DOCTOR_PASS);           /* AMD-Vi, intremap not off */
	vk_doctor_report_clear(&rep);
}

Test(scenario, device_on_host_driver)
{
	struct run w = {.scenario = "host-driver", .devices = {"0000:05:00.0"}};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD102", "0000:05:00.0", VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "bound to ixgbe"), "%s", c->reason);
	cr_assert(strstr(c->fix, "driverctl set-override 0000:05:00.0 vfio-pci"), "%s", c->fix);
	cr_assert(strstr(c->fix, "/sys/bus/pci/drivers/ixgbe/unbind") && strstr(c->fix, "driver_override") &&
	                  strstr(c->fix, "drivers_probe"),
	          "%s", c->fix);
	cr_assert(strstr(c->fix, dir), "the commands name the tree checked: %s", c->fix);
	cr_assert_null(strstr(c->fix, "modprobe"), "vfio_pci is loaded: %s", c->fix);
	expect(&rep, "VD101", "0000:05:00.0", VK_DOCTOR_PASS);
	expect(&rep, "VD103", "0000:05:00.0", VK_DOCTOR_PASS);
	cr_assert_null(vk_doctor_find(&rep, "VD104", "0000:05:00.0"), "no cdev check for a device not on vfio-pci");
	expect(&rep, "VD006", NULL, VK_DOCTOR_WARN); /* nothing on vfio-pci to tell from, no /boot/config */
	vk_doctor_report_clear(&rep);
}

Test(scenario, group_shared_with_host_driver)
{
	struct run w = {.scenario = "group-shared"};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD103", "0000:04:00.0", VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "group 5 is not viable: 0000:04:00.1 is bound to igb"), "%s", c->reason);
	cr_assert(strstr(c->fix, "driverctl set-override 0000:04:00.1 vfio-pci"), "%s", c->fix);
	expect(&rep, "VD102", "0000:04:00.0", VK_DOCTOR_PASS);
	cr_assert_null(vk_doctor_find(&rep, "VD101", "0000:04:00.1"), "only vfio-pci devices are checked by default");
	vk_doctor_report_clear(&rep);
}

Test(scenario, nodes_missing)
{
	struct run w = {.scenario = "node-missing", .user = dt_qemu_user()};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD104", "0000:06:00.0", VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "/dev/vfio/devices/vfio0 is missing"), "%s", c->reason);
	cr_assert(strstr(c->fix, "mknod /dev/vfio/devices/vfio0 c 511 0"), "%s", c->fix);
	c = expect(&rep, "VD105", "0000:06:00.0", VK_DOCTOR_FAIL);
	cr_assert(strstr(c->reason, "/dev/vfio/7 is missing"), "%s", c->reason);
	cr_assert_null(vk_doctor_find(&rep, "VD106", "0000:06:00.0"), "no access check without a node");
	expect(&rep, "VD006", NULL, VK_DOCTOR_PASS);
	vk_doctor_report_clear(&rep);
}

Test(scenario, nodes_not_accessible_for_the_user)
{
	struct run w = {.scenario = "node-denied", .user = "4242"};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD106", "0000:06:00.0", VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "uid 4242 cannot open") && strstr(c->reason, "/dev/vfio/devices/vfio0") &&
	                  strstr(c->reason, "mode 0600"),
	          "%s", c->reason);
	cr_assert(strstr(c->fix, "udev") && strstr(c->fix, "pass the FD"), "%s", c->fix);
	expect(&rep, "VD104", "0000:06:00.0", VK_DOCTOR_PASS);
	expect(&rep, "VD005", NULL, VK_DOCTOR_WARN); /* /dev/iommu 0660 root: not for uid 4242 */
	vk_doctor_report_clear(&rep);
}

Test(scenario, memlock_too_low)
{
	struct run w = {.scenario = "clean", .memory = "16G", .memlock = "64M"};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD201", NULL, VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "64 MiB") && strstr(c->reason, "16 GiB"), "%s", c->reason);
	cr_assert(strstr(c->fix, "memlock"), "%s", c->fix);
	vk_doctor_report_clear(&rep);
}

Test(scenario, memlock_without_headroom_and_unknown)
{
	struct run w = {.scenario = "clean", .memory = "16G", .memlock = "16G"};
	struct vk_doctor_report rep = doctor(&w);
	expect(&rep, "VD201", NULL, VK_DOCTOR_WARN);
	vk_doctor_report_clear(&rep);
	teardown();

	/* another user and no --memlock: unknown, said honestly */
	struct run w2 = {.scenario = "clean", .memory = "16G", .user = "4242"};
	if (geteuid() == 4242)
		return;
	rep = doctor(&w2);
	const struct vk_doctor_check *c = expect(&rep, "VD201", NULL, VK_DOCTOR_WARN);
	cr_assert(strstr(c->reason, "cannot be read") && strstr(c->fix, "--memlock"), "%s", c->reason);
	vk_doctor_report_clear(&rep);
}

Test(scenario, noiommu_mode)
{
	struct run w = {.scenario = "noiommu"};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD007", NULL, VK_DOCTOR_WARN);

	cr_assert(strstr(c->reason, "UNSAFE"), "%s", c->reason);
	c = expect(&rep, "VD001", NULL, VK_DOCTOR_FAIL);
	cr_assert(strstr(c->reason, "no-IOMMU"), "%s", c->reason);
	c = expect(&rep, "VD103", "0000:00:05.0", VK_DOCTOR_PASS);
	cr_assert(strstr(c->reason, "no-IOMMU group"), "%s", c->reason);
	c = expect(&rep, "VD105", "0000:00:05.0", VK_DOCTOR_PASS);
	cr_assert(strstr(c->reason, "/dev/vfio/noiommu-"), "%s", c->reason);
	expect(&rep, "VD006", NULL, VK_DOCTOR_FAIL);
	vk_doctor_report_clear(&rep);
}

Test(scenario, interrupt_remapping_off)
{
	struct run w = {.scenario = "ir-off"};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD002", NULL, VK_DOCTOR_WARN);

	/* fakesys shows the state in proc/interrupts (no IR- chips), which wins over
	 * the capability bit; the ecap fallback is tested below */
	cr_assert(strstr(c->reason, "no IR- interrupt chip in /proc/interrupts"), "%s", c->reason);
	expect(&rep, "VD001", NULL, VK_DOCTOR_PASS);
	vk_doctor_report_clear(&rep);
}

Test(scenario, interrupt_remapping_off_from_the_capability_bit)
{
	struct run w = {.scenario = "ir-off", .no_proc_interrupts = true};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD002", NULL, VK_DOCTOR_WARN);

	cr_assert(strstr(c->reason, "dmar0: ecap f050d6 has bit 3 (IR) clear"), "%s", c->reason);
	vk_doctor_report_clear(&rep);
}

Test(scenario, sriov_pf_without_vfs)
{
	struct run w = {.scenario = "sriov-novfs", .devices = {"0000:81:00.0"}};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD107", "0000:81:00.0", VK_DOCTOR_WARN);

	cr_assert(strstr(c->reason, "0 of 32"), "%s", c->reason);
	cr_assert(strstr(c->fix, "sriov_numvfs"), "%s", c->fix);
	expect(&rep, "VD102", "0000:81:00.0", VK_DOCTOR_FAIL);
	vk_doctor_report_clear(&rep);
}

Test(scenario, qemu_too_old)
{
	struct run w = {.scenario = "clean", .qemu_version = "7.2", .memlock = "unlimited"};
	struct vk_doctor_report rep = doctor(&w);
	const struct vk_doctor_check *c = expect(&rep, "VD301", NULL, VK_DOCTOR_FAIL);

	cr_assert(strstr(c->reason, "7.2.15") && strstr(c->reason, "-object iommufd") && strstr(c->reason, "vfio-pci fd="),
	          "%s", c->reason);
	cr_assert(strstr(c->fix, "9.0") && strstr(c->fix, "host="), "%s", c->fix);
	vk_doctor_report_clear(&rep);
}

Test(scenario, absent_device_and_no_selection)
{
	struct run w = {.scenario = "iommu-off", .devices = {"0000:42:00.0"}};
	struct vk_doctor_report rep = doctor(&w);
	expect(&rep, "VD101", "0000:42:00.0", VK_DOCTOR_FAIL);
	cr_assert_null(vk_doctor_find(&rep, "VD102", "0000:42:00.0"), "nothing more about an absent device");
	vk_doctor_report_clear(&rep);
	teardown();

	struct run w2 = {.scenario = "iommu-off"};
	rep = doctor(&w2);
	expect(&rep, "VD100", NULL, VK_DOCTOR_WARN);
	vk_doctor_report_clear(&rep);
}
