#!/bin/sh
# Runs cachewatch's test stages and prints one "N passed, N failed" line at the end.
#   sh tests/run.sh all|static|unit|asan|integration|vm|fuzz|deploy
# Unit tests: build/tests/test_* (cmocka). Integration: every executable built from
# tests/integration/*.c and every tests/integration/*.sh; each prints TAP
# ("ok N - ..." / "not ok N - ..."). Integration and VM stages FAIL (never skip)
# when BPF cannot be used and CI=true.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
failed_stages=""

log() { printf '== %s\n' "$*"; }

# count_tap FILE: adds TAP results of FILE to the totals
count_tap() {
	p=$(grep -c '^ok ' "$1")
	f=$(grep -c '^not ok ' "$1")
	echo "$p $f" >>"$results"
}

# count_cmocka FILE
count_cmocka() {
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	echo "$p $f" >>"$results"
}

stage_unit() {
	build=${1:-$BUILD}
	out=$(mktemp)
	rc=0
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.dSYM) continue ;; esac
		# integration binaries also start with test_ only if they are unit tests
		[ -f "tests/unit/$(basename "$t").c" ] || continue
		log "unit: $t"
		"$t" >"$out" 2>&1 || rc=1
		cat "$out"
		count_cmocka "$out"
	done
	rm -f "$out"
	return $rc
}

need_bpf() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "BPF tests need root" >&2
		return 1
	fi
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
}

stage_integration() {
	build=${1:-$BUILD}
	if ! need_bpf; then
		[ "${CI:-}" = true ] && { echo "FAIL: integration tests cannot run" >&2; return 1; }
		echo "SKIP: integration tests (not root)" >&2
		return 0
	fi
	out=$(mktemp)
	rc=0
	for src in tests/integration/*.c tests/integration/*.sh; do
		[ -e "$src" ] || continue
		name=$(basename "$src")
		case "$src" in
		*.c) cmd="$build/tests/${name%.c}" ;;
		*.sh) cmd="sh $src" ;;
		esac
		log "integration: $name"
		CW_BUILD="$build" CW_BIN="$build/cachewatch" CW_TESTS="$build/tests" \
			timeout 900 $cmd >"$out" 2>&1 || rc=1
		cat "$out"
		count_tap "$out"
		if [ "$(grep -c '^ok \|^not ok ' "$out")" -eq 0 ]; then
			echo "not ok - $name produced no test results" | tee -a "$out"
			echo "0 1" >>"$results"
			rc=1
		fi
	done
	rm -f "$out"
	return $rc
}

stage_asan() {
	log "building with ASan/UBSan into build-asan"
	make -s BUILD=build-asan SAN=1 tests-bin >/dev/null || return 1
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export ASAN_OPTIONS UBSAN_OPTIONS
	rc=0
	stage_unit build-asan || rc=1
	stage_integration build-asan || rc=1
	return $rc
}

stage_vm() {
	out=$(mktemp)
	sh tests/vm/run.sh >"$out" 2>&1
	rc=$?
	cat "$out"
	tail -n 5 "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' >>"$results"
	rm -f "$out"
	return $rc
}

# Checks of the source tree itself (layer rule, ...): tests/static/*.sh, TAP.
stage_static() {
	out=$(mktemp)
	rc=0
	for t in tests/static/*.sh; do
		[ -e "$t" ] || continue
		log "static: $(basename "$t")"
		sh "$t" >"$out" 2>&1 || rc=1
		cat "$out"
		count_tap "$out"
	done
	rm -f "$out"
	return $rc
}

stage_fuzz() {
	out=$(mktemp)
	sh tests/fuzz/run.sh >"$out" 2>&1
	rc=$?
	cat "$out"
	count_tap "$out"
	rm -f "$out"
	return $rc
}

# deploy: builds the Debian package and the OCI image, then runs every
# tests/deploy/*.sh (package install, image, units, manifests, dashboard).
stage_deploy() {
	if [ "$(id -u)" -ne 0 ]; then
		[ "${CI:-}" = true ] && { echo "FAIL: deploy tests need root" >&2; return 1; }
		echo "SKIP: deploy tests (not root)" >&2
		return 0
	fi
	out=$(mktemp)
	rc=0
	log "deploy: make deb image"
	if ! make -s deb image >"$out" 2>&1; then
		cat "$out"
		echo "not ok - make deb image" | tee "$out"
		echo "0 1" >>"$results"
		rm -f "$out"
		return 1
	fi
	for src in tests/deploy/*.sh; do
		name=$(basename "$src")
		log "deploy: $name"
		CW_BUILD="$BUILD" CW_BIN="$BUILD/cachewatch" CW_TESTS="$BUILD/tests" \
			timeout 900 sh "$src" >"$out" 2>&1 || rc=1
		cat "$out"
		count_tap "$out"
		if [ "$(grep -c '^ok \|^not ok ' "$out")" -eq 0 ]; then
			echo "not ok - $name produced no test results" | tee -a "$out"
			echo "0 1" >>"$results"
			rc=1
		fi
	done
	rm -f "$out"
	return $rc
}

run_stage() {
	"stage_$1" || failed_stages="$failed_stages $1"
}

what=${1:-all}
case "$what" in
all)
	make -s tests-bin || exit 1
	for s in static unit integration asan vm fuzz deploy; do run_stage $s; done
	;;
static | unit | integration | asan | vm | fuzz | deploy) run_stage "$what" ;;
*) echo "usage: tests/run.sh all|static|unit|asan|integration|vm|fuzz|deploy" >&2; exit 2 ;;
esac

totals=$(awk '{p+=$1; f+=$2} END {printf "%d %d", p, f}' "$results")
set -- $totals
[ -n "$failed_stages" ] && echo "failed stages:$failed_stages"
echo "$1 passed, $2 failed"
[ -z "$failed_stages" ] && [ "$2" -eq 0 ]
