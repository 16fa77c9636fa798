/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys: serve a scenario (a fake Linux host) as a directory tree.  A thin
 * front end: parsing, rendering, materializing and mounting are the library's.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#ifndef VFIOKIT_VERSION
#define VFIOKIT_VERSION "0.1.0"
#endif

enum { EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fputs("Usage: fakesys COMMAND [OPTIONS] ARGS...\n"
	      "Serve a scenario (a fake Linux host: PCI devices, IOMMU groups, VFIO nodes)\n"
	      "as the /sys and /dev trees real tools read.\n"
	      "\n"
	      "Commands:\n"
	      "  materialize SCENARIO DIR     write the tree as a plain directory DIR\n"
	      "                               (DIR must not exist or be empty)\n"
	      "  mount [-f] [--pidfile FILE] [--serve-opens] SCENARIO MOUNTPOINT\n"
	      "                               mount the tree read-only with FUSE on an empty\n"
	      "                               directory; returns once the mount is ready\n"
	      "      -f, --foreground         serve in the foreground until unmounted or signalled\n"
	      "      --pidfile FILE           write the server's PID to FILE\n"
	      "      --serve-opens            send every open() to the server (slower; the\n"
	      "                               default lets the kernel open and cache files)\n"
	      "      -d, --debug              log every FUSE request (with -f)\n"
	      "  umount MOUNTPOINT            unmount a fakesys mount and wait for its server\n"
	      "  show SCENARIO                print the host described by SCENARIO\n"
	      "\n"
	      "  -h, --help                   show this help\n"
	      "  -V, --version                show the version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.  See fakesys(1).\n",
	      f);
}

static int fail(const struct vk_error *e)
{
	fprintf(stderr, "fakesys: %s\n", e->msg[0] ? e->msg : strerror(e->code ? e->code : EIO));
	return EXIT_FAILURE;
}

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("fakesys: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'fakesys --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Scenario file -> sealed tree; NULL with @e filled on failure. */
static struct vtree *load_tree(const char *scenario, struct vk_error *e)
{
	struct host_model *m = NULL;
	struct vtree *t = NULL;

	if (host_model_load(scenario, &m, e) < 0)
		return NULL;
	if (host_tree_build(m, &t, e) < 0)
		t = NULL;
	host_model_free(m);
	return t;
}

static int cmd_materialize(int argc, char **argv)
{
	struct vk_error e = {0};

	if (argc != 3)
		return usage_error("%s: expects SCENARIO DIR", "materialize");
	struct vtree *t = load_tree(argv[1], &e);
	if (!t)
		return fail(&e);
	int r = fakesys_materialize(t, argv[2], &e);
	vtree_free(t);
	return r < 0 ? fail(&e) : EXIT_SUCCESS;
}

static int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"pidfile", required_argument, NULL, 'p'},
		{"serve-opens", no_argument, NULL, 'o'},
		{"debug", no_argument, NULL, 'd'},
		{0},
	};
	struct fakesys_mount_opts o = {0};
	struct vk_error e = {0};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+fd", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.foreground = true;
			break;
		case 'p':
			o.pidfile = optarg;
			break;
		case 'o':
			o.serve_opens = true;
			break;
		case 'd':
			o.debug = true;
			break;
		default:
			return usage_error("%s: unknown option", "mount");
		}
	}
	if (argc - optind != 2)
		return usage_error("%s: expects SCENARIO MOUNTPOINT", "mount");
	struct vtree *t = load_tree(argv[optind], &e);
	if (!t)
		return fail(&e);
	int r = fakesys_mount(t, argv[optind + 1], &o, &e);
	vtree_free(t);
	return r < 0 ? fail(&e) : EXIT_SUCCESS;
}

static int cmd_umount(int argc, char **argv)
{
	struct vk_error e = {0};

	if (argc != 2)
		return usage_error("%s: expects MOUNTPOINT", "umount");
	return fakesys_umount(argv[1], &e) < 0 ? fail(&e) : EXIT_SUCCESS;
}

static int cmd_show(int argc, char **argv)
{
	struct host_model *m = NULL;
	struct vk_error e = {0};

	if (argc != 2)
		return usage_error("%s: expects SCENARIO", "show");
	if (host_model_load(argv[1], &m, &e) < 0)
		return fail(&e);
	host_model_show(m, stdout);
	host_model_free(m);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"materialize", cmd_materialize},
		{"mount", cmd_mount},
		{"umount", cmd_umount},
		{"show", cmd_show},
	};

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("fakesys (vfiokit) %s\n", VFIOKIT_VERSION);
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
