/* Validation rules shared by the config file, --watch and the embedded default. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config/config.h"
#include "config/internal.h"
#include "lib/root.h"
#include "lib/units.h"

const char *cw_name_problem(const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return "it must not be empty";
	if (len > CW_NAME_MAX)
		return "it is longer than 64 characters";
	if (name[0] == ' ' || name[len - 1] == ' ')
		return "it must not start or end with a space";
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return "it may only contain printable ASCII characters";
	return NULL;
}

char *cw_path_clean(const char *path)
{
	size_t len = strlen(path);
	char *out = malloc(len + 2);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (path[i] == '/') {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		/* "." adds nothing; ".." is kept because only the file system knows
		 * what it means when symlinks are involved. */
		if (i - start == 1 && path[start] == '.')
			continue;
		if (path[0] == '/' || o)
			out[o++] = '/';
		memcpy(out + o, path + start, i - start);
		o += i - start;
	}
	if (!o && path[0] == '/')
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* Appends component c to out (a clean absolute path); ".." goes up. */
static int append_component(char out[PATH_MAX], const char *c, size_t clen)
{
	size_t o = strlen(out);

	if (clen == 2 && c[0] == '.' && c[1] == '.') {
		while (o > 1 && out[o - 1] != '/')
			o--;
		if (o > 1)
			o--;
		out[o] = '\0';
		return 0;
	}
	if (o + 1 + clen >= PATH_MAX)
		return -1;
	if (o > 1)
		out[o++] = '/';
	memcpy(out + o, c, clen);
	out[o + clen] = '\0';
	return 0;
}

int cw_path_canonical(const char *path, char out[PATH_MAX])
{
	char head[PATH_MAX];
	int rc = -1;
	char *clean = cw_path_clean(path);

	if (!clean || clean[0] != '/' || strlen(clean) >= PATH_MAX)
		goto cleanup;
	strcpy(head, clean);
	/* Shorten from the right until a prefix resolves ("/" always does). */
	size_t cut = strlen(head);
	for (;;) {
		char saved = head[cut];
		head[cut] = '\0';
		char *ok = realpath(cut ? head : "/", out);
		head[cut] = saved;
		if (ok)
			break;
		if (!cut) {
			strcpy(out, "/");
			break;
		}
		while (cut > 0 && head[--cut] != '/')
			;
	}
	for (const char *p = clean + cut; *p;) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		if (p > start && append_component(out, start, (size_t)(p - start)))
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(clean);
	return rc;
}

bool cw_path_overlaps(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > lb) {
		const char *t = a;
		a = b;
		b = t;
		size_t tl = la;
		la = lb;
		lb = tl;
	}
	if (la == 1 && a[0] == '/')
		return true;
	return !strncmp(a, b, la) && (b[la] == '\0' || b[la] == '/');
}

/* One set of refused roots for every path that can purge: lib/root. */
const char *cw_path_danger(const char *clean, const char *canonical, char *buf, size_t len)
{
	if (cw_root_refusal_path(clean, buf, len) || cw_root_refusal_path(canonical, buf, len))
		return buf;
	return NULL;
}

/* "FILE:LINE:COL: caches[I].KEY: ", "--watch NAME=DIR: KEY: " or the like. */
static void cache_where(const struct cw_config *cfg, size_t i, const char *key, char *out,
			size_t len)
{
	const struct cw_cache_config *c = &cfg->caches[i];

	switch (c->origin) {
	case CW_ORIGIN_FILE:
		snprintf(out, len, "%s:%d:%d: caches[%zu].%s", cfg->source ? cfg->source : "<config>",
			 c->line, c->column, i, key);
		return;
	case CW_ORIGIN_FLAG:
		snprintf(out, len, "--watch %s=%s: %s", c->name ? c->name : "", c->path ? c->path : "",
			 key);
		return;
	case CW_ORIGIN_DEFAULT:
		snprintf(out, len, "embedded default cache %s (%s): %s", c->name ? c->name : "",
			 c->path ? c->path : "", key);
		return;
	}
}

__attribute__((format(printf, 6, 7)))
static int cache_fail(const struct cw_config *cfg, size_t i, const char *key, char *err,
		      size_t errlen, const char *fmt, ...)
{
	char where[PATH_MAX + 128], msg[PATH_MAX + 256];
	va_list ap;

	cache_where(cfg, i, key, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cw_errf(err, errlen, "%s: %s", where, msg);
}

static int check_exists(const struct cw_config *cfg, size_t i, char *err, size_t errlen)
{
	const struct cw_cache_config *c = &cfg->caches[i];
	struct stat st;
	char q[96];

	cw_quote(c->path, strlen(c->path), q, sizeof(q));
	if (stat(c->path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return cache_fail(cfg, i, "path", err, errlen, "%s is not a directory", q);
		return 0;
	}
	if ((errno == ENOENT || errno == ENOTDIR) && c->wait_for_path)
		return 0;
	if (errno == ENOENT)
		return cache_fail(cfg, i, "path", err, errlen, "%s does not exist%s", q,
				  c->origin == CW_ORIGIN_FILE ?
					  " (create it, or set wait_for_path: true to wait for it)" :
				  c->origin == CW_ORIGIN_FLAG ?
					  " (create it, or add --wait-for-path to wait for it)" : "");
	return cache_fail(cfg, i, "path", err, errlen, "%s cannot be used: %s", q, strerror(errno));
}

static int check_purge(const struct cw_config *cfg, size_t i, const char *canonical,
		       char *err, size_t errlen)
{
	const struct cw_cache_config *c = &cfg->caches[i];
	const struct cw_purge_policy *p = &c->purge;
	struct stat st;
	char q[96];

	if (!p->enabled)
		return 0;
	cw_quote(c->path, strlen(c->path), q, sizeof(q));
	char danger[160];
	const char *why = cw_path_danger(c->path, canonical, danger, sizeof(danger));
	if (why)
		return cache_fail(cfg, i, "path", err, errlen,
				  "%s %s and cannot be purged; point the cache at a directory "
				  "inside it (remove the purge block to only report on it)", q, why);
	/* The purge engine opens roots with O_NOFOLLOW; say so now, not at the
	 * first purge. */
	if (lstat(c->path, &st) == 0 && S_ISLNK(st.st_mode))
		return cache_fail(cfg, i, "path", err, errlen,
				  "%s is a symbolic link; purge roots must be the real directory (%s)",
				  q, canonical);
	/* What exists is checked as the purge engine will open it: by identity,
	 * no symlink in any component, trusted ancestors, writable. */
	struct cw_root_ref ref;
	char why2[PATH_MAX + 256];
	int rc = cw_root_resolve(c->path, CW_ROOT_PURGE, NULL, &ref, why2, sizeof(why2));
	cw_root_ref_close(&ref);
	if (rc == CW_ROOT_REFUSED)
		return cache_fail(cfg, i, "path", err, errlen, "%s cannot be purged: %s", q, why2);
	if (p->high_watermark > 100.0 || p->high_watermark <= 0.0)
		return cache_fail(cfg, i, "purge.high_watermark", err, errlen,
				  "must be above 0%% and at most 100%%");
	if (p->low_watermark < 0.0 || p->low_watermark >= p->high_watermark)
		return cache_fail(cfg, i, "purge.low_watermark", err, errlen,
				  "low_watermark (%g%%) must be below high_watermark (%g%%)",
				  p->low_watermark, p->high_watermark);
	if (p->min_free < 0.0 || p->min_free > 100.0)
		return cache_fail(cfg, i, "purge.min_free", err, errlen, "must be 0%% to 100%%");
	if (!p->max_size && !p->max_age_ms && p->min_free == 0.0 && !p->max_files)
		return cache_fail(cfg, i, "purge", err, errlen,
				  "needs at least one limit (max_size, max_age, min_free or max_files)");
	if (p->interval_ms < CW_INTERVAL_MIN_MS)
		return cache_fail(cfg, i, "purge.interval", err, errlen, "must be at least 1s");
	if (!(p->rate_limit > 0.0 && p->rate_limit <= CW_RATE_LIMIT_MAX))
		return cache_fail(cfg, i, "purge.rate_limit", err, errlen,
				  "must be above 0 and at most 1000000 deletions per second");
	return 0;
}

static int check_cache(const struct cw_config *cfg, size_t i, char canonical[PATH_MAX],
		       char *err, size_t errlen)
{
	const struct cw_cache_config *c = &cfg->caches[i];
	char q[96];

	if (!c->name)
		return cache_fail(cfg, i, "name", err, errlen, "missing");
	const char *why = cw_name_problem(c->name);
	if (why) {
		cw_quote(c->name, strlen(c->name), q, sizeof(q));
		return cache_fail(cfg, i, "name", err, errlen, "%s is not a valid cache name (%s)", q, why);
	}
	if (!c->path || c->path[0] != '/') {
		cw_quote(c->path ? c->path : "", c->path ? strlen(c->path) : 0, q, sizeof(q));
		return cache_fail(cfg, i, "path", err, errlen, "%s is not an absolute path", q);
	}
	if (c->group_depth > CW_MAX_GROUP_DEPTH)
		return cache_fail(cfg, i, "group_depth", err, errlen, "%u is out of range (0 to %d)",
				  c->group_depth, CW_MAX_GROUP_DEPTH);
	if (c->max_groups > CW_MAX_GROUPS_LIMIT)
		return cache_fail(cfg, i, "max_groups", err, errlen, "%u is out of range (0 to %d)",
				  c->max_groups, CW_MAX_GROUPS_LIMIT);
	if (cw_path_canonical(c->path, canonical))
		return cache_fail(cfg, i, "path", err, errlen, "is too long");
	if (check_exists(cfg, i, err, errlen))
		return -1;
	return check_purge(cfg, i, canonical, err, errlen);
}

static int check_globals(const struct cw_config *cfg, char *err, size_t errlen)
{
	const char *src = cfg->source ? cfg->source : "configuration";

	char what[160], v[48];
	snprintf(what, sizeof(what), "%s: poll_interval", src);
	cw_format_duration_ms(cfg->poll_interval_ms, v, sizeof(v));
	if (cw_range_check(what, v, cfg->poll_interval_ms, CW_POLL_MIN_MS, CW_POLL_MAX_MS, true, err, errlen))
		return -1;
	snprintf(what, sizeof(what), "%s: stale_ttl", src);
	cw_format_duration_ms(cfg->stale_ttl_ms, v, sizeof(v));
	if (cw_range_check(what, v, cfg->stale_ttl_ms, 0, CW_STALE_TTL_MAX_MS, true, err, errlen))
		return -1;
	if (cfg->max_walk < 1 || cfg->max_walk > CW_MAX_WALK)
		return cw_errf(err, errlen, "%s: bpf.max_walk must be 1 to %d", src, CW_MAX_WALK);
	if (cfg->access_records < CW_ACCESS_RECORDS_MIN || cfg->access_records > CW_ACCESS_RECORDS_MAX)
		return cw_errf(err, errlen, "%s: bpf.access_records must be %d to %d", src,
			       CW_ACCESS_RECORDS_MIN, CW_ACCESS_RECORDS_MAX);
	if (cfg->attach > CW_BACKEND_TRACEPOINT)
		return cw_errf(err, errlen, "%s: bpf.attach is not a known backend", src);
	if (cfg->ncaches > CW_MAX_ROOTS)
		return cw_errf(err, errlen, "%s: %zu caches, at most %d are supported", src,
			       cfg->ncaches, CW_MAX_ROOTS);
	return 0;
}

/* How another cache is named in a message: "caches[0] (line 3)", "--watch x=/a". */
static void cache_ref(const struct cw_config *cfg, size_t i, char *out, size_t len)
{
	const struct cw_cache_config *c = &cfg->caches[i];

	if (c->origin == CW_ORIGIN_FILE)
		snprintf(out, len, "caches[%zu] at line %d", i, c->line);
	else if (c->origin == CW_ORIGIN_FLAG)
		snprintf(out, len, "--watch %s=%s", c->name, c->path);
	else
		snprintf(out, len, "embedded default %s=%s", c->name, c->path);
}

/* Pairwise: names unique, roots neither equal nor nested (a write would
 * belong to two caches, and a purge of the outer one would eat the inner). */
static int check_pairs(const struct cw_config *cfg, char (*canon)[PATH_MAX], char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < cfg->ncaches; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct cw_cache_config *b = &cfg->caches[i];
			char other[PATH_MAX + 128];
			cache_ref(cfg, j, other, sizeof(other));
			if (!strcmp(cfg->caches[j].name, b->name))
				return cache_fail(cfg, i, "name", err, errlen,
						  "duplicate cache name \"%s\" (also used by %s)",
						  b->name, other);
			if (!strcmp(canon[i], canon[j]))
				return cache_fail(cfg, i, "path", err, errlen,
						  "\"%s\" is the same directory as %s", b->path, other);
			if (cw_path_overlaps(canon[i], canon[j]))
				return cache_fail(cfg, i, "path", err, errlen,
						  "\"%s\" and %s are nested; roots must not contain "
						  "each other", b->path, other);
		}
	}
	return 0;
}

int cw_config_validate(const struct cw_config *cfg, char *err, size_t errlen)
{
	char (*canon)[PATH_MAX] = NULL;
	int rc = -1;

	if (check_globals(cfg, err, errlen))
		return -1;
	if (!cfg->ncaches)
		return 0;
	canon = calloc(cfg->ncaches, sizeof(*canon));
	if (!canon)
		return cw_errf(err, errlen, "out of memory");
	for (size_t i = 0; i < cfg->ncaches; i++)
		if (check_cache(cfg, i, canon[i], err, errlen))
			goto cleanup;
	if (check_pairs(cfg, canon, err, errlen))
		goto cleanup;
	rc = 0;
cleanup:
	free(canon);
	return rc;
}
