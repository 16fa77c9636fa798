/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live-FD building blocks without FUSE: fdinfo parsing, FD inventories of this
 * process and of a child, identifying a node from an FD (stand-ins in a tree
 * materialized from scenarios/default.yaml, and a real character device), and
 * the VV2xx rules in-process.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include "testutil.h"

Test(fdinfo, flags_line)
{
	unsigned f = 0;
	cr_assert_eq(vk_fdinfo_flags("pos:\t0\nflags:\t02100002\nmnt_id:\t29\nino:\t1057\n", &f), 0);
	cr_assert_eq(f, 02100002u);
	cr_assert(f & O_CLOEXEC);
	cr_assert_eq(f & O_ACCMODE, (unsigned)O_RDWR);
	cr_assert_eq(vk_fdinfo_flags("flags: 0100000", &f), 0, "no newline at the end, spaces");
	cr_assert_eq(f, 0100000u);
	cr_assert_eq(vk_fdinfo_flags("pos:\t0\n", &f), -EINVAL, "no flags line");
	cr_assert_eq(vk_fdinfo_flags("xflags:\t02\n", &f), -EINVAL, "only at a line start");
	cr_assert_eq(vk_fdinfo_flags("flags:\t0x12\n", &f), -EINVAL, "octal only");
	cr_assert_eq(vk_fdinfo_flags("flags:\t08\n", &f), -EINVAL);
	cr_assert_eq(vk_fdinfo_flags("flags:\t\n", &f), -EINVAL);
	cr_assert_eq(vk_fdinfo_flags("flags:\t777777777777\n", &f), -EINVAL, "overflow");
	cr_assert_eq(vk_fdinfo_flags("", &f), -EINVAL);
}

static const struct vk_fd_entry *find(const struct vk_fd_inventory *inv, int fd)
{
	for (size_t i = 0; i < inv->n; i++)
		if (inv->fds[i].fd == fd)
			return &inv->fds[i];
	return NULL;
}

/* A forked child that holds what this process has open (and the read end of
 * a pipe) until end_holding_child(); *release receives the pipe's write end. */
static pid_t holding_child(int *release)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		char x;
		close(p[1]);
		(void)!read(p[0], &x, 1);
		_exit(0);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

/* Let the child of holding_child() end, and reap it. */
static void end_holding_child(pid_t pid, int release)
{
	close(release);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

Test(inventory, self_and_child)
{
	int before = vk_fd_count();
	int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = open("/dev/null", O_WRONLY), c = open("/dev/null", O_RDWR);
	struct vk_fd_inventory inv;
	struct vk_error e = {0};

	cr_assert(a >= 0 && b >= 0 && c >= 0);
	cr_assert_eq(vk_fd_inventory_take(0, NULL, &inv, &e), 0, "%s", e.msg);
	cr_assert(find(&inv, a)->cloexec && (find(&inv, a)->flags & O_ACCMODE) == O_RDONLY);
	cr_assert(!find(&inv, b)->cloexec && (find(&inv, b)->flags & O_ACCMODE) == O_WRONLY);
	cr_assert((find(&inv, c)->flags & O_ACCMODE) == O_RDWR);
	for (size_t i = 1; i < inv.n; i++)
		cr_assert_lt(inv.fds[i - 1].fd, inv.fds[i].fd, "sorted");
	cr_assert_eq(inv.n, (size_t)before + 3, "the listing's own directory FD is left out");
	vk_fd_inventory_free(&inv);

	/* another process: the same through /proc/PID/fdinfo */
	int release;
	pid_t pid = holding_child(&release);
	cr_assert_eq(vk_fd_inventory_take(pid, NULL, &inv, &e), 0, "%s", e.msg);
	cr_assert(find(&inv, a)->cloexec && (find(&inv, a)->flags & O_ACCMODE) == O_RDONLY);
	cr_assert(!find(&inv, b)->cloexec && (find(&inv, b)->flags & O_ACCMODE) == O_WRONLY);
	cr_assert((find(&inv, c)->flags & O_ACCMODE) == O_RDWR && !(find(&inv, c)->flags & O_CLOEXEC));
	vk_fd_inventory_free(&inv);
	end_holding_child(pid, release);
	cr_assert_eq(vk_fd_inventory_take(pid, NULL, &inv, &e), -ESRCH, "reaped: %s", e.msg);
	cr_assert(strstr(e.msg, "no such process"), "%s", e.msg);
	close(a);
	close(b);
	close(c);
	cr_assert_eq(vk_fd_count(), before);
}

static char dir[1024];

static void setup(void)
{
	char sc[1024];
	cr_assert_eq(vk_materialize(vk_scenario_path("default.yaml", sc, sizeof(sc)), dir, sizeof(dir)), 0);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

static int open_in(const char *rel, int flags)
{
	char p[2048];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	int fd = open(p, flags);
	cr_assert_geq(fd, 0, "%s", p);
	return fd;
}

Test(identify, nodes_and_fds_on_a_materialized_tree, .init = setup, .fini = teardown)
{
	struct vk_root *root;
	struct vk_vfio_node *nodes;
	size_t n;
	struct vk_error e = {0};
	const struct vk_vfio_node *x;

	cr_assert_eq(vk_root_open(dir, 0, &root, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_vfio_nodes_read(root, &nodes, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 3 + 2 + 2, "3 cdevs, groups 9 and 12, iommu, vfio");

	int fd = open_in("dev/vfio/devices/vfio2", O_RDONLY | O_CLOEXEC);
	x = vk_vfio_node_of_fd(fd, nodes, n);
	cr_assert(x && x->kind == VK_NODE_VFIO_CDEV);
	cr_assert_str_eq(x->bdf, "0000:81:02.1");
	cr_assert_str_eq(x->name, "vfio2");
	cr_assert_eq(x->major, 511);
	cr_assert_eq(x->minor, 2);
	close(fd);

	fd = open_in("dev/iommu", O_RDONLY | O_CLOEXEC);
	x = vk_vfio_node_of_fd(fd, nodes, n);
	cr_assert(x && x->kind == VK_NODE_IOMMU && x->major == 10 && x->minor == 122);
	close(fd);
	fd = open_in("dev/vfio/vfio", O_RDONLY | O_CLOEXEC);
	x = vk_vfio_node_of_fd(fd, nodes, n);
	cr_assert(x && x->kind == VK_NODE_VFIO_CONTAINER);
	close(fd);
	fd = open_in("dev/vfio/12", O_RDONLY | O_CLOEXEC);
	x = vk_vfio_node_of_fd(fd, nodes, n);
	cr_assert(x && x->kind == VK_NODE_VFIO_GROUP && strcmp(x->name, "12") == 0);
	close(fd);
	/* a regular file that is not a stand-in, a directory, a pipe */
	fd = open_in("sys/bus/pci/devices/0000:01:00.0/vendor", O_RDONLY | O_CLOEXEC);
	cr_assert_null(vk_vfio_node_of_fd(fd, nodes, n));
	close(fd);
	fd = open_in("dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_null(vk_vfio_node_of_fd(fd, nodes, n));
	close(fd);
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_null(vk_vfio_node_of_fd(p[0], nodes, n));
	close(p[0]);
	close(p[1]);
	free(nodes);
	vk_root_close(root);
}

/* The real-host branch: a character device is identified by st_rdev alone
 * (an O_PATH FD is enough; the device is not opened). */
Test(identify, real_character_device)
{
	struct stat st;
	cr_assert_eq(stat("/dev/null", &st), 0);
	cr_assert(S_ISCHR(st.st_mode));
	struct vk_vfio_node nodes[2] = {
		{.kind = VK_NODE_VFIO_CDEV, .major = major(st.st_rdev), .minor = minor(st.st_rdev) + 1, .name = "vfio0"},
		{.kind = VK_NODE_VFIO_CDEV, .major = major(st.st_rdev), .minor = minor(st.st_rdev), .name = "vfio1", .bdf = "0000:06:00.0"},
	};
	int fd = open("/dev/null", O_PATH | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	const struct vk_vfio_node *x = vk_vfio_node_of_fd(fd, nodes, 2);
	cr_assert_eq(x, &nodes[1]);
	cr_assert_null(vk_vfio_node_of_fd(fd, nodes, 1));
	close(fd);
}

static struct vk_report check(struct vk_root *root, pid_t pid, const char *const *argv, size_t argc)
{
	struct vk_qc_cmdline *c;
	struct vk_report rep = {0};
	struct vk_error e = {0};
	cr_assert_eq(vk_qc_parse_argv(argc, (char *const *)argv, NULL, 0, &c, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_check_fds(c, pid, NULL, root, &rep, &e), 0, "%s", e.msg);
	vk_qc_cmdline_free(c);
	return rep;
}

static bool has(const struct vk_report *r, const char *id, const char *text)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->findings[i].rule->id, id) == 0 && (!text || strstr(r->findings[i].message, text)))
			return true;
	return false;
}

/* dup2 onto a chosen number, inheritable (what a management layer does). */
static void place(int fd, int at)
{
	cr_assert_eq(dup2(fd, at), at);
	close(fd);
}

Test(rules, in_process_self_and_child, .init = setup, .fini = teardown)
{
	struct vk_root *root;
	struct vk_error e = {0};
	int before = vk_fd_count();
	cr_assert_eq(vk_root_open(dir, 0, &root, &e), 0, "%s", e.msg);

	place(open_in("dev/iommu", O_RDWR), 120);
	place(open_in("dev/vfio/devices/vfio0", O_RDWR), 121);
	place(open_in("dev/vfio/devices/vfio1", O_RDWR), 122);
	place(open_in("dev/vfio/devices/vfio2", O_RDONLY), 123);
	const char *clean[] = {"-object", "iommufd,id=i0,fd=120", "-device", "vfio-pci,host=01:00.0,iommufd=i0,fd=121",
	                       "-device", "{\"driver\":\"vfio-pci\",\"iommufd\":\"i0\",\"fd\":\"122\"}", "-add-fd",
	                       "fd=123,set=4"};
	struct vk_report r = check(root, 0, clean, 8);
	cr_assert_eq(r.n, 0, "%s", r.n ? r.findings[0].message : "");
	vk_report_clear(&r);

	/* swapped devices, a closed FD, a leak (123 no longer named) */
	const char *bad[] = {"-object", "iommufd,id=i0,fd=121", "-device", "vfio-pci,host=01:00.1,iommufd=i0,fd=121",
	                     "-device", "vfio-pci,host=01:00.0,iommufd=i0,fd=122", "-device", "vfio-pci,iommufd=i0,fd=124"};
	r = check(root, 0, bad, 8);
	cr_assert(has(&r, "VV205", "FD 121 is not /dev/iommu: it is the VFIO cdev of 0000:01:00.0"));
	cr_assert(has(&r, "VV204", "FD 121 is the VFIO cdev of 0000:01:00.0"));
	cr_assert(has(&r, "VV204", "FD 122 is the VFIO cdev of 0000:01:00.1"));
	cr_assert(has(&r, "VV201", "FD 124 is not open"));
	cr_assert(has(&r, "VV206", "FD 120 is /dev/iommu"));
	cr_assert(has(&r, "VV206", "FD 123 is the VFIO cdev of 0000:81:02.1"));
	vk_report_clear(&r);

	/* no root: flags only */
	r = check(NULL, 0, bad, 8);
	cr_assert_eq(r.n, 1, "only VV201 without a host tree");
	vk_report_clear(&r);

	/* the same FDs in a child, one marked close-on-exec, one read-only named */
	cr_assert_eq(fcntl(122, F_SETFD, FD_CLOEXEC), 0);
	int release;
	pid_t pid = holding_child(&release);
	const char *child[] = {"-object", "iommufd,id=i0,fd=120", "-device", "vfio-pci,host=01:00.1,iommufd=i0,fd=122",
	                       "-device", "vfio-pci,host=81:02.1,iommufd=i0,fd=123"};
	r = check(root, pid, child, 6);
	cr_assert(has(&r, "VV202", "FD 122 is close-on-exec"));
	cr_assert(has(&r, "VV203", "FD 123 is open read-only"));
	cr_assert(has(&r, "VV206", "FD 121"), "vfio0 is inheritable and named nowhere");
	cr_assert_eq(r.n, 3);
	vk_report_clear(&r);
	end_holding_child(pid, release);

	for (int fd = 120; fd <= 123; fd++)
		close(fd);
	vk_root_close(root);
	cr_assert_eq(vk_fd_count(), before, "no FD left behind");
}
