/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sigign_exec [-i SIG]... [-b SIG]... PROG [ARG...]: exec PROG with the
 * signals SIG (a number, or a name as in `kill -l`: CHLD, ALRM) ignored (-i)
 * or blocked (-b).  Both survive exec (execve(2): "the dispositions of ignored
 * signals are left unchanged"; the signal mask is preserved), which is how a
 * parent shell or CI agent hands them to `fakesys test`.  Written in C because
 * /bin/sh may be dash, whose `trap "" CHLD` does not reach an exec'd program
 * (bash's does).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int signum(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s && !*end && n > 0 && n < NSIG)
		return (int)n;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < NSIG; i++)
		if (sigabbrev_np(i) && !strcmp(sigabbrev_np(i), s))
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	sigset_t block;
	int c;

	sigemptyset(&block);
	while ((c = getopt(argc, argv, "+i:b:")) != -1) {
		int sig = c == 'i' || c == 'b' ? signum(optarg) : -1;
		if (sig < 0) {
			fprintf(stderr, "usage: sigign_exec [-i SIG]... [-b SIG]... PROG [ARG...]\n");
			return 125;
		}
		if (c == 'i' && signal(sig, SIG_IGN) == SIG_ERR) {
			perror("sigign_exec: signal");
			return 125;
		}
		if (c == 'b')
			sigaddset(&block, sig);
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: sigign_exec [-i SIG]... [-b SIG]... PROG [ARG...]\n");
		return 125;
	}
	sigprocmask(SIG_BLOCK, &block, NULL);
	execv(argv[optind], argv + optind);
	perror(argv[optind]);
	return 127;
}
