/* Prints the effective configuration as YAML that parses back to the same values. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "config/config.h"
#include "config/internal.h"
#include "lib/units.h"
#include "lib/utf8.h"

/* Code points above 0x7f that may stand raw in a double-quoted scalar: YAML's
 * printable set (libyaml refuses the rest on input) minus the characters
 * YAML 1.1 reads as line breaks (NEL, LS, PS: they would be folded into
 * spaces) and the byte order mark (readers may drop it). */
static bool yaml_printable(uint32_t c)
{
	if (c == 0x2028 || c == 0x2029 || c == 0xfeff)
		return false;
	return (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
	       (c >= 0x10000 && c <= 0x10ffff);
}

/* Double-quoted YAML scalar that cw_config_parse reads back to the same bytes:
 * ASCII controls and every code point outside YAML's printable set are
 * escaped. A byte that is not UTF-8 at all (only possible from --watch) has no
 * YAML spelling; it is written as \xNN, the nearest there is. */
static void put_string(FILE *f, const char *str)
{
	const unsigned char *p = (const unsigned char *)str;

	fputc('"', f);
	while (*p) {
		uint32_t cp;
		size_t len;
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\x%02x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, f);
		} else if (!(len = cw_utf8_decode(p, &cp))) {
			fprintf(f, "\\x%02x", *p++);
		} else if (!yaml_printable(cp)) {
			fprintf(f, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
			p += len;
		} else {
			fwrite(p, 1, len, f);
			p += len;
		}
	}
	fputc('"', f);
}

static void put_duration(FILE *f, const char *indent, const char *key, uint64_t ms)
{
	char buf[64];
	cw_format_duration_ms(ms, buf, sizeof(buf));
	fprintf(f, "%s%s: %s\n", indent, key, buf);
}

static void put_size(FILE *f, const char *indent, const char *key, uint64_t bytes)
{
	char buf[64];
	cw_format_size_exact(bytes, buf, sizeof(buf));
	fprintf(f, "%s%s: %s\n", indent, key, buf);
}

static void put_percent(FILE *f, const char *indent, const char *key, double pct)
{
	char buf[64];
	cw_format_percent(pct, buf, sizeof(buf));
	fprintf(f, "%s%s: %s\n", indent, key, buf);
}

static void print_purge(FILE *f, const struct cw_purge_policy *p)
{
	const char *in = "      ";

	fprintf(f, "    purge:\n");
	put_size(f, in, "max_size", p->max_size);
	put_percent(f, in, "high_watermark", p->high_watermark);
	put_percent(f, in, "low_watermark", p->low_watermark);
	put_duration(f, in, "max_age", p->max_age_ms);
	put_duration(f, in, "min_age", p->min_age_ms);
	put_percent(f, in, "min_free", p->min_free);
	fprintf(f, "%smax_files: %llu\n", in, (unsigned long long)p->max_files);
	put_duration(f, in, "interval", p->interval_ms);
	put_size(f, in, "trigger_bytes", p->trigger_bytes);
	fprintf(f, "%stimestamp: %s\n", in, cw_timestamp_name(p->timestamp));
	fprintf(f, "%sprotect: [", in);
	for (size_t i = 0; i < p->nprotect; i++) {
		fputs(i ? ", " : "", f);
		put_string(f, p->protect[i]);
	}
	fprintf(f, "]\n");
	fprintf(f, "%sdry_run: %s\n", in, p->dry_run ? "true" : "false");
	char rate[64];
	cw_format_decimal(p->rate_limit, rate, sizeof(rate));
	fprintf(f, "%srate_limit: %s\n", in, rate);
	if (!p->keep_hot.enabled) {
		fprintf(f, "%s# keep_hot: off\n", in);
		return;
	}
	char window[48];
	cw_format_duration_ms(p->keep_hot.window_ms, window, sizeof(window));
	fprintf(f, "%skeep_hot: {window: %s, min_accesses: %u, age: %s}\n", in, window, p->keep_hot.min_accesses,
		p->keep_hot.age ? "true" : "false");
}

static void print_cache(FILE *f, const struct cw_cache_config *c)
{
	fprintf(f, "  - name: ");
	put_string(f, c->name);
	fprintf(f, "\n    path: ");
	put_string(f, c->path);
	fprintf(f, "\n    group_depth: %u\n", c->group_depth);
	fprintf(f, "    max_groups: %u\n", c->max_groups);
	fprintf(f, "    wait_for_path: %s\n", c->wait_for_path ? "true" : "false");
	fprintf(f, "    track_reads: %s\n", c->track_reads ? "true" : "false");
	if (c->purge.enabled)
		print_purge(f, &c->purge);
	else
		fprintf(f, "    # report only: no purge block\n");
}

/* A file name inside a comment: only printable ASCII, so neither a newline
 * nor a character the YAML reader refuses can break the output. */
static void put_comment_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc(*p < 0x20 || *p >= 0x7f ? '?' : *p, f);
}

int cw_config_print(const struct cw_config *cfg, FILE *f)
{
	if (cfg->source) {
		fputs("# effective configuration from ", f);
		put_comment_text(f, cfg->source);
		fputs(", defaults filled in\n", f);
	}
	else if (cfg->embedded)
		fprintf(f, "# effective configuration: embedded default, defaults filled in\n");
	else
		fprintf(f, "# effective configuration, defaults filled in\n");
	put_duration(f, "", "poll_interval", cfg->poll_interval_ms);
	put_duration(f, "", "stale_ttl", cfg->stale_ttl_ms);
	fprintf(f, "bpf:\n  attach: %s\n  max_walk: %u\n  access_records: %u\n", cw_backend_name(cfg->attach),
		cfg->max_walk, cfg->access_records);
	if (!cfg->ncaches)
		fprintf(f, "caches: []\n");
	else
		fprintf(f, "caches:\n");
	for (size_t i = 0; i < cfg->ncaches; i++)
		print_cache(f, &cfg->caches[i]);
	fprintf(f, "access_state:\n  path: ");
	put_string(f, cw_access_state_path(cfg));
	fputc('\n', f);
	put_duration(f, "  ", "interval", cfg->access_state_interval_ms);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
