/* lib/root: resolution without symlinks, trusted ancestors, identity, refused roots (cmocka). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/root.h"

static char T[256];

static void p(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", T, rel);
}

static void mkd(const char *rel, mode_t mode, uid_t uid)
{
	char d[PATH_MAX];
	p(d, rel);
	assert_int_equal(mkdir(d, mode), 0);
	assert_int_equal(chmod(d, mode), 0);
	assert_int_equal(chown(d, uid, (gid_t)-1), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(T, sizeof(T), "/tmp/cw-test-root.XXXXXX");
	assert_non_null(mkdtemp(T));
	chmod(T, 0755);
	mkd("u", 0755, 4242);            /* a user's directory */
	mkd("u/cache", 0755, 4242);      /* their cache */
	mkd("sys", 0755, 0);             /* root-owned decoy */
	mkd("open", 0777, 0);            /* world-writable, not sticky */
	mkd("open/c", 0755, 0);
	mkd("sticky", 01777, 0);
	mkd("sticky/c", 0755, 4242);
	mkd("u/rootowned", 0755, 0);     /* root-owned, under a user's directory */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
	return system(cmd) == 0 ? 0 : -1;
}

static int resolve(const char *rel, unsigned flags, const struct cw_root_id *v, struct cw_root_ref *r,
		   char *err, size_t len)
{
	char path[PATH_MAX];
	p(path, rel);
	return cw_root_resolve(path, flags, v, r, err, len);
}

static void test_plain(void **state)
{
	(void)state;
	struct cw_root_ref r;
	char err[512] = "";
	struct stat st;
	char path[PATH_MAX];
	p(path, "u/cache");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(resolve("u/cache", CW_ROOT_PURGE, NULL, &r, err, sizeof(err)), CW_ROOT_OK);
	assert_true(r.fd >= 0);
	assert_true(r.id.dev == st.st_dev && r.id.ino == st.st_ino);
	assert_int_equal(r.uid, 4242);
	assert_false(r.changed);
	cw_root_ref_close(&r);
	assert_int_equal(r.fd, -1);
	/* "//" and "/./" are harmless; a trailing slash too */
	assert_int_equal(resolve(".//u/./cache/", CW_ROOT_PURGE, NULL, &r, err, sizeof(err)), CW_ROOT_OK);
	cw_root_ref_close(&r);
}

/* The attack of the hardening issue: an ancestor the user owns becomes a
 * symlink to a root-owned tree. */
static void test_symlinked_ancestor(void **state)
{
	(void)state;
	struct cw_root_ref r;
	char err[512] = "", link[PATH_MAX], target[PATH_MAX];
	p(link, "u2");
	p(target, "u");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(resolve("u2/cache", CW_ROOT_PURGE, NULL, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	assert_non_null(strstr(err, "u2 is a symlink"));
	assert_int_equal(r.fd, -1);
	/* without any check flag too: the resolver itself never follows */
	assert_int_equal(resolve("u2/cache", 0, NULL, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	/* the last component as a symlink */
	p(link, "u/cachelink");
	p(target, "sys");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(resolve("u/cachelink", 0, NULL, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	assert_non_null(strstr(err, "is a symlink"));
}

static void test_dotdot_and_relative(void **state)
{
	(void)state;
	struct cw_root_ref r;
	char err[512] = "";
	assert_int_equal(resolve("u/../u/cache", 0, NULL, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	assert_non_null(strstr(err, "'..'"));
	assert_int_equal(cw_root_resolve("relative/dir", 0, NULL, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	assert_int_equal(resolve("nothere/c", 0, NULL, &r, err, sizeof(err)), CW_ROOT_MISSING);
	assert_non_null(strstr(err, "nothere"));
}

static void test_ancestors(void **state)
{
	(void)state;
	struct cw_root_ref r;
	char err[512] = "";
	/* world-writable, non-sticky parent: anyone could rename c away */
	assert_int_equal(resolve("open/c", CW_ROOT_TRUSTED_ANCESTORS, NULL, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	assert_non_null(strstr(err, "/open is writable by others (mode 0777)"));
	/* ... but reading it for metrics only is allowed without the flag */
	assert_int_equal(resolve("open/c", 0, NULL, &r, err, sizeof(err)), CW_ROOT_OK);
	cw_root_ref_close(&r);
	/* sticky like /tmp: fine */
	assert_int_equal(resolve("sticky/c", CW_ROOT_PURGE, NULL, &r, err, sizeof(err)), CW_ROOT_OK);
	cw_root_ref_close(&r);
	/* a root-owned directory under a user's: the user could have put it there */
	assert_int_equal(resolve("u/rootowned", CW_ROOT_PURGE, NULL, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	assert_non_null(strstr(err, "/u is owned by uid 4242 (the root by uid 0)"));
}

static void test_identity(void **state)
{
	(void)state;
	struct cw_root_ref r;
	char err[512] = "", a[PATH_MAX], b[PATH_MAX];
	assert_int_equal(resolve("u/cache", CW_ROOT_PURGE, NULL, &r, err, sizeof(err)), CW_ROOT_OK);
	struct cw_root_id validated = r.id;
	cw_root_ref_close(&r);
	assert_int_equal(resolve("u/cache", CW_ROOT_PURGE, &validated, &r, err, sizeof(err)), CW_ROOT_OK);
	assert_false(r.changed);
	cw_root_ref_close(&r);
	/* replaced by another (acceptable) directory: reported as changed */
	p(a, "u/cache");
	p(b, "u/cache.old");
	assert_int_equal(rename(a, b), 0);
	mkd("u/cache", 0755, 4242);
	assert_int_equal(resolve("u/cache", CW_ROOT_PURGE, &validated, &r, err, sizeof(err)), CW_ROOT_OK);
	assert_true(r.changed);
	cw_root_ref_close(&r);
	/* replaced by a root-owned one: re-validated and refused */
	assert_int_equal(rmdir(a), 0);
	p(b, "u/rootowned");
	assert_int_equal(rename(b, a), 0);
	assert_int_equal(resolve("u/cache", CW_ROOT_PURGE, &validated, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	assert_int_equal(r.fd, -1);
	assert_int_equal(rename(a, b), 0);
	p(b, "u/cache.old");
	assert_int_equal(rename(b, a), 0);
}

static void test_refused_by_identity(void **state)
{
	(void)state;
	char why[160];
	struct stat st;
	for (size_t i = 0; cw_refused_roots[i]; i++) {
		if (stat(cw_refused_roots[i], &st) != 0)
			continue;
		int fd = open(cw_refused_roots[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		const char *r = cw_root_refusal(fd, -1, why, sizeof(why));
		if (!r)
			fail_msg("%s not refused by identity", cw_refused_roots[i]);
		close(fd);
		assert_non_null(cw_root_refusal_path(cw_refused_roots[i], why, sizeof(why)));
	}
	/* another spelling of a refused directory: /lib is /usr/lib on merged-/usr */
	int fd = open("/lib", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		assert_non_null(cw_root_refusal(fd, -1, why, sizeof(why)));
		close(fd);
	}
	struct cw_root_ref r;
	char err[512];
	assert_int_equal(cw_root_resolve("/usr/./lib/", CW_ROOT_PURGE, NULL, &r, err, sizeof(err)), CW_ROOT_REFUSED);
	assert_non_null(strstr(err, "is a system directory"));
	/* text: subdirectories are fine */
	assert_null(cw_root_refusal_path("/var/cache/apt/archives", why, sizeof(why)));
	assert_non_null(cw_root_refusal_path("/usr//src/", why, sizeof(why)));
	assert_non_null(cw_root_refusal_path("/nix/store", why, sizeof(why)));
	assert_non_null(cw_root_refusal_path("/home/someone", why, sizeof(why)));
	assert_null(cw_root_refusal_path("/home/someone/.cache", why, sizeof(why)));
	/* an /etc/passwd home, by text and by identity */
	assert_non_null(cw_root_refusal_path("/root", why, sizeof(why)));
	assert_string_equal(why, "is a system directory");
	assert_non_null(cw_root_refusal_path("/nonexistent", why, sizeof(why))); /* nobody's home */
	assert_string_equal(why, "is a user's home directory");
}

static void test_home_and_system_shape(void **state)
{
	(void)state;
	char why[160], home[PATH_MAX];
	p(home, "u");
	setenv("HOME", home, 1);
	int fd = open(home, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_non_null(cw_root_refusal(fd, -1, why, sizeof(why)));
	assert_string_equal(why, "is a user's home directory");
	close(fd);
	unsetenv("HOME");
	mkd("host", 0755, 0);
	mkd("host/etc", 0755, 0);
	mkd("host/usr", 0755, 0);
	char pw[PATH_MAX];
	p(pw, "host/etc/passwd");
	FILE *f = fopen(pw, "w");
	assert_non_null(f);
	fclose(f);
	p(home, "host");
	fd = open(home, O_RDONLY | O_DIRECTORY);
	assert_non_null(cw_root_refusal(fd, -1, why, sizeof(why)));
	assert_non_null(strstr(why, "like a system root"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_symlinked_ancestor),
		cmocka_unit_test(test_dotdot_and_relative),
		cmocka_unit_test(test_ancestors),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_refused_by_identity),
		cmocka_unit_test(test_home_and_system_shape),
	};
	if (geteuid() != 0) {
		printf("test_root needs root (chown)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
