#!/bin/sh
# Wall time of a build-like workload (bench/workload.sh: compiles through ccache whose
# cache is in the watched root, a tar extraction into it, an rm -rf of it) under each
# configuration, interleaved round by round, with the overhead against nothing attached.
#   ROUNDS=3 BACKEND=auto sh bench/macro.sh
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
BACKEND=${BACKEND:-auto}
. bench/lib.sh
. bench/workload.sh
cw_need_root macro
command -v ccache >/dev/null || { echo "macro: ccache is missing (make deps)" >&2; exit 1; }
T=$(mktemp -d /var/tmp/cw-macro.XXXXXX)
trap 'cw_bench_cleanup; rm -rf "$T"' EXIT INT TERM
make -s -j2 "$BUILD/cachewatch" "$BUILD/bench/empty_hooks" >/dev/null
mkdir -p "$T/root"
cw_workload_prepare "$T"
cw_agent_start "$T/discover.log" --watch "$T/root" --bpf.attach "$BACKEND"
backend=$(cw_agent_backend "$T/discover.log")
hooks=$(cw_agent_hooks "$T/discover.log")
cw_agent_stop
configs="none floor cachewatch inotify fanotify"
n=$(echo "$configs" | wc -w)
: >"$T/results"
for r in $(seq "$ROUNDS"); do
	order=$(echo "$configs" | tr ' ' '\n' | awk -v r="$r" -v n="$n" '{a[NR] = $0} END {for (i = 0; i < n; i++) print a[(i + r - 1) % n + 1]}')
	for cfg in $order; do
		case $cfg in
		floor) cw_floor_start $hooks ;;
		cachewatch) cw_agent_start "$T/agent.log" --watch "$T/root" --bpf.attach "$BACKEND" ;;
		inotify | fanotify) cw_watcher_start "$cfg" "$T/root" ;;
		esac
		t0=$(date +%s%N)
		cw_workload_run "$T" "$T/root"
		t1=$(date +%s%N)
		echo "$cfg $(((t1 - t0) / 1000000))" >>"$T/results"
		cw_bench_cleanup
	done
done
cell() { awk -v c="$1" '$1 == c {print $2}' "$T/results" | cw_median; }
echo "backend: $backend; load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; median of $ROUNDS interleaved rounds"
echo "workload: ${CW_WORKLOAD_FILES:-16} C files through ccache twice (miss, then hit) with CCACHE_DIR in the watched root, tar -x of ~1,000 headers into it, rm -rf of it all"
printf '| %-26s | %10s | %9s |\n' configuration "wall ms" overhead
printf '|%s|%s|%s|\n' "---" "---" "---"
base=$(cell none)
for cfg in $configs; do
	case $cfg in
	none) label="nothing attached" ;;
	floor) label="empty-hook floor" ;;
	cachewatch) label="cachewatch" ;;
	inotify) label="inotifywait -m -r" ;;
	fanotify) label="fanotify (fsnotifywait -F)" ;;
	esac
	awk -v l="$label" -v b="$base" -v m="$(cell "$cfg")" 'BEGIN {printf "| %-26s | %10.0f | %+8.1f%% |\n", l, m, 100 * (m - b) / b}'
done
