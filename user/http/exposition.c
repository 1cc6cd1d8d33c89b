/* Exposition renderer: Prometheus text 0.0.4 / OpenMetrics 1.0.0 from one input struct. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http/exposition.h"
#include "http/exposition_proto.h"
#include "lib/mountinfo.h"
#include "lib/utf8.h"


const char *cw_expo_content_type(enum cw_expo_format f)
{
	return f == CW_EXPO_OPENMETRICS ? CW_CONTENT_TYPE_OPENMETRICS
	       : f == CW_EXPO_PROTOBUF	? CW_CONTENT_TYPE_PROTOBUF
					: CW_CONTENT_TYPE_TEXT;
}

/* ---- values and label values -------------------------------------------- */

void cw_format_double(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers as integers (timestamps would otherwise come out as 1.7e+09). */
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		snprintf(buf, len, "%.0f", v);
		return;
	}
	/* Else the shortest precision that reads back exactly: 0.1 stays "0.1", not 0.10000000000000001. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void cw_escape_label(struct cw_buf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '"' ? "\\\"" : s[i] == '\n' ? "\\n" : NULL;
		if (!esc)
			continue;
		cw_buf_append(out, s + start, i - start);
		cw_buf_puts(out, esc);
		start = i + 1;
	}
	cw_buf_append(out, s + start, n - start);
}

/* ---- exposition primitives ---------------------------------------------- */

/* Histogram buckets: every other power of two of nanoseconds, 2^10 ns (~1us) to
 * 2^34 ns (~17s). Slot k holds [2^k, 2^(k+1)) ns, so the bucket le=2^(k+1) ns is
 * exactly slots 0..k. */
#define HIST_FIRST_EDGE 10
#define HIST_LAST_EDGE 34
#define HIST_BUCKETS ((HIST_LAST_EDGE - HIST_FIRST_EDGE) / 2 + 1)

struct render {
	struct cw_buf *out;
	enum cw_expo_format fmt;
	const struct cw_metrics_input *in;
	char **cache_labels; /* sanitized cache names, per snapshot cache */
	char ***dir_labels;  /* sanitized, disambiguated dir names, per cache and dir */
	char le[HIST_BUCKETS][24]; /* bucket bounds in seconds, formatted once per render */
	struct cw_proto *proto;    /* CW_EXPO_PROTOBUF: families and samples go there */
};

struct label {
	const char *name;
	const char *value; /* already sanitized: only exposition escaping left */
};

/* name is the family name; counters get "_total" on their samples (and on the
 * text format's HELP/TYPE lines, which name the sample, not the family). */
static void family(struct render *r, const char *name, const char *type, const char *unit,
		   const char *help)
{
	if (r->proto) {
		cw_proto_family(r->proto, name, type, help);
		return;
	}
	bool text_counter = r->fmt == CW_EXPO_TEXT && !strcmp(type, "counter");
	const char *suffix = text_counter ? "_total" : "";
	cw_buf_printf(r->out, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, suffix, help, name, suffix, type);
	if (r->fmt == CW_EXPO_OPENMETRICS && unit && *unit)
		cw_buf_printf(r->out, "# UNIT %s %s\n", name, unit);
}

static void sample_head(struct render *r, const char *name, const char *suffix,
			const struct label *l, size_t nl)
{
	cw_buf_puts(r->out, name);
	cw_buf_puts(r->out, suffix);
	if (nl == 0)
		return;
	cw_buf_puts(r->out, "{");
	for (size_t i = 0; i < nl; i++) {
		cw_buf_printf(r->out, "%s%s=\"", i ? "," : "", l[i].name);
		cw_escape_label(r->out, l[i].value, strlen(l[i].value));
		cw_buf_puts(r->out, "\"");
	}
	cw_buf_puts(r->out, "}");
}

/* In protobuf a sample is a metric of the current family: its labels, then its value. */
static bool proto_metric(struct render *r, const struct label *l, size_t nl)
{
	if (!r->proto)
		return false;
	cw_proto_metric(r->proto);
	for (size_t i = 0; i < nl; i++)
		cw_proto_label(r->proto, l[i].name, l[i].value);
	return true;
}

static void sample_u64(struct render *r, const char *name, const char *suffix,
		       const struct label *l, size_t nl, uint64_t v)
{
	if (proto_metric(r, l, nl)) {
		cw_proto_value(r->proto, (double)v);
		return;
	}
	sample_head(r, name, suffix, l, nl);
	cw_buf_printf(r->out, " %" PRIu64 "\n", v);
}

static void sample_double(struct render *r, const char *name, const char *suffix,
			  const struct label *l, size_t nl, double v)
{
	if (proto_metric(r, l, nl)) {
		cw_proto_value(r->proto, v);
		return;
	}
	char num[40];
	cw_format_double(v, num, sizeof(num));
	sample_head(r, name, suffix, l, nl);
	cw_buf_printf(r->out, " %s\n", num);
}

/* ---- label tables ------------------------------------------------------- */

static char *sanitized(const char *raw)
{
	struct cw_buf b = { 0 };
	size_t len;
	cw_utf8_sanitize(&b, raw ? raw : "");
	cw_buf_append(&b, "", 0);
	return cw_buf_steal(&b, &len);
}

/* The snapshot may hold the same dir name twice (a real directory called
 * "_other" next to the folded series). Dirs are sorted, equal names adjacent
 * with the folded series first, so it keeps "_other"; later ones get "\#2",
 * "\#3", which no sanitized name can contain (sanitized names only carry a
 * backslash as "\xNN"). */
static char *dir_label(const struct cw_cache_snap *c, size_t i, unsigned *dup)
{
	if (i > 0 && !strcmp(c->dirs[i].dir, c->dirs[i - 1].dir))
		(*dup)++;
	else
		*dup = 1;
	char *s = sanitized(c->dirs[i].dir);
	if (!s || *dup == 1)
		return s;
	struct cw_buf b = { 0 };
	size_t len;
	cw_buf_printf(&b, "%s\\#%u", s, *dup);
	free(s);
	return cw_buf_steal(&b, &len);
}

static void labels_free(struct render *r)
{
	const struct cw_snapshot *s = r->in->snap;
	for (size_t i = 0; s && i < s->ncaches; i++) {
		if (r->cache_labels)
			free(r->cache_labels[i]);
		for (size_t j = 0; r->dir_labels && r->dir_labels[i] && j < s->caches[i].ndirs; j++)
			free(r->dir_labels[i][j]);
		if (r->dir_labels)
			free(r->dir_labels[i]);
	}
	free(r->cache_labels);
	free(r->dir_labels);
}

static int labels_build(struct render *r)
{
	const struct cw_snapshot *s = r->in->snap;
	if (!s || s->ncaches == 0)
		return 0;
	r->cache_labels = calloc(s->ncaches, sizeof(*r->cache_labels));
	r->dir_labels = calloc(s->ncaches, sizeof(*r->dir_labels));
	if (!r->cache_labels || !r->dir_labels)
		return -1;
	for (size_t i = 0; i < s->ncaches; i++) {
		const struct cw_cache_snap *c = &s->caches[i];
		r->cache_labels[i] = sanitized(c->name);
		r->dir_labels[i] = calloc(c->ndirs ? c->ndirs : 1, sizeof(char *));
		if (!r->cache_labels[i] || !r->dir_labels[i])
			return -1;
		unsigned dup = 1;
		for (size_t j = 0; j < c->ndirs; j++)
			if (!(r->dir_labels[i][j] = dir_label(c, j, &dup)))
				return -1;
	}
	return 0;
}

/* ---- per cache and dir -------------------------------------------------- */

struct dir_counter {
	const char *name;
	const char *unit;
	const char *help;
	size_t off;
};

static const struct dir_counter dir_counters[] = {
	{ "cachewatch_write_bytes", "bytes", "Bytes written into files under the directory (successful write calls).",
	  offsetof(struct cw_dir_snap, write_bytes) },
	{ "cachewatch_writes", "", "Write calls on files under the directory, failed ones included.",
	  offsetof(struct cw_dir_snap, writes) },
	{ "cachewatch_write_errors", "", "Write calls on files under the directory that returned an error.",
	  offsetof(struct cw_dir_snap, write_errors) },
	{ "cachewatch_unlinks", "", "Files unlinked under the directory.",
	  offsetof(struct cw_dir_snap, unlinks) },
	{ "cachewatch_unlinked_bytes", "bytes", "Size of the files unlinked under the directory.",
	  offsetof(struct cw_dir_snap, unlinked_bytes) },
	{ "cachewatch_read_bytes", "bytes", "Bytes read from files under the directory (successful read calls, copies and io_uring reads from them).",
	  offsetof(struct cw_dir_snap, read_bytes) },
	{ "cachewatch_reads", "", "Read calls on files under the directory, failed ones included.",
	  offsetof(struct cw_dir_snap, reads) },
	{ "cachewatch_read_errors", "", "Read calls on files under the directory that returned an error.",
	  offsetof(struct cw_dir_snap, read_errors) },
	{ "cachewatch_clone_bytes", "bytes", "Bytes shared into files under the directory by clones (reflink), which write no data.",
	  offsetof(struct cw_dir_snap, clone_bytes) },
	{ "cachewatch_read_opens", "", "Opens of existing files under the directory for reading (O_RDONLY, O_RDWR).",
	  offsetof(struct cw_dir_snap, read_opens) },
	{ "cachewatch_entries_written", "", "Files under the directory created, or written again after being read.",
	  offsetof(struct cw_dir_snap, entries_written) },
	{ "cachewatch_entries_reused", "", "Files under the directory opened for reading for the first time since they were written.",
	  offsetof(struct cw_dir_snap, entries_reused) },
};


/* Every configured cache has a dir="." series from the start (0 until a file
 * directly under the root is written; with group_depth 0, any file), so rate()
 * and sum by (cache) work on an idle cache. Group dirs appear when first used. */
static bool has_root_dir(const struct cw_cache_snap *c)
{
	for (size_t j = 0; j < c->ndirs; j++)
		if (!strcmp(c->dirs[j].dir, "."))
			return true;
	return false;
}

static void render_dir_counters(struct render *r)
{
	const struct cw_snapshot *s = r->in->snap;
	for (size_t f = 0; f < sizeof(dir_counters) / sizeof(dir_counters[0]); f++) {
		const struct dir_counter *dc = &dir_counters[f];
		family(r, dc->name, "counter", dc->unit, dc->help);
		for (size_t i = 0; i < s->ncaches; i++) {
			if (!has_root_dir(&s->caches[i])) {
				struct label l[] = { { "cache", r->cache_labels[i] }, { "dir", "." } };
				sample_u64(r, dc->name, "_total", l, 2, 0);
			}
			for (size_t j = 0; j < s->caches[i].ndirs; j++) {
				const struct cw_dir_snap *d = &s->caches[i].dirs[j];
				struct label l[] = { { "cache", r->cache_labels[i] }, { "dir", r->dir_labels[i][j] } };
				uint64_t v;
				memcpy(&v, (const char *)d + dc->off, sizeof(v));
				sample_u64(r, dc->name, "_total", l, 2, v);
			}
		}
	}
}

static void render_hist(struct render *r, const struct cw_hist *h, const char *cache, const char *dir)
{
	const char *name = "cachewatch_write_latency_seconds";
	uint64_t cum = 0;
	struct label ml[] = { { "cache", cache }, { "dir", dir } };
	/* Protobuf: the native histogram, and the same classic buckets as text. */
	if (proto_metric(r, ml, 2))
		cw_proto_histogram(r->proto, h);
	for (int k = 0; k < CW_HIST_SLOTS; k++) {
		cum += h->slots[k];
		int edge = k + 1;
		if (edge < HIST_FIRST_EDGE || edge > HIST_LAST_EDGE || (edge - HIST_FIRST_EDGE) % 2)
			continue;
		if (r->proto) {
			cw_proto_bucket(r->proto, ldexp(1.0, edge) / 1e9, cum);
			continue;
		}
		struct label l[] = { { "cache", cache }, { "dir", dir }, { "le", r->le[(edge - HIST_FIRST_EDGE) / 2] } };
		sample_u64(r, name, "_bucket", l, 3, cum);
	}
	if (r->proto)
		return;
	/* +Inf and _count are the sum of the slots, not h->count, so the buckets are
	 * cumulative and consistent with _count by construction. */
	struct label l[] = { { "cache", cache }, { "dir", dir }, { "le", "+Inf" } };
	sample_u64(r, name, "_bucket", l, 3, cum);
	sample_double(r, name, "_sum", l, 2, (double)h->sum_ns / 1e9);
	sample_u64(r, name, "_count", l, 2, cum);
}

static void render_dirs(struct render *r)
{
	const struct cw_snapshot *s = r->in->snap;
	static const struct cw_hist idle;
	if (!s || s->ncaches == 0)
		return;
	render_dir_counters(r);
	family(r, "cachewatch_write_latency_seconds", "histogram", "seconds",
	       "Latency of write calls on files under the directory.");
	for (size_t i = 0; i < s->ncaches; i++) {
		if (!has_root_dir(&s->caches[i]))
			render_hist(r, &idle, r->cache_labels[i], ".");
		for (size_t j = 0; j < s->caches[i].ndirs; j++)
			render_hist(r, &s->caches[i].dirs[j].lat, r->cache_labels[i], r->dir_labels[i][j]);
	}
}

/* ---- per cache: purge engine -------------------------------------------- */

enum pkind { PK_U64, PK_DOUBLE, PK_BOOL, PK_MS, PK_PCT };
enum pcond { PC_ALWAYS, PC_SCANNED, PC_NONZERO, PC_PURGED, PC_FS, PC_SIZECAP, PC_OLDEST, PC_KEEP_HOT };

struct purge_family {
	const char *name;
	const char *type;
	const char *unit;
	const char *help;
	size_t off;
	enum pkind kind;
	enum pcond cond;
};

#define PS(field) offsetof(struct cw_purge_stats, field)
static const struct purge_family purge_families[] = {
	{ "cachewatch_cache_size_bytes", "gauge", "bytes",
	  "Disk usage of the cache in bytes (du -sB1, st_blocks*512): the last scan plus the net change "
	  "observed since (growth, truncations, unlinks of last links, renames in and out), changes "
	  "estimated as i_size rounded up to the file system block.",
	  PS(size_bytes), PK_U64, PC_SCANNED },
	{ "cachewatch_cache_scanned_size_bytes", "gauge", "bytes", "Disk usage of the cache at the last scan.",
	  PS(scanned_size_bytes), PK_U64, PC_SCANNED },
	{ "cachewatch_cache_apparent_size_bytes", "gauge", "bytes",
	  "Apparent size of the cache in bytes (du -sb --apparent-size, the sum of st_size): the last "
	  "scan plus the net change observed since.",
	  PS(apparent_size_bytes), PK_U64, PC_SCANNED },
	{ "cachewatch_cache_scanned_apparent_size_bytes", "gauge", "bytes",
	  "Sum of the file sizes at the last scan.", PS(apparent_bytes), PK_U64, PC_SCANNED },
	{ "cachewatch_cache_size_unknown_changes", "counter", "",
	  "Size changes the attach backend saw but could not size (each asks for an early rescan).",
	  PS(size_unknown), PK_U64, PC_ALWAYS },
	{ "cachewatch_cache_files", "gauge", "", "Regular files in the cache at the last scan.",
	  PS(files), PK_U64, PC_SCANNED },
	{ "cachewatch_cache_oldest_entry_timestamp_seconds", "gauge", "seconds",
	  "Last use (unix time) of the least recently used file at the last scan; its age is time() minus this.",
	  PS(oldest_entry_time), PK_DOUBLE, PC_OLDEST },
	{ "cachewatch_cache_last_scan_timestamp_seconds", "gauge", "seconds", "When the last scan finished.",
	  PS(last_scan_time), PK_DOUBLE, PC_SCANNED },
	{ "cachewatch_cache_scan_duration_seconds", "gauge", "seconds", "How long the last scan took.",
	  PS(last_scan_duration), PK_DOUBLE, PC_SCANNED },
	{ "cachewatch_purge_errors", "counter", "", "Failed deletions and scan errors.",
	  PS(errors), PK_U64, PC_ALWAYS },
	{ "cachewatch_cache_last_purge_timestamp_seconds", "gauge", "seconds", "When the last purge finished.",
	  PS(last_purge_time), PK_DOUBLE, PC_PURGED },
	{ "cachewatch_cache_last_purge_duration_seconds", "gauge", "seconds", "How long the last purge took.",
	  PS(last_purge_duration), PK_DOUBLE, PC_PURGED },
	{ "cachewatch_filesystem_avail_bytes", "gauge", "bytes",
	  "Bytes of the file system holding the cache available to unprivileged users (as node_filesystem_avail_bytes).",
	  PS(fs_avail_bytes), PK_U64, PC_FS },
	{ "cachewatch_filesystem_free_bytes", "gauge", "bytes",
	  "Free bytes of the file system holding the cache, root-reserved blocks included (as node_filesystem_free_bytes).",
	  PS(fs_free_bytes), PK_U64, PC_FS },
	{ "cachewatch_filesystem_size_bytes", "gauge", "bytes", "Size of the file system holding the cache.",
	  PS(fs_total_bytes), PK_U64, PC_FS },
	{ "cachewatch_cache_purge_enabled", "gauge", "", "1 when a purge policy is configured, 0 when only reported.",
	  PS(enabled), PK_BOOL, PC_ALWAYS },
	{ "cachewatch_cache_purge_dry_run", "gauge", "", "1 when purges only log what they would delete.",
	  PS(dry_run), PK_BOOL, PC_ALWAYS },
	{ "cachewatch_cache_limit_size_bytes", "gauge", "bytes", "Configured max_size of the cache.",
	  PS(limits.max_size), PK_U64, PC_NONZERO },
	{ "cachewatch_cache_limit_high_watermark_ratio", "gauge", "ratio",
	  "Fraction of max_size at which a purge starts.", PS(limits.high_watermark), PK_PCT, PC_SIZECAP },
	{ "cachewatch_cache_limit_low_watermark_ratio", "gauge", "ratio",
	  "Fraction of max_size a purge goes down to.", PS(limits.low_watermark), PK_PCT, PC_SIZECAP },
	{ "cachewatch_cache_limit_max_age_seconds", "gauge", "seconds",
	  "Configured max_age: files unused longer are deleted.", PS(limits.max_age_ms), PK_MS, PC_NONZERO },
	{ "cachewatch_cache_limit_min_age_seconds", "gauge", "seconds",
	  "Configured min_age: files used more recently are never deleted.", PS(limits.min_age_ms), PK_MS, PC_NONZERO },
	{ "cachewatch_cache_limit_min_free_ratio", "gauge", "ratio",
	  "Configured min_free: fraction of the file system that must stay free.", PS(limits.min_free), PK_PCT, PC_NONZERO },
	{ "cachewatch_cache_limit_files", "gauge", "", "Configured max_files of the cache.",
	  PS(limits.max_files), PK_U64, PC_NONZERO },
	{ "cachewatch_cache_scan_interval_seconds", "gauge", "seconds", "Configured periodic scan interval.",
	  PS(limits.interval_ms), PK_MS, PC_NONZERO },
	{ "cachewatch_cache_purge_trigger_bytes", "gauge", "bytes",
	  "Configured trigger_bytes: bytes written since the last scan that start one.",
	  PS(limits.trigger_bytes), PK_U64, PC_NONZERO },
	{ "cachewatch_purge_kept_hot_files", "gauge", "",
	  "Files keep_hot kept out of the last scan's selection: deletable, but accessed often enough within its window.",
	  PS(kept_hot_files), PK_U64, PC_KEEP_HOT },
	{ "cachewatch_purge_kept_hot_bytes", "gauge", "bytes", "Disk usage of the files keep_hot kept at the last scan.",
	  PS(kept_hot_bytes), PK_U64, PC_KEEP_HOT },
};

static double purge_value(const struct cw_purge_stats *p, const struct purge_family *f)
{
	const char *at = (const char *)p + f->off;
	uint64_t u;
	double d;
	bool b;
	switch (f->kind) {
	case PK_U64:
	case PK_MS:
		memcpy(&u, at, sizeof(u));
		return f->kind == PK_MS ? (double)u / 1000.0 : (double)u;
	case PK_DOUBLE:
	case PK_PCT:
		memcpy(&d, at, sizeof(d));
		return f->kind == PK_PCT ? d / 100.0 : d;
	case PK_BOOL:
		memcpy(&b, at, sizeof(b));
		return b ? 1 : 0;
	}
	return 0;
}

static bool purge_present(const struct cw_purge_stats *p, const struct purge_family *f)
{
	switch (f->cond) {
	case PC_ALWAYS:
		return true;
	case PC_SCANNED:
		return p->scanned;
	case PC_NONZERO:
		return purge_value(p, f) != 0;
	case PC_PURGED:
		return p->last_purge_time != 0;
	case PC_FS:
		return p->fs_total_bytes != 0;
	case PC_SIZECAP:
		return p->limits.max_size != 0;
	case PC_OLDEST:
		return p->scanned && p->oldest_entry_time != 0; /* an empty cache has no oldest file */
	case PC_KEEP_HOT:
		return p->scanned && p->limits.keep_hot.enabled;
	}
	return false;
}

static void render_purge_family(struct render *r, const struct purge_family *f, char **names)
{
	const struct cw_metrics_input *in = r->in;
	bool any = false;
	for (size_t i = 0; i < in->npurge && !any; i++)
		any = purge_present(&in->purge[i], f);
	if (!any)
		return;
	family(r, f->name, f->type, f->unit, f->help);
	bool counter = !strcmp(f->type, "counter");
	for (size_t i = 0; i < in->npurge; i++) {
		const struct cw_purge_stats *p = &in->purge[i];
		if (!purge_present(p, f))
			continue;
		struct label l[] = { { "cache", names[i] } };
		if (f->kind == PK_U64)
			sample_u64(r, f->name, counter ? "_total" : "", l, 1, (uint64_t)purge_value(p, f));
		else
			sample_double(r, f->name, counter ? "_total" : "", l, 1, purge_value(p, f));
	}
}

struct reason_family {
	const char *name;
	const char *unit;
	const char *help;
	size_t off;
};

static const struct reason_family reason_families[] = {
	{ "cachewatch_purges", "", "Purge runs that deleted files, by the limit that caused them.", PS(purges) },
	{ "cachewatch_purged_files", "", "Files deleted by purges, by reason.", PS(purged_files) },
	{ "cachewatch_purged_bytes", "bytes", "Disk usage freed by purges, by reason.", PS(purged_bytes) },
};

static void render_purge(struct render *r)
{
	const struct cw_metrics_input *in = r->in;
	if (in->npurge == 0)
		return;
	char **names = calloc(in->npurge, sizeof(char *));
	if (!names) {
		r->out->oom = true;
		return;
	}
	for (size_t i = 0; i < in->npurge; i++) {
		char name[sizeof(in->purge[i].name) + 1];
		snprintf(name, sizeof(name), "%.*s", (int)sizeof(in->purge[i].name), in->purge[i].name);
		if (!(names[i] = sanitized(name)))
			r->out->oom = true;
	}
	for (size_t f = 0; f < sizeof(purge_families) / sizeof(purge_families[0]) && !r->out->oom; f++)
		render_purge_family(r, &purge_families[f], names);
	for (size_t f = 0; f < sizeof(reason_families) / sizeof(reason_families[0]) && !r->out->oom; f++) {
		const struct reason_family *rf = &reason_families[f];
		family(r, rf->name, "counter", rf->unit, rf->help);
		for (size_t i = 0; i < in->npurge; i++) {
			const uint64_t *v = (const uint64_t *)((const char *)&in->purge[i] + rf->off);
			for (int k = 0; k < CW_PURGE_REASON_MAX; k++) {
				struct label l[] = { { "cache", names[i] },
						     { "reason", cw_purge_reason_name((enum cw_purge_reason)k) } };
				sample_u64(r, rf->name, "_total", l, 2, v[k]);
			}
		}
	}
	for (size_t i = 0; i < in->npurge; i++)
		free(names[i]);
	free(names);
}

/* ---- agent and process -------------------------------------------------- */

static const char *backend_of(const struct cw_metrics_input *in)
{
	return in->snap && in->snap->backend ? in->snap->backend : "none";
}

/* cachewatch_cache_info: the cache's path and the mount holding it, labelled as
 * node_exporter labels node_filesystem_* (mountpoint, device, fstype), so
 * queries can join them. The mount is looked up at render time from the armed
 * root's device, so a root re-armed elsewhere is right at the next scrape; a
 * root that is not armed (missing, or refused) has empty mount labels. */
static void render_cache_info(struct render *r)
{
	const struct cw_snapshot *s = r->in->snap;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	family(r, "cachewatch_cache_info", "gauge", "",
	       "1 per cache: its path and the mount holding it (node_exporter's mountpoint, device, fstype).");
	for (size_t i = 0; i < s->ncaches && !r->out->oom; i++) {
		const struct cw_cache_snap *c = &s->caches[i];
		struct cw_mount m = { "", "", "" };
		/* The device of the root the data plane validated and armed, not of
		 * whatever the path resolves to now (through a swapped ancestor, say). */
		if (f && c->armed) {
			rewind(f);
			if (cw_mountinfo_find(f, (dev_t)c->dev, c->path, &m))
				m = (struct cw_mount){ "", "", "" };
		}
		char *path = sanitized(c->path), *mnt = sanitized(m.mountpoint), *dev = sanitized(m.device),
		     *fstype = sanitized(m.fstype);
		if (path && mnt && dev && fstype) {
			struct label l[] = { { "cache", r->cache_labels[i] }, { "path", path }, { "mountpoint", mnt },
					     { "device", dev }, { "fstype", fstype } };
			sample_u64(r, "cachewatch_cache_info", "", l, 5, 1);
		} else {
			r->out->oom = true;
		}
		free(path);
		free(mnt);
		free(dev);
		free(fstype);
	}
	if (f)
		fclose(f);
}

/* The per-file access record map: use, limit, kernel memory. */
static void render_access_records(struct render *r, const struct cw_snapshot *s)
{
	struct label l[] = { { "map", "access" } };

	family(r, "cachewatch_access_records", "gauge", "",
	       "Files the BPF side holds an access record for.");
	sample_u64(r, "cachewatch_access_records", "", NULL, 0, s->access_records);
	family(r, "cachewatch_access_records_limit", "gauge", "",
	       "Most access records the BPF side can hold (bpf.access_records).");
	sample_u64(r, "cachewatch_access_records_limit", "", NULL, 0, s->access_records_max);
	if (!s->access_map_bytes)
		return;
	family(r, "cachewatch_bpf_map_bytes", "gauge", "bytes", "Kernel memory of a BPF map, by map.");
	sample_u64(r, "cachewatch_bpf_map_bytes", "", l, 1, s->access_map_bytes);
}

static void render_agent(struct render *r)
{
	const struct cw_metrics_input *in = r->in;
	const struct cw_snapshot *s = in->snap;
	char *kernel = sanitized(in->build.kernel ? in->build.kernel : "");
	if (!kernel) {
		r->out->oom = true;
		return;
	}
	family(r, "cachewatch_build_info", "gauge", "",
	       "Version, revision, attach backend and kernel of the running agent; always 1.");
	struct label bl[] = { { "version", in->build.version ? in->build.version : "" },
			      { "revision", in->build.revision ? in->build.revision : "" },
			      { "backend", backend_of(in) },
			      { "kernel", kernel } };
	sample_u64(r, "cachewatch_build_info", "", bl, 4, 1);
	free(kernel);

	if (s && s->ncaches) {
		family(r, "cachewatch_cache_armed", "gauge", "",
		       "1 when the cache's root directory exists and is watched, 0 while it is pending.");
		for (size_t i = 0; i < s->ncaches; i++) {
			struct label l[] = { { "cache", r->cache_labels[i] } };
			sample_u64(r, "cachewatch_cache_armed", "", l, 1, s->caches[i].armed);
		}
	}
	if (s && s->ncaches)
		render_cache_info(r);
	if (s) {
		family(r, "cachewatch_bpf_drops", "counter", "",
		       "Events the BPF programs could not record, by reason.");
		for (int d = 0; d < CW_DROP_MAX; d++) {
			struct label l[] = { { "reason", cw_drop_name((enum cw_drop)d) } };
			sample_u64(r, "cachewatch_bpf_drops", "_total", l, 1, s->drops[d]);
		}
		render_access_records(r, s);
		family(r, "cachewatch_size_unresolved_changes", "counter", "",
		       "Renames and truncates by a path the BPF programs could not attribute (tracepoint "
		       "backend): any cache may have changed size, each asks every cache for an early rescan.");
		sample_u64(r, "cachewatch_size_unresolved_changes", "_total", NULL, 0, s->size_unresolved);
		family(r, "cachewatch_poll_duration_seconds", "gauge", "seconds",
		       "How long the last poll of the BPF maps took.");
		sample_double(r, "cachewatch_poll_duration_seconds", "", NULL, 0, s->poll_duration_seconds);
		family(r, "cachewatch_last_poll_timestamp_seconds", "gauge", "seconds",
		       "When the snapshot being served was taken.");
		sample_double(r, "cachewatch_last_poll_timestamp_seconds", "", NULL, 0, s->wall_seconds);
	}
	if (in->has_scrape_duration) {
		family(r, "cachewatch_scrape_duration_seconds", "gauge", "seconds",
		       "How long rendering the previous scrape took.");
		sample_double(r, "cachewatch_scrape_duration_seconds", "", NULL, 0, in->scrape_duration_seconds);
	}
	if (in->has_config) {
		family(r, "cachewatch_config_last_reload_successful", "gauge", "",
		       "1 when the last configuration reload succeeded.");
		sample_u64(r, "cachewatch_config_last_reload_successful", "", NULL, 0, in->last_reload_ok);
		family(r, "cachewatch_config_last_reload_success_timestamp_seconds", "gauge", "seconds",
		       "When the configuration was last loaded successfully.");
		sample_double(r, "cachewatch_config_last_reload_success_timestamp_seconds", "", NULL, 0,
			      in->last_reload_success_time);
	}
}

static void render_process(struct render *r)
{
	const struct cw_procstats *p = r->in->proc;
	if (!p || !p->ok)
		return;
	family(r, "process_cpu_seconds", "counter", "seconds", "Total user and system CPU time spent in seconds.");
	sample_double(r, "process_cpu_seconds", "_total", NULL, 0, p->cpu_seconds);
	family(r, "process_open_fds", "gauge", "", "Number of open file descriptors.");
	sample_u64(r, "process_open_fds", "", NULL, 0, p->open_fds);
	family(r, "process_max_fds", "gauge", "", "Maximum number of open file descriptors.");
	sample_u64(r, "process_max_fds", "", NULL, 0, p->max_fds);
	family(r, "process_virtual_memory_bytes", "gauge", "bytes", "Virtual memory size in bytes.");
	sample_u64(r, "process_virtual_memory_bytes", "", NULL, 0, p->virtual_bytes);
	family(r, "process_resident_memory_bytes", "gauge", "bytes", "Resident memory size in bytes.");
	sample_u64(r, "process_resident_memory_bytes", "", NULL, 0, p->resident_bytes);
	family(r, "process_start_time_seconds", "gauge", "seconds",
	       "Start time of the process since unix epoch in seconds.");
	sample_double(r, "process_start_time_seconds", "", NULL, 0, p->start_time_seconds);
}

int cw_metrics_render(const struct cw_metrics_input *in, enum cw_expo_format fmt, struct cw_buf *out)
{
	struct render r = { .out = out, .fmt = fmt, .in = in };
	for (int i = 0; i < HIST_BUCKETS; i++)
		cw_format_double(ldexp(1.0, HIST_FIRST_EDGE + 2 * i) / 1e9, r.le[i], sizeof(r.le[i]));
	int err = labels_build(&r);
	if (!err && fmt == CW_EXPO_PROTOBUF && !(r.proto = cw_proto_new(out)))
		err = -1;
	if (err) {
		out->oom = true;
		goto cleanup;
	}
	render_dirs(&r);
	render_purge(&r);
	render_agent(&r);
	render_process(&r);
	if (fmt == CW_EXPO_OPENMETRICS)
		cw_buf_puts(out, "# EOF\n");
cleanup:
	if (r.proto)
		cw_proto_finish(r.proto);
	labels_free(&r);
	return out->oom ? -1 : 0;
}

/* ---- landing page ------------------------------------------------------- */

static void html_escape(struct cw_buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': cw_buf_puts(out, "&amp;"); break;
		case '<': cw_buf_puts(out, "&lt;"); break;
		case '>': cw_buf_puts(out, "&gt;"); break;
		case '"': cw_buf_puts(out, "&quot;"); break;
		case '\'': cw_buf_puts(out, "&#39;"); break;
		default: cw_buf_append(out, s, 1);
		}
	}
}

/* Names come from the file system: made valid UTF-8 first, then HTML-escaped. */
static void html_text(struct cw_buf *out, const char *raw)
{
	char *s = sanitized(raw ? raw : "");
	if (!s) {
		out->oom = true;
		return;
	}
	html_escape(out, s);
	free(s);
}

int cw_landing_render(const struct cw_metrics_input *in, const char *telemetry_path, struct cw_buf *out)
{
	const struct cw_snapshot *s = in->snap;
	cw_buf_puts(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cachewatch</title></head>\n"
			 "<body>\n<h1>cachewatch</h1>\n<p>Version ");
	html_text(out, in->build.version);
	cw_buf_puts(out, " (revision ");
	html_text(out, in->build.revision);
	cw_buf_puts(out, "), attach backend ");
	html_text(out, backend_of(in));
	cw_buf_puts(out, ".</p>\n<p><a href=\"");
	html_text(out, telemetry_path);
	cw_buf_puts(out, "\">Metrics</a></p>\n<h2>Watched caches</h2>\n");
	if (!s) {
		cw_buf_puts(out, "<p>Not attached yet.</p>\n");
	} else {
		cw_buf_puts(out, "<table>\n<tr><th>cache</th><th>path</th><th>state</th><th>dirs</th></tr>\n");
		for (size_t i = 0; i < s->ncaches; i++) {
			const struct cw_cache_snap *c = &s->caches[i];
			cw_buf_puts(out, "<tr><td>");
			html_text(out, c->name);
			cw_buf_puts(out, "</td><td>");
			html_text(out, c->path);
			cw_buf_printf(out, "</td><td>%s</td><td>%zu</td></tr>\n", c->armed ? "watched" : "pending",
				      c->ndirs);
		}
		cw_buf_puts(out, "</table>\n");
	}
	cw_buf_puts(out, "</body></html>\n");
	return out->oom ? -1 : 0;
}
