#!/bin/sh
# `cachewatch top` end to end: exit codes, messages, JSON output, backend errors (TAP).
set -u
BIN=${CW_BIN:-build/cachewatch}
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
tmp=$(mktemp -d /var/tmp/cw-topcli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$BIN" top /nonexistent/cw-dir >"$tmp/out" 2>"$tmp/err"
rc=$?
ok $([ $rc -eq 2 ] && grep -q "/nonexistent/cw-dir" "$tmp/err"; echo $?) "missing directory: exit 2 and the message names it (rc=$rc)"

"$BIN" top /etc/hostname >"$tmp/out" 2>"$tmp/err"
rc=$?
ok $([ $rc -eq 2 ] && grep -q "not a directory" "$tmp/err"; echo $?) "a file is not a directory: exit 2"

if command -v setpriv >/dev/null; then
	mkdir -p "$tmp/np" && chmod 755 "$tmp" "$tmp/np"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$BIN" top "$tmp/np" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	ok $([ $rc -eq 1 ] && grep -q "CAP_BPF" "$tmp/err"; echo $?) "without privileges: exit 1 and says CAP_BPF/CAP_PERFMON or root are needed"
else
	ok 1 "setpriv (util-linux) is installed"
fi

# The backend auto picks here decides what a forced fentry/kprobe must do.
mkdir -p "$tmp/w/sub"
("$BIN" top --json --count 2 --interval 300ms "$tmp/w" >"$tmp/json" 2>"$tmp/log") &
pid=$!
for _ in $(seq 300); do grep -q "watching" "$tmp/log" && break; sleep 0.1; done
printf 'hello' >"$tmp/w/sub/f"
wait $pid
rc=$?
ok $rc "top --json --count 2 exits 0"
ok $([ "$(wc -l <"$tmp/json")" -eq 2 ]; echo $?) "--count 2 prints two JSON lines"
last=$(tail -n 1 "$tmp/json")
ok $(echo "$last" | grep -q '"dir":"sub","write_bytes":5,"writes":1'; echo $?) "JSON has the exact bytes and writes of dir sub"
backend=$(echo "$last" | sed -n 's/.*"backend":"\([a-z]*\)".*/\1/p')
ok $(grep -q "BPF attached.*backend=$backend" "$tmp/log"; echo $?) "auto says which backend it chose in the log ($backend)"

"$BIN" top --count 1 "$tmp/w" "$tmp/w/sub/.." >"$tmp/out" 2>"$tmp/err"
rc=$?
ok $([ $rc -eq 2 ] && grep -q "are the same directory" "$tmp/err"; echo $?) "one directory given twice: exit 2 and says so (rc=$rc)"

# A name that is not UTF-8 (the lone byte 0xe9) and the UTF-8 name "é" (U+00E9):
# two different directories, two different JSON strings (the \xNN form of labels).
mkdir -p "$tmp/u/$(printf '\351')" "$tmp/u/$(printf '\303\251')"
("$BIN" top --json --count 2 --interval 300ms --group-depth 1 "$tmp/u" >"$tmp/json" 2>"$tmp/log") &
pid=$!
for _ in $(seq 300); do grep -q "watching" "$tmp/log" && break; sleep 0.1; done
printf 'ab' >"$tmp/u/$(printf '\351')/f"
printf 'abc' >"$tmp/u/$(printf '\303\251')/f"
wait $pid
last=$(tail -n 1 "$tmp/json")
ok $(printf '%s\n' "$last" | grep -q '"dir":"\\\\xe9","write_bytes":2,' && printf '%s\n' "$last" | grep -q "\"dir\":\"$(printf '\303\251')\",\"write_bytes\":3,"; echo $?) \
	"JSON: byte 0xe9 is \"\\\\xe9\", U+00E9 stays itself, each with its own bytes"
ok $(python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], "rb")]' "$tmp/json"; echo $?) "JSON lines are valid UTF-8 JSON"

if [ "$backend" = tracepoint ]; then
	for b in fentry kprobe; do
		"$BIN" top --bpf.attach=$b --count 1 "$tmp/w" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		ok $([ $rc -eq 1 ] && grep -q "$b unavailable on this kernel" "$tmp/err" && grep -q "try --bpf.attach=tracepoint" "$tmp/err"; echo $?) "forced $b fails with a clear message and a hint (rc=$rc)"
	done
fi
echo "1..$n"
[ $fails -eq 0 ]
