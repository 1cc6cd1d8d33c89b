#!/bin/sh
# The man page lints clean (mandoc, groff, man) and names every command and flag
# the binary's --help prints; bash completion offers each of them (TAP).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
BIN=${CW_BIN:-build/cachewatch}
MAN=docs/man/cachewatch.1
COMP=deploy/completion/cachewatch
T=$(mktemp -d /tmp/cw-man.XXXXXX)
trap 'rm -rf "$T"' EXIT

out=$(mandoc -T lint "$MAN" 2>&1) && [ -z "$out" ] && ok "mandoc -T lint: clean" ||
	not_ok "mandoc -T lint: clean" "$out"
out=$(groff -ww -man -z "$MAN" 2>&1) && [ -z "$out" ] && ok "groff -ww: no warnings" ||
	not_ok "groff -ww: no warnings" "$out"
out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >"$T/man.txt") && [ -z "$out" ] &&
	ok "man -l renders without warnings" || not_ok "man -l renders without warnings" "$out"
col -b <"$T/man.txt" >"$T/man.plain"

# The commands from the top-level help, then each command's flags from its help.
cmds=$("$BIN" --help | awk '/^Commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 }')
[ -n "$cmds" ] && ok "the top-level help lists commands: $(echo $cmds)" || not_ok "the top-level help lists commands"
for c in $cmds; do
	grep -qE "cachewatch $c( |$)" "$T/man.plain" && ok "man page: command $c" ||
		not_ok "man page: command $c" "no 'cachewatch $c' in the rendered page"
done

# complete CMD WORD: what bash completion offers for `cachewatch CMD WORD`
complete_word() {
	bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1"
		COMP_WORDS=(cachewatch $2 "$3"); COMP_CWORD=2
		COMP_LINE="cachewatch $2 $3"; COMP_POINT=${#COMP_LINE}
		_cachewatch cachewatch "$3" "$2"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP" "$1" "$2"
}
complete_cmd() {
	bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1"
		COMP_WORDS=(cachewatch "$2"); COMP_CWORD=1
		COMP_LINE="cachewatch $2"; COMP_POINT=${#COMP_LINE}
		_cachewatch cachewatch "$2" cachewatch
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP" "$1"
}
for c in $cmds; do
	complete_cmd "$(echo "$c" | cut -c1-3)" | grep -qx "$c" && ok "completion: command $c" ||
		not_ok "completion: command $c"
done

total=0
for c in run top check-config purge; do
	# Every flag the help mentions must be in the man page; the flags of its
	# option lines (those starting with a dash) must also complete.
	help=$("$BIN" "$c" --help)
	flags=$(echo "$help" | grep -oE '(^|[ ,[])--?[a-z][a-z0-9.-]*[a-z]' | sed 's/^[ ,[]//' | sort -u)
	own=$(echo "$help" | grep -E '^ +-' | sed -E 's/^ +//; s/(  |[ =][A-Z[]).*//' | tr ',' '\n' | tr -d ' ' | sort -u)
	for f in $flags; do
		total=$((total + 1))
		grep -qE -- "(^|[^a-z.-])$f([^a-z.-]|$)" "$T/man.plain" && ok "man page: $c $f" ||
			not_ok "man page: $c $f" "'$f' of '$c --help' is not in the rendered man page"
	done
	for f in $own; do
		complete_word "$c" "$f" | grep -qxE -- "$f=?" && ok "completion: $c $f" ||
			not_ok "completion: $c $f" "offered for '$f': $(complete_word "$c" "$f" | tr '\n' ' ')"
	done
done
[ "$total" -ge 40 ] && ok "$total flags checked in all (at least 40)" || not_ok "$total flags checked (want at least 40)"
# the value of an --opt=VALUE flag
out=$(bash -c '
	. /usr/share/bash-completion/bash_completion; . "$1"
	COMP_WORDS=(cachewatch run --log.level ""); COMP_CWORD=3
	COMP_LINE="cachewatch run --log.level "; COMP_POINT=${#COMP_LINE}
	_cachewatch; printf "%s " "${COMPREPLY[@]}"' _ "$COMP")
check_eq "completion: values of --log.level" "$out" "debug info warn error "
tap_end
