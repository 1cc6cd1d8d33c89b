/* Rendered expositions shared by every scrape of one snapshot version: rendered and gzipped once. */
#ifndef CW_EXPO_CACHE_H
#define CW_EXPO_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "http/exposition.h"

/* At most this many renders of one format are alive at once: the newest, kept for
 * the next scrape, and older ones still being sent to slow clients. When all are
 * taken, a scrape gets the newest one instead of a fresh render, so the memory
 * for bodies never exceeds CW_EXPO_MAX_LIVE * 3 formats * (body + gzip body). */
#define CW_EXPO_MAX_LIVE 3

/* Where renders come from (the agent). */
struct cw_expo_source {
	void *ctx;
	/* The snapshot version a render would show now (cheap). */
	uint64_t (*version)(void *ctx);
	/* The exposition in fmt appended to out, and the version it shows; 0 or -1. */
	int (*render)(void *ctx, enum cw_expo_format fmt, struct cw_buf *out, uint64_t *version);
};

/* One rendered exposition; read-only once handed out. */
struct cw_expo {
	uint64_t version;
	enum cw_expo_format fmt;
	char *body;
	size_t len;
	char *gz;              /* NULL until a client asked for gzip (or when it did not shrink) */
	size_t gz_len;
	bool gz_tried;
	int refs;              /* under the cache's lock */
	struct cw_expo_cache *cache;
};

struct cw_expo_cache;

struct cw_expo_cache *cw_expo_cache_new(const struct cw_expo_source *src);
/* Frees the cache; renders still referenced are freed by their last put. */
void cw_expo_cache_free(struct cw_expo_cache *c);
/* A reference to the current render of fmt (gzipped too when gzip and the body
 * is at least min_gzip bytes); NULL when rendering failed. Put it back. */
struct cw_expo *cw_expo_get(struct cw_expo_cache *c, enum cw_expo_format fmt, bool gzip, size_t min_gzip);
void cw_expo_put(struct cw_expo *e);
/* Renders alive now (cached or being sent), for tests. */
unsigned cw_expo_cache_live(struct cw_expo_cache *c);

#endif
