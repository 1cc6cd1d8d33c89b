/* Parsing and printing of sizes, durations and percentages in operator syntax. */
#ifndef CW_UNITS_H
#define CW_UNITS_H

#include <stdint.h>
#include <stddef.h>

/* "5G", "5GB" (10^9), "5Gi", "5GiB" (2^30), "1.5T", "100" (bytes) -> bytes;
 * units case-insensitive. 0 on success, -1 on bad input. */
int cw_parse_size(const char *s, uint64_t *bytes);
/* What cw_parse_size accepts, for error messages: "is not a size (<this>)". */
#define CW_SIZE_UNITS \
	"a number, fractions allowed, with an optional unit: B; K, M, G, T, P " \
	"(powers of 1000, B optional); Ki, Mi, Gi, Ti, Pi (powers of 1024, B optional); " \
	"e.g. 5G, 512Mi, 1.5GiB"
/* "1s", "250ms", "5m", "1h", "5d", "1h30m" -> milliseconds. */
int cw_parse_duration_ms(const char *s, uint64_t *ms);
/* "90%", "12.5%" -> percent as a double in [0, 100]; at most six decimals. */
int cw_parse_percent(const char *s, double *pct);
/* Human forms for messages and `top`: "1.5GiB", "1h30m". */
void cw_format_size(uint64_t bytes, char *buf, size_t len);
void cw_format_duration_ms(uint64_t ms, char *buf, size_t len);
/* Exact forms that parse back to the same value (for printing a configuration):
 * "5GiB", "1300KB", "1234B"; "12.5%". Durations above are always exact. */
void cw_format_size_exact(uint64_t bytes, char *buf, size_t len);
void cw_format_percent(double pct, char *buf, size_t len);
/* "1000", "0.5": fixed notation, up to six decimals, no trailing zeros. */
void cw_format_decimal(double v, char *buf, size_t len);

#endif
