#!/bin/sh
# The two tracepoint flavours weighted by the syscall mix of a build (called by bench/cost.sh):
# the mix is counted with strace -f -c over bench/workload.sh (ccache + gcc compiles, a tar
# extraction, rm -rf) on this machine; the per-call figures are bench/cost.sh's, same run.
#   sh bench/mix.sh DIR none_w floor_w persys_w none_g floor_g persys_g cw_w cw_g
# (w: 64-byte pwrite into a watched dir, g: getppid; ns per call)
set -eu
cd "$(dirname "$0")/.."
. bench/workload.sh
T=$1
shift
mkdir -p "$T/mix/root"
cw_workload_prepare "$T/mix"
strace -f -c -o "$T/mix/strace.txt" sh -c ". bench/workload.sh && cw_workload_run '$T/mix' '$T/mix/root'" >/dev/null 2>&1
# The calls cachewatch's raw sys_enter/sys_exit dispatch on (bpf/syscall_nrs.h): with the
# per-syscall flavour these alone would run a program, every other call none.
hooked='write pwrite64 writev pwritev pwritev2 unlink unlinkat rename renameat renameat2'
awk -v hooked="$hooked" -v nw="$1" -v fw="$2" -v pw="$3" -v ng="$4" -v fg="$5" -v pg="$6" -v cw="$7" -v cg="$8" '
	BEGIN {n = split(hooked, h, " "); for (i = 1; i <= n; i++) H[h[i]] = 1}
	$NF ~ /^[a-z_0-9]+$/ && $NF != "total" && $NF != "syscall" {
		calls = $4; c[$NF] = calls; tot += calls
		if ($NF in H) hk += calls
	}
	END {
		printf "syscall mix of a build (strace -f -c of bench/workload.sh: ccache gcc compiles, tar -x, rm -rf), %d calls:\n", tot
		for (s in c) printf "  %-14s %5.1f %%\n", s, 100 * c[s] / tot | "sort -k2 -rn | head -n 10"
		close("sort -k2 -rn | head -n 10")
		f = hk / tot
		printf "  hooked by cachewatch (write family, unlink, unlinkat, rename family): %.1f %%\n\n", 100 * f
		printf "ns added per syscall of that mix (hooked calls priced as the 64-byte pwrite, the rest as getppid):\n"
		printf "| %-46s | %8s | %8s | %12s |\n", "tracepoint flavour", "hooked", "other", "weighted"
		printf "|%s|%s|%s|%s|\n", "---", "---", "---", "---"
		printf "| %-46s | %+8.0f | %+8.0f | %+12.1f |\n", "raw sys_enter/sys_exit (tp_btf), empty", fw - nw, fg - ng, f * (fw - nw) + (1 - f) * (fg - ng)
		printf "| %-46s | %+8.0f | %+8.0f | %+12.1f |\n", "per-syscall tracepoints, empty", pw - nw, pg - ng, f * (pw - nw) + (1 - f) * (pg - ng)
		printf "| %-46s | %+8.0f | %+8.0f | %+12.1f |\n", "cachewatch on raw sys_enter/sys_exit", cw - nw, cg - ng, f * (cw - nw) + (1 - f) * (cg - ng)
		printf "| %-46s | %+8.0f | %+8.0f | %+12.1f |\n", "per-syscall + cachewatch programs (estimate)", pw - nw + (cw - fw), pg - ng, f * (pw - nw + cw - fw) + (1 - f) * (pg - ng)
		printf "(estimate: the per-syscall floor plus what cachewatch adds to the raw floor on a watched write; on other calls no program runs)\n"
	}' "$T/mix/strace.txt"
