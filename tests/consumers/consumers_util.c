/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/host_model.h>

#include "consumers_util.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];

static void remove_tmpdir(void)
{
	if (tmpdir[0])
		vk_rm_rf(tmpdir);
}

/* The private directory of this program's scenario variants. */
static const char *dir(void)
{
	if (!tmpdir[0]) {
		cr_assert_eq(vk_mkdtemp(tmpdir, sizeof(tmpdir)), 0);
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
		if (access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* Whether this process may make the namespaces fakesys run makes. */
static int namespaces_refused(void)
{
	pid_t pid = fork();
	int ws;

	if (pid == 0) {
		int flags = geteuid() == 0 ? CLONE_NEWNS | CLONE_NEWPID : CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID;
		_exit(unshare(flags) == 0 ? 0 : errno);
	}
	if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws))
		return EIO;
	return WEXITSTATUS(ws);
}

const char *consumers_unavailable(const char *const *programs)
{
	static char why[4400];
	char out[256], err[4096];
	int e;

	if (access("/dev/fuse", R_OK | W_OK) < 0)
		return "/dev/fuse is not usable here";
	if ((e = namespaces_refused()) != 0) {
		snprintf(why, sizeof(why), "unshare of mount and PID namespaces is refused here (%s)", strerror(e));
		return why;
	}
	for (const char *const *p = programs; *p; p++)
		if (!on_path(*p)) {
			snprintf(why, sizeof(why), "%s is not installed (see setup.sh PACKAGES)", *p);
			return why;
		}
	int rc = consumers_sh("\"$FAKESYS\" run \"$SCEN/default.yaml\" -- true", out, sizeof(out), err, sizeof(err));
	if (rc != 0) {
		snprintf(why, sizeof(why), "fakesys run cannot work here (status %d): %s", rc, err);
		return why;
	}
	return NULL;
}

int consumers_sh(const char *cmd, char *out, size_t outlen, char *err, size_t errlen)
{
	char fakesys[PATH_MAX], enumerator[PATH_MAX], doctor[PATH_MAX], scen[PATH_MAX];

	setenv("FAKESYS", vk_bin("fakesys/fakesys", fakesys, sizeof(fakesys)), 1);
	setenv("ENUM", vk_bin("tests/consumers/udev_enum", enumerator, sizeof(enumerator)), 1);
	setenv("DOCTOR", vk_bin("doctor/vfio-doctor", doctor, sizeof(doctor)), 1);
	snprintf(scen, sizeof(scen), "%s/scenarios", vk_source_dir());
	setenv("SCEN", scen, 1);
	return vk_runv(out, outlen, err, errlen, "/bin/sh", "-c", cmd, NULL);
}

int consumers_run(const char *opts, const char *scenario, const char *inner, char *out, size_t outlen, char *err,
                  size_t errlen)
{
	char path[PATH_MAX];
	size_t len = strlen(inner) + 2 * PATH_MAX + 256;
	char *cmd = malloc(len);
	int rc;

	cr_assert_not_null(cmd);
	if (!strchr(scenario, '/'))
		vk_scenario_path(scenario, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", scenario);
	/* the inner command as one argument of sh -c: passed through $INNER */
	setenv("INNER", inner, 1);
	setenv("SCENARIO", path, 1);
	snprintf(cmd, len, "exec \"$FAKESYS\" run %s \"$SCENARIO\" -- /bin/sh -c \"$INNER\"", opts ? opts : "");
	rc = consumers_sh(cmd, out, outlen, err, errlen);
	free(cmd);
	return rc;
}

const char *consumers_variant(const char *name, const char *from, const char *to, ...)
{
	static char text[1 << 18];
	char src[PATH_MAX], file[64];
	static unsigned next;
	va_list ap;

	cr_assert_gt(vk_read_file(vk_scenario_path(name, src, sizeof(src)), text, sizeof(text) / 2), 0, "%s", src);
	va_start(ap, to);
	for (; from; from = va_arg(ap, const char *), to = from ? va_arg(ap, const char *) : NULL) {
		char *at = strstr(text, from);
		cr_assert_not_null(at, "%s: '%s' not found", name, from);
		cr_assert_null(strstr(at + 1, from), "%s: '%s' found twice", name, from);
		size_t fl = strlen(from), tl = strlen(to), rest = strlen(at + fl);
		cr_assert_lt(strlen(text) + tl, sizeof(text));
		memmove(at + tl, at + fl, rest + 1);
		memcpy(at, to, tl);
	}
	va_end(ap);
	snprintf(file, sizeof(file), "variant%u.yaml", next++);
	return consumers_scenario_text(file, text);
}

const char *consumers_scenario_text(const char *file_name, const char *text)
{
	static char paths[8][PATH_MAX];
	static unsigned next;
	char *path = paths[next++ % 8];

	cr_assert_lt((size_t)snprintf(path, PATH_MAX, "%s/%s", dir(), file_name), (size_t)PATH_MAX);
	FILE *f = fopen(path, "we");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

struct vk_host_model *consumers_model(const char *name)
{
	char path[PATH_MAX];
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	if (!strchr(name, '/'))
		vk_scenario_path(name, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", name);
	cr_assert_eq(vk_host_model_load(path, &m, &e), 0, "%s", e.msg);
	return m;
}
