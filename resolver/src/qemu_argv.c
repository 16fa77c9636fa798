/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/qemu_argv.h>

char *vk_qemu_keyval_escape(const char *v)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = v; *p; p++)
		n += *p == ',' ? 2 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	o = out;
	for (const char *p = v; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

void vk_qemu_argv_free(struct vk_qemu_argv *a)
{
	if (!a || !a->argv)
		return;
	for (size_t i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}

/* An ordered list of (key, value) pairs: one builder for both syntaxes. */
struct kv {
	const char *key;
	char value[128];
};

static char *render(enum vk_qemu_syntax syntax, const char *type_key, const char *type, const struct kv *kv,
                    size_t n)
{
	if (syntax == VK_QEMU_SYNTAX_JSON) {
		json_t *o = json_object();
		char *s;
		if (!o)
			return NULL;
		if (json_object_set_new(o, type_key, json_string(type)) < 0)
			goto fail;
		for (size_t i = 0; i < n; i++)
			if (json_object_set_new(o, kv[i].key, json_string(kv[i].value)) < 0)
				goto fail;
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		return s;
fail:
		json_decref(o);
		return NULL;
	}

	/* key=value: the type comes first, bare ("iommufd", "vfio-pci") */
	size_t cap;
	char *out, *p;
	_cleanup_free_ char *esc_type = vk_qemu_keyval_escape(type);
	if (!esc_type)
		return NULL;
	cap = strlen(esc_type) + 1;
	for (size_t i = 0; i < n; i++)
		cap += strlen(kv[i].key) + 2 + 2 * strlen(kv[i].value);
	out = malloc(cap);
	if (!out)
		return NULL;
	p = stpcpy(out, esc_type);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *e = vk_qemu_keyval_escape(kv[i].value);
		if (!e) {
			free(out);
			return NULL;
		}
		p += sprintf(p, ",%s=%s", kv[i].key, e);
	}
	return out;
}

static int push(struct vk_qemu_argv *a, char *s)
{
	if (!s)
		return -ENOMEM;
	a->argv[a->argc++] = s;
	a->argv[a->argc] = NULL;
	return 0;
}

int vk_qemu_argv_build(const struct vk_vfio_set *set, enum vk_qemu_syntax syntax, unsigned flags, struct vk_qemu_argv *out,
                       struct vk_error *err)
{
	struct vk_qemu_argv a = {0};
	bool legacy = set->iommufd < 0;
	int r = 0;

	out->argc = 0;
	out->argv = NULL;
	if (set->n == 0)
		return vk_error_set(err, EINVAL, "no devices in the set");
	a.argv = calloc(2 * set->n + 3, sizeof(char *));
	if (!a.argv)
		return vk_error_set(err, ENOMEM, "out of memory");

	if (!legacy) {
		struct kv kv[2] = {{.key = "id", .value = "iommufd0"}, {.key = "fd"}};
		snprintf(kv[1].value, sizeof(kv[1].value), "%d", set->iommufd);
		if ((r = push(&a, strdup("-object"))) < 0 ||
		    (r = push(&a, render(syntax, syntax == VK_QEMU_SYNTAX_JSON ? "qom-type" : "", "iommufd", kv, 2))) < 0)
			goto fail;
	}
	for (size_t i = 0; i < set->n; i++) {
		const struct vk_vfio_opened *d = &set->dev[i];
		bool short_domain = d->addr.domain <= 0xffff;
		struct kv kv[4];
		size_t n = 0;

		memset(kv, 0, sizeof(kv));
		if (legacy) {
			if (short_domain) {
				kv[n].key = "host";
				snprintf(kv[n++].value, sizeof(kv[0].value), "%s", d->bdf);
			} else {
				kv[n].key = "sysfsdev";
				snprintf(kv[n++].value, sizeof(kv[0].value), "/sys/bus/pci/devices/%s", d->bdf);
			}
			kv[n].key = "id";
			snprintf(kv[n++].value, sizeof(kv[0].value), "hostdev%zu", i);
		} else {
			if (short_domain && !(flags & VK_QEMU_ARGV_NO_HOST)) {
				kv[n].key = "host";
				snprintf(kv[n++].value, sizeof(kv[0].value), "%s", d->bdf);
			}
			kv[n].key = "id";
			snprintf(kv[n++].value, sizeof(kv[0].value), "hostdev%zu", i);
			kv[n].key = "iommufd";
			snprintf(kv[n++].value, sizeof(kv[0].value), "iommufd0");
			kv[n].key = "fd";
			snprintf(kv[n++].value, sizeof(kv[0].value), "%d", d->fd);
		}
		if ((r = push(&a, strdup("-device"))) < 0 ||
		    (r = push(&a, render(syntax, "driver", "vfio-pci", kv, n))) < 0)
			goto fail;
	}
	*out = a;
	return 0;
fail:
	vk_qemu_argv_free(&a);
	return vk_error_set(err, r, "cannot build the QEMU arguments: %s", strerror(-r));
}
