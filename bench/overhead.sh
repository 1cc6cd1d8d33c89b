#!/bin/sh
# Added cost of cachewatch per 64-byte write into a watched directory and per
# unrelated syscall (getppid), against the same loops with nothing attached.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/cachewatch
COST=$BUILD/bench/syscall_cost
ITERS=${ITERS:-1000000}
REPS=${REPS:-5}
work=$(mktemp -d /var/tmp/cw-bench-XXXXXX)
agent=""
cleanup() { [ -n "$agent" ] && kill "$agent" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM
mkdir -p "$work/watched/g" "$work/unwatched"

# median of REPS runs of: syscall_cost ARGS
median() {
	for _ in $(seq "$REPS"); do "$COST" "$@" "$ITERS"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# two writers at once into one group (one shared series): the slower one's ns/call
pair() {
	for _ in $(seq "$REPS"); do
		"$COST" write "$work/watched/g/p1" "$ITERS" >"$work/p1" &
		"$COST" write "$work/watched/g/p2" "$ITERS" >"$work/p2"
		wait
		cat "$work/p1" "$work/p2" | sort -n | tail -n 1
	done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

measure() {
	w=$(median write "$work/watched/g/f")
	u=$(median write "$work/unwatched/f")
	p=$(median getppid -)
	c=$(pair)
	echo "$w $u $p $c"
}

start_agent() {
	"$BIN" top --json --interval 1s "$work/watched" >/dev/null 2>"$work/log" &
	agent=$!
	for _ in $(seq 200); do grep -q watching "$work/log" && return 0; sleep 0.1; done
	echo "agent did not attach:" >&2
	cat "$work/log" >&2
	exit 1
}

stop_agent() {
	kill "$agent"
	wait "$agent" || true
	agent=""
}

# Baseline and attached rounds alternate so drift in machine load hits both.
: >"$work/base"
: >"$work/att"
for _ in $(seq "${ROUNDS:-3}"); do
	measure >>"$work/base"
	start_agent
	backend=$(sed -n 's/.*BPF attached" backend=\([a-z]*\).*/\1/p' "$work/log")
	measure >>"$work/att"
	stop_agent
done
col() { awk -v c="$2" '{print $c}' "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "backend: $backend; $ITERS calls per run, median of $REPS runs per round, median of ${ROUNDS:-3} alternating rounds; ns per call"
printf '%-34s %10s %10s %10s %8s\n' "loop" "baseline" "attached" "added" "ratio"
row() { awk -v n="$1" -v b="$2" -v a="$3" 'BEGIN {printf "%-34s %10.1f %10.1f %10.1f %8.2f\n", n, b, a, a-b, a/b}'; }
row "64-byte pwrite, watched dir" "$(col "$work/base" 1)" "$(col "$work/att" 1)"
row "64-byte pwrite, unwatched dir" "$(col "$work/base" 2)" "$(col "$work/att" 2)"
row "getppid (unrelated syscall)" "$(col "$work/base" 3)" "$(col "$work/att" 3)"
row "2 writers at once, same group" "$(col "$work/base" 4)" "$(col "$work/att" 4)"
