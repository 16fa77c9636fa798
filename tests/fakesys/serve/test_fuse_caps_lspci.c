/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lspci -vvv (pciutils, reading sysfs) on FUSE mounts: the capability lists
 * fakesys synthesizes are served as a plain tree serves them, and on a live
 * mount the SR-IOV capability follows sriov_numvfs writes (NumVFs, VF Enable)
 * while the VFs that appear get the VF shape and their BAR0 in the PF's VF BAR
 * window.  Run through need-fuse.sh.
 */
#include <sys/stat.h>

#include "live_util.h"

TestSuite(fuse_caps_lspci, .fini = live_cleanup, .timeout = 120);

static char mnt[512];
static const char *const live[] = {"--live", NULL};

#define OUT_LEN (1 << 20)

static void need_lspci(void)
{
	if (access("/usr/bin/lspci", X_OK) != 0)
		cr_skip_test("lspci (pciutils) is not installed");
}

/* lspci -vvv [-s SLOT] of the tree under @root (malloc'd). */
static char *lspci_at(const char *root, const char *slot)
{
	char opt[PATH_MAX + 32], err[4096];
	char *out = malloc(OUT_LEN);

	cr_assert_not_null(out);
	snprintf(opt, sizeof(opt), "sysfs.path=%s/sys/bus/pci", root);
	int rc = slot ? vk_runv(out, OUT_LEN, err, sizeof(err), "/usr/bin/lspci", "-A", "linux-sysfs", "-O", opt,
	                        "-vvv", "-s", slot, NULL)
	              : vk_runv(out, OUT_LEN, err, sizeof(err), "/usr/bin/lspci", "-A", "linux-sysfs", "-O", opt,
	                        "-vvv", NULL);
	cr_assert_eq(rc, 0, "lspci: %s", err);
	return out;
}

static void has(const char *out, const char *s)
{
	cr_assert(strstr(out, s), "lspci -vvv lacks '%s':\n%s", s, out);
}

static void lacks(const char *out, const char *s)
{
	cr_assert(!strstr(out, s), "lspci -vvv shows '%s':\n%s", s, out);
}

/* Line @n (0-based) of a resource file: start and end. */
static void resource_line(const char *rel, int n, unsigned long long *start, unsigned long long *end)
{
	char buf[2048];
	unsigned long long flags;

	cr_assert_gt(vk_read_file(P(mnt, rel), buf, sizeof(buf)), 0, "%s", rel);
	cr_assert_eq(sscanf(buf + 57 * n, "%llx %llx %llx", start, end, &flags), 3, "%s line %d: %s", rel, n, buf);
}

Test(fuse_caps_lspci, a_mount_shows_what_a_plain_tree_shows)
{
	char scen[PATH_MAX], dir[PATH_MAX];

	need_lspci();
	vk_scenario_path("default.yaml", scen, sizeof(scen));
	cr_assert_eq(vk_mount(scen, mnt, sizeof(mnt)), 0);
	snprintf(live_mnt, sizeof(live_mnt), "%s", mnt);
	cr_assert_eq(vk_materialize(scen, dir, sizeof(dir)), 0);
	char *served = lspci_at(mnt, NULL), *plain = lspci_at(dir, NULL);
	vk_rm_rf(dir);
	cr_assert_str_eq(served, plain, "lspci -vvv differs between the mount and the plain tree");
	has(served, "Express (v2) Root Port (Slot+)");
	has(served, "Express (v2) Endpoint");
	has(served, "Single Root I/O Virtualization (SR-IOV)");
	lacks(served, "Null");
	lacks(served, "<access denied>");
	free(served);
	free(plain);
	live_umount(mnt);
}

Test(fuse_caps_lspci, sriov_numvfs_writes_show_in_the_capability)
{
	need_lspci();
	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	char *pf = lspci_at(mnt, "0000:03:00.0");
	has(pf, "Initial VFs: 4, Total VFs: 4, Number of VFs: 0");
	has(pf, "IOVCtl:\tEnable- Migration- Interrupt- MSE-");
	has(pf, "VF offset: 16, stride: 1, Device ID: 154c");
	free(pf);

	cr_assert_eq(vk_write_attr(P(mnt, "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs"), "2\n"), 0);
	pf = lspci_at(mnt, "0000:03:00.0");
	has(pf, "Initial VFs: 4, Total VFs: 4, Number of VFs: 2");
	has(pf, "IOVCtl:\tEnable+ Migration- Interrupt- MSE+");
	free(pf);
	/* the new VF: a function of the PF's kind (an integrated endpoint on the
	 * root bus), MSI-X only, no INTx, no SR-IOV of its own */
	char *vf = lspci_at(mnt, "0000:03:02.1");
	has(vf, "Express (v2) Root Complex Integrated Endpoint");
	has(vf, "MSI-X: Enable- Count=5");
	has(vf, "FLReset+");
	lacks(vf, "SR-IOV");
	lacks(vf, "Power Management");
	lacks(vf, "Interrupt: pin");
	free(vf);
	char irq[16];
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/0000:03:02.1/irq"), irq, sizeof(irq)), 2);
	cr_assert_str_eq(irq, "0\n", "pci_read_irq(): a VF's irq is 0");
	/* VF 1's BAR0 is the second slot of the PF's VF BAR window (resource line 7) */
	unsigned long long ws, we, vs, ve;
	resource_line("sys/bus/pci/devices/0000:03:00.0/resource", 7, &ws, &we);
	resource_line("sys/bus/pci/devices/0000:03:02.1/resource", 0, &vs, &ve);
	cr_assert_eq(we - ws + 1, 4ull * (ve - vs + 1), "the window holds TotalVFs BARs");
	cr_assert_eq(vs, ws + (ve - vs + 1));
	struct stat st;
	cr_assert_eq(stat(P(mnt, "sys/bus/pci/devices/0000:03:02.1/config"), &st), 0);
	cr_assert_eq(st.st_size, 4096);

	cr_assert_eq(vk_write_attr(P(mnt, "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs"), "0\n"), 0);
	pf = lspci_at(mnt, "0000:03:00.0");
	has(pf, "Number of VFs: 0");
	has(pf, "IOVCtl:\tEnable-");
	free(pf);
	live_umount(mnt);
}
