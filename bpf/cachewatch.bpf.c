// SPDX-License-Identifier: GPL-2.0
/* Per-directory write/read/unlink accounting for watched cache roots; three attach backends. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cachewatch.h"
#include "syscall_nrs.h"

char LICENSE[] SEC("license") = "GPL";

#define S_IFMT 00170000
#define S_IFREG 0100000
#define AT_FDCWD -100
#define EEXIST 17

/* Knobs the loader sets before load. */
const volatile __u32 max_walk = CW_MAX_WALK;
const volatile __u32 unlink_dentry_arg = 2; /* index of vfs_unlink's dentry argument */
/* io_uring opens are seen at their completion only where no open hook sees them
 * (tracepoint); fentry and kprobe see them in do_filp_open like every open. */
const volatile bool uring_opens = false;

/* Bumped by userspace when the watched set changes and by successful renames:
 * cached per-file decisions older than this are walked again. */
__u64 watch_gen;
/* Groups admitted per root slot; userspace decrements when it forgets one. */
__u64 group_count[CW_MAX_ROOTS];

/* Order matters: each part uses only what the ones before it define. */
#include "counters.bpf.h"
#include "attribution.bpf.h"
#include "access.bpf.h"
#include "size.bpf.h"
#include "inflight.bpf.h"
#include "paths.bpf.h"
#include "fentry.bpf.h"
#include "kprobe.bpf.h"
#include "unlink_path.bpf.h"
#include "size_path.bpf.h"
#include "tracepoint.bpf.h"
