#!/bin/sh
# Purge of 100k real files (TAP): exactly the oldest go, dry run lists the same
# ones, and peak memory stays bounded. Correctness only; no timing assertions.
set -u
BIN=${CW_BIN:-build/cachewatch}
TOOLS=${CW_TESTS:-build/tests}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
case "$TOOLS" in /*) ;; *) TOOLS="$(pwd)/$TOOLS" ;; esac
T=$(mktemp -d /tmp/cw-purge-large.XXXXXX)
trap 'rm -rf "$T"' EXIT
. tests/lib/tap.sh
check() { check_eq "$3" "$1" "$2"; } # check GOT WANT NAME
N=100000
MAX_RSS_KIB=65536 # histogram 40 KiB + candidate budget 16 MiB + walk stack; far below

# file i is used 3600+i seconds ago: the higher i, the older
"$TOOLS/purge_mkfiles" "$T/c" $N 4096 100 3600 1 || { echo "not ok 1 - cannot create files"; exit 1; }
# 390.625MiB > 360MiB (90% of 400MiB): down to 320MiB, i.e. 81920 files stay
KEEP=81920

"$BIN" purge --dry-run -v --max-size 400MiB "$T/c" >"$T/dry" 2>"$T/err"
check "$?" 0 "dry run over $N files exits 0"
sed -n 's|^would-delete *size *4096 .*/f\([0-9]*\)$|\1|p' "$T/dry" | sort >"$T/dry.list"
check "$(find "$T/c" -type f | wc -l)" $N "dry run deleted nothing"

"$BIN" purge -v --rate-limit 0 --max-size 400MiB "$T/c" >"$T/real" 2>"$T/err"
check "$?" 0 "purge over $N files exits 0"
sed -n 's|^deleted *size *4096 .*/f\([0-9]*\)$|\1|p' "$T/real" | sort >"$T/real.list"
check "$(wc -l <"$T/real.list")" $((N - KEEP)) "$((N - KEEP)) files deleted"
cmp -s "$T/dry.list" "$T/real.list" && ok "dry run listed exactly the deleted files" || not_ok "dry run listed exactly the deleted files"
seq $KEEP $((N - 1)) | awk '{printf "%07d\n", $1}' | sort >"$T/want.list"
cmp -s "$T/want.list" "$T/real.list" && ok "exactly the oldest files were deleted" || not_ok "exactly the oldest files were deleted"
check "$(find "$T/c" -type f | wc -l)" $KEEP "$KEEP files remain"
rss=$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$T/real")
echo "# peak RSS ${rss:-?} KiB for $N files"
[ -n "$rss" ] && [ "$rss" -lt $MAX_RSS_KIB ] && ok "peak RSS ${rss} KiB < $MAX_RSS_KIB KiB" || not_ok "peak RSS bounded (${rss:-none})"

# ties: 100k files with one timestamp: deterministic by path, still bounded
rm -rf "$T/c"
"$TOOLS/purge_mkfiles" "$T/c" $N 4096 100 7200 0
"$BIN" purge -v --rate-limit 0 --max-size 400MiB "$T/c" >"$T/real" 2>"$T/err"
sed -n 's|^deleted *size *4096 .*/\(d[0-9]*/f[0-9]*\)$|\1|p' "$T/real" >"$T/tie.list"
check "$(wc -l <"$T/tie.list")" $((N - KEEP)) "ties: $((N - KEEP)) files deleted"
sort -c "$T/tie.list" 2>/dev/null && ok "ties: deleted in path order" || not_ok "ties: deleted in path order"
(cd "$T/c" && find . -type f | sed 's|^\./||' | sort | head -n 1) >"$T/first_kept"
[ "$(tail -n 1 "$T/tie.list")" \< "$(cat "$T/first_kept")" ] && ok "ties: every deleted path sorts before every kept one" \
	|| not_ok "ties: prefix by path"
rss=$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$T/real")
[ -n "$rss" ] && [ "$rss" -lt $MAX_RSS_KIB ] && ok "ties: peak RSS ${rss} KiB bounded" || not_ok "ties: peak RSS bounded (${rss:-none})"

tap_end
