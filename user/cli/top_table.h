/* `cachewatch top`'s table: rows from two snapshots, sorted, fitted to the terminal. */
#ifndef CW_TOP_TABLE_H
#define CW_TOP_TABLE_H

#include <stdbool.h>
#include <stdio.h>
#include "dataplane/snapshot.h"

enum top_sort {
	TOP_SORT_WRITE,   /* bytes written per second (the default: busiest first) */
	TOP_SORT_WRITES,
	TOP_SORT_P99,
	TOP_SORT_P50,
	TOP_SORT_UNLINKS,
	TOP_SORT_FREED,
	TOP_SORT_READ,    /* bytes read per second */
	TOP_SORT_READS,
	TOP_SORT_DIR,     /* by name, ascending */
	TOP_SORT_COUNT,
};
#define TOP_SORT_LIST "write, writes, p99, p50, unlinks, freed, read, reads or dir"

int top_sort_parse(const char *s, enum top_sort *out);
const char *top_sort_name(enum top_sort sort);

struct top_view {
	enum top_sort sort;
	bool by_cache;     /* one row per DIR instead of one per group */
	unsigned width;    /* columns to fit; 0 = no limit (not a terminal) */
	unsigned height;   /* lines to fit; 0 = no limit */
	unsigned max_rows; /* --rows; 0 = as many as fit */
	bool clear;        /* clear the screen first (a terminal) */
};

/* Draws one refresh: rates over prev..s (prev may be NULL: interval_s is used).
 * No line is longer than v->width and no more than v->height lines are
 * printed, the last one without a newline, so a terminal never scrolls. */
void top_draw(FILE *f, const struct cw_snapshot *prev, const struct cw_snapshot *s,
	      const struct top_view *v, double interval_s);

/* The command that wrote most into group of cache c between pc and c (pc may be
 * NULL: since start); NULL when nothing was written. */
const char *top_group_writer(const struct cw_cache_snap *pc, const struct cw_cache_snap *c,
			     uint64_t group, uint64_t *bytes);

#endif
