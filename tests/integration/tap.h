/* Minimal TAP output for the C integration tests. */
#ifndef CW_TAP_H
#define CW_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline __attribute__((format(printf, 2, 3))) int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

/* Equality with both values shown on failure. */
#define tap_eq(got, want, ...)                                                               \
	do {                                                                                 \
		unsigned long long g_ = (got), w_ = (want);                                  \
		if (!tap_ok(g_ == w_, __VA_ARGS__))                                           \
			printf("#   got %llu, want %llu\n", g_, w_);                            \
	} while (0)

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
