#!/bin/sh
# Added cost of cachewatch per 64-byte pread and per open+close for reading of a
# file in a watched and in an unwatched directory, against the same loops with
# nothing attached, rounds interleaved in one run (ratios, not absolute figures).
# Times are the calling thread's CPU time (the programs run in its syscalls).
# "attached" watches with track_reads (the default), "no reads" with
# track_reads: false, which leaves only the tracepoint floor on every syscall.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
COST=$BUILD/bench/read_cost
ITERS=${ITERS:-200000}
REPS=${REPS:-5}
BACKEND=${BACKEND:-auto}
. bench/lib.sh
cw_need_root read_cost
work=$(mktemp -d /var/tmp/cw-bench-XXXXXX)
cleanup() { cw_bench_cleanup; rm -rf "$work"; }
trap cleanup EXIT INT TERM
mkdir -p "$work/watched/g" "$work/unwatched/g"
for d in watched unwatched; do
	dd if=/dev/zero of="$work/$d/g/f" bs=64k count=1 2>/dev/null
done

# fastest of REPS runs of: read_cost ARGS (other load on the machine only adds
# time, so the fastest run is the closest to the call's own cost)
best() {
	for _ in $(seq "$REPS"); do "$COST" "$@" "$ITERS"; done | sort -n | head -n 1
}

measure() {
	echo "$(best pread "$work/watched/g/f") $(best pread "$work/unwatched/g/f")" \
		"$(best open "$work/watched/g/f") $(best open "$work/unwatched/g/f")"
}

# start_agent TRACK_READS
start_agent() {
	cat >"$work/agent.yml" <<EOC
bpf: {attach: $BACKEND}
caches:
  - name: bench
    path: $work/watched
    group_depth: 1
    track_reads: $1
EOC
	cw_agent_start "$work/log" --config.file "$work/agent.yml"
}

# Baseline and attached rounds alternate so drift in machine load hits both.
: >"$work/base"
: >"$work/att"
: >"$work/off"
for _ in $(seq "${ROUNDS:-5}"); do
	measure >>"$work/base"
	start_agent true
	backend=$(sed -n 's/.*BPF attached" backend=\([a-z]*\).*/\1/p' "$work/log")
	measure >>"$work/att"
	cw_agent_stop
	start_agent false
	measure >>"$work/off"
	cw_agent_stop
done
col() { awk -v c="$2" '{print $c}' "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "backend: $backend; $ITERS calls per run, fastest of $REPS runs per round, median of ${ROUNDS:-5} alternating rounds; CPU ns per call"
printf '%-34s %10s %10s %8s %10s %8s\n' "loop" "baseline" "attached" "ratio" "no reads" "ratio"
row() {
	awk -v n="$1" -v b="$2" -v a="$3" -v o="$4" \
		'BEGIN {printf "%-34s %10.1f %10.1f %8.2f %10.1f %8.2f\n", n, b, a, a/b, o, o/b}'
}
for c in 1 2 3 4; do
	case $c in
	1) name="64-byte pread, watched dir" ;;
	2) name="64-byte pread, unwatched dir" ;;
	3) name="open+close for reading, watched" ;;
	4) name="open+close for reading, unwatched" ;;
	esac
	row "$name" "$(col "$work/base" $c)" "$(col "$work/att" $c)" "$(col "$work/off" $c)"
done
