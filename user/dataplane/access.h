/* Per-file access records kept by the BPF side: lookups, a walk, seeding from saved state, and their gauges. */
#ifndef CW_ACCESS_H
#define CW_ACCESS_H

#include <stdint.h>
#include "cachewatch.h"
#include "dataplane/loader.h"

/* An access is an open of an existing regular file under a watched root for
 * reading (O_RDONLY or O_RDWR); an open that creates the file is not one.
 * Writes refresh last_ns (a file being written is in use) but are not
 * accesses: count and recent_ns move only with opens for reading. */
struct cw_access_rec {
	uint64_t last_ns;                     /* CLOCK_REALTIME ns of the newest observed access (or write) */
	uint32_t count;                       /* accesses observed since the record was made */
	uint32_t nrecent;                     /* valid entries of recent_ns */
	uint64_t recent_ns[CW_ACCESS_RECENT]; /* CLOCK_REALTIME ns of the newest accesses, newest first */
};

/* 0 with *out filled when the data plane holds a record of (st_dev, ino) as stat() reports them;
 * -ENOENT when it holds none; another -errno on failure. Safe from any thread.
 * A record is checked against the inode's generation only when BPF next sees
 * the file: a file that took over the number of a deleted one and was not
 * opened or written since may still show the old record (docs/backends.md). */
int cw_access_lookup(struct cw_loader *l, uint64_t st_dev, uint64_t ino, struct cw_access_rec *out);
/* Calls fn for every record; stops and returns fn's value when it is non-zero.
 * st_dev is in the userspace encoding (makedev), as stat() reports it. */
int cw_access_foreach(struct cw_loader *l,
		      int (*fn)(void *ctx, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r),
		      void *ctx);
/* Seeds a record (from the state file at start): merged so a newer access already recorded wins.
 * A record made here takes the inode's generation the next time BPF sees the file. */
int cw_access_seed(struct cw_loader *l, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r);
/* Deletes the record of a file (e.g. one the purge engine just deleted):
 * 0, or -ENOENT when there was none. */
int cw_access_forget(struct cw_loader *l, uint64_t st_dev, uint64_t ino);

/* The record map's state, for the gauges. */
struct cw_access_usage {
	uint64_t records;     /* in use */
	uint64_t max_records; /* bpf.access_records */
	uint64_t map_bytes;   /* kernel memory of the map (its memlock), 0 if unknown */
};
void cw_access_usage(struct cw_loader *l, struct cw_access_usage *out);

/* CLOCK_REALTIME - CLOCK_BOOTTIME in ns now: the BPF side adds it to the boot
 * clock so records hold wall-clock times. */
uint64_t cw_access_clock_offset(void);
/* Refreshes the offset the BPF side uses (after NTP steps); called every poll. */
void cw_access_clock_sync(struct cw_loader *l);

/* Pure helpers, unit tested: a BPF value to a record, and the seed merge
 * (counts add up, recent times merge newest first without repeats, the newer
 * last_ns wins). */
void cw_access_from_val(const struct cw_access_val *v, struct cw_access_rec *out);
void cw_access_merge(struct cw_access_val *into, const struct cw_access_rec *seed);

#endif
