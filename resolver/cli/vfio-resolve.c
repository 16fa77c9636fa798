/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-resolve: PCI address -> facts -> VFIO cdev -> open FDs -> QEMU argv.
 * A thin front end of the resolver library; see vfio-resolve(1).  Shaped as
 * systemd's tools are: help(), parse_argv() into arg_*, run() by mode.
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

#include "vk_cleanup.h"
#include <vfiokit/qemu_argv.h>
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include <cli_common.h>
#include <cli_json.h>

#define PROG "vfio-resolve"

enum mode { MODE_FACTS,
	    MODE_OPEN,
	    MODE_ARGV,
	    MODE_EXEC };

static const char *arg_root = "/";
static bool arg_json, arg_quiet, arg_legacy, arg_no_host, arg_no_openat2;
static enum mode arg_mode = MODE_FACTS;
static enum vk_qemu_syntax arg_syntax = VK_QEMU_SYNTAX_KEYVAL;
static char **arg_exec_argv; /* PROGRAM ARGS..., NULL-terminated */
static struct vk_pci_addr *arg_addrs;
static size_t arg_n;

static int help(void)
{
	printf("Usage: " PROG " [OPTIONS] BDF...\n"
	       "       " PROG " [OPTIONS] BDF... --exec PROGRAM [ARGS...]\n"
	       "\n"
	       "Resolve PCI devices to their VFIO cdev (/dev/vfio/devices/vfioN), open them\n"
	       "with /dev/iommu all-or-nothing, and build QEMU's arguments.\n"
	       "\n"
	       "  --root DIR         resolve every path inside DIR (default /)\n"
	       "  --json             machine-readable output, also on failure\n"
	       "                     (docs/schemas/vfio-resolve.schema.json)\n"
	       "  --open             open the set and report the FDs\n"
	       "  --argv             open the set and print the QEMU arguments, one per line\n"
	       "  --syntax=SYNTAX    keyval (default) or json, for --argv and --exec\n"
	       "  --legacy           group/container mode: open nothing, QEMU opens /dev/vfio/<group>\n"
	       "  --no-host          never write host= beside fd= (as libvirt does)\n"
	       "  --no-openat2       walk paths component by component instead of openat2()\n"
	       "  --exec PROGRAM ... open the set and exec PROGRAM with ARGS, then the QEMU\n"
	       "                     arguments; exactly the opened FDs are inherited\n"
	       "  -q, --quiet        print nothing on standard output (facts, FDs, arguments,\n"
	       "                     JSON): the exit status is the answer; errors still go to\n"
	       "                     standard error\n"
	       "  -h, --help         show this help\n"
	       "  -V, --version      show the version\n"
	       "\n"
	       "BDF is DDDD:BB:SS.F (domain up to 8 hex digits) or BB:SS.F.\n"
	       "Exit status: 0 success, 1 a device failed (or the root cannot be opened),\n"
	       "2 usage error; with --exec, 126/127 when PROGRAM cannot be run.\n"
	       "See vfio-resolve(1).\n");
	return 0;
}

static void print_hex(const char *label, int64_t v, int width)
{
	if (v < 0)
		printf("  %-16s (missing)\n", label);
	else
		printf("  %-16s 0x%0*llx\n", label, width, (long long)v);
}

static const char *state_name(enum vk_vfio_cdev_state s)
{
	static const char *const names[] = {
		[VK_VFIO_CDEV_OK] = "ok",
		[VK_VFIO_CDEV_DEVICE_ABSENT] = "device-absent",
		[VK_VFIO_CDEV_NOT_VFIO] = "not-vfio-pci",
		[VK_VFIO_CDEV_NO_VFIO_DEV_DIR] = "no-vfio-dev-dir",
		[VK_VFIO_CDEV_BAD_ENTRIES] = "bad-vfio-dev-entries",
		[VK_VFIO_CDEV_NO_DEV_ATTR] = "no-dev-attribute",
		[VK_VFIO_CDEV_BAD_DEV_ATTR] = "bad-dev-attribute",
		[VK_VFIO_CDEV_NODE_MISSING] = "node-missing",
		[VK_VFIO_CDEV_NODE_ERROR] = "node-error",
	};
	return (unsigned)s < VK_ARRAY_SIZE(names) ? names[s] : "unknown";
}

static void print_facts_text(const struct vk_pci_dev_facts *f, const char *diag)
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
		       !f->has_driver_override_attr ? "(missing)" : f->driver_override[0] ? f->driver_override
		                                                                          : "(none)");
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
				       f->node_is_chardev ? "char-device" : f->node_is_standin ? "stand-in-file"
				                                                               : "other",
				       "", (unsigned)f->node_uid, (unsigned)f->node_gid, (unsigned)f->node_mode);
		}
	}
	printf("  %-16s %s\n", "state", state_name(f->cdev_state));
	if (diag && *diag)
		printf("  %-16s %s\n", "problem", diag);
}

static json_t *facts_json(const struct vk_pci_dev_facts *f, const char *diag)
{
	json_t *o = json_object();
	char b[32];

#define HEX(k, v, w) \
	do { \
		if ((v) >= 0) { \
			snprintf(b, sizeof(b), "0x%0*llx", (w), (long long)(v)); \
			json_object_set_new(o, k, json_string(b)); \
		} else { \
			json_object_set_new(o, k, json_null()); \
		} \
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
		json_object_set_new(n, "type", json_string(f->node_is_chardev ? "char" : f->node_is_standin ? "standin"
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

/* The --json envelope for @mode, before its result. */
static json_t *envelope(const char *mode)
{
	json_t *j = vk_cli_json_envelope(PROG, VK_EXIT_OK, NULL);

	if (j)
		json_object_set_new(j, "mode", json_string(mode));
	return j;
}

/* Print the envelope with its final status (unless -q); returns @status. */
static int finish_json(json_t *j, int status)
{
	if (!j) {
		fprintf(stderr, PROG ": out of memory\n");
		return VK_EXIT_FAIL;
	}
	vk_cli_json_set_status(j, status);
	if (!arg_quiet)
		vk_cli_json_print(j, stdout);
	json_decref(j);
	return status;
}

/* Every device's facts (or why they could not be read); 1 when one is not usable. */
static int do_facts(const struct vk_root *root)
{
	json_t *j = arg_json ? envelope("facts") : NULL, *arr = arg_json ? json_array() : NULL;
	int rc = VK_EXIT_OK;

	for (size_t i = 0; i < arg_n; i++) {
		struct vk_pci_dev_facts f;
		struct vk_error e;
		char path[64], bdf[VK_PCI_ADDR_STRLEN];

		vk_error_clear(&e);
		if (vk_pci_dev_facts_read(root, &arg_addrs[i], &f, &e) < 0) {
			fprintf(stderr, PROG ": %s\n", e.msg);
			if (arr)
				json_array_append_new(arr, json_pack("{s:s, s:s}", "address",
				                                     vk_pci_addr_format(&arg_addrs[i], bdf), "error", e.msg));
			rc = VK_EXIT_FAIL;
			continue;
		}
		bool ok = vk_vfio_cdev_lookup(&f, path, sizeof(path), &e) == 0;
		if (arg_legacy) {
			/* legacy mode needs vfio-pci and a group, not the cdev */
			ok = f.present && f.iommu_group >= 0 &&
			     (vk_pci_driver_is_vfio_pci(f.driver) || f.has_vfio_dev_dir);
			if (ok)
				vk_error_clear(&e);
			else if (!e.msg[0])
				snprintf(e.msg, sizeof(e.msg), "%s: not usable in legacy mode (needs vfio-pci and an IOMMU group)",
				         f.bdf);
		}
		if (!ok)
			rc = VK_EXIT_FAIL;
		if (arr)
			json_array_append_new(arr, facts_json(&f, e.msg));
		else if (!arg_quiet)
			print_facts_text(&f, e.msg);
	}
	if (!arg_json)
		return rc;
	json_object_set_new(j, "devices", arr);
	return finish_json(j, rc);
}

static int open_set(const struct vk_root *root, struct vk_vfio_set *set, struct vk_error *e)
{
	vk_error_clear(e);
	if (vk_vfio_set_open(root, arg_addrs, arg_n, arg_legacy ? VK_VFIO_SET_LEGACY : 0, set, e) < 0) {
		fprintf(stderr, PROG ": %s\n", e->msg);
		return VK_EXIT_FAIL;
	}
	return VK_EXIT_OK;
}

static json_t *open_set_json(const struct vk_vfio_set *set)
{
	json_t *devs = json_array();

	for (size_t i = 0; set && i < set->n; i++) {
		json_t *d = json_object();
		json_object_set_new(d, "address", json_string(set->dev[i].bdf));
		json_object_set_new(d, "fd", set->dev[i].fd >= 0 ? json_integer(set->dev[i].fd) : json_null());
		json_object_set_new(d, "path", json_string(set->dev[i].node_path));
		json_array_append_new(devs, d);
	}
	return devs;
}

static void open_set_text(const struct vk_vfio_set *set)
{
	if (set->iommufd >= 0)
		printf("iommufd fd=%d /dev/iommu\n", set->iommufd);
	for (size_t i = 0; i < set->n; i++) {
		if (set->dev[i].fd >= 0)
			printf("%s fd=%d %s\n", set->dev[i].bdf, set->dev[i].fd, set->dev[i].node_path);
		else
			printf("%s legacy group %ld %s\n", set->dev[i].bdf, set->dev[i].iommu_group,
			       set->dev[i].node_path);
	}
}

/* --open: the opened set, or (--json) the envelope with the error and no FDs. */
static int do_open(const struct vk_root *root)
{
	struct vk_vfio_set set;
	struct vk_error e;
	int rc = open_set(root, &set, &e);
	bool opened = rc == VK_EXIT_OK;

	if (arg_json) {
		json_t *j = envelope("open");
		if (j && rc)
			vk_cli_json_set_error(j, e.msg);
		if (j && !rc && set.iommufd >= 0)
			json_object_set_new(j, "iommufd", json_pack("{s:i, s:s}", "fd", set.iommufd, "path", "/dev/iommu"));
		else if (j)
			json_object_set_new(j, "iommufd", json_null());
		if (j)
			json_object_set_new(j, "devices", open_set_json(rc ? NULL : &set));
		rc = finish_json(j, rc);
	} else if (!rc && !arg_quiet) {
		open_set_text(&set);
	}
	if (opened)
		vk_vfio_set_close(&set);
	return rc;
}

static int build_argv(const struct vk_vfio_set *set, struct vk_qemu_argv *a, struct vk_error *e)
{
	vk_error_clear(e);
	if (vk_qemu_argv_build(set, arg_syntax, arg_no_host ? VK_QEMU_ARGV_NO_HOST : 0, a, e) < 0) {
		fprintf(stderr, PROG ": %s\n", e->msg);
		return VK_EXIT_FAIL;
	}
	return VK_EXIT_OK;
}

/* --argv: QEMU's arguments, or (--json) the envelope with the error and none. */
static int do_argv(const struct vk_root *root)
{
	struct vk_vfio_set set;
	struct vk_qemu_argv a = {0};
	struct vk_error e;
	int rc = open_set(root, &set, &e);
	bool opened = rc == VK_EXIT_OK;

	if (opened)
		rc = build_argv(&set, &a, &e);
	if (arg_json) {
		json_t *j = envelope("argv"), *arr = json_array();
		if (j && rc)
			vk_cli_json_set_error(j, e.msg);
		for (size_t i = 0; !rc && i < a.argc; i++)
			json_array_append_new(arr, json_string(a.argv[i]));
		if (j)
			json_object_set_new(j, "argv", arr);
		else
			json_decref(arr);
		rc = finish_json(j, rc);
	} else if (!rc && !arg_quiet) {
		for (size_t i = 0; i < a.argc; i++)
			puts(a.argv[i]);
	}
	if (opened && a.argv)
		vk_qemu_argv_free(&a);
	if (opened)
		vk_vfio_set_close(&set);
	return rc;
}

/* Open the set, then exec with exactly its FDs inheritable.  Returns only on failure. */
static int do_exec(struct vk_root *root)
{
	struct vk_vfio_set set;
	struct vk_qemu_argv a;
	size_t nprog = 0;
	char **argv;
	struct vk_error e;
	int rc = open_set(root, &set, &e);

	if (rc)
		return rc;
	rc = build_argv(&set, &a, &e);
	if (rc) {
		vk_vfio_set_close(&set);
		return rc;
	}
	while (arg_exec_argv[nprog])
		nprog++;
	argv = calloc(nprog + a.argc + 1, sizeof(char *));
	if (!argv) {
		fprintf(stderr, PROG ": out of memory\n");
		rc = VK_EXIT_FAIL;
		goto out;
	}
	memcpy(argv, arg_exec_argv, nprog * sizeof(char *));
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
	fprintf(stderr, PROG ": cannot exec %s: %s (%s)\n", argv[0], strerror(errno),
	        strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	goto out_noroot;
setfd_fail:
	fprintf(stderr, PROG ": fcntl(F_SETFD): %s\n", strerror(errno));
	rc = VK_EXIT_FAIL;
out_noroot:
	free(argv);
	vk_qemu_argv_free(&a);
	vk_vfio_set_close(&set);
	exit(rc); /* the root is closed already */
out:
	vk_qemu_argv_free(&a);
	vk_vfio_set_close(&set);
	return rc;
}

/* Everything after --exec belongs to PROGRAM: cut it off before getopt.
 * Returns how many arguments are ours, or -EINVAL. */
static int split_exec(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--exec") == 0) {
			if (i + 1 >= argc) {
				vk_cli_usage_error(PROG, "%s needs a PROGRAM", "--exec");
				return -EINVAL;
			}
			arg_exec_argv = &argv[i + 1];
			return i;
		}
	}
	return argc;
}

/* The addresses after the options, parsed into arg_addrs; 1, or -EINVAL. */
static int parse_addresses(int nargs, char *argv[])
{
	if (optind >= nargs) {
		vk_cli_usage_error(PROG, "%s", "no PCI address given");
		return -EINVAL;
	}
	arg_n = (size_t)(nargs - optind);
	arg_addrs = calloc(arg_n, sizeof(*arg_addrs));
	if (!arg_addrs) {
		fprintf(stderr, PROG ": out of memory\n");
		return -ENOMEM;
	}
	for (size_t i = 0; i < arg_n; i++) {
		struct vk_error e;
		const char *a = argv[optind + (int)i];
		if (strcmp(a, "--") == 0 || a[0] == '-') {
			vk_cli_usage_error(PROG, "unexpected argument '%s' (options go before the addresses)", a);
			return -EINVAL;
		}
		vk_error_clear(&e);
		if (vk_pci_addr_parse(a, &arg_addrs[i], &e) < 0) {
			vk_cli_usage_error(PROG, "%s", e.msg);
			return -EINVAL;
		}
	}
	return 1;
}

static int parse_argv(int argc, char *argv[])
{
	enum { OPT_ROOT = 256,
	       OPT_JSON,
	       OPT_OPEN,
	       OPT_ARGV,
	       OPT_SYNTAX,
	       OPT_LEGACY,
	       OPT_NO_HOST,
	       OPT_NO_OPENAT2 };
	static const struct option longopts[] = {
		{"root", required_argument, NULL, OPT_ROOT},
		{"json", no_argument, NULL, OPT_JSON},
		{"open", no_argument, NULL, OPT_OPEN},
		{"argv", no_argument, NULL, OPT_ARGV},
		{"syntax", required_argument, NULL, OPT_SYNTAX},
		{"legacy", no_argument, NULL, OPT_LEGACY},
		{"no-host", no_argument, NULL, OPT_NO_HOST},
		{"no-openat2", no_argument, NULL, OPT_NO_OPENAT2},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	int nargs = split_exec(argc, argv), c, modes = 0;

	if (nargs < 0)
		return nargs;
	if (arg_exec_argv) {
		arg_mode = MODE_EXEC;
		modes++;
	}
	opterr = 0;
	while ((c = getopt_long(nargs, argv, "+qhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			arg_root = optarg;
			break;
		case OPT_JSON:
			arg_json = true;
			break;
		case OPT_OPEN:
		case OPT_ARGV:
			arg_mode = c == OPT_OPEN ? MODE_OPEN : MODE_ARGV;
			modes++;
			break;
		case OPT_SYNTAX:
			if (strcmp(optarg, "keyval") == 0)
				arg_syntax = VK_QEMU_SYNTAX_KEYVAL;
			else if (strcmp(optarg, "json") == 0)
				arg_syntax = VK_QEMU_SYNTAX_JSON;
			else
				return vk_cli_usage_error(PROG, "--syntax must be keyval or json, not '%s'", optarg), -EINVAL;
			break;
		case OPT_LEGACY:
			arg_legacy = true;
			break;
		case OPT_NO_HOST:
			arg_no_host = true;
			break;
		case OPT_NO_OPENAT2:
			arg_no_openat2 = true;
			break;
		case 'q':
			arg_quiet = true;
			break;
		case 'h':
			return help();
		case 'V':
			return vk_cli_version(PROG);
		default:
			vk_cli_usage_error(PROG, "unknown or incomplete option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (modes > 1) {
		vk_cli_usage_error(PROG, "%s", "--open, --argv and --exec exclude each other");
		return -EINVAL;
	}
	return parse_addresses(nargs, argv);
}

/* The root could not be opened: said on stderr, and as JSON with --json. */
static int root_failed(const struct vk_error *e)
{
	static const char *const names[] = {[MODE_FACTS] = "facts", [MODE_OPEN] = "open", [MODE_ARGV] = "argv"};

	fprintf(stderr, PROG ": %s\n", e->msg);
	if (!arg_json || arg_mode == MODE_EXEC)
		return VK_EXIT_FAIL;
	json_t *j = envelope(names[arg_mode]);
	if (j)
		vk_cli_json_set_error(j, e->msg);
	return finish_json(j, VK_EXIT_FAIL);
}

static int run(int argc, char *argv[])
{
	struct vk_root *root = NULL;
	struct vk_error e;
	int r = parse_argv(argc, argv);

	if (r == -ENOMEM)
		return VK_EXIT_FAIL;
	if (r <= 0)
		return vk_cli_parse_exit(r);
	vk_error_clear(&e);
	if (vk_root_open(arg_root, arg_no_openat2 ? VK_ROOT_NO_OPENAT2 : 0, &root, &e) < 0)
		return root_failed(&e);
	switch (arg_mode) {
	case MODE_EXEC:
		r = do_exec(root); /* returns only before it closed the root */
		break;
	case MODE_OPEN:
		r = do_open(root);
		break;
	case MODE_ARGV:
		r = do_argv(root);
		break;
	default:
		r = do_facts(root);
		break;
	}
	vk_root_close(root);
	return r;
}

int main(int argc, char *argv[])
{
	int r = run(argc, argv);

	free(arg_addrs);
	return r;
}
