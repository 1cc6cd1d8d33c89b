/* Victim selection for the purge engine: pure logic, no I/O, so it is unit-testable. */
#ifndef CW_PURGE_SELECT_H
#define CW_PURGE_SELECT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "config/config.h"
#include "dataplane/access.h"
#include "purge/purge.h"

/* Age histogram: log-linear buckets over the age in units of 2^20 ns (~1 ms),
 * 64 sub-buckets per power of two, so each bucket is at most 1/64 (1.6%) wide
 * relative to the age. 2496 buckets cover every representable age; 40 KiB. */
#define CW_PURGE_SUB_BITS 6
#define CW_PURGE_UNIT_SHIFT 20
#define CW_PURGE_BUCKETS 2496
#define CW_PURGE_HEAP_BUDGET (16u << 20) /* default bytes for boundary candidates */

/* The "used" time of a file under the configured timestamp mode. A time in the
 * future (clock skew, or someone making a file look eternally fresh) is replaced
 * by the change time, which nobody can set, clamped to now. */
int64_t cw_purge_timestamp(enum cw_timestamp mode, int64_t atime_ns, int64_t mtime_ns,
			   int64_t ctime_ns, int64_t now_ns);
/* The same with the file's access record (NULL: none, or one that does not
 * apply to it): under CW_TS_ACCESS the used time is max(last access, mtime)
 * when there is a record, max(atime, mtime) otherwise; other modes ignore it. */
int64_t cw_purge_timestamp_rec(enum cw_timestamp mode, int64_t atime_ns, int64_t mtime_ns, int64_t ctime_ns,
			       const struct cw_access_rec *rec, int64_t now_ns);

/* True when a protect glob matches the entry (cw_glob_match: base name for a
 * pattern without "/", the whole relative path otherwise, "**" included). */
bool cw_purge_name_protected(const struct cw_purge_policy *p, const char *relpath);
/* True when the entry or any directory above it (inside the root) is protected. */
bool cw_purge_path_protected(const struct cw_purge_policy *p, const char *relpath);

unsigned cw_purge_bucket(uint64_t age_ns);
/* Smallest age (ns) that falls into bucket b. */
uint64_t cw_purge_bucket_floor(unsigned b);

/* What each limit asks to delete, computed from the pass-1 totals. */
struct cw_purge_goals {
	uint64_t size_bytes; /* above high watermark: down to the low watermark */
	uint64_t free_bytes; /* free space under min_free: up to min_free */
	uint64_t files;      /* above max_files' high watermark: down to its low one */
};
void cw_purge_compute_goals(const struct cw_purge_policy *p, uint64_t disk_bytes, uint64_t files,
			    uint64_t fs_free, uint64_t fs_total, struct cw_purge_goals *g);
/* The one high-watermark predicate: the first unmet goal (size, then free
 * space, then files) or CW_PURGE_REASON_MAX when every goal is met. The
 * scheduler asks it on estimates to decide whether a purge starts; the
 * selector on the scan's totals to decide what goes, and to charge each
 * victim to a reason. */
enum cw_purge_reason cw_purge_goals_reason(const struct cw_purge_goals *g);

/* Where the cutoff falls in the histogram (oldest bucket = highest index). */
struct cw_purge_plan {
	int boundary;         /* bucket partly deleted, oldest first; -1 = no size/count goal */
	uint64_t above_bytes; /* in buckets older than the boundary: all deleted */
	uint64_t above_files;
	bool unreachable;     /* deleting every candidate is not enough */
};
void cw_purge_compute_plan(const uint64_t *hist_bytes, const uint64_t *hist_files, size_t nb,
			   uint64_t need_bytes, uint64_t need_files, struct cw_purge_plan *out);

enum cw_sel_action { CW_SEL_KEEP, CW_SEL_DELETE, CW_SEL_DEFER };

/* One boundary candidate handed back after a walk, oldest first. */
struct cw_sel_entry {
	int64_t ts_ns;
	uint64_t disk;
	uint64_t ino; /* identity seen by the scan, re-checked before unlinking */
	char *relpath;
};

/* Two-pass selection state. Pass 1: cw_selector_add() every regular file; then
 * cw_selector_plan(). Pass 2 (a second walk): cw_selector_offer() every file;
 * DELETE means delete now, DEFER means kept as a boundary candidate; after the
 * walk, cw_selector_next() hands candidates out oldest first while a goal is
 * unmet. Report each deletion (or dry-run "would delete") with cw_selector_done().
 * If cw_selector_need_round() says so, walk again (only candidates newer than the
 * last one handed out are considered then). */
struct cw_selector;

struct cw_selector *cw_selector_new(const struct cw_purge_policy *p, int64_t now_ns, size_t heap_budget);
void cw_selector_free(struct cw_selector *s);
/* hot: keep_hot matched the file (cw_keep_hot_match): it is kept by the
 * size, free-space and file-count goals, and by max_age when keep_hot.age. */
void cw_selector_add(struct cw_selector *s, const char *relpath, int64_t ts_ns, uint64_t disk,
		     uint64_t apparent, bool under_protected_dir, bool hot);
void cw_selector_plan(struct cw_selector *s, uint64_t fs_free, uint64_t fs_total);
enum cw_sel_action cw_selector_offer(struct cw_selector *s, const char *relpath, int64_t ts_ns,
				     uint64_t disk, uint64_t ino, bool under_protected_dir, bool hot,
				     enum cw_purge_reason *reason);
const struct cw_sel_entry *cw_selector_next(struct cw_selector *s, enum cw_purge_reason *reason);
void cw_selector_done(struct cw_selector *s, uint64_t disk);
bool cw_selector_need_round(struct cw_selector *s);
/* Oldest timestamp among this round's candidates that were not handed out
 * (INT64_MAX if none), for the "oldest entry" metric after a purge. */
int64_t cw_selector_kept_oldest(const struct cw_selector *s);
void cw_selector_begin_round(struct cw_selector *s);

/* Pass-1 results. */
struct cw_selector_totals {
	uint64_t files, disk_bytes, apparent_bytes;
	int64_t oldest_ts_ns;  /* INT64_MAX when empty */
	uint64_t aged_files, aged_bytes; /* older than max_age and deletable */
	uint64_t kept_hot_files, kept_hot_bytes; /* deletable but for keep_hot */
	struct cw_purge_goals goals;
	struct cw_purge_plan plan;
	bool work;             /* pass 2 is needed */
	bool overflowed;       /* a round dropped candidates to stay in budget */
};
void cw_selector_totals(const struct cw_selector *s, struct cw_selector_totals *out);
/* True while some goal (size, free space, files) is still unmet. */
bool cw_selector_goal_left(const struct cw_selector *s);

/* The whole selection over an in-memory list, for tests and reasoning: files
 * "deleted" are removed from later rounds. Writes the indexes of the victims in
 * deletion order and their reasons; returns how many. */
struct cw_purge_item {
	const char *relpath;
	int64_t ts_ns;
	uint64_t disk;
};
size_t cw_purge_select_items(const struct cw_purge_policy *p, int64_t now_ns, uint64_t fs_free,
			     uint64_t fs_total, const struct cw_purge_item *items, size_t n,
			     size_t heap_budget, size_t *victims, enum cw_purge_reason *reasons);
/* The same where hot[i] says keep_hot matched items[i] (hot may be NULL). */
size_t cw_purge_select_items_hot(const struct cw_purge_policy *p, int64_t now_ns, uint64_t fs_free,
				 uint64_t fs_total, const struct cw_purge_item *items, const bool *hot, size_t n,
				 size_t heap_budget, size_t *victims, enum cw_purge_reason *reasons);

#endif
