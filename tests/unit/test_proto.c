/* Tests of the protobuf exposition: decoded with protobuf-c, native + classic histograms, families, negotiation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "http/exposition.h"
#include "http/exposition_proto.h"
#include "http/server.h"
#include "proto/metrics.pb-c.h"

typedef Io__Prometheus__Client__MetricFamily MetricFamily;
typedef Io__Prometheus__Client__Metric Metric;
typedef Io__Prometheus__Client__Histogram Histogram;

#define MAX_FAMILIES 128

struct decoded {
	MetricFamily *fam[MAX_FAMILIES];
	size_t n;
};

/* Splits the delimited stream and unpacks every message; any byte left over or
 * a message that does not decode fails the test. */
static void decode(const char *body, size_t len, struct decoded *d)
{
	size_t off = 0;
	d->n = 0;
	while (off < len) {
		uint64_t mlen = 0;
		unsigned shift = 0;
		uint8_t byte;
		do {
			assert_true(off < len);
			assert_true(shift < 64);
			byte = (uint8_t)body[off++];
			mlen |= (uint64_t)(byte & 0x7f) << shift;
			shift += 7;
		} while (byte & 0x80);
		assert_true(mlen <= len - off);
		assert_true(d->n < MAX_FAMILIES);
		d->fam[d->n] = io__prometheus__client__metric_family__unpack(NULL, mlen, (const uint8_t *)body + off);
		assert_non_null(d->fam[d->n]);
		d->n++;
		off += mlen;
	}
	assert_int_equal(off, len);
}

static void decoded_free(struct decoded *d)
{
	for (size_t i = 0; i < d->n; i++)
		io__prometheus__client__metric_family__free_unpacked(d->fam[i], NULL);
}

static const MetricFamily *find_family(const struct decoded *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->fam[i]->name, name))
			return d->fam[i];
	fail_msg("no family %s", name);
	return NULL;
}

static const char *label(const Metric *m, const char *name)
{
	for (size_t i = 0; i < m->n_label; i++)
		if (!strcmp(m->label[i]->name, name))
			return m->label[i]->value;
	return NULL;
}

static const Metric *find_dir(const MetricFamily *f, const char *dir)
{
	for (size_t i = 0; i < f->n_metric; i++) {
		const char *v = label(f->metric[i], "dir");
		if (v && !strcmp(v, dir))
			return f->metric[i];
	}
	fail_msg("no metric dir=%s in %s", dir, f->name);
	return NULL;
}

struct fixture {
	struct cw_snapshot snap;
	struct cw_cache_snap cache;
	struct cw_dir_snap dirs[2];
};

/* Dir "a": 3 writes in slot 10 ([1024, 2048) ns), 1 in slot 11, 2 in slot 14;
 * dir "b": no writes at all. */
static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->snap.backend = "tracepoint";
	f->snap.ncaches = 1;
	f->snap.caches = &f->cache;
	f->cache.name = "gocache";
	f->cache.path = "/tmp/x";
	f->cache.armed = true;
	f->cache.ndirs = 2;
	f->cache.dirs = f->dirs;
	f->dirs[0].dir = "a";
	f->dirs[0].write_bytes = 12345;
	f->dirs[0].writes = 6;
	f->dirs[0].lat.slots[10] = 3;
	f->dirs[0].lat.slots[11] = 1;
	f->dirs[0].lat.slots[14] = 2;
	f->dirs[0].lat.count = 6;
	f->dirs[0].lat.sum_ns = 3 * 1500 + 3000 + 2 * 20000;
	f->dirs[1].dir = "b";
}

static char *render_proto(const struct cw_snapshot *s, size_t *len)
{
	struct cw_metrics_input in = { .snap = s, .build = { "1.2.3", "abc", "6.1.0" } };
	struct cw_buf b = { 0 };
	assert_int_equal(cw_metrics_render(&in, CW_EXPO_PROTOBUF, &b), 0);
	char *body = cw_buf_steal(&b, len);
	assert_non_null(body);
	return body;
}

static void test_native_histogram(void **state)
{
	(void)state;
	struct fixture f;
	struct decoded d;
	size_t len;
	fixture_init(&f);
	char *body = render_proto(&f.snap, &len);
	decode(body, len, &d);

	const MetricFamily *fam = find_family(&d, "cachewatch_write_latency_seconds");
	assert_int_equal(fam->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM);
	const Metric *m = find_dir(fam, "a");
	assert_string_equal(label(m, "cache"), "gocache");
	const Histogram *h = m->histogram;
	assert_non_null(h);
	assert_int_equal(h->sample_count, 6);
	assert_true(fabs(h->sample_sum - 47500e-9) < 1e-15);
	assert_true(h->has_schema);
	assert_int_equal(h->schema, 0);
	assert_true(h->zero_threshold == CW_NATIVE_ZERO_THRESHOLD && h->zero_threshold > 0);
	assert_int_equal(h->zero_count, 0);
	/* Slots 10, 11 and 14 are native buckets -19, -18 and -15: a span of two
	 * starting at -19, then after a gap of two, a span of one. */
	assert_int_equal(h->n_positive_span, 2);
	assert_int_equal(h->positive_span[0]->offset, -19);
	assert_int_equal(h->positive_span[0]->length, 2);
	assert_int_equal(h->positive_span[1]->offset, 2);
	assert_int_equal(h->positive_span[1]->length, 1);
	assert_int_equal(h->n_positive_delta, 3);
	assert_int_equal(h->positive_delta[0], 3);
	assert_int_equal(h->positive_delta[1], -2);
	assert_int_equal(h->positive_delta[2], 1);
	assert_int_equal(h->n_negative_span, 0);

	/* The classic buckets ride along, the same as the text format's (no +Inf:
	 * the count is that bucket). */
	assert_int_equal(h->n_bucket, 13);
	for (size_t i = 0; i < h->n_bucket; i++) {
		int edge = 10 + 2 * (int)i;
		uint64_t want = edge <= 10 ? 0 : edge <= 14 ? 4 : 6;
		assert_true(h->bucket[i]->upper_bound == ldexp(1.0, edge) / 1e9);
		assert_int_equal(h->bucket[i]->cumulative_count, want);
	}
	free(body);
	decoded_free(&d);
}

/* Without observations a histogram still reads as native (one empty span),
 * so a scraper never sees it switch from classic to native. */
static void test_empty_histogram_is_native(void **state)
{
	(void)state;
	struct fixture f;
	struct decoded d;
	size_t len;
	fixture_init(&f);
	char *body = render_proto(&f.snap, &len);
	decode(body, len, &d);
	const Histogram *h = find_dir(find_family(&d, "cachewatch_write_latency_seconds"), "b")->histogram;
	assert_int_equal(h->sample_count, 0);
	assert_int_equal(h->n_positive_span, 1);
	assert_int_equal(h->positive_span[0]->length, 0);
	assert_int_equal(h->n_positive_delta, 0);
	free(body);
	decoded_free(&d);
}

/* Every slot's lower bound lies in the native bucket it is mapped to, and its
 * upper bound at most 2^0.11 above that bucket's: the mapping documented in
 * docs/metrics.md. */
static void test_slot_mapping(void **state)
{
	(void)state;
	for (int k = 0; k < CW_HIST_SLOTS; k++) {
		int i = k - CW_NATIVE_INDEX_OFFSET;
		double lo = ldexp(1.0, k) / 1e9, hi = ldexp(1.0, k + 1) / 1e9;
		assert_true(ldexp(1.0, i - 1) < lo && lo <= ldexp(1.0, i));
		assert_true(hi > ldexp(1.0, i) && hi < ldexp(1.0, i) * pow(2, 0.11));
	}
}

/* Counters carry their _total in the family name, gauges do not; every family
 * of the text format is there. */
static void test_families(void **state)
{
	(void)state;
	struct fixture f;
	struct decoded d;
	size_t len;
	fixture_init(&f);
	char *body = render_proto(&f.snap, &len);
	decode(body, len, &d);
	const MetricFamily *wb = find_family(&d, "cachewatch_write_bytes_total");
	assert_int_equal(wb->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER);
	const Metric *m = find_dir(wb, "a");
	assert_non_null(m->counter);
	assert_true(m->counter->value == 12345);
	const MetricFamily *armed = find_family(&d, "cachewatch_cache_armed");
	assert_int_equal(armed->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE);
	assert_non_null(armed->metric[0]->gauge);
	assert_true(armed->metric[0]->gauge->value == 1);
	const MetricFamily *bi = find_family(&d, "cachewatch_build_info");
	assert_string_equal(label(bi->metric[0], "version"), "1.2.3");
	assert_string_equal(label(bi->metric[0], "backend"), "tracepoint");

	/* The same families as the text exposition, in the same order. */
	struct cw_metrics_input in = { .snap = &f.snap, .build = { "1.2.3", "abc", "6.1.0" } };
	struct cw_buf tb = { 0 };
	size_t tlen;
	assert_int_equal(cw_metrics_render(&in, CW_EXPO_TEXT, &tb), 0);
	char *text = cw_buf_steal(&tb, &tlen);
	size_t nt = 0;
	for (const char *p = text; (p = strstr(p, "# TYPE ")); p++) {
		char name[128];
		assert_int_equal(sscanf(p, "# TYPE %127s", name), 1);
		assert_true(nt < d.n);
		assert_string_equal(d.fam[nt]->name, name);
		nt++;
	}
	assert_int_equal(nt, d.n);
	free(text);
	free(body);
	decoded_free(&d);
}

static void test_negotiation(void **state)
{
	(void)state;
	/* What Prometheus sends with native histograms enabled. */
	assert_int_equal(cw_http_expo_format("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
					     "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
					     "application/openmetrics-text;version=0.0.1;q=0.75,"
					     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
			 CW_EXPO_PROTOBUF);
	assert_int_equal(cw_http_expo_format("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
					     "encoding=delimited"),
			 CW_EXPO_PROTOBUF);
	/* Other framings or messages under the same media type are not ours. */
	assert_int_equal(cw_http_expo_format("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
					     "encoding=text"),
			 CW_EXPO_TEXT);
	assert_int_equal(cw_http_expo_format("application/vnd.google.protobuf;encoding=delimited"), CW_EXPO_TEXT);
	assert_int_equal(cw_http_expo_format("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
					     "encoding=delimited;q=0.3,application/openmetrics-text;q=0.5"),
			 CW_EXPO_OPENMETRICS);
	assert_int_equal(cw_http_expo_format("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
					     "encoding=delimited;q=0"),
			 CW_EXPO_TEXT);
	/* Without protobuf in the header nothing changes. */
	assert_int_equal(cw_http_expo_format(NULL), CW_EXPO_TEXT);
	assert_int_equal(cw_http_expo_format("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
			 CW_EXPO_OPENMETRICS);
	assert_string_equal(cw_expo_content_type(CW_EXPO_PROTOBUF),
			    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_histogram),
		cmocka_unit_test(test_empty_histogram_is_native),
		cmocka_unit_test(test_slot_mapping),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_negotiation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
