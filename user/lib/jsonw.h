/* Minimal streaming JSON writer with correct string escaping. */
#ifndef CW_JSONW_H
#define CW_JSONW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct jsonw;

struct jsonw *jsonw_new(FILE *f);
void jsonw_free(struct jsonw *j);
/* key is NULL inside arrays and at the top level. */
void jsonw_obj_begin(struct jsonw *j, const char *key);
void jsonw_obj_end(struct jsonw *j);
void jsonw_arr_begin(struct jsonw *j, const char *key);
void jsonw_arr_end(struct jsonw *j);
void jsonw_str(struct jsonw *j, const char *key, const char *v);
void jsonw_uint(struct jsonw *j, const char *key, uint64_t v);
void jsonw_double(struct jsonw *j, const char *key, double v);
void jsonw_bool(struct jsonw *j, const char *key, bool v);
/* Writes s as a JSON string literal of its lossless text form (cw_utf8_sanitize,
 * the same as metric labels): a byte that is not valid UTF-8 and a backslash
 * become the text \xNN (in JSON "\\xNN"), so any file name can be written
 * and two names are never the same string. */
void jsonw_escape(FILE *f, const char *s);

#endif
