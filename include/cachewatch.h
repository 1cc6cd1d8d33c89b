/* Types and limits shared by the BPF programs and the userspace agent. */
#ifndef CACHEWATCH_H
#define CACHEWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h> /* the BPF side gets these from vmlinux.h */
#endif

#define CW_MAX_ROOTS 64        /* watched roots at once (slot ids 0..63) */
#define CW_MAX_WALK 32         /* hard cap on the d_parent walk */
#define CW_MAX_GROUP_DEPTH 8   /* deepest group_depth accepted */
#define CW_HIST_SLOTS 36       /* log2(ns) latency slots; the last one is open-ended */
#define CW_COMM_LEN 16
#define CW_GROUP_NAME_MAX 256  /* "a/b/c" relative group path, NUL included */
#define CW_PATH_MAX 256        /* longest unlink path the tracepoint backend parses */
#define CW_TOP_WRITERS 10
#define CW_MAX_SERIES 16384    /* (root, group) series across all roots; past it: drops */
#define CW_MAX_WRITERS 32768   /* (root, group, comm) writer entries across all roots: two per series */
#define CW_ACCESS_RECENT 4     /* newest access times kept per file record */
#define CW_ACCESS_RECORDS_DEFAULT 65536 /* per-file access records (bpf.access_records) */
#define CW_ACCESS_RECORDS_MIN 16
#define CW_ACCESS_RECORDS_MAX 16777216
#define CW_INFLIGHT_HASH 16384 /* calls in flight at once where the kernel has no task storage (5.10) */

/* Group keys are FNV-1a 64 hashes of the group's relative path ("" = the root
 * itself), so a group deleted and recreated under the same name keeps its series,
 * and the write path (dentry names) and the unlink path (path strings) agree. */
#define CW_FNV_OFFSET 0xcbf29ce484222325ULL
#define CW_FNV_PRIME 0x100000001b3ULL
#define CW_GROUP_ROOT CW_FNV_OFFSET /* hash of "" */
#define CW_GROUP_OTHER (~0ULL)      /* folded: over max_groups */

/* Watched root, keyed by the kernel's encoding of the device (major<<20|minor). */
struct cw_root_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

struct cw_root_val {
	__u32 id;          /* slot, 0..CW_MAX_ROOTS-1 */
	__u32 group_depth; /* 0..CW_MAX_GROUP_DEPTH */
	__u32 max_groups;  /* 0 = unlimited */
	__u32 pad;
};

struct cw_stats_key {
	__u64 group; /* FNV-1a of the relative group path, or CW_GROUP_OTHER */
	__u32 root;  /* root slot */
	__u32 pad;
};

/* Counters for one (root, group), updated with atomic adds. */
struct cw_stats {
	__u64 write_bytes;
	__u64 writes;       /* every attributed write call, failed ones included */
	__u64 write_errors; /* negative returns */
	__u64 lat_sum_ns;
	__u64 lat_slots[CW_HIST_SLOTS]; /* slot i: [2^i, 2^(i+1)) ns; slot 0 also holds 0 */
	__u64 unlinks;
	__u64 unlinked_bytes;
	/* Reads of files under the directory (issue 13). */
	__u64 read_bytes;
	__u64 reads;        /* every attributed read call, failed ones included */
	__u64 read_errors;  /* negative returns */
	__u64 read_opens;   /* opens of existing files for reading */
	/* Ranges cloned into files (reflink, FICLONE, copy_file_range served by a
	 * clone): no data was written. */
	__u64 clone_bytes;
	/* Size changes since the agent started, as monotonic pairs so every field
	 * stays a counter: apparent bytes (i_size) and allocation (i_size rounded
	 * up to the file system block) added and removed. */
	__u64 size_added;
	__u64 size_removed;
	__u64 alloc_added;
	__u64 alloc_removed;
	/* Files written (created or rewritten) and files read back after being written. */
	__u64 entries_written;
	__u64 entries_reused;
	/* Size changes the backend saw but could not size (docs/backends.md,
	 * "Cache size between scans"): each asks for an early rescan. */
	__u64 size_unknown;
};

/* A file's observed use, keyed by the kernel's (sb->s_dev, i_ino) like roots.
 * Made for files under a watched root when they are opened for reading,
 * created, or written. */
struct cw_access_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

#define CW_ACCESS_WRITTEN 0x1   /* written (created or rewritten) since made or since the last open for reading */
#define CW_ACCESS_SEEDED 0x2    /* made by userspace from saved state: gen unknown, taken at the next touch */

struct cw_access_val {
	__u64 last_ns;                        /* CLOCK_REALTIME ns of the newest open for reading or write */
	__u64 recent_ns[CW_ACCESS_RECENT];    /* CLOCK_REALTIME ns of the newest opens for reading, newest first, 0 = none */
	__u32 count;                          /* opens for reading since the record was made */
	__u32 gen;                            /* i_generation of the inode it describes */
	__u32 flags;                          /* CW_ACCESS_* */
	__u32 pad;
};

/* Commits to the stats and writers maps, counted per CPU (slot = CPU id modulo
 * CW_ACTIVITY_SLOTS), each slot alone on its cache line so writers on different
 * CPUs never share one. Userspace sums them every poll and skips reading the
 * maps while the sum stands still (docs/architecture.md, "One poll"). */
#define CW_ACTIVITY_SLOTS 64 /* a power of two */
struct cw_activity {
	__u64 commits;
	__u64 pad[7];
};

struct cw_group_val {
	char name[CW_GROUP_NAME_MAX];
};

/* One writer (command name) per series: group is the stats key's group, so
 * folded groups share CW_GROUP_OTHER and the table stays bounded like the
 * series are (at most CW_MAX_WRITERS entries; past it: a drop). */
struct cw_writer_key {
	__u64 group;
	__u32 root;
	char comm[CW_COMM_LEN];
	__u32 pad;
};

struct cw_writer_val {
	__u64 bytes;
	__u64 writes;
};

/* Everything the BPF side could not record; exported, never silently lost. */
enum cw_drop {
	CW_DROP_STATS_FULL,     /* stats map full: a write or unlink was not counted */
	CW_DROP_WALK_DEPTH,     /* d_parent walk hit its bound before the fs root */
	CW_DROP_GROUPS_FULL,    /* group map full: counted under _other instead */
	CW_DROP_INFLIGHT_FULL,  /* no room to remember a call between entry and exit */
	CW_DROP_WRITERS_FULL,   /* top-writer map full: writer not ranked (bytes still counted) */
	CW_DROP_UNLINK_PATH,    /* unlink inside a root whose path could not be resolved */
	CW_DROP_RECURSION,      /* a program run the kernel skipped (bpf_prog_info.recursion_misses),
				 * e.g. fentry on PREEMPT_RT when two tasks meet on one CPU */
	CW_DROP_SCRATCH_BUSY,   /* a preempting task took the CPU's scratch mid-attribution */
	CW_DROP_ACCESS_FULL,    /* access record map full: a file's open or write has no record */
	CW_DROP_MAX,
};

/* Attach backends; the BPF object carries all three sets of programs. */
enum cw_backend {
	CW_BACKEND_AUTO,
	CW_BACKEND_FENTRY,
	CW_BACKEND_KPROBE,
	CW_BACKEND_TRACEPOINT,
};
#define CW_BACKEND_COUNT 4

/* The one spelling of each backend, indexed by enum cw_backend: what the CLI
 * and the config accept and what logs and build_info print. */
#define CW_BACKEND_NAMES { \
	[CW_BACKEND_AUTO] = "auto", \
	[CW_BACKEND_FENTRY] = "fentry", \
	[CW_BACKEND_KPROBE] = "kprobe", \
	[CW_BACKEND_TRACEPOINT] = "tracepoint", \
}
/* The same names for messages and --help. */
#define CW_BACKEND_LIST "auto, fentry, kprobe or tracepoint"

#endif
