/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How `fakesys run` serves its tree (docs/architecture.md, "How a run serves
 * its tree"): without anything that needs the server (--live, --log) and
 * where a tmpfs can hold the tree's owners (root, no user namespace of its
 * own), the tree is a tmpfs copy of the namespace's own, bound read-only but
 * for dev/ (a stand-in is opened read-write); otherwise the FUSE server
 * serves it.  Both show the same host, entry by entry.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char fakesys_bin[PATH_MAX], scenario[PATH_MAX], tmpdir[PATH_MAX];

static void setup(void)
{
	vk_bin("fakesys/fakesys", fakesys_bin, sizeof(fakesys_bin));
	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
	cr_assert_eq(vk_mkdtemp(tmpdir, sizeof(tmpdir)), 0);
}

static void teardown(void)
{
	cr_assert_eq(rmdir(tmpdir), 0, "the runs left something in %s: %s", tmpdir, strerror(errno));
}

TestSuite(ns_run_static, .init = setup, .fini = teardown, .timeout = 120);

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
		cr_skip_test("unshare() is not permitted here (%s): fakesys run cannot work", strerror(WEXITSTATUS(ws)));
}

/* The static tree is expected where every uid and gid is mapped (the initial
 * user namespace, or one that maps them all) and this is root. */
static void need_static(void)
{
	char map[256] = "";

	need_namespaces();
	if (geteuid() != 0)
		cr_skip_test("not root: fakesys run serves with FUSE in a user namespace of its own");
	vk_read_file("/proc/self/uid_map", map, sizeof(map));
	unsigned long in, out, n;
	if (sscanf(map, "%lu %lu %lu", &in, &out, &n) != 3 || in != 0 || n < 65536)
		cr_skip_test("this user namespace maps too few ids for the scenario's owners (%s)", map);
}

/* fakesys run [@opt] --tmpdir T default.yaml -- sh -c @script; its status. */
static int run_sh(const char *opt, const char *script, char *out, size_t outlen, char *err, size_t errlen)
{
	char *argv[12];
	int n = 0;

	argv[n++] = fakesys_bin;
	argv[n++] = "run";
	if (opt)
		argv[n++] = (char *)opt;
	argv[n++] = "--tmpdir";
	argv[n++] = tmpdir;
	argv[n++] = scenario;
	argv[n++] = "--";
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = (char *)script;
	argv[n] = NULL;
	return vk_run(argv, out, outlen, err, errlen);
}

/* What the command prints about the tree it was given. */
static const char probe[] =
	"stat -f -c %T /sys/bus/pci/devices/0000:01:00.0/; "
	"(echo pci-stub > /sys/bus/pci/devices/0000:01:00.0/driver_override) 2>&1 | sed 's/.*: //'; "
	"cat /sys/bus/pci/devices/0000:01:00.0/driver_override; "
	"exec 3<>/dev/vfio/devices/vfio0 && echo stand-in opened read-write; exec 3>&-; "
	"touch \"$FAKESYS_MOUNT/probe\" 2>&1 | sed 's/.*: //'; "
	"awk '$5 ~ /^\\/(sys|dev)\\// && / - fuse\\.fakesys / { f = 1 } END { print f ? \"fuse\" : \"no fuse\" }' "
	"/proc/self/mountinfo";

Test(ns_run_static, the_default_tree_is_a_read_only_tmpfs_with_writable_stand_ins)
{
	static char out[8192], err[8192];

	need_static();
	cr_assert_eq(run_sh(NULL, probe, out, sizeof(out), err, sizeof(err)), 0, "%s%s", out, err);
	cr_assert_str_eq(out, "tmpfs\n"
	                      "Read-only file system\n"
	                      "vfio-pci\n"
	                      "stand-in opened read-write\n"
	                      "Read-only file system\n"
	                      "no fuse\n",
	                 "%s", err);
	cr_assert_str_empty(err);
}

Test(ns_run_static, live_is_served_by_fuse_and_its_writes_act)
{
	static char out[8192], err[8192];

	need_namespaces();
	cr_assert_eq(run_sh("--live", probe, out, sizeof(out), err, sizeof(err)), 0, "%s%s", out, err);
	/* the write succeeded (no message), the file reads it back; the mount
	 * refuses a new file like sysfs (EROFS from the server) */
	cr_assert_str_eq(out, "fuseblk\n"
	                      "pci-stub\n"
	                      "stand-in opened read-write\n"
	                      "Read-only file system\n"
	                      "fuse\n",
	                 "%s", err);
}

Test(ns_run_static, a_user_namespace_keeps_the_server)
{
	static char out[8192], err[8192];

	need_namespaces();
	int rc = run_sh("--userns", "stat -f -c %T /sys/bus/pci/devices/0000:01:00.0/", out, sizeof(out), err,
	                sizeof(err));
	if (rc == 125 && strstr(err, "user, mount and PID namespace"))
		cr_skip_test("user namespaces are not permitted here: %s", err);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_str_eq(out, "fuseblk\n");
}

Test(ns_run_static, fuse_keeps_the_server)
{
	static char out[8192], err[8192];

	need_static();
	cr_assert_eq(run_sh("--fuse", "stat -f -c %T /sys/bus/pci/devices/0000:01:00.0/; "
	                              "stat -c %s /sys/bus/pci/devices/0000:01:00.0/vendor",
	                    out, sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	/* served by FUSE, with sysfs's size of an attribute (a tmpfs says 7) */
	cr_assert_str_eq(out, "fuseblk\n4096\n", "%s", err);
}

/* Every entry the same: path, type and mode, owner, link target, and the
 * content of every file, and the order of a listing (kernfs's hash order:
 * the copy is written so that tmpfs lists it so), static against FUSE
 * (--live).  Not the sizes: the
 * server reports sysfs's (4096 for an attribute, 0 for a link: kernfs), a
 * tmpfs the content's length (docs/architecture.md, "How a run serves its
 * tree"). */
Test(ns_run_static, the_static_tree_and_the_served_tree_are_the_same)
{
	static char a[1 << 16], b[1 << 16], err[8192];
	static const char list[] =
		"cd / && find sys/bus/pci sys/devices/pci0000:00 sys/devices/pci0000:80 sys/kernel/iommu_groups "
		"sys/class/vfio-dev dev/vfio dev/iommu \\( -type d -printf '%p %M %u %g\\n' \\) -o "
		"-printf '%p %M %u %g %l\\n' | sort | md5sum; "
		"find sys/bus/pci sys/devices/pci0000:00 sys/devices/pci0000:80 dev/vfio -type f -perm -0444 | sort | "
		"xargs cat | md5sum; ls -f sys/bus/pci/devices sys/bus/pci/devices/0000:01:00.0 sys/class | md5sum; "
		"find sys/devices/pci0000:00 | wc -l";

	need_static();
	cr_assert_eq(run_sh(NULL, list, a, sizeof(a), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(run_sh("--live", list, b, sizeof(b), err, sizeof(err)), 0, "%s", err);
	/* the last line counts the entries of one hierarchy: not an empty walk */
	size_t len = strlen(a);
	cr_assert_gt(len, 1);
	a[len - 1] = '\0';
	cr_assert_gt(atoi(strrchr(a, '\n') + 1), 50, "%s", a);
	a[len - 1] = '\n';
	cr_assert_str_eq(a, b, "static:\n%s\nlive:\n%s", a, b);
}
