#!/bin/sh
# min_free and hard links on a real file system (TAP, root): deleting a name
# whose inode has another link frees nothing, so it must not count as freed
# space; the purge goes on to the next victim until statvfs shows min_free.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
. tests/lib/tap.sh
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (mount)"
	exit 0
fi
T=$(mktemp -d /tmp/cw-hardlink.XXXXXX)
cleanup() {
	umount -l "$T/fs" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/fs"
mount -t tmpfs -o size=64m tmpfs "$T/fs" || { not_ok "mount a 64 MiB tmpfs"; tap_end; exit 1; }
MiB=1048576
mkfile() { head -c $((8 * MiB)) /dev/zero >"$1"; touch -d "$2" "$1"; }
mkdir -p "$T/fs/outside" "$T/fs/c"
# the two oldest cache entries are hard links to files kept outside the cache
mkfile "$T/fs/outside/a" '-50 days'
mkfile "$T/fs/outside/b" '-50 days'
ln "$T/fs/outside/a" "$T/fs/c/link_a"
ln "$T/fs/outside/b" "$T/fs/c/link_b"
for i in 1 2 3 4; do mkfile "$T/fs/c/file$i" "-$((40 - i)) days"; done
free_bytes() { stat -f -c '%a %S' "$T/fs" | awk '{ print $1 * $2 }'; }
total=$(stat -f -c '%b %S' "$T/fs" | awk '{ print $1 * $2 }')
f0=$(free_bytes)
note "free before: $f0 of $total bytes"

# 48 MiB used: 25% free; 40% asks for about 9.6 MiB more, two regular files
"$BIN" purge --min-free 40% --rate-limit 0 "$T/fs/c" >"$T/out" 2>&1
rc=$?
f1=$(free_bytes)
note "free after: $f1"
check_eq "purge exits 0" "$rc" 0
awk -v f="$f1" -v t="$total" 'BEGIN { exit !(f * 100 >= 40 * t) }' &&
	ok "statvfs shows min_free reached ($f1 of $total bytes free)" ||
	not_ok "statvfs shows min_free reached" "$f1 of $total free" "$(cat "$T/out")"
reported=$(sed -n 's/.*deleted [0-9]* files, [^(]*(\([0-9]*\) bytes).*/\1/p' "$T/out")
check_eq "the freed bytes reported are the free space gained" "$reported" "$((f1 - f0))"
check_eq "both hard links went first (oldest) and freed 0 bytes" \
	"$(grep -c '^deleted .* 0 .*/c/link_[ab]$' "$T/out")" 2
[ -f "$T/fs/outside/a" ] && [ -f "$T/fs/outside/b" ] && ok "the linked files outside are intact" ||
	not_ok "linked files outside intact"
check_eq "the two oldest regular files went, the two newest stayed" "$(ls "$T/fs/c" | tr '\n' ' ')" "file3 file4 "
grep -q "2 of the deleted files had other hard links" "$T/out" && ok "the summary says so" ||
	not_ok "summary mentions hard links" "$(cat "$T/out")"
tap_end
