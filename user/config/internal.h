/* Helpers shared by the config_*.c files; not part of the configuration API. */
#ifndef CW_CONFIG_INTERNAL_H
#define CW_CONFIG_INTERNAL_H

#include <limits.h>
#include <stdarg.h>
#include "config/config.h"

#define CW_NAME_MAX 64            /* longest cache name (a label value) */
#define CW_MAX_GROUPS_LIMIT 65536 /* largest max_groups accepted */
#define CW_RATE_LIMIT_MAX 1e6

/* Validates cfg and, when it is valid, moves it into out (cfg is left empty);
 * cfg is freed either way. Returns 0 or -1 with the reason in err. */
int cw_config_finish(struct cw_config *cfg, struct cw_config *out, char *err, size_t errlen);

/* Writes "fmt..." into err (err may be NULL); always returns -1. */
int cw_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* v as a double-quoted string for messages: escaped, cut after ~60 bytes. */
void cw_quote(const char *v, size_t len, char *out, size_t outlen);

/* Why name is not a valid cache name, or NULL when it is. */
const char *cw_name_problem(const char *name);

/* "/a//b/" -> "/a/b"; the result is malloc'ed (NULL on allocation failure). */
char *cw_path_clean(const char *path);
/* The path with every existing prefix resolved by realpath and the rest
 * appended lexically, so roots that do not exist yet compare correctly too. */
int cw_path_canonical(const char *path, char out[PATH_MAX]);
/* true when a is b or one is inside the other ("/a" and "/a/b", not "/ab"). */
bool cw_path_overlaps(const char *a, const char *b);
/* Why path must not be a purge root ("is a system directory"...), written
 * into buf, or NULL if it may be one; by text, for roots that may not exist
 * yet (lib/root has the rules, and checks existing roots by identity). */
const char *cw_path_danger(const char *clean, const char *canonical, char *buf, size_t len);

/* "auto", "fentry", "kprobe", "tracepoint" <-> enum cw_backend. */

/* Appends a copy-free cache slot to cfg (zeroed, defaults set). NULL on ENOMEM. */
struct cw_cache_config *cw_config_add_cache(struct cw_config *cfg);

#endif
