/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Asking a QEMU binary (vk_qdev_model_probe(), vfio-validate --qemu/--pid): a
 * silent binary is killed after the timeout with what it started, a binary
 * that is no QEMU is named, and the per-binary cache answers a second run
 * without running the binary, until the binary changes.  A fake QEMU (a
 * shell script that counts its runs) stands in where the real one is not
 * needed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/qdev_model.h>
#include <vfiokit/validator.h>

#include "testutil.h"

static char dir[1024], bin[4096], out[65536], errb[65536];

/* Run vfio-validate with a NULL-terminated argument list. */
static int run(const char *first, ...)
{
	const char *head[] = {vk_bin("validator/vfio-validate", bin, sizeof(bin)), NULL};
	va_list ap;

	va_start(ap, first);
	int rc = vk_vrun(out, sizeof(out), errb, sizeof(errb), head, first, ap);
	va_end(ap);
	return rc;
}

static void setup(void)
{
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

static void write_script(const char *name, const char *body, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	chmod(path, 0755);
}

/* A QEMU that answers like 9.2 and appends each question to DIR/runs. */
static void fake_qemu(char *path, size_t len)
{
	char body[4096];
	snprintf(body, sizeof(body),
	         "echo \"$*\" >> %s/runs\n"
	         "case \"$*\" in\n"
	         "-version) echo 'QEMU emulator version 9.2.0' ;;\n"
	         "'-device help') echo 'name \"vfio-pci\", bus PCI, desc \"VFIO\"'; echo 'name \"e1000\", bus PCI' ;;\n"
	         "'-object iommufd,help') printf 'iommufd options:\\n  fd=<str>\\n' ;;\n"
	         "'-device vfio-pci,help') printf 'vfio-pci options:\\n  host=<str>\\n  rombar=<uint32> -  (default: 1)\\n  fd=<str>\\n  iommufd=<link<iommufd>>\\n' ;;\n"
	         "'-device e1000,help') printf 'e1000 options:\\n  mac=<str>\\n' ;;\n"
	         "*) echo \"qemu: -device $2: Device '${2%%%%,*}' not found\" ;;\n"
	         "esac\n",
	         dir);
	write_script("qemu-system-x86_64", body, path, len);
}

static int runs(void)
{
	char p[4200], buf[8192];
	snprintf(p, sizeof(p), "%s/runs", dir);
	long n = vk_read_file(p, buf, sizeof(buf));
	int lines = 0;
	for (long i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return n < 0 ? 0 : lines;
}

TestSuite(probe, .init = setup, .fini = teardown);

Test(probe, silent_binary_is_killed_after_the_timeout)
{
	char script[4200], body[2048], pidf[1200];
	struct vk_qdev_model *m = NULL;
	struct vk_error e = {0};
	struct timespec t0, t1;

	/* a script that starts a child of its own and waits: both must go */
	snprintf(pidf, sizeof(pidf), "%s/child.pid", dir);
	snprintf(body, sizeof(body), "sleep 100 &\necho $! > %s\nwait\n", pidf);
	write_script("silent", body, script, sizeof(script));
	struct vk_qdev_probe_opts o = {.timeout_ms = 300, .cache_dir = ""};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(vk_qdev_model_probe(script, 0, NULL, &o, &m, &e), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_null(m);
	cr_assert(strstr(e.msg, "no answer to '-version' within 300 ms (killed)"), "%s", e.msg);
	cr_assert(t1.tv_sec - t0.tv_sec < 10, "the probe returned only after %ld s", (long)(t1.tv_sec - t0.tv_sec));
	char buf[64];
	cr_assert_gt(vk_read_file(pidf, buf, sizeof(buf)), 0);
	pid_t child = atoi(buf);
	/* gone, or a zombie left to a subreaper (the test runner may be one: reap it if it is ours) */
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		char st[64], sbuf[512];
		snprintf(st, sizeof(st), "/proc/%d/stat", (int)child);
		long n = vk_read_file(st, sbuf, sizeof(sbuf));
		const char *rp = n > 0 ? strrchr(sbuf, ')') : NULL;
		gone = n < 0 || (rp && rp[1] == ' ' && rp[2] == 'Z');
		if (!gone)
			usleep(10000);
	}
	waitpid(child, NULL, WNOHANG);
	cr_assert(gone, "the script's child %d is still running", (int)child);
	/* the capability probe has the same deadline */
	struct vk_qemu_caps caps;
	cr_assert_eq(vk_qemu_caps_probe_timed(script, 300, &caps, &e), -ETIMEDOUT);
	cr_assert(strstr(e.msg, "killed"), "%s", e.msg);
}

Test(probe, cli_reports_a_silent_binary)
{
	char script[4200];

	write_script("silent", "sleep 100\n", script, sizeof(script));
	int rc = run("--qemu", script, "--qemu-timeout", "200",
	             "--cache-dir", "", "--", "-device", "vfio-pci,host=01:00.0", NULL);
	cr_assert_eq(rc, 2, "%s%s", out, errb);
	cr_assert(strstr(errb, "no answer to '-version' within 200 ms (killed): is it a QEMU binary?"), "%s", errb);
	rc = run("--qemu", script, "--qemu-timeout", "0", "--", "-S", NULL);
	cr_assert_eq(rc, 2);
	cr_assert(strstr(errb, "--qemu-timeout 0"), "%s", errb);
}

Test(probe, not_a_qemu_and_no_binary)
{
	struct vk_qdev_model *m = NULL;
	struct vk_error e = {0};
	char script[4200];
	struct vk_qdev_probe_opts o = {.cache_dir = ""};

	write_script("chatty", "echo hello\n", script, sizeof(script));
	cr_assert_eq(vk_qdev_model_probe(script, 0, NULL, &o, &m, &e), -ENOEXEC);
	cr_assert(strstr(e.msg, "not a QEMU system emulator"), "%s", e.msg);
	snprintf(script, sizeof(script), "%s/none", dir);
	cr_assert_eq(vk_qdev_model_probe(script, 0, NULL, &o, &m, &e), -ENOENT);
	cr_assert(strstr(e.msg, "cannot run"), "%s", e.msg);
	cr_assert_eq(vk_qdev_model_probe(dir, 0, NULL, &o, &m, &e), -EACCES, "a directory");
}

Test(probe, cache_answers_until_the_binary_changes)
{
	char q[4200], cache[4200];
	struct vk_qdev_model *m = NULL;
	struct vk_error e = {0};
	bool hit = true;
	const char *names[] = {"vfio-pci"}, *more[] = {"vfio-pci", "e1000", "nosuch"};

	fake_qemu(q, sizeof(q));
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	struct vk_qdev_probe_opts o = {.cache_dir = cache, .cache_hit = &hit};
	cr_assert_eq(vk_qdev_model_probe(q, 1, names, &o, &m, &e), 0, "%s", e.msg);
	cr_assert(!hit);
	cr_assert_eq(runs(), 4, "-version, -device help, -object iommufd,help, -device vfio-pci,help");
	cr_assert_eq(m->version, 902);
	cr_assert(vk_qdev_type_prop(vk_qdev_model_type(m, "vfio-pci"), "rombar"));
	cr_assert(strstr(m->label, "9.2.0") && strcmp(m->target, "x86_64") == 0, "%s", m->label);
	vk_qdev_model_free(m);
	/* warm: nothing runs */
	cr_assert_eq(vk_qdev_model_probe(q, 1, names, &o, &m, &e), 0, "%s", e.msg);
	cr_assert(hit);
	cr_assert_eq(runs(), 4);
	vk_qdev_model_free(m);
	/* types not asked yet: only those run, and are cached too */
	cr_assert_eq(vk_qdev_model_probe(q, 3, more, &o, &m, &e), 0);
	cr_assert(!hit);
	cr_assert_eq(runs(), 6);
	cr_assert(vk_qdev_model_type(m, "nosuch")->absent);
	vk_qdev_model_free(m);
	cr_assert_eq(vk_qdev_model_probe(q, 3, more, &o, &m, &e), 0);
	cr_assert(hit);
	vk_qdev_model_free(m);
	/* another mtime (a rebuilt or upgraded binary): asked again */
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	cr_assert_eq(utimensat(AT_FDCWD, q, ts, 0), 0);
	cr_assert_eq(vk_qdev_model_probe(q, 1, names, &o, &m, &e), 0);
	cr_assert(!hit);
	cr_assert_eq(runs(), 10);
	vk_qdev_model_free(m);
	/* a damaged cache file is ignored and rewritten */
	char **files;
	size_t n;
	files = vk_dir_names(cache, &n);
	cr_assert_eq(n, 1);
	char f[8400];
	snprintf(f, sizeof(f), "%s/%s", cache, files[0]);
	vk_names_free(files, n);
	char text[65536];
	long len = vk_read_file(f, text, sizeof(text));
	cr_assert_gt(len, 100);
	FILE *w = fopen(f, "w");
	fwrite(text, 1, (size_t)len / 2, w); /* cut in the middle of a section */
	fclose(w);
	cr_assert_eq(vk_qdev_model_probe(q, 1, names, &o, &m, &e), 0);
	cr_assert(!hit);
	vk_qdev_model_free(m);
	cr_assert_eq(vk_qdev_model_probe(q, 1, names, &o, &m, &e), 0);
	cr_assert(hit);
	vk_qdev_model_free(m);
}

Test(probe, cli_uses_the_binary_model)
{
	char q[4200], cache[4200];

	fake_qemu(q, sizeof(q));
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	/* the fake 9.2 has vfio-pci without x-vga: an error against it, only info against the table */
	int rc = run("--qemu", q, "--cache-dir", cache, "--",
	             "-device", "vfio-pci,host=01:00.0,x-vga=on", NULL);
	cr_assert_eq(rc, 1, "%s%s", out, errb);
	cr_assert(strstr(out, "VV020") && strstr(out, "Property 'vfio-pci.x-vga' not found"), "%s", out);
	/* with iommufd, as that binary lists */
	rc = run("--qemu", q, "--cache-dir", cache, "--", "-object",
	         "iommufd,id=i", "-device", "vfio-pci,host=01:00.0,iommufd=i", NULL);
	cr_assert_eq(rc, 0, "%s%s", out, errb);
	cr_assert(strstr(out, "qemu-system-x86_64 9.2.0"), "%s", out);
}

Test(probe, pid_is_checked_against_its_own_binary)
{
	char pidbuf[32], cache[4200];
	pid_t pid;

	snprintf(cache, sizeof(cache), "%s/cache", dir);
	/* a process that is no QEMU: said so, then the built-in table */
	pid = fork();
	if (pid == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(100000);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	int rc = run("--pid", pidbuf, "--cache-dir", cache, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(rc, 0, "%s%s", out, errb);
	cr_assert(strstr(errb, "checking against the built-in table instead"), "%s", errb);
	cr_assert(strstr(out, "QEMU 10.1"), "%s", out);

	/* a real QEMU: its own version */
	const char *qemu = "/usr/bin/qemu-system-x86_64";
	if (access(qemu, X_OK) != 0) {
		cr_log_warn("no %s: the real-QEMU half is skipped", qemu);
		return;
	}
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(qemu, qemu, "-machine", "none", "-nodefaults", "-display", "none", "-S", "-monitor", "none",
		      (char *)NULL);
		_exit(127);
	}
	usleep(300000);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	rc = run("--json", "--pid", pidbuf, "--cache-dir", cache, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(rc, 0, "%s%s", out, errb);
	cr_assert(strstr(out, "\"qemu\": \"qemu-system-x86_64 7.2"), "%s", out);
}
