/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: the expectations on the resolver (resolver:), vfio-doctor
 * (doctor:, doctor_options:) and vfio-validate (validate:), each run through
 * the libraries against the served tree and compared with the expect: block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/doctor.h>
#include <vfiokit/qemu_argv.h>
#include <vfiokit/qemu_cmdline.h>
#include <vfiokit/resolver.h>
#include <vfiokit/validator.h>

#include "checks.h"
#include "util.h"

enum vk_fakesys_expect_class runner_class_of_errno(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return VK_FAKESYS_EXPECT_ACCESS;
	case EBUSY:
		return VK_FAKESYS_EXPECT_BUSY;
	case ENODEV:
	case ENXIO:
	case ENOENT:
		return VK_FAKESYS_EXPECT_GONE;
	case ESTALE: /* the node in /dev is not the device's cdev */
		return VK_FAKESYS_EXPECT_MALFORMED;
	default:
		return VK_FAKESYS_EXPECT_ERROR;
	}
}

enum vk_fakesys_expect_class runner_class_of(const struct vk_pci_dev_facts *f, int err)
{
	switch (f->cdev_state) {
	case VK_VFIO_CDEV_DEVICE_ABSENT:
		return f->present ? VK_FAKESYS_EXPECT_ERROR : VK_FAKESYS_EXPECT_ABSENT;
	case VK_VFIO_CDEV_NOT_VFIO:
		return VK_FAKESYS_EXPECT_NOT_VFIO_PCI;
	case VK_VFIO_CDEV_NO_VFIO_DEV_DIR:
	case VK_VFIO_CDEV_NO_DEV_ATTR:
		return VK_FAKESYS_EXPECT_NO_CDEV;
	case VK_VFIO_CDEV_BAD_ENTRIES:
	case VK_VFIO_CDEV_BAD_DEV_ATTR:
	case VK_VFIO_CDEV_NODE_ERROR:
		return VK_FAKESYS_EXPECT_MALFORMED;
	case VK_VFIO_CDEV_NODE_MISSING:
		return VK_FAKESYS_EXPECT_NODE_MISSING;
	case VK_VFIO_CDEV_OK:
		break;
	}
	if (!f->present)
		return VK_FAKESYS_EXPECT_ABSENT;
	return runner_class_of_errno(err);
}

/* What the resolver answers for one device, as a class and a path. */
static enum vk_fakesys_expect_class resolve_one(const struct vk_root *root, const struct vk_pci_addr *a, char *path,
                                                size_t len, char *detail, size_t dlen)
{
	struct vk_pci_dev_facts f;
	struct vk_error e = {0};
	int fd = vk_vfio_device_open(root, a, &f, &e);

	*path = *detail = '\0';
	if (fd >= 0) {
		close(fd);
		snprintf(path, len, "%s", f.node_path);
		return VK_FAKESYS_EXPECT_CDEV;
	}
	snprintf(detail, dlen, "%s", e.msg[0] ? e.msg : strerror(-fd));
	return runner_class_of(&f, -fd);
}

static void check_resolver(const struct vk_fakesys_expect *x, const struct vk_root *root, struct diff *d)
{
	for (size_t i = 0; i < x->n_resolve; i++) {
		const struct vk_fakesys_expect_resolve *e = &x->resolve[i];
		char bdf[VK_PCI_ADDR_STRLEN], path[64], detail[1100], name[96];
		enum vk_fakesys_expect_class c = resolve_one(root, &e->addr, path, sizeof(path), detail, sizeof(detail));
		const char *want = e->cls == VK_FAKESYS_EXPECT_CDEV ? e->path : vk_fakesys_expect_class_name(e->cls);

		if (c == e->cls && (c != VK_FAKESYS_EXPECT_CDEV || !strcmp(path, e->path)))
			continue;
		snprintf(name, sizeof(name), "resolver %s (line %u)", vk_pci_addr_format(&e->addr, bdf), e->line);
		if (c == VK_FAKESYS_EXPECT_CDEV)
			runner_item(d, name, want, "%s", path);
		else
			runner_item(d, name, want, "%s: %s", vk_fakesys_expect_class_name(c), detail);
	}
}

void runner_check_resolver(void *arg, struct diff *d)
{
	const struct run_ctx *c = arg;
	check_resolver(c->x, c->root, d);
}

static const char *exp_status(int s)
{
	return s == VK_FAKESYS_EXPECT_MISSING ? "absent" : vk_doctor_status_name((enum vk_doctor_status)s);
}

/* The doctor's options from user: and doctor_options:; @qemu and @groups are
 * buffers the options point into.  Returns 0, or -EINVAL with @what set. */
static int doctor_options_fill(const struct vk_fakesys_expect *x, struct vk_doctor_options *o,
                               struct vk_doctor_user *u, char *qemu, size_t qlen, char *what, size_t wlen)
{
	o->memlock = VK_DOCTOR_UNLIMITED;
	o->memlock_given = true;
	o->skip_qemu = true;
	if (x->memory && vk_doctor_parse_size(x->memory, false, &o->memory) < 0) {
		snprintf(what, wlen, "doctor_options (line %u): memory: '%s' is not a size (16G, 512M)",
		         x->doctor_options_line, x->memory);
		return -EINVAL;
	}
	if (x->memlock && vk_doctor_parse_size(x->memlock, true, &o->memlock) < 0) {
		snprintf(what, wlen, "doctor_options (line %u): memlock: '%s' is not a size (64M, unlimited)",
		         x->doctor_options_line, x->memlock);
		return -EINVAL;
	}
	if (x->doctor_qemu) {
		/* a missing binary is the doctor's finding (VD301 WARN), not an error */
		if (runner_find_program(x->doctor_qemu, qemu, qlen) < 0)
			snprintf(qemu, qlen, "%s", x->doctor_qemu);
		o->qemu = qemu;
		o->skip_qemu = false;
	}
	if (x->has_user) {
		*u = (struct vk_doctor_user){.uid = x->user_uid, .gid = x->user_gid};
		u->groups = calloc(x->n_user_groups + 1, sizeof(gid_t));
		if (!u->groups) {
			snprintf(what, wlen, "out of memory");
			return -ENOMEM;
		}
		u->groups[u->n_groups++] = x->user_gid;
		for (size_t i = 0; i < x->n_user_groups; i++)
			if (x->user_groups[i] != x->user_gid)
				u->groups[u->n_groups++] = x->user_groups[i];
		o->user = u;
	}
	return 0;
}

/* The devices the doctor checks: every device bound to vfio-pci, and the ones
 * the expectations name.  Returns 0 (*@out NULL when there is none), or -errno
 * with @what set. */
static int doctor_devices(const struct vk_fakesys_expect *x, const struct vk_root *root, struct vk_pci_addr **out,
                          size_t *n, char *what, size_t wlen)
{
	struct vk_pci_addr *devs = NULL;
	struct vk_error e = {0};

	*out = NULL;
	*n = 0;
	if (vk_doctor_vfio_devices(root, &devs, n, &e) < 0) {
		snprintf(what, wlen, "no report: %s", e.msg);
		return -EIO;
	}
	struct vk_pci_addr *all = realloc(devs, (*n + x->n_doctor + 1) * sizeof(*all));
	if (!all) {
		free(devs);
		snprintf(what, wlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->n_doctor; i++) {
		struct vk_pci_addr a;
		bool have = false;
		if (!x->doctor[i].subject || vk_pci_addr_parse(x->doctor[i].subject, &a, NULL) < 0)
			continue;
		for (size_t j = 0; j < *n && !have; j++)
			have = vk_pci_addr_equal(&all[j], &a);
		if (!have)
			all[(*n)++] = a;
	}
	if (*n)
		*out = all;
	else
		free(all);
	return 0;
}

/* One doctor: expectation against the report. */
static void compare_doctor(const struct vk_fakesys_expect_doctor *w, const struct vk_doctor_report *rep, struct diff *d)
{
	char name[128], got[1024] = "";
	size_t gl = 0;
	bool ok = true, any = false;

	for (size_t j = 0; j < rep->n; j++) {
		const struct vk_doctor_check *c = &rep->checks[j];
		if (strcmp(c->rule->id, w->id) || (w->subject && (!c->subject || strcmp(c->subject, w->subject))))
			continue;
		any = true;
		if ((int)c->status != w->status)
			ok = false;
		if (gl < sizeof(got))
			gl += (size_t)snprintf(got + gl, sizeof(got) - gl, "%s%s%s%s (%s)", gl ? "; " : "",
			                       vk_doctor_status_name(c->status), c->subject && !w->subject ? " @" : "",
			                       c->subject && !w->subject ? c->subject : "", c->reason ? c->reason : "");
	}
	if (!any)
		ok = w->status == VK_FAKESYS_EXPECT_MISSING;
	else if (w->status == VK_FAKESYS_EXPECT_MISSING)
		ok = false;
	if (ok)
		return;
	snprintf(name, sizeof(name), "doctor %s%s%s (line %u)", w->id, w->subject ? "@" : "", w->subject ? w->subject : "",
	         w->line);
	runner_item(d, name, exp_status(w->status), "%s", any ? got : "absent (no such check in the report)");
}

void runner_check_doctor(const struct run_ctx *c, struct diff *d)
{
	const struct vk_fakesys_expect *x = c->x;
	struct vk_doctor_options o = {.root = c->root};
	struct vk_doctor_user u = {0};
	struct vk_doctor_report rep = {0};
	struct vk_error e = {0};
	char qemu[4096], what[1200];

	if (!x->n_doctor)
		return;
	int r = doctor_options_fill(x, &o, &u, qemu, sizeof(qemu), what, sizeof(what));
	_cleanup_free_ gid_t *user_groups = u.groups;
	_cleanup_free_ struct vk_pci_addr *devs = NULL;
	if (r == 0)
		r = doctor_devices(x, c->root, &devs, &o.n_devices, what, sizeof(what));
	if (r < 0) {
		runner_item(d, "doctor", "a report", "%s", what);
		return;
	}
	o.devices = devs;
	r = vk_doctor_run(&o, &rep, &e);
	if (r < 0)
		runner_item(d, "doctor", "a report", "vfio-doctor failed: %s", e.msg);
	else
		for (size_t i = 0; i < x->n_doctor; i++)
			compare_doctor(&x->doctor[i], &rep, d);
	vk_doctor_report_clear(&rep);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Write the words as one shell-like line (for the diff). */
static void print_argv(FILE *f, size_t argc, char *const *argv)
{
	for (size_t i = 0; i < argc; i++)
		fprintf(f, i ? " '%s'" : "'%s'", argv[i]);
}

/* The report's ids against validate: findings:, with the findings and the argv on a difference. */
static void compare_findings(const struct vk_fakesys_expect *x, const struct vk_report *rep, size_t argc,
                             char *const *argv, struct diff *d)
{
	/* the ids, sorted and unique */
	_cleanup_free_ const char **ids = calloc(rep->n + 1, sizeof(char *));
	size_t n_ids = 0;
	if (!ids) {
		runner_item(d, "validate", "findings", "out of memory");
		return;
	}
	for (size_t i = 0; i < rep->n; i++)
		ids[n_ids++] = rep->findings[i].rule->id;
	qsort(ids, n_ids, sizeof(char *), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < n_ids; i++)
		if (!u || strcmp(ids[u - 1], ids[i]))
			ids[u++] = ids[i];
	n_ids = u;
	bool same = n_ids == x->n_findings;
	for (size_t i = 0; same && i < n_ids; i++)
		same = !strcmp(ids[i], x->findings[i]);
	if (!same) {
		char want[512] = "clean (no findings)", *got = NULL;
		size_t wl = 0, glen = 0;
		FILE *g = open_memstream(&got, &glen);
		if (x->n_findings)
			for (size_t i = 0; i < x->n_findings && wl < sizeof(want); i++)
				wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s%s", i ? ", " : "findings ",
				                       x->findings[i]);
		if (g) {
			fputs(rep->n ? "findings " : "clean (no findings)", g);
			for (size_t i = 0; i < n_ids; i++)
				fprintf(g, "%s%s", i ? ", " : "", ids[i]);
			for (size_t i = 0; i < rep->n; i++)
				fprintf(g, "\n    %s %s%s%s: %s", rep->findings[i].rule->id,
				        rep->findings[i].subject ? "[" : "", rep->findings[i].subject ? rep->findings[i].subject : "",
				        rep->findings[i].subject ? "]" : "", rep->findings[i].message);
			fputs("\n  argv:     ", g);
			print_argv(g, argc, argv);
			fclose(g);
		}
		runner_item(d, "validate", want, "%s", got ? got : "?");
		free(got);
	}
}

void runner_validate_argv(const struct run_ctx *c, size_t argc, char *const *argv, bool live_fds, struct diff *d)
{
	const struct vk_fakesys_expect *x = c->x;
	struct vk_qc_cmdline *cl = NULL;
	struct vk_report rep = {0};
	struct vk_error e = {0};
	struct vk_qemu_caps caps;

	int r = vk_qc_parse_argv(argc, argv, NULL, VK_QC_ARGV_DETECT_PROGRAM, &cl, NULL, &e);
	if (r == 0)
		r = vk_qemu_caps_builtin(x->qemu, &caps, &e);
	if (r == 0)
		r = vk_check_cmdline(cl, &caps, &rep, &e);
	if (r == 0)
		r = vk_check_host(cl, c->root, &rep, &e);
	if (r == 0 && live_fds)
		r = vk_check_fds(cl, 0, NULL, c->root, &rep, &e);
	if (r < 0)
		runner_item(d, "validate", "findings", "vfio-validate failed: %s", e.msg);
	else
		compare_findings(x, &rep, argc, argv, d);
	vk_report_clear(&rep);
	vk_qc_cmdline_free(cl);
}

void runner_validate_set(const struct run_ctx *c, struct vk_vfio_set *set, struct diff *d)
{
	struct vk_qemu_argv qa = {0};
	struct vk_error e = {0};

	if (vk_qemu_argv_build(set, c->x->argv_json ? VK_QEMU_SYNTAX_JSON : VK_QEMU_SYNTAX_KEYVAL, 0, &qa, &e) < 0) {
		runner_item(d, "validate (argv: resolver)", "a command line", "the builder failed: %s", e.msg);
		return;
	}
	/* exec clears close-on-exec in the child */
	if (set->iommufd >= 0)
		fcntl(set->iommufd, F_SETFD, 0);
	for (size_t i = 0; i < set->n; i++)
		if (set->dev[i].fd >= 0)
			fcntl(set->dev[i].fd, F_SETFD, 0);
	runner_validate_argv(c, qa.argc, qa.argv, true, d);
	vk_qemu_argv_free(&qa);
}
