/* Protobuf exposition: delimited io.prometheus.client.MetricFamily messages packed by protobuf-c. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "http/exposition_proto.h"
#include "proto/metrics.pb-c.h"

typedef Io__Prometheus__Client__MetricFamily MetricFamily;
typedef Io__Prometheus__Client__Metric Metric;
typedef Io__Prometheus__Client__LabelPair LabelPair;
typedef Io__Prometheus__Client__Histogram Histogram;
typedef Io__Prometheus__Client__Bucket Bucket;
typedef Io__Prometheus__Client__BucketSpan BucketSpan;

/* No metric of the agent has more; one with more makes the render fail rather
 * than silently drop a label. */
#define MAX_LABELS 8

struct cw_proto {
	struct cw_buf *out;
	bool failed;
	bool open;             /* a family is being built */
	MetricFamily fam;
	Metric **metrics;      /* the current family's, the last one current */
	size_t nmetrics, cap;
	void **allocs;         /* everything the current family points to */
	size_t nallocs, acap;
};

/* A zeroed block freed with the family. */
static void *alloc(struct cw_proto *p, size_t size)
{
	if (p->failed)
		return NULL;
	if (p->nallocs == p->acap) {
		size_t cap = p->acap ? p->acap * 2 : 64;
		void **a = realloc(p->allocs, cap * sizeof(*a));
		if (!a)
			goto fail;
		p->allocs = a;
		p->acap = cap;
	}
	void *m = calloc(1, size);
	if (!m)
		goto fail;
	p->allocs[p->nallocs++] = m;
	return m;
fail:
	p->failed = true;
	return NULL;
}

static char *dup_str(struct cw_proto *p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = alloc(p, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void family_reset(struct cw_proto *p)
{
	for (size_t i = 0; i < p->nallocs; i++)
		free(p->allocs[i]);
	p->nallocs = 0;
	p->nmetrics = 0;
	p->open = false;
}

struct out_buffer {
	ProtobufCBuffer base;
	struct cw_buf *out;
};

static void out_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	cw_buf_append(((struct out_buffer *)b)->out, data, len);
}

/* The delimited framing: the message's length as a base-128 varint, then the message. */
static void write_family(struct cw_proto *p)
{
	if (!p->open || p->failed || p->nmetrics == 0)
		return;
	p->fam.n_metric = p->nmetrics;
	p->fam.metric = p->metrics;
	size_t len = io__prometheus__client__metric_family__get_packed_size(&p->fam);
	uint8_t varint[10];
	size_t n = 0;
	do {
		varint[n++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
		len >>= 7;
	} while (len);
	cw_buf_append(p->out, varint, n);
	struct out_buffer ob = { .base = { .append = out_append }, .out = p->out };
	io__prometheus__client__metric_family__pack_to_buffer(&p->fam, &ob.base);
}

struct cw_proto *cw_proto_new(struct cw_buf *out)
{
	struct cw_proto *p = calloc(1, sizeof(*p));
	if (!p) {
		out->oom = true;
		return NULL;
	}
	p->out = out;
	return p;
}

int cw_proto_finish(struct cw_proto *p)
{
	if (!p)
		return -1;
	write_family(p);
	family_reset(p);
	struct cw_buf *out = p->out;
	if (p->failed)
		out->oom = true;
	free(p->allocs);
	free(p->metrics);
	free(p);
	return out->oom ? -1 : 0;
}

void cw_proto_family(struct cw_proto *p, const char *name, const char *type, const char *help)
{
	write_family(p);
	family_reset(p);
	io__prometheus__client__metric_family__init(&p->fam);
	p->open = true;
	bool counter = !strcmp(type, "counter");
	size_t n = strlen(name);
	char *full = alloc(p, n + sizeof("_total"));
	if (!full)
		return;
	memcpy(full, name, n);
	strcpy(full + n, counter ? "_total" : "");
	p->fam.name = full;
	p->fam.help = dup_str(p, help);
	p->fam.has_type = true;
	p->fam.type = counter ? IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER
		      : !strcmp(type, "histogram") ? IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM
						   : IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE;
}

static Metric *current(struct cw_proto *p)
{
	return p->failed || !p->open || p->nmetrics == 0 ? NULL : p->metrics[p->nmetrics - 1];
}

void cw_proto_metric(struct cw_proto *p)
{
	if (p->failed || !p->open)
		return;
	if (p->nmetrics == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		Metric **m = realloc(p->metrics, cap * sizeof(*m));
		if (!m) {
			p->failed = true;
			return;
		}
		p->metrics = m;
		p->cap = cap;
	}
	Metric *m = alloc(p, sizeof(*m));
	LabelPair **labels = alloc(p, MAX_LABELS * sizeof(*labels));
	if (!m || !labels)
		return;
	io__prometheus__client__metric__init(m);
	m->label = labels;
	p->metrics[p->nmetrics++] = m;
}

void cw_proto_label(struct cw_proto *p, const char *name, const char *value)
{
	Metric *m = current(p);
	if (!m)
		return;
	if (m->n_label == MAX_LABELS) {
		p->failed = true;
		return;
	}
	LabelPair *lp = alloc(p, sizeof(*lp));
	if (!lp)
		return;
	io__prometheus__client__label_pair__init(lp);
	lp->name = dup_str(p, name);
	lp->value = dup_str(p, value);
	m->label[m->n_label++] = lp;
}

void cw_proto_value(struct cw_proto *p, double v)
{
	Metric *m = current(p);
	if (!m)
		return;
	if (p->fam.type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER) {
		Io__Prometheus__Client__Counter *c = alloc(p, sizeof(*c));
		if (!c)
			return;
		io__prometheus__client__counter__init(c);
		c->has_value = true;
		c->value = v;
		m->counter = c;
		return;
	}
	Io__Prometheus__Client__Gauge *g = alloc(p, sizeof(*g));
	if (!g)
		return;
	io__prometheus__client__gauge__init(g);
	g->has_value = true;
	g->value = v;
	m->gauge = g;
}

static BucketSpan *new_span(struct cw_proto *p, int32_t offset)
{
	BucketSpan *s = alloc(p, sizeof(*s));
	if (!s)
		return NULL;
	io__prometheus__client__bucket_span__init(s);
	s->has_offset = s->has_length = true;
	s->offset = offset;
	return s;
}

/* Spans of consecutive non-empty slots; the counts as deltas from the previous
 * bucket's (the first one absolute), carried across spans. */
static void native_buckets(struct cw_proto *p, Histogram *hg, const struct cw_hist *h)
{
	hg->positive_span = alloc(p, CW_HIST_SLOTS * sizeof(*hg->positive_span));
	hg->positive_delta = alloc(p, CW_HIST_SLOTS * sizeof(*hg->positive_delta));
	if (!hg->positive_span || !hg->positive_delta)
		return;
	BucketSpan *span = NULL;
	int next = -CW_NATIVE_INDEX_OFFSET; /* index just past the last span; 0 for the first */
	bool first = true;
	uint64_t prev = 0;
	for (int k = 0; k < CW_HIST_SLOTS; k++) {
		uint64_t c = h->slots[k];
		int idx = k - CW_NATIVE_INDEX_OFFSET;
		if (!c) {
			span = NULL;
			continue;
		}
		if (!span) {
			span = new_span(p, first ? idx : idx - next);
			if (!span)
				return;
			hg->positive_span[hg->n_positive_span++] = span;
		}
		span->length++;
		hg->positive_delta[hg->n_positive_delta++] = (int64_t)(c - prev);
		prev = c;
		next = idx + 1;
		first = false;
	}
	/* No observations yet: one empty span still marks the histogram as native,
	 * so a reader does not take it for a classic one and switch later. */
	if (hg->n_positive_span == 0 && (span = new_span(p, 0)))
		hg->positive_span[hg->n_positive_span++] = span;
}

void cw_proto_histogram(struct cw_proto *p, const struct cw_hist *h)
{
	Metric *m = current(p);
	if (!m)
		return;
	Histogram *hg = alloc(p, sizeof(*hg));
	Bucket **buckets = alloc(p, CW_HIST_SLOTS * sizeof(*buckets));
	if (!hg || !buckets)
		return;
	io__prometheus__client__histogram__init(hg);
	uint64_t count = 0;
	for (int k = 0; k < CW_HIST_SLOTS; k++)
		count += h->slots[k];
	/* The count is the sum of the slots, as the text format's _count is. */
	hg->has_sample_count = hg->has_sample_sum = true;
	hg->sample_count = count;
	hg->sample_sum = (double)h->sum_ns / 1e9;
	hg->bucket = buckets;
	/* An empty zero bucket: a 0 ns write is in slot 0 with the 1 ns ones. Its
	 * threshold is not 0 because Prometheus up to 2.4x decides whether a whole
	 * family is native from its first histogram's zero threshold, zero count
	 * and deltas; an idle directory (no deltas) first in the family would turn
	 * every series of it classic. 2^-128 s is client_golang's default too. */
	hg->has_schema = hg->has_zero_threshold = hg->has_zero_count = true;
	hg->schema = 0;
	hg->zero_threshold = CW_NATIVE_ZERO_THRESHOLD;
	hg->zero_count = 0;
	native_buckets(p, hg, h);
	m->histogram = hg;
}

void cw_proto_bucket(struct cw_proto *p, double le, uint64_t cumulative)
{
	Metric *m = current(p);
	if (!m || !m->histogram || m->histogram->n_bucket == CW_HIST_SLOTS)
		return;
	Bucket *b = alloc(p, sizeof(*b));
	if (!b)
		return;
	io__prometheus__client__bucket__init(b);
	b->has_cumulative_count = b->has_upper_bound = true;
	b->cumulative_count = cumulative;
	b->upper_bound = le;
	m->histogram->bucket[m->histogram->n_bucket++] = b;
}
