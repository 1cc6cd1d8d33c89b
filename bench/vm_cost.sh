#!/bin/sh
# Inside a VM of tests/vm/run.sh (bench/vm.sh starts it): per-call cost of cachewatch on
# backend $1 against nothing attached and empty programs on the same hooks, same boot.
# TCG makes absolute numbers meaningless; the ratio to the floor is the figure.
#   sh bench/vm_cost.sh BACKEND WORKDIR
set -eu
BACKEND=$1
T=$2
BUILD=build
ITERS=${ITERS:-50000}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-3}
COST=$BUILD/bench/syscall_cost
. bench/lib.sh
trap cw_bench_cleanup EXIT INT TERM
mkdir -p "$T/watched/g" "$T/unwatched"
cw_agent_start "$T/discover.log" --watch "$T/watched" --bpf.attach "$BACKEND"
hooks=$(cw_agent_hooks "$T/discover.log")
cw_agent_stop
: >"$T/results"
for r in $(seq "$ROUNDS"); do
	case $r in 1) order="none floor cachewatch" ;; 2) order="floor cachewatch none" ;; *) order="cachewatch none floor" ;; esac
	for cfg in $order; do
		case $cfg in
		floor) cw_floor_start $hooks ;;
		cachewatch) cw_agent_start "$T/agent.log" --watch "$T/watched" --bpf.attach "$BACKEND" ;;
		esac
		for l in "watched write $T/watched/g/f" "unwatched write $T/unwatched/f" "getppid getppid -"; do
			set -- $l
			name=$1
			shift
			for _ in $(seq "$REPS"); do "$COST" "$@" "$ITERS"; done | cw_median | sed "s/^/$cfg $name /" >>"$T/results"
		done
		cw_bench_cleanup
	done
done
cell() { awk -v c="$1" -v l="$2" '$1 == c && $2 == l {print $3}' "$T/results" | cw_median; }
echo "@@BENCH kernel $(uname -r), backend $BACKEND, hooks: $hooks"
echo "@@BENCH $ITERS calls per run, median of $REPS runs, median of $ROUNDS interleaved rounds (TCG: ratios only)"
echo "@@BENCH | per call | nothing (ns) | floor added | cachewatch added | x floor |"
echo "@@BENCH |---|---|---|---|---|"
for l in watched unwatched getppid; do
	awk -v l="$l" -v b="$(cell none "$l")" -v f="$(cell floor "$l")" -v c="$(cell cachewatch "$l")" 'BEGIN {
		printf "@@BENCH | %s | %.0f | %+.0f | %+.0f | %.2f |\n", l, b, f - b, c - b, (f > b ? (c - b) / (f - b) : 0)
	}'
done
# the harness counts TAP: one line says the table was made
echo "ok 1 - per-call table for $BACKEND"
echo "1..1"
