/* Reads the YAML configuration file into struct cw_config, checking every value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "config/config.h"
#include "config/internal.h"
#include "lib/file.h"
#include "lib/glob.h"
#include "lib/units.h"
#include "lib/yaml_depth.h"

#define CW_CONFIG_MAX_BYTES (1 << 20) /* a config file is small; refuse giant ones */
#define KEYPATH_MAX 128

void cw_purge_policy_defaults(struct cw_purge_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->high_watermark = 90.0;
	p->low_watermark = 80.0;
	p->interval_ms = 5 * 60 * 1000;
	p->timestamp = CW_TS_MAX;
	p->rate_limit = 1000.0;
	p->keep_hot.window_ms = 7ULL * 86400 * 1000;
	p->keep_hot.min_accesses = 3;
}

void cw_cache_config_defaults(struct cw_cache_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_groups = 64;
	c->track_reads = true;
	c->origin = CW_ORIGIN_FILE;
	cw_purge_policy_defaults(&c->purge);
}

void cw_config_defaults(struct cw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->access_state_interval_ms = 5 * 60 * 1000;
	cfg->poll_interval_ms = 1000;
	cfg->stale_ttl_ms = 120000;
	cfg->attach = CW_BACKEND_AUTO;
	cfg->max_walk = CW_MAX_WALK;
	cfg->access_records = CW_ACCESS_RECORDS_DEFAULT;
}

const char *cw_access_state_path(const struct cw_config *cfg)
{
	return cfg->access_state_path ? cfg->access_state_path : CW_ACCESS_STATE_DEFAULT_PATH;
}

static void cache_free(struct cw_cache_config *c)
{
	free(c->name);
	free(c->path);
	for (size_t i = 0; i < c->purge.nprotect; i++)
		free(c->purge.protect[i]);
	free(c->purge.protect);
}

void cw_config_free(struct cw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->ncaches; i++)
		cache_free(&cfg->caches[i]);
	free(cfg->caches);
	free(cfg->source);
	free(cfg->access_state_path);
	cw_config_defaults(cfg);
}

static const char *const backend_names[] = CW_BACKEND_NAMES;

/* The one parser of backend names: config, flags, `top` and the loader use it. */
int cw_backend_parse(const char *s, enum cw_backend *out)
{
	for (size_t i = 0; i < CW_BACKEND_COUNT; i++) {
		if (!strcmp(s, backend_names[i])) {
			*out = (enum cw_backend)i;
			return 0;
		}
	}
	return -1;
}

const char *cw_backend_name(enum cw_backend b)
{
	return (unsigned)b < CW_BACKEND_COUNT ? backend_names[b] : "unknown";
}

const char *cw_timestamp_name(enum cw_timestamp t)
{
	switch (t) {
	case CW_TS_ATIME:
		return "atime";
	case CW_TS_MTIME:
		return "mtime";
	case CW_TS_ACCESS:
		return "access";
	case CW_TS_MAX:
		break;
	}
	return "max";
}

int cw_timestamp_parse(const char *s, enum cw_timestamp *out)
{
	static const enum cw_timestamp all[] = { CW_TS_MAX, CW_TS_ATIME, CW_TS_MTIME, CW_TS_ACCESS };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(s, cw_timestamp_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

void cw_range_text(uint64_t lo, uint64_t hi, bool duration, char *buf, size_t len)
{
	char a[48], b[48];
	if (duration) {
		cw_format_duration_ms(lo, a, sizeof(a));
		cw_format_duration_ms(hi, b, sizeof(b));
	} else {
		snprintf(a, sizeof(a), "%llu", (unsigned long long)lo);
		snprintf(b, sizeof(b), "%llu", (unsigned long long)hi);
	}
	snprintf(buf, len, "%s to %s", a, b);
}

int cw_range_check(const char *what, const char *given, uint64_t v, uint64_t lo, uint64_t hi, bool duration,
		   char *err, size_t errlen)
{
	char range[112];
	if (v >= lo && v <= hi)
		return 0;
	cw_range_text(lo, hi, duration, range, sizeof(range));
	return cw_errf(err, errlen, "%s: %s is out of range (%s)", what, given, range);
}

struct cw_cache_config *cw_config_add_cache(struct cw_config *cfg)
{
	struct cw_cache_config *n = realloc(cfg->caches, (cfg->ncaches + 1) * sizeof(*n));
	if (!n)
		return NULL;
	cfg->caches = n;
	cw_cache_config_defaults(&n[cfg->ncaches]);
	return &n[cfg->ncaches++];
}

int cw_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void cw_quote(const char *v, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen < 8) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		char tmp[8];
		if (c == '"' || c == '\\')
			snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		else
			snprintf(tmp, sizeof(tmp), "%c", c);
		size_t tl = strlen(tmp);
		/* Keep room for '..."' and the terminator; long values are cut. */
		if (i >= 60 || o + tl + 5 > outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* ---- YAML walking ---------------------------------------------------------- */

/* Key paths are short (known keys, small indexes); cutting one only shortens a
 * message, so truncation is harmless here. */
__attribute__((format(printf, 2, 3)))
static void keypath(char out[KEYPATH_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, KEYPATH_MAX, fmt, ap);
	va_end(ap);
}

struct ctx {
	const char *name;     /* file name for messages */
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

/* "FILE:LINE:COL: KEYPATH: message" at node n (marks are 0-based in libyaml). */
__attribute__((format(printf, 4, 5)))
static int fail(struct ctx *x, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cw_errf(x->err, x->errlen, "%s:%zu:%zu: %s%s%s", x->name,
		       n->start_mark.line + 1, n->start_mark.column + 1, path,
		       *path ? ": " : "", msg);
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a value";
	}
}

static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* The scalar's text, refusing other node kinds, missing values and NUL bytes
 * (which would silently shorten a path). */
static const char *scalar(struct ctx *x, const yaml_node_t *n, const char *path, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		fail(x, n, path, "expected %s, got %s", what, kind_name(n));
		return NULL;
	}
	const char *v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		fail(x, n, path, "contains a NUL byte");
		return NULL;
	}
	if (is_null(n)) {
		fail(x, n, path, "missing value (expected %s)", what);
		return NULL;
	}
	return v;
}

static int bad_value(struct ctx *x, const yaml_node_t *n, const char *path, const char *what)
{
	char q[96];
	cw_quote((const char *)n->data.scalar.value, n->data.scalar.length, q, sizeof(q));
	return fail(x, n, path, "%s %s", q, what);
}

enum ftype {
	F_SIZE,      /* uint64_t, "5GiB" */
	F_DURATION,  /* uint64_t ms, "1h30m" */
	F_PERCENT,   /* double, "90%" */
	F_UINT,      /* unsigned */
	F_U64,       /* uint64_t */
	F_RATE,      /* double > 0 */
	F_BOOL,
	F_STRING,    /* char *, owned */
	F_ATTACH,    /* enum cw_backend */
	F_TIMESTAMP, /* enum cw_timestamp */
	F_PATTERNS,  /* char ** + size_t count (count follows the pointer's field) */
	F_NESTED,    /* handled by the caller */
};

struct field {
	const char *key;
	enum ftype type;
	size_t off;
	uint64_t min, max;   /* inclusive range for F_UINT, F_U64, F_DURATION, F_SIZE */
};

#define MAX_FIELDS 20

static int parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		uint64_t digit = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	*out = v;
	return 0;
}

/* DIGITS[.DIGITS] with at most six decimals (printed back exactly), nothing
 * else: strtod alone would also take "inf", "0x1p3", exponents and blanks. */
static int parse_rate(const char *s, double *out)
{
	const char *p = s;
	size_t ip = 0, fp = 0;

	while (*p >= '0' && *p <= '9')
		p++, ip++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, fp++;
		if (!fp || fp > 6)
			return -1;
	}
	if (!ip || *p || ip > 20)
		return -1;
	*out = strtod(s, NULL);
	return 0;
}

static int range_error(struct ctx *x, const yaml_node_t *n, const char *path,
		       const struct field *f, const char *v)
{
	char range[112], q[96];

	cw_quote(v, strlen(v), q, sizeof(q));
	cw_range_text(f->min, f->max, f->type == F_DURATION, range, sizeof(range));
	return fail(x, n, path, "%s is out of range (%s)", q, range);
}

/* protect is decoded as the pointer plus the count stored right after it. */
_Static_assert(offsetof(struct cw_purge_policy, nprotect) ==
		       offsetof(struct cw_purge_policy, protect) + sizeof(char **),
	       "nprotect must follow protect");

static int set_patterns(struct ctx *x, const yaml_node_t *n, const char *path, void *dst)
{
	char ***list = dst;
	size_t *count = (size_t *)((char *)dst + sizeof(char **));

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(x, n, path, "expected a list of patterns, got %s", kind_name(n));
	size_t cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!cap)
		return 0;
	*list = calloc(cap, sizeof(char *));
	if (!*list)
		return fail(x, n, path, "out of memory");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(x->doc, *it);
		char ip[KEYPATH_MAX];
		keypath(ip, "%s[%zu]", path, *count);
		const char *v = scalar(x, item, ip, "a file name pattern");
		if (!v)
			return -1;
		if (!*v)
			return fail(x, item, ip, "empty pattern");
		size_t col;
		const char *why = cw_glob_problem(v, &col);
		if (why) {
			/* point at the offending byte: past the opening quote if any */
			bool quoted = item->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
				      item->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
			return cw_errf(x->err, x->errlen, "%s:%zu:%zu: %s: protect pattern \"%s\" %s", x->name,
				       item->start_mark.line + 1, item->start_mark.column + 1 + col + quoted, ip, v,
				       why);
		}
		(*list)[*count] = strdup(v);
		if (!(*list)[*count])
			return fail(x, item, ip, "out of memory");
		(*count)++;
	}
	return 0;
}

/* Decodes one scalar into target + f->off according to f->type. */
static int set_field(struct ctx *x, const yaml_node_t *n, const char *path,
		     const struct field *f, void *target)
{
	void *dst = (char *)target + f->off;
	uint64_t u;
	double d;

	if (f->type == F_PATTERNS)
		return set_patterns(x, n, path, dst);
	const char *v = scalar(x, n, path, f->type == F_STRING ? "a string" : "a value");
	if (!v)
		return -1;
	switch (f->type) {
	case F_SIZE:
		if (cw_parse_size(v, &u))
			return bad_value(x, n, path, "is not a size (" CW_SIZE_UNITS ")");
		if (u < f->min || u > f->max)
			return range_error(x, n, path, f, v);
		*(uint64_t *)dst = u;
		return 0;
	case F_DURATION:
		if (cw_parse_duration_ms(v, &u))
			return bad_value(x, n, path, "is not a duration (e.g. 250ms, 30s, 5m, 1h30m, 7d)");
		if (u < f->min || u > f->max)
			return range_error(x, n, path, f, v);
		*(uint64_t *)dst = u;
		return 0;
	case F_PERCENT:
		if (cw_parse_percent(v, &d))
			return bad_value(x, n, path, "is not a percentage between 0% and 100% (e.g. 90%)");
		*(double *)dst = d;
		return 0;
	case F_UINT:
	case F_U64:
		if (parse_uint(v, &u))
			return bad_value(x, n, path, "is not a whole number (e.g. 64)");
		if (u < f->min || u > f->max)
			return range_error(x, n, path, f, v);
		if (f->type == F_UINT)
			*(unsigned *)dst = (unsigned)u;
		else
			*(uint64_t *)dst = u;
		return 0;
	case F_RATE:
		if (parse_rate(v, &d) || d <= 0.0 || d > CW_RATE_LIMIT_MAX)
			return bad_value(x, n, path, "is not a rate in deletions per second (e.g. 1000; above 0, at most 1000000)");
		*(double *)dst = d;
		return 0;
	case F_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
			*(bool *)dst = true;
		else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
			*(bool *)dst = false;
		else
			return bad_value(x, n, path, "is not a boolean (true or false)");
		return 0;
	case F_STRING: {
		char *copy = strdup(v);
		if (!copy)
			return fail(x, n, path, "out of memory");
		free(*(char **)dst);
		*(char **)dst = copy;
		return 0;
	}
	case F_ATTACH:
		if (cw_backend_parse(v, (enum cw_backend *)dst))
			return bad_value(x, n, path, "is not an attach backend (" CW_BACKEND_LIST ")");
		return 0;
	case F_TIMESTAMP:
		if (cw_timestamp_parse(v, (enum cw_timestamp *)dst))
			return bad_value(x, n, path, "is not a timestamp (atime, mtime, max or access)");
		return 0;
	case F_PATTERNS:
	case F_NESTED:
		break;
	}
	return 0;
}

/* Walks a mapping against a field table: unknown and duplicate keys are
 * errors; scalar fields are decoded; vals[i] receives the value node of
 * fields[i] (NULL when absent) so callers can handle nested ones and point
 * at values in later messages. */
static int parse_mapping(struct ctx *x, const yaml_node_t *n, const char *path,
			 const struct field *fields, size_t nfields, void *target,
			 yaml_node_t **vals)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(x, n, path, "expected a mapping of keys, got %s", kind_name(n));
	for (size_t i = 0; i < nfields; i++)
		vals[i] = NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		if (k->type != YAML_SCALAR_NODE)
			return fail(x, k, path, "keys must be plain names, got %s", kind_name(k));
		const char *key = (const char *)k->data.scalar.value;
		size_t i = 0;
		while (i < nfields && (strcmp(key, fields[i].key) ||
				       strlen(key) != k->data.scalar.length))
			i++;
		if (i == nfields) {
			char q[96], valid[512] = "";
			cw_quote(key, k->data.scalar.length, q, sizeof(q));
			for (size_t j = 0; j < nfields; j++)
				snprintf(valid + strlen(valid), sizeof(valid) - strlen(valid),
					 "%s%s", j ? ", " : "", fields[j].key);
			return fail(x, k, path, "unknown key %s (valid keys: %s)", q, valid);
		}
		char kp[KEYPATH_MAX];
		keypath(kp, "%s%s%s", path, *path ? "." : "", key);
		if (vals[i])
			return fail(x, k, kp, "duplicate key (first given at line %zu)",
				    vals[i]->start_mark.line + 1);
		vals[i] = v;
		if (fields[i].type != F_NESTED && set_field(x, v, kp, &fields[i], target))
			return -1;
	}
	return 0;
}

#define FIELD(k, t, s, m, lo, hi) { k, t, offsetof(s, m), lo, hi }

static const struct field purge_fields[] = {
	FIELD("max_size", F_SIZE, struct cw_purge_policy, max_size, 0, UINT64_MAX),
	FIELD("high_watermark", F_PERCENT, struct cw_purge_policy, high_watermark, 0, 0),
	FIELD("low_watermark", F_PERCENT, struct cw_purge_policy, low_watermark, 0, 0),
	FIELD("max_age", F_DURATION, struct cw_purge_policy, max_age_ms, 0, UINT64_MAX),
	FIELD("min_age", F_DURATION, struct cw_purge_policy, min_age_ms, 0, UINT64_MAX),
	FIELD("min_free", F_PERCENT, struct cw_purge_policy, min_free, 0, 0),
	FIELD("max_files", F_U64, struct cw_purge_policy, max_files, 0, UINT64_MAX),
	FIELD("interval", F_DURATION, struct cw_purge_policy, interval_ms, CW_INTERVAL_MIN_MS, UINT64_MAX),
	FIELD("trigger_bytes", F_SIZE, struct cw_purge_policy, trigger_bytes, 0, UINT64_MAX),
	FIELD("timestamp", F_TIMESTAMP, struct cw_purge_policy, timestamp, 0, 0),
	FIELD("protect", F_PATTERNS, struct cw_purge_policy, protect, 0, 0),
	FIELD("dry_run", F_BOOL, struct cw_purge_policy, dry_run, 0, 0),
	FIELD("rate_limit", F_RATE, struct cw_purge_policy, rate_limit, 0, 0),
	FIELD("keep_hot", F_NESTED, struct cw_purge_policy, keep_hot, 0, 0),
};
enum { PF_HIGH = 1, PF_LOW = 2, PF_KEEP_HOT = 13 }; /* indexes into purge_fields */

static const struct field keep_hot_fields[] = {
	FIELD("window", F_DURATION, struct cw_keep_hot, window_ms, CW_KEEP_HOT_WINDOW_MIN_MS, CW_KEEP_HOT_WINDOW_MAX_MS),
	FIELD("min_accesses", F_UINT, struct cw_keep_hot, min_accesses, 1, CW_KEEP_HOT_MAX_ACCESSES),
	FIELD("age", F_BOOL, struct cw_keep_hot, age, 0, 0),
};

static const struct field access_state_fields[] = {
	FIELD("path", F_STRING, struct cw_config, access_state_path, 0, 0),
	FIELD("interval", F_DURATION, struct cw_config, access_state_interval_ms, CW_ACCESS_STATE_INTERVAL_MIN_MS,
	      CW_ACCESS_STATE_INTERVAL_MAX_MS),
};

static const struct field cache_fields[] = {
	FIELD("name", F_STRING, struct cw_cache_config, name, 0, 0),
	FIELD("path", F_STRING, struct cw_cache_config, path, 0, 0),
	FIELD("group_depth", F_UINT, struct cw_cache_config, group_depth, 0, CW_MAX_GROUP_DEPTH),
	FIELD("max_groups", F_UINT, struct cw_cache_config, max_groups, 0, CW_MAX_GROUPS_LIMIT),
	FIELD("wait_for_path", F_BOOL, struct cw_cache_config, wait_for_path, 0, 0),
	FIELD("purge", F_NESTED, struct cw_cache_config, purge, 0, 0),
	FIELD("track_reads", F_BOOL, struct cw_cache_config, track_reads, 0, 0),
};
enum { CF_NAME = 0, CF_PATH = 1, CF_PURGE = 5 }; /* indexes into cache_fields */

static const struct field bpf_fields[] = {
	FIELD("attach", F_ATTACH, struct cw_config, attach, 0, 0),
	FIELD("max_walk", F_UINT, struct cw_config, max_walk, 1, CW_MAX_WALK),
	FIELD("access_records", F_UINT, struct cw_config, access_records, CW_ACCESS_RECORDS_MIN,
	      CW_ACCESS_RECORDS_MAX),
};

static const struct field top_fields[] = {
	FIELD("poll_interval", F_DURATION, struct cw_config, poll_interval_ms, CW_POLL_MIN_MS, CW_POLL_MAX_MS),
	FIELD("stale_ttl", F_DURATION, struct cw_config, stale_ttl_ms, 0, CW_STALE_TTL_MAX_MS),
	FIELD("bpf", F_NESTED, struct cw_config, attach, 0, 0),
	FIELD("caches", F_NESTED, struct cw_config, caches, 0, 0),
	FIELD("access_state", F_NESTED, struct cw_config, access_state_path, 0, 0),
};
enum { TF_BPF = 2, TF_CACHES = 3, TF_ACCESS_STATE = 4 }; /* indexes into top_fields */

#define NF(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(NF(purge_fields) <= MAX_FIELDS && NF(cache_fields) <= MAX_FIELDS &&
		       NF(top_fields) <= MAX_FIELDS && NF(bpf_fields) <= MAX_FIELDS &&
		       NF(keep_hot_fields) <= MAX_FIELDS && NF(access_state_fields) <= MAX_FIELDS,
	       "vals[] arrays hold MAX_FIELDS entries");

static int parse_purge(struct ctx *x, const yaml_node_t *n, const char *path,
		       struct cw_purge_policy *p)
{
	yaml_node_t *vals[MAX_FIELDS];

	if (parse_mapping(x, n, path, purge_fields, NF(purge_fields), p, vals))
		return -1;
	p->enabled = true;
	if (vals[PF_KEEP_HOT]) {
		yaml_node_t *kvals[MAX_FIELDS];
		char kp[KEYPATH_MAX];
		keypath(kp, "%s.keep_hot", path);
		if (parse_mapping(x, vals[PF_KEEP_HOT], kp, keep_hot_fields, NF(keep_hot_fields), &p->keep_hot, kvals))
			return -1;
		p->keep_hot.enabled = true;
	}
	if (p->low_watermark >= p->high_watermark) {
		const yaml_node_t *at = vals[PF_LOW] ? vals[PF_LOW] : vals[PF_HIGH] ? vals[PF_HIGH] : n;
		char kp[KEYPATH_MAX];
		keypath(kp, "%s.%s", path, vals[PF_LOW] ? "low_watermark" : "high_watermark");
		return fail(x, at, kp, "low_watermark (%g%%) must be below high_watermark (%g%%)",
			    p->low_watermark, p->high_watermark);
	}
	if (!p->max_size && !p->max_age_ms && p->min_free == 0.0 && !p->max_files)
		return fail(x, n, path, "a purge block needs at least one limit "
			    "(max_size, max_age, min_free or max_files); remove it for report-only");
	return 0;
}

/* Base name of a path for a default cache name: "/a/b/" -> "b". */
static char *base_name(const char *path)
{
	size_t end = strlen(path);
	while (end > 1 && path[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	return strndup(path + start, end - start);
}

static int parse_cache(struct ctx *x, const yaml_node_t *n, const char *path,
		       struct cw_cache_config *c)
{
	yaml_node_t *vals[MAX_FIELDS];

	c->line = (int)n->start_mark.line + 1;
	c->column = (int)n->start_mark.column + 1;
	c->origin = CW_ORIGIN_FILE;
	if (parse_mapping(x, n, path, cache_fields, NF(cache_fields), c, vals))
		return -1;
	if (!vals[CF_PATH])
		return fail(x, n, path, "missing path (the absolute directory to watch)");
	char kp[KEYPATH_MAX];
	keypath(kp, "%s.path", path);
	if (c->path[0] != '/')
		return bad_value(x, vals[CF_PATH], kp, "is not an absolute path");
	char *clean = cw_path_clean(c->path);
	if (!clean)
		return fail(x, n, path, "out of memory");
	free(c->path);
	c->path = clean;
	if (!c->name && !(c->name = base_name(c->path)))
		return fail(x, n, path, "out of memory");
	keypath(kp, "%s.name", path);
	const char *why = cw_name_problem(c->name);
	if (why) {
		char q[96];
		cw_quote(c->name, strlen(c->name), q, sizeof(q));
		return fail(x, vals[CF_NAME] ? vals[CF_NAME] : n, kp,
			    "%s is not a valid cache name (%s)", q, why);
	}
	keypath(kp, "%s.purge", path);
	if (vals[CF_PURGE] && parse_purge(x, vals[CF_PURGE], kp, &c->purge))
		return -1;
	return 0;
}

static int parse_caches(struct ctx *x, const yaml_node_t *n, struct cw_config *cfg)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(x, n, "caches", "expected a list of caches, got %s", kind_name(n));
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > CW_MAX_ROOTS)
		return fail(x, n, "caches", "%zu caches, at most %d are supported", count, CW_MAX_ROOTS);
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item = yaml_document_get_node(x->doc, n->data.sequence.items.start[i]);
		char kp[KEYPATH_MAX];
		keypath(kp, "caches[%zu]", i);
		struct cw_cache_config *c = cw_config_add_cache(cfg);
		if (!c)
			return fail(x, item, kp, "out of memory");
		if (parse_cache(x, item, kp, c))
			return -1;
	}
	return 0;
}

static int parse_root(struct ctx *x, const yaml_node_t *root, struct cw_config *cfg)
{
	yaml_node_t *vals[MAX_FIELDS];

	/* An empty file, or one holding only comments, is a valid empty config. */
	if (is_null(root))
		return 0;
	if (parse_mapping(x, root, "", top_fields, NF(top_fields), cfg, vals))
		return -1;
	if (vals[TF_BPF]) {
		yaml_node_t *bvals[MAX_FIELDS];
		if (parse_mapping(x, vals[TF_BPF], "bpf", bpf_fields, NF(bpf_fields), cfg, bvals))
			return -1;
	}
	if (vals[TF_CACHES] && parse_caches(x, vals[TF_CACHES], cfg))
		return -1;
	if (vals[TF_ACCESS_STATE]) {
		yaml_node_t *avals[MAX_FIELDS];
		if (parse_mapping(x, vals[TF_ACCESS_STATE], "access_state", access_state_fields,
				  NF(access_state_fields), cfg, avals))
			return -1;
		if (avals[0] && cfg->access_state_path[0] != '/')
			return bad_value(x, avals[0], "access_state.path", "is not an absolute path");
	}
	return 0;
}

static int syntax_error(const char *name, const yaml_parser_t *p, char *err, size_t errlen)
{
	const yaml_mark_t *m = &p->problem_mark;
	if (p->context)
		return cw_errf(err, errlen, "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu)",
			       name, m->line + 1, m->column + 1,
			       p->problem ? p->problem : "unknown problem", p->context,
			       p->context_mark.line + 1);
	return cw_errf(err, errlen, "%s:%zu:%zu: YAML syntax error: %s", name, m->line + 1,
		       m->column + 1, p->problem ? p->problem : "unknown problem");
}

/* Parses exactly one YAML document into cfg (no validation of the file
 * system yet). The document is always freed here. */
static int parse_document(const char *name, const char *buf, size_t len, struct cw_config *cfg,
			  char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_doc = false;
	int rc = -1;

	size_t line, col;
	if (cw_yaml_too_deep(buf, len, CW_YAML_MAX_DEPTH, &line, &col))
		return cw_errf(err, errlen, "%s:%zu:%zu: nested deeper than %d levels", name, line, col,
			       CW_YAML_MAX_DEPTH);
	if (!yaml_parser_initialize(&parser))
		return cw_errf(err, errlen, "%s: out of memory", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(name, &parser, err, errlen);
		goto cleanup;
	}
	have_doc = true;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root) {
		/* A second document would be silently ignored otherwise. */
		if (!yaml_parser_load(&parser, &extra)) {
			syntax_error(name, &parser, err, errlen);
			goto cleanup;
		}
		yaml_node_t *second = yaml_document_get_root_node(&extra);
		size_t line = second ? second->start_mark.line + 1 : 0;
		yaml_document_delete(&extra);
		if (second) {
			cw_errf(err, errlen, "%s:%zu:1: only one YAML document is allowed", name, line);
			goto cleanup;
		}
		struct ctx x = { .name = name, .doc = &doc, .err = err, .errlen = errlen };
		if (parse_root(&x, root, cfg))
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int cw_config_parse(const char *name, const char *buf, size_t len, struct cw_config *out,
		    char *err, size_t errlen)
{
	struct cw_config cfg;

	cw_config_defaults(&cfg);
	cw_config_defaults(out);
	if (!name)
		name = "<config>";
	if (len > CW_CONFIG_MAX_BYTES) {
		cw_errf(err, errlen, "%s: %zu bytes is too large for a config file (at most %d)",
			name, len, CW_CONFIG_MAX_BYTES);
		goto cleanup;
	}
	if (parse_document(name, buf, len, &cfg, err, errlen))
		goto cleanup;
	if (!(cfg.source = strdup(name))) {
		cw_errf(err, errlen, "%s: out of memory", name);
		goto cleanup;
	}
	return cw_config_finish(&cfg, out, err, errlen);
cleanup:
	cw_config_free(&cfg);
	return -1;
}

int cw_config_finish(struct cw_config *cfg, struct cw_config *out, char *err, size_t errlen)
{
	int rc = cw_config_validate(cfg, err, errlen);
	if (rc == 0) {
		*out = *cfg;
		cw_config_defaults(cfg);
	}
	cw_config_free(cfg);
	return rc;
}

int cw_config_load(const char *path, struct cw_config *out, char *err, size_t errlen)
{
	char *buf = NULL, why[128];
	size_t len;

	cw_config_defaults(out);
	/* Oversize is read (one byte over) and reported by cw_config_parse. */
	if (cw_read_regular_file(path, CW_CONFIG_MAX_BYTES, 1, &buf, &len, why, sizeof(why)))
		return cw_errf(err, errlen, "%s: cannot open config file: %s", path, why);
	int rc = cw_config_parse(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}
