# Shell functions the benchmarks share (sourced, not run): the agent, its BPF objects, the floor, medians.
# Callers set BUILD and a scratch directory T, and call cw_bench_cleanup on exit.

CW_AGENT_PID=""
CW_FLOOR_PID=""
CW_WATCHER_PID=""

cw_need_root() {
	[ "$(id -u)" -eq 0 ] || { echo "$1: needs root (BPF)" >&2; exit 1; }
}

cw_free_port() {
	# the VM's busybox has no python: one agent at a time there, on a fixed port
	command -v python3 >/dev/null || { echo 9745; return; }
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cw_wait_for FILE PATTERN WHAT: up to 60 s for PATTERN in FILE, else the file and exit 1
cw_wait_for() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "$3 did not start:" >&2; cat "$1" >&2; exit 1; }
		sleep 0.1
	done
}

# cw_build_ref REF DIR: the agent of git revision REF, built in DIR (DIR/build/cachewatch)
cw_build_ref() {
	mkdir -p "$2"
	git archive "$1" | tar -x -C "$2"
	make -s -C "$2" -j2 build/cachewatch REVISION="$(git rev-parse --short "$1")" >"$2.log" 2>&1 ||
		{ cat "$2.log" >&2; exit 1; }
}

# cw_agent_start LOG ARGS...: `cachewatch run ARGS` at debug level (the log names every
# program's hook; CW_LOG_LEVEL overrides), on a free local port (CW_AGENT_PORT), until it
# is ready. CW_AGENT_BIN: another agent binary.
cw_agent_start() {
	log=$1
	shift
	CW_AGENT_PORT=$(cw_free_port)
	"${CW_AGENT_BIN:-$BUILD/cachewatch}" run --log.level "${CW_LOG_LEVEL:-debug}" --web.listen-address "127.0.0.1:$CW_AGENT_PORT" "$@" >"$log" 2>&1 &
	CW_AGENT_PID=$!
	cw_wait_for "$log" 'msg=ready' "cachewatch run $*"
}

cw_agent_stop() {
	[ -n "$CW_AGENT_PID" ] || return 0
	kill "$CW_AGENT_PID" 2>/dev/null || true
	wait "$CW_AGENT_PID" 2>/dev/null || true
	CW_AGENT_PID=""
}

# The backend and the hooks (section names) of the programs an agent's LOG says it loaded.
cw_agent_backend() {
	sed -n 's/.*msg="BPF attached" backend=\([a-z]*\).*/\1/p' "$1" | tail -n 1
}
cw_agent_hooks() {
	sed -n "s/.*msg=\"BPF program verified\" backend=$(cw_agent_backend "$1") .*section=\([^ ]*\).*/\1/p" "$1" |
		sort -u | tr '\n' ' '
}

# BPF objects a process holds, from its descriptors: cw_bpf_ids PID prog_id|map_id
cw_bpf_ids() {
	grep -h "^$2:" /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un
}

# Empty programs on HOOKS (bench/empty_hooks.c) until cw_floor_stop.
cw_floor_start() {
	"$BUILD/bench/empty_hooks" "$@" >"$T/floor.out" 2>&1 &
	CW_FLOOR_PID=$!
	cw_wait_for "$T/floor.out" '^attached' "empty_hooks $*"
}

cw_floor_stop() {
	[ -n "$CW_FLOOR_PID" ] || return 0
	kill "$CW_FLOOR_PID" 2>/dev/null || true
	wait "$CW_FLOOR_PID" 2>/dev/null || true
	CW_FLOOR_PID=""
}

# inotify (inotifywait) or fanotify (fsnotifywait -F) watching DIR recursively,
# its events read and thrown away, as a script using them would.
cw_watcher_start() {
	kind=$1
	dir=$2
	case $kind in
	inotify) set -- inotifywait -m -r ;;
	fanotify) set -- fsnotifywait -F -m -r ;;
	esac
	"$@" "$dir" >/dev/null 2>"$T/watcher.err" &
	CW_WATCHER_PID=$!
	cw_wait_for "$T/watcher.err" 'Watches established' "$*"
}

cw_watcher_stop() {
	[ -n "$CW_WATCHER_PID" ] || return 0
	kill "$CW_WATCHER_PID" 2>/dev/null || true
	wait "$CW_WATCHER_PID" 2>/dev/null || true
	CW_WATCHER_PID=""
}

cw_series_seen() {
	curl -s "http://127.0.0.1:$CW_AGENT_PORT/metrics" | grep -c '^cachewatch_write_bytes_total{cache="bench"' || true
}

# cw_series_up LOG SERIES: an agent (CW_AGENT_BIN or this build's) watching $T/root with
# group_depth 1, holding SERIES series: bench/poll_groups writes one byte into SERIES-1
# group directories and the root. Returns once every series is in /metrics.
cw_series_up() {
	rm -rf "$T/root"
	mkdir "$T/root"
	cat >"$T/cfg.yml" <<YML
poll_interval: 1s
caches:
  - name: bench
    path: $T/root
    group_depth: 1
    max_groups: $2
YML
	CW_LOG_LEVEL=info cw_agent_start "$1" --config.file "$T/cfg.yml"
	"$BUILD/bench/poll_groups" "$T/root" $(($2 - 1))
	i=0
	while [ "$(cw_series_seen)" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -lt 120 ] || { echo "only $(cw_series_seen) of $2 series appeared" >&2; exit 1; }
		sleep 1
	done
}

cw_bench_cleanup() {
	cw_agent_stop
	cw_floor_stop
	cw_watcher_stop
}

# Median of the numbers on stdin, one per line.
cw_median() {
	sort -n | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'
}
