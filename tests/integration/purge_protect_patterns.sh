#!/bin/sh
# Protect patterns (TAP): patterns that can never match are refused with
# FILE:LINE:COL by the config loader and by `cachewatch purge --protect`;
# "**/*.lock" protects at every depth in a real purge.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
. tests/lib/tap.sh
T=$(mktemp -d /tmp/cw-protect.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/c"

# bad pattern, the column of its problem (1-based, in the file), the message
while IFS='|' read -r pat col says; do
	printf 'caches:\n  - name: c\n    path: %s\n    purge:\n      max_age: 1d\n      protect:\n        - ok.lock\n        - %s\n' \
		"$T/c" "$pat" >"$T/cfg.yml"
	"$BIN" check-config --config.file "$T/cfg.yml" >"$T/out" 2>&1
	rc=$?
	if [ $rc -eq 2 ] && grep -qF "$T/cfg.yml:8:$col: caches[0].purge.protect[1]: protect pattern" "$T/out" &&
		grep -qF "$says" "$T/out"; then
		ok "config refuses protect pattern $pat at 8:$col"
	else
		not_ok "config refuses protect pattern $pat at 8:$col" "rc $rc: $(cat "$T/out")"
	fi
	p=$(echo "$pat" | sed "s/^'//; s/'\$//")
	"$BIN" purge --dry-run --max-age 1d --protect "$p" "$T/c" >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -qF "$says" "$T/out" && ok "cachewatch purge --protect refuses $p" ||
		not_ok "cachewatch purge --protect refuses $p" "rc $rc: $(cat "$T/out")"
done <<'EOF2'
keep/|15|ends with "/"
./keep|11|starts with "./"
'/keep'|12|starts with "/"
'['|12|never closed
a/**b|13|whole path component
a//b|13|empty path component
EOF2

# "**/*.lock" at every depth, in a real purge
OLD=$(date -d '-40 days' '+%Y-%m-%d %H:%M:%S')
for f in x.lock a/x.lock a/b/x.lock a/b/c/x.lock x.o a/x.o a/b/c/x.o; do
	mkdir -p "$(dirname "$T/c/$f")"
	echo "$f" >"$T/c/$f"
done
find "$T/c" -type f -exec touch -d "$OLD" {} +
"$BIN" purge --max-age 1d --rate-limit 0 --protect '**/*.lock' "$T/c" >"$T/out" 2>&1
check_eq "purge with --protect '**/*.lock' exits 0" "$?" 0
check_eq "every *.lock is kept, at every depth; every *.o went" \
	"$(cd "$T/c" && find . -type f | sort | tr '\n' ' ')" "./a/b/c/x.lock ./a/b/x.lock ./a/x.lock ./x.lock "
tap_end
