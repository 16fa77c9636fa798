/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a mount daemon keeps (issue 17): only a live server reads the host
 * model, so any other mount serves without it.  The daemons of one host are
 * compared with each other in the same run (no absolute figure): a daemon
 * that is not live must be smaller than the live one by at least half of
 * what the model takes (measured in the same run, in a process of its own);
 * one that kept the model would be as large as the live one.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "../bench/bench_host.h"
#include "testutil.h"

#define DEVICES 10000

/* The ASan build (VK_ASAN, testutil.h): its allocator keeps what is freed
 * (the quarantine) and hands nothing back to malloc_trim(), so an RSS says
 * nothing there. */
#ifdef VK_ASAN
#define SKIP_UNDER_ASAN() cr_skip_test("RSS figures mean nothing under ASan (its quarantine keeps freed memory)")
#else
#define SKIP_UNDER_ASAN() (void)0
#endif

TestSuite(mount_memory, .timeout = 180);

Test(mount_memory, only_serving_opens_a_log_faults_or_steps_make_a_mount_live)
{
	struct vk_fakesys_fault f = {0};
	struct vk_fakesys_mount_opts o = {0};

	cr_assert_not(vk_fakesys_mount_is_live(NULL));
	cr_assert_not(vk_fakesys_mount_is_live(&o));
	o.read_only = o.foreground = o.debug = true;
	o.pidfile = "pid";
	cr_assert_not(vk_fakesys_mount_is_live(&o), "options that change nothing the server does");
	cr_assert(vk_fakesys_mount_is_live(&(struct vk_fakesys_mount_opts){.serve_opens = true}));
	cr_assert(vk_fakesys_mount_is_live(&(struct vk_fakesys_mount_opts){.log = "log"}));
	cr_assert(vk_fakesys_mount_is_live(&(struct vk_fakesys_mount_opts){.faults = &f, .n_faults = 1}));
	cr_assert(vk_fakesys_mount_is_live(&(struct vk_fakesys_mount_opts){.steps = &f, .n_steps = 1}));
}

/* What loading @yaml's model adds to a fresh process's RSS, in KiB. */
static long model_kb(const char *yaml)
{
	int p[2];
	long kb = -1;

	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct vk_host_model *m = NULL;
		struct vk_error e = {0};
		long before = vk_rss_kb(getpid());
		long grown = vk_host_model_load(yaml, &m, &e) == 0 ? vk_rss_kb(getpid()) - before : -1;
		_exit(write(p[1], &grown, sizeof(grown)) == (ssize_t)sizeof(grown) ? 0 : 1);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &kb, sizeof(kb)), (ssize_t)sizeof(kb));
	close(p[0]);
	waitpid(pid, NULL, 0);
	cr_assert_gt(kb, 0, "loading the model of %s", yaml);
	return kb;
}

/* The RSS of the daemon serving the mount at @mnt (its pidfile @pidfile), then unmounted. */
static long daemon_rss_then_umount(const char *mnt, const char *pidfile)
{
	char buf[32];

	cr_assert_gt(vk_read_file(pidfile, buf, sizeof(buf)), 0, "pidfile %s", pidfile);
	long kb = vk_rss_kb(atoi(buf));
	cr_assert_eq(vk_umount(mnt), 0);
	cr_assert_gt(kb, 0);
	return kb;
}

/* `fakesys mount [--live] --pidfile PIDFILE YAML MNT`: the daemon's RSS. */
static long cli_daemon_kb(const char *yaml, const char *pidfile, bool live)
{
	char mnt[PATH_MAX], bin[PATH_MAX], err[4096];
	char *argv[8];
	int n = 0;

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
	argv[n++] = bin;
	argv[n++] = "mount";
	if (live)
		argv[n++] = "--live";
	argv[n++] = "--pidfile";
	argv[n++] = (char *)pidfile;
	argv[n++] = (char *)yaml;
	argv[n++] = mnt;
	argv[n] = NULL;
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 0, "%s", err);
	return daemon_rss_then_umount(mnt, pidfile);
}

/* vk_fakesys_mount() of the tree of @yaml, handed its model though not live. */
static long lib_daemon_kb(const char *yaml, const char *pidfile)
{
	char mnt[PATH_MAX];
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load(yaml, &m, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(m, &t, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
	struct vk_fakesys_mount_opts o = {.model = m, .pidfile = pidfile};
	cr_assert_eq(vk_fakesys_mount(t, mnt, &o, &e), 0, "%s", e.msg);
	vk_vtree_free(t);
	vk_host_model_free(m);
	return daemon_rss_then_umount(mnt, pidfile);
}

Test(mount_memory, a_daemon_that_is_not_live_keeps_no_model)
{
	char tmp[PATH_MAX], yaml[PATH_MAX + 16], pidfile[PATH_MAX + 16];

	SKIP_UNDER_ASAN();
	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(yaml, sizeof(yaml), "%s/host.yaml", tmp);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", tmp);
	cr_assert_eq(bench_write_host(yaml, DEVICES), 0);
	long model = model_kb(yaml);
	long live = cli_daemon_kb(yaml, pidfile, true);
	long plain = cli_daemon_kb(yaml, pidfile, false);
	long lib = lib_daemon_kb(yaml, pidfile);
	vk_rm_rf(tmp);
	cr_log_info("daemon RSS at %d devices: live %ld KiB, fakesys mount %ld, vk_fakesys_mount() %ld; the model %ld",
	            DEVICES, live, plain, lib, model);
	cr_assert_gt(live - plain, model / 2, "fakesys mount: %ld KiB, the live one %ld, the model %ld", plain, live,
	             model);
	cr_assert_gt(live - lib, model / 2, "vk_fakesys_mount() given a model: %ld KiB, the live one %ld, the model %ld",
	             lib, live, model);
}

/* The PID the FUSE server of `fakesys run` mounted its /sys/bus/pci with
 * (fsname fakesys:PID), printed by the command, which then waits for EOF. */
#define SERVER_PID_THEN_WAIT \
	"grep ' /sys/bus/pci .* fuse.fakesys ' /proc/self/mountinfo | grep -o 'fakesys:[0-9]*' | head -1; read x || :"

/* `fakesys run --fuse [--live] YAML -- sh -c ...`: the RSS of its server,
 * read while the command waits. */
static long run_server_kb(const char *yaml, bool live)
{
	char bin[PATH_MAX], line[64] = "";
	int in[2], out[2];

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(out), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		char *argv[] = {bin, "run", "--fuse", live ? "--live" : "--fuse", (char *)yaml, "--", "sh", "-c",
		                SERVER_PID_THEN_WAIT, NULL};
		execv(bin, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	struct pollfd p = {.fd = out[0], .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 60000), 1, "the command printed nothing in 60 s");
	cr_assert_gt(read(out[0], line, sizeof(line) - 1), 0);
	long kb = strncmp(line, "fakesys:", 8) ? -1 : vk_rss_kb(atoi(line + 8));
	close(in[1]); /* the command's read ends, and the run with it */
	close(out[0]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fakesys run: status %d", st);
	cr_assert_gt(kb, 0, "the server's PID from '%s'", line);
	return kb;
}

Test(mount_memory, a_run_server_that_is_not_live_keeps_no_model)
{
	char tmp[PATH_MAX], yaml[PATH_MAX + 16];

	SKIP_UNDER_ASAN();
	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(yaml, sizeof(yaml), "%s/host.yaml", tmp);
	cr_assert_eq(bench_write_host(yaml, DEVICES), 0);
	long model = model_kb(yaml);
	long live = run_server_kb(yaml, true);
	long plain = run_server_kb(yaml, false);
	vk_rm_rf(tmp);
	cr_log_info("fakesys run's server at %d devices: live %ld KiB, not live %ld; the model %ld", DEVICES, live, plain,
	            model);
	cr_assert_gt(live - plain, model / 2, "not live: %ld KiB, live %ld, the model %ld", plain, live, model);
}

/* The daemon frees a model it will not use before it serves, and not again
 * at its end: the ASan build's report (FAKESYS_DAEMON_STDERR) has no double
 * free or use after free.  Its leak check cannot tell here whether the model
 * went: the daemon is a fork of this process, whose stacks point to it (and
 * it keeps this process's LSan options). */
Test(mount_memory, a_daemon_frees_the_model_it_does_not_use)
{
#ifndef VK_ASAN
	cr_skip_test("the daemon's leak check is in the ASan build only");
#else
	char tmp[PATH_MAX], mnt[PATH_MAX], log[PATH_MAX + 16], pidfile[PATH_MAX + 16], buf[32];
	static char report[1 << 16];
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(log, sizeof(log), "%s/daemon.log", tmp);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", tmp);
	char scenario[PATH_MAX];
	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
	cr_assert_eq(vk_host_model_load(scenario, &m, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(m, &t, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
	setenv("FAKESYS_DAEMON_STDERR", log, 1);
	struct vk_fakesys_mount_opts o = {.model = m, .pidfile = pidfile};
	int r = vk_fakesys_mount(t, mnt, &o, &e);
	unsetenv("FAKESYS_DAEMON_STDERR");
	vk_vtree_free(t);
	vk_host_model_free(m);
	cr_assert_eq(r, 0, "%s", e.msg);
	cr_assert_gt(vk_read_file(pidfile, buf, sizeof(buf)), 0);
	pid_t pid = (pid_t)atoi(buf);
	cr_assert_eq(vk_umount(mnt), 0);
	for (int i = 0; i < 6000 && kill(pid, 0) == 0; i++)
		poll(NULL, 0, 10);
	cr_assert_neq(kill(pid, 0), 0, "the daemon %d still runs a minute after the unmount", (int)pid);
	vk_read_file(log, report, sizeof(report));
	vk_rm_rf(tmp);
	cr_assert_null(strstr(report, "ERROR: LeakSanitizer"), "%s", report);
	cr_assert_null(strstr(report, "ERROR: AddressSanitizer"), "%s", report);
#endif
}
