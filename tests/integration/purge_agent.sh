#!/bin/sh
# The purge engine inside the running agent (TAP, root, BPF): writing past the
# high watermark starts a purge within a second; a purge of 100k files runs in a
# worker while scrapes go on, every scrape complete.
set -u
BIN=${CW_BIN:-build/cachewatch}
TOOLS=${CW_TESTS:-build/tests}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
case "$TOOLS" in /*) ;; *) TOOLS="$(pwd)/$TOOLS" ;; esac
T=$(mktemp -d /tmp/cw-purge-agent.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. tests/lib/tap.sh
PORT=$((20000 + $$ % 20000))
URL="http://127.0.0.1:$PORT/metrics"
N=100000

mkdir -p "$T/evt"
"$TOOLS/purge_mkfiles" "$T/evt" 8 1048576 2 86400 60
"$TOOLS/purge_mkfiles" "$T/big" $N 4096 100 3600 1
cat >"$T/cfg.yml" <<YML
poll_interval: 200ms
caches:
  - name: evt
    path: $T/evt
    purge:
      max_size: 10MiB
      interval: 1h
  - name: big
    path: $T/big
    purge:
      max_size: 200MiB
      interval: 1h
      rate_limit: 20000
YML
"$BIN" run --config.file "$T/cfg.yml" --web.listen-address "127.0.0.1:$PORT" --log.level debug >"$T/log" 2>&1 &
pid=$!

# scrape continuously while the big purge runs: every answer must be whole
i=0
bad=0
while [ $i -lt 300 ]; do
	i=$((i + 1))
	if curl -sf -m 2 -H 'Accept: application/openmetrics-text; version=1.0.0' "$URL" >"$T/scrape" 2>/dev/null; then
		tail -n 1 "$T/scrape" | grep -q '^# EOF$' || bad=$((bad + 1))
	else
		[ $i -gt 20 ] && bad=$((bad + 1)) # the first ones may come before the server is up
	fi
	grep -q 'purge finished" cache=big' "$T/log" && break
	sleep 0.05
done
grep -q 'purge finished" cache=big' "$T/log" && ok "100k-file purge finished in the agent" || not_ok "100k-file purge finished"
[ $bad -eq 0 ] && ok "$i scrapes during the purge, all complete" || not_ok "$bad of $i scrapes incomplete"
left=$(find "$T/big" -type f | wc -l)
# 390.6MiB > 180MiB: down to 160MiB = 40960 files
[ "$left" -eq 40960 ] && ok "the big cache went down to the low watermark" || not_ok "big cache: $left files left"

# event-driven: push evt over its high watermark (9MiB) and time the reaction
head -c 3145728 /dev/zero >"$T/evt/new"
t0=$(date +%s.%N)
k=0
while [ $k -lt 40 ] && ! grep -q 'trigger=high_watermark' "$T/log"; do sleep 0.05; k=$((k + 1)); done
line=$(grep 'scan started" cache=evt trigger=high_watermark' "$T/log" | head -n 1)
if [ -n "$line" ]; then
	ts=$(echo "$line" | sed 's/^ts=\([^ ]*\)Z .*/\1/')
	t1=$(date -u -d "$ts" +%s.%N)
	dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	echo "# purge started ${dt}s after the write"
	awk -v d="$dt" 'BEGIN { exit !(d < 1.0) }' && ok "a purge started within a second of the write (${dt}s)" || not_ok "purge started after ${dt}s"
else
	not_ok "no purge started after writing past the high watermark"
	sed 's/^/# /' "$T/log" | tail -n 20
fi
sleep 0.5
curl -sf "$URL" | grep -q 'cachewatch_purged_files_total{cache="evt",reason="size"} [1-9]' \
	&& ok "purged files show in the metrics" || not_ok "purged files show in the metrics"
[ -f "$T/evt/new" ] && ok "the newest file stays" || not_ok "the newest file stays"

kill "$pid"
t0=$(date +%s%N)
wait "$pid"
rc=$?
pid=""
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 0 ] && [ $ms -lt 5000 ] && ok "agent stops promptly (${ms}ms)" || not_ok "agent stop: rc $rc after ${ms}ms"

tap_end
