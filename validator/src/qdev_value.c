/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Is a value one QEMU takes for a property of a given type?  The answers and
 * messages are QEMU's own (7.2, re-checked against Debian's binary by the
 * agreement suite, tests/qemu):
 *  - key=value (-device QemuOpts): qdev-monitor.c qdev_device_add_from_qdict()
 *    -> object_set_properties_from_keyval() -> qapi/qobject-input-visitor.c
 *    *_keyval(): integers by qemu_strtoi64()/qemu_strtou64() (base 0, the
 *    whole string) "Parameter '%s' expects integer"; booleans by
 *    qapi_bool_parse() (on/yes/true/y, off/no/false/n) "expects 'on' or
 *    'off'"; sizes by qemu_strtosz() "expects a size";
 *  - JSON: the plain qobject input visitor: "Invalid parameter type for '%s',
 *    expected: integer|boolean|string", unsigned "Parameter '%s' expects uint64";
 *  - then qapi/qapi-visit-core.c visit_type_{u,}intN(): "Parameter '%s'
 *    expects uint32_t" when out of range; enums input_type_enum():
 *    "Parameter '%s' does not accept value '%s'";
 *  - addr= of a PCI device: hw/core/qdev-properties-system.c set_pci_devfn():
 *    "SLOT[.FN]" in hex, slot <= 0x1f, function <= 7, or (JSON) a devfn
 *    number -1..255; otherwise "Property 'TYPE.addr' doesn't take value '%s'".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"

static bool str_in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

int vk__qemu_bool(const char *s)
{
	static const char *const on[] = {"on", "yes", "true", "y", NULL};
	static const char *const off[] = {"off", "no", "false", "n", NULL};

	return str_in(s, on) ? 1 : str_in(s, off) ? 0
	                                          : -1;
}

/* qemu_strtoi64(s, NULL, 0): the whole string, base 0; -EINVAL, -ERANGE. */
static int strtoi64_q(const char *s, int64_t *v)
{
	char *e;

	errno = 0;
	long long x = strtoll(s, &e, 0);
	if (e == s || *e)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*v = x;
	return 0;
}

/* qemu_strtou64(s, NULL, 0): like strtoull, so "-1" wraps to UINT64_MAX. */
static int strtou64_q(const char *s, uint64_t *v)
{
	char *e;

	errno = 0;
	unsigned long long x = strtoull(s, &e, 0);
	if (e == s || *e)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*v = x;
	return 0;
}

/* A JSON number that is an integer (no fraction or exponent). */
static bool json_integer(const char *s)
{
	return strpbrk(s, ".eE") == NULL;
}

/* int8..int64 / uint8..uint64: the width, the signedness; 0 when @type is none of them. */
static int int_width(const char *type, bool *is_unsigned)
{
	*is_unsigned = type[0] == 'u';
	const char *p = type + (*is_unsigned ? 4 : 3);
	if (strncmp(type, *is_unsigned ? "uint" : "int", *is_unsigned ? 4 : 3) != 0)
		return 0;
	if (strcmp(p, "8") == 0 || strcmp(p, "16") == 0 || strcmp(p, "32") == 0 || strcmp(p, "64") == 0)
		return atoi(p);
	return 0;
}

static const char *check_int(const char *name, const char *type, const struct vk_qc_prop *v, bool json, char *buf,
                             size_t len)
{
	bool u;
	int w = int_width(type, &u);
	int64_t s = 0;
	uint64_t x = 0;

	if (v->kind == VK_QC_V_STRING && !json) {
		if (u ? strtou64_q(v->value, &x) < 0 : strtoi64_q(v->value, &s) < 0) {
			snprintf(buf, len, "Parameter '%s' expects integer", name);
			return buf;
		}
	} else if (v->kind == VK_QC_V_NUMBER && json_integer(v->value)) {
		if (u && v->value[0] != '-') {
			if (strtou64_q(v->value, &x) < 0)
				goto json_bad;
		} else if (strtoi64_q(v->value, &s) < 0) {
			goto json_bad;
		} else {
			x = (uint64_t)s; /* qobject_input_type_uint64(): negative accepted, wrapped */
		}
	} else {
		goto json_bad;
	}
	if (u ? (w < 64 && x > (UINT64_MAX >> (64 - w))) : (w < 64 && (s < -(INT64_C(1) << (w - 1)) || s >= (INT64_C(1) << (w - 1))))) {
		snprintf(buf, len, "Parameter '%s' expects %s_t", name, type);
		return buf;
	}
	return NULL;
json_bad:
	if (u)
		snprintf(buf, len, "Parameter '%s' expects uint64", name);
	else
		snprintf(buf, len, "Invalid parameter type for '%s', expected: integer", name);
	return buf;
}

/* qemu_strtosz(): a number (decimal, a fraction allowed, or 0x hex) and one optional unit B K M G T P E. */
static bool size_ok(const char *s)
{
	char *e;

	if (strncasecmp(s, "0x", 2) == 0) {
		strtoull(s, &e, 16);
		return e != s + 2 && *e == '\0';
	}
	if (*s == '-')
		return false;
	strtod(s, &e);
	if (e == s)
		return false;
	if (*e && strchr("bBkKmMgGtTpPeE", *e))
		e++;
	return *e == '\0';
}

/* The values of an enum property from its help description ("on/off/auto (default: ...)"), or false. */
static bool enum_values(const char *desc, char *out, size_t len)
{
	size_t n = strcspn(desc, " ");

	if (n == 0 || n >= len || !memchr(desc, '/', n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((desc[i] >= 'a' && desc[i] <= 'z') || (desc[i] >= 'A' && desc[i] <= 'Z') ||
		      (desc[i] >= '0' && desc[i] <= '9') || desc[i] == '/' || desc[i] == '-' || desc[i] == '_'))
			return false;
	memcpy(out, desc, n);
	out[n] = '\0';
	return true;
}

static bool enum_has(const char *values, const char *v)
{
	size_t l = strlen(v);

	for (const char *p = values; *p;) {
		size_t n = strcspn(p, "/");
		if (n == l && strncmp(p, v, n) == 0)
			return true;
		p += n + (p[n] ? 1 : 0);
	}
	return false;
}

static const char *json_want(const char *name, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "Invalid parameter type for '%s', expected: %s", name, what);
	return buf;
}

const char *vk__qdev_value_error(const struct vk_qdev_prop *p, const struct vk_qc_prop *v, bool json, char *buf, size_t len)
{
	const char *t = p->type;
	bool u;
	char vals[256];

	if (int_width(t, &u))
		return check_int(p->name, t, v, json, buf, len);
	if (strcmp(t, "bool") == 0) {
		if (v->kind == VK_QC_V_BOOL || (v->kind == VK_QC_V_STRING && !json && vk__qemu_bool(v->value) >= 0))
			return NULL;
		if (json)
			return json_want(p->name, "boolean", buf, len);
		snprintf(buf, len, "Parameter '%s' expects 'on' or 'off'", p->name);
		return buf;
	}
	if (strcmp(t, "size") == 0) {
		if ((v->kind == VK_QC_V_NUMBER && json_integer(v->value) && v->value[0] != '-') ||
		    (v->kind == VK_QC_V_STRING && !json && size_ok(v->value)))
			return NULL;
		if (json) { /* qobject_input_type_size() */
			snprintf(buf, len, "Parameter '%s' expects uint64", p->name);
			return buf;
		}
		snprintf(buf, len, "Parameter '%s' expects a size", p->name);
		return buf;
	}
	/* strings, links and enums are JSON strings */
	bool is_enum = !strchr(t, '<') && enum_values(p->desc, vals, sizeof(vals));
	if (strcmp(t, "str") == 0 || strncmp(t, "link<", 5) == 0 || is_enum) {
		if (v->kind != VK_QC_V_STRING)
			return json_want(p->name, "string", buf, len);
		if (is_enum && !enum_has(vals, v->value)) {
			snprintf(buf, len, "Parameter '%s' does not accept value '%s'", p->name, v->value);
			return buf;
		}
	}
	return NULL; /* a type these rules do not know: not judged */
}

int vk__pci_devfn_parse(const struct vk_qc_prop *v, int *devfn)
{
	if (v->kind == VK_QC_V_NUMBER) {
		int64_t x;
		if (!json_integer(v->value) || strtoi64_q(v->value, &x) < 0 || x < -1 || x > 255)
			return -EINVAL;
		*devfn = (int)x;
		return 0;
	}
	if (v->kind != VK_QC_V_STRING)
		return -EINVAL;
	/* set_pci_devfn(): slot = strtoul(p, &e, 16); [. fn = strtoul(p, &e, 16)]; all consumed */
	const char *p = v->value;
	char *e;
	unsigned long slot, fn = 0;
	slot = strtoul(p, &e, 16);
	if (e == p)
		return -EINVAL;
	if (*e == '.') {
		p = e + 1;
		fn = strtoul(p, &e, 16);
		if (e == p)
			return -EINVAL;
	}
	if (*e || slot > 0x1f || fn > 7)
		return -EINVAL;
	*devfn = (int)(slot << 3 | fn);
	return 0;
}
