# Shared by the shell integration tests (sourced from the repository root): TAP
# output, free ports, reading metrics from a running agent at $URL, and querying
# a real Prometheus.
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
# not_ok NAME [DIAGNOSTIC LINE]...
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}
note() { echo "# $*"; }
# check_eq NAME GOT WANT
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi; }
# tap_end: the plan line; fails when any check failed
tap_end() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}

# free_port [SALT]: a TCP port on 127.0.0.1 nobody listens on right now
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + ($$ + ${1:-0}) % 20000))
}

# metric KEY: its value in a fresh text scrape of $URL, or "absent"
metric() {
	curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "absent" : v) }'
}

# wait_metric KEY WANT [SECONDS]: polls until KEY has WANT; prints the last value
wait_metric() {
	i=0
	while [ $i -lt $((${3:-15} * 10)) ]; do
		v=$(metric "$1")
		[ "$v" = "$2" ] && { echo "$v"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	echo "$v"
	return 1
}

# prom_query BASEURL EXPR [TIME]: the first sample's value of a Prometheus
# instant query, or "none"
prom_query() {
	curl -s "$1/api/v1/query" --data-urlencode "query=$2" ${3:+--data-urlencode "time=$3"} |
		python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "none")
except Exception:
    print("none")'
}

# wait_prom_query BASEURL EXPR WANT [SECONDS]: polls until the query gives WANT;
# prints the last value
wait_prom_query() {
	i=0
	while [ $i -lt "${4:-60}" ]; do
		v=$(prom_query "$1" "$2")
		[ "$v" = "$3" ] && { echo "$v"; return 0; }
		sleep 1
		i=$((i + 1))
	done
	echo "$v"
	return 1
}

# check_metric NAME KEY WANT [SECONDS]: waits for KEY to reach WANT
check_metric() {
	got=$(wait_metric "$2" "$3" "${4:-15}") && ok "$1" || not_ok "$1" "$2 = $got, want $3"
}

# The agent of one test: $BIN run with $T/cfg.yml on $PORT ($URL), its log (debug) in $T/log.
# agent_start: 0 once /-/ready answers 200, 1 when the agent exits first or is not
# ready within 15 s; the agent's pid in $pid
agent_start() {
	: >"$T/log"
	"$BIN" run --config.file "$T/cfg.yml" --web.listen-address "127.0.0.1:$PORT" --log.level debug >>"$T/log" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 150 ]; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/-/ready")" = 200 ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# agent_stop: SIGTERM, waits; the exit status in $rc
agent_stop() {
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	pid=""
}
# wait_log PATTERN [SECONDS]: 0 once $T/log matches PATTERN (grep), within SECONDS (10)
wait_log() {
	i=0
	while [ $i -lt $((${2:-10} * 10)) ]; do
		grep -q "$1" "$T/log" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# mk_aged DIR: a fresh DIR with f1 (last modified 1 day ago) .. f8 (8 days), 40 KiB each
mk_aged() {
	aged_now=$(date +%s)
	rm -rf "$1"
	mkdir -p "$1"
	for i in 1 2 3 4 5 6 7 8; do
		head -c 40960 /dev/urandom >"$1/f$i"
		touch -d "@$((aged_now - i * 86400))" "$1/f$i"
	done
}
