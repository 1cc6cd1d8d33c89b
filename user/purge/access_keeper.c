/* The agent's access state file: seeds the data plane at start, saves its records periodically and at a clean stop. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lib/log.h"
#include "purge/access.h"

struct save_job {
	pthread_t thread;
	atomic_bool done;
	char *path;
	uint64_t devs[CW_MAX_ROOTS];
	size_t ndevs;
	struct cw_access_seen seen;
	struct cw_access_keeper *k;
};

struct cw_access_keeper {
	struct cw_loader *loader;
	struct cw_access_source src;
	struct save_job *job;
	double last_save;          /* monotonic seconds */
	atomic_int failures;       /* consecutive failed saves: the first is a warning */
};

static int loader_lookup(void *ctx, uint64_t st_dev, uint64_t ino, struct cw_access_rec *out)
{
	return cw_access_lookup(ctx, st_dev, ino, out);
}

/* Devices of the configured caches that exist now. */
static size_t cache_devs(const struct cw_config *cfg, uint64_t *devs, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->ncaches && n < max; i++) {
		struct stat st;
		if (stat(cfg->caches[i].path, &st) != 0)
			continue;
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen = seen || devs[k] == (uint64_t)st.st_dev;
		if (!seen)
			devs[n++] = (uint64_t)st.st_dev;
	}
	return n;
}

static bool dev_wanted(const uint64_t *devs, size_t ndevs, uint64_t dev)
{
	for (size_t i = 0; i < ndevs; i++)
		if (devs[i] == dev)
			return true;
	return ndevs == 0;
}

struct collect {
	const uint64_t *devs;
	size_t ndevs;
	const struct cw_access_seen *seen;
	struct cw_access_table *t;
	size_t cap;
	size_t dropped;
	struct cw_access_table gone; /* records of files a complete scan no longer found */
	size_t gone_cap;
};

static int table_add(struct cw_access_table *t, size_t *cap, uint64_t dev, uint64_t ino,
		     const struct cw_access_rec *r)
{
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct cw_access_entry *e = realloc(t->e, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		t->e = e;
		*cap = ncap;
	}
	t->e[t->n++] = (struct cw_access_entry){ .dev = dev, .ino = ino, .r = *r };
	return 0;
}

static int collect_one(void *ctx, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r)
{
	struct collect *c = ctx;
	if (!dev_wanted(c->devs, c->ndevs, st_dev)) {
		c->dropped++;
		return 0;
	}
	if (cw_access_seen_gone(c->seen, st_dev, ino, r->last_ns)) {
		c->dropped++;
		/* pruning is an economy: without memory, the record just stays */
		if (c->gone.n < CW_ACCESS_STATE_MAX_RECORDS)
			(void)table_add(&c->gone, &c->gone_cap, st_dev, ino, r);
		return 0;
	}
	if (c->t->n >= CW_ACCESS_STATE_MAX_RECORDS)
		return 0;
	return table_add(c->t, &c->cap, st_dev, ino, r);
}

/* Deletes from the map the records of files deleted or moved out where the data plane
 * could not see it (tracepoint unlinks by path on tmpfs, xfs ...), so they do not fill
 * it. A record used again since it was read is kept: that file is in use. */
static size_t prune_gone(struct cw_loader *l, const struct cw_access_table *gone)
{
	size_t n = 0;
	for (size_t i = 0; i < gone->n; i++) {
		const struct cw_access_entry *e = &gone->e[i];
		struct cw_access_rec now;
		if (cw_access_lookup(l, e->dev, e->ino, &now) || now.last_ns != e->r.last_ns)
			continue;
		n += cw_access_forget(l, e->dev, e->ino) == 0;
	}
	return n;
}

int cw_access_collect(struct cw_loader *l, const uint64_t *devs, size_t ndevs, const struct cw_access_seen *seen,
		      struct cw_access_table *out, size_t *dropped)
{
	struct collect c = { .devs = devs, .ndevs = ndevs, .seen = seen, .t = out };
	out->e = NULL;
	out->n = 0;
	int rc = cw_access_foreach(l, collect_one, &c);
	if (rc)
		cw_access_table_free(out);
	else
		prune_gone(l, &c.gone);
	cw_access_table_free(&c.gone);
	if (dropped)
		*dropped = c.dropped;
	return rc;
}

static void save_now(struct cw_access_keeper *k, const char *path, const uint64_t *devs, size_t ndevs,
		     const struct cw_access_seen *seen)
{
	struct cw_access_table t;
	char err[512], n[32] = "0", gone[32] = "0";
	size_t dropped = 0;
	int rc = cw_access_collect(k->loader, devs, ndevs, seen, &t, &dropped);
	snprintf(gone, sizeof(gone), "%zu", dropped);
	if (rc) {
		snprintf(err, sizeof(err), "reading the access records: %s", strerror(rc < 0 ? -rc : rc));
	} else {
		rc = cw_access_state_save(path, t.e, t.n, err, sizeof(err));
		snprintf(n, sizeof(n), "%zu", t.n);
	}
	cw_access_table_free(&t);
	if (rc == 0) {
		atomic_store(&k->failures, 0);
		cw_debug("access state saved", "path", path, "records", n, "dropped", gone);
		return;
	}
	enum cw_log_level lvl = atomic_fetch_add(&k->failures, 1) == 0 ? CW_LOG_WARN : CW_LOG_DEBUG;
	cw_log(lvl, "access state not saved: purges after a restart fall back to atime/mtime for files not read since",
	       "path", path, "error", err, NULL);
}

static void *save_main(void *arg)
{
	struct save_job *j = arg;
	save_now(j->k, j->path, j->devs, j->ndevs, &j->seen);
	atomic_store(&j->done, true);
	return NULL;
}

static void job_reap(struct cw_access_keeper *k, bool wait)
{
	if (!k->job || (!wait && !atomic_load(&k->job->done)))
		return;
	pthread_join(k->job->thread, NULL);
	cw_access_seen_free(&k->job->seen);
	free(k->job->path);
	free(k->job);
	k->job = NULL;
}

static void seed(struct cw_access_keeper *k, const struct cw_config *cfg)
{
	const char *path = cw_access_state_path(cfg);
	uint64_t devs[CW_MAX_ROOTS];
	size_t ndevs = cache_devs(cfg, devs, CW_MAX_ROOTS);
	struct cw_access_table t;
	char err[512], n[32], dropped[32], failed[32];
	int rc = cw_access_state_load(path, &t, err, sizeof(err));
	if (rc == CW_STATE_MISSING) {
		cw_info("no access state to load: every file counts as not read until it is", "path", path, "reason", err);
		return;
	}
	if (rc != CW_STATE_OK) {
		cw_warn("access state refused and ignored: every file counts as not read until it is", "path", path,
			"error", err);
		return;
	}
	size_t seeded = 0, skipped = 0, errors = 0;
	for (size_t i = 0; i < t.n; i++) {
		const struct cw_access_entry *e = &t.e[i];
		if (!dev_wanted(devs, ndevs, e->dev) || ndevs == 0) {
			skipped++;
			continue;
		}
		if (cw_access_seed(k->loader, e->dev, e->ino, &e->r) == 0)
			seeded++;
		else
			errors++;
	}
	cw_access_table_free(&t);
	snprintf(n, sizeof(n), "%zu", seeded);
	snprintf(dropped, sizeof(dropped), "%zu", skipped);
	snprintf(failed, sizeof(failed), "%zu", errors);
	cw_info("access state loaded", "path", path, "records", n, "dropped_unwatched", dropped, "seed_errors", failed);
}

struct cw_access_keeper *cw_access_keeper_start(struct cw_loader *l, const struct cw_config *cfg)
{
	struct cw_access_keeper *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->loader = l;
	k->src = (struct cw_access_source){ .lookup = loader_lookup, .ctx = l };
	atomic_init(&k->failures, 0);
	seed(k, cfg);
	return k;
}

const struct cw_access_source *cw_access_keeper_source(const struct cw_access_keeper *k)
{
	return k ? &k->src : NULL;
}

bool cw_access_keeper_due(const struct cw_access_keeper *k, double now, const struct cw_config *cfg)
{
	return k && !k->job && k->last_save != 0 &&
	       now - k->last_save >= (double)cfg->access_state_interval_ms / 1000.0;
}

void cw_access_keeper_tick(struct cw_access_keeper *k, double now, const struct cw_config *cfg,
			   struct cw_access_seen *seen)
{
	if (!k) {
		cw_access_seen_free(seen);
		return;
	}
	job_reap(k, false);
	if (k->last_save == 0)
		k->last_save = now;
	if (!cw_access_keeper_due(k, now, cfg)) {
		cw_access_seen_free(seen);
		return;
	}
	k->last_save = now;
	struct save_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(cw_access_state_path(cfg)))) {
		free(j);
		cw_access_seen_free(seen);
		return;
	}
	j->k = k;
	if (seen) {
		j->seen = *seen;
		*seen = (struct cw_access_seen){ 0 };
	}
	j->ndevs = cache_devs(cfg, j->devs, CW_MAX_ROOTS);
	if (j->ndevs == 0) { /* no cache exists now: keep the file as it is */
		cw_access_seen_free(&j->seen);
		free(j->path);
		free(j);
		return;
	}
	atomic_init(&j->done, false);
	if (pthread_create(&j->thread, NULL, save_main, j) != 0) {
		cw_access_seen_free(&j->seen);
		free(j->path);
		free(j);
		return;
	}
	k->job = j;
}

void cw_access_keeper_stop(struct cw_access_keeper *k, const struct cw_config *cfg, bool final,
			   struct cw_access_seen *seen)
{
	if (k) {
		job_reap(k, true);
		uint64_t devs[CW_MAX_ROOTS];
		size_t ndevs = final ? cache_devs(cfg, devs, CW_MAX_ROOTS) : 0;
		if (ndevs)
			save_now(k, cw_access_state_path(cfg), devs, ndevs, seen);
		free(k);
	}
	cw_access_seen_free(seen);
}
