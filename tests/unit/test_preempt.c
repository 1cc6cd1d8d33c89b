/* Unit tests of how the loader reads the kernel's preemption model (auto's fentry decision). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dataplane/loader.h"

static void sched_preempt_file(void **state)
{
	(void)state;
	/* /sys/kernel/debug/sched/preempt marks the model in force with parentheses */
	assert_string_equal(cw_parse_sched_preempt("none (voluntary) full lazy\n"), "voluntary");
	assert_string_equal(cw_parse_sched_preempt("none voluntary full (lazy)\n"), "lazy");
	assert_string_equal(cw_parse_sched_preempt("(none) voluntary full\n"), "none");
	assert_string_equal(cw_parse_sched_preempt("none voluntary (full) lazy\n"), "full");
	assert_null(cw_parse_sched_preempt("none voluntary full lazy\n"));
	assert_null(cw_parse_sched_preempt("(fast)"));
	assert_null(cw_parse_sched_preempt(""));
	assert_null(cw_parse_sched_preempt(NULL));
}

static void kernel_config(void **state)
{
	(void)state;
	/* Debian 6.1/6.12 amd64: dynamic, voluntary by default */
	const char *deb = "CONFIG_PREEMPT_BUILD=y\nCONFIG_PREEMPT_VOLUNTARY=y\n"
			  "# CONFIG_PREEMPT is not set\nCONFIG_PREEMPT_DYNAMIC=y\n";
	/* Debian 7.x: lazy by default */
	const char *lazy = "CONFIG_PREEMPT_BUILD=y\nCONFIG_ARCH_HAS_PREEMPT_LAZY=y\n"
			   "CONFIG_PREEMPT_LAZY=y\nCONFIG_PREEMPT_DYNAMIC=y\n";
	const char *rt = "CONFIG_PREEMPT_LAZY=y\nCONFIG_PREEMPT_RT=y\nCONFIG_PREEMPT_DYNAMIC=y";
	const char *full = "CONFIG_PREEMPT=y\n";

	assert_string_equal(cw_parse_preempt_config(deb, "root=/dev/sda ro"), "voluntary");
	assert_string_equal(cw_parse_preempt_config(deb, "ro preempt=full quiet"), "full");
	assert_string_equal(cw_parse_preempt_config(lazy, ""), "lazy");
	assert_string_equal(cw_parse_preempt_config(lazy, "preempt=none"), "none");
	assert_string_equal(cw_parse_preempt_config(rt, "preempt=none"), "rt");
	assert_string_equal(cw_parse_preempt_config(full, NULL), "full");
	/* preempt= only matters with PREEMPT_DYNAMIC; CONFIG_PREEMPT_BUILD is not CONFIG_PREEMPT */
	assert_string_equal(cw_parse_preempt_config("CONFIG_PREEMPT_VOLUNTARY=y\n", "preempt=full"),
			    "voluntary");
	assert_null(cw_parse_preempt_config("CONFIG_PREEMPT_BUILD=y\n", ""));
	assert_null(cw_parse_preempt_config("", ""));
}

static void fentry_skips(void **state)
{
	(void)state;
	assert_false(cw_fentry_may_skip("none"));
	assert_false(cw_fentry_may_skip("voluntary"));
	assert_true(cw_fentry_may_skip("full"));
	assert_true(cw_fentry_may_skip("lazy"));
	assert_true(cw_fentry_may_skip("rt"));
	assert_true(cw_fentry_may_skip("unknown"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sched_preempt_file),
		cmocka_unit_test(kernel_config),
		cmocka_unit_test(fentry_skips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
