/* Tests of the web config: YAML errors, bcrypt checks and the auth cache, TLS files and versions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <crypt.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "http/webconfig.h"

static char tmp[64];
static char hash_secret[128]; /* bcrypt of "s3cret", made here with libcrypt */

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/cw-test-webconfig.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	if (!crypt_gensalt_rn("$2b$", 5, NULL, 0, salt, sizeof(salt)))
		return -1;
	const char *h = crypt_r("s3cret", salt, &cd);
	if (!h || h[0] != '$')
		return -1;
	snprintf(hash_secret, sizeof(hash_secret), "%s", h);
	/* A self-signed pair, a second key that does not match it, and a broken file. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout key.pem -out cert.pem -days 2 -subj /CN=localhost >/dev/null 2>&1 && "
		 "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.pem >/dev/null 2>&1 && "
		 "echo garbage > bad.pem",
		 tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static int parse(const char *yaml, struct cw_webconfig **w, char *err, size_t errlen)
{
	char src[128];
	snprintf(src, sizeof(src), "%s/web.yml", tmp);
	return cw_webconfig_parse(yaml, strlen(yaml), src, w, err, errlen);
}

static void expect_error(const char *yaml, const char *part)
{
	struct cw_webconfig *w = NULL;
	char err[512] = "";
	if (parse(yaml, &w, err, sizeof(err)) == 0) {
		cw_webconfig_free(w);
		fail_msg("accepted: %s", yaml);
	}
	if (!strstr(err, part))
		fail_msg("error \"%s\" does not mention \"%s\"", err, part);
}

static void test_empty_is_plain(void **state)
{
	(void)state;
	struct cw_webconfig *w;
	char err[256];
	assert_int_equal(parse("", &w, err, sizeof(err)), 0);
	assert_false(cw_webconfig_has_auth(w));
	assert_null(cw_webconfig_cert_pem(w));
	assert_null(cw_webconfig_tls_priorities(w));
	assert_true(cw_webconfig_authenticate(w, NULL, NULL)); /* no users: no auth */
	cw_webconfig_free(w);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("foo: 1\n", "unknown key foo");
	expect_error("tls_server_config: [1]\n", "must be a mapping");
	expect_error("basic_auth_users:\n  alice: notahash\n", "alice: not a bcrypt hash");
	char deep[256] = "basic_auth_users: ";
	memset(deep + strlen(deep), '{', 100);
	expect_error(deep, "web.yml:1:82: nested deeper than 64 levels");
	expect_error("basic_auth_users:\n  alice: $1$abc$def\n", "not a bcrypt hash");
	expect_error("tls_server_config:\n  cert_file: cert.pem\n", "needs both cert_file and key_file");
	expect_error("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS14\n",
		     "min_version: what is 'TLS14'?");
	expect_error("tls_server_config:\n  client_ca_file: ca.pem\n", "client_ca_file is not supported");
	expect_error("tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n",
		     "client certificates are not supported");
	expect_error("http_server_config:\n  headers: {X: y}\n", "headers is not supported");
	expect_error("a: [unclosed\n", "YAML");
	expect_error("tls_server_config:\n  cert_file: nope.pem\n  key_file: key.pem\n", "cannot read");
	expect_error("tls_server_config:\n  cert_file: bad.pem\n  key_file: key.pem\n", "TLS certificate");
	expect_error("tls_server_config:\n  cert_file: cert.pem\n  key_file: other.pem\n", "TLS certificate");
	expect_error("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
		     "  min_version: TLS13\n  max_version: TLS12\n",
		     "above max_version");
}

static void test_error_has_line(void **state)
{
	(void)state;
	expect_error("basic_auth_users:\n  alice: x\n", "web.yml:2:");
}

static void test_duplicate_user(void **state)
{
	(void)state;
	char yaml[512];
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  bob: %s\n  bob: %s\n", hash_secret, hash_secret);
	expect_error(yaml, "bob is listed twice");
}

static void test_bcrypt_verify(void **state)
{
	(void)state;
	assert_true(cw_bcrypt_verify("s3cret", hash_secret));
	assert_false(cw_bcrypt_verify("s3cre", hash_secret));
	assert_false(cw_bcrypt_verify("s3cret!", hash_secret));
	assert_false(cw_bcrypt_verify("s3cret", "$2b$05$short"));
	/* $2y$ (htpasswd's) is accepted too: same hash, other prefix */
	char y[128];
	snprintf(y, sizeof(y), "%s", hash_secret);
	y[2] = 'y';
	assert_true(cw_bcrypt_verify("s3cret", y));
}

static void test_authenticate(void **state)
{
	(void)state;
	char yaml[512], err[256];
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n  'bob': \"%s\"\n", hash_secret, hash_secret);
	struct cw_webconfig *w;
	assert_int_equal(parse(yaml, &w, err, sizeof(err)), 0);
	assert_true(cw_webconfig_has_auth(w));
	assert_true(cw_webconfig_authenticate(w, "alice", "s3cret"));
	assert_true(cw_webconfig_authenticate(w, "alice", "s3cret")); /* from the cache now */
	assert_true(cw_webconfig_authenticate(w, "bob", "s3cret"));
	assert_false(cw_webconfig_authenticate(w, "alice", "wrong"));
	assert_false(cw_webconfig_authenticate(w, "carol", "s3cret")); /* unknown user */
	assert_false(cw_webconfig_authenticate(w, "alice", ""));
	assert_false(cw_webconfig_authenticate(w, NULL, "s3cret"));
	/* user/password split must not matter for the cache: "alices"+"3cret" is not "alice"+"s3cret" */
	assert_false(cw_webconfig_authenticate(w, "alices", "3cret"));
	cw_webconfig_free(w);
}

/* crypt_r as the library sees it: the executable's definition comes first, so
 * the tests see which hash each check really ran bcrypt on. */
static char last_setting[128];
char *crypt_r(const char *phrase, const char *setting, struct crypt_data *data)
{
	static char *(*real)(const char *, const char *, struct crypt_data *);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "crypt_r");
	snprintf(last_setting, sizeof(last_setting), "%s", setting);
	return real(phrase, setting, data);
}

static void make_hash(char *out, size_t len, const char *password, unsigned long cost)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof(salt)));
	const char *h = crypt_r(password, salt, &cd);
	assert_true(h && h[0] == '$');
	snprintf(out, len, "%s", h);
}

/* An unknown user is checked against a hash of the highest configured cost, not
 * the first user's: its cost does not reveal whether the user exists. */
static void test_unknown_user_costs_the_most(void **state)
{
	(void)state;
	char cheap[128], dear[128], yaml[512], err[256];
	make_hash(cheap, sizeof(cheap), "a", 4);
	make_hash(dear, sizeof(dear), "b", 9);
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  cheap: '%s'\n  dear: '%s'\n", cheap, dear);
	struct cw_webconfig *w;
	assert_int_equal(parse(yaml, &w, err, sizeof(err)), 0);
	last_setting[0] = '\0';
	assert_false(cw_webconfig_authenticate(w, "nobody", "a"));
	assert_true(!strncmp(last_setting, "$2b$09$", 7));
	assert_string_not_equal(last_setting, dear); /* a dummy, not a real user's hash */
	assert_string_not_equal(last_setting, cheap);
	/* the dummy never verifies, even with a real user's password */
	assert_false(cw_webconfig_authenticate(w, "nobody", "b"));
	assert_true(cw_webconfig_authenticate(w, "cheap", "a"));
	assert_true(!strncmp(last_setting, "$2b$04$", 7));
	cw_webconfig_free(w);
}

/* The cache is bounded: many distinct successes keep working and never grow it. */
static void test_auth_cache_bounded(void **state)
{
	(void)state;
	char yaml[8192], err[256];
	int n = snprintf(yaml, sizeof(yaml), "basic_auth_users:\n");
	for (int i = 0; i < 70; i++)
		n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "  u%d: %s\n", i, hash_secret);
	struct cw_webconfig *w;
	assert_int_equal(parse(yaml, &w, err, sizeof(err)), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 70; i++) {
			char u[8];
			snprintf(u, sizeof(u), "u%d", i);
			assert_true(cw_webconfig_authenticate(w, u, "s3cret"));
		}
	}
	cw_webconfig_free(w);
}

static void test_tls_ok_and_versions(void **state)
{
	(void)state;
	struct cw_webconfig *w;
	char err[256];
	/* relative paths are relative to the file's directory */
	assert_int_equal(parse("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n", &w, err, sizeof(err)),
			 0);
	assert_non_null(cw_webconfig_cert_pem(w));
	assert_non_null(strstr(cw_webconfig_key_pem(w), "PRIVATE KEY"));
	assert_string_equal(cw_webconfig_tls_priorities(w), "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	cw_webconfig_free(w);

	char yaml[512];
	snprintf(yaml, sizeof(yaml),
		 "tls_server_config:\n  cert_file: %s/cert.pem\n  key_file: %s/key.pem\n  min_version: TLS13\n", tmp, tmp);
	assert_int_equal(parse(yaml, &w, err, sizeof(err)), 0);
	assert_string_equal(cw_webconfig_tls_priorities(w), "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	cw_webconfig_free(w);
}

static void test_load_file(void **state)
{
	(void)state;
	char path[128], err[256];
	struct cw_webconfig *w = NULL;
	snprintf(path, sizeof(path), "%s/missing.yml", tmp);
	assert_int_equal(cw_webconfig_load(path, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read"));
	/* FIFOs as the file itself, as key_file and as cert_file: refused at once,
	 * never a start-up that blocks forever (the alarm kills the test if it blocks) */
	char fifo[128], yaml[512];
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmp);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(10);
	assert_int_equal(cw_webconfig_load(fifo, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(yaml, sizeof(yaml), "tls_server_config:\n  cert_file: cert.pem\n  key_file: fifo\n");
	assert_int_equal(parse(yaml, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "fifo: not a regular file"));
	snprintf(yaml, sizeof(yaml), "tls_server_config:\n  cert_file: fifo\n  key_file: key.pem\n");
	assert_int_equal(parse(yaml, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "fifo: not a regular file"));
	alarm(0);
	unlink(fifo);
	snprintf(path, sizeof(path), "%s/ok.yml", tmp);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "http_server_config:\n  http2: false\nbasic_auth_users:\n  a: %s\n", hash_secret);
	fclose(f);
	assert_int_equal(cw_webconfig_load(path, &w, err, sizeof(err)), 0);
	assert_true(cw_webconfig_authenticate(w, "a", "s3cret"));
	cw_webconfig_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_plain),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_has_line),
		cmocka_unit_test(test_duplicate_user),
		cmocka_unit_test(test_bcrypt_verify),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_auth_cache_bounded),
		cmocka_unit_test(test_unknown_user_costs_the_most),
		cmocka_unit_test(test_tls_ok_and_versions),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
