#!/bin/sh
# The suite's leak check: suite-leaks.sh before|after BINARY_DIR
#
# ctest runs `before` first (FIXTURES_SETUP) and `after` last (FIXTURES_CLEANUP
# of the fixture every other test requires, tests/CMakeLists.txt), also under
# ctest -j.  Both take the same snapshot of what a test of this suite may leave
# behind; `after` fails when the second has anything the first did not:
#   - a fuse.fakesys mount whose server (its fsname fakesys:<pid>) is a
#     process of this suite;
#   - a process of this suite: this build's fakesys, or any process whose
#     environment holds VK_SUITE_ID=BINARY_DIR (every test gets it, and all
#     they start inherit it: fakesys daemons, fusermount3 helpers, commands);
#   - where nothing else runs (CI set), also any mount under $TMPDIR/vfiokit*
#     or /tmp/vfiokit* (where the tests make their directories: a stale mount
#     whose server is dead can be told by its place only), and any process
#     naming such a path.
# On a shared machine the last kind may be another build's: it is listed as a
# note, not counted.  A zombie has neither environment nor command line: it is
# not counted.
#
# `before` never fails: a snapshot it cannot take is written down as such, and
# `after` fails with the reason.  (A failing setup would turn every other test
# into "Not Run" instead of naming the one problem.)
set -u
mode=${1:-}
bin=${2:-}
if [ -z "$bin" ] || { [ "$mode" != before ] && [ "$mode" != after ]; }; then
	echo "usage: $0 before|after BINARY_DIR" >&2
	exit 2
fi
state=$bin/suite-leaks.before
fakesys=$bin/fakesys/fakesys
tmp=${TMPDIR:-/tmp}
tmp=${tmp%/}
places="/tmp/vfiokit*"
[ "$tmp" != /tmp ] && places="$tmp/vfiokit* or /tmp/vfiokit*"
grace=${VK_SUITE_LEAK_GRACE:-15}
export VK_SUITE_LEAKS_SELF=$$

pids_of() {
	sed -n 's|^/proc/\([0-9]*\)/.*|\1|p' | sort -u
}

# The PIDs of processes found by "$@" (grep -l or find over /proc), but this
# script and what it runs: the programs it starts inherit VK_SUITE_LEAKS_SELF;
# the shell itself and its forked subshells do not show it (/proc/PID/environ
# is the environment given to execve, not what the shell exported since), so
# they are told by their command line, which is this script's own.
without_self() {
	self=" $(grep -lzxF "VK_SUITE_LEAKS_SELF=$$" /proc/[0-9]*/environ 2>/dev/null | pids_of | tr '\n' ' ') "
	"$@" 2>/dev/null | pids_of | while read -r pid; do
		case "$self" in *" $pid "*) continue ;; esac
		cmp -s "/proc/$pid/cmdline" /proc/$$/cmdline && continue
		echo "$pid"
	done
}

ours() {
	grep -lzxF "VK_SUITE_ID=$bin" /proc/[0-9]*/environ
	find /proc/[0-9]*/exe -maxdepth 0 -lname "$fakesys"
}

in_tmp() {
	grep -lzE "^($tmp|/tmp)/vfiokit" /proc/[0-9]*/cmdline
}

# One line per process of @1 (a list of PIDs): "process PID STARTTIME CMDLINE".
describe() {
	for pid in $1; do
		start=$(awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$pid/stat" 2>/dev/null)
		[ -n "$start" ] || continue # gone meanwhile
		cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | cut -c1-200)
		echo "process $pid $start $cmd"
	done
}

# What is this suite's for sure, one line each; with @1 = tmp, what is only
# in the tests' places (see above).
snapshot() {
	pids=$(without_self ours)
	awk -v tmp="$tmp" -v want="$1" '
	{
		mp = $5
		for (i = 7; i <= NF; i++)
			if ($i == "-") { fs = $(i + 1); src = $(i + 2); break }
		if (want == "tmp" && (index(mp, tmp "/vfiokit") == 1 || index(mp, "/tmp/vfiokit") == 1))
			print "mount " $1 " " mp " " fs " " src
		else if (want != "tmp" && fs == "fuse.fakesys")
			print "fakesys-mount " $1 " " mp " " src
	}' /proc/self/mountinfo | while read -r kind id mp a b; do
		if [ "$kind" = mount ]; then
			echo "mount $id $mp $a $b"
		elif [ -n "$pids" ] && printf '%s\n' $pids | grep -qx "${a#fakesys:}"; then
			echo "mount $id $mp fuse.fakesys $a" # its server is ours
		fi
	done
	if [ "$1" = tmp ]; then
		describe "$(without_self in_tmp)"
	else
		describe "$pids"
	fi
}

if [ "$mode" = before ]; then
	rm -f "$state" "$state.tmp"
	if ! { snapshot ours && snapshot tmp | sed 's/^/tmp /'; } | sort > "$state.tmp" ||
	   ! mv "$state.tmp" "$state"; then
		echo "ERROR: cannot take the snapshot (is /proc mounted?)" > "$state"
		echo "suite-leaks: cannot take the snapshot; suite/leaks-after will fail with this" >&2
		exit 0
	fi
	echo "suite-leaks: before the tests, $(grep -vc '^tmp ' "$state") mount(s) and process(es) of this" \
	     "suite, $(grep -c '^tmp ' "$state") under $places"
	cat "$state"
	exit 0
fi

if [ ! -f "$state" ]; then
	echo "FAIL: no snapshot from before the suite ($state): suite/leaks-before did not run" >&2
	exit 1
fi
if grep -q '^ERROR: ' "$state"; then
	echo "FAIL: suite/leaks-before could not take its snapshot: $(sed -n 's/^ERROR: //p' "$state")" >&2
	exit 1
fi
now=$(mktemp "$tmp/suite-leaks.XXXXXX") || exit 1
trap 'rm -f "$now"' EXIT
# Processes may still be on their way out (a fusermount3 helper ends once its
# server's socket closed): wait up to $grace s for what counts to go.
i=0
while :; do
	{ snapshot ours && snapshot tmp | sed 's/^/tmp /'; } | sort > "$now"
	new=$(comm -13 "$state" "$now")
	sure=$(printf '%s\n' "$new" | grep -v '^tmp ' | grep -v '^$')
	maybe=$(printf '%s\n' "$new" | sed -n 's/^tmp //p')
	if [ -n "${CI:-}" ]; then
		sure=$(printf '%s\n%s\n' "$sure" "$maybe" | grep -v '^$')
		maybe=
	fi
	[ -z "$sure" ] && break
	i=$((i + 1))
	[ "$i" -ge $((grace * 4)) ] && break
	sleep 0.25
done
if [ -n "$maybe" ]; then
	echo "note: new under $places, maybe another build's (counted with CI set):"
	echo "$maybe"
fi
if [ -n "$sure" ]; then
	echo "FAIL: the suite left behind (not there before it; waited ${grace} s):" >&2
	echo "$sure" >&2
	exit 1
fi
echo "suite-leaks: no mount and no process of this suite left behind"
exit 0
