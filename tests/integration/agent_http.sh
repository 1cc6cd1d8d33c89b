#!/bin/sh
# `cachewatch run` end to end (real BPF, needs root): exact values after known
# writes, promtool-clean text and OpenMetrics, a real Prometheus scraping it,
# 404/405, the stale TTL, 200 concurrent scrapers under heavy writes, TLS with
# basic auth and min_version, startup failures before attach, slowloris, SIGTERM.
# Prints TAP.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${CW_BIN:-build/cachewatch}
TOOLS=${CW_TESTS:-build/tests}
T=$(mktemp -d /tmp/cw-agenthttp.XXXXXX)
. tests/lib/tap.sh
agent=""
agent2=""
early=""
prom=""
writer=""

cleanup() {
	for p in $writer $prom $agent $agent2 $early; do
		kill "$p" 2>/dev/null
	done
	for p in $writer $prom $agent $agent2 $early; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

PORT=$(free_port 1)
URL=http://127.0.0.1:$PORT
C=$T/cache

wait_ready() { # wait_ready URL: 0 once /-/ready answers 200; prints the codes seen, deduplicated
	seen=""
	i=0
	while [ $i -lt 300 ]; do
		c=$(curl -sk -o /dev/null -w '%{http_code}' "$1/-/ready")
		case " $seen " in *" $c "*) ;; *) seen="$seen $c" ;; esac
		[ "$c" = 200 ] && { echo "$seen"; return 0; }
		sleep 0.05
		i=$((i + 1))
	done
	echo "$seen"
	return 1
}

# ---- start ------------------------------------------------------------------

mkdir -p "$C"
"$BIN" run --watch "t=$C" --group-depth 1 --poll.interval 200ms --metrics.stale-ttl 3s \
	--web.listen-address "127.0.0.1:$PORT" >"$T/agent.log" 2>&1 &
agent=$!
if seen=$(wait_ready "$URL"); then
	ok "agent becomes ready (/-/ready codes seen:$seen)"
else
	not_ok "agent becomes ready" "codes seen:$seen" "$(tail -5 "$T/agent.log")"
	echo "1..$n"
	exit 1
fi
case "$seen" in *503*) ok "/-/ready answered 503 before BPF was attached and polled" ;;
*) ok "/-/ready never seen before attach (attach faster than the first probe)" ;; esac
grep -q 'msg=listening' "$T/agent.log" && ok "listen address logged" || not_ok "listen address logged"
grep -q 'msg="watching caches" count=1 caches=t ' "$T/agent.log" && ok "watched cache logged" || not_ok "watched cache logged"
# auto: one short info line per backend it moves past, libbpf's text only at debug
if grep -q 'attach backend not usable' "$T/agent.log"; then
	long=$(grep 'attach backend not usable' "$T/agent.log" | grep -e 'libbpf' -e '; try ' -e 'level=debug')
	[ -z "$long" ] && ok "auto: skipped backends logged in one short info line each" ||
		not_ok "auto: skipped backends logged in one short info line each" "$long"
else
	ok "auto: skipped backends logged in one short info line each (none skipped here)"
fi
grep -q 'see below' "$T/agent.log" && not_ok "no 'see below' log values" "$(grep 'see below' "$T/agent.log")" ||
	ok "no 'see below' log values"

# ---- an idle cache and the node_exporter join ---------------------------------

# Nothing written yet: the counters and the histogram are there, at 0.
check_metric "idle cache: write bytes at 0 from the start" 'cachewatch_write_bytes_total{cache="t",dir="."}' 0
check_metric "idle cache: unlinks at 0 from the start" 'cachewatch_unlinks_total{cache="t",dir="."}' 0
check_metric "idle cache: latency count at 0 from the start" 'cachewatch_write_latency_seconds_count{cache="t",dir="."}' 0
# The mount as findmnt (util-linux) reports it, which is what node_exporter labels.
mnt=$(findmnt -n -o TARGET -T "$C") src=$(findmnt -n -o SOURCE -T "$C") fst=$(findmnt -n -o FSTYPE -T "$C")
check_metric "cachewatch_cache_info names the mount like node_exporter" \
	"cachewatch_cache_info{cache=\"t\",path=\"$C\",mountpoint=\"$mnt\",device=\"$src\",fstype=\"$fst\"}" 1
avail=$(df -B1 --output=avail "$C" | tail -1 | tr -d ' ')
got=$(curl -s "$URL/metrics" | sed -n 's/^cachewatch_filesystem_avail_bytes{cache="t"} //p')
# df and the agent read statvfs at different moments: within 64 MiB of each other
if [ -n "$got" ] && [ $((got - avail)) -lt 67108864 ] && [ $((avail - got)) -lt 67108864 ]; then
	ok "filesystem_avail_bytes is df's avail"
else
	not_ok "filesystem_avail_bytes is df's avail" "agent $got, df $avail"
fi
curl -s "$URL/metrics" | grep -q '^cachewatch_filesystem_free_bytes{cache="t"} ' && ok "filesystem_free_bytes exported" ||
	not_ok "filesystem_free_bytes exported"

# ---- exact values -------------------------------------------------------------

mkdir "$C/g1"
dd if=/dev/zero of="$C/g1/a" bs=1000 count=7 2>/dev/null # 7 writes, 7000 bytes
printf 'hello' >"$C/g1/b"                                 # 1 write, 5 bytes
dd if=/dev/zero of="$C/root" bs=512 count=3 2>/dev/null   # 3 writes at the root: dir="."
check_metric "write bytes of group g1" 'cachewatch_write_bytes_total{cache="t",dir="g1"}' 7005
check_metric "writes of group g1" 'cachewatch_writes_total{cache="t",dir="g1"}' 8
check_metric "write errors of group g1" 'cachewatch_write_errors_total{cache="t",dir="g1"}' 0
check_metric "write bytes at the root" 'cachewatch_write_bytes_total{cache="t",dir="."}' 1536
check_metric "latency histogram count" 'cachewatch_write_latency_seconds_count{cache="t",dir="g1"}' 8
check_metric "latency +Inf bucket" 'cachewatch_write_latency_seconds_bucket{cache="t",dir="g1",le="+Inf"}' 8
rm "$C/g1/b"
check_metric "unlinks of group g1" 'cachewatch_unlinks_total{cache="t",dir="g1"}' 1
check_metric "unlinked bytes of group g1" 'cachewatch_unlinked_bytes_total{cache="t",dir="g1"}' 5
ver=$("$BIN" version | awk '{print $2}')
rev=$("$BIN" version | sed 's/.*revision \(.*\))/\1/')
curl -s "$URL/metrics" | grep -Eq "^cachewatch_build_info\{version=\"$ver\",revision=\"$rev\",backend=\"(fentry|kprobe|tracepoint)\",kernel=\"$(uname -r)\"\} 1$" &&
	ok "build_info with version, revision, backend, kernel" ||
	not_ok "build_info with version, revision, backend, kernel" "$(curl -s "$URL/metrics" | grep build_info)"
curl -s "$URL/metrics" >"$T/m1.txt"
curl -s "$URL/metrics" >"$T/m2.txt"
grep -q '^cachewatch_scrape_duration_seconds ' "$T/m2.txt" && ok "previous scrape duration exported" ||
	not_ok "previous scrape duration exported"
for m in process_resident_memory_bytes process_virtual_memory_bytes process_cpu_seconds_total process_open_fds \
	process_max_fds process_start_time_seconds cachewatch_poll_duration_seconds; do
	grep -q "^$m " "$T/m2.txt" && ok "$m exported" || not_ok "$m exported"
done
grep -q '^cachewatch_bpf_drops_total{reason="walk_depth"} ' "$T/m2.txt" && ok "drops by reason" || not_ok "drops by reason"
grep -q 'cachewatch_config_last_reload' "$T/m2.txt" && not_ok "no reload series without a config file" ||
	ok "no reload series without a config file"
grep -q '^cachewatch_cache_purge_enabled{cache="t"} 0$' "$T/m2.txt" &&
	ok "purge engine series for a report-only cache" || not_ok "purge engine series for a report-only cache"

# ---- formats ------------------------------------------------------------------

if out=$(promtool check metrics <"$T/m2.txt" 2>&1); then ok "promtool check metrics (text)"; else
	not_ok "promtool check metrics (text)" "$out"; fi
curl -s --compressed -D "$T/h.gz" "$URL/metrics" >"$T/m.gz.txt"
grep -qi '^Content-Encoding: gzip' "$T/h.gz" && ok "gzip when accepted" || not_ok "gzip when accepted" "$(cat "$T/h.gz")"
if out=$(promtool check metrics <"$T/m.gz.txt" 2>&1); then ok "promtool check metrics (gzip)"; else
	not_ok "promtool check metrics (gzip)" "$out"; fi
curl -s -D "$T/h.om" -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5' "$URL/metrics" >"$T/m.om"
grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8' "$T/h.om" &&
	ok "OpenMetrics content type" || not_ok "OpenMetrics content type" "$(cat "$T/h.om")"
check_eq "OpenMetrics ends with # EOF" "$(tail -n 1 "$T/m.om")" "# EOF"
grep -q '^# UNIT cachewatch_write_bytes bytes$' "$T/m.om" && grep -q '^# TYPE cachewatch_write_bytes counter$' "$T/m.om" &&
	grep -q '^cachewatch_write_bytes_total{cache="t",dir="g1"} 7005$' "$T/m.om" &&
	ok "OpenMetrics counter family, unit and _total sample" || not_ok "OpenMetrics counter family, unit and _total sample"
curl -s -D "$T/h.txt" -o /dev/null "$URL/metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$T/h.txt" && ok "text content type" ||
	not_ok "text content type"

# ---- endpoints ----------------------------------------------------------------

check_eq "/-/healthy" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/-/healthy")" 200
check_eq "unknown path 404" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope")" 404
check_eq "POST /metrics 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/metrics")" 405
curl -s -D "$T/h.405" -o /dev/null -X PUT "$URL/"
grep -qi '^Allow: GET, HEAD' "$T/h.405" && ok "405 carries Allow" || not_ok "405 carries Allow"
check_eq "POST /-/reload without lifecycle 404" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/-/reload")" 404
check_eq "HEAD /metrics" "$(curl -s -o /dev/null -w '%{http_code}' -I "$URL/metrics")" 200
curl -s "$URL/" >"$T/landing.html"
grep -q 'href="/metrics"' "$T/landing.html" && grep -q '<td>t</td>' "$T/landing.html" &&
	ok "landing page links metrics and lists the cache" || not_ok "landing page links metrics and lists the cache"

# ---- a real Prometheus ------------------------------------------------------------

PPORT=$(free_port 2)
PURL=http://127.0.0.1:$PPORT
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: cachewatch
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$PPORT" >"$T/prom.log" 2>&1 &
prom=$!

pquery() { prom_query "$PURL" "$1"; }                  # pquery EXPR
wait_pquery() { wait_prom_query "$PURL" "$@"; }        # wait_pquery EXPR WANT [SECONDS]

check_eq "Prometheus scrapes the agent (up)" "$(wait_pquery 'up{job="cachewatch"}' 1)" 1
check_eq "Prometheus sees the exact write bytes" \
	"$(wait_pquery 'cachewatch_write_bytes_total{cache="t",dir="g1"}' 7005 20)" 7005
check_eq "Prometheus sees the histogram count" \
	"$(wait_pquery 'cachewatch_write_latency_seconds_count{cache="t",dir="g1"}' 8 10)" 8
v=$(pquery 'histogram_quantile(0.5, cachewatch_write_latency_seconds_bucket{dir="g1"})')
case "$v" in none | NaN) not_ok "Prometheus histogram_quantile gives a latency" "got $v" ;;
*) ok "Prometheus histogram_quantile gives a latency ($v s)" ;; esac
check_eq "Prometheus sees build_info" "$(wait_pquery 'count(cachewatch_build_info)' 1 10)" 1
check_eq "Prometheus scraped OpenMetrics (unit-suffixed counter present)" \
	"$(wait_pquery 'cachewatch_unlinked_bytes_total{dir="g1"}' 5 10)" 5
kill "$prom" 2>/dev/null
wait "$prom" 2>/dev/null
prom=""

# ---- stale TTL -------------------------------------------------------------------

mkdir "$C/g2"
dd if=/dev/zero of="$C/g2/x" bs=100 count=1 2>/dev/null
check_metric "new group g2 appears" 'cachewatch_write_bytes_total{cache="t",dir="g2"}' 100
rm -rf "$C/g2"
sleep 1
check_eq "deleted group keeps its last value within the TTL" \
	"$(metric 'cachewatch_write_bytes_total{cache="t",dir="g2"}')" 100
check_metric "deleted group disappears after the TTL" 'cachewatch_write_bytes_total{cache="t",dir="g2"}' absent 15
check_eq "other groups stay" "$(metric 'cachewatch_write_bytes_total{cache="t",dir="g1"}')" 7005

# ---- 200 concurrent scrapers during heavy writes ----------------------------------

mkdir -p "$C/heavy" "$T/bodies" "$T/bodies.om"
(while [ -d "$C/heavy" ]; do dd if=/dev/zero of="$C/heavy/f" bs=4096 count=2000 2>/dev/null || break; done) &
writer=$!
sleep 0.5
if res=$("$TOOLS/scrapers" 127.0.0.1 "$PORT" /metrics 200 "$T/bodies" 2>"$T/scrapers.err"); then
	ok "200 concurrent text scrapes complete ($res)"
else
	not_ok "200 concurrent text scrapes complete" "$res" "$(head -5 "$T/scrapers.err")"
fi
if res=$("$TOOLS/scrapers" 127.0.0.1 "$PORT" /metrics 200 "$T/bodies.om" application/openmetrics-text \
	2>"$T/scrapers.err"); then
	ok "200 concurrent OpenMetrics scrapes complete with # EOF ($res)"
else
	not_ok "200 concurrent OpenMetrics scrapes complete with # EOF" "$res" "$(head -5 "$T/scrapers.err")"
fi
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
writer=""
bad=$(ls "$T/bodies"/*.prom | xargs -P 8 -n 1 sh -c 'promtool check metrics <"$0" >/dev/null 2>&1 || echo "$0"' | wc -l)
check_eq "all 200 bodies pass promtool check metrics" "$(ls "$T/bodies" | wc -l) bad=$bad" "200 bad=0"
grep -q "^cachewatch_write_bytes_total{cache=\"t\",dir=\"heavy\"} [1-9]" "$T/bodies/0.prom" &&
	ok "heavy writes visible in the scrapes" || not_ok "heavy writes visible in the scrapes"

# ---- TLS and basic auth --------------------------------------------------------

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
	-days 2 -subj /CN=localhost >/dev/null 2>&1
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.pem" >/dev/null 2>&1
if command -v htpasswd >/dev/null; then
	hash=$(htpasswd -nbBC 5 prom s3cret | cut -d: -f2)
else
	hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))')
fi
cat >"$T/web.yml" <<EOF
tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
  min_version: TLS13
basic_auth_users:
  prom: '$hash'
EOF
SPORT=$(free_port 3)
SURL=https://127.0.0.1:$SPORT
"$BIN" run --watch "t=$C" --web.listen-address "127.0.0.1:$SPORT" --web.config.file "$T/web.yml" \
	>"$T/agent2.log" 2>&1 &
agent2=$!
wait_ready "$SURL" >/dev/null # 401 counts as "up": wait for the listener, then test
i=0
while [ $i -lt 100 ] && [ "$(curl -sk -o /dev/null -w '%{http_code}' -u prom:s3cret "$SURL/-/ready")" != 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
curl -sk -D "$T/h.401" -o /dev/null "$SURL/metrics"
check_eq "TLS: no credentials 401" "$(head -n 1 "$T/h.401" | awk '{print $2}')" 401
grep -qi '^WWW-Authenticate: Basic realm="cachewatch"' "$T/h.401" && ok "401 carries WWW-Authenticate" ||
	not_ok "401 carries WWW-Authenticate"
check_eq "TLS: wrong password 401" "$(curl -sk -o /dev/null -w '%{http_code}' -u prom:wrong "$SURL/metrics")" 401
check_eq "TLS: unknown user 401" "$(curl -sk -o /dev/null -w '%{http_code}' -u nobody:s3cret "$SURL/metrics")" 401
check_eq "TLS: right credentials 200" "$(curl -sk -o /dev/null -w '%{http_code}' -u prom:s3cret "$SURL/metrics")" 200
curl -sk -u prom:s3cret "$SURL/metrics" | promtool check metrics >/dev/null 2>&1 && ok "TLS scrape passes promtool" ||
	not_ok "TLS scrape passes promtool"
curl -sk --tls-max 1.2 -u prom:s3cret -o /dev/null "$SURL/metrics" 2>/dev/null
rc=$?
[ $rc -ne 0 ] && ok "TLS 1.2 handshake refused under min_version TLS13 (curl exit $rc)" ||
	not_ok "TLS 1.2 handshake refused under min_version TLS13"
curl -sk --tlsv1.3 -u prom:s3cret -o /dev/null "$SURL/-/healthy" && ok "TLS 1.3 accepted" || not_ok "TLS 1.3 accepted"
check_eq "plain HTTP on the TLS port fails" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPORT/metrics")" 000
# timing: a cached successful check must not cost a bcrypt run each time
t0=$(date +%s%N)
for i in 1 2 3 4 5 6 7 8 9 10; do curl -sk -o /dev/null -u prom:s3cret "$SURL/-/healthy"; done
t1=$(date +%s%N)
note "10 authenticated TLS requests: $(((t1 - t0) / 1000000)) ms"
kill -TERM "$agent2"
wait "$agent2"
check_eq "TLS agent exits 0 on SIGTERM" "$?" 0
agent2=""

# ---- startup failures before anything is attached --------------------------------

startup_fails() { # startup_fails NAME GREP ARGS...: exit 1, message, nothing attached
	name=$1
	pattern=$2
	shift 2
	timeout 30 "$BIN" run --watch "t=$C" "$@" >"$T/fail.log" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q "$pattern" "$T/fail.log" && ! grep -q 'BPF attached' "$T/fail.log"; then
		ok "$name: exit 1 before attaching"
	else
		not_ok "$name: exit 1 before attaching" "rc=$rc" "$(cat "$T/fail.log")"
	fi
}
startup_fails "port in use" "cannot listen on 127.0.0.1:$PORT" --web.listen-address "127.0.0.1:$PORT"
startup_fails "second address in use" "cannot listen on" --web.listen-address "127.0.0.1:0" \
	--web.listen-address "127.0.0.1:$PORT"
sed 's/key.pem/other.pem/' "$T/web.yml" >"$T/web-badkey.yml"
startup_fails "key not matching the certificate" "TLS certificate" --web.listen-address 127.0.0.1:0 \
	--web.config.file "$T/web-badkey.yml"
startup_fails "unreadable web config" "cannot read" --web.listen-address 127.0.0.1:0 --web.config.file "$T/nope.yml"
# SIGTERM while BPF is being attached (seconds): start-up stops there, exit 0.
"$BIN" run --watch "t=$C" --web.listen-address 127.0.0.1:0 >"$T/early.log" 2>&1 &
early=$!
i=0
while ! grep -q 'msg=listening' "$T/early.log" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$early"
wait "$early"
rc=$?
early=""
if [ $rc -eq 0 ] && grep -q 'received signal during start-up' "$T/early.log" &&
	! grep -q 'msg="cachewatch started"' "$T/early.log"; then
	ok "SIGTERM during start-up: start-up stops, exit 0"
else
	not_ok "SIGTERM during start-up: start-up stops, exit 0" "rc=$rc" "$(cat "$T/early.log")"
fi
# A FIFO as TLS key_file: a clear error at once, not a start-up that hangs.
mkfifo "$T/key.fifo"
sed 's/key.pem/key.fifo/' "$T/web.yml" >"$T/web-fifo.yml"
startup_fails "FIFO as key_file" "key.fifo: not a regular file" --web.listen-address 127.0.0.1:0 \
	--web.config.file "$T/web-fifo.yml"
"$BIN" run --bogus >/dev/null 2>&1
check_eq "unknown flag exits 2" "$?" 2
"$BIN" run --web.telemetry-path metrics >"$T/usage.log" 2>&1
rc=$?
grep -q -- '--web.telemetry-path' "$T/usage.log" && check_eq "bad telemetry path exits 2 naming the flag" "$rc" 2 ||
	not_ok "bad telemetry path exits 2 naming the flag" "$(cat "$T/usage.log")"

# ---- slowloris: a new client still gets /metrics ----------------------------------

# 64 connections trickling one header byte every 200 ms, reconnecting
# whatever the agent closes: first all from 127.0.0.1 (the per-address cap),
# then spread over 64 addresses (the cap on connections waiting for headers).
# A fresh client from 127.0.0.2 must get /metrics meanwhile.
for spread in 0 64; do
	"$TOOLS/scrapers" --slowloris 60 --sources $spread 127.0.0.1 "$PORT" 64 >"$T/loris.out" 2>&1 &
	loris=$!
	sleep 2
	codes=""
	for i in 1 2 3; do
		codes="$codes $(curl -s --interface 127.0.0.2 -m 5 -o /dev/null -w '%{http_code}' "$URL/metrics")"
		sleep 0.5
	done
	kill "$loris"
	wait "$loris" 2>/dev/null
	check_eq "slowloris from $([ $spread = 0 ] && echo one address || echo $spread addresses): fresh scrapes answered" \
		"$codes" " 200 200 200"
done

# ---- shutdown --------------------------------------------------------------------

kill -TERM "$agent"
i=0
while kill -0 "$agent" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
wait "$agent"
check_eq "SIGTERM: exit 0" "$?" 0
agent=""
grep -q 'msg=stopped' "$T/agent.log" && ok "SIGTERM: logged stopped" || not_ok "SIGTERM: logged stopped"
check_eq "SIGTERM: port closed" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/-/healthy")" 000

tap_end
