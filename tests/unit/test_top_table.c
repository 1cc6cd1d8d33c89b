/* `cachewatch top`'s table: every width and height fits, per-row writers are over the interval. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cli/top_table.h"

#define NDIRS 4

struct fixture {
	struct cw_snapshot snap[2];
	struct cw_cache_snap cache[2];
	struct cw_dir_snap dirs[2][NDIRS];
	struct cw_group_writer_snap gw[2][3];
	char longname[300];
};

/* Two snapshots a second apart: "busy" and a 250-byte UTF-8 name written to. */
static void build(struct fixture *f)
{
	static const char *names[NDIRS] = { "busy", "quiet", NULL, "_other" };

	memset(f, 0, sizeof(*f));
	memset(f->longname, 'x', 250);
	memcpy(f->longname + 100, "\xc3\xa9\xc3\xa9", 4); /* é é: 4 bytes, 2 columns */
	for (int t = 0; t < 2; t++) {
		for (int i = 0; i < NDIRS; i++) {
			struct cw_dir_snap *d = &f->dirs[t][i];
			d->dir = names[i] ? (char *)names[i] : f->longname;
			d->group = (uint64_t)i + 1;
			d->write_bytes = t ? (uint64_t)(NDIRS - i) * 1000000 : 0;
			d->writes = t ? 10 : 0;
			d->lat.slots[10] = d->writes;
			d->lat.count = d->writes;
		}
		/* sorted by (group, comm): busy had "old" (big, before) and "new" (the interval) */
		f->gw[t][0] = (struct cw_group_writer_snap){ .group = 1, .comm = "new", .bytes = t ? 4000 : 0 };
		f->gw[t][1] = (struct cw_group_writer_snap){ .group = 1, .comm = "old", .bytes = 9000000 };
		f->gw[t][2] = (struct cw_group_writer_snap){ .group = 2, .comm = "q", .bytes = t ? 5 : 0 };
		f->cache[t] = (struct cw_cache_snap){ .name = "/var/lib/c", .path = "/var/lib/c", .ndirs = NDIRS,
						      .dirs = f->dirs[t], .ngroup_writers = 3,
						      .group_writers = f->gw[t] };
		f->snap[t] = (struct cw_snapshot){ .mono_seconds = t, .wall_seconds = 1e9 + t,
						   .backend = "tracepoint", .ncaches = 1, .caches = &f->cache[t] };
	}
}

static unsigned cols_of(const char *s, size_t n)
{
	unsigned c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static void test_fits_every_size(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	(void)state;

	build(f);
	for (unsigned w = 20; w <= 220; w += 7) {
		for (unsigned h = 4; h <= 30; h += 13) {
			struct top_view v = { .width = w, .height = h };
			char *buf = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&buf, &len);
			top_draw(m, &f->snap[0], &f->snap[1], &v, 1.0);
			fclose(m);
			unsigned lines = 0;
			for (char *p = buf; p; lines++) {
				char *nl = strchr(p, '\n');
				size_t n = nl ? (size_t)(nl - p) : strlen(p);
				if (cols_of(p, n) > w)
					fail_msg("%ux%u: line %u is %u columns: %.*s", w, h, lines, cols_of(p, n), (int)n, p);
				p = nl ? nl + 1 : NULL;
			}
			assert_true(lines <= h);
			/* the busiest row comes right after the header */
			char *hdr = strstr(buf, "\nDIR");
			assert_non_null(hdr);
			char *row = strchr(hdr + 1, '\n');
			if (h > 3)
				assert_true(row && !strncmp(row + 1, "busy", 4));
			free(buf);
		}
	}
	free(f);
}

static void test_writer_over_interval(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint64_t bytes = 0;
	(void)state;

	build(f);
	/* "old" wrote 9 MB before, nothing in the interval; "new" wrote 4000 bytes in it */
	assert_string_equal(top_group_writer(&f->cache[0], &f->cache[1], 1, &bytes), "new");
	assert_int_equal(bytes, 4000);
	assert_string_equal(top_group_writer(&f->cache[0], &f->cache[1], 2, &bytes), "q");
	assert_null(top_group_writer(&f->cache[0], &f->cache[1], 3, &bytes));
	/* since start (no previous snapshot): "old" */
	assert_string_equal(top_group_writer(NULL, &f->cache[1], 1, &bytes), "old");
	free(f);
}

static void test_sort_names(void **state)
{
	enum top_sort s;
	(void)state;

	for (int i = 0; i < TOP_SORT_COUNT; i++) {
		assert_int_equal(top_sort_parse(top_sort_name((enum top_sort)i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(top_sort_parse("bytes", &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fits_every_size),
		cmocka_unit_test(test_writer_over_interval),
		cmocka_unit_test(test_sort_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
