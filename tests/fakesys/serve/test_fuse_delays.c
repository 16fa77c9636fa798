/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fault's delay ends early (issue #22.3): when the kernel interrupts the
 * client's request (SIGKILL: the client dies at once; another signal: the
 * read fails with EINTR), on "fault clear", on `fakesys umount`, and when the
 * server gets SIGTERM.  Every delay here is the longest there is (10 min);
 * each wait is bounded by LIMIT_MS, so a delay nothing ends fails the test
 * instead of hanging it.  The times measured are logged.  Run through
 * need-fuse.sh.
 */
#include <sys/stat.h>

#include <vfiokit/fakesys_live.h>
#include <vfiokit/host_model.h>

#include "live_util.h"

static char mnt[512], tmp[PATH_MAX], pidfile[PATH_MAX + 16];
static pid_t server;

#define VENDOR "sys/bus/pci/devices/0000:02:00.0/vendor"
#define LIMIT_MS 20000

/* After a failure: a server stuck with a client in its delay would keep the
 * mount (and the client) for 10 minutes; end it. */
static void cleanup(void)
{
	if (server > 0 && kill(server, 0) == 0)
		kill(server, SIGKILL);
	live_cleanup();
	if (tmp[0])
		vk_rm_rf(tmp);
	tmp[0] = '\0';
	server = 0;
}

TestSuite(fuse_delays, .fini = cleanup, .timeout = 120);

/* Mount LIVE_HOST with the longest delay on every read of VENDOR; the
 * server's pid into `server`. */
static void mount_delayed(void)
{
	char item[256], buf[32];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", tmp);
	const char *const extra[] = {"--pidfile", pidfile, NULL};
	snprintf(item, sizeof(item), "  - {path: %s, op: read, delay_ms: %u}\n", VENDOR, VK_FAKESYS_DELAY_MAX_MS);
	live_mount_host_with("faults", item, extra, mnt, sizeof(mnt));
	cr_assert_gt(vk_read_file(pidfile, buf, sizeof(buf)), 0);
	server = atoi(buf);
	cr_assert_gt(server, 1);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A child that opens VENDOR and reads it (the read is delayed): exits 0 when
 * it read the vendor, 3 when the read failed with EINTR, 4 on another error.
 * With @alarm_s, SIGALRM (caught, no SA_RESTART) comes after that many s. */
static pid_t start_reader(unsigned alarm_s)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char buf[64];
		int fd = open(P(mnt, VENDOR), O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		if (alarm_s) {
			struct sigaction sa = {.sa_handler = on_alarm};
			sigemptyset(&sa.sa_mask);
			sigaction(SIGALRM, &sa, NULL);
			alarm(alarm_s);
		}
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0)
			_exit(errno == EINTR ? 3 : 4);
		buf[n] = '\0';
		_exit(strcmp(buf, "0x144d\n") ? 5 : 0);
	}
	return pid;
}

/* Wait (bounded) until the reader's read is in the server's delay: the
 * fault has counted it. */
static void wait_delayed(void)
{
	char out[1024] = "";

	for (double end = now_ms() + LIMIT_MS; now_ms() < end; poll(NULL, 0, 5)) {
		cr_assert_eq(live_ctl(mnt, "fault list", out, sizeof(out)), 0, "%s", out);
		if (strstr(out, "seen=1"))
			return;
	}
	cr_assert_fail("the read never reached the server: %s", out);
}

Test(fuse_delays, sigkill_of_the_client_ends_its_delayed_read)
{
	double took;

	mount_delayed();
	pid_t pid = start_reader(0);
	wait_delayed();
	double t0 = now_ms();
	cr_assert_eq(kill(pid, SIGKILL), 0);
	int st = live_wait_child(pid, LIMIT_MS, &took);
	cr_assert_eq(st, 128 + SIGKILL, "the client ended with %d after %.0f ms (-1: still in the delay)", st, took);
	cr_log_info("a SIGKILLed client in a 10-minute delay was gone after %.1f ms", now_ms() - t0);
	live_umount(mnt);
	cr_assert(live_wait_gone(server, LIMIT_MS), "the server exits after the unmount");
}

Test(fuse_delays, another_signal_fails_the_delayed_read_with_eintr)
{
	double took;

	mount_delayed();
	pid_t pid = start_reader(1);
	int st = live_wait_child(pid, LIMIT_MS, &took);
	cr_assert_eq(st, 3, "the reader ended with %d after %.0f ms (3: EINTR, -1: still in the delay)", st, took);
	cr_log_info("SIGALRM after 1 s: the delayed read failed with EINTR after %.1f ms", took);
	live_umount(mnt);
}

Test(fuse_delays, fault_clear_ends_the_delays)
{
	char out[256];
	double took;

	mount_delayed();
	pid_t pid = start_reader(0);
	wait_delayed();
	cr_assert_eq(live_ctl(mnt, "fault clear", out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "ok 1 cleared\n");
	int st = live_wait_child(pid, LIMIT_MS, &took);
	cr_assert_eq(st, 0, "the reader ended with %d after %.0f ms (0: read the vendor, -1: still waiting)", st, took);
	cr_log_info("fault clear: the delayed read returned after %.1f ms", took);
	live_umount(mnt);
}

Test(fuse_delays, fakesys_umount_ends_the_delays_and_unmounts)
{
	char bin[PATH_MAX], out[4096];
	double took, took_reader;

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	mount_delayed();
	pid_t pid = start_reader(0);
	wait_delayed();
	char *argv[] = {bin, "umount", mnt, NULL};
	int rc = live_run_bounded(argv, LIMIT_MS, out, sizeof(out), &took);
	cr_assert_eq(rc, 0, "fakesys umount: %d after %.0f ms: %s", rc, took, out);
	int st = live_wait_child(pid, LIMIT_MS, &took_reader);
	cr_assert_eq(st, 0, "the reader ended with %d (0: read the vendor)", st);
	cr_assert_not(live_mounted(mnt));
	cr_assert(live_wait_gone(server, LIMIT_MS), "the server exits");
	cr_log_info("fakesys umount with a read in a 10-minute delay: %.1f ms", took);
	live_forget(mnt);
}

Test(fuse_delays, sigterm_ends_the_server_during_a_delay)
{
	double t0, took;

	mount_delayed();
	pid_t pid = start_reader(0);
	wait_delayed();
	t0 = now_ms();
	cr_assert_eq(kill(server, SIGTERM), 0);
	cr_assert(live_wait_gone(server, LIMIT_MS), "the server still runs %.0f ms after SIGTERM", now_ms() - t0);
	cr_log_info("SIGTERM with a read in a 10-minute delay: the server exited after %.1f ms", now_ms() - t0);
	int st = live_wait_child(pid, LIMIT_MS, &took);
	cr_assert_eq(st, 0, "the reader ended with %d (0: its read was answered)", st);
	cr_assert(live_wait_unmounted(mnt, LIMIT_MS), "the mount goes with its server");
	live_forget(mnt);
}

Test(fuse_delays, one_cap_for_scenarios_and_the_control_channel)
{
	char out[512], cmd[256], yaml[1024];
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	live_mount_host_with("faults", NULL, (const char *const[]){"--live", NULL}, mnt, sizeof(mnt));
	snprintf(cmd, sizeof(cmd), "fault add %s read 0 delay=%u\n", VENDOR, VK_FAKESYS_DELAY_MAX_MS + 1);
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), -EINVAL, "%s", out);
	cr_assert(strstr(out, "delay"), "%s", out);
	snprintf(cmd, sizeof(cmd), "fault add %s read 0 delay=4294967295\n", VENDOR);
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), -EINVAL, "%s", out);
	snprintf(cmd, sizeof(cmd), "fault add %s read 0 delay=%u\n", VENDOR, VK_FAKESYS_DELAY_MAX_MS);
	cr_assert_eq(live_ctl(mnt, cmd, out, sizeof(out)), 0, "%s", out);
	live_umount(mnt);

	for (unsigned d = VK_FAKESYS_DELAY_MAX_MS; d <= VK_FAKESYS_DELAY_MAX_MS + 1; d++) {
		snprintf(yaml, sizeof(yaml), LIVE_HOST "faults:\n  - {path: %s, op: read, delay_ms: %u}\n", VENDOR, d);
		int r = vk_host_model_load_buffer("t.yaml", yaml, strlen(yaml), &m, &e);
		cr_assert_eq(r, d > VK_FAKESYS_DELAY_MAX_MS ? -EINVAL : 0, "delay_ms: %u: %s", d, e.msg);
		vk_host_model_free(m);
		m = NULL;
	}
}
