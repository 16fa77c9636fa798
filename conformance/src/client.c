/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: the client side of a scenario (what the management layer or
 * QEMU does) run as the account of expect: user:, in a child process, so that
 * the kernel checks the tree's owners and modes as it would for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vk_cleanup.h"

#include "client.h"

/* Become the account of expect: user: (groups, gid, uid, in that order). */
static int drop_to_user(const struct vk_fakesys_expect *x, char *what, size_t len)
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

/* The client process: become the account, run @fn, hand the entries over on
 * @wfd as "COUNT\n" and the text. */
static __attribute__((noreturn)) void client_main(const struct run_ctx *c, void (*fn)(void *, struct diff *),
                                                  int wfd)
{
	struct diff cd = {0};
	char what[256];

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
	FILE *out = fdopen(wfd, "w");
	if (!out)
		_exit(1);
	fprintf(out, "%u\n%s", cd.n, cd.buf ? cd.buf : "");
	free(cd.buf);
	_exit(fclose(out) == 0 ? 0 : 1);
}

/* The client's entries from @rfd (closed) into @d, then its end: anything but
 * a whole hand-over and exit 0 is an entry, never a silent pass. */
static void client_collect(pid_t pid, int rfd, struct diff *d)
{
	_cleanup_fclose_ FILE *in = fdopen(rfd, "r");
	unsigned n = 0;
	int st = 0;

	if (!in)
		close(rfd);
	bool got = in && fscanf(in, "%u", &n) == 1 && fgetc(in) == '\n';
	for (int ch; got && (ch = fgetc(in)) != EOF;)
		fputc(ch, d->f);
	d->n += n;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			runner_item(d, "user", "the client process to finish", "its result is unknown: waitpid: %s",
			            strerror(errno));
			return;
		}
	}
	if (WIFSIGNALED(st))
		runner_item(d, "user", "the client process to finish", "killed by signal %d", WTERMSIG(st));
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		runner_item(d, "user", "the client process to finish", "exit status %d",
		            WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	else if (!got)
		runner_item(d, "user", "the client process to finish", "exit status 0 without handing over its result");
}

void runner_run_client(const struct run_ctx *c, void (*fn)(void *, struct diff *), struct diff *d)
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
		close(p[0]);
		client_main(c, fn, p[1]);
	}
	close(p[1]);
	client_collect(pid, p[0], d);
}
