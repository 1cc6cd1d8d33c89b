/* Stand-in for the per-file access records until the BPF side lands: holds seeded records only, observes nothing. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dataplane/access.h"

/* Replaced at merge by the data plane's access.c, which reads the BPF record map.
 * Until then records exist only when seeded (from the state file), so the purge
 * side, the state file and their tests can be built against the interface. */
struct seeded {
	uint64_t dev, ino;
	struct cw_access_rec r;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct seeded *recs;
static size_t nrecs, caprecs;

static struct seeded *find(uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < nrecs; i++)
		if (recs[i].dev == dev && recs[i].ino == ino)
			return &recs[i];
	return NULL;
}

int cw_access_lookup(struct cw_loader *l, uint64_t st_dev, uint64_t ino, struct cw_access_rec *out)
{
	(void)l;
	pthread_mutex_lock(&lock);
	struct seeded *s = find(st_dev, ino);
	if (s)
		*out = s->r;
	pthread_mutex_unlock(&lock);
	return s ? 0 : -ENOENT;
}

int cw_access_foreach(struct cw_loader *l,
		      int (*fn)(void *ctx, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r),
		      void *ctx)
{
	(void)l;
	int rc = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nrecs && !rc; i++)
		rc = fn(ctx, recs[i].dev, recs[i].ino, &recs[i].r);
	pthread_mutex_unlock(&lock);
	return rc;
}

int cw_access_seed(struct cw_loader *l, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r)
{
	(void)l;
	int rc = 0;
	pthread_mutex_lock(&lock);
	struct seeded *s = find(st_dev, ino);
	if (s) {
		if (r->last_ns > s->r.last_ns)
			s->r = *r;
		goto cleanup;
	}
	if (nrecs == caprecs) {
		size_t cap = caprecs ? caprecs * 2 : 256;
		struct seeded *n = realloc(recs, cap * sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			goto cleanup;
		}
		recs = n;
		caprecs = cap;
	}
	recs[nrecs++] = (struct seeded){ .dev = st_dev, .ino = ino, .r = *r };
cleanup:
	pthread_mutex_unlock(&lock);
	return rc;
}
