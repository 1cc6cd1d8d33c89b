/* Purge engine: scans caches, keeps them within size/age/free-space limits, safely. */
#ifndef CW_PURGE_H
#define CW_PURGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "config/config.h"
#include "dataplane/snapshot.h"
#include "lib/root.h"
#include "purge/access.h"

enum cw_purge_reason { CW_PURGE_SIZE, CW_PURGE_AGE, CW_PURGE_FREE_SPACE, CW_PURGE_FILES, CW_PURGE_REASON_MAX };
const char *cw_purge_reason_name(enum cw_purge_reason r); /* "size", "age", "free_space", "max_files" */

/* What the metrics renderer shows per cache; a copy taken under the engine's lock. */
struct cw_purge_stats {
	char name[128];                 /* cache name */
	bool scanned;                   /* false until the first scan finished */
	bool enabled;                   /* purge configured (else report only) */
	bool dry_run;
	uint64_t size_bytes;            /* disk usage now: the last scan + the net change observed since
					 * (allocation estimated as i_size rounded up to the fs block) */
	uint64_t scanned_size_bytes;    /* disk usage (st_blocks*512) at the last scan */
	uint64_t apparent_size_bytes;   /* apparent size now (sum of st_size): last scan + net change */
	uint64_t apparent_bytes;        /* sum of st_size at the last scan */
	uint64_t size_unknown;          /* changes the data plane saw but could not size (monotonic) */
	uint64_t files;
	double oldest_entry_time;       /* unix seconds of the least recently used file at the last scan, 0 = none */
	double last_scan_time;          /* unix seconds, 0 = never */
	double last_scan_duration;
	uint64_t purges[CW_PURGE_REASON_MAX];       /* purge runs that deleted for the reason */
	uint64_t purged_files[CW_PURGE_REASON_MAX];
	uint64_t purged_bytes[CW_PURGE_REASON_MAX];
	uint64_t errors;                /* failed deletions and scan errors */
	double last_purge_time;         /* unix seconds, 0 = never */
	double last_purge_duration;
	uint64_t fs_avail_bytes;        /* f_bavail: free to unprivileged users (node_exporter's avail) */
	uint64_t fs_free_bytes;         /* f_bfree: free, the root-reserved blocks included */
	uint64_t fs_total_bytes;
	uint64_t kept_hot_files;        /* deletable files keep_hot kept out of the last scan's selection */
	uint64_t kept_hot_bytes;
	struct cw_purge_policy limits;  /* the limits in force (protect list not copied: NULL) */
};

/* ---- One purge run: scan, select, delete. Synchronous; the CLI calls it
 * directly and the agent's workers call it in their own thread. ---- */

/* Outcome of one victim, as handed to on_victim. */
enum cw_victim_status {
	CW_VICTIM_DELETED,   /* deleted (dry run: would be deleted) */
	CW_VICTIM_SKIPPED,   /* used, replaced or gone since the scan: left alone */
	CW_VICTIM_FAILED,    /* unlink failed; err says why */
};

struct cw_purge_victim {
	const char *relpath;          /* relative to the root, raw bytes: escape before printing */
	uint64_t disk_bytes;          /* freed by it: 0 when its inode has other links */
	int64_t ts_ns;                /* its "used" time */
	enum cw_purge_reason reason;
	enum cw_victim_status status;
	int err;                      /* errno for FAILED (and for SKIPPED when it vanished) */
};

struct cw_purge_opts {
	const char *name;                     /* cache name, for logs */
	const char *path;                     /* the root, absolute */
	const struct cw_root_id *validated;   /* identity an earlier run validated, or NULL */
	const struct cw_purge_policy *policy;
	bool scan_only;                       /* report only: measure, never delete */
	const atomic_bool *stop;              /* set to abort promptly; may be NULL */
	size_t heap_budget;                   /* bytes for boundary candidates; 0 = default */
	/* access records for timestamp: access and keep_hot; NULL = none (every
	 * file falls back to max(atime, mtime) and nothing is hot) */
	const struct cw_access_source *access;
	/* looks up every file's record in pass 1 and lists the keys that have
	 * one in the report (seen), so records of files gone can be dropped */
	bool collect_seen;
	void (*on_victim)(void *ctx, const struct cw_purge_victim *v);
	void *ctx;
	/* Test hook, NULL in production: called for each victim right before its
	 * final re-check and unlink, with the open parent directory, so tests can
	 * race the engine deterministically (swap the file for a symlink...). */
	void (*before_unlink)(void *ctx, int dirfd, const char *name, const char *relpath);
	void *hook_ctx;
};

struct cw_purge_report {
	double start_time;            /* unix seconds */
	double scan_seconds;          /* pass 1 */
	double purge_seconds;         /* pass 2 and later, 0 if nothing to do */
	unsigned walks;               /* tree walks done (1 scan-only, 2+ with deletions) */
	bool dry_run;
	bool stopped;                 /* aborted by the stop flag */
	bool unreachable;             /* the goals could not be met: the rest is protected or too young */
	uint64_t files_before, bytes_before, apparent_before;
	/* what the last full walk saw remain (or would remain in a dry run); before
	 * minus what went when there was no such walk or it was stopped */
	uint64_t files_after, bytes_after, apparent_after;
	int64_t oldest_ts_ns;         /* oldest remaining file; INT64_MAX when none */
	uint64_t goal_size_bytes, goal_free_bytes, goal_files; /* what the limits asked */
	uint64_t files[CW_PURGE_REASON_MAX];  /* names deleted */
	uint64_t bytes[CW_PURGE_REASON_MAX];  /* bytes freed: only the last link of an inode frees it */
	uint64_t links_unfreed;               /* deleted names whose inode kept other links */
	uint64_t errors;              /* scan errors + failed deletions (vanished ones included) */
	uint64_t failed;              /* deletions that failed and left the file there */
	uint64_t skipped;             /* victims used or replaced since the scan */
	uint64_t kept_hot_files;      /* deletable but kept by keep_hot (pass 1) */
	uint64_t kept_hot_bytes;
	uint64_t access_records;      /* files pass 1 found an access record for */
	struct cw_file_key *seen;   /* collect_seen: their keys, sorted; free with cw_purge_report_free */
	size_t nseen;
	bool seen_complete;           /* pass 1 walked the whole tree and every key fit */
	uint64_t dirs_removed;
	uint64_t mounts_skipped;      /* mount points inside the root, never entered */
	uint64_t fs_free, fs_total;   /* at the start, bytes */
	struct cw_root_id root_id;    /* the directory this run purged */
	bool root_changed;            /* not opts.validated: re-validated in full before use */
};

/* Returns 0 (deletion errors are counted in the report, never fatal); -1 when
 * the root cannot be opened, -2 when it is refused (a system or home directory,
 * a symlink, unwritable...); with a sentence in err. */
int cw_purge_run(const struct cw_purge_opts *o, struct cw_purge_report *rep, char *err, size_t errlen);
void cw_purge_report_free(struct cw_purge_report *rep);

/* ---- The agent's purge engine: triggers and one worker thread per cache. ---- */
struct cw_purger;

struct cw_purger *cw_purger_new(void);
/* Joins the workers (they stop promptly) and frees everything. */
void cw_purger_free(struct cw_purger *p);
/* Makes the set of caches equal to caches[] (copied). Caches are matched by
 * name: an unchanged one keeps its counters; a removed one's worker is told to
 * stop. Call at start and after every successful reload. */
int cw_purger_set_caches(struct cw_purger *p, const struct cw_cache_config *caches, size_t n);
/* From the poll loop, never blocks: now is CLOCK_MONOTONIC seconds; snap is
 * the data plane's latest snapshot (NULL before the first), where each cache
 * finds the bytes written into it by name and path (written_bytes). Starts a
 * scan+purge in a worker when the interval elapsed, trigger_bytes were written
 * since the last scan, the estimated size crossed the high watermark or free
 * space fell under min_free. */
void cw_purger_tick(struct cw_purger *p, double now, const struct cw_snapshot *snap);
/* The access records purges use (timestamp: access, keep_hot); NULL = none.
 * Set before the first tick; src must outlive the purger. */
void cw_purger_set_access(struct cw_purger *p, const struct cw_access_source *src);
/* Which records the caches' last complete scans saw (for dropping records of
 * files gone when the access state is saved). From the loop thread only. */
int cw_purger_seen(const struct cw_purger *p, struct cw_access_seen *out);
/* Copies up to max per-cache stats (under the engine's lock); returns how many. */
size_t cw_purger_stats(struct cw_purger *p, struct cw_purge_stats *out, size_t max);
/* Asks for a scan+purge of one cache at the next tick (e.g. an admin request). */
int cw_purger_request(struct cw_purger *p, const char *name);

#endif
