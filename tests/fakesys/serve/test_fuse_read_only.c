/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys mount --read-only` (fakesys_mount_opts.read_only): a read-only
 * superblock.  Writes fail with EROFS before they reach the server, stand-ins
 * included; the live mode is refused with it; and a read does not make the
 * kernel fetch the file's attributes again (on a writable FUSE superblock
 * fs/fuse/dir.c fuse_invalidate_atime() marks them stale after every read,
 * so a stat after a read is a GETATTR: the cost of a second walk, issue #17).
 * The GETATTRs are counted in the server's own request trace (-f -d).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

static char fakesys_bin[PATH_MAX], scenario[PATH_MAX], work[PATH_MAX], mnt[PATH_MAX + 8];

static void setup(void)
{
	if (!vk_have_fuse())
		cr_skip_test("/dev/fuse is not usable here");
	vk_bin("fakesys/fakesys", fakesys_bin, sizeof(fakesys_bin));
	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
	cr_assert_eq(vk_mkdtemp(work, sizeof(work)), 0);
	snprintf(mnt, sizeof(mnt), "%s/mnt", work);
	cr_assert_eq(mkdir(mnt, 0755), 0);
}

static void teardown(void)
{
	vk_rm_rf(work);
}

TestSuite(fuse_read_only, .init = setup, .fini = teardown, .timeout = 60);

static void mount_ro(void)
{
	char err[4096];
	char *argv[] = {fakesys_bin, "mount", "--read-only", scenario, mnt, NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 0, "%s", err);
}

static void umount_it(void)
{
	char err[4096];
	char *argv[] = {fakesys_bin, "umount", mnt, NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 0, "%s", err);
}

/* Whether anything is mounted on mnt (in this mount namespace). */
static bool mounted(void)
{
	char buf[1 << 16] = "", want[PATH_MAX + 16];

	vk_read_file("/proc/self/mountinfo", buf, sizeof(buf));
	snprintf(want, sizeof(want), " %s ", mnt);
	return strstr(buf, want) != NULL;
}

static int open_errno(const char *rel, int flags)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

Test(fuse_read_only, reads_work_and_every_write_is_erofs)
{
	char path[PATH_MAX * 2], buf[64] = "";

	mount_ro();
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:01:00.0/vendor", mnt);
	long n = vk_read_file(path, buf, sizeof(buf));
	int e_override = open_errno("sys/bus/pci/devices/0000:01:00.0/driver_override", O_WRONLY);
	int e_standin = open_errno("dev/vfio/devices/vfio0", O_RDWR);
	int e_standin_ro = open_errno("dev/vfio/devices/vfio0", O_RDONLY);
	int e_create = open_errno("sys/new-file", O_WRONLY | O_CREAT);
	umount_it();
	cr_assert_gt(n, 0);
	cr_assert_str_eq(buf, "0x10de\n");
	cr_assert_eq(e_override, EROFS, "%s", strerror(e_override));
	cr_assert_eq(e_standin, EROFS, "a stand-in cannot be opened read-write: %s", strerror(e_standin));
	cr_assert_eq(e_standin_ro, 0, "%s", strerror(e_standin_ro));
	cr_assert_eq(e_create, EROFS, "%s", strerror(e_create));
}

Test(fuse_read_only, the_live_mode_is_refused)
{
	char err[4096];
	char *argv[] = {fakesys_bin, "mount", "--read-only", "--live", scenario, mnt, NULL};

	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 1);
	cr_assert_not_null(strstr(err, "a read-only mount cannot be live"), "%s", err);
	cr_assert(!mounted(), "a refused mount is mounted");
}

/*
 * stat, read, stat of one file on a foreground server with -d: the GETATTRs
 * of nodes other than the root that reached the server.  Returns their count.
 */
static int getattrs_after_a_read(const char *opt)
{
	char trace[PATH_MAX + 16], pidfile[PATH_MAX + 16], file[PATH_MAX * 2], buf[8192];
	posix_spawn_file_actions_t fa;
	struct stat st;
	pid_t pid;
	int ws, n = 0;

	snprintf(trace, sizeof(trace), "%s/trace", work);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", work);
	unlink(trace);
	unlink(pidfile);
	char *argv[] = {fakesys_bin, "mount", "-f", "-d", "--pidfile", pidfile, (char *)opt, scenario, mnt, NULL};
	if (!opt)
		memmove(&argv[6], &argv[7], 3 * sizeof(char *));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, trace, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(posix_spawn(&pid, fakesys_bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 500 && access(pidfile, F_OK) < 0; i++)
		usleep(10000);
	cr_assert_eq(access(pidfile, F_OK), 0, "the server did not mount");
	snprintf(file, sizeof(file), "%s/sys/bus/pci/devices/0000:01:00.0/vendor", mnt);
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_gt(vk_read_file(file, buf, sizeof(buf)), 0);
	cr_assert_eq(stat(file, &st), 0);
	umount_it();
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	FILE *f = fopen(trace, "re");
	cr_assert_not_null(f);
	while (fgets(buf, sizeof(buf), f))
		if (strstr(buf, "opcode: GETATTR") && !strstr(buf, "nodeid: 1,"))
			n++;
	fclose(f);
	return n;
}

Test(fuse_read_only, a_read_keeps_the_attributes_cached)
{
	/* the writable default: the read made the attributes stale */
	cr_assert_geq(getattrs_after_a_read(NULL), 1, "the trace shows no GETATTR after a read on a writable mount");
	cr_assert_eq(getattrs_after_a_read("--read-only"), 0, "a stat after a read reached the server");
}
