#!/bin/sh
# CPU an idle agent spends polling at 16,384 series (real group dirs, real BPF,
# root): a baseline build (main by default) against this tree's, in one run.
#   SERIES=16384 IDLE=30 BASE_REF=main sh bench/poll_cpu.sh
# Each agent watches one root with group_depth 1; poll_groups writes one byte
# into SERIES-1 group directories and the root, so the agent holds SERIES series.
# After every series is visible in /metrics, the agent's on-CPU time (all its
# threads, /proc/PID/task/*/schedstat) is measured over IDLE seconds of nothing
# happening, and reported as a share of one core and per poll.
set -eu
cd "$(dirname "$0")/.."
SERIES=${SERIES:-16384}
IDLE=${IDLE:-30}
BASE_REF=${BASE_REF:-main}
BUILD=${BUILD:-build}
T=$(mktemp -d /var/tmp/cw-pollcpu.XXXXXX)
agent=""
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" -eq 0 ] || { echo "poll_cpu: needs root (BPF)" >&2; exit 1; }

echo "building $BASE_REF ($(git rev-parse --short "$BASE_REF")) and this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with uncommitted changes'))"
mkdir "$T/base"
git archive "$BASE_REF" | tar -x -C "$T/base"
make -s -C "$T/base" -j2 build/cachewatch REVISION="$(git rev-parse --short "$BASE_REF")" >"$T/base.log" 2>&1 ||
	{ cat "$T/base.log" >&2; exit 1; }
make -s -j2 "$BUILD/cachewatch" "$BUILD/bench/poll_groups" >"$T/head.log" 2>&1 ||
	{ cat "$T/head.log" >&2; exit 1; }

# on-CPU nanoseconds of every thread of $1
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

series_seen() {
	curl -s "http://127.0.0.1:$1/metrics" | grep -c '^cachewatch_write_bytes_total{cache="bench"' || true
}

# run LABEL BINARY: prints "LABEL share_of_core_percent ms_per_poll"
run() {
	label=$1
	bin=$2
	rm -rf "$T/root"
	mkdir "$T/root"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$T/cfg.yml" <<YML
poll_interval: 1s
caches:
  - name: bench
    path: $T/root
    group_depth: 1
    max_groups: $SERIES
YML
	"$bin" run --config.file "$T/cfg.yml" --web.listen-address "127.0.0.1:$port" >"$T/$label.agent.log" 2>&1 &
	agent=$!
	i=0
	until grep -q 'msg=ready' "$T/$label.agent.log"; do
		i=$((i + 1))
		[ $i -lt 600 ] || { cat "$T/$label.agent.log" >&2; exit 1; }
		sleep 0.1
	done
	"$BUILD/bench/poll_groups" "$T/root" $((SERIES - 1))
	i=0
	while [ "$(series_seen "$port")" -lt "$SERIES" ]; do
		i=$((i + 1))
		[ $i -lt 120 ] || { echo "$label: only $(series_seen "$port") of $SERIES series appeared" >&2; exit 1; }
		sleep 1
	done
	sleep 3 # let the first purge scan of the new tree finish
	c0=$(cpu_ns "$agent")
	t0=$(date +%s%N)
	sleep "$IDLE"
	c1=$(cpu_ns "$agent")
	t1=$(date +%s%N)
	kill "$agent"
	wait "$agent" || true
	agent=""
	awk -v l="$label" -v c="$((c1 - c0))" -v t="$((t1 - t0))" 'BEGIN {
		polls = t / 1e9
		printf "%-8s %6.2f %% of a core   %7.2f ms CPU per poll\n", l, 100 * c / t, c / 1e6 / polls
	}'
}

echo "idle agent, $SERIES series, poll interval 1s, CPU over ${IDLE}s:"
run base "$T/base/build/cachewatch"
run head "$BUILD/cachewatch"
