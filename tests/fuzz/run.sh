#!/bin/sh
# Builds the config parser fuzzer (libFuzzer + ASan/UBSan) and runs it for
# FUZZ_SECONDS (default 30) over tests/fuzz/corpus; prints one TAP line.
# Any crash, leak, timeout or out-of-memory fails the run; the reproducer is
# kept in $BUILD/fuzz/artifacts/.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
CLANG=${CLANG:-clang}
out=$BUILD/fuzz
bin=$out/fuzz_config
mkdir -p "$out/artifacts" "$out/corpus"

fail() {
	echo "not ok 1 - config parser fuzz: $*"
	exit 1
}

# Only the configuration sources: no libbpf, no skeleton needed.
srcs="tests/fuzz/fuzz_config.c $(ls user/lib/*.c user/config/*.c)"
# shellcheck disable=SC2086
$CLANG -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Iinclude -Iuser -o "$bin" $srcs -lyaml 2>"$out/build.log" ||
	{ cat "$out/build.log"; fail "build failed"; }

log=$out/fuzz.log
# The working corpus lives in the build tree; the seeds in git stay small.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -dict=tests/fuzz/config.dict -print_final_stats=1 \
	-artifact_prefix="$out/artifacts/" \
	"$out/corpus" tests/fuzz/corpus >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
if [ "$rc" -ne 0 ] || [ -z "$runs" ]; then
	tail -n 60 "$log"
	fail "exit status $rc (log: $log, artifacts: $out/artifacts/)"
fi
echo "ok 1 - config parser fuzz $runs runs"
