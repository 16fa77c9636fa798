/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scenario tests on live FUSE mounts (`fakesys mount`): the same cases and
 * answers as test_scenario.c. */
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

static int unserve_fuse(const char *dir);

#define SUITE scenario_fuse
#define SERVE(sc, dir, len) vk_mount(sc, dir, len)
#define UNSERVE(dir) unserve_fuse(dir)

#include "scenario_cases.h"

/* A failed assertion leaves the test's FDs into the mount open: detach it lazily
 * then, so that no mount outlives the test. */
static int unserve_fuse(const char *dir)
{
	int r = vk_umount(dir);
	if (r != 0) {
		char *argv[] = {(char *)"/usr/bin/fusermount3", (char *)"-u", (char *)"-z", (char *)dir, NULL};
		r = vk_run(argv, NULL, 0, NULL, 0);
		rmdir(dir);
	}
	return r;
}
