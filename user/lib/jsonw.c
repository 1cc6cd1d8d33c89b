/* Minimal streaming JSON writer. */
#include <math.h>
#include <stdlib.h>
#include "lib/jsonw.h"
#include "lib/utf8.h"

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

/* JSON string escaping of text that is valid UTF-8 already. */
static void escape_utf8(FILE *f, const unsigned char *s, size_t n)
{
	for (const unsigned char *end = s + n; s < end; s++) {
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
	}
}

void jsonw_escape(FILE *f, const char *str)
{
	struct cw_buf b = { 0 };
	cw_utf8_sanitize(&b, str);
	fputc('"', f);
	if (b.oom) /* no memory for the lossless form: say so rather than lie */
		fputs("\\x3f(out of memory)", f);
	else
		escape_utf8(f, (const unsigned char *)b.data, b.len);
	fputc('"', f);
	cw_buf_free(&b);
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
