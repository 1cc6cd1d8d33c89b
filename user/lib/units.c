/* Parsing and printing of sizes, durations and percentages in operator syntax. */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lib/units.h"

/* Enough digits for any uint64 plus room to notice overflow; longer is garbage. */
#define MAX_DIGITS 20
/* Fraction digits kept; 10^18 still fits in 64 bits. */
#define MAX_FRAC_DIGITS 18

struct unit {
	const char *suffix;
	uint64_t mult;
};

#define KB 1000ULL
#define KIB 1024ULL

/* Matched case-insensitively; "" (no suffix) means bytes. The spellings are
 * those of ccache (-M 5G, 5Gi) and Kubernetes (5G, 5Gi): a bare prefix or
 * prefix+B is decimal, prefix+i or prefix+iB is binary. */
static const struct unit size_units[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "K", KB }, { "KB", KB },
	{ "M", KB * KB }, { "MB", KB * KB },
	{ "G", KB * KB * KB }, { "GB", KB * KB * KB },
	{ "T", KB * KB * KB * KB }, { "TB", KB * KB * KB * KB },
	{ "P", KB * KB * KB * KB * KB }, { "PB", KB * KB * KB * KB * KB },
	{ "Ki", KIB }, { "KiB", KIB },
	{ "Mi", KIB * KIB }, { "MiB", KIB * KIB },
	{ "Gi", KIB * KIB * KIB }, { "GiB", KIB * KIB * KIB },
	{ "Ti", KIB * KIB * KIB * KIB }, { "TiB", KIB * KIB * KIB * KIB },
	{ "Pi", KIB * KIB * KIB * KIB * KIB }, { "PiB", KIB * KIB * KIB * KIB * KIB },
};

/* Longest first, so "ms" wins over "m"; order of appearance must follow it. */
static const struct unit duration_units[] = {
	{ "w", 7ULL * 24 * 3600 * 1000 },
	{ "d", 24ULL * 3600 * 1000 },
	{ "h", 3600ULL * 1000 },
	{ "m", 60ULL * 1000 },
	{ "s", 1000ULL },
	{ "ms", 1ULL },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A decimal number as written: integer part and fraction, no sign, no exponent. */
struct decimal {
	uint64_t ip;
	uint64_t frac;      /* the fraction's first MAX_FRAC_DIGITS digits as an integer */
	unsigned frac_digits; /* digits kept in frac */
	unsigned frac_len;  /* digits written after the point */
};

/* Percentages keep at most this many decimals, so printing them with as many
 * gives back the very same value (see cw_format_percent). */
#define PERCENT_DECIMALS 6

static uint64_t pow10u(unsigned n)
{
	uint64_t r = 1;
	while (n--)
		r *= 10;
	return r;
}

/* Reads DIGITS[.DIGITS] from *sp; digits are required on both sides of the point
 * so ".5" and "5." are rejected as typos rather than guessed at. */
static int scan_decimal(const char **sp, struct decimal *d, bool allow_frac)
{
	const char *s = *sp;
	unsigned n = 0;

	memset(d, 0, sizeof(*d));
	for (; isdigit((unsigned char)*s); s++, n++) {
		uint64_t digit = (uint64_t)(*s - '0');
		if (d->ip > (UINT64_MAX - digit) / 10)
			return -1;
		d->ip = d->ip * 10 + digit;
	}
	if (n == 0 || n > MAX_DIGITS)
		return -1;
	if (*s == '.' && allow_frac) {
		s++;
		n = 0;
		for (; isdigit((unsigned char)*s); s++, n++) {
			if (n < MAX_FRAC_DIGITS) {
				d->frac = d->frac * 10 + (uint64_t)(*s - '0');
				d->frac_digits++;
			}
		}
		if (n == 0)
			return -1;
		d->frac_len = n;
	}
	*sp = s;
	return 0;
}

int cw_parse_size(const char *s, uint64_t *bytes)
{
	struct decimal d;

	if (!s || scan_decimal(&s, &d, true))
		return -1;
	/* "1.5 GiB" reads naturally; a space with nothing after it is a typo. */
	if (*s == ' ') {
		while (*s == ' ')
			s++;
		if (!*s)
			return -1;
	}
	const struct unit *u = NULL;
	for (size_t i = 0; i < NELEM(size_units); i++) {
		if (!strcasecmp(s, size_units[i].suffix)) {
			u = &size_units[i];
			break;
		}
	}
	if (!u)
		return -1;
	/* Fractions of a byte make no sense; fractions of a larger unit round to
	 * the nearest byte. 128-bit arithmetic so overflow is detected, not wrapped. */
	if (u->mult == 1 && d.frac != 0)
		return -1;
	unsigned __int128 total = (unsigned __int128)d.ip * u->mult;
	if (d.frac_digits) {
		uint64_t div = pow10u(d.frac_digits);
		total += ((unsigned __int128)d.frac * u->mult + div / 2) / div;
	}
	if (total > UINT64_MAX)
		return -1;
	*bytes = (uint64_t)total;
	return 0;
}

/* Matches the longest unit at s; returns its index or -1. */
static int match_duration_unit(const char *s, size_t *len)
{
	int best = -1;
	size_t best_len = 0;

	for (size_t i = 0; i < NELEM(duration_units); i++) {
		size_t l = strlen(duration_units[i].suffix);
		if (l > best_len && !strncmp(s, duration_units[i].suffix, l)) {
			best = (int)i;
			best_len = l;
		}
	}
	*len = best_len;
	return best;
}

/* Prometheus-style: integer amounts, units in decreasing order, each at most
 * once ("1h30m", "250ms"); a bare "0" is the only number without a unit. */
int cw_parse_duration_ms(const char *s, uint64_t *ms)
{
	uint64_t total = 0;
	int last = -1;

	if (!s || !*s)
		return -1;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	while (*s) {
		struct decimal d;
		size_t ulen;
		if (scan_decimal(&s, &d, false))
			return -1;
		int u = match_duration_unit(s, &ulen);
		if (u < 0 || u <= last)
			return -1;
		last = u;
		s += ulen;
		uint64_t mult = duration_units[u].mult;
		if (d.ip > UINT64_MAX / mult)
			return -1;
		uint64_t part = d.ip * mult;
		if (total > UINT64_MAX - part)
			return -1;
		total += part;
	}
	*ms = total;
	return 0;
}

int cw_parse_percent(const char *s, double *pct)
{
	struct decimal d;
	const char *p = s;

	if (!s || scan_decimal(&p, &d, true))
		return -1;
	if (strcmp(p, "%") || d.frac_len > PERCENT_DECIMALS)
		return -1;
	/* The text is known to be plain DIGITS[.DIGITS] here, so strtod cannot
	 * wander into "inf", hex floats or exponents. */
	double v = strtod(s, NULL);
	if (v < 0.0 || v > 100.0)
		return -1;
	*pct = v;
	return 0;
}

/* "1.50" -> "1.5", "2.00" -> "2": s must come from a "%.Nf" conversion. */
static void trim_fraction(char *s)
{
	char *end = s + strlen(s) - 1;

	if (!strchr(s, '.'))
		return;
	while (*end == '0')
		*end-- = '\0';
	if (*end == '.')
		*end = '\0';
}

/* Largest binary unit first; exact multiples print as integers. */
static const struct unit human_units[] = {
	{ "PiB", KIB * KIB * KIB * KIB * KIB },
	{ "TiB", KIB * KIB * KIB * KIB },
	{ "GiB", KIB * KIB * KIB },
	{ "MiB", KIB * KIB },
	{ "KiB", KIB },
};

void cw_format_size(uint64_t bytes, char *buf, size_t len)
{
	if (!len)
		return;
	for (size_t i = 0; i < NELEM(human_units); i++) {
		const struct unit *u = &human_units[i];
		if (bytes < u->mult)
			continue;
		if (bytes % u->mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", bytes / u->mult, u->suffix);
			return;
		}
		/* Two decimals, trailing zeros dropped: "1.5GiB", "1.25MiB". */
		char num[64];
		snprintf(num, sizeof(num), "%.2f", (double)bytes / (double)u->mult);
		trim_fraction(num);
		snprintf(buf, len, "%s%s", num, u->suffix);
		return;
	}
	snprintf(buf, len, "%" PRIu64 "B", bytes);
}

/* Exact, so a printed configuration parses back to the same value: the largest
 * unit (binary before decimal) that divides the value, else plain bytes. */
void cw_format_size_exact(uint64_t bytes, char *buf, size_t len)
{
	static const struct unit exact_units[] = {
		{ "PiB", KIB * KIB * KIB * KIB * KIB },
		{ "PB", KB * KB * KB * KB * KB },
		{ "TiB", KIB * KIB * KIB * KIB },
		{ "TB", KB * KB * KB * KB },
		{ "GiB", KIB * KIB * KIB },
		{ "GB", KB * KB * KB },
		{ "MiB", KIB * KIB },
		{ "MB", KB * KB },
		{ "KiB", KIB },
		{ "KB", KB },
	};

	if (!len)
		return;
	for (size_t i = 0; bytes && i < NELEM(exact_units); i++) {
		if (bytes % exact_units[i].mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", bytes / exact_units[i].mult,
				 exact_units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 "B", bytes);
}

/* Always exact: "1h30m", "1d2h3m4s5ms", "0s". Weeks are not used on output
 * because "14d" reads better than "2w". */
void cw_format_duration_ms(uint64_t ms, char *buf, size_t len)
{
	size_t off = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 1; i < NELEM(duration_units); i++) {
		uint64_t mult = duration_units[i].mult;
		uint64_t n = ms / mult;
		if (!n)
			continue;
		ms -= n * mult;
		int w = snprintf(buf + off, len - off, "%" PRIu64 "%s", n,
				 duration_units[i].suffix);
		if (w < 0 || (size_t)w >= len - off)
			return; /* truncated; snprintf already terminated it */
		off += (size_t)w;
	}
}

/* Fixed notation (never an exponent, which the parsers refuse), six decimals
 * at most, trailing zeros dropped: "90", "12.5". */
void cw_format_decimal(double v, char *buf, size_t len)
{
	char num[512];

	if (!len)
		return;
	snprintf(num, sizeof(num), "%.6f", v);
	trim_fraction(num);
	snprintf(buf, len, "%s", num);
}

void cw_format_percent(double pct, char *buf, size_t len)
{
	char num[512];

	if (!len)
		return;
	cw_format_decimal(pct, num, sizeof(num));
	snprintf(buf, len, "%s%%", num);
}
