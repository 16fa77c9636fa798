/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor: the check report, users, sizes, human and JSON output. */
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/doctor.h>

const char *vk_doctor_status_name(enum vk_doctor_status s)
{
	switch (s) {
	case VK_DOCTOR_FAIL:
		return "FAIL";
	case VK_DOCTOR_WARN:
		return "WARN";
	case VK_DOCTOR_SKIP:
		return "SKIP";
	default:
		return "PASS";
	}
}

const char *vk_doctor_category(const struct vk_rule *rule)
{
	if (!rule || strncmp(rule->id, "VD", 2) != 0)
		return "other";
	switch (rule->id[2]) {
	case '0':
		return "platform";
	case '1':
		return "device";
	case '2':
		return "limits";
	case '3':
		return "qemu";
	default:
		return "other";
	}
}

static void check_free(struct vk_doctor_check *c)
{
	free(c->subject);
	free(c->reason);
	free(c->fix);
	for (size_t i = 0; i < c->n_evidence; i++)
		free(c->evidence[i]);
	free(c->evidence);
}

int vk_doctor_add(struct vk_doctor_report *rep, const char *rule_id, enum vk_doctor_status status,
                  const char *subject, const char *fix, const char *reason, ...)
{
	const struct vk_rule *rule = vk_rule_find(rule_id);
	struct vk_doctor_check c = {0};
	va_list ap;
	int n;

	if (!rule || strncmp(rule->id, "VD", 2) != 0)
		return -EINVAL;
	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 16;
		struct vk_doctor_check *nc = realloc(rep->checks, cap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		rep->checks = nc;
		rep->cap = cap;
	}
	c.rule = rule;
	c.status = status;
	va_start(ap, reason);
	n = vasprintf(&c.reason, reason, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	c.subject = subject ? strdup(subject) : NULL;
	c.fix = fix ? strdup(fix) : NULL;
	if ((subject && !c.subject) || (fix && !c.fix)) {
		check_free(&c);
		return -ENOMEM;
	}
	rep->checks[rep->n++] = c;
	return 0;
}

int vk_doctor_evidence(struct vk_doctor_report *rep, const char *fmt, ...)
{
	struct vk_doctor_check *c;
	char *s, **ne;
	va_list ap;
	int n;

	if (!rep->n)
		return -EINVAL;
	c = &rep->checks[rep->n - 1];
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	ne = realloc(c->evidence, (c->n_evidence + 1) * sizeof(*ne));
	if (!ne) {
		free(s);
		return -ENOMEM;
	}
	c->evidence = ne;
	c->evidence[c->n_evidence++] = s;
	return 0;
}

size_t vk_doctor_count(const struct vk_doctor_report *rep, enum vk_doctor_status s)
{
	size_t n = 0;
	for (size_t i = 0; i < rep->n; i++)
		n += rep->checks[i].status == s;
	return n;
}

const struct vk_doctor_check *vk_doctor_find(const struct vk_doctor_report *rep, const char *id,
                                             const char *subject)
{
	const struct vk_rule *rule = vk_rule_find(id);

	for (size_t i = 0; rule && i < rep->n; i++) {
		const struct vk_doctor_check *c = &rep->checks[i];
		if (c->rule == rule && (!subject || (c->subject && strcmp(c->subject, subject) == 0)))
			return c;
	}
	return NULL;
}

void vk_doctor_report_clear(struct vk_doctor_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		check_free(&rep->checks[i]);
	free(rep->checks);
	memset(rep, 0, sizeof(*rep));
}

int vk_doctor_to_findings(const struct vk_doctor_report *rep, struct vk_report *out)
{
	for (size_t i = 0; i < rep->n; i++) {
		const struct vk_doctor_check *c = &rep->checks[i];
		char ev[1024] = "";
		size_t off = 0;
		int r;

		if (c->status == VK_DOCTOR_PASS || c->status == VK_DOCTOR_SKIP)
			continue;
		for (size_t k = 0; k < c->n_evidence && off < sizeof(ev); k++) {
			int w = snprintf(ev + off, sizeof(ev) - off, "%s%s", k ? "; " : "", c->evidence[k]);
			if (w < 0)
				break;
			off += (size_t)w;
		}
		r = vk_report_add(out, c->rule->id, c->subject, -1, 0, ev[0] ? ev : NULL, c->fix, "%s", c->reason);
		if (r < 0)
			return r;
		out->findings[out->n - 1].severity = c->status == VK_DOCTOR_FAIL ? VK_SEV_ERROR : VK_SEV_WARNING;
	}
	return 0;
}

/* ---- users ---- */

void vk_doctor_user_free(struct vk_doctor_user *u)
{
	free(u->groups);
	u->groups = NULL;
	u->n_groups = 0;
}

int vk_doctor_user_resolve(const char *spec, struct vk_doctor_user *out, struct vk_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	bool numeric;
	char *end;
	unsigned long uid = 0;

	memset(out, 0, sizeof(*out));
	out->gid = (gid_t)-1;
	if (!spec || !*spec)
		return vk_error_set(err, EINVAL, "--user: empty user name");
	errno = 0;
	uid = strtoul(spec, &end, 10);
	numeric = *end == '\0' && spec[0] >= '0' && spec[0] <= '9' && errno == 0 && uid <= 0xfffffffeul;
	if (numeric)
		getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res);
	else
		getpwnam_r(spec, &pw, buf, sizeof(buf), &res);
	if (!res) {
		if (!numeric)
			return vk_error_set(err, ENOENT, "--user %s: no such user on this machine (give a numeric uid to check one without a passwd entry)", spec);
		out->uid = (uid_t)uid;
		return 0; /* no passwd entry: no groups known */
	}
	snprintf(out->name, sizeof(out->name), "%s", res->pw_name);
	out->uid = res->pw_uid;
	out->gid = res->pw_gid;

	int ng = 32;
	for (int tries = 0; tries < 8; tries++) {
		gid_t *g = calloc((size_t)ng, sizeof(gid_t));
		int want = ng;
		if (!g)
			return vk_error_set(err, ENOMEM, "out of memory");
		if (getgrouplist(res->pw_name, res->pw_gid, g, &want) >= 0) {
			out->groups = g;
			out->n_groups = (size_t)want;
			return 0;
		}
		free(g);
		ng = want > ng ? want : ng * 2;
	}
	return vk_error_set(err, ENOMEM, "--user %s: cannot list the user's groups", spec);
}

bool vk_doctor_user_can_rw(const struct vk_doctor_user *u, uid_t uid, gid_t gid, mode_t mode)
{
	bool in_group = u->gid == gid;

	if (u->uid == 0)
		return true;
	if (u->uid == uid)
		return (mode & 0600) == 0600;
	for (size_t i = 0; i < u->n_groups && !in_group; i++)
		in_group = u->groups[i] == gid;
	if (in_group)
		return (mode & 0060) == 0060;
	return (mode & 0006) == 0006;
}

/* ---- sizes ---- */

int vk_doctor_parse_size(const char *s, bool allow_unlimited, uint64_t *out)
{
	unsigned shift = 0;
	uint64_t v = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (allow_unlimited && (strcasecmp(s, "unlimited") == 0 || strcasecmp(s, "infinity") == 0)) {
		*out = VK_DOCTOR_UNLIMITED;
		return 0;
	}
	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		p++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		p++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		p++;
		break;
	case 't':
	case 'T':
		shift = 40;
		p++;
		break;
	case 'b':
	case 'B':
		break;
	default:
		return -EINVAL;
	}
	if (shift && (*p == 'i' || *p == 'I') && (p[1] == 'B' || p[1] == 'b'))
		p += 2;
	else if (*p == 'B' || *p == 'b')
		p++;
	if (*p)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

const char *vk_doctor_format_size(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	unsigned u = 0;

	if (b == VK_DOCTOR_UNLIMITED) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	while (u + 1 < VK_ARRAY_SIZE(unit) && b >= (1ull << (10 * (u + 1))))
		u++;
	if (u == 0)
		snprintf(buf, len, "%llu bytes", (unsigned long long)b);
	else if (b % (1ull << (10 * u)) == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(b >> (10 * u)), unit[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)b / (double)(1ull << (10 * u)), unit[u]);
	return buf;
}

/* ---- output ---- */

/* A JSON string even for bytes that are not UTF-8 (a hostile tree): those become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j || !s)
		return j ? j : json_null();
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

char *vk_doctor_json(const struct vk_doctor_report *rep, const char *extra)
{
	json_t *root = json_object(), *arr = json_array();
	char *out = NULL;

	if (!root || !arr)
		goto out;
	json_object_set_new(root, "tool", json_string("vfio-doctor"));
	if (extra) {
		json_t *e = json_loads(extra, 0, NULL);
		if (e && json_is_object(e))
			json_object_update(root, e);
		json_decref(e);
	}
	for (size_t i = 0; i < rep->n; i++) {
		const struct vk_doctor_check *c = &rep->checks[i];
		json_t *ev = json_array();
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", c->rule->id, "name", c->rule->name, "category",
		                      vk_doctor_category(c->rule));
		if (!o || !ev) {
			json_decref(o);
			json_decref(ev);
			goto out;
		}
		json_object_set_new(o, "subject", c->subject ? jstr(c->subject) : json_null());
		json_object_set_new(o, "title", json_string(c->rule->title));
		json_object_set_new(o, "status", json_string(vk_doctor_status_name(c->status)));
		json_object_set_new(o, "reason", jstr(c->reason));
		json_object_set_new(o, "fix", c->fix ? jstr(c->fix) : json_null());
		for (size_t k = 0; k < c->n_evidence; k++)
			json_array_append_new(ev, jstr(c->evidence[k]));
		json_object_set_new(o, "evidence", ev);
		json_object_set_new(o, "source", json_string(c->rule->source));
		json_array_append_new(arr, o);
	}
	json_object_set(root, "checks", arr);
	json_object_set_new(root, "summary",
	                    json_pack("{s:I, s:I, s:I, s:I}", "pass", (json_int_t)vk_doctor_count(rep, VK_DOCTOR_PASS),
	                              "warn", (json_int_t)vk_doctor_count(rep, VK_DOCTOR_WARN), "fail",
	                              (json_int_t)vk_doctor_count(rep, VK_DOCTOR_FAIL), "skip",
	                              (json_int_t)vk_doctor_count(rep, VK_DOCTOR_SKIP)));
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(arr);
	json_decref(root);
	return out;
}
