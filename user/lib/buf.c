/* Growable byte buffer that remembers an allocation failure instead of reporting each one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/buf.h"

bool cw_buf_reserve(struct cw_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void cw_buf_free(struct cw_buf *b)
{
	free(b->data);
	*b = (struct cw_buf){ 0 };
}

void cw_buf_append(struct cw_buf *b, const void *data, size_t n)
{
	if (!cw_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void cw_buf_puts(struct cw_buf *b, const char *s)
{
	cw_buf_append(b, s, strlen(s));
}

void cw_buf_printf(struct cw_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		cw_buf_append(b, small, (size_t)n);
		return;
	}
	if (!cw_buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *cw_buf_steal(struct cw_buf *b, size_t *len)
{
	if (b->oom || !cw_buf_reserve(b, 0)) {
		cw_buf_free(b);
		return NULL;
	}
	char *p = b->data;
	*len = b->len;
	*b = (struct cw_buf){ 0 };
	return p;
}
