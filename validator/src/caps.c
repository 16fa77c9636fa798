/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/validator.h>

#include "vk_fileio.h"

static int parse_version(const char *s, unsigned *out)
{
	char *end;
	unsigned long maj, min = 0;

	if (!s || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	maj = strtoul(s, &end, 10);
	if (*end == '.') {
		const char *m = end + 1;
		if (!(*m >= '0' && *m <= '9'))
			return -EINVAL;
		min = strtoul(m, &end, 10);
		if (*end == '.') { /* micro */
			const char *u = end + 1;
			if (!(*u >= '0' && *u <= '9'))
				return -EINVAL;
			strtoul(u, &end, 10);
		}
	}
	if (maj > 99 || min > 99)
		return -EINVAL;
	*out = (unsigned)(maj * 100 + min);
	return (int)(end - s);
}

static void caps_from_version(struct qemu_caps *c, unsigned v)
{
	c->version = v;
	c->vfio_pci = true;
	c->vfio_sysfsdev = v >= 205;
	c->iommufd_object = c->iommufd_object_fd = v >= QEMU_VERSION_IOMMUFD;
	c->vfio_iommufd = c->vfio_fd = v >= QEMU_VERSION_IOMMUFD;
	c->json_object = v >= QEMU_VERSION_JSON_OBJECT;
	c->json_device = v >= QEMU_VERSION_JSON_DEVICE;
}

int qemu_caps_builtin(const char *version, struct qemu_caps *out, struct vk_error *err)
{
	unsigned v = QEMU_VERSION_NEWEST;

	memset(out, 0, sizeof(*out));
	if (version && strcmp(version, "latest") != 0) {
		int n = parse_version(version, &v);
		if (n < 0 || version[n] != '\0')
			return vk_error_set(err, EINVAL, "'%s' is not a QEMU version (X.Y or X.Y.Z)", version);
	}
	caps_from_version(out, v);
	snprintf(out->label, sizeof(out->label), "QEMU %u.%u", v / 100, v % 100);
	return 0;
}

/* True when a "-device X,help" / "-object X,help" text lists property @name ("  name=<type>"). */
static bool help_has_prop(const char *help, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = help; l && *l;) {
		const char *p = l;
		while (*p == ' ' || *p == '\t')
			p++;
		if (p != l && strncmp(p, name, n) == 0 && p[n] == '=')
			return true;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return false;
}

int qemu_caps_from_help(const char *version_text, const char *device_help, const char *object_help,
                        struct qemu_caps *out, struct vk_error *err)
{
	const char *p = version_text ? strstr(version_text, "version ") : NULL;
	unsigned v;
	int n;

	memset(out, 0, sizeof(*out));
	if (!p || (n = parse_version(p + 8, &v)) < 0)
		return vk_error_set(err, EINVAL, "no \"version X.Y.Z\" in the -version output");
	caps_from_version(out, v);
	out->from_binary = true;
	/* What the binary itself lists overrides the table (a build may lack CONFIG_IOMMUFD). */
	out->vfio_pci = device_help && strstr(device_help, "options:") && help_has_prop(device_help, "host");
	out->vfio_sysfsdev = out->vfio_pci && help_has_prop(device_help, "sysfsdev");
	out->vfio_fd = out->vfio_pci && help_has_prop(device_help, "fd");
	out->vfio_iommufd = out->vfio_pci && help_has_prop(device_help, "iommufd");
	out->iommufd_object = object_help && strstr(object_help, "iommufd options:");
	out->iommufd_object_fd = out->iommufd_object && help_has_prop(object_help, "fd");
	snprintf(out->label, sizeof(out->label), "QEMU %.*s (binary)", n, p + 8);
	return 0;
}

/* Run @argv, capture stdout+stderr (at most 1 MiB); returns 0 and the text, or -errno. */
static int run_capture(char *const argv[], char **out)
{
	int pfd[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	size_t len;
	int r, st;

	*out = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	/* A stand-in holds the VFIO FDs it inherited: the probe must not get them. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	extern char **environ;
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r != 0) {
		close(pfd[0]);
		return -r;
	}
	/* closing the pipe after the cap makes a child that writes on get EPIPE,
	 * so the wait below cannot hang on a QEMU that prints forever */
	r = vk_read_fd_alloc(pfd[0], 1 << 20, out, &len);
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return r;
}

int qemu_caps_probe(const char *binary, struct qemu_caps *out, struct vk_error *err)
{
	_cleanup_free_ char *ver = NULL, *dev = NULL, *obj = NULL;
	char *a1[] = { (char *)binary, (char *)"-version", NULL };
	char *a2[] = { (char *)binary, (char *)"-device", (char *)"vfio-pci,help", NULL };
	char *a3[] = { (char *)binary, (char *)"-object", (char *)"iommufd,help", NULL };
	int r;

	memset(out, 0, sizeof(*out));
	r = run_capture(a1, &ver);
	if (r < 0)
		return vk_error_set(err, r, "%s: cannot run: %s", binary, strerror(-r));
	/* Failures of the help queries are answers (no such device/object). */
	if (run_capture(a2, &dev) < 0)
		dev = NULL;
	if (run_capture(a3, &obj) < 0)
		obj = NULL;
	r = qemu_caps_from_help(ver, dev, obj, out, err);
	if (r < 0)
		return vk_error_set(err, r, "%s: %s", binary, err ? err->msg : "no version");
	const char *base = strrchr(binary, '/');
	char label[sizeof(out->label)];
	snprintf(label, sizeof(label), "%s %s", base ? base + 1 : binary, out->label + 5);
	memcpy(out->label, label, sizeof(label));
	return 0;
}
