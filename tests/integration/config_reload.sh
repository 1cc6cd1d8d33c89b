#!/bin/sh
# Hot reload end to end (real BPF): SIGHUP and POST /-/reload add, remove and
# change caches while a writer keeps writing; counters of kept caches continue
# exactly; a bad file keeps the running configuration and sets
# cachewatch_config_last_reload_successful 0. Prints TAP. Needs root.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${CW_BIN:-build/cachewatch}
T=$(mktemp -d /tmp/cw-reload.XXXXXX)
PORT=$((20000 + $$ % 20000))
URL=http://127.0.0.1:$PORT
pid=""
. tests/lib/tap.sh

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT


# writes COUNT files of 4096 bytes into DIR, one write() each
write_files() {
	i=0
	while [ $i -lt "$2" ]; do
		dd if=/dev/zero of="$1/f$3$i" bs=4096 count=1 2>/dev/null
		i=$((i + 1))
	done
}

config() { # config CACHE_LINES...: writes the config file
	{ echo "poll_interval: 100ms"; echo "caches:"; for l in "$@"; do echo "$l"; done; } >"$T/c.yml"
}

A="  - {name: a, path: $T/a}"
B="  - {name: b, path: $T/b}"
B1="  - {name: b, path: $T/b, group_depth: 1}"
ok_key=cachewatch_config_last_reload_successful
ts_key=cachewatch_config_last_reload_success_timestamp_seconds
wa='cachewatch_write_bytes_total{cache="a",dir="."}'
wb='cachewatch_write_bytes_total{cache="b",dir="."}'

mkdir -p "$T/a" "$T/b/sub"
config "$A"
"$BIN" run --config.file "$T/c.yml" --web.listen-address "127.0.0.1:$PORT" \
	--web.enable-lifecycle --bpf.attach "${CW_ATTACH:-auto}" >"$T/log" 2>&1 &
pid=$!
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/-/ready")" = 200 ]; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
		not_ok "agent becomes ready" "$(cat "$T/log")"
		echo "1..$n"
		exit 1
	fi
	sleep 0.1
done
ok "agent with --config.file becomes ready"
check_metric "reload metric starts at 1" "$ok_key" 1

write_files "$T/a" 10 x
check_metric "writes into a are counted" "$wa" 40960

# Add b by SIGHUP while a writer keeps writing into a.
write_files "$T/a" 200 y &
writer=$!
ts0=$(metric "$ts_key")
config "$A" "$B"
kill -HUP "$pid"
i=0
while [ "$(metric "$ts_key")" = "$ts0" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(metric "$ts_key")" != "$ts0" ] && ok "SIGHUP reload updates the success timestamp" ||
	not_ok "SIGHUP reload updates the success timestamp" "$(tail -5 "$T/log")"
write_files "$T/b" 3 z
check_metric "added cache b starts at zero and counts" "$wb" 12288

# A bad file keeps everything running.
printf 'caches:\n  - name: a\n    path: %s/a\n    purge: {max_size: 5GG}\n' "$T" >"$T/c.yml"
kill -HUP "$pid"
check_metric "bad file: last_reload_successful 0" "$ok_key" 0
grep -q 'reload failed; keeping the running configuration.*5GG' "$T/log" &&
	ok "bad file: the reason is logged" || not_ok "bad file: the reason is logged" "$(tail -3 "$T/log")"
write_files "$T/b" 1 w
check_metric "bad file: b is still watched" "$wb" 16384

wait "$writer"
check_metric "a's counter continued exactly across reloads" "$wa" $((210 * 4096))

# POST /-/reload: bad file answers an error, good file 200.
code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL/-/reload")
[ "$code" -ge 400 ] && grep -q 5GG "$T/body" && ok "POST /-/reload with a bad file fails ($code) and says why" ||
	not_ok "POST /-/reload with a bad file fails" "code $code: $(cat "$T/body")"

# Remove a, change b's group_depth: a's series vanish, b is split per dir.
config "$B1"
code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL/-/reload")
[ "$code" = 200 ] && ok "POST /-/reload with a good file: 200" || not_ok "POST /-/reload with a good file: 200" "code $code: $(cat "$T/body")"
check_metric "good reload: last_reload_successful 1" "$ok_key" 1
check_metric "removed cache a disappears" "$wa" absent
write_files "$T/b/sub" 2 v
check_metric "changed cache b gets per-directory series" 'cachewatch_write_bytes_total{cache="b",dir="sub"}' 8192

# A file nested 100,000 levels deep: refused with the depth message, and the
# maps are polled meanwhile (the poll timestamp moves within seconds of SIGHUP;
# the loader alone used to take minutes over such a file, polling stopped).
cp "$T/c.yml" "$T/good.yml"
python3 -c 'import sys; sys.stdout.write("caches: " + "[" * 100000 + "]" * 100000 + "\n")' >"$T/c.yml"
kill -HUP "$pid"
p0=$(metric cachewatch_last_poll_timestamp_seconds)
sleep 2
p1=$(metric cachewatch_last_poll_timestamp_seconds)
[ -n "$p0" ] && [ -n "$p1" ] && [ "$(echo "$p1 > $p0" | bc)" = 1 ] &&
	ok "deep file: polling goes on during the reload ($p0 -> $p1)" ||
	not_ok "deep file: polling goes on during the reload" "$p0 -> $p1"
i=0
until grep -q 'nested deeper than 64 levels' "$T/log" || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "reload failed; keeping the running configuration.*c.yml:1:72: nested deeper than 64 levels" "$T/log" &&
	ok "deep file: refused with line:column and the depth" || not_ok "deep file: refused with the depth" "$(tail -3 "$T/log")"
cp "$T/good.yml" "$T/c.yml"

kill -HUP "$pid" 2>/dev/null
sleep 0.3
kill -0 "$pid" 2>/dev/null && ok "agent survives repeated reloads" || not_ok "agent survives repeated reloads" "$(tail -5 "$T/log")"
kill "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 0 ] && ok "agent exits 0 on SIGTERM" || not_ok "agent exits 0 on SIGTERM" "exit $rc"

tap_end
