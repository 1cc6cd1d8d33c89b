/* One purge run: pass 1 measures the cache, pass 2 deletes the selected victims, each re-checked. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include "lib/clock.h"
#include "lib/log.h"
#include "purge/purge.h"
#include "purge/select.h"
#include "purge/walk.h"

#define RUN_LOG_MAX 20 /* failed deletions logged at warn per run, then debug */

const char *cw_purge_reason_name(enum cw_purge_reason r)
{
	switch (r) {
	case CW_PURGE_SIZE:
		return "size";
	case CW_PURGE_AGE:
		return "age";
	case CW_PURGE_FREE_SPACE:
		return "free_space";
	case CW_PURGE_FILES:
		return "max_files";
	default:
		return "unknown";
	}
}

struct run {
	const struct cw_purge_opts *o;
	const struct cw_purge_policy *p;
	struct cw_purge_report *rep;
	struct cw_root root;
	struct cw_selector *sel;
	int64_t now_ns;
	double next_slot;        /* rate limiter: monotonic time the next deletion may happen */
	int64_t kept_oldest;     /* oldest file pass 2 left in place */
	/* What the latest full walk of pass 2 saw, minus what went since it
	 * started: the summary reports this, not "before minus deleted", so
	 * files created or removed by others during the run are accounted. */
	uint64_t seen_files, seen_bytes, seen_apparent;
	uint64_t gone_files, gone_bytes, gone_apparent; /* names deleted, their st_blocks and st_size */
	unsigned logged;
	bool collecting;         /* the first pass 1 lists the keys with records */
	size_t seen_cap;
	bool seen_oom;
};

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static int64_t stx_ns(const struct statx_timestamp *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* What a purge knows about one file's use: its "used" time and whether
 * keep_hot holds it. Records come from the access source when the policy
 * needs them (timestamp: access, keep_hot) or the run lists them (collect_seen). */
struct usage {
	int64_t ts;
	bool hot;
	bool have_rec;  /* a record that applies to this file (see cw_access_rec_applies) */
};

static bool wants_records(const struct run *r)
{
	return r->o->access && (r->p->timestamp == CW_TS_ACCESS || r->p->keep_hot.enabled || r->o->collect_seen);
}

static struct usage usage_of(const struct run *r, const struct statx *stx)
{
	struct cw_access_rec rec;
	const struct cw_access_rec *rp = NULL;
	if (wants_records(r)) {
		uint64_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
		int64_t btime = stx->stx_mask & STATX_BTIME ? stx_ns(&stx->stx_btime) : 0;
		if (r->o->access->lookup(r->o->access->ctx, dev, stx->stx_ino, &rec) == 0 &&
		    cw_access_rec_applies(&rec, btime))
			rp = &rec;
	}
	struct usage u = {
		.ts = cw_purge_timestamp_rec(r->p->timestamp, stx_ns(&stx->stx_atime), stx_ns(&stx->stx_mtime),
					     stx_ns(&stx->stx_ctime), rp, r->now_ns),
		.hot = cw_keep_hot_match(&r->p->keep_hot, rp, r->now_ns),
		.have_rec = rp != NULL,
	};
	return u;
}

static uint64_t disk_bytes(const struct statx *stx)
{
	return stx->stx_blocks * 512;
}

static bool stopping(const struct run *r)
{
	return r->o->stop && atomic_load_explicit(r->o->stop, memory_order_relaxed);
}

/* Token bucket, burst of 10 ms worth; sleeps in short slices so a stop request
 * is noticed quickly. Returns false when stopped. */
static bool rate_wait(struct run *r)
{
	double rate = r->p->rate_limit;
	if (rate <= 0 || r->p->dry_run)
		return !stopping(r);
	double now = cw_clock_seconds(CLOCK_MONOTONIC);
	if (r->next_slot < now - 0.01)
		r->next_slot = now - 0.01;
	r->next_slot += 1.0 / rate;
	while (r->next_slot > now + 0.001) {
		if (stopping(r))
			return false;
		double d = r->next_slot - now;
		if (d > 0.05)
			d = 0.05;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(d * 1e9) };
		nanosleep(&ts, NULL);
		now = cw_clock_seconds(CLOCK_MONOTONIC);
	}
	return !stopping(r);
}

static void report(struct run *r, const char *relpath, uint64_t disk, int64_t ts,
		   enum cw_purge_reason why, enum cw_victim_status st, int err)
{
	if (!r->o->on_victim)
		return;
	struct cw_purge_victim v = { .relpath = relpath, .disk_bytes = disk, .ts_ns = ts,
				     .reason = why, .status = st, .err = err };
	r->o->on_victim(r->o->ctx, &v);
}

static void log_failure(struct run *r, const char *relpath, int err)
{
	enum cw_log_level lvl = ++r->logged <= RUN_LOG_MAX ? CW_LOG_WARN : CW_LOG_DEBUG;
	cw_log(lvl, "purge: cannot delete", "cache", r->o->name ? r->o->name : "", "path", relpath,
	       "err", strerror(err), NULL);
}

struct expect {
	uint64_t ino;
	int64_t ts;
	uint64_t disk;
};

/* The victim is deleted only if it is still the regular file the scan saw, on
 * the root's mount, not used since. unlinkat() relative to the open parent
 * removes a name, never follows one: a symlink swapped in after the re-check
 * is what gets removed, not its target. */
static int delete_victim(struct run *r, int dirfd, const char *name, const char *relpath,
			 const struct expect *x, enum cw_purge_reason why)
{
	if (!rate_wait(r))
		return CW_WALK_STOP;
	if (r->o->before_unlink)
		r->o->before_unlink(r->o->hook_ctx, dirfd, name, relpath);
	struct statx stx;
	if (cw_entry_statx(dirfd, name, &stx) != 0) {
		int err = errno;
		r->rep->errors++;
		log_failure(r, relpath, err);
		report(r, relpath, x->disk, x->ts, why, CW_VICTIM_SKIPPED, err);
		return CW_WALK_KEPT;
	}
	struct usage u = usage_of(r, &stx);
	/* read often enough since the scan: keep_hot holds it now */
	bool became_hot = u.hot && (why != CW_PURGE_AGE || r->p->keep_hot.age);
	if (!S_ISREG(stx.stx_mode) || stx.stx_ino != x->ino || !cw_root_same_mount(&r->root, dirfd, name, &stx) ||
	    u.ts != x->ts || became_hot) {
		r->rep->skipped++;
		cw_debug("purge: changed since the scan, kept", "cache", r->o->name ? r->o->name : "", "path", relpath);
		report(r, relpath, x->disk, x->ts, why, CW_VICTIM_SKIPPED, 0);
		return CW_WALK_KEPT;
	}
	if (!r->p->dry_run && unlinkat(dirfd, name, 0) != 0) {
		int err = errno;
		r->rep->errors++;
		if (err != ENOENT)
			r->rep->failed++;
		log_failure(r, relpath, err);
		report(r, relpath, x->disk, x->ts, why, err == ENOENT ? CW_VICTIM_SKIPPED : CW_VICTIM_FAILED, err);
		return CW_WALK_KEPT;
	}
	/* Only the last link frees the blocks: an inode linked elsewhere stays
	 * allocated, so its name goes but nothing is freed and the next victim
	 * is needed (stx_nlink counts the name removed here). */
	uint64_t freed = stx.stx_nlink > 1 ? 0 : disk_bytes(&stx);
	cw_selector_done(r->sel, freed);
	r->seen_files = r->seen_files ? r->seen_files - 1 : 0;
	r->seen_bytes = r->seen_bytes > disk_bytes(&stx) ? r->seen_bytes - disk_bytes(&stx) : 0;
	r->seen_apparent = r->seen_apparent > stx.stx_size ? r->seen_apparent - stx.stx_size : 0;
	r->gone_files++;
	r->gone_bytes += disk_bytes(&stx);
	r->gone_apparent += stx.stx_size;
	r->rep->files[why]++;
	r->rep->bytes[why] += freed;
	if (freed == 0 && disk_bytes(&stx))
		r->rep->links_unfreed++;
	/* the agent's dry run tells in the log; the CLI prints through on_victim */
	if (r->p->dry_run)
		cw_log(r->o->on_victim ? CW_LOG_DEBUG : CW_LOG_INFO, "purge: would delete", "cache",
		       r->o->name ? r->o->name : "", "path", relpath, "reason", cw_purge_reason_name(why), NULL);
	report(r, relpath, freed, x->ts, why, CW_VICTIM_DELETED, 0);
	return r->p->dry_run ? CW_WALK_KEPT : CW_WALK_REMOVED;
}

static void note_seen(struct run *r, const struct statx *stx)
{
	struct cw_purge_report *rep = r->rep;
	if (r->seen_oom)
		return;
	if (rep->nseen == r->seen_cap) {
		size_t cap = r->seen_cap ? r->seen_cap * 2 : 256;
		struct cw_file_key *k = realloc(rep->seen, cap * sizeof(*k));
		if (!k) {
			r->seen_oom = true;
			return;
		}
		rep->seen = k;
		r->seen_cap = cap;
	}
	rep->seen[rep->nseen++] = (struct cw_file_key){ makedev(stx->stx_dev_major, stx->stx_dev_minor), stx->stx_ino };
}

static int pass1_file(void *ctx, const struct cw_walk_entry *e)
{
	struct run *r = ctx;
	struct usage u = usage_of(r, e->stx);
	if (u.have_rec)
		r->rep->access_records++;
	/* a record that does not apply (an earlier file's inode number) is not
	 * listed: it goes at the next save */
	if (r->collecting && u.have_rec)
		note_seen(r, e->stx);
	cw_selector_add(r->sel, e->relpath, u.ts, disk_bytes(e->stx), e->stx->stx_size, e->under_protected_dir,
			u.hot);
	return CW_WALK_KEPT;
}

static int pass2_file(void *ctx, const struct cw_walk_entry *e)
{
	struct run *r = ctx;
	enum cw_purge_reason why;
	struct usage u = usage_of(r, e->stx);
	int64_t ts = u.ts;
	r->seen_files++;
	r->seen_bytes += disk_bytes(e->stx);
	r->seen_apparent += e->stx->stx_size;
	enum cw_sel_action a = cw_selector_offer(r->sel, e->relpath, ts, disk_bytes(e->stx), e->stx->stx_ino,
						 e->under_protected_dir, u.hot, &why);
	if (a != CW_SEL_DELETE) {
		if (a == CW_SEL_KEEP && ts < r->kept_oldest)
			r->kept_oldest = ts;
		return CW_WALK_KEPT;
	}
	struct expect x = { .ino = e->stx->stx_ino, .ts = ts, .disk = disk_bytes(e->stx) };
	return delete_victim(r, e->dirfd, e->name, e->relpath, &x, why);
}

/* A boundary candidate is reached again from the root, one checked directory
 * at a time, then re-checked and unlinked like any other victim. */
static int delete_by_path(struct run *r, const struct cw_sel_entry *c, enum cw_purge_reason why)
{
	int fds[CW_WALK_MAX_DEPTH];
	size_t n = 0;
	const char *base;
	if (cw_walk_open_parents(&r->root, c->relpath, fds, CW_WALK_MAX_DEPTH, &n, &base) != 0) {
		r->rep->skipped++;
		report(r, c->relpath, c->disk, c->ts_ns, why, CW_VICTIM_SKIPPED, errno);
		return CW_WALK_KEPT;
	}
	struct expect x = { .ino = c->ino, .ts = c->ts_ns, .disk = c->disk };
	int rc = delete_victim(r, n ? fds[n - 1] : r->root.fd, base, c->relpath, &x, why);
	if (rc == CW_WALK_REMOVED)
		r->rep->dirs_removed += cw_walk_prune(&r->root, c->relpath, fds, n);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	return rc;
}

static int walk(struct run *r, cw_walk_fn fn, bool remove_dirs)
{
	struct cw_walk w = { .root = &r->root, .policy = r->p, .remove_empty_dirs = remove_dirs,
			     .stop = r->o->stop, .cache = r->o->name, .fn = fn, .ctx = r };
	int rc = cw_walk_run(&w);
	r->rep->walks++;
	r->rep->errors += w.errors;
	r->rep->dirs_removed += w.dirs_removed;
	r->rep->mounts_skipped = w.mounts_skipped;
	return rc;
}

/* Pass 2 and, when the boundary bucket held more candidates than the memory
 * budget, further rounds that each take the next oldest batch. */
static int purge_passes(struct run *r)
{
	for (;;) {
		r->seen_files = r->seen_bytes = r->seen_apparent = 0;
		if (walk(r, pass2_file, !r->p->dry_run) != 0)
			return 1;
		const struct cw_sel_entry *c;
		enum cw_purge_reason why;
		while ((c = cw_selector_next(r->sel, &why))) {
			if (delete_by_path(r, c, why) == CW_WALK_STOP)
				return 1;
		}
		int64_t left = cw_selector_kept_oldest(r->sel);
		if (left < r->kept_oldest)
			r->kept_oldest = left;
		if (!cw_selector_need_round(r->sel))
			return 0;
		cw_selector_begin_round(r->sel);
	}
}

static void fill_before(struct run *r)
{
	struct cw_selector_totals t;
	cw_selector_totals(r->sel, &t);
	struct cw_purge_report *rep = r->rep;
	rep->files_before = t.files;
	rep->bytes_before = t.disk_bytes;
	rep->apparent_before = t.apparent_bytes;
	rep->oldest_ts_ns = t.oldest_ts_ns;
	rep->goal_size_bytes = t.goals.size_bytes;
	rep->goal_free_bytes = t.goals.free_bytes;
	rep->goal_files = t.goals.files;
	rep->unreachable = t.plan.unreachable;
	rep->kept_hot_files = t.kept_hot_files;
	rep->kept_hot_bytes = t.kept_hot_bytes;
}

/* "after" is what the last walk saw remain; with no second walk (nothing to
 * delete, scan only, stopped in pass 1) it is what pass 1 saw. A run
 * stopped in the middle of a walk saw only part of the tree: before minus
 * what went is the better estimate then. */
static void fill_after(struct run *r)
{
	struct cw_purge_report *rep = r->rep;
	if (rep->walks > 1 && !rep->stopped) {
		rep->files_after = r->seen_files;
		rep->bytes_after = r->seen_bytes;
		rep->apparent_after = r->seen_apparent;
	} else {
		rep->files_after = sat_sub(rep->files_before, r->gone_files);
		rep->bytes_after = sat_sub(rep->bytes_before, r->gone_bytes);
		rep->apparent_after = sat_sub(rep->apparent_before, r->gone_apparent);
	}
	if (rep->walks > 1 && !rep->stopped)
		rep->oldest_ts_ns = r->kept_oldest;
	if (rep->walks > 1 && !rep->stopped && cw_selector_goal_left(r->sel))
		rep->unreachable = true;
}

static void fs_space(const struct run *r, uint64_t *free_bytes, uint64_t *total)
{
	struct statvfs v;
	if (fstatvfs(r->root.fd, &v) != 0)
		return;
	*free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
	*total = (uint64_t)v.f_blocks * v.f_frsize;
}

/* After deletions that freed nothing (names of inodes linked elsewhere) a
 * goal can still be unmet although the plan's victims are gone: measure
 * again, plan again and go on with the next victims. Bounded, and only while
 * such deletions happen, so it always ends. */
#define RESCANS_MAX 8

static bool rescan_needed(const struct run *r, uint64_t unfreed_before, unsigned rescans)
{
	return !r->rep->stopped && rescans < RESCANS_MAX && r->rep->links_unfreed > unfreed_before &&
	       cw_selector_goal_left(r->sel);
}

/* Pass 1 into a fresh selector; false when out of memory. */
static bool scan(struct run *r, bool first)
{
	uint64_t fs_free = 0, fs_total = 0;
	cw_selector_free(r->sel);
	r->sel = cw_selector_new(r->p, r->now_ns, r->o->heap_budget);
	if (!r->sel)
		return false;
	fs_space(r, &fs_free, &fs_total);
	if (first) {
		r->rep->fs_free = fs_free;
		r->rep->fs_total = fs_total;
	}
	r->collecting = first && r->o->collect_seen;
	r->rep->stopped = walk(r, pass1_file, false) != 0;
	if (r->collecting) {
		r->rep->seen_complete = !r->rep->stopped && !r->seen_oom;
		cw_file_keys_sort(r->rep->seen, r->rep->nseen);
		r->collecting = false;
	}
	cw_selector_plan(r->sel, fs_free, fs_total);
	if (first)
		fill_before(r);
	return true;
}

static void log_summary(const struct run *r)
{
	const struct cw_purge_report *rep = r->rep;
	char files[32], bytes[32], errs[32], secs[32];
	uint64_t nfiles = 0, nbytes = 0;
	for (int i = 0; i < CW_PURGE_REASON_MAX; i++) {
		nfiles += rep->files[i];
		nbytes += rep->bytes[i];
	}
	snprintf(files, sizeof(files), "%" PRIu64, nfiles);
	snprintf(bytes, sizeof(bytes), "%" PRIu64, nbytes);
	snprintf(errs, sizeof(errs), "%" PRIu64, rep->errors);
	snprintf(secs, sizeof(secs), "%.3f", rep->scan_seconds + rep->purge_seconds);
	cw_info(rep->dry_run ? "purge finished (dry run)" : "purge finished", "cache", r->o->name ? r->o->name : "",
		"files", files, "bytes", bytes, "errors", errs, "seconds", secs);
	if (rep->unreachable)
		cw_warn("purge: limits not reached, the rest is protected, kept hot or too young", "cache",
			r->o->name ? r->o->name : "");
	if (rep->kept_hot_files) {
		char kf[32], kb[32];
		snprintf(kf, sizeof(kf), "%" PRIu64, rep->kept_hot_files);
		snprintf(kb, sizeof(kb), "%" PRIu64, rep->kept_hot_bytes);
		cw_info("purge: keep_hot kept files", "cache", r->o->name ? r->o->name : "", "files", kf, "bytes", kb);
	}
}

void cw_purge_report_free(struct cw_purge_report *rep)
{
	free(rep->seen);
	rep->seen = NULL;
	rep->nseen = 0;
	rep->seen_complete = false;
}

int cw_purge_run(const struct cw_purge_opts *o, struct cw_purge_report *rep, char *err, size_t errlen)
{
	struct run r = { .o = o, .p = o->policy, .rep = rep, .kept_oldest = INT64_MAX };
	struct timespec wall;
	int rc = -1;
	memset(rep, 0, sizeof(*rep));
	rep->dry_run = o->policy->dry_run;
	rep->oldest_ts_ns = INT64_MAX;
	clock_gettime(CLOCK_REALTIME, &wall);
	r.now_ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec;
	rep->start_time = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
	double t0 = cw_clock_seconds(CLOCK_MONOTONIC);
	int open_rc = cw_root_open(o->path, o->validated, &r.root, err, errlen);
	if (open_rc != 0)
		return open_rc;
	rep->root_id = (struct cw_root_id){ r.root.dev, (ino_t)r.root.ino };
	rep->root_changed = r.root.changed;
	if (r.root.changed)
		cw_warn("purge: the root is another directory than the one validated before; it passed every check again",
			"cache", o->name ? o->name : "", "path", o->path);
	if (!scan(&r, true)) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	rc = 0;
	rep->scan_seconds = cw_clock_seconds(CLOCK_MONOTONIC) - t0;
	struct cw_selector_totals t;
	cw_selector_totals(r.sel, &t);
	if (rep->stopped || o->scan_only || !t.work)
		goto done;
	double t1 = cw_clock_seconds(CLOCK_MONOTONIC);
	r.next_slot = t1;
	for (unsigned rescans = 0;; rescans++) {
		uint64_t unfreed = rep->links_unfreed;
		r.kept_oldest = INT64_MAX;
		rep->stopped = purge_passes(&r) != 0;
		if (!rescan_needed(&r, unfreed, rescans))
			break;
		if (!scan(&r, false)) {
			rc = -1;
			snprintf(err, errlen, "out of memory");
			goto cleanup;
		}
		cw_selector_totals(r.sel, &t);
		if (rep->stopped || !t.work)
			break;
	}
	rep->purge_seconds = cw_clock_seconds(CLOCK_MONOTONIC) - t1;
done:
	fill_after(&r);
	if (rep->walks > 1)
		log_summary(&r);
cleanup:
	cw_selector_free(r.sel);
	cw_root_close(&r.root);
	return rc;
}
