/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-doctor per-device checks (VD100..VD107): presence, driver, group
 * viability, cdev, group node, access for the QEMU user, SR-IOV.  Facts come
 * from the resolver (vk_pci_dev_facts_read()); everything else is read through
 * the root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/doctor.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include "doctor_internal.h"

static int cmp_addr(const void *a, const void *b)
{
	return vk_pci_addr_cmp(a, b);
}

/* Append the addresses listed in sys/bus/pci/drivers/@drv to @v. Returns 0, -ENOMEM. */
static int driver_devices_add(const struct vk_root *root, const char *drv, struct vk_pci_addr **v, size_t *n)
{
	char rel[320], **names = NULL;
	size_t nn = 0;

	snprintf(rel, sizeof(rel), "/sys/bus/pci/drivers/%s", drv);
	int r = vk__doc_list(root, rel, &names, &nn);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !nn) {
		vk__doc_list_free(names, nn);
		return 0;
	}
	struct vk_pci_addr *nv = realloc(*v, (*n + nn) * sizeof(**v));
	if (!nv) {
		vk__doc_list_free(names, nn);
		return -ENOMEM;
	}
	*v = nv;
	for (size_t i = 0; i < nn; i++)
		if (vk_pci_addr_parse(names[i], &nv[*n], NULL) == 0)
			(*n)++;
	vk__doc_list_free(names, nn);
	return 0;
}

int vk_doctor_vfio_devices(const struct vk_root *root, struct vk_pci_addr **out, size_t *n, struct vk_error *err)
{
	char **drivers = NULL;
	size_t nd = 0, k = 0;
	struct vk_pci_addr *v = NULL;
	int r = vk__doc_list(root, "/sys/bus/pci/drivers", &drivers, &nd);

	*out = NULL;
	*n = 0;
	if (r == -ENOMEM)
		return vk_error_set(err, ENOMEM, "out of memory");
	/* vfio-pci and its variant drivers (mlx5_vfio_pci, ...) */
	for (size_t i = 0; r >= 0 && i < nd; i++)
		if (vk_pci_driver_is_vfio_pci(drivers[i]))
			r = driver_devices_add(root, drivers[i], &v, &k);
	vk__doc_list_free(drivers, nd);
	if (r == -ENOMEM) {
		free(v);
		return vk_error_set(err, ENOMEM, "out of memory");
	}
	if (!k) {
		free(v);
		return 0;
	}
	qsort(v, k, sizeof(*v), cmp_addr);
	*out = v;
	*n = k;
	return 0;
}

static int check_driver(const struct vk_doctor_options *o, const struct vk_pci_dev_facts *f, struct vk_doctor_report *rep)
{
	char fix[2048], ov[512], unbind[512], probe[512];
	size_t off = 0;
	struct stat st;

	if (vk_pci_driver_is_vfio_pci(f->driver)) {
		bool variant = strcmp(f->driver, VK_VFIO_DRIVER_NAME) != 0;
		TRY(vk_doctor_add(rep, "VD102", VK_DOCTOR_PASS, f->bdf, NULL, "bound to %s%s%s", f->driver,
		                  variant ? " (a vfio-pci variant driver)" : "",
		                  strcmp(f->driver_override, f->driver) == 0 ? " (driver_override)" : ""));
		return vk_doctor_evidence(rep, "driver=%s driver_override=%s", f->driver,
		                          f->driver_override[0] ? f->driver_override : "(null)");
	}
	{
		char rel[256];
		snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/driver_override", f->bdf);
		vk__doc_path(o->root, rel, ov, sizeof(ov));
		snprintf(rel, sizeof(rel), "/sys/bus/pci/drivers/%s/unbind", f->driver);
		vk__doc_path(o->root, rel, unbind, sizeof(unbind));
		vk__doc_path(o->root, "/sys/bus/pci/drivers_probe", probe, sizeof(probe));
	}
#define ADD(...) off += (size_t)snprintf(fix + off, off < sizeof(fix) ? sizeof(fix) - off : 0, __VA_ARGS__)
	if (vk__doc_stat(o->root, "/sys/module/vfio_pci", &st) < 0)
		ADD("modprobe vfio-pci\n");
	ADD("driverctl set-override %s vfio-pci   (persistent; rebinds now)\n", f->bdf);
	ADD("or by hand: echo vfio-pci > %s\n", ov);
	if (f->driver[0])
		ADD("            echo %s > %s\n", f->bdf, unbind);
	ADD("            echo %s > %s", f->bdf, probe);
#undef ADD
	if (f->driver[0])
		TRY(vk_doctor_add(rep, "VD102", VK_DOCTOR_FAIL, f->bdf, fix, "bound to %s, not vfio-pci%s", f->driver,
		                  strcmp(f->driver_override, VK_VFIO_DRIVER_NAME) == 0
		                          ? " (driver_override is already vfio-pci: it needs an unbind and a probe)"
		                          : ""));
	else
		TRY(vk_doctor_add(rep, "VD102", VK_DOCTOR_FAIL, f->bdf, fix, "bound to no driver, not vfio-pci"));
	return vk_doctor_evidence(rep, "driver=%s driver_override=%s", f->driver[0] ? f->driver : "(none)",
	                          f->driver_override[0] ? f->driver_override : "(null)");
}

static bool is_bridge(int64_t class_code)
{
	return class_code >= 0 && ((class_code >> 8) == 0x0604 || (class_code >> 8) == 0x0609);
}

static int check_group(const struct vk_doctor_options *o, const struct vk_pci_dev_facts *f, struct vk_doctor_report *rep)
{
	char rel[256], members[1024] = "", bad[1024] = "", fix[2048] = "", gname[64];
	size_t mo = 0, bo = 0, fo = 0, nbad = 0;
	char **names = NULL;
	size_t nn = 0;
	int r;

	if (f->iommu_group < 0) {
		TRY(vk_doctor_add(rep, "VD103", VK_DOCTOR_FAIL, f->bdf,
		                  "enable the IOMMU (see the IOMMU check above); every device then gets a group",
		                  "in no IOMMU group (no iommu_group link)"));
		snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/iommu_group", f->bdf);
		return vk__doc_evidence_path(rep, o->root, rel, "absent");
	}
	snprintf(rel, sizeof(rel), "/sys/kernel/iommu_groups/%ld/devices", f->iommu_group);
	r = vk__doc_list(o->root, rel, &names, &nn);
	if (r == -ENOMEM)
		return r;
	if (nn > 1)
		qsort(names, nn, sizeof(char *), vk__doc_strcmp);
	for (size_t i = 0; i < nn; i++) {
		struct vk_pci_addr a;
		struct vk_pci_dev_facts m;
		if (vk_pci_addr_parse(names[i], &a, NULL) < 0 || vk_pci_dev_facts_read(o->root, &a, &m, NULL) < 0)
			continue;
		bool bridge = is_bridge(m.class_code);
		if (mo < sizeof(members))
			mo += (size_t)snprintf(members + mo, sizeof(members) - mo, "%s%s %s%s", mo ? ", " : "", m.bdf,
			                       m.driver[0] ? m.driver : "(no driver)", bridge ? " [bridge]" : "");
		if (vk_pci_driver_keeps_group_free(m.driver) || vk_pci_addr_equal(&m.addr, &f->addr))
			continue; /* the device's own driver is VD102's business */
		nbad++;
		if (bo < sizeof(bad))
			bo += (size_t)snprintf(bad + bo, sizeof(bad) - bo, "%s%s is bound to %s", bo ? ", " : "", m.bdf,
			                       m.driver);
		if (fo < sizeof(fix)) {
			char ub[512], urel[256];
			snprintf(urel, sizeof(urel), "/sys/bus/pci/drivers/%s/unbind", m.driver);
			vk__doc_path(o->root, urel, ub, sizeof(ub));
			fo += (size_t)snprintf(fix + fo, sizeof(fix) - fo,
			                       "%sdriverctl set-override %s vfio-pci   (or unbind it: echo %s > %s)",
			                       fo ? "\n" : "", m.bdf, m.bdf, ub);
		}
	}
	vk__doc_list_free(names, nn);
	snprintf(rel, sizeof(rel), "/sys/kernel/iommu_groups/%ld/name", f->iommu_group);
	bool noiommu = vk__doc_read(o->root, rel, gname, sizeof(gname)) > 0 && strcmp(gname, "vfio-noiommu") == 0;
	if (nbad) {
		if (fo < sizeof(fix))
			snprintf(fix + fo, sizeof(fix) - fo,
			         "\na group is assigned as a whole: if these devices must stay on the host, this device cannot be passed through (no ACS isolation)");
		TRY(vk_doctor_add(rep, "VD103", VK_DOCTOR_FAIL, f->bdf, fix, "group %ld is not viable: %s", f->iommu_group,
		                  bad));
	} else {
		TRY(vk_doctor_add(rep, "VD103", VK_DOCTOR_PASS, f->bdf, NULL, "%sgroup %ld: %s",
		                  noiommu ? "no-IOMMU " : "", f->iommu_group, members[0] ? members : "(no members listed)"));
	}
	snprintf(rel, sizeof(rel), "/sys/kernel/iommu_groups/%ld/devices", f->iommu_group);
	TRY(vk__doc_evidence_path(rep, o->root, rel, NULL));
	return vk_doctor_evidence(rep, "members: %s", members[0] ? members : "(none)");
}

/*
 * Whether the node at f->node_path is the device's cdev, by the resolver's one
 * identity check (a char device with the right st_rdev, or the stand-in line).
 * A character device is only fstat'ed (O_PATH), never opened; a regular file
 * is read.  Returns 1 (it is), 0 (cannot tell: the node cannot be opened
 * here, which VD106 and the resolver judge), or -1 with @why saying what it is.
 */
static int node_identity(const struct vk_root *root, const struct vk_pci_dev_facts *f, struct vk_error *why)
{
	_cleanup_close_ int fd = vk_root_openat(root, f->node_path, f->node_is_chardev ? O_PATH : O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return 0;
	return vk_vfio_node_identity_check(fd, f->cdev_major, f->cdev_minor, NULL, why) < 0 ? -1 : 1;
}

static int check_cdev(const struct vk_doctor_options *o, const struct vk_pci_dev_facts *f, struct vk_doctor_report *rep)
{
	char rel[256], fix[512];
	struct vk_error why = {0};

	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/vfio-dev", f->bdf);
	switch (f->cdev_state) {
	case VK_VFIO_CDEV_OK:
		if (node_identity(o->root, f, &why) == -1) {
			snprintf(fix, sizeof(fix), "udevadm trigger -s vfio-dev (or recreate it: mknod %s c %u %u)",
			         f->node_path, f->cdev_major, f->cdev_minor);
			TRY(vk_doctor_add(rep, "VD104", VK_DOCTOR_FAIL, f->bdf, fix,
			                  "%s is not the device's cdev %u:%u (vfio-dev/%s/dev): it is %s; a stale or foreign node",
			                  f->node_path, f->cdev_major, f->cdev_minor, f->cdev_name, why.msg));
			break;
		}
		TRY(vk_doctor_add(rep, "VD104", VK_DOCTOR_PASS, f->bdf, NULL, "%s (%u:%u), %s, uid %u gid %u mode %04o",
		                  f->node_path, f->cdev_major, f->cdev_minor,
		                  f->node_is_chardev ? "char device" : "stand-in file", (unsigned)f->node_uid,
		                  (unsigned)f->node_gid, (unsigned)f->node_mode));
		break;
	case VK_VFIO_CDEV_NO_VFIO_DEV_DIR:
		TRY(vk_doctor_add(rep, "VD104", VK_DOCTOR_FAIL, f->bdf,
		                  "use a kernel with CONFIG_VFIO_DEVICE_CDEV=y (6.2+), or the legacy group interface (host=)",
		                  "no vfio-dev/ directory: a kernel before 6.2, or without VFIO_DEVICE_CDEV"));
		break;
	case VK_VFIO_CDEV_NO_DEV_ATTR:
		TRY(vk_doctor_add(rep, "VD104", VK_DOCTOR_FAIL, f->bdf,
		                  "use a kernel with CONFIG_VFIO_DEVICE_CDEV=y (and the IOMMU on), or the legacy group interface (host=)",
		                  "vfio-dev/%s has no dev: the kernel has no VFIO_DEVICE_CDEV (or runs in no-IOMMU mode)",
		                  f->cdev_name[0] ? f->cdev_name : "vfioN"));
		break;
	case VK_VFIO_CDEV_NODE_MISSING:
		snprintf(fix, sizeof(fix), "udevadm trigger -s vfio-dev (or: mkdir -p /dev/vfio/devices && mknod %s c %u %u)",
		         f->node_path, f->cdev_major, f->cdev_minor);
		TRY(vk_doctor_add(rep, "VD104", VK_DOCTOR_FAIL, f->bdf, fix,
		                  "%s is missing although vfio-dev/%s/dev says %u:%u", f->node_path, f->cdev_name,
		                  f->cdev_major, f->cdev_minor));
		break;
	default:
		TRY(vk_doctor_add(rep, "VD104", VK_DOCTOR_FAIL, f->bdf, NULL, "%s", f->cdev_problem));
		break;
	}
	TRY(vk__doc_evidence_path(rep, o->root, rel, f->cdev_name[0] ? f->cdev_name : NULL));
	if (f->cdev_name[0]) {
		char dev[64];
		snprintf(dev, sizeof(dev), "%u:%u", f->cdev_major, f->cdev_minor);
		snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/vfio-dev/%s/dev", f->bdf, f->cdev_name);
		TRY(vk__doc_evidence_path(rep, o->root, rel, f->has_dev_attr ? dev : "absent"));
	}
	if (f->node_path[0])
		TRY(vk__doc_evidence_path(rep, o->root, f->node_path, f->node_present ? "present" : "absent"));
	return 0;
}

/* The group node of @group: /dev/vfio/N, or /dev/vfio/noiommu-N.  Returns 0 with @st and @rel, or -errno. */
static int group_node(const struct vk_root *root, long group, char *rel, size_t len, struct stat *st)
{
	int r;

	snprintf(rel, len, "/dev/vfio/%ld", group);
	r = vk__doc_stat(root, rel, st);
	if (r == 0)
		return 0;
	char alt[128];
	snprintf(alt, sizeof(alt), "/dev/vfio/noiommu-%ld", group);
	if (vk__doc_stat(root, alt, st) == 0) {
		snprintf(rel, len, "%s", alt);
		return 0;
	}
	return r;
}

static int check_group_node(const struct vk_doctor_options *o, const struct vk_pci_dev_facts *f,
                            struct vk_doctor_report *rep)
{
	char rel[128], desc[160];
	struct stat st;
	int r = group_node(o->root, f->iommu_group, rel, sizeof(rel), &st);

	if (r < 0) {
		TRY(vk_doctor_add(rep, "VD105", VK_DOCTOR_FAIL, f->bdf,
		                  "udevadm trigger -s vfio (the node comes with the group's first vfio-pci member; major:minor in /sys/class/vfio/<group>/dev)",
		                  "%s is missing", rel));
		return vk__doc_evidence_path(rep, o->root, rel, strerror(-r));
	}
	vk__doc_node_desc(&st, desc, sizeof(desc));
	TRY(vk_doctor_add(rep, "VD105", VK_DOCTOR_PASS, f->bdf, NULL, "%s (%s)", rel, desc));
	return vk__doc_evidence_path(rep, o->root, rel, desc);
}

static int check_access(const struct vk_doctor_options *o, const struct vk_pci_dev_facts *f, struct vk_doctor_report *rep)
{
	struct {
		char rel[128];
		struct stat st;
		bool ok;
		const char *subsys;
	} nodes[2];
	size_t n = 0, ok = 0;
	char who[96], denied[512] = "", allowed[512] = "", fix[1024];
	size_t doff = 0, aoff = 0;

	if (f->cdev_state == VK_VFIO_CDEV_OK && vk__doc_stat(o->root, f->node_path, &nodes[n].st) == 0) {
		snprintf(nodes[n].rel, sizeof(nodes[n].rel), "%s", f->node_path);
		nodes[n++].subsys = "vfio-dev";
	}
	if (f->iommu_group >= 0 && group_node(o->root, f->iommu_group, nodes[n].rel, sizeof(nodes[n].rel), &nodes[n].st) == 0)
		nodes[n++].subsys = "vfio";
	if (!n)
		return 0; /* nothing to open: VD104/VD105 say why */
	vk__doc_user_desc(o->user, who, sizeof(who));
	for (size_t i = 0; i < n; i++) {
		char p[512];
		vk__doc_path(o->root, nodes[i].rel, p, sizeof(p));
		nodes[i].ok = vk_doctor_user_can_rw(o->user, nodes[i].st.st_uid, nodes[i].st.st_gid, nodes[i].st.st_mode);
		ok += nodes[i].ok;
		if (nodes[i].ok)
			aoff += (size_t)snprintf(allowed + aoff, aoff < sizeof(allowed) ? sizeof(allowed) - aoff : 0, "%s%s",
			                         aoff ? ", " : "", p);
		else
			doff += (size_t)snprintf(denied + doff, doff < sizeof(denied) ? sizeof(denied) - doff : 0,
			                         "%s%s (uid %u gid %u mode %04o)", doff ? ", " : "", p,
			                         (unsigned)nodes[i].st.st_uid, (unsigned)nodes[i].st.st_gid,
			                         (unsigned)(nodes[i].st.st_mode & 07777));
	}
	if (ok == n) {
		TRY(vk_doctor_add(rep, "VD106", VK_DOCTOR_PASS, f->bdf, NULL, "%s can open %s read-write", who, allowed));
	} else {
		const char *subsys = "vfio";
		for (size_t i = 0; i < n; i++)
			if (!nodes[i].ok)
				subsys = nodes[i].subsys;
		snprintf(fix, sizeof(fix),
		         "let the management layer open the node and pass the FD (libvirt: <hostdev> with <driver iommufd='yes'/>)\n"
		         "or a udev rule, e.g. /etc/udev/rules.d/90-vfio.rules: SUBSYSTEM==\"%s\", OWNER=\"%s\", MODE=\"0600\"",
		         subsys, o->user->name[0] ? o->user->name : who);
		TRY(vk_doctor_add(rep, "VD106", ok ? VK_DOCTOR_WARN : VK_DOCTOR_FAIL, f->bdf, fix,
		                  "%s cannot open %s read-write%s%s", who, denied, ok ? "; it can open " : "", ok ? allowed : ""));
	}
	for (size_t i = 0; i < n; i++) {
		char desc[160];
		vk__doc_node_desc(&nodes[i].st, desc, sizeof(desc));
		TRY(vk__doc_evidence_path(rep, o->root, nodes[i].rel, desc));
	}
	if (o->user->n_groups) {
		char g[512];
		size_t go = 0;
		for (size_t i = 0; i < o->user->n_groups && go < sizeof(g); i++)
			go += (size_t)snprintf(g + go, sizeof(g) - go, "%s%u", i ? "," : "", (unsigned)o->user->groups[i]);
		TRY(vk_doctor_evidence(rep, "user %s groups %s", who, g));
	} else {
		TRY(vk_doctor_evidence(rep, "user %s: no passwd entry, no groups", who));
	}
	return 0;
}

static int check_sriov(const struct vk_doctor_options *o, const struct vk_pci_dev_facts *f, struct vk_doctor_report *rep)
{
	char rel[256], tot[32], num[32], link[512];
	_cleanup_close_ int dfd = -1;
	long tn, nn;

	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s", f->bdf);
	dfd = vk_root_openat(o->root, rel, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return 0;
	ssize_t ln = readlinkat(dfd, "physfn", link, sizeof(link) - 1);
	if (ln > 0) {
		link[ln] = '\0';
		const char *pf = strrchr(link, '/');
		pf = pf ? pf + 1 : link;
		struct vk_pci_addr pa;
		struct vk_pci_dev_facts pff;
		bool have_pf = vk_pci_addr_parse(pf, &pa, NULL) == 0 && vk_pci_dev_facts_read(o->root, &pa, &pff, NULL) == 0 &&
		               pff.present;
		if (!have_pf)
			TRY(vk_doctor_add(rep, "VD107", VK_DOCTOR_WARN, f->bdf, NULL, "a VF whose PF %s cannot be read", pf));
		else if (vk_pci_driver_is_vfio_pci(pff.driver))
			TRY(vk_doctor_add(rep, "VD107", VK_DOCTOR_WARN, f->bdf,
			                  "give QEMU the PF's VF token: -device vfio-pci,...,vf-token=<UUID> (set on the PF with VFIO_DEVICE_FEATURE), or bind the PF to its own driver",
			                  "a VF of PF %s, which is bound to %s: opening the VF needs the PF's VF token", pf,
			                  pff.driver));
		else
			TRY(vk_doctor_add(rep, "VD107", VK_DOCTOR_PASS, f->bdf, NULL, "a VF of PF %s (%s)", pf,
			                  pff.driver[0] ? pff.driver : "no driver"));
		snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/physfn", f->bdf);
		return vk__doc_evidence_path(rep, o->root, rel, link);
	}
	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/sriov_totalvfs", f->bdf);
	tn = vk__doc_read(o->root, rel, tot, sizeof(tot));
	if (tn <= 0 || strtoul(tot, NULL, 10) == 0)
		return 0; /* not SR-IOV */
	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/sriov_numvfs", f->bdf);
	nn = vk__doc_read(o->root, rel, num, sizeof(num));
	if (nn <= 0)
		snprintf(num, sizeof(num), "?");
	if (nn > 0 && strtoul(num, NULL, 10) == 0) {
		char p[512], fix[768];
		vk__doc_path(o->root, rel, p, sizeof(p));
		snprintf(fix, sizeof(fix), "echo N > %s   (N <= %s; with the PF bound to its own driver)", p, tot);
		TRY(vk_doctor_add(rep, "VD107", VK_DOCTOR_WARN, f->bdf, fix,
		                  "an SR-IOV PF with no VFs enabled (0 of %s): there are no VFs to assign", tot));
	} else {
		TRY(vk_doctor_add(rep, "VD107", VK_DOCTOR_PASS, f->bdf, NULL, "an SR-IOV PF with %s of %s VFs enabled", num,
		                  tot));
	}
	TRY(vk__doc_evidence_path(rep, o->root, rel, num));
	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/sriov_totalvfs", f->bdf);
	return vk__doc_evidence_path(rep, o->root, rel, tot);
}

int vk_doctor_check_device(const struct vk_doctor_options *o, const struct vk_pci_addr *addr,
                           struct vk_doctor_report *rep, struct vk_error *err)
{
	struct vk_pci_dev_facts f;
	struct vk_error e = {0};
	char rel[256];
	int r = vk_pci_dev_facts_read(o->root, addr, &f, &e);

#define CHK(x) \
	do { \
		if ((r = (x)) < 0) \
			return vk_error_set(err, r, "%s: %s", f.bdf, strerror(-r)); \
	} while (0)
	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s", f.bdf);
	if (r < 0) {
		/* A tree the resolver refuses (a symlink where sysfs has a file...): a finding, not a crash. */
		CHK(vk_doctor_add(rep, "VD101", VK_DOCTOR_FAIL, f.bdf, NULL, "cannot be read: %s", e.msg));
		CHK(vk__doc_evidence_path(rep, o->root, rel, strerror(-r)));
		return 0;
	}
	if (!f.present) {
		CHK(vk_doctor_add(rep, "VD101", VK_DOCTOR_FAIL, f.bdf,
		                  "check the address with lspci -D (the domain is part of it); a removed device comes back with echo 1 > /sys/bus/pci/rescan",
		                  "no such PCI device"));
		CHK(vk__doc_evidence_path(rep, o->root, rel, "absent"));
		return 0;
	}
	CHK(vk_doctor_add(rep, "VD101", VK_DOCTOR_PASS, f.bdf, NULL, "%04x:%04x, class %06llx", (unsigned)f.vendor,
	                  (unsigned)f.device, (unsigned long long)f.class_code));
	CHK(vk__doc_evidence_path(rep, o->root, rel, "present"));
	CHK(check_driver(o, &f, rep));
	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/driver", f.bdf);
	CHK(vk__doc_evidence_path(rep, o->root, rel, f.driver[0] ? f.driver : "absent"));
	CHK(check_group(o, &f, rep));
	if (vk_pci_driver_is_vfio_pci(f.driver)) {
		CHK(check_cdev(o, &f, rep));
		if (f.iommu_group >= 0)
			CHK(check_group_node(o, &f, rep));
		if (o->user)
			CHK(check_access(o, &f, rep));
	}
	CHK(check_sriov(o, &f, rep));
#undef CHK
	return 0;
}
