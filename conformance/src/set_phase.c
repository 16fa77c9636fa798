/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: the set phase.  The set's devices are opened together with
 * vk_vfio_set_open() as a management layer does before it starts QEMU (all or
 * nothing); then set:, access: and argv: resolver are checked against what
 * happened, and no FD may be left behind either way.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>

#include "access.h"
#include "checks.h"
#include "set_phase.h"

/* The set's devices: argv_devices:, else every device the scenario binds to vfio-pci. */
static struct vk_pci_addr *set_devices(const struct run_ctx *c, size_t *n)
{
	const struct vk_fakesys_expect *x = c->x;
	struct vk_pci_addr *devs;

	*n = 0;
	if (x->has_argv_devices) {
		devs = malloc((x->n_argv_devices + 1) * sizeof(*devs));
		if (devs)
			memcpy(devs, x->argv_devices, x->n_argv_devices * sizeof(*devs));
		*n = x->n_argv_devices;
		return devs;
	}
	devs = malloc((c->m->n_devices + 1) * sizeof(*devs));
	for (size_t i = 0; devs && i < c->m->n_devices; i++)
		if (vk_pci_driver_is_vfio_pci(c->m->devices[i].driver))
			devs[(*n)++] = c->m->devices[i].addr;
	return devs;
}

/* The FDs this process has open (/proc/self/fd, less the listing's own), or -errno. */
static int fd_count(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -errno;
	while (readdir(d))
		n++;
	return n - 3; /* ".", "..", the listing's FD */
}

/* The size of @path (0 when there is no log), or -errno. */
static off_t file_size(const char *path)
{
	struct stat st;

	if (!path)
		return 0;
	return stat(path, &st) == 0 ? st.st_size : -errno;
}

/* "0000:01:00.1 (busy)" or "/dev/iommu (access)" */
static void where_describe(bool iommufd, const struct vk_pci_addr *a, enum vk_fakesys_expect_class cls, char *buf,
                           size_t len)
{
	char bdf[VK_PCI_ADDR_STRLEN];
	snprintf(buf, len, "fails at %s (%s)", iommufd ? "/dev/iommu" : vk_pci_addr_format(a, bdf),
	         vk_fakesys_expect_class_name(cls));
}

/* The set: expectation against what vk_vfio_set_open_diag() answered. */
static void compare_set(const struct run_ctx *c, int r, const struct vk_vfio_set *set,
                        const struct vk_vfio_set_failure *fail, const struct vk_pci_addr *devs, const char *msg,
                        struct diff *d)
{
	const struct vk_fakesys_expect *x = c->x;
	char name[64], want[128], got[128];
	bool at_iommufd = fail->index == VK_VFIO_SET_FAILED_IOMMUFD;
	enum vk_fakesys_expect_class cls = VK_FAKESYS_EXPECT_ERROR;

	snprintf(name, sizeof(name), x->has_set ? "set (line %u)" : "set (for argv: resolver)", x->set_line);
	if (x->set_fails)
		where_describe(x->set_fail_iommufd, &x->set_fail_addr, x->set_fail_class, want, sizeof(want));
	else
		snprintf(want, sizeof(want), "opened");
	if (r == 0) {
		if (x->set_fails)
			runner_item(d, name, want, "opened: %zu device(s) and /dev/iommu", set->n);
		return;
	}
	if (fail->index >= 0)
		cls = runner_class_of(&fail->facts, -r);
	else if (at_iommufd)
		cls = runner_class_of_errno(-r);
	if (fail->index == VK_VFIO_SET_FAILED_ARGS) {
		snprintf(got, sizeof(got), "failed before opening anything");
	} else {
		where_describe(at_iommufd, fail->index >= 0 ? &devs[fail->index] : NULL, cls, got, sizeof(got));
		if (x->set_fails && at_iommufd == x->set_fail_iommufd && cls == x->set_fail_class &&
		    (at_iommufd || vk_pci_addr_equal(&devs[fail->index], &x->set_fail_addr)))
			return;
	}
	runner_item(d, name, want, "%s: %s", got, msg);
}

void runner_set_phase(void *arg, struct diff *d)
{
	const struct run_ctx *c = arg;
	const struct vk_fakesys_expect *x = c->x;

	if (!x->has_set && !x->n_access && !x->argv_resolver) {
		if (x->has_validate)
			runner_validate_argv(c, x->argc, x->argv, false, d);
		return;
	}
	size_t n = 0;
	_cleanup_free_ struct vk_pci_addr *devs = set_devices(c, &n);
	if (!devs) {
		runner_item(d, "set", "the set's devices", "out of memory");
		return;
	}
	struct vk_vfio_set set = {.iommufd = -1};
	struct vk_vfio_set_failure fail;
	struct vk_error e = {0};
	int before = fd_count();
	off_t log_from = file_size(c->log);
	int r = vk_vfio_set_open_diag(c->root, devs, n, 0, &set, &fail, &e);
	off_t log_to = file_size(c->log);

	compare_set(c, r, &set, &fail, devs, e.msg, d);
	/* a log that cannot be measured would make every count: 0 rule pass */
	if (log_from < 0 || log_to < 0)
		runner_item(d, "access", "the access log of the set phase", "%s: %s", c->log,
		            strerror((int)-(log_from < 0 ? log_from : log_to)));
	else if (c->log)
		runner_check_access(x, c->log, log_from, log_to, d);
	if (x->has_validate) {
		if (!x->argv_resolver)
			runner_validate_argv(c, x->argc, x->argv, false, d);
		else if (r == 0)
			runner_validate_set(c, &set, d);
	}
	vk_vfio_set_close(&set);
	int after = fd_count();
	if (before < 0 || after < 0)
		runner_item(d, "set: file descriptors", "a count before and after the set",
		            "/proc/self/fd cannot be listed: %s", strerror(-(before < 0 ? before : after)));
	else if (after != before)
		runner_item(d, "set: file descriptors", "none left open once the set is closed or failed",
		            "%d before, %d after", before, after);
}
