/* Leveled logging to stderr as logfmt or JSON lines. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include "lib/log.h"

static enum cw_log_level min_level = CW_LOG_INFO;
static enum cw_log_format fmt = CW_LOG_LOGFMT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = { "debug", "info", "warn", "error" };

int cw_log_parse_level(const char *s, enum cw_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum cw_log_level)i;
			return 0;
		}
	}
	return -1;
}

int cw_log_parse_format(const char *s, enum cw_log_format *out)
{
	if (!strcmp(s, "logfmt"))
		*out = CW_LOG_LOGFMT;
	else if (!strcmp(s, "json"))
		*out = CW_LOG_JSON;
	else
		return -1;
	return 0;
}

void cw_log_setup(enum cw_log_level level, enum cw_log_format format)
{
	min_level = level;
	fmt = format;
}

/* Quotes a value when logfmt needs it; escapes for JSON always. Control bytes
 * become \u00XX / \xXX so file names with newlines cannot forge log lines. */
static void put_value(FILE *f, const char *v, int json)
{
	int quote = json || !*v || strpbrk(v, " =\"\\") != NULL;
	for (const unsigned char *p = (const unsigned char *)v; *p && !quote; p++)
		quote = *p < 0x20 || *p == 0x7f;
	if (quote)
		fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f || (json && *p >= 0x80))
			fprintf(f, json ? "\\u%04x" : "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	if (quote)
		fputc('"', f);
}

static void put_pair(FILE *f, const char *k, const char *v, int first)
{
	if (fmt == CW_LOG_JSON) {
		fprintf(f, "%s\"%s\":", first ? "" : ",", k);
		put_value(f, v, 1);
	} else {
		fprintf(f, "%s%s=", first ? "" : " ", k);
		put_value(f, v, 0);
	}
}

void cw_log(enum cw_log_level level, const char *msg, ...)
{
	if (level < min_level)
		return;
	char ts[40];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);

	pthread_mutex_lock(&lock);
	if (fmt == CW_LOG_JSON)
		fputc('{', stderr);
	put_pair(stderr, "ts", ts, 1);
	put_pair(stderr, "level", level_names[level], 0);
	put_pair(stderr, "msg", msg, 0);
	va_list ap;
	va_start(ap, msg);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		put_pair(stderr, k, v ? v : "", 0);
	}
	va_end(ap);
	fputs(fmt == CW_LOG_JSON ? "}\n" : "\n", stderr);
	pthread_mutex_unlock(&lock);
}
