/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host as the emulated kernel sees it: read from the served tree at the
 * moment of each call, never cached, so that the ioctls agree with what a
 * program reads from /sys (one model).  Every path goes through the
 * resolver's root (openat2 RESOLVE_IN_ROOT): the tree's links resolve inside it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include "emul_internal.h"

/* snprintf() that says when the result did not fit (an over-long name from the tree) */
static int __attribute__((format(printf, 3, 4))) fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int host_read(const struct emul *e, const char *rel, char *buf, size_t len)
{
	ssize_t n = vk_root_read(e->root, -1, rel, VK_ROOT_READ_TRUNCATE, buf, len, NULL);

	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

/* The last component of the target of the symlink @rel ("driver" -> "vfio-pci"). */
int host_readlink_base(const struct emul *e, const char *rel, char *buf, size_t len)
{
	char dir[PATH_MAX], target[PATH_MAX];
	const char *slash = strrchr(rel, '/');
	ssize_t n;

	if (!slash || (size_t)(slash - rel) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, rel, (size_t)(slash - rel));
	dir[slash - rel] = '\0';
	_cleanup_close_ int dfd = vk_root_openat(e->root, dir, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	n = readlinkat(dfd, slash + 1, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

bool host_exists(const struct emul *e, const char *rel)
{
	int fd = vk_root_openat(e->root, rel, O_PATH);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int host_dev_driver(const struct emul *e, const char *bdf, char *buf, size_t len)
{
	char rel[96];

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", bdf) < 0)
		return -ENAMETOOLONG;
	int r = host_readlink_base(e, rel, buf, len);
	if (r == -ENOENT) {
		/* unbound (or no such device: the caller tells them apart) */
		buf[0] = '\0';
		return 0;
	}
	return r;
}

long host_dev_group(const struct emul *e, const char *bdf)
{
	char rel[96], name[32], *end;
	long g;

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/iommu_group", bdf) < 0)
		return -1;
	if (host_readlink_base(e, rel, name, sizeof(name)) < 0)
		return -1;
	g = strtol(name, &end, 10);
	return *end || end == name ? -1 : g;
}

/* The names in directory @rel that look like PCI addresses, sorted. */
static int list_bdfs(const struct emul *e, const char *rel, char (*bdfs)[20], int max)
{
	_cleanup_close_ int fd = vk_root_openat(e->root, rel, O_RDONLY | O_DIRECTORY);
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1;
	while ((de = readdir(d))) {
		struct vk_pci_addr a;
		if (de->d_name[0] == '.' || vk_pci_addr_parse(de->d_name, &a, NULL) < 0)
			continue;
		if (n < max && fmt(bdfs[n], sizeof(bdfs[n]), "%s", de->d_name) == 0)
			n++;
	}
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(bdfs[j - 1], bdfs[j]) > 0; j--) {
			char t[20];
			memcpy(t, bdfs[j], 20);
			memcpy(bdfs[j], bdfs[j - 1], 20);
			memcpy(bdfs[j - 1], t, 20);
		}
	return n;
}

int host_group_devices(const struct emul *e, long group, char (*bdfs)[20], int max)
{
	char rel[64];

	if (fmt(rel, sizeof(rel), "sys/kernel/iommu_groups/%ld/devices", group) < 0)
		return -ENAMETOOLONG;
	return list_bdfs(e, rel, bdfs, max);
}

int host_dev_config(const struct emul *e, const char *bdf, uint8_t *buf, size_t len)
{
	char rel[96];

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", bdf) < 0)
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = vk_root_openat(e->root, rel, O_RDONLY);
	size_t got = 0;

	if (fd < 0)
		return fd;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	memset(buf + got, 0, len - got);
	return (int)got;
}

int host_dev_resources(const struct emul *e, const char *bdf, struct emul_resource *res, int max)
{
	char rel[96], buf[2048];
	int n = 0;

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/resource", bdf) < 0)
		return 0;
	memset(res, 0, sizeof(*res) * (size_t)max);
	if (host_read(e, rel, buf, sizeof(buf)) < 0)
		return 0;
	for (char *line = buf; line && *line && n < max;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &res[n].start, &res[n].end, &res[n].flags) == 3)
			n++;
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

long host_dev_irq(const struct emul *e, const char *bdf)
{
	char rel[96], buf[32];

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/irq", bdf) < 0)
		return 0;
	return host_read(e, rel, buf, sizeof(buf)) > 0 ? strtol(buf, NULL, 10) : 0;
}

bool host_dev_is_vf(const struct emul *e, const char *bdf)
{
	char rel[96];

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/physfn", bdf) < 0)
		return false;
	return host_exists(e, rel);
}

int host_dev_physfn(const struct emul *e, const char *bdf, char *buf, size_t len)
{
	char rel[96];

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/physfn", bdf) < 0)
		return -ENAMETOOLONG;
	return host_readlink_base(e, rel, buf, len);
}

bool host_dev_is_pf(const struct emul *e, const char *bdf)
{
	char rel[96], buf[32];

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/sriov_totalvfs", bdf) < 0)
		return false;
	return host_read(e, rel, buf, sizeof(buf)) > 0 && strtol(buf, NULL, 10) > 0;
}

/*
 * The functions a bus reset of @bdf's bus would reset: every device below
 * the bridge above it (pci_walk_bus(): the bus and its subordinate buses).
 * *root_bus: @bdf sits on a root bus (no bridge: no bus reset, pci_bus_reset()).
 */
int host_dev_bus_peers(const struct emul *e, const char *bdf, char (*bdfs)[20], int max, bool *root_bus)
{
	char rel[96], target[PATH_MAX], parent[32];

	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf) < 0)
		return -ENAMETOOLONG;
	_cleanup_close_ int dfd = vk_root_openat(e->root, "sys/bus/pci/devices", O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	ssize_t n = readlinkat(dfd, bdf, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	/* ../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0 */
	char *last = strrchr(target, '/');
	if (!last)
		return -EINVAL;
	*last = '\0';
	char *pslash = strrchr(target, '/');
	if (fmt(parent, sizeof(parent), "%s", pslash ? pslash + 1 : target) < 0)
		return -ENAMETOOLONG;
	struct vk_pci_addr a;
	*root_bus = vk_pci_addr_parse(parent, &a, NULL) < 0;
	if (*root_bus)
		return 0;
	/* every PCI function below the bridge, depth first */
	char stack[8][PATH_MAX];
	int depth = 0, count = 0;
	fmt(stack[0], sizeof(stack[0]), "sys/bus/pci/devices/%s", parent);
	while (depth >= 0) {
		char dir[PATH_MAX];
		char kids[EMUL_MAX_GROUP_DEVS][20];
		memcpy(dir, stack[depth--], sizeof(dir));
		int k = list_bdfs(e, dir, kids, EMUL_MAX_GROUP_DEVS);
		for (int i = 0; i < k; i++) {
			if (count < max)
				memcpy(bdfs[count++], kids[i], sizeof(kids[i]));
			if (depth + 1 < 8 && fmt(stack[depth + 1], sizeof(stack[0]), "%s/%s", dir, kids[i]) == 0)
				depth++;
		}
	}
	return count;
}

static uint64_t hex_attr(const struct emul *e, const char *rel, uint64_t dflt)
{
	char buf[64];

	if (host_read(e, rel, buf, sizeof(buf)) <= 0)
		return dflt;
	return strtoull(buf, NULL, 16);
}

/*
 * The IOMMU unit behind a device: the kind from its sysfs directory, Intel's
 * capability registers as the scenario shows them (intel-iommu/{cap,ecap}).
 * Intel: MGAW = cap[21:16] + 1 gives the aperture, ecap bit 3 (IR) interrupt
 * remapping, bit 7 (SC) snoop control, bit 43 (SMTS) + bit 45 (SLADS) dirty
 * tracking (drivers/iommu/intel/iommu.h); page sizes 4K|2M|1G.  AMD: interrupt
 * remapping when the scenario's features have it (bit 3 of the EFR low byte is
 * what fakesys writes), 48-bit aperture, every page size from 4K.
 */
int host_iommu_info(const struct emul *e, const char *bdf, struct emul_iommu_info *out)
{
	char rel[160], unit[32];

	memset(out, 0, sizeof(*out));
	out->pgsize_bitmap = 0x40201000ull; /* 4K | 2M | 1G */
	out->aperture_last = (1ull << 48) - 1;
	out->enforce_cc = true;
	if (fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/iommu", bdf) < 0)
		return -ENAMETOOLONG;
	if (host_readlink_base(e, rel, unit, sizeof(unit)) < 0) {
		out->kind = IOMMU_NONE_KIND;
		return 0;
	}
	if (fmt(rel, sizeof(rel), "sys/class/iommu/%s/intel-iommu/cap", unit) < 0)
		return -ENAMETOOLONG;
	if (host_exists(e, rel)) {
		out->kind = VK_IOMMU_INTEL;
		out->cap = hex_attr(e, rel, 0);
		if (fmt(rel, sizeof(rel), "sys/class/iommu/%s/intel-iommu/ecap", unit) < 0)
			return -ENAMETOOLONG;
		out->ecap = hex_attr(e, rel, 0);
		unsigned mgaw = (unsigned)((out->cap >> 16) & 0x3f) + 1;
		out->aperture_last = mgaw >= 64 ? UINT64_MAX : (1ull << mgaw) - 1;
		out->isolated_msi = out->ecap & (1ull << 3);
		out->enforce_cc = out->ecap & (1ull << 7);
		out->dirty_tracking = (out->ecap & (1ull << 43)) && (out->ecap & (1ull << 45));
		return 0;
	}
	if (fmt(rel, sizeof(rel), "sys/class/iommu/%s/amd-iommu/features", unit) < 0)
		return -ENAMETOOLONG;
	if (host_exists(e, rel)) {
		uint64_t feat = hex_attr(e, rel, 0);
		out->kind = VK_IOMMU_AMD;
		out->pgsize_bitmap = ~0xfffull;
		out->isolated_msi = feat & (1ull << 3);
		return 0;
	}
	out->kind = IOMMU_OTHER;
	out->isolated_msi = true;
	return 0;
}

/* The group's reserved regions ("0x00000000fee00000 0x00000000feefffff msi"),
 * except the relaxable direct ones (vfio_iommu_resv_exclude()). */
int host_group_reserved(const struct emul *e, long group, struct emul_range *out, int max)
{
	char rel[80], buf[2048];
	int n = 0;

	if (fmt(rel, sizeof(rel), "sys/kernel/iommu_groups/%ld/reserved_regions", group) < 0)
		return 0;
	if (host_read(e, rel, buf, sizeof(buf)) < 0)
		return 0;
	for (char *line = buf; line && *line && n < max;) {
		char *nl = strchr(line, '\n');
		char type[32] = "";
		if (nl)
			*nl = '\0';
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %31s", &out[n].start, &out[n].last, type) >= 2 &&
		    strcmp(type, "direct-relaxable") != 0)
			n++;
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

bool host_module_loaded(const struct emul *e, const char *mod)
{
	char rel[96];

	if (fmt(rel, sizeof(rel), "sys/module/%s", mod) < 0)
		return false;
	return host_exists(e, rel);
}

bool host_module_param_y(const struct emul *e, const char *mod, const char *param)
{
	char rel[160], buf[20];

	if (fmt(rel, sizeof(rel), "sys/module/%s/parameters/%s", mod, param) < 0)
		return false;
	return host_read(e, rel, buf, sizeof(buf)) > 0 && (buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1');
}

bool host_driver_is_vfio(const char *driver)
{
	return vk_pci_driver_is_vfio_pci(driver);
}

bool host_driver_keeps_group_free(const char *driver)
{
	return vk_pci_driver_keeps_group_free(driver);
}

bool host_group_free_of_kernel_dma(const struct emul *e, long group)
{
	char bdfs[EMUL_MAX_GROUP_DEVS][20], drv[64];
	int n = host_group_devices(e, group, bdfs, EMUL_MAX_GROUP_DEVS);

	for (int i = 0; i < n; i++) {
		if (host_dev_driver(e, bdfs[i], drv, sizeof(drv)) < 0)
			continue;
		if (!host_driver_keeps_group_free(drv))
			return false;
	}
	return true;
}
