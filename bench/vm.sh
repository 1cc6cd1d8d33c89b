#!/bin/sh
# The micro benchmark (bench/vm_cost.sh) for fentry and kprobe, inside the qemu harness
# (tests/vm/run.sh): one boot per kernel, cachewatch against empty programs on the same
# hooks in that boot. Not part of make test.
#   KERNELS="5.10-amd64 6.1-cloud-amd64" VM_CACHE=... sh bench/vm.sh
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KERNELS=${KERNELS:-6.1-cloud-amd64}
make -s -j2 "$BUILD/cachewatch" "$BUILD/bench/syscall_cost" "$BUILD/bench/empty_hooks" >/dev/null
T=$(mktemp -d /var/tmp/cw-benchvm.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
cat >"$T/payload" <<'P'
bench-fentry  sh bench/vm_cost.sh fentry "$W"
bench-kprobe  sh bench/vm_cost.sh kprobe "$W"
P
here=$(pwd)
VM_PAYLOAD_FILE=$T/payload VM_LOG_DIR=$T/logs VM_AGENT=$here/$BUILD/cachewatch KERNELS=$KERNELS \
	VM_EXTRA_FILES="$here/bench/vm_cost.sh=/repo/bench/vm_cost.sh $here/bench/lib.sh=/repo/bench/lib.sh $here/$BUILD/bench/syscall_cost=/repo/build/bench/syscall_cost $here/$BUILD/bench/empty_hooks=/repo/build/bench/empty_hooks" \
	bash tests/vm/run.sh >"$T/run.out" 2>&1 || { tail -n 20 "$T/run.out" >&2; echo "bench/vm.sh: the VM run failed" >&2; }
for log in "$T"/logs/*.log; do
	[ -f "$log" ] || continue
	echo "== $(basename "$log" .log)"
	tr -d '\r' <"$log" | sed -n 's/^@@BENCH //p'
done
