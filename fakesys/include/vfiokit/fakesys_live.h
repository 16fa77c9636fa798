/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_FAKESYS_LIVE_H
#define VFIOKIT_FAKESYS_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/error.h>

/*
 * Live behaviour of a fakesys FUSE mount: injected faults (declared in a
 * scenario's faults: list or added through the control channel) and the
 * operations they apply to.  docs/scenario-format.md ("faults:") and
 * docs/architecture.md ("Control channel") describe the semantics.
 */

/* Operations a fault can apply to (bits). */
enum vk_fakesys_op {
	VK_FAKESYS_OP_OPEN = 1u << 0,     /* open() and opendir() */
	VK_FAKESYS_OP_READ = 1u << 1,     /* read() of a file */
	VK_FAKESYS_OP_READDIR = 1u << 2,  /* listing a directory */
	VK_FAKESYS_OP_READLINK = 1u << 3, /* readlink() */
	VK_FAKESYS_OP_GETATTR = 1u << 4,  /* lookup of the name and getattr: stat(), any path walk through it */
	VK_FAKESYS_OP_WRITE = 1u << 5,    /* write() */
	VK_FAKESYS_OP_IOCTL = 1u << 6,    /* a VFIO/iommufd ioctl the emulation of `fakesys run` answers on the node */
	VK_FAKESYS_OP_ALL = (1u << 7) - 1,
};

/* The longest delay a fault may have, in ms (10 minutes): the scenario's
 * delay_ms and the control channel's delay= both stop here. */
#define VK_FAKESYS_DELAY_MAX_MS 600000u

/* One injected fault. */
struct vk_fakesys_fault {
	char *path;        /* fnmatch(3) pattern (FNM_PATHNAME) on the root-relative path */
	unsigned ops;      /* enum vk_fakesys_op bits */
	int err;           /* positive errno the operation fails with; 0 = delay only */
	uint32_t delay_ms; /* wait this long before answering (0 = none, at most VK_FAKESYS_DELAY_MAX_MS);
	                    * ended early by an interrupt, "fault clear", an unmount or SIGTERM */
	uint32_t nth;      /* first matching access that fails, counting from 1; 0 = 1 */
	uint32_t times;    /* how many accesses fail from there; 0 = one with @nth, else every one */
	unsigned line;     /* scenario line (0 when added at run time) */
	/* A step instead of a fault: control commands, one per line, run once
	 * when the nth matching access arrives, before it is answered (@err,
	 * @delay_ms and @times are 0).  NULL for a fault. */
	char *step;
};

/**
 * vk_fakesys_op_parse() - the bit of operation name @name ("open", "read",
 * "readdir", "readlink", "getattr" (also "lookup", "stat"), "write", "ioctl", "any"),
 * or 0 when unknown.
 */
unsigned vk_fakesys_op_parse(const char *name);

/* The name of one operation bit ("open"...), "any" for VK_FAKESYS_OP_ALL, "?" otherwise. */
const char *vk_fakesys_op_name(unsigned op);

/**
 * vk_fakesys_errno_parse() - an errno from its name ("EBUSY") or its decimal
 * number; 0 when @s is neither (a number must be 1..4095).
 */
int vk_fakesys_errno_parse(const char *s);

/**
 * vk_fakesys_fault_parse() - a fault from the words of a control command:
 * "PATH OP ERRNO [nth=N] [times=N] [delay=MS]" (ERRNO may be "none" or "0"
 * for a pure delay).  @out->path is allocated (free it with
 * vk_fakesys_faults_free() or free()).  Returns 0 or -EINVAL with the reason in @err.
 */
int vk_fakesys_fault_parse(const char *line, struct vk_fakesys_fault *out, struct vk_error *err);

/* Free @n faults of @v (their paths, steps and the array). */
void vk_fakesys_faults_free(struct vk_fakesys_fault *v, size_t n);

#endif
