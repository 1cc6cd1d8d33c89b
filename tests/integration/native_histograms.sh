#!/bin/sh
# Native histograms end to end (real BPF, needs root): the agent's protobuf
# exposition scraped by a real Prometheus 2.42 with --enable-feature=native-histograms
# while a real writer (dd) produces write latencies, checked against a second
# Prometheus without the feature that scrapes the classic text buckets: the
# native histogram_quantile agrees with the classic one within a classic bucket
# (factor 4), histogram_count equals the classic _count and the agent's own.
# Prometheus 2.42 has no scrape_classic_histograms (2.45+): with the feature on
# it ingests only the native part, hence the second instance. Prints TAP.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${CW_BIN:-build/cachewatch}
T=$(mktemp -d /tmp/cw-nativehist.XXXXXX)
. tests/lib/tap.sh
agent=""
nprom=""
cprom=""
writer=""

cleanup() {
	for p in $writer $nprom $cprom $agent; do
		kill "$p" 2>/dev/null
	done
	for p in $writer $nprom $cprom $agent; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

PROTO_ACCEPT='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
PORT=$(free_port 11)
URL=http://127.0.0.1:$PORT
C=$T/cache
mkdir -p "$C/g1"

"$BIN" run --watch "t=$C" --group-depth 1 --poll.interval 200ms \
	--web.listen-address "127.0.0.1:$PORT" >"$T/agent.log" 2>&1 &
agent=$!
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/-/ready")" = 200 ]; do
	i=$((i + 1))
	if [ $i -ge 300 ] || ! kill -0 "$agent" 2>/dev/null; then
		not_ok "agent becomes ready" "$(tail -5 "$T/agent.log")"
		tap_end
		exit 1
	fi
	sleep 0.05
done
ok "agent becomes ready"

# ---- the exposition itself ---------------------------------------------------------

dd if=/dev/zero of="$C/g1/seed" bs=100 count=3 2>/dev/null
check_metric "text scrape sees the seed writes" 'cachewatch_writes_total{cache="t",dir="g1"}' 3
curl -s -D "$T/h.pb" -o "$T/body.pb" -H "Accept: $PROTO_ACCEPT" "$URL/metrics"
grep -qi "^Content-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited" \
	"$T/h.pb" && ok "protobuf Accept gets the delimited MetricFamily content type" ||
	not_ok "protobuf Accept gets the delimited MetricFamily content type" "$(cat "$T/h.pb")"
# The first byte of a delimited stream is a varint length, never the "#" of text.
first=$(head -c 1 "$T/body.pb" | od -An -c | tr -d ' ')
[ -s "$T/body.pb" ] && [ "$first" != "#" ] && ok "protobuf body is not text" ||
	not_ok "protobuf body is not text" "first byte '$first'"
curl -s -D "$T/h.pbgz" -o "$T/body.pb.gz" -H "Accept: $PROTO_ACCEPT" -H 'Accept-Encoding: gzip' "$URL/metrics"
if grep -qi '^Content-Encoding: gzip' "$T/h.pbgz" && gzip -dc "$T/body.pb.gz" >"$T/body.pb.un" &&
	[ -s "$T/body.pb.un" ]; then ok "protobuf exposition is gzipped on request"; else
	not_ok "protobuf exposition is gzipped on request" "$(cat "$T/h.pbgz")"; fi
curl -s -D "$T/h.txt" -o /dev/null "$URL/metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/h.txt" && ok "no Accept still gets text" ||
	not_ok "no Accept still gets text" "$(cat "$T/h.txt")"

# ---- two real Prometheus servers -----------------------------------------------------

prom_start() { # prom_start NAME PORT [FLAGS]: starts Prometheus scraping the agent every second
	cat >"$T/$1.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: cachewatch
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML
	prometheus --config.file="$T/$1.yml" --storage.tsdb.path="$T/$1" \
		--web.listen-address="127.0.0.1:$2" ${3:-} >"$T/$1.log" 2>&1 &
}
NPORT=$(free_port 12)
prom_start native "$NPORT" --enable-feature=native-histograms
nprom=$!
CPORT=$(free_port 13)
[ "$CPORT" = "$NPORT" ] && CPORT=$((NPORT + 1))
prom_start classic "$CPORT"
cprom=$!

pquery() { prom_query "http://127.0.0.1:$1" "$2" "${3:-}"; }     # pquery PORT EXPR [TIME]
wait_pquery() { p=$1; shift; wait_prom_query "http://127.0.0.1:$p" "$@"; } # PORT EXPR WANT [SECONDS]

check_eq "native Prometheus scrapes the agent" "$(wait_pquery "$NPORT" 'up{job="cachewatch"}' 1)" 1
check_eq "classic Prometheus scrapes the agent" "$(wait_pquery "$CPORT" 'up{job="cachewatch"}' 1)" 1
# Counters and gauges decode from protobuf too, with the text format's names.
check_eq "native Prometheus reads counters from protobuf" \
	"$(wait_pquery "$NPORT" 'cachewatch_write_bytes_total{cache="t",dir="g1"}' 300 20)" 300
check_eq "native Prometheus reads gauges from protobuf" \
	"$(wait_pquery "$NPORT" 'cachewatch_cache_armed{cache="t"}' 1 10)" 1

# ---- a real writer ------------------------------------------------------------------

# 4 KiB writes into the page cache, in bursts, for about 25 s: rate()[1m] sees
# many scrapes of growing histograms.
(
	end=$(($(date +%s) + 25))
	while [ "$(date +%s)" -lt "$end" ]; do
		dd if=/dev/zero of="$C/g1/data" bs=4k count=500 conv=notrunc 2>/dev/null
		sleep 0.1
	done
) &
writer=$!
wait "$writer"
writer=""
at=$(date +%s)
# Both servers have scraped past the last write once they agree with the agent.
# The agent publishes the last writes at its next poll: wait until its count settles.
want=$(metric 'cachewatch_write_latency_seconds_count{cache="t",dir="g1"}')
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep 1
	now=$(metric 'cachewatch_write_latency_seconds_count{cache="t",dir="g1"}')
	[ "$now" = "$want" ] && break
	want=$now
done
note "agent's count after the writer: $want"
check_eq "classic _count reaches the agent's count" \
	"$(wait_pquery "$CPORT" 'cachewatch_write_latency_seconds_count{cache="t",dir="g1"}' "$want" 20)" "$want"
check_eq "native histogram_count equals the classic _count" \
	"$(wait_pquery "$NPORT" 'histogram_count(cachewatch_write_latency_seconds{cache="t",dir="g1"})' "$want" 20)" "$want"
ns=$(pquery "$NPORT" 'histogram_sum(cachewatch_write_latency_seconds{cache="t",dir="g1"})')
cs=$(pquery "$CPORT" 'cachewatch_write_latency_seconds_sum{cache="t",dir="g1"}')
check_eq "native histogram_sum equals the classic _sum" "$ns" "$cs"
check_eq "native Prometheus keeps no classic bucket series (it got the native histogram)" \
	"$(pquery "$NPORT" 'count(cachewatch_write_latency_seconds_bucket{cache="t",dir="g1"})')" none

# ---- quantiles ------------------------------------------------------------------------

for q in 0.5 0.9 0.99; do
	nq=$(pquery "$NPORT" "histogram_quantile($q, rate(cachewatch_write_latency_seconds{cache=\"t\",dir=\"g1\"}[1m]))" "$at")
	cq=$(pquery "$CPORT" "histogram_quantile($q, rate(cachewatch_write_latency_seconds_bucket{cache=\"t\",dir=\"g1\"}[1m]))" "$at")
	if python3 -c 'import sys, math
n, c = float(sys.argv[1]), float(sys.argv[2])
sys.exit(0 if n > 0 and c > 0 and math.isfinite(n) and math.isfinite(c) and c / 4 <= n <= c * 4 else 1)' "$nq" "$cq" 2>/dev/null; then
		ok "native histogram_quantile($q) $nq s within a classic bucket of the classic $cq s"
	else
		not_ok "native histogram_quantile($q) within a classic bucket of the classic one" "native '$nq', classic '$cq'"
	fi
done

tap_end
