/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_DOCTORUTIL_H
#define VK_DOCTORUTIL_H

#include <stddef.h>

/* Materialize tests/doctor/data/<name>.yaml into a new temp dir (asserts). */
void dt_materialize(const char *name, char *dir, size_t len);

/* Write an executable fake QEMU of version "7.2" (no iommufd) or "9.2" (iommufd)
 * printing QEMU's help formats, into @dir; returns its path in @buf. */
const char *dt_fake_qemu(const char *dir, const char *version, char *buf, size_t len);

/* The --user to check access for: "107" (the scenarios' node owner) when this
 * process is root and fakesys could apply owners, else this process's uid. */
const char *dt_qemu_user(void);

/* Run vfio-doctor with the given arguments (NULL-terminated); captures into out/err. */
int dt_run(char *out, size_t outlen, char *err, size_t errlen, const char *first, ...);

#endif
