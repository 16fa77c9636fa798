/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the live-mount tests (test_fuse_faults/log/control/live.c): a
 * scenario given as text, mounted through the `fakesys` CLI, the control
 * channel spoken through open/write/read as any program would.
 */
#ifndef VK_LIVE_UTIL_H
#define VK_LIVE_UTIL_H

#include <dirent.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* A small passthrough host: a root port, a GPU and its audio function on
 * vfio-pci (group 1: vfio0, vfio1), an NVMe disk on nvme (group 2), and an
 * SR-IOV NIC PF on i40e with no VFs (group 3). */
#define LIVE_HOST \
	"version: 1\n" \
	"kernel: {iommu: intel, vfio_device_cdev: true, iommufd: true,\n" \
	"         modules: [vfio, vfio_pci, vfio_pci_core, iommufd, nvme, i40e]}\n" \
	"devices:\n" \
	"  - {address: 0000:00:01.0, vendor: 0x8086, device: 0x2030, driver: pcieport}\n" \
	"  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 0x10de, device: 0x2204, class: 0x030000,\n" \
	"     driver: vfio-pci, driver_override: vfio-pci, iommu_group: 1}\n" \
	"  - {address: 0000:01:00.1, parent: 0000:00:01.0, vendor: 0x10de, device: 0x1aef, class: 0x040300,\n" \
	"     driver: vfio-pci, iommu_group: 1}\n" \
	"  - {address: 0000:02:00.0, vendor: 0x144d, device: 0xa808, driver: nvme, iommu_group: 2}\n" \
	"  - {address: 0000:03:00.0, vendor: 0x8086, device: 0x1572, driver: i40e, iommu_group: 3,\n" \
	"     sriov: {totalvfs: 4, vf_device: 0x154c}}\n"

static char live_scen_dir[PATH_MAX];
static char live_mnt[PATH_MAX]; /* the mount to undo in live_cleanup() */

/* Mount @yaml (written to a fresh scenario file) with `fakesys mount EXTRA...`
 * on a fresh directory @mnt; returns the exit status of fakesys. */
static inline int live_mount(const char *yaml, const char *const *extra, char *mnt, size_t len)
{
	char bin[PATH_MAX], scen[PATH_MAX + 32], err[4096];
	char *argv[16];
	int n = 0;

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	cr_assert_eq(vk_mkdtemp(live_scen_dir, sizeof(live_scen_dir)), 0);
	snprintf(scen, sizeof(scen), "%s/scenario.yaml", live_scen_dir);
	FILE *f = fopen(scen, "we");
	cr_assert_not_null(f);
	fputs(yaml, f);
	fclose(f);
	cr_assert_eq(vk_mkdtemp(mnt, len), 0);
	argv[n++] = bin;
	argv[n++] = "mount";
	for (size_t i = 0; extra && extra[i] && n < 12; i++)
		argv[n++] = (char *)extra[i];
	argv[n++] = scen;
	argv[n++] = mnt;
	argv[n] = NULL;
	int rc = vk_run(argv, NULL, 0, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fakesys mount failed (%d): %s\n", rc, err);
	else
		snprintf(live_mnt, sizeof(live_mnt), "%s", mnt);
	return rc;
}

/* live_mount() with the daemon's stderr (its sanitizer reports: the leak
 * check before it ends) going to @log, and LSAN_OPTIONS @lsan (NULL: as
 * they are) for the daemon; the test's own environment is restored. */
static inline int live_mount_reporting(const char *yaml, const char *const *extra, char *mnt, size_t len,
                                       const char *log, const char *lsan)
{
	const char *names[] = {"FAKESYS_DAEMON_STDERR", "LSAN_OPTIONS"};
	const char *values[] = {log, lsan};
	char *saved[2];

	for (int i = 0; i < 2; i++) {
		saved[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;
		if (values[i])
			setenv(names[i], values[i], 1);
	}
	int rc = live_mount(yaml, extra, mnt, len);
	for (int i = 0; i < 2; i++) {
		if (saved[i])
			setenv(names[i], saved[i], 1);
		else
			unsetenv(names[i]);
		free(saved[i]);
	}
	return rc;
}

/* The sanitizer report in the daemon log @log, or "" (into @buf). */
static inline const char *live_daemon_report(const char *log, char *buf, size_t len)
{
	buf[0] = '\0';
	vk_read_file(log, buf, len);
	return strstr(buf, "ERROR: LeakSanitizer") || strstr(buf, "ERROR: AddressSanitizer") ||
	                       strstr(buf, "runtime error")
	               ? buf
	               : "";
}

/* live_mount() of LIVE_HOST with a @section: list of @items (YAML list items)
 * appended, none when @items is NULL; it must mount. */
static inline void live_mount_host_with(const char *section, const char *items, const char *const *extra, char *mnt,
                                        size_t len)
{
	char yaml[8192];
	int n = snprintf(yaml, sizeof(yaml), "%s%s%s%s", LIVE_HOST, items ? section : "", items ? ":\n" : "",
	                 items ? items : "");

	cr_assert_lt(n, (int)sizeof(yaml), "the scenario does not fit in %zu bytes", sizeof(yaml));
	cr_assert_eq(live_mount(yaml, extra, mnt, len), 0, "mounting LIVE_HOST with %s:\n%s", section,
	             items ? items : "(none)");
}

/* `fakesys mount -f -d ... MNT` (@argv, its last word the mountpoint @mnt)
 * with libfuse's request trace (stderr) into @trace, once it has written
 * @pidfile: the mount is then live_cleanup()'s.  Returns the server's PID. */
static inline pid_t live_spawn_traced(char *const argv[], const char *trace, const char *pidfile, const char *mnt)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, trace, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 500 && access(pidfile, F_OK) < 0; i++)
		usleep(10000);
	cr_assert_eq(access(pidfile, F_OK), 0, "the server did not mount");
	snprintf(live_mnt, sizeof(live_mnt), "%s", mnt);
	return pid;
}

/* Unmount (lazily if something still holds it) and remove the directories. */
/* On stderr, this process's FDs on files under @mnt (why an unmount is refused). */
static inline void live_print_fds_under(const char *mnt)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t len = strlen(mnt);

	while (d && (e = readdir(d))) {
		char link[300], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, mnt, len))
			fprintf(stderr, "live_umount: this process holds fd %s on %s\n", e->d_name, target);
	}
	if (d)
		closedir(d);
}

static inline void live_umount(const char *mnt)
{
	if (vk_umount(mnt) != 0) {
		live_print_fds_under(mnt);
		char *argv[] = {(char *)"/usr/bin/fusermount3", (char *)"-u", (char *)"-z", (char *)mnt, NULL};
		vk_run(argv, NULL, 0, NULL, 0);
		rmdir(mnt);
	}
	if (live_scen_dir[0])
		vk_rm_rf(live_scen_dir);
	live_scen_dir[0] = '\0';
	live_mnt[0] = '\0';
}

static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Whether something is mounted at @path (/proc/self/mountinfo). */
static inline bool live_mounted(const char *path)
{
	char line[8192], mp[PATH_MAX];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strcmp(mp, path))
			found = true;
	fclose(f);
	return found;
}

/* Wait (bounded) until nothing is mounted at @path: whether it went. */
static inline bool live_wait_unmounted(const char *path, int ms)
{
	for (double end = now_ms() + ms; live_mounted(path); poll(NULL, 0, 10))
		if (now_ms() > end)
			return false;
	return true;
}

/* After the mount went away by itself (unmounted by the test, its server
 * ended): remove the directories. */
static inline void live_forget(const char *mnt)
{
	rmdir(mnt);
	if (live_scen_dir[0])
		vk_rm_rf(live_scen_dir);
	live_scen_dir[0] = '\0';
	live_mnt[0] = '\0';
}

/* A suite's .fini: undo a mount a failed assertion left behind. */
static inline void live_cleanup(void)
{
	if (live_mnt[0]) {
		char m[PATH_MAX];
		snprintf(m, sizeof(m), "%s", live_mnt);
		live_umount(m);
	}
}

/* "<mnt>/<rel>" into a static buffer (one at a time). */
static inline const char *P(const char *mnt, const char *rel)
{
	static char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s/%s", mnt, rel);
	return buf;
}

/* The target of the link <mnt>/<rel> must contain @want. */
static inline void link_target_has(const char *mnt, const char *rel, const char *want)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(P(mnt, rel), buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0, "%s: %s", rel, strerror(errno));
	buf[n] = '\0';
	cr_assert(strstr(buf, want), "%s -> %s, expected ...%s", rel, buf, want);
}

/* The errno of open(@path, @flags), 0 when it opens (closed again). */
static inline int open_errno_at(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Write @cmd to the control channel and read the answer into @out; returns
 * 0 or -errno of the write. */
static inline int live_ctl(const char *mnt, const char *cmd, char *out, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/.fakesys/control", mnt);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	ssize_t w = write(fd, cmd, strlen(cmd));
	int r = w < 0 ? -errno : 0;
	ssize_t n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return r;
}

/* As another user than root: make the sysfs files @rels (NULL-terminated)
 * writable for everyone through the control channel (their owner is root,
 * mode 0200, as on a real host), so that a test of what a write does runs as
 * any user.  Nothing as root. */
static inline void live_writable_for_all(const char *mnt, const char *const *rels)
{
	char cmd[PATH_MAX + 32], out[512];

	if (geteuid() == 0)
		return;
	for (size_t i = 0; rels[i]; i++) {
		snprintf(cmd, sizeof(cmd), "chmod %s 0666\n", rels[i]);
		cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), 0, "%s: %s", cmd, out);
	}
}

/* ---- processes with a time limit (a hang must fail a test, not hang it) ---- */

/* Wait at most @ms for process @pid (any, not only a child) to end: true
 * when it did.  A pidfd turns readable at exit; without one (ENOSYS) the
 * wait polls kill(pid, 0), which a zombie still passes. */
static inline bool live_wait_gone(pid_t pid, int ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	double end = now_ms() + ms;

	if (fd < 0) {
		if (errno != ENOSYS)
			return errno == ESRCH;
		while (kill(pid, 0) == 0 && now_ms() < end)
			poll(NULL, 0, 10);
		return kill(pid, 0) < 0;
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, (int)(end - now_ms() > 0 ? end - now_ms() : 0));
	while (n < 0 && errno == EINTR);
	close(fd);
	return n > 0;
}

/* Start @argv[0] with @argv; its stdout and stderr go to @outfile (NULL:
 * /dev/null).  Returns the child's pid. */
static inline pid_t live_spawn(char *const argv[], const char *outfile)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = outfile ? open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
		                 : open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * Wait at most @ms for child @pid; returns its exit status (0..255, 128 + N
 * when signal N killed it), or -1 when it was still running then (it is
 * killed and reaped).  *@took (may be NULL) receives the ms it took.
 */
static inline int live_wait_child(pid_t pid, int ms, double *took)
{
	double t0 = now_ms();
	bool done = live_wait_gone(pid, ms);
	int status = 0;

	if (took)
		*took = now_ms() - t0;
	if (!done) {
		kill(pid, SIGKILL);
		/* not reaped if even SIGKILL cannot end it (a request the server
		 * never answers): waitpid() would hang the test */
		if (live_wait_gone(pid, 2000))
			waitpid(pid, &status, 0);
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* live_spawn() and live_wait_child() of @argv, its output read back into
 * @out (NUL-terminated, may be NULL). */
static inline int live_run_bounded(char *const argv[], int ms, char *out, size_t len, double *took)
{
	char dir[PATH_MAX], file[PATH_MAX + 16];

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(file, sizeof(file), "%s/out", dir);
	int rc = live_wait_child(live_spawn(argv, file), ms, took);
	if (out && len) {
		out[0] = '\0';
		vk_read_file(file, out, len);
	}
	vk_rm_rf(dir);
	return rc;
}

#endif
