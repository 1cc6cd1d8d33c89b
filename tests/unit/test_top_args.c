/* Unit tests of `cachewatch top` argument handling: every bad input is exit 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "cli/commands.h"

#define RUN(...)                                                        \
	({                                                              \
		char *argv_[] = { "top", __VA_ARGS__, NULL };           \
		cmd_top((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_); \
	})

static void usage_errors(void **state)
{
	(void)state;
	assert_int_equal(RUN("--bpf.attach=fprobe", "/tmp"), 2);
	assert_int_equal(RUN("--interval=soon", "/tmp"), 2);
	assert_int_equal(RUN("--interval=1ms", "/tmp"), 2);  /* below the 10ms floor */
	assert_int_equal(RUN("--interval=2h", "/tmp"), 2);   /* above poll_interval's 1h ceiling */
	assert_int_equal(RUN("--group-depth=9", "/tmp"), 2); /* above CW_MAX_GROUP_DEPTH */
	assert_int_equal(RUN("--group-depth=-1", "/tmp"), 2);
	assert_int_equal(RUN("--count=0", "/tmp"), 2);
	assert_int_equal(RUN("--count=x", "/tmp"), 2);
	assert_int_equal(RUN("--no-such-flag", "/tmp"), 2);
	assert_int_equal(RUN("--json"), 2); /* no directory */
}

static void bad_directories(void **state)
{
	(void)state;
	assert_int_equal(RUN("/nonexistent/cachewatch/dir"), 2);
	assert_int_equal(RUN("/etc/hostname"), 2); /* a file, not a directory */
}

static void help_is_success(void **state)
{
	(void)state;
	assert_int_equal(RUN("--help"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(bad_directories),
		cmocka_unit_test(help_is_success),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
