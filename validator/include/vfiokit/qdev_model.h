/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_QDEV_MODEL_H
#define VFIOKIT_QDEV_MODEL_H

/*
 * QEMU's device model, as far as a command line can get it wrong: which
 * -device types exist, on which bus each goes, and each type's properties
 * with their types.  Learnt from a QEMU binary (`-device help` and
 * `-device TYPE,help`, cached per binary) or taken from a built-in table
 * generated from such output (validator/gen-qdev-table.sh).  See
 * docs/rules.md, "QEMU's device model".
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include <vfiokit/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One property as `-device TYPE,help` lists it: "  name=<type>  - description". */
struct vk_qdev_prop {
	const char *name; /* "rombar" */
	const char *type; /* "uint32", "bool", "OnOffAuto", "str", "link<iommufd>", ... */
	const char *desc; /* the text after " - " ("on/off/auto (default: \"off\")"), "" when none */
};

/* One device type. */
struct vk_qdev_type {
	const char *name;  /* "vfio-pci" */
	const char *bus;   /* the bus it goes on as `-device help` says ("PCI", "usb-bus", "System"), NULL unknown */
	const char *alias; /* its alias ("virtio-iommu" for virtio-iommu-pci), NULL when none */
	bool props_known;  /* the property list below is complete (from `-device TYPE,help`) */
	bool absent;       /* QEMU said "Device 'TYPE' not found" */
	const struct vk_qdev_prop *props;
	size_t nprops;
};

/* A device model: a built-in table (static) or one learnt from a binary (heap). */
struct vk_qdev_model {
	unsigned version; /* major*100+minor of the QEMU it describes */
	char label[96];   /* "QEMU 7.2.22 (built-in table)", "/usr/bin/qemu-system-x86_64 7.2.22" */
	bool from_binary;
	char target[32];        /* "x86_64" (a table's; a binary's from its name qemu-system-TARGET), "" unknown */
	bool list_known;        /* `-device help` was read: a type not listed does not exist */
	bool objects_known;     /* `-object iommufd,help` was read: */
	bool iommufd_object;    /*   QEMU has -object iommufd (9.0+ built with CONFIG_IOMMUFD) */
	bool iommufd_object_fd; /* and its fd= */
	const struct vk_qdev_type *types;
	size_t ntypes;
	void *priv; /* the heap storage of a learnt model, NULL for a table */
};

/**
 * vk_qdev_model_builtin() - the built-in table nearest to (at or below) @version
 * (major*100+minor; a version older than every table gets the oldest).
 * Returns a model in static storage, never NULL.
 */
const struct vk_qdev_model *vk_qdev_model_builtin(unsigned version);

/* The versions the built-in tables describe, newest last. */
const unsigned *vk_qdev_model_builtin_versions(size_t *n);

/* A type by name or alias, or NULL. */
const struct vk_qdev_type *vk_qdev_model_type(const struct vk_qdev_model *m, const char *name);

/* A property of a type by name, or NULL. */
const struct vk_qdev_prop *vk_qdev_type_prop(const struct vk_qdev_type *t, const char *name);

/**
 * vk_qdev_model_from_help() - build a model from the texts QEMU prints.
 * @version_text: `QEMU -version`.
 * @list_text:    `QEMU -device help` (NULL when not asked: list_known false).
 * @ntypes:       number of @names/@helps pairs.
 * @names:        device types asked about.
 * @helps:        `QEMU -device NAME,help` for each (NULL: not asked).
 * @object_help:  `QEMU -object iommufd,help` (NULL: not asked: objects_known false).
 * @out:          receives a heap model; free with vk_qdev_model_free().
 * Returns 0, -EINVAL when the version cannot be read, -ENOMEM.
 */
int vk_qdev_model_from_help(const char *version_text, const char *list_text, size_t ntypes,
                            const char *const *names, const char *const *helps, const char *object_help,
                            struct vk_qdev_model **out,
                            struct vk_error *err);

/* Free a model from vk_qdev_model_from_help()/vk_qdev_model_probe(); NULL and built-in tables are ignored. */
void vk_qdev_model_free(const struct vk_qdev_model *m);

/* How to ask a binary. */
struct vk_qdev_probe_opts {
	unsigned timeout_ms;   /* per run of the binary; 0: 10,000 (a probe of a silent binary ends, killed) */
	const char *cache_dir; /* NULL: $VFIOKIT_CACHE_DIR, else $XDG_CACHE_HOME/vfiokit, else ~/.cache/vfiokit;
	                          "" (empty): no cache */
	bool *cache_hit;       /* receives whether everything came from the cache (may be NULL) */
};

/**
 * vk_qdev_model_probe() - the device model of a QEMU binary for @names (the
 * device types a command line uses; vfio-pci always): `-version`,
 * `-device help`, `-object iommufd,help` and `-device NAME,help` for each,
 * each run killed after the timeout.  Answers
 * are cached in a file keyed by the binary's path, size, mtime and version,
 * so a later run that asks about the same types runs the binary once
 * (`-version`) or not at all when the cache matches path, size and mtime.
 * @out: receives a heap model; free with vk_qdev_model_free().
 * Returns 0; -ETIMEDOUT (the binary did not answer in time, killed), -ENOEXEC
 * or -EINVAL (it printed no QEMU version), -errno when it cannot be run.
 */
int vk_qdev_model_probe(const char *binary, size_t nnames, const char *const *names,
                        const struct vk_qdev_probe_opts *opts, struct vk_qdev_model **out, struct vk_error *err);

/**
 * vk_run_capture() - run @argv (argv[0] a path) with stdin /dev/null and FDs
 * above 2 closed, capture stdout and stderr (at most 1 MiB); kill it
 * (SIGKILL) when it has not exited after @timeout_ms.
 * @out:    receives the text (malloc'd, NUL-terminated).
 * @status: receives the wait status (may be NULL).
 * Returns 0, -ETIMEDOUT (killed and reaped), -errno.
 */
int vk_run_capture(char *const argv[], unsigned timeout_ms, char **out, int *status);

#ifdef __cplusplus
}
#endif

#endif
