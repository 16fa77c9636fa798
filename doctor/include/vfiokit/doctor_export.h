/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_DOCTOR_EXPORT_H
#define VFIOKIT_DOCTOR_EXPORT_H

/*
 * vfio-doctor past one machine: the facts that let a report stand alone
 * among many (host name, kernel release, time, tool version), the
 * Prometheus text exposition of a report (docs/fleet.md), and the atomic
 * file write node_exporter's textfile collector needs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vfiokit/doctor.h>
#include <vfiokit/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a report says about its host beyond the checks. */
struct vk_doctor_host {
	char hostname[128];   /* proc/sys/kernel/hostname of the root, "" when it has none */
	char kernel[128];     /* proc/sys/kernel/osrelease of the root, "" when it has none */
	struct timespec time; /* when the run started (CLOCK_REALTIME), set by the caller */
	int iommu;            /* 1 DMA remapping on (VD001 PASS), 0 off, -1 not checked */
	int iommufd;          /* 1 iommufd there (VD004 PASS), 0 not, -1 not checked */
	int cdev;             /* 1 VFIO_DEVICE_CDEV (VD006 PASS), 0 not (FAIL), -1 cannot tell (WARN) */
	size_t vfio_devices;  /* devices bound to vfio-pci or a variant driver */
	uint64_t memlock;     /* RLIMIT_MEMLOCK in bytes or VK_DOCTOR_UNLIMITED, when memlock_known */
	bool memlock_known;   /* false: the limit of another --user or of another host's tree, which
	                         * cannot be read from here */
};

/**
 * vk_doctor_host_read() - the facts of @h but for @h->time, which the caller
 * takes when the run starts.
 * @o:   the options the report was made with (root, --memlock, --user).
 * @rep: the report of vk_doctor_run(): IOMMU, iommufd and the cdev are what
 *       its checks VD001, VD004 and VD006 found, so the facts never disagree
 *       with the checks.
 *
 * The host name and kernel release are read through the root, so under
 * --root they are the fake host's (a fakesys tree has osrelease but no
 * hostname: ""); only their first line is kept.
 * Returns 0, -ENOMEM, or -errno when the tree cannot be listed.
 */
int vk_doctor_host_read(const struct vk_doctor_options *o, const struct vk_doctor_report *rep,
                        struct vk_doctor_host *h, struct vk_error *err);

/* "2025-01-31T12:00:00Z": @t in UTC as RFC 3339 (whole seconds, as jq's fromdate reads). */
const char *vk_doctor_rfc3339(const struct timespec *t, char *buf, size_t len);

/**
 * vk_doctor_prometheus() - @rep and @h as Prometheus text exposition
 * (format 0.0.4, which node_exporter's textfile collector reads): HELP and
 * TYPE lines, then for each check (rule and device) one series per status
 * (pass, warn, fail, skip), 1 for the one it has:
 *
 *   vfiokit_doctor_check_status{check="VD103",name="device.iommu-group",device="0000:01:00.0",status="fail"} 1
 *
 * (device="" for a host check: one set of label names per family),
 * then the number of checks by status, the host facts, vfiokit_doctor_info
 * {version, kernel} and vfiokit_doctor_last_run_timestamp_seconds.  A check
 * repeated for the same rule and device (a device named twice) is written once.
 * Label values are escaped (\\, \", \n) and made valid UTF-8 ('?' for a byte
 * that is not).
 * Returns a malloc'd string, or NULL on ENOMEM.
 */
char *vk_doctor_prometheus(const struct vk_doctor_report *rep, const struct vk_doctor_host *h, const char *version);

/**
 * vk_doctor_write_atomic() - replace @path with @len bytes of @data so that a
 * reader sees the old file or the new one, never a part: a temporary file
 * ".<name>.XXXXXX" in the same directory (hidden, and not *.prom, so the
 * textfile collector never reads it), written, fsync'd, mode 0644 (the
 * exporter runs as another user), renamed over @path.  A symlink at @path is
 * replaced, not followed.  On failure the temporary file is removed and @path
 * is as it was.
 * Returns 0, or -errno with the path and step in @err.
 */
int vk_doctor_write_atomic(const char *path, const char *data, size_t len, struct vk_error *err);

#ifdef __cplusplus
}
#endif

#endif
