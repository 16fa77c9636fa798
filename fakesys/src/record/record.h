/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the parts of fakesys record share (private to fakesys/src/record/):
 *
 *   read.c            notes, and reading a recorded tree safely (through the root)
 *   host.c            a host's PCI devices -> struct rec, made to fit; vk_fakesys_record()
 *   kernel.c          the rest of a host: kernel, IOMMU, groups, modules, drivers
 *   scenario_write.c  struct rec -> scenario YAML (libyaml's emitter)
 *   umockdev.c        a umockdev-record file -> a tree -> host.c
 */
#ifndef VK_RECORD_H
#define VK_RECORD_H

#include "vk_strv.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vfiokit/fakesys_record.h>
#include <vfiokit/pci_addr.h>
#include <vfiokit/root.h>

#define ATTR_CAP (64u * 1024u) /* largest attribute read */
#define CONFIG_CAP 4096u       /* PCIe extended config space */
#define MAX_ENTRIES 65536u     /* entries read from one directory */
#define MAX_NOTES 1000u        /* notes kept for the YAML comments; stderr gets them all */

struct rnode {
	bool known; /* false: leave the key out (defaults) */
	bool present;
	uint32_t uid, gid, mode;
};

struct rdev {
	struct vk_pci_addr addr;
	char bdf[VK_PCI_ADDR_STRLEN];
	bool have_parent, have_physfn;
	struct vk_pci_addr parent, physfn;
	bool have_vendor, have_device, have_svendor, have_sdevice, have_class, have_rev, have_numa;
	uint64_t vendor, device, svendor, sdevice, class_code, revision;
	int64_t numa;
	char *driver, *override, *label;
	int64_t group;      /* -1 = none */
	int64_t vfio_index; /* -1 = none */
	struct rnode vfio_node;
	uint8_t *config;
	size_t config_len;  /* as read: 64 (a user the kernel limits) to 4096 */
	uint64_t (*res)[3]; /* the resource file's lines */
	size_t n_res;
	bool have_irq;
	uint64_t irq;
	char **netifs; /* net/<name>: the interfaces of a NIC on its driver */
	size_t n_netifs;
	uint64_t totalvfs, vf_device;
	bool have_vf_device;
	bool selected, emit_config;
	unsigned refused; /* times the scenario's loader refused something of it */
};

struct rmod {
	char *name;
	bool builtin;
	char **pn, **pv;
	size_t np;
};

struct rgroup {
	int64_t id;
	char *type;
	bool noiommu;
	bool used, vfio; /* a selected device is in it; one of them on vfio-pci or a variant */
	struct rnode node;
};

/* Notes: every one goes to the notes stream; the first MAX_NOTES also into the YAML. */
struct notes {
	FILE *f;
	const char *who; /* "record", "import-umockdev" */
	char **v;
	size_t n, dropped;
	bool oom;
};

struct rec {
	const struct vk_fakesys_record_opts *o;
	struct vk_root *root;
	struct notes nt;

	char *release, *cmdline;
	const char *cpu_vendor; /* "intel"/"amd"/"hygon" from proc/cpuinfo, NULL: unknown */
	bool cpu_hypervisor;
	uint32_t cpu_count; /* processor blocks of proc/cpuinfo */
	char *cpu_model;    /* the first CPU's model name, NULL: not recorded */
	char *cpu_flags;    /* and its flags line, NULL: not recorded */
	bool acpi_known;    /* sys/firmware/acpi/tables was there to look at */
	bool acpi_dmar, acpi_ivrs;
	const char *iommu;
	unsigned units;
	bool ir, cdev, iommufd, noiommu, no_modules;
	bool have_cdev_major, have_group_major, have_minor;
	uint32_t cdev_major, group_major, iommufd_minor;
	struct rmod *mods;
	size_t n_mods;
	char **drivers; /* sorted, no duplicates */
	size_t n_drivers;
	struct rdev *devs; /* sorted by address */
	size_t n_devs;
	struct rgroup *groups; /* sorted by id */
	size_t n_groups;
	struct rnode dev_iommu, dev_vfio;
};

/* ---- read.c ------------------------------------------------------------- */

int strv_push(char ***v, size_t *n, char *s);

/* @s as one line of valid UTF-8 text (malloc'd, NULL on ENOMEM): a newline or
 * other control character becomes '?', a byte that is not part of a UTF-8
 * character "\xNN", so that a YAML comment or a terminal line stays one line
 * and the YAML stays loadable (libyaml refuses invalid UTF-8 even in comments). */
char *text_line(const char *s);
void notes_add(struct notes *nt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void notes_free(struct notes *nt);
#define note(r, ...) notes_add(&(r)->nt, __VA_ARGS__)

const char *shown(struct rec *r, const char *rel, char *buf, size_t len);
int read_file(struct rec *r, int dirfd, const char *rel, const char *what, size_t cap, bool truncate, char **out,
              size_t *len);
int read_text(struct rec *r, int dirfd, const char *rel, const char *what, char **out);
bool parse_u64(const char *s, int base, uint64_t *v);
bool parse_i64(const char *s, int64_t *v);
bool read_num(struct rec *r, int dirfd, const char *bdf, const char *name, uint64_t max, uint64_t *v);
int read_link(int dirfd, const char *name, char *buf, size_t len);
const char *base_name(const char *p);
int cmp_strp(const void *a, const void *b); /* qsort/bsearch of char * */
int list_dir(struct rec *r, int dirfd, const char *rel, char ***names, size_t *n);
void stat_node(struct rec *r, const char *rel, struct rnode *out);
bool exists(struct rec *r, const char *rel);
bool utf8_valid(const char *s);
bool name_ok(const char *s);
bool text_ok(const char *s);

/* ---- kernel.c ----------------------------------------------------------- */

int read_kernel(struct rec *r);
struct rmod *find_mod(struct rec *r, const char *name);
int add_mod(struct rec *r, const char *name, bool builtin, struct rmod **out);
struct rgroup *find_group(struct rec *r, int64_t id); /* r->groups is sorted by id */

/* ---- host.c ------------------------------------------------------------- */

bool known_driver(const char *d);
char **find_driver(struct rec *r, const char *d); /* NULL: not in r->drivers */

/* vk_fakesys_record() that also says how many devices the scenario has. */
int record_host(const struct vk_fakesys_record_opts *o, FILE *out, FILE *notes, size_t *n_devices,
                struct vk_error *err);

/* ---- scenario_write.c --------------------------------------------------- */

/* The scenario of @r as text (malloc'd; NULL and -ENOMEM or -EINVAL in *@err
 * when libyaml's emitter fails), its comments first. */
char *scenario_text(struct rec *r, size_t *len, int *err);
/* Decide which devices need their config: written (emit_config). */
void choose_configs(struct rec *r);

#endif
