/* Command-line flags on top of the config file: --watch entries and overrides. */
#include <stdlib.h>
#include <string.h>
#include "config/config.h"
#include "config/internal.h"
#include "lib/units.h"

/* Splits "[NAME=]DIR". A spec that starts with '/' is all directory, so
 * directories containing '=' still work without a name. */
static int split_watch(const char *spec, char **name, char **dir)
{
	const char *eq = spec[0] == '/' ? NULL : strchr(spec, '=');
	const char *d = eq ? eq + 1 : spec;

	*name = NULL;
	*dir = cw_path_clean(d);
	if (!*dir)
		return -1;
	if (eq) {
		*name = strndup(spec, (size_t)(eq - spec));
	} else {
		/* The base name of the cleaned path; "/" has none (caught later). */
		const char *slash = strrchr(*dir, '/');
		*name = strdup(slash && slash[1] ? slash + 1 : "");
	}
	if (!*name) {
		free(*dir);
		*dir = NULL;
		return -1;
	}
	return 0;
}

int cw_config_add_watch(struct cw_config *cfg, const char *spec, unsigned group_depth,
			char *err, size_t errlen)
{
	char *name = NULL, *dir = NULL;
	char q[96];
	int rc = -1;

	cw_quote(spec, strlen(spec), q, sizeof(q));
	if (!*spec)
		return cw_errf(err, errlen, "--watch: empty value (expected [NAME=]DIR)");
	if (split_watch(spec, &name, &dir))
		return cw_errf(err, errlen, "--watch %s: out of memory", q);
	if (dir[0] != '/') {
		cw_errf(err, errlen, "--watch %s: the directory must be an absolute path", q);
		goto cleanup;
	}
	const char *why = cw_name_problem(name);
	if (why) {
		cw_errf(err, errlen, "--watch %s: not a valid cache name (%s); use NAME=DIR", q, why);
		goto cleanup;
	}
	if (group_depth > CW_MAX_GROUP_DEPTH) {
		cw_errf(err, errlen, "--group-depth: %u is out of range (0 to %d)", group_depth,
			CW_MAX_GROUP_DEPTH);
		goto cleanup;
	}
	struct cw_cache_config *c = cw_config_add_cache(cfg);
	if (!c) {
		cw_errf(err, errlen, "--watch %s: out of memory", q);
		goto cleanup;
	}
	c->name = name;
	c->path = dir;
	c->group_depth = group_depth;
	c->origin = CW_ORIGIN_FLAG;
	name = dir = NULL;
	rc = 0;
cleanup:
	free(name);
	free(dir);
	return rc;
}

static int flag_duration(const char *flag, const char *v, uint64_t lo, uint64_t hi,
			 uint64_t *out, char *err, size_t errlen)
{
	char q[96];

	cw_quote(v, strlen(v), q, sizeof(q));
	if (cw_parse_duration_ms(v, out))
		return cw_errf(err, errlen, "%s: %s is not a duration (e.g. 1s, 250ms, 2m)", flag, q);
	return cw_range_check(flag, q, *out, lo, hi, true, err, errlen);
}

static int flag_group_depth(const char *v, unsigned *out, char *err, size_t errlen)
{
	char q[96];

	*out = 0;
	if (!v)
		return 0;
	cw_quote(v, strlen(v), q, sizeof(q));
	if (strlen(v) != 1 || v[0] < '0' || v[0] > '0' + CW_MAX_GROUP_DEPTH)
		return cw_errf(err, errlen, "--group-depth: %s is not a depth from 0 to %d", q,
			       CW_MAX_GROUP_DEPTH);
	*out = (unsigned)(v[0] - '0');
	return 0;
}

/* Global overrides: each given flag replaces the file's (or default) value. */
static int apply_overrides(const struct cw_config_flags *fl, struct cw_config *cfg, char *err,
			   size_t errlen)
{
	if (fl->poll_interval && flag_duration("--poll.interval", fl->poll_interval, CW_POLL_MIN_MS,
					       CW_POLL_MAX_MS, &cfg->poll_interval_ms, err, errlen))
		return -1;
	if (fl->stale_ttl && flag_duration("--metrics.stale-ttl", fl->stale_ttl, 0,
					   CW_STALE_TTL_MAX_MS, &cfg->stale_ttl_ms, err, errlen))
		return -1;
	if (fl->bpf_attach && cw_backend_parse(fl->bpf_attach, &cfg->attach)) {
		char q[96];
		cw_quote(fl->bpf_attach, strlen(fl->bpf_attach), q, sizeof(q));
		return cw_errf(err, errlen, "--bpf.attach: %s is not an attach backend "
			       "(" CW_BACKEND_LIST ")", q);
	}
	return 0;
}

int cw_config_resolve(const struct cw_config_flags *fl, struct cw_config *out, char *err,
		      size_t errlen)
{
	struct cw_config cfg;
	unsigned depth;

	cw_config_defaults(&cfg);
	cw_config_defaults(out);
	/* Flag syntax first: a typo in a flag is reported before file problems. */
	if (flag_group_depth(fl->group_depth, &depth, err, errlen))
		goto cleanup;
	if (fl->config_file) {
		if (cw_config_load(fl->config_file, &cfg, err, errlen))
			goto cleanup;
	} else if (!fl->nwatch) {
		if (cw_config_default(&cfg, err, errlen))
			goto cleanup;
	}
	for (size_t i = 0; i < fl->nwatch; i++) {
		if (cw_config_add_watch(&cfg, fl->watch[i], depth, err, errlen))
			goto cleanup;
		cfg.caches[cfg.ncaches - 1].wait_for_path = fl->wait_for_path;
	}
	if (apply_overrides(fl, &cfg, err, errlen))
		goto cleanup;
	return cw_config_finish(&cfg, out, err, errlen);
cleanup:
	cw_config_free(&cfg);
	return -1;
}
