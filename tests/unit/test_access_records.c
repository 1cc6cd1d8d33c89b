/* Unit tests of the access records' pure logic: BPF value to record, and the seed merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dataplane/access.h"

static void from_val_stops_at_empty(void **state)
{
	(void)state;
	struct cw_access_val v = { .last_ns = 30, .count = 3, .recent_ns = { 30, 20, 10, 0 } };
	struct cw_access_rec r;

	cw_access_from_val(&v, &r);
	assert_int_equal(r.last_ns, 30);
	assert_int_equal(r.count, 3);
	assert_int_equal(r.nrecent, 3);
	assert_int_equal(r.recent_ns[0], 30);
	assert_int_equal(r.recent_ns[2], 10);
	assert_int_equal(r.recent_ns[3], 0);
}

static void merge_into_empty(void **state)
{
	(void)state;
	struct cw_access_val v = { 0 };
	struct cw_access_rec seed = { .last_ns = 50, .count = 9, .nrecent = 2, .recent_ns = { 50, 40 } };

	cw_access_merge(&v, &seed);
	assert_int_equal(v.last_ns, 50);
	assert_int_equal(v.count, 9);
	assert_int_equal(v.recent_ns[0], 50);
	assert_int_equal(v.recent_ns[1], 40);
	assert_int_equal(v.recent_ns[2], 0);
}

/* The live record is newer: its times come first, the seed's fill the rest,
 * a time in both is kept once, counts add. */
static void merge_newer_wins(void **state)
{
	(void)state;
	struct cw_access_val v = { .last_ns = 100, .count = 2, .recent_ns = { 100, 60 } };
	struct cw_access_rec seed = { .last_ns = 60, .count = 5, .nrecent = 4, .recent_ns = { 60, 40, 30, 20 } };

	cw_access_merge(&v, &seed);
	assert_int_equal(v.last_ns, 100);
	assert_int_equal(v.count, 7);
	assert_int_equal(v.recent_ns[0], 100);
	assert_int_equal(v.recent_ns[1], 60);
	assert_int_equal(v.recent_ns[2], 40);
	assert_int_equal(v.recent_ns[3], 30);
}

/* Interleaved times, a bogus nrecent and a count near the top are handled. */
static void merge_interleaved_and_bounds(void **state)
{
	(void)state;
	struct cw_access_val v = { .last_ns = 90, .count = UINT32_MAX - 1, .recent_ns = { 90, 70, 50 } };
	struct cw_access_rec seed = { .last_ns = 95, .count = 10, .nrecent = 99, .recent_ns = { 95, 80, 60, 10 } };

	cw_access_merge(&v, &seed);
	assert_int_equal(v.last_ns, 95);
	assert_int_equal(v.count, UINT32_MAX);
	assert_int_equal(v.recent_ns[0], 95);
	assert_int_equal(v.recent_ns[1], 90);
	assert_int_equal(v.recent_ns[2], 80);
	assert_int_equal(v.recent_ns[3], 70);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(from_val_stops_at_empty),
		cmocka_unit_test(merge_into_empty),
		cmocka_unit_test(merge_newer_wins),
		cmocka_unit_test(merge_interleaved_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
