/* libFuzzer harness: the config parser must never crash, leak or hang, and what
 * it accepts must print back into a configuration it accepts again. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config.h"
#include "lib/units.h"

/* The value parsers see the input as one string too. */
static void fuzz_units(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t u;
	double d;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (cw_parse_size(s, &u) == 0) {
		char buf[64];
		uint64_t back;
		cw_format_size_exact(u, buf, sizeof(buf));
		if (cw_parse_size(buf, &back) || back != u)
			abort();
	}
	if (cw_parse_duration_ms(s, &u) == 0) {
		char buf[64];
		uint64_t back;
		cw_format_duration_ms(u, buf, sizeof(buf));
		if (cw_parse_duration_ms(buf, &back) || back != u)
			abort();
	}
	if (cw_parse_percent(s, &d) == 0 && (d < 0.0 || d > 100.0))
		abort();
	free(s);
}

static bool same_cache(const struct cw_cache_config *a, const struct cw_cache_config *b)
{
	const struct cw_purge_policy *p = &a->purge, *q = &b->purge;

	if (strcmp(a->name, b->name) || strcmp(a->path, b->path) ||
	    a->group_depth != b->group_depth || a->max_groups != b->max_groups ||
	    a->wait_for_path != b->wait_for_path || p->enabled != q->enabled)
		return false;
	if (!p->enabled)
		return true;
	if (p->max_size != q->max_size || p->max_age_ms != q->max_age_ms ||
	    p->min_age_ms != q->min_age_ms || p->max_files != q->max_files ||
	    p->interval_ms != q->interval_ms || p->trigger_bytes != q->trigger_bytes ||
	    p->timestamp != q->timestamp || p->dry_run != q->dry_run || p->nprotect != q->nprotect ||
	    p->high_watermark != q->high_watermark || p->low_watermark != q->low_watermark ||
	    p->min_free != q->min_free || p->rate_limit != q->rate_limit ||
	    p->keep_hot.enabled != q->keep_hot.enabled || p->keep_hot.window_ms != q->keep_hot.window_ms ||
	    p->keep_hot.min_accesses != q->keep_hot.min_accesses || p->keep_hot.age != q->keep_hot.age)
		return false;
	for (size_t i = 0; i < p->nprotect; i++)
		if (strcmp(p->protect[i], q->protect[i]))
			return false;
	return true;
}

/* Every value must read back exactly as it was. */
static bool same(const struct cw_config *a, const struct cw_config *b)
{
	if (a->ncaches != b->ncaches || a->poll_interval_ms != b->poll_interval_ms ||
	    a->stale_ttl_ms != b->stale_ttl_ms || a->attach != b->attach ||
	    a->max_walk != b->max_walk || a->access_state_interval_ms != b->access_state_interval_ms ||
	    strcmp(cw_access_state_path(a), cw_access_state_path(b)))
		return false;
	for (size_t i = 0; i < a->ncaches; i++)
		if (!same_cache(&a->caches[i], &b->caches[i]))
			return false;
	return true;
}

static void roundtrip(const struct cw_config *cfg)
{
	char *out = NULL, err[1024];
	size_t len = 0;
	struct cw_config again;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return;
	cw_config_print(cfg, f);
	fclose(f);
	if (cw_config_parse("printed.yml", out, len, &again, err, sizeof(err))) {
		fprintf(stderr, "printed configuration rejected: %s\n%s\n", err, out);
		abort();
	}
	if (!same(cfg, &again)) {
		fprintf(stderr, "printed configuration reads back differently:\n%s\n", out);
		abort();
	}
	cw_config_free(&again);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cw_config cfg;
	char err[1024];

	fuzz_units(data, size);
	if (cw_config_parse("fuzz.yml", (const char *)data, size, &cfg, err, sizeof(err)) == 0) {
		roundtrip(&cfg);
	} else if (!err[0] || cfg.ncaches || cfg.caches) {
		abort(); /* a failure must explain itself and leave nothing behind */
	}
	cw_config_free(&cfg);
	return 0;
}
