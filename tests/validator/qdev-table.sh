#!/bin/sh
# The built-in device table is what Debian's QEMU says: regenerate it from the
# installed qemu-system-x86_64 (validator/tools/gen-qdev-table.sh) and compare
# with validator/src/qdev_table_MMmm.inc of that version.  Skipped (77) without
# that QEMU, or when the installed one is a version the repository has no table for.
set -eu
src=${VK_SOURCE_DIR:?}
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || { echo "SKIP: qemu-system-x86_64 is not installed" >&2; exit 77; }
tag=$("$qemu" -version | sed -n 's/^QEMU emulator version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | { read -r a b; printf '%u%02u' "$a" "$b"; })
table=$src/validator/src/qdev_table_$tag.inc
[ -f "$table" ] || { echo "SKIP: no built-in table for QEMU $tag (have: $(ls "$src"/validator/src/qdev_table_*.inc))" >&2; exit 77; }
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.a" "$tmp.b"' EXIT
"$src/validator/tools/gen-qdev-table.sh" "$qemu" >"$tmp"
# the first line and the label name the exact build (a Debian point release
# moves the micro version): compare the rest
tail -n +2 "$table" >"$tmp.a"
tail -n +2 "$tmp" | sed 's/\(QEMU [0-9]*\.[0-9]*\)\.[0-9]* (built-in table)/\1.x (built-in table)/' >"$tmp.b"
sed -i 's/\(QEMU [0-9]*\.[0-9]*\)\.[0-9]* (built-in table)/\1.x (built-in table)/' "$tmp.a"
if ! cmp -s "$tmp.a" "$tmp.b"; then
	echo "validator/src/qdev_table_$tag.inc differs from what $qemu says now:" >&2
	diff -u "$tmp.a" "$tmp.b" | head -n 40 >&2
	echo "0 passed, 1 failed"
	exit 1
fi
echo "qdev table $tag matches $($qemu -version | head -n 1)"
echo "1 passed, 0 failed"
