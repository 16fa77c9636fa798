# Shared by the cli/ tests: sourced with $1 = build dir, $2 = source dir, $3 = version.
set -u
B=$1 S=$2 VERSION=$3
FAKESYS=$B/fakesys/fakesys RESOLVE=$B/resolver/vfio-resolve VALIDATE=$B/validator/vfio-validate
DOCTOR=$B/doctor/vfio-doctor
W=$(mktemp -d "${TMPDIR:-/tmp}/vk-cli.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# run NAME CMD...: stdout to $W/NAME.out, stderr to $W/NAME.err, status in $rc
run() {
	local name=$1
	shift
	"$@" >"$W/$name.out" 2>"$W/$name.err"
	rc=$?
}
# expect_rc WANT WHAT
expect_rc() { [ "$rc" = "$1" ] || fail "$2: exit $rc, want $1; stderr: $(head -c 600 "$W/$3.err")"; }
has() { grep -qF -- "$2" "$W/$1" || fail "$1 lacks '$2': $(head -c 600 "$W/$1")"; }
hasnt() { ! grep -qF -- "$2" "$W/$1" || fail "$1 has '$2': $(head -c 600 "$W/$1")"; }
empty() { [ ! -s "$W/$1" ] || fail "$1 is not empty: $(head -c 600 "$W/$1")"; }
finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures failure(s)" >&2
		exit 1
	fi
	echo "all passed"
	exit 0
}
# a fake host: scenarios/default.yaml as a plain tree in $W/tree
tree() {
	"$FAKESYS" materialize "$S/scenarios/${1:-default}.yaml" "$W/${2:-tree}" || { echo "materialize failed" >&2; exit 1; }
}
