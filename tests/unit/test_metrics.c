/* Tests of the exposition renderer: escaping, UTF-8, histograms, text vs OpenMetrics, purge stats, gzip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <cmocka.h>
#include "http/exposition.h"
#include "http/gzip.h"
#include "lib/utf8.h"

/* ---- fixtures ----------------------------------------------------------- */

struct fixture {
	struct cw_snapshot snap;
	struct cw_cache_snap caches[2];
	struct cw_dir_snap dirs[4];
	char *names[8];
};

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->snap.backend = "tracepoint";
	f->snap.poll_duration_seconds = 0.25;
	f->snap.wall_seconds = 1700000000.5;
	f->snap.drops[CW_DROP_WALK_DEPTH] = 7;
	f->snap.ncaches = 1;
	f->snap.caches = f->caches;
	f->caches[0].name = "gocache";
	f->caches[0].path = "/root/.cache/go-build";
	f->caches[0].armed = true;
	f->caches[0].ndirs = 1;
	f->caches[0].dirs = f->dirs;
	f->dirs[0].dir = ".";
	f->dirs[0].write_bytes = 12345;
	f->dirs[0].writes = 3;
	f->dirs[0].write_errors = 1;
	f->dirs[0].unlinks = 2;
	f->dirs[0].unlinked_bytes = 4096;
	f->dirs[0].read_bytes = 777;
	f->dirs[0].reads = 5;
	f->dirs[0].read_errors = 2;
	f->dirs[0].clone_bytes = 8192;
	return f;
}

static char *render(const struct cw_metrics_input *in, enum cw_expo_format fmt)
{
	struct cw_buf b = { 0 };
	size_t len;
	assert_int_equal(cw_metrics_render(in, fmt, &b), 0);
	char *s = cw_buf_steal(&b, &len);
	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

static char *render_snap(const struct cw_snapshot *s, enum cw_expo_format fmt)
{
	struct cw_metrics_input in = { .snap = s, .build = { "1.2.3", "abc", "6.1.0" } };
	return render(&in, fmt);
}

/* The whole line must be present. */
#define assert_line(text, line)                                                        \
	do {                                                                            \
		char *needle_ = malloc(strlen(line) + 3);                               \
		sprintf(needle_, "\n%s\n", line);                                      \
		if (!strstr(text, needle_) && strncmp(text, needle_ + 1, strlen(line) + 1)) \
			fail_msg("missing line: %s\n--- in ---\n%s", line, text);       \
		free(needle_);                                                          \
	} while (0)

#define assert_absent(text, sub)                                                       \
	do {                                                                            \
		if (strstr(text, sub))                                                  \
			fail_msg("unexpected: %s\n--- in ---\n%s", sub, text);          \
	} while (0)

static char *sanitize(const char *raw)
{
	struct cw_buf b = { 0 };
	size_t len;
	cw_utf8_sanitize(&b, raw);
	cw_buf_append(&b, "", 0);
	return cw_buf_steal(&b, &len);
}

/* ---- escaping ----------------------------------------------------------- */

static void test_escape_label(void **state)
{
	(void)state;
	struct cw_buf b = { 0 };
	size_t len;
	const char *v = "a\\b\"c\nd";
	cw_escape_label(&b, v, strlen(v));
	char *s = cw_buf_steal(&b, &len);
	assert_string_equal(s, "a\\\\b\\\"c\\nd");
	free(s);
}

static void test_sanitize_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *want;
	} cases[] = {
		{ "plain/dir", "plain/dir" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },                 /* valid 2-byte */
		{ "\xe2\x82\xac", "\xe2\x82\xac" },               /* valid 3-byte (euro) */
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },       /* valid 4-byte */
		{ "a\xff" "b", "a\\xffb" },                       /* stray byte */
		{ "\xc0\xaf", "\\xc0\\xaf" },                     /* overlong '/' */
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },            /* UTF-16 surrogate */
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },   /* above U+10FFFF */
		{ "\xe2\x82", "\\xe2\\x82" },                     /* truncated */
		{ "back\\slash", "back\\x5cslash" },              /* the escape char itself */
		{ "new\nline \"q\"", "new\nline \"q\"" },         /* left to exposition escaping */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = sanitize(cases[i].raw);
		assert_string_equal(s, cases[i].want);
		free(s);
	}
}

/* A directory literally named "a\xff" and one with the byte 0xff must differ. */
static void test_sanitize_is_injective(void **state)
{
	(void)state;
	char *a = sanitize("a\\xff"), *b = sanitize("a\xff");
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void test_render_escapes_dir_names(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	f->caches[0].name = "ca\"che";
	f->dirs[0].dir = "we\nird\\\xfe";
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	assert_line(s, "cachewatch_write_bytes_total{cache=\"ca\\\"che\",dir=\"we\\nird\\\\x5c\\\\xfe\"} 12345");
	free(s);
	free(f);
}

/* The folded "_other" series and a real directory called "_other" both arrive
 * as "_other": the second one gets a suffix no sanitized name can contain. */
static void test_duplicate_dirs_disambiguated(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	f->caches[0].ndirs = 3;
	f->dirs[0].dir = "_other";
	f->dirs[1] = f->dirs[0];
	f->dirs[1].write_bytes = 1;
	f->dirs[2] = f->dirs[0];
	f->dirs[2].dir = "zz";
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	assert_line(s, "cachewatch_write_bytes_total{cache=\"gocache\",dir=\"_other\"} 12345");
	assert_line(s, "cachewatch_write_bytes_total{cache=\"gocache\",dir=\"_other\\\\#2\"} 1");
	assert_line(s, "cachewatch_write_bytes_total{cache=\"gocache\",dir=\"zz\"} 12345");
	free(s);
	free(f);
}

/* ---- histogram ---------------------------------------------------------- */

static void test_histogram_cumulative(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct cw_hist *h = &f->dirs[0].lat;
	h->slots[0] = 1;   /* [0, 2) ns */
	h->slots[9] = 2;   /* [512, 1024) ns: still <= 1.024us */
	h->slots[10] = 4;  /* [1024, 2048) ns: first in le=4.096us */
	h->slots[33] = 8;  /* [8.6s, 17.2s) */
	h->slots[35] = 16; /* open-ended: only +Inf */
	h->sum_ns = 1500000000;
	h->count = 31;
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	const char *p = "cachewatch_write_latency_seconds_bucket{cache=\"gocache\",dir=\".\",le=";
	char line[256];
	static const struct {
		const char *le;
		int v;
	} want[] = {
		{ "1.024e-06", 3 },   { "4.096e-06", 7 },    { "1.6384e-05", 7 },  { "6.5536e-05", 7 },
		{ "0.000262144", 7 }, { "0.001048576", 7 },  { "0.004194304", 7 }, { "0.016777216", 7 },
		{ "0.067108864", 7 }, { "0.268435456", 7 },  { "1.073741824", 7 }, { "4.294967296", 7 },
		{ "17.179869184", 15 }, { "+Inf", 31 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(line, sizeof(line), "%s\"%s\"} %d", p, want[i].le, want[i].v);
		assert_line(s, line);
	}
	/* 13 finite buckets + Inf, nothing else */
	int n = 0;
	for (const char *q = s; (q = strstr(q, "_bucket{")); q++)
		n++;
	assert_int_equal(n, 14);
	assert_line(s, "cachewatch_write_latency_seconds_sum{cache=\"gocache\",dir=\".\"} 1.5");
	assert_line(s, "cachewatch_write_latency_seconds_count{cache=\"gocache\",dir=\".\"} 31");
	assert_line(s, "# TYPE cachewatch_write_latency_seconds histogram");
	free(s);
	free(f);
}

/* ---- formats ------------------------------------------------------------ */

static void test_text_format(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	assert_line(s, "# TYPE cachewatch_write_bytes_total counter");
	assert_line(s, "cachewatch_writes_total{cache=\"gocache\",dir=\".\"} 3");
	assert_line(s, "cachewatch_write_errors_total{cache=\"gocache\",dir=\".\"} 1");
	assert_line(s, "cachewatch_unlinks_total{cache=\"gocache\",dir=\".\"} 2");
	assert_line(s, "cachewatch_unlinked_bytes_total{cache=\"gocache\",dir=\".\"} 4096");
	assert_line(s, "# TYPE cachewatch_read_bytes_total counter");
	assert_line(s, "cachewatch_read_bytes_total{cache=\"gocache\",dir=\".\"} 777");
	assert_line(s, "cachewatch_reads_total{cache=\"gocache\",dir=\".\"} 5");
	assert_line(s, "cachewatch_read_errors_total{cache=\"gocache\",dir=\".\"} 2");
	assert_line(s, "cachewatch_clone_bytes_total{cache=\"gocache\",dir=\".\"} 8192");
	assert_line(s, "cachewatch_build_info{version=\"1.2.3\",revision=\"abc\",backend=\"tracepoint\",kernel=\"6.1.0\"} 1");
	assert_line(s, "cachewatch_bpf_drops_total{reason=\"walk_depth\"} 7");
	assert_line(s, "cachewatch_bpf_drops_total{reason=\"stats_map_full\"} 0");
	assert_line(s, "cachewatch_poll_duration_seconds 0.25");
	assert_line(s, "cachewatch_cache_armed{cache=\"gocache\"} 1");
	assert_absent(s, "# UNIT");
	assert_absent(s, "# EOF");
	/* first scrape: no previous duration; no config file: no reload series */
	assert_absent(s, "cachewatch_scrape_duration_seconds");
	assert_absent(s, "cachewatch_config_last_reload");
	assert_absent(s, "cachewatch_cache_size_bytes");
	free(s);
	free(f);
}

/* Issue 13: opens for reading, reuse counters, the access record gauges. */
static void test_access_series(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	f->dirs[0].read_opens = 11;
	f->dirs[0].entries_written = 5;
	f->dirs[0].entries_reused = 3;
	f->snap.drops[CW_DROP_ACCESS_FULL] = 2;
	f->snap.access_records = 40;
	f->snap.access_records_max = 65536;
	f->snap.access_map_bytes = 8388608;
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	assert_line(s, "# TYPE cachewatch_read_opens_total counter");
	assert_line(s, "cachewatch_read_opens_total{cache=\"gocache\",dir=\".\"} 11");
	assert_line(s, "cachewatch_entries_written_total{cache=\"gocache\",dir=\".\"} 5");
	assert_line(s, "cachewatch_entries_reused_total{cache=\"gocache\",dir=\".\"} 3");
	assert_line(s, "cachewatch_bpf_drops_total{reason=\"access_map_full\"} 2");
	assert_line(s, "cachewatch_access_records 40");
	assert_line(s, "cachewatch_access_records_limit 65536");
	assert_line(s, "cachewatch_bpf_map_bytes{map=\"access\"} 8388608");
	free(s);
	s = render_snap(&f->snap, CW_EXPO_OPENMETRICS);
	assert_line(s, "# TYPE cachewatch_read_opens counter");
	assert_line(s, "# TYPE cachewatch_bpf_map_bytes gauge");
	assert_line(s, "# UNIT cachewatch_bpf_map_bytes bytes");
	free(s);
	free(f);
}

static void test_openmetrics_format(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	char *s = render_snap(&f->snap, CW_EXPO_OPENMETRICS);
	assert_line(s, "# TYPE cachewatch_write_bytes counter");
	assert_line(s, "# UNIT cachewatch_write_bytes bytes");
	assert_line(s, "cachewatch_write_bytes_total{cache=\"gocache\",dir=\".\"} 12345");
	assert_line(s, "# TYPE cachewatch_writes counter");
	assert_line(s, "# UNIT cachewatch_write_latency_seconds seconds");
	assert_line(s, "# TYPE cachewatch_bpf_drops counter");
	assert_absent(s, "# UNIT cachewatch_writes ");
	assert_absent(s, "_total counter");
	size_t n = strlen(s);
	assert_true(n > 6);
	assert_string_equal(s + n - 6, "# EOF\n");
	assert_int_equal(strstr(s, "# EOF"), s + n - 6); /* only once, at the end */
	free(s);
	free(f);
}

/* Families are grouped: each HELP appears once, all its samples follow. */
static void test_families_grouped(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	f->snap.ncaches = 2;
	f->caches[1] = f->caches[0];
	f->caches[1].name = "ccache";
	f->caches[1].dirs = &f->dirs[1];
	f->dirs[1] = f->dirs[0];
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	const char *a = strstr(s, "# HELP cachewatch_writes_total");
	assert_non_null(a);
	assert_null(strstr(a + 1, "# HELP cachewatch_writes_total"));
	const char *next = strstr(a + 1, "# HELP");
	const char *c1 = strstr(a, "cachewatch_writes_total{cache=\"gocache\"");
	const char *c2 = strstr(a, "cachewatch_writes_total{cache=\"ccache\"");
	assert_true(c1 && c2 && c1 < next && c2 < next);
	free(s);
	free(f);
}

static void test_no_snapshot(void **state)
{
	(void)state;
	char *s = render_snap(NULL, CW_EXPO_TEXT);
	assert_line(s, "cachewatch_build_info{version=\"1.2.3\",revision=\"abc\",backend=\"none\",kernel=\"6.1.0\"} 1");
	assert_absent(s, "cachewatch_bpf_drops");
	assert_absent(s, "cachewatch_write_bytes");
	assert_absent(s, "cachewatch_cache_armed");
	free(s);
}

/* A configured cache nobody wrote to yet has its counters and histogram at 0
 * under dir=".", so rate() works from the first scrape; a cache whose root
 * was written keeps exactly one dir="." series. */
static void test_idle_cache_exports_zeros(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	f->snap.ncaches = 2;
	f->caches[1].name = "idle";
	f->caches[1].path = "/nonexistent/idle";
	f->caches[1].ndirs = 0;
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	assert_line(s, "cachewatch_write_bytes_total{cache=\"idle\",dir=\".\"} 0");
	assert_line(s, "cachewatch_writes_total{cache=\"idle\",dir=\".\"} 0");
	assert_line(s, "cachewatch_write_errors_total{cache=\"idle\",dir=\".\"} 0");
	assert_line(s, "cachewatch_unlinks_total{cache=\"idle\",dir=\".\"} 0");
	assert_line(s, "cachewatch_unlinked_bytes_total{cache=\"idle\",dir=\".\"} 0");
	assert_line(s, "cachewatch_write_latency_seconds_count{cache=\"idle\",dir=\".\"} 0");
	assert_line(s, "cachewatch_write_latency_seconds_bucket{cache=\"idle\",dir=\".\",le=\"+Inf\"} 0");
	assert_line(s, "cachewatch_write_bytes_total{cache=\"gocache\",dir=\".\"} 12345");
	char *first = strstr(s, "cachewatch_write_bytes_total{cache=\"gocache\",dir=\".\"}");
	assert_null(strstr(first + 1, "cachewatch_write_bytes_total{cache=\"gocache\",dir=\".\"}"));
	/* a root that does not exist: the info series is there, mount labels empty */
	assert_line(s, "cachewatch_cache_info{cache=\"idle\",path=\"/nonexistent/idle\",mountpoint=\"\",device=\"\",fstype=\"\"} 1");
	free(s);
	free(f);
}

/* The info series names the mount of an existing root like node_exporter. */
static void test_cache_info_mount(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct stat st;
	assert_int_equal(stat("/proc/self", &st), 0);
	f->caches[0].path = "/proc/self";
	/* Not armed: the path is not trusted to name a mount. */
	f->caches[0].armed = false;
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	assert_line(s, "cachewatch_cache_info{cache=\"gocache\",path=\"/proc/self\",mountpoint=\"\",device=\"\",fstype=\"\"} 1");
	free(s);
	/* Armed: the mount of the device the data plane armed. */
	f->caches[0].armed = true;
	f->caches[0].dev = st.st_dev;
	s = render_snap(&f->snap, CW_EXPO_TEXT);
	assert_line(s, "cachewatch_cache_info{cache=\"gocache\",path=\"/proc/self\",mountpoint=\"/proc\",device=\"proc\",fstype=\"proc\"} 1");
	free(s);
	free(f);
}

static void test_agent_series(void **state)
{
	(void)state;
	struct cw_procstats p = { .ok = true, .cpu_seconds = 1.5, .resident_bytes = 4096, .virtual_bytes = 8192,
				  .open_fds = 9, .max_fds = 1024, .start_time_seconds = 1700000000.25 };
	struct cw_metrics_input in = { .has_config = true, .last_reload_ok = false,
				       .last_reload_success_time = 1700000001, .has_scrape_duration = true,
				       .scrape_duration_seconds = 0.002, .proc = &p,
				       .build = { "1", "r", "k" } };
	char *s = render(&in, CW_EXPO_TEXT);
	assert_line(s, "cachewatch_config_last_reload_successful 0");
	assert_line(s, "cachewatch_config_last_reload_success_timestamp_seconds 1700000001");
	assert_line(s, "cachewatch_scrape_duration_seconds 0.002");
	assert_line(s, "process_cpu_seconds_total 1.5");
	assert_line(s, "process_resident_memory_bytes 4096");
	assert_line(s, "process_virtual_memory_bytes 8192");
	assert_line(s, "process_open_fds 9");
	assert_line(s, "process_max_fds 1024");
	assert_line(s, "process_start_time_seconds 1700000000.25");
	free(s);
	s = render(&in, CW_EXPO_OPENMETRICS);
	assert_line(s, "# TYPE process_cpu_seconds counter");
	assert_line(s, "process_cpu_seconds_total 1.5");
	free(s);
}

/* ---- purge stats -------------------------------------------------------- */

static void test_purge_stats(void **state)
{
	(void)state;
	struct cw_purge_stats ps[2];
	memset(ps, 0, sizeof(ps));
	snprintf(ps[0].name, sizeof(ps[0].name), "gocache");
	ps[0].scanned = true;
	ps[0].enabled = true;
	ps[0].size_bytes = 1000;
	ps[0].files = 10;
	ps[0].last_scan_time = 1700000000;
	ps[0].last_scan_duration = 0.5;
	ps[0].purges[CW_PURGE_AGE] = 2;
	ps[0].purged_bytes[CW_PURGE_SIZE] = 4096;
	ps[0].fs_total_bytes = 1 << 20;
	ps[0].fs_avail_bytes = 1 << 19;
	ps[0].fs_free_bytes = 3 << 18;
	ps[0].oldest_entry_time = 1690000000.25;
	ps[0].limits.max_size = 5ULL << 30;
	ps[0].limits.high_watermark = 90;
	ps[0].limits.max_age_ms = 86400000;
	ps[0].limits.keep_hot.enabled = true;
	ps[0].kept_hot_files = 3;
	ps[0].kept_hot_bytes = 12288;
	snprintf(ps[1].name, sizeof(ps[1].name), "npm");
	ps[1].scanned = false; /* never scanned: no size yet, but the policy is known */
	struct cw_metrics_input in = { .purge = ps, .npurge = 2, .build = { "1", "r", "k" } };
	char *s = render(&in, CW_EXPO_TEXT);
	assert_line(s, "cachewatch_cache_size_bytes{cache=\"gocache\"} 1000");
	assert_absent(s, "cachewatch_cache_size_bytes{cache=\"npm\"}");
	assert_line(s, "cachewatch_cache_files{cache=\"gocache\"} 10");
	assert_line(s, "cachewatch_cache_last_scan_timestamp_seconds{cache=\"gocache\"} 1700000000");
	assert_line(s, "cachewatch_cache_scan_duration_seconds{cache=\"gocache\"} 0.5");
	assert_line(s, "cachewatch_purges_total{cache=\"gocache\",reason=\"age\"} 2");
	assert_line(s, "cachewatch_purges_total{cache=\"npm\",reason=\"size\"} 0");
	assert_line(s, "cachewatch_purged_bytes_total{cache=\"gocache\",reason=\"size\"} 4096");
	assert_line(s, "cachewatch_purge_errors_total{cache=\"npm\"} 0");
	assert_line(s, "cachewatch_filesystem_size_bytes{cache=\"gocache\"} 1048576");
	/* node_exporter's names: avail (f_bavail) vs free (f_bfree) vs size */
	assert_line(s, "cachewatch_filesystem_avail_bytes{cache=\"gocache\"} 524288");
	assert_line(s, "cachewatch_filesystem_free_bytes{cache=\"gocache\"} 786432");
	/* the oldest entry as a timestamp, not an age that ages between scans */
	assert_line(s, "cachewatch_cache_oldest_entry_timestamp_seconds{cache=\"gocache\"} 1690000000.25");
	assert_absent(s, "cachewatch_cache_oldest_entry_timestamp_seconds{cache=\"npm\"}");
	assert_absent(s, "oldest_entry_age");
	assert_line(s, "cachewatch_cache_purge_enabled{cache=\"gocache\"} 1");
	assert_line(s, "cachewatch_cache_purge_enabled{cache=\"npm\"} 0");
	assert_line(s, "cachewatch_cache_limit_size_bytes{cache=\"gocache\"} 5368709120");
	assert_line(s, "cachewatch_cache_limit_high_watermark_ratio{cache=\"gocache\"} 0.9");
	assert_line(s, "cachewatch_cache_limit_max_age_seconds{cache=\"gocache\"} 86400");
	assert_absent(s, "cachewatch_cache_limit_min_free_ratio");
	assert_absent(s, "cachewatch_cache_last_purge_timestamp_seconds"); /* never purged */
	/* keep_hot: only where configured */
	assert_line(s, "cachewatch_purge_kept_hot_files{cache=\"gocache\"} 3");
	assert_line(s, "cachewatch_purge_kept_hot_bytes{cache=\"gocache\"} 12288");
	assert_absent(s, "cachewatch_purge_kept_hot_files{cache=\"npm\"}");
	free(s);
	s = render(&in, CW_EXPO_OPENMETRICS);
	assert_line(s, "# TYPE cachewatch_purged_bytes counter");
	assert_line(s, "# UNIT cachewatch_purged_bytes bytes");
	assert_line(s, "cachewatch_purge_errors_total{cache=\"gocache\"} 0");
	free(s);
}

static void test_no_purge_engine_no_series(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	assert_absent(s, "purge");
	assert_absent(s, "cachewatch_filesystem");
	free(s);
	free(f);
}

/* ---- values, landing page, gzip ----------------------------------------- */

static void test_format_double(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0.1, "0.1" }, { 1.0, "1" }, { 1024e-9, "1.024e-06" }, { 17.179869184, "17.179869184" },
		{ 1700000000.25, "1700000000.25" }, { 0, "0" },
	};
	char buf[40];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cw_format_double(cases[i].v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	cw_format_double(1.0 / 0.0, buf, sizeof(buf));
	assert_string_equal(buf, "+Inf");
	cw_format_double(0.0 / 0.0, buf, sizeof(buf));
	assert_string_equal(buf, "NaN");
}

static void test_landing_escapes(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	f->caches[0].name = "<script>alert(1)</script>";
	f->caches[0].path = "/tmp/a&b\"\xff";
	struct cw_metrics_input in = { .snap = &f->snap, .build = { "1.2.3", "abc", "k" } };
	struct cw_buf b = { 0 };
	size_t len;
	assert_int_equal(cw_landing_render(&in, "/metrics", &b), 0);
	char *s = cw_buf_steal(&b, &len);
	assert_absent(s, "<script>");
	assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(s, "/tmp/a&amp;b&quot;\\xff"));
	assert_non_null(strstr(s, "<a href=\"/metrics\">"));
	assert_non_null(strstr(s, "tracepoint"));
	free(s);
	free(f);
}

static void test_gzip_roundtrip(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	char *s = render_snap(&f->snap, CW_EXPO_TEXT);
	struct cw_buf gz = { 0 };
	assert_int_equal(cw_gzip(s, strlen(s), &gz), 0);
	assert_true(gz.len > 10 && (unsigned char)gz.data[0] == 0x1f && (unsigned char)gz.data[1] == 0x8b);
	z_stream zs = { 0 };
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	size_t cap = strlen(s) + 16;
	char *out = malloc(cap);
	zs.next_in = (Bytef *)gz.data;
	zs.avail_in = (uInt)gz.len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(cap - zs.avail_out, strlen(s));
	assert_memory_equal(out, s, strlen(s));
	inflateEnd(&zs);
	free(out);
	cw_buf_free(&gz);
	free(s);
	free(f);
}

static void test_buf_printf_long(void **state)
{
	(void)state;
	struct cw_buf b = { 0 };
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cw_buf_printf(&b, "<%s>", big);
	assert_int_equal(b.len, 1001);
	assert_int_equal(b.data[1000], '>');
	cw_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_label),
		cmocka_unit_test(test_idle_cache_exports_zeros),
		cmocka_unit_test(test_cache_info_mount),
		cmocka_unit_test(test_sanitize_utf8),
		cmocka_unit_test(test_sanitize_is_injective),
		cmocka_unit_test(test_render_escapes_dir_names),
		cmocka_unit_test(test_duplicate_dirs_disambiguated),
		cmocka_unit_test(test_histogram_cumulative),
		cmocka_unit_test(test_access_series),
		cmocka_unit_test(test_text_format),
		cmocka_unit_test(test_openmetrics_format),
		cmocka_unit_test(test_families_grouped),
		cmocka_unit_test(test_no_snapshot),
		cmocka_unit_test(test_agent_series),
		cmocka_unit_test(test_purge_stats),
		cmocka_unit_test(test_no_purge_engine_no_series),
		cmocka_unit_test(test_format_double),
		cmocka_unit_test(test_landing_escapes),
		cmocka_unit_test(test_gzip_roundtrip),
		cmocka_unit_test(test_buf_printf_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
