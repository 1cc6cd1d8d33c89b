/* Opens, configures, loads and attaches the BPF object for one attach backend. */
#ifndef CW_LOADER_H
#define CW_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <linux/types.h>
#include "cachewatch.h"
#include "config/config.h" /* backend names */

struct cw_loader;

struct cw_loader_opts {
	enum cw_backend backend;  /* CW_BACKEND_AUTO: fentry, then kprobe, then tracepoint */
	unsigned max_walk;        /* d_parent walk bound, 1..CW_MAX_WALK (0 = CW_MAX_WALK) */
	unsigned access_records;  /* per-file access records, CW_ACCESS_RECORDS_MIN..MAX (0 = default) */
	unsigned inflight_hash;   /* 0: calls in flight in task-local storage where the programs
				   * may use it, else a hash of CW_INFLIGHT_HASH entries; N: a hash
				   * of N entries whatever the kernel (tests) */
};


/* Loads and attaches. On failure returns a negative errno and a sentence in err
 * that says why and what to try ("fentry unavailable on this kernel: ..."). */
int cw_loader_open(const struct cw_loader_opts *opts, struct cw_loader **out,
		   char *err, size_t errlen);
void cw_loader_close(struct cw_loader *l);
enum cw_backend cw_loader_backend(const struct cw_loader *l);

/* The maps and shared variables of the loaded object, for dataplane/maps.c,
 * the one module that reads and writes them. Valid while the loader lives. */
struct cw_loader_maps {
	int stats, groups, writers, drops, roots, inflight;
	int access;                   /* per-file access records (dataplane/access.c) */
	unsigned access_max;          /* its max_entries */
	__u64 *access_inserted;       /* records made by BPF */
	__u64 *access_deleted;        /* records deleted, by BPF and by access.c */
	__u64 *realtime_offset_ns;    /* CLOCK_REALTIME - CLOCK_BOOTTIME, set by access.c */
	uint64_t access_map_bytes;    /* its kernel memory (memlock in fdinfo), 0 if unknown */
	__u64 *read_slots;            /* bit per root slot: reads and opens tracked (track_reads) */
	__u64 *watch_gen;   /* bumped when the watched set changes */
	__u64 *group_count; /* groups admitted per root slot, CW_MAX_ROOTS of them */
	struct cw_activity *activity; /* CW_ACTIVITY_SLOTS commit counters */
	__u32 *count_writers; /* non-zero: the BPF side fills the writers map */
	__u64 *size_unresolved; /* size changes by a path no cache could be told (monotonic) */
};
void cw_loader_maps(const struct cw_loader *l, struct cw_loader_maps *out);

/* Where calls in flight are kept: "task" (task-local storage) or "hash". */
const char *cw_loader_inflight_store(const struct cw_loader *l);

/* Program runs the kernel skipped (recursion protection), summed over our
 * programs; monotonic while the loader lives. */
uint64_t cw_loader_recursion_misses(const struct cw_loader *l);
struct btf;
/* The running kernel's preemption model: "none", "voluntary", "full", "lazy",
 * "rt" or "unknown", from /sys/kernel/debug/sched/preempt (the model in force),
 * /sys/kernel/realtime, /boot/config-RELEASE and preempt= on the command line, else
 * the kernel's BTF (vmlinux, may be NULL): no preempt_schedule, no kernel preemption. */
const char *cw_preempt_model(const struct btf *btf);
/* Can the kernel skip fentry/fexit runs under this model (a second task entering a
 * trampoline program on one CPU)? Then auto prefers kprobe, then tracepoint. */
bool cw_fentry_may_skip(const char *model);
/* Parsers behind cw_preempt_model (NULL: not recognised). */
const char *cw_parse_sched_preempt(const char *sched_preempt);
const char *cw_parse_preempt_config(const char *config, const char *cmdline);

/* Programs of the BPF object that no backend lists (they would never load):
 * 0 when the loader's table is complete, negative errno if the object does not open. */
int cw_loader_programs_unlisted(void);

/* Pure helpers, unit tested. */
__u32 cw_kernel_dev(uint64_t st_dev);          /* userspace dev_t -> sb->s_dev */
uint64_t cw_fnv1a(const char *s, size_t len);   /* same hash as the BPF side */

#endif
