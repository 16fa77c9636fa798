/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns_emul_util.h"
#include "testutil.h"

/* Can this process get a seccomp listener? (in a child: the filter stays with it) */
static bool seccomp_listener_works(int *err)
{
	pid_t pid = fork();
	int ws;

	if (pid == 0) {
		struct sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
		struct sock_fprog prog = {.len = 1, .filter = code};
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		long fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		_exit(fd < 0 ? errno : 0);
	}
	if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws))
		return *err = EIO, false;
	*err = WEXITSTATUS(ws);
	return *err == 0;
}

int ns_emul_sh(const char *cmd, char *out, size_t outlen, char *err, size_t errlen)
{
	char fakesys[4096], resolve[4096], client[4096], scen[4096];

	setenv("FAKESYS", vk_bin("fakesys/fakesys", fakesys, sizeof(fakesys)), 1);
	setenv("RESOLVE", vk_bin("resolver/vfio-resolve", resolve, sizeof(resolve)), 1);
	setenv("CLIENT", vk_bin("tests/emul/emul_client", client, sizeof(client)), 1);
	snprintf(scen, sizeof(scen), "%s/scenarios", vk_source_dir());
	setenv("SCEN", scen, 1);
	/* -m 4: VFIO pins all guest RAM (and QEMU's ROMs) for DMA, charged to
	 * RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK in the initial user
	 * namespace (vfio_pin_pages_remote(), drivers/vfio/vfio_iommu_type1.c):
	 * as an ordinary user (a user namespace) the limit is the default 8 MiB
	 * (MLOCK_LIMIT since 5.16), which 4 MiB plus the ROMs fit */
	setenv("QEMU", "qemu-system-x86_64 -S -display none -nodefaults -machine q35,accel=tcg -m 4", 1);
	return vk_runv(out, outlen, err, errlen, "/bin/sh", "-c", cmd, NULL);
}

const char *ns_emul_unavailable(void)
{
	static char why[4200];
	char out[256], err[4096];
	int e;

	if (access("/dev/fuse", R_OK | W_OK) < 0)
		return "/dev/fuse is not usable here";
	if (!seccomp_listener_works(&e)) {
		snprintf(why, sizeof(why), "seccomp user notifications are refused here (%s)", strerror(e));
		return why;
	}
	int rc = ns_emul_sh("\"$FAKESYS\" run \"$SCEN/default.yaml\" -- true", out, sizeof(out), err, sizeof(err));
	if (rc != 0) {
		snprintf(why, sizeof(why), "fakesys run cannot work here (status %d): %s", rc, err);
		return why;
	}
	if (strstr(err, "emulation is off")) {
		snprintf(why, sizeof(why), "fakesys run turns the emulation off here: %s", err);
		return why;
	}
	return NULL;
}
