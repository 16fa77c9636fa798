#!/bin/sh
# The README's "Using it" lines, run as written: check-readme.sh BUILD_DIR SOURCE_DIR
#
# README.md promises that after `./setup.sh demo` (which installs under
# /usr/local) each line of its "Using it" block works verbatim in a new shell
# from the top of the tree.  This installs the build into a prefix of its own,
# puts it first on PATH, and runs every line with sh -c from a directory that
# holds a copy of scenarios/; a line fails the test when it exits non-zero.
#
# The lines use /tmp/vk-tree, /tmp/vk-mnt and ./myhost.yaml: they run in a
# private mount namespace (unshare -m here; run-test.sh's user namespace for an
# ordinary user) with a fresh tmpfs on /tmp and on /mnt, so that nothing of the
# machine's own /tmp is read or changed and no mount outlives the test.
set -eu
build=$1
src=$2
if [ -z "${VK_README_NS:-}" ]; then
	export VK_README_NS=1
	if ! unshare --mount --propagation private true 2>/dev/null; then
		echo "SKIP: no private mount namespace can be made here (unshare --mount)" >&2
		exit 77
	fi
	exec unshare --mount --propagation private -- "$0" "$@"
fi
build=$(cd "$build" && pwd -P)
src=$(cd "$src" && pwd -P)
mount -t tmpfs -o mode=0755 vk-readme /mnt
cmake --install "$build" --prefix /mnt/prefix >/dev/null
mkdir /mnt/cwd
cp -r "$src/scenarios" /mnt/cwd/scenarios
# the block of README.md under "## Using it", its indented lines but the
# comment-only continuation lines
sed -n '/^## Using it$/,/^## /p' "$src/README.md" | grep '^    ' | grep -v '^ *#' >/mnt/lines
n=$(wc -l </mnt/lines)
[ "$n" -ge 10 ] || { echo "FAIL: found $n usage lines in README.md's \"Using it\" block" >&2; exit 1; }
mount -t tmpfs -o mode=1777 vk-readme-tmp /tmp

cd /mnt/cwd
export PATH="/mnt/prefix/bin:$PATH"
export LD_LIBRARY_PATH=/mnt/prefix/lib
export HOME=/mnt/cwd
fail=0
i=0
while IFS= read -r line; do
	i=$((i + 1))
	printf '$ %s\n' "$(echo "$line" | sed 's/^ *//')"
	if ! sh -c "$line" </dev/null >/mnt/out 2>&1; then
		echo "FAIL: README.md usage line $i exits non-zero:" >&2
		sed 's/^/    /' /mnt/out | tail -n 20 >&2
		fail=1
	else
		tail -n 3 /mnt/out | sed 's/^/    /'
	fi
done </mnt/lines
# what the lines leave must be gone: the FUSE mount of `fakesys mount` was
# unmounted by its `fakesys umount` line
if grep -q ' /tmp/vk-mnt ' /proc/self/mountinfo; then
	echo "FAIL: /tmp/vk-mnt is still mounted after the README's lines" >&2
	fusermount3 -u /tmp/vk-mnt 2>/dev/null || umount /tmp/vk-mnt 2>/dev/null || true
	fail=1
fi
[ $fail -eq 0 ] || exit 1
echo "readme: the $n usage lines of README.md ran as written"
