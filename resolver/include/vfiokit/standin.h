/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_STANDIN_H
#define VFIOKIT_STANDIN_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Stand-in device nodes.  A FUSE mount cannot serve opens of a character
 * device (and CUSE is not available everywhere), so a simulated host shows
 * dev/vfio/devices/vfioN, dev/iommu, dev/vfio/vfio and dev/vfio/<group> as
 * regular files whose whole content is one line
 *
 *     "VFIOKIT-STANDIN-CHRDEV <major>:<minor>\n"
 *
 * naming the device numbers the real node would have.  Any producer of a fake
 * host may use this convention; the resolver accepts a stand-in where a real
 * host has a character device, in exactly one named check
 * (see docs/architecture.md, "Fake device nodes").
 */
#define VK_STANDIN_MAGIC "VFIOKIT-STANDIN-CHRDEV"

#ifdef __cplusplus
}
#endif

#endif
