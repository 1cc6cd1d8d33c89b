/* The agent's purge engine: decides when each cache is scanned and purged, runs that in a worker thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/statvfs.h>
#include "lib/clock.h"
#include "lib/log.h"
#include "purge/purge.h"
#include "purge/select.h"

#define DEFAULT_INTERVAL_S 300.0
#define MIN_COOLDOWN_S 1.0
#define RETRY_S 30.0
#define COOLDOWN_FACTOR 5.0 /* condition triggers keep scanning under ~1/6 of the time */
/* Early rescans for size changes the data plane saw but could not size: at
 * most this often for one cache's own, and for path changes that could be in
 * any cache (docs/backends.md, "Cache size between scans"). */
#define UNKNOWN_MIN_S 2.0
#define UNRESOLVED_MIN_S 10.0

/* One scan+purge in flight. It owns a copy of its cache's configuration so a
 * reload can replace or drop the cache while it runs. */
struct job {
	pthread_t thread;
	atomic_bool stop;
	atomic_bool done;
	struct cw_cache_config cfg;
	struct cw_root_id validated;
	bool have_validated;
	bool scan_only;
	const struct cw_access_source *access;
	int rc;
	char err[512];
	struct cw_purge_report rep;
	struct job *next; /* on the retired list */
};

struct slot {
	struct cw_cache_config cfg;
	struct cw_purge_stats stats;  /* guarded by the purger's lock */
	struct job *job;
	bool requested;               /* guarded by the lock */
	bool moved;                   /* carried over into a new slot array */
	bool have_scan;
	bool last_unreachable;
	double last_start, last_end, last_scan_seconds; /* monotonic */
	uint64_t written;             /* latest count seen by tick */
	uint64_t written_base;        /* count when the last scan started */
	uint64_t written_at_unreachable;
	/* The size gauge: the last scan's pass 1 plus what the data plane saw
	 * change since that scan started (the purge's own deletions included). */
	bool live;                    /* the data plane watches the cache: deltas apply */
	struct cw_size_totals size;   /* latest totals seen by tick */
	struct cw_size_totals size_base, job_size_base; /* at the start of the last (running) scan */
	uint64_t unresolved, unresolved_base, job_unresolved_base;
	uint64_t scan_bytes, scan_apparent; /* pass 1 of the last scan */
	int64_t oldest_ts_ns;
	struct cw_root_id root_id;    /* identity the last successful run validated */
	bool have_root_id;
	struct cw_access_seen_cache seen; /* keys with records of the last complete scan */
	bool have_seen;
	char last_err[512];
};

struct cw_purger {
	pthread_mutex_t lock;         /* slots' stats and requested flags; the arrays */
	struct slot *slots;
	size_t n;
	struct job *retired;          /* jobs of removed caches, reaped when done */
	const struct cw_access_source *access;
};

static void cfg_free(struct cw_cache_config *c)
{
	free(c->name);
	free(c->path);
	for (size_t i = 0; i < c->purge.nprotect; i++)
		free(c->purge.protect[i]);
	free(c->purge.protect);
	memset(c, 0, sizeof(*c));
}

static int cfg_copy(struct cw_cache_config *dst, const struct cw_cache_config *src)
{
	*dst = *src;
	dst->name = strdup(src->name ? src->name : "");
	dst->path = strdup(src->path ? src->path : "");
	dst->purge.protect = NULL;
	dst->purge.nprotect = 0;
	if (!dst->name || !dst->path)
		goto fail;
	if (src->purge.nprotect) {
		dst->purge.protect = calloc(src->purge.nprotect, sizeof(char *));
		if (!dst->purge.protect)
			goto fail;
		for (size_t i = 0; i < src->purge.nprotect; i++) {
			dst->purge.protect[i] = strdup(src->purge.protect[i]);
			dst->purge.nprotect++;
			if (!dst->purge.protect[i])
				goto fail;
		}
	}
	return 0;
fail:
	cfg_free(dst);
	return -1;
}

struct cw_purger *cw_purger_new(void)
{
	struct cw_purger *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

static void job_free(struct job *j)
{
	cw_purge_report_free(&j->rep);
	cfg_free(&j->cfg);
	free(j);
}

static void job_join(struct job *j)
{
	pthread_join(j->thread, NULL);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct cw_purge_opts o = { .name = j->cfg.name, .path = j->cfg.path, .policy = &j->cfg.purge,
				   .validated = j->have_validated ? &j->validated : NULL,
				   .scan_only = j->scan_only, .stop = &j->stop, .access = j->access,
				   .collect_seen = j->access != NULL };
	j->rc = cw_purge_run(&o, &j->rep, j->err, sizeof(j->err));
	atomic_store(&j->done, true);
	return NULL;
}

static void slot_limits(struct slot *s)
{
	s->stats.limits = s->cfg.purge;
	s->stats.limits.protect = NULL;
	s->stats.limits.nprotect = 0;
	s->stats.enabled = s->cfg.purge.enabled;
	s->stats.dry_run = s->cfg.purge.dry_run;
	snprintf(s->stats.name, sizeof(s->stats.name), "%s", s->cfg.name);
}

static void reap_retired(struct cw_purger *p, bool wait)
{
	struct job **pp = &p->retired;
	while (*pp) {
		struct job *j = *pp;
		if (!wait && !atomic_load(&j->done)) {
			pp = &j->next;
			continue;
		}
		job_join(j);
		*pp = j->next;
		job_free(j);
	}
}

static void retire(struct cw_purger *p, struct job *j)
{
	if (!j)
		return;
	atomic_store(&j->stop, true);
	j->next = p->retired;
	p->retired = j;
}

static struct slot *find_slot(struct slot *slots, size_t n, const struct cw_cache_config *c)
{
	for (size_t i = 0; i < n; i++)
		if (!slots[i].moved && !strcmp(slots[i].cfg.name, c->name) && !strcmp(slots[i].cfg.path, c->path))
			return &slots[i];
	return NULL;
}

int cw_purger_set_caches(struct cw_purger *p, const struct cw_cache_config *caches, size_t n)
{
	if (!p)
		return -1;
	struct slot *next = calloc(n ? n : 1, sizeof(*next));
	if (!next)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (cfg_copy(&next[i].cfg, &caches[i]) == 0)
			continue;
		while (i-- > 0)
			cfg_free(&next[i].cfg);
		free(next);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct slot *old = find_slot(p->slots, p->n, &caches[i]);
		if (old) {
			/* same cache: counters and the running job carry over */
			struct cw_cache_config c = next[i].cfg;
			next[i] = *old;
			next[i].cfg = c;
			old->job = NULL;
			old->moved = true;
		}
		slot_limits(&next[i]);
	}
	pthread_mutex_lock(&p->lock);
	struct slot *prev = p->slots;
	size_t nprev = p->n;
	p->slots = next;
	p->n = n;
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < nprev; i++) {
		retire(p, prev[i].job);
		cfg_free(&prev[i].cfg);
		if (!prev[i].moved)
			free(prev[i].seen.keys);
	}
	free(prev);
	return 0;
}

/* Folds a finished job into the cache's stats; runs in the loop thread. */
static void fold(struct cw_purger *p, struct slot *s, struct job *j, double now)
{
	const struct cw_purge_report *r = &j->rep;
	s->last_end = now;
	if (j->rc != 0) {
		enum cw_log_level lvl = strcmp(s->last_err, j->err) ? CW_LOG_WARN : CW_LOG_DEBUG;
		cw_log(lvl, "purge: cache not scanned", "cache", s->cfg.name, "error", j->err, NULL);
		snprintf(s->last_err, sizeof(s->last_err), "%s", j->err);
		pthread_mutex_lock(&p->lock);
		s->stats.errors++;
		pthread_mutex_unlock(&p->lock);
		return;
	}
	s->last_err[0] = '\0';
	s->root_id = r->root_id;
	s->have_root_id = true;
	if (r->stopped)
		return;
	s->have_scan = true;
	if (r->seen_complete) { /* take the keys over from the report */
		free(s->seen.keys);
		s->seen = (struct cw_access_seen_cache){ .dev = r->root_id.dev, .keys = j->rep.seen, .n = r->nseen,
							 .start_ns = (int64_t)(r->start_time * 1e9) };
		s->have_seen = true;
		j->rep.seen = NULL;
		j->rep.nseen = 0;
	}
	s->size_base = s->job_size_base;
	s->unresolved_base = s->job_unresolved_base;
	s->scan_bytes = r->bytes_before;
	s->scan_apparent = r->apparent_before;
	s->last_scan_seconds = r->scan_seconds;
	s->last_unreachable = r->unreachable;
	s->written_at_unreachable = s->written;
	s->oldest_ts_ns = r->oldest_ts_ns;
	bool dry = r->dry_run;
	pthread_mutex_lock(&p->lock);
	struct cw_purge_stats *st = &s->stats;
	st->scanned = true;
	st->scanned_size_bytes = dry ? r->bytes_before : r->bytes_after;
	st->apparent_bytes = dry ? r->apparent_before : r->apparent_after;
	st->files = dry ? r->files_before : r->files_after;
	st->last_scan_time = r->start_time;
	st->last_scan_duration = r->scan_seconds;
	st->errors += r->errors;
	st->kept_hot_files = r->kept_hot_files;
	st->kept_hot_bytes = r->kept_hot_bytes;
	for (int i = 0; i < CW_PURGE_REASON_MAX && !dry; i++) {
		if (!r->files[i])
			continue;
		st->purges[i]++;
		st->purged_files[i] += r->files[i];
		st->purged_bytes[i] += r->bytes[i];
	}
	if (r->walks > 1) {
		st->last_purge_time = r->start_time + r->scan_seconds + r->purge_seconds;
		st->last_purge_duration = r->purge_seconds;
	}
	pthread_mutex_unlock(&p->lock);
}

/* The last scan plus the net change since it started, never below 0. */
static uint64_t net_size(uint64_t scanned, uint64_t added, uint64_t removed, uint64_t added0,
			 uint64_t removed0)
{
	uint64_t up = added - added0, down = removed - removed0;

	if (down > scanned + up)
		return 0;
	return scanned + up - down;
}

static void size_gauges(struct slot *s, struct cw_purge_stats *st)
{
	const struct cw_size_totals *t = &s->size, *b = &s->size_base;

	if (!s->live || !s->have_scan) {
		/* nothing watched: the scan is all there is */
		st->size_bytes = st->scanned_size_bytes;
		st->apparent_size_bytes = st->apparent_bytes;
		return;
	}
	st->size_bytes = net_size(s->scan_bytes, t->alloc_added, t->alloc_removed, b->alloc_added,
				  b->alloc_removed);
	st->apparent_size_bytes = net_size(s->scan_apparent, t->apparent_added, t->apparent_removed,
					   b->apparent_added, b->apparent_removed);
	st->size_unknown = t->unknown;
}

/* Changes the data plane saw but could not size since the last scan started:
 * rescan early, rate-limited, so the size gauge converges. */
static const char *size_unknown_trigger(const struct slot *s, double now, double cooldown)
{
	if (!s->have_scan || !s->live)
		return NULL;
	if (s->size.unknown != s->size_base.unknown &&
	    now - s->last_end >= (cooldown > UNKNOWN_MIN_S ? cooldown : UNKNOWN_MIN_S))
		return "size_unknown";
	if (s->unresolved != s->unresolved_base &&
	    now - s->last_end >= (cooldown > UNRESOLVED_MIN_S ? cooldown : UNRESOLVED_MIN_S))
		return "size_unresolved";
	return NULL;
}

/* Why a scan should start now, or NULL. Periodic scans run for every cache;
 * the event-driven ones only where deleting is enabled. */
static const char *trigger(const struct slot *s, double now, const struct statvfs *vfs, bool vfs_ok)
{
	const struct cw_purge_policy *pol = &s->cfg.purge;
	double interval = pol->interval_ms ? (double)pol->interval_ms / 1000.0 : DEFAULT_INTERVAL_S;
	if (s->requested)
		return "request";
	if (s->last_start == 0)
		return "start";
	/* a root that could not be scanned (missing yet, refused) is retried sooner */
	if (s->last_err[0] && now - s->last_start >= (interval < RETRY_S ? interval : RETRY_S))
		return "retry";
	if (now - s->last_start >= interval)
		return "interval";
	/* report-only caches too: a scan is how their size gauge converges */
	if (!pol->enabled)
		return size_unknown_trigger(s, now, interval);
	double cooldown = COOLDOWN_FACTOR * s->last_scan_seconds;
	if (cooldown < MIN_COOLDOWN_S)
		cooldown = MIN_COOLDOWN_S;
	if (cooldown > interval)
		cooldown = interval;
	if (now - s->last_end < cooldown)
		return NULL;
	const char *unknown = size_unknown_trigger(s, now, cooldown);
	if (unknown)
		return unknown;
	uint64_t since = s->written - s->written_base;
	if (pol->trigger_bytes && since >= pol->trigger_bytes)
		return "trigger_bytes";
	/* nothing more can go until something new is written: wait for the interval */
	if (s->last_unreachable && s->written == s->written_at_unreachable)
		return NULL;
	/* The same goals a purge computes from its scan, here from estimates:
	 * the size gauge (the last scan plus the net change since), and free space now. */
	struct cw_purge_goals g;
	uint64_t size = s->have_scan ? s->stats.size_bytes : 0;
	uint64_t files = s->have_scan ? s->stats.files : 0;
	uint64_t fs_free = vfs_ok ? (uint64_t)vfs->f_bavail * vfs->f_frsize : 0;
	uint64_t fs_total = vfs_ok ? (uint64_t)vfs->f_blocks * vfs->f_frsize : 0;
	cw_purge_compute_goals(pol, size, files, fs_free, fs_total, &g);
	switch (cw_purge_goals_reason(&g)) {
	case CW_PURGE_SIZE:
		return "high_watermark";
	case CW_PURGE_FREE_SPACE:
		return "min_free";
	case CW_PURGE_FILES:
		return "max_files";
	default:
		break;
	}
	return NULL;
}

static void start_job(struct cw_purger *p, struct slot *s, double now, const char *why)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j || cfg_copy(&j->cfg, &s->cfg) != 0) {
		free(j);
		cw_warn("purge: out of memory, scan postponed", "cache", s->cfg.name);
		return;
	}
	j->scan_only = !s->cfg.purge.enabled;
	j->access = p->access;
	j->validated = s->root_id;
	j->have_validated = s->have_root_id;
	atomic_init(&j->stop, false);
	atomic_init(&j->done, false);
	if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
		cw_warn("purge: cannot start a worker, scan postponed", "cache", s->cfg.name);
		job_free(j);
		return;
	}
	cw_debug("purge: scan started", "cache", s->cfg.name, "trigger", why);
	s->job = j;
	s->last_start = now;
	s->written_base = s->written;
	s->job_size_base = s->size;
	s->job_unresolved_base = s->unresolved;
}

/* Free space where the root really is: resolved without symlinks like a run
 * does, so nobody can point the min_free trigger at another file system. */
static bool root_statvfs(const struct slot *s, struct statvfs *vfs)
{
	struct cw_root_ref ref;
	if (cw_root_resolve(s->cfg.path, 0, NULL, &ref, NULL, 0) != CW_ROOT_OK)
		return false;
	bool ok = fstatvfs(ref.fd, vfs) == 0;
	cw_root_ref_close(&ref);
	return ok;
}

static void tick_slot(struct cw_purger *p, struct slot *s, double now,
		      const struct cw_snapshot *snap, const struct cw_cache_snap *cs)
{
	const uint64_t *w = cs ? &cs->written_bytes : NULL;

	if (s->job && atomic_load(&s->job->done)) {
		job_join(s->job);
		fold(p, s, s->job, now);
		job_free(s->job);
		s->job = NULL;
	}
	if (w) {
		if (*w < s->written_base) /* the counter restarted: rebase */
			s->written_base = *w;
		s->written = *w;
	}
	/* a cache disarmed, or a data plane restarted, starts its deltas over */
	bool live = cs && cs->armed, rebase = false;
	if (live && s->have_scan && (!s->live || cs->size.alloc_added < s->size.alloc_added ||
				     cs->size.alloc_removed < s->size.alloc_removed)) {
		/* no base for the deltas: the scan's figures until a new scan sets one */
		s->have_scan = false;
		rebase = true;
	}
	s->live = live;
	if (cs)
		s->size = cs->size;
	if (snap)
		s->unresolved = snap->size_unresolved;
	struct statvfs vfs;
	bool vfs_ok = root_statvfs(s, &vfs);
	pthread_mutex_lock(&p->lock);
	struct cw_purge_stats *st = &s->stats;
	if (vfs_ok) {
		st->fs_avail_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		st->fs_free_bytes = (uint64_t)vfs.f_bfree * vfs.f_frsize;
		st->fs_total_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	}
	if (st->scanned) {
		size_gauges(s, st);
		st->oldest_entry_time = s->oldest_ts_ns == INT64_MAX ? 0 : (double)s->oldest_ts_ns / 1e9;
	}
	if (rebase)
		s->requested = true;
	const char *why = s->job ? NULL : trigger(s, now, &vfs, vfs_ok);
	if (why)
		s->requested = false;
	pthread_mutex_unlock(&p->lock);
	if (why)
		start_job(p, s, now, why);
}

/* The cache as the data plane's snapshot has it; NULL when it does not watch
 * that cache (yet). */
static const struct cw_cache_snap *cache_of(const struct cw_snapshot *snap,
					    const struct cw_cache_config *cfg)
{
	for (size_t i = 0; snap && i < snap->ncaches; i++)
		if (!strcmp(snap->caches[i].name, cfg->name) && !strcmp(snap->caches[i].path, cfg->path))
			return &snap->caches[i];
	return NULL;
}

void cw_purger_tick(struct cw_purger *p, double now, const struct cw_snapshot *snap)
{
	if (!p)
		return;
	reap_retired(p, false);
	for (size_t i = 0; i < p->n; i++)
		tick_slot(p, &p->slots[i], now, snap, cache_of(snap, &p->slots[i].cfg));
}

int cw_purger_seen(const struct cw_purger *p, struct cw_access_seen *out)
{
	*out = (struct cw_access_seen){ 0 };
	if (!p || !p->n)
		return 0;
	out->c = calloc(p->n, sizeof(*out->c));
	if (!out->c)
		return -1;
	out->usable = true;
	for (size_t i = 0; i < p->n; i++) {
		const struct slot *s = &p->slots[i];
		if (!s->have_seen) {
			out->usable = false; /* a cache not scanned yet may hold any record */
			continue;
		}
		struct cw_access_seen_cache *c = &out->c[out->n];
		*c = s->seen;
		c->keys = s->seen.n ? malloc(s->seen.n * sizeof(*c->keys)) : NULL;
		if (s->seen.n && !c->keys) {
			cw_access_seen_free(out);
			return -1;
		}
		if (s->seen.n)
			memcpy(c->keys, s->seen.keys, s->seen.n * sizeof(*c->keys));
		out->n++;
	}
	return 0;
}

void cw_purger_set_access(struct cw_purger *p, const struct cw_access_source *src)
{
	if (p)
		p->access = src;
}

size_t cw_purger_stats(struct cw_purger *p, struct cw_purge_stats *out, size_t max)
{
	pthread_mutex_lock(&p->lock);
	size_t n = p->n < max ? p->n : max;
	for (size_t i = 0; i < n; i++)
		out[i] = p->slots[i].stats;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int cw_purger_request(struct cw_purger *p, const char *name)
{
	int rc = -1;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->slots[i].cfg.name, name)) {
			p->slots[i].requested = true;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void cw_purger_free(struct cw_purger *p)
{
	if (!p)
		return;
	double t0 = cw_clock_seconds(CLOCK_MONOTONIC);
	for (size_t i = 0; i < p->n; i++) {
		retire(p, p->slots[i].job);
		p->slots[i].job = NULL;
	}
	for (struct job *j = p->retired; j; j = j->next)
		atomic_store(&j->stop, true);
	reap_retired(p, true);
	for (size_t i = 0; i < p->n; i++) {
		cfg_free(&p->slots[i].cfg);
		free(p->slots[i].seen.keys);
	}
	free(p->slots);
	pthread_mutex_destroy(&p->lock);
	free(p);
	char ms[32];
	snprintf(ms, sizeof(ms), "%.0f", (cw_clock_seconds(CLOCK_MONOTONIC) - t0) * 1000);
	cw_debug("purge engine stopped", "join_ms", ms);
}
