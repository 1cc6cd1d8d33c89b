#!/bin/sh
# One table of refused purge roots (TAP, root): every entry must be refused by
# both entry points that can purge, `cachewatch purge DIR` and the config
# loader (`check-config`, which is also what load and reload run), whether the
# directory exists here or not; also other spellings of them (a symlink such as
# /lib, a bind mount of /usr elsewhere), which only an identity check catches.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
. tests/lib/tap.sh
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (bind mount)"
	exit 0
fi
T=$(mktemp -d /tmp/cw-refused.XXXXXX)
mounted=""
cleanup() {
	[ -n "$mounted" ] && umount -l "$mounted"
	rm -rf "$T"
}
trap cleanup EXIT

# The documented table (docs/purge.md), plus home directories.
TABLE="/ /bin /boot /boot/efi /dev /efi /etc /gnu /gnu/store /home /lib /lib32 /lib64 /libx32
/lost+found /media /mnt /nix /nix/store /nix/var /opt /proc /root /run /sbin /snap /srv /sys /tmp
/usr /usr/bin /usr/include /usr/lib /usr/lib32 /usr/lib64 /usr/libexec /usr/libx32 /usr/local
/usr/local/bin /usr/local/etc /usr/local/include /usr/local/lib /usr/local/libexec /usr/local/sbin
/usr/local/share /usr/local/src /usr/sbin /usr/share /usr/src /var /var/backups /var/cache /var/lib
/var/local /var/lock /var/log /var/mail /var/opt /var/run /var/spool /var/tmp /var/www
/home/cw-nobody-$$ /nonexistent"

mkdir -p "$T/usrbind"
mount --bind /usr "$T/usrbind" && mounted="$T/usrbind"
SPELLINGS="//usr/./lib/ /var/cache/ $T/usrbind"

cli_refuses() {
	"$BIN" purge --dry-run --max-age 1d --rate-limit 0 "$1" >"$T/out" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] && grep -q "refusing" "$T/out" && ! grep -q '^would-delete' "$T/out"
}

config_refuses() {
	cat >"$T/cfg.yml" <<EOF
caches:
  - name: c
    path: "$1"
    wait_for_path: true
    purge:
      max_age: 1d
EOF
	"$BIN" check-config --config.file "$T/cfg.yml" >"$T/out" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] && grep -q "cannot be purged" "$T/out"
}

for dir in $TABLE $SPELLINGS; do
	if cli_refuses "$dir"; then ok "cachewatch purge refuses $dir"; else not_ok "cachewatch purge refuses $dir" "rc $rc: $(head -n 2 "$T/out")"; fi
	if config_refuses "$dir"; then ok "the config loader refuses $dir"; else not_ok "the config loader refuses $dir" "rc $rc: $(head -n 2 "$T/out")"; fi
done

# Subdirectories of refused roots remain usable (both entry points agree).
mkdir -p "$T/ok/cache"
"$BIN" purge --dry-run --max-age 1d "$T/ok/cache" >"$T/out" 2>&1
check_eq "a plain cache directory is accepted by cachewatch purge" "$?" 0
cat >"$T/cfg.yml" <<EOF
caches:
  - name: c
    path: $T/ok/cache
    purge:
      max_age: 1d
EOF
"$BIN" check-config --config.file "$T/cfg.yml" >"$T/out" 2>&1
check_eq "... and by the config loader" "$?" 0
tap_end
