/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fault's delay, and everything that ends one early (issue #22.3).
 *
 * A delayed request waits on a condition variable with a deadline, not in
 * nanosleep(), so that it can be woken:
 *
 * - by the kernel: a client that gets a signal while its request is with the
 *   server has the kernel queue a FUSE_INTERRUPT (fs/fuse/dev.c
 *   request_wait_answer(); Documentation/filesystems/fuse.rst, "Interrupting
 *   filesystem operations"), which libfuse hands to the callback registered
 *   with fuse_req_interrupt_func().  The request is then answered EINTR at
 *   once.  Without that a SIGKILLed client waits for the answer in
 *   uninterruptible sleep (after a fatal signal the kernel waits for a request
 *   userspace already has with wait_event(), not killably);
 * - by "fault clear" (the faults that set the delays went away);
 * - for good, by an unmount to come (SIGUSR1, which `fakesys umount` sends
 *   the server it verified), SIGTERM/SIGINT/SIGHUP (which also end the
 *   session), and the connection going away (POLLERR on /dev/fuse): from then
 *   on nothing is delayed, so the mount can drain and go.
 *
 * A request woken early other than by an interrupt is answered as it would
 * have been when the delay ran out.  Signal handlers may not take a mutex, so
 * they only write a byte to a pipe; a thread of ours turns it into
 * srv_delays_stop().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/server.h"

int srv_delays_init(struct fs *fs)
{
	pthread_condattr_t a;

	if (pthread_condattr_init(&a) != 0)
		return -ENOMEM;
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	int r = pthread_cond_init(&fs->delay_cond, &a);
	pthread_condattr_destroy(&a);
	if (r != 0)
		return -r;
	pthread_mutex_init(&fs->delay_mu, NULL);
	fs->sig_pipe[0] = fs->sig_pipe[1] = -1;
	return 0;
}

void srv_delays_destroy(struct fs *fs)
{
	pthread_mutex_destroy(&fs->delay_mu);
	pthread_cond_destroy(&fs->delay_cond);
}

/* One delayed request, woken by its interrupt. */
struct waiter {
	struct fs *fs;
	bool interrupted;
};

/* Called by libfuse with the request's own lock held (fuse_lowlevel.c
 * find_interrupted()), or from fuse_req_interrupt_func() itself when the
 * interrupt came first. */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct waiter *w = data;

	(void)req;
	pthread_mutex_lock(&w->fs->delay_mu);
	w->interrupted = true;
	pthread_cond_broadcast(&w->fs->delay_cond);
	pthread_mutex_unlock(&w->fs->delay_mu);
}

int srv_delay(struct fs *fs, fuse_req_t req, uint32_t ms)
{
	struct waiter w = {.fs = fs};
	struct timespec end;
	int r = 0;

	if (ms > VK_FAKESYS_DELAY_MAX_MS) /* the parsers refuse more; a last guard */
		ms = VK_FAKESYS_DELAY_MAX_MS;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	/* not under delay_mu: the callback takes it */
	if (req)
		fuse_req_interrupt_func(req, on_interrupt, &w);
	pthread_mutex_lock(&fs->delay_mu);
	uint64_t gen = fs->delay_gen;
	while (!w.interrupted && !fs->delays_off && fs->delay_gen == gen && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&fs->delay_cond, &fs->delay_mu, &end);
	bool interrupted = w.interrupted;
	pthread_mutex_unlock(&fs->delay_mu);
	/* after this no callback can run: @w is about to go away */
	if (req)
		fuse_req_interrupt_func(req, NULL, NULL);
	return interrupted ? -EINTR : 0;
}

void srv_delays_wake(struct fs *fs)
{
	pthread_mutex_lock(&fs->delay_mu);
	fs->delay_gen++;
	pthread_cond_broadcast(&fs->delay_cond);
	pthread_mutex_unlock(&fs->delay_mu);
}

void srv_delays_stop(struct fs *fs)
{
	pthread_mutex_lock(&fs->delay_mu);
	fs->delays_off = true;
	pthread_cond_broadcast(&fs->delay_cond);
	pthread_mutex_unlock(&fs->delay_mu);
}

/* ---- signals --------------------------------------------------------------- */

/* One server per process owns the handlers (as with libfuse's own). */
static struct fuse_session *sig_se;
static int sig_wfd = -1;
static const int sig_nums[] = {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGPIPE};
static struct sigaction sig_old[sizeof(sig_nums) / sizeof(sig_nums[0])];

/* SIGHUP, SIGINT, SIGTERM end the session, as libfuse's exit_handler() does,
 * and all four end the delays through the pipe: async-signal-safe calls only. */
static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig != SIGUSR1 && sig_se)
		fuse_session_exit(sig_se);
	if (write(sig_wfd, &c, 1) < 0) {
		/* the pipe is full: a byte is already waiting to be seen */
	}
	errno = saved;
}

int srv_signals_install(struct fs *fs, struct fuse_session *se)
{
	if (sig_se)
		return 0; /* another server of this process has them */
	if (pipe2(fs->sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sig_se = se;
	sig_wfd = fs->sig_pipe[1];
	for (size_t i = 0; i < sizeof(sig_nums) / sizeof(sig_nums[0]); i++) {
		/* no SA_RESTART (as libfuse's own handlers): a worker's read of
		 * /dev/fuse returns EINTR and the loop sees the session's end */
		struct sigaction sa = {.sa_handler = sig_nums[i] == SIGPIPE ? SIG_IGN : on_signal};
		sigemptyset(&sa.sa_mask);
		sigaction(sig_nums[i], &sa, &sig_old[i]);
	}
	fs->sig_installed = true;
	return 0;
}

/* The thread that turns a signal's byte, or the connection's end, into
 * srv_delays_stop().  A byte 0 asks it to end (srv_signals_remove()). */
static void *sig_main(void *arg)
{
	struct fs *fs = arg;
	sigset_t all;
	bool conn = true;

	/* no signal for this thread: one that landed here would not interrupt
	 * the loop's wait in the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct pollfd p[2] = {{.fd = fs->sig_pipe[0], .events = POLLIN},
		                      {.fd = conn && fs->se ? fuse_session_fd(fs->se) : -1, .events = 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			/* aborted or unmounted (fs/fuse/dev.c fuse_dev_poll()) */
			conn = false;
			srv_delays_stop(fs);
		}
		if (p[0].revents & POLLIN) {
			char c[16];
			ssize_t n = read(fs->sig_pipe[0], c, sizeof(c));
			bool quit = false;
			for (ssize_t i = 0; i < n; i++)
				quit |= c[i] == 0;
			if (n > 0)
				srv_delays_stop(fs);
			if (quit)
				break;
		}
		if (atomic_load(&fs->sig_quit))
			break;
	}
	return NULL;
}

int srv_signals_start(struct fs *fs)
{
	if (!fs->sig_installed)
		return 0;
	int r = pthread_create(&fs->sig_thread, NULL, sig_main, fs);
	if (r != 0)
		return -r;
	fs->sig_thread_on = true;
	return 0;
}

void srv_signals_remove(struct fs *fs)
{
	if (!fs->sig_installed)
		return;
	for (size_t i = 0; i < sizeof(sig_nums) / sizeof(sig_nums[0]); i++)
		sigaction(sig_nums[i], &sig_old[i], NULL);
	if (fs->sig_thread_on) {
		char c = 0;
		/* the flag for a pipe too full to take the byte (it is readable then) */
		atomic_store(&fs->sig_quit, true);
		while (write(fs->sig_pipe[1], &c, 1) < 0 && errno == EINTR)
			;
		pthread_join(fs->sig_thread, NULL);
		fs->sig_thread_on = false;
	}
	sig_se = NULL;
	sig_wfd = -1;
	close(fs->sig_pipe[0]);
	close(fs->sig_pipe[1]);
	fs->sig_pipe[0] = fs->sig_pipe[1] = -1;
	fs->sig_installed = false;
}
