/* UTF-8 validation and the lossless "\xNN" text form of raw bytes. */
#include "lib/utf8.h"

size_t cw_utf8_decode(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len = *s >= 0xf8 ? 0 : *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc0 ? 2 : *s >= 0x80 ? 0 : 1;
	if (len == 0)
		return 0;
	uint32_t v = len == 1 ? *s : *s & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (cp)
		*cp = v;
	return len;
}

void cw_utf8_sanitize(struct cw_buf *out, const char *raw)
{
	const unsigned char *p = (const unsigned char *)raw;
	while (*p) {
		size_t n = cw_utf8_decode(p, NULL);
		if (n == 0 || *p == '\\') {
			cw_buf_printf(out, "\\x%02x", *p);
			p++;
			continue;
		}
		cw_buf_append(out, p, n);
		p += n;
	}
}
