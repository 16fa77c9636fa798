/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys import-umockdev: a recording of this machine, a user's recording
 * replayed as umockdev-run replays it, bytes that are not UTF-8, IOMMU links,
 * size, depth, signals, and recordings with nothing or parts refused.  The
 * host recorder's tests are in test_record.c.
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

/* ---- umockdev ----------------------------------------------------------- */

Test(record, import_umockdev, .timeout = 60)
{
	const char *um = "/usr/bin/umockdev-record";
	if (!have_prog(um))
		cr_skip_test("umockdev-record is not installed (apt-get install umockdev)");
	size_t n;
	char **devs = names_of("/sys/bus/pci/devices", &n);
	if (!n)
		cr_skip_test("no PCI device on this machine");
	char work[512], umf[PATH_MAX], rec[PATH_MAX], tree[512], sysdev[PATH_MAX], pci[PATH_MAX];
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	/* a device with a BAR if there is one: its resource and irq must come over */
	size_t pick = 0;
	for (size_t i = 0; i < n && !pick; i++) {
		char rp[PATH_MAX], rb[4096] = "";
		snprintf(rp, sizeof(rp), "/sys/bus/pci/devices/%s/resource", devs[i]);
		if (vk_read_file(rp, rb, sizeof(rb)) > 0 && strncmp(rb, "0x0000000000000000", 18) != 0)
			pick = i;
	}
	char *tmp = devs[0];
	devs[0] = devs[pick];
	devs[pick] = tmp;
	snprintf(sysdev, sizeof(sysdev), "/sys/bus/pci/devices/%s", devs[0]);
	char *out = xmalloc(BIG), *err = xmalloc(BIG);
	cr_assert_eq(vk_run((char *[]){(char *)um, sysdev, NULL}, out, BIG, err, BIG), 0, "%s", err);
	snprintf(umf, sizeof(umf), "%s/dev.umockdev", work);
	write_file(umf, out, strlen(out));

	char bin[PATH_MAX];
	snprintf(rec, sizeof(rec), "%s/imported.yaml", work);
	char *argv[] = {(char *)vk_bin("fakesys/fakesys", bin, sizeof(bin)), "import-umockdev", umf, "--output", rec, NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, BIG), 0, "%s", err);
	/* what umockdev's format cannot carry (power state, msi_irqs, resource...) is said */
	cr_assert_not_null(strstr(err, "not carried over"), "%s", err);
	char *text = xmalloc(BIG);
	cr_assert_geq(vk_read_file(rec, text, BIG), 0);
	cr_assert_not_null(strstr(text, "# Imported from the umockdev recording"));
	cr_assert_not_null(strstr(text, devs[0]));
	cr_assert_eq(vk_materialize(rec, tree, sizeof(tree)), 0);

	/* lspci shows the same device, BARs included (the recording has resource);
	 * the driver comes from the recording's driver link or, failing that, its
	 * uevent DRIVER=, so "Kernel driver in use" matches too. */
	if (have_prog("/usr/bin/lspci")) {
		snprintf(pci, sizeof(pci), "%s/sys/bus/pci", tree);
		char *real = lspci_lines(NULL, devs[0]), *replay = lspci_lines(pci, devs[0]);
		cr_assert_str_eq(real, replay);
		free(real);
		free(replay);
	}
	/* a malformed recording is an error and leaks nothing */
	write_file(umf, "hello\n", 6);
	struct vk_error e = {0};
	int fds = vk_fd_count();
	cr_assert_eq(vk_fakesys_import_umockdev(umf, stdout, NULL, &e), -EINVAL);
	cr_assert_eq(vk_fakesys_import_umockdev("/nonexistent.umockdev", stdout, NULL, &e), -ENOENT);
	/* a path escaping the tree is refused, not followed */
	const char *evil = "P: /devices/../../../../tmp/x/0000:00:01.0\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\n";
	write_file(umf, evil, strlen(evil));
	cr_assert_lt(vk_fakesys_import_umockdev(umf, stdout, NULL, &e), 0);
	cr_assert_eq(vk_fd_count(), fds);
	for (size_t i = 0; i < n; i++)
		free(devs[i]);
	free(devs);
	free(out);
	free(err);
	free(text);
	vk_rm_rf(tree);
	vk_rm_rf(work);
}

/* umockdev-record of this machine's virtio socket (0000:00:04.0) by an
 * ordinary user: H: config= holds the 64 bytes the kernel gave it. */
static const char user_umockdev[] =
	"P: /devices/pci0000:00/0000:00:04.0\n"
	"E: DRIVER=virtio-pci\n"
	"E: MODALIAS=pci:v00001AF4d00001053sv00001AF4sd00001053bcFFscFFi00\n"
	"E: PCI_CLASS=FFFF00\n"
	"E: PCI_ID=1AF4:1053\n"
	"E: PCI_SLOT_NAME=0000:00:04.0\n"
	"E: PCI_SUBSYS_ID=1AF4:1053\n"
	"E: SUBSYSTEM=pci\n"
	"A: ari_enabled=0\\n\n"
	"A: broken_parity_status=0\\n\n"
	"A: class=0xffff00\\n\n"
	"H: config=F41A5310060410000100FFFF0000000004001800400000000000000000000000000000000000000000000000F41A53"
	"1000000000400000000000000000000000\n"
	"A: consistent_dma_mask_bits=64\\n\n"
	"A: d3cold_allowed=0\\n\n"
	"A: device=0x1053\\n\n"
	"A: dma_mask_bits=64\\n\n"
	"L: driver=../../../bus/pci/drivers/virtio-pci\n"
	"A: driver_override=(null)\\n\n"
	"A: enable=1\\n\n"
	"L: firmware_node=../../LNXSYSTM:00/LNXSYBUS:00/PNP0A08:00/device:04\n"
	"A: irq=0\\n\n"
	"A: local_cpulist=0-1\\n\n"
	"A: local_cpus=3\\n\n"
	"A: modalias=pci:v00001AF4d00001053sv00001AF4sd00001053bcFFscFFi00\\n\n"
	"A: msi_bus=1\\n\n"
	"A: msi_irqs/40=msix\\n\n"
	"A: numa_node=-1\\n\n"
	"A: power/control=on\\n\n"
	"A: power/runtime_status=active\\n\n"
	"A: power_state=D0\\n\n"
	"A: resource=0x0000004000180000 0x00000040001fffff 0x0000000000140204\\n0x0000000000000000 0x0000000000000000 "
	"0x0000000000000000\\n0x0000000000000000 0x0000000000000000 0x0000000000000000\\n0x0000000000000000 "
	"0x0000000000000000 0x0000000000000000\\n0x0000000000000000 0x0000000000000000 0x0000000000000000\\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\\n0x0000000000000000 0x0000000000000000 "
	"0x0000000000000000\\n\n"
	"A: revision=0x01\\n\n"
	"A: subsystem_device=0x1053\\n\n"
	"A: subsystem_vendor=0x1af4\\n\n"
	"A: vendor=0x1af4\\n\n"
	"\n";

/* @s without its "Kernel driver in use:" and "Kernel modules:" lines. */
static char *without_driver_lines(const char *s)
{
	char *copy = strdup(s), *out = xmalloc(strlen(s) + 1);
	size_t o = 0;
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strstr(l, "Kernel driver in use:") && !strstr(l, "Kernel modules:"))
			o += (size_t)sprintf(out + o, "%s\n", l);
	free(copy);
	return out;
}

/* The same 64-byte recording replayed by umockdev itself (umockdev-run) and by
 * fakesys (import-umockdev, materialize): lspci -vvv reads the same. */
Test(record, user_umockdev_recording_like_umockdev_run, .timeout = 300)
{
	static const char umrun[] = "/usr/bin/umockdev-run";
	if (!have_prog(umrun))
		cr_skip_test("umockdev-run is not installed (apt-get install umockdev)");
	if (!have_prog("/usr/bin/lspci"))
		cr_skip_test("lspci is not installed (apt-get install pciutils)");
	char work[512], umf[PATH_MAX], rec[PATH_MAX], tree[512], pci[PATH_MAX], bin[PATH_MAX];
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(umf, sizeof(umf), "%s/user.umockdev", work);
	snprintf(rec, sizeof(rec), "%s/user.yaml", work);
	write_file(umf, user_umockdev, sizeof(user_umockdev) - 1);
	char *err = xmalloc(BIG), *out = xmalloc(BIG);
	char *imp[] = {(char *)vk_bin("fakesys/fakesys", bin, sizeof(bin)), "import-umockdev", umf, "--output", rec, NULL};
	cr_assert_eq(vk_run(imp, NULL, 0, err, BIG), 0, "%s", err);
	cr_assert_eq(vk_materialize(rec, tree, sizeof(tree)), 0);
	snprintf(pci, sizeof(pci), "%s/sys/bus/pci", tree);
	char *ours = lspci_vvv(pci, false);

	char *run[] = {(char *)umrun, "-d", umf, "--", "/usr/bin/lspci", "-A", "linux-sysfs", "-vvv", NULL};
	int r = vk_run(run, out, BIG, err, BIG);
	if (r != 0)
		cr_skip_test("umockdev-run cannot run lspci here (exit %d): %s", r, err);
	/* umockdev's testbed has no sys/bus/pci/drivers: its driver link dangles,
	 * so lspci names no driver there; fakesys makes the driver's directory */
	char *a = without_driver_lines(ours), *b = without_driver_lines(out);
	cr_assert_str_eq(a, b);
	cr_assert_not_null(strstr(a, "Capabilities: <access denied>"), "%s", a);
	cr_assert_not_null(strstr(ours, "Kernel driver in use: virtio-pci"), "%s", ours);
	free(a);
	free(b);
	free(ours);
	free(out);
	free(err);
	vk_rm_rf(tree);
	vk_rm_rf(work);
}
/* import-umockdev of @text through the library; its notes into @notes (malloc'd). */
static int import_text(const char *text, size_t len, char **out, char **notes, struct vk_error *e)
{
	char *ob = NULL, *nb = NULL;
	size_t ol = 0, nl = 0;
	FILE *o = open_memstream(&ob, &ol), *n = open_memstream(&nb, &nl);
	int fds = vk_fd_count();
	int r = vk_fakesys_import_umockdev_buffer("test.umockdev", text, len, o, n, e);
	fclose(o);
	fclose(n);
	cr_assert_eq(vk_fd_count(), fds, "import leaked FDs");
	if (out)
		*out = ob;
	else
		free(ob);
	if (notes)
		*notes = nb;
	else
		free(nb);
	return r;
}

/* A private TMPDIR for the importer: each test runs in its own process. */
static void private_tmpdir(char *dir, size_t len)
{
	cr_assert_eq(vk_mkdtemp(dir, len), 0);
	cr_assert_eq(setenv("TMPDIR", dir, 1), 0);
}

static size_t entries_of(const char *dir)
{
	size_t n;
	char **v = names_of(dir, &n);
	vk_names_free(v, n);
	return n;
}

Test(record, import_umockdev_non_utf8)
{
	static const char um[] =
		"P: /devices/pci0000:00/0000:00:02.0\n"
		"E: SUBSYSTEM=pci\n"
		"A: vendor=0x8086\\n\n"
		"A: device=0x1234\\n\n"
		"A: class=0x020000\\n\n"
		"A: label=Ethernet \xff\\n\n" /* laid out, then skipped by the recorder */
		"A: caf\xe9=1\\n\n"           /* an attribute fakesys has no key for */
		"X: \xff\xfe\n"               /* a line of no kind umockdev writes */
		"\n";
	char tmp[512];
	char *out = NULL, *notes = NULL;
	struct vk_error e = {0};

	private_tmpdir(tmp, sizeof(tmp));
	cr_assert_eq(import_text(um, sizeof(um) - 1, &out, &notes, &e), 0, "%s", e.msg);
	cr_assert_not_null(strstr(out, "address: 0000:00:02.0\n"), "%s", out);
	cr_assert_not_null(strstr(out, "has no key): caf\\xe9\n"), "%s", out);
	cr_assert_not_null(strstr(out, "unknown line 'X: \\xff\\xfe'"), "%s", out);
	cr_assert_not_null(strstr(out, "0000:00:02.0/label: not UTF-8 text"), "%s", out);
	cr_assert_not_null(strstr(notes, "caf\\xe9"), "%s", notes);
	cr_assert_eq(entries_of(tmp), 0, "the temporary directory is gone");
	free(out);
	free(notes);
	vk_rm_rf(tmp);
}

/* The devices' iommu_group and iommu links become the groups and the unit
 * kind; a link naming no group or no unit is noted and left out. */
Test(record, import_umockdev_iommu_links)
{
	static const char um[] =
		"P: /devices/pci0000:00/0000:00:02.0\n"
		"E: SUBSYSTEM=pci\n"
		"A: vendor=0x8086\\n\n"
		"A: device=0x1234\\n\n"
		"A: class=0x020000\\n\n"
		"L: iommu=../../virtual/iommu/ivhd0\n"
		"L: iommu_group=../../../kernel/iommu_groups/7\n"
		"\n"
		"P: /devices/pci0000:00/0000:00:03.0\n"
		"E: SUBSYSTEM=pci\n"
		"A: vendor=0x8086\\n\n"
		"A: device=0x1235\\n\n"
		"A: class=0x020000\\n\n"
		"L: iommu=../../virtual/iommu/..\n"
		"L: iommu_group=../../../kernel/iommu_groups/x7\n"
		"\n";
	char tmp[512];
	char *out = NULL, *notes = NULL;
	struct vk_error e = {0};

	private_tmpdir(tmp, sizeof(tmp));
	cr_assert_eq(import_text(um, sizeof(um) - 1, &out, &notes, &e), 0, "%s", e.msg);
	cr_assert_not_null(strstr(out, "iommu: amd\n"), "%s", out);
	cr_assert_not_null(strstr(out, "address: 0000:00:02.0\n"), "%s", out);
	cr_assert_not_null(strstr(out, "iommu_group: 7\n"), "%s", out);
	cr_assert_not_null(strstr(out, "address: 0000:00:03.0\n"), "%s", out);
	cr_assert_null(strstr(strstr(out, "address: 0000:00:03.0\n"), "iommu_group"), "%s", out);
	cr_assert_not_null(strstr(notes, "0000:00:03.0: link iommu_group -> '../../../kernel/iommu_groups/x7' names no "
	                                 "group"),
	                   "%s", notes);
	cr_assert_not_null(strstr(notes, "0000:00:03.0: link iommu -> '../../virtual/iommu/..' names no IOMMU unit"), "%s",
	                   notes);
	cr_assert_eq(entries_of(tmp), 0, "the temporary directory is gone");
	free(out);
	free(notes);
	vk_rm_rf(tmp);
}

/* ---- size, depth, signals, nothing recorded (issue 22) ------------------ */

/*
 * Run @fn in a child with a time limit; it must exit 0.  The time it took is
 * logged (the benchmarks print figures; this only catches a quadratic run,
 * which took minutes at these sizes).
 */
static void within(int seconds, const char *what, int (*fn)(void *), void *arg)
{
	struct timespec t0, t1;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(fn(arg) == 0 ? 0 : 1);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		cr_assert_geq(w, 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (w == pid)
			break;
		if (t1.tv_sec - t0.tv_sec >= seconds) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cr_assert_fail("%s: not done after %d s", what, seconds);
		}
		usleep(10000);
	}
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_log_info("%s: %.2f s", what, s);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed (status %#x)", what, status);
}

struct big {
	char *text;
	size_t len;
};

static int import_big(void *arg)
{
	struct big *b = arg;
	FILE *null = fopen("/dev/null", "w");
	struct vk_error e = {0};
	int r = vk_fakesys_import_umockdev_buffer("big.umockdev", b->text, b->len, null, NULL, &e);
	if (r < 0)
		fprintf(stderr, "import: %s\n", e.msg);
	fclose(null);
	return r;
}

/* One device with a million attributes fakesys has no key for (12.9 MB): the
 * "not carried over" list used to be rebuilt for each (80k: 6.4 s, 1M: over
 * 120 s).  It names the first ones and counts the rest. */
Test(record, import_umockdev_million_attributes, .timeout = 120)
{
	const size_t n = 1000000;
	char tmp[512];
	FILE *f;
	struct big b = {0};

	private_tmpdir(tmp, sizeof(tmp));
	cr_assert_not_null(f = open_memstream(&b.text, &b.len));
	fputs("P: /devices/pci0000:00/0000:00:02.0\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\nA: device=0x1234\\n\n", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "A: unknown_attribute_%07zu=1\\n\n", i);
	cr_assert_eq(fclose(f), 0);
	within(60, "import of 1M unknown attributes", import_big, &b);

	/* the note, on a smaller one: the first 40 names, then a count */
	char *out = NULL;
	struct vk_error e = {0};
	size_t cut = (size_t)(strstr(b.text, "A: unknown_attribute_0001000") - b.text);
	cr_assert_eq(import_text(b.text, cut, &out, NULL, &e), 0, "%s", e.msg);
	cr_assert_not_null(strstr(out, "unknown_attribute_0000039 and 960 more\n"), "%.2000s", out);
	cr_assert_null(strstr(out, "unknown_attribute_0000040"));
	free(out);
	free(b.text);
	cr_assert_eq(entries_of(tmp), 0);
	vk_rm_rf(tmp);
}

/* A P: path deeper than 64 components is skipped with a note (the removal of
 * the temporary tree stopped at depth 64 and left it behind); the other
 * device is imported and nothing stays in TMPDIR. */
Test(record, import_umockdev_deep_path)
{
	char tmp[512];
	char *out = NULL, *notes = NULL;
	struct vk_error e = {0};
	FILE *f;
	char *text = NULL;
	size_t len = 0;

	private_tmpdir(tmp, sizeof(tmp));
	cr_assert_not_null(f = open_memstream(&text, &len));
	fputs("P: /devices/pci0000:00", f);
	for (int i = 0; i < 100; i++)
		fputs("/d", f);
	fputs("/0000:00:03.0\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\nA: device=0x1234\\n\n\n", f);
	fputs("P: /devices/pci0000:00/0000:00:02.0\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\nA: device=0x1234\\n\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(import_text(text, len, &out, &notes, &e), 0, "%s", e.msg);
	cr_assert_not_null(strstr(notes, "deeper than 64 components; skipped"), "%s", notes);
	cr_assert_not_null(strstr(out, "address: 0000:00:02.0\n"), "%s", out);
	cr_assert_null(strstr(out, "address: 0000:00:03.0\n"), "%s", out);
	cr_assert_eq(entries_of(tmp), 0, "the temporary directory is gone");
	free(out);
	free(notes);
	free(text);
	vk_rm_rf(tmp);
}

/* Every device skipped is an error with a reason, not an empty scenario. */
Test(record, import_umockdev_nothing_recorded)
{
	static const char no_ids[] = "P: /devices/pci0000:00/0000:00:02.0\nE: SUBSYSTEM=pci\nA: power/control=on\\n\n";
	static const char no_pci[] = "P: /devices/pci0000:00/0000:00:14.0/usb1\nE: SUBSYSTEM=usb\nA: idVendor=1d6b\\n\n";
	char tmp[512];
	char *out = NULL;
	struct vk_error e = {0};

	private_tmpdir(tmp, sizeof(tmp));
	cr_assert_eq(import_text(no_ids, sizeof(no_ids) - 1, &out, NULL, &e), -EINVAL);
	cr_assert_not_null(strstr(e.msg, "none of the 1 PCI device laid out could be recorded"), "%s", e.msg);
	cr_assert_eq(strlen(out), 0, "nothing written: %s", out);
	free(out);
	cr_assert_eq(import_text(no_pci, sizeof(no_pci) - 1, &out, NULL, &e), -EINVAL);
	cr_assert_not_null(strstr(e.msg, "no PCI device could be carried over (1 device block"), "%s", e.msg);
	free(out);
	cr_assert_eq(entries_of(tmp), 0);
	vk_rm_rf(tmp);
}

/* `fakesys import-umockdev` killed by SIGINT or SIGTERM while its temporary
 * tree exists: it dies of that signal, and the tree is gone. */
static void import_killed_by(int sig)
{
	char tmp[512], umf[PATH_MAX], bin[PATH_MAX], env[PATH_MAX + 8];
	int status;

	private_tmpdir(tmp, sizeof(tmp));
	snprintf(umf, sizeof(umf), "%s.umockdev", tmp); /* beside TMPDIR, not in it */
	FILE *f = fopen(umf, "w");
	cr_assert_not_null(f);
	for (unsigned i = 0; i < 30000; i++)
		fprintf(f, "P: /devices/pci%04x:00/%04x:%02x:%02x.%u\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\n"
		           "A: device=0x1234\\n\n\n",
		        i >> 13, i >> 13, (i >> 5) & 0xff, i & 31, 0u);
	cr_assert_eq(fclose(f), 0);
	snprintf(env, sizeof(env), "TMPDIR=%s", tmp);
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execle(bin, bin, "import-umockdev", umf, NULL, (char *[]){env, NULL});
		_exit(127);
	}
	/* wait for the temporary directory, then signal */
	bool seen = false;
	for (int i = 0; i < 20000 && !seen; i++) {
		seen = entries_of(tmp) > 0;
		if (!seen && waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (!seen)
			usleep(1000);
	}
	if (!seen) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		unlink(umf);
		cr_skip_test("the import was done before its temporary directory was seen");
	}
	kill(pid, sig);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig, "status %#x: not killed by signal %d", status, sig);
	cr_assert_eq(entries_of(tmp), 0, "the temporary directory stayed");
	unlink(umf);
	vk_rm_rf(tmp);
}

Test(record, import_umockdev_sigterm, .timeout = 120)
{
	import_killed_by(SIGTERM);
}

Test(record, import_umockdev_sigint, .timeout = 120)
{
	import_killed_by(SIGINT);
}

/* Its notes go to a stderr nobody reads any more (a pipe whose reader is
 * gone): SIGPIPE, which waits as the others do. */
Test(record, import_umockdev_sigpipe, .timeout = 120)
{
	static const char um[] = "P: /devices/pci0000:00/0000:00:02.0\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\n"
				 "A: device=0x1234\\n\nA: power/control=on\\n\n";
	char tmp[512], umf[PATH_MAX], bin[PATH_MAX], env[PATH_MAX + 8];
	int status, p[2];

	private_tmpdir(tmp, sizeof(tmp));
	snprintf(umf, sizeof(umf), "%s.umockdev", tmp);
	write_file(umf, um, sizeof(um) - 1);
	snprintf(env, sizeof(env), "TMPDIR=%s", tmp);
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	cr_assert_eq(pipe(p), 0);
	close(p[0]); /* no reader anywhere: the first note raises SIGPIPE */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(p[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execle(bin, bin, "import-umockdev", umf, NULL, (char *[]){env, NULL});
		_exit(127);
	}
	close(p[1]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE, "status %#x: not killed by SIGPIPE", status);
	cr_assert_eq(entries_of(tmp), 0, "the temporary directory stayed");
	unlink(umf);
	vk_rm_rf(tmp);
}

/* A recording no host could have made (found by fuzz_umockdev): what the
 * scenario refuses is left out with a note, and the rest is recorded. */
Test(record, import_umockdev_refused_parts_left_out)
{
	static const char um[] =
		/* the vendor file disagrees with the config space */
		"P: /devices/pci0000:00/0000:00:02.0\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\nA: device=0x2204\\n\n"
		"H: config=DE10042206000000A1000003100080000C0000060038000000000000000000000000000000000000000000005814"
		"3B4000000000000000000000000016010000\n\n"
		/* a VF whose PF comes after it: VF routing IDs are the PF's plus an offset */
		"P: /devices/pci0000:00/0000:00:03.0\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\nA: device=0x154c\\n\n"
		"L: physfn=../0000:00:05.0\n\n"
		"P: /devices/pci0000:00/0000:00:05.0\nE: SUBSYSTEM=pci\nA: vendor=0x8086\\n\nA: device=0x1572\\n\n"
		"A: sriov_totalvfs=4\\n\nA: sriov_vf_device=154c\\n\n";
	char tmp[512];
	char *out = NULL, *notes = NULL;
	struct vk_error e = {0};

	private_tmpdir(tmp, sizeof(tmp));
	cr_assert_eq(import_text(um, sizeof(um) - 1, &out, &notes, &e), 0, "%s", e.msg);
	cr_assert_not_null(strstr(notes, "0000:00:02.0/vendor: 0x8086, but its config space says 0x10de; recorded the "
	                                 "config space's"),
	                   "%s", notes);
	cr_assert_not_null(strstr(notes, "0000:00:03.0: left out its physfn, which the scenario refuses (physfn: VF "
	                                 "0000:00:03.0 must come after its PF"),
	                   "%s", notes);
	for (const char *a = "0000:00:02.0\0"
	                     "0000:00:03.0\0"
	                     "0000:00:05.0\0";
	     *a; a += strlen(a) + 1) {
		char want[64];
		snprintf(want, sizeof(want), "address: %s\n", a);
		cr_assert_not_null(strstr(out, want), "%s kept: %s", a, out);
	}
	cr_assert_null(strstr(out, "    physfn:"), "%s", out);
	cr_assert_eq(entries_of(tmp), 0);
	free(out);
	free(notes);
	vk_rm_rf(tmp);
}
