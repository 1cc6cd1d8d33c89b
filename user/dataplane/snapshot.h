/* Immutable, version-numbered views of all counters that readers share by reference. */
#ifndef CW_SNAPSHOT_H
#define CW_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "cachewatch.h"

struct cw_hist {
	uint64_t slots[CW_HIST_SLOTS]; /* slot i: [2^i, 2^(i+1)) ns, not cumulative */
	uint64_t count;
	uint64_t sum_ns;
};

struct cw_dir_snap {
	char *dir;           /* label value: "." the root itself, "_other" folded, else "a/b" (the
			      * BPF side cuts group paths at CW_GROUP_NAME_MAX - 1 bytes); raw
			      * bytes; owned with the dirs by the cache's block */
	uint64_t write_bytes;
	uint64_t writes;
	uint64_t write_errors;
	uint64_t unlinks;
	uint64_t unlinked_bytes;
	uint64_t read_bytes;      /* the cw_stats fields of the same names */
	uint64_t reads;
	uint64_t read_errors;
	uint64_t read_opens;
	uint64_t clone_bytes;
	uint64_t size_added;
	uint64_t size_removed;
	uint64_t alloc_added;
	uint64_t alloc_removed;
	uint64_t entries_written;
	uint64_t entries_reused;
	struct cw_hist lat;
	bool gone;           /* deleted on disk; kept until the stale TTL runs out */
	bool folded;         /* the _other series (groups past max_groups), not a directory */
	uint64_t group;      /* the BPF group key; cw_group_writer_snap.group refers to it */
};

struct cw_writer_snap {
	char comm[CW_COMM_LEN];
	uint64_t bytes;
	uint64_t writes;
};

/* A command's cumulative writes into one group (dir) of a cache. */
struct cw_group_writer_snap {
	uint64_t group;
	char comm[CW_COMM_LEN];
	uint64_t bytes;
	uint64_t writes;
};

/* A cache's size changes observed by the BPF side since it was configured,
 * every field monotonic (forgotten groups included): the gauge between scans
 * is the scan plus (added - removed) since the scan started. */
struct cw_size_totals {
	uint64_t apparent_added, apparent_removed; /* i_size bytes */
	uint64_t alloc_added, alloc_removed;       /* i_size rounded up to the fs block */
	uint64_t unknown;                          /* changes seen but not sized: rescan */
};

struct cw_cache_snap {
	char *name;
	char *path;
	bool armed;          /* root exists, passed the root checks and is in the BPF roots map */
	uint64_t dev;        /* st_dev of the armed root (valid when armed) */
	unsigned group_depth;
	unsigned max_groups;
	size_t ndirs;
	struct cw_dir_snap *dirs;      /* sorted by dir */
	struct cw_dir_block *block;    /* owns dirs and their names (NULL: not owned) */
	uint64_t written_bytes;        /* bytes written into the cache since it was configured,
					* monotonic, forgotten groups included (the purger's
					* event triggers read it) */
	struct cw_size_totals size;
	size_t nwriters;
	struct cw_writer_snap writers[CW_TOP_WRITERS]; /* by bytes, descending */
	size_t ngroup_writers;
	struct cw_group_writer_snap *group_writers;    /* sorted by (group, comm); owned */
};

struct cw_snapshot {
	uint64_t version;          /* +1 per publish */
	double mono_seconds;       /* CLOCK_MONOTONIC at publish */
	double wall_seconds;       /* CLOCK_REALTIME at publish */
	const char *backend;       /* "fentry", "kprobe", "tracepoint" */
	double poll_duration_seconds;
	uint64_t drops[CW_DROP_MAX];
	uint64_t access_records;     /* per-file access records in use (dataplane/access.h) */
	uint64_t access_records_max; /* bpf.access_records */
	uint64_t access_map_bytes;   /* kernel memory of the record map */
	uint64_t size_unresolved;  /* size changes no cache could be told of (monotonic) */
	size_t ncaches;
	struct cw_cache_snap *caches; /* in configuration order */
	int refs;                  /* managed by snapshot.c */
};

/* One allocation holding a cache's dirs and the names they point to,
 * reference-counted: consecutive snapshots of a cache that did not change
 * share it instead of copying every series again. */
struct cw_dir_block;
/* ndirs entries and names_bytes bytes of names; NULL when out of memory. */
struct cw_dir_block *cw_dir_block_new(size_t ndirs, size_t names_bytes, struct cw_dir_snap **dirs,
				      char **names);
struct cw_dir_block *cw_dir_block_get(struct cw_dir_block *b);
void cw_dir_block_put(struct cw_dir_block *b);

/* Holds the current snapshot; publishing swaps the pointer under a lock, so a
 * reader either gets the old one or the new one, never a mix. */
struct cw_snapbox;
struct cw_snapbox *cw_snapbox_new(void);
void cw_snapbox_free(struct cw_snapbox *box);
/* A reader takes a reference (NULL before the first publish) and must put it back. */
struct cw_snapshot *cw_snapbox_get(struct cw_snapbox *box);
void cw_snapshot_put(struct cw_snapshot *s);
/* Publisher side (the collector): takes ownership of s, which must have refs == 0. */
void cw_snapbox_publish(struct cw_snapbox *box, struct cw_snapshot *s);
/* Frees a snapshot nobody references (refs are managed by the box otherwise). */
void cw_snapshot_free(struct cw_snapshot *s);
const char *cw_drop_name(enum cw_drop d);

#endif
