/* Rendered expositions shared by every scrape of one snapshot version, with a bound on how many live. */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include "http/expo_cache.h"
#include "http/gzip.h"

#define NFORMATS CW_EXPO_NFORMATS

struct cw_expo_cache {
	struct cw_expo_source src;
	/* Held while rendering too: scrapes that arrive meanwhile wait for that
	 * render instead of making their own copy. */
	pthread_mutex_t lock;
	struct cw_expo *latest[NFORMATS]; /* the cache's own reference */
	unsigned live[NFORMATS];
	unsigned refs;                    /* renders alive + 1 while the owner holds it */
};

static void cache_unref_locked(struct cw_expo_cache *c, bool *last)
{
	*last = --c->refs == 0;
}

static void cache_destroy(struct cw_expo_cache *c)
{
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void expo_free(struct cw_expo *e)
{
	free(e->body);
	free(e->gz);
	free(e);
	/* A render leaves many small frees (labels) in the arena of the HTTP
	 * thread that made it; give those pages back too, once per render. */
	malloc_trim(0);
}

/* Drops one reference; the caller holds the lock. True when the cache itself went too. */
static bool put_locked(struct cw_expo *e)
{
	struct cw_expo_cache *c = e->cache;
	bool last = false;
	if (--e->refs > 0)
		return false;
	c->live[e->fmt]--;
	expo_free(e);
	cache_unref_locked(c, &last);
	return last;
}

void cw_expo_put(struct cw_expo *e)
{
	if (!e)
		return;
	struct cw_expo_cache *c = e->cache;
	pthread_mutex_lock(&c->lock);
	bool gone = put_locked(e);
	pthread_mutex_unlock(&c->lock);
	if (gone)
		cache_destroy(c);
}

struct cw_expo_cache *cw_expo_cache_new(const struct cw_expo_source *src)
{
	struct cw_expo_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->src = *src;
	c->refs = 1;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void cw_expo_cache_free(struct cw_expo_cache *c)
{
	if (!c)
		return;
	bool gone = false;
	pthread_mutex_lock(&c->lock);
	for (int f = 0; f < NFORMATS; f++) {
		if (c->latest[f])
			put_locked(c->latest[f]);
		c->latest[f] = NULL;
	}
	cache_unref_locked(c, &gone);
	pthread_mutex_unlock(&c->lock);
	if (gone)
		cache_destroy(c);
}

static struct cw_expo *render_locked(struct cw_expo_cache *c, enum cw_expo_format fmt)
{
	struct cw_buf b = { 0 };
	struct cw_expo *e = calloc(1, sizeof(*e));
	if (!e || c->src.render(c->src.ctx, fmt, &b, &e->version) || !(e->body = cw_buf_steal(&b, &e->len))) {
		cw_buf_free(&b);
		free(e);
		return NULL;
	}
	e->fmt = fmt;
	e->cache = c;
	e->refs = 1; /* the cache's */
	c->live[fmt]++;
	c->refs++;
	return e;
}

/* gzip once per render; a body that does not shrink is sent as it is. */
static void gzip_locked(struct cw_expo *e)
{
	struct cw_buf gz = { 0 };
	e->gz_tried = true;
	if (cw_gzip(e->body, e->len, &gz) == 0 && gz.len < e->len)
		e->gz = cw_buf_steal(&gz, &e->gz_len);
	cw_buf_free(&gz);
}

struct cw_expo *cw_expo_get(struct cw_expo_cache *c, enum cw_expo_format fmt, bool gzip, size_t min_gzip)
{
	pthread_mutex_lock(&c->lock);
	struct cw_expo *cur = c->latest[fmt];
	bool stale = !cur || cur->version != c->src.version(c->src.ctx);
	/* Over the budget the newest render serves; it is at most as old as the
	 * slowest scrape still running. */
	if (stale && (!cur || c->live[fmt] < CW_EXPO_MAX_LIVE)) {
		struct cw_expo *e = render_locked(c, fmt);
		if (e) {
			if (cur)
				put_locked(cur);
			c->latest[fmt] = cur = e;
		}
	}
	if (cur && gzip && !cur->gz_tried && cur->len >= min_gzip)
		gzip_locked(cur);
	if (cur)
		cur->refs++;
	pthread_mutex_unlock(&c->lock);
	return cur;
}

unsigned cw_expo_cache_live(struct cw_expo_cache *c)
{
	pthread_mutex_lock(&c->lock);
	unsigned n = 0;
	for (int f = 0; f < NFORMATS; f++)
		n += c->live[f];
	pthread_mutex_unlock(&c->lock);
	return n;
}
