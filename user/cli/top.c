/* `cachewatch top`: live per-directory write and unlink activity in a terminal or as JSON. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "dataplane/collector.h"
#include "cli/commands.h"
#include "cli/top_table.h"
#include "dataplane/hist.h"
#include "lib/clock.h"
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
	enum top_sort sort;
	unsigned rows; /* 0 = as many as fit */
};

/* top's default cap: a screen's worth of rows and far more, so the busiest
 * directories get rows of their own; bounded so a tree of millions of
 * directories cannot fill the BPF series map (CW_MAX_SERIES) for one DIR. */
#define TOP_MAX_GROUPS 1024

static volatile sig_atomic_t stop, resized;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else
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
		"  --bpf.attach B      " CW_BACKEND_LIST " (default auto)\n"
		"  --interval D        refresh interval, e.g. 500ms, 1s (default 1s)\n"
		"  --group-depth N     split each DIR into per-subdirectory rows N levels deep\n"
		"                      (0-%d, default 0 as for run: one row per DIR)\n"
		"  --max-groups N      groups per DIR before the rest fold into _other\n"
		"                      (default %d, 0 = unlimited)\n"
		"  --sort COL          sort rows by " TOP_SORT_LIST " (default write)\n"
		"  --rows N            show at most N rows (default: as many as fit the terminal)\n"
		"  --json              print one JSON object per interval with cumulative totals\n"
		"  --count N           stop after N intervals (default: run until interrupted)\n"
		"  -h, --help          show this help\n"
		"\n"
		"Keys: q quits, s cycles the sort column, g toggles rows per directory or per DIR.\n"
		"TOP WRITER is the command that wrote most into that row over the last interval.\n",
		CW_MAX_GROUP_DEPTH, TOP_MAX_GROUPS);
}

static int parse_uint(const char *flag, const char *v, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;

	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max) {
		fprintf(stderr, "cachewatch top: %s: '%s' is not a whole number from %lu to %lu\n", flag,
			v, min, max);
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
		{ "sort", required_argument, NULL, 's' },
		{ "rows", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long n;
	char err[160];
	int opt;

	*o = (struct top_opts){ .interval_ms = 1000, .max_groups = TOP_MAX_GROUPS };
	optind = 1;
	opterr = 0;
	/* no leading '+': options after the directories are options too */
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
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
			if (parse_uint("--group-depth", optarg, 0, CW_MAX_GROUP_DEPTH, &n))
				return 2;
			o->group_depth = (unsigned)n;
			break;
		case 'm':
			if (parse_uint("--max-groups", optarg, 0, 1000000, &n))
				return 2;
			o->max_groups = (unsigned)n;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'c':
			if (parse_uint("--count", optarg, 1, LONG_MAX, &n))
				return 2;
			o->count = (long)n;
			break;
		case 's':
			if (top_sort_parse(optarg, &o->sort)) {
				fprintf(stderr, "cachewatch top: --sort: '%s' is not " TOP_SORT_LIST "\n", optarg);
				return 2;
			}
			break;
		case 'r':
			if (parse_uint("--rows", optarg, 0, 1000000, &n))
				return 2;
			o->rows = (unsigned)n;
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

/* ---- the terminal ---- */

struct term {
	bool raw;              /* stdin is the terminal, in cbreak mode */
	bool keys;             /* reading keys from it (until it hangs up) */
	struct termios saved;  /* restored on every exit path */
};

/* Keys without Enter and without echo; Ctrl-C still signals (ISIG stays). */
static void term_open(struct term *t)
{
	struct termios raw;

	t->keys = false;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved))
		return;
	raw = t->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	t->raw = t->keys = !tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
}

static void term_close(struct term *t)
{
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
	t->raw = t->keys = false;
}

static void term_size(struct top_view *v)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_col || !ws.ws_row) {
		v->width = 80;
		v->height = 24;
		return;
	}
	v->width = ws.ws_col;
	v->height = ws.ws_row;
}

enum wake { WAKE_TICK, WAKE_REDRAW, WAKE_STOP };

/* A key changes the view at once; q stops. */
static enum wake on_key(char c, struct top_view *v)
{
	switch (c) {
	case 'q':
	case 'Q':
		stop = 1;
		return WAKE_STOP;
	case 's':
		v->sort = (enum top_sort)((v->sort + 1) % TOP_SORT_COUNT);
		return WAKE_REDRAW;
	case 'g':
		v->by_cache = !v->by_cache;
		return WAKE_REDRAW;
	default:
		return WAKE_TICK;
	}
}

/* Waits until deadline (CLOCK_MONOTONIC seconds), a key, a resize or a stop. */
static enum wake wait_until(double deadline, struct term *t, struct top_view *v)
{
	for (;;) {
		if (stop)
			return WAKE_STOP;
		if (resized) {
			resized = 0;
			term_size(v);
			return WAKE_REDRAW;
		}
		double left = deadline - cw_clock_seconds(CLOCK_MONOTONIC);
		if (left <= 0)
			return WAKE_TICK;
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int r = poll(&p, t->keys ? 1 : 0, (int)(left * 1000) + 1);
		if (r <= 0)
			continue; /* timeout or EINTR: the checks above decide */
		char c;
		ssize_t got = p.revents & POLLIN ? read(STDIN_FILENO, &c, 1) : 0;
		if (got < 0 && errno == EINTR)
			continue;
		if (got != 1) {
			t->keys = false; /* hung up: no more keys, and no busy loop on it */
			continue;
		}
		enum wake w = on_key(c, v);
		if (w != WAKE_TICK)
			return w;
	}
}

static int cmp_gw_bytes(const void *a, const void *b)
{
	const struct cw_group_writer_snap *x = *(const struct cw_group_writer_snap *const *)a;
	const struct cw_group_writer_snap *y = *(const struct cw_group_writer_snap *const *)b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strncmp(x->comm, y->comm, CW_COMM_LEN);
}

/* The group's own writers, cumulative, biggest first (at most CW_TOP_WRITERS). */
static void print_dir_writers(struct jsonw *j, const struct cw_cache_snap *c, uint64_t group)
{
	const struct cw_group_writer_snap *top[CW_TOP_WRITERS + 1];
	size_t n = 0;

	jsonw_arr_begin(j, "writers");
	for (size_t i = 0; i < c->ngroup_writers; i++) {
		if (c->group_writers[i].group != group)
			continue;
		top[n++] = &c->group_writers[i];
		qsort(top, n, sizeof(top[0]), cmp_gw_bytes);
		if (n > CW_TOP_WRITERS)
			n = CW_TOP_WRITERS;
	}
	for (size_t i = 0; i < n; i++) {
		jsonw_obj_begin(j, NULL);
		jsonw_str(j, "comm", top[i]->comm);
		jsonw_uint(j, "bytes", top[i]->bytes);
		jsonw_uint(j, "writes", top[i]->writes);
		jsonw_obj_end(j);
	}
	jsonw_arr_end(j);
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
			jsonw_uint(j, "read_bytes", d->read_bytes);
			jsonw_uint(j, "reads", d->reads);
			jsonw_uint(j, "read_opens", d->read_opens);
			jsonw_uint(j, "entries_written", d->entries_written);
			jsonw_uint(j, "entries_reused", d->entries_reused);
			jsonw_uint(j, "latency_count", d->lat.count);
			jsonw_uint(j, "latency_sum_ns", d->lat.sum_ns);
			jsonw_double(j, "latency_p50_ns", cw_hist_quantile_ns(&d->lat, 0.5));
			jsonw_double(j, "latency_p99_ns", cw_hist_quantile_ns(&d->lat, 0.99));
			print_dir_writers(j, c, d->group);
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

int cmd_top(int argc, char **argv)
{
	struct cw_cache_config *caches = NULL;
	struct cw_loader *loader = NULL;
	struct cw_collector *coll = NULL;
	struct cw_snapshot *prev = NULL, *cur = NULL;
	struct term term = { 0 };
	bool tty = false;
	struct top_opts o;
	char err[512];
	int ndirs = 0, ret;

	/* before loading, so a signal during the (slow) verification still exits cleanly */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
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
	cw_collector_publish_group_writers(coll);
	if (cw_collector_apply(coll, caches, (size_t)ndirs, err, sizeof(err))) {
		fprintf(stderr, "cachewatch top: %s\n", err);
		goto cleanup;
	}
	struct top_view v = { .sort = o.sort, .max_rows = o.rows };
	tty = !o.json && isatty(STDOUT_FILENO);
	if (tty) {
		term_size(&v);
		v.clear = true;
		term_open(&term);
		signal(SIGWINCH, on_signal);
	}
	if (poll_maps(coll))
		goto cleanup;
	prev = cw_snapbox_get(cw_collector_box(coll));
	double next = cw_clock_seconds(CLOCK_MONOTONIC);
	for (long n = 0; !stop && (!o.count || n < o.count);) {
		enum wake w = wait_until(next + (double)o.interval_ms / 1000.0, &term, &v);
		if (w == WAKE_STOP)
			break;
		if (w == WAKE_REDRAW) {
			if (cur)
				top_draw(stdout, prev, cur, &v, (double)o.interval_ms / 1000.0);
			continue;
		}
		next = cw_clock_seconds(CLOCK_MONOTONIC);
		/* a failed poll would show the previous numbers as if they were new */
		if (poll_maps(coll))
			goto cleanup;
		struct cw_snapshot *s = cw_snapbox_get(cw_collector_box(coll));
		if (cur) {
			cw_snapshot_put(prev);
			prev = cur;
		}
		cur = s;
		if (o.json)
			print_json(s);
		else
			top_draw(stdout, prev, cur, &v, (double)o.interval_ms / 1000.0);
		n++;
	}
	ret = 0;
cleanup:
	if (tty)
		fputc('\n', stdout); /* the shell prompt on a line of its own */
	term_close(&term);
	cw_snapshot_put(prev);
	cw_snapshot_put(cur);
	cw_collector_free(coll);
	cw_loader_close(loader);
	for (int i = 0; i < ndirs; i++)
		free(caches[i].path); /* name aliases path */
	free(caches);
	return ret;
}
