#!/bin/bash
# agreement.sh CASES: vfio-validate against Debian's real QEMU (docs/rules.md,
# "Agreement with QEMU").  Each case of CASES runs through
#   fakesys run scenarios/default.yaml -- qemu-system-x86_64 PREFIX ARGS
# (QEMU reads the fake host and, with fakesys' VFIO emulation, realizes the
# assigned devices) and through vfio-validate twice: --qemu (the binary's own
# device model, cold then warm cache) and --qemu-version 7.2 (the built-in
# table), both with --root on the same host materialized.  They agree when
# QEMU accepting means no error from vfio-validate, and QEMU refusing means an
# error of the rule the case names, while QEMU's message holds the fragment.
#
# QEMU's verdict: the QMP commands qmp_capabilities and quit come on stdin;
# QEMU answers them only from its main loop, after every -device is realized,
# so exit 0 with a {"return"} = accepted; exit 1 with
# "qemu-system-x86_64: -device ...: MESSAGE" on stderr = refused.  Anything
# else (a timeout, a crash) is no verdict and fails the case.
#
# Environment: VK_SOURCE_DIR, VK_BINARY_DIR (set by ctest), VK_AGREE_JOBS
# (parallel QEMUs, default 2), VK_AGREE_TIMEOUT (seconds per QEMU, default 30).
set -u
cases=${1:?usage: agreement.sh CASES}
src=${VK_SOURCE_DIR:?}
bin=${VK_BINARY_DIR:?}
qemu=$(command -v qemu-system-x86_64 || true)
fakesys=$bin/fakesys/fakesys
validate=$bin/validator/vfio-validate
jobs=${VK_AGREE_JOBS:-2}
tmo=${VK_AGREE_TIMEOUT:-30}
scenario=$src/scenarios/default.yaml

skip() { echo "SKIP: $*" >&2; exit 77; }
[ -n "$qemu" ] || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
[ -c /dev/fuse ] || skip "/dev/fuse is missing: fakesys run cannot serve the fake host"
if [ "$(id -u)" != 0 ] && ! unshare --user --map-root-user true 2>/dev/null; then
	skip "no user namespaces: fakesys run cannot make its private mount namespace"
fi
for f in "$fakesys" "$validate"; do
	[ -x "$f" ] || { echo "agreement.sh: $f is not built" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vk-agree.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$fakesys" materialize "$scenario" "$work/root" >/dev/null || { echo "agreement.sh: materialize failed" >&2; exit 1; }
export VFIOKIT_CACHE_DIR=$work/cache
# fakesys' VFIO emulation charges the guest RAM it maps to RLIMIT_MEMLOCK as
# the kernel does (vfio_iommu_type1 vfio_lock_acct()): an ordinary user's 8 MiB
# cannot hold 64 MiB, so there the guest gets 4 MiB (its ROMs fit beside).
mem=64
lim=$(ulimit -l)
if [ "$lim" != unlimited ] && [ "$lim" -lt 131072 ]; then
	mem=4
fi
prefix=(-machine q35,accel=tcg -m $mem -display none -nodefaults -S -qmp stdio)

# run_case N: judge case N (its fields in $work/N.{rule,msg,args}); writes $work/N.result
run_case() {
	local n=$1 rule msg out err rc verdict qmsg vq vt
	rule=$(cat "$work/$n.rule") msg=$(cat "$work/$n.msg")
	local -a args
	eval "args=($(cat "$work/$n.args"))" || { echo "FAIL case $n: cannot split its arguments" >"$work/$n.result"; return; }
	printf '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n' |
		timeout -k 5 "$tmo" "$fakesys" run "$scenario" -- "$qemu" "${prefix[@]}" "${args[@]}" \
		>"$work/$n.out" 2>"$work/$n.err"
	rc=$?
	qmsg=$(grep '^qemu-system-x86_64: ' "$work/$n.err" | grep -v ': warning: ' | tail -n 1)
	if [ $rc = 0 ] && grep -q '"return"' "$work/$n.out"; then
		verdict=accept
	elif [ $rc = 1 ] && [ -n "$qmsg" ]; then
		verdict=refuse
	else
		echo "FAIL case $n: QEMU gave no verdict (exit $rc): $(tail -n 2 "$work/$n.err" | tr '\n' ' ')" >"$work/$n.result"
		return
	fi
	# the validator: the binary's model, then the built-in table
	vq=$("$validate" --qemu "$qemu" --root "$work/root" -- "${prefix[@]}" "${args[@]}" 2>&1 | sed -n 's/^error *\(VV[0-9]*\) .*/\1/p' | tr '\n' ' ')
	vt=$("$validate" --qemu-version 7.2 --root "$work/root" -- "${prefix[@]}" "${args[@]}" 2>&1 | sed -n 's/^error *\(VV[0-9]*\) .*/\1/p' | tr '\n' ' ')
	local want=$rule
	local bad=""
	if [ "$rule" = ok ]; then
		[ $verdict = accept ] || bad="the corpus says QEMU accepts it, QEMU refused: $qmsg"
		[ -z "$bad" ] && [ -n "$vq" ] && bad="QEMU accepts it, vfio-validate --qemu reports errors: $vq"
		[ -z "$bad" ] && [ -n "$vt" ] && bad="QEMU accepts it, vfio-validate --qemu-version 7.2 reports errors: $vt"
	else
		[ $verdict = refuse ] || bad="the corpus says QEMU refuses it ($want), QEMU accepted it"
		[ -z "$bad" ] && [ -n "$msg" ] && case "$qmsg" in *"$msg"*) ;; *) bad="QEMU refused it with another message: $qmsg (want: $msg)" ;; esac
		[ -z "$bad" ] && case " $vq" in *" $want "*) ;; *) bad="QEMU refuses it ($qmsg), vfio-validate --qemu reports [$vq], not $want" ;; esac
		[ -z "$bad" ] && case " $vt" in *" $want "*) ;; *) bad="QEMU refuses it ($qmsg), vfio-validate --qemu-version 7.2 reports [$vt], not $want" ;; esac
	fi
	if [ -n "$bad" ]; then
		echo "FAIL case $n (line $(cat "$work/$n.line")): $bad" >"$work/$n.result"
	else
		echo "ok   case $n: $verdict${qmsg:+ ($qmsg)}" >"$work/$n.result"
	fi
}

n=0
lineno=0
while IFS= read -r line; do
	lineno=$((lineno + 1))
	case "$line" in '#'* | '') continue ;; esac
	n=$((n + 1))
	IFS='|' read -r f_rule f_msg f_args <<<"$line"
	printf '%s' "$f_rule" | tr -d ' ' >"$work/$n.rule"
	printf '%s' "$f_msg" | sed 's/^ *//; s/ *$//' >"$work/$n.msg"
	printf '%s' "$f_args" >"$work/$n.args"
	echo "$lineno" >"$work/$n.line"
done <"$cases"

# warm the property cache once, so that parallel cases do not race to write it
"$validate" --qemu "$qemu" -- -device vfio-pci,host=01:00.0 >/dev/null 2>&1

start=$(date +%s)
for i in $(seq 1 "$n"); do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_case "$i" &
done
wait
pass=0 fail=0
for i in $(seq 1 "$n"); do
	[ -s "$work/$i.result" ] || echo "FAIL case $i (line $(cat "$work/$i.line")): no result" >"$work/$i.result"
	cat "$work/$i.result"
	case "$(cat "$work/$i.result")" in ok*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
done
echo "agreement: $n cases in $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
