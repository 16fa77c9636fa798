#!/usr/bin/env bash
# valgrind over the error paths of the CLIs (fakesys, vfio-resolve, vfio-validate,
# vfio-doctor): every run must exit with its documented status, report no memory
# error, no leak (definitely, indirectly or possibly lost), and leave no FD open at
# exit besides 0, 1 and 2.  Exits 77 (ctest: skipped) when valgrind is missing.
#   valgrind-cli.sh BUILD_DIR SOURCE_DIR
set -u
B=${1:?build dir}
S=${2:?source dir}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "SKIP: valgrind is not installed (apt-get install valgrind)" >&2
	exit 77
fi

# FDs inherited from ctest or a shell would show up in valgrind's list: close
# everything but 0, 1 and 2 first, so that "3 open (3 std)" means no leak.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
done

FAKESYS=$B/fakesys/fakesys
RESOLVE=$B/resolver/vfio-resolve
VALIDATE=$B/validator/vfio-validate
DOCTOR=$B/doctor/vfio-doctor
[ -x "$DOCTOR" ] || DOCTOR=$B/doctor/vfio-doctor
for p in "$FAKESYS" "$RESOLVE" "$VALIDATE" "$DOCTOR"; do
	[ -x "$p" ] || { echo "FAIL: $p is not built" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/vfiokit-vg.XXXXXX") || exit 1
# the trees fakesys materializes as an ordinary user keep the modelled modes
# (proc/bus/pci/NN is 0555): make them writable before removing them
trap 'chmod -R u+w "$W" 2>/dev/null; rm -rf "$W"' EXIT

failed=0 runs=0
# vg WANT_STATUS NAME PROGRAM ARGS...
vg() {
	local want=$1 name=$2
	shift 2
	local d="$W/run$runs"
	runs=$((runs + 1))
	mkdir -p "$d"
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$W" TMPDIR="$W" LC_ALL=C \
		valgrind --track-fds=yes --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		--log-file="$d/vg.%p" "$@" </dev/null >"$d/out" 2>"$d/err"
	local rc=$? why=""
	[ "$rc" -eq "$want" ] || why="exit status $rc, want $want"
	local n=0
	for log in "$d"/vg.*; do
		[ -e "$log" ] || continue
		# a child that exec'd another program (newuidmap, as fakesys enters a
		# user namespace) is not traced: its log has the header only
		grep -v '^==[0-9]*== *$' "$log" | sed '1,/Parent PID:/d' | grep -q . || continue
		n=$((n + 1))
		# "Open file descriptor N: PATH" for every FD open at exit; 0-2 and
		# valgrind's own log file (which it lists too) are expected
		grep -q "FILE DESCRIPTORS: [0-9]* open" "$log" || why="$why${why:+; }no FD report"
		local extra
		extra=$(sed -n 's/^==[0-9]*== Open \(file descriptor\|AF_[A-Z0-9]* socket\) \([0-9]*\):* *\(.*\)$/\2 \3/p' "$log" |
			awk -v lf="$d/vg." '$1 > 2 && index($2, lf) != 1 { printf "%s%s", sep, $0; sep = ", " }')
		[ -z "$extra" ] || why="$why${why:+; }FDs left open at exit: $extra"
		grep -q "ERROR SUMMARY: 0 errors" "$log" || why="$why${why:+; }$(grep -o 'ERROR SUMMARY: .*' "$log")"
		grep -Eq "(definitely|indirectly|possibly) lost: [1-9]" "$log" && why="$why${why:+; }leak"
	done
	[ "$n" -gt 0 ] || why="$why${why:+; }no valgrind log"
	if [ -n "$why" ]; then
		failed=$((failed + 1))
		echo "FAIL $name: $why"
		echo "  command: $*"
		sed 's/^/  stderr: /' "$d/err" | head -5
		for log in "$d"/vg.*; do
			[ -e "$log" ] && grep -v '^==[0-9]*== *$' "$log" | sed -n '/FILE DESCRIPTORS\|lost\|Invalid\|uninitialised\|ERROR SUMMARY/,+12p' | head -60 | sed 's/^/  /'
		done
	else
		echo "ok   $name (exit $rc)"
	fi
}

# the checker itself: a leaked FD must be seen
vg 0 canary/leaked-fd /bin/sh -c 'exec 7</dev/null; exit 0' >"$W/canary"
if [ "$failed" -ne 1 ] || ! grep -q "FDs left open at exit: 7 /dev/null" "$W/canary"; then
	cat "$W/canary"
	echo "FAIL: the FD check did not see an FD leaked on purpose"
	exit 1
fi
echo "ok   canary/leaked-fd (seen: $(grep -o 'FDs left open at exit: [^;]*' "$W/canary"))"
failed=0

SCEN=$S/scenarios/default.yaml
printf 'version: 1\ndevices: [\n' >"$W/syntax.yaml"
printf 'version: 1\nname: bad\ndevices:\n  - {address: "zz:00.0", driver: vfio-pci}\n' >"$W/invalid.yaml"
printf 'version: 1\nname: bad\nno_such_key: 1\n' >"$W/unknown-key.yaml"
: >"$W/empty.yaml"
mkdir -p "$W/full" && : >"$W/full/x"
: >"$W/afile"
mkdir -p "$W/empty-dir"

# fakesys
vg 2 fakesys/no-args "$FAKESYS"
vg 2 fakesys/bad-command "$FAKESYS" frobnicate
vg 2 fakesys/bad-option "$FAKESYS" mount --bogus "$SCEN" "$W/empty-dir"
vg 1 fakesys/missing-file "$FAKESYS" show "$W/missing.yaml"
vg 1 fakesys/syntax-error "$FAKESYS" show "$W/syntax.yaml"
vg 1 fakesys/invalid-device "$FAKESYS" show "$W/invalid.yaml"
vg 1 fakesys/unknown-key "$FAKESYS" show "$W/unknown-key.yaml"
vg 1 fakesys/empty-file "$FAKESYS" show "$W/empty.yaml"
vg 1 fakesys/materialize-bad-scenario "$FAKESYS" materialize "$W/syntax.yaml" "$W/m1"
vg 1 fakesys/materialize-non-empty "$FAKESYS" materialize "$SCEN" "$W/full"
vg 1 fakesys/materialize-missing-parent "$FAKESYS" materialize "$SCEN" "$W/no/such/dir"
vg 1 fakesys/mount-bad-scenario "$FAKESYS" mount "$W/invalid.yaml" "$W/empty-dir"
vg 1 fakesys/mount-missing-mountpoint "$FAKESYS" mount "$SCEN" "$W/no-such-mnt"
vg 1 fakesys/mount-file-mountpoint "$FAKESYS" mount "$SCEN" "$W/afile"
vg 1 fakesys/mount-non-empty "$FAKESYS" mount "$SCEN" "$W/full"
vg 1 fakesys/umount-not-fakesys "$FAKESYS" umount "$W/empty-dir"
vg 1 fakesys/umount-missing "$FAKESYS" umount "$W/no-such-mnt"
vg 1 fakesys/record-missing-root "$FAKESYS" record --root "$W/no-such-root" --output "$W/rec.yaml"
vg 1 fakesys/test-bad-scenario "$FAKESYS" test --plain -j 1 "$W/invalid.yaml"
# the runner's own failure paths: a set that fails where it was not expected,
# a doctor option that is not a size, a client run as another uid (root only)
sed -e 's/class: node-missing/class: busy/' -e '/^  access:/,$d' \
	"$S/scenarios/set-second-device-fails-no-fd-left.yaml" >"$W/set-fails.yaml"
sed 's/memory: 16G/memory: lots/' "$S/scenarios/doctor-memlock-too-low.yaml" >"$W/bad-size.yaml"
sed 's/0000:01:00.0: access/0000:01:00.0: \/dev\/vfio\/devices\/vfio0/; /^  access:/,$d' \
	"$S/scenarios/perms-qemu-user-eacces.yaml" >"$W/user.yaml"
vg 1 fakesys/test-set-fails "$FAKESYS" test --plain -j 1 "$W/set-fails.yaml"
vg 1 fakesys/test-bad-size "$FAKESYS" test --plain -j 1 "$W/bad-size.yaml"
vg 1 fakesys/check-bad-size "$FAKESYS" check "$W/bad-size.yaml"
vg 2 fakesys/check-missing "$FAKESYS" check "$W/no-such.yaml"
if [ "$(id -u)" -eq 0 ]; then
	vg 1 fakesys/test-user-client "$FAKESYS" test --plain -j 1 "$W/user.yaml"
fi

# a materialized default host for the resolver and the doctor
"$FAKESYS" materialize "$SCEN" "$W/host" >/dev/null || { echo "FAIL: cannot materialize $SCEN"; exit 1; }
# the same host with the second device's cdev node gone: --open fails half-way
"$FAKESYS" materialize "$SCEN" "$W/host2" >/dev/null && rm -f "$W/host2/dev/vfio/devices/vfio1"
# and one without /dev/iommu
"$FAKESYS" materialize "$SCEN" "$W/host3" >/dev/null && rm -f "$W/host3/dev/iommu"
# and one with FIFOs where an attribute and /proc/cmdline belong (the reader refuses them)
"$FAKESYS" materialize "$SCEN" "$W/host4" >/dev/null &&
	v=$(readlink -f "$W/host4/sys/bus/pci/devices/0000:01:00.0/vendor") && rm -f "$v" "$W/host4/proc/cmdline" &&
	mkfifo "$v" "$W/host4/proc/cmdline"

# vfio-resolve
vg 2 resolve/bad-option "$RESOLVE" --bogus 0000:01:00.0
vg 2 resolve/bad-address "$RESOLVE" --root "$W/host" zz:00.0
vg 2 resolve/no-address "$RESOLVE" --root "$W/host"
vg 1 resolve/missing-root "$RESOLVE" --root "$W/no-such-root" 0000:01:00.0
vg 1 resolve/absent-device "$RESOLVE" --root "$W/host" 0000:0f:00.0
vg 1 resolve/absent-device-json "$RESOLVE" --root "$W/host" --json 0000:01:00.0 0000:0f:00.0
vg 1 resolve/other-driver "$RESOLVE" --root "$W/host" 0000:81:00.0
vg 1 resolve/open-other-driver "$RESOLVE" --root "$W/host" --open 0000:01:00.0 0000:81:00.0
vg 1 resolve/open-missing-node "$RESOLVE" --root "$W/host2" --open 0000:01:00.0 0000:01:00.1
vg 1 resolve/open-missing-node-walk "$RESOLVE" --root "$W/host2" --no-openat2 --open 0000:01:00.0 0000:01:00.1
vg 1 resolve/argv-missing-iommu "$RESOLVE" --root "$W/host3" --argv 0000:01:00.0
vg 1 resolve/exec-device-fails "$RESOLVE" --root "$W/host" 0000:81:00.0 --exec /bin/true
vg 1 resolve/fifo-attribute "$RESOLVE" --root "$W/host4" 0000:01:00.0
vg 127 resolve/exec-missing-program "$RESOLVE" --root "$W/host" 0000:01:00.0 --exec "$W/no-such-qemu"

# vfio-validate
printf 'LC_ALL=C \\\n/usr/bin/qemu-system-x86_64 \\\n-device "vfio-pci,host=01:00.0\n' >"$W/bad.args"
printf '/usr/bin/qemu-system-x86_64 -device\n' >"$W/bad2.args"
sh -c 'exit 0' &
dead=$!
wait "$dead"
vg 2 validate/no-input "$VALIDATE"
vg 2 validate/bad-option "$VALIDATE" --bogus
vg 2 validate/missing-argument "$VALIDATE" -- qemu-system-x86_64 -device
vg 2 validate/bad-qemu-version "$VALIDATE" --qemu-version x.y -- qemu-system-x86_64 -S
vg 2 validate/fds-without-pid "$VALIDATE" --fds -- -S
vg 2 validate/bad-args-quote "$VALIDATE" --args-file "$W/bad.args"
vg 2 validate/bad-args-missing-value "$VALIDATE" --args-file "$W/bad2.args"
vg 2 validate/missing-args-file "$VALIDATE" --args-file "$W/missing.args"
vg 2 validate/dead-pid "$VALIDATE" --pid "$dead"
vg 2 validate/dead-pid-fds "$VALIDATE" --pid "$dead" --fds
vg 2 validate/then-exec-missing "$VALIDATE" --stand-in --then-exec "$W/no-such-qemu" -- -S
vg 2 validate/fifo-attribute "$VALIDATE" --root "$W/host4" -- qemu-system-x86_64 -device vfio-pci,host=01:00.0
awk 'BEGIN { printf "/usr/bin/qemu-system-x86_64 -device e1000"; for (i = 0; i < 1000001; i++) printf ",a=b"; print "" }' \
	>"$W/too-many-props.args"
vg 2 validate/too-many-properties "$VALIDATE" --args-file "$W/too-many-props.args"
vg 2 validate/missing-root "$VALIDATE" --root "$W/no-such-root" -- qemu-system-x86_64 -device vfio-pci,host=01:00.0

# vfio-doctor
vg 2 doctor/bad-option "$DOCTOR" --bogus
vg 2 doctor/bad-size "$DOCTOR" --memory lots
vg 2 doctor/bad-user "$DOCTOR" --user no-such-user-vfiokit
vg 2 doctor/missing-root "$DOCTOR" --root "$W/no-such-root"
vg 2 doctor/bad-address "$DOCTOR" --root "$W/host" zz:00.0
vg 1 doctor/other-driver "$DOCTOR" --root "$W/host" --no-qemu --memlock unlimited 0000:81:00.0
vg 1 doctor/fifo-attribute-and-cmdline "$DOCTOR" --root "$W/host4" --no-qemu --memlock unlimited --json
vg 0 doctor/missing-iommu "$DOCTOR" --root "$W/host3" --no-qemu --memlock unlimited

echo "$runs runs under valgrind, $failed failed"
[ "$failed" -eq 0 ]
