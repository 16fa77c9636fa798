/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lspci -vvv under `fakesys run`, as root and as an ordinary user: a real
 * kernel gives an opener of config without CAP_SYS_ADMIN its first 64 bytes
 * (drivers/pci/pci-sysfs.c pci_read_config(); drivers/pci/proc.c
 * proc_bus_pci_read() the same), so lspci prints "Capabilities: <access
 * denied>" for every device with a capability list, where root sees each
 * capability.  Through sysfs and through /proc/bus/pci, served by FUSE in the
 * fast mode (--fuse: a static run is otherwise a tmpfs copy, which cannot
 * answer by reader) and in the live mode, and in turn, so that one reader's
 * bytes in the page cache would show in the other's output.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 18], err[1 << 14];

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* lspci -vvv by root, then by uid 65534, then by root again: the three outputs */
static void three_readers(const char *opts, const char *method, char *parts[3])
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
	         "L='lspci -A %s -vvv'; $L 2>/dev/null; echo ==; setpriv --reuid=65534 --regid=65534 --clear-groups "
	         "$L 2>/dev/null; echo ==; $L 2>/dev/null",
	         method);
	cr_assert_eq(consumers_run(opts, "default.yaml", cmd, out, sizeof(out), err, sizeof(err)), 0, "%s%s", out, err);
	parts[0] = out;
	for (int i = 1; i < 3; i++) {
		char *sep = strstr(parts[i - 1], "==\n");
		cr_assert_not_null(sep, "%s", out);
		*sep = '\0';
		parts[i] = sep + 3;
	}
}

static void user_is_denied_root_is_not(const char *opts, const char *method)
{
	char *p[3];

	three_readers(opts, method, p);
	size_t with_caps = count(p[0], "\tStatus: Cap+"); /* devices with a capability list */
	cr_assert_gt(count(p[0], "Capabilities: ["), with_caps, "%s: root sees them:\n%s", method, p[0]);
	cr_assert_eq(count(p[0], "<access denied>"), 0, "%s: root:\n%s", method, p[0]);
	cr_assert_str_eq(p[2], p[0], "%s: root again, after the user", method);
	/* one line per device with a capability list */
	cr_assert_eq(count(p[1], "Capabilities: ["), 0, "%s: the user sees no capability:\n%s", method, p[1]);
	cr_assert_eq(count(p[1], "Capabilities: <access denied>"), with_caps, "%s: as user:\n%s", method, p[1]);
	cr_assert_eq(count(p[1], "Kernel driver in use:"), count(p[0], "Kernel driver in use:"), "%s", method);
}

Test(lspci_access, ordinary_user_gets_access_denied_as_on_a_real_host)
{
	user_is_denied_root_is_not("--fuse", "linux-sysfs");
	user_is_denied_root_is_not("--fuse", "linux-proc");
}

Test(lspci_access, the_same_in_the_live_mode)
{
	user_is_denied_root_is_not("--live", "linux-sysfs");
}

int main(int argc, char *argv[])
{
	static const char *const progs[] = {"lspci", "setpriv", NULL};
	const char *why = consumers_unavailable(progs);

	if (!why && geteuid() != 0)
		why = "needs root (of the test's namespace) to read as another user";
	if (why) {
		fprintf(stderr, "SKIP: %s\n", why);
		return 77;
	}
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
