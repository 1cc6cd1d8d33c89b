/* Polls the BPF maps, keeps counters monotonic, (re-)arms roots and publishes snapshots. */
#ifndef CW_COLLECTOR_H
#define CW_COLLECTOR_H

#include <stdint.h>
#include <stddef.h>
#include "config/config.h"
#include "dataplane/loader.h"
#include "dataplane/snapshot.h"

struct cw_collector;

int cw_collector_new(struct cw_loader *l, uint64_t stale_ttl_ms, struct cw_collector **out);
void cw_collector_free(struct cw_collector *c);
/* Where the snapshots are published; every reader (metrics, purger, top) takes
 * them from here. */
struct cw_snapbox *cw_collector_box(struct cw_collector *c);
/* Read the writers map and publish the writers in the snapshots from now on
 * (cw_cache_snap.writers and .group_writers: top's columns). Off by default:
 * the agent has no reader for them, and reading a map with an entry per series
 * and command at every poll more than doubled an idle agent's poll CPU at
 * 16,384 series (bench/poll_cpu.sh). */
void cw_collector_publish_group_writers(struct cw_collector *c);

/* Makes the watched set equal to caches[]: unchanged caches (same name, path,
 * group_depth, max_groups) keep their counters, removed ones vanish, new ones start
 * at zero. Roots that do not exist yet stay pending and are armed when they appear.
 * Returns 0, or -1 with a sentence in err (nothing changed then). */
int cw_collector_apply(struct cw_collector *c, const struct cw_cache_config *caches,
		       size_t n, char *err, size_t errlen);

/* One poll: read the maps and fold them into the totals, then check each root
 * (re-arm a replaced one, disarm a vanished or refused one: its counters are
 * kept, never cleared), age out deleted group directories, publish a snapshot.
 * Returns 0 or a negative errno (a snapshot is published whenever one could
 * be built). */
int cw_collector_poll(struct cw_collector *c);

/* Full reads of the stats and writers maps so far. A poll skips them while no
 * BPF commit happened since the last settled read (see read_counters). */
uint64_t cw_collector_map_reads(struct cw_collector *c);

/* Pure helpers, unit tested. */
struct cw_stats;
/* Growth of a counter read from a map that may have been reset (entry deleted and
 * re-created): a smaller value than last time means it restarted from zero. */
uint64_t cw_counter_delta(uint64_t last, uint64_t raw);
/* Adds the growth from *last to *raw into *total, and remembers raw. */
void cw_stats_accumulate(struct cw_stats *total, struct cw_stats *last, const struct cw_stats *raw);
/* The group key the BPF side gives a directory: FNV-1a of its path below the
 * root, components joined by '/', cut at CW_GROUP_NAME_MAX - 1 bytes. Appends
 * component (len bytes) to name (*namelen bytes so far, buffer of
 * CW_GROUP_NAME_MAX) and returns the key of the result. */
uint64_t cw_group_key_append(char *name, size_t *namelen, const char *component, size_t len);
#endif
