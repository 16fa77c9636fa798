#!/bin/sh
# Run one test program: run-test.sh [--fuse] PROGRAM [ARGS...]
#
# As an ordinary user, the test runs as root of a user namespace of its own
# (unshare --map-root-user, plus the user's subordinate ids from /etc/subuid
# with --map-auto where newuidmap(1) can map them): the scenarios model
# root-owned 0600 device nodes and users such as qemu (uid 107), which a test
# must be able to be.  Nothing outside the namespace changes: the user gains no
# privilege on the real host (docs/architecture.md, "Running unprivileged").
#
# With --fuse the test needs FUSE: it exits 77 (ctest: skipped) with the reason
# when this machine cannot mount it, instead of passing silently.
fuse=0
if [ "${1:-}" = --fuse ]; then
	fuse=1
	shift
fi
if [ "$fuse" = 1 ]; then
	if [ ! -c /dev/fuse ]; then
		echo "SKIP: /dev/fuse is missing on this machine (load the fuse module or run in a VM/container with /dev/fuse)" >&2
		exit 77
	fi
	if ! [ -r /dev/fuse ] || ! [ -w /dev/fuse ]; then
		echo "SKIP: /dev/fuse is not readable and writable by uid $(id -u)" >&2
		exit 77
	fi
	if ! command -v fusermount3 >/dev/null 2>&1; then
		echo "SKIP: fusermount3 is not installed (apt-get install fuse3)" >&2
		exit 77
	fi
fi
if [ "$(id -u)" != 0 ] && [ -z "${VK_TEST_USERNS:-}" ]; then
	export VK_TEST_USERNS=1
	if unshare --user --map-auto --map-root-user --mount true 2>/dev/null; then
		exec unshare --user --map-auto --map-root-user --mount -- "$0" "$@"
	elif unshare --user --map-root-user --mount true 2>/dev/null; then
		export VK_TEST_USERNS=root-only # only the caller's own id is mapped (no newuidmap/subuid)
		exec unshare --user --map-root-user --mount -- "$0" "$@"
	fi
	echo "SKIP: not root, and no user namespace could be made (kernel.unprivileged_userns_clone, util-linux unshare)" >&2
	exit 77
fi
exec "$@"
