#!/usr/bin/env bash
# Every benchmark in one run, then one summary table of the figures the issues
# ask for, each beside the baseline measured in the same run and their ratio.
#   tests/bench/bench_all.sh [BUILD_DIR]        (default: build)
# `cmake --build build --target bench` runs it.  Not a test: no pass/fail.
# VK_BENCH_QUICK=0 for the long form (the serve-opens FUSE mode at 10,000
# devices too, and umockdev-run given 300 s instead of 30 to start: minutes
# more); the default quick form takes ~8 minutes on 2 CPUs.  Afterwards no
# fakesys mount of this run may be left (checked at the end).
set -u
here=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$here/../.." && pwd)
B=$(cd "${1:-$SRC/build}" && pwd) || exit 1
export VK_SOURCE_DIR=$SRC VK_BINARY_DIR=$B
export VK_BENCH_QUICK=${VK_BENCH_QUICK:-1}

for b in bench_fakesys bench_run bench_umockdev bench_resolver bench_validator bench_live bench_emul; do
	[ -x "$B/tests/bench/$b" ] || { echo "bench_all: $B/tests/bench/$b is not built" >&2; exit 1; }
done
[ -x "$B/fakesys/fakesys" ] || { echo "bench_all: $B/fakesys/fakesys is not built" >&2; exit 1; }

OUT=$(mktemp -d "${TMPDIR:-/tmp}/vfiokit-bench-out.XXXXXX") || exit 1
SCRATCH=""
cleanup() {
	if [ -n "$SCRATCH" ]; then
		umount "$SCRATCH" 2>/dev/null
		rmdir "$SCRATCH" 2>/dev/null
	fi
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Scratch trees (materialized hosts, mountpoints) on a tmpfs: the figures are
# about fakesys and the resolver, not about the disk under /tmp.  As root a
# private tmpfs; else $XDG_RUNTIME_DIR when it is one; else $TMPDIR as it is.
if [ "$(id -u)" -eq 0 ] && SCRATCH=$(mktemp -d /tmp/vfiokit-bench.XXXXXX) &&
	mount -t tmpfs -o size=3g,mode=0755 vfiokit-bench "$SCRATCH" 2>/dev/null; then
	export TMPDIR=$SCRATCH
else
	[ -n "$SCRATCH" ] && rmdir "$SCRATCH" 2>/dev/null
	SCRATCH=""
	if [ -n "${XDG_RUNTIME_DIR:-}" ] && [ "$(stat -f -c %T "$XDG_RUNTIME_DIR" 2>/dev/null)" = tmpfs ]; then
		export TMPDIR=$XDG_RUNTIME_DIR
	fi
fi
echo "bench_all: build $B, scratch ${TMPDIR:-/tmp} ($(stat -f -c %T "${TMPDIR:-/tmp}")), quick=$VK_BENCH_QUICK, $(nproc) CPUs"

now() { date +%s.%N; }
T0=$(now)
# fakesys mounts under the scratch directory: none may be left at the end
fakesys_mounts() { awk -v t="${TMPDIR:-/tmp}/" '$3 == "fuse.fakesys" && index($2, t) == 1 { print $2 }' /proc/mounts | sort; }
MOUNTS0=$(fakesys_mounts)
run() { # run NAME CMD...: output to $OUT/NAME (and the terminal), wall time to $OUT/NAME.time
	local name=$1 t
	shift
	echo
	echo "== $name"
	t=$(now)
	(cd "$B" && "$@") 2>&1 | tee "$OUT/$name"
	echo "$(now) $t" | awk '{ printf "%.2f\n", $1 - $2 }' >"$OUT/$name.time"
}

run fakesys "$B/tests/bench/bench_fakesys"
run run "$B/tests/bench/bench_run"
run umockdev "$B/tests/bench/bench_umockdev"
run resolver "$B/tests/bench/bench_resolver"
run validator "$B/tests/bench/bench_validator"
run live "$B/tests/bench/bench_live"
run emul "$B/tests/bench/bench_emul"
run suite-fuse "$B/fakesys/fakesys" test --fuse "$SRC/scenarios/"
run suite-plain "$B/fakesys/fakesys" test --plain "$SRC/scenarios/"
if ctest --test-dir "$B" -N -L scenario 2>/dev/null | grep -q 'Total Tests: [1-9]'; then
	run ctest-scenario ctest --test-dir "$B" -L scenario -j "$(nproc)"
fi

# ---- the summary ------------------------------------------------------------
row() { printf '%-50s %12s %12s %8s  %s\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2fx\n", a / b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }'; }

echo
echo "================================================================================================"
echo "Summary ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, quick=$VK_BENCH_QUICK; ratio = figure / baseline, same run)"
row "figure" "value" "baseline" "ratio" "baseline is / target"
echo "------------------------------------------------------------------------------------------------"

f=$OUT/fakesys
# fakesys scale: rows "  N nodes/dev parse build p+b mount model tree daemon  rparse rbuild rmount rdaemon"
awk '/^scale \(per device/ { on = 1; next } on && $1 ~ /^[0-9]+$/ && NF == 13 { print } on && /^$/ { exit }' "$f" |
	while read -r n _ parse build pb mount _ _ daemon rp rb rm rd; do
		row "fakesys $n dev: parse (us/device)" "$parse" "" "$rp" "per device at 1,000 (linear: 1.00x)"
		row "fakesys $n dev: build (us/device)" "$build" "" "$rb" "per device at 1,000 (linear: 1.00x)"
		row "fakesys $n dev: parse+build (ms)" "$pb" "" "" "target <= 1000 ms at 50,000"
		row "fakesys $n dev: mount (ms)" "$mount" "" "$rm" "per device at 1,000 (linear: 1.00x)"
		row "fakesys $n dev: daemon RSS (KiB/device)" "$daemon" "" "$rd" "per device at 1,000; target <= 6 KiB"
	done

# fakesys: "N devices: parse+build X ms", "  materialize ... first A ms, warm B ms", mode rows
for n in 1000 10000; do
	pb=$(awk -v n="$n" '$1 == n && $2 == "devices:" { print $4 }' "$f")
	[ -n "$pb" ] || continue
	pb1=$(awk '$1 == 1000 && $2 == "devices:" { print $4 }' "$f")
	row "fakesys $n dev: parse+build (ms)" "$pb" "$pb1" "$(ratio "$pb" "$pb1")" "1,000 devices (linear: 10x at 10,000)"
	read -r tfirst tsecond twarm < <(awk -v n="$n" '$1 == n && $2 == "devices:" { on = 1; next }
		on && /materialize on tmpfs/ { for (i = 1; i <= NF; i++) { if ($i == "first") a = $(i + 1); if ($i == "second") b = $(i + 1); if ($i == "warm") c = $(i + 1) } print a, b, c; exit }' "$f")
	awk -v n="$n" '$1 == n && $2 == "devices:" { on = 1; next } on && /devices:/ { exit }
		on && ($1 == "static" || $1 == "static," || $1 == "live,") { m = ""; for (i = 1; i <= NF - 8; i++) m = m (i > 1 ? " " : "") $i; print m "|" $(NF-7) "|" $(NF-6) "|" $(NF-5) "|" $(NF-4) "|" $(NF-3) }' "$f" |
		while IFS='|' read -r mode mount rss cold second warm; do
			row "fakesys $n dev [$mode]: mount (ms)" "$mount" "" "" "target < 1000 ms at 10,000"
			row "fakesys $n dev [$mode]: daemon RSS (MiB)" "$rss" "" "" "target < 100 MiB at 10,000"
			row "fakesys $n dev [$mode]: cold walk (ms)" "$cold" "$tfirst" "$(ratio "$cold" "$tfirst")" "first walk of the tree on tmpfs; live target <= 4x"
			row "fakesys $n dev [$mode]: second walk (ms)" "$second" "$tsecond" "$(ratio "$second" "$tsecond")" "second walk on tmpfs"
			row "fakesys $n dev [$mode]: warm walk (ms)" "$warm" "$twarm" "$(ratio "$warm" "$twarm")" "warm walk on tmpfs; target <= 2x"
		done
done
# the round trip: "  one FUSE request (uncached fstatat)  US  Rx", "  fstatat on tmpfs (the baseline)  US  1.00x"
read -r rtreq rtcached rttmp < <(awk '/^  one FUSE request/ { a = $(NF-1) } /^  cached fstatat on the mount/ { b = $(NF-1) }
	/^  fstatat on tmpfs/ { c = $(NF-1) } END { print a, b, c }' "$f")
if [ -n "${rttmp:-}" ]; then
	row "FUSE: us per request (uncached fstatat)" "$rtreq" "$rttmp" "$(ratio "$rtreq" "$rttmp")" "fstatat on tmpfs, same names"
	row "FUSE: us per cached fstatat (no request)" "$rtcached" "$rttmp" "$(ratio "$rtcached" "$rttmp")" "fstatat on tmpfs, same names"
fi

# run: rows "  <mode>  cold second warm  cold/b 2nd/b warm/b" under "served by"
awk '/served by/ { on = 1; next } on && NF >= 7 && $0 !~ /^  \(/ { n = NF; name = ""; for (i = 1; i <= n - 6; i++) name = name (i > 1 ? " " : "") $i; print name "|" $(n-5) "|" $(n-4) "|" $(n-3) }' "$OUT/run" |
	{
		IFS='|' read -r _ bc bs bw
		while IFS='|' read -r mode c s w; do
			row "walk 1,000 dev [$mode]: cold (ms)" "$c" "$bc" "$(ratio "$c" "$bc")" "materialized copy, first walk"
			row "walk 1,000 dev [$mode]: second (ms)" "$s" "$bs" "$(ratio "$s" "$bs")" "materialized copy, second walk"
			row "walk 1,000 dev [$mode]: warm (ms)" "$w" "$bw" "$(ratio "$w" "$bw")" "materialized copy, best of 3"
		done
	}

# umockdev: start-up rows "  N  true  run  live  umock  ..." under "start-up:", and walk
# rows "  <served by>  cold second warm  cold/b 2nd/b warm/b  entries" under "N devices: walk"
u=$OUT/umockdev
awk '/^start-up:/ { on = 1; next } on && /^$/ { exit } on && $1 ~ /^[0-9]+$/ { u = $5; if (u == ">") u = "> " $6 " s"; print $1 "|" $2 "|" $3 "|" $4 "|" u }' "$u" |
	while IFS='|' read -r nd tb ts tl tu; do
		row "start-up, true under fakesys run, $nd dev (ms)" "$ts" "$tb" "$(ratio "$ts" "$tb")" "true alone"
		row "start-up, true under fakesys run --live, $nd dev" "$tl" "$tb" "$(ratio "$tl" "$tb")" "true alone"
		case $tu in
		">"*) row "start-up, true under umockdev-run, $nd dev (ms)" "$tu" "$tb" "-" "true alone (killed: too slow)" ;;
		*) row "start-up, true under umockdev-run, $nd dev (ms)" "$tu" "$tb" "$(ratio "$tu" "$tb")" "true alone" ;;
		esac
	done
awk '/devices: walk of/ { nd = $1; on = 1; next } /^$/ { on = 0 } /^start-up:/ { on = 0 }
	on && NF >= 8 && $0 !~ /^  \(/ && $0 !~ /served by/ { n = NF; name = ""; for (i = 1; i <= n - 7; i++) name = name (i > 1 ? " " : "") $i; print nd "|" name "|" $(n-6) "|" $(n-5) "|" $(n-4) }' "$u" |
	while IFS='|' read -r nd mode c s w; do
		case $mode in
		baseline*) bc=$c bs=$s bw=$w ;;
		*)
			row "pci walk $nd dev [$mode]: cold (ms)" "$c" "$bc" "$(ratio "$c" "$bc")" "materialized copy, first walk"
			row "pci walk $nd dev [$mode]: second (ms)" "$s" "$bs" "$(ratio "$s" "$bs")" "materialized copy, second walk"
			row "pci walk $nd dev [$mode]: warm (ms)" "$w" "$bw" "$(ratio "$w" "$bw")" "materialized copy, best of 3"
			;;
		esac
	done

# resolver: "openat2 1000 | facts sys | open sys"
r=$OUT/resolver
for mode in openat2 walk; do
	for col in facts open; do
		read -r t1 s1 t10 s10 < <(awk -v m="$mode" -v c="$col" '$1 == m && $3 == "|" {
			t = (c == "facts") ? $4 : $7; s = (c == "facts") ? $5 : $8
			if ($2 == 1000) { a = t; b = s } else if ($2 == 10000) { d = t; e = s } }
			END { print a, b, d, e }' "$r")
		[ -n "$t1" ] || continue
		row "resolver [$mode] $col: ns/device at 10,000" "$t10" "$t1" "$(ratio "$t10" "$t1")" "same at 1,000 devices; target ~1.0x"
		row "resolver [$mode] $col: syscalls/lookup 10,000" "$s10" "$s1" "$(ratio "$s10" "$s1")" "same at 1,000 devices; target 1.00x"
	done
done

# resolver against libvirt's lookup (its VFIO-FD patch): syscalls per extra device, strace -f
read -r lvl lvv < <(awk '/^  libvirt.s lookup/ { a = $NF } /^  vfio-resolve --open/ { b = $(NF-2) } END { print a, b }' "$r")
if [ -n "${lvv:-}" ]; then
	row "open: syscalls per extra device, vfio-resolve" "$lvv" "$lvl" "$(ratio "$lvv" "$lvl")" "libvirt's lookup+open (checks nothing)"
fi

# validator: "mean per command line: parse P us + rules R us = T us; worst W us"
v=$OUT/validator
read -r vp vr vt vw < <(awk '/^mean per command line/ { print $6, $10, $13, $16 }' "$v")
if [ -n "${vt:-}" ]; then
	row "validator: us per command line (mean)" "$vt" "$vp" "$(ratio "$vt" "$vp")" "parse alone (ratio: with the rules)"
	row "validator: us per command line (worst)" "$vw" "$vt" "$(ratio "$vw" "$vt")" "mean"
else
	row "validator: us per command line" "-" "" "" "$(head -1 "$v")"
fi

# live: "  N  alone  with  toggles  ratio"
l=$OUT/live
awk '$1 ~ /^[0-9]+$/ && NF == 5 { print $1, $2, $3, $4 }' "$l" | while read -r nr alone with tps; do
	row "live: reader ops/s, $nr readers + writer" "$with" "$alone" "$(ratio "$with" "$alone")" "$nr readers alone ($tps toggles/s)"
done

# emul: under "fakesys run (N calls each):", "<call> <ns/call> <ratio>x" rows
e=$OUT/emul
read -r eplain ethrough epread eapi eregion econfig < <(awk '/^fakesys run \(/ { on = 1; next } /^$/ { on = 0 }
	on && /^plain ioctl/ { a = $(NF-1) } on && /^VFIO-type ioctl/ { b = $(NF-1) } on && /^pread of a \/proc/ { c = $(NF-1) }
	on && /^VFIO_GET_API_VERSION/ { d = $(NF-1) } on && /^VFIO_DEVICE_GET_REGION_INFO/ { f = $(NF-1) }
	on && /^pread of 4 bytes/ { g = $(NF-1) } END { print a, b, c, d, f, g }' "$e")
if [ -n "${eplain:-}" ]; then
	row "emul: ns per VFIO-type ioctl let through" "$ethrough" "$eplain" "$(ratio "$ethrough" "$eplain")" "a plain ioctl (allowed by the filter)"
	row "emul: ns per pread let through" "$epread" "$eplain" "$(ratio "$epread" "$eplain")" "a plain ioctl"
	row "emul: ns per emulated VFIO_GET_API_VERSION" "$eapi" "$eplain" "$(ratio "$eapi" "$eplain")" "a plain ioctl"
	row "emul: ns per emulated GET_REGION_INFO" "$eregion" "$eplain" "$(ratio "$eregion" "$eplain")" "a plain ioctl"
	row "emul: ns per emulated 4-byte config pread" "$econfig" "$eplain" "$(ratio "$econfig" "$eplain")" "a plain ioctl"
fi

# the scenario suite
sf=$(cat "$OUT/suite-fuse.time") sp=$(cat "$OUT/suite-plain.time")
row "fakesys test scenarios/ (FUSE), wall" "$(ms "$sf")" "$(ms "$sp")" "$(ratio "$sf" "$sp")" "--plain: $(grep -o '[0-9]* scenarios: .*' "$OUT/suite-plain" | sed 's/ (.*//')"
row "  (FUSE) result" "" "" "" "$(grep -o '[0-9]* scenarios: .*' "$OUT/suite-fuse" | sed 's/ (.*//')"
if [ -e "$OUT/ctest-scenario.time" ]; then
	sc=$(cat "$OUT/ctest-scenario.time")
	row "ctest -L scenario -j $(nproc), wall" "$(ms "$sc")" "$(ms "$sf")" "$(ratio "$sc" "$sf")" "fakesys test scenarios/ (one process)"
fi
echo "------------------------------------------------------------------------------------------------"
# no mount of this run left behind: a fakesys mount below the scratch
# directory ($TMPDIR, where every benchmark makes its mountpoints) that was
# not there before (exact with the private tmpfs of root; in a shared /tmp,
# another user's test may be named too)
left=$(comm -13 <(echo "$MOUNTS0") <(fakesys_mounts))
if [ -n "$left" ]; then
	echo "bench_all: fakesys mounts left behind:" $left >&2
	status=1
else
	echo "bench_all: no fakesys mount left under ${TMPDIR:-/tmp}"
fi
echo "bench_all: $(echo "$(now) $T0" | awk '{ printf "%.0f", $1 - $2 }') s in all"
exit "${status:-0}"
