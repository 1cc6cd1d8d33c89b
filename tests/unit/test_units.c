/* Table-driven tests of size, duration and percentage parsing and formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "lib/units.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define KiB 1024ULL
#define MiB (KiB * KiB)
#define GiB (MiB * KiB)
#define TiB (GiB * KiB)

struct size_case {
	const char *in;
	int rc;
	uint64_t want;
};

static const struct size_case size_cases[] = {
	{ "0", 0, 0 },
	{ "100", 0, 100 },
	{ "100B", 0, 100 },
	{ "1KB", 0, 1000 },
	{ "1MB", 0, 1000000 },
	{ "1GB", 0, 1000000000ULL },
	{ "2TB", 0, 2000000000000ULL },
	{ "1PB", 0, 1000000000000000ULL },
	{ "1KiB", 0, KiB },
	{ "512MiB", 0, 512 * MiB },
	{ "5GiB", 0, 5 * GiB },
	{ "1TiB", 0, TiB },
	{ "1PiB", 0, TiB * KiB },
	{ "1.5GiB", 0, 3 * GiB / 2 },
	{ "1.5TiB", 0, 3 * TiB / 2 },
	{ "0.5KB", 0, 500 },
	{ "1.3MB", 0, 1300000 },
	{ "1.1KiB", 0, 1126 },   /* 1126.4 rounds to the nearest byte */
	{ "5gib", 0, 5 * GiB },  /* suffixes are case-insensitive */
	{ "5 GiB", 0, 5 * GiB },
	{ "007KB", 0, 7000 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551615B", 0, UINT64_MAX },
	{ "15EiB", -1, 0 },      /* unknown unit */
	{ "18446744073709551616", -1, 0 },
	{ "99999999999999999999999", -1, 0 },
	{ "16384PiB", -1, 0 },   /* 2^64: overflow */
	{ "16383.5PiB", 0, 16383ULL * TiB * KiB + TiB * KiB / 2 },
	{ "16383.999999999999999999PiB", -1, 0 }, /* the fraction rounds up to 2^64 */
	{ "17000000TB", 0, 17000000000000000000ULL },
	{ "19000000TB", -1, 0 },
	{ "", -1, 0 },
	{ " ", -1, 0 },
	{ "5 ", -1, 0 },
	{ " 5", -1, 0 },
	{ "-5GiB", -1, 0 },
	{ "+5GiB", -1, 0 },
	{ "5GG", -1, 0 },
	{ "GiB", -1, 0 },
	/* ccache and Kubernetes spellings: bare prefix decimal, "i" binary. */
	{ "5G", 0, 5000000000ULL },
	{ "512M", 0, 512000000ULL },
	{ "1T", 0, 1000000000000ULL },
	{ "5K", 0, 5000 },
	{ "5k", 0, 5000 },
	{ "1P", 0, 1000000000000000ULL },
	{ "1Gi", 0, GiB },
	{ "5GiB", 0, 5 * GiB },
	{ "512Mi", 0, 512 * MiB },
	{ "1Ki", 0, KiB },
	{ "2Ti", 0, 2 * TiB },
	{ "1Pi", 0, TiB * KiB },
	{ "1.5G", 0, 1500000000ULL },
	{ "1.5Gi", 0, 3 * GiB / 2 },
	{ "5 G", 0, 5000000000ULL },
	{ "5Gib", 0, 5 * GiB },
	{ "5i", -1, 0 },
	{ "5iB", -1, 0 },
	{ "5Bi", -1, 0 },
	{ "5GBi", -1, 0 },
	{ "5E", -1, 0 },         /* exa would overflow soon; not accepted */
	{ "1.5", -1, 0 },        /* no fractions of a byte */
	{ "1.5B", -1, 0 },
	{ ".5GiB", -1, 0 },
	{ "5.GiB", -1, 0 },
	{ "1e3", -1, 0 },
	{ "0x10", -1, 0 },
	{ "inf", -1, 0 },
	{ "nan", -1, 0 },
	{ "5GiB5", -1, 0 },
	{ "5 G i B", -1, 0 },
	{ "1,5GiB", -1, 0 },
};

static void test_parse_size(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(size_cases); i++) {
		const struct size_case *c = &size_cases[i];
		uint64_t got = 12345;
		int rc = cw_parse_size(c->in, &got);
		if (rc != c->rc || (rc == 0 && got != c->want))
			fail_msg("cw_parse_size(\"%s\") = %d, %llu; want %d, %llu", c->in, rc,
				 (unsigned long long)got, c->rc, (unsigned long long)c->want);
		if (rc != 0)
			assert_int_equal(got, 12345); /* untouched on failure */
	}
	uint64_t v;
	assert_int_equal(cw_parse_size(NULL, &v), -1);
}

struct dur_case {
	const char *in;
	int rc;
	uint64_t want;
};

static const struct dur_case dur_cases[] = {
	{ "0", 0, 0 },
	{ "0s", 0, 0 },
	{ "1ms", 0, 1 },
	{ "250ms", 0, 250 },
	{ "1s", 0, 1000 },
	{ "90s", 0, 90000 },
	{ "5m", 0, 300000 },
	{ "1h", 0, 3600000 },
	{ "5d", 0, 5ULL * 86400000 },
	{ "2w", 0, 14ULL * 86400000 },
	{ "1h30m", 0, 5400000 },
	{ "1d2h3m4s5ms", 0, 93784005 },
	{ "1m30s", 0, 90000 },
	{ "18446744073709551615ms", 0, UINT64_MAX },
	{ "18446744073709551616ms", -1, 0 },
	{ "213503982334601d", -1, 0 },       /* overflow in the multiplication */
	{ "213503982334d1h", 0, 213503982334ULL * 86400000 + 3600000 },
	{ "213503982334d14h25m51s615ms", 0, UINT64_MAX },
	{ "213503982334d14h25m51s616ms", -1, 0 },
	{ "213503982335d", -1, 0 },
	{ "213503982334d15h", -1, 0 },       /* each part fits; the sum overflows */
	{ "", -1, 0 },
	{ "5", -1, 0 },                      /* no unit */
	{ "s", -1, 0 },
	{ "-1s", -1, 0 },
	{ "1.5h", -1, 0 },
	{ "30m1h", -1, 0 },                  /* wrong order */
	{ "1h1h", -1, 0 },                   /* repeated unit */
	{ "1ms1s", -1, 0 },
	{ "1y", -1, 0 },
	{ "1 h", -1, 0 },
	{ "1h ", -1, 0 },
	{ "1H", -1, 0 },
	{ "00", -1, 0 },
	{ "1hm", -1, 0 },
};

static void test_parse_duration(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(dur_cases); i++) {
		const struct dur_case *c = &dur_cases[i];
		uint64_t got = 777;
		int rc = cw_parse_duration_ms(c->in, &got);
		if (rc != c->rc || (rc == 0 && got != c->want))
			fail_msg("cw_parse_duration_ms(\"%s\") = %d, %llu; want %d, %llu", c->in, rc,
				 (unsigned long long)got, c->rc, (unsigned long long)c->want);
		if (rc != 0)
			assert_int_equal(got, 777);
	}
	uint64_t v;
	assert_int_equal(cw_parse_duration_ms(NULL, &v), -1);
}

struct pct_case {
	const char *in;
	int rc;
	double want;
};

static const struct pct_case pct_cases[] = {
	{ "0%", 0, 0.0 },
	{ "90%", 0, 90.0 },
	{ "100%", 0, 100.0 },
	{ "12.5%", 0, 12.5 },
	{ "0.001%", 0, 0.001 },
	{ "12.123456%", 0, 12.123456 },
	{ "12.1234567%", -1, 0 },  /* more than six decimals */
	{ "100.0%", 0, 100.0 },
	{ "100.01%", -1, 0 },
	{ "101%", -1, 0 },
	{ "-1%", -1, 0 },
	{ "90", -1, 0 },   /* the sign is required: 0.9 vs 90 must not be guessed */
	{ "0.9", -1, 0 },
	{ "%", -1, 0 },
	{ "", -1, 0 },
	{ "90 %", -1, 0 },
	{ "90%%", -1, 0 },
	{ "inf%", -1, 0 },
	{ "nan%", -1, 0 },
	{ "1e1%", -1, 0 },
	{ "0x10%", -1, 0 },
	{ ".5%", -1, 0 },
	{ "99999999999999999999999%", -1, 0 },
};

static void test_parse_percent(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(pct_cases); i++) {
		const struct pct_case *c = &pct_cases[i];
		double got = -7;
		int rc = cw_parse_percent(c->in, &got);
		if (rc != c->rc || (rc == 0 && got != c->want))
			fail_msg("cw_parse_percent(\"%s\") = %d, %g; want %d, %g", c->in, rc, got,
				 c->rc, c->want);
		if (rc != 0)
			assert_true(got == -7);
	}
}

static void test_format_size(void **state)
{
	static const struct {
		uint64_t in;
		const char *human, *exact;
	} cases[] = {
		{ 0, "0B", "0B" },
		{ 1, "1B", "1B" },
		{ 1023, "1023B", "1023B" },
		{ 1024, "1KiB", "1KiB" },
		{ 1000, "1000B", "1KB" },
		{ 1536, "1.5KiB", "1536B" },
		{ 3 * GiB / 2, "1.5GiB", "1536MiB" },
		{ 5 * GiB, "5GiB", "5GiB" },
		{ 1300000, "1.24MiB", "1300KB" },
		{ 2000000000000ULL, "1.82TiB", "2TB" },
		{ UINT64_MAX, "16384PiB", "18446744073709551615B" }, /* 16EiB, rounded */
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		cw_format_size(cases[i].in, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].human);
		cw_format_size_exact(cases[i].in, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].exact);
		/* The exact form is a valid size that means the same. */
		uint64_t back;
		assert_int_equal(cw_parse_size(buf, &back), 0);
		assert_true(back == cases[i].in);
	}
	cw_format_size(5 * GiB, buf, 3);
	assert_string_equal(buf, "5G"); /* truncated, still terminated */
}

static void test_format_duration(void **state)
{
	static const struct {
		uint64_t in;
		const char *out;
	} cases[] = {
		{ 0, "0s" },
		{ 1, "1ms" },
		{ 1000, "1s" },
		{ 90000, "1m30s" },
		{ 5400000, "1h30m" },
		{ 5ULL * 86400000, "5d" },
		{ 93784005, "1d2h3m4s5ms" },
		{ 14ULL * 86400000, "14d" },
		{ UINT64_MAX, "213503982334d14h25m51s615ms" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		cw_format_duration_ms(cases[i].in, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
		uint64_t back;
		assert_int_equal(cw_parse_duration_ms(buf, &back), 0);
		assert_true(back == cases[i].in);
	}
	cw_format_duration_ms(93784005, buf, 6);
	assert_true(strlen(buf) < 6);
}

static void test_format_percent(void **state)
{
	char buf[32];
	double back;

	(void)state;
	cw_format_percent(90.0, buf, sizeof(buf));
	assert_string_equal(buf, "90%");
	cw_format_percent(12.5, buf, sizeof(buf));
	assert_string_equal(buf, "12.5%");
	cw_format_percent(0.001, buf, sizeof(buf));
	assert_string_equal(buf, "0.001%");
	assert_int_equal(cw_parse_percent(buf, &back), 0);
	assert_true(back == 0.001);
	cw_format_percent(0.0, buf, sizeof(buf));
	assert_string_equal(buf, "0%");
	cw_format_decimal(1000.0, buf, sizeof(buf));
	assert_string_equal(buf, "1000");
	cw_format_decimal(0.25, buf, sizeof(buf));
	assert_string_equal(buf, "0.25");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_percent),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_format_percent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
