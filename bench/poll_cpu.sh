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
. bench/lib.sh
cw_need_root poll_cpu
T=$(mktemp -d /var/tmp/cw-pollcpu.XXXXXX)
trap 'cw_bench_cleanup; rm -rf "$T"' EXIT INT TERM

echo "building $BASE_REF ($(git rev-parse --short "$BASE_REF")) and this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with uncommitted changes'))"
cw_build_ref "$BASE_REF" "$T/base"
make -s -j2 "$BUILD/cachewatch" "$BUILD/bench/poll_groups" >"$T/head.log" 2>&1 ||
	{ cat "$T/head.log" >&2; exit 1; }

# on-CPU nanoseconds of every thread of $1
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

# run LABEL BINARY: prints "LABEL share_of_core_percent ms_per_poll"
run() {
	label=$1
	CW_AGENT_BIN=$2 cw_series_up "$T/$label.agent.log" "$SERIES"
	sleep 3 # let the first purge scan of the new tree finish
	c0=$(cpu_ns "$CW_AGENT_PID")
	t0=$(date +%s%N)
	sleep "$IDLE"
	c1=$(cpu_ns "$CW_AGENT_PID")
	t1=$(date +%s%N)
	cw_agent_stop
	awk -v l="$label" -v c="$((c1 - c0))" -v t="$((t1 - t0))" 'BEGIN {
		polls = t / 1e9
		printf "%-8s %6.2f %% of a core   %7.2f ms CPU per poll\n", l, 100 * c / t, c / 1e6 / polls
	}'
}

echo "idle agent, $SERIES series, poll interval 1s, CPU over ${IDLE}s:"
run base "$T/base/build/cachewatch"
run head "$BUILD/cachewatch"
