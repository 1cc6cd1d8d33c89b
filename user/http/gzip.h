/* gzip of response bodies. */
#ifndef CW_GZIP_H
#define CW_GZIP_H

#include <stddef.h>
#include "lib/buf.h"

/* gzip (RFC 1952) of in, appended to out. Returns 0 or -1. */
int cw_gzip(const void *in, size_t n, struct cw_buf *out);

#endif
