#!/bin/sh
# Builds the fuzzers (libFuzzer + ASan/UBSan): the config parser and the access
# state file parser, and runs each for FUZZ_SECONDS (default 30) over its corpus
# (tests/fuzz/corpus, tests/fuzz/corpus-access); prints one TAP line per fuzzer.
# Any crash, leak, timeout or out-of-memory fails the run; the reproducer is
# kept in $BUILD/fuzz/artifacts/.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
CLANG=${CLANG:-clang}
out=$BUILD/fuzz
mkdir -p "$out/artifacts"
rc_all=0

# fuzz N NAME SEEDS "SOURCES" "LIBS" [LIBFUZZER FLAGS...]
fuzz() {
	num=$1 name=$2 seeds=$3 srcs=$4 libs=$5
	shift 5
	bin=$out/$name
	mkdir -p "$out/corpus-$name"
	# shellcheck disable=SC2086
	if ! $CLANG -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Iinclude -Iuser -o "$bin" $srcs $libs 2>"$out/build-$name.log"; then
		cat "$out/build-$name.log"
		echo "not ok $num - $name: build failed"
		return 1
	fi
	log=$out/$name.log
	# The working corpus lives in the build tree; the seeds in git stay small.
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/" "$@" \
		"$out/corpus-$name" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ] || [ -z "$runs" ]; then
		tail -n 60 "$log"
		echo "not ok $num - $name: exit status $rc (log: $log, artifacts: $out/artifacts/)"
		return 1
	fi
	echo "ok $num - $name $runs runs"
}

# Only the sources each parser needs: no libbpf, no skeleton.
fuzz 1 fuzz_config tests/fuzz/corpus "tests/fuzz/fuzz_config.c $(ls user/lib/*.c user/config/*.c)" -lyaml \
	-max_len=4096 -dict=tests/fuzz/config.dict || rc_all=1
fuzz 2 fuzz_access_state tests/fuzz/corpus-access "tests/fuzz/fuzz_access_state.c user/purge/access.c" -lz \
	-max_len=2048 || rc_all=1
echo "1..2"
exit $rc_all
