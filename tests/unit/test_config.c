/* Tests of config parsing, every validation error, --watch, flags and the embedded default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "config/config.h"
#include "config/internal.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define GiB (1024ULL * 1024 * 1024)

/* A scratch tree: @/a, @/a/inner, @/b, @/file, @/link -> a. */
static char tmp[128];

static void mkdirs(const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/cw-test-config.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	mkdirs("a");
	mkdirs("a/inner");
	mkdirs("b");
	char p[PATH_MAX], t[PATH_MAX];
	snprintf(p, sizeof(p), "%s/file", tmp);
	FILE *f = fopen(p, "w");
	if (!f)
		return -1;
	fclose(f);
	snprintf(p, sizeof(p), "%s/link", tmp);
	snprintf(t, sizeof(t), "%s/a", tmp);
	return symlink(t, p);
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* Replaces every '@' in text with the scratch directory. */
static char *expand(const char *text)
{
	size_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '@' ? strlen(tmp) : 1;
	char *out = malloc(n + 1), *o = out;
	assert_non_null(out);
	for (const char *p = text; *p; p++) {
		if (*p == '@') {
			strcpy(o, tmp);
			o += strlen(tmp);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static int parse(const char *text, struct cw_config *cfg, char *err, size_t errlen)
{
	char *buf = expand(text);
	int rc = cw_config_parse("t.yml", buf, strlen(buf), cfg, err, errlen);
	free(buf);
	return rc;
}

static void assert_empty(const struct cw_config *cfg)
{
	assert_null(cfg->caches);
	assert_int_equal(cfg->ncaches, 0);
	assert_null(cfg->source);
	assert_int_equal(cfg->poll_interval_ms, 1000);
}

static const char full_yaml[] =
	"# a comment\n"
	"poll_interval: 250ms\n"
	"stale_ttl: 5m\n"
	"bpf:\n"
	"  attach: tracepoint\n"
	"  max_walk: 16\n"
	"  access_records: 1024\n"
	"caches:\n"
	"  - name: gocache\n"
	"    path: @/a/\n"
	"    group_depth: 1\n"
	"    max_groups: 256\n"
	"    track_reads: false\n"
	"    purge:\n"
	"      max_size: 5GiB\n"
	"      high_watermark: 95%\n"
	"      low_watermark: 70.5%\n"
	"      max_age: 5d\n"
	"      min_age: 1h\n"
	"      min_free: 10%\n"
	"      max_files: 100000\n"
	"      interval: 10m\n"
	"      trigger_bytes: 256MiB\n"
	"      timestamp: atime\n"
	"      protect: [\"README\", \"*.lock\", 'CACHEDIR.TAG']\n"
	"      dry_run: true\n"
	"      rate_limit: 50\n"
	"      keep_hot: {window: 3d, min_accesses: 2, age: true}\n"
	"  - path: \"@/b\"\n"
	"  - name: later\n"
	"    path: @/not-yet\n"
	"    wait_for_path: true\n";

static void check_full(const struct cw_config *cfg)
{
	assert_int_equal(cfg->poll_interval_ms, 250);
	assert_int_equal(cfg->stale_ttl_ms, 300000);
	assert_int_equal(cfg->attach, CW_BACKEND_TRACEPOINT);
	assert_int_equal(cfg->max_walk, 16);
	assert_int_equal(cfg->access_records, 1024);
	assert_int_equal(cfg->ncaches, 3);

	const struct cw_cache_config *c = &cfg->caches[0];
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/a", tmp);
	assert_string_equal(c->name, "gocache");
	assert_string_equal(c->path, want); /* trailing slash dropped */
	assert_int_equal(c->group_depth, 1);
	assert_int_equal(c->max_groups, 256);
	assert_false(c->wait_for_path);
	assert_false(c->track_reads);
	const struct cw_purge_policy *p = &c->purge;
	assert_true(p->enabled);
	assert_true(p->max_size == 5 * GiB);
	assert_true(p->high_watermark == 95.0);
	assert_true(p->low_watermark == 70.5);
	assert_true(p->max_age_ms == 5ULL * 86400000);
	assert_true(p->min_age_ms == 3600000);
	assert_true(p->min_free == 10.0);
	assert_true(p->max_files == 100000);
	assert_true(p->interval_ms == 600000);
	assert_true(p->trigger_bytes == 256ULL * 1024 * 1024);
	assert_int_equal(p->timestamp, CW_TS_ATIME);
	assert_int_equal(p->nprotect, 3);
	assert_string_equal(p->protect[0], "README");
	assert_string_equal(p->protect[1], "*.lock");
	assert_string_equal(p->protect[2], "CACHEDIR.TAG");
	assert_true(p->dry_run);
	assert_true(p->rate_limit == 50.0);
	assert_true(p->keep_hot.enabled);
	assert_true(p->keep_hot.window_ms == 3ULL * 86400000);
	assert_int_equal(p->keep_hot.min_accesses, 2);
	assert_true(p->keep_hot.age);

	/* No purge block: report only, defaults everywhere, name from the path. */
	c = &cfg->caches[1];
	assert_string_equal(c->name, "b");
	assert_int_equal(c->group_depth, 0);
	assert_int_equal(c->max_groups, 64);
	assert_true(c->track_reads); /* the default */
	assert_false(c->purge.enabled);
	assert_true(c->purge.high_watermark == 90.0);
	assert_true(c->purge.interval_ms == 300000);

	c = &cfg->caches[2];
	assert_string_equal(c->name, "later");
	assert_true(c->wait_for_path);
}

static void test_full(void **state)
{
	struct cw_config cfg;
	char err[512] = "";

	(void)state;
	if (parse(full_yaml, &cfg, err, sizeof(err)))
		fail_msg("unexpected error: %s", err);
	check_full(&cfg);
	assert_string_equal(cfg.source, "t.yml");
	assert_int_equal(cfg.caches[0].line, 9);
	assert_int_equal(cfg.caches[0].column, 5);
	assert_int_equal(cfg.caches[0].origin, CW_ORIGIN_FILE);
	cw_config_free(&cfg);
	assert_empty(&cfg);
	cw_config_free(&cfg); /* twice is harmless */
}

/* Printing the effective configuration and parsing it again gives the same. */
static void test_print_roundtrip(void **state)
{
	struct cw_config cfg, again;
	char err[512] = "", *out = NULL;
	size_t outlen = 0;

	(void)state;
	assert_int_equal(parse(full_yaml, &cfg, err, sizeof(err)), 0);
	FILE *f = open_memstream(&out, &outlen);
	assert_non_null(f);
	assert_int_equal(cw_config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(out, "max_size: 5GiB\n"));
	assert_non_null(strstr(out, "low_watermark: 70.5%\n"));
	assert_non_null(strstr(out, "# report only"));
	if (cw_config_parse("printed.yml", out, outlen, &again, err, sizeof(err)))
		fail_msg("printed config does not parse: %s\n%s", err, out);
	check_full(&again);
	free(out);
	cw_config_free(&cfg);
	cw_config_free(&again);
}

/* Strings that YAML cannot hold raw (C1 controls, the BOM, tabs, quotes)
 * are escaped by the printer and read back byte for byte. Found by the fuzzer. */
static void test_print_escapes(void **state)
{
	static const char yaml[] =
		"caches:\n"
		"  - name: \"q\\\"b\\\\s\"\n"
		"    path: \"@/x\\u009e\\u0085\\ufeff\\t\\U0001F600\\u00e9\\u2028\"\n"
		"    wait_for_path: true\n"
		"    purge:\n"
		"      max_age: 1d\n"
		"      protect: [\"\\x01\\u0080*\", \"caf\\u00e9\"]\n";
	struct cw_config cfg, again;
	char err[512] = "", *out = NULL;
	size_t outlen = 0;

	(void)state;
	if (parse(yaml, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(cfg.caches[0].name, "q\"b\\s");
	FILE *f = open_memstream(&out, &outlen);
	assert_non_null(f);
	assert_int_equal(cw_config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(out, "\\x9e\\x85\\ufeff\\x09\xf0\x9f\x98\x80\xc3\xa9"));
	if (cw_config_parse("printed.yml", out, outlen, &again, err, sizeof(err)))
		fail_msg("printed config does not parse: %s\n%s", err, out);
	assert_string_equal(again.caches[0].name, cfg.caches[0].name);
	assert_string_equal(again.caches[0].path, cfg.caches[0].path);
	assert_int_equal(again.caches[0].purge.nprotect, 2);
	assert_string_equal(again.caches[0].purge.protect[0], cfg.caches[0].purge.protect[0]);
	assert_string_equal(again.caches[0].purge.protect[1], "caf\xc3\xa9");
	free(out);
	cw_config_free(&cfg);
	cw_config_free(&again);
}

static void test_empty_documents(void **state)
{
	static const char *texts[] = { "", "# only a comment\n", "---\n", "caches:\n", "caches: []\n",
				       "~\n", "caches: ~\n" };
	(void)state;
	for (size_t i = 0; i < NELEM(texts); i++) {
		struct cw_config cfg;
		char err[512] = "";
		if (cw_config_parse("t.yml", texts[i], strlen(texts[i]), &cfg, err, sizeof(err)))
			fail_msg("\"%s\": %s", texts[i], err);
		assert_int_equal(cfg.ncaches, 0);
		assert_int_equal(cfg.poll_interval_ms, 1000);
		assert_int_equal(cfg.stale_ttl_ms, 120000);
		assert_int_equal(cfg.attach, CW_BACKEND_AUTO);
		assert_int_equal(cfg.max_walk, CW_MAX_WALK);
		cw_config_free(&cfg);
	}
}

struct err_case {
	const char *yaml;
	const char *want; /* substring of the message; '@' is the scratch dir */
};

#define CACHE(extra) "caches:\n  - name: x\n    path: @/a\n" extra
#define PURGE(extra) CACHE("    purge:\n      max_size: 1GB\n" extra)

static const struct err_case err_cases[] = {
	/* values */
	{ "poll_interval: 5x\n", "t.yml:1:16: poll_interval: \"5x\" is not a duration" },
	{ "poll_interval: 1ms\n", "t.yml:1:16: poll_interval: \"1ms\" is out of range (10ms to 1h)" },
	{ "poll_interval: 2h\n", "is out of range" },
	{ "poll_interval:\n", "t.yml:1:15: poll_interval: missing value" },
	{ "poll_interval: [1s]\n", "poll_interval: expected a value, got a list" },
	{ "stale_ttl: 8d\n", "stale_ttl: \"8d\" is out of range (0s to 7d)" },
	{ "bpf:\n  attach: ebpf\n", "t.yml:2:11: bpf.attach: \"ebpf\" is not an attach backend" },
	{ "bpf:\n  max_walk: 0\n", "bpf.max_walk: \"0\" is out of range (1 to 32)" },
	{ "bpf:\n  max_walk: 33\n", "bpf.max_walk: \"33\" is out of range" },
	{ "bpf:\n  access_records: 15\n", "bpf.access_records: \"15\" is out of range (16 to 16777216)" },
	{ "bpf:\n  access_records: 16777217\n", "bpf.access_records: \"16777217\" is out of range" },
	{ "bpf:\n  access_records: -1\n", "bpf.access_records: " },
	{ "bpf: fentry\n", "t.yml:1:6: bpf: expected a mapping of keys, got a value" },
	/* structure */
	{ "caches_: []\n", "t.yml:1:1: unknown key \"caches_\" (valid keys: poll_interval, stale_ttl, bpf, caches, access_state)" },
	{ "poll_interval: 1s\npoll_interval: 2s\n", "t.yml:2:1: poll_interval: duplicate key (first given at line 1)" },
	{ "caches: {}\n", "caches: expected a list of caches, got a mapping" },
	{ "caches:\n  - @/a\n", "t.yml:2:5: caches[0]: expected a mapping of keys, got a value" },
	{ "- a\n- b\n", "t.yml:1:1: expected a mapping of keys, got a list" },
	{ "caches: [\n", "t.yml:2:1: YAML syntax error" },
	{ "a: b\n---\nc: d\n", "t.yml:3:1: only one YAML document is allowed" },
	{ "? [a]\n: 1\n", "keys must be plain names" },
	{ "caches:\n  - name: x\n    name: y\n    path: @/a\n", "t.yml:3:5: caches[0].name: duplicate key (first given at line 2)" },
	{ CACHE("    pth: 3\n"), "t.yml:4:5: caches[0]: unknown key \"pth\"" },
	{ "caches:\n  - name: x\n", "t.yml:2:5: caches[0]: missing path" },
	{ "caches:\n  - name: \"a\\0b\"\n    path: @/a\n", "caches[0].name: contains a NUL byte" },
	/* cache values */
	{ "caches:\n  - path: relative/dir\n", "t.yml:2:11: caches[0].path: \"relative/dir\" is not an absolute path" },
	{ "caches:\n  - path: @/missing\n", "t.yml:2:5: caches[0].path: \"@/missing\" does not exist (create it, or set wait_for_path: true" },
	{ "caches:\n  - path: @/file\n", "caches[0].path: \"@/file\" is not a directory" },
	{ "caches:\n  - path: @/file\n    wait_for_path: true\n", "is not a directory" },
	{ CACHE("    group_depth: 9\n"), "t.yml:4:18: caches[0].group_depth: \"9\" is out of range (0 to 8)" },
	{ CACHE("    group_depth: -1\n"), "caches[0].group_depth: \"-1\" is not a whole number" },
	{ CACHE("    group_depth: 1.0\n"), "is not a whole number" },
	{ CACHE("    max_groups: 70000\n"), "caches[0].max_groups: \"70000\" is out of range (0 to 65536)" },
	{ CACHE("    wait_for_path: yes\n"), "caches[0].wait_for_path: \"yes\" is not a boolean (true or false)" },
	{ "caches:\n  - name: \"\"\n    path: @/a\n", "caches[0].name: \"\" is not a valid cache name (it must not be empty)" },
	{ "caches:\n  - name: \"a\\tb\"\n    path: @/a\n", "caches[0].name: \"a\\x09b\" is not a valid cache name (it may only contain printable" },
	{ "caches:\n  - name: \" x\"\n    path: @/a\n", "must not start or end with a space" },
	{ "caches:\n  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    path: @/a\n", "longer than 64 characters" },
	{ "caches:\n  - path: /\n", "caches[0].name: \"\" is not a valid cache name" },
	/* pairs */
	{ CACHE("  - name: x\n    path: @/b\n"), "t.yml:4:5: caches[1].name: duplicate cache name \"x\" (also used by caches[0] at line 2)" },
	{ CACHE("  - name: y\n    path: @/a/\n"), "caches[1].path: \"@/a\" is the same directory as caches[0]" },
	{ CACHE("  - name: y\n    path: @/link\n"), "caches[1].path: \"@/link\" is the same directory as caches[0]" },
	{ CACHE("  - name: y\n    path: @/a/inner\n"), "caches[1].path: \"@/a/inner\" and caches[0] at line 2 are nested" },
	{ CACHE("  - name: y\n    path: @\n"), "are nested" },
	{ CACHE("  - name: y\n    path: @/link/new\n    wait_for_path: true\n"), "are nested" },
	{ CACHE("  - name: y\n    path: @/b/../a/x\n    wait_for_path: true\n"), "are nested" },
	/* purge */
	{ PURGE("      max_size: 5GG\n"), "duplicate key" },
	{ CACHE("    purge:\n      max_size: 5GG\n"), "t.yml:5:17: caches[0].purge.max_size: \"5GG\" is not a size (a number, fractions allowed, with an optional unit: B; K, M, G, T, P" },
	{ CACHE("    purge:\n      max_size: -5GiB\n"), "\"-5GiB\" is not a size" },
	{ CACHE("    purge:\n      max_size: 99999999PiB\n"), "is not a size" },
	{ PURGE("      high_watermark: 101%\n"), "caches[0].purge.high_watermark: \"101%\" is not a percentage" },
	{ PURGE("      high_watermark: 0.9\n"), "\"0.9\" is not a percentage between 0% and 100% (e.g. 90%)" },
	{ PURGE("      low_watermark: 90%\n"), "t.yml:6:22: caches[0].purge.low_watermark: low_watermark (90%) must be below high_watermark (90%)" },
	{ PURGE("      high_watermark: 50%\n"), "caches[0].purge.high_watermark: low_watermark (80%) must be below high_watermark (50%)" },
	{ PURGE("      interval: 500ms\n"), "caches[0].purge.interval: \"500ms\" is out of range (1s to" },
	{ PURGE("      timestamp: ctime\n"), "\"ctime\" is not a timestamp (atime, mtime, max or access)" },
	{ PURGE("      protect: README\n"), "caches[0].purge.protect: expected a list of patterns, got a value" },
	{ PURGE("      protect: [a, {b: c}]\n"), "caches[0].purge.protect[1]: expected a file name pattern, got a mapping" },
	{ PURGE("      protect: [a, \"\"]\n"), "caches[0].purge.protect[1]: empty pattern" },
	{ PURGE("      rate_limit: 0\n"), "\"0\" is not a rate" },
	{ PURGE("      rate_limit: -1\n"), "\"-1\" is not a rate" },
	{ PURGE("      rate_limit: 1e3\n"), "\"1e3\" is not a rate" },
	{ PURGE("      rate_limit: 2000000\n"), "is not a rate" },
	{ PURGE("      rate_limit: 0.0000001\n"), "is not a rate" },
	{ PURGE("      dry_run: maybe\n"), "\"maybe\" is not a boolean" },
	{ PURGE("      keep_hot: {window: 7d, min_accesses: 5}\n"),
	  "t.yml:6:44: caches[0].purge.keep_hot.min_accesses: \"5\" is out of range (1 to 4)" },
	{ PURGE("      keep_hot: {min_accesses: 0}\n"), "caches[0].purge.keep_hot.min_accesses: \"0\" is out of range (1 to 4)" },
	{ PURGE("      keep_hot: {window: 0}\n"), "caches[0].purge.keep_hot.window: \"0\" is out of range (1s to" },
	{ PURGE("      keep_hot: {windw: 7d}\n"), "caches[0].purge.keep_hot: unknown key \"windw\" (valid keys: window, min_accesses, age)" },
	{ PURGE("      keep_hot: 3\n"), "caches[0].purge.keep_hot: expected a mapping of keys, got a value" },
	{ "access_state: {path: rel/x}\n", "t.yml:1:22: access_state.path: \"rel/x\" is not an absolute path" },
	{ "access_state: {interval: 0}\n", "access_state.interval: \"0\" is out of range (1s to 1d)" },
	{ PURGE("      max_sise: 1GB\n"), "t.yml:6:7: caches[0].purge: unknown key \"max_sise\" (valid keys: max_size," },
	{ CACHE("    purge:\n      dry_run: true\n"), "caches[0].purge: a purge block needs at least one limit" },
	{ CACHE("    purge: {}\n"), "a purge block needs at least one limit" },
	{ CACHE("    purge: 5GiB\n"), "caches[0].purge: expected a mapping of keys, got a value" },
	{ "caches:\n  - path: @/link\n    purge: {max_size: 1GB}\n", "caches[0].path: \"@/link\" is a symbolic link; purge roots must be the real directory (@/a)" },
	/* dangerous purge roots */
	{ "caches:\n  - name: r\n    path: /\n    purge: {max_size: 1GB}\n", "caches[0].path: \"/\" is a system directory and cannot be purged" },
	{ "caches:\n  - path: /var/cache\n    purge: {max_size: 1GB}\n", "\"/var/cache\" is a system directory" },
	{ "caches:\n  - path: /var/cache/\n    purge: {max_size: 1GB}\n", "\"/var/cache\" is a system directory" },
	{ "caches:\n  - path: /var/./cache\n    purge: {max_size: 1GB}\n", "\"/var/cache\" is a system directory" },
	{ "caches:\n  - path: //usr\n    purge: {max_size: 1GB}\n", "\"/usr\" is a system directory" },
	{ "caches:\n  - path: /home\n    purge: {max_size: 1GB}\n", "is a system directory" },
	{ "caches:\n  - path: /tmp\n    purge: {max_size: 1GB}\n", "is a system directory" },
	{ "caches:\n  - path: /root\n    purge: {max_size: 1GB}\n", "is a system directory" },
	{ "caches:\n  - path: /etc\n    purge: {max_age: 1d}\n", "is a system directory" },
	{ "caches:\n  - path: /var/lib\n    purge: {max_files: 10}\n", "is a system directory" },
	{ "caches:\n  - path: /home/nobody-cw-test\n    wait_for_path: true\n    purge: {max_size: 1GB}\n", "\"/home/nobody-cw-test\" is a user's home directory" },
	/* limits */
	{ "caches:\n"
	  "  - {name: c00, path: @/a}\n  - {name: c01, path: @/a}\n  - {name: c02, path: @/a}\n  - {name: c03, path: @/a}\n"
	  "  - {name: c04, path: @/a}\n  - {name: c05, path: @/a}\n  - {name: c06, path: @/a}\n  - {name: c07, path: @/a}\n"
	  "  - {name: c08, path: @/a}\n  - {name: c09, path: @/a}\n  - {name: c10, path: @/a}\n  - {name: c11, path: @/a}\n"
	  "  - {name: c12, path: @/a}\n  - {name: c13, path: @/a}\n  - {name: c14, path: @/a}\n  - {name: c15, path: @/a}\n"
	  "  - {name: c16, path: @/a}\n  - {name: c17, path: @/a}\n  - {name: c18, path: @/a}\n  - {name: c19, path: @/a}\n"
	  "  - {name: c20, path: @/a}\n  - {name: c21, path: @/a}\n  - {name: c22, path: @/a}\n  - {name: c23, path: @/a}\n"
	  "  - {name: c24, path: @/a}\n  - {name: c25, path: @/a}\n  - {name: c26, path: @/a}\n  - {name: c27, path: @/a}\n"
	  "  - {name: c28, path: @/a}\n  - {name: c29, path: @/a}\n  - {name: c30, path: @/a}\n  - {name: c31, path: @/a}\n"
	  "  - {name: c32, path: @/a}\n  - {name: c33, path: @/a}\n  - {name: c34, path: @/a}\n  - {name: c35, path: @/a}\n"
	  "  - {name: c36, path: @/a}\n  - {name: c37, path: @/a}\n  - {name: c38, path: @/a}\n  - {name: c39, path: @/a}\n"
	  "  - {name: c40, path: @/a}\n  - {name: c41, path: @/a}\n  - {name: c42, path: @/a}\n  - {name: c43, path: @/a}\n"
	  "  - {name: c44, path: @/a}\n  - {name: c45, path: @/a}\n  - {name: c46, path: @/a}\n  - {name: c47, path: @/a}\n"
	  "  - {name: c48, path: @/a}\n  - {name: c49, path: @/a}\n  - {name: c50, path: @/a}\n  - {name: c51, path: @/a}\n"
	  "  - {name: c52, path: @/a}\n  - {name: c53, path: @/a}\n  - {name: c54, path: @/a}\n  - {name: c55, path: @/a}\n"
	  "  - {name: c56, path: @/a}\n  - {name: c57, path: @/a}\n  - {name: c58, path: @/a}\n  - {name: c59, path: @/a}\n"
	  "  - {name: c60, path: @/a}\n  - {name: c61, path: @/a}\n  - {name: c62, path: @/a}\n  - {name: c63, path: @/a}\n"
	  "  - {name: c64, path: @/a}\n",
	  "t.yml:2:3: caches: 65 caches, at most 64 are supported" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(err_cases); i++) {
		struct cw_config cfg;
		char err[1024] = "";
		int rc = parse(err_cases[i].yaml, &cfg, err, sizeof(err));
		char *want = expand(err_cases[i].want);
		if (rc != -1 || !strstr(err, want))
			fail_msg("case %zu: rc=%d\n  got:  %s\n  want: %s", i, rc, err, want);
		free(want);
		assert_empty(&cfg); /* nothing half filled */
		cw_config_free(&cfg);
	}
}

static void test_valid_edge_cases(void **state)
{
	static const char *texts[] = {
		/* dangerous directories are fine to watch without purging */
		"caches:\n  - path: /tmp\n  - path: /var/cache/apt\n    wait_for_path: true\n",
		/* subdirectories of dangerous ones are fine to purge */
		"caches:\n  - path: /var/cache/cw-test-apt/archives\n    wait_for_path: true\n    purge: {max_size: 1GB}\n",
		/* siblings with a common prefix are not nested */
		"caches:\n  - {name: x, path: @/a}\n  - {name: y, path: @/ab, wait_for_path: true}\n",
		"caches:\n  - path: @/a\n    group_depth: 8\n    max_groups: 0\n",
		"caches:\n  - path: @/a\n    purge:\n      max_age: 7d\n      low_watermark: 0%\n      high_watermark: 100%\n",
		"caches:\n  - path: @/a\n    purge:\n      min_free: 5%\n      rate_limit: 0.5\n",
		"caches:\n  - path: @/a\n    wait_for_path: True\n    purge: {max_files: 1}\n",
		"caches:\n  - path: @/a\n    purge: {max_size: \"1.5 GiB\"}\n",
		"poll_interval: 10ms\nstale_ttl: 0\nbpf: {attach: fentry, max_walk: 1}\n",
		/* anchors and aliases are plain YAML: allowed */
		"caches:\n  - path: @/a\n    purge: &p {max_size: 1GB}\n  - path: @/b\n    purge: *p\n",
	};
	(void)state;
	for (size_t i = 0; i < NELEM(texts); i++) {
		struct cw_config cfg;
		char err[1024] = "";
		if (parse(texts[i], &cfg, err, sizeof(err)))
			fail_msg("case %zu: %s", i, err);
		cw_config_free(&cfg);
	}
}

/* Aliases can make a node contain itself; the parser must not loop on it. */
static void test_recursive_alias(void **state)
{
	static const char *texts[] = {
		"caches: &a [*a]\n",
		"caches:\n  - &a {name: x, path: @/a, purge: *a}\n",
		"bpf: &b {attach: *b}\n",
	};
	(void)state;
	for (size_t i = 0; i < NELEM(texts); i++) {
		struct cw_config cfg;
		char err[1024] = "";
		assert_int_equal(parse(texts[i], &cfg, err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
}

static void test_load(void **state)
{
	char path[PATH_MAX], err[1024] = "";
	struct cw_config cfg;

	(void)state;
	snprintf(path, sizeof(path), "%s/c.yml", tmp);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	char *text = expand(full_yaml);
	fputs(text, f);
	free(text);
	fclose(f);
	if (cw_config_load(path, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	check_full(&cfg);
	assert_string_equal(cfg.source, path);
	cw_config_free(&cfg);

	snprintf(path, sizeof(path), "%s/missing.yml", tmp);
	assert_int_equal(cw_config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing.yml: cannot open config file: No such file or directory"));
	assert_empty(&cfg);

	assert_int_equal(cw_config_load(tmp, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open config file: not a regular file"));
	assert_empty(&cfg);
	/* a FIFO nobody writes to is refused at once instead of blocking forever
	 * (the alarm kills the test if it blocks) */
	snprintf(path, sizeof(path), "%s/fifo.yml", tmp);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	assert_int_equal(cw_config_load(path, &cfg, err, sizeof(err)), -1);
	alarm(0);
	assert_non_null(strstr(err, "fifo.yml: cannot open config file: not a regular file"));
	unlink(path);
	/* err may be NULL: callers that only want the verdict */
	assert_int_equal(cw_config_load(tmp, &cfg, NULL, 0), -1);
}

/* 100,000 nested flow sequences: refused by the depth cap with line:column
 * (libyaml's loader alone took minutes, quadratic in the depth). */
static void test_too_deep(void **state)
{
	enum { LEVELS = 100000 };
	char *buf = malloc(2 * LEVELS + 16), err[256];
	struct cw_config cfg;

	(void)state;
	assert_non_null(buf);
	size_t n = (size_t)sprintf(buf, "caches: ");
	memset(buf + n, '[', LEVELS);
	memset(buf + n + LEVELS, ']', LEVELS);
	n += 2 * LEVELS;
	buf[n++] = '\n';
	assert_int_equal(cw_config_parse("deep.yml", buf, n, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "deep.yml:1:72: nested deeper than 64 levels");
	/* 64 levels are within the cap: the schema, not the cap, refuses them */
	n = (size_t)sprintf(buf, "caches: ");
	memset(buf + n, '[', 63);
	memset(buf + n + 63, ']', 63);
	n += 126;
	assert_int_equal(cw_config_parse("ok.yml", buf, n, &cfg, err, sizeof(err)), -1);
	assert_null(strstr(err, "nested deeper"));
	free(buf);
}

/* The poll interval has one range, checked by one function with one message,
 * whether it comes from the file, a flag or a struct filled in by code. */
static void test_one_range(void **state)
{
	struct cw_config cfg;
	char err[256];

	(void)state;
	cw_config_defaults(&cfg);
	cfg.poll_interval_ms = 5;
	assert_int_equal(cw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "configuration: poll_interval: 5ms is out of range (10ms to 1h)");
	cfg.poll_interval_ms = 1000;
	cfg.stale_ttl_ms = 8ULL * 24 * 3600 * 1000;
	assert_int_equal(cw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "configuration: stale_ttl: 8d is out of range (0s to 7d)");
	enum cw_timestamp ts;
	assert_int_equal(cw_timestamp_parse("atime", &ts), 0);
	assert_int_equal(ts, CW_TS_ATIME);
	assert_int_equal(cw_timestamp_parse("mtime", &ts), 0);
	assert_int_equal(ts, CW_TS_MTIME);
	assert_int_equal(cw_timestamp_parse("max", &ts), 0);
	assert_int_equal(ts, CW_TS_MAX);
	assert_int_equal(cw_timestamp_parse("ctime", &ts), -1);
}

static void test_too_large(void **state)
{
	size_t len = (1 << 20) + 1;
	char *buf = malloc(len), err[256];
	struct cw_config cfg;

	(void)state;
	assert_non_null(buf);
	memset(buf, '#', len);
	assert_int_equal(cw_config_parse("big.yml", buf, len, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
	free(buf);
}

static void test_add_watch(void **state)
{
	struct cw_config cfg;
	char err[1024] = "", spec[PATH_MAX + 16], want[PATH_MAX];

	(void)state;
	cw_config_defaults(&cfg);
	snprintf(spec, sizeof(spec), "%s/a/", tmp);
	assert_int_equal(cw_config_add_watch(&cfg, spec, 2, err, sizeof(err)), 0);
	snprintf(spec, sizeof(spec), "other=%s/b", tmp);
	assert_int_equal(cw_config_add_watch(&cfg, spec, 0, err, sizeof(err)), 0);
	assert_int_equal(cfg.ncaches, 2);
	snprintf(want, sizeof(want), "%s/a", tmp);
	assert_string_equal(cfg.caches[0].name, "a");
	assert_string_equal(cfg.caches[0].path, want);
	assert_int_equal(cfg.caches[0].group_depth, 2);
	assert_int_equal(cfg.caches[0].origin, CW_ORIGIN_FLAG);
	assert_false(cfg.caches[0].purge.enabled);
	assert_string_equal(cfg.caches[1].name, "other");
	assert_int_equal(cw_config_validate(&cfg, err, sizeof(err)), 0);

	/* A directory whose name holds '=' works when it starts with '/'. */
	assert_int_equal(cw_config_add_watch(&cfg, "/x=y/z", 0, err, sizeof(err)), 0);
	assert_string_equal(cfg.caches[2].name, "z");
	assert_string_equal(cfg.caches[2].path, "/x=y/z");
	assert_int_equal(cw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--watch z=/x=y/z: path: \"/x=y/z\" does not exist"));
	assert_null(strstr(err, "wait_for_path")); /* no such knob for flags */

	static const struct {
		const char *spec;
		unsigned depth;
		const char *want;
	} bad[] = {
		{ "", 0, "--watch: empty value" },
		{ "relative", 0, "--watch \"relative\": the directory must be an absolute path" },
		{ "name=rel/dir", 0, "must be an absolute path" },
		{ "=/tmp", 0, "not a valid cache name (it must not be empty); use NAME=DIR" },
		{ "/", 0, "not a valid cache name" },
		{ "/tmp", 9, "--group-depth: 9 is out of range (0 to 8)" },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		size_t before = cfg.ncaches;
		assert_int_equal(cw_config_add_watch(&cfg, bad[i].spec, bad[i].depth, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].spec, err, bad[i].want);
		assert_int_equal(cfg.ncaches, before); /* nothing appended */
	}
	cw_config_free(&cfg);
}

static void test_resolve(void **state)
{
	char file[PATH_MAX], w1[PATH_MAX + 8], w2[PATH_MAX + 8], err[1024] = "";
	struct cw_config cfg;

	(void)state;
	snprintf(file, sizeof(file), "%s/r.yml", tmp);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	char *text = expand("poll_interval: 2s\nstale_ttl: 1m\nbpf: {attach: kprobe}\n"
			    "caches:\n  - {name: a, path: @/a}\n");
	fputs(text, f);
	free(text);
	fclose(f);

	/* The file over the defaults. */
	struct cw_config_flags fl = { .config_file = file };
	assert_int_equal(cw_config_resolve(&fl, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.poll_interval_ms, 2000);
	assert_int_equal(cfg.stale_ttl_ms, 60000);
	assert_int_equal(cfg.attach, CW_BACKEND_KPROBE);
	assert_int_equal(cfg.ncaches, 1);
	assert_false(cfg.embedded);
	cw_config_free(&cfg);

	/* Flags over the file; --watch beside it. */
	snprintf(w1, sizeof(w1), "bee=%s/b", tmp);
	const char *watch[] = { w1 };
	fl = (struct cw_config_flags){ .config_file = file, .watch = watch, .nwatch = 1,
				       .group_depth = "3", .poll_interval = "500ms",
				       .stale_ttl = "0", .bpf_attach = "tracepoint" };
	if (cw_config_resolve(&fl, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg.poll_interval_ms, 500);
	assert_int_equal(cfg.stale_ttl_ms, 0);
	assert_int_equal(cfg.attach, CW_BACKEND_TRACEPOINT);
	assert_int_equal(cfg.ncaches, 2);
	assert_string_equal(cfg.caches[1].name, "bee");
	assert_int_equal(cfg.caches[1].group_depth, 3);
	assert_int_equal(cfg.caches[0].group_depth, 0); /* file caches keep theirs */
	cw_config_free(&cfg);

	/* --watch alone: no file, no embedded default. */
	fl = (struct cw_config_flags){ .watch = watch, .nwatch = 1 };
	assert_int_equal(cw_config_resolve(&fl, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ncaches, 1);
	assert_false(cfg.embedded);
	assert_null(cfg.source);
	cw_config_free(&cfg);

	/* Cross checks span the file and the flags. */
	snprintf(w2, sizeof(w2), "%s/a/inner", tmp);
	const char *nested[] = { w2 };
	fl = (struct cw_config_flags){ .config_file = file, .watch = nested, .nwatch = 1 };
	assert_int_equal(cw_config_resolve(&fl, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--watch inner="));
	assert_non_null(strstr(err, "are nested"));
	assert_empty(&cfg);

	const struct {
		struct cw_config_flags fl;
		const char *want;
	} bad[] = {
		{ { .poll_interval = "fast", .watch = watch, .nwatch = 1 }, "--poll.interval: \"fast\" is not a duration" },
		{ { .poll_interval = "1ms", .watch = watch, .nwatch = 1 }, "--poll.interval: \"1ms\" is out of range (10ms to 1h)" },
		{ { .stale_ttl = "1y", .watch = watch, .nwatch = 1 }, "--metrics.stale-ttl: \"1y\" is not a duration" },
		{ { .bpf_attach = "lsm", .watch = watch, .nwatch = 1 }, "--bpf.attach: \"lsm\" is not an attach backend" },
		{ { .group_depth = "9", .watch = watch, .nwatch = 1 }, "--group-depth: \"9\" is not a depth from 0 to 8" },
		{ { .group_depth = "", .watch = watch, .nwatch = 1 }, "--group-depth: \"\" is not a depth" },
		{ { .config_file = "/nonexistent/cw.yml" }, "/nonexistent/cw.yml: cannot open config file" },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		assert_int_equal(cw_config_resolve(&bad[i].fl, &cfg, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].want);
		assert_empty(&cfg);
	}
}

static void make_tree(const char *root, const char *const *dirs, size_t n)
{
	char cmd[PATH_MAX * 2];
	for (size_t i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, dirs[i]);
		assert_int_equal(system(cmd), 0);
	}
}

static const struct cw_cache_config *find(const struct cw_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ncaches; i++)
		if (!strcmp(cfg->caches[i].name, name))
			return &cfg->caches[i];
	return NULL;
}

static void test_default_env(void **state)
{
	char root[256], home[PATH_MAX], gocache[PATH_MAX], err[1024] = "", want[PATH_MAX];
	struct cw_config cfg;

	(void)state;
	snprintf(root, sizeof(root), "%s/fakeroot", tmp);
	static const char *const dirs[] = {
		"root/.cache/go-build/00", "root/.cache/pip", "root/.npm/_cacache",
		"home/alice/.cache/go-build", "home/alice/.cache/yarn",
		"home/bob/.ccache", "home/bob/.cache/ccache",
		"home/bad name/.cache/pip",
		"var/cache/apt/archives/partial",
		"elsewhere/gocache",
	};
	make_tree(root, dirs, NELEM(dirs));

	/* Nothing there yet but an empty root: valid, zero caches. */
	char empty[256];
	snprintf(empty, sizeof(empty), "%s/emptyroot", tmp);
	make_tree(empty, (const char *const[]){ "x" }, 1);
	struct cw_default_env env = { .prefix = empty };
	assert_int_equal(cw_config_default_env(&env, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ncaches, 0);
	assert_true(cfg.embedded);
	cw_config_free(&cfg);

	/* $HOME is /root itself (de-duplicated); $GOCACHE points elsewhere. */
	snprintf(home, sizeof(home), "%s/root", root);
	snprintf(gocache, sizeof(gocache), "%s/elsewhere/gocache", root);
	env = (struct cw_default_env){ .prefix = root, .home = home, .gocache = gocache };
	if (cw_config_default_env(&env, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(cfg.embedded);
	static const struct {
		const char *name, *rel;
		unsigned depth;
	} want_caches[] = {
		{ "gocache", "elsewhere/gocache", 0 }, /* hash fan-out: one series */
		{ "gocache-2", "root/.cache/go-build", 0 },
		{ "pip", "root/.cache/pip", 1 },
		{ "npm", "root/.npm/_cacache", 1 },
		{ "gocache-alice", "home/alice/.cache/go-build", 0 },
		{ "yarn-alice", "home/alice/.cache/yarn", 1 },
		{ "pip-bad_name", "home/bad name/.cache/pip", 1 },
		{ "ccache-bob", "home/bob/.cache/ccache", 0 },
		{ "ccache-bob-2", "home/bob/.ccache", 0 },
		{ "apt-archives", "var/cache/apt/archives", 0 },
	};
	for (size_t i = 0; i < NELEM(want_caches); i++) {
		const struct cw_cache_config *c = find(&cfg, want_caches[i].name);
		if (!c)
			fail_msg("no cache %s", want_caches[i].name);
		snprintf(want, sizeof(want), "%s/%s", root, want_caches[i].rel);
		assert_string_equal(c->path, want);
		assert_int_equal(c->group_depth, want_caches[i].depth);
		assert_false(c->purge.enabled);
		assert_int_equal(c->origin, CW_ORIGIN_DEFAULT);
	}
	assert_int_equal(cfg.ncaches, NELEM(want_caches));
	assert_string_equal(cfg.caches[0].name, "gocache"); /* the agent's $GOCACHE first */
	cw_config_free(&cfg);

	/* $GOCACHE around other candidates: those nested in it are dropped. */
	snprintf(gocache, sizeof(gocache), "%s/root/.cache", root);
	env.gocache = gocache;
	assert_int_equal(cw_config_default_env(&env, &cfg, err, sizeof(err)), 0);
	assert_non_null(find(&cfg, "gocache"));
	assert_null(find(&cfg, "pip"));
	assert_null(find(&cfg, "gocache-2"));
	assert_non_null(find(&cfg, "npm"));
	assert_int_equal(cw_config_validate(&cfg, err, sizeof(err)), 0);
	cw_config_free(&cfg);
}

static void test_path_helpers(void **state)
{
	static const struct {
		const char *in, *out;
	} clean[] = {
		{ "/", "/" }, { "//", "/" }, { "/a/", "/a" }, { "/a//b/./c/", "/a/b/c" },
		{ "/a/../b", "/a/../b" }, { "a/b", "a/b" }, { "/./", "/" }, { "", "" },
	};
	char canon[PATH_MAX], want[PATH_MAX + 64];

	(void)state;
	for (size_t i = 0; i < NELEM(clean); i++) {
		char *c = cw_path_clean(clean[i].in);
		assert_string_equal(c, clean[i].out);
		free(c);
	}
	assert_true(cw_path_overlaps("/a", "/a"));
	assert_true(cw_path_overlaps("/a", "/a/b"));
	assert_true(cw_path_overlaps("/a/b", "/a"));
	assert_true(cw_path_overlaps("/", "/x"));
	assert_false(cw_path_overlaps("/a", "/ab"));
	assert_false(cw_path_overlaps("/a/b", "/a/c"));

	char in[PATH_MAX];
	snprintf(in, sizeof(in), "%s/link/inner", tmp);
	assert_int_equal(cw_path_canonical(in, canon), 0);
	snprintf(want, sizeof(want), "%s/a/inner", tmp);
	char real[PATH_MAX];
	assert_non_null(realpath(want, real));
	assert_string_equal(canon, real);
	/* Missing tails are appended lexically after the resolved prefix. */
	snprintf(in, sizeof(in), "%s/link/not/yet/../there", tmp);
	assert_int_equal(cw_path_canonical(in, canon), 0);
	assert_non_null(realpath(tmp, real));
	snprintf(want, sizeof(want), "%s/a/not/there", real);
	assert_string_equal(canon, want);
	assert_int_equal(cw_path_canonical("relative", canon), -1);

	char why[160];
	assert_null(cw_path_danger("/var/cache/apt/archives", "/var/cache/apt/archives", why, sizeof(why)));
	assert_non_null(cw_path_danger("/home/alice", "/home/alice", why, sizeof(why)));
	assert_null(cw_path_danger("/home/alice/.cache/go-build", "/home/alice/.cache/go-build", why, sizeof(why)));
	assert_non_null(cw_path_danger("/srv", "/srv", why, sizeof(why)));
	/* A symlink to a dangerous place is caught through its canonical form. */
	assert_non_null(cw_path_danger("/data/cache", "/usr", why, sizeof(why)));

	assert_null(cw_name_problem("gocache"));
	assert_non_null(cw_name_problem("é"));
	assert_non_null(cw_name_problem("a\nb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_print_roundtrip),
		cmocka_unit_test(test_print_escapes),
		cmocka_unit_test(test_empty_documents),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_valid_edge_cases),
		cmocka_unit_test(test_recursive_alias),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_one_range),
		cmocka_unit_test(test_add_watch),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_default_env),
		cmocka_unit_test(test_path_helpers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
