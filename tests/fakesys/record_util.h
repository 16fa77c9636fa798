/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the recording tests (test_record.c, test_record_umockdev.c,
 * test_fuse_record.c, test_record_doctor.c): `fakesys record` through the
 * CLI, tree comparison, the real root against a replay of its recording as
 * lspci and vfio-resolve see them, and lspci run as an ordinary user.
 */
#ifndef VK_RECORD_UTIL_H
#define VK_RECORD_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* What is read of one program's output (and the most a message quotes). */
#define REC_OUT_LEN (1u << 20)

static inline char *xmalloc(size_t n)
{
	char *p = calloc(1, n);
	cr_assert_not_null(p);
	return p;
}

/* The sorted entries of @dir (a test failure when it cannot be read). */
static inline char **names_of(const char *dir, size_t *n)
{
	char **v = vk_dir_names(dir, n);
	cr_assert_not_null(v, "listing %s: %s", dir, strerror(errno));
	return v;
}

static inline bool have_prog(const char *p)
{
	return access(p, X_OK) == 0;
}

/* Two trees are identical: names, types, modes, owners, link targets and contents. */
static inline void compare_trees(const char *a, const char *b)
{
	char why[1024] = "";
	int r = vk_tree_diff(a, b, why, sizeof(why), NULL);
	cr_assert_eq(r, 0, "%s (%d)", why, r);
}

/* `fakesys ARGS... --output OUT` (@args NULL-terminated, at most 12) must exit 0. */
static inline void record_cli(char *const *args, const char *out_path)
{
	char bin[PATH_MAX], *argv[16], words[1024] = "";
	size_t a = 0, w = 0;

	argv[a++] = (char *)vk_bin("fakesys/fakesys", bin, sizeof(bin));
	for (; *args; args++) {
		cr_assert_lt(a, 13, "record_cli: too many arguments");
		argv[a++] = *args;
		w += (size_t)snprintf(words + w, w < sizeof(words) ? sizeof(words) - w : 0, " %s", *args);
	}
	argv[a++] = "--output";
	argv[a++] = (char *)out_path;
	argv[a] = NULL;
	char *err = xmalloc(REC_OUT_LEN);
	cr_assert_eq(vk_run(argv, NULL, 0, err, REC_OUT_LEN), 0, "fakesys%s --output %s: %s", words, out_path, err);
	free(err);
}

/* The output of `lspci -A linux-sysfs [-O sysfs.path=SYSFS_PCI] -nnvk [-s SLOT]`
 * (malloc'd), which must exit 0. */
static inline char *lspci(const char *sysfs_pci, const char *slot)
{
	char *out = xmalloc(REC_OUT_LEN), *err = xmalloc(REC_OUT_LEN), opt[PATH_MAX + 16];
	char *argv[12];
	int a = 0;
	argv[a++] = "/usr/bin/lspci";
	argv[a++] = "-A";
	argv[a++] = "linux-sysfs";
	if (sysfs_pci) {
		snprintf(opt, sizeof(opt), "sysfs.path=%s", sysfs_pci);
		argv[a++] = "-O";
		argv[a++] = opt;
	}
	argv[a++] = "-nnvk";
	if (slot) {
		argv[a++] = "-s";
		argv[a++] = (char *)slot;
	}
	argv[a] = NULL;
	cr_assert_eq(vk_run(argv, out, REC_OUT_LEN, err, REC_OUT_LEN), 0, "lspci %s%s%s: %s",
	             sysfs_pci ? sysfs_pci : "", slot ? " -s " : "", slot ? slot : "", err);
	free(err);
	return out;
}

/* lspci of the real root and of @replay (a root whose sys/bus/pci is read)
 * give the same lines, in the same order (blank lines aside); @what names the
 * replay in the message. */
static inline void assert_same_lspci(const char *replay, const char *what)
{
	char pci[PATH_MAX];
	snprintf(pci, sizeof(pci), "%s/sys/bus/pci", replay);
	char *real = lspci(NULL, NULL), *rep = lspci(pci, NULL);
	char *s1 = NULL, *s2 = NULL;
	char *l1 = strtok_r(real, "\n", &s1), *l2 = strtok_r(rep, "\n", &s2);
	for (; l1 || l2; l1 = strtok_r(NULL, "\n", &s1), l2 = strtok_r(NULL, "\n", &s2))
		cr_assert(l1 && l2 && !strcmp(l1, l2), "lspci differs: real '%s', %s '%s'", l1 ? l1 : "(end)", what,
		          l2 ? l2 : "(end)");
	free(real);
	free(rep);
}

/* @s with every @prefix removed (malloc'd). */
static inline char *strip(const char *s, const char *prefix)
{
	char *t = xmalloc(strlen(s) + 1);
	size_t o = 0, pl = strlen(prefix);
	const char *p = s, *q;
	while ((q = strstr(p, prefix))) {
		memcpy(t + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		p = q + pl;
	}
	strcpy(t + o, p);
	return t;
}

/* vfio-resolve --root / and --root @replay agree on every device of the real
 * /sys/bus/pci/devices: the same exit status, the same output once @replay's
 * prefix is taken off its paths; @what names the replay in the message.
 * Nothing is checked when vfio-resolve is not built. */
static inline void assert_same_resolve(const char *replay, const char *what)
{
	char bin[PATH_MAX];
	size_t n;

	vk_bin("resolver/vfio-resolve", bin, sizeof(bin));
	if (!have_prog(bin))
		return;
	char **devs = names_of("/sys/bus/pci/devices", &n);
	for (size_t i = 0; i < n; i++) {
		char *o1 = xmalloc(REC_OUT_LEN), *o2 = xmalloc(REC_OUT_LEN);
		char *argv1[] = {bin, "--root", "/", devs[i], NULL};
		char *argv2[] = {bin, "--root", (char *)replay, devs[i], NULL};
		int r1 = vk_run(argv1, o1, REC_OUT_LEN, NULL, 0), r2 = vk_run(argv2, o2, REC_OUT_LEN, NULL, 0);
		cr_assert_eq(r1, r2, "%s: exit %d on the real root, %d on the %s", devs[i], r1, r2, what);
		char *fixed = strip(o2, replay);
		cr_assert_str_eq(o1, fixed, "vfio-resolve %s differs", devs[i]);
		free(o1);
		free(o2);
		free(fixed);
	}
	vk_names_free(devs, n);
}

/* Write @len bytes of @s to @path (a test failure when it cannot). */
static inline void write_file(const char *path, const char *s, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(s, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* lspci's output for one run, blank lines left out. */
static inline char *lspci_lines(const char *sysfs_pci, const char *slot)
{
	char *out = lspci(sysfs_pci, slot);
	char *filtered = xmalloc(REC_OUT_LEN);
	size_t o = 0;
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		o += (size_t)snprintf(filtered + o, REC_OUT_LEN - o, "%s\n", l);
	free(out);
	return filtered;
}

#define NOBODY "65534"
static const char setpriv_bin[] = "/usr/bin/setpriv";

/* argv of @prog... run as nobody when we are root (through setpriv), else as we are. */
static inline char **as_user(char **argv, char *const *cmd)
{
	size_t a = 0;
	if (geteuid() == 0) {
		argv[a++] = (char *)setpriv_bin;
		argv[a++] = "--reuid=" NOBODY;
		argv[a++] = "--regid=" NOBODY;
		argv[a++] = "--clear-groups";
	}
	for (; *cmd; cmd++)
		argv[a++] = *cmd;
	argv[a] = NULL;
	return argv;
}

/* lspci -A linux-sysfs -vvv [-O sysfs.path=PCI] (as a user when @user); blank lines dropped. */
static inline char *lspci_vvv(const char *sysfs_pci, bool user)
{
	char opt[PATH_MAX + 16], *argv[16];
	char *cmd[] = {"/usr/bin/lspci", "-A", "linux-sysfs", "-vvv", NULL, NULL, NULL};
	if (sysfs_pci) {
		snprintf(opt, sizeof(opt), "sysfs.path=%s", sysfs_pci);
		cmd[4] = "-O";
		cmd[5] = opt;
	}
	char *out = xmalloc(REC_OUT_LEN), *err = xmalloc(REC_OUT_LEN), *lines = xmalloc(REC_OUT_LEN);
	int r = vk_run(user ? as_user(argv, cmd) : cmd, out, REC_OUT_LEN, err, REC_OUT_LEN);
	cr_assert_eq(r, 0, "lspci -vvv %s: %s", sysfs_pci ? sysfs_pci : "", err);
	size_t o = 0;
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		o += (size_t)snprintf(lines + o, REC_OUT_LEN - o, "%s\n", l);
	free(out);
	free(err);
	return lines;
}

#endif
