/* Minimal streaming JSON writer. */
#include <math.h>
#include <stdlib.h>
#include "lib/jsonw.h"

#define JSONW_DEPTH 32

struct jsonw {
	FILE *f;
	int depth;
	bool first[JSONW_DEPTH];
};

struct jsonw *jsonw_new(FILE *f)
{
	struct jsonw *j = calloc(1, sizeof(*j));

	if (j) {
		j->f = f;
		j->first[0] = true;
	}
	return j;
}

void jsonw_free(struct jsonw *j)
{
	free(j);
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { n = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { n = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { n = 4; cp = s[0] & 0x07; }
	else return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are not valid */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void jsonw_escape(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		int n = utf8_len(s);
		if (n == 0) {
			fprintf(f, "\\u%04x", *s++);
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, (size_t)n, f);
			s += n;
			continue;
		}
		switch (*s) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*s < 0x20 || *s == 0x7f)
				fprintf(f, "\\u%04x", *s);
			else
				fputc(*s, f);
		}
		s++;
	}
	fputc('"', f);
}

static void sep(struct jsonw *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		jsonw_escape(j->f, key);
		fputc(':', j->f);
	}
}

static void open_(struct jsonw *j, const char *key, char c)
{
	sep(j, key);
	fputc(c, j->f);
	if (j->depth < JSONW_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct jsonw *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void jsonw_obj_begin(struct jsonw *j, const char *key) { open_(j, key, '{'); }
void jsonw_obj_end(struct jsonw *j) { close_(j, '}'); }
void jsonw_arr_begin(struct jsonw *j, const char *key) { open_(j, key, '['); }
void jsonw_arr_end(struct jsonw *j) { close_(j, ']'); }

void jsonw_str(struct jsonw *j, const char *key, const char *v)
{
	sep(j, key);
	jsonw_escape(j->f, v ? v : "");
}

void jsonw_uint(struct jsonw *j, const char *key, uint64_t v)
{
	sep(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void jsonw_double(struct jsonw *j, const char *key, double v)
{
	sep(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.17g", v);
	else
		fputs("null", j->f);
}

void jsonw_bool(struct jsonw *j, const char *key, bool v)
{
	sep(j, key);
	fputs(v ? "true" : "false", j->f);
}
