#!/bin/sh
# Agent memory (RSS) under 64 slow scrapers (5 KB/s each) at 1,000 and 16,384
# series, for this tree's agent and for BASE_REF's (default main), built from a
# temporary worktree in the same run (or BASE_BIN). Needs root (real BPF).
#   BASE_REF=main SERIES="1000 16384" SCRAPERS=64 RATE=5000 SECONDS=30 sh bench/http_slow_scrapers.sh
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BASE_REF=${BASE_REF:-main}
SERIES=${SERIES:-1000 16384}
SCRAPERS=${SCRAPERS:-64}
RATE=${RATE:-5000}
SECONDS_=${SECONDS:-30}
TOOLS=$BUILD/tests
work=$(mktemp -d /var/tmp/cw-slowscrape-XXXXXX)
agent=""
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	git worktree remove --force "$work/base" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

make -s -j2 all tests-bin >/dev/null
if [ -z "${BASE_BIN:-}" ]; then # BASE_BIN=path: an already built baseline agent
	git worktree add -q --detach "$work/base" "$BASE_REF"
	make -s -C "$work/base" -j2 all >/dev/null
	BASE_BIN=$work/base/$BUILD/cachewatch
fi

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# run BIN N: prints "idle_kb peak_kb after_kb body_bytes"
run() {
	bin=$1
	n=$2
	root=$work/cache
	rm -rf "$root"
	mkdir -p "$root"
	# n-1 groups plus the root's own series (dir=".")
	[ "$n" -gt 1 ] && seq -f "$root/g%.0f" 1 $((n - 1)) | xargs mkdir
	cat >"$work/cfg.yml" <<EOC
poll_interval: 1s
caches:
  - name: bench
    path: $root
    group_depth: 1
    max_groups: 0
EOC
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$bin" run --config.file "$work/cfg.yml" --web.listen-address "127.0.0.1:$port" >"$work/agent.log" 2>&1 &
	agent=$!
	until curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready"; do sleep 0.2; done
	echo x >"$root/f"
	i=1
	while [ $i -lt "$n" ]; do echo x >"$root/g$i/f"; i=$((i + 1)); done
	# every group has its series
	until [ "$(curl -s "http://127.0.0.1:$port/metrics" | grep -c '^cachewatch_write_bytes_total{cache="bench"')" -ge "$n" ]; do
		sleep 1
	done
	body=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
	idle=$(rss_kb "$agent")
	"$TOOLS/scrapers" --rate "$RATE" --seconds "$SECONDS_" 127.0.0.1 "$port" /metrics "$SCRAPERS" \
		>"$work/scrapers.out" 2>&1 &
	sp=$!
	peak=$idle
	while kill -0 "$sp" 2>/dev/null; do
		r=$(rss_kb "$agent")
		[ "$r" -gt "$peak" ] && peak=$r
		sleep 0.5
	done
	wait "$sp" || true
	sleep 3
	after=$(rss_kb "$agent")
	kill "$agent"
	wait "$agent" || true
	agent=""
	echo "$idle $peak $after $body"
}

printf '%-8s %-6s %10s %10s %10s %12s\n' series agent idle_MB peak_MB after_MB body_bytes
for n in $SERIES; do
	for which in base new; do
		bin=$BUILD/cachewatch
		[ "$which" = base ] && bin=$BASE_BIN
		set -- $(run "$bin" "$n")
		printf '%-8s %-6s %10.1f %10.1f %10.1f %12s\n' "$n" "$which" "$(echo "$1/1024" | bc -l)" \
			"$(echo "$2/1024" | bc -l)" "$(echo "$3/1024" | bc -l)" "$4"
	done
done
