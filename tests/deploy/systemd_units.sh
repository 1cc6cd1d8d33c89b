#!/bin/sh
# deploy/systemd units: `systemd-analyze verify` passes, the agent's exposure
# score is at most 3.0 (and the purge unit's too), the agent with only the
# unit's capability bounding set and no_new_privs still attaches, serves and
# purges another user's files in a 0700 and a sticky directory, and a start
# logs one line about its caches, not the configuration (TAP). Needs root.
# systemd is not PID 1 on the test machines, so the full sandbox (mount
# namespace, system-call filter) is exercised only by systemd-analyze here.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
BIN=${CW_BIN:-build/cachewatch}
T=$(mktemp -d /tmp/cw-units.XXXXXX)
agent=""
user=cwunit$$
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	id "$user" >/dev/null 2>&1 && userdel "$user" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The units as `make install` writes them, pointing at the built binary; the
# man page where man(1) finds it, for Documentation=man:cachewatch(1).
out=$(make -s units BUILD="$T/b" BINDIR="$(pwd)/$(dirname "$BIN")" SYSCONFDIR="$T/etc" 2>&1) &&
	ok "make units" || not_ok "make units" "$out"
mkdir -p "$T/man/man1" "$T/etc/cachewatch"
cp docs/man/cachewatch.1 "$T/man/man1/"
cp deploy/cachewatch.yml "$T/etc/cachewatch/cachewatch.yml"
for u in cachewatch.service cachewatch-purge.service cachewatch-purge.timer; do
	[ -f "$T/b/systemd/$u" ] || cp "deploy/systemd/$u" "$T/b/systemd/$u"
	out=$(cd "$T/b/systemd" && MANPATH="$T/man" systemd-analyze verify "./$u" 2>&1) &&
		ok "systemd-analyze verify $u" || not_ok "systemd-analyze verify $u" "$out"
done
for u in cachewatch.service cachewatch-purge.service; do
	score=$(systemd-analyze security --offline=true "$T/b/systemd/$u" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }' && ok "$u exposure $score <= 3.0" ||
		not_ok "$u exposure <= 3.0" "score '$score'"
done

# The bounding set as written in the unit, in setpriv's syntax.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$T/b/systemd/cachewatch.service" | tr 'A-Z' 'a-z' |
	sed 's/cap_/+/g; s/ /,/g')
note "unit's capability bounding set: $caps"

# Caches of another user: one in a 0700 home-like directory, one in a sticky
# directory whose files that user owns.
useradd -M -d /nonexistent -s /usr/sbin/nologin "$user"
mkdir -p "$T/home/c" "$T/sticky/c"
chmod 755 "$T"
chmod 1777 "$T/sticky"
for d in home/c sticky/c; do
	for i in 1 2 3 4 5 6; do dd if=/dev/zero of="$T/$d/f$i" bs=64k count=16 2>/dev/null; done
done
chown -R "$user" "$T/home" "$T/sticky/c"
chmod 700 "$T/home" "$T/home/c"
cat >"$T/run.yml" <<EOF
poll_interval: 200ms
caches:
  - name: home
    path: $T/home/c
    purge: {max_size: 2MiB, min_age: 0s, interval: 1s}
  - name: sticky
    path: $T/sticky/c
    purge: {max_size: 2MiB, min_age: 0s, interval: 1s}
  - name: third
    path: $T/third
    wait_for_path: true
EOF
PORT=$(free_port 7)
URL=http://127.0.0.1:$PORT
setpriv --bounding-set="-all,$caps" --inh-caps=-all --no-new-privs \
	"$BIN" run --config.file="$T/run.yml" --web.listen-address="127.0.0.1:$PORT" >"$T/agent.log" 2>&1 &
agent=$!
i=0
while [ $i -lt 600 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/-/ready")" != 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 600 ] && ok "with the unit's capabilities only: BPF attached, /-/ready" ||
	not_ok "with the unit's capabilities only: BPF attached" "$(tail -5 "$T/agent.log")"
dd if=/dev/zero of="$T/home/c/new" bs=4096 count=3 2>/dev/null
check_metric "writes counted" 'cachewatch_write_bytes_total{cache="home",dir="."}' 12288
for c in home sticky; do
	i=0
	while [ $i -lt 150 ] && [ "$(du -sk "$T/$( [ $c = home ] && echo home/c || echo sticky/c)" | cut -f1)" -gt 2048 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	errs=$(metric "cachewatch_purge_errors_total{cache=\"$c\"}")
	[ $i -lt 150 ] && [ "$errs" = 0 ] && ok "purged another user's $c cache below max_size, no errors" ||
		not_ok "purged another user's $c cache" "errors $errs; $(grep -i purge "$T/agent.log" | tail -3)"
done

# One summary line at info, the per-cache details only at debug.
cnt=$(grep -c 'level=info msg="watching caches"' "$T/agent.log")
check_eq "one 'watching caches' line at info for three caches" "$cnt" 1
grep -q 'level=info msg="watching caches" count=3 caches=home,sticky,third ' "$T/agent.log" &&
	ok "the line names the caches" || not_ok "the line names the caches" "$(grep 'watching caches' "$T/agent.log")"
cnt=$(grep -c 'level=info msg="watching cache" ' "$T/agent.log")
check_eq "no per-cache configuration lines at info" "$cnt" 0
kill "$agent" && wait "$agent"
agent=""
timeout 5 "$BIN" run --config.file="$T/run.yml" --web.listen-address=127.0.0.1:0 --log.level=debug \
	>"$T/debug.log" 2>&1
cnt=$(grep -c 'level=debug msg="watching cache" ' "$T/debug.log")
check_eq "per-cache lines at debug level" "$cnt" 3
tap_end
