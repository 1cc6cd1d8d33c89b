/* UTF-8 validation and the one lossless text form of raw bytes (file names) used everywhere. */
#ifndef CW_UTF8_H
#define CW_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include "lib/buf.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), 1 for ASCII, 0 when the byte at s starts
 * no valid sequence. Stops at a NUL. With cp, stores the code point. */
size_t cw_utf8_decode(const unsigned char *s, uint32_t *cp);

/* The text form of raw bytes shown in metric labels and JSON: valid UTF-8
 * passes through; every byte that is not part of valid UTF-8, and every
 * backslash, becomes the four characters "\xNN" (lowercase hex). One-to-one:
 * two different names never look the same. Appended to out. */
void cw_utf8_sanitize(struct cw_buf *out, const char *raw);

#endif
