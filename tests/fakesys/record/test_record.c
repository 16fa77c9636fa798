/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys record: round trips of every bundled scenario, replay of this
 * machine's real /sys (compared with lspci and vfio-resolve), hostile trees,
 * a recording made by an ordinary user, and values that are not UTF-8.
 * The umockdev importer's tests are in test_record_umockdev.c.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/fakesys_record.h>

#include "record_util.h"

#define BIG REC_OUT_LEN

/*
 * Timeouts never decrease in the order Criterion runs these tests (by name):
 * Criterion 2.4.1's runner leaks 48 bytes when a test with a shorter timeout
 * follows one with a longer timeout, and the ASan run fails on the leak.
 */

/* vk_fakesys_record() of @root into @out_path; returns its result; notes into @notes. */
static int record_to(const char *root, const char *out_path, bool redact, char **notes)
{
	struct vk_fakesys_record_opts o = {.root = root, .redact = redact};
	struct vk_error e = {0};
	char *buf = NULL, *nb = NULL;
	size_t len = 0, nlen = 0;
	FILE *f = open_memstream(&buf, &len), *n = open_memstream(&nb, &nlen);
	int fds = vk_fd_count();
	int r = vk_fakesys_record(&o, f, n, &e);
	fclose(f);
	fclose(n);
	cr_assert_eq(vk_fd_count(), fds, "record %s leaked FDs", root);
	if (r == 0 && out_path)
		write_file(out_path, buf, len);
	if (r < 0)
		cr_log_info("record %s: %s", root, e.msg);
	free(buf);
	if (notes)
		*notes = nb;
	else
		free(nb);
	return r;
}

static void roundtrip(const char *scenario)
{
	char t1[512], t2[512], work[512], rec[PATH_MAX];

	if (vk_materialize(scenario, t1, sizeof(t1)) != 0) {
		cr_log_info("%s does not load: not a round-trip case", scenario);
		return;
	}
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/rec.yaml", work);
	cr_assert_eq(record_to(t1, rec, false, NULL), 0, "recording the tree of %s", scenario);
	cr_assert_eq(vk_materialize(rec, t2, sizeof(t2)), 0, "replaying the recording of %s", scenario);
	compare_trees(t1, t2);
	vk_rm_rf(t1);
	vk_rm_rf(t2);
	vk_rm_rf(work);
}

static void roundtrip_dir(const char *dir)
{
	size_t n;
	char **v = names_of(dir, &n);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]);
		if (l > 5 && !strcmp(v[i] + l - 5, ".yaml")) {
			char p[PATH_MAX];
			snprintf(p, sizeof(p), "%s/%s", dir, v[i]);
			roundtrip(p);
		}
		free(v[i]);
	}
	free(v);
}

Test(record, roundtrip_bundled_scenarios, .timeout = 300)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/scenarios", vk_source_dir());
	roundtrip_dir(p);
	snprintf(p, sizeof(p), "%s/tests", vk_source_dir());
	size_t n;
	char **parts = names_of(p, &n);
	for (size_t i = 0; i < n; i++) {
		char d[PATH_MAX];
		struct stat st;
		snprintf(d, sizeof(d), "%s/tests/%s/data", vk_source_dir(), parts[i]);
		if (stat(d, &st) == 0 && S_ISDIR(st.st_mode))
			roundtrip_dir(d);
		free(parts[i]);
	}
	free(parts);
}

/* A host with devices on vfio-pci variant drivers (no vfio_pci module). */
static const char variant_host[] =
	"version: 1\n"
	"kernel: {iommu: intel, vfio_device_cdev: true, iommufd: true,\n"
	"         modules: [vfio, vfio_pci_core, iommufd, mlx5_core, mlx5_vfio_pci, xe_vfio_pci]}\n"
	"devices:\n"
	"  - {address: 0000:40:01.0, vendor: 0x8086, device: 0x1bbe, driver: pcieport}\n"
	"  - {address: 0000:41:00.0, parent: 0000:40:01.0, vendor: 0x15b3, device: 0x1021, driver: mlx5_core,\n"
	"     sriov: {totalvfs: 4, vf_device: 0x101e}}\n"
	"  - {address: 0000:41:02.0, physfn: 0000:41:00.0, driver: mlx5_vfio_pci, driver_override: mlx5_vfio_pci,\n"
	"     vfio_cdev: 3, vfio_node: {owner: 107, group: 107, mode: 0660}}\n"
	"  - {address: 0000:80:02.0, vendor: 0x8086, device: 0xe20b, class: 0x030000, driver: xe-vfio-pci}\n"
	"iommu_groups:\n"
	"  - {id: 2, node: {owner: 107, group: 36, mode: 0660}}\n";

/* The tree of variant_host records back to a scenario whose replay is the same
 * tree: the variant's cdev index, node and group node are kept (the format has
 * cdevs for vfio-pci and its variants), its driver needs no declaration. */
Test(record, variant_driver_round_trip)
{
	char work[512], scen[PATH_MAX], rec[PATH_MAX], t1[512], t2[512];
	char *notes = NULL;

	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(scen, sizeof(scen), "%s/variant.yaml", work);
	snprintf(rec, sizeof(rec), "%s/rec.yaml", work);
	write_file(scen, variant_host, sizeof(variant_host) - 1);
	cr_assert_eq(vk_materialize(scen, t1, sizeof(t1)), 0);
	cr_assert_eq(record_to(t1, rec, false, &notes), 0);
	cr_assert_null(strstr(notes, "left out"), "%s", notes);
	char *text = xmalloc(BIG);
	cr_assert_geq(vk_read_file(rec, text, BIG), 0);
	cr_assert_not_null(strstr(text, "    driver: \"mlx5_vfio_pci\"\n"), "%s", text);
	cr_assert_not_null(strstr(text, "    vfio_cdev: 3\n"), "%s", text);
	cr_assert_not_null(strstr(text, "    vfio_node: {owner: 107, group: 107, mode: \"0660\"}\n"), "%s", text);
	cr_assert_not_null(strstr(text, "    driver: \"xe-vfio-pci\"\n"), "%s", text);
	cr_assert_not_null(strstr(text, "    vfio_cdev: 0\n"), "%s", text);
	cr_assert_not_null(strstr(text, "node: {owner: 107, group: 36, mode: \"0660\"}"), "group 2's node: %s", text);
	cr_assert_null(strstr(text, "  drivers:"), "variants are known drivers: %s", text);
	cr_assert_null(strstr(text, "\"vfio_pci\""), "no vfio_pci module was there: %s", text);
	cr_assert_eq(vk_materialize(rec, t2, sizeof(t2)), 0, "replaying %s", text);
	compare_trees(t1, t2);
	vk_rm_rf(t2);
	free(notes);

	/* a host that does not show the variant's modules: recorded as built in, with a note */
	char mod[PATH_MAX];
	snprintf(mod, sizeof(mod), "%s/sys/module/mlx5_vfio_pci", t1);
	cr_assert_eq(vk_rm_rf(mod), 0);
	snprintf(mod, sizeof(mod), "%s/sys/module/vfio_pci_core", t1);
	cr_assert_eq(vk_rm_rf(mod), 0);
	cr_assert_eq(record_to(t1, rec, false, &notes), 0);
	cr_assert_not_null(strstr(notes, "bound to mlx5_vfio_pci but sys/module/mlx5_vfio_pci is missing; recorded it "
	                                 "as built in"),
	                   "%s", notes);
	cr_assert_not_null(strstr(notes, "sys/module/vfio_pci_core is missing"), "%s", notes);
	cr_assert_geq(vk_read_file(rec, text, BIG), 0);
	cr_assert_not_null(strstr(text, "{name: \"mlx5_vfio_pci\", builtin: true}"), "%s", text);
	cr_assert_not_null(strstr(text, "{name: \"vfio_pci_core\", builtin: true}"), "%s", text);
	cr_assert_eq(vk_materialize(rec, t2, sizeof(t2)), 0, "the recording loads: %s", text);
	char dev[PATH_MAX];
	snprintf(dev, sizeof(dev), "%s/sys/bus/pci/devices/0000:41:02.0/vfio-dev/vfio3/dev", t2);
	char buf[32];
	cr_assert_eq(vk_read_file(dev, buf, sizeof(buf)), 6);
	cr_assert_str_eq(buf, "511:3\n");
	free(notes);
	free(text);
	vk_rm_rf(t1);
	vk_rm_rf(t2);
	vk_rm_rf(work);
}

/* ---- the real root ------------------------------------------------------ */

/*
 * With -A linux-sysfs lspci reads only sysfs (the device directories, their
 * config, resource and irq files) and the pci.ids database; the scenario
 * records all of it (resources: and irq: beside config:), so nothing is left
 * out of the comparison.  "Kernel modules:" comes from /lib/modules, the same
 * machine's for both runs.  What lspci would read outside sysfs with other
 * access methods (/proc/bus/pci, direct port I/O) is not used here.
 */

Test(record, real_root_lspci_and_resolver, .timeout = 120)
{
	struct stat st;
	if (stat("/sys/bus/pci/devices", &st) != 0)
		cr_skip_test("this machine has no /sys/bus/pci");
	char work[512], rec[PATH_MAX], tree[512];
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/host.yaml", work);
	record_cli((char *[]){"record", NULL}, rec);
	cr_assert_eq(vk_materialize(rec, tree, sizeof(tree)), 0);

	/* device by device: blocks separated by blank lines, in the same order */
	if (have_prog("/usr/bin/lspci"))
		assert_same_lspci(tree, "replay");

	/* vfio-resolve: the same facts for every device, paths aside */
	assert_same_resolve(tree, "replay");
	vk_rm_rf(tree);
	vk_rm_rf(work);
}

Test(record, named_devices_and_redact)
{
	char t[512], work[512], rec[PATH_MAX], tree2[512];
	char *notes = NULL;
	cr_assert_eq(vk_materialize(vk_scenario_path("default.yaml", (char[PATH_MAX]){0}, PATH_MAX), t, sizeof(t)), 0);
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/one.yaml", work);
	/* the GPU: its root port (parent) and its audio function (group peer) come along */
	record_cli((char *[]){"record", "--root", t, "--redact", "0000:01:00.0", NULL}, rec);
	char *text = xmalloc(BIG);
	cr_assert_geq(vk_read_file(rec, text, BIG), 0);
	cr_assert_not_null(strstr(text, "address: 0000:00:01.0"));
	cr_assert_not_null(strstr(text, "address: 0000:01:00.1"));
	cr_assert_null(strstr(text, "address: 0000:00:14.0"));
	cr_assert_not_null(strstr(text, "# Left out (--redact)"));
	cr_assert_not_null(strstr(text, "intel_iommu=on iommu=pt\""), "%s", text);
	cr_assert_null(strstr(text, "root=/dev/mapper"));
	cr_assert_eq(vk_materialize(rec, tree2, sizeof(tree2)), 0);
	free(text);
	/* an unknown device is an error, and leaks nothing */
	struct vk_fakesys_record_opts o = {.root = t, .bdfs = (const char *const[]){"0000:42:00.0"}, .n_bdfs = 1};
	struct vk_error e = {0};
	int fds = vk_fd_count();
	cr_assert_eq(vk_fakesys_record(&o, stdout, NULL, &e), -ENOENT);
	cr_assert_eq(vk_fd_count(), fds);
	o.root = "/nonexistent-vfiokit-root";
	o.n_bdfs = 0;
	cr_assert_lt(vk_fakesys_record(&o, stdout, NULL, &e), 0);
	cr_assert_eq(vk_fd_count(), fds);
	free(notes);
	vk_rm_rf(t);
	vk_rm_rf(tree2);
	vk_rm_rf(work);
}

/* ---- hostile trees ------------------------------------------------------ */

static void mk(const char *root, const char *rel)
{
	char p[PATH_MAX], cmd[PATH_MAX + 32];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	cr_assert_eq(system(cmd), 0);
}

static void put(const char *root, const char *rel, const char *s)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	write_file(p, s, strlen(s));
}

static void ln(const char *root, const char *target, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	cr_assert_eq(symlink(target, p), 0, "%s", p);
}

Test(record, hostile_tree, .timeout = 30)
{
	char t[512], p[PATH_MAX];
	cr_assert_eq(vk_mkdtemp(t, sizeof(t)), 0);
	mk(t, "sys/bus/pci/devices");
	mk(t, "sys/devices/pci0000:00/0000:00:01.0");
	mk(t, "sys/devices/pci0000:00/0000:00:04.0/device"); /* a directory where a file is expected */
	mk(t, "sys/module/loop");
	mk(t, "proc/sys/kernel");
	ln(t, "../../../devices/pci0000:00/0000:00:01.0", "sys/bus/pci/devices/0000:00:01.0");
	ln(t, "../../../devices/pci0000:00/0000:00:04.0", "sys/bus/pci/devices/0000:00:04.0");
	ln(t, "0000:00:02.0", "sys/bus/pci/devices/0000:00:02.0");                      /* loop */
	ln(t, "../../../../../../../../../../etc", "sys/bus/pci/devices/0000:00:03.0"); /* outside */
	ln(t, "/proc/self", "sys/bus/pci/devices/0000:00:05.0");                        /* absolute */
	ln(t, "../../../devices/pci0000:00/0000:00:01.0", "sys/bus/pci/devices/not-a-bdf");
	ln(t, "loop", "sys/module/loop/loop");
	put(t, "sys/devices/pci0000:00/0000:00:01.0/vendor", "0x8086\n");
	put(t, "sys/devices/pci0000:00/0000:00:01.0/device", "0x1234\n");
	put(t, "sys/devices/pci0000:00/0000:00:01.0/class", "0x020000\n");
	ln(t, "/etc/hostname", "sys/devices/pci0000:00/0000:00:01.0/label"); /* a link out */
	ln(t, "../../../../../../../../etc/passwd", "sys/devices/pci0000:00/0000:00:01.0/driver_override");
	/* 0000:00:04.0: vendor is a FIFO, device a directory, config too long, numa_node huge */
	snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/0000:00:04.0/vendor", t);
	cr_assert_eq(mkfifo(p, 0644), 0);
	char *big = xmalloc(200 * 1024);
	memset(big, '7', 200 * 1024 - 1);
	put(t, "sys/devices/pci0000:00/0000:00:04.0/numa_node", big);
	char cfg[5000] = {0};
	cfg[0] = (char)0x86, cfg[1] = (char)0x80, cfg[2] = 0x34, cfg[3] = 0x12, cfg[0x0b] = 0x02;
	snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/0000:00:04.0/config", t);
	write_file(p, cfg, sizeof(cfg));
	snprintf(p, sizeof(p), "%s/proc/cmdline", t);
	cr_assert_eq(mkfifo(p, 0644), 0);         /* would block a plain open() forever */
	put(t, "proc/sys/kernel/osrelease", big); /* over the attribute cap */
	free(big);

	char *notes = NULL, out[PATH_MAX];
	snprintf(out, sizeof(out), "%s/out.yaml", t);
	cr_assert_eq(record_to(t, out, false, &notes), 0);
	char *text = xmalloc(BIG);
	cr_assert_geq(vk_read_file(out, text, BIG), 0);
	cr_assert_not_null(strstr(text, "address: 0000:00:01.0"));
	cr_assert_not_null(strstr(text, "address: 0000:00:04.0"));
	cr_assert_null(strstr(text, "address: 0000:00:02.0"));
	cr_assert_null(strstr(text, "root:"), "nothing of /etc/passwd may appear");
	cr_assert_null(strstr(text, "\n    label:"));
	/* each skip is said, on the notes stream and as a comment */
	const char *said[] = {"0000:00:02.0", "0000:00:03.0", "0000:00:05.0", "not-a-bdf", "label",
	                      "driver_override", "0000:00:04.0/vendor", "0000:00:04.0/device",
	                      "0000:00:04.0/numa_node", "kept the first 4096", "proc/cmdline", "osrelease"};
	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++) {
		cr_assert_not_null(strstr(notes, said[i]), "no note about %s in:\n%s", said[i], notes);
		cr_assert_not_null(strstr(text, said[i]), "no comment about %s", said[i]);
	}
	free(text);
	free(notes);
	vk_rm_rf(t);
}

/* ---- a recording made by a user (issue 14) ------------------------------ */

/*
 * The kernel gives a reader without CAP_SYS_ADMIN only the first 64 bytes of
 * config (pci_read_config(), drivers/pci/pci-sysfs.c), so lspci -vvv run by
 * a user prints "Capabilities: <access denied>".  The replay of a recording
 * that user made must say the same, not walk zeros ("[40] Null").
 */

Test(record, user_recording_replays_access_denied, .timeout = 300)
{
	struct stat st;
	size_t n;

	if (stat("/sys/bus/pci/devices", &st) != 0)
		cr_skip_test("this machine has no /sys/bus/pci");
	if (!have_prog("/usr/bin/lspci"))
		cr_skip_test("lspci is not installed (apt-get install pciutils)");
	if (geteuid() == 0 && !have_prog(setpriv_bin))
		cr_skip_test("root, and no setpriv to record as an ordinary user (apt-get install util-linux)");
	char **devs = names_of("/sys/bus/pci/devices", &n);
	vk_names_free(devs, n);
	if (!n)
		cr_skip_test("no PCI device on this machine");

	char work[512], rec[PATH_MAX], tree[512], pci[PATH_MAX + 16], bin[PATH_MAX], *argv[16];
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(rec, sizeof(rec), "%s/user.yaml", work);
	char *cmd[] = {(char *)vk_bin("fakesys/fakesys", bin, sizeof(bin)), "record", NULL};
	char *text = xmalloc(BIG), *err = xmalloc(BIG);
	cr_assert_eq(vk_run(as_user(argv, cmd), text, BIG, err, BIG), 0, "fakesys record as a user: %s", err);
	write_file(rec, text, strlen(text));
	cr_assert_not_null(strstr(text, "    config_readable: 64\n"), "a user reads 64 bytes of config: %s", err);
	cr_assert_eq(vk_materialize(rec, tree, sizeof(tree)), 0);

	/* the replay, read by anyone, shows what the recording user saw */
	snprintf(pci, sizeof(pci), "%s/sys/bus/pci", tree);
	char *real = lspci_vvv(NULL, true), *replay = lspci_vvv(pci, false);
	cr_assert_str_eq(replay, real);
	if (!strstr(real, "Capabilities: <access denied>"))
		cr_log_info("no device here has a capability list: the replay could not have invented one anyway");
	free(real);
	free(replay);
	free(text);
	free(err);
	vk_rm_rf(tree);
	vk_rm_rf(work);
}

/* ---- bytes that are not UTF-8 (issue 22) -------------------------------- */

/* @rel (through the tree's links) with new content, whatever its mode. */
static void replace(const char *root, const char *rel, const char *s)
{
	char p[PATH_MAX], real[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (!realpath(p, real))
		snprintf(real, sizeof(real), "%s", p);
	cr_assert(unlink(real) == 0 || errno == ENOENT, "%s: %s", real, strerror(errno));
	write_file(real, s, strlen(s));
}

/* A value with a 0xff byte is skipped or escaped in its note; the rest of the
 * host is recorded (it used to go raw into a comment, and the whole recording
 * failed its own YAML check). */
Test(record, non_utf8_values_are_escaped)
{
	char t[512], p[PATH_MAX], out[PATH_MAX], tree2[512];
	char *notes = NULL;

	cr_assert_eq(vk_materialize(vk_scenario_path("default.yaml", (char[PATH_MAX]){0}, PATH_MAX), t, sizeof(t)), 0);
	replace(t, "sys/bus/pci/devices/0000:00:14.0/vendor", "0x80\xff"
	                                                      "86\n");
	replace(t, "sys/bus/pci/devices/0000:00:17.0/label", "caf\xe9 \xff\n");
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:00:17.0/driver", t);
	cr_assert_eq(unlink(p), 0);
	ln(t, "../../../bus/pci/drivers/ahci\xff", "sys/bus/pci/devices/0000:00:17.0/driver");
	mk(t, "sys/module/m\xff");
	snprintf(out, sizeof(out), "%s/out.yaml", t);
	cr_assert_eq(record_to(t, out, false, &notes), 0, "%s", notes);
	char *text = xmalloc(BIG);
	cr_assert_geq(vk_read_file(out, text, BIG), 0);
	cr_assert_not_null(strstr(notes, "'0x80\\xff86' is not a number"), "%s", notes);
	cr_assert_not_null(strstr(text, "'0x80\\xff86' is not a number"), "the comment says it too: %s", text);
	cr_assert_not_null(strstr(text, "0000:00:17.0/label: not UTF-8 text"), "%s", text);
	cr_assert_not_null(strstr(text, "'ahci\\xff' is not a driver name"), "%s", text);
	cr_assert_not_null(strstr(text, "module 'm\\xff'"), "%s", text);
	for (const char *a = "0000:00:14.0\0"
	                     "0000:00:17.0\0"
	                     "0000:01:00.0\0";
	     *a; a += strlen(a) + 1) {
		char want[64];
		snprintf(want, sizeof(want), "address: %s\n", a);
		cr_assert_not_null(strstr(text, want), "%s kept: %s", a, text);
	}
	cr_assert_eq(vk_materialize(out, tree2, sizeof(tree2)), 0, "the recording loads");
	free(text);
	free(notes);
	vk_rm_rf(tree2);
	vk_rm_rf(t);
}
