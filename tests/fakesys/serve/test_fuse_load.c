/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bounded load test of a live mount of scenarios/default.yaml: 8 reader
 * threads and a writer toggling 0000:81:02.1 between vfio-pci and iavf, for a
 * fixed number of operations (tests/fakesys/load_work.h says what is read and
 * which errors a device in transition may give).  No crash, no wrong content,
 * no leaked FD (here or in the daemon), the daemon's RSS flat between the
 * warm-up round and the last one, the final state consistent.  No timing
 * assertions.  Run through need-fuse.sh.
 */
#include <signal.h>
#include <sys/stat.h>

#include <vfiokit/fakesys_serve.h>

#include "live_util.h"
#include "load_work.h"

TestSuite(fuse_load, .fini = live_cleanup, .timeout = 300);

#define READERS 8
#define ROUNDS 8
#define ITERS 12   /* per reader and round */
#define TOGGLES 24 /* per round: even, so every round ends on vfio-pci */
/* The daemon's RSS may grow this much between the end of round 1 and the
 * end of the last round (allocator slack; a leak of one tree per change,
 * 4 * TOGGLES rebuilds, would be several MiB). */
#define RSS_SLACK_KB 1024

static char mnt[512];
static const char *const live[] = {"--live", NULL};

/* The toggled device is bound to vfio-pci, tree and model agree. */
static void toggled_on_vfio(void)
{
	char buf[256], out[256];
	ssize_t n = readlink(P(mnt, "sys/bus/pci/devices/" LOAD_TOGGLED "/driver"), buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0, "driver link: %s", strerror(errno));
	buf[n] = '\0';
	cr_assert_str_eq(buf, "../../../../bus/pci/drivers/vfio-pci");
	struct stat st;
	cr_assert_eq(lstat(P(mnt, "sys/bus/pci/drivers/vfio-pci/" LOAD_TOGGLED), &st), 0);
	cr_assert_neq(lstat(P(mnt, "sys/bus/pci/drivers/iavf/" LOAD_TOGGLED), &st), 0);
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/" LOAD_TOGGLED "/vfio-dev/vfio2/dev"), buf, sizeof(buf)),
	             6);
	cr_assert_str_eq(buf, "511:2\n");
	cr_assert_eq(lstat(P(mnt, "dev/vfio/devices/vfio2"), &st), 0);
	cr_assert_eq(lstat(P(mnt, "dev/vfio/9"), &st), 0);
	cr_assert_eq(lstat(P(mnt, "sys/class/vfio-dev/vfio2"), &st), 0);
	cr_assert_eq(vk_read_file(P(mnt, "sys/bus/pci/devices/" LOAD_TOGGLED "/driver_override"), buf, sizeof(buf)), 9);
	cr_assert_str_eq(buf, "vfio-pci\n");
	/* the model agrees: bound to vfio-pci (EBUSY), not to iavf (ENODEV) */
	cr_assert_eq(vk_write_attr(P(mnt, "sys/bus/pci/drivers/vfio-pci/bind"), LOAD_TOGGLED), -EBUSY);
	cr_assert_eq(vk_write_attr(P(mnt, "sys/bus/pci/drivers/iavf/unbind"), LOAD_TOGGLED), -ENODEV);
	/* and it answers */
	cr_assert_eq(live_ctl(mnt, "help", out, sizeof(out)), 0);
	cr_assert(strstr(out, "bind"), "%s", out);
}

/* The daemon's FD count once it has released everything: a FUSE release
 * reaches it after close() returns, so allow it a moment to settle (this
 * waits, it asserts no time). */
static int daemon_fds_settled(int pid, int idle)
{
	int n = vk_fd_count_of(pid);
	for (int i = 0; i < 50 && n != idle; i++) {
		usleep(20000);
		n = vk_fd_count_of(pid);
	}
	return n;
}

/* The daemon has exited (a zombie nobody reaped yet counts as gone). */
/* Whether the daemon has exited (gone, or a zombie nobody here reaps),
 * polling for a bounded while: a loaded machine may take a moment. */
static bool daemon_gone(int pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	for (int i = 0; i < 200; i++) {
		if (vk_read_file(path, buf, sizeof(buf)) < 0)
			return true;
		const char *st = strstr(buf, "State:");
		if (st && strchr(st, 'Z') && strchr(st, 'Z') < strchr(st, '\n'))
			return true;
		usleep(50 * 1000);
	}
	return false;
}

Test(fuse_load, eight_readers_and_a_toggling_writer)
{
	char scen[PATH_MAX];
	struct load_expect ex;
	struct load_reader rd[READERS];
	struct load_writer w = {.toggles = TOGGLES};
	long rss[ROUNDS];
	unsigned long ops = 0, transient = 0, mixed = 0, dups = 0, toggles = 0;

	int fds_before = vk_fd_count();
	/* live_mount() writes a scenario text; default.yaml is a file: read it */
	FILE *f = fopen(vk_scenario_path("default.yaml", scen, sizeof(scen)), "re");
	cr_assert_not_null(f, "%s", scen);
	static char yaml[65536];
	size_t yn = fread(yaml, 1, sizeof(yaml) - 1, f);
	fclose(f);
	yaml[yn] = '\0';
	cr_assert_eq(live_mount(yaml, live, mnt, sizeof(mnt)), 0);

	int pid = vk_fakesys_mount_pid(mnt);
	cr_assert_gt(pid, 0, "fakesys_mount_pid: %d", pid);
	cr_assert_eq(load_snapshot(mnt, &ex), 0);
	toggled_on_vfio();
	int idle_fds = vk_fd_count_of(pid);
	cr_assert_gt(idle_fds, 0);
	long rss0 = vk_rss_kb(pid);

	for (int round = 0; round < ROUNDS; round++) {
		cr_assert_eq(load_round(mnt, &ex, rd, READERS, ITERS, &w), 0);
		for (int i = 0; i < READERS; i++) {
			cr_assert_str_empty(rd[i].fail, "round %d, reader %d: %s", round, i, rd[i].fail);
			ops += rd[i].ops;
			transient += rd[i].transient;
			mixed += rd[i].facts_mixed;
			dups += rd[i].readdir_dups;
		}
		cr_assert_str_empty(w.fail, "round %d, writer: %s", round, w.fail);
		cr_assert_eq(w.done, TOGGLES);
		toggles += w.done;
		/* alive, consistent, no FD held */
		toggled_on_vfio();
		int fds = daemon_fds_settled(pid, idle_fds);
		cr_assert_eq(fds, idle_fds, "round %d: the daemon has %d FDs, %d when idle", round, fds, idle_fds);
		rss[round] = vk_rss_kb(pid);
		cr_assert_gt(rss[round], 0);
	}
	fprintf(stderr,
	        "fuse_load: %lu reader ops, %lu toggles, %lu accepted transition errors (%lu mixed facts); "
	        "daemon RSS %ld KiB idle, %ld after round 1, %ld after round %d\n",
	        ops, toggles, transient, mixed, rss0, rss[0], rss[ROUNDS - 1], ROUNDS);
	cr_assert_eq(dups, 0, "%lu listings repeated a name", dups);
#ifdef __SANITIZE_ADDRESS__
	/* ASan's allocator keeps freed memory in quarantine (up to 256 MiB by
	 * default), so RSS says nothing here; leaks are LeakSanitizer's job. */
	fprintf(stderr, "fuse_load: RSS bound not checked under AddressSanitizer\n");
#else
	cr_assert_leq(rss[ROUNDS - 1], rss[0] + RSS_SLACK_KB, "daemon RSS grew from %ld to %ld KiB", rss[0],
	              rss[ROUNDS - 1]);
#endif

	/* every device untouched by the writer is as it was */
	struct load_reader check = {.mnt = mnt, .ex = &ex};
	for (size_t i = 0; i < LOAD_NDEVS; i++)
		load_check_dev(&check, &load_devs[i]);
	cr_assert_str_empty(check.fail, "%s", check.fail);

	char m[PATH_MAX];
	snprintf(m, sizeof(m), "%s", mnt);
	live_umount(m);
	cr_assert_eq(vk_fakesys_mount_pid(m), -EINVAL, "a mount is left at %s", m);
	char mi[65536];
	cr_assert_gt(vk_read_file("/proc/self/mountinfo", mi, sizeof(mi)), 0);
	cr_assert_null(strstr(mi, m), "a stale mount: %s", m);
	cr_assert(daemon_gone(pid), "the daemon %d is still running", pid);
	cr_assert_eq(vk_fd_count(), fds_before, "FDs leaked in the test process");
}
