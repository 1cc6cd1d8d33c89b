#!/bin/sh
# Purge engine under attack (TAP, root): symlinks out of the root, bind mounts
# (same file system) and other mounts inside it, hard links, dangerous roots, a
# root that is a symlink. Nothing outside the root may ever be deleted.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
T=$(mktemp -d /tmp/cw-purge-attack.XXXXXX)
mounts=""
cleanup() {
	for m in $mounts; do umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
. tests/lib/tap.sh
check() { check_eq "$3" "$1" "$2"; } # check GOT WANT NAME
NOW=$(date +%s)
OLD="@$((NOW - 30 * 86400))"
mk() { mkdir -p "$(dirname "$1")"; echo "$1" >"$1"; touch -h -d "$OLD" "$1"; }
# every name, type, size, mtime and content digest of the outside tree
snapshot() {
	find "$T/outside" -printf '%y %p %s %T@\n' | sort
	find "$T/outside" -type f -exec md5sum {} + | sort
}
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (mounts)"
	exit 0
fi

mk "$T/outside/secret"
mk "$T/outside/dir/x"
mk "$T/outside/dir/sub/y"
mk "$T/outside/hl"
mk "$T/outside/filebind"
outside_before=$(snapshot)

mk "$T/c/victim"
ln -s "$T/outside/secret" "$T/c/link_file"
ln -s "$T/outside/dir" "$T/c/link_dir"
ln -s / "$T/c/link_root"
touch -h -d "$OLD" "$T/c/link_file" "$T/c/link_dir" "$T/c/link_root"
ln "$T/outside/hl" "$T/c/hardlink"
mkdir -p "$T/c/bind" "$T/c/tmpfs"
touch "$T/c/fbind"
mount --bind "$T/outside/dir" "$T/c/bind" && mounts="$T/c/bind $mounts"
mount --bind "$T/outside/filebind" "$T/c/fbind" && mounts="$T/c/fbind $mounts"
mount -t tmpfs tmpfs "$T/c/tmpfs" && mounts="$T/c/tmpfs $mounts"
mk "$T/c/tmpfs/onother"

"$BIN" purge --max-age 1d --max-size 1KiB --rate-limit 0 "$T/c" >"$T/out" 2>&1
rc=$?
check "$rc" 0 "purge with symlinks, hard link and mounts inside exits 0"
check "$(sed -n 's|^deleted *[a-z_]* *[0-9]* *[0-9dhms]* ||p' "$T/out" | sort | tr '\n' ' ')" \
	"$T/c/hardlink $T/c/victim " "only the regular files of the root's own mount are victims"
check "$(snapshot)" "$outside_before" "nothing outside the root changed (symlinks, bind mounts)"
[ -f "$T/c/tmpfs/onother" ] && ok "another file system inside the root is not entered" || not_ok "tmpfs entered"
[ -L "$T/c/link_file" ] && [ -L "$T/c/link_dir" ] && [ -L "$T/c/link_root" ] && ok "symlinks are never victims" || not_ok "symlinks removed"
grep -q "mount points skipped [1-9]" "$T/out" && ok "mount points reported as skipped" || not_ok "mount points reported"
[ -d "$T/c/bind" ] && mountpoint -q "$T/c/bind" && ok "bind mount left alone" || not_ok "bind mount left alone"

# dangerous roots are refused and nothing is printed as deleted
for root in / /home /etc /usr /var /var/lib /tmp /root /usr/lib "$HOME"; do
	"$BIN" purge --dry-run --max-age 1d "$root" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && ! grep -q '^would-delete\|^deleted' "$T/out"; then
		ok "root $root refused"
	else
		not_ok "root $root refused (rc $rc)"
	fi
done

# a root that is itself a symlink, or reached through a trailing "/.."
ln -s "$T/outside" "$T/rootlink"
"$BIN" purge --max-age 1d "$T/rootlink" >"$T/out" 2>&1
check "$?" 2 "a root that is a symlink is refused"
grep -q "symlink" "$T/out" && ok "the message says why" || not_ok "the message says why"
check "$(snapshot)" "$outside_before" "nothing outside changed after the symlink root"

# a config file pointing at the symlink is refused as well
cat >"$T/cfg.yml" <<EOF
caches:
  - name: evil
    path: $T/rootlink
    purge:
      max_age: 1d
EOF
"$BIN" purge --config.file "$T/cfg.yml" >"$T/out" 2>&1
[ "$?" -ne 0 ] && ok "config with a symlink root refused" || not_ok "config with a symlink root refused"
check "$(snapshot)" "$outside_before" "nothing outside changed after the config attempt"

# a root whose parent others can write to (they could swap it) is refused
mkdir -p "$T/shared/c"
chmod 777 "$T/shared"
"$BIN" purge --max-age 1d "$T/shared/c" >"$T/out" 2>&1
check "$?" 2 "a root under a world-writable, non-sticky directory is refused"

# a tree shaped like a system root (a host / mounted in a container) is refused
mkdir -p "$T/hostroot/etc" "$T/hostroot/usr"
mk "$T/hostroot/etc/passwd"
"$BIN" purge --max-age 1d "$T/hostroot" >"$T/out" 2>&1
check "$?" 2 "a tree holding etc/passwd and usr/ is refused"
[ -f "$T/hostroot/etc/passwd" ] && ok "its files are intact" || not_ok "its files are intact"

tap_end
