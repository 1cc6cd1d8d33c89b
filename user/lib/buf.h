/* Growable byte buffer: appends never fail one by one, the caller checks oom once at the end. */
#ifndef CW_BUF_H
#define CW_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* On allocation failure it sets oom and stops growing, so callers check once at
 * the end instead of after every append. */
struct cw_buf {
	char *data;
	size_t len;
	size_t cap;
	bool oom;
};

void cw_buf_free(struct cw_buf *b);
/* Room for extra more bytes (and a NUL); false (and oom set) when out of memory. */
bool cw_buf_reserve(struct cw_buf *b, size_t extra);
void cw_buf_append(struct cw_buf *b, const void *data, size_t n);
void cw_buf_puts(struct cw_buf *b, const char *s);
void cw_buf_printf(struct cw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes over (NUL-terminated) and resets b; NULL when it ran out of memory. */
char *cw_buf_steal(struct cw_buf *b, size_t *len);

#endif
