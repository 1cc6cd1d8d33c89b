/* Counting: per-series stats and latency histograms, writers by command, drop reasons. */
#ifndef CW_COUNTERS_BPF_H
#define CW_COUNTERS_BPF_H

struct {
	/* Shared counters with atomic adds, preallocated: an insert never has to
	 * allocate, so it cannot fail under a burst of new series (non-preallocated
	 * maps did on 6.1), and memory does not grow with the CPU count the way
	 * preallocated per-CPU values would (docs/backends.md). */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_SERIES);
	__type(key, struct cw_stats_key);
	__type(value, struct cw_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_WRITERS);
	__type(key, struct cw_writer_key);
	__type(value, struct cw_writer_val);
} writers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CW_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Set by userspace when someone reads the writers map (cachewatch top, through
 * cw_collector_publish_group_writers): the agent alone never does, and the
 * command name and its hash lookup are a good part of a write's cost. */
__u32 count_writers;

/* See struct cw_activity. In .bss, so userspace reads it without a syscall;
 * aligned so that each slot is exactly one cache line. */
struct cw_activity activity[CW_ACTIVITY_SLOTS] __attribute__((aligned(64)));

static const struct cw_stats zero_stats;
static const struct cw_writer_val zero_writer;

static __always_inline void drop(enum cw_drop d)
{
	__u32 k = d;
	__u64 *v = bpf_map_lookup_elem(&drops, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

/* The entry for key, created zeroed if absent; NULL (and a drop of the given
 * reason) only when the map is full. NOEXIST makes a concurrent creator win
 * harmlessly: the second lookup finds its entry. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero,
					    enum cw_drop full)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		drop(full);
	return v;
}

/* Called after a commit's last map update, so a poll that sees the new sum
 * also finds the update (or reads again at the next poll: read_counters in
 * user/dataplane/collector.c). An atomic add: a plain one could be undone by a
 * run preempted on this CPU, taking the sum back to a value a poll already saw. The group map needs no
 * bump: userspace reads a group's name only when its stats entry appears. */
static __always_inline void activity_bump(void)
{
	__u32 cpu = bpf_get_smp_processor_id() & (CW_ACTIVITY_SLOTS - 1);

	__sync_fetch_and_add(&activity[cpu].commits, 1);
}

static __always_inline struct cw_stats *stats_get(const struct cw_stats_key *key)
{
	return lookup_or_init(&stats, key, &zero_stats, CW_DROP_STATS_FULL);
}

/* Every commit of a write calls this; it returns at once until a reader of
 * the writers map has set count_writers. */
static __always_inline void count_writer(const struct cw_stats_key *key, __s64 ret)
{
	struct cw_writer_key wk = { .group = key->group, .root = key->root };
	struct cw_writer_val *wv;

	if (!count_writers)
		return;
	bpf_get_current_comm(wk.comm, sizeof(wk.comm));
	wv = lookup_or_init(&writers, &wk, &zero_writer, CW_DROP_WRITERS_FULL);
	if (!wv)
		return;
	__sync_fetch_and_add(&wv->writes, 1);
	if (ret > 0)
		__sync_fetch_and_add(&wv->bytes, ret);
}

/* The call, its bytes or its error, in the series' counters. */
static __always_inline void add_write(struct cw_stats *st, __s64 ret)
{
	__sync_fetch_and_add(&st->writes, 1);
	if (ret < 0)
		__sync_fetch_and_add(&st->write_errors, 1);
	else
		__sync_fetch_and_add(&st->write_bytes, ret);
}

static __always_inline void commit_write(const struct cw_stats_key *key, __s64 ret, __u64 lat)
{
	struct cw_stats *st = stats_get(key);

	if (!st)
		return;
	add_write(st, ret);
	__sync_fetch_and_add(&st->lat_sum_ns, lat);
	__u32 slot = lat ? log2_u64(lat) : 0;
	if (slot >= CW_HIST_SLOTS)
		slot = CW_HIST_SLOTS - 1;
	__sync_fetch_and_add(&st->lat_slots[slot], 1);
	count_writer(key, ret);
	activity_bump();
}

/* A write whose duration is not measured (io_uring: submission and completion
 * are apart): counted like commit_write, but kept out of the latency histogram,
 * whose count is then the number of timed write calls. */
static __always_inline void commit_write_untimed(const struct cw_stats_key *key, __s64 ret)
{
	struct cw_stats *st = stats_get(key);

	if (!st)
		return;
	add_write(st, ret);
	count_writer(key, ret);
	activity_bump();
}

/* One read call on a file under the series' directory: ret is its result. */
static __always_inline void commit_read(const struct cw_stats_key *key, __s64 ret)
{
	struct cw_stats *st = stats_get(key);

	if (!st)
		return;
	__sync_fetch_and_add(&st->reads, 1);
	if (ret < 0)
		__sync_fetch_and_add(&st->read_errors, 1);
	else
		__sync_fetch_and_add(&st->read_bytes, ret);
	activity_bump();
}

/* A range shared with another file by a clone (reflink): no data was written. */
static __always_inline void commit_clone(const struct cw_stats_key *key, __s64 bytes)
{
	struct cw_stats *st;

	if (bytes <= 0)
		return;
	st = stats_get(key);
	if (!st)
		return;
	__sync_fetch_and_add(&st->clone_bytes, bytes);
	activity_bump();
}

static __always_inline void commit_unlink(const struct cw_stats_key *key, __u64 bytes)
{
	struct cw_stats *st = stats_get(key);

	if (!st)
		return;
	__sync_fetch_and_add(&st->unlinks, 1);
	__sync_fetch_and_add(&st->unlinked_bytes, bytes);
	activity_bump();
}

#endif
