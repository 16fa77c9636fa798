/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VFIO emulation's mechanism: seccomp user notifications
 * (Documentation/userspace-api/seccomp_filter.rst, "Userspace Notification").
 *
 * The command child installs a filter that notifies on ioctl(2) calls of
 * type ';' (VFIO and iommufd: include/uapi/linux/vfio.h VFIO_TYPE,
 * iommufd.h IOMMUFD_TYPE) and on pread64/pwrite64 (QEMU's vfio_region_read/
 * write and its config space accesses, hw/vfio/common.c, hw/vfio/pci.c), and
 * allows everything else.  The listener comes to the caller over a socketpair
 * (SCM_RIGHTS); one supervisor thread answers each notification:
 *
 *  1. which file is the FD?  stat("/proc/<tid>/fd/<n>"): a file of the FUSE
 *     mount whose inode is a stand-in node under dev/, or a device FD this
 *     supervisor installed (a memfd), is ours; anything else is let through
 *     (SECCOMP_USER_NOTIF_FLAG_CONTINUE) - the fast path;
 *  2. which open file description?  kcmp(KCMP_FILE) against the duplicate
 *     (pidfd_getfd()) kept of every one seen: two opens of /dev/vfio/vfio are
 *     two containers.  A new one is "opened" in the emulated kernel now, with
 *     the open's checks (a second open of a group: EBUSY at its first ioctl);
 *  3. the call is answered from emul/ with the caller's memory read and
 *     written through process_vm_readv/writev, SECCOMP_IOCTL_NOTIF_ID_VALID
 *     checked after the FD was looked at (the tid cannot have been reused),
 *     and a new device FD installed with SECCOMP_IOCTL_NOTIF_ADDFD
 *     (SECCOMP_ADDFD_FLAG_SEND: installed and answered at once).
 *
 * Files are released in the emulated kernel when no process of the command's
 * mount namespace holds them any more; that is looked at (a /proc scan) only
 * where an answer depends on it (emul_env.gc).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>
#include <vfiokit/root.h>

#include "emul.h"
#include "seccomp_notify.h"

#if defined(__x86_64__)
#define VK_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define VK_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* Bytes one pread/pwrite moves at most (a shorter count, as a driver may give). */
#define RW_MAX (1u << 20)

/* What the command child sends with the listener. */
struct child_msg {
	int32_t err;  /* 0, or the errno the filter was refused with */
	int32_t nfds; /* the listener (unless err), then the static tree's directory */
	int32_t tree; /* the static tree's directory was sent (the last FD) */
	uint64_t ns_dev, ns_ino;
};

/* A file of the command the supervisor knows: one open file description. */
struct sup_file {
	struct sup_file *next;
	dev_t dev;
	ino_t ino;
	int dup; /* our reference: pidfd_getfd(), or the memfd we installed */
	bool memfd;
	struct emul_file *ef; /* NULL when its open failed */
	int open_err;
	bool seen;     /* gc mark */
	char path[80]; /* the node, as the control channel's "ioctl" names it */
};

/* A stand-in node of the tree. */
struct standin {
	ino_t ino;
	char path[64];
};

struct vk_supervisor {
	int sock; /* our end of the socketpair */
	int listener;
	int stop; /* eventfd */
	pthread_t thread;
	bool running;
	dev_t fuse_dev, memfd_dev;
	uint64_t ns_dev, ns_ino;
	struct vk_root *root;
	struct emul *emul;
	struct sup_file *files;
	/* inodes of the FUSE mount: stand-ins, and not stand-ins (never reused) */
	struct standin *standin;
	size_t nstandin;
	ino_t *other;
	size_t nother, capother;
	struct seccomp_notif_sizes sizes;
	int ctl; /* the live mode's .fakesys/control, -1 without */
};

/* One notification being answered. */
struct call {
	struct vk_supervisor *s;
	const struct emul_env *env;
	pid_t tid;
	uint64_t id;
	bool responded;
};

bool vk_emulation_wanted(const struct vtree *t)
{
	struct vk_vt_node *drivers = vk_vtree_lookup((struct vtree *)t, "sys/bus/pci/drivers");

	for (uint32_t i = 0; drivers && drivers->type == VK_VT_DIR && i < drivers->u.dir.n; i++) {
		const struct vk_vt_node *drv = drivers->u.dir.kids[i];
		if (!vk_pci_driver_is_vfio_pci(drv->name) || drv->type != VK_VT_DIR)
			continue;
		for (uint32_t j = 0; j < drv->u.dir.n; j++) {
			struct vk_pci_addr a;
			if (drv->u.dir.kids[j]->type == VK_VT_LINK && vk_pci_addr_parse(drv->u.dir.kids[j]->name, &a, NULL) == 0)
				return true;
		}
	}
	return false;
}

/* ---- the command child's side ------------------------------------------------------------- */

static int send_msg(int sock, const struct child_msg *m, const int *fds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (m->nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)m->nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)m->nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)m->nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int vk_supervisor_child(int child_fd, const char *tree)
{
	struct child_msg m = {0};
	struct stat st;
	int listener = -1, fds[2];

#ifdef VK_AUDIT_ARCH
	/* the type of an ioctl number is bits 8..15 of its low 32 bits (_IOC_TYPE) */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, VK_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pread64, 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pwrite64, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff00),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)';' << 8, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;

	/* WAIT_KILLABLE_RECV (5.19): a notification the supervisor took is not
	 * interrupted by a signal, so no answer is applied twice */
	listener = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (listener < 0 && errno == EINVAL) {
		flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
		listener = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	}
	/* without CAP_SYS_ADMIN in its user namespace a filter needs
	 * no_new_privs, which also stops setuid programs from gaining privileges */
	if (listener < 0 && errno == EACCES && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		listener = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (listener < 0)
		m.err = errno;
#else
	m.err = ENOSYS;
#endif
	if (stat("/proc/self/ns/mnt", &st) == 0) {
		m.ns_dev = st.st_dev;
		m.ns_ino = st.st_ino;
	}
	if (listener >= 0)
		fds[m.nfds++] = listener;
	/* the static tree, which only this namespace has: the supervisor reads
	 * the host from it and knows the stand-ins by its inodes */
	int tfd = tree ? open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (tfd >= 0) {
		fds[m.nfds++] = tfd;
		m.tree = 1;
	}
	int r = send_msg(child_fd, &m, fds);
	if (listener >= 0)
		close(listener);
	if (tfd >= 0)
		close(tfd);
	close(child_fd);
	return m.err ? -m.err : r;
}

/* ---- files of the command ------------------------------------------------------------------ */

static void proc_path(char *buf, size_t len, pid_t pid, const char *what, int fd)
{
	if (fd >= 0)
		snprintf(buf, len, "/proc/%d/%s/%d", (int)pid, what, fd);
	else
		snprintf(buf, len, "/proc/%d/%s", (int)pid, what);
}

static bool ino_in(const ino_t *v, size_t n, ino_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == ino)
			return true;
	return false;
}

static const struct standin *standin_of(const struct vk_supervisor *s, ino_t ino)
{
	for (size_t i = 0; i < s->nstandin; i++)
		if (s->standin[i].ino == ino)
			return &s->standin[i];
	return NULL;
}

/* The inodes of dev/vfio/vfio, dev/iommu, dev/vfio/<group>, dev/vfio/devices/vfioN. */
static void standin_scan(struct vk_supervisor *s)
{
	static const char *const dirs[] = {"dev/vfio", "dev/vfio/devices", "dev"};
	size_t n = 0, cap = 16;
	struct standin *v = malloc(cap * sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int dfd = vk_root_openat(s->root, dirs[i], O_RDONLY | O_DIRECTORY);
		_cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;
		if (dfd >= 0 && !d)
			close(dfd);
		while (d && (de = readdir(d))) {
			struct stat st;
			if (de->d_name[0] == '.' || (i == 2 && strcmp(de->d_name, "iommu")))
				continue;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
				continue;
			if (n == cap) {
				struct standin *nv = realloc(v, (cap *= 2) * sizeof(*v));
				if (!nv)
					break;
				v = nv;
			}
			v[n].ino = st.st_ino;
			snprintf(v[n++].path, sizeof(v->path), "%s/%.40s", dirs[i], de->d_name);
		}
	}
	free(s->standin);
	s->standin = v;
	s->nstandin = n;
}

static void other_add(struct vk_supervisor *s, ino_t ino)
{
	if (s->nother == s->capother) {
		size_t cap = s->capother ? s->capother * 2 : 64;
		ino_t *v = realloc(s->other, cap * sizeof(*v));
		if (!v)
			return;
		s->other = v;
		s->capother = cap;
	}
	s->other[s->nother++] = ino;
}

/* Could the file with @st be an emulated one? (cheap: no FUSE request beyond the stat) */
static bool candidate(struct vk_supervisor *s, const struct stat *st)
{
	if (st->st_dev == s->memfd_dev) {
		for (struct sup_file *f = s->files; f; f = f->next)
			if (f->memfd && f->ino == st->st_ino)
				return true;
		return false;
	}
	if (st->st_dev != s->fuse_dev || !S_ISREG(st->st_mode))
		return false;
	if (standin_of(s, st->st_ino))
		return true;
	if (ino_in(s->other, s->nother, st->st_ino))
		return false;
	standin_scan(s); /* a node that appeared since (a bind in the live mode) */
	if (standin_of(s, st->st_ino))
		return true;
	other_add(s, st->st_ino);
	return false;
}

static int id_valid(struct call *c)
{
	return ioctl(c->s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->id) == 0 ? 0 : -ENOENT;
}

/* pidfd_getfd() of the caller's @fd: a thread's pidfd (6.9), else the thread group's. */
static int grab_fd(struct call *c, int fd)
{
	int pfd = pidfd_open(c->tid, PIDFD_THREAD);

	if (pfd < 0 && errno == EINVAL) {
		char path[64], buf[4096];
		pid_t tgid = 0;
		proc_path(path, sizeof(path), c->tid, "status", -1);
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		while (f && fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "Tgid: %d", &tgid) == 1)
				break;
		pfd = tgid > 0 ? pidfd_open(tgid, 0) : -1;
	}
	if (pfd < 0)
		return -errno;
	int r = pidfd_getfd(pfd, fd, 0);
	int x = errno;
	close(pfd);
	return r < 0 ? -x : r;
}

/*
 * The emulated file behind the caller's @fd: *out NULL for any other file,
 * and for a stand-in never seen before unless @open (then it is opened in the
 * emulated kernel now).  Returns 0, -EBADF (no such FD), or -ENOENT (the
 * notification went away).
 */
static int lookup(struct call *c, int fd, bool open, struct sup_file **out)
{
	struct vk_supervisor *s = c->s;
	char path[64];
	struct stat st;

	*out = NULL;
	proc_path(path, sizeof(path), c->tid, "fd", fd);
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -EBADF : 0;
	if (!candidate(s, &st))
		return 0;
	for (struct sup_file *f = s->files; f; f = f->next) {
		if (f->dev != st.st_dev || f->ino != st.st_ino)
			continue;
		if (f->memfd || syscall(__NR_kcmp, c->tid, getpid(), KCMP_FILE, fd, f->dup) == 0) {
			*out = f;
			return id_valid(c);
		}
	}
	if (!open)
		return 0;
	/* a new open file description: open it in the emulated kernel */
	int dup = grab_fd(c, fd);
	if (dup < 0)
		return dup == -EBADF ? -EBADF : 0;
	if (id_valid(c) < 0) {
		close(dup);
		return -ENOENT;
	}
	int fl = fcntl(dup, F_GETFL);
	if (fl < 0 || (fl & O_PATH)) {
		close(dup);
		return 0; /* O_PATH: the kernel answers EBADF itself */
	}
	char content[128];
	ssize_t n = pread(dup, content, sizeof(content) - 1, 0);
	content[n > 0 ? n : 0] = '\0';
	struct sup_file *f = calloc(1, sizeof(*f));
	if (!f) {
		close(dup);
		return 0;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->dup = dup;
	const struct standin *sn = standin_of(s, st.st_ino);
	snprintf(f->path, sizeof(f->path), "%s", sn ? sn->path : "");
	f->open_err = -emul_open_standin(s->emul, c->env, content, fl, &f->ef);
	f->next = s->files;
	s->files = f;
	*out = f;
	return 0;
}

static void sup_file_drop(struct vk_supervisor *s, struct sup_file *f)
{
	for (struct sup_file **p = &s->files; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	if (f->ef)
		emul_file_put(s->emul, f->ef);
	close(f->dup);
	free(f);
}

/* ---- the env of a call ------------------------------------------------------------------------ */

static int read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct call *c = ctx;
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	return process_vm_readv(c->tid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int write_mem(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	struct call *c = ctx;
	struct iovec local = {(void *)buf, len}, remote = {(void *)(uintptr_t)addr, len};

	return process_vm_writev(c->tid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int get_file(void *ctx, int fd, struct emul_file **out)
{
	struct call *c = ctx;
	struct sup_file *f;
	int r = lookup(c, fd, true, &f);

	*out = NULL;
	if (r < 0)
		return r == -ENOENT ? -EBADF : r;
	/* an FD whose open failed is, for the kernel, no such FD */
	if (f && !f->ef)
		return -EBADF;
	*out = f ? emul_file_get(f->ef) : NULL;
	return 0;
}

static int install_file(void *ctx, struct emul_file *ef, const char *name)
{
	struct call *c = ctx;
	struct vk_supervisor *s = c->s;
	struct stat st;
	int mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (mfd < 0)
		return -errno;
	/* nothing written into it by write(2) either: the kernel's device file has no content */
	fcntl(mfd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_WRITE | F_SEAL_SEAL);
	if (fstat(mfd, &st) < 0) {
		int x = errno;
		close(mfd);
		return -x;
	}
	struct seccomp_notif_addfd add = {
		.id = c->id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (uint32_t)mfd,
		.newfd_flags = O_CLOEXEC,
	};
	int fd = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	if (fd < 0) {
		int x = errno;
		close(mfd);
		return -x;
	}
	c->responded = true;
	struct sup_file *f = calloc(1, sizeof(*f));
	if (!f) {
		close(mfd);
		return fd; /* installed: the caller has a device FD we will not recognise */
	}
	s->memfd_dev = st.st_dev;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->dup = mfd;
	f->memfd = true;
	f->ef = emul_file_get(ef);
	/* a device FD has no node of its own: the device's, as the log names it */
	snprintf(f->path, sizeof(f->path), "sys/bus/pci/devices/%.40s", emul_file_name(ef));
	f->next = s->files;
	s->files = f;
	return fd;
}

static int get_eventfd(void *ctx, int fd)
{
	struct call *c = ctx;
	char path[64], target[64];
	int dup = grab_fd(c, fd);

	if (dup < 0)
		return dup == -EBADF ? -EBADF : -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dup);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	if (strcmp(target, "anon_inode:[eventfd]") != 0) {
		close(dup);
		return -EINVAL;
	}
	return dup;
}

/* capable(): a capability in the initial user namespace. */
static bool in_init_userns(pid_t tid)
{
	char path[64], buf[128];
	struct stat a, b;

	proc_path(path, sizeof(path), tid, "ns/user", -1);
	if (stat(path, &a) < 0 || stat("/proc/self/ns/user", &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return false;
	/* and ours is the initial one: the identity map of every id */
	_cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long x, y, len;
	return f && fgets(buf, sizeof(buf), f) && sscanf(buf, "%lu %lu %lu", &x, &y, &len) == 3 && x == 0 && y == 0 &&
	       len == 4294967295ul;
}

static int creds(void *ctx, struct emul_creds *out)
{
	struct call *c = ctx;
	char path[64], buf[512];
	unsigned long long capeff = 0;
	unsigned long vmlck = 0;

	memset(out, 0, sizeof(*out));
	out->memlock_limit = UINT64_MAX;
	proc_path(path, sizeof(path), c->tid, "status", -1);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	while (fgets(buf, sizeof(buf), f)) {
		unsigned u;
		int t;
		if (sscanf(buf, "Tgid: %d", &t) == 1)
			out->tgid = t;
		else if (sscanf(buf, "Uid: %u", &u) == 1)
			out->uid = u;
		else if (sscanf(buf, "CapEff: %llx", &capeff) == 1)
			;
		else if (sscanf(buf, "VmLck: %lu kB", &vmlck) == 1)
			out->locked_bytes = (uint64_t)vmlck * 1024;
	}
	if (in_init_userns(c->tid)) {
		out->cap_ipc_lock = capeff & (1ull << 14);
		out->cap_sys_rawio = capeff & (1ull << 17);
		out->cap_sys_resource = capeff & (1ull << 24);
	}
	proc_path(path, sizeof(path), out->tgid ? out->tgid : c->tid, "limits", -1);
	_cleanup_fclose_ FILE *l = fopen(path, "re");
	while (l && fgets(buf, sizeof(buf), l)) {
		char soft[32];
		if (sscanf(buf, "Max locked memory %31s", soft) == 1) {
			if (strcmp(soft, "unlimited") != 0)
				out->memlock_limit = strtoull(soft, NULL, 10);
			break;
		}
	}
	return 0;
}

/* Mark every known file some process of the command's namespace still has. */
static void mark_alive(struct vk_supervisor *s, pid_t pid)
{
	char path[64];

	proc_path(path, sizeof(path), pid, "fd", -1);
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		if (st.st_dev != s->fuse_dev && st.st_dev != s->memfd_dev)
			continue;
		int fd = atoi(de->d_name);
		for (struct sup_file *f = s->files; f; f = f->next)
			if (!f->seen && f->dev == st.st_dev && f->ino == st.st_ino &&
			    (f->memfd || syscall(__NR_kcmp, pid, getpid(), KCMP_FILE, fd, f->dup) == 0))
				f->seen = true;
	}
}

static int gc(void *ctx)
{
	struct call *c = ctx;
	struct vk_supervisor *s = c->s;
	int dropped = 0;

	for (struct sup_file *f = s->files; f; f = f->next)
		f->seen = false;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[64];
		struct stat st;
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		proc_path(path, sizeof(path), (pid_t)atoi(de->d_name), "ns/mnt", -1);
		if (stat(path, &st) == 0 && st.st_dev == s->ns_dev && st.st_ino == s->ns_ino)
			mark_alive(s, (pid_t)atoi(de->d_name));
	}
	for (struct sup_file *f = s->files, *n; f; f = n) {
		n = f->next;
		if (!f->seen) {
			sup_file_drop(s, f);
			dropped++;
		}
	}
	return dropped;
}

/* ---- notifications -------------------------------------------------------------------------- */

static void respond(struct vk_supervisor *s, uint64_t id, bool cont, long r)
{
	struct seccomp_notif_resp *resp = calloc(1, s->sizes.seccomp_notif_resp);

	if (!resp)
		return;
	resp->id = id;
	if (cont)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else if (r < 0)
		resp->error = (int32_t)r;
	else
		resp->val = r;
	/* ENOENT: the caller is gone, or was interrupted */
	ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
	free(resp);
}

/*
 * The live mode: report the ioctl @cmd on @f to the FUSE server, which logs it
 * and counts it against the faults of op "ioctl" (live/control.c ctl_ioctl()).
 * Returns the errno of a fault that fired, or 0 (also when the server cannot
 * be asked: the ioctl is then answered as without faults).
 */
static int report_ioctl(struct vk_supervisor *s, const struct sup_file *f, pid_t tid, unsigned int cmd)
{
	char line[256], hex[16], ans[128], proc[32];
	struct stat st;
	/* the kind from the node when its open failed (the ioctl is still reported) */
	enum emul_kind kind = f->ef                                        ? emul_file_kind(f->ef)
	                      : !strcmp(f->path, "dev/vfio/vfio")          ? EMUL_CONTAINER
	                      : !strcmp(f->path, "dev/iommu")              ? EMUL_IOMMUFD
	                      : !strncmp(f->path, "dev/vfio/devices/", 17) ? EMUL_CDEV
	                                                                   : EMUL_GROUP;
	const char *name = emul_ioctl_name(kind, cmd);

	if (s->ctl < 0 || !f->path[0])
		return 0;
	if (!name) {
		snprintf(hex, sizeof(hex), "0x%08x", cmd);
		name = hex;
	}
	/* the effective uid, as the owner of /proc/<tid> (what FUSE's log has is the fsuid) */
	snprintf(proc, sizeof(proc), "/proc/%d", (int)tid);
	int len = snprintf(line, sizeof(line), "ioctl %s %d %u %s\n", f->path, (int)tid,
	                   stat(proc, &st) == 0 ? (unsigned)st.st_uid : 0u, name);
	if (write(s->ctl, line, (size_t)len) != len)
		return 0;
	ssize_t k = pread(s->ctl, ans, sizeof(ans) - 1, 0);
	int e = 0;
	ans[k > 0 ? k : 0] = '\0';
	return sscanf(ans, "fault %d", &e) == 1 && e > 0 ? e : 0;
}

static void handle(struct vk_supervisor *s, const struct seccomp_notif *n)
{
	struct call c = {.s = s, .tid = (pid_t)n->pid, .id = n->id};
	const struct emul_env env = {
		.ctx = &c,
		.read_mem = read_mem,
		.write_mem = write_mem,
		.get_file = get_file,
		.install_file = install_file,
		.get_eventfd = get_eventfd,
		.creds = creds,
		.gc = gc,
	};
	struct sup_file *f;
	int fd = (int)n->data.args[0];
	long r;

	c.env = &env;
	/*
	 * Reads and writes reach the emulated kernel on device files with access
	 * granted only (a device FD, a bound cdev); on any other stand-in they
	 * read its line as without emulation, which is what the resolver's
	 * identity check (vk_vfio_node_identity_check()) reads.  Only an ioctl opens
	 * a stand-in in the emulated kernel.
	 */
	bool is_ioctl = n->data.nr == __NR_ioctl;
	if (lookup(&c, fd, is_ioctl, &f) < 0 || !f || (!is_ioctl && (!f->ef || !emul_file_rw_ready(f->ef)))) {
		respond(s, n->id, true, 0); /* not ours: the kernel answers */
		return;
	}
	int fault = is_ioctl ? report_ioctl(s, f, c.tid, (unsigned int)n->data.args[1]) : 0;
	if (fault || !f->ef) {
		respond(s, n->id, false, fault ? -fault : -f->open_err);
		return;
	}
	struct emul_file *ef = emul_file_get(f->ef);
	if (is_ioctl) {
		r = emul_ioctl(s->emul, &env, ef, (unsigned int)n->data.args[1], n->data.args[2]);
	} else {
		bool write = n->data.nr == __NR_pwrite64;
		uint64_t buf = n->data.args[1];
		size_t count = n->data.args[2] < RW_MAX ? (size_t)n->data.args[2] : RW_MAX;
		void *local = malloc(count ? count : 1);
		if (!local) {
			r = -ENOMEM;
		} else if (write && count && read_mem(&c, buf, local, count) < 0) {
			r = -EFAULT;
		} else {
			r = emul_rw(s->emul, &env, ef, local, count, n->data.args[3], write);
			if (r > 0 && !write && write_mem(&c, buf, local, (size_t)r) < 0)
				r = -EFAULT;
		}
		free(local);
	}
	emul_file_put(s->emul, ef);
	if (!c.responded)
		respond(s, n->id, false, r);
}

static int sup_attach_tree(struct vk_supervisor *s, int fd);

static int recv_child(struct vk_supervisor *s)
{
	struct child_msg m = {0};
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	int fds[2] = {-1, -1}, nfds = 0, tree = -1;
	ssize_t n;

	do
		n = recvmsg(s->sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(m))
		return -EPIPE; /* the command failed before its exec */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			nfds = nfds > 2 ? 2 : nfds;
			memcpy(fds, CMSG_DATA(cm), (size_t)nfds * sizeof(int));
		}
	if (m.tree && nfds > 0)
		tree = fds[--nfds];
	if (nfds > 0)
		s->listener = fds[0];
	int r = 0;
	if (!s->root) /* a static tree: the namespace sent its directory */
		r = tree >= 0 ? sup_attach_tree(s, tree) : -ENOENT;
	if (tree >= 0)
		close(tree);
	if (r < 0) {
		fprintf(stderr, "fakesys run: VFIO emulation is off: the tree is out of reach (%s)\n", strerror(-r));
		return r;
	}
	if (m.err || s->listener < 0) {
		fprintf(stderr,
		        "fakesys run: VFIO emulation is off: the kernel refused the seccomp filter (%s); "
		        "VFIO ioctls on the fake nodes fail with ENOTTY\n",
		        strerror(m.err ? m.err : EBADF));
		return -(m.err ? m.err : EBADF);
	}
	s->ns_dev = m.ns_dev;
	s->ns_ino = m.ns_ino;
	return 0;
}

static void *thread_main(void *arg)
{
	struct vk_supervisor *s = arg;
	struct pollfd pf[2] = {{.fd = s->sock, .events = POLLIN}, {.fd = s->stop, .events = POLLIN}};

	/* the listener first (or nothing, when the command never got to exec) */
	while (poll(pf, 2, -1) < 0 && errno == EINTR)
		;
	if (pf[1].revents || recv_child(s) < 0)
		return NULL;
	struct seccomp_notif *n = malloc(s->sizes.seccomp_notif);
	if (!n)
		return NULL;
	pf[0].fd = s->listener;
	for (;;) {
		pf[0].revents = pf[1].revents = 0;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		if (pf[0].revents & (POLLHUP | POLLERR)) {
			/* every task with the filter is gone: wait for the stop */
			pf[0].fd = -1;
			continue;
		}
		memset(n, 0, s->sizes.seccomp_notif);
		if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0)
			continue; /* ENOENT: the caller went away meanwhile */
		handle(s, n);
	}
	free(n);
	return NULL;
}

/* ---- the caller's side -------------------------------------------------------------------- */

/* The tree at @path: its root, its device number, the emulated kernel on it,
 * its stand-ins, the live mode's control file. */
static int sup_attach(struct vk_supervisor *s, const char *path, struct vk_error *err)
{
	struct emul_opts eo = {0};
	struct stat st;
	int r;

	if ((r = vk_root_open(path, 0, &s->root, err)) < 0)
		return r;
	if (fstat(vk_root_fd(s->root), &st) < 0)
		return vk_error_set(err, errno, "run: %s: %s", path, strerror(errno));
	s->fuse_dev = st.st_dev;
	eo.root = s->root;
	if ((r = emul_new(&eo, &s->emul, err)) < 0)
		return r;
	standin_scan(s);
	/* only the live mode has it (a read-only tree has no faults to count) */
	s->ctl = vk_root_openat(s->root, ".fakesys/control", O_RDWR);
	return 0;
}

/* The static tree's directory @fd, sent from the namespace (the supervisor's thread). */
static int sup_attach_tree(struct vk_supervisor *s, int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return sup_attach(s, path, NULL);
}

int vk_supervisor_prepare(const char *mnt, struct vk_supervisor **out, int *child_fd, struct vk_error *err)
{
	int sp[2], r;

	*out = NULL;
	*child_fd = -1;
	struct vk_supervisor *s = calloc(1, sizeof(*s));
	if (!s)
		return vk_error_set(err, ENOMEM, "run: out of memory");
	s->sock = s->listener = s->stop = s->ctl = -1;
	s->memfd_dev = (dev_t)-1;
	/* the tree through a directory FD: it stays readable after the host's
	 * mount of it is detached (the namespace holds the other copy) */
	if (mnt && (r = sup_attach(s, mnt, err)) < 0)
		goto fail;
	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) < 0) {
		s->sizes.seccomp_notif = sizeof(struct seccomp_notif);
		s->sizes.seccomp_notif_resp = sizeof(struct seccomp_notif_resp);
	}
	s->stop = eventfd(0, EFD_CLOEXEC);
	if (s->stop < 0) {
		r = vk_error_set(err, errno, "run: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		r = vk_error_set(err, errno, "run: socketpair: %s", strerror(errno));
		goto fail;
	}
	s->sock = sp[0];
	*child_fd = sp[1];
	*out = s;
	return 0;
fail:
	vk_supervisor_stop(s);
	return r;
}

int vk_supervisor_start(struct vk_supervisor *s, struct vk_error *err)
{
	sigset_t all, old;
	int r;

	/* the thread takes no signal: they are the caller's to forward */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->thread, NULL, thread_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return vk_error_set(err, r, "run: starting the VFIO supervisor: %s", strerror(r));
	s->running = true;
	return 0;
}

void vk_supervisor_stop(struct vk_supervisor *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (s->running) {
		if (write(s->stop, &one, sizeof(one)) < 0) {
			/* an eventfd write of 1 cannot fail short of overflow */
		}
		pthread_join(s->thread, NULL);
	}
	while (s->files)
		sup_file_drop(s, s->files);
	emul_free(s->emul);
	vk_root_close(s->root);
	if (s->listener >= 0)
		close(s->listener);
	if (s->sock >= 0)
		close(s->sock);
	if (s->stop >= 0)
		close(s->stop);
	if (s->ctl >= 0)
		close(s->ctl);
	free(s->standin);
	free(s->other);
	free(s);
}
