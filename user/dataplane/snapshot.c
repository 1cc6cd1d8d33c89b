/* Reference-counted snapshot box: one writer publishes, many readers share. */
#include <pthread.h>
#include <stdlib.h>
#include "dataplane/snapshot.h"

struct cw_snapbox {
	pthread_mutex_t lock;
	struct cw_snapshot *cur;
};

static const char *drop_names[CW_DROP_MAX] = {
	[CW_DROP_STATS_FULL] = "stats_map_full",
	[CW_DROP_WALK_DEPTH] = "walk_depth",
	[CW_DROP_GROUPS_FULL] = "groups_map_full",
	[CW_DROP_INFLIGHT_FULL] = "inflight_map_full",
	[CW_DROP_WRITERS_FULL] = "writers_map_full",
	[CW_DROP_UNLINK_PATH] = "unlink_path_unresolved",
	[CW_DROP_RECURSION] = "recursion_miss",
	[CW_DROP_SCRATCH_BUSY] = "scratch_busy",
	[CW_DROP_ACCESS_FULL] = "access_map_full",
};

const char *cw_drop_name(enum cw_drop d)
{
	return (unsigned)d < CW_DROP_MAX ? drop_names[d] : "unknown";
}

struct cw_dir_block {
	int refs;
	struct cw_dir_snap dirs[]; /* then the names */
};

struct cw_dir_block *cw_dir_block_new(size_t ndirs, size_t names_bytes, struct cw_dir_snap **dirs,
				      char **names)
{
	struct cw_dir_block *b = malloc(sizeof(*b) + ndirs * sizeof(b->dirs[0]) + names_bytes);

	if (!b)
		return NULL;
	b->refs = 1;
	*dirs = b->dirs;
	*names = (char *)&b->dirs[ndirs];
	return b;
}

struct cw_dir_block *cw_dir_block_get(struct cw_dir_block *b)
{
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	return b;
}

void cw_dir_block_put(struct cw_dir_block *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

struct cw_snapbox *cw_snapbox_new(void)
{
	struct cw_snapbox *b = calloc(1, sizeof(*b));

	if (b)
		pthread_mutex_init(&b->lock, NULL);
	return b;
}

void cw_snapshot_free(struct cw_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncaches; i++) {
		struct cw_cache_snap *c = &s->caches[i];
		cw_dir_block_put(c->block);
		free(c->name);
		free(c->path);
		free(c->group_writers);
	}
	free(s->caches);
	free(s);
}

void cw_snapbox_free(struct cw_snapbox *b)
{
	if (!b)
		return;
	cw_snapshot_put(b->cur);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

struct cw_snapshot *cw_snapbox_get(struct cw_snapbox *b)
{
	struct cw_snapshot *s;

	pthread_mutex_lock(&b->lock);
	s = b->cur;
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&b->lock);
	return s;
}

void cw_snapshot_put(struct cw_snapshot *s)
{
	if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		cw_snapshot_free(s);
}

void cw_snapbox_publish(struct cw_snapbox *b, struct cw_snapshot *s)
{
	struct cw_snapshot *old;

	s->refs = 1; /* the box's own reference */
	pthread_mutex_lock(&b->lock);
	old = b->cur;
	b->cur = s;
	pthread_mutex_unlock(&b->lock);
	cw_snapshot_put(old);
}
