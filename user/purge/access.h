/* Per-file access records for the purge engine: where they come from, keep_hot, and the state file kept across restarts. */
#ifndef CW_PURGE_ACCESS_H
#define CW_PURGE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"
#include "dataplane/access.h"

/* Where a purge finds the access records: the agent wires it to the data
 * plane (cw_access_lookup), `cachewatch purge` to the state file. lookup
 * returns 0 with *out filled, -ENOENT when there is no record, another
 * -errno on failure (treated as no record). */
struct cw_access_source {
	int (*lookup)(void *ctx, uint64_t st_dev, uint64_t ino, struct cw_access_rec *out);
	void *ctx;
};

/* A record of an inode number older than the file's birth (btime_ns, 0 when
 * the file system does not report it) belongs to an earlier file that had the
 * same inode number: it does not describe this one. */
bool cw_access_rec_applies(const struct cw_access_rec *r, int64_t btime_ns);
/* Accesses among r's recent ones within window before now (later ones, a
 * clock stepped back, count too: keeping is the safe side). */
unsigned cw_access_recent_within(const struct cw_access_rec *r, uint64_t window_ms, int64_t now_ns);
/* The one keep_hot rule: enabled, and at least min_accesses within window. */
bool cw_keep_hot_match(const struct cw_keep_hot *k, const struct cw_access_rec *r, int64_t now_ns);

/* ---- Records of files that are gone ----
 * A scan that looks up every file's record (cw_purge_opts.collect_seen)
 * lists the keys it found a record for. A record on a cache's device that
 * is older than the start of that cache's last complete scan and that the
 * scan did not see belongs to a file deleted (or moved out) since: it is
 * dropped when the state file is written. */
struct cw_file_key {
	uint64_t dev, ino;
};
struct cw_access_seen_cache {
	uint64_t dev;            /* st_dev of the root */
	int64_t start_ns;        /* CLOCK_REALTIME start of the scan */
	struct cw_file_key *keys; /* sorted */
	size_t n;
};
struct cw_access_seen {
	struct cw_access_seen_cache *c;
	size_t n;
	bool usable;             /* every cache had a complete scan: else nothing is dropped */
};
void cw_access_seen_free(struct cw_access_seen *s);
/* Sorts keys in place (for cw_access_seen_cache.keys). */
void cw_file_keys_sort(struct cw_file_key *keys, size_t n);
/* True when the record is of a file that is gone by the rule above. */
bool cw_access_seen_gone(const struct cw_access_seen *s, uint64_t dev, uint64_t ino, uint64_t last_ns);

/* ---- The state file ----
 * Native byte order (it never leaves the node): a 32-byte header
 *   "CWACCESS", u32 version, u32 record size, u64 count, u32 crc32, u32 zero
 * then count records of 64 bytes: u64 st_dev, u64 ino, u64 last_ns, u32 count,
 * u32 nrecent, u64 recent_ns[4]. crc32 (zlib) covers the header with the crc
 * field zeroed and every record. */
#define CW_ACCESS_STATE_VERSION 1
#define CW_ACCESS_STATE_HEADER 32
#define CW_ACCESS_STATE_RECORD 64
#define CW_ACCESS_STATE_MAX_RECORDS (1u << 20) /* 64 MiB: more than any record map holds */

struct cw_access_entry {
	uint64_t dev, ino;
	struct cw_access_rec r;
};

/* Records sorted by (dev, ino), one per key. */
struct cw_access_table {
	struct cw_access_entry *e;
	size_t n;
};
void cw_access_table_free(struct cw_access_table *t);
const struct cw_access_entry *cw_access_table_find(const struct cw_access_table *t, uint64_t dev, uint64_t ino);
/* A source that answers from the table (which must outlive it). */
void cw_access_table_source(const struct cw_access_table *t, struct cw_access_source *src);

/* Decodes a file image: 0, or -1 with the reason in err (truncated, not a
 * state file, another version, too many records, checksum mismatch, a bad
 * record). Duplicate keys keep the newest access. */
int cw_access_state_parse(const void *buf, size_t len, struct cw_access_table *out, char *err, size_t errlen);
/* Encodes n entries (at most CW_ACCESS_STATE_MAX_RECORDS) into a new buffer. */
int cw_access_state_encode(const struct cw_access_entry *e, size_t n, void **buf, size_t *len);

enum { CW_STATE_OK = 0, CW_STATE_MISSING = 1, CW_STATE_REFUSED = -1 };
/* Reads the state file: only a regular file, not a symlink, owned by root or
 * by this user and not writable by group or others, in a directory with the
 * same rules. CW_STATE_MISSING when the file (or its directory) does not
 * exist; CW_STATE_REFUSED with the reason in err for anything else. Never
 * blocks (opened non-blocking) and reads at most the maximum file size. */
int cw_access_state_load(const char *path, struct cw_access_table *out, char *err, size_t errlen);
/* Writes atomically: a temporary file in the same directory, fsync, rename,
 * fsync of the directory. The directory must exist and pass the same checks.
 * 0, or -1 with the reason in err. */
int cw_access_state_save(const char *path, const struct cw_access_entry *e, size_t n, char *err, size_t errlen);

#endif

/* ---- The agent's keeper of the state file ----
 * Seeds the data plane from the file at start, writes the records back every
 * access_state.interval in a background thread, and once more at a clean stop.
 * Only records on the devices of configured caches are seeded and written:
 * the others belong to caches no longer watched (or file systems gone). */
struct cw_loader;
struct cw_access_keeper;

/* Loads and seeds (a missing, refused or corrupt file is logged and ignored:
 * never an error). NULL only when out of memory. */
struct cw_access_keeper *cw_access_keeper_start(struct cw_loader *l, const struct cw_config *cfg);
/* The source purges use: the data plane's records. */
const struct cw_access_source *cw_access_keeper_source(const struct cw_access_keeper *k);
/* From the main loop (now: CLOCK_MONOTONIC seconds), never blocks: starts a
 * background save when the interval elapsed and none is running. seen (may
 * be NULL, taken over by the keeper) says which records are of files gone. */
void cw_access_keeper_tick(struct cw_access_keeper *k, double now, const struct cw_config *cfg,
			   struct cw_access_seen *seen);
/* Joins a save in flight, writes the final state (unless final is false) and frees. */
void cw_access_keeper_stop(struct cw_access_keeper *k, const struct cw_config *cfg, bool final,
			   struct cw_access_seen *seen);
/* True when the keeper would start a save at this tick (so the caller builds seen only then). */
bool cw_access_keeper_due(const struct cw_access_keeper *k, double now, const struct cw_config *cfg);

/* Collects the records of the given devices (all when ndevs is 0) through
 * cw_access_foreach, leaving out those seen says are gone (seen may be NULL);
 * *dropped counts them. The gone ones are also deleted from the data plane's map,
 * unless used again meanwhile. */
int cw_access_collect(struct cw_loader *l, const uint64_t *devs, size_t ndevs, const struct cw_access_seen *seen,
		      struct cw_access_table *out, size_t *dropped);
