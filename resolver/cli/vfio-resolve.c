/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-resolve: PCI address -> facts -> VFIO cdev -> open FDs -> QEMU argv.
 * A thin front end of the resolver library; see vfio-resolve(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/qemu_argv.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#ifndef VFIOKIT_VERSION
#define VFIOKIT_VERSION "0"
#endif

enum { EXIT_OK = 0, EXIT_DEVICE = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
	"Usage: vfio-resolve [OPTIONS] BDF...\n"
	"       vfio-resolve [OPTIONS] BDF... --exec PROGRAM [ARGS...]\n"
	"\n"
	"Resolve PCI devices to their VFIO cdev (/dev/vfio/devices/vfioN), open them\n"
	"with /dev/iommu all-or-nothing, and build QEMU's arguments.\n"
	"\n"
	"  --root DIR         resolve every path inside DIR (default /)\n"
	"  --json             machine-readable output\n"
	"  --open             open the set and report the FDs\n"
	"  --argv             open the set and print the QEMU arguments, one per line\n"
	"  --syntax=SYNTAX    keyval (default) or json, for --argv and --exec\n"
	"  --legacy           group/container mode: open nothing, QEMU opens /dev/vfio/<group>\n"
	"  --no-host          never write host= beside fd= (as libvirt does)\n"
	"  --no-openat2       walk paths component by component instead of openat2()\n"
	"  --exec PROGRAM ... open the set and exec PROGRAM with ARGS, then the QEMU\n"
	"                     arguments; exactly the opened FDs are inherited\n"
	"  -h, --help         this text\n"
	"  -V, --version      the version\n"
	"\n"
	"BDF is DDDD:BB:SS.F (domain up to 8 hex digits) or BB:SS.F.\n"
	"Exit status: 0 ok, 1 a device failed, 2 usage error; with --exec, 126/127 when\n"
	"PROGRAM cannot be run.\n";

struct opts {
	const char *root;
	bool json, open, argv, legacy, no_host, no_openat2;
	enum qemu_syntax syntax;
	char **exec_argv; /* PROGRAM ARGS..., NULL-terminated */
	struct pci_addr *addrs;
	size_t n;
};

static void print_hex(const char *label, int64_t v, int width)
{
	if (v < 0)
		printf("  %-16s (missing)\n", label);
	else
		printf("  %-16s 0x%0*llx\n", label, width, (long long)v);
}

static const char *state_name(enum vfio_cdev_state s)
{
	static const char *const names[] = {
		[VFIO_CDEV_OK] = "ok",
		[VFIO_CDEV_DEVICE_ABSENT] = "device-absent",
		[VFIO_CDEV_NOT_VFIO] = "not-vfio-pci",
		[VFIO_CDEV_NO_VFIO_DEV_DIR] = "no-vfio-dev-dir",
		[VFIO_CDEV_BAD_ENTRIES] = "bad-vfio-dev-entries",
		[VFIO_CDEV_NO_DEV_ATTR] = "no-dev-attribute",
		[VFIO_CDEV_BAD_DEV_ATTR] = "bad-dev-attribute",
		[VFIO_CDEV_NODE_MISSING] = "node-missing",
		[VFIO_CDEV_NODE_ERROR] = "node-error",
	};
	return (unsigned)s < VK_ARRAY_SIZE(names) ? names[s] : "unknown";
}

static void print_facts_text(const struct pci_dev_facts *f, const char *diag)
{
	printf("%s:\n", f->bdf);
	printf("  %-16s %s\n", "present", f->present ? "yes" : "no");
	if (f->present) {
		print_hex("vendor", f->vendor, 4);
		print_hex("device", f->device, 4);
		print_hex("subsystem_vendor", f->subsystem_vendor, 4);
		print_hex("subsystem_device", f->subsystem_device, 4);
		print_hex("class", f->class_code, 6);
		print_hex("revision", f->revision, 2);
		printf("  %-16s %s\n", "driver", f->driver[0] ? f->driver : "(none)");
		printf("  %-16s %s\n", "driver_override",
		       !f->has_driver_override_attr ? "(missing)" : f->driver_override[0] ? f->driver_override : "(none)");
		if (f->iommu_group >= 0)
			printf("  %-16s %ld\n", "iommu_group", f->iommu_group);
		else
			printf("  %-16s (none)\n", "iommu_group");
		if (f->cdev_name[0] && f->has_dev_attr)
			printf("  %-16s %s (%u:%u)\n", "vfio_cdev", f->cdev_name, f->cdev_major, f->cdev_minor);
		else
			printf("  %-16s %s\n", "vfio_cdev", f->cdev_name[0] ? f->cdev_name : "(none)");
		if (f->node_path[0]) {
			printf("  %-16s %s\n", "node", f->node_path);
			if (f->node_present)
				printf("  %-16s %s%s owner %u group %u mode %04o\n", "node_stat",
				       f->node_is_chardev ? "char-device" : f->node_is_standin ? "stand-in-file" : "other",
				       "", (unsigned)f->node_uid, (unsigned)f->node_gid, (unsigned)f->node_mode);
		}
	}
	printf("  %-16s %s\n", "state", state_name(f->cdev_state));
	if (diag && *diag)
		printf("  %-16s %s\n", "problem", diag);
}

static json_t *facts_json(const struct pci_dev_facts *f, const char *diag)
{
	json_t *o = json_object();
	char b[32];

#define HEX(k, v, w)                                                       \
	do {                                                               \
		if ((v) >= 0) {                                            \
			snprintf(b, sizeof(b), "0x%0*llx", (w), (long long)(v)); \
			json_object_set_new(o, k, json_string(b));         \
		} else {                                                   \
			json_object_set_new(o, k, json_null());            \
		}                                                          \
	} while (0)

	json_object_set_new(o, "address", json_string(f->bdf));
	json_object_set_new(o, "present", json_boolean(f->present));
	HEX("vendor", f->vendor, 4);
	HEX("device", f->device, 4);
	HEX("subsystem_vendor", f->subsystem_vendor, 4);
	HEX("subsystem_device", f->subsystem_device, 4);
	HEX("class", f->class_code, 6);
	HEX("revision", f->revision, 2);
#undef HEX
	json_object_set_new(o, "driver", f->driver[0] ? json_string(f->driver) : json_null());
	json_object_set_new(o, "driver_override", f->driver_override[0] ? json_string(f->driver_override) : json_null());
	json_object_set_new(o, "iommu_group", f->iommu_group >= 0 ? json_integer(f->iommu_group) : json_null());
	json_object_set_new(o, "vfio_cdev", f->cdev_name[0] ? json_string(f->cdev_name) : json_null());
	if (f->has_dev_attr) {
		snprintf(b, sizeof(b), "%u:%u", f->cdev_major, f->cdev_minor);
		json_object_set_new(o, "cdev_dev", json_string(b));
	} else {
		json_object_set_new(o, "cdev_dev", json_null());
	}
	json_object_set_new(o, "node", f->node_path[0] ? json_string(f->node_path) : json_null());
	if (f->node_present) {
		json_t *n = json_object();
		json_object_set_new(n, "type", json_string(f->node_is_chardev   ? "char"
		                                           : f->node_is_standin ? "standin"
		                                                                : "other"));
		json_object_set_new(n, "owner", json_integer(f->node_uid));
		json_object_set_new(n, "group", json_integer(f->node_gid));
		snprintf(b, sizeof(b), "%04o", (unsigned)f->node_mode);
		json_object_set_new(n, "mode", json_string(b));
		json_object_set_new(o, "node_stat", n);
	} else {
		json_object_set_new(o, "node_stat", json_null());
	}
	json_object_set_new(o, "state", json_string(state_name(f->cdev_state)));
	json_object_set_new(o, "problem", diag && *diag ? json_string(diag) : json_null());
	return o;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s) {
		puts(s);
		free(s);
	}
}

static int do_facts(const struct vk_root *root, const struct opts *o)
{
	json_t *arr = o->json ? json_array() : NULL;
	int rc = EXIT_OK;

	for (size_t i = 0; i < o->n; i++) {
		struct pci_dev_facts f;
		struct vk_error e;
		char path[64], bdf[PCI_ADDR_STRLEN];

		vk_error_clear(&e);
		if (pci_dev_facts_read(root, &o->addrs[i], &f, &e) < 0) {
			fprintf(stderr, "vfio-resolve: %s\n", e.msg);
			if (arr) {
				json_t *x = json_object();
				json_object_set_new(x, "address", json_string(pci_addr_format(&o->addrs[i], bdf)));
				json_object_set_new(x, "error", json_string(e.msg));
				json_array_append_new(arr, x);
			}
			rc = EXIT_DEVICE;
			continue;
		}
		bool ok = vfio_cdev_lookup(&f, path, sizeof(path), &e) == 0;
		if (o->legacy) {
			/* legacy mode needs vfio-pci and a group, not the cdev */
			ok = f.present && f.iommu_group >= 0 &&
			     (pci_driver_is_vfio_pci(f.driver) || f.has_vfio_dev_dir);
			if (ok)
				vk_error_clear(&e);
			else if (!e.msg[0])
				snprintf(e.msg, sizeof(e.msg), "%s: not usable in legacy mode (needs vfio-pci and an IOMMU group)",
				         f.bdf);
		}
		if (!ok)
			rc = EXIT_DEVICE;
		if (arr)
			json_array_append_new(arr, facts_json(&f, e.msg));
		else
			print_facts_text(&f, e.msg);
	}
	if (arr) {
		print_json(arr);
		json_decref(arr);
	}
	return rc;
}

static int open_set(const struct vk_root *root, const struct opts *o, struct vfio_set *set)
{
	struct vk_error e;

	vk_error_clear(&e);
	if (vfio_set_open(root, o->addrs, o->n, o->legacy ? VFIO_SET_LEGACY : 0, set, &e) < 0) {
		fprintf(stderr, "vfio-resolve: %s\n", e.msg);
		return EXIT_DEVICE;
	}
	return EXIT_OK;
}

static int do_open(const struct vk_root *root, const struct opts *o)
{
	struct vfio_set set;
	int rc = open_set(root, o, &set);

	if (rc)
		return rc;
	if (o->json) {
		json_t *j = json_object(), *devs = json_array();
		if (set.iommufd >= 0) {
			json_t *io = json_object();
			json_object_set_new(io, "fd", json_integer(set.iommufd));
			json_object_set_new(io, "path", json_string("/dev/iommu"));
			json_object_set_new(j, "iommufd", io);
		} else {
			json_object_set_new(j, "iommufd", json_null());
		}
		for (size_t i = 0; i < set.n; i++) {
			json_t *d = json_object();
			json_object_set_new(d, "address", json_string(set.dev[i].bdf));
			json_object_set_new(d, "fd", set.dev[i].fd >= 0 ? json_integer(set.dev[i].fd) : json_null());
			json_object_set_new(d, "path", json_string(set.dev[i].node_path));
			json_array_append_new(devs, d);
		}
		json_object_set_new(j, "devices", devs);
		print_json(j);
		json_decref(j);
	} else {
		if (set.iommufd >= 0)
			printf("iommufd fd=%d /dev/iommu\n", set.iommufd);
		for (size_t i = 0; i < set.n; i++) {
			if (set.dev[i].fd >= 0)
				printf("%s fd=%d %s\n", set.dev[i].bdf, set.dev[i].fd, set.dev[i].node_path);
			else
				printf("%s legacy group %ld %s\n", set.dev[i].bdf, set.dev[i].iommu_group,
				       set.dev[i].node_path);
		}
	}
	vfio_set_close(&set);
	return EXIT_OK;
}

static int build_argv(const struct opts *o, const struct vfio_set *set, struct qemu_argv *a)
{
	struct vk_error e;

	vk_error_clear(&e);
	if (qemu_argv_build(set, o->syntax, o->no_host ? QEMU_ARGV_NO_HOST : 0, a, &e) < 0) {
		fprintf(stderr, "vfio-resolve: %s\n", e.msg);
		return EXIT_DEVICE;
	}
	return EXIT_OK;
}

static int do_argv(const struct vk_root *root, const struct opts *o)
{
	struct vfio_set set;
	struct qemu_argv a;
	int rc = open_set(root, o, &set);

	if (rc)
		return rc;
	rc = build_argv(o, &set, &a);
	if (rc == EXIT_OK) {
		if (o->json) {
			json_t *arr = json_array();
			for (size_t i = 0; i < a.argc; i++)
				json_array_append_new(arr, json_string(a.argv[i]));
			print_json(arr);
			json_decref(arr);
		} else {
			for (size_t i = 0; i < a.argc; i++)
				puts(a.argv[i]);
		}
		qemu_argv_free(&a);
	}
	vfio_set_close(&set);
	return rc;
}

/* Open the set, then exec with exactly its FDs inheritable.  Returns only on failure. */
static int do_exec(struct vk_root *root, const struct opts *o)
{
	struct vfio_set set;
	struct qemu_argv a;
	size_t nprog = 0;
	char **argv;
	int rc = open_set(root, o, &set);

	if (rc)
		return rc;
	rc = build_argv(o, &set, &a);
	if (rc) {
		vfio_set_close(&set);
		return rc;
	}
	while (o->exec_argv[nprog])
		nprog++;
	argv = calloc(nprog + a.argc + 1, sizeof(char *));
	if (!argv) {
		fprintf(stderr, "vfio-resolve: out of memory\n");
		rc = EXIT_DEVICE;
		goto out;
	}
	memcpy(argv, o->exec_argv, nprog * sizeof(char *));
	memcpy(argv + nprog, a.argv, a.argc * sizeof(char *));
	vk_root_close(root);
	fflush(NULL);

	/* Everything above stderr becomes close-on-exec, whoever opened it (the
	 * library, libc, an FD inherited from our parent) ... */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		/* kernels before 5.11: mark them one by one */
		for (int fd = 3; fd < 65536; fd++) {
			int fl = fcntl(fd, F_GETFD);
			if (fl >= 0)
				fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
		}
	}
	/* ... then exactly the opened set is made inheritable. */
	if (set.iommufd >= 0 && fcntl(set.iommufd, F_SETFD, 0) < 0)
		goto setfd_fail;
	for (size_t i = 0; i < set.n; i++)
		if (set.dev[i].fd >= 0 && fcntl(set.dev[i].fd, F_SETFD, 0) < 0)
			goto setfd_fail;

	execvp(argv[0], argv);
	rc = errno == ENOENT ? 127 : 126;
	fprintf(stderr, "vfio-resolve: cannot exec %s: %s (%s)\n", argv[0], strerror(errno),
	        strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	goto out_noroot;
setfd_fail:
	fprintf(stderr, "vfio-resolve: fcntl(F_SETFD): %s\n", strerror(errno));
	rc = EXIT_DEVICE;
out_noroot:
	free(argv);
	qemu_argv_free(&a);
	vfio_set_close(&set);
	exit(rc); /* the root is closed already */
out:
	qemu_argv_free(&a);
	vfio_set_close(&set);
	return rc;
}

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vfio-resolve: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vfio-resolve --help'.\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 256, OPT_JSON, OPT_OPEN, OPT_ARGV, OPT_SYNTAX, OPT_LEGACY, OPT_NO_HOST, OPT_NO_OPENAT2 };
	static const struct option longopts[] = {
		{"root", required_argument, NULL, OPT_ROOT},
		{"json", no_argument, NULL, OPT_JSON},
		{"open", no_argument, NULL, OPT_OPEN},
		{"argv", no_argument, NULL, OPT_ARGV},
		{"syntax", required_argument, NULL, OPT_SYNTAX},
		{"legacy", no_argument, NULL, OPT_LEGACY},
		{"no-host", no_argument, NULL, OPT_NO_HOST},
		{"no-openat2", no_argument, NULL, OPT_NO_OPENAT2},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct opts o = {.root = "/", .syntax = QEMU_SYNTAX_KEYVAL};
	struct vk_root *root = NULL;
	int nargs = argc, c, rc;

	/* Everything after --exec belongs to PROGRAM: cut it off before getopt. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--exec") == 0) {
			if (i + 1 >= argc)
				return usage_error("%s needs a PROGRAM", "--exec");
			o.exec_argv = &argv[i + 1];
			nargs = i;
			break;
		}
	}
	opterr = 0;
	while ((c = getopt_long(nargs, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			o.root = optarg;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_OPEN:
			o.open = true;
			break;
		case OPT_ARGV:
			o.argv = true;
			break;
		case OPT_SYNTAX:
			if (strcmp(optarg, "keyval") == 0)
				o.syntax = QEMU_SYNTAX_KEYVAL;
			else if (strcmp(optarg, "json") == 0)
				o.syntax = QEMU_SYNTAX_JSON;
			else
				return usage_error("--syntax must be keyval or json, not '%s'", optarg);
			break;
		case OPT_LEGACY:
			o.legacy = true;
			break;
		case OPT_NO_HOST:
			o.no_host = true;
			break;
		case OPT_NO_OPENAT2:
			o.no_openat2 = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf("vfio-resolve (vfiokit) %s\n", VFIOKIT_VERSION);
			return EXIT_OK;
		default:
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= nargs)
		return usage_error("%s", "no PCI address given");
	if (!!o.open + !!o.argv + !!o.exec_argv > 1)
		return usage_error("%s", "--open, --argv and --exec exclude each other");
	o.n = (size_t)(nargs - optind);
	o.addrs = calloc(o.n, sizeof(*o.addrs));
	if (!o.addrs)
		return EXIT_DEVICE;
	for (size_t i = 0; i < o.n; i++) {
		struct vk_error e;
		const char *a = argv[optind + (int)i];
		if (strcmp(a, "--") == 0 || a[0] == '-') {
			free(o.addrs);
			return usage_error("unexpected argument '%s' (options go before the addresses)", a);
		}
		vk_error_clear(&e);
		if (pci_addr_parse(a, &o.addrs[i], &e) < 0) {
			free(o.addrs);
			return usage_error("%s", e.msg);
		}
	}

	{
		struct vk_error e;
		vk_error_clear(&e);
		if (vk_root_open(o.root, o.no_openat2 ? VK_ROOT_NO_OPENAT2 : 0, &root, &e) < 0) {
			fprintf(stderr, "vfio-resolve: %s\n", e.msg);
			free(o.addrs);
			return EXIT_DEVICE;
		}
	}
	if (o.exec_argv)
		rc = do_exec(root, &o); /* returns only before it closed the root */
	else if (o.open)
		rc = do_open(root, &o);
	else if (o.argv)
		rc = do_argv(root, &o);
	else
		rc = do_facts(root, &o);
	vk_root_close(root);
	free(o.addrs);
	return rc;
}
