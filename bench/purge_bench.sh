#!/bin/sh
# Benchmark: cachewatch's scan and LRU purge of N files against shell baselines
# measured in the same run on identical fresh trees (median of R alternating
# runs, synced in between so one's deferred I/O does not land on the other).
# Not part of `make test`.   sh bench/purge_bench.sh [N] [R]   (BUILD=build)
set -eu
N=${1:-100000}
R=${2:-3}
BUILD=${BUILD:-build}
BIN="$BUILD/cachewatch"
MK="$BUILD/tests/purge_mkfiles"
[ -x "$BIN" ] && [ -x "$MK" ] || { echo "build first: make tests-bin" >&2; exit 2; }
T=$(mktemp -d /tmp/cw-purge-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
HALF=$((N / 2))
SIZE=$((N * 4096))

fresh() { rm -rf "$T/c"; "$MK" "$T/c" "$N" 4096 100 3600 1; sync; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# timed NAME CMD...: appends the wall time in ms of CMD to $T/NAME.ms
timed() {
	name=$1
	shift
	t=$(date +%s%N)
	"$@"
	echo $((($(date +%s%N) - t) / 1000000)) >>"$T/$name.ms"
	sync
}

cw_scan() { "$BIN" purge --dry-run -q --max-size 1PiB "$T/c" >/dev/null; }
du_scan() { du -s "$T/c" >/dev/null; }
find_scan() { find "$T/c" -type f -printf '%A@ %b %p\n' >/dev/null; }
cw_purge() {
	"$BIN" purge -q -v --rate-limit 0 --max-size "$SIZE" --high-watermark 90% --low-watermark 50% "$T/c" >"$T/out"
}
lru_rm() { find "$T/c" -type f -printf '%A@ %p\n' | sort -n | head -n "$HALF" | cut -d' ' -f2- | xargs -d '\n' rm -f; }
age_delete() { find "$T/c" -type f -amin +$(((3600 + HALF) / 60 + 1)) -delete; }

echo "purge benchmark: $N files of 4 KiB in 100 directories; purge = oldest half; median of $R"
fresh
for _ in $(seq "$R"); do
	timed cw_scan cw_scan
	timed du_scan du_scan
	timed find_scan find_scan
done
for i in $(seq "$R"); do
	# alternate who goes first
	if [ $((i % 2)) -eq 1 ]; then order="cw_purge lru_rm age_delete"; else order="lru_rm age_delete cw_purge"; fi
	for what in $order; do
		fresh
		timed "$what" "$what"
		left=$(find "$T/c" -type f | wc -l)
		[ "$left" -eq "$HALF" ] || [ "$what" = age_delete ] || echo "warning: $what left $left files" >&2
	done
done
cw_rss=$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$T/out")
for f in cw_scan du_scan find_scan cw_purge lru_rm age_delete; do
	eval "$f=\$(median <\"\$T/$f.ms\")"
done
printf '%-46s %8s %8s\n' "what" "ms" "ratio"
printf '%-46s %8d %8s\n' "cachewatch scan (purge --dry-run, nothing due)" "$cw_scan" "1.00"
printf '%-46s %8d %8s\n' "du -s" "$du_scan" "$(ratio "$cw_scan" "$du_scan")"
printf '%-46s %8d %8s\n' "find -printf (atime size path)" "$find_scan" "$(ratio "$cw_scan" "$find_scan")"
printf '%-46s %8d %8s\n' "cachewatch purge, oldest half (LRU)" "$cw_purge" "1.00"
printf '%-46s %8d %8s\n' "find|sort|head|xargs rm, oldest half (LRU)" "$lru_rm" "$(ratio "$cw_purge" "$lru_rm")"
printf '%-46s %8d %8s\n' "find -amin +X -delete (by age, no sort)" "$age_delete" "$(ratio "$cw_purge" "$age_delete")"
echo "ratio = cachewatch / baseline (below 1: cachewatch faster)"
echo "cachewatch purge peak RSS: ${cw_rss:-?} KiB"
