#!/bin/sh
# The agent's access state file (TAP, root, BPF): records in the file are seeded at
# start and rank the purge (timestamp: access), keep_hot reports what it kept, the
# records are written back periodically and at SIGTERM (atomically, mode 0600) and
# survive a second restart; corrupt, truncated, other-version and hostile files are
# refused with a clear log line and the agent still starts.
# The records here come from crafted state files (tests/lib/access_state.py), so this
# runs without the data plane's access tracking; purge_access_agent.sh reads files.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
T=$(mktemp -d /tmp/cw-access-state.XXXXXX)
chmod 755 "$T"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. tests/lib/tap.sh
STATE="python3 tests/lib/access_state.py"
PORT=$(free_port 3)
URL="http://127.0.0.1:$PORT"
C="$T/c"
ST="$T/state/access.state"
mkdir -p "$T/state"
chmod 755 "$T/state"

# config MAX_SIZE [INTERVAL]
config() {
	cat >"$T/cfg.yml" <<YML
poll_interval: 200ms
access_state:
  path: $ST
  interval: ${2:-1h}
caches:
  - name: c
    path: $C
    purge:
      max_size: $1
      timestamp: access
      interval: 1h
      keep_hot: {window: 1h, min_accesses: 3}
YML
}
inos() { for f in "$@"; do stat -c %i "$C/$f"; done | sort -n | tr '\n' ' '; }
dump_inos() { $STATE --dump "$ST" | awk '{ print $2 }' | sort -n | tr '\n' ' '; }

# --- seeded at start: the purge ranks by the records
mk_aged "$C"
echo x >"$C/gone"
sleep 1.2 # accesses after the files' birth
$STATE "$ST" "$C/f8=0.3,0.4,0.5" "$C/f7=0.2" "$C/f6=0.1" "$C/gone=0.1"
gone_ino=$(stat -c %i "$C/gone")
rm "$C/gone"
config 300KiB
if agent_start; then ok "agent starts with a state file"; else not_ok "agent starts" "$(tail -5 "$T/log")"; fi
wait_log 'access state loaded.*records=4' && ok "log: access state loaded, 4 records" || not_ok "loaded log line" "$(grep access "$T/log")"
wait_log 'purge finished" cache=c' || not_ok "the start-up purge finished" "$(tail -5 "$T/log")"
check_eq "the agent's purge deleted the oldest files not read" "$(ls "$C" | tr '\n' ' ')" "f1 f2 f3 f6 f7 f8 "
check_metric "keep_hot's kept files in the metrics" 'cachewatch_purge_kept_hot_files{cache="c"}' 1
check_metric "keep_hot's kept bytes in the metrics" 'cachewatch_purge_kept_hot_bytes{cache="c"}' 40960
before=$($STATE --dump "$ST" | sort)
rm -f "$ST"
agent_stop
check_eq "SIGTERM: clean exit" "$rc" 0
[ -f "$ST" ] && ok "the state file is written at stop" || not_ok "state written at stop" "$(grep access "$T/log")"
check_eq "mode 0600, owned by root" "$(stat -c '%a %u' "$ST")" "600 0"
check_eq "it holds the records of the files read, not the one deleted" "$(dump_inos)" "$(inos f6 f7 f8)"
grep -q 'access state saved.*records=3 dropped=1' "$T/log" && ok "log: the record of the deleted file dropped" ||
	not_ok "dropped in the log" "$(grep 'access state' "$T/log")"
check_eq "records unchanged by the round trip" "$($STATE --dump "$ST" | sort)" "$(echo "$before" | grep -v " $gone_ino ")"
[ -z "$(ls -A "$T/state" | grep -v '^access.state$')" ] && ok "no temporary file left" || not_ok "temporary file left" "$(ls -A "$T/state")"

# --- a restart: the records still rank the purge (and are written again)
config 200KiB
if agent_start; then ok "agent restarts"; else not_ok "agent restarts" "$(tail -5 "$T/log")"; fi
wait_log 'purge finished" cache=c' || not_ok "the purge after the restart finished" "$(tail -5 "$T/log")"
check_eq "after a restart the files read are still ranked as used" "$(ls "$C" | tr '\n' ' ')" "f1 f6 f7 f8 "
agent_stop
check_eq "SIGTERM: clean exit" "$rc" 0
check_eq "the records survive a second restart" "$(dump_inos)" "$(inos f6 f7 f8)"

# --- periodic save; the record of a file deleted unseen leaves the data plane's map too
echo x >"$C/gone2"
sleep 1.2
$STATE "$ST" "$C/f8=0.3,0.4,0.5" "$C/f7=0.2" "$C/f6=0.1" "$C/gone2=0.1"
rm "$C/gone2"
config 1MiB 1s
agent_start || not_ok "agent starts (periodic save)"
wait_log 'access state loaded.*records=4' || not_ok "4 records loaded" "$(grep access "$T/log")"
rm -f "$ST"
i=0
while [ $i -lt 50 ] && [ ! -f "$ST" ]; do sleep 0.1; i=$((i + 1)); done
[ -f "$ST" ] && ok "access_state.interval 1s: the file is written again while running" || not_ok "periodic save"
check_eq "periodic save holds the records" "$(dump_inos)" "$(inos f6 f7 f8)"
check_metric "the deleted file's record is pruned from the map at the save (4 seeded, 3 left)" \
	'cachewatch_access_records' 3 5
agent_stop

# --- files that cannot be trusted: refused, logged, the agent starts anyway
config 1MiB
refused() { # NAME REASON
	if agent_start; then
		if grep -q "access state refused and ignored.*$2" "$T/log"; then
			ok "$1: the agent starts and logs why the state was refused"
		else
			not_ok "$1: refusal logged" "$(grep -i access "$T/log")"
		fi
	else
		not_ok "$1: the agent starts" "$(tail -5 "$T/log")"
	fi
	agent_stop
	check_eq "$1: clean exit" "$rc" 0
}
$STATE "$ST" --corrupt "$C/f8=0.3"
refused "corrupt" "checksum mismatch"
$STATE "$ST" --truncate "$C/f8=0.3"
refused "truncated" "truncated"
$STATE "$ST" --version 2 "$C/f8=0.3"
refused "another version" "version 2"
$STATE "$T/elsewhere.state" "$C/f8=0.3"
rm -f "$ST"
ln -s "$T/elsewhere.state" "$ST"
refused "symlink" "is a symbolic link"
[ -L "$ST" ] && not_ok "the symlink was replaced at stop" || ok "at stop the symlink itself was replaced, not followed"
check_eq "the symlink's target is untouched" "$($STATE --dump "$T/elsewhere.state" | wc -l)" 1
$STATE "$ST" "$C/f8=0.3"
chown 65534:65534 "$ST"
refused "file of another user" "owned by another user"
$STATE "$ST" "$C/f8=0.3"
chmod 666 "$ST"
refused "world-writable file" "writable by group or others"
chmod 777 "$T/state"
refused "world-writable directory" "directory writable by group or others"
grep -q 'access state not saved.*directory writable by group or others' "$T/log" &&
	ok "nothing is written into a directory others can write" || not_ok "save refused" "$(grep access "$T/log")"
chmod 755 "$T/state"
rm -rf "$T/state"
if agent_start; then
	grep -q 'no access state to load' "$T/log" && ok "missing directory: logged, the agent starts" || not_ok "missing dir logged"
else
	not_ok "missing directory: the agent starts"
fi
agent_stop
[ ! -e "$T/state" ] && ok "the directory is not created by the agent" || not_ok "directory created"

tap_end
