// SPDX-License-Identifier: GPL-2.0
/* Empty BPF programs for the benchmarks' floor: a pool per program type, aimed at run time at the hooks cachewatch uses. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* The loader (bench/empty_hooks.c) picks programs of the needed type in order,
 * sets each one's target and turns the rest off. Bodies return at once: what
 * they cost is the hook's own (trampoline, tracepoint dispatch, kprobe). */
#define POOL8(M, p) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7)
#define POOL32(M, p) POOL8(M, p##0) POOL8(M, p##1) POOL8(M, p##2) POOL8(M, p##3)

#define TP_BTF(n) SEC("tp_btf") int n(void *ctx) { return 0; }
#define FENTRY(n) SEC("fentry") int n(void *ctx) { return 0; }
#define FEXIT(n) SEC("fexit") int n(void *ctx) { return 0; }
#define KPROBE(n) SEC("kprobe") int n(void *ctx) { return 0; }
#define TRACEPOINT(n) SEC("tracepoint") int n(void *ctx) { return 0; }

POOL32(TP_BTF, tpb)
POOL32(FENTRY, fe)
POOL32(FEXIT, fx)
POOL32(KPROBE, kp)     /* kprobes and kretprobes: the attach call says which */
POOL32(TRACEPOINT, tp)
