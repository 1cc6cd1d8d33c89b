/* Unit tests of the data plane's pure logic: dev encoding, hashing, histograms, counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <cmocka.h>
#include "dataplane/collector.h"
#include "dataplane/hist.h"
#include "dataplane/loader.h"

static void dev_encoding(void **state)
{
	(void)state;
	/* userspace packs minor bits above bit 8 and major bits at 8..19 and 32+ */
	assert_int_equal(cw_kernel_dev(makedev(254, 0)), (254u << 20) | 0);
	assert_int_equal(cw_kernel_dev(makedev(8, 1)), (8u << 20) | 1);
	assert_int_equal(cw_kernel_dev(makedev(0, 45)), 45);            /* tmpfs-like anonymous */
	assert_int_equal(cw_kernel_dev(makedev(259, 300)), (259u << 20) | 300); /* minor > 255 */
	assert_int_equal(cw_kernel_dev(makedev(4095, 1048575)), (4095u << 20) | 1048575);
	assert_int_not_equal(cw_kernel_dev(makedev(1, 0)), cw_kernel_dev(makedev(0, 1)));
}

static void fnv_matches_bpf_constants(void **state)
{
	(void)state;
	assert_true(cw_fnv1a("", 0) == CW_GROUP_ROOT);
	/* published FNV-1a 64 test vector */
	assert_true(cw_fnv1a("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(cw_fnv1a("ab", 2) != cw_fnv1a("ba", 2));
	assert_true(cw_fnv1a("a/b", 3) != cw_fnv1a("ab", 2));
}

static void hist_slots(void **state)
{
	(void)state;
	assert_int_equal(cw_hist_slot_of(0), 0);
	assert_int_equal(cw_hist_slot_of(1), 0);
	assert_int_equal(cw_hist_slot_of(2), 1);
	assert_int_equal(cw_hist_slot_of(3), 1);
	assert_int_equal(cw_hist_slot_of(1023), 9);
	assert_int_equal(cw_hist_slot_of(1024), 10);
	assert_int_equal(cw_hist_slot_of(UINT64_MAX), CW_HIST_SLOTS - 1);
	assert_true(cw_hist_slot_upper_ns(0) == 2);
	assert_true(cw_hist_slot_upper_ns(9) == 1024);
	/* every value is below its slot's upper bound and at or above the lower */
	for (uint64_t v = 1; v < (1ull << 30); v = v * 3 + 1) {
		unsigned s = cw_hist_slot_of(v);
		assert_true(v < cw_hist_slot_upper_ns(s));
		assert_true(s == 0 || v >= cw_hist_slot_upper_ns(s - 1));
	}
}

static void hist_quantiles(void **state)
{
	struct cw_hist h = { 0 };

	(void)state;
	assert_true(cw_hist_quantile_ns(&h, 0.5) == 0.0);
	/* 100 observations in [1024, 2048) ns */
	h.slots[10] = 100;
	double p50 = cw_hist_quantile_ns(&h, 0.5);
	assert_true(p50 >= 1024 && p50 <= 2048);
	assert_true(p50 > 1500 && p50 < 1560); /* linear interpolation: 1024 + 0.5*1024 */
	/* 99 fast, 1 slow: p99 stays in the fast slot, p100 reaches the slow one */
	memset(&h, 0, sizeof(h));
	h.slots[10] = 99;
	h.slots[20] = 1;
	assert_true(cw_hist_quantile_ns(&h, 0.99) <= 2048);
	assert_true(cw_hist_quantile_ns(&h, 1.0) >= (double)(1 << 20));
	/* out-of-range q is clamped */
	assert_true(cw_hist_quantile_ns(&h, 7) == cw_hist_quantile_ns(&h, 1));
	assert_true(cw_hist_cumulative(&h, 9) == 0);
	assert_true(cw_hist_cumulative(&h, 10) == 99);
	assert_true(cw_hist_cumulative(&h, CW_HIST_SLOTS - 1) == 100);
}

/* The keys userspace derives for group directories must be the BPF side's:
 * FNV-1a of the components joined by '/', cut at CW_GROUP_NAME_MAX - 1 bytes. */
static void group_keys(void **state)
{
	char name[CW_GROUP_NAME_MAX], a[201], b[201], want[512];
	size_t len = 0;

	(void)state;
	assert_true(cw_group_key_append(name, &len, "p0", 2) == cw_fnv1a("p0", 2));
	assert_true(cw_group_key_append(name, &len, "sub", 3) == cw_fnv1a("p0/sub", 6));
	assert_int_equal(len, 6);
	/* siblings restart from the parent's length */
	len = 2;
	assert_true(cw_group_key_append(name, &len, "x", 1) == cw_fnv1a("p0/x", 4));

	/* 200 + 1 + 200 bytes: the key is that of the first 255 */
	memset(a, 'a', 200);
	memset(b, 'b', 200);
	a[200] = b[200] = 0;
	snprintf(want, sizeof(want), "%s/%s", a, b);
	len = 0;
	cw_group_key_append(name, &len, a, 200);
	uint64_t k = cw_group_key_append(name, &len, b, 200);
	assert_int_equal(len, CW_GROUP_NAME_MAX - 1);
	assert_true(k == cw_fnv1a(want, CW_GROUP_NAME_MAX - 1));
	assert_true(k != cw_fnv1a(want, strlen(want)));
	/* deeper components add nothing once the limit is reached */
	assert_true(cw_group_key_append(name, &len, "c", 1) == k);
	/* a cut right after a separator keeps the separator, as the BPF side does */
	memset(a, 'a', 200);
	a[200] = 0;
	len = 0;
	cw_group_key_append(name, &len, a, 200);
	cw_group_key_append(name, &len, b, 53);      /* 254 bytes */
	k = cw_group_key_append(name, &len, "z", 1); /* + '/' = 255 */
	assert_int_equal(len, 255);
	assert_true(name[254] == '/');
	assert_true(k == cw_fnv1a(name, 255));
}

static void monotonic_counters(void **state)
{
	struct cw_stats total = { 0 }, last = { 0 }, raw = { 0 };

	(void)state;
	assert_true(cw_counter_delta(10, 15) == 5);
	assert_true(cw_counter_delta(10, 10) == 0);
	assert_true(cw_counter_delta(10, 3) == 3); /* restarted from zero */

	raw.writes = 5;
	raw.write_bytes = 500;
	cw_stats_accumulate(&total, &last, &raw);
	raw.writes = 8;
	raw.write_bytes = 800;
	cw_stats_accumulate(&total, &last, &raw);
	assert_true(total.writes == 8 && total.write_bytes == 800);
	/* the map entry was deleted and re-created: totals keep growing */
	raw.writes = 2;
	raw.write_bytes = 900; /* bigger than before, yet a restart: writes went down */
	cw_stats_accumulate(&total, &last, &raw);
	assert_true(total.writes == 10);
	assert_true(total.write_bytes == 1700);
	/* nothing new: nothing added */
	cw_stats_accumulate(&total, &last, &raw);
	assert_true(total.writes == 10 && total.write_bytes == 1700);
}

static void backend_names(void **state)
{
	enum cw_backend b;

	(void)state;
	assert_int_equal(cw_backend_parse("fentry", &b), 0);
	assert_int_equal(b, CW_BACKEND_FENTRY);
	assert_int_equal(cw_backend_parse("tracepoint", &b), 0);
	assert_int_equal(b, CW_BACKEND_TRACEPOINT);
	assert_int_equal(cw_backend_parse("kprobes", &b), -1);
	assert_int_equal(cw_backend_parse("", &b), -1);
	assert_string_equal(cw_backend_name(CW_BACKEND_KPROBE), "kprobe");
	assert_string_equal(cw_backend_name((enum cw_backend)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dev_encoding),
		cmocka_unit_test(fnv_matches_bpf_constants),
		cmocka_unit_test(hist_slots),
		cmocka_unit_test(hist_quantiles),
		cmocka_unit_test(group_keys),
		cmocka_unit_test(monotonic_counters),
		cmocka_unit_test(backend_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
