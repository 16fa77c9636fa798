#!/bin/bash
# contrib/bash-completion/vfiokit, sourced in a plain bash (no
# bash-completion package): what <TAB> offers at each kind of place, and that
# the options it offers are exactly those each program's --help lists.
# Usage: test_completion.sh BUILD_DIR SOURCE_DIR VERSION
. "$(dirname "$0")/lib.sh"
tree
COMPLETION=$S/contrib/bash-completion/vfiokit

# complete WORD...: what the completion offers for the command line WORD...
# (the last word is the one being completed), one per line, sorted.
complete_line() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		case $1 in
		fakesys) _fakesys ;; vfio-resolve) _vfio_resolve ;; vfio-validate) _vfio_validate ;; vfio-doctor) _vfio_doctor ;;
		esac
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$COMPLETION" "$@"
}
# expect "WANT (one per line)" WORD...
expect() {
	local want=$1 got
	shift
	got=$(complete_line "$@")
	[ "$got" = "$want" ] || fail "complete '$*': got [$(echo $got)], want [$(echo $want)]"
}

# the registration
bash --norc --noprofile -c 'source "$1" && complete -p fakesys vfio-resolve vfio-validate vfio-doctor' _ "$COMPLETION" >"$W/reg" 2>&1 ||
	fail "the four programs are not registered: $(cat "$W/reg")"

expect "show" fakesys sh
expect "$(printf '%s\n' import-umockdev)" fakesys im
expect "$(printf '%s\n' materialize mount)" fakesys m
expect "$(printf '%s\n' -V -h -q --help --quiet --version | sort)" fakesys -
expect "$(printf '%s\n' --live --log --log-lookups)" fakesys mount --l
expect "--lazy" fakesys -q umount --la
expect "show" fakesys help sh
expect "--legacy" vfio-resolve --json --l
# "--opt=" as bash splits it (COMP_WORDBREAKS has =), and whole (it has not)
expect "$(printf '%s\n' json keyval)" vfio-resolve --syntax =
expect "json" vfio-resolve --syntax = j
expect "$(printf '%s\n' --syntax=json --syntax=keyval)" vfio-resolve --syntax=
expect "$(printf '%s\n' always auto never)" vfio-doctor --color =
expect "$(printf '%s\n' --color=always --color=auto --color=never)" vfio-doctor --color=
expect "always" vfio-validate --color = al
expect "$(printf '%s\n' json prometheus text)" vfio-doctor --format ''
expect "prometheus" vfio-doctor --format p
expect "unlimited" vfio-doctor --memlock u
# PCI addresses from the --root on the line
expect "$(ls "$W/tree/sys/bus/pci/devices" | grep '^0000:01' | sort)" vfio-resolve --root "$W/tree" 0000:01
expect "$(ls "$W/tree/sys/bus/pci/devices" | grep '^0000:01' | sort)" vfio-doctor --root="$W/tree" --no-qemu 0000:01
# files and directories where they go
touch "$W/scen-a.yaml" "$W/scen-b.yaml"
expect "$(printf '%s\n' "$W/scen-a.yaml" "$W/scen-b.yaml")" fakesys show "$W/scen-"
mkdir "$W/dir-x"
expect "$W/dir-x" fakesys run --tmpdir "$W/dir-"
# fakesys run: after the scenario, a command
for line in "fakesys run $W/scen-a.yaml" "fakesys run --live $W/scen-a.yaml" "vfio-resolve 0000:01:00.0 --exec"; do
	got=$(complete_line $line bas)
	printf '%s\n' "$got" | grep -qx bash || fail "complete '$line bas': no bash in [$(echo $got)]"
	[ -z "$(printf '%s\n' "$got" | grep -v '^bas')" ] || fail "complete '$line bas': [$(echo $got)]"
	[ "$(printf '%s\n' "$got" | sort -u)" = "$got" ] || fail "complete '$line bas': twice: [$(echo $got)]"
done
# the scenario itself is a file, not a command
expect "$W/scen-a.yaml" fakesys run --live "$W/scen-a"

# the options offered are those of --help, for each program and command
opts_of_help() { grep -oE -- '(^|[ ,\[])--?[a-zA-Z][a-z0-9-]*' | sed 's/^[ ,[]//' | sort -u; }
check_opts() { # NAME "HELP OPTIONS" "COMPLETION OPTIONS"
	[ "$2" = "$3" ] || fail "$1: --help and the completion differ: $(diff <(echo "$2") <(echo "$3") | grep '^[<>]' | tr '\n' ' ')"
}
for t in vfio-resolve vfio-validate vfio-doctor; do
	case $t in vfio-resolve) bin=$RESOLVE ;; vfio-validate) bin=$VALIDATE ;; vfio-doctor) bin=$DOCTOR ;; esac
	# the option column of the help: lines starting with spaces and a dash
	h=$("$bin" --help | grep -E '^ +-' | opts_of_help)
	c=$(complete_line $t - | grep -v '^--$')
	[ "$t" = vfio-validate ] && h=$(printf '%s\n' $h --args-file --pid | sort -u) # in its usage lines
	check_opts "$t" "$h" "$c"
done
for cmd in mount umount run record import-umockdev test materialize show; do
	h=$("$FAKESYS" $cmd --help | grep -E '^ +-' | opts_of_help)
	c=$(complete_line fakesys $cmd -)
	check_opts "fakesys $cmd" "$h" "$c"
done
h=$("$FAKESYS" --help | sed -n '/^Options:/,$p' | grep -E '^ +-' | opts_of_help)
check_opts "fakesys" "$h" "$(complete_line fakesys -)"
h=$("$FAKESYS" --help | sed -n '/^Commands:/,/^$/p' | grep -E '^  [a-z]' | awk '{print $1}' | sort)
check_opts "fakesys commands" "$(printf '%s\n' $h help | sort)" "$(complete_line fakesys '')"

finish
