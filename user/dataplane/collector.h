/* Polls the BPF maps, keeps counters monotonic, and publishes snapshots. */
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
struct cw_snapbox *cw_collector_box(struct cw_collector *c);

/* Makes the watched set equal to caches[]: unchanged caches (same name, path,
 * group_depth, max_groups) keep their counters, removed ones vanish, new ones start
 * at zero. Roots that do not exist yet stay pending and are armed when they appear.
 * Returns 0, or -1 with a sentence in err (nothing changed then). */
int cw_collector_apply(struct cw_collector *c, const struct cw_cache_config *caches,
		       size_t n, char *err, size_t errlen);

/* One poll: re-arm moved roots, read all maps, fold into totals, publish. */
int cw_collector_poll(struct cw_collector *c);

/* Bytes written into cache i (by configuration order) since the collector started;
 * monotonic. For event-driven purges. */
uint64_t cw_collector_written(struct cw_collector *c, const char *cache_name);



/* Pure helpers, unit tested. */
struct cw_stats;
/* Growth of a counter read from a map that may have been reset (entry deleted and
 * re-created): a smaller value than last time means it restarted from zero. */
uint64_t cw_counter_delta(uint64_t last, uint64_t raw);
/* Sums the copies of struct cw_stats a lookup returns: one per CPU for a per-CPU
 * map, one for a shared map. */
void cw_stats_sum(const void *vals, unsigned copies, size_t stride, struct cw_stats *out);
/* Adds the growth from *last to *raw into *total, and remembers raw. */
void cw_stats_accumulate(struct cw_stats *total, struct cw_stats *last, const struct cw_stats *raw);
#endif
