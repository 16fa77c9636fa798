/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: run the real resolver, vfio-doctor checks and vfio-validate
 * rules against each scenario's host and compare with its expect: block.
 *
 * The parent only schedules: each scenario runs in a child process of its
 * own (its own temporary directory, mount or plain tree, FDs and library
 * state), which writes a small result file; the parent reaps the children,
 * cleans up after them (unmounting a mount a crashed child left behind) and
 * writes the reports.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/doctor.h>
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>
#include <vfiokit/qemu_argv.h>
#include <vfiokit/qemu_cmdline.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include "runner.h"

enum { MODE_AUTO, MODE_FUSE, MODE_PLAIN };
enum { ST_OK, ST_FAIL, ST_ERROR, ST_SKIP };
static const char *const st_word[] = {"ok", "FAIL", "ERROR", "skip"};

struct scen {
	char *path;
	char *name;      /* basename without .yaml */
	char dir[4200];  /* its temporary directory */
	pid_t pid;
	struct timespec start;
	double secs;
	int status;      /* ST_* */
	char *mode;      /* "fuse", "plain", "plain (FUSE mount failed: ...)" */
	char *diff;      /* what differed, or the error; may be "" */
	char *note;      /* one line: the reason of an error or skip */
};

/* ---------------- the child: one scenario ---------------- */

void runner_item(struct diff *d, const char *name, const char *expected, const char *fmt, ...)
{
	va_list ap;

	d->n++;
	fprintf(d->f, "%s\n  expected: %s\n  got:      ", name, expected);
	va_start(ap, fmt);
	vfprintf(d->f, fmt, ap);
	va_end(ap);
	fputc('\n', d->f);
}

/* The class of an open that failed with @err once the facts were fine. */
static enum fakesys_expect_class class_of_errno(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return FAKESYS_EXPECT_ACCESS;
	case EBUSY:
		return FAKESYS_EXPECT_BUSY;
	case ENODEV:
	case ENXIO:
	case ENOENT:
		return FAKESYS_EXPECT_GONE;
	case ESTALE: /* the node in /dev is not the device's cdev */
		return FAKESYS_EXPECT_MALFORMED;
	default:
		return FAKESYS_EXPECT_ERROR;
	}
}

/* The class of a failed open, from the facts read and the errno (see
 * docs/scenario-format.md, "Resolver classes"). */
static enum fakesys_expect_class class_of(const struct pci_dev_facts *f, int err)
{
	switch (f->cdev_state) {
	case VFIO_CDEV_DEVICE_ABSENT:
		return f->present ? FAKESYS_EXPECT_ERROR : FAKESYS_EXPECT_ABSENT;
	case VFIO_CDEV_NOT_VFIO:
		return FAKESYS_EXPECT_NOT_VFIO_PCI;
	case VFIO_CDEV_NO_VFIO_DEV_DIR:
	case VFIO_CDEV_NO_DEV_ATTR:
		return FAKESYS_EXPECT_NO_CDEV;
	case VFIO_CDEV_BAD_ENTRIES:
	case VFIO_CDEV_BAD_DEV_ATTR:
	case VFIO_CDEV_NODE_ERROR:
		return FAKESYS_EXPECT_MALFORMED;
	case VFIO_CDEV_NODE_MISSING:
		return FAKESYS_EXPECT_NODE_MISSING;
	case VFIO_CDEV_OK:
		break;
	}
	if (!f->present)
		return FAKESYS_EXPECT_ABSENT;
	return class_of_errno(err);
}

/* What the resolver answers for one device, as a class and a path. */
static enum fakesys_expect_class resolve_one(const struct vk_root *root, const struct pci_addr *a, char *path,
                                             size_t len, char *detail, size_t dlen)
{
	struct pci_dev_facts f;
	struct vk_error e = {0};
	int fd = vfio_device_open(root, a, &f, &e);

	*path = *detail = '\0';
	if (fd >= 0) {
		close(fd);
		snprintf(path, len, "%s", f.node_path);
		return FAKESYS_EXPECT_CDEV;
	}
	snprintf(detail, dlen, "%s", e.msg[0] ? e.msg : strerror(-fd));
	return class_of(&f, -fd);
}

static void check_resolver(const struct fakesys_expect *x, const struct vk_root *root, struct diff *d)
{
	for (size_t i = 0; i < x->n_resolve; i++) {
		const struct fakesys_expect_resolve *e = &x->resolve[i];
		char bdf[PCI_ADDR_STRLEN], path[64], detail[1100], name[96];
		enum fakesys_expect_class c = resolve_one(root, &e->addr, path, sizeof(path), detail, sizeof(detail));
		const char *want = e->cls == FAKESYS_EXPECT_CDEV ? e->path : fakesys_expect_class_name(e->cls);

		if (c == e->cls && (c != FAKESYS_EXPECT_CDEV || !strcmp(path, e->path)))
			continue;
		snprintf(name, sizeof(name), "resolver %s (line %u)", pci_addr_format(&e->addr, bdf), e->line);
		if (c == FAKESYS_EXPECT_CDEV)
			runner_item(d, name, want, "%s", path);
		else
			runner_item(d, name, want, "%s: %s", fakesys_expect_class_name(c), detail);
	}
}

static const char *exp_status(int s)
{
	return s == FAKESYS_EXPECT_MISSING ? "absent" : vk_doctor_status_name((enum vk_doctor_status)s);
}

/* @prog as execvp() would find it: a path with a '/', else the first
 * executable in $PATH.  Returns 0 or -ENOENT. */
static int find_program(const char *prog, char *buf, size_t len)
{
	if (strchr(prog, '/')) {
		snprintf(buf, len, "%s", prog);
		return access(prog, X_OK) == 0 ? 0 : -ENOENT;
	}
	const char *path = getenv("PATH");
	for (const char *p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
		const char *end = strchrnul(p, ':');
		snprintf(buf, len, "%.*s/%s", (int)(end - p), p, prog);
		if (end > p && access(buf, X_OK) == 0)
			return 0;
		p = *end ? end + 1 : end;
	}
	*buf = '\0';
	return -ENOENT;
}

/* The doctor's options from user: and doctor_options:; @qemu and @groups are
 * buffers the options point into.  Returns 0, or -EINVAL with @what set. */
static int doctor_options_fill(const struct fakesys_expect *x, struct vk_doctor_options *o,
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
		if (find_program(x->doctor_qemu, qemu, qlen) < 0)
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

static void check_doctor(const struct fakesys_expect *x, const struct vk_root *root, struct diff *d)
{
	struct vk_doctor_options o = {.root = root};
	struct vk_doctor_user u = {0};
	struct vk_doctor_report rep = {0};
	struct vk_error e = {0};
	struct pci_addr *devs = NULL;
	char qemu[4096], what[512];
	size_t n = 0;

	if (!x->n_doctor)
		return;
	int r = doctor_options_fill(x, &o, &u, qemu, sizeof(qemu), what, sizeof(what));
	_cleanup_free_ gid_t *user_groups = u.groups;
	if (r < 0) {
		runner_item(d, "doctor", "a report", "%s", what);
		return;
	}
	/* every device bound to vfio-pci, and the ones the expectations name */
	if (vk_doctor_vfio_devices(root, &devs, &n, &e) < 0) {
		runner_item(d, "doctor", "a report", "no report: %s", e.msg);
		return;
	}
	struct pci_addr *all = realloc(devs, (n + x->n_doctor + 1) * sizeof(*all));
	if (!all) {
		free(devs);
		runner_item(d, "doctor", "a report", "out of memory");
		return;
	}
	devs = all;
	for (size_t i = 0; i < x->n_doctor; i++) {
		struct pci_addr a;
		bool have = false;
		if (!x->doctor[i].subject || pci_addr_parse(x->doctor[i].subject, &a, NULL) < 0)
			continue;
		for (size_t j = 0; j < n && !have; j++)
			have = pci_addr_equal(&devs[j], &a);
		if (!have)
			devs[n++] = a;
	}
	o.devices = devs;
	o.n_devices = n;
	if (!n)
		o.devices = NULL;
	r = vk_doctor_run(&o, &rep, &e);
	free(devs);
	if (r < 0) {
		runner_item(d, "doctor", "a report", "vfio-doctor failed: %s", e.msg);
		vk_doctor_report_clear(&rep);
		return;
	}
	for (size_t i = 0; i < x->n_doctor; i++) {
		const struct fakesys_expect_doctor *w = &x->doctor[i];
		char name[128], got[1024] = "";
		size_t gl = 0;
		bool ok = true, any = false;

		for (size_t j = 0; j < rep.n; j++) {
			const struct vk_doctor_check *c = &rep.checks[j];
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
			ok = w->status == FAKESYS_EXPECT_MISSING;
		else if (w->status == FAKESYS_EXPECT_MISSING)
			ok = false;
		if (ok)
			continue;
		snprintf(name, sizeof(name), "doctor %s%s%s (line %u)", w->id, w->subject ? "@" : "",
		         w->subject ? w->subject : "", w->line);
		runner_item(d, name, exp_status(w->status), "%s", any ? got : "absent (no such check in the report)");
	}
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
static void compare_findings(const struct fakesys_expect *x, const struct vk_report *rep, size_t argc,
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

/* What a scenario's checks need. */
struct run_ctx {
	const struct host_model *m;
	const struct fakesys_expect *x;
	const struct vk_root *root;
	const char *log;          /* the access log (expect: access:), or NULL */
	unsigned timeout;
};

/* vfio-validate's rules on @argv; with @set (argv: resolver), also the live-FD rules. */
static void validate_argv(const struct run_ctx *c, size_t argc, char *const *argv, bool live_fds, struct diff *d)
{
	const struct fakesys_expect *x = c->x;
	struct qc_cmdline *cl = NULL;
	struct vk_report rep = {0};
	struct vk_error e = {0};
	struct qemu_caps caps;

	int r = qc_parse_argv(argc, argv, NULL, QC_ARGV_DETECT_PROGRAM, &cl, NULL, &e);
	if (r == 0)
		r = qemu_caps_builtin(x->qemu, &caps, &e);
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
	qc_cmdline_free(cl);
}

/* argv: resolver: the command line the builder makes of @set, checked with
 * the set's FDs inheritable, as QEMU would get them. */
static void validate_set(const struct run_ctx *c, struct vfio_set *set, struct diff *d)
{
	struct qemu_argv qa = {0};
	struct vk_error e = {0};

	if (qemu_argv_build(set, c->x->argv_json ? QEMU_SYNTAX_JSON : QEMU_SYNTAX_KEYVAL, 0, &qa, &e) < 0) {
		runner_item(d, "validate (argv: resolver)", "a command line", "the builder failed: %s", e.msg);
		return;
	}
	/* exec clears close-on-exec in the child */
	if (set->iommufd >= 0)
		fcntl(set->iommufd, F_SETFD, 0);
	for (size_t i = 0; i < set->n; i++)
		if (set->dev[i].fd >= 0)
			fcntl(set->dev[i].fd, F_SETFD, 0);
	validate_argv(c, qa.argc, qa.argv, true, d);
	qemu_argv_free(&qa);
}

/* The set's devices: argv_devices:, else every device the scenario binds to vfio-pci. */
static struct pci_addr *set_devices(const struct run_ctx *c, size_t *n)
{
	const struct fakesys_expect *x = c->x;
	struct pci_addr *devs;

	*n = 0;
	if (x->has_argv_devices) {
		devs = malloc((x->n_argv_devices + 1) * sizeof(*devs));
		if (devs)
			memcpy(devs, x->argv_devices, x->n_argv_devices * sizeof(*devs));
		*n = x->n_argv_devices;
		return devs;
	}
	devs = malloc((c->m->n_devices + 1) * sizeof(*devs));
	for (size_t i = 0; devs && i < c->m->n_devices; i++)
		if (pci_driver_is_vfio_pci(c->m->devices[i].driver))
			devs[(*n)++] = c->m->devices[i].addr;
	return devs;
}

/* The FDs this process has open (/proc/self/fd, less the listing's own). */
static int fd_count(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	return n - 3; /* ".", "..", the listing's FD */
}

static off_t file_size(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 ? st.st_size : 0;
}

/* "0000:01:00.1 (busy)" or "/dev/iommu (access)" */
static void where_describe(bool iommufd, const struct pci_addr *a, enum fakesys_expect_class cls, char *buf,
                           size_t len)
{
	char bdf[PCI_ADDR_STRLEN];
	snprintf(buf, len, "fails at %s (%s)", iommufd ? "/dev/iommu" : pci_addr_format(a, bdf),
	         fakesys_expect_class_name(cls));
}

/* The set: expectation against what vfio_set_open_diag() answered. */
static void compare_set(const struct run_ctx *c, int r, const struct vfio_set *set,
                        const struct vfio_set_failure *fail, const struct pci_addr *devs, const char *msg,
                        struct diff *d)
{
	const struct fakesys_expect *x = c->x;
	char name[64], want[128], got[128];
	bool at_iommufd = fail->index == VFIO_SET_FAILED_IOMMUFD;
	enum fakesys_expect_class cls = FAKESYS_EXPECT_ERROR;

	snprintf(name, sizeof(name), x->has_set ? "set (line %u)" : "set (for argv: resolver)", x->set_line);
	if (x->set_fails)
		where_describe(x->set_fail_iommufd, &x->set_fail_addr, x->set_fail_class, want, sizeof(want));
	else
		snprintf(want, sizeof(want), "opened");
	if (r == 0) {
		if (x->set_fails)
			runner_item(d, name, want, "opened: %zu device(s) and /dev/iommu", set->n);
		return;
	}
	if (fail->index >= 0)
		cls = class_of(&fail->facts, -r);
	else if (at_iommufd)
		cls = class_of_errno(-r);
	if (fail->index == VFIO_SET_FAILED_ARGS) {
		snprintf(got, sizeof(got), "failed before opening anything");
	} else {
		where_describe(at_iommufd, fail->index >= 0 ? &devs[fail->index] : NULL, cls, got, sizeof(got));
		if (x->set_fails && at_iommufd == x->set_fail_iommufd && cls == x->set_fail_class &&
		    (at_iommufd || pci_addr_equal(&devs[fail->index], &x->set_fail_addr)))
			return;
	}
	runner_item(d, name, want, "%s: %s", got, msg);
}

/*
 * The set phase: vfio_set_open() of the set's devices as the management layer
 * would (all or nothing), then set:, access: and argv: resolver against it,
 * and no FD left behind either way.  A literal argv is validated here too.
 */
static void check_set_phase(void *arg, struct diff *d)
{
	const struct run_ctx *c = arg;
	const struct fakesys_expect *x = c->x;

	if (!x->has_set && !x->n_access && !x->argv_resolver) {
		if (x->has_validate)
			validate_argv(c, x->argc, x->argv, false, d);
		return;
	}
	size_t n = 0;
	_cleanup_free_ struct pci_addr *devs = set_devices(c, &n);
	if (!devs) {
		runner_item(d, "set", "the set's devices", "out of memory");
		return;
	}
	struct vfio_set set = {.iommufd = -1};
	struct vfio_set_failure fail;
	struct vk_error e = {0};
	int before = fd_count();
	off_t log_from = file_size(c->log);
	int r = vfio_set_open_diag(c->root, devs, n, 0, &set, &fail, &e);
	off_t log_to = file_size(c->log);

	compare_set(c, r, &set, &fail, devs, e.msg, d);
	if (c->log)
		runner_check_access(x, c->log, log_from, log_to, d);
	if (x->has_validate) {
		if (!x->argv_resolver)
			validate_argv(c, x->argc, x->argv, false, d);
		else if (r == 0)
			validate_set(c, &set, d);
	}
	vfio_set_close(&set);
	int after = fd_count();
	if (after != before)
		runner_item(d, "set: file descriptors", "none left open once the set is closed or failed",
		            "%d before, %d after", before, after);
}

/* Become the account of expect: user: (groups, gid, uid, in that order). */
static int drop_to_user(const struct fakesys_expect *x, char *what, size_t len)
{
	gid_t groups[256];
	size_t n = 0;

	groups[n++] = x->user_gid;
	for (size_t i = 0; i < x->n_user_groups && n < VK_ARRAY_SIZE(groups); i++)
		groups[n++] = x->user_groups[i];
	if (setgroups(n, groups) < 0 || setresgid(x->user_gid, x->user_gid, x->user_gid) < 0 ||
	    setresuid(x->user_uid, x->user_uid, x->user_uid) < 0) {
		snprintf(what, len, "cannot become uid %u gid %u: %s", x->user_uid, x->user_gid, strerror(errno));
		return -errno;
	}
	/* a credential change makes the process non-dumpable, which hands
	 * /proc/self/fd to root; the FD check needs to read it */
	prctl(PR_SET_DUMPABLE, 1);
	/* and it clears the parent-death signal: a hung client must not outlive us */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return 0;
}

/*
 * Run @fn, the client side of a scenario (what the management layer or QEMU
 * does), in this process, or with expect: user: in a child process that has
 * become that account, so that the kernel checks the tree's modes and owners
 * as it would for an unprivileged QEMU.  The child's entries join @d.
 */
static void run_client(const struct run_ctx *c, void (*fn)(void *, struct diff *), struct diff *d)
{
	int p[2];

	if (!c->x->has_user || (geteuid() != 0 && geteuid() == c->x->user_uid)) {
		fn((void *)c, d);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		runner_item(d, "user", "a client process", "pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		runner_item(d, "user", "a client process", "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		struct diff cd = {0};
		char what[256];
		close(p[0]);
		alarm(c->timeout);
		cd.f = open_memstream(&cd.buf, &cd.len);
		if (!cd.f)
			_exit(1);
		if (drop_to_user(c->x, what, sizeof(what)) < 0)
			runner_item(&cd, "user", "to run as the account", "%s", what);
		else
			fn((void *)c, &cd);
		fclose(cd.f);
		/* this process's copy of the root: leave nothing open at exit */
		vk_root_close((struct vk_root *)c->root);
		FILE *out = fdopen(p[1], "w");
		if (!out)
			_exit(1);
		fprintf(out, "%u\n%s", cd.n, cd.buf ? cd.buf : "");
		free(cd.buf);
		_exit(fclose(out) == 0 ? 0 : 1);
	}
	close(p[1]);
	_cleanup_fclose_ FILE *in = fdopen(p[0], "r");
	if (!in)
		close(p[0]);
	unsigned n = 0;
	bool got = in && fscanf(in, "%u", &n) == 1 && fgetc(in) == '\n';
	for (int ch; got && (ch = fgetc(in)) != EOF;)
		fputc(ch, d->f);
	d->n += n;
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!got || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		runner_item(d, "user", "the client process to finish", "%s %d",
		            WIFSIGNALED(st) ? "killed by signal" : "exit status",
		            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void check_resolver_client(void *arg, struct diff *d)
{
	const struct run_ctx *c = arg;
	check_resolver(c->x, c->root, d);
}

static char *__attribute__((format(printf, 1, 2))) xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

static bool fuse_usable(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Why this scenario cannot run here ("" when it can): requires:, user:. */
static void skip_reason(const struct fakesys_expect *x, char *buf, size_t len)
{
	char path[4096];

	*buf = '\0';
	for (size_t i = 0; i < x->n_requires; i++)
		if (find_program(x->requires[i], path, sizeof(path)) < 0) {
			snprintf(buf, len, "requires %s, which is not on PATH", x->requires[i]);
			return;
		}
	if (x->has_user && geteuid() != 0 && geteuid() != x->user_uid)
		snprintf(buf, len, "user: running as uid %u needs root (this is uid %u)", x->user_uid, (unsigned)geteuid());
}

/* Run one scenario in this (child) process; writes "STATUS\nMODE\nNOTE\n" + diff to @result. */
static int run_one(const char *path, const char *dir, int mode, unsigned timeout, const char *result)
{
	struct host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_root *root = NULL;
	struct vk_error e = {0};
	struct diff d = {0};
	char tree[4300], log[4300], note[1200] = "", modebuf[1200] = "-";
	bool mounted = false;
	int st = ST_OK;

	d.f = open_memstream(&d.buf, &d.len);
	if (!d.f)
		return -ENOMEM;
	if (host_model_load(path, &m, &e) < 0) {
		st = ST_ERROR;
		snprintf(note, sizeof(note), "%s", e.msg);
		goto write;
	}
	if (!m->expect) {
		st = ST_ERROR;
		snprintf(note, sizeof(note), "%s: no expect: block; nothing to check (docs/scenario-format.md, expect:)",
		         path);
		goto write;
	}
	skip_reason(m->expect, note, sizeof(note));
	if (note[0]) {
		st = ST_SKIP;
		goto write;
	}
	if (host_tree_build(m, &t, &e) < 0) {
		st = ST_ERROR;
		snprintf(note, sizeof(note), "%s", e.msg);
		goto write;
	}
	snprintf(log, sizeof(log), "%s/access.log", dir);
	if (mode != MODE_PLAIN && (mode == MODE_FUSE || fuse_usable())) {
		snprintf(tree, sizeof(tree), "%s/mnt", dir);
		struct fakesys_mount_opts o = {.model = m, .log = m->expect->n_access ? log : NULL};
		if (mkdir(tree, 0755) < 0 || fakesys_mount(t, tree, &o, &e) < 0) {
			if (mode == MODE_FUSE) {
				st = ST_ERROR;
				snprintf(note, sizeof(note), "FUSE mount failed: %s", e.msg[0] ? e.msg : strerror(errno));
				goto write;
			}
			snprintf(modebuf, sizeof(modebuf), "plain (FUSE mount failed: %s)", e.msg[0] ? e.msg : strerror(errno));
			e = (struct vk_error){0};
		} else {
			mounted = true;
			snprintf(modebuf, sizeof(modebuf), "fuse");
		}
	} else {
		snprintf(modebuf, sizeof(modebuf), mode == MODE_PLAIN ? "plain" : "plain (/dev/fuse not usable)");
	}
	if (!mounted) {
		if (m->n_faults || m->n_steps || m->expect->n_access) {
			st = ST_SKIP;
			snprintf(note, sizeof(note), "%s need a FUSE mount",
			         m->expect->n_access ? "access-log expectations" : "faults and steps");
			goto write;
		}
		snprintf(tree, sizeof(tree), "%s/tree", dir);
		if (fakesys_materialize(t, tree, &e) < 0) {
			st = ST_ERROR;
			snprintf(note, sizeof(note), "%s", e.msg);
			goto write;
		}
	}
	if (vk_root_open(tree, 0, &root, &e) < 0) {
		st = ST_ERROR;
		snprintf(note, sizeof(note), "%s", e.msg);
		goto write;
	}
	/* the order of the phases is part of a scenario: steps fire on accesses */
	struct run_ctx c = {.m = m, .x = m->expect, .root = root, .log = mounted && m->expect->n_access ? log : NULL,
	                    .timeout = timeout};
	run_client(&c, check_resolver_client, &d);
	check_doctor(m->expect, root, &d);
	run_client(&c, check_set_phase, &d);
	if (d.n) {
		st = ST_FAIL;
		snprintf(note, sizeof(note), "%u expectation%s not met", d.n, d.n == 1 ? "" : "s");
	}
write:
	vk_root_close(root);
	if (mounted && fakesys_umount(tree, &e) < 0 && st == ST_OK) {
		st = ST_ERROR;
		snprintf(note, sizeof(note), "unmounting: %s", e.msg);
	}
	vtree_free(t);
	host_model_free(m);
	fclose(d.f);
	FILE *f = fopen(result, "we");
	int r = 0;
	if (!f || fprintf(f, "%d\n%s\n%s\n%s", st, modebuf, note, d.buf ? d.buf : "") < 0)
		r = -EIO;
	if (f && fclose(f) != 0)
		r = -EIO;
	free(d.buf);
	return r;
}

/* ---------------- the parent ---------------- */

static int rm_ent(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(p) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

static int chmod_ent(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(p, 0700);
	return 0;
}

/* rm -rf of a directory this runner made (a materialized tree has read-only directories). */
static void rm_rf(const char *dir)
{
	nftw(dir, chmod_ent, 16, FTW_PHYS | FTW_MOUNT);
	nftw(dir, rm_ent, 16, FTW_PHYS | FTW_DEPTH | FTW_MOUNT);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	if (m) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(m);
	}
	fclose(f);
	return buf;
}

static double since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static void finish(struct scen *s, int wstatus, unsigned timeout)
{
	char result[4300], mnt[4300];

	s->secs = since(&s->start);
	snprintf(result, sizeof(result), "%s/result", s->dir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", s->dir);
	/* a child that died may have left its mount: only a fakesys mount is touched */
	struct vk_error e = {0};
	(void)fakesys_umount(mnt, &e);
	char *text = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? read_all(result) : NULL;
	rm_rf(s->dir);
	if (!text) {
		s->status = ST_ERROR;
		s->mode = strdup("?");
		s->diff = strdup("");
		if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGALRM)
			s->note = xasprintf("timed out after %u s", timeout);
		else if (WIFSIGNALED(wstatus))
			s->note = xasprintf("the runner's child was killed by signal %d (%s)", WTERMSIG(wstatus),
			         strsignal(WTERMSIG(wstatus)));
		else
			s->note = xasprintf("the runner's child failed (status %d)",
			         WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
		return;
	}
	char *p = text, *nl;
	s->status = (int)strtol(p, &nl, 10);
	if (s->status < ST_OK || s->status > ST_SKIP)
		s->status = ST_ERROR;
	p = *nl ? nl + 1 : nl;
	nl = strchrnul(p, '\n');
	s->mode = strndup(p, (size_t)(nl - p));
	p = *nl ? nl + 1 : nl;
	nl = strchrnul(p, '\n');
	s->note = strndup(p, (size_t)(nl - p));
	s->diff = strdup(*nl ? nl + 1 : nl);
	free(text);
}

static void print_line(FILE *f, const struct scen *s)
{
	fprintf(f, "%-5s %s (%s, %.2f s)%s%s\n", st_word[s->status], s->name, s->mode ? s->mode : "?", s->secs,
	        s->note && *s->note ? ": " : "", s->note ? s->note : "");
	if (s->status == ST_FAIL && s->diff && *s->diff) {
		/* the diff, indented */
		for (const char *p = s->diff; *p;) {
			const char *nl = strchrnul(p, '\n');
			fprintf(f, "      %.*s\n", (int)(nl - p), p);
			p = *nl ? nl + 1 : nl;
		}
	}
}

static void xml_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fputc('?', f);
		else
			fputc(c, f);
	}
}

static int write_junit(const char *file, const struct scen *v, size_t n, double total)
{
	size_t cnt[4] = {0};
	FILE *f = fopen(file, "we");

	if (!f) {
		fprintf(stderr, "fakesys: %s: %s\n", file, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < n; i++)
		cnt[v[i].status]++;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"fakesys test\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
	           "time=\"%.3f\">\n", n, cnt[ST_FAIL], cnt[ST_ERROR], cnt[ST_SKIP], total);
	fprintf(f, "  <testsuite name=\"scenarios\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
	           "time=\"%.3f\">\n", n, cnt[ST_FAIL], cnt[ST_ERROR], cnt[ST_SKIP], total);
	for (size_t i = 0; i < n; i++) {
		const struct scen *s = &v[i];
		fputs("    <testcase classname=\"scenarios\" name=\"", f);
		xml_escape(f, s->name);
		fputs("\" file=\"", f);
		xml_escape(f, s->path);
		fprintf(f, "\" time=\"%.3f\">\n", s->secs);
		if (s->status == ST_FAIL || s->status == ST_ERROR) {
			fprintf(f, "      <%s message=\"", s->status == ST_FAIL ? "failure" : "error");
			xml_escape(f, s->note);
			fprintf(f, "\" type=\"%s\">", s->status == ST_FAIL ? "expectation" : "error");
			xml_escape(f, s->diff);
			fprintf(f, "</%s>\n", s->status == ST_FAIL ? "failure" : "error");
		} else if (s->status == ST_SKIP) {
			fputs("      <skipped message=\"", f);
			xml_escape(f, s->note);
			fputs("\"/>\n", f);
		}
		fputs("      <system-out>mode: ", f);
		xml_escape(f, s->mode);
		fputs("</system-out>\n    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (fclose(f) != 0) {
		fprintf(stderr, "fakesys: %s: %s\n", file, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* A YAML double-quoted scalar. */
static void yaml_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void write_tap(FILE *f, const struct scen *v, size_t n)
{
	fprintf(f, "TAP version 13\n1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const struct scen *s = &v[i];
		bool ok = s->status == ST_OK || s->status == ST_SKIP;
		fprintf(f, "%s %zu - %s", ok ? "ok" : "not ok", i + 1, s->name);
		if (s->status == ST_SKIP)
			fprintf(f, " # SKIP %s", s->note);
		fputc('\n', f);
		if (ok)
			continue;
		fputs("  ---\n  file: ", f);
		yaml_quote(f, s->path);
		fputs("\n  mode: ", f);
		yaml_quote(f, s->mode);
		fputs("\n  message: ", f);
		yaml_quote(f, s->note);
		fprintf(f, "\n  duration_ms: %.0f\n", s->secs * 1000);
		if (s->diff && *s->diff) {
			fputs("  diff: |\n", f);
			for (const char *p = s->diff; *p;) {
				const char *nl = strchrnul(p, '\n');
				fprintf(f, "    %.*s\n", (int)(nl - p), p);
				p = *nl ? nl + 1 : nl;
			}
		}
		fputs("  ...\n", f);
	}
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int add_scen(struct scen **v, size_t *n, const char *path)
{
	struct scen *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	struct scen *s = &nv[*n];
	memset(s, 0, sizeof(*s));
	s->path = strdup(path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	s->name = has_suffix(base, ".yaml") ? strndup(base, strlen(base) - 5) : strdup(base);
	if (!s->path || !s->name) {
		free(s->path);
		free(s->name);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

static int str_sort(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A scenario file, or every *.yaml of a directory (sorted, not recursive). */
static int collect(const char *arg, struct scen **v, size_t *n)
{
	struct stat st;

	if (stat(arg, &st) < 0) {
		fprintf(stderr, "fakesys: test: %s: %s\n", arg, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return add_scen(v, n, arg);
	_cleanup_closedir_ DIR *d = opendir(arg);
	if (!d) {
		fprintf(stderr, "fakesys: test: %s: %s\n", arg, strerror(errno));
		return -errno;
	}
	char **names = NULL;
	size_t k = 0;
	int r = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".yaml"))
			continue;
		char **nn = realloc(names, (k + 1) * sizeof(*names));
		if (!nn) {
			r = -ENOMEM;
			break;
		}
		names = nn;
		if (asprintf(&names[k], "%s%s%s", arg, has_suffix(arg, "/") ? "" : "/", de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		k++;
	}
	if (names)
		qsort(names, k, sizeof(*names), str_sort);
	for (size_t i = 0; i < k; i++) {
		if (r == 0)
			r = add_scen(v, n, names[i]);
		free(names[i]);
	}
	free(names);
	if (r == 0 && k == 0)
		fprintf(stderr, "fakesys: test: %s: no *.yaml scenarios in this directory\n", arg);
	return r;
}

/* @s is a decimal number in min..max, stored in *@out. */
static bool long_in(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int usage_err(const char *msg)
{
	fprintf(stderr, "fakesys: test: %s\nTry 'fakesys --help'.\n", msg);
	return 2;
}

int fakesys_cmd_test(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"junit", required_argument, NULL, 'J'},
		{"tap", no_argument, NULL, 'T'},
		{"fuse", no_argument, NULL, 'F'},
		{"plain", no_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 't'},
		{"skipped-exit", required_argument, NULL, 'S'},
		{0},
	};
	const char *junit = NULL;
	bool tap = false;
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned timeout = 120;
	int skipped_exit = 0;
	int mode = MODE_AUTO, c;
	long num;

	optind = 1;
	while ((c = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!long_in(optarg, 1, 1024, &jobs))
				return usage_err("-j expects a number 1..1024");
			break;
		case 'J':
			junit = optarg;
			break;
		case 'T':
			tap = true;
			break;
		case 'F':
			mode = MODE_FUSE;
			break;
		case 'P':
			mode = MODE_PLAIN;
			break;
		case 't':
			if (!long_in(optarg, 1, 86400, &num))
				return usage_err("--timeout expects seconds 1..86400");
			timeout = (unsigned)num;
			break;
		case 'S':
			if (!long_in(optarg, 0, 255, &num))
				return usage_err("--skipped-exit expects an exit status 0..255");
			skipped_exit = (int)num;
			break;
		default:
			return usage_err("unknown option");
		}
	}
	if (optind >= argc)
		return usage_err("expects SCENARIO or DIR arguments");
	if (jobs < 1)
		jobs = 1;

	struct scen *v = NULL;
	size_t n = 0;
	int rc = 0;
	for (int i = optind; i < argc; i++)
		if (collect(argv[i], &v, &n) < 0) {
			rc = 2;
			break;
		}
	if (rc == 0 && n == 0)
		rc = usage_err("no scenarios to run");
	char base[4000];
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/fakesys-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (rc == 0 && !mkdtemp(base)) {
		fprintf(stderr, "fakesys: test: cannot create a temporary directory %s: %s\n", base, strerror(errno));
		rc = 1;
	}
	/* searchable, not listable: a scenario's client may run as another user (expect: user:) */
	if (rc == 0)
		chmod(base, 0711);
	if (rc) {
		for (size_t i = 0; i < n; i++) {
			free(v[i].path);
			free(v[i].name);
		}
		free(v);
		return rc;
	}

	FILE *out = tap ? stderr : stdout;
	struct timespec t0;
	size_t next = 0, running = 0, done = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < n) {
		while (next < n && running < (size_t)jobs) {
			struct scen *s = &v[next];
			snprintf(s->dir, sizeof(s->dir), "%s/%zu", base, next);
			if (mkdir(s->dir, 0711) < 0) {
				s->status = ST_ERROR;
				s->note = xasprintf("mkdir %s: %s", s->dir, strerror(errno));
				s->mode = strdup("?");
				s->diff = strdup("");
				print_line(out, s);
				next++;
				done++;
				continue;
			}
			fflush(NULL);
			clock_gettime(CLOCK_MONOTONIC, &s->start);
			s->pid = fork();
			if (s->pid == 0) {
				char result[4300];
				alarm(timeout);
				snprintf(result, sizeof(result), "%s/result", s->dir);
				_exit(run_one(s->path, s->dir, mode, timeout, result) < 0 ? 1 : 0);
			}
			if (s->pid < 0) {
				s->status = ST_ERROR;
				s->note = xasprintf("fork: %s", strerror(errno));
				s->mode = strdup("?");
				s->diff = strdup("");
				rm_rf(s->dir);
				print_line(out, s);
				done++;
			} else {
				running++;
			}
			next++;
		}
		if (!running)
			continue;
		int ws;
		pid_t p = waitpid(-1, &ws, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = 0; i < next; i++)
			if (v[i].pid == p) {
				v[i].pid = 0;
				finish(&v[i], ws, timeout);
				print_line(out, &v[i]);
				running--;
				done++;
			}
	}
	rmdir(base);

	size_t cnt[4] = {0};
	for (size_t i = 0; i < n; i++)
		cnt[v[i].status]++;
	double total = since(&t0);
	fprintf(out, "%zu scenario%s: %zu passed, %zu failed, %zu errors, %zu skipped (%.2f s)\n", n, n == 1 ? "" : "s",
	        cnt[ST_OK], cnt[ST_FAIL], cnt[ST_ERROR], cnt[ST_SKIP], total);
	if (tap)
		write_tap(stdout, v, n);
	if (junit && write_junit(junit, v, n, total) < 0)
		rc = 1;
	if (cnt[ST_FAIL] || cnt[ST_ERROR])
		rc = 1;
	else if (rc == 0 && cnt[ST_SKIP] && !cnt[ST_OK])
		rc = skipped_exit; /* e.g. 77 for ctest's SKIP_RETURN_CODE: nothing ran */
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].name);
		free(v[i].mode);
		free(v[i].diff);
		free(v[i].note);
	}
	free(v);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
