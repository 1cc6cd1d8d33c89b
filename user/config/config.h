/* The agent's configuration: caches, their purge policies and global settings. */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h> /* cachewatch.h uses __u32/__u64 */
#include "cachewatch.h"

/* CW_TS_ACCESS: the access the data plane observed (or the state file kept),
 * falling back to max(atime, mtime) for files it has no record of. */
enum cw_timestamp { CW_TS_MAX, CW_TS_ATIME, CW_TS_MTIME, CW_TS_ACCESS };

/* keep_hot.min_accesses is at most the number of recent accesses a record
 * keeps (CW_ACCESS_RECENT in dataplane/access.h; purge/access.c checks both agree). */
#define CW_KEEP_HOT_MAX_ACCESSES 4

/* Entries accessed at least min_accesses times within window are kept by
 * size-, free-space- and file-count-driven purges (and by max_age when age). */
struct cw_keep_hot {
	bool enabled;            /* a keep_hot block was given */
	uint64_t window_ms;      /* default 7d */
	unsigned min_accesses;   /* 1..CW_KEEP_HOT_MAX_ACCESSES, default 3 */
	bool age;                /* also protect from max_age (default false) */
};

struct cw_purge_policy {
	bool enabled;            /* false: report only, never delete */
	uint64_t max_size;       /* bytes of disk usage (st_blocks*512); 0 = no cap */
	double high_watermark;   /* percent of max_size that starts a purge (default 90) */
	double low_watermark;    /* percent of max_size a purge goes down to (default 80) */
	uint64_t max_age_ms;     /* unused longer than this: delete; 0 = off */
	uint64_t min_age_ms;     /* never delete anything used more recently */
	double min_free;         /* percent of the file system that must stay free; 0 = off */
	uint64_t max_files;      /* 0 = no cap */
	uint64_t interval_ms;    /* periodic scan (default 5m) */
	uint64_t trigger_bytes;  /* written since the last scan that trigger one; 0 = off */
	enum cw_timestamp timestamp;
	char **protect;          /* glob patterns, matched against the relative path and the base name */
	size_t nprotect;
	bool dry_run;
	double rate_limit;       /* deletions per second (default 1000) */
	struct cw_keep_hot keep_hot;
};

/* Where a cache came from, so validation messages can point at it. */
enum cw_cache_origin {
	CW_ORIGIN_FILE,          /* the config file, at line:column */
	CW_ORIGIN_FLAG,          /* --watch */
	CW_ORIGIN_DEFAULT,       /* the embedded default list */
};

struct cw_cache_config {
	char *name;
	char *path;              /* absolute */
	unsigned group_depth;
	unsigned max_groups;     /* default 64; 0 = unlimited */
	bool wait_for_path;
	bool track_reads;        /* default true: read counters, opens for reading, access records, reuse (docs/backends.md) */
	struct cw_purge_policy purge;
	int line;                /* where it was defined, for messages (0 if not from a file) */
	int column;
	enum cw_cache_origin origin;
};

struct cw_config {
	char *source;                  /* file name, or NULL */
	uint64_t poll_interval_ms;     /* default 1000 */
	uint64_t stale_ttl_ms;         /* default 120000 */
	enum cw_backend attach;        /* default auto */
	unsigned max_walk;             /* d_parent walk bound, default CW_MAX_WALK */
	unsigned access_records;       /* per-file access records in BPF, default CW_ACCESS_RECORDS_DEFAULT */
	struct cw_cache_config *caches;
	size_t ncaches;
	bool embedded;                 /* built from the embedded default list */
	char *access_state_path;       /* per-file access records kept across restarts; NULL = default */
	uint64_t access_state_interval_ms; /* how often the agent writes it (default 5m) */
};

/* Defaults only: nothing is allocated, so cw_config_free is optional after these. */
void cw_purge_policy_defaults(struct cw_purge_policy *p);
void cw_cache_config_defaults(struct cw_cache_config *c);
void cw_config_defaults(struct cw_config *cfg);
/* Frees everything and leaves cfg as cw_config_defaults() would; safe twice. */
void cw_config_free(struct cw_config *cfg);

const char *cw_timestamp_name(enum cw_timestamp t); /* "max", "atime", "mtime", "access" */
/* Parses "atime", "mtime", "max" or "access"; 0 or -1. The file and `purge --timestamp` both use it. */
int cw_timestamp_parse(const char *s, enum cw_timestamp *out);
/* Backend names (CW_BACKEND_NAMES): 0, or -1 for a name that is not one. */
int cw_backend_parse(const char *s, enum cw_backend *out);
const char *cw_backend_name(enum cw_backend b); /* "unknown" out of range */

/* Ranges of the duration settings, in ms: the file, the flags, validation and
 * `top --interval` all check against these. */
#define CW_POLL_MIN_MS 10ULL
#define CW_POLL_MAX_MS 3600000ULL          /* 1h */
#define CW_STALE_TTL_MAX_MS 604800000ULL   /* 7d */
#define CW_INTERVAL_MIN_MS 1000ULL         /* purge scans at most once a second */
#define CW_KEEP_HOT_WINDOW_MIN_MS 1000ULL          /* 1s */
#define CW_KEEP_HOT_WINDOW_MAX_MS 31536000000ULL   /* 365d */
#define CW_ACCESS_STATE_INTERVAL_MIN_MS 1000ULL    /* 1s */
#define CW_ACCESS_STATE_INTERVAL_MAX_MS 86400000ULL /* 1d */
#define CW_ACCESS_STATE_DEFAULT_PATH "/var/lib/cachewatch/access.state"
/* The state file path in force: the configured one or the default. */
const char *cw_access_state_path(const struct cw_config *cfg);

/* "LO to HI" of a range, durations as "10ms"/"1h", else as numbers. */
void cw_range_text(uint64_t lo, uint64_t hi, bool duration, char *buf, size_t len);
/* 0 when lo <= v <= hi; else -1 with "WHAT: GIVEN is out of range (LO to HI)"
 * in err (GIVEN: the value as the user wrote it, quoted by the caller). */
int cw_range_check(const char *what, const char *given, uint64_t v, uint64_t lo, uint64_t hi, bool duration,
		   char *err, size_t errlen);

/* All functions below that take err write one sentence there on failure
 * ("FILE:LINE:COL: KEY.PATH: what is wrong") and return -1; out is then left
 * empty (as cw_config_defaults), never half filled. */

/* Reads, parses and completely validates a YAML file (also used for reloads:
 * call it into a fresh struct and swap only on success). */
int cw_config_load(const char *path, struct cw_config *out, char *err, size_t errlen);
/* Same for a buffer; name is used in messages and as source. */
int cw_config_parse(const char *name, const char *buf, size_t len, struct cw_config *out,
		    char *err, size_t errlen);
/* Every rule of the file format, on a configuration built any way (file,
 * --watch, embedded default): values, names, paths, dangerous purge roots,
 * duplicate and nested roots, the root count. Does not change cfg. */
int cw_config_validate(const struct cw_config *cfg, char *err, size_t errlen);
/* Appends a report-only cache from "--watch [NAME=]DIR" (NAME defaults to the
 * base name of DIR). Checks the entry; cross checks come with cw_config_validate. */
int cw_config_add_watch(struct cw_config *cfg, const char *spec, unsigned group_depth,
			char *err, size_t errlen);

/* Where the embedded default looks. Directories under prefix stand for the
 * machine's / (tests point it at a fake tree); home, gocache, ... are the
 * agent's own environment and are used as given. */
struct cw_default_env {
	const char *prefix;       /* "" for the real machine */
	const char *home;         /* $HOME, or NULL */
	const char *gocache;      /* $GOCACHE, or NULL */
	const char *ccache_dir;   /* $CCACHE_DIR, or NULL */
	const char *sccache_dir;  /* $SCCACHE_DIR, or NULL */
	const char *pip_cache_dir;/* $PIP_CACHE_DIR, or NULL */
};
/* The usual cache directories that exist here, report-only, de-duplicated;
 * zero caches is a valid result. Sets cfg->embedded. */
int cw_config_default(struct cw_config *out, char *err, size_t errlen);
int cw_config_default_env(const struct cw_default_env *env, struct cw_config *out,
			  char *err, size_t errlen);

/* Command-line values as given (NULL: flag not given). Precedence, lowest
 * first: built-in defaults, then the file (or the embedded default when there
 * is neither a file nor a --watch), then these flags. */
struct cw_config_flags {
	const char *config_file;      /* --config.file */
	const char *const *watch;     /* --watch [NAME=]DIR, repeatable */
	size_t nwatch;
	const char *group_depth;      /* --group-depth: group_depth of --watch caches */
	bool wait_for_path;           /* --wait-for-path: wait_for_path of --watch caches */
	const char *bpf_attach;       /* --bpf.attach */
	const char *poll_interval;    /* --poll.interval */
	const char *stale_ttl;        /* --metrics.stale-ttl */
};
/* Builds and validates the effective configuration; the agent calls it at
 * start and again on every reload (flags keep overriding the reloaded file). */
int cw_config_resolve(const struct cw_config_flags *flags, struct cw_config *out,
		      char *err, size_t errlen);

/* The effective configuration as YAML that cw_config_parse accepts again. */
int cw_config_print(const struct cw_config *cfg, FILE *f);

#endif
