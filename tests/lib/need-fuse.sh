#!/bin/sh
# Run a test that needs FUSE; exit 77 (ctest: skipped) with the reason when this
# machine cannot mount FUSE, instead of letting the test pass silently.
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
exec "$@"
