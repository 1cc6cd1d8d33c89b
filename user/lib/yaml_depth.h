/* A cap on YAML nesting, checked before a document is loaded. */
#ifndef CW_YAML_DEPTH_H
#define CW_YAML_DEPTH_H

#include <stddef.h>

/* Deeper than this is refused: cachewatch's files nest five levels at most,
 * and libyaml's loader takes quadratic time in the depth (100,000 levels of
 * "[" took minutes). */
#define CW_YAML_MAX_DEPTH 64

/* Streams buf's events (cheap: no document is built) and stops at the first
 * collection nested deeper than max. Returns 1 with its 1-based line and column,
 * or 0 when every collection is within max or the text has a syntax error (the
 * loader that runs next reports that with its own message). */
int cw_yaml_too_deep(const char *buf, size_t len, unsigned max, size_t *line, size_t *col);

#endif
