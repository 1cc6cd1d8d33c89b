#!/bin/sh
# The symlinked-ancestor attack (TAP, root, BPF for the agent part): an
# unprivileged user who owns an ancestor of a cache root replaces it with a
# symlink to a root-owned tree. Neither `cachewatch purge` (dry run or real) nor
# the running agent (between two purges, or while one is running) may touch the
# root-owned tree: its sha256 before and after must match.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
. tests/lib/tap.sh
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (useradd, chown)"
	exit 0
fi
U=cwatk$$
T=$(mktemp -d /tmp/cw-symanc.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
	userdel "$U" 2>/dev/null
}
trap cleanup EXIT
useradd -M -d /nonexistent -s /bin/sh "$U" || { not_ok "useradd $U"; tap_end; exit 1; }
as_user() { runuser -u "$U" -- sh -c "$1"; }
chmod 755 "$T"
OLD=$(date -d '-40 days' '+%Y-%m-%d %H:%M:%S')

# The decoy looks like /usr/lib/python3/dist-packages: root-owned, old files.
DECOY="$T/usr/lib/python3/dist-packages"
make_decoy() { # a fresh decoy for each stage, so a failing one does not hide the next
	rm -rf "$T/usr"
	mkdir -p "$DECOY/pip/_internal" "$DECOY/numpy"
	for f in pip/__init__.py pip/_internal/main.py numpy/core.so README; do
		head -c 5000 /dev/urandom >"$DECOY/$f"
	done
	find "$T/usr" -exec touch -h -d "$OLD" {} +
}
# digest: names, types, sizes, mtimes, owners and sha256 of the decoy; reading
# it updates atimes, so they are set back to "old" (a real decoy is rarely read)
digest() {
	(cd "$T/usr" && find . -printf '%y %p %s %T@ %u\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum
	find "$T/usr" -exec touch -h -d "$OLD" {} +
}
make_decoy
before=$(digest)

# The user's home and cache, created by the user.
mkdir -p "$T/home/$U"
chown "$U" "$T/home/$U"
HOMEDIR="$T/home/$U"
ROOT="$HOMEDIR/.cache/pip"
fill() { # fill N: N old files in the user's cache, as the user
	as_user "mkdir -p '$ROOT' && i=0 && while [ \$i -lt $1 ]; do echo x >'$ROOT/f'\$i; i=\$((i + 1)); done && find '$ROOT' -type f -exec touch -d '$OLD' {} +"
}
attack() { as_user "cd '$HOMEDIR' && rm -rf .cache.old && mv .cache .cache.old && ln -s '$T/usr/lib/python3/dist-packages' .cache"; }
undo() { rm -f "$HOMEDIR/.cache"; mv "$HOMEDIR/.cache.old" "$HOMEDIR/.cache"; }

fill 3
attack
[ -L "$HOMEDIR/.cache" ] && [ -d "$ROOT/_internal" ] && ok "the attack is set up: $ROOT resolves into the decoy" ||
	not_ok "attack set up"

"$BIN" purge --dry-run --max-age 30d --rate-limit 0 "$ROOT" >"$T/out" 2>&1
rc=$?
check_eq "cachewatch purge --dry-run through a symlinked ancestor exits 2" "$rc" 2
check_eq "... and lists no file" "$(grep -c '^would-delete' "$T/out")" 0
grep -q "$HOMEDIR/.cache is a symlink" "$T/out" && ok "... and says which component is a symlink" ||
	not_ok "message names the symlink" "$(cat "$T/out")"

"$BIN" purge --max-age 30d --rate-limit 0 "$ROOT" >"$T/out" 2>&1
check_eq "a real cachewatch purge through a symlinked ancestor exits 2" "$?" 2
check_eq "the decoy is intact after the CLI purges (sha256)" "$(digest)" "$before"

cat >"$T/cfg.yml" <<EOF
caches:
  - name: pip
    path: $ROOT
    purge:
      max_age: 30d
EOF
"$BIN" check-config --config.file "$T/cfg.yml" >"$T/out" 2>&1
[ "$?" -ne 0 ] && grep -q "symlink" "$T/out" && ok "check-config refuses the root reached through a symlink" ||
	not_ok "check-config refuses the root" "$(cat "$T/out")"
undo
make_decoy
before=$(digest)

# The running agent: it validates the real cache, purges it, then the user
# swaps the ancestor between two scans.
PORT=$(free_port 1)
cat >"$T/cfg.yml" <<EOF
poll_interval: 200ms
caches:
  - name: pip
    path: $ROOT
    purge:
      max_age: 30d
      interval: 1s
      rate_limit: 20
EOF
"$BIN" run --config.file "$T/cfg.yml" --web.listen-address "127.0.0.1:$PORT" --log.level debug >"$T/log" 2>&1 &
pid=$!
wait_log 'purge finished" cache=pip' 15 && ok "the agent purged the real cache first" ||
	not_ok "the agent purged the real cache" "$(tail -n 5 "$T/log")"
check_eq "... all 3 old files of the user's cache" "$(find "$ROOT" -type f | wc -l)" 0
attack
sleep 3.5 # three more scan intervals
grep -q "is a symlink" "$T/log" && ok "the agent refuses the swapped root" ||
	not_ok "agent refusal logged" "$(tail -n 5 "$T/log")"
check_eq "the decoy is intact after the agent's scans (sha256)" "$(digest)" "$before"
undo

# The same attack while a purge is running: 60 old files at 20 deletions/s
# take 3 s; the swap comes in the middle. The running purge stays on the
# directory it validated, and the next scans refuse the swapped path.
make_decoy
before=$(digest)
fill 60
n0=$(grep -c 'purge finished" cache=pip' "$T/log")
i=0
while [ $i -lt 50 ] && [ "$(find "$ROOT" -type f | wc -l)" -ge 55 ]; do sleep 0.1; i=$((i + 1)); done
left=$(find "$ROOT" -type f | wc -l)
attack
[ "$left" -gt 0 ] && [ "$left" -lt 60 ] && ok "the swap came while a purge was deleting ($left of 60 left)" ||
	not_ok "swap during a purge" "left $left"
i=0
while [ $i -lt 100 ] && [ "$(grep -c 'purge finished" cache=pip' "$T/log")" -le "$n0" ]; do sleep 0.1; i=$((i + 1)); done
sleep 3
check_eq "the running purge finished on the validated directory (now .cache.old)" \
	"$(find "$HOMEDIR/.cache.old/pip" -type f | wc -l)" 0
check_eq "the decoy is intact after the race (sha256)" "$(digest)" "$before"
kill "$pid"
wait "$pid"
pid=""
tap_end
