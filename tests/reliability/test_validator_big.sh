#!/bin/sh
# vfio-validate on very large command lines (issue #22, issue #14.7): each
# `key=value` allocated the whole rest of its argument (a 1.2 MB .args file with
# one -device of 300k properties took 77 s and 20.4 GB; --pid on a 1.8 MB
# command line 4.75 GB), and the rules compared every pair of options (100,000
# -devices ran past 30 s).  Here every run has 1 GB of address space
# (ulimit -v; not in a sanitizer build, whose shadow memory needs terabytes of
# it) and is killed after 20 s; the time each took is printed.  Past the input
# limits of docs/rules.md the input is refused with exit status 2 and a message
# naming the limit.
#   test_validator_big.sh BUILD_DIR SANITIZE(ON|OFF)
set -u
B=$(cd "${1:?build dir}" && pwd) || exit 1
SAN=${2:-OFF}
V=$B/validator/vfio-validate
LIMIT_S=20
VMEM_KB=1000000
# a sanitizer build runs 2-3 times slower; the quadratic code took 206 s for 30,000 devices
[ "$SAN" = ON ] && LIMIT_S=60

[ -x "$V" ] || { echo "FAIL: $V is not built"; exit 1; }
command -v timeout >/dev/null 2>&1 || { echo "SKIP: no timeout(1) (coreutils)" >&2; exit 77; }

W=$(mktemp -d "${TMPDIR:-/tmp}/vfiokit-big.XXXXXX") || exit 1
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$W"' EXIT
# a signal (a pipe closed on our output too) ends the script through the EXIT trap
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
failed=0
fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

now() { date +%s.%N; }

# run NAME ARGS...: vfio-validate ARGS with the limits above; sets $rc, $secs, out/err files
run() {
	name=$1
	shift
	t0=$(now)
	if [ "$SAN" = ON ]; then
		timeout -s KILL $LIMIT_S "$V" "$@" >"$W/out" 2>"$W/err"
	else
		timeout -s KILL $LIMIT_S sh -c 'ulimit -v '$VMEM_KB' && exec "$0" "$@"' "$V" "$@" >"$W/out" 2>"$W/err"
	fi
	rc=$?
	secs=$(echo "$t0 $(now)" | awk '{ printf "%.3f", $2 - $1 }')
	echo "$name: exit $rc in $secs s"
	if [ $rc -eq 137 ] || [ $rc -eq 124 ]; then
		fail "$name: killed after $LIMIT_S s"
	fi
}

# want_status NAME STATUS: the last run's status (0 and 1 are both answers)
want_status() {
	case " $2 " in *" $rc "*) ;; *) fail "$1: exit status $rc, want $2; stderr: $(head -c 600 "$W/err")" ;; esac
}

# 1. one -device with 300,000 properties (2.9 MB)
awk 'BEGIN { printf "/usr/bin/qemu-system-x86_64 -device vfio-pci,host=0000:01:00.0"
             for (i = 0; i < 300000; i++) printf ",p%d=v", i
             print "" }' >"$W/props.args"
run props-300k --args-file "$W/props.args"
want_status props-300k "0 1"

# 2. 100,000 -devices, every id twice (50,000 VV007), and 100,000 vfio-pci
#    devices on one iommufd object with every host and fd twice
awk 'BEGIN { print "/usr/bin/qemu-system-x86_64 \\"
             for (i = 0; i < 100000; i++) printf "-device virtio-net-pci,id=net%d \\\n", int(i / 2)
             print "-S" }' >"$W/devices.args"
run devices-100k --args-file "$W/devices.args"
want_status devices-100k 1
n=$(grep -c '^error   VV007' "$W/out")
[ "$n" -eq 50000 ] || fail "devices-100k: $n VV007 findings, want 50000"

awk 'BEGIN { print "/usr/bin/qemu-system-x86_64 -object iommufd,id=iommufd0 \\"
             for (i = 0; i < 100000; i++) {
                 j = int(i / 2)
                 printf "-device vfio-pci,host=%04x:%02x:%02x.0,fd=%d,iommufd=iommufd0 \\\n", int(j / 8192), int(j / 32) % 256, j % 32, j + 3
             }
             print "-S" }' >"$W/vfio.args"
run vfio-100k --args-file "$W/vfio.args"
want_status vfio-100k 1
for id in VV008 VV009; do
	n=$(grep -c "^error   $id" "$W/out")
	[ "$n" -eq 50000 ] || fail "vfio-100k: $n $id findings, want 50000"
done

# 3. --pid on a process whose command line is 1.7 MB: 13 arguments of 128 KiB
#    (MAX_ARG_STRLEN), about 420,000 properties
p=$(awk 'BEGIN { for (i = 0; i < 32700; i++) printf ",p%d=v", i % 10000 }' | head -c 131000)
set --
for i in 1 2 3 4 5 6 7 8 9 a b c d; do
	set -- "$@" -device "vfio-pci,host=0000:$i$i:00.0$p"
done
sh -c 'sleep 60; exit 0' qemu-system-x86_64 "$@" &
pid=$!
pids="$pids $pid"
sleep 0.2
size=$(wc -c </proc/$pid/cmdline)
[ "$size" -gt 1600000 ] || fail "the --pid target's command line is only $size bytes"
run "pid-$size-bytes" --pid "$pid"
want_status "pid-$size-bytes" "0 1"
kill $pid 2>/dev/null
wait $pid 2>/dev/null

# 4. past the input limits: refused, with the limit named
awk 'BEGIN { printf "/usr/bin/qemu-system-x86_64 -device e1000"
             for (i = 0; i < 1000001; i++) printf ",a=b"
             print "" }' >"$W/too-many-props.args"
run too-many-props --args-file "$W/too-many-props.args"
want_status too-many-props 2
grep -q "more than 1000000 properties in one option (the input limit, docs/rules.md)" "$W/err" ||
	fail "too-many-props: $(head -c 600 "$W/err")"

awk 'BEGIN { print "/usr/bin/qemu-system-x86_64"; for (i = 0; i < 1000001; i++) print "-S" }' >"$W/too-many-words.args"
run too-many-words --json --args-file "$W/too-many-words.args"
want_status too-many-words 2
grep -q '"parse_error"' "$W/out" && grep -q "more than 1000000 words" "$W/err" ||
	fail "too-many-words: $(head -c 600 "$W/out") $(head -c 600 "$W/err")"

head -c 16777217 /dev/zero | tr '\0' ' ' >"$W/too-long.args"
run too-long --args-file "$W/too-long.args"
want_status too-long 2
grep -q "more than 16777216 bytes (the input limit" "$W/err" || fail "too-long: $(head -c 600 "$W/err")"
# the same from stdin: refused after 16 MiB, not read to the end
t0=$(now)
yes ' ' | timeout -s KILL $LIMIT_S "$V" --args-file - >"$W/out" 2>"$W/err"
rc=$?
echo "endless-stdin: exit $rc in $(echo "$t0 $(now)" | awk '{ printf "%.3f", $2 - $1 }') s"
want_status endless-stdin 2
grep -q "<stdin>: more than 16777216 bytes" "$W/err" || fail "endless-stdin: $(head -c 600 "$W/err")"

if [ "$failed" -ne 0 ]; then
	echo "$failed failed"
	exit 1
fi
echo "validator-big: ok"
