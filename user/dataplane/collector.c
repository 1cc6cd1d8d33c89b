/* Turns the BPF maps into monotonic per-directory totals and publishes snapshots. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/clock.h"
#include "dataplane/collector.h"
#include "lib/log.h"

#define STATS_FIELDS (sizeof(struct cw_stats) / sizeof(__u64))
#define MAX_WRITERS 256 /* per cache, ranked; the rest are not tracked by name */

struct series {
	uint64_t group;
	char *dir;
	struct cw_stats last;  /* summed map value at the previous poll */
	struct cw_stats total; /* monotonic */
	double gone_since;     /* monotonic seconds; 0 while the directory exists */
};

struct writer {
	struct cw_writer_key key;
	struct cw_writer_val last, total;
};

struct cache {
	char *name, *path;
	unsigned group_depth, max_groups;
	int slot;              /* -1: not armed */
	uint64_t dev, ino;     /* of the armed root */
	char *canon;           /* realpath at arming */
	struct series *series;
	size_t nseries;
	struct writer *writers;
	size_t nwriters;
	uint64_t written;      /* monotonic bytes written, including forgotten groups */
	int missing_logged;
};

struct cw_collector {
	pthread_mutex_t lock;
	struct cw_loader *loader;
	struct cw_snapbox *box;
	uint64_t stale_ttl_ms;
	struct cache *caches;
	size_t ncaches;
	int slot_used[CW_MAX_ROOTS];
	unsigned ncpus;
	uint64_t version;
	__u64 drops_last[CW_DROP_MAX], drops_total[CW_DROP_MAX];
	double last_dir_check;
};

uint64_t cw_counter_delta(uint64_t last, uint64_t raw)
{
	return raw >= last ? raw - last : raw;
}

void cw_stats_sum(const void *vals, unsigned copies, size_t stride, struct cw_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned c = 0; c < copies; c++) {
		const __u64 *v = (const __u64 *)((const char *)vals + (size_t)c * stride);
		__u64 *o = (__u64 *)out;
		for (size_t i = 0; i < STATS_FIELDS; i++)
			o[i] += v[i];
	}
}

void cw_stats_accumulate(struct cw_stats *total, struct cw_stats *last, const struct cw_stats *raw)
{
	__u64 *t = (__u64 *)total, *l = (__u64 *)last;
	const __u64 *r = (const __u64 *)raw;

	/* A re-created entry restarts every field at once; judge by the sum of
	 * call counts so one field that did not move is not mistaken for a reset. */
	int reset = raw->writes < last->writes || raw->unlinks < last->unlinks;
	for (size_t i = 0; i < STATS_FIELDS; i++) {
		t[i] += reset ? r[i] : cw_counter_delta(l[i], r[i]);
		l[i] = r[i];
	}
}

int cw_collector_new(struct cw_loader *l, uint64_t stale_ttl_ms, struct cw_collector **out)
{
	struct cw_collector *c = calloc(1, sizeof(*c));
	int n = libbpf_num_possible_cpus();

	if (!c || n <= 0) {
		free(c);
		return -ENOMEM;
	}
	c->box = cw_snapbox_new();
	if (!c->box) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->loader = l;
	c->ncpus = (unsigned)n;
	c->stale_ttl_ms = stale_ttl_ms;
	*out = c;
	return 0;
}

static void cache_forget_series(struct cache *k)
{
	for (size_t i = 0; i < k->nseries; i++)
		free(k->series[i].dir);
	free(k->series);
	k->series = NULL;
	k->nseries = 0;
	free(k->writers);
	k->writers = NULL;
	k->nwriters = 0;
}

/* After the BPF side of a slot was reset, the next raw values start at zero. */
static void cache_reset_last(struct cache *k)
{
	for (size_t i = 0; i < k->nseries; i++)
		memset(&k->series[i].last, 0, sizeof(k->series[i].last));
	for (size_t i = 0; i < k->nwriters; i++)
		memset(&k->writers[i].last, 0, sizeof(k->writers[i].last));
}

static void disarm(struct cw_collector *c, struct cache *k)
{
	if (k->slot < 0)
		return;
	cw_loader_disarm_root(c->loader, (unsigned)k->slot, k->dev, k->ino, k->canon);
	c->slot_used[k->slot] = 0;
	k->slot = -1;
	free(k->canon);
	k->canon = NULL;
	cache_reset_last(k);
}

static void cache_free(struct cw_collector *c, struct cache *k)
{
	disarm(c, k);
	cache_forget_series(k);
	free(k->name);
	free(k->path);
}

static int alloc_slot(struct cw_collector *c)
{
	for (int i = 0; i < CW_MAX_ROOTS; i++) {
		if (!c->slot_used[i]) {
			c->slot_used[i] = 1;
			return i;
		}
	}
	return -1;
}

/* Arms the root if its directory exists; re-arms it if it moved to a new inode. */
static void check_root(struct cw_collector *c, struct cache *k)
{
	struct stat st;

	if (stat(k->path, &st) || !S_ISDIR(st.st_mode)) {
		if (k->slot >= 0) {
			cw_warn("watched root disappeared; it is re-armed when it comes back",
				"cache", k->name, "path", k->path);
			disarm(c, k);
		} else if (!k->missing_logged) {
			cw_info("watched root does not exist yet; waiting for it", "cache", k->name,
				"path", k->path);
		}
		k->missing_logged = 1;
		return;
	}
	if (k->slot >= 0 && st.st_dev == k->dev && st.st_ino == k->ino)
		return;
	int moved = k->slot >= 0;
	disarm(c, k);
	int slot = alloc_slot(c);
	char *canon = realpath(k->path, NULL);
	if (slot < 0 || !canon) {
		if (slot >= 0)
			c->slot_used[slot] = 0;
		free(canon);
		cw_error("cannot arm watched root", "cache", k->name, "path", k->path);
		return;
	}
	struct cw_root_arm arm = { .slot = (unsigned)slot, .st_dev = st.st_dev, .ino = st.st_ino,
				   .path = canon, .group_depth = k->group_depth,
				   .max_groups = k->max_groups };
	int err = cw_loader_arm_root(c->loader, &arm);
	if (err) {
		c->slot_used[slot] = 0;
		free(canon);
		cw_error("cannot arm watched root", "cache", k->name, "path", k->path, "error",
			 strerror(-err));
		return;
	}
	k->slot = slot;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->canon = canon;
	k->missing_logged = 0;
	char ino[32];
	snprintf(ino, sizeof(ino), "%llu", (unsigned long long)st.st_ino);
	cw_info(moved ? "watched root re-armed on its new inode" : "watching", "cache", k->name,
		"path", canon, "inode", ino);
}

static int same_cache(const struct cache *k, const struct cw_cache_config *cc)
{
	return !strcmp(k->name, cc->name) && !strcmp(k->path, cc->path) &&
	       k->group_depth == cc->group_depth && k->max_groups == cc->max_groups;
}

int cw_collector_apply(struct cw_collector *c, const struct cw_cache_config *cfg, size_t n,
		       char *err, size_t errlen)
{
	struct cache *next;
	int ret = 0;

	if (n > CW_MAX_ROOTS) {
		snprintf(err, errlen, "%zu caches configured, at most %d are supported", n, CW_MAX_ROOTS);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (cfg[i].group_depth > CW_MAX_GROUP_DEPTH) {
			snprintf(err, errlen, "cache %s: group_depth %u is above %d", cfg[i].name,
				 cfg[i].group_depth, CW_MAX_GROUP_DEPTH);
			return -1;
		}
	}
	next = calloc(n ? n : 1, sizeof(*next));
	if (!next) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	/* Keep unchanged caches, release the rest, then add the new ones. */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < c->ncaches; j++) {
			if (c->caches[j].name && same_cache(&c->caches[j], &cfg[i])) {
				next[i] = c->caches[j];
				c->caches[j].name = NULL;
				break;
			}
		}
	}
	for (size_t j = 0; j < c->ncaches; j++)
		if (c->caches[j].name)
			cache_free(c, &c->caches[j]);
	for (size_t i = 0; i < n; i++) {
		if (next[i].name)
			continue;
		next[i].name = strdup(cfg[i].name);
		next[i].path = strdup(cfg[i].path);
		next[i].group_depth = cfg[i].group_depth;
		next[i].max_groups = cfg[i].max_groups;
		next[i].slot = -1;
		if (!next[i].name || !next[i].path)
			ret = -1;
	}
	free(c->caches);
	c->caches = next;
	c->ncaches = n;
	for (size_t i = 0; i < n; i++)
		if (next[i].name && next[i].path)
			check_root(c, &next[i]);
	pthread_mutex_unlock(&c->lock);
	if (ret)
		snprintf(err, errlen, "out of memory");
	return ret;
}

static struct cache *cache_of_slot(struct cw_collector *c, __u32 slot)
{
	for (size_t i = 0; i < c->ncaches; i++)
		if (c->caches[i].slot == (int)slot)
			return &c->caches[i];
	return NULL;
}

static char *group_label(struct cw_collector *c, const struct cw_stats_key *key)
{
	struct cw_group_val gv;
	char buf[40];

	if (key->group == CW_GROUP_ROOT)
		return strdup(".");
	if (key->group == CW_GROUP_OTHER)
		return strdup("_other");
	if (bpf_map_lookup_elem(cw_loader_groups_fd(c->loader), key, &gv) == 0) {
		gv.name[sizeof(gv.name) - 1] = 0;
		return strdup(gv.name);
	}
	snprintf(buf, sizeof(buf), "#%016llx", (unsigned long long)key->group);
	return strdup(buf);
}

static struct series *series_get(struct cw_collector *c, struct cache *k,
				 const struct cw_stats_key *key)
{
	for (size_t i = 0; i < k->nseries; i++)
		if (k->series[i].group == key->group)
			return &k->series[i];
	struct series *s = realloc(k->series, (k->nseries + 1) * sizeof(*s));
	if (!s)
		return NULL;
	k->series = s;
	s = &k->series[k->nseries];
	memset(s, 0, sizeof(*s));
	s->group = key->group;
	s->dir = group_label(c, key);
	if (!s->dir)
		return NULL;
	k->nseries++;
	return s;
}

/* Reads a whole hash map: batch lookups where the kernel has them,
 * get_next_key otherwise. Calls fn for every key with its value, of which a
 * per-CPU map has `copies` (one per possible CPU) and a shared map one. */
typedef void (*entry_fn)(struct cw_collector *c, const void *key, const void *vals,
			 unsigned copies);

static int read_map(struct cw_collector *c, int fd, size_t ksz, size_t vsz, unsigned copies,
		    entry_fn fn)
{
	size_t stride = (vsz + 7) & ~(size_t)7;
	size_t vlen = copies > 1 ? stride * copies : vsz;
	__u32 batch = 256, count;
	char *keys = malloc(batch * ksz), *vals = malloc(batch * vlen);
	char in[64], out[64];
	void *inp = NULL;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		count = batch;
		err = bpf_map_lookup_batch(fd, inp, out, keys, vals, &count, NULL);
		if (err && errno != ENOENT)
			break;
		for (__u32 i = 0; i < count; i++)
			fn(c, keys + i * ksz, vals + i * vlen, copies);
		if (err) { /* ENOENT: that was the last batch */
			err = 0;
			goto cleanup;
		}
		memcpy(in, out, sizeof(in));
		inp = in;
	}
	if (errno != EINVAL && errno != 524 /* ENOTSUPP */ && errno != EOPNOTSUPP)
		goto cleanup;
	/* Fallback for kernels without batch ops on this map type. */
	err = 0;
	char cur[64], nxt[64];
	void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, nxt) == 0) {
		if (bpf_map_lookup_elem(fd, nxt, vals) == 0)
			fn(c, nxt, vals, copies);
		memcpy(cur, nxt, ksz);
		prev = cur;
	}
cleanup:
	free(keys);
	free(vals);
	return err;
}

static void on_stats(struct cw_collector *c, const void *key, const void *vals, unsigned copies)
{
	const struct cw_stats_key *k = key;
	struct cache *cache = cache_of_slot(c, k->root);
	struct cw_stats raw;

	if (!cache)
		return;
	struct series *s = series_get(c, cache, k);
	if (!s)
		return;
	cw_stats_sum(vals, copies, (sizeof(struct cw_stats) + 7) & ~(size_t)7, &raw);
	uint64_t before = s->total.write_bytes;
	cw_stats_accumulate(&s->total, &s->last, &raw);
	cache->written += s->total.write_bytes - before;
}

static void on_writer(struct cw_collector *c, const void *key, const void *vals, unsigned copies)
{
	const struct cw_writer_key *k = key;
	struct cache *cache = cache_of_slot(c, k->root);
	struct cw_writer_val raw = {};
	size_t stride = (sizeof(raw) + 7) & ~(size_t)7;
	struct writer *w = NULL;

	if (!cache)
		return;
	for (unsigned i = 0; i < copies; i++) {
		const struct cw_writer_val *v = (const void *)((const char *)vals + i * stride);
		raw.bytes += v->bytes;
		raw.writes += v->writes;
	}
	for (size_t i = 0; i < cache->nwriters; i++)
		if (!memcmp(cache->writers[i].key.comm, k->comm, CW_COMM_LEN))
			w = &cache->writers[i];
	if (!w) {
		if (cache->nwriters >= MAX_WRITERS)
			return;
		struct writer *nw = realloc(cache->writers, (cache->nwriters + 1) * sizeof(*nw));
		if (!nw)
			return;
		cache->writers = nw;
		w = &nw[cache->nwriters++];
		memset(w, 0, sizeof(*w));
		w->key = *k;
	}
	int reset = raw.writes < w->last.writes;
	w->total.bytes += reset ? raw.bytes : cw_counter_delta(w->last.bytes, raw.bytes);
	w->total.writes += reset ? raw.writes : cw_counter_delta(w->last.writes, raw.writes);
	w->last = raw;
}

static void read_drops(struct cw_collector *c)
{
	size_t stride = 8;
	__u64 *vals = calloc(c->ncpus, stride);

	if (!vals)
		return;
	for (__u32 d = 0; d < CW_DROP_MAX; d++) {
		if (bpf_map_lookup_elem(cw_loader_drops_fd(c->loader), &d, vals))
			continue;
		__u64 raw = 0;
		for (unsigned i = 0; i < c->ncpus; i++)
			raw += vals[i];
		if (d == CW_DROP_RECURSION)
			raw = cw_loader_recursion_misses(c->loader);
		c->drops_total[d] += cw_counter_delta(c->drops_last[d], raw);
		c->drops_last[d] = raw;
	}
	free(vals);
}

/* A group directory deleted on disk keeps its series for the stale TTL so its
 * final values are scraped, then it goes (and its BPF entries with it). */
static void check_dirs(struct cw_collector *c, double now)
{
	for (size_t i = 0; i < c->ncaches; i++) {
		struct cache *k = &c->caches[i];
		for (size_t j = 0; j < k->nseries;) {
			struct series *s = &k->series[j];
			struct stat st;
			char path[PATH_MAX * 2];
			if (s->group == CW_GROUP_ROOT || s->group == CW_GROUP_OTHER || s->dir[0] == '#') {
				j++;
				continue;
			}
			snprintf(path, sizeof(path), "%s/%s", k->path, s->dir);
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
				s->gone_since = 0;
				j++;
				continue;
			}
			if (s->gone_since == 0)
				s->gone_since = now;
			if ((now - s->gone_since) * 1000.0 < (double)c->stale_ttl_ms) {
				j++;
				continue;
			}
			if (k->slot >= 0)
				cw_loader_forget_group(c->loader, (unsigned)k->slot, s->group);
			free(s->dir);
			k->series[j] = k->series[--k->nseries];
		}
	}
}

/* By name; a real directory called "_other" sorts after the folded series, so
 * the folded one always keeps the plain label. */
static int cmp_dir(const void *a, const void *b)
{
	const struct cw_dir_snap *x = a, *y = b;
	int c = strcmp(x->dir, y->dir);

	return c ? c : (int)y->folded - (int)x->folded;
}

static int cmp_writer(const void *a, const void *b)
{
	const struct cw_writer_snap *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strncmp(x->comm, y->comm, CW_COMM_LEN);
}

static int snap_cache(const struct cache *k, struct cw_cache_snap *out, double now)
{
	out->name = strdup(k->name);
	out->path = strdup(k->path);
	out->armed = k->slot >= 0;
	out->group_depth = k->group_depth;
	out->max_groups = k->max_groups;
	out->dirs = calloc(k->nseries ? k->nseries : 1, sizeof(*out->dirs));
	if (!out->name || !out->path || !out->dirs)
		return -1;
	for (size_t j = 0; j < k->nseries; j++) {
		const struct series *s = &k->series[j];
		struct cw_dir_snap *d = &out->dirs[out->ndirs];
		d->dir = strdup(s->dir);
		if (!d->dir)
			return -1;
		out->ndirs++;
		d->write_bytes = s->total.write_bytes;
		d->writes = s->total.writes;
		d->write_errors = s->total.write_errors;
		d->unlinks = s->total.unlinks;
		d->unlinked_bytes = s->total.unlinked_bytes;
		d->lat.sum_ns = s->total.lat_sum_ns;
		memcpy(d->lat.slots, s->total.lat_slots, sizeof(d->lat.slots));
		for (unsigned b = 0; b < CW_HIST_SLOTS; b++)
			d->lat.count += d->lat.slots[b];
		d->gone = s->gone_since != 0 && now >= s->gone_since;
		d->folded = s->group == CW_GROUP_OTHER;
	}
	qsort(out->dirs, out->ndirs, sizeof(*out->dirs), cmp_dir);
	struct cw_writer_snap all[MAX_WRITERS];
	size_t n = 0;
	for (size_t j = 0; j < k->nwriters && n < MAX_WRITERS; j++, n++) {
		memcpy(all[n].comm, k->writers[j].key.comm, CW_COMM_LEN);
		all[n].comm[CW_COMM_LEN - 1] = 0;
		all[n].bytes = k->writers[j].total.bytes;
		all[n].writes = k->writers[j].total.writes;
	}
	qsort(all, n, sizeof(all[0]), cmp_writer);
	out->nwriters = n < CW_TOP_WRITERS ? n : CW_TOP_WRITERS;
	memcpy(out->writers, all, out->nwriters * sizeof(all[0]));
	return 0;
}

static struct cw_snapshot *build_snapshot(struct cw_collector *c, double now, double took)
{
	struct cw_snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->version = ++c->version;
	s->mono_seconds = now;
	s->wall_seconds = cw_clock_seconds(CLOCK_REALTIME);
	s->backend = cw_backend_name(cw_loader_backend(c->loader));
	s->poll_duration_seconds = took;
	memcpy(s->drops, c->drops_total, sizeof(s->drops));
	s->caches = calloc(c->ncaches ? c->ncaches : 1, sizeof(*s->caches));
	if (!s->caches)
		goto fail;
	for (size_t i = 0; i < c->ncaches; i++) {
		s->ncaches++;
		if (snap_cache(&c->caches[i], &s->caches[i], now))
			goto fail;
	}
	return s;
fail:
	cw_snapshot_free(s);
	return NULL;
}

int cw_collector_poll(struct cw_collector *c)
{
	double start = cw_clock_seconds(CLOCK_MONOTONIC);
	int err;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->ncaches; i++)
		check_root(c, &c->caches[i]);
	/* stats and writers are shared maps (one value per key) */
	err = read_map(c, cw_loader_stats_fd(c->loader), sizeof(struct cw_stats_key),
		       sizeof(struct cw_stats), 1, on_stats);
	err = err ?: read_map(c, cw_loader_writers_fd(c->loader), sizeof(struct cw_writer_key),
			      sizeof(struct cw_writer_val), 1, on_writer);
	read_drops(c);
	if (start - c->last_dir_check >= 1.0) {
		check_dirs(c, start);
		c->last_dir_check = start;
	}
	double took = cw_clock_seconds(CLOCK_MONOTONIC) - start;
	struct cw_snapshot *s = build_snapshot(c, start, took);
	pthread_mutex_unlock(&c->lock);
	if (!s)
		return -ENOMEM;
	cw_snapbox_publish(c->box, s);
	return err;
}

uint64_t cw_collector_written(struct cw_collector *c, const char *name)
{
	uint64_t v = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->ncaches; i++)
		if (!strcmp(c->caches[i].name, name))
			v = c->caches[i].written;
	pthread_mutex_unlock(&c->lock);
	return v;
}

struct cw_snapbox *cw_collector_box(struct cw_collector *c)
{
	return c->box;
}

void cw_collector_free(struct cw_collector *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncaches; i++)
		cache_free(c, &c->caches[i]);
	free(c->caches);
	cw_snapbox_free(c->box);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
