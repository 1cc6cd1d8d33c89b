/* The embedded default: well-known cache directories that exist on this machine. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config/config.h"
#include "config/internal.h"

/* A cache directory relative to a home directory. */
struct home_cache {
	const char *kind;       /* cache name, "-USER" appended for other users */
	const char *rel;        /* below the home directory */
	/* 1 where the first level means something (pip's http-v2 and wheels,
	 * Maven group ids); 0 where it is a hash fan-out (Go's 00..ff, ccache's
	 * 0..f): 256 x ~20 series per node that tell nothing. */
	unsigned group_depth;
};

/* Order matters: earlier candidates win when two overlap. */
static const struct home_cache home_caches[] = {
	{ "gocache", ".cache/go-build", 0 },      /* 00..ff: hash fan-out */
	{ "gomodcache", "go/pkg/mod", 1 },        /* cache/, github.com/, ... */
	{ "ccache", ".cache/ccache", 0 },         /* 0..f: hash fan-out */
	{ "ccache", ".ccache", 0 },               /* the pre-XDG location */
	{ "sccache", ".cache/sccache", 0 },       /* 0..f: hash fan-out */
	{ "pip", ".cache/pip", 1 },               /* http-v2, wheels */
	{ "npm", ".npm/_cacache", 1 },            /* content-v2, index-v5 */
	{ "yarn", ".cache/yarn", 1 },             /* v6 */
	{ "pnpm", ".local/share/pnpm/store", 1 },
	{ "cargo", ".cargo/registry", 1 },        /* cache, index, src */
	{ "maven", ".m2/repository", 1 },         /* group ids */
	{ "gradle", ".gradle/caches", 1 },
	{ "bazel", ".cache/bazel", 1 },
};

/* Machine-wide caches, below the prefix. */
static const struct home_cache system_caches[] = {
	{ "apt-archives", "var/cache/apt/archives", 0 },
	{ "ccache-system", "var/cache/ccache", 0 },
};

/* Environment overrides of the agent's own user, tried before its home. */
struct env_cache {
	const char *kind;
	unsigned group_depth;
	size_t env_off;         /* offset of the value in struct cw_default_env */
};

static const struct env_cache env_caches[] = {
	{ "gocache", 0, offsetof(struct cw_default_env, gocache) },
	{ "ccache", 0, offsetof(struct cw_default_env, ccache_dir) },
	{ "sccache", 0, offsetof(struct cw_default_env, sccache_dir) },
	{ "pip", 1, offsetof(struct cw_default_env, pip_cache_dir) },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Collected candidates with their canonical paths, for de-duplication. */
struct picker {
	struct cw_config *cfg;
	char (*canon)[PATH_MAX];  /* CW_MAX_ROOTS entries */
};

static bool name_taken(const struct cw_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ncaches; i++)
		if (!strcmp(cfg->caches[i].name, name))
			return true;
	return false;
}

/* "gocache" + "alice" -> "gocache-alice"; a further clash gets "-2", "-3". */
static int unique_name(const struct cw_config *cfg, const char *kind, const char *user,
		       char out[CW_NAME_MAX + 1])
{
	char base[CW_NAME_MAX + 1];

	snprintf(base, sizeof(base), "%s%s%s", kind, user ? "-" : "", user ? user : "");
	/* User names come from directory names: keep label values tame. */
	for (char *p = base; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			*p = '_';
	snprintf(out, CW_NAME_MAX + 1, "%s", base);
	for (int n = 2; name_taken(cfg, out); n++) {
		if (n > CW_MAX_ROOTS + 1)
			return -1;
		char suffix[8];
		snprintf(suffix, sizeof(suffix), "-%d", n);
		size_t room = CW_NAME_MAX - strlen(suffix);
		snprintf(out, CW_NAME_MAX + 1, "%.*s%s", (int)room, base, suffix);
	}
	return 0;
}

/* Adds path when it is an existing directory not overlapping any earlier
 * pick. Returns -1 only on allocation failure; skipping is not an error. */
static int consider(struct picker *pk, const char *path, const char *kind, const char *user,
		    unsigned depth)
{
	struct stat st;
	char canon[PATH_MAX], name[CW_NAME_MAX + 1];

	if (pk->cfg->ncaches >= CW_MAX_ROOTS || path[0] != '/')
		return 0;
	if (stat(path, &st) || !S_ISDIR(st.st_mode) || cw_path_canonical(path, canon))
		return 0;
	for (size_t i = 0; i < pk->cfg->ncaches; i++)
		if (cw_path_overlaps(canon, pk->canon[i]))
			return 0;
	if (unique_name(pk->cfg, kind, user, name))
		return 0;
	char *n = strdup(name), *p = cw_path_clean(path);
	struct cw_cache_config *c = n && p ? cw_config_add_cache(pk->cfg) : NULL;
	if (!c) {
		free(n);
		free(p);
		return -1;
	}
	c->name = n;
	c->path = p;
	c->group_depth = depth;
	c->origin = CW_ORIGIN_DEFAULT;
	strcpy(pk->canon[pk->cfg->ncaches - 1], canon);
	return 0;
}

static int consider_home(struct picker *pk, const char *home, const char *user)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < NELEM(home_caches); i++) {
		const struct home_cache *h = &home_caches[i];
		if (snprintf(path, sizeof(path), "%s/%s", home, h->rel) >= (int)sizeof(path))
			continue;
		if (consider(pk, path, h->kind, user, h->group_depth))
			return -1;
	}
	return 0;
}

static int filter_dirs(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Every PREFIX/home/USER, sorted so names and order are stable. */
static int consider_users(struct picker *pk, const char *prefix)
{
	char homes[PATH_MAX], home[PATH_MAX];
	struct dirent **list = NULL;
	int rc = 0;

	snprintf(homes, sizeof(homes), "%s/home", prefix);
	int n = scandir(homes, &list, filter_dirs, alphasort);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (!rc && snprintf(home, sizeof(home), "%s/%s", homes, list[i]->d_name) < (int)sizeof(home))
			rc = consider_home(pk, home, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return rc;
}

static int pick_all(struct picker *pk, const struct cw_default_env *env)
{
	const char *prefix = env->prefix ? env->prefix : "";
	char path[PATH_MAX];

	for (size_t i = 0; i < NELEM(env_caches); i++) {
		const char *v = *(const char *const *)((const char *)env + env_caches[i].env_off);
		if (v && consider(pk, v, env_caches[i].kind, NULL, env_caches[i].group_depth))
			return -1;
	}
	if (env->home && consider_home(pk, env->home, NULL))
		return -1;
	snprintf(path, sizeof(path), "%s/root", prefix);
	if (consider_home(pk, path, NULL))
		return -1;
	if (consider_users(pk, prefix))
		return -1;
	for (size_t i = 0; i < NELEM(system_caches); i++) {
		const struct home_cache *s = &system_caches[i];
		snprintf(path, sizeof(path), "%s/%s", prefix, s->rel);
		if (consider(pk, path, s->kind, NULL, s->group_depth))
			return -1;
	}
	return 0;
}

int cw_config_default_env(const struct cw_default_env *env, struct cw_config *out, char *err,
			  size_t errlen)
{
	struct cw_config cfg;
	struct picker pk = { .cfg = &cfg };
	int rc = -1;

	cw_config_defaults(&cfg);
	cw_config_defaults(out);
	pk.canon = calloc(CW_MAX_ROOTS, sizeof(*pk.canon));
	if (!pk.canon) {
		cw_errf(err, errlen, "embedded default: out of memory");
		goto cleanup;
	}
	if (pick_all(&pk, env)) {
		cw_errf(err, errlen, "embedded default: out of memory");
		goto cleanup;
	}
	cfg.embedded = true;
	if (cw_config_validate(&cfg, err, errlen))
		goto cleanup;
	*out = cfg;
	cw_config_defaults(&cfg);
	rc = 0;
cleanup:
	free(pk.canon);
	cw_config_free(&cfg);
	return rc;
}

int cw_config_default(struct cw_config *out, char *err, size_t errlen)
{
	const struct cw_default_env env = {
		.prefix = "",
		.home = getenv("HOME"),
		.gocache = getenv("GOCACHE"),
		.ccache_dir = getenv("CCACHE_DIR"),
		.sccache_dir = getenv("SCCACHE_DIR"),
		.pip_cache_dir = getenv("PIP_CACHE_DIR"),
	};
	return cw_config_default_env(&env, out, err, errlen);
}
