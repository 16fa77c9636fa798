#!/bin/sh
# The layout's rules, checked on the source tree (docs/architecture.md, "Layout"):
#  1. data flows one way: a part includes only its own headers and those of the
#     parts below it:
#         common <- resolver <- fakesys <- conformance
#                   resolver <- validator <- doctor <- conformance
#  2. no source file of a part reaches into another part's src/ by a relative path;
#  3. no source file is longer than 1,000 lines, the tests' (tests/: C, shell
#     and Python) included.
# Prints every violation and exits 1 when there is one.
set -eu
src=${1:?usage: check-layout.sh SOURCE_DIR}
cd "$src"
fail=0

# The part a public header <vfiokit/NAME.h> belongs to: the part whose include/ holds it.
part_of_header() {
	for p in common resolver fakesys validator doctor; do
		[ -e "$p/include/vfiokit/$1" ] && { echo "$p"; return; }
	done
	echo unknown
}

# Rule 3 for file $1.
too_long() {
	n=$(wc -l <"$1")
	if [ "$n" -gt 1000 ]; then
		echo "$1: $n lines (over 1,000: split it by concern)"
		fail=1
	fi
}

# Which parts part $1 may include.
allowed() {
	case $1 in
	common) echo "common" ;;
	resolver) echo "common resolver" ;;
	fakesys) echo "common resolver fakesys" ;;
	validator) echo "common resolver validator" ;;
	doctor) echo "common resolver validator doctor" ;;
	conformance) echo "common resolver fakesys validator doctor conformance" ;;
	esac
}

for part in common resolver fakesys validator doctor conformance; do
	ok=$(allowed "$part")
	files=$(find "$part" -name '*.c' -o -name '*.h' -o -name '*.inc' | sort)
	for f in $files; do
		for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<vfiokit\/\([^>]*\)>.*/\1/p' "$f"); do
			hp=$(part_of_header "$h")
			case " $ok " in
			*" $hp "*) ;;
			*) echo "$f: includes <vfiokit/$h> of $hp, above $part"; fail=1 ;;
			esac
		done
		if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(\.\./)+' "$f" >/dev/null; then
			echo "$f: reaches into another folder with a relative #include:"
			grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(\.\./)+' "$f"
			fail=1
		fi
		too_long "$f"
	done
done

# The tests are held to rule 3 too (their includes are free: a test may use any part).
for f in $(find tests \( -name '*.c' -o -name '*.h' -o -name '*.inc' -o -name '*.sh' -o -name '*.py' \) | sort); do
	too_long "$f"
done
[ $fail -eq 0 ] && echo "layout: ok"
exit $fail
