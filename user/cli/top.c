/* `cachewatch top`: live per-directory write and unlink activity in a terminal or as JSON. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "dataplane/collector.h"
#include "cli/commands.h"
#include "dataplane/hist.h"
#include "lib/jsonw.h"
#include "dataplane/loader.h"
#include "lib/log.h"
#include "lib/units.h"

struct top_opts {
	enum cw_backend backend;
	uint64_t interval_ms;
	unsigned group_depth;
	unsigned max_groups;
	int json;
	long count; /* 0 = until interrupted */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cachewatch top [OPTIONS] DIR...\n"
		"\n"
		"Shows, per watched directory and group, bytes written per second, writes per\n"
		"second, p50/p99 write latency, unlinks and bytes freed per second, and the top\n"
		"writer, redrawn every interval. Needs root (or CAP_BPF and CAP_PERFMON).\n"
		"\n"
		"Options:\n"
		"  --bpf.attach=B      " CW_BACKEND_LIST " (default auto)\n"
		"  --interval=D        refresh interval, e.g. 500ms, 1s (default 1s)\n"
		"  --group-depth=N     split each DIR into per-subdirectory rows N levels deep (0-%d, default 1)\n"
		"  --max-groups=N      rows per DIR before the rest fold into _other (default 64, 0 = unlimited)\n"
		"  --json              print one JSON object per interval with cumulative totals\n"
		"  --count=N           stop after N intervals (default: run until interrupted)\n"
		"  -h, --help          show this help\n",
		CW_MAX_GROUP_DEPTH);
}

static int parse_uint(const char *flag, const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n > max) {
		fprintf(stderr, "cachewatch top: %s: '%s' is not a whole number from 0 to %lu\n", flag,
			v, max);
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_args(int argc, char **argv, struct top_opts *o)
{
	static const struct option longopts[] = {
		{ "bpf.attach", required_argument, NULL, 'b' },
		{ "interval", required_argument, NULL, 'i' },
		{ "group-depth", required_argument, NULL, 'g' },
		{ "max-groups", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long n;
	char err[160];
	int opt;

	*o = (struct top_opts){ .interval_ms = 1000, .group_depth = 1, .max_groups = 64 };
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (cw_backend_parse(optarg, &o->backend)) {
				fprintf(stderr, "cachewatch top: --bpf.attach: '%s' is not " CW_BACKEND_LIST "\n", optarg);
				return 2;
			}
			break;
		case 'i':
			if (cw_parse_duration_ms(optarg, &o->interval_ms)) {
				fprintf(stderr, "cachewatch top: --interval: '%s' is not a duration (e.g. 1s, 500ms)\n", optarg);
				return 2;
			}
			/* the same range as the agent's poll_interval: top polls at this pace */
			if (cw_range_check("--interval", optarg, o->interval_ms, CW_POLL_MIN_MS, CW_POLL_MAX_MS, true, err,
					   sizeof(err))) {
				fprintf(stderr, "cachewatch top: %s\n", err);
				return 2;
			}
			break;
		case 'g':
			if (parse_uint("--group-depth", optarg, CW_MAX_GROUP_DEPTH, &n))
				return 2;
			o->group_depth = (unsigned)n;
			break;
		case 'm':
			if (parse_uint("--max-groups", optarg, 1000000, &n))
				return 2;
			o->max_groups = (unsigned)n;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'c':
			if (parse_uint("--count", optarg, LONG_MAX, &n))
				return 2;
			if (n == 0) {
				fprintf(stderr, "cachewatch top: --count: must be at least 1\n");
				return 2;
			}
			o->count = (long)n;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt)
				fprintf(stderr, "cachewatch top: option '%s' needs a value or is unknown\n", argv[optind - 1]);
			else
				fprintf(stderr, "cachewatch top: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "cachewatch top: no directory given\n");
		usage(stderr);
		return 2;
	}
	return -1; /* go on */
}

/* Builds one cache per DIR argument; paths must be existing, distinct directories
 * (one directory given twice would be one BPF root shared by two rows, one of
 * them always empty). */
static int caches_from_args(int n, char **dirs, unsigned depth, unsigned max_groups,
			    struct cw_cache_config *out)
{
	struct stat *seen = calloc((size_t)n, sizeof(*seen));
	int ret = -1;
	if (!seen)
		return -1;
	for (int i = 0; i < n; i++) {
		struct stat *st = &seen[i];
		if (stat(dirs[i], st)) {
			fprintf(stderr, "cachewatch top: %s: %s\n", dirs[i], strerror(errno));
			goto cleanup;
		}
		if (!S_ISDIR(st->st_mode)) {
			fprintf(stderr, "cachewatch top: %s: not a directory\n", dirs[i]);
			goto cleanup;
		}
		for (int k = 0; k < i; k++) {
			if (seen[k].st_dev == st->st_dev && seen[k].st_ino == st->st_ino) {
				fprintf(stderr, "cachewatch top: %s and %s are the same directory; give it once\n",
					dirs[k], dirs[i]);
				goto cleanup;
			}
		}
		char *abs = realpath(dirs[i], NULL);
		if (!abs) {
			fprintf(stderr, "cachewatch top: %s: %s\n", dirs[i], strerror(errno));
			goto cleanup;
		}
		cw_cache_config_defaults(&out[i]);
		out[i].name = abs;
		out[i].path = abs;
		out[i].group_depth = depth;
		out[i].max_groups = max_groups;
	}
	ret = 0;
cleanup:
	free(seen);
	return ret;
}

static int poll_maps(struct cw_collector *coll)
{
	int rc = cw_collector_poll(coll);
	if (rc)
		fprintf(stderr, "cachewatch top: polling the BPF maps failed: %s\n", strerror(rc < 0 ? -rc : rc));
	return rc;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR && !stop)
		;
}

static const struct cw_dir_snap *find_dir(const struct cw_snapshot *s, size_t ci, const char *dir)
{
	/* top's watched set never changes, so cache indexes line up between snapshots */
	if (!s || ci >= s->ncaches)
		return NULL;
	const struct cw_cache_snap *c = &s->caches[ci];
	for (size_t i = 0; i < c->ndirs; i++)
		if (!strcmp(c->dirs[i].dir, dir))
			return &c->dirs[i];
	return NULL;
}

static void print_json(const struct cw_snapshot *s)
{
	struct jsonw *j = jsonw_new(stdout);

	jsonw_obj_begin(j, NULL);
	jsonw_double(j, "ts", s->wall_seconds);
	jsonw_uint(j, "version", s->version);
	jsonw_str(j, "backend", s->backend);
	jsonw_obj_begin(j, "drops");
	for (int d = 0; d < CW_DROP_MAX; d++)
		jsonw_uint(j, cw_drop_name((enum cw_drop)d), s->drops[d]);
	jsonw_obj_end(j);
	jsonw_arr_begin(j, "caches");
	for (size_t i = 0; i < s->ncaches; i++) {
		const struct cw_cache_snap *c = &s->caches[i];
		jsonw_obj_begin(j, NULL);
		jsonw_str(j, "name", c->name);
		jsonw_str(j, "path", c->path);
		jsonw_bool(j, "armed", c->armed);
		jsonw_arr_begin(j, "dirs");
		for (size_t k = 0; k < c->ndirs; k++) {
			const struct cw_dir_snap *d = &c->dirs[k];
			jsonw_obj_begin(j, NULL);
			jsonw_str(j, "dir", d->dir);
			jsonw_uint(j, "write_bytes", d->write_bytes);
			jsonw_uint(j, "writes", d->writes);
			jsonw_uint(j, "write_errors", d->write_errors);
			jsonw_uint(j, "unlinks", d->unlinks);
			jsonw_uint(j, "unlinked_bytes", d->unlinked_bytes);
			jsonw_uint(j, "latency_count", d->lat.count);
			jsonw_uint(j, "latency_sum_ns", d->lat.sum_ns);
			jsonw_double(j, "latency_p50_ns", cw_hist_quantile_ns(&d->lat, 0.5));
			jsonw_double(j, "latency_p99_ns", cw_hist_quantile_ns(&d->lat, 0.99));
			jsonw_obj_end(j);
		}
		jsonw_arr_end(j);
		jsonw_arr_begin(j, "top_writers");
		for (size_t k = 0; k < c->nwriters; k++) {
			jsonw_obj_begin(j, NULL);
			jsonw_str(j, "comm", c->writers[k].comm);
			jsonw_uint(j, "bytes", c->writers[k].bytes);
			jsonw_uint(j, "writes", c->writers[k].writes);
			jsonw_obj_end(j);
		}
		jsonw_arr_end(j);
		jsonw_obj_end(j);
	}
	jsonw_arr_end(j);
	jsonw_obj_end(j);
	fputc('\n', stdout);
	fflush(stdout);
	jsonw_free(j);
}

struct row {
	const char *cache, *dir, *writer;
	double bps, wps, ups, fps;
	double p50, p99; /* ns; <0 when there was no write in the interval */
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->bps != y->bps)
		return x->bps < y->bps ? 1 : -1;
	int c = strcmp(x->cache, y->cache);
	return c ? c : strcmp(x->dir, y->dir);
}

static void fmt_lat(double ns, char *buf, size_t len)
{
	if (ns < 0)
		snprintf(buf, len, "-");
	else if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
}

/* Printable form of a name for the table: odd bytes must not move the cursor. */
static void printable(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = 0;
}

static void print_table(const struct cw_snapshot *prev, const struct cw_snapshot *s, int tty,
			uint64_t interval_ms)
{
	size_t nrows = 0, cap = 0;
	struct row *rows = NULL;
	double dt = prev ? s->mono_seconds - prev->mono_seconds : (double)interval_ms / 1000.0;

	if (dt <= 0)
		dt = 1;
	for (size_t i = 0; i < s->ncaches; i++) {
		const struct cw_cache_snap *c = &s->caches[i];
		for (size_t k = 0; k < c->ndirs; k++) {
			const struct cw_dir_snap *d = &c->dirs[k];
			const struct cw_dir_snap *p = find_dir(prev, i, d->dir);
			struct cw_hist h = d->lat;
			if (nrows == cap) {
				cap = cap ? cap * 2 : 32;
				struct row *r = realloc(rows, cap * sizeof(*r));
				if (!r)
					goto cleanup;
				rows = r;
			}
			struct row *r = &rows[nrows++];
			r->cache = c->name;
			r->dir = d->dir;
			r->writer = c->nwriters ? c->writers[0].comm : "-";
			r->bps = (double)(d->write_bytes - (p ? p->write_bytes : 0)) / dt;
			r->wps = (double)(d->writes - (p ? p->writes : 0)) / dt;
			r->ups = (double)(d->unlinks - (p ? p->unlinks : 0)) / dt;
			r->fps = (double)(d->unlinked_bytes - (p ? p->unlinked_bytes : 0)) / dt;
			for (unsigned b = 0; b < CW_HIST_SLOTS && p; b++)
				h.slots[b] -= p->lat.slots[b];
			int any = h.count != (p ? p->lat.count : 0);
			r->p50 = any ? cw_hist_quantile_ns(&h, 0.5) : -1;
			r->p99 = any ? cw_hist_quantile_ns(&h, 0.99) : -1;
		}
	}
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), cmp_row);
	if (tty)
		fputs("\033[H\033[2J", stdout);
	char when[32];
	time_t t = (time_t)s->wall_seconds;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	uint64_t drops = 0;
	for (int d = 0; d < CW_DROP_MAX; d++)
		drops += s->drops[d];
	printf("cachewatch top - %s - backend %s - %zu caches - drops %llu\n\n", when, s->backend,
	       s->ncaches, (unsigned long long)drops);
	printf("%-40s %-16s %11s %9s %8s %8s %9s %11s  %s\n", "CACHE", "DIR", "WRITE/s", "WRITES/s",
	       "P50", "P99", "UNLINK/s", "FREED/s", "TOP WRITER");
	for (size_t i = 0; i < nrows; i++) {
		char b1[32], b2[32], l1[16], l2[16], cn[160], dn[160], wn[80];
		cw_format_size((uint64_t)rows[i].bps, b1, sizeof(b1));
		cw_format_size((uint64_t)rows[i].fps, b2, sizeof(b2));
		fmt_lat(rows[i].p50, l1, sizeof(l1));
		fmt_lat(rows[i].p99, l2, sizeof(l2));
		printable(rows[i].cache, cn, sizeof(cn));
		printable(rows[i].dir, dn, sizeof(dn));
		printable(rows[i].writer, wn, sizeof(wn));
		printf("%-40s %-16s %9s/s %9.0f %8s %8s %9.0f %9s/s  %s\n", cn, dn, b1, rows[i].wps, l1,
		       l2, rows[i].ups, b2, wn);
	}
	if (!tty)
		putchar('\n');
	fflush(stdout);
cleanup:
	free(rows);
}

int cmd_top(int argc, char **argv)
{
	struct cw_cache_config *caches = NULL;
	struct cw_loader *loader = NULL;
	struct cw_collector *coll = NULL;
	struct cw_snapshot *prev = NULL;
	struct top_opts o;
	char err[512];
	int ndirs = 0, ret;

	/* before loading, so a signal during the (slow) verification still exits cleanly */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ndirs = argc - optind;
	if (ndirs > CW_MAX_ROOTS) {
		fprintf(stderr, "cachewatch top: %d directories given, at most %d can be watched\n", ndirs, CW_MAX_ROOTS);
		return 2;
	}
	caches = calloc((size_t)ndirs, sizeof(*caches));
	if (!caches)
		return 1;
	ret = 2;
	if (caches_from_args(ndirs, argv + optind, o.group_depth, o.max_groups, caches))
		goto cleanup;
	ret = 1;
	struct cw_loader_opts lo = { .backend = o.backend };
	if (cw_loader_open(&lo, &loader, err, sizeof(err))) {
		fprintf(stderr, "cachewatch top: %s\n", err);
		goto cleanup;
	}
	/* top never forgets a deleted directory: its totals are the point */
	if (cw_collector_new(loader, UINT64_MAX, &coll)) {
		fprintf(stderr, "cachewatch top: cannot start the collector: out of memory\n");
		goto cleanup;
	}
	if (cw_collector_apply(coll, caches, (size_t)ndirs, err, sizeof(err))) {
		fprintf(stderr, "cachewatch top: %s\n", err);
		goto cleanup;
	}
	int tty = !o.json && isatty(STDOUT_FILENO);
	if (poll_maps(coll))
		goto cleanup;
	prev = cw_snapbox_get(cw_collector_box(coll));
	for (long n = 0; !stop && (!o.count || n < o.count); n++) {
		sleep_ms(o.interval_ms);
		if (stop)
			break;
		/* a failed poll would show the previous numbers as if they were new */
		if (poll_maps(coll))
			goto cleanup;
		struct cw_snapshot *s = cw_snapbox_get(cw_collector_box(coll));
		if (o.json)
			print_json(s);
		else
			print_table(prev, s, tty, o.interval_ms);
		cw_snapshot_put(prev);
		prev = s;
	}
	ret = 0;
cleanup:
	cw_snapshot_put(prev);
	cw_collector_free(coll);
	cw_loader_close(loader);
	for (int i = 0; i < ndirs; i++)
		free(caches[i].path); /* name aliases path */
	free(caches);
	return ret;
}
