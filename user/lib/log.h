/* Leveled logging in logfmt or JSON, the format node exporters use. */
#ifndef CW_LOG_H
#define CW_LOG_H

enum cw_log_level { CW_LOG_DEBUG, CW_LOG_INFO, CW_LOG_WARN, CW_LOG_ERROR };
enum cw_log_format { CW_LOG_LOGFMT, CW_LOG_JSON };

int cw_log_parse_level(const char *s, enum cw_log_level *out);
int cw_log_parse_format(const char *s, enum cw_log_format *out);
void cw_log_setup(enum cw_log_level level, enum cw_log_format format);

/* msg is a human sentence; the variadic part is key/value string pairs ending in
 * NULL, e.g. cw_log(CW_LOG_INFO, "attached", "backend", "fentry", NULL). */
void cw_log(enum cw_log_level level, const char *msg, ...) __attribute__((sentinel));

#define cw_debug(...) cw_log(CW_LOG_DEBUG, __VA_ARGS__, NULL)
#define cw_info(...) cw_log(CW_LOG_INFO, __VA_ARGS__, NULL)
#define cw_warn(...) cw_log(CW_LOG_WARN, __VA_ARGS__, NULL)
#define cw_error(...) cw_log(CW_LOG_ERROR, __VA_ARGS__, NULL)

#endif
