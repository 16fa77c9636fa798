#!/bin/sh
# `fakesys test` and `fakesys run` as an ordinary user, by themselves (issue 19):
# they make the caller root of a user namespace (vk_fakesys_userns_enter()), so
# uid 65534 (through setpriv, from this test's root) runs the same scenarios as
# root: every one that passes as root passes, but those whose user: is not
# mapped, or who own a node (nobody has no subordinate ids: only its own id
# is), which are skipped with that reason; `fakesys run` reads the fake sysfs and the
# root-owned stand-in node; no mount is left behind.
#   unpriv-cli.sh BUILD_DIR SOURCE_DIR   (run through tests/lib/run-test.sh --fuse)
set -u
B=${1:?build dir}
S=${2:?source dir}
FAKESYS=$B/fakesys/fakesys
U=65534

command -v setpriv >/dev/null 2>&1 || { echo "SKIP: setpriv (util-linux) is missing" >&2; exit 77; }
as_user() { setpriv --reuid=$U --regid=$U --clear-groups "$@"; }
if ! as_user test -x "$FAKESYS" || ! as_user test -r "$S/scenarios/default.yaml"; then
	echo "SKIP: uid $U cannot reach the build tree or the scenarios" >&2
	exit 77
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/vfiokit-unpriv.XXXXXX") || exit 1
chmod 0777 "$W"
trap 'rm -rf "$W"' EXIT
# this test's mounts: every run has TMPDIR=$W (other tests of the suite mount
# beside it under ctest -j)
our_mounts() { awk -v w="$W/" 'index($2, w) == 1 && $3 == "fuse.fakesys"' /proc/mounts; }
failed=0
fail() { echo "FAIL: $*"; failed=1; }

TMPDIR=$W "$FAKESYS" test -j 2 "$S/scenarios" >"$W/root.out" 2>&1 || fail "as root: $(tail -3 "$W/root.out")"
TMPDIR=$W as_user "$FAKESYS" test -j 2 "$S/scenarios" >"$W/user.out" 2>"$W/user.err"
rc=$?
[ "$rc" -eq 0 ] || fail "as uid $U: exit $rc: $(cat "$W/user.err"; grep -v '^ok ' "$W/user.out" | head -20)"
# "ok    NAME (fuse, ...)": the names that passed
awk '$1 == "ok" { print $2 }' "$W/root.out" | sort >"$W/root.ok"
awk '$1 == "ok" { print $2 }' "$W/user.out" | sort >"$W/user.ok"
awk '$1 == "skip" && /is not mapped in this user namespace/ { print $2 }' "$W/user.out" | sort >"$W/user.unmapped"
[ -s "$W/root.ok" ] || fail "no scenario passed as root"
sort -m "$W/user.ok" "$W/user.unmapped" | diff "$W/root.ok" - >"$W/diff" ||
	fail "uid $U did not pass what root passes (< root only, > uid $U only):
$(cat "$W/diff")
$(grep -v '^ok ' "$W/user.out" | head -30)"
if grep -q '^FAIL\|^ERROR' "$W/user.out"; then fail "as uid $U: $(grep -A5 '^FAIL\|^ERROR' "$W/user.out" | head -30)"; fi
# the skipped ones are those with a user: or a node owner of another id
for n in $(cat "$W/user.unmapped"); do
	grep -q '^  user:\|owner: [1-9]' "$S/scenarios/$n.yaml" || fail "$n skipped as unmapped, but names no other id"
done

out=$(cd "$W" && as_user "$FAKESYS" run --tmpdir "$W" "$S/scenarios/default.yaml" -- \
	sh -c 'cat /sys/bus/pci/devices/0000:01:00.0/vendor && stat -c "%u %a" /dev/vfio/devices/vfio0 && id -u' 2>"$W/run.err")
rc=$?
want=$(printf '0x10de\n0 600\n0')
[ "$rc" -eq 0 ] && [ "$out" = "$want" ] || fail "fakesys run as uid $U: exit $rc, output '$out' (want '$want'): $(cat "$W/run.err")"

[ -z "$(our_mounts)" ] || fail "a fakesys mount was left: $(our_mounts)"
ls -d "$W"/fakesys-* 2>/dev/null && fail "a scratch directory was left in $W"
[ "$failed" -eq 0 ] && echo "ok: uid $U passed $(wc -l <"$W/user.ok") scenarios ($(wc -l <"$W/user.unmapped") skipped: user: not mapped), root $(wc -l <"$W/root.ok")"
exit "$failed"
