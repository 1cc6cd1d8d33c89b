#!/bin/sh
# The size gauges through the running agent (TAP, root, BPF): writes, overwrites and a
# `go clean`-like deletion of most of a cache move cachewatch_cache_size_bytes and
# cachewatch_cache_apparent_size_bytes to du's figures within seconds, with a 1 h scan
# interval: on ext4 from the data plane's deltas alone (no rescan), on tmpfs with the
# tracepoint backend through the early rescan its unsized unlinks ask for.
set -u
BIN=${CW_BIN:-build/cachewatch}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
T=$(mktemp -d /var/tmp/cw-size-agent.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	umount "$T/e4" 2>/dev/null
	umount "$T/tm" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. tests/lib/tap.sh
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"

mkdir -p "$T/e4" "$T/tm"
truncate -s 128M "$T/e4.img" && mkfs.ext4 -q -F "$T/e4.img" && mount -o loop "$T/e4.img" "$T/e4" ||
	{ not_ok "loop-mount an ext4 image"; tap_end; exit 1; }
mount -t tmpfs -o size=128m tmpfs "$T/tm" || { not_ok "mount a tmpfs"; tap_end; exit 1; }

# 16 directories of 10 files of 200 kB, like a Go build cache's 00..ff
fill() {
	for d in 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f; do
		mkdir -p "$1/$d"
		for f in 0 1 2 3 4 5 6 7 8 9; do
			head -c 200000 /dev/urandom >"$1/$d/$f-a"
		done
	done
}
fill "$T/e4/c"
fill "$T/tm/c"
sync

cat >"$T/cfg.yml" <<YML
poll_interval: 200ms
caches:
  - name: e4
    path: $T/e4/c
    purge:
      max_size: 10GiB
      interval: 1h
  - name: tm
    path: $T/tm/c
    purge:
      max_size: 10GiB
      interval: 1h
YML
"$BIN" run --config.file "$T/cfg.yml" --web.listen-address "127.0.0.1:$PORT" --log.level debug >"$T/log" 2>&1 &
pid=$!

scan_ts() { metric "cachewatch_cache_last_scan_timestamp_seconds{cache=\"$1\"}"; }
gauge() { metric "cachewatch_cache_size_bytes{cache=\"$1\"}"; }
apparent() { metric "cachewatch_cache_apparent_size_bytes{cache=\"$1\"}"; }
# what du counts for the regular files, as the scan does (directories' own blocks apart)
du_disk() { find "$1" -type f -printf '%i %b\n' | sort -u | awk '{ s += $2 * 512 } END { print s + 0 }'; }
du_apparent() { find "$1" -type f -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { print s + 0 }'; }
# within PCT percent (and 8 KiB, for directories' blocks freed with them)
near() { awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * p / 100 || d <= 8192) }'; }

# wait_near CACHE [SECONDS]: until both gauges are within 1 % of du; prints the figures
wait_near() {
	i=0
	while [ $i -lt $((${2:-10} * 5)) ]; do
		g=$(gauge "$1") a=$(apparent "$1")
		dd=$(du_disk "$T/$1/c") da=$(du_apparent "$T/$1/c")
		near "$g" "$dd" 1 && near "$a" "$da" 1 && { echo "disk $g (du $dd), apparent $a (du $da)"; return 0; }
		sleep 0.2
		i=$((i + 1))
	done
	echo "disk $g (du $dd), apparent $a (du $da)"
	return 1
}

for c in e4 tm; do
	i=0
	while [ "$(scan_ts $c)" = absent ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
	[ "$(scan_ts $c)" != absent ] && ok "$c: first scan done" || not_ok "$c: first scan done"
done
s_e4=$(scan_ts e4)
s_tm=$(scan_ts tm)
for c in e4 tm; do
	r=$(wait_near $c 5) && ok "$c after the first scan: $r" || not_ok "$c after the first scan" "$r"
done

# growth, appends and overwrites in place, no scan
for c in e4 tm; do
	for d in 00 01 02 03; do
		head -c 300000 /dev/urandom >"$T/$c/c/$d/new"
		head -c 50000 /dev/urandom >>"$T/$c/c/$d/0-a"
		dd if=/dev/urandom of="$T/$c/c/$d/1-a" bs=4096 count=40 conv=notrunc 2>/dev/null
	done
done
for c in e4 tm; do
	r=$(wait_near $c 10) && ok "$c after writes, appends and overwrites, no rescan: $r" ||
		not_ok "$c after writes, appends and overwrites" "$r"
done

# go clean: most of the cache goes, by names relative to directory fds (rm -r)
for c in e4 tm; do
	rm -rf "$T/$c/c/00" "$T/$c/c/01" "$T/$c/c/02" "$T/$c/c/03" "$T/$c/c/04" "$T/$c/c/05" \
		"$T/$c/c/06" "$T/$c/c/07" "$T/$c/c/08" "$T/$c/c/09" "$T/$c/c/0a" "$T/$c/c/0b" \
		"$T/$c/c/0c" "$T/$c/c/0d"
done
t0=$(date +%s.%N)
for c in e4 tm; do
	r=$(wait_near $c 15) && ok "$c after deleting most of it: $r" || not_ok "$c after deleting most of it" "$r"
done
t1=$(date +%s.%N)
note "waited $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the deletion (scan interval 1 h)"
backend=$(curl -s "$URL/metrics" | sed -n 's/^cachewatch_build_info{.*backend="\([a-z]*\)".*/\1/p')
note "backend $backend"
if [ "$backend" = tracepoint ]; then
	# ext4's unlink tracepoint sizes each unlink; tmpfs shows only names: a rescan
	check_eq "e4: no rescan needed (ext4 unlinks are sized)" "$(scan_ts e4)" "$s_e4"
	[ "$(scan_ts tm)" != "$s_tm" ] && ok "tm: an early rescan made the gauge converge (tmpfs unlinks are not sized)" ||
		not_ok "tm: an early rescan happened"
	grep -q 'trigger=size_unknown' "$T/log" && ok "the rescan's trigger is size_unknown" ||
		not_ok "the rescan's trigger is size_unknown"
else
	check_eq "e4: no rescan needed" "$(scan_ts e4)" "$s_e4"
	check_eq "tm: no rescan needed" "$(scan_ts tm)" "$s_tm"
fi
tap_end
