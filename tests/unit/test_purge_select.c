/* Unit tests of the purge engine's victim selection (pure logic, no files). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "purge/select.h"

#define NS 1000000000LL
#define DAY (86400 * NS)
#define NOW (1700000000LL * NS)
#define KB 1024ULL

static struct cw_purge_policy policy(void)
{
	struct cw_purge_policy p;
	cw_purge_policy_defaults(&p);
	p.enabled = true;
	return p;
}

/* Runs the selection and returns the victims' paths joined by spaces, in
 * deletion order, with the reason of each as "path:reason". */
static char *select_str(const struct cw_purge_policy *p, const struct cw_purge_item *items, size_t n,
			uint64_t fs_free, uint64_t fs_total, size_t budget, bool with_reason)
{
	size_t *v = calloc(n + 1, sizeof(*v));
	enum cw_purge_reason *r = calloc(n + 1, sizeof(*r));
	size_t nv = cw_purge_select_items(p, NOW, fs_free, fs_total, items, n, budget, v, r);
	char *out = calloc(1, 16 * n + 4096);
	for (size_t i = 0; i < nv; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, items[v[i]].relpath);
		if (with_reason) {
			strcat(out, ":");
			strcat(out, cw_purge_reason_name(r[i]));
		}
	}
	free(v);
	free(r);
	return out;
}

#define EXPECT(p, items, want) do { \
	char *got = select_str(p, items, sizeof(items) / sizeof(items[0]), 0, 0, 0, false); \
	assert_string_equal(got, want); \
	free(got); \
} while (0)

static void test_nothing_below_high_watermark(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.max_size = 100 * KB; /* high 90K */
	struct cw_purge_item items[] = {
		{ "a", NOW - 3 * DAY, 45 * KB }, { "b", NOW - 2 * DAY, 45 * KB },
	};
	EXPECT(&p, items, "");
}

static void test_watermarks_lru_down_to_low(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.max_size = 100 * KB; /* high 90K, low 80K */
	struct cw_purge_item items[] = {
		{ "new", NOW - 1 * DAY, 30 * KB }, { "old", NOW - 5 * DAY, 10 * KB },
		{ "mid", NOW - 3 * DAY, 30 * KB }, { "older", NOW - 4 * DAY, 25 * KB },
	};
	/* 95K > 90K: need 15K -> old (10K) then older (25K) */
	EXPECT(&p, items, "old older");
}

static void test_ties_broken_by_path(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.max_size = 100 * KB;
	struct cw_purge_item items[] = {
		{ "d", NOW - DAY, 20 * KB }, { "b", NOW - DAY, 20 * KB }, { "c", NOW - DAY, 20 * KB },
		{ "a", NOW - DAY, 20 * KB }, { "e", NOW - DAY, 20 * KB },
	};
	/* 100K: need 20K -> the first by path */
	EXPECT(&p, items, "a");
	p.low_watermark = 50;
	EXPECT(&p, items, "a b c");
}

static void test_protect_wins(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	char *pats[] = { "CACHEDIR.TAG", "*.lock", "keep" , "x/y/*.o" };
	p.protect = pats;
	p.nprotect = 4;
	p.max_size = 10 * KB;
	p.max_age_ms = 1;
	struct cw_purge_item items[] = {
		{ "CACHEDIR.TAG", NOW - 9 * DAY, 10 * KB }, { "sub/a.lock", NOW - 9 * DAY, 10 * KB },
		{ "keep/deep/file", NOW - 9 * DAY, 10 * KB }, { "x/y/z.o", NOW - 9 * DAY, 10 * KB },
		{ "x/y/w/z.o", NOW - 9 * DAY, 10 * KB }, { "plain", NOW - 9 * DAY, 10 * KB },
	};
	/* everything is over max_age and over size, only the unprotected go; FNM_PATHNAME: x/y/w/z.o is not x/y/\*.o */
	EXPECT(&p, items, "x/y/w/z.o plain");
	assert_true(cw_purge_path_protected(&p, "keep/a/b"));
	assert_true(cw_purge_path_protected(&p, "a/b/CACHEDIR.TAG"));
	assert_false(cw_purge_path_protected(&p, "keeper/a"));
}

static void test_min_age_wins(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.max_size = 10 * KB;
	p.min_age_ms = 3600 * 1000; /* 1h */
	p.max_age_ms = 1000;        /* shorter than min_age: min_age still wins */
	struct cw_purge_item items[] = {
		{ "fresh", NOW - 10 * NS, 50 * KB }, { "fresh2", NOW - 3599 * NS, 50 * KB },
		{ "old", NOW - 3601 * NS, 1 * KB },
	};
	EXPECT(&p, items, "old");
}

static void test_max_age_regardless_of_size(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.max_age_ms = 5ULL * 86400 * 1000;
	struct cw_purge_item items[] = {
		{ "a", NOW - 6 * DAY, 1 }, { "b", NOW - 4 * DAY, 1 }, { "c", NOW - 5 * DAY - NS, 1 },
	};
	char *got = select_str(&p, items, 3, 0, 0, 0, true);
	/* age victims go in walk order (all of them go anyway) */
	assert_string_equal(got, "a:age c:age");
	free(got);
}

static void test_age_counts_toward_size(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.max_size = 100 * KB;
	p.max_age_ms = 10ULL * 86400 * 1000;
	struct cw_purge_item items[] = {
		{ "ancient", NOW - 20 * DAY, 10 * KB }, { "old", NOW - 5 * DAY, 10 * KB },
		{ "mid", NOW - 4 * DAY, 40 * KB }, { "new", NOW - 1 * DAY, 40 * KB },
	};
	/* 100K: need 20K; ancient (age) gives 10K, old (size) the other 10K */
	char *got = select_str(&p, items, 4, 0, 0, 0, true);
	assert_string_equal(got, "ancient:age old:size");
	free(got);
}

static void test_max_files(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.max_files = 10; /* high 9, low 8 */
	struct cw_purge_item items[10];
	char names[10][8];
	for (int i = 0; i < 10; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		items[i] = (struct cw_purge_item){ names[i], NOW - (10 - i) * DAY, 1 };
	}
	char *got = select_str(&p, items, 10, 0, 0, 0, true);
	assert_string_equal(got, "f0:max_files f1:max_files");
	free(got);
	got = select_str(&p, items, 9, 0, 0, 0, true); /* 9 is not above 9 */
	assert_string_equal(got, "");
	free(got);
}

static void test_min_free(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.min_free = 10; /* of 1000K: want 100K+1 free */
	struct cw_purge_item items[] = {
		{ "a", NOW - 3 * DAY, 30 * KB }, { "b", NOW - 2 * DAY, 30 * KB }, { "c", NOW - 1 * DAY, 30 * KB },
	};
	char *got = select_str(&p, items, 3, 50 * KB, 1000 * KB, 0, true);
	assert_string_equal(got, "a:free_space b:free_space");
	free(got);
	got = select_str(&p, items, 3, 200 * KB, 1000 * KB, 0, true);
	assert_string_equal(got, "");
	free(got);
}

static void test_goals(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	struct cw_purge_goals g;
	p.max_size = 1000;
	cw_purge_compute_goals(&p, 900, 0, 0, 0, &g);
	assert_int_equal(g.size_bytes, 0);
	cw_purge_compute_goals(&p, 901, 0, 0, 0, &g);
	assert_int_equal(g.size_bytes, 101);
	p.min_free = 50;
	cw_purge_compute_goals(&p, 0, 0, 100, 1000, &g);
	assert_int_equal(g.free_bytes, 400);
	p.low_watermark = 95; /* above high: treated as high */
	cw_purge_compute_goals(&p, 1000, 0, 1000, 1000, &g);
	assert_int_equal(g.size_bytes, 100);
	assert_int_equal(g.free_bytes, 0);
}

static void test_timestamp_modes(void **state)
{
	(void)state;
	assert_int_equal(cw_purge_timestamp(CW_TS_ATIME, 5, 7, 9, 100), 5);
	assert_int_equal(cw_purge_timestamp(CW_TS_MTIME, 5, 7, 9, 100), 7);
	assert_int_equal(cw_purge_timestamp(CW_TS_MAX, 5, 7, 9, 100), 7);
	assert_int_equal(cw_purge_timestamp(CW_TS_MAX, 8, 7, 9, 100), 8);
	/* a future time cannot make a file eternally fresh: the change time counts */
	assert_int_equal(cw_purge_timestamp(CW_TS_MAX, 5, 500, 9, 100), 9);
	assert_int_equal(cw_purge_timestamp(CW_TS_MTIME, 5, 500, 700, 100), 100);
}

static void test_timestamp_mode_changes_victims(void **state)
{
	(void)state;
	/* selection takes the ts given; the engine computes it with cw_purge_timestamp */
	struct cw_purge_policy p = policy();
	p.max_age_ms = 2ULL * 86400 * 1000;
	int64_t at_a = NOW - 3 * DAY, mt_a = NOW - 1 * DAY; /* read long ago, written lately */
	int64_t at_b = NOW - 1 * DAY, mt_b = NOW - 3 * DAY; /* written long ago, read lately */
	const enum cw_timestamp modes[] = { CW_TS_ATIME, CW_TS_MTIME, CW_TS_MAX };
	const char *want[] = { "a", "b", "" };
	for (int m = 0; m < 3; m++) {
		struct cw_purge_item items[] = {
			{ "a", cw_purge_timestamp(modes[m], at_a, mt_a, 0, NOW), 1 },
			{ "b", cw_purge_timestamp(modes[m], at_b, mt_b, 0, NOW), 1 },
		};
		EXPECT(&p, items, want[m]);
	}
}

static void test_buckets(void **state)
{
	(void)state;
	unsigned prev = 0;
	for (uint64_t age = 1; age < UINT64_MAX / 3; age = age * 3 / 2 + 1) {
		unsigned b = cw_purge_bucket(age);
		assert_true(b >= prev);
		assert_true(b < CW_PURGE_BUCKETS);
		assert_true(cw_purge_bucket_floor(b) <= age);
		if (b + 1 < CW_PURGE_BUCKETS)
			assert_true(cw_purge_bucket_floor(b + 1) > age);
		prev = b;
	}
	assert_int_equal(cw_purge_bucket(UINT64_MAX), CW_PURGE_BUCKETS - 1);
	for (unsigned b = 0; b < CW_PURGE_BUCKETS; b++)
		assert_int_equal(cw_purge_bucket(cw_purge_bucket_floor(b)), b);
}

static void test_plan_cutoff(void **state)
{
	(void)state;
	uint64_t bytes[8] = { 5, 0, 10, 0, 20, 0, 0, 30 };
	uint64_t files[8] = { 1, 0, 1, 0, 2, 0, 0, 3 };
	struct cw_purge_plan pl;
	cw_purge_compute_plan(bytes, files, 8, 0, 0, &pl);
	assert_int_equal(pl.boundary, -1);
	cw_purge_compute_plan(bytes, files, 8, 30, 0, &pl);
	assert_int_equal(pl.boundary, 7); /* exactly the oldest bucket */
	assert_int_equal(pl.above_bytes, 0);
	cw_purge_compute_plan(bytes, files, 8, 31, 0, &pl);
	assert_int_equal(pl.boundary, 4);
	assert_int_equal(pl.above_bytes, 30);
	assert_int_equal(pl.above_files, 3);
	cw_purge_compute_plan(bytes, files, 8, 0, 5, &pl);
	assert_int_equal(pl.boundary, 4);
	cw_purge_compute_plan(bytes, files, 8, 1000, 0, &pl);
	assert_true(pl.unreachable);
	assert_int_equal(pl.boundary, 0);
	assert_int_equal(pl.above_bytes, 60);
}

/* A tiny candidate budget forces several rounds; the victims must not change. */
static void test_bounded_heap_rounds_same_victims(void **state)
{
	(void)state;
	enum { N = 600 };
	struct cw_purge_item *items = calloc(N, sizeof(*items));
	char (*names)[16] = calloc(N, 16);
	srand(42);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], 16, "d%d/f%04d", i % 7, (i * 7919) % N);
		/* many ties: 5 distinct timestamps within one bucket */
		items[i] = (struct cw_purge_item){ names[i], NOW - DAY - (rand() % 5), 1 + (uint64_t)(rand() % 100) };
	}
	struct cw_purge_policy p = policy();
	p.max_size = 10 * KB;
	p.high_watermark = 1;
	p.low_watermark = 0.5; /* down to ~51 bytes: nearly everything goes, oldest first */
	char *unbounded = select_str(&p, items, N, 0, 0, 0, false);
	char *bounded = select_str(&p, items, N, 0, 0, 200, false);
	assert_string_equal(unbounded, bounded);
	assert_true(strlen(unbounded) > 1000);
	free(unbounded);
	free(bounded);
	free(items);
	free(names);
}

static void test_oldest_first_in_boundary_bucket(void **state)
{
	(void)state;
	struct cw_purge_policy p = policy();
	p.max_size = 100 * KB;
	/* all in one histogram bucket (ns apart): strict (ts, path) order */
	struct cw_purge_item items[] = {
		{ "z", NOW - DAY - 3, 20 * KB }, { "y", NOW - DAY - 1, 20 * KB }, { "x", NOW - DAY - 2, 20 * KB },
		{ "w", NOW - DAY, 20 * KB }, { "v", NOW - DAY, 20 * KB },
	};
	p.low_watermark = 40;
	EXPECT(&p, items, "z x y");
}

/* One predicate decides both "should a purge start?" (the scheduler, on
 * estimates) and "what must go?" (the selector, on the scan): the first
 * unmet goal. Boundaries: exactly at a watermark or at min_free nothing is
 * asked; one unit over, something is. */
struct predicate_case {
	uint64_t max_size, max_files;
	double min_free;
	uint64_t size, files, fs_free, fs_total;
	enum cw_purge_reason want;
	uint64_t want_amount; /* of the goal named by want */
};

static void test_one_predicate(void **state)
{
	(void)state;
	static const struct predicate_case cases[] = {
		{ 1000, 0, 0, 900, 0, 0, 0, CW_PURGE_REASON_MAX, 0 },          /* at 90%: nothing */
		{ 1000, 0, 0, 901, 0, 0, 0, CW_PURGE_SIZE, 101 },              /* over: down to 80% */
		{ 0, 100, 0, 0, 90, 0, 0, CW_PURGE_REASON_MAX, 0 },            /* files at 90% */
		{ 0, 100, 0, 0, 91, 0, 0, CW_PURGE_FILES, 11 },                /* max_files starts a purge too */
		{ 0, 0, 10, 0, 0, 100, 1000, CW_PURGE_REASON_MAX, 0 },         /* exactly 10% free */
		{ 0, 0, 10, 0, 0, 99, 1000, CW_PURGE_FREE_SPACE, 1 },          /* one byte short */
		{ 0, 0, 10, 0, 0, 333, 3333, CW_PURGE_FREE_SPACE, 1 },         /* 333.3 rounds up to 334 */
		{ 1000, 100, 10, 950, 95, 0, 1000, CW_PURGE_SIZE, 150 },       /* size first */
		{ 0, 100, 10, 0, 95, 0, 1000, CW_PURGE_FREE_SPACE, 100 },      /* then free space */
		{ 0, 0, 0, 1u << 30, 1u << 30, 0, 1000, CW_PURGE_REASON_MAX, 0 }, /* no limit, no purge */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct predicate_case *c = &cases[i];
		struct cw_purge_policy p = policy();
		struct cw_purge_goals g;
		p.max_size = c->max_size;
		p.max_files = c->max_files;
		p.min_free = c->min_free;
		cw_purge_compute_goals(&p, c->size, c->files, c->fs_free, c->fs_total, &g);
		enum cw_purge_reason r = cw_purge_goals_reason(&g);
		if (r != c->want)
			fail_msg("case %zu: reason %d, want %d", i, r, c->want);
		uint64_t amount = r == CW_PURGE_SIZE ? g.size_bytes : r == CW_PURGE_FILES ? g.files
				  : r == CW_PURGE_FREE_SPACE ? g.free_bytes : 0;
		if (amount != c->want_amount)
			fail_msg("case %zu: amount %llu, want %llu", i, (unsigned long long)amount,
				 (unsigned long long)c->want_amount);
		/* the selector plans from the very same goals */
		struct cw_selector *s = cw_selector_new(&p, 1000000000000000000LL, 0);
		assert_non_null(s);
		struct cw_selector_totals t;
		cw_selector_plan(s, c->fs_free, c->fs_total);
		cw_selector_totals(s, &t);
		assert_int_equal(t.goals.free_bytes, g.free_bytes); /* same fs figures, same goal */
		assert_int_equal(cw_selector_goal_left(s), cw_purge_goals_reason(&t.goals) != CW_PURGE_REASON_MAX);
		cw_selector_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_below_high_watermark),
		cmocka_unit_test(test_watermarks_lru_down_to_low),
		cmocka_unit_test(test_ties_broken_by_path),
		cmocka_unit_test(test_protect_wins),
		cmocka_unit_test(test_min_age_wins),
		cmocka_unit_test(test_max_age_regardless_of_size),
		cmocka_unit_test(test_age_counts_toward_size),
		cmocka_unit_test(test_max_files),
		cmocka_unit_test(test_min_free),
		cmocka_unit_test(test_goals),
		cmocka_unit_test(test_one_predicate),
		cmocka_unit_test(test_timestamp_modes),
		cmocka_unit_test(test_timestamp_mode_changes_victims),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_plan_cutoff),
		cmocka_unit_test(test_bounded_heap_rounds_same_victims),
		cmocka_unit_test(test_oldest_first_in_boundary_bucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
