#!/bin/sh
# The C sources as .clang-format says: check-format.sh SOURCE_DIR
# Every *.c and *.h of the sources (not build*/) against clang-format's output (the project's
# style, .clang-format at the top); exits 77 (skipped) without clang-format.
# To fix: clang-format -i FILE...
set -u
src=$1
fmt=$(command -v clang-format || command -v clang-format-14 || true)
if [ -z "$fmt" ]; then
	echo "SKIP: clang-format is not installed (apt-get install clang-format)" >&2
	exit 77
fi
cd "$src" || exit 1
bad=0
n=0
# the sources, not the build trees (build*/) nor git's own files
for f in $(find . \( -name 'build*' -o -name .git \) -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print | sort); do
	n=$((n + 1))
	if ! "$fmt" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f" >&2
		"$fmt" --style=file "$f" | diff -u "$f" - | head -n 20 >&2
		bad=$((bad + 1))
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "FAIL: $bad of $n files differ from .clang-format's style (clang-format -i FILE)" >&2
	exit 1
fi
echo "format: $n files as .clang-format says"
