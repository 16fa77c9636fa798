/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The resolver against a live fakesys mount with injected faults: an open the
 * kernel would refuse with EBUSY (legacy group holds the device), a device
 * that goes away (ENODEV on open), and a real race (the open is held while the
 * test unbinds the device through sysfs).  The resolver sees only files; the
 * scenarios are in data/faults-*.yaml.  Run through need-fuse.sh.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/resolver.h>

#include "testutil.h"

static char mnt[256];
static bool mounted;

static void unmount(void)
{
	if (!mounted)
		return;
	mounted = false;
	if (vk_umount(mnt) != 0) {
		char *argv[] = {(char *)"/usr/bin/fusermount3", (char *)"-u", (char *)"-z", mnt, NULL};
		vk_run(argv, NULL, 0, NULL, 0);
		rmdir(mnt);
	}
}

TestSuite(resolver_faults, .fini = unmount, .timeout = 60);

static void mount_data(const char *name)
{
	char sc[PATH_MAX];

	vk_test_data_path("resolver", name, sc, sizeof(sc));
	cr_assert_eq(vk_mount(sc, mnt, sizeof(mnt)), 0, "mounting %s", sc);
	mounted = true;
}

static int resolve(char *err, size_t len)
{
	char bin[PATH_MAX];
	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	char *argv[] = {bin, (char *)"--root", mnt, (char *)"--open", (char *)"0000:01:00.0", NULL};
	return vk_run(argv, NULL, 0, err, len);
}

static struct vk_pci_addr A(const char *s) {
	struct vk_pci_addr a;
	cr_assert_eq(vk_pci_addr_parse(s, &a, NULL), 0);
	return a;
}

Test(resolver_faults, ebusy_on_open_is_the_legacy_group)
{
	char err[4096];

	mount_data("faults-host.yaml");
	cr_assert_eq(resolve(err, sizeof(err)), 1, "%s", err);
	cr_assert(strstr(err, "0000:01:00.0"), "%s", err);
	cr_assert(strstr(err, "EBUSY"), "%s", err);
	cr_assert(strstr(err, "legacy group interface /dev/vfio/1"), "%s", err);
	unmount();
}

Test(resolver_faults, a_failing_second_device_leaks_no_fd)
{
	struct vk_root *r;
	struct vk_error e = {0};
	struct vk_vfio_set s = {0};
	/* vfio1 opens, then vfio0 fails: vfio1 and /dev/iommu must be closed */
	struct vk_pci_addr a[] = {A("0000:01:00.1"), A("0000:01:00.0")};

	mount_data("faults-host.yaml");
	int before = vk_fd_count();
	cr_assert_eq(vk_root_open(mnt, 0, &r, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_vfio_set_open(r, a, 2, 0, &s, &e), -EBUSY, "%s", e.msg);
	cr_assert(strstr(e.msg, "0000:01:00.0") && strstr(e.msg, "EBUSY"), "%s", e.msg);
	cr_assert_eq(s.n, 0);
	vk_root_close(r);
	cr_assert_eq(vk_fd_count(), before, "FD leak");
	/* the other device alone is fine */
	cr_assert_eq(vk_root_open(mnt, 0, &r, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_vfio_set_open(r, a, 1, 0, &s, &e), 0, "%s", e.msg);
	vk_vfio_set_close(&s);
	vk_root_close(r);
	cr_assert_eq(vk_fd_count(), before, "FD leak");
	unmount();
}

Test(resolver_faults, enodev_on_open_is_a_device_that_went_away)
{
	char err[4096];

	mount_data("faults-gone.yaml");
	cr_assert_eq(resolve(err, sizeof(err)), 1, "%s", err);
	cr_assert(strstr(err, "ENODEV"), "%s", err);
	cr_assert(strstr(err, "went away between lookup and open"), "%s", err);
	unmount();
}

/* The answer of a control command. */
static void ctl(const char *cmd, char *out, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/.fakesys/control", mnt);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd), "%s", strerror(errno));
	ssize_t n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

Test(resolver_faults, unbound_while_opening_went_away)
{
	char bin[PATH_MAX], err[4096] = "", list[1024], path[PATH_MAX];
	int p[2];

	mount_data("faults-race.yaml");
	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(p[1], 2);
		execl(bin, bin, "--root", mnt, "--open", "0000:01:00.0", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* wait (bounded) until the open of vfio0 has reached the server */
	bool held = false;
	for (int i = 0; i < 500 && !held; i++) {
		ctl("fault list", list, sizeof(list));
		held = strstr(list, "seen=1") != NULL;
		if (!held)
			poll(NULL, 0, 10);
	}
	cr_assert(held, "the open never arrived: %s", list);
	/* the kernel's way to take the device away from vfio-pci */
	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/vfio-pci/unbind", mnt);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	cr_assert_eq(write(fd, "0000:01:00.0\n", 13), 13, "%s", strerror(errno));
	close(fd);
	size_t n = 0;
	ssize_t k;
	while ((k = read(p[0], err + n, sizeof(err) - 1 - n)) > 0)
		n += (size_t)k;
	err[n] = '\0';
	close(p[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x: %s", status, err);
	cr_assert(strstr(err, "went away"), "%s", err);
	/* and the derived nodes are gone for everyone */
	snprintf(path, sizeof(path), "%s/dev/vfio/devices/vfio0", mnt);
	cr_assert_eq(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:01:00.0/vfio-dev", mnt);
	cr_assert_eq(access(path, F_OK), -1);
	unmount();
}

Test(resolver_faults, scripted_unbind_at_the_open_went_away)
{
	char err[4096];

	mount_data("steps-race.yaml");
	cr_assert_eq(resolve(err, sizeof(err)), 1, "%s", err);
	cr_assert(strstr(err, "0000:01:00.0") && strstr(err, "went away"), "%s", err);
	/* a second try finds the device no longer on vfio-pci */
	cr_assert_eq(resolve(err, sizeof(err)), 1, "%s", err);
	cr_assert_null(strstr(err, "went away between lookup and open"), "%s", err);
	unmount();
}
