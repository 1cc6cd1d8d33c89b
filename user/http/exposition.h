/* Renders the agent's state as Prometheus text 0.0.4, OpenMetrics 1.0.0 or protobuf, and the landing page. */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h> /* cachewatch.h uses __u32/__u64 */
#include "dataplane/snapshot.h"
#include "http/procstats.h"
#include "lib/buf.h"
#include "purge/purge.h"

enum cw_expo_format { CW_EXPO_TEXT, CW_EXPO_OPENMETRICS, CW_EXPO_PROTOBUF, CW_EXPO_NFORMATS };
#define CW_CONTENT_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CW_CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
const char *cw_expo_content_type(enum cw_expo_format f);

struct cw_build_info {
	const char *version;
	const char *revision;
	const char *kernel;      /* uname -r */
};

/* Everything one scrape shows. Fields that are not there yet (no snapshot before
 * the first poll, no purge engine, no config file, no previous scrape) leave their
 * series out rather than exporting placeholders. */
struct cw_metrics_input {
	const struct cw_snapshot *snap;       /* NULL before the first poll */
	const struct cw_purge_stats *purge;   /* one per cache with a purge engine */
	size_t npurge;
	bool has_config;                      /* a config file is in use: reload series */
	bool last_reload_ok;
	double last_reload_success_time;      /* unix seconds */
	bool has_scrape_duration;             /* false on the first scrape */
	double scrape_duration_seconds;       /* the previous scrape's */
	struct cw_build_info build;
	const struct cw_procstats *proc;      /* NULL: no process_* series */
};

/* Appends the whole exposition to out. Returns 0, or -1 when out ran out of memory. */
int cw_metrics_render(const struct cw_metrics_input *in, enum cw_expo_format fmt,
		      struct cw_buf *out);

/* The landing page for "/": version, backend, caches, a link to the metrics. */
int cw_landing_render(const struct cw_metrics_input *in, const char *telemetry_path,
		      struct cw_buf *out);

/* Exposition escaping of a label value: \\, \" and \n. */
void cw_escape_label(struct cw_buf *out, const char *s, size_t n);

/* Shortest decimal that reads back as the same double; "+Inf", "-Inf", "NaN". */
void cw_format_double(double v, char *buf, size_t len);

#endif
