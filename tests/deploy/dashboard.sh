#!/bin/sh
# deploy/grafana/cachewatch.json: generated from dashboard.py; every query
# parses (promtool) and returns data from a real Prometheus scraping two real
# agents (two instances) while a writer fills one cache past its max_size and
# grows another on a small tmpfs; the JSON type-checks against Grafana's
# dashboard schema (@grafana/schema); the alert rules evaluate on that data (TAP).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
BIN=${CW_BIN:-build/cachewatch}
D=deploy/grafana/cachewatch.json
T=$(mktemp -d /tmp/cw-dash.XXXXXX)
NPM=${CW_NPM_DIR:-${CW_BUILD:-build}/npm}
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	mountpoint -q "$T/fs" && umount "$T/fs"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- static checks ---------------------------------------------------------------
python3 -c '
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("d", "deploy/grafana/dashboard.py")
d = importlib.util.module_from_spec(spec); spec.loader.exec_module(d)
sys.exit(0 if d.dashboard() == json.load(open(sys.argv[1])) else 1)' "$D" &&
	ok "cachewatch.json is what dashboard.py generates" || not_ok "cachewatch.json is what dashboard.py generates" "run python3 deploy/grafana/dashboard.py"

# One line per query: panel title TAB expression, Grafana's variables replaced
# as Grafana does with "All" selected.
python3 - "$D" >"$T/queries" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def subst(e):
    return (e.replace("$instance", ".*").replace("$cache", ".*")
             .replace("$__rate_interval", "15s").replace("$__interval", "1s"))
for p in d["panels"]:
    for t in p.get("targets", []):
        print("%s [%s]\t%s" % (p["title"], t["refId"], subst(t["expr"])))
for v in d["templating"]["list"]:
    if v["type"] == "query":
        q = v["query"]["query"]
        # label_values(SELECTOR, LABEL) -> SELECTOR, checked for the label
        sel, label = q[len("label_values("):-1].rsplit(",", 1)
        print("variable %s\t%s" % (v["name"], subst(sel.strip())))
PY
nq=$(wc -l <"$T/queries")
{
	echo "groups:"
	echo "  - name: dashboard"
	echo "    rules:"
	i=0
	while IFS='	' read -r title expr; do
		i=$((i + 1))
		printf '      - record: dashboard:q%d\n        expr: %s\n' "$i" "$(printf '%s' "$expr" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
	done <"$T/queries"
} >"$T/queries.rules.yml"
out=$(promtool check rules "$T/queries.rules.yml" 2>&1) && ok "promtool parses all $nq dashboard queries" ||
	not_ok "promtool parses all dashboard queries" "$out"

sh tests/deploy/lib/npm_tools.sh "$NPM" >"$T/npm.log" 2>&1 || not_ok "npm tools for the schema check" "$(tail -3 "$T/npm.log")"
# TypeScript does not take a string for a string enum: the one enum field used
# (thresholds.mode) is written as the enum member with that value.
{
	echo 'import type { Dashboard } from "@grafana/schema";'
	echo 'import { ThresholdsMode } from "@grafana/schema";'
	printf 'export const d: Dashboard = '
	sed 's/"mode": "absolute"/"mode": ThresholdsMode.Absolute/' "$D"
	echo ';'
} >"$NPM/dashboard.ts"
out=$(cd "$NPM" && node_modules/.bin/tsc --noEmit --strict --moduleResolution node dashboard.ts 2>&1) &&
	ok "the dashboard type-checks against @grafana/schema's Dashboard" ||
	not_ok "the dashboard type-checks against @grafana/schema's Dashboard" "$out"
sed 's/"gridPos"/"gridPosition"/' "$NPM/dashboard.ts" >"$NPM/dashboard-bad.ts"
(cd "$NPM" && node_modules/.bin/tsc --noEmit --strict --moduleResolution node dashboard-bad.ts >/dev/null 2>&1) &&
	not_ok "a misspelt panel field fails the schema check" || ok "a misspelt panel field fails the schema check"

# ---- two agents, a writer, a real Prometheus -------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	not_ok "root for the live checks"
	tap_end
	exit 1
fi
mkdir -p "$T/fs" "$T/other"
mount -t tmpfs -o size=96m tmpfs "$T/fs"
mkdir -p "$T/fs/burst" "$T/fs/grow"
cat >"$T/agent.yml" <<EOF
poll_interval: 200ms
caches:
  - name: burst
    path: $T/fs/burst
    group_depth: 1
    purge:
      max_size: 8MiB
      min_age: 0s
      interval: 1s
      trigger_bytes: 1MiB
  - name: grow
    path: $T/fs/grow
    group_depth: 1
    purge:
      max_size: 80MiB
      interval: 1s
EOF
PA=$(free_port 4)
PB=$(free_port 5)
"$BIN" run --config.file="$T/agent.yml" --web.listen-address="127.0.0.1:$PA" >"$T/a.log" 2>&1 &
pids="$pids $!"
"$BIN" run --watch "other=$T/other" --web.listen-address="127.0.0.1:$PB" >"$T/b.log" 2>&1 &
pids="$pids $!"
for p in $PA $PB; do
	i=0
	while [ $i -lt 600 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/-/ready")" != 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 600 ] && ok "agent on :$p ready" || not_ok "agent on :$p ready" "$(tail -3 "$T/a.log" "$T/b.log")"
done

# The writer: 256 KiB every 0.2 s into burst (purged back to its low
# watermark again and again), 64 KiB into grow (never purged: it only grows),
# a file removed from grow now and then (unlinks not made by purges), and every
# other file of grow read back once.
(
	k=0
	while :; do
		k=$((k + 1))
		d=$((k % 4))
		mkdir -p "$T/fs/burst/d$d" "$T/fs/grow/d$d" "$T/other/d$d" || exit 1
		dd if=/dev/zero of="$T/fs/burst/d$d/f$k" bs=64k count=4 2>/dev/null
		dd if=/dev/zero of="$T/fs/grow/d$d/f$k" bs=64k count=1 2>/dev/null
		dd if=/dev/zero of="$T/other/d$d/f$k" bs=4k count=1 2>/dev/null
		[ $((k % 2)) -eq 0 ] && cat "$T/fs/grow/d$d/f$k" >/dev/null # read back: reuse panels
		[ $((k % 10)) -eq 0 ] && rm -f "$T/fs/grow/d$d/f$((k - 4))"
		sleep 0.2
	done
) &
pids="$pids $!"

PP=$(free_port 6)
PURL=http://127.0.0.1:$PP
cp deploy/prometheus/cachewatch-rules.yml "$T/rules.yml"
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
scrape_configs:
  - job_name: nodes
    static_configs:
      - targets: ['127.0.0.1:$PA', '127.0.0.1:$PB']
EOF
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$PP" >"$T/prom.log" 2>&1 &
pids="$pids $!"

# nseries EXPR: how many series an instant query returns (-1 on error)
nseries() {
	curl -s "$PURL/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)
    print(len(r["data"]["result"]) if r.get("status") == "success" else -1)
except Exception:
    print(-1)'
}

# Let data accumulate, then every query must answer; the slow ones (deriv,
# time until full) get up to three more minutes.
sleep 60
deadline=$(($(date +%s) + 180))
while IFS='	' read -r title expr; do
	while :; do
		c=$(nseries "$expr")
		[ "$c" -gt 0 ] 2>/dev/null && break
		[ "$(date +%s)" -ge "$deadline" ] && break
		sleep 2
	done
	if [ "$c" -gt 0 ] 2>/dev/null; then
		ok "data for: $title ($c series)"
	else
		not_ok "data for: $title" "no series from: $expr"
	fi
done <"$T/queries"

# The data is real: both instances, the cache was purged for size, and the
# per-file-system rule folds the two caches on one tmpfs into one series.
check_eq "both agents are instances" "$(nseries 'count by (instance) (cachewatch_build_info)')" 2
check_eq "the burst cache was purged for size" \
	"$(nseries 'cachewatch_purges_total{cache="burst",reason="size"} > 0')" 1
check_eq "two caches on one tmpfs: one file-system series" \
	"$(nseries 'filesystem:cachewatch_filesystem_avail:ratio{instance="127.0.0.1:'"$PA"'"}')" 1
tap_end
