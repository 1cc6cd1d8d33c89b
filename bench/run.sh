#!/bin/sh
# make bench: every benchmark in bench/, one after the other (not part of make test).
# The issue 12 tables first: per-call cost beside floor, inotify and fanotify, with the
# programs' run time and the tracepoint flavours (cost.sh), the build-like workload
# (macro.sh), memory at 16,384 series (memory.sh), the read and open cost (read_cost.sh);
# then the older ones. make bench-vm
# runs the per-call table for fentry and kprobe in the qemu harness (vm.sh).
set -eu
cd "$(dirname "$0")/.."
for b in ${BENCHES:-cost read_cost macro memory overhead poll_cpu purge_bench http_slow_scrapers}; do
	echo "== bench/$b.sh"
	sh "bench/$b.sh"
	echo
done
