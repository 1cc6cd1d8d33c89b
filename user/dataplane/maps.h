/* Every userspace read and write of the BPF maps: counters, group names, drops, roots, slots. */
#ifndef CW_MAPS_H
#define CW_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "cachewatch.h"
#include "dataplane/loader.h"

struct cw_maps;

/* The maps of a loaded object; l must outlive the result. Returns 0 or -ENOMEM. */
int cw_maps_new(struct cw_loader *l, struct cw_maps **out);
void cw_maps_free(struct cw_maps *m);

/* ---- reads ---- */

/* Calls fn once for every entry of the stats map (one shared value per key),
 * in one pass of batch lookups (get_next_key where the kernel lacks them).
 * Returns 0 or a negative errno; entries seen before a failure were passed. */
typedef void (*cw_maps_stats_fn)(void *ctx, const struct cw_stats_key *key, const struct cw_stats *val);
int cw_maps_read_stats(struct cw_maps *m, cw_maps_stats_fn fn, void *ctx);

/* The sum of the activity counters: commits to the stats and writers maps by
 * the BPF side plus entries deleted through this module. Equal at two calls:
 * nothing was committed or deleted in between, except by a BPF run that had
 * updated a map but not yet bumped its counter at the first call (it bumps
 * right after, so the sum moves by the next call). No syscall: the counters
 * are in the object's mapped .bss. Wraps only after 2^64 commits. */
uint64_t cw_maps_activity(struct cw_maps *m);

/* From now on the BPF side fills the writers map (per group and command):
 * only readers of it (top) pay for it on every write. */
void cw_maps_count_writers(struct cw_maps *m);
/* Size changes by a path the BPF side could not attribute to a cache
 * (tracepoint backend, bpf/size_path.bpf.h); monotonic, no syscall. */
uint64_t cw_maps_size_unresolved(struct cw_maps *m);

/* The same for the top-writers map. */
typedef void (*cw_maps_writer_fn)(void *ctx, const struct cw_writer_key *key, const struct cw_writer_val *val);
int cw_maps_read_writers(struct cw_maps *m, cw_maps_writer_fn fn, void *ctx);

/* Raw drop counters (summed over CPUs: drops is a per-CPU array), reason by
 * reason; recursion misses come from the programs' info. Returns 0 or a
 * negative errno (out is then partly filled). */
int cw_maps_read_drops(struct cw_maps *m, uint64_t out[CW_DROP_MAX]);

/* The name the BPF side recorded for a group (NUL-terminated, at most
 * CW_GROUP_NAME_MAX - 1 bytes: longer paths are cut there). -ENOENT if none. */
int cw_maps_group_name(struct cw_maps *m, unsigned slot, uint64_t group, char name[CW_GROUP_NAME_MAX]);

/* ---- writes ---- */

/* A root to count under a slot. */
struct cw_root_arm {
	unsigned slot;
	uint64_t st_dev;   /* userspace encoding, as stat() returns it */
	uint64_t ino;
	unsigned group_depth;
	unsigned max_groups;
	bool track_reads;  /* opens for reading, access records and reuse of the slot's files */
};

/* Puts the root into the roots map under its slot. The slot's counters are not
 * touched: a root re-armed on a new directory continues them. */
int cw_maps_arm_root(struct cw_maps *m, const struct cw_root_arm *r);
/* Takes a root out of the roots map (nothing more is attributed to it); the
 * slot's counters stay until cw_maps_clear_slot, so they can still be read. */
int cw_maps_disarm_root(struct cw_maps *m, uint64_t st_dev, uint64_t ino);
/* Deletes every stats, groups and writers entry of the slot and zeroes its
 * group count. Returns 0, or a negative errno when some entries may remain. */
int cw_maps_clear_slot(struct cw_maps *m, unsigned slot);
/* Deletes one group of a slot, reading its counters first into *last_raw
 * (zeroed if it had none), so nothing counted before the delete is lost. */
int cw_maps_forget_group(struct cw_maps *m, unsigned slot, uint64_t group, struct cw_stats *last_raw);
/* The same for one writer of a group (*last_raw zeroed if it had no entry). */
int cw_maps_forget_writer(struct cw_maps *m, unsigned slot, uint64_t group, const char comm[CW_COMM_LEN],
			  struct cw_writer_val *last_raw);

#endif
