#!/bin/bash
# docs/architecture.md's map ("## Layout" table) against the tree:
#  1. every folder the map lists exists;
#  2. every folder of a part holding sources is in the
#     map: itself, or the part it belongs to, but each concern folder of
#     fakesys/src/ by its own row;
#  3. every source file a row names (`name.c`, `src/name.c`, `name.h`) exists
#     in that row's folder.
# usage: check-map.sh SOURCE_DIR [MAP_FILE]   (prints each difference, exit 1)
set -eu
src=${1:?usage: check-map.sh SOURCE_DIR [MAP_FILE]}
cd "$src"
map=${2:-docs/architecture.md}
fail=0

rows=$(awk '/^## Layout/ { on = 1; next } on && /^## / { exit } on && /^\| `[^`]*` \|/' "$map")
[ -n "$rows" ] || { echo "$map: no '## Layout' table with '| \`folder\` | ... |' rows"; exit 1; }
folders=$(printf '%s\n' "$rows" | sed -n 's/^| `\([^`]*\)` |.*/\1/p')

# 1. the rows' folders
for f in $folders; do
	case $f in *"<"*) continue ;; esac
	[ -d "$f" ] || { echo "$map: lists $f, which is not a folder of the tree"; fail=1; }
done

# 2. the folders that hold sources
listed() { # listed DIR: the row that covers DIR
	local d=$1/
	case $d in
	fakesys/src/*) printf '%s\n' "$folders" | grep -qx "$(echo "$d" | cut -d/ -f1-3)/" ;;
	*) for f in $folders; do case $d in "$f"*) return 0 ;; esac; done; return 1 ;;
	esac
}
for d in $(find common resolver fakesys validator doctor conformance \( -name '*.c' -o -name '*.h' \) -printf '%h\n' | sort -u); do
	listed "$d" || { echo "$map: $d holds sources but has no row in the map"; fail=1; }
done

# 3. the files each row names
while IFS= read -r row; do
	f=$(printf '%s\n' "$row" | sed -n 's/^| `\([^`]*\)` |.*/\1/p')
	case $f in *"<"*) continue ;; esac
	for name in $(printf '%s\n' "$row" | sed 's/^| `[^`]*` |//' | grep -o '`[A-Za-z0-9_./-]*\.[ch]`' | tr -d '`'); do
		if [ -e "$f$name" ] || [ -n "$(find "$f" -name "$(basename "$name")" -print -quit)" ]; then
			continue
		fi
		echo "$map: the row of $f names $name, which is not there"
		fail=1
	done
done <<<"$rows"
[ $fail -eq 0 ] && echo "map: ok"
exit $fail
