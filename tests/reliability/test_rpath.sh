#!/bin/sh
# Runtime search paths of what the build makes (issue #22):
#  1. every ELF executable and shared library of the build tree has RUNPATH/RPATH
#     elements that are absolute or $ORIGIN-based: an empty element (CMake's
#     install-rewrite padding, "a:b:") or a relative one means the current
#     directory to ld.so;
#  2. run from a directory holding a planted (broken) copy of every library the
#     build needs, every executable still resolves its libraries elsewhere
#     (LD_TRACE_LOADED_OBJECTS), and the CLIs run;
#  3. installed copies (cmake --install, with and without DESTDIR) carry no
#     RPATH/RUNPATH at all.
# Exits 77 (skipped) without readelf (binutils).
#   test_rpath.sh BUILD_DIR CMAKE
set -u
B=$(cd "${1:?build dir}" && pwd) || exit 1
CMAKE=${2:-cmake}

if ! command -v readelf >/dev/null 2>&1; then
	echo "SKIP: readelf is not installed (apt-get install binutils)" >&2
	exit 77
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/vfiokit-rpath.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
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

# The elements of an object's RUNPATH and RPATH, one per line ("<empty>" for an empty one).
path_elements() {
	readelf -d "$1" 2>/dev/null | sed -n 's/.*(\(RPATH\|RUNPATH\)).*\[\(.*\)\]$/\2/p' |
		awk -F: '{ for (i = 1; i <= NF; i++) print ($i == "" ? "<empty>" : $i) }'
}

# 0 when an element may stay: absolute, or relative to the object ($ORIGIN).
element_ok() {
	case $1 in
	/*) return 0 ;;
	'$ORIGIN' | '$ORIGIN/'* | '${ORIGIN}' | '${ORIGIN}/'*) return 0 ;;
	*) return 1 ;;
	esac
}

# The checker itself must refuse what it is for.
for bad in '<empty>' 'lib' '../resolver' '.'; do
	element_ok "$bad" && fail "the check accepts the element '$bad'"
done
for good in '/usr/lib' '$ORIGIN' '$ORIGIN/../resolver'; do
	element_ok "$good" || fail "the check refuses the element '$good'"
done
if command -v cc >/dev/null 2>&1; then
	echo 'int main(void) { return 0; }' >"$W/canary.c"
	if cc -o "$W/canary" "$W/canary.c" -Wl,-rpath,/usr/lib: 2>/dev/null; then
		path_elements "$W/canary" | grep -qx '<empty>' ||
			fail "an RUNPATH with a trailing ':' is not seen as an empty element: $(path_elements "$W/canary" | tr '\n' ' ')"
	fi
fi

# 1. the build tree
elfs=$(find "$B" -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' \) -not -path '*/CMakeFiles/*' |
	while read -r f; do readelf -h "$f" >/dev/null 2>&1 && echo "$f"; done)
n=$(echo "$elfs" | grep -c .)
for cli in resolver/vfio-resolve validator/vfio-validate doctor/vfio-doctor fakesys/fakesys; do
	echo "$elfs" | grep -qx "$B/$cli" || fail "$B/$cli is not among the ELF files found"
done
with_path=0
for f in $elfs; do
	els=$(path_elements "$f")
	[ -n "$els" ] && with_path=$((with_path + 1))
	for e in $els; do
		element_ok "$e" || fail "${f#"$B"/}: RUNPATH/RPATH element '$e' is neither absolute nor \$ORIGIN-based"
	done
done
echo "checked $n ELF files of the build tree ($with_path with a RUNPATH/RPATH)"

# 2. planted libraries in the working directory
mkdir -p "$W/cwd"
for so in $(for f in $elfs; do readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; done | sort -u); do
	printf 'not a library: planted by test_rpath.sh\n' >"$W/cwd/$so"
done
planted=$(ls "$W/cwd" | wc -l)
for f in $elfs; do
	case $f in *.so | *.so.*) continue ;; esac
	# a static program has no ld.so to trace: it would just run
	readelf -l "$f" 2>/dev/null | grep -q 'INTERP' || continue
	out=$(cd "$W/cwd" && LD_TRACE_LOADED_OBJECTS=1 "$f" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || echo "$out" | grep -q "$W/cwd\|planted\|invalid ELF\|too short"; then
		fail "${f#"$B"/} run from a directory of planted libraries: $(echo "$out" | grep -v '=> /' | head -3 | tr '\n' ' ') (status $rc)"
	fi
done
for cli in resolver/vfio-resolve validator/vfio-validate doctor/vfio-doctor fakesys/fakesys; do
	out=$(cd "$W/cwd" && "$B/$cli" --version 2>&1) || fail "$cli --version in a directory of planted libraries: $out"
done
echo "ran every executable from a directory of $planted planted libraries"

# 3. installed copies
"$CMAKE" --install "$B" --prefix "$W/prefix" >"$W/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$W/install.log")"
DESTDIR="$W/destdir" "$CMAKE" --install "$B" --prefix /usr/local >"$W/install2.log" 2>&1 ||
	fail "DESTDIR=... cmake --install: $(tail -3 "$W/install2.log")"
ni=0
for f in $(find "$W/prefix" "$W/destdir" -type f); do
	readelf -h "$f" >/dev/null 2>&1 || continue
	ni=$((ni + 1))
	els=$(path_elements "$f")
	[ -z "$els" ] || fail "installed ${f#"$W"/} has a RUNPATH/RPATH: $(echo $els)"
done
[ "$ni" -ge 8 ] || fail "only $ni ELF files installed (want the 4 programs and 4 libraries, twice)"
echo "checked $ni installed ELF files: no RUNPATH/RPATH"

if [ "$failed" -ne 0 ]; then
	echo "$failed failed"
	exit 1
fi
echo "rpath: ok"
