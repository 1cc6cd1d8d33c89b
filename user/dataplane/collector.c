/* Turns the BPF maps into monotonic per-directory totals, keeps roots armed, and publishes snapshots. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/root.h"
#include "dataplane/access.h"
#include "dataplane/collector.h"
#include "dataplane/maps.h"

#define STATS_FIELDS (sizeof(struct cw_stats) / sizeof(__u64))
#define MAX_WRITERS 256 /* per cache, ranked; the rest are not tracked by name */
#define MAX_GROUP_WRITERS CW_MAX_WRITERS /* (group, command) records per cache: the map's bound */
/* Deleted group directories are looked for every stale_ttl/8, within these
 * bounds: often enough that the TTL holds to within an eighth, rarely enough
 * that an idle agent with 16k groups does not spend its time listing them. */
#define DIR_CHECK_MIN_S 1.0
#define DIR_CHECK_MAX_S 15.0

/* ---- an index from a 64-bit key to a position, open addressing ---- */

#define NONE UINT32_MAX

struct index_slot {
	uint64_t key;
	uint32_t pos; /* NONE: empty */
};

struct index {
	struct index_slot *slots; /* key and position side by side: one cache line per probe */
	size_t cap;               /* a power of two, or 0 */
	size_t n;
};

static size_t index_home(const struct index *ix, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & (ix->cap - 1);
}

static uint32_t index_find(const struct index *ix, uint64_t key)
{
	if (!ix->cap)
		return NONE;
	for (size_t i = index_home(ix, key);; i = (i + 1) & (ix->cap - 1)) {
		if (ix->slots[i].pos == NONE)
			return NONE;
		if (ix->slots[i].key == key)
			return ix->slots[i].pos;
	}
}

static void index_insert(struct index *ix, uint64_t key, uint32_t pos)
{
	size_t i = index_home(ix, key);

	while (ix->slots[i].pos != NONE)
		i = (i + 1) & (ix->cap - 1);
	ix->slots[i] = (struct index_slot){ key, pos };
	ix->n++;
}

static void index_clear(struct index *ix)
{
	for (size_t i = 0; i < ix->cap; i++)
		ix->slots[i].pos = NONE;
	ix->n = 0;
}

/* At most half full, so probes stay short. */
static int index_put(struct index *ix, uint64_t key, uint32_t pos)
{
	if ((ix->n + 1) * 2 > ix->cap) {
		struct index big = { .cap = ix->cap ? ix->cap * 2 : 64 };
		big.slots = malloc(big.cap * sizeof(*big.slots));
		if (!big.slots)
			return -ENOMEM;
		index_clear(&big);
		for (size_t i = 0; i < ix->cap; i++)
			if (ix->slots[i].pos != NONE)
				index_insert(&big, ix->slots[i].key, ix->slots[i].pos);
		free(ix->slots);
		*ix = big;
	}
	index_insert(ix, key, pos);
	return 0;
}

static void index_free(struct index *ix)
{
	free(ix->slots);
	*ix = (struct index){ 0 };
}

/* ---- state ---- */

struct series {
	uint64_t group;
	char *dir;
	size_t dirlen;
	struct cw_stats last;  /* map value at the previous poll */
	struct cw_stats total; /* monotonic */
	double gone_since;     /* monotonic seconds; 0 while the directory exists */
	bool seen;             /* found by the directory check under way */
};

struct writer {
	char comm[CW_COMM_LEN];
	uint64_t group;        /* 0 in the per-command set */
	struct cw_writer_val last, total;
};

/* Writers found by (command, group), in a growing array. */
struct writer_set {
	struct writer *w;
	size_t n, cap;
	struct index ix;
};

struct cache {
	char *name, *path;
	unsigned group_depth, max_groups;
	bool track_reads;
	int slot;              /* -1: none yet; kept from the first arming until removal */
	bool armed;            /* its root is in the roots map */
	uint64_t dev, ino;     /* of the armed root */
	char *canon;           /* the armed root's path as the kernel names it */
	struct series *series;
	size_t nseries, cap;
	struct index by_group;
	uint32_t *order;       /* series positions sorted by label, rebuilt when dirty */
	bool order_dirty;
	size_t names_bytes;    /* sum of dirlen + 1 */
	struct cw_dir_block *block; /* the series as last published; shared while not dirty */
	struct cw_dir_snap *block_dirs;
	size_t block_ndirs;
	bool dirty;            /* a series changed since block was built */
	struct writer_set writers;    /* per command, all groups: the cache's top writers */
	struct writer_set gwriters; /* per (group, command), as the BPF map counts them */
	uint64_t written;      /* monotonic bytes written, forgotten groups included */
	struct cw_size_totals size; /* monotonic, forgotten groups included */
	char note[512];        /* the root state last logged, so each is logged once */
};

struct cw_collector {
	pthread_mutex_t lock;
	struct cw_loader *loader;
	struct cw_maps *maps;
	struct cw_snapbox *box;
	uint64_t stale_ttl_ms;
	double dir_check_period;
	struct cache *caches;
	size_t ncaches;
	struct cache *by_slot[CW_MAX_ROOTS];
	uint64_t version;
	uint64_t drops_last[CW_DROP_MAX], drops_total[CW_DROP_MAX];
	double last_dir_check;
	uint64_t activity;     /* cw_maps_activity at the previous poll */
	bool settled;          /* the last full read began with activity unchanged */
	uint64_t map_reads;    /* full reads of the stats and writers maps */
	bool missed;           /* an entry of the read under way found no memory */
	bool group_writers;    /* publish them (cw_collector_publish_group_writers) */
};

/* ---- pure helpers ---- */

uint64_t cw_counter_delta(uint64_t last, uint64_t raw)
{
	return raw >= last ? raw - last : raw;
}

void cw_stats_accumulate(struct cw_stats *total, struct cw_stats *last, const struct cw_stats *raw)
{
	__u64 *t = (__u64 *)total, *l = (__u64 *)last;
	const __u64 *r = (const __u64 *)raw;

	/* A re-created entry restarts every field at once; judge by the sum of
	 * call counts so one field that did not move is not mistaken for a reset. */
	int reset = raw->writes < last->writes || raw->unlinks < last->unlinks ||
		    raw->read_opens < last->read_opens;
	for (size_t i = 0; i < STATS_FIELDS; i++) {
		t[i] += reset ? r[i] : cw_counter_delta(l[i], r[i]);
		l[i] = r[i];
	}
}

uint64_t cw_group_key_append(char *name, size_t *namelen, const char *component, size_t len)
{
	size_t n = *namelen;

	if (n && n < CW_GROUP_NAME_MAX - 1)
		name[n++] = '/';
	for (size_t i = 0; i < len && n < CW_GROUP_NAME_MAX - 1; i++)
		name[n++] = component[i];
	*namelen = n;
	return cw_fnv1a(name, n);
}

/* ---- lifecycle ---- */

int cw_collector_new(struct cw_loader *l, uint64_t stale_ttl_ms, struct cw_collector **out)
{
	struct cw_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->box = cw_snapbox_new();
	if (!c->box || cw_maps_new(l, &c->maps)) {
		cw_snapbox_free(c->box);
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->loader = l;
	c->stale_ttl_ms = stale_ttl_ms;
	c->dir_check_period = (double)stale_ttl_ms / 8000.0;
	if (c->dir_check_period < DIR_CHECK_MIN_S)
		c->dir_check_period = DIR_CHECK_MIN_S;
	if (c->dir_check_period > DIR_CHECK_MAX_S)
		c->dir_check_period = DIR_CHECK_MAX_S;
	*out = c;
	return 0;
}

/* Logs a root's state when it differs from the last one logged for it. */
static void root_note(struct cache *k, const char *state, enum cw_log_level level, const char *msg,
		      const char *reason)
{
	char key[sizeof(k->note)];

	snprintf(key, sizeof(key), "%s: %s", state, reason ? reason : "");
	if (!strcmp(k->note, key))
		return;
	snprintf(k->note, sizeof(k->note), "%s", key);
	if (reason)
		cw_log(level, msg, "cache", k->name, "path", k->path, "reason", reason, NULL);
	else
		cw_log(level, msg, "cache", k->name, "path", k->path, NULL);
}

/* Nothing more is attributed to the root; its slot and counters stay. */
static void disarm(struct cw_collector *c, struct cache *k)
{
	if (!k->armed)
		return;
	int err = cw_maps_disarm_root(c->maps, k->dev, k->ino);
	if (err)
		cw_error("cannot take a root out of the BPF roots map", "cache", k->name, "path", k->canon,
			 "error", strerror(-err));
	k->armed = false;
	free(k->canon);
	k->canon = NULL;
}

/* A slot for a cache, emptied of whatever its previous owner left. */
static int take_slot(struct cw_collector *c, struct cache *k)
{
	for (int i = 0; i < CW_MAX_ROOTS; i++) {
		if (c->by_slot[i])
			continue;
		int err = cw_maps_clear_slot(c->maps, (unsigned)i);
		if (err)
			return err;
		c->by_slot[i] = k;
		k->slot = i;
		return 0;
	}
	return -ENOSPC;
}

static void release_slot(struct cw_collector *c, struct cache *k)
{
	disarm(c, k);
	if (k->slot < 0)
		return;
	/* the stats map is shared by all roots: give the series back now */
	int err = cw_maps_clear_slot(c->maps, (unsigned)k->slot);
	if (err)
		cw_error("cannot clear the BPF entries of a removed cache; they are cleared when its slot is reused",
			 "cache", k->name, "error", strerror(-err));
	c->by_slot[k->slot] = NULL;
	k->slot = -1;
}

static void writer_set_free(struct writer_set *ws)
{
	free(ws->w);
	index_free(&ws->ix);
}

static void cache_free(struct cw_collector *c, struct cache *k)
{
	release_slot(c, k);
	for (size_t i = 0; i < k->nseries; i++)
		free(k->series[i].dir);
	free(k->series);
	index_free(&k->by_group);
	free(k->order);
	cw_dir_block_put(k->block);
	writer_set_free(&k->writers);
	writer_set_free(&k->gwriters);
	free(k->name);
	free(k->path);
}

/* The path the kernel has for an open directory, as the tracepoint backend's
 * unlink paths are matched against it; the configured one without /proc. */
static char *fd_path(int fd, const char *fallback)
{
	char link[64], buf[4096];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0 || n >= (ssize_t)sizeof(buf) - 1 || buf[0] != '/')
		return strdup(fallback);
	buf[n] = 0;
	return strdup(buf);
}

static void arm(struct cw_collector *c, struct cache *k, const struct cw_root_ref *ref)
{
	bool moved = k->armed;
	int err = k->slot < 0 ? take_slot(c, k) : 0;

	if (err) {
		root_note(k, "slot", CW_LOG_ERROR, "cannot arm watched root: no BPF slot could be emptied for it",
			  strerror(-err));
		return;
	}
	char *canon = fd_path(ref->fd, k->path);
	if (!canon) {
		root_note(k, "memory", CW_LOG_ERROR, "cannot arm watched root", strerror(ENOMEM));
		return;
	}
	disarm(c, k);
	struct cw_root_arm a = { .slot = (unsigned)k->slot, .st_dev = ref->id.dev, .ino = ref->id.ino,
				 .group_depth = k->group_depth,
				 .max_groups = k->max_groups, .track_reads = k->track_reads };
	err = cw_maps_arm_root(c->maps, &a);
	if (err) {
		free(canon);
		root_note(k, "map", CW_LOG_ERROR, "cannot arm watched root", strerror(-err));
		return;
	}
	k->armed = true;
	k->dev = ref->id.dev;
	k->ino = ref->id.ino;
	k->canon = canon;
	k->note[0] = 0;
	char ino[32];
	snprintf(ino, sizeof(ino), "%llu", (unsigned long long)ref->id.ino);
	cw_info(moved ? "watched root re-armed on its new inode" : "watching", "cache", k->name,
		"path", canon, "inode", ino);
}

/* Arms the root if its directory can be resolved under the root rules (lib/root:
 * no symlink in any component, ancestors nobody else can rename), re-arms it on
 * a new directory at its path, disarms it when the path leads nowhere valid.
 * The slot's counters are never cleared here, so nothing counted is lost. */
static void check_root(struct cw_collector *c, struct cache *k)
{
	struct cw_root_id armed_id = { (dev_t)k->dev, (ino_t)k->ino };
	struct cw_root_ref ref;
	struct stat st;
	char why[512];

	/* fast path at every poll: the validated directory is still at its path */
	if (k->armed && stat(k->path, &st) == 0 && st.st_dev == k->dev && st.st_ino == k->ino)
		return;
	int rc = cw_root_resolve(k->path, CW_ROOT_TRUSTED_ANCESTORS, k->armed ? &armed_id : NULL, &ref,
				 why, sizeof(why));
	if (rc != CW_ROOT_OK) {
		bool absent = rc == CW_ROOT_MISSING && errno == ENOENT;
		bool was = k->armed;
		disarm(c, k);
		if (absent)
			root_note(k, "absent", was ? CW_LOG_WARN : CW_LOG_INFO,
				  was ? "watched root disappeared; it is re-armed when it comes back"
				      : "watched root does not exist yet; waiting for it",
				  NULL);
		else
			root_note(k, "refused", CW_LOG_WARN,
				  "watched root not counted: it fails the root checks; retried at every poll", why);
		return;
	}
	if (!k->armed || ref.changed)
		arm(c, k, &ref);
	cw_root_ref_close(&ref);
}

static int same_cache(const struct cache *k, const struct cw_cache_config *cc)
{
	return !strcmp(k->name, cc->name) && !strcmp(k->path, cc->path) &&
	       k->group_depth == cc->group_depth && k->max_groups == cc->max_groups &&
	       k->track_reads == cc->track_reads;
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
		next[i].track_reads = cfg[i].track_reads;
		next[i].slot = -1;
		if (!next[i].name || !next[i].path)
			ret = -1;
	}
	free(c->caches);
	c->caches = next;
	c->ncaches = n;
	for (size_t i = 0; i < n; i++)
		if (next[i].slot >= 0)
			c->by_slot[next[i].slot] = &next[i];
	for (size_t i = 0; i < n; i++)
		if (next[i].name && next[i].path)
			check_root(c, &next[i]);
	pthread_mutex_unlock(&c->lock);
	if (ret)
		snprintf(err, errlen, "out of memory");
	return ret;
}

/* ---- reading the maps ---- */

static void group_label(struct cw_collector *c, const struct cache *k, uint64_t group,
			char label[CW_GROUP_NAME_MAX])
{
	if (group == CW_GROUP_ROOT)
		snprintf(label, CW_GROUP_NAME_MAX, ".");
	else if (group == CW_GROUP_OTHER)
		snprintf(label, CW_GROUP_NAME_MAX, "_other");
	else if (cw_maps_group_name(c->maps, (unsigned)k->slot, group, label))
		snprintf(label, CW_GROUP_NAME_MAX, "#%016llx", (unsigned long long)group);
}

static struct series *series_get(struct cw_collector *c, struct cache *k, uint64_t group)
{
	uint32_t i = index_find(&k->by_group, group);
	char label[CW_GROUP_NAME_MAX];

	if (i != NONE)
		return &k->series[i];
	if (k->nseries == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		struct series *s = realloc(k->series, cap * sizeof(*s));
		if (!s)
			return NULL;
		k->series = s;
		k->cap = cap;
	}
	group_label(c, k, group, label);
	struct series *s = &k->series[k->nseries];
	memset(s, 0, sizeof(*s));
	s->group = group;
	s->dirlen = strlen(label);
	s->dir = strdup(label);
	if (!s->dir || index_put(&k->by_group, group, (uint32_t)k->nseries)) {
		free(s->dir);
		return NULL;
	}
	k->nseries++;
	k->names_bytes += s->dirlen + 1;
	k->order_dirty = true;
	k->dirty = true;
	return s;
}

static void account(struct cache *k, struct series *s, const struct cw_stats *raw)
{
	uint64_t before = s->total.write_bytes;

	if (!memcmp(raw, &s->last, sizeof(*raw))) /* the usual case on an idle node */
		return;
	k->dirty = true;

	struct cw_stats prev = s->total;
	cw_stats_accumulate(&s->total, &s->last, raw);
	k->written += s->total.write_bytes - before;
	k->size.apparent_added += s->total.size_added - prev.size_added;
	k->size.apparent_removed += s->total.size_removed - prev.size_removed;
	k->size.alloc_added += s->total.alloc_added - prev.alloc_added;
	k->size.alloc_removed += s->total.alloc_removed - prev.alloc_removed;
	k->size.unknown += s->total.size_unknown - prev.size_unknown;
}

static void on_stats(void *ctx, const struct cw_stats_key *key, const struct cw_stats *raw)
{
	struct cw_collector *c = ctx;
	struct cache *k = key->root < CW_MAX_ROOTS ? c->by_slot[key->root] : NULL;

	if (!k)
		return;
	struct series *s = series_get(c, k, key->group);
	if (s)
		account(k, s, raw);
	else
		c->missed = true; /* out of memory: read again at the next poll */
}

static struct writer *writer_get(struct writer_set *ws, size_t max, const char comm[CW_COMM_LEN],
				 uint64_t group)
{
	uint64_t h = cw_fnv1a(comm, CW_COMM_LEN) ^ (group * CW_FNV_PRIME);
	uint32_t i = index_find(&ws->ix, h);

	if (i != NONE) /* a 64-bit hash collision leaves the second name unranked */
		return memcmp(ws->w[i].comm, comm, CW_COMM_LEN) || ws->w[i].group != group ? NULL : &ws->w[i];
	if (ws->n >= max)
		return NULL;
	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? ws->cap * 2 : 16;
		struct writer *w = realloc(ws->w, cap * sizeof(*w));
		if (!w)
			return NULL;
		ws->w = w;
		ws->cap = cap;
	}
	if (index_put(&ws->ix, h, (uint32_t)ws->n))
		return NULL;
	struct writer *w = &ws->w[ws->n++];
	memset(w, 0, sizeof(*w));
	memcpy(w->comm, comm, CW_COMM_LEN);
	w->group = group;
	return w;
}

static void on_writer(void *ctx, const struct cw_writer_key *key, const struct cw_writer_val *raw)
{
	struct cw_collector *c = ctx;
	struct cache *k = key->root < CW_MAX_ROOTS ? c->by_slot[key->root] : NULL;
	struct writer *g = k ? writer_get(&k->gwriters, MAX_GROUP_WRITERS, key->comm, key->group) : NULL;

	if (!g)
		return;
	int reset = raw->writes < g->last.writes;
	uint64_t bytes = reset ? raw->bytes : cw_counter_delta(g->last.bytes, raw->bytes);
	uint64_t writes = reset ? raw->writes : cw_counter_delta(g->last.writes, raw->writes);
	g->total.bytes += bytes;
	g->total.writes += writes;
	g->last = *raw;
	struct writer *w = writer_get(&k->writers, MAX_WRITERS, key->comm, 0);
	if (!w)
		return;
	w->total.bytes += bytes;
	w->total.writes += writes;
}

static int read_drops(struct cw_collector *c)
{
	uint64_t raw[CW_DROP_MAX];
	int err = cw_maps_read_drops(c->maps, raw);

	if (err)
		return err;
	for (int d = 0; d < CW_DROP_MAX; d++) {
		c->drops_total[d] += cw_counter_delta(c->drops_last[d], raw[d]);
		c->drops_last[d] = raw[d];
	}
	return 0;
}

/* Reads the stats and writers maps, unless no commit happened since a settled
 * read: one that began with the activity sum unchanged since the poll before,
 * so every commit counted in that sum was at least a poll interval old and in
 * the maps (a weakly ordered CPU may show the counter before the counts; the
 * read after it catches them). A commit counted after the sum was taken moves
 * the sum, so the next poll reads. Idle, no poll reads; after a burst, two do. */
static int read_counters(struct cw_collector *c)
{
	uint64_t now = cw_maps_activity(c->maps);
	int err, err2;

	if (c->settled && now == c->activity)
		return 0;
	c->missed = false;
	err = cw_maps_read_stats(c->maps, on_stats, c);
	err2 = c->group_writers ? cw_maps_read_writers(c->maps, on_writer, c) : 0;
	c->settled = !err && !err2 && !c->missed && c->map_reads && now == c->activity;
	c->activity = now;
	c->map_reads++;
	return err ?: err2;
}

uint64_t cw_collector_map_reads(struct cw_collector *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t n = c->map_reads;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* ---- deleted group directories ---- */

static void mark_seen(struct cache *k, uint64_t group)
{
	uint32_t i = index_find(&k->by_group, group);

	if (i != NONE)
		k->series[i].seen = true;
}

/* Lists the directories down to group_depth below the root, by open directory
 * fds (never by path, so no length limit and no symlink followed), and marks
 * the series whose group key they have. Like the BPF side, it does not cross
 * into another file system. fd is consumed. */
static void walk_groups(struct cache *k, int fd, unsigned depth, char *name, size_t len, dev_t dev)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	struct stat st;

	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d))) {
		const char *nm = e->d_name;
		if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2])))
			continue;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		if (e->d_type == DT_UNKNOWN &&
		    (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode)))
			continue;
		size_t clen = len;
		mark_seen(k, cw_group_key_append(name, &clen, nm, strlen(nm)));
		/* past the name limit every deeper directory has this same key */
		if (depth + 1 >= k->group_depth || clen >= CW_GROUP_NAME_MAX - 1)
			continue;
		int child = openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (child < 0)
			continue;
		if (fstat(child, &st) || st.st_dev != dev) {
			close(child);
			continue;
		}
		walk_groups(k, child, depth + 1, name, clen, dev);
	}
	closedir(d);
}

/* Marks the group series whose directory exists. Returns false when the root
 * could not be looked at (then nothing is judged this round). */
static bool find_groups(struct cache *k)
{
	struct cw_root_id id = { (dev_t)k->dev, (ino_t)k->ino };
	struct cw_root_ref ref;
	char name[CW_GROUP_NAME_MAX];

	for (size_t j = 0; j < k->nseries; j++)
		k->series[j].seen = false;
	if (!k->armed)
		return true; /* no root: no group directory either */
	if (cw_root_resolve(k->path, CW_ROOT_TRUSTED_ANCESTORS, &id, &ref, NULL, 0) != CW_ROOT_OK)
		return false;
	if (ref.changed) {
		cw_root_ref_close(&ref);
		return false;
	}
	int fd = ref.fd;
	ref.fd = -1;
	walk_groups(k, fd, 0, name, 0, ref.id.dev);
	return true;
}

/* Reads the series' final counts, then deletes its BPF entries. */
/* Reads and deletes the group's writer entries, so groups that come and go do
 * not fill the writers map; their bytes stay in the per-command totals. */
static int forget_writers(struct cw_collector *c, struct cache *k, uint64_t group)
{
	struct writer_set *ws = &k->gwriters;
	size_t keep = 0;
	int err = 0;

	for (size_t j = 0; j < ws->n; j++) {
		struct writer *g = &ws->w[j];
		struct cw_writer_val raw;
		if (g->group != group || err ||
		    (err = cw_maps_forget_writer(c->maps, (unsigned)k->slot, group, g->comm, &raw))) {
			ws->w[keep++] = *g;
			continue;
		}
		struct cw_writer_key key = { .group = group, .root = (uint32_t)k->slot };
		memcpy(key.comm, g->comm, CW_COMM_LEN);
		on_writer(c, &key, &raw);
	}
	ws->n = keep;
	index_clear(&ws->ix);
	for (size_t j = 0; j < ws->n; j++)
		index_insert(&ws->ix, cw_fnv1a(ws->w[j].comm, CW_COMM_LEN) ^ (ws->w[j].group * CW_FNV_PRIME),
			     (uint32_t)j); /* capacity is there */
	return err;
}

static int forget_series(struct cw_collector *c, struct cache *k, struct series *s)
{
	struct cw_stats raw;
	int err = cw_maps_forget_group(c->maps, (unsigned)k->slot, s->group, &raw);

	if (err)
		return err;
	account(k, s, &raw);
	/* a writer entry left behind only takes room: the series is gone either way */
	forget_writers(c, k, s->group);
	return 0;
}

static void reindex(struct cache *k)
{
	index_clear(&k->by_group);
	for (size_t j = 0; j < k->nseries; j++)
		index_insert(&k->by_group, k->series[j].group, (uint32_t)j); /* capacity is there */
	k->order_dirty = true;
	k->dirty = true;
}

/* A group directory deleted on disk keeps its series for the stale TTL so its
 * final values are scraped, then it goes (and its BPF entries with it). */
static void check_dirs(struct cw_collector *c, struct cache *k, double now)
{
	bool removed = false;

	if (k->slot < 0 || !k->group_depth || !find_groups(k))
		return;
	for (size_t j = 0; j < k->nseries;) {
		struct series *s = &k->series[j];
		if (s->group == CW_GROUP_ROOT || s->group == CW_GROUP_OTHER || s->seen) {
			k->dirty |= s->gone_since != 0;
			s->gone_since = 0;
			j++;
			continue;
		}
		if (s->gone_since == 0) {
			s->gone_since = now;
			k->dirty = true;
		}
		int err = 0;
		if ((now - s->gone_since) * 1000.0 < (double)c->stale_ttl_ms ||
		    (err = forget_series(c, k, s))) {
			if (err)
				cw_warn("cannot forget a deleted group's BPF entries; retried later", "cache",
					k->name, "dir", s->dir, "error", strerror(-err));
			j++;
			continue;
		}
		k->names_bytes -= s->dirlen + 1;
		free(s->dir);
		k->series[j] = k->series[--k->nseries];
		removed = true;
	}
	if (removed)
		reindex(k);
}

/* ---- snapshots ---- */

/* By name; a real directory called "_other" sorts after the folded series, so
 * the folded one always keeps the plain label. */
static int cmp_series(const void *a, const void *b, void *ctx)
{
	const struct series *all = ctx;
	const struct series *x = &all[*(const uint32_t *)a], *y = &all[*(const uint32_t *)b];
	int c = strcmp(x->dir, y->dir);

	if (c)
		return c;
	return (int)(y->group == CW_GROUP_OTHER) - (int)(x->group == CW_GROUP_OTHER);
}

static int sort_series(struct cache *k)
{
	if (!k->order_dirty)
		return 0;
	uint32_t *o = realloc(k->order, (k->nseries ? k->nseries : 1) * sizeof(*o));
	if (!o)
		return -1;
	k->order = o;
	for (size_t j = 0; j < k->nseries; j++)
		o[j] = (uint32_t)j;
	qsort_r(o, k->nseries, sizeof(*o), cmp_series, k->series);
	k->order_dirty = false;
	return 0;
}

static int cmp_writer(const struct cw_writer_snap *x, const struct cw_writer_snap *y)
{
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strncmp(x->comm, y->comm, CW_COMM_LEN);
}

/* The CW_TOP_WRITERS biggest writers, by insertion into a short sorted list. */
static void top_writers(const struct cache *k, struct cw_cache_snap *out)
{
	size_t n = 0;

	for (size_t j = 0; j < k->writers.n; j++) {
		const struct writer *kw = &k->writers.w[j];
		struct cw_writer_snap w = { .bytes = kw->total.bytes, .writes = kw->total.writes };
		memcpy(w.comm, kw->comm, CW_COMM_LEN);
		w.comm[CW_COMM_LEN - 1] = 0;
		size_t pos = n;
		while (pos > 0 && cmp_writer(&w, &out->writers[pos - 1]) < 0)
			pos--;
		if (pos >= CW_TOP_WRITERS)
			continue;
		size_t keep = n < CW_TOP_WRITERS ? n : CW_TOP_WRITERS - 1;
		memmove(&out->writers[pos + 1], &out->writers[pos], (keep - pos) * sizeof(w));
		out->writers[pos] = w;
		if (n < CW_TOP_WRITERS)
			n++;
	}
	out->nwriters = n;
}

static int cmp_group_writer(const void *a, const void *b)
{
	const struct cw_group_writer_snap *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return strncmp(x->comm, y->comm, CW_COMM_LEN);
}

/* Every (group, command) total, sorted for lookups by group: readers diff two
 * snapshots to rank a directory's writers over an interval. */
static int group_writers(const struct cache *k, struct cw_cache_snap *out)
{
	if (!k->gwriters.n)
		return 0;
	out->group_writers = malloc(k->gwriters.n * sizeof(*out->group_writers));
	if (!out->group_writers)
		return -1;
	for (size_t j = 0; j < k->gwriters.n; j++) {
		const struct writer *w = &k->gwriters.w[j];
		struct cw_group_writer_snap *o = &out->group_writers[j];
		o->group = w->group;
		memcpy(o->comm, w->comm, CW_COMM_LEN);
		o->comm[CW_COMM_LEN - 1] = 0;
		o->bytes = w->total.bytes;
		o->writes = w->total.writes;
	}
	out->ngroup_writers = k->gwriters.n;
	qsort(out->group_writers, out->ngroup_writers, sizeof(*out->group_writers), cmp_group_writer);
	return 0;
}

static void fill_dir(struct cw_dir_snap *d, const struct series *s, double now)
{
	d->write_bytes = s->total.write_bytes;
	d->writes = s->total.writes;
	d->write_errors = s->total.write_errors;
	d->unlinks = s->total.unlinks;
	d->unlinked_bytes = s->total.unlinked_bytes;
	d->read_bytes = s->total.read_bytes;
	d->reads = s->total.reads;
	d->read_errors = s->total.read_errors;
	d->read_opens = s->total.read_opens;
	d->clone_bytes = s->total.clone_bytes;
	d->size_added = s->total.size_added;
	d->size_removed = s->total.size_removed;
	d->alloc_added = s->total.alloc_added;
	d->alloc_removed = s->total.alloc_removed;
	d->entries_written = s->total.entries_written;
	d->entries_reused = s->total.entries_reused;
	d->lat.sum_ns = s->total.lat_sum_ns;
	memcpy(d->lat.slots, s->total.lat_slots, sizeof(d->lat.slots));
	d->lat.count = 0;
	for (unsigned b = 0; b < CW_HIST_SLOTS; b++)
		d->lat.count += d->lat.slots[b];
	d->gone = s->gone_since != 0 && now >= s->gone_since;
	d->folded = s->group == CW_GROUP_OTHER;
	d->group = s->group;
}

/* The series in label order, built again only when one of them changed. */
static int publish_dirs(struct cache *k, double now)
{
	struct cw_dir_snap *dirs;
	char *p;

	if (k->block && !k->dirty)
		return 0;
	if (sort_series(k))
		return -1;
	struct cw_dir_block *b = cw_dir_block_new(k->nseries, k->names_bytes, &dirs, &p);
	if (!b)
		return -1;
	for (size_t j = 0; j < k->nseries; j++) {
		const struct series *s = &k->series[k->order[j]];
		memcpy(p, s->dir, s->dirlen + 1);
		dirs[j].dir = p;
		p += s->dirlen + 1;
		fill_dir(&dirs[j], s, now);
	}
	cw_dir_block_put(k->block);
	k->block = b;
	k->block_dirs = dirs;
	k->block_ndirs = k->nseries;
	k->dirty = false;
	return 0;
}

static int snap_cache(struct cache *k, struct cw_cache_snap *out, double now, bool gw)
{
	out->name = strdup(k->name);
	out->path = strdup(k->path);
	out->armed = k->armed;
	out->dev = k->dev;
	out->group_depth = k->group_depth;
	out->max_groups = k->max_groups;
	out->written_bytes = k->written;
	out->size = k->size;
	if (!out->name || !out->path || publish_dirs(k, now))
		return -1;
	out->block = cw_dir_block_get(k->block);
	out->dirs = k->block_dirs;
	out->ndirs = k->block_ndirs;
	top_writers(k, out);
	return gw ? group_writers(k, out) : 0;
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
	struct cw_access_usage au;
	cw_access_usage(c->loader, &au);
	s->access_records = au.records;
	s->access_records_max = au.max_records;
	s->access_map_bytes = au.map_bytes;
	s->size_unresolved = cw_maps_size_unresolved(c->maps);
	s->caches = calloc(c->ncaches ? c->ncaches : 1, sizeof(*s->caches));
	if (!s->caches)
		goto fail;
	for (size_t i = 0; i < c->ncaches; i++) {
		s->ncaches++;
		if (snap_cache(&c->caches[i], &s->caches[i], now, c->group_writers))
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
	int err, err2;

	pthread_mutex_lock(&c->lock);
	/* Read first: whatever a root change below does, what was counted is in. */
	err = read_counters(c);
	err2 = read_drops(c);
	err = err ?: err2;
	cw_access_clock_sync(c->loader);
	for (size_t i = 0; i < c->ncaches; i++)
		check_root(c, &c->caches[i]);
	if (start - c->last_dir_check >= c->dir_check_period) {
		for (size_t i = 0; i < c->ncaches; i++)
			check_dirs(c, &c->caches[i], start);
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

struct cw_snapbox *cw_collector_box(struct cw_collector *c)
{
	return c->box;
}

void cw_collector_publish_group_writers(struct cw_collector *c)
{
	pthread_mutex_lock(&c->lock);
	c->group_writers = true;
	cw_maps_count_writers(c->maps);
	pthread_mutex_unlock(&c->lock);
}

void cw_collector_free(struct cw_collector *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncaches; i++)
		cache_free(c, &c->caches[i]);
	free(c->caches);
	cw_maps_free(c->maps);
	cw_snapbox_free(c->box);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
