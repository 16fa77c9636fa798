/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor: process limits (VD201), QEMU (VD301), and the whole run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include "vk_path.h"
#include <vfiokit/doctor.h>

#include "doctor_internal.h"

#define GIB (1ull << 30)
#define CAP_IPC_LOCK_BIT 14 /* include/uapi/linux/capability.h */

/* Whether this process has CAP_IPC_LOCK in its effective set (/proc/self/status CapEff). */
static bool self_has_ipc_lock(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "CapEff:", 7) == 0)
			return (strtoull(line + 7, NULL, 16) >> CAP_IPC_LOCK_BIT) & 1;
	}
	return false;
}

/*
 * A check of a fact that lives in the running host, not in its tree: under a
 * tree of another host (--root other than "/") this machine's QEMU binary or
 * this process's limit would be a guess about that host, so the check says it
 * was not made and what to give to make it.
 */
static int skip_other_host(const struct vk_doctor_options *o, struct vk_doctor_report *rep, const char *id,
                           const char *what, const char *fix)
{
	char root[512];

	TRY(vk_doctor_add(rep, id, VK_DOCTOR_SKIP, NULL, fix,
	                  "not checked: --root names another host's tree, and this machine's %s says nothing about it",
	                  what));
	return vk_doctor_evidence(rep, "--root %s: not this machine's /", vk__doc_path(o->root, "/", root, sizeof(root)));
}

int vk_doctor_check_memlock(const struct vk_doctor_options *o, struct vk_doctor_report *rep, struct vk_error *err)
{
	char lim[64], mem[64], need[64], who[96] = "this process", fix[1024];
	uint64_t limit = 0;
	const char *how;
	bool other_user = o->user && o->user->uid != geteuid();
	int r;

	(void)err;
	if (o->other_host && !o->memlock_given)
		return skip_other_host(o, rep, "VD201", "RLIMIT_MEMLOCK",
		                       "give --memlock SIZE (that host's QEMU user's limit: ulimit -l there, or LimitMEMLOCK=) to check it");
	if (o->user)
		vk__doc_user_desc(o->user, who, sizeof(who));
	if (o->memlock_given) {
		limit = o->memlock;
		how = "as stated by --memlock";
	} else if (other_user) {
		snprintf(fix, sizeof(fix),
		         "check it as that user: sudo -u %s sh -c 'ulimit -l' (KiB), or the service's LimitMEMLOCK= (systemctl show -p LimitMEMLOCK UNIT); then run again with --memlock SIZE\n"
		         "libvirt raises the limit of the QEMU it starts by itself",
		         o->user->name[0] ? o->user->name : "<user>");
		r = vk_doctor_add(rep, "VD201", VK_DOCTOR_WARN, NULL, fix,
		                  "the limit of %s cannot be read from here (it is set per process, by PAM limits or systemd)", who);
		return r < 0 ? r : vk_doctor_evidence(rep, "user %s: limit unknown", who);
	} else {
		struct rlimit rl;
		if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
			return -errno;
		limit = rl.rlim_cur == RLIM_INFINITY ? VK_DOCTOR_UNLIMITED : (uint64_t)rl.rlim_cur;
		how = "getrlimit(RLIMIT_MEMLOCK) of this process";
		if (self_has_ipc_lock()) {
			TRY(vk_doctor_add(rep, "VD201", VK_DOCTOR_PASS, NULL, NULL,
			                  "%s has CAP_IPC_LOCK: pinned memory is not charged to its limit (%s)", who,
			                  vk_doctor_format_size(limit, lim, sizeof(lim))));
			TRY(vk_doctor_evidence(rep, "/proc/self/status: CapEff has CAP_IPC_LOCK"));
			return vk_doctor_evidence(rep, "%s: %s", how, lim);
		}
	}
	vk_doctor_format_size(limit, lim, sizeof(lim));
	snprintf(fix, sizeof(fix),
	         "raise it to at least the VM's memory + 1 GiB: /etc/security/limits.conf '%s hard memlock <KiB>' and 'soft', or LimitMEMLOCK= in the service; ulimit -l <KiB> in a shell\n"
	         "libvirt sets it for the QEMU it starts",
	         o->user && o->user->name[0] ? o->user->name : "<user>");
	if (limit == VK_DOCTOR_UNLIMITED) {
		TRY(vk_doctor_add(rep, "VD201", VK_DOCTOR_PASS, NULL, NULL, "unlimited for %s", who));
	} else if (!o->memory) {
		TRY(vk_doctor_add(rep, "VD201", VK_DOCTOR_WARN, NULL, fix,
		                  "%s for %s; VFIO pins all guest memory, so it must exceed the VM's: give --memory SIZE to compare",
		                  lim, who));
	} else {
		vk_doctor_format_size(o->memory, mem, sizeof(mem));
		uint64_t needed = o->memory > UINT64_MAX - GIB ? UINT64_MAX : o->memory + GIB;
		vk_doctor_format_size(needed, need, sizeof(need));
		if (limit < o->memory)
			TRY(vk_doctor_add(rep, "VD201", VK_DOCTOR_FAIL, NULL, fix,
			                  "%s for %s is below the VM's %s: VFIO/iommufd pins all of it and the mapping will fail (ENOMEM)",
			                  lim, who, mem));
		else if (limit < needed)
			TRY(vk_doctor_add(rep, "VD201", VK_DOCTOR_WARN, NULL, fix,
			                  "%s for %s covers the VM's %s but not the 1 GiB libvirt adds for device BARs (%s)", lim,
			                  who, mem, need));
		else
			TRY(vk_doctor_add(rep, "VD201", VK_DOCTOR_PASS, NULL, NULL, "%s for %s, enough for %s of guest memory", lim,
			                  who, mem));
	}
	TRY(vk_doctor_evidence(rep, "%s: %s", how, lim));
	if (o->memory)
		TRY(vk_doctor_evidence(rep, "--memory: %s", vk_doctor_format_size(o->memory, mem, sizeof(mem))));
	return 0;
}

int vk_doctor_find_qemu(const char *path, char *buf, size_t len)
{
	static const char *const names[] = {"qemu-system-x86_64", "qemu-system-aarch64", "qemu-system-ppc64",
	                                    "qemu-system-s390x", "qemu-kvm"};
	const char *p = path ? path : getenv("PATH");

	for (size_t k = 0; k < VK_ARRAY_SIZE(names); k++)
		if (vk_path_search(p, names[k], buf, len) == 0)
			return 0;
	snprintf(buf, len, "/usr/libexec/qemu-kvm");
	if (access(buf, X_OK) == 0)
		return 0;
	buf[0] = '\0';
	return -ENOENT;
}

int vk_doctor_check_qemu(const struct vk_doctor_options *o, struct vk_doctor_report *rep, struct vk_error *err)
{
	char bin[4096];
	struct vk_qemu_caps caps;
	struct vk_error e = {0};
	char missing[256] = "";
	size_t mo = 0;

	(void)err;
	if (o->skip_qemu)
		return 0;
	if (o->other_host && !o->qemu)
		return skip_other_host(o, rep, "VD301", "QEMU",
		                       "give --qemu BINARY (the QEMU that host runs, or one of its version) to check it");
	if (o->qemu)
		snprintf(bin, sizeof(bin), "%s", o->qemu);
	else if (vk_doctor_find_qemu(NULL, bin, sizeof(bin)) < 0) {
		TRY(vk_doctor_add(rep, "VD301", VK_DOCTOR_WARN, NULL,
		                  "install QEMU 9.0 or later, or name the binary libvirt uses with --qemu BINARY",
		                  "no QEMU binary found on PATH (qemu-system-x86_64, qemu-system-aarch64, ..., qemu-kvm)"));
		return vk_doctor_evidence(rep, "PATH=%s", getenv("PATH") ? getenv("PATH") : "");
	}
	if (vk_qemu_caps_probe(bin, &caps, &e) < 0) {
		TRY(vk_doctor_add(rep, "VD301", VK_DOCTOR_WARN, NULL, "give a working QEMU binary with --qemu BINARY",
		                  "cannot ask %s: %s", bin, e.msg));
		return vk_doctor_evidence(rep, "%s -version", bin);
	}
#define MISS(cond, what) \
	if (!(cond)) \
	mo += (size_t)snprintf(missing + mo, mo < sizeof(missing) ? sizeof(missing) - mo : 0, "%s%s", mo ? ", " : "", what)
	MISS(caps.vfio_pci, "-device vfio-pci");
	MISS(caps.iommufd_object, "-object iommufd");
	MISS(caps.iommufd_object_fd, "iommufd fd=");
	MISS(caps.vfio_iommufd, "vfio-pci iommufd=");
	MISS(caps.vfio_fd, "vfio-pci fd=");
#undef MISS
	if (!missing[0])
		TRY(vk_doctor_add(rep, "VD301", VK_DOCTOR_PASS, NULL, NULL,
		                  "%s has -object iommufd (fd=) and vfio-pci iommufd=, fd=", caps.label));
	else
		TRY(vk_doctor_add(rep, "VD301", VK_DOCTOR_FAIL, NULL,
		                  caps.vfio_pci ? "use QEMU 9.0 or later built with iommufd; this one can still assign devices with host= (legacy VFIO groups)"
		                                : "use a QEMU built with VFIO (CONFIG_VFIO_PCI), 9.0 or later for iommufd",
		                  "%s lacks %s (the iommufd backend and FD passing arrived in QEMU 9.0)", caps.label, missing));
	TRY(vk_doctor_evidence(rep, "%s -version: %u.%u", bin, caps.version / 100, caps.version % 100));
	TRY(vk_doctor_evidence(rep, "%s -device vfio-pci,help: %s%s%s", bin, caps.vfio_pci ? "vfio-pci" : "no vfio-pci",
	                       caps.vfio_fd ? ", fd=" : "", caps.vfio_iommufd ? ", iommufd=" : ""));
	return vk_doctor_evidence(rep, "%s -object iommufd,help: %s", bin,
	                          caps.iommufd_object ? (caps.iommufd_object_fd ? "iommufd, fd=" : "iommufd") : "unknown type");
}

int vk_doctor_run(const struct vk_doctor_options *o, struct vk_doctor_report *rep, struct vk_error *err)
{
	_cleanup_free_ struct vk_pci_addr *devs = NULL;
	const struct vk_pci_addr *list = o->devices;
	size_t n = o->n_devices;
	int r;

	if (!o->root)
		return vk_error_set(err, EINVAL, "no host tree to check");
	r = vk_doctor_check_platform(o, rep, err);
	if (r < 0)
		return r;
	if (!n) {
		r = vk_doctor_vfio_devices(o->root, &devs, &n, err);
		if (r < 0)
			return r;
		list = devs;
		if (!n) {
			r = vk_doctor_add(rep, "VD100", VK_DOCTOR_WARN, NULL, NULL,
			                  "no device is bound to vfio-pci and none was named: no device checked");
			if (r >= 0)
				r = vk__doc_evidence_path(rep, o->root, "/sys/bus/pci/drivers/vfio-pci", "no devices");
			if (r < 0)
				return vk_error_set(err, r, "out of memory");
		}
	}
	for (size_t i = 0; i < n; i++) {
		r = vk_doctor_check_device(o, &list[i], rep, err);
		if (r < 0)
			return r;
	}
	r = vk_doctor_check_memlock(o, rep, err);
	if (r < 0)
		return vk_error_set(err, r, "RLIMIT_MEMLOCK: %s", strerror(-r));
	r = vk_doctor_check_qemu(o, rep, err);
	if (r < 0)
		return vk_error_set(err, r, "out of memory");
	return 0;
}
