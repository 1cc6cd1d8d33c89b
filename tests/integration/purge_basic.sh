#!/bin/sh
# Purge engine on real trees (TAP): exact victims per limit, dry run, protect,
# min_age, empty directories, escaped names, exit codes, config mode.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
T=$(mktemp -d /tmp/cw-purge-basic.XXXXXX)
trap 'rm -rf "$T"' EXIT
. tests/lib/tap.sh
check() { check_eq "$3" "$1" "$2"; } # check GOT WANT NAME
NOW=$(date +%s)

# mk PATH AGE_SECONDS SIZE_KIB: a file of real blocks used AGE_SECONDS ago
mk() {
	mkdir -p "$(dirname "$1")"
	head -c $(($3 * 1024)) /dev/zero | tr '\0' x >"$1"
	touch -d "@$((NOW - $2))" "$1"
}
DAY=86400
# victims FILE: the sorted paths of the lines with the given status
victims() { sed -n "s|^$2 *[a-z_]* *[0-9]* *[0-9dhms]* $T/c/||p" "$1" | sort | tr '\n' ' '; }
tree() { (cd "$T/c" && find . -mindepth 1 | sort | tr '\n' ' '); }

# --- size with watermarks: LRU first, down to the low watermark
rm -rf "$T/c"
for i in 1 2 3 4 5 6 7 8 9 10; do mk "$T/c/d$((i % 3))/f$i" $((i * DAY)) 40; done
before=$(tree)
"$BIN" purge --dry-run --max-size 400KiB "$T/c" >"$T/out" 2>"$T/err"
check "$?" 0 "dry run exits 0"
check "$(victims "$T/out" would-delete)" "d0/f9 d1/f10 " "dry run lists the two oldest (400K > 360K, down to 320K)"
check "$(tree)" "$before" "dry run deletes nothing"
"$BIN" purge --max-size 400KiB "$T/c" >"$T/out" 2>"$T/err"
check "$?" 0 "purge exits 0"
check "$(victims "$T/out" deleted)" "d0/f9 d1/f10 " "purge deletes exactly what the dry run listed"
check "$(ls "$T/c/d0" "$T/c/d1" "$T/c/d2" | grep -c '^f')" 8 "eight files remain"
grep -q "before: 10 files, 400KiB on disk" "$T/out" && ok "summary: before" || not_ok "summary: before"
grep -q "after: 8 files, 320KiB on disk" "$T/out" && ok "summary: after" || not_ok "summary: after"
"$BIN" purge --max-size 400KiB "$T/c" >"$T/out" 2>&1
check "$(victims "$T/out" deleted)" "" "below the high watermark nothing goes"

# --- max_age, min_age, protect, empty directories
rm -rf "$T/c"
mk "$T/c/a.lock" $((30 * DAY)) 4
mk "$T/c/CACHEDIR.TAG" $((30 * DAY)) 4
mk "$T/c/keep/x" $((30 * DAY)) 4
mk "$T/c/sub/deeper/old1" $((20 * DAY)) 4
mk "$T/c/sub2/old2" $((8 * DAY)) 4
mk "$T/c/sub2/mid" $((2 * DAY)) 4
mk "$T/c/young" 60 4
mkdir -p "$T/c/emptyalready"
"$BIN" purge --max-age 7d --min-age 1h --protect '*.lock' --protect CACHEDIR.TAG --protect keep "$T/c" >"$T/out" 2>&1
check "$(victims "$T/out" deleted)" "sub/deeper/old1 sub2/old2 " "max_age deletes old files, protect wins"
check "$(tree)" "./CACHEDIR.TAG ./a.lock ./emptyalready ./keep ./keep/x ./sub2 ./sub2/mid ./young " \
	"emptied directories removed, others and the root kept"
"$BIN" purge --max-size 4KiB --min-age 1h "$T/c" >"$T/out" 2>&1
check "$(victims "$T/out" deleted)" "CACHEDIR.TAG a.lock keep/x sub2/mid " "min_age keeps the young file even over max_size"
[ -f "$T/c/young" ] && ok "young file kept" || not_ok "young file kept"
grep -q "limits not reached" "$T/out" && ok "summary says the limit could not be reached" || not_ok "unreachable reported"
[ -d "$T/c" ] && ok "root never removed" || not_ok "root never removed"

# --- max_files with watermarks
rm -rf "$T/c"
for i in $(seq 1 20); do mk "$T/c/f$(printf %02d $i)" $((i * 60 + 7200)) 4; done
"$BIN" purge --max-files 10 "$T/c" >"$T/out" 2>&1
check "$(victims "$T/out" deleted | wc -w)" 12 "max_files 10: down to 8 (low watermark), 12 go"
check "$(ls "$T/c" | tr '\n' ' ')" "f01 f02 f03 f04 f05 f06 f07 f08 " "the 8 most recently used stay"

# --- timestamp modes: atime vs mtime
rm -rf "$T/c"
mk "$T/c/readlately" $((10 * DAY)) 4
touch -a -d "@$((NOW - 60))" "$T/c/readlately"
mk "$T/c/writtenlately" $((10 * DAY)) 4
touch -m -d "@$((NOW - 60))" "$T/c/writtenlately"
"$BIN" purge --dry-run --max-age 5d --timestamp atime "$T/c" >"$T/out" 2>&1
check "$(victims "$T/out" would-delete)" "writtenlately " "timestamp atime"
"$BIN" purge --dry-run --max-age 5d --timestamp mtime "$T/c" >"$T/out" 2>&1
check "$(victims "$T/out" would-delete)" "readlately " "timestamp mtime"
"$BIN" purge --dry-run --max-age 5d "$T/c" >"$T/out" 2>&1
check "$(victims "$T/out" would-delete)" "" "timestamp max (default)"

# --- a name with a newline cannot forge an output line
rm -rf "$T/c"
mk "$T/c/evil
deleted      size                  1 /etc/passwd" $((10 * DAY)) 4
"$BIN" purge --max-age 1d "$T/c" >"$T/out" 2>&1
check "$(grep -c '^deleted' "$T/out")" 1 "one victim, one line"
grep -q 'evil[\\]ndeleted' "$T/out" && ok "the newline is printed escaped" || not_ok "the newline is printed escaped"
grep -q '^deleted *size *1 *[0-9dhms]* /etc/passwd$' "$T/out" && not_ok "a name forged a line" || ok "no name forges a line"

# --- exit codes and messages
"$BIN" purge --dry-run --max-size 5G "$T/c" >/dev/null 2>"$T/err"
check "$?" 0 "--max-size 5G (ccache/Kubernetes spelling) is accepted"
"$BIN" purge --max-size 5XB "$T/c" >/dev/null 2>"$T/err"
check "$?" 2 "bad size exits 2"
grep -q "5XB" "$T/err" && ok "message names the value" || not_ok "message names the value"
"$BIN" purge "$T/c" >/dev/null 2>&1
check "$?" 2 "no limit exits 2"
"$BIN" purge --help >/dev/null 2>&1
check "$?" 0 "--help exits 0"
mkdir -p "$T/ro"
mk "$T/ro/c/old" $((10 * DAY)) 4
chattr +i "$T/ro/c/old" 2>/dev/null && {
	"$BIN" purge --max-age 1d "$T/ro/c" >"$T/out" 2>&1
	check "$?" 1 "a file that cannot be deleted exits 1"
	grep -q '^failed ' "$T/out" && ok "failure listed" || not_ok "failure listed"
	chattr -i "$T/ro/c/old"
}

# --- each line: the age since last use; the summary: the directory
rm -rf "$T/c"
mk "$T/c/old10" $((10 * DAY + 3 * 3600 + 60)) 4
mk "$T/c/old2" $((2 * DAY)) 4
"$BIN" purge --dry-run --max-age 1d "$T/c" >"$T/out" 2>&1
grep -q "^would-delete *age *[0-9]* *10d3h $T/c/old10\$" "$T/out" && ok "a line gives the age since last use (10d3h)" || {
	not_ok "a line gives the age since last use (10d3h)"; sed 's/^/# /' "$T/out"; }
grep -q "^would-delete *age *[0-9]* *2d $T/c/old2\$" "$T/out" && ok "whole days print as 2d" || not_ok "whole days print as 2d"
grep -q "^== $T/c: would delete 2 files" "$T/out" && ok "the summary names the directory" || {
	not_ok "the summary names the directory"; sed 's/^/# /' "$T/out"; }
"$BIN" purge --help | grep -q "deletion order" && ok "--help says what the line order is" || not_ok "--help says what the line order is"
"$BIN" purge --dry-run --max-age 1h --min-age 2h "$T/c" >"$T/out" 2>"$T/err"
grep -q "warning: --max-age 1h is shorter than --min-age 2h" "$T/err" && ok "--max-age below --min-age warns" || {
	not_ok "--max-age below --min-age warns"; sed 's/^/# /' "$T/err"; }
"$BIN" purge --dry-run --max-age 2h --min-age 1h "$T/c" >"$T/out" 2>"$T/err"
grep -q "warning" "$T/err" && not_ok "no warning when --max-age is the longer" || ok "no warning when --max-age is the longer"

# --- a root this user may not write is a runtime failure (1), not a usage error
U=cwnoperm$$
if useradd -M -N -s /usr/sbin/nologin "$U" 2>/dev/null; then
	chmod 755 "$T"
	rm -rf "$T/c"
	mk "$T/c/old" $((10 * DAY)) 4
	chmod 755 "$T/c"
	setpriv --reuid="$U" --regid=nogroup --clear-groups "$BIN" purge --max-age 1d "$T/c" >"$T/out" 2>&1
	check "$?" 1 "purge without write permission exits 1"
	grep -q "no write permission" "$T/out" && ok "the message says why" || { not_ok "the message says why"; sed 's/^/# /' "$T/out"; }
	[ -f "$T/c/old" ] && ok "nothing deleted without permission" || not_ok "nothing deleted without permission"
	userdel "$U" 2>/dev/null
	chmod 700 "$T"
else
	not_ok "useradd for the permission test"
fi

# --- config mode, one cache picked
rm -rf "$T/c" "$T/c2"
mk "$T/c/old" $((10 * DAY)) 4
mk "$T/c2/old" $((10 * DAY)) 4
cat >"$T/cfg.yml" <<EOF
caches:
  - name: one
    path: $T/c
    purge:
      max_age: 5d
  - name: two
    path: $T/c2
    purge:
      max_age: 5d
EOF
"$BIN" purge --config.file "$T/cfg.yml" --cache two >"$T/out" 2>&1
check "$?" 0 "config mode exits 0"
[ -f "$T/c/old" ] && [ ! -e "$T/c2/old" ] && ok "only the named cache purged" || { not_ok "only the named cache purged"; cat "$T/out" | sed 's/^/# /'; }
"$BIN" purge --config.file "$T/cfg.yml" --cache nope >/dev/null 2>&1
check "$?" 2 "unknown --cache exits 2"

tap_end
