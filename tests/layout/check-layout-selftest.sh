#!/bin/sh
# check-layout.sh against small trees of its own: it must fail on each rule it
# states (a test file over 1,000 lines, a source file over 1,000 lines, a header
# that points up) and pass a tree that keeps them (exactly 1,000 lines is fine).
# usage: check-layout-selftest.sh SOURCE_DIR
set -eu
check=${1:?usage: check-layout-selftest.sh SOURCE_DIR}/tests/layout/check-layout.sh
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
fail=0

# A tree with the parts' folders, empty but for what a case adds.
fresh() {
	rm -rf "$top/t"
	for p in common resolver fakesys validator doctor conformance; do
		mkdir -p "$top/t/$p/include/vfiokit" "$top/t/$p/src"
	done
	mkdir -p "$top/t/tests/fakesys"
}

# expect STATUS PHRASE WHAT: check-layout.sh on the tree exits STATUS and says PHRASE
expect() {
	set +e
	out=$(sh "$check" "$top/t" 2>&1)
	st=$?
	set -e
	if [ "$st" -ne "$1" ] || ! printf '%s\n' "$out" | grep -qF -- "$2"; then
		echo "FAIL: $3: exit $st (want $1), output: $out"
		fail=1
	fi
}

fresh
seq 1000 >"$top/t/tests/fakesys/test_a.c"
expect 0 "layout: ok" "a test file of 1,000 lines"

fresh
seq 1001 >"$top/t/tests/fakesys/test_a.c"
expect 1 "tests/fakesys/test_a.c: 1001 lines (over 1,000" "a test file of 1,001 lines"

fresh
seq 1001 >"$top/t/tests/fakesys/helper.sh"
expect 1 "tests/fakesys/helper.sh: 1001 lines" "a test script of 1,001 lines"

fresh
seq 1001 >"$top/t/fakesys/src/a.c"
expect 1 "fakesys/src/a.c: 1001 lines" "a source file of 1,001 lines"

fresh
touch "$top/t/doctor/include/vfiokit/doctor.h"
echo '#include <vfiokit/doctor.h>' >"$top/t/resolver/src/a.c"
expect 1 "resolver/src/a.c: includes <vfiokit/doctor.h> of doctor, above resolver" "a header pointing up"

[ $fail -eq 0 ] && echo "layout selftest: ok"
exit $fail
