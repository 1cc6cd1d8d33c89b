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
# options after the directory are options (no leading '+' in getopt)
("$BIN" top --json "$tmp/w" --count 2 --interval 300ms --group-depth 1 >"$tmp/json" 2>"$tmp/log") &
pid=$!
for _ in $(seq 300); do grep -q "watching" "$tmp/log" && break; sleep 0.1; done
printf 'hello' >"$tmp/w/sub/f"
wait $pid
rc=$?
ok $rc "top --json DIR --count 2 ... (options after the directory) exits 0"
ok $([ "$(wc -l <"$tmp/json")" -eq 2 ]; echo $?) "--count 2 prints two JSON lines"
last=$(tail -n 1 "$tmp/json")
ok $(echo "$last" | grep -q '"dir":"sub","write_bytes":5,"writes":1'; echo $?) "JSON has the exact bytes and writes of dir sub"
me=$(cat /proc/$$/comm)
ok $(echo "$last" | grep -q "\"dir\":\"sub\",[^}]*\"writers\":\[{\"comm\":\"$me\",\"bytes\":5,\"writes\":1}\]"; echo $?) \
	"JSON: dir sub has its own writers, the shell ($me) with 5 bytes in 1 write"

# --group-depth defaults to 0 as for run: one row, the DIR itself
("$BIN" top --json --count 2 --interval 300ms "$tmp/w" >"$tmp/json0" 2>"$tmp/log0") &
pid=$!
for _ in $(seq 300); do grep -q "watching" "$tmp/log0" && break; sleep 0.1; done
printf 'hello' >"$tmp/w/sub/g"
wait $pid
last=$(tail -n 1 "$tmp/json0")
ok $(echo "$last" | grep -q '"dirs":\[{"dir":".","write_bytes":5,' && ! echo "$last" | grep -q '"dir":"sub"'; echo $?) \
	"default --group-depth is 0: the write into sub/ counts under \".\""

"$BIN" top "$tmp/w" --count=0 >"$tmp/out" 2>"$tmp/err"
rc=$?
ok $([ $rc -eq 2 ] && grep -q -- "--count: '0' is not a whole number from 1" "$tmp/err" && ! grep -q "No such file" "$tmp/err"; echo $?) \
	"top DIR --count=0: exit 2, about --count, not taken as a directory (rc=$rc)"
"$BIN" top --count=-1 "$tmp/w" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok $([ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "--count: '-1' is not a whole number from 1" "$tmp/err"; echo $?) \
	"top --count=-1: exit 2 and one clear message ($(wc -l <"$tmp/err") lines)"
"$BIN" top --sort=bogus "$tmp/w" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok $([ $rc -eq 2 ] && grep -q "'bogus' is not write, writes, p99, p50, unlinks, freed, read, reads or dir" "$tmp/err"; echo $?) "--sort bogus: exit 2, lists the columns"
"$BIN" top --rows=x "$tmp/w" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok $([ $rc -eq 2 ] && grep -q -- "--rows: 'x' is not a whole number" "$tmp/err"; echo $?) "--rows x: exit 2"

# top's default cap gives the busiest directory of a large tree a row of its own: 100
# directories written in name order, then d090 (past the old cap of 64) much more
mkdir -p "$tmp/many"
for i in $(seq -f %03g 0 99); do mkdir "$tmp/many/d$i"; done
("$BIN" top --json --count 2 --interval 500ms --group-depth 1 "$tmp/many" >"$tmp/jm" 2>"$tmp/logm") &
pid=$!
for _ in $(seq 300); do grep -q "watching" "$tmp/logm" && break; sleep 0.1; done
for d in "$tmp"/many/d*; do printf x >"$d/f"; done
head -c 100000 /dev/zero >"$tmp/many/d090/big"
wait $pid
last=$(tail -n 1 "$tmp/jm")
ok $(echo "$last" | grep -q '"dir":"d090","write_bytes":100001,' && ! echo "$last" | grep -q '"dir":"_other"'; echo $?) \
	"100 directories: d090 has its own row with its bytes, nothing folded into _other"

# not a terminal: --rows caps the rows, --sort dir orders by name
mkdir -p "$tmp/r/a" "$tmp/r/b" "$tmp/r/c"
("$BIN" top --count 2 --interval 300ms --group-depth 1 --rows 2 --sort dir "$tmp/r" >"$tmp/table" 2>"$tmp/logr") &
pid=$!
for _ in $(seq 300); do grep -q "watching" "$tmp/logr" && break; sleep 0.1; done
for d in c b a; do printf x >"$tmp/r/$d/f"; done
wait $pid
rc=$?
awk '/^DIR/ { t = "" } { t = t $0 "\n" } END { printf "%s", t }' "$tmp/table" >"$tmp/last"
rows=$(grep -c '^[abc] ' "$tmp/last")
ok $([ $rc -eq 0 ] && [ "$rows" -eq 2 ] && grep -q '^DIR\* ' "$tmp/last" && sed -n 2p "$tmp/last" | grep -q '^a '; echo $?) \
	"--rows 2 --sort dir: two rows, a first, DIR* marked (rows=$rows rc=$rc)"
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
