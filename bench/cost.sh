#!/bin/sh
# Per-call cost of cachewatch beside its floor and the inotify/fanotify alternatives,
# measured side by side in one run (issue 12 §3): a 64-byte pwrite into a watched
# directory, the same into an unwatched one, an unrelated syscall (getppid), and a
# 64-byte pread of a watched and of an unwatched file (issue 13: reads against the same floor).
#   ITERS=1000000 REPS=3 ROUNDS=3 BACKEND=auto [BASE_REF=main] [CONFIGS="..."] sh bench/cost.sh
# Configurations, interleaved round by round (the order rotates each round):
#   none        nothing attached
#   floor       empty BPF programs on exactly the hooks cachewatch attached (its log names
#               them; bench/empty_hooks.c): the price of the hooks themselves
#   cachewatch  `cachewatch run --watch` of the watched directory
#   base        the same with the agent of git revision BASE_REF (only when BASE_REF is set)
#   inotify     inotifywait -m -r on the watched directory (inotify-tools)
#   fanotify    fsnotifywait -F -m -r on the watched directory (inotify-tools)
# and, when the backend is tracepoint, the other tracepoint flavour's floor:
#   floor_persys  the per-syscall tracepoints (syscalls:sys_enter_write ...) of every call
#                 cachewatch's raw sys_enter/sys_exit dispatch on, instead of those two
# Every cell is the median over rounds of the median of REPS runs of ITERS calls.
# Then: program run time per event (BPF_ENABLE_STATS, held by bench/empty_hooks --stats), and the two
# tracepoint flavours weighted by the syscall mix of a build (bench/mix.sh).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ITERS=${ITERS:-1000000}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-3}
BACKEND=${BACKEND:-auto}
COST=$BUILD/bench/syscall_cost
. bench/lib.sh
cw_need_root cost
T=$(mktemp -d /var/tmp/cw-cost.XXXXXX)
stats_pid=""
cleanup() {
	cw_bench_cleanup
	[ -z "$stats_pid" ] || { kill "$stats_pid" 2>/dev/null; wait "$stats_pid" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
make -s -j2 "$BUILD/cachewatch" "$COST" "$BUILD/bench/empty_hooks" >/dev/null
mkdir -p "$T/watched/g" "$T/unwatched"
# 64 KiB to read from, in each directory (the read loop stays within it)
for d in watched/g unwatched; do dd if=/dev/zero of="$T/$d/r" bs=64k count=1 2>/dev/null; done

# The hooks: what this build's agent attaches with this backend.
cw_agent_start "$T/discover.log" --watch "$T/watched" --bpf.attach "$BACKEND"
backend=$(cw_agent_backend "$T/discover.log")
hooks=$(cw_agent_hooks "$T/discover.log")
cw_agent_stop
configs="none floor cachewatch inotify fanotify"
if [ -n "${BASE_REF:-}" ]; then
	echo "building $BASE_REF ($(git rev-parse --short "$BASE_REF")) for the base column" >&2
	cw_build_ref "$BASE_REF" "$T/base"
	configs="$configs base"
fi
if [ "$backend" = tracepoint ]; then
	# the same syscalls through their own tracepoints; the other tp_btf hooks stay
	persys=$(echo "$hooks" | tr ' ' '\n' | grep -v '^tp_btf/sys_e' | tr '\n' ' ')
	for nr in write pwrite64 writev pwritev pwritev2 unlink unlinkat rename renameat renameat2; do
		persys="$persys tracepoint/syscalls/sys_enter_$nr tracepoint/syscalls/sys_exit_$nr"
	done
	configs="$configs floor_persys"
fi

# prog_stats PID: "id run_time_ns run_cnt name" of every program PID holds
prog_stats() {
	bpftool prog show --json | /usr/bin/python3 -c '
import json, sys
ids = set(int(i) for i in sys.argv[1:])
for p in json.load(sys.stdin):
    if p["id"] in ids:
        print(p["id"], p.get("run_time_ns", 0), p.get("run_cnt", 0), p.get("name", "?"))' $(cw_bpf_ids "$1" prog_id)
}

start() {
	case $1 in
	floor) cw_floor_start $hooks ;;
	floor_persys) cw_floor_start $persys ;;
	cachewatch) cw_agent_start "$T/agent.log" --watch "$T/watched" --bpf.attach "$BACKEND" ;;
	base) CW_AGENT_BIN=$T/base/build/cachewatch cw_agent_start "$T/agent.log" --watch "$T/watched" --bpf.attach "$BACKEND" ;;
	inotify | fanotify) cw_watcher_start "$1" "$T/watched" ;;
	esac
}

stop() {
	cw_agent_stop
	cw_floor_stop
	cw_watcher_stop
}

# One loop, REPS runs: its median. The BPF programs' run time over the runs goes
# to $T/bpfstats (config loop id run_time_ns run_cnt name) for the configs with programs,
# less the background: the programs run for every process's syscalls, so their time
# over IDLE_S seconds just before the loop, scaled to the loop's duration, is subtracted.
loop() {
	cfg=$1
	name=$2
	shift 2
	pid=""
	case $cfg in
	cachewatch | base) pid=$CW_AGENT_PID ;;
	floor*) pid=$CW_FLOOR_PID ;;
	esac
	if [ -n "$pid" ]; then
		prog_stats "$pid" >"$T/sa"
		sleep "${IDLE_S:-1}"
		prog_stats "$pid" >"$T/s0"
	fi
	t0=$(date +%s%N)
	for _ in $(seq "$REPS"); do "$COST" "$@" "$ITERS"; done | cw_median >"$T/m"
	t1=$(date +%s%N)
	if [ -n "$pid" ]; then
		prog_stats "$pid" | awk -v c="$cfg" -v l="$name" -v k="$(((t1 - t0) / 1000000))" -v idle="${IDLE_S:-1}" '
			FILENAME == ARGV[1] {ta[$1] = $2; na[$1] = $3; next}
			FILENAME == ARGV[2] {t[$1] = $2; n[$1] = $3; next}
			($1 in t) {f = k / (1000 * idle)
				print c, l, $1, ($2 - t[$1]) - f * (t[$1] - ta[$1]), ($3 - n[$1]) - f * (n[$1] - na[$1]), $4}' \
			"$T/sa" "$T/s0" - >>"$T/bpfstats"
	fi
	echo "$cfg $name $(cat "$T/m")" >>"$T/results"
}

# run-time stats on for as long as this holds them (not the sysctl: others may reset it)
"$BUILD/bench/empty_hooks" --stats >"$T/stats.out" 2>&1 &
stats_pid=$!
cw_wait_for "$T/stats.out" '^attached' "empty_hooks --stats"
: >"$T/results"
: >"$T/bpfstats"
# CONFIGS="base cachewatch": only those (a quicker A/B of the programs' run time)
configs=${CONFIGS:-$configs}
n=$(echo "$configs" | wc -w)
for r in $(seq "$ROUNDS"); do
	# rotate the order each round, so drift in machine load does not favour one
	order=$(echo "$configs" | tr ' ' '\n' | awk -v r="$r" -v n="$n" '{a[NR] = $0} END {for (i = 0; i < n; i++) print a[(i + r - 1) % n + 1]}')
	for cfg in $order; do
		start "$cfg"
		loop "$cfg" watched write "$T/watched/g/f"
		loop "$cfg" unwatched write "$T/unwatched/f"
		loop "$cfg" getppid getppid -
		loop "$cfg" rwatched read "$T/watched/g/r"
		loop "$cfg" runwatched read "$T/unwatched/r"
		stop
	done
done

# the raw figures stay for a second look: $BUILD/bench/cost.results, cost.bpfstats
cp "$T/results" "$BUILD/bench/cost.results"
cp "$T/bpfstats" "$BUILD/bench/cost.bpfstats"
cell() { awk -v c="$1" -v l="$2" '$1 == c && $2 == l {print $3}' "$T/results" | cw_median; }
echo "backend: $backend; hooks: $hooks"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) on $(nproc) CPUs; $ITERS calls per run, median of $REPS runs, median of $ROUNDS interleaved rounds; ns per call, + = added to nothing attached"
echo
printf '| %-30s | %9s | %14s | %24s | %17s | %22s |\n' "per call" "nothing" "empty-hook floor" "cachewatch (x floor)" "inotifywait -m -r" "fanotify (fsnotifywait)"
printf '|%s|%s|%s|%s|%s|%s|\n' "---" "---" "---" "---" "---" "---"
for l in "watched:64-byte pwrite, watched dir" "unwatched:64-byte pwrite, unwatched dir" "getppid:getppid (unrelated)" \
	"rwatched:64-byte pread, watched file" "runwatched:64-byte pread, unwatched file"; do
	k=${l%%:*}
	awk -v label="${l#*:}" -v b="$(cell none "$k")" -v f="$(cell floor "$k")" -v c="$(cell cachewatch "$k")" \
		-v i="$(cell inotify "$k")" -v a="$(cell fanotify "$k")" 'BEGIN {
		fa = f - b
		printf "| %-30s | %9.0f | %+16.0f | %+12.0f (%5.2fx) | %+17.0f | %+22.0f |\n",
			label, b, fa, c - b, (fa > 0 ? (c - b) / fa : 0), i - b, a - b
	}'
done
if [ -n "${BASE_REF:-}" ]; then
	echo
	echo "before/after: cachewatch of $BASE_REF against this tree, ns added per call (x floor)"
	for l in "watched:64-byte pwrite, watched dir" "unwatched:64-byte pwrite, unwatched dir" "getppid:getppid (unrelated)" \
		"rwatched:64-byte pread, watched file" "runwatched:64-byte pread, unwatched file"; do
		k=${l%%:*}
		awk -v label="${l#*:}" -v b="$(cell none "$k")" -v f="$(cell floor "$k")" -v o="$(cell base "$k")" \
			-v c="$(cell cachewatch "$k")" 'BEGIN {
			fa = f - b
			printf "| %-30s | %+8.0f (%5.2fx) | %+8.0f (%5.2fx) |\n", label, o - b, (fa > 0 ? (o - b) / fa : 0), c - b, (fa > 0 ? (c - b) / fa : 0)
		}'
	done
fi
w_cw=$(awk -v b="$(cell none watched)" -v c="$(cell cachewatch watched)" 'BEGIN {print c - b}')
w_in=$(awk -v b="$(cell none watched)" -v c="$(cell inotify watched)" 'BEGIN {print c - b}')
awk -v c="$w_cw" -v i="$w_in" 'BEGIN {printf "\nwatched write: inotifywait adds %.2fx what cachewatch adds\n", (c > 0 ? i / c : 0)}'

echo
echo "BPF program run time (BPF_ENABLE_STATS) during the loops, less the same programs' time and runs in"
echo "the ${IDLE_S:-1} s before each loop scaled to its length (other processes' syscalls): ns per run, ns per loop call"
printf '| %-12s | %-9s | %-24s | %10s | %12s |\n' config loop program "ns per run" "ns per call"
printf '|%s|%s|%s|%s|%s|\n' "---" "---" "---" "---" "---"
# cachewatch's programs one by one; a floor's summed (its programs are empty)
awk -v calls="$((ITERS * REPS * ROUNDS))" '
	{p = ($1 ~ /^floor/) ? "all " $1 " programs" : $6; k = $1 " " $2 " " p
	 t[k] += $4; c[k] += $5; if (!(k in seen)) {seen[k] = 1; order[++n] = k; name[k] = p; cf[k] = $1; lp[k] = $2}}
	END {for (i = 1; i <= n; i++) {k = order[i]
		printf "| %-12s | %-9s | %-24s | %10.1f | %12.1f |\n", cf[k], lp[k], name[k],
			(c[k] ? t[k] / c[k] : 0), t[k] / calls}}' "$T/bpfstats"

if [ "$backend" = tracepoint ] && [ -z "${CONFIGS:-}" ]; then
	echo
	sh bench/mix.sh "$T" "$(cell none watched)" "$(cell floor watched)" "$(cell floor_persys watched)" \
		"$(cell none getppid)" "$(cell floor getppid)" "$(cell floor_persys getppid)" \
		"$(cell cachewatch watched)" "$(cell cachewatch getppid)"
fi
