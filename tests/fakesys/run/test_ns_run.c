/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys run SCENARIO -- CMD`: unmodified programs (lspci, driverctl,
 * dpdk-devbind.py, a static binary, vfio-resolve) see the scenario at the real
 * paths; ordinary programs keep working; exit statuses propagate; and every
 * run leaves the host as it found it: the same mounts on /sys and /dev, the
 * same /sys/bus/pci/devices, no mount or process of the run left behind.
 * Run through need-fuse.sh (skipped without /dev/fuse); skipped here when
 * namespaces are not permitted.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/fakesys_run.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "testutil.h"

extern char **environ;

static char fakesys_bin[PATH_MAX];
static char scenario[PATH_MAX];
static char tmpdir[PATH_MAX]; /* --tmpdir of every run: must be empty after it */

static void setup(void)
{
	vk_bin("fakesys/fakesys", fakesys_bin, sizeof(fakesys_bin));
	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
	cr_assert_eq(vk_mkdtemp(tmpdir, sizeof(tmpdir)), 0);
}

static void teardown(void)
{
	rmdir(tmpdir);
}

TestSuite(ns_run, .init = setup, .fini = teardown, .timeout = 120);

/* Skip (with the reason) where this process may not create a mount namespace. */
static void need_namespaces(void)
{
	pid_t pid = fork();
	int ws;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int flags = geteuid() == 0 ? CLONE_NEWNS | CLONE_NEWPID : CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID;
		_exit(unshare(flags) == 0 ? 0 : errno);
	}
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		cr_skip_test("unshare(%s) is not permitted here (%s): fakesys run cannot work",
		             geteuid() == 0 ? "CLONE_NEWNS|CLONE_NEWPID" : "CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID",
		             strerror(WEXITSTATUS(ws)));
}

/* ---- the host, seen from outside ------------------------------------------------ */

/* Append @s to the growing string *@buf. */
static void append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *nb = realloc(*buf, *len + n + 1);
	cr_assert_not_null(nb);
	memcpy(nb + *len, s, n + 1);
	*buf = nb;
	*len += n;
}

/* The mountinfo lines of /sys, /dev, /proc and everything under them. */
static char *host_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mp[PATH_MAX];
	char *out = NULL;
	size_t len = 0;

	cr_assert_not_null(f);
	append(&out, &len, "");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (!strcmp(mp, "/sys") || !strcmp(mp, "/dev") || !strcmp(mp, "/proc") || !strncmp(mp, "/sys/", 5) ||
		    !strncmp(mp, "/dev/", 5) || !strncmp(mp, "/proc/", 6))
			append(&out, &len, line);
	}
	fclose(f);
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether @name in the real directory @path is a link into the real PCI
 * hierarchy (../../devices/pci0000:00/...), which fakesys run hides. */
static bool into_real_pci(const char *path, const char *name)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/%s", path, name);
	if ((n = readlink(link, target, sizeof(target) - 1)) < 0)
		return false;
	target[n] = '\0';
	return strstr(target, "devices/pci") != NULL;
}

/* Sorted names of directory @path, one per line; with @hide_pci, without the
 * links into the real PCI hierarchy; with @hide_cpus, without cpuN. */
static char *listing_of(const char *path, bool hide_pci, bool hide_cpus)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char *names[4096], *out = NULL;
	size_t n = 0, len = 0;

	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while ((e = readdir(d)) && n < 4096)
		if (e->d_name[0] != '.' && !(hide_pci && into_real_pci(path, e->d_name)) &&
		    !(hide_cpus && !strncmp(e->d_name, "cpu", 3) && e->d_name[3] >= '0' && e->d_name[3] <= '9'))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	append(&out, &len, "");
	for (size_t i = 0; i < n; i++) {
		append(&out, &len, names[i]);
		append(&out, &len, "\n");
		free(names[i]);
	}
	return out;
}

static char *listing(const char *path)
{
	return listing_of(path, false, false);
}

/* Whether /proc/self/mountinfo mentions @s anywhere. */
static bool mountinfo_mentions(const char *s)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	bool found = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, s))
			found = true;
	fclose(f);
	return found;
}

/* Whether a live (not zombie) process has @s in its command line. */
static bool process_mentions(const char *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char path[300], buf[8192], st[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		long n = vk_read_file(path, st, sizeof(st));
		char *paren = n > 0 ? strrchr(st, ')') : NULL;
		if (!paren || paren[2] == 'Z' || paren[2] == 'X')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, s))
			found = true;
	}
	closedir(d);
	return found;
}

/* Whether a live process (not this one) has the NAME=VALUE string @s in its
 * environment: what the run's processes, and everything they start, inherit. */
static bool process_has_env(const char *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	static char env[1 << 16];
	bool found = false;

	cr_assert_not_null(d);
	while ((e = readdir(d)) && !found) {
		char path[300];
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, env, sizeof(env) - 1);
		close(fd);
		for (char *p = env; n > 0 && p < env + n; p += strlen(p) + 1)
			if (!strcmp(p, s))
				found = true;
	}
	closedir(d);
	return found;
}

/* Whether a scratch directory of a run (fakesys-run.*) is in @dir. */
static bool scratch_left(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "fakesys-run.", 12))
			found = true;
	closedir(d);
	return found;
}

/* Bounded polling (10 s) until @pred(@arg) is false. */
static bool wait_gone(bool (*pred)(const char *), const char *arg)
{
	for (int i = 0; i < 1000; i++) {
		if (!pred(arg))
			return true;
		poll(NULL, 0, 10);
	}
	return false;
}

struct host_state {
	char *mounts, *pci;
};

static struct host_state host_snapshot(void)
{
	return (struct host_state){host_mounts(), listing("/sys/bus/pci/devices")};
}

/* The run left nothing behind and the host is as @before. */
static void assert_clean(struct host_state before)
{
	struct host_state now = host_snapshot();
	cr_assert_str_eq(now.mounts, before.mounts, "the host's /sys, /dev or /proc mounts changed");
	cr_assert_str_eq(now.pci, before.pci, "the host's /sys/bus/pci/devices changed");
	cr_assert(wait_gone(mountinfo_mentions, tmpdir), "a mount under %s is left in the host", tmpdir);
	cr_assert(wait_gone(process_mentions, tmpdir), "a process of the run (mentioning %s) is left", tmpdir);
	char *left = listing(tmpdir);
	cr_assert_str_eq(left, "", "the run's scratch directory is left in %s", tmpdir);
	free(left);
	free(now.mounts);
	free(now.pci);
	free(before.mounts);
	free(before.pci);
}

/* ---- running ---------------------------------------------------------------------- */

/* `fakesys run [OPT] --tmpdir TMPDIR SCENARIO -- CMD...`, checked clean after. */
static int run_opt(const char *opt, char *const cmd[], char *out, size_t outlen, char *err, size_t errlen)
{
	char *argv[64];
	int n = 0;

	argv[n++] = fakesys_bin;
	argv[n++] = "run";
	if (opt)
		argv[n++] = (char *)opt;
	argv[n++] = "--tmpdir";
	argv[n++] = tmpdir;
	argv[n++] = scenario;
	argv[n++] = "--";
	for (int i = 0; cmd[i] && n < 63; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	struct host_state before = host_snapshot();
	int rc = vk_run(argv, out, outlen, err, errlen);
	assert_clean(before);
	return rc;
}

static int run(char *const cmd[], char *out, size_t outlen, char *err, size_t errlen)
{
	return run_opt(NULL, cmd, out, outlen, err, errlen);
}

static struct vk_host_model *load_default(void)
{
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load(scenario, &m, &e), 0, "%s", e.msg);
	return m;
}

static void bdf(const struct vk_host_device *d, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%x", d->addr.domain, d->addr.bus, d->addr.slot, d->addr.function);
}

static bool is_model_device(const struct vk_host_model *m, const char *addr)
{
	char a[32];
	for (size_t i = 0; i < m->n_devices; i++) {
		bdf(&m->devices[i], a, sizeof(a));
		if (!strcmp(a, addr))
			return true;
	}
	return false;
}

/* Each line of @out that does not start with white space names a device of
 * @m at its start (up to the first blank), and every device of @m has one. */
static void assert_exactly_model_devices(const struct vk_host_model *m, const char *out, const char *what)
{
	size_t lines = 0;
	char *copy = strdup(out), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!*l || *l == '\t' || *l == ' ')
			continue;
		char addr[64];
		cr_assert_eq(sscanf(l, "%63s", addr), 1);
		cr_assert(is_model_device(m, addr), "%s shows %s, which the scenario does not have:\n%s", what, addr, out);
		lines++;
	}
	cr_assert_eq(lines, m->n_devices, "%s shows %zu devices, the scenario has %zu:\n%s", what, lines, m->n_devices,
	             out);
	free(copy);
}

/* ---- real programs ------------------------------------------------------------------ */

Test(ns_run, lspci_sees_the_scenario_not_the_host)
{
	static char out[1 << 16], err[8192];
	struct vk_host_model *m = load_default();

	need_namespaces();
	char *cmd[] = {"/usr/bin/lspci", "-Dnnk", NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "lspci failed: %s", err);
	assert_exactly_model_devices(m, out, "lspci -Dnnk");
	const char *gpu = strstr(out, "0000:01:00.0 ");
	cr_assert_not_null(gpu, "%s", out);
	cr_assert_not_null(strstr(gpu, "[10de:2204]"), "%s", out);
	cr_assert_not_null(strstr(gpu, "Kernel driver in use: vfio-pci"), "%s", out);
	vk_host_model_free(m);
}

Test(ns_run, static_binary_sees_the_scenario)
{
	static char out[1 << 14], outside[1 << 14], expect[1 << 14], err[4096];
	char bin[PATH_MAX];
	struct vk_host_model *m = load_default();
	size_t n = 0;

	need_namespaces();
	vk_bin("tests/fakesys/lsdevs_static", bin, sizeof(bin));
	for (size_t i = 0; i < m->n_devices; i++) {
		char a[32];
		bdf(&m->devices[i], a, sizeof(a));
		n += (size_t)snprintf(expect + n, sizeof(expect) - n, "%s %04x:%04x\n", a, m->devices[i].vendor,
		                      m->devices[i].device);
	}
	char *cmd[] = {bin, NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, expect);
	/* the same binary outside reads the host: the paths are the real ones */
	cr_assert_eq(vk_run(cmd, outside, sizeof(outside), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_neq(outside, expect, "the host looks like the scenario: this test proves nothing here");
	vk_host_model_free(m);
}

Test(ns_run, vfio_resolve_sees_the_fake_host_at_the_real_paths)
{
	static char out[1 << 14], err[4096];
	char bin[PATH_MAX];

	need_namespaces();
	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	char *cmd[] = {bin, "0000:01:00.0", NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s%s", out, err);
	cr_assert_not_null(strstr(out, "vfio0"), "%s", out);
	cr_assert_not_null(strstr(out, "/dev/vfio/devices/vfio0"), "%s", out);
}

static void need_program(const char *path, const char *package)
{
	if (access(path, X_OK) < 0)
		cr_skip_test("%s is not installed (apt-get install %s; setup.sh installs it)", path, package);
}

Test(ns_run, driverctl_lists_the_scenario)
{
	static char out[1 << 14], err[4096];
	struct vk_host_model *m = load_default();

	need_program("/usr/sbin/driverctl", "driverctl");
	need_namespaces();
	char *cmd[] = {"/usr/sbin/driverctl", "list-devices", NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	assert_exactly_model_devices(m, out, "driverctl list-devices");
	cr_assert_not_null(strstr(out, "0000:01:00.0 vfio-pci [*]\n"), "%s", out);
	cr_assert_not_null(strstr(out, "0000:02:00.0 nvme\n"), "%s", out);
	vk_host_model_free(m);
}

/*
 * Without --live the tree is read-only: driverctl's unbind fails with EROFS
 * and the device keeps its driver.  (vfio_pci, not vfio-pci: with the latter
 * driverctl first runs /sbin/modprobe, which reads the real kernel's
 * /lib/modules, not sysfs.)
 */
Test(ns_run, driverctl_set_override_is_refused_read_only)
{
	static char out[1 << 14], err[4096];

	need_program("/usr/sbin/driverctl", "driverctl");
	need_namespaces();
	char *cmd[] = {"/bin/sh", "-c",
	               "/usr/sbin/driverctl --nosave set-override 0000:02:00.0 vfio_pci; echo \"rc=$?\"; "
	               "/usr/sbin/driverctl list-devices",
	               NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_null(strstr(out, "rc=0\n"), "set-override succeeded on a read-only tree:\n%s", out);
	cr_assert_not_null(strstr(err, "Read-only file system"), "%s", err);
	cr_assert_not_null(strstr(out, "0000:02:00.0 nvme\n"), "%s", out);
}

Test(ns_run, dpdk_devbind_status_and_bind)
{
	static char out[1 << 15], err[1 << 15];

	need_program("/usr/bin/dpdk-devbind.py", "dpdk");
	need_namespaces();
	char *status[] = {"/usr/bin/dpdk-devbind.py", "--status-dev", "net", NULL};
	cr_assert_eq(run(status, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(strstr(out, "0000:81:02.1 'Ethernet Virtual Function 700 Series 154c' drv=vfio-pci"), "%s",
	                   out);
	cr_assert_not_null(strstr(out, "0000:81:00.0 'Ethernet Controller X710 for 10GbE SFP+ 1572' if= drv=i40e"),
	                   "%s", out);
	/* binding writes sysfs: refused (read-only tree) */
	char *bind[] = {"/usr/bin/dpdk-devbind.py", "--bind=vfio-pci", "0000:81:00.0", NULL};
	cr_assert_neq(run(bind, out, sizeof(out), err, sizeof(err)), 0, "%s", out);
	cr_assert_not_null(strstr(err, "Read-only file system"), "%s", err);
}

/* With --live, writes act as the kernel does: driverctl moves a VF to iavf. */
Test(ns_run, driverctl_set_override_live)
{
	static char out[1 << 14], err[4096];

	need_program("/usr/sbin/driverctl", "driverctl");
	need_namespaces();
	char *cmd[] = {"/bin/sh", "-c",
	               "/usr/sbin/driverctl --nosave set-override 0000:81:02.1 iavf && "
	               "/usr/sbin/driverctl list-devices && readlink /sys/bus/pci/devices/0000:81:02.1/driver",
	               NULL};
	cr_assert_eq(run_opt("--live", cmd, out, sizeof(out), err, sizeof(err)), 0, "%s%s", out, err);
	cr_assert_not_null(strstr(out, "0000:81:02.1 iavf [*]\n"), "%s", out);
	cr_assert_not_null(strstr(out, "drivers/iavf\n"), "%s", out);
}

/* With --live, dpdk-devbind.py binds a NIC to vfio-pci and its cdev appears. */
Test(ns_run, dpdk_devbind_bind_live)
{
	static char out[1 << 15], err[1 << 15];

	need_program("/usr/bin/dpdk-devbind.py", "dpdk");
	need_namespaces();
	char *cmd[] = {"/bin/sh", "-c",
	               "/usr/bin/dpdk-devbind.py --bind=vfio-pci 0000:81:00.0 && "
	               "/usr/bin/dpdk-devbind.py --status-dev net && ls /sys/bus/pci/devices/0000:81:00.0/vfio-dev && "
	               "ls /dev/vfio/devices",
	               NULL};
	cr_assert_eq(run_opt("--live", cmd, out, sizeof(out), err, sizeof(err)), 0, "%s%s", out, err);
	const char *dpdk = strstr(out, "using DPDK-compatible driver");
	const char *kern = strstr(out, "using kernel driver");
	const char *nic = strstr(out, "0000:81:00.0 'Ethernet Controller X710 for 10GbE SFP+ 1572' drv=vfio-pci");
	cr_assert(dpdk && kern && nic && dpdk < nic && nic < kern, "%s", out);
	/* a new cdev: the device's vfio-dev entry and its node in /dev */
	const char *ent = strstr(kern, "\nvfio");
	cr_assert_not_null(ent, "%s", out);
	char name[32];
	cr_assert_eq(sscanf(ent + 1, "%31s", name), 1);
	char node[64];
	snprintf(node, sizeof(node), "\n%s\n", name);
	cr_assert_not_null(strstr(ent + 1 + strlen(name), node), "%s not in /dev/vfio/devices:\n%s", name, out);
}

/* ---- ordinary programs ----------------------------------------------------------------- */

Test(ns_run, unmodelled_parts_keep_working)
{
	static char out[1 << 15], err[4096];

	need_namespaces();
	char *cmd[] = {"/bin/sh", "-c",
	               "cat /dev/null && echo x > /dev/null && head -c 4 /dev/urandom >/dev/null && "
	               "test -d /dev/pts && test -d /dev/shm && test -d /sys/fs/cgroup && "
	               "ls /sys/devices/system/cpu >/dev/null && echo ok && echo '--net' && ls /sys/class/net",
	               NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strncmp(out, "ok\n--net\n", 9), 0, "%s", out);
	/* the host's interfaces but those of its PCI functions: the PCI
	 * hierarchy is the scenario's (docs/architecture.md) */
	char *net = listing_of("/sys/class/net", true, false);
	cr_assert_str_eq(out + 9, net, "/sys/class/net differs inside");
	free(net);

	/* the host's CPU directory but its CPUs: the scenario's 8 (an Intel
	 * IOMMU's host has Intel CPUs, 4 per NUMA node by default) */
	char *cpu[] = {"/bin/sh", "-c", "ls /sys/devices/system/cpu | grep -v '^cpu[0-9]'; echo --; ls -d "
	                                "/sys/devices/system/cpu/cpu[0-9]*",
	               NULL};
	cr_assert_eq(run(cpu, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	char *real = listing_of("/sys/devices/system/cpu", false, true);
	char want[8192];
	snprintf(want, sizeof(want), "%s--\n", real);
	for (int i = 0; i < 8; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "/sys/devices/system/cpu/cpu%d\n", i);
	cr_assert_str_eq(out, want);
	free(real);
}

Test(ns_run, proc_cmdline_and_dev_nodes_are_the_scenarios)
{
	static char out[1 << 14], err[4096];
	struct vk_host_model *m = load_default();

	need_namespaces();
	char *cmd[] = {"/bin/sh", "-c", "cat /proc/cmdline; head -c 22 /dev/vfio/devices/vfio0; echo; "
	                                "test -e /dev/iommu && echo iommu",
	               NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	char expect[4096];
	snprintf(expect, sizeof(expect), "%s\nVFIOKIT-STANDIN-CHRDEV\niommu\n", m->cmdline);
	cr_assert_str_eq(out, expect);
	vk_host_model_free(m);
}

Test(ns_run, the_new_sys_is_read_only_and_dev_writes_stay_inside)
{
	static char out[4096], err[4096];

	need_namespaces();
	char *cmd[] = {"/bin/sh", "-c", "touch /sys/fakesys-probe 2>/dev/null && echo sys-writable; "
	                                "touch /dev/fakesys-probe && echo dev-private",
	               NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "dev-private\n");
	cr_assert_eq(access("/dev/fakesys-probe", F_OK), -1, "a file made in the namespace's /dev reached the host");
}

/* Whether the host's sysfs superblock is mounted read-write at /sys: then a
 * superblock remount to rw changes nothing on the host even if it succeeded,
 * and the test may try it. */
static bool host_sysfs_is_rw(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mp[PATH_MAX];
	bool rw = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - sysfs ");
		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strcmp(mp, "/sys")) {
			const char *opts = strchr(sep + 9, ' ');
			rw = opts && !strncmp(opts + 1, "rw", 2);
		}
	}
	fclose(f);
	return rw;
}

/*
 * Issue #22: a root command could remount the real sysfs entries of the new
 * /sys read-write, or unmount the new /sys and reach the real one.  Every way
 * is tried inside (each prints DID: when it worked), then whether a real
 * sysfs file and the host's /proc control files can be opened for writing
 * (": >>" opens O_WRONLY|O_APPEND and writes nothing, so the host is not
 * changed even if it could).
 */
static void assert_sys_cannot_be_reached(const char *opt)
{
	static char out[8192], err[8192];
	static const char script[] =
		"r() { \"$@\" 2>/dev/null && echo \"DID: $*\"; }\n"
		"r mount -o remount,bind,rw /sys/fs\n"
		"[ \"$1\" = 1 ] && r mount -o remount,rw /sys/fs\n"
		"r umount /sys/fs\n"
		"r umount -l /sys\n"
		"mkdir -p /dev/.fakesys-probe\n"
		"r mount -t sysfs sysfs /dev/.fakesys-probe\n"
		"r mount -t proc proc /dev/.fakesys-probe\n"
		"if command -v unshare >/dev/null; then unshare -r -m sh -c '"
		"umount -l /sys 2>/dev/null && echo \"DID: umount -l /sys in a new user namespace\"; "
		"mount -o remount,bind,rw /sys/fs 2>/dev/null && echo \"DID: remount in a new user namespace\"; "
		":' 2>/dev/null; fi\n"
		"for f in /sys/class/net/lo/mtu /proc/sys/kernel/hostname /proc/sysrq-trigger; do\n"
		"  [ -e \"$f\" ] && (: >> \"$f\") 2>/dev/null && echo \"WRITABLE: $f\"\n"
		"done\n"
		"awk '$5 == \"/sys/fs\" { split($6, o, \",\"); print \"/sys/fs \" o[1]; exit }' "
		"/proc/self/mountinfo\n"
		"echo done\n";
	char *cmd[] = {"/bin/sh", "-c", (char *)script, "sh", host_sysfs_is_rw() ? "1" : "0", NULL};

	int rc = run_opt(opt, cmd, out, sizeof(out), err, sizeof(err));
	if (rc == 125 && strstr(err, "user, mount and PID namespace"))
		cr_skip_test("user namespaces are not permitted here: %s", err);
	cr_assert_eq(rc, 0, "%s%s", out, err);
	cr_assert_str_eq(out, "/sys/fs ro\ndone\n", "%s: the command reached the real /sys:\n%s",
	                 opt ? opt : "default", out);
}

Test(ns_run, the_command_cannot_uncover_or_remount_the_real_sys)
{
	need_namespaces();
	if (access("/bin/mount", X_OK) < 0 && access("/usr/bin/mount", X_OK) < 0)
		cr_skip_test("mount (util-linux) is missing: nothing to try");
	assert_sys_cannot_be_reached(NULL);
	if (geteuid() == 0)
		assert_sys_cannot_be_reached("--userns");
}

/* The command is PID 2 of a PID namespace of its own (the init is fakesys),
 * with that namespace's /proc: no host process is in sight. */
Test(ns_run, the_command_has_its_own_pid_namespace_and_proc)
{
	static char out[8192], err[4096];
	char me[32], expect[PATH_MAX + 64], exe[PATH_MAX];

	need_namespaces();
	snprintf(me, sizeof(me), "/proc/%d", (int)getpid());
	char script[512];
	snprintf(script, sizeof(script),
	         "echo $$; readlink /proc/1/exe; test -e %s && echo 'host process visible'; "
	         "awk '$5 == \"/proc/sys\" { split($6, o, \",\"); print \"/proc/sys \" o[1]; exit }' /proc/self/mountinfo",
	         me);
	char *cmd[] = {"/bin/sh", "-c", script, NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(realpath(fakesys_bin, exe));
	snprintf(expect, sizeof(expect), "2\n%s\n/proc/sys ro\n", exe);
	cr_assert_str_eq(out, expect);
}

/* In a user namespace the kernel refuses a new procfs where parts of the
 * inherited /proc are masked (as container runtimes do): the run fails with
 * 125 and the reason, and leaves nothing behind. */
Test(ns_run, a_masked_proc_fails_the_run_in_a_user_namespace)
{
	char err[4096];
	static const char *const masks[] = {"/proc/kcore", "/proc/timer_list", "/proc/uptime"};
	const char *mask = NULL;

	if (geteuid() != 0)
		cr_skip_test("not root: cannot mask a /proc file here");
	need_namespaces();
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]) && !mask; i++)
		if (access(masks[i], F_OK) == 0)
			mask = masks[i];
	cr_assert_not_null(mask);
	/* this test's process only: a mount namespace of its own */
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "%s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	cr_assert_eq(mount("/dev/null", mask, NULL, MS_BIND, NULL), 0, "bind /dev/null on %s: %s", mask,
	             strerror(errno));
	char *cmd[] = {"/bin/true", NULL};
	int rc = run_opt("--userns", cmd, NULL, 0, err, sizeof(err));
	if (rc == 125 && strstr(err, "user, mount and PID namespace"))
		cr_skip_test("user namespaces are not permitted here: %s", err);
	cr_assert_eq(rc, 125, "%s", err);
	cr_assert_not_null(strstr(err, "mounting a /proc for the command's PID namespace"), "%s", err);
}

/* ---- exit statuses and cleanup ----------------------------------------------------------- */

/*
 * A command found in no directory of PATH is 127 only when every directory
 * could be searched: execvp() reports EACCES (126, as env(1)) when one could
 * not, and an ordinary user's PATH may name one (runuser keeps root's PATH,
 * with /root/.cargo/bin).  This test's commands get a PATH of system
 * directories.
 */
static void searchable_path(void)
{
	cr_assert_eq(setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1), 0);
}

Test(ns_run, exit_status_is_the_commands)
{
	char err[4096];

	need_namespaces();
	char *ok[] = {"/bin/true", NULL};
	cr_assert_eq(run(ok, NULL, 0, err, sizeof(err)), 0, "%s", err);
	char *three[] = {"/bin/sh", "-c", "exit 3", NULL};
	cr_assert_eq(run(three, NULL, 0, err, sizeof(err)), 3, "%s", err);
	char *killed[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
	cr_assert_eq(run(killed, NULL, 0, err, sizeof(err)), 128 + SIGKILL, "%s", err);
	char *missing[] = {"fakesys-no-such-command", NULL};
	searchable_path();
	cr_assert_eq(run(missing, NULL, 0, err, sizeof(err)), 127, "%s", err);
	cr_assert_not_null(strstr(err, "fakesys-no-such-command"), "%s", err);
	/* a file without execute permission: 126 */
	char dir[PATH_MAX], file[PATH_MAX + 16];
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(file, sizeof(file), "%s/data", dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	char *noexec[] = {file, NULL};
	int rc = run(noexec, NULL, 0, err, sizeof(err));
	unlink(file);
	rmdir(dir);
	cr_assert_eq(rc, 126, "%s", err);
}

Test(ns_run, bad_scenario_fails_before_anything_runs)
{
	char err[4096], bad[PATH_MAX + 32];

	snprintf(bad, sizeof(bad), "%s/missing.yaml", tmpdir);
	char *argv[] = {fakesys_bin, "run", "--tmpdir", tmpdir, bad, "--", "/bin/true", NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 125, "%s", err);
	cr_assert_not_null(strstr(err, "missing.yaml"), "%s", err);
	char *usage[] = {fakesys_bin, "run", scenario, NULL};
	cr_assert_eq(vk_run(usage, NULL, 0, err, sizeof(err)), 2, "%s", err);
}

/* The command exits while children it started still run: they end with it
 * (its PID namespace ends with its init), however they detach. */
Test(ns_run, background_processes_of_the_command_are_ended)
{
	static char mark[128];
	char out[256], err[4096];

	need_namespaces();
	snprintf(mark, sizeof(mark), "FAKESYS_NS_RUN_MARK=%d.%ld", (int)getpid(), (long)time(NULL));
	cr_assert_eq(putenv(mark), 0);
	char *cmd[] = {"/bin/sh", "-c", "sleep 1000 & setsid sleep 1000 & (sleep 1000 &) ; echo started", NULL};
	cr_assert_eq(run(cmd, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "started\n");
	cr_assert(wait_gone(process_has_env, mark), "a background process of the command outlived the run");
}

/* Start `fakesys run ... -- sh -c 'touch MARK; exec sleep 1000'`, wait until
 * the command runs, send @sig to fakesys and reap it; *before receives the
 * host as it was before the start.  Returns fakesys's wait status. */
static int start_and_signal_fakesys(int sig, struct host_state *before)
{
	char marks[PATH_MAX], mark[PATH_MAX + 16], script[PATH_MAX + 64];
	pid_t pid;
	int ws;

	cr_assert_eq(vk_mkdtemp(marks, sizeof(marks)), 0);
	snprintf(mark, sizeof(mark), "%s/started", marks);
	snprintf(script, sizeof(script), "touch %s; exec sleep 1000", mark);
	char *argv[] = {fakesys_bin, "run", "--tmpdir", tmpdir, scenario, "--", "/bin/sh", "-c", script, NULL};
	*before = host_snapshot();
	cr_assert_eq(posix_spawn(&pid, fakesys_bin, NULL, NULL, argv, environ), 0);
	for (int i = 0; i < 1000 && access(mark, F_OK) < 0; i++)
		poll(NULL, 0, 10);
	cr_assert_eq(access(mark, F_OK), 0, "the command did not start");
	cr_assert_eq(kill(pid, sig), 0);
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	unlink(mark);
	rmdir(marks);
	return ws;
}

/* start_and_signal_fakesys(), then the host must be as before; return
 * fakesys's exit status. */
static int signal_fakesys(int sig)
{
	struct host_state before;
	int ws = start_and_signal_fakesys(sig, &before);

	assert_clean(before);
	cr_assert(WIFEXITED(ws), "fakesys itself was killed by signal %d", WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	return WEXITSTATUS(ws);
}

Test(ns_run, sigterm_to_fakesys_ends_the_command_and_cleans_up)
{
	need_namespaces();
	cr_assert_eq(signal_fakesys(SIGTERM), 128 + SIGTERM);
}

Test(ns_run, sigint_to_fakesys_ends_the_command_and_cleans_up)
{
	need_namespaces();
	cr_assert_eq(signal_fakesys(SIGINT), 128 + SIGINT);
}

/* SIGKILL cannot be caught: the namespace side gets parent-death signals
 * (its init's end kills the rest) and the guard ends the server and removes
 * the scratch directory.  (tests/reliability/test_ns_run_kill.c has more.) */
Test(ns_run, sigkill_to_fakesys_still_ends_the_mount_and_the_command)
{
	struct host_state before;

	need_namespaces();
	start_and_signal_fakesys(SIGKILL, &before);
	cr_assert(wait_gone(mountinfo_mentions, tmpdir), "the FUSE mount outlived a killed fakesys");
	cr_assert(wait_gone(process_mentions, tmpdir), "a process outlived a killed fakesys");
	cr_assert(wait_gone(scratch_left, tmpdir), "the scratch directory outlived a killed fakesys");
	assert_clean(before);
}

/* ---- the library call -------------------------------------------------------------------- */

static struct vtree *default_tree(void)
{
	struct vk_host_model *m = load_default();
	struct vtree *t = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_tree_build(m, &t, &e), 0, "%s", e.msg);
	vk_host_model_free(m);
	return t;
}

Test(ns_run, library_call_returns_the_status_and_leaks_no_fd)
{
	struct vtree *t = default_tree();
	struct vk_fakesys_run_opts o = {.tmpdir = tmpdir};
	struct vk_error e = {0};
	int status = -1;

	need_namespaces();
	int fds = vk_fd_count();
	struct host_state before = host_snapshot();
	char *cmd[] = {"/bin/sh", "-c", "test -e /sys/bus/pci/devices/0000:01:00.0 && exit 5", NULL};
	cr_assert_eq(vk_fakesys_run(t, cmd, &o, &status, &e), 0, "%s", e.msg);
	cr_assert_eq(status, 5);
	char *missing[] = {"fakesys-no-such-command", NULL};
	searchable_path();
	cr_assert_eq(vk_fakesys_run(t, missing, &o, &status, &e), -ENOENT, "%s", e.msg);
	cr_assert_eq(status, 127);
	cr_assert_not_null(strstr(e.msg, "fakesys-no-such-command"), "%s", e.msg);
	char *none[] = {NULL};
	cr_assert_eq(vk_fakesys_run(t, none, &o, &status, &e), -EINVAL);
	cr_assert_eq(status, 125);
	assert_clean(before);
	cr_assert_eq(vk_fd_count(), fds, "FDs leaked");
	vk_vtree_free(t);
}

/* ---- user namespaces ------------------------------------------------------------------------ */

Test(ns_run, user_namespace_path_as_root)
{
	static char out[1 << 14], err[4096];

	if (geteuid() != 0)
		cr_skip_test("not root: every other test here already used the user-namespace path");
	need_namespaces();
	char *cmd[] = {"/bin/sh", "-c", "cat /dev/null && /usr/bin/lspci -n -s 01:00.0", NULL};
	int rc = run_opt("--userns", cmd, out, sizeof(out), err, sizeof(err));
	if (rc == 125 && strstr(err, "user, mount and PID namespace"))
		cr_skip_test("user namespaces are not permitted here: %s", err);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_not_null(strstr(out, "10de:2204"), "%s", out);
}

Test(ns_run, unprivileged_user)
{
	static char out[1 << 14], err[4096];
	char bin[PATH_MAX];
	pid_t pid;
	int ws;

	if (geteuid() != 0)
		cr_skip_test("not root: every other test here already ran unprivileged");
	need_namespaces();
	if (access("/usr/bin/setpriv", X_OK) < 0)
		cr_skip_test("setpriv (util-linux) is missing: cannot drop to nobody");
	vk_bin("tests/fakesys/lsdevs_static", bin, sizeof(bin));
	/* can nobody reach the build tree and the scenario at all? */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		_exit(access(fakesys_bin, X_OK) == 0 && access(bin, X_OK) == 0 && access(scenario, R_OK) == 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		cr_skip_test("uid 65534 cannot read the build tree or the scenario");
	cr_assert_eq(chown(tmpdir, 65534, 65534), 0);

	/* fakesys makes itself root of a user namespace (only uid 65534 mapped,
	 * as 0: nobody has no subordinate ids), so the command reads the root-owned
	 * 0600 stand-in as the scenario's root would (vk_fakesys_userns_enter()) */
	char *argv[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", fakesys_bin, "run",
	                "--tmpdir", tmpdir, scenario, "--", "/bin/sh", "-c",
	                "id -u; cat /dev/null && ls /sys/bus/pci/devices/0000:01:00.0/vfio-dev && "
	                "stat -c '%u %a' /dev/vfio/devices/vfio0 && head -c 22 /dev/vfio/devices/vfio0",
	                NULL};
	struct host_state before = host_snapshot();
	int rc = vk_run(argv, out, sizeof(out), err, sizeof(err));
	assert_clean(before);
	if (rc == 125 && strstr(err, "user, mount and PID namespace"))
		cr_skip_test("unprivileged user namespaces are not permitted here: %s", err);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_str_eq(out, "0\nvfio0\n0 600\nVFIOKIT-STANDIN-CHRDEV");
}
