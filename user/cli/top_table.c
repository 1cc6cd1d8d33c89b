/* `cachewatch top`'s table: per-row rates and writers over an interval, fitted to the terminal. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/top_table.h"
#include "dataplane/hist.h"
#include "lib/units.h"

#define NAME_MIN 12  /* the name column is never narrowed below this to keep a column */
#define LINE_MAX_BYTES 2048

static const char *const sort_names[TOP_SORT_COUNT] = {
	[TOP_SORT_WRITE] = "write", [TOP_SORT_WRITES] = "writes", [TOP_SORT_P99] = "p99",
	[TOP_SORT_P50] = "p50",     [TOP_SORT_UNLINKS] = "unlinks", [TOP_SORT_FREED] = "freed",
	[TOP_SORT_READ] = "read",   [TOP_SORT_READS] = "reads", [TOP_SORT_DIR] = "dir",
};

int top_sort_parse(const char *s, enum top_sort *out)
{
	for (int i = 0; i < TOP_SORT_COUNT; i++) {
		if (!strcmp(s, sort_names[i])) {
			*out = (enum top_sort)i;
			return 0;
		}
	}
	return -1;
}

const char *top_sort_name(enum top_sort sort)
{
	return sort < TOP_SORT_COUNT ? sort_names[sort] : "?";
}

/* ---- columns ---- */

enum col { C_WRITE, C_WRITES, C_READ, C_READS, C_P50, C_P99, C_UNLINK, C_FREED, C_WRITER, C_N };

/* prio: which column goes first when the terminal is narrow (highest first; 0 stays). */
static const struct {
	const char *head;
	unsigned width;
	unsigned prio;
	int sort; /* the enum top_sort it shows, -1 none */
} cols[C_N] = {
	[C_WRITE] = { "WRITE/s", 11, 0, TOP_SORT_WRITE },
	[C_WRITES] = { "WRITES/s", 9, 3, TOP_SORT_WRITES },
	[C_READ] = { "READ/s", 11, 5, TOP_SORT_READ },
	[C_READS] = { "READS/s", 9, 7, TOP_SORT_READS },
	[C_P50] = { "P50", 8, 8, TOP_SORT_P50 },
	[C_P99] = { "P99", 8, 2, TOP_SORT_P99 },
	[C_UNLINK] = { "UNLINK/s", 9, 6, TOP_SORT_UNLINKS },
	[C_FREED] = { "FREED/s", 11, 4, TOP_SORT_FREED },
	[C_WRITER] = { "TOP WRITER", CW_COMM_LEN - 1, 1, -1 },
};

struct row {
	const char *cache, *dir; /* dir NULL: a whole cache */
	char writer[CW_COMM_LEN];
	double bps, wps, ups, fps;
	double rbps, rps; /* bytes read, read calls */
	double p50, p99; /* ns; <0 when there was no write in the interval */
};

/* ---- per-group writers ---- */

static const struct cw_group_writer_snap *gw_find(const struct cw_cache_snap *c, uint64_t group,
						  const char *comm)
{
	size_t lo = 0, hi = c ? c->ngroup_writers : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cw_group_writer_snap *w = &c->group_writers[mid];
		int cmp = w->group != group ? (w->group < group ? -1 : 1) : strncmp(w->comm, comm, CW_COMM_LEN);
		if (!cmp)
			return w;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Bytes the record added since the same (group, command) in pc. */
static uint64_t gw_delta(const struct cw_cache_snap *pc, const struct cw_group_writer_snap *w)
{
	const struct cw_group_writer_snap *p = gw_find(pc, w->group, w->comm);
	uint64_t before = p ? p->bytes : 0;

	return w->bytes > before ? w->bytes - before : 0;
}

const char *top_group_writer(const struct cw_cache_snap *pc, const struct cw_cache_snap *c,
			     uint64_t group, uint64_t *bytes)
{
	size_t lo = 0, hi = c->ngroup_writers;
	const char *best = NULL;
	uint64_t most = 0;

	while (lo < hi) { /* the first record of the group */
		size_t mid = lo + (hi - lo) / 2;
		if (c->group_writers[mid].group < group)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < c->ngroup_writers && c->group_writers[i].group == group; i++) {
		uint64_t d = gw_delta(pc, &c->group_writers[i]);
		if (d > most) {
			most = d;
			best = c->group_writers[i].comm;
		}
	}
	if (bytes)
		*bytes = most;
	return best;
}

/* The command that wrote most into the whole cache between pc and c. */
static const char *cache_writer(const struct cw_cache_snap *pc, const struct cw_cache_snap *c)
{
	struct acc {
		const char *comm;
		uint64_t bytes;
	} *acc = calloc(c->ngroup_writers ? c->ngroup_writers : 1, sizeof(*acc));
	size_t n = 0;
	const char *best = NULL;
	uint64_t most = 0;

	if (!acc)
		return NULL;
	for (size_t i = 0; i < c->ngroup_writers; i++) {
		const struct cw_group_writer_snap *w = &c->group_writers[i];
		size_t k = 0;
		while (k < n && strncmp(acc[k].comm, w->comm, CW_COMM_LEN))
			k++;
		if (k == n)
			acc[n++].comm = w->comm;
		acc[k].bytes += gw_delta(pc, w);
		if (acc[k].bytes > most) {
			most = acc[k].bytes;
			best = acc[k].comm;
		}
	}
	free(acc);
	return best;
}

/* ---- rows ---- */

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

struct sums {
	uint64_t bytes, writes, unlinks, freed, read_bytes, reads;
	struct cw_hist h; /* over the interval */
};

static void add_dir(struct sums *t, const struct cw_dir_snap *d, const struct cw_dir_snap *p)
{
	t->bytes += d->write_bytes - (p ? p->write_bytes : 0);
	t->writes += d->writes - (p ? p->writes : 0);
	t->unlinks += d->unlinks - (p ? p->unlinks : 0);
	t->freed += d->unlinked_bytes - (p ? p->unlinked_bytes : 0);
	t->read_bytes += d->read_bytes - (p ? p->read_bytes : 0);
	t->reads += d->reads - (p ? p->reads : 0);
	for (unsigned b = 0; b < CW_HIST_SLOTS; b++) {
		uint64_t n = d->lat.slots[b] - (p ? p->lat.slots[b] : 0);
		t->h.slots[b] += n;
		t->h.count += n;
	}
}

static void fill_row(struct row *r, const struct sums *t, double dt, const char *writer)
{
	r->bps = (double)t->bytes / dt;
	r->wps = (double)t->writes / dt;
	r->ups = (double)t->unlinks / dt;
	r->fps = (double)t->freed / dt;
	r->rbps = (double)t->read_bytes / dt;
	r->rps = (double)t->reads / dt;
	r->p50 = t->h.count ? cw_hist_quantile_ns(&t->h, 0.5) : -1;
	r->p99 = t->h.count ? cw_hist_quantile_ns(&t->h, 0.99) : -1;
	snprintf(r->writer, sizeof(r->writer), "%s", writer ? writer : "-");
}

static size_t cache_rows(const struct cw_snapshot *prev, const struct cw_snapshot *s, size_t ci,
			 bool by_cache, double dt, struct row *out)
{
	const struct cw_cache_snap *c = &s->caches[ci];
	const struct cw_cache_snap *pc = prev && ci < prev->ncaches ? &prev->caches[ci] : NULL;
	struct sums all = { 0 };

	for (size_t k = 0; k < c->ndirs; k++) {
		const struct cw_dir_snap *d = &c->dirs[k];
		const struct cw_dir_snap *p = find_dir(prev, ci, d->dir);
		if (by_cache) {
			add_dir(&all, d, p);
			continue;
		}
		struct sums t = { 0 };
		add_dir(&t, d, p);
		out[k] = (struct row){ .cache = c->name, .dir = d->dir };
		fill_row(&out[k], &t, dt, top_group_writer(pc, c, d->group, NULL));
	}
	if (!by_cache)
		return c->ndirs;
	out[0] = (struct row){ .cache = c->name };
	fill_row(&out[0], &all, dt, cache_writer(pc, c));
	return 1;
}

static int cmp_num(double x, double y)
{
	return x == y ? 0 : x < y ? 1 : -1; /* descending */
}

static int cmp_row(const void *a, const void *b, void *ctx)
{
	const struct row *x = a, *y = b;
	enum top_sort sort = *(const enum top_sort *)ctx;
	int c = 0;

	switch (sort) {
	case TOP_SORT_WRITE: c = cmp_num(x->bps, y->bps); break;
	case TOP_SORT_WRITES: c = cmp_num(x->wps, y->wps); break;
	case TOP_SORT_P99: c = cmp_num(x->p99, y->p99); break;
	case TOP_SORT_P50: c = cmp_num(x->p50, y->p50); break;
	case TOP_SORT_UNLINKS: c = cmp_num(x->ups, y->ups); break;
	case TOP_SORT_FREED: c = cmp_num(x->fps, y->fps); break;
	case TOP_SORT_READ: c = cmp_num(x->rbps, y->rbps); break;
	case TOP_SORT_READS: c = cmp_num(x->rps, y->rps); break;
	default: break;
	}
	if (c)
		return c;
	c = strcmp(x->cache, y->cache);
	return c ? c : strcmp(x->dir ? x->dir : "", y->dir ? y->dir : "");
}

/* ---- text that fits ---- */

/* Printable form of a name: odd bytes must not move the cursor. */
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

/* Terminal columns of s, one per character (UTF-8 continuation bytes take none). */
static unsigned text_cols(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Bytes of s that make up its first cols columns. */
static size_t prefix_bytes(const char *s, unsigned cols)
{
	size_t i = 0;

	for (unsigned n = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == cols)
			break;
	}
	return i;
}

/* s in at most w columns, cut in the middle ("/var/lib/cache/~/deep/dir"): both
 * ends of a path say more than its middle. */
static void elide(const char *s, unsigned w, char *out, size_t len)
{
	unsigned n = text_cols(s);

	if (n <= w || w < 3) {
		size_t b = n <= w ? strlen(s) : prefix_bytes(s, w);
		snprintf(out, len, "%.*s", (int)b, s);
		return;
	}
	unsigned head = (w - 1) / 2, tail = w - 1 - head;
	size_t hb = prefix_bytes(s, head);
	const char *t = s + prefix_bytes(s, n - tail);
	snprintf(out, len, "%.*s~%s", (int)hb, s, t);
}

/* Prints one line cut to the width; lines are separated, not ended, by
 * newlines on a terminal so the last one does not scroll the screen. */
static void put_line(FILE *f, const char *line, const struct top_view *v, bool first)
{
	if (!first)
		fputc('\n', f);
	size_t b = v->width ? prefix_bytes(line, v->width) : strlen(line);
	fwrite(line, 1, b, f);
}

struct layout {
	bool show[C_N];
	unsigned name_w;
};

/* Drops the lowest-priority columns until the name column has NAME_MIN. */
static void fit(const struct top_view *v, unsigned name_want, struct layout *l)
{
	unsigned used = 0;

	for (int i = 0; i < C_N; i++) {
		l->show[i] = true;
		used += cols[i].width + 1;
	}
	l->name_w = name_want;
	if (!v->width)
		return;
	while (used + NAME_MIN > v->width) {
		int drop = -1;
		for (int i = 0; i < C_N; i++)
			if (l->show[i] && cols[i].prio && (drop < 0 || cols[i].prio > cols[drop].prio))
				drop = i;
		if (drop < 0)
			break;
		l->show[drop] = false;
		used -= cols[drop].width + 1;
	}
	unsigned room = v->width > used ? v->width - used : NAME_MIN;
	l->name_w = name_want < room ? name_want : room;
	if (l->name_w < 4)
		l->name_w = 4;
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

static void cell(const struct row *r, enum col c, char *buf, size_t len)
{
	char t[32];

	switch (c) {
	case C_WRITE: cw_format_size((uint64_t)r->bps, t, sizeof(t)); snprintf(buf, len, "%s/s", t); break;
	case C_WRITES: snprintf(buf, len, "%.0f", r->wps); break;
	case C_READ: cw_format_size((uint64_t)r->rbps, t, sizeof(t)); snprintf(buf, len, "%s/s", t); break;
	case C_READS: snprintf(buf, len, "%.0f", r->rps); break;
	case C_P50: fmt_lat(r->p50, buf, len); break;
	case C_P99: fmt_lat(r->p99, buf, len); break;
	case C_UNLINK: snprintf(buf, len, "%.0f", r->ups); break;
	case C_FREED: cw_format_size((uint64_t)r->fps, t, sizeof(t)); snprintf(buf, len, "%s/s", t); break;
	case C_WRITER: printable(r->writer, buf, len); break;
	default: buf[0] = 0;
	}
}

/* The row's name: its group under a single cache, else the cache path and group. */
static void row_name(const struct row *r, bool one_cache, char *buf, size_t len)
{
	char raw[CW_GROUP_NAME_MAX + 4096];

	if (!r->dir)
		snprintf(raw, sizeof(raw), "%s", r->cache);
	else if (one_cache)
		snprintf(raw, sizeof(raw), "%s", r->dir);
	else
		snprintf(raw, sizeof(raw), "%s/%s", r->cache, r->dir);
	printable(raw, buf, len);
}

static void format_line(const struct layout *l, const char *name, char cells[C_N][64], char *out,
			size_t len)
{
	char nm[LINE_MAX_BYTES / 2];
	size_t o;

	elide(name, l->name_w, nm, sizeof(nm));
	/* pad by columns, not bytes: a UTF-8 name is fewer columns than bytes */
	o = (size_t)snprintf(out, len, "%s%*s", nm, (int)(l->name_w - text_cols(nm)), "");
	for (int i = 0; i < C_N && o < len; i++) {
		if (!l->show[i])
			continue;
		if (i == C_WRITER)
			o += (size_t)snprintf(out + o, len - o, " %s", cells[i]);
		else
			o += (size_t)snprintf(out + o, len - o, " %*s", (int)cols[i].width, cells[i]);
	}
}

static void draw_title(FILE *f, const struct cw_snapshot *s, const struct top_view *v)
{
	char when[32], line[LINE_MAX_BYTES], root[1024] = "";
	time_t t = (time_t)s->wall_seconds;
	struct tm tm;
	uint64_t drops = 0;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	for (int d = 0; d < CW_DROP_MAX; d++)
		drops += s->drops[d];
	if (s->ncaches == 1)
		printable(s->caches[0].path, root, sizeof(root));
	if (!root[0])
		snprintf(root, sizeof(root), "%zu caches", s->ncaches);
	/* the path last: on a narrow terminal it is cut in the middle to what is left */
	int o = snprintf(line, sizeof(line), "cachewatch top - %s - backend %s - drops %llu - ", when,
			 s->backend, (unsigned long long)drops);
	unsigned used = text_cols(line);
	unsigned room = !v->width ? text_cols(root) : v->width > used ? v->width - used : 0;
	elide(root, room, line + o, sizeof(line) - (size_t)o);
	put_line(f, line, v, true);
}

static void draw_header(FILE *f, const struct layout *l, const struct top_view *v, bool one_cache)
{
	char cells[C_N][64], line[LINE_MAX_BYTES], name[32];

	for (int i = 0; i < C_N; i++)
		snprintf(cells[i], sizeof(cells[i]), "%s%s", cols[i].head,
			 cols[i].sort == (int)v->sort ? "*" : "");
	snprintf(name, sizeof(name), "%s%s", v->by_cache ? "CACHE" : one_cache ? "DIR" : "CACHE/DIR",
		 v->sort == TOP_SORT_DIR ? "*" : "");
	format_line(l, name, cells, line, sizeof(line));
	put_line(f, line, v, false);
}

static void draw_rows(FILE *f, const struct row *rows, size_t n, const struct layout *l,
		      const struct top_view *v, bool one_cache)
{
	char cells[C_N][64], line[LINE_MAX_BYTES], name[LINE_MAX_BYTES / 2];

	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < C_N; c++)
			cell(&rows[i], (enum col)c, cells[c], sizeof(cells[c]));
		row_name(&rows[i], one_cache, name, sizeof(name));
		format_line(l, name, cells, line, sizeof(line));
		put_line(f, line, v, false);
	}
}

static unsigned widest_name(const struct row *rows, size_t n, bool one_cache)
{
	char name[LINE_MAX_BYTES / 2];
	unsigned w = 9; /* "CACHE/DIR" */

	for (size_t i = 0; i < n; i++) {
		row_name(&rows[i], one_cache, name, sizeof(name));
		unsigned c = text_cols(name);
		if (c > w)
			w = c;
	}
	return w < 64 ? w : 64;
}

void top_draw(FILE *f, const struct cw_snapshot *prev, const struct cw_snapshot *s,
	      const struct top_view *v, double interval_s)
{
	double dt = prev ? s->mono_seconds - prev->mono_seconds : interval_s;
	size_t total = 0, nrows = 0;
	struct row *rows;
	bool one_cache = s->ncaches == 1;

	if (dt <= 0)
		dt = 1;
	for (size_t i = 0; i < s->ncaches; i++)
		total += s->caches[i].ndirs + 1;
	rows = calloc(total ? total : 1, sizeof(*rows));
	if (!rows)
		return;
	for (size_t i = 0; i < s->ncaches; i++)
		nrows += cache_rows(prev, s, i, v->by_cache, dt, rows + nrows);
	enum top_sort sort = v->sort;
	qsort_r(rows, nrows, sizeof(*rows), cmp_row, &sort);

	size_t show = nrows;
	if (v->height)
		show = v->height > 3 ? v->height - 3 : 0; /* title, header, footer */
	if (v->max_rows && show > v->max_rows)
		show = v->max_rows;
	if (show > nrows)
		show = nrows;
	struct layout l;
	fit(v, widest_name(rows, show, one_cache), &l);

	if (v->clear)
		fputs("\033[H\033[2J", f);
	draw_title(f, s, v);
	draw_header(f, &l, v, one_cache);
	draw_rows(f, rows, show, &l, v, one_cache);
	if (v->height) {
		char foot[256];
		snprintf(foot, sizeof(foot), "%zu of %zu rows, sorted by %s - q quit, s sort, g %s", show, nrows,
			 top_sort_name(v->sort), v->by_cache ? "per directory" : "per cache");
		put_line(f, foot, v, false);
	} else {
		fputs("\n\n", f);
	}
	fflush(f);
	free(rows);
}
