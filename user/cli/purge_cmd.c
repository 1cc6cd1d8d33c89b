/* `cachewatch purge`: one-shot purge of configured caches or of one directory, printing every victim. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include "cli/commands.h"
#include "config/config.h"
#include "lib/glob.h"
#include "lib/log.h"
#include "lib/root.h"
#include "purge/access.h"
#include "purge/purge.h"
#include "lib/units.h"

#define MAX_PROTECT 256
#define MAX_CACHES 64

static atomic_bool interrupted; /* set by SIGINT/SIGTERM: the purge stops promptly */

struct purge_args {
	const char *config_file;
	const char *caches[MAX_CACHES];
	size_t ncaches;
	const char *dir;
	bool dry_run, verbose, quiet;
	bool have_limit, have_rate;
	const char *state_file;        /* --state-file: access records (timestamp access, keep_hot) */
	double rate_limit;
	struct cw_purge_policy policy; /* directory mode */
	char *protect[MAX_PROTECT];
};

struct printer {
	const char *root;
	int64_t now_ns; /* ages are counted from the start of the run */
	bool dry_run, quiet;
};

enum {
	OPT_CONFIG = 1000, OPT_CACHE, OPT_DRY_RUN, OPT_MAX_SIZE, OPT_MAX_AGE, OPT_MIN_AGE, OPT_MIN_FREE,
	OPT_MAX_FILES, OPT_PROTECT, OPT_TIMESTAMP, OPT_RATE, OPT_HIGH, OPT_LOW, OPT_STATE_FILE,
	OPT_KEEP_HOT_WINDOW, OPT_KEEP_HOT_ACCESSES, OPT_KEEP_HOT_AGE,
};

static const struct option long_opts[] = {
	{ "config.file", required_argument, NULL, OPT_CONFIG },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "min-age", required_argument, NULL, OPT_MIN_AGE },
	{ "min-free", required_argument, NULL, OPT_MIN_FREE },
	{ "max-files", required_argument, NULL, OPT_MAX_FILES },
	{ "protect", required_argument, NULL, OPT_PROTECT },
	{ "timestamp", required_argument, NULL, OPT_TIMESTAMP },
	{ "rate-limit", required_argument, NULL, OPT_RATE },
	{ "high-watermark", required_argument, NULL, OPT_HIGH },
	{ "low-watermark", required_argument, NULL, OPT_LOW },
	{ "state-file", required_argument, NULL, OPT_STATE_FILE },
	{ "keep-hot-window", required_argument, NULL, OPT_KEEP_HOT_WINDOW },
	{ "keep-hot-accesses", required_argument, NULL, OPT_KEEP_HOT_ACCESSES },
	{ "keep-hot-age", no_argument, NULL, OPT_KEEP_HOT_AGE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cachewatch purge [--dry-run] --config.file FILE [--cache NAME]...\n"
		"       cachewatch purge [--dry-run] LIMIT... [OPTIONS] DIR\n\n"
		"Purges caches once, now, and prints every file it deletes (or would delete):\n"
		"  STATUS REASON BYTES AGE PATH   (AGE: since last use, e.g. 12d3h; control bytes\n"
		"                                  in PATH are escaped as \\n, \\xHH)\n"
		"then a summary per cache. Lines come out in deletion order: the cutoff is chosen\n"
		"so the least recently used files go, but the files older than the cutoff (all\n"
		"of which go) are deleted in directory walk order, not sorted; only the files at\n"
		"the cutoff are deleted oldest first.\n\n"
		"Limits (directory mode, at least one):\n"
		"  --max-size SIZE          cap on disk usage, e.g. 5GiB; purging starts above the\n"
		"                           high watermark and goes down to the low one\n"
		"  --high-watermark PCT     of --max-size / --max-files that starts a purge (default 90%%)\n"
		"  --low-watermark PCT      of --max-size / --max-files a purge goes down to (default 80%%)\n"
		"  --max-age DURATION       delete files unused for longer, e.g. 5d\n"
		"  --min-free PCT           purge until this much of the file system is free, e.g. 10%%\n"
		"  --max-files N            cap on the number of files (same watermarks)\n"
		"Options:\n"
		"  --min-age DURATION       never delete files used more recently, e.g. 1h\n"
		"  --protect GLOB           never delete matching files; without '/' it matches base\n"
		"                           names at any depth, with '/' the path from DIR, '**' any\n"
		"                           number of directories; a matching directory protects its\n"
		"                           contents; repeatable\n"
		"  --timestamp MODE         what \"used\" means: atime, mtime, max (default) or access:\n"
		"                           the last access the agent observed (its state file),\n"
		"                           max(atime, mtime) for files it has no record of\n"
		"  --keep-hot-accesses N    keep files accessed at least N times (1 to %d) within the\n"
		"                           keep_hot window from size, free-space and file-count\n"
		"                           purges (default 3 when only the window is given)\n"
		"  --keep-hot-window DURATION  the keep_hot window (default 7d)\n"
		"  --keep-hot-age           keep_hot also protects from --max-age\n"
		"  --state-file FILE        the agent's access records (default the config's\n"
		"                           access_state.path, else " CW_ACCESS_STATE_DEFAULT_PATH ")\n"
		"  --rate-limit N           deletions per second, 0 = unlimited (default 1000)\n"
		"  --config.file FILE       purge the caches of this configuration file\n"
		"  --cache NAME             only this configured cache; repeatable\n"
		"  --dry-run                delete nothing, print what would be deleted\n"
		"  -q, --quiet              print only the summary\n"
		"  -v, --verbose            debug logging and peak memory in the summary\n"
		"  -h, --help               this help\n\n"
		"Exit status: 0 done; 1 something could not be deleted or scanned (no permission,\n"
		"read-only file system); 2 bad arguments (a refused root: system or home directory, symlink).\n",
		CW_KEEP_HOT_MAX_ACCESSES);
}

static int bad(const char *opt, const char *val, const char *expected)
{
	fprintf(stderr, "cachewatch purge: %s: '%s' is not %s\n", opt, val, expected);
	return -1;
}

static int parse_limit(struct purge_args *a, int opt, const char *v)
{
	struct cw_purge_policy *p = &a->policy;
	char *end;
	switch (opt) {
	case OPT_MAX_SIZE:
		a->have_limit = true;
		return cw_parse_size(v, &p->max_size) || !p->max_size
			       ? bad("--max-size", v, "a size above zero (" CW_SIZE_UNITS ")") : 0;
	case OPT_MAX_AGE:
		a->have_limit = true;
		return cw_parse_duration_ms(v, &p->max_age_ms) || !p->max_age_ms
			       ? bad("--max-age", v, "a duration above zero (e.g. 5d, 12h, 30m)") : 0;
	case OPT_MIN_AGE:
		return cw_parse_duration_ms(v, &p->min_age_ms) ? bad("--min-age", v, "a duration (e.g. 1h, 10m)") : 0;
	case OPT_MIN_FREE:
		a->have_limit = true;
		return cw_parse_percent(v, &p->min_free) || p->min_free <= 0
			       ? bad("--min-free", v, "a percentage above zero (e.g. 10%)") : 0;
	case OPT_HIGH:
		return cw_parse_percent(v, &p->high_watermark) || p->high_watermark <= 0
			       ? bad("--high-watermark", v, "a percentage above zero (e.g. 90%)") : 0;
	case OPT_LOW:
		return cw_parse_percent(v, &p->low_watermark) ? bad("--low-watermark", v, "a percentage (e.g. 80%)") : 0;
	case OPT_MAX_FILES:
		a->have_limit = true;
		errno = 0;
		p->max_files = strtoull(v, &end, 10);
		return errno || end == v || *end || v[0] == '-' || !p->max_files
			       ? bad("--max-files", v, "a whole number above zero") : 0;
	default:
		return -1;
	}
}

static int parse_opt(struct purge_args *a, int opt, const char *v)
{
	char *end;
	switch (opt) {
	case OPT_CONFIG:
		a->config_file = v;
		return 0;
	case OPT_CACHE:
		if (a->ncaches >= MAX_CACHES)
			return bad("--cache", v, "accepted: too many --cache flags");
		a->caches[a->ncaches++] = v;
		return 0;
	case OPT_DRY_RUN:
		a->dry_run = true;
		return 0;
	case OPT_PROTECT: {
		size_t col;
		const char *why = cw_glob_problem(v, &col);
		if (why) {
			fprintf(stderr, "cachewatch purge: --protect '%s': at character %zu: %s\n", v, col + 1, why);
			return -1;
		}
		if (a->policy.nprotect >= MAX_PROTECT)
			return bad("--protect", v, "accepted: too many --protect flags");
		a->protect[a->policy.nprotect++] = (char *)v;
		return 0;
	}
	case OPT_TIMESTAMP:
		return cw_timestamp_parse(v, &a->policy.timestamp) ? bad("--timestamp", v, "one of atime, mtime, max, access")
								    : 0;
	case OPT_STATE_FILE:
		if (v[0] != '/')
			return bad("--state-file", v, "an absolute path");
		a->state_file = v;
		return 0;
	case OPT_KEEP_HOT_WINDOW: {
		uint64_t ms;
		a->policy.keep_hot.enabled = true;
		if (cw_parse_duration_ms(v, &ms))
			return bad("--keep-hot-window", v, "a duration (e.g. 7d, 12h)");
		char err[160];
		if (cw_range_check("--keep-hot-window", v, ms, CW_KEEP_HOT_WINDOW_MIN_MS, CW_KEEP_HOT_WINDOW_MAX_MS, true, err,
				   sizeof(err))) {
			fprintf(stderr, "cachewatch purge: %s\n", err);
			return -1;
		}
		a->policy.keep_hot.window_ms = ms;
		return 0;
	}
	case OPT_KEEP_HOT_ACCESSES: {
		uint64_t n = 0;
		char err[160];
		a->policy.keep_hot.enabled = true;
		errno = 0;
		n = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-')
			return bad("--keep-hot-accesses", v, "a whole number");
		if (cw_range_check("--keep-hot-accesses", v, n, 1, CW_KEEP_HOT_MAX_ACCESSES, false, err, sizeof(err))) {
			fprintf(stderr, "cachewatch purge: %s\n", err);
			return -1;
		}
		a->policy.keep_hot.min_accesses = (unsigned)n;
		return 0;
	}
	case OPT_KEEP_HOT_AGE:
		a->policy.keep_hot.enabled = true;
		a->policy.keep_hot.age = true;
		return 0;
	case OPT_RATE:
		errno = 0;
		a->rate_limit = strtod(v, &end);
		a->have_rate = true;
		return errno || end == v || *end || !(a->rate_limit >= 0 && a->rate_limit <= 1e9)
			       ? bad("--rate-limit", v, "a number of deletions per second (0 = unlimited)") : 0;
	case 'v':
		a->verbose = true;
		return 0;
	case 'q':
		a->quiet = true;
		return 0;
	default:
		return parse_limit(a, opt, v);
	}
}

/* Returns 0, 1 for --help, -1 on bad arguments (message printed). */
static int parse_args(struct purge_args *a, int argc, char **argv)
{
	cw_purge_policy_defaults(&a->policy);
	a->policy.enabled = true;
	a->policy.protect = a->protect;
	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":vqh", long_opts, NULL)) != -1) {
		if (opt == 'h')
			return 1;
		if (opt == '?' || opt == ':') {
			const char *what = opt == ':' ? "missing value for" : "unknown option";
			if (optopt > 0 && optopt < 128)
				fprintf(stderr, "cachewatch purge: %s '-%c'\n", what, optopt);
			else
				fprintf(stderr, "cachewatch purge: %s '%s'\n", what, argv[optind - 1]);
			return -1;
		}
		if (parse_opt(a, opt, optarg) != 0)
			return -1;
	}
	if (optind < argc)
		a->dir = argv[optind++];
	if (optind < argc)
		return bad("arguments", argv[optind], "expected: give one directory");
	if (a->config_file && a->dir)
		return bad("DIR", a->dir, "allowed together with --config.file");
	if (a->config_file && (a->have_limit || a->policy.nprotect || a->policy.keep_hot.enabled))
		return bad("--config.file", a->config_file, "combinable with limit or --protect flags: the file has them");
	if (!a->config_file && a->ncaches)
		return bad("--cache", a->caches[0], "usable without --config.file");
	if (!a->config_file && !a->dir) {
		fprintf(stderr, "cachewatch purge: give a DIR with limits, or --config.file FILE (see --help)\n");
		return -1;
	}
	if (a->dir && !a->have_limit)
		return bad("DIR", a->dir, "enough: give at least one of --max-size, --max-age, --min-free, --max-files");
	if (a->policy.max_age_ms && a->policy.max_age_ms < a->policy.min_age_ms) {
		char mx[32], mn[32];
		cw_format_duration_ms(a->policy.max_age_ms, mx, sizeof(mx));
		cw_format_duration_ms(a->policy.min_age_ms, mn, sizeof(mn));
		fprintf(stderr, "cachewatch purge: warning: --max-age %s is shorter than --min-age %s: "
				"files are kept until they are %s unused, --min-age wins\n", mx, mn, mn);
	}
	if (a->policy.low_watermark > a->policy.high_watermark) {
		fprintf(stderr, "cachewatch purge: --low-watermark must not be above --high-watermark\n");
		return -1;
	}
	return 0;
}

/* Control bytes, backslash and DEL escaped: a name holding a newline cannot
 * forge a line of its own. */
static void put_escaped(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

/* The two largest units of an age ("12d3h", "5m20s", "40s"): a column to
 * read, not an exact value. */
static void age_text(int64_t ns, char *buf, size_t len)
{
	static const uint64_t units_ms[] = { 86400000, 3600000, 60000, 1000 };
	uint64_t ms = ns > 0 ? (uint64_t)ns / 1000000 : 0;
	for (size_t i = 0; i < sizeof(units_ms) / sizeof(units_ms[0]) - 1; i++) {
		if (ms >= units_ms[i]) {
			ms -= ms % units_ms[i + 1];
			break;
		}
	}
	ms -= ms % 1000;
	cw_format_duration_ms(ms, buf, len);
}

static void on_victim(void *ctx, const struct cw_purge_victim *v)
{
	const struct printer *pr = ctx;
	if (pr->quiet && v->status == CW_VICTIM_DELETED)
		return;
	const char *st = v->status == CW_VICTIM_DELETED ? (pr->dry_run ? "would-delete" : "deleted")
			 : v->status == CW_VICTIM_SKIPPED ? "skipped" : "failed";
	char age[32];
	age_text(pr->now_ns - v->ts_ns, age, sizeof(age));
	printf("%-12s %-10s %12" PRIu64 " %7s ", st, cw_purge_reason_name(v->reason), v->disk_bytes, age);
	put_escaped(stdout, pr->root);
	if (strcmp(pr->root, "/"))
		putchar('/');
	put_escaped(stdout, v->relpath);
	putchar('\n');
}

static void print_summary(const char *name, const char *root, const struct cw_purge_report *r, bool verbose)
{
	char b[32], a[32], app[32], g[32];
	uint64_t files = 0, bytes = 0; /* bytes freed: a name whose inode has other links frees none */
	for (int i = 0; i < CW_PURGE_REASON_MAX; i++) {
		files += r->files[i];
		bytes += r->bytes[i];
	}
	cw_format_size(bytes, g, sizeof(g));
	/* Directory mode has no cache name: the directory is the name. */
	printf("== ");
	if (name) {
		put_escaped(stdout, name);
		printf(" (");
	}
	put_escaped(stdout, root);
	printf("%s: %s %" PRIu64 " files, %s (%" PRIu64 " bytes)%s\n", name ? ")" : "",
	       r->dry_run ? "would delete" : "deleted", files, g, bytes, r->stopped ? ", interrupted" : "");
	for (int i = 0; i < CW_PURGE_REASON_MAX; i++) {
		if (!r->files[i])
			continue;
		cw_format_size(r->bytes[i], g, sizeof(g));
		printf("   %-10s %" PRIu64 " files, %s\n", cw_purge_reason_name((enum cw_purge_reason)i), r->files[i], g);
	}
	cw_format_size(r->bytes_before, b, sizeof(b));
	cw_format_size(r->apparent_before, app, sizeof(app));
	cw_format_size(r->bytes_after, a, sizeof(a));
	printf("   before: %" PRIu64 " files, %s on disk (%s apparent); %s: %" PRIu64 " files, %s on disk\n",
	       r->files_before, b, app, r->dry_run ? "would be" : "after", r->files_after, a);
	printf("   skipped %" PRIu64 " (used or replaced since the scan), errors %" PRIu64
	       ", empty directories removed %" PRIu64 ", mount points skipped %" PRIu64 ", %.3fs (scan %.3fs)\n",
	       r->skipped, r->errors, r->dirs_removed, r->mounts_skipped, r->scan_seconds + r->purge_seconds,
	       r->scan_seconds);
	if (r->links_unfreed)
		printf("   %" PRIu64 " of the deleted files had other hard links: their space is not freed\n",
		       r->links_unfreed);
	if (r->access_records)
		printf("   %" PRIu64 " files had access records\n", r->access_records);
	if (r->kept_hot_files) {
		cw_format_size(r->kept_hot_bytes, g, sizeof(g));
		printf("   kept hot: %" PRIu64 " files, %s (%" PRIu64 " bytes)\n", r->kept_hot_files, g, r->kept_hot_bytes);
	}
	if (r->unreachable)
		printf("   limits not reached: the remaining files are protected, kept hot or used too recently\n");
	if (verbose) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("   walks %u, peak RSS %ld KiB\n", r->walks, ru.ru_maxrss);
	}
}

/* A root refused by rule (a system or home directory, a symlink) is a bad
 * argument (2); one this process may not write (permissions, a read-only file
 * system) is a runtime failure (1), like any other file it cannot delete. */
static int refused_exit(const char *path)
{
	char why[160];
	struct statvfs vfs;
	if (cw_root_refusal_path(path, why, sizeof(why)))
		return 2;
	if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) != 0)
		return 1;
	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return 1;
	return 2;
}

/* Purges one root; returns the exit code it deserves (0, 1, or 2 when refused). */
/* The agent's access records, read from its state file when the policy uses
 * them; a file that is missing or refused leaves every file to the fallback. */
static const struct cw_access_source *access_source(const struct cw_purge_policy *pol, const char *state_file,
						    struct cw_access_table *t, struct cw_access_source *src)
{
	char err[512];
	if (pol->timestamp != CW_TS_ACCESS && !pol->keep_hot.enabled)
		return NULL;
	if (!t->e) {
		int rc = cw_access_state_load(state_file, t, err, sizeof(err));
		if (rc == CW_STATE_MISSING)
			fprintf(stderr, "cachewatch purge: no access state (%s): files are ranked by max(atime, mtime), "
					"none is kept hot\n", err);
		else if (rc != CW_STATE_OK)
			fprintf(stderr, "cachewatch purge: warning: access state refused: %s; files are ranked by "
					"max(atime, mtime), none is kept hot\n", err);
		if (rc != CW_STATE_OK)
			return NULL;
	}
	cw_access_table_source(t, src);
	return src;
}

static int purge_one(const char *name, const char *path, const struct cw_purge_policy *pol, bool scan_only,
		     const struct purge_args *a, const struct cw_access_source *access)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct printer pr = { .root = path, .now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec,
			      .dry_run = pol->dry_run, .quiet = a->quiet };
	struct cw_purge_opts o = { .name = name ? name : "cli", .path = path, .policy = pol, .scan_only = scan_only,
				   .stop = &interrupted, .on_victim = on_victim, .ctx = &pr, .access = access };
	struct cw_purge_report rep;
	char err[512];
	int rc = cw_purge_run(&o, &rep, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "cachewatch purge: %s\n", err);
		return rc == CW_ROOT_REFUSED && a->dir ? refused_exit(path) : 1;
	}
	print_summary(name, path, &rep, a->verbose);
	fflush(stdout);
	if (rep.stopped)
		return 1;
	return rep.failed ? 1 : 0;
}

static bool wanted(const struct purge_args *a, const char *name)
{
	if (!a->ncaches)
		return true;
	for (size_t i = 0; i < a->ncaches; i++)
		if (!strcmp(a->caches[i], name))
			return true;
	return false;
}

static int purge_config(const struct purge_args *a)
{
	struct cw_config cfg;
	struct cw_access_table table = { 0 };
	struct cw_access_source src;
	char err[512];
	int rc = 0;
	if (cw_config_load(a->config_file, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "cachewatch purge: %s\n", err);
		return 2;
	}
	for (size_t i = 0; i < a->ncaches; i++) {
		bool found = false;
		for (size_t k = 0; k < cfg.ncaches; k++)
			found = found || !strcmp(cfg.caches[k].name, a->caches[i]);
		if (!found) {
			fprintf(stderr, "cachewatch purge: --cache: '%s' is not a cache of %s\n", a->caches[i], a->config_file);
			rc = 2;
			goto cleanup;
		}
	}
	for (size_t k = 0; k < cfg.ncaches && !atomic_load(&interrupted); k++) {
		struct cw_cache_config *c = &cfg.caches[k];
		if (!wanted(a, c->name))
			continue;
		c->purge.dry_run = c->purge.dry_run || a->dry_run;
		if (a->have_rate)
			c->purge.rate_limit = a->rate_limit;
		if (!c->purge.enabled)
			printf("== %s (%s): purge not enabled, scanning only\n", c->name, c->path);
		int r = purge_one(c->name, c->path, &c->purge, !c->purge.enabled, a,
				  access_source(&c->purge, a->state_file ? a->state_file : cw_access_state_path(&cfg),
						&table, &src));
		if (r > rc)
			rc = r;
	}
cleanup:
	cw_access_table_free(&table);
	cw_config_free(&cfg);
	return rc;
}

/* Relative DIRs are taken from the working directory, lexically: resolving
 * symlinks here would hide a root that is itself a symlink from the engine. */
static int absolute(const char *dir, char *out, size_t len)
{
	char cwd[PATH_MAX];
	int n;
	if (dir[0] == '/')
		n = snprintf(out, len, "%s", dir);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, len, "%s/%s", cwd, dir);
	else
		n = -1;
	if (n < 0 || (size_t)n >= len) {
		bad("DIR", dir, "a usable path");
		return -1;
	}
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&interrupted, true);
}

int cmd_purge(int argc, char **argv)
{
	struct purge_args a;
	memset(&a, 0, sizeof(a));
	int rc = parse_args(&a, argc, argv);
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	if (rc != 0)
		return 2;
	cw_log_setup(a.verbose ? CW_LOG_DEBUG : CW_LOG_WARN, CW_LOG_LOGFMT);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (a.config_file)
		return purge_config(&a);
	a.policy.dry_run = a.dry_run;
	if (a.have_rate)
		a.policy.rate_limit = a.rate_limit;
	char abs[PATH_MAX];
	if (absolute(a.dir, abs, sizeof(abs)) != 0)
		return 2;
	a.dir = abs;
	struct cw_access_table table = { 0 };
	struct cw_access_source src;
	rc = purge_one(NULL, abs, &a.policy, false, &a,
		       access_source(&a.policy, a.state_file ? a.state_file : CW_ACCESS_STATE_DEFAULT_PATH, &table, &src));
	cw_access_table_free(&table);
	return rc;
}
