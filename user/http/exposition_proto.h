/* Protobuf exposition (delimited io.prometheus.client.MetricFamily), latency histograms as native ones. */
#ifndef CW_EXPOSITION_PROTO_H
#define CW_EXPOSITION_PROTO_H

#include <stdint.h>
#include "dataplane/snapshot.h"
#include "lib/buf.h"

#define CW_CONTENT_TYPE_PROTOBUF \
	"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

/* BPF slot k holds [2^k, 2^(k+1)) ns = [2^(k-29.897), 2^(k-28.897)) s, so
 * about 90% of it (in log scale) lies in the schema-0 native bucket k-29,
 * (2^(k-30), 2^(k-29)] s, and the rest in bucket k-28. Every slot goes to
 * bucket k-29: each observation is placed at most a factor 2^0.103 (7.4%)
 * below its true value, the closest a power-of-two-of-ns slot gets to a
 * power-of-two-of-seconds bucket (docs/metrics.md). */
#define CW_NATIVE_INDEX_OFFSET 29
/* Threshold of the (always empty) zero bucket, seconds: 2^-128, non-zero so that
 * every histogram reads as native (see cw_proto_histogram). */
#define CW_NATIVE_ZERO_THRESHOLD 0x1p-128

/* The exposition being built, one family at a time; the caller's strings are
 * copied, so they may be freed as soon as a call returns. */
struct cw_proto;

/* A writer that appends varint-length-prefixed MetricFamily messages to out;
 * NULL when out of memory. */
struct cw_proto *cw_proto_new(struct cw_buf *out);
/* Starts a family; type is "counter", "gauge" or "histogram". A counter's
 * family is named with its "_total" suffix, as its samples are. */
void cw_proto_family(struct cw_proto *p, const char *name, const char *type, const char *help);
/* Starts a metric (one label set) in the current family. */
void cw_proto_metric(struct cw_proto *p);
void cw_proto_label(struct cw_proto *p, const char *name, const char *value);
/* The current metric's value (counter or gauge, from the family's type). */
void cw_proto_value(struct cw_proto *p, double v);
/* The current metric's native histogram (schema 0, full resolution), sum and count. */
void cw_proto_histogram(struct cw_proto *p, const struct cw_hist *h);
/* A classic bucket of the current histogram: cumulative count at upper bound le (seconds). */
void cw_proto_bucket(struct cw_proto *p, double le, uint64_t cumulative);
/* Writes the last family and frees p. 0, or -1 when out of memory (out->oom set). */
int cw_proto_finish(struct cw_proto *p);

#endif
