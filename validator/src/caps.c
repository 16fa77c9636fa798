/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/qdev_model.h>
#include <vfiokit/validator.h>

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

static void caps_from_version(struct vk_qemu_caps *c, unsigned v)
{
	c->version = v;
	c->vfio_pci = true;
	c->vfio_sysfsdev = v >= 205;
	c->iommufd_object = c->iommufd_object_fd = v >= VK_QEMU_VERSION_IOMMUFD;
	c->vfio_iommufd = c->vfio_fd = v >= VK_QEMU_VERSION_IOMMUFD;
	c->json_object = v >= VK_QEMU_VERSION_JSON_OBJECT;
	c->json_device = v >= VK_QEMU_VERSION_JSON_DEVICE;
	c->model = NULL;
}

int vk_qemu_caps_builtin(const char *version, struct vk_qemu_caps *out, struct vk_error *err)
{
	unsigned v = VK_QEMU_VERSION_NEWEST;

	memset(out, 0, sizeof(*out));
	if (version && strcmp(version, "latest") != 0) {
		int n = parse_version(version, &v);
		if (n < 0 || version[n] != '\0')
			return vk_error_set(err, EINVAL, "'%s' is not a QEMU version (X.Y or X.Y.Z)", version);
	}
	caps_from_version(out, v);
	out->model = vk_qdev_model_builtin(v);
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

int vk_qemu_caps_from_help(const char *version_text, const char *device_help, const char *object_help,
                           struct vk_qemu_caps *out, struct vk_error *err)
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

static const char *probe_what(char *const argv[], char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", argv[1], argv[2] ? " " : "", argv[2] ? argv[2] : "");
	return buf;
}

/* One question to the binary; a timeout or a failure to run is an error, a refusal an answer. */
static int ask(char *const argv[], unsigned timeout_ms, char **out, struct vk_error *err)
{
	char what[128];
	int r = vk_run_capture(argv, timeout_ms, out, NULL);

	if (r == -ETIMEDOUT)
		return vk_error_set(err, ETIMEDOUT, "%s: no answer to '%s' within %u ms (killed): is it a QEMU binary?",
		                    argv[0], probe_what(argv, what, sizeof(what)), timeout_ms ? timeout_ms : 10000);
	if (r < 0)
		return vk_error_set(err, -r, "%s: cannot run: %s", argv[0], strerror(-r));
	return 0;
}

int vk_qemu_caps_probe_timed(const char *binary, unsigned timeout_ms, struct vk_qemu_caps *out, struct vk_error *err)
{
	_cleanup_free_ char *ver = NULL, *dev = NULL, *obj = NULL;
	char *a1[] = {(char *)binary, (char *)"-version", NULL};
	char *a2[] = {(char *)binary, (char *)"-device", (char *)"vfio-pci,help", NULL};
	char *a3[] = {(char *)binary, (char *)"-object", (char *)"iommufd,help", NULL};
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ask(a1, timeout_ms, &ver, err)) < 0 || (r = ask(a2, timeout_ms, &dev, err)) < 0 ||
	    (r = ask(a3, timeout_ms, &obj, err)) < 0)
		return r;
	r = vk_qemu_caps_from_help(ver, dev, obj, out, NULL);
	if (r < 0)
		return vk_error_set(err, -r, "%s: not a QEMU system emulator (no \"version X.Y.Z\" in its -version output)",
		                    binary);
	const char *base = strrchr(binary, '/');
	char label[sizeof(out->label)];
	snprintf(label, sizeof(label), "%s %s", base ? base + 1 : binary, out->label + 5);
	memcpy(out->label, label, sizeof(label));
	return 0;
}

int vk_qemu_caps_probe(const char *binary, struct vk_qemu_caps *out, struct vk_error *err)
{
	return vk_qemu_caps_probe_timed(binary, 0, out, err);
}

int vk_qemu_caps_from_model(const struct vk_qdev_model *m, struct vk_qemu_caps *out)
{
	const struct vk_qdev_type *v = vk_qdev_model_type(m, "vfio-pci");

	memset(out, 0, sizeof(*out));
	caps_from_version(out, m->version);
	out->from_binary = m->from_binary;
	out->model = m;
	/* what the model lists overrides the version table (a build may lack CONFIG_IOMMUFD) */
	if (v && v->props_known) {
		out->vfio_pci = !v->absent;
		out->vfio_sysfsdev = vk_qdev_type_prop(v, "sysfsdev") != NULL;
		out->vfio_fd = vk_qdev_type_prop(v, "fd") != NULL;
		out->vfio_iommufd = vk_qdev_type_prop(v, "iommufd") != NULL;
	}
	if (m->objects_known) {
		out->iommufd_object = m->iommufd_object;
		out->iommufd_object_fd = m->iommufd_object_fd;
	}
	snprintf(out->label, sizeof(out->label), "%.63s", m->label);
	return 0;
}
