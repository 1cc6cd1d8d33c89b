#!/bin/sh
# `cachewatch purge` with the agent's access records (TAP, root: mounts a noatime tmpfs):
# timestamp access ranks by the state file where atime/max rank wrongly, keep_hot
# protects files read N times within the window, bad state files are refused and ignored.
# The state files are written by tests/lib/access_state.py in the documented format.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
T=$(mktemp -d /tmp/cw-purge-access.XXXXXX)
chmod 755 "$T"
cleanup() {
	mountpoint -q "$T/m" && umount "$T/m"
	rm -rf "$T"
}
trap cleanup EXIT
. tests/lib/tap.sh
STATE="python3 tests/lib/access_state.py"
NOW=$(date +%s)
DAY=86400
C="$T/m/c"
ST="$T/state/access.state"
mkdir -p "$T/m" "$T/state"
chmod 755 "$T/state"
mount -t tmpfs -o noatime,size=32m cwnoatime "$T/m" || { not_ok "mount a noatime tmpfs"; tap_end; exit 1; }
grep -q " $T/m tmpfs .*noatime" /proc/mounts && ok "tmpfs mounted noatime" || not_ok "tmpfs mounted noatime"

# victims OUT STATUS: sorted base names of the files with that status
victims() { sed -n "s|^$2 *[a-z_]* *[0-9]* *[0-9dhms]* $C/||p" "$1" | sort | tr '\n' ' '; }
# mk_aged (tests/lib/tap.sh): f1 (used 1 day ago) .. f8 (8 days ago); then f8 f7 f6,
# the oldest, are read (cat): on noatime their atime does not move
mk_aged "$C"
a_before=$(stat -c %X "$C/f8")
sleep 1.2 # accesses after the files' birth (a record older than its file is another file's)
cat "$C/f8" "$C/f7" "$C/f6" >/dev/null
check_eq "reading does not move atime on noatime" "$(stat -c %X "$C/f8")" "$a_before"
$STATE "$ST" "$C/f8=0.3" "$C/f7=0.2" "$C/f6=0.1"

# 320 KiB, max 300 KiB: above 270, down to 240 = 2 files go
"$BIN" purge --dry-run --max-size 300KiB --timestamp max --state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "timestamp max picks the files just read (wrong on noatime)" "$(victims "$T/out" would-delete)" "f7 f8 "
"$BIN" purge --dry-run --max-size 300KiB --timestamp atime --state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "timestamp atime picks the files just read (wrong on noatime)" "$(victims "$T/out" would-delete)" "f7 f8 "
"$BIN" purge --max-size 300KiB --timestamp access --state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "timestamp access exits 0" "$?" 0
check_eq "timestamp access deletes the oldest files not read" "$(victims "$T/out" deleted)" "f4 f5 "
check_eq "the files read stay" "$(ls "$C" | tr '\n' ' ')" "f1 f2 f3 f6 f7 f8 "
grep -q "3 files had access records" "$T/out" && ok "the summary counts the records used" || not_ok "records in the summary" "$(cat "$T/out")"

# a file read long ago (per the record) and written since: mtime wins (max of both)
mk_aged "$C"
sleep 1.2
$STATE "$ST" "$C/f8=0.1"
touch -m -d "@$((NOW - 9 * DAY))" "$C/f7"
touch -m "$C/f8"
"$BIN" purge --dry-run --max-size 300KiB --timestamp access --state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "record and mtime: the later wins; no record: max(atime, mtime)" "$(victims "$T/out" would-delete)" "f6 f7 "

# age limits use the same figure
"$BIN" purge --dry-run --max-age 5d12h --timestamp access --state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "max_age under timestamp access" "$(victims "$T/out" would-delete)" "f6 f7 "

# the state file is refused (and ignored: max(atime, mtime)) when it cannot be trusted
mk_aged "$C"
sleep 1.2
bad_state() { # NAME EXPECTED-REASON: runs a purge with $ST as prepared
	"$BIN" purge --dry-run --max-size 300KiB --timestamp access --state-file "$ST" "$C" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q "access state refused: .*$2" "$T/err" && [ "$(victims "$T/out" would-delete)" = "f7 f8 " ]; then
		ok "$1: refused ($2), purge ranks by max(atime, mtime)"
	else
		not_ok "$1: refused ($2)" "rc $rc" "$(cat "$T/err")" "$(victims "$T/out" would-delete)"
	fi
}
$STATE "$ST" --corrupt "$C/f8=0.3" "$C/f7=0.2"
bad_state "corrupt" "checksum mismatch"
$STATE "$ST" --truncate "$C/f8=0.3" "$C/f7=0.2"
bad_state "truncated" "truncated"
$STATE "$ST" --version 9 "$C/f8=0.3" "$C/f7=0.2"
bad_state "another version" "version 9"
$STATE "$ST" --count 999999999 "$C/f8=0.3"
bad_state "too many records" "at most"
$STATE "$T/real.state" "$C/f8=0.3" "$C/f7=0.2"
rm -f "$ST"
ln -s "$T/real.state" "$ST"
bad_state "symlink" "is a symbolic link"
rm -f "$ST"
$STATE "$ST" "$C/f8=0.3" "$C/f7=0.2"
chmod 666 "$ST"
bad_state "world-writable file" "writable by group or others"
chmod 600 "$ST"
chown 65534:65534 "$ST"
bad_state "file of another user" "owned by another user"
chown 0:0 "$ST"
chmod 777 "$T/state"
bad_state "world-writable directory" "directory writable by group or others"
chmod 755 "$T/state"
"$BIN" purge --dry-run --max-size 300KiB --timestamp access --state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "the same file, trusted again, is used" "$(victims "$T/out" would-delete)" "f5 f6 "
"$BIN" purge --dry-run --max-size 300KiB --timestamp access --state-file "$T/none/access.state" "$C" >"$T/out" 2>"$T/err"
check_eq "a missing state file: exit 0" "$?" 0
grep -q "no access state" "$T/err" && [ "$(victims "$T/out" would-delete)" = "f7 f8 " ] &&
	ok "a missing state file is said, and the fallback used" || not_ok "missing state file" "$(cat "$T/err")"

# config mode: access_state.path and timestamp: access from the file
cat >"$T/cfg.yml" <<YML
access_state:
  path: $ST
caches:
  - name: c
    path: $C
    purge:
      max_size: 300KiB
      timestamp: access
      dry_run: true
YML
"$BIN" purge --config.file "$T/cfg.yml" >"$T/out" 2>"$T/err"
check_eq "config mode reads access_state.path" "$(victims "$T/out" would-delete)" "f5 f6 "

# keep_hot: read 3 times within the window (10s) are kept by a size purge; 2 times,
# or 3 times with one outside the window, are not
mk_aged "$C"
sleep 12 # every access below comes after the files' birth
$STATE "$ST" "$C/f8=1,2,3" "$C/f7=1,2" "$C/f6=1,2,11"
"$BIN" purge --dry-run --max-size 300KiB --timestamp mtime --keep-hot-accesses 3 --keep-hot-window 10s \
	--state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "keep_hot keeps f8 (3 in the window), not f7 (2) nor f6 (one outside)" "$(victims "$T/out" would-delete)" "f6 f7 "
grep -q "kept hot: 1 files, 40KiB" "$T/out" && ok "the summary says what keep_hot kept" || not_ok "kept hot summary" "$(cat "$T/out")"
"$BIN" purge --dry-run --max-size 300KiB --timestamp mtime --keep-hot-accesses 2 --keep-hot-window 10s \
	--state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "min_accesses 2 keeps f8, f7 and f6" "$(victims "$T/out" would-delete)" "f4 f5 "
# max_age still applies, unless --keep-hot-age
"$BIN" purge --dry-run --max-age 7d12h --timestamp mtime --keep-hot-accesses 3 --keep-hot-window 10s \
	--state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "max_age deletes a hot file" "$(victims "$T/out" would-delete)" "f8 "
"$BIN" purge --dry-run --max-age 7d12h --timestamp mtime --keep-hot-accesses 3 --keep-hot-window 10s --keep-hot-age \
	--state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "keep_hot.age protects it from max_age too" "$(victims "$T/out" would-delete)" ""
# hot files alone over the limit: what can go goes, once, and the summary says so
"$BIN" purge --dry-run --max-size 100KiB --timestamp mtime --keep-hot-accesses 2 --keep-hot-window 10s \
	--state-file "$ST" "$C" >"$T/out" 2>"$T/err"
check_eq "over the limit with hot files: every other file goes" "$(victims "$T/out" would-delete)" "f1 f2 f3 f4 f5 "
grep -q "limits not reached" "$T/out" && ok "and the summary says the limit was not reached" || not_ok "limits not reached"

# bad keep_hot values: exit 2 with a message naming the value
"$BIN" purge --max-size 1MiB --keep-hot-accesses 5 "$C" >"$T/out" 2>"$T/err"
check_eq "--keep-hot-accesses 5: exit 2" "$?" 2
grep -q -- "--keep-hot-accesses: 5 is out of range (1 to 4)" "$T/err" && ok "message names the range" || not_ok "message" "$(cat "$T/err")"
"$BIN" purge --max-size 1MiB --keep-hot-window soon "$C" >"$T/out" 2>"$T/err"
check_eq "--keep-hot-window soon: exit 2" "$?" 2
"$BIN" purge --max-size 1MiB --timestamp ctime "$C" >"$T/out" 2>"$T/err"
grep -q "one of atime, mtime, max, access" "$T/err" && ok "--timestamp lists access" || not_ok "--timestamp message" "$(cat "$T/err")"
cat >"$T/bad.yml" <<YML
caches:
  - name: c
    path: $C
    purge:
      max_size: 1MiB
      keep_hot: {window: 7d, min_accesses: 0}
YML
"$BIN" check-config "$T/bad.yml" >"$T/out" 2>"$T/err"
check_eq "check-config: min_accesses 0 exits 2" "$?" 2
grep -q "bad.yml:6:44: caches\[0\].purge.keep_hot.min_accesses: \"0\" is out of range (1 to 4)" "$T/err" &&
	ok "the error points at FILE:LINE:COL" || not_ok "config error position" "$(cat "$T/err")"

tap_end
