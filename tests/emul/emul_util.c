/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vfiokit/root.h>

#include "emul_util.h"
#include "testutil.h"

static int read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};
	(void)ctx;
	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int write_mem(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = {(void *)buf, len}, r = {(void *)(uintptr_t)addr, len};
	(void)ctx;
	return process_vm_writev(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int get_file(void *ctx, int fd, struct emul_file **out)
{
	struct te *t = ctx;

	*out = NULL;
	if (fd >= TE_FD_BASE && fd < TE_FD_BASE + TE_MAX_FILES && t->files[fd - TE_FD_BASE]) {
		*out = emul_file_get(t->files[fd - TE_FD_BASE]);
		return 0;
	}
	/* a real FD of ours: open, but no emulated file */
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : 0;
}

static int install_file(void *ctx, struct emul_file *f, const char *name)
{
	struct te *t = ctx;

	(void)name;
	for (int i = 0; i < TE_MAX_FILES; i++)
		if (!t->files[i]) {
			t->files[i] = emul_file_get(f);
			t->installs++;
			return TE_FD_BASE + i;
		}
	return -EMFILE;
}

static int get_eventfd(void *ctx, int fd)
{
	char path[64], target[64];
	(void)ctx;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -EBADF;
	target[n] = '\0';
	if (strcmp(target, "anon_inode:[eventfd]"))
		return -EINVAL;
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static int creds(void *ctx, struct emul_creds *out)
{
	struct te *t = ctx;
	*out = t->creds;
	return 0;
}

static int gc(void *ctx)
{
	struct te *t = ctx;
	int n = 0;

	t->gc_calls++;
	for (int i = 0; i < TE_MAX_FILES; i++)
		if (t->gc_drops[i] && t->files[i]) {
			emul_file_put(t->e, t->files[i]);
			t->files[i] = NULL;
			t->gc_drops[i] = false;
			n++;
		}
	return n;
}

void te_setup(struct te *t, const char *scenario)
{
	char path[4096];
	struct emul_opts o = {0};
	struct vk_error err = {0};

	memset(t, 0, sizeof(*t));
	/* "emul-host.yaml" is this folder's (fixed config spaces), others scenarios/ */
	if (!strncmp(scenario, "emul-", 5))
		vk_test_data_path("emul", scenario, path, sizeof(path));
	else
		vk_scenario_path(scenario, path, sizeof(path));
	cr_assert_eq(vk_materialize(path, t->dir, sizeof(t->dir)), 0);
	cr_assert_eq(vk_root_open(t->dir, 0, &t->root, &err), 0, "%s", err.msg);
	o.root = t->root;
	cr_assert_eq(emul_new(&o, &t->e, &err), 0, "%s", err.msg);
	t->env = (struct emul_env){
		.ctx = t,
		.read_mem = read_mem,
		.write_mem = write_mem,
		.get_file = get_file,
		.install_file = install_file,
		.get_eventfd = get_eventfd,
		.creds = creds,
		.gc = gc,
	};
	/* an unprivileged caller with an 8 MiB memlock limit */
	t->creds = (struct emul_creds){
		.uid = 1000,
		.tgid = getpid(),
		.memlock_limit = 8u << 20,
	};
}

void te_teardown(struct te *t)
{
	for (int i = 0; i < TE_MAX_FILES; i++)
		if (t->files[i])
			emul_file_put(t->e, t->files[i]);
	emul_free(t->e);
	vk_root_close(t->root);
	vk_rm_rf(t->dir);
}

int te_open(struct te *t, const char *rel, int oflags)
{
	char path[8192], content[128];
	struct emul_file *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	long n = vk_read_file(path, content, sizeof(content));
	if (n < 0)
		return (int)n;
	int r = emul_open_standin(t->e, &t->env, content, oflags, &f);
	if (r < 0)
		return r;
	for (int i = 0; i < TE_MAX_FILES; i++)
		if (!t->files[i]) {
			t->files[i] = f;
			return TE_FD_BASE + i;
		}
	emul_file_put(t->e, f);
	return -EMFILE;
}

struct emul_file *te_file(struct te *t, int fd)
{
	cr_assert(fd >= TE_FD_BASE && fd < TE_FD_BASE + TE_MAX_FILES && t->files[fd - TE_FD_BASE], "fd %d", fd);
	return t->files[fd - TE_FD_BASE];
}

void te_close(struct te *t, int fd)
{
	struct emul_file *f = te_file(t, fd);
	t->files[fd - TE_FD_BASE] = NULL;
	emul_file_put(t->e, f);
}

void te_close_behind(struct te *t, int fd)
{
	te_file(t, fd);
	t->gc_drops[fd - TE_FD_BASE] = true;
}

long te_ioctl_v(struct te *t, int fd, unsigned long cmd, uint64_t arg)
{
	return emul_ioctl(t->e, &t->env, te_file(t, fd), (unsigned int)cmd, arg);
}

long te_ioctl(struct te *t, int fd, unsigned long cmd, const void *arg)
{
	return te_ioctl_v(t, fd, cmd, (uint64_t)(uintptr_t)arg);
}

ssize_t te_pread(struct te *t, int fd, void *buf, size_t n, uint64_t pos)
{
	return emul_rw(t->e, &t->env, te_file(t, fd), buf, n, pos, false);
}

ssize_t te_pwrite(struct te *t, int fd, const void *buf, size_t n, uint64_t pos)
{
	return emul_rw(t->e, &t->env, te_file(t, fd), (void *)buf, n, pos, true);
}

void te_set_driver(struct te *t, const char *bdf, const char *driver)
{
	char link[8192], target[512];

	snprintf(link, sizeof(link), "%s/sys/bus/pci/devices/%s/driver", t->dir, bdf);
	unlink(link);
	if (driver) {
		snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", driver);
		cr_assert_eq(symlink(target, link), 0, "%s: %s", link, strerror(errno));
	}
}

int te_container_for(struct te *t, int groupfd)
{
	int c = te_open(t, "dev/vfio/vfio", O_RDWR);
	cr_assert_geq(c, 0);
	int32_t cfd = c;
	cr_assert_eq(te_ioctl(t, groupfd, VFIO_GROUP_SET_CONTAINER, &cfd), 0);
	cr_assert_eq(te_ioctl_v(t, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	return c;
}

int te_device_fd(struct te *t, int groupfd, const char *bdf)
{
	long d = te_ioctl(t, groupfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	cr_assert_geq(d, TE_FD_BASE, "GET_DEVICE_FD %s: %ld", bdf, d);
	return (int)d;
}
