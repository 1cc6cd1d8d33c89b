#!/bin/sh
# Purges ranked by the accesses the data plane observes (TAP, root, BPF): on a noatime
# tmpfs, files read with cat are kept by a size purge under timestamp: access while
# timestamp: max deletes them; keep_hot keeps files read N times within the window,
# not N-1 times or outside it; reads survive an agent restart through the state file.
# Needs the data plane's per-file access records (cw_access_lookup / _foreach).
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
T=$(mktemp -d /tmp/cw-access-agent.XXXXXX)
chmod 755 "$T"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	mountpoint -q "$T/m" && umount "$T/m"
	rm -rf "$T"
}
trap cleanup EXIT
. tests/lib/tap.sh
STATE="python3 tests/lib/access_state.py"
PORT=$(free_port 5)
URL="http://127.0.0.1:$PORT"
M="$T/m"
ST="$T/state/access.state"
mkdir -p "$M" "$T/state"
chmod 755 "$T/state"
mount -t tmpfs -o noatime,size=32m cwnoatime "$M" || { not_ok "mount a noatime tmpfs"; tap_end; exit 1; }

left() { ls "$1" | grep -v '^new$' | tr '\n' ' '; }
wait_purge() { wait_log "purge finished\" cache=$1 "; } # CACHE: its purge after the start-up scan

for d in acc mx hot; do mk_aged "$M/$d"; done
cat >"$T/cfg.yml" <<YML
poll_interval: 200ms
access_state:
  path: $ST
caches:
  - name: acc
    path: $M/acc
    purge: {max_size: 400KiB, timestamp: access, interval: 1h}
  - name: mx
    path: $M/mx
    purge: {max_size: 400KiB, timestamp: max, interval: 1h}
  - name: hot
    path: $M/hot
    purge: {max_size: 400KiB, timestamp: mtime, interval: 1h, keep_hot: {window: 8s, min_accesses: 3}}
YML
if agent_start; then ok "agent starts"; else not_ok "agent starts" "$(tail -5 "$T/log")"; fi
sleep 1.2
# keep_hot: f6 read 3 times, then it leaves the 8 s window
for k in 1 2 3; do cat "$M/hot/f6" >/dev/null; done
sleep 9
cat "$M/acc/f8" "$M/acc/f7" "$M/acc/f6" "$M/mx/f8" "$M/mx/f7" "$M/mx/f6" >/dev/null
for k in 1 2 3; do cat "$M/hot/f8" >/dev/null; done
for k in 1 2; do cat "$M/hot/f7" >/dev/null; done
sleep 1 # a poll
# 320 KiB + 80 KiB = 400 KiB > 360 KiB: the agent purges down to 320 KiB, 2 files
for d in acc mx hot; do head -c 81920 /dev/urandom >"$M/$d/new"; done
for d in acc mx hot; do wait_purge $d || not_ok "$d: a purge ran" "$(grep "cache=$d" "$T/log" | tail -3)"; done
check_eq "timestamp access: the oldest files not read went" "$(left "$M/acc")" "f1 f2 f3 f6 f7 f8 "
check_eq "timestamp max on noatime: the files just read went (wrong)" "$(left "$M/mx")" "f1 f2 f3 f4 f5 f6 "
check_eq "keep_hot: f8 (3 reads in the window) kept; f7 (2 reads), f6 (3 reads, outside) went" \
	"$(left "$M/hot")" "f1 f2 f3 f4 f5 f8 "
check_metric "keep_hot's kept files in the metrics" 'cachewatch_purge_kept_hot_files{cache="hot"}' 1

# state survives a restart: the reads are ranked as uses after SIGTERM and a new start
agent_stop
check_eq "SIGTERM: clean exit" "$rc" 0
acc_inos=$(for f in f6 f7 f8; do stat -c %i "$M/acc/$f"; done | sort -n | tr '\n' ' ')
got=$($STATE --dump "$ST" | awk -v d="$(stat -c %d "$M/acc")" '$1 == d { print $2 }' | sort -n | tr '\n' ' ')
case "$got" in
*"$(echo "$acc_inos" | cut -d' ' -f1)"*"$(echo "$acc_inos" | cut -d' ' -f2)"*"$(echo "$acc_inos" | cut -d' ' -f3)"*)
	ok "the state file holds the reads of acc/f6..f8" ;;
*) not_ok "the state file holds the reads" "got $got" "want $acc_inos among them" ;;
esac
sed -i 's/max_size: 400KiB, timestamp: access/max_size: 280KiB, timestamp: access/' "$T/cfg.yml"
if agent_start; then ok "agent restarts"; else not_ok "agent restarts" "$(tail -5 "$T/log")"; fi
wait_purge acc || not_ok "acc: a purge after the restart"
# 6 files + new = 320 KiB > 252 KiB: down to 224 KiB, 96 KiB: f3, f2, f1 go (not read)
check_eq "after a restart the files read before it are still ranked as used" "$(left "$M/acc")" "f6 f7 f8 "
agent_stop

tap_end
