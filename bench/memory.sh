#!/bin/sh
# Memory at SERIES series (default 16,384, the cap): every BPF map the agent holds
# (bpftool's bytes_memlock: what the kernel charges for it) and the agent's RSS.
#   SERIES=16384 sh bench/memory.sh
set -eu
cd "$(dirname "$0")/.."
SERIES=${SERIES:-16384}
BUILD=${BUILD:-build}
. bench/lib.sh
cw_need_root memory
T=$(mktemp -d /var/tmp/cw-memory.XXXXXX)
trap 'cw_bench_cleanup; rm -rf "$T"' EXIT INT TERM
make -s -j2 "$BUILD/cachewatch" "$BUILD/bench/poll_groups" >/dev/null
cw_series_up "$T/agent.log" "$SERIES"
sleep 2 # a poll or two after the last series appeared
echo "agent with $SERIES series ($(cw_series_seen) in /metrics), backend $(cw_agent_backend "$T/agent.log"):"
printf '| %-16s | %-14s | %11s | %12s |\n' map type "max entries" "memlock KiB"
printf '|%s|%s|%s|%s|\n' "---" "---" "---" "---"
for id in $(cw_bpf_ids "$CW_AGENT_PID" map_id); do
	bpftool map show id "$id" --json
	echo
done | /usr/bin/python3 -c '
import json, sys
total = 0
for line in sys.stdin:
    if not line.strip():
        continue
    m = json.loads(line)
    b = m.get("bytes_memlock", 0)
    total += b
    print("| %-16s | %-14s | %11d | %12.0f |" % (m.get("name", "?"), m.get("type", "?"), m.get("max_entries", 0), b / 1024))
print("| %-16s | %-14s | %11s | %12.0f |" % ("all maps", "", "", total / 1024))'
awk '/^VmRSS|^VmHWM/ {printf "agent %s %d KiB\n", $1, $2}' /proc/"$CW_AGENT_PID"/status
