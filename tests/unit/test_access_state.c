/* Unit tests of the access records in purges: the state file (format, refusals, atomic save), keep_hot, timestamp access. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "purge/access.h"
#include "purge/select.h"

#define NS 1000000000LL
#define DAY (86400 * NS)
#define NOW (1700000000LL * NS)
#define KB 1024ULL

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cw-test-access.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return chmod(dir, 0755);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct cw_access_rec rec(int64_t last, uint32_t n, const int64_t *recent)
{
	struct cw_access_rec r = { .last_ns = (uint64_t)last, .count = n, .nrecent = n > CW_ACCESS_RECENT ? CW_ACCESS_RECENT : n };
	for (uint32_t i = 0; i < r.nrecent; i++)
		r.recent_ns[i] = (uint64_t)recent[i];
	return r;
}

static void sample(struct cw_access_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t t[2] = { NOW - (int64_t)i * NS, NOW - (int64_t)i * NS - NS };
		e[i] = (struct cw_access_entry){ .dev = 100 + i % 2, .ino = 1000 - i, .r = rec(t[0], 2, t) };
	}
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct cw_access_entry e[5];
	sample(e, 5);
	void *buf;
	size_t len;
	assert_int_equal(cw_access_state_encode(e, 5, &buf, &len), 0);
	assert_int_equal(len, CW_ACCESS_STATE_HEADER + 5 * CW_ACCESS_STATE_RECORD);
	struct cw_access_table t;
	char err[256];
	assert_int_equal(cw_access_state_parse(buf, len, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 5);
	for (size_t i = 0; i < 5; i++) {
		const struct cw_access_entry *f = cw_access_table_find(&t, e[i].dev, e[i].ino);
		assert_non_null(f);
		assert_memory_equal(&f->r, &e[i].r, sizeof(f->r));
	}
	assert_null(cw_access_table_find(&t, 100, 7));
	cw_access_table_free(&t);
	free(buf);
}

/* Each damaged image is refused with a reason naming what is wrong. */
static void expect_refused(const void *buf, size_t len, const char *why)
{
	struct cw_access_table t;
	char err[256] = "";
	assert_int_equal(cw_access_state_parse(buf, len, &t, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("got '%s', want '%s'", err, why);
	assert_null(t.e);
}

static void test_refusals(void **state)
{
	(void)state;
	struct cw_access_entry e[3];
	sample(e, 3);
	unsigned char *buf;
	size_t len;
	assert_int_equal(cw_access_state_encode(e, 3, (void **)&buf, &len), 0);
	unsigned char *copy = malloc(len + 64);
	expect_refused(buf, 10, "truncated: 10 bytes");
	expect_refused(buf, len - 1, "truncated");
	memcpy(copy, buf, len);
	memset(copy + len, 0, 64);
	expect_refused(copy, len + 64, "trailing bytes");
	memcpy(copy, buf, len);
	copy[0] = 'X';
	expect_refused(copy, len, "bad magic");
	memcpy(copy, buf, len);
	copy[8] = 2; /* version */
	expect_refused(copy, len, "version 2, this cachewatch reads version 1");
	memcpy(copy, buf, len);
	copy[len - 3] ^= 0x40; /* one bit of a record */
	expect_refused(copy, len, "checksum mismatch");
	memcpy(copy, buf, len);
	uint64_t huge = (uint64_t)CW_ACCESS_STATE_MAX_RECORDS + 1;
	memcpy(copy + 16, &huge, sizeof(huge));
	expect_refused(copy, len, "at most");
	/* a well-checksummed file with an impossible record */
	e[1].r.nrecent = CW_ACCESS_RECENT + 1;
	free(buf);
	assert_int_equal(cw_access_state_encode(e, 3, (void **)&buf, &len), 0);
	expect_refused(buf, len, "record 1 is corrupt");
	free(buf);
	free(copy);
}

static void test_duplicates_keep_newest(void **state)
{
	(void)state;
	struct cw_access_entry e[2];
	sample(e, 2);
	e[1].dev = e[0].dev;
	e[1].ino = e[0].ino;
	e[1].r.last_ns = e[0].r.last_ns + NS;
	e[1].r.recent_ns[0] = e[1].r.last_ns;
	void *buf;
	size_t len;
	assert_int_equal(cw_access_state_encode(e, 2, &buf, &len), 0);
	struct cw_access_table t;
	assert_int_equal(cw_access_state_parse(buf, len, &t, NULL, 0), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.e[0].r.last_ns, e[1].r.last_ns);
	cw_access_table_free(&t);
	free(buf);
}

static void path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static int load(const char *path, char *err, size_t errlen)
{
	struct cw_access_table t;
	int rc = cw_access_state_load(path, &t, err, errlen);
	cw_access_table_free(&t);
	return rc;
}

static void test_save_load(void **state)
{
	(void)state;
	char p[128], err[512];
	struct cw_access_entry e[4];
	sample(e, 4);
	path_in(p, sizeof(p), "access.state");
	assert_int_equal(load(p, err, sizeof(err)), CW_STATE_MISSING);
	assert_int_equal(cw_access_state_save(p, e, 4, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char tmp[160];
	path_in(tmp, sizeof(tmp), ".access.state.tmp");
	assert_int_equal(access(tmp, F_OK), -1); /* renamed into place, nothing left over */
	struct cw_access_table t;
	assert_int_equal(cw_access_state_load(p, &t, err, sizeof(err)), CW_STATE_OK);
	assert_int_equal(t.n, 4);
	cw_access_table_free(&t);
	/* a missing directory is "missing", never created */
	char q[160];
	path_in(q, sizeof(q), "nodir/access.state");
	assert_int_equal(load(q, err, sizeof(err)), CW_STATE_MISSING);
	assert_int_equal(cw_access_state_save(q, e, 4, err, sizeof(err)), -1);
}

static void expect_load_refused(const char *path, const char *why)
{
	char err[512] = "";
	assert_int_equal(load(path, err, sizeof(err)), CW_STATE_REFUSED);
	if (!strstr(err, why))
		fail_msg("got '%s', want '%s'", err, why);
}

static void test_hostile_files(void **state)
{
	(void)state;
	char p[128], link[128], err[512];
	struct cw_access_entry e[2];
	sample(e, 2);
	path_in(p, sizeof(p), "real.state");
	assert_int_equal(cw_access_state_save(p, e, 2, err, sizeof(err)), 0);
	path_in(link, sizeof(link), "link.state");
	assert_int_equal(symlink(p, link), 0);
	expect_load_refused(link, "is a symbolic link");
	assert_int_equal(chmod(p, 0666), 0);
	expect_load_refused(p, "writable by group or others");
	assert_int_equal(chmod(p, 0600), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(p, 65534, 65534), 0);
		expect_load_refused(p, "owned by another user");
		assert_int_equal(chown(p, 0, 0), 0);
	}
	char fifo[128];
	path_in(fifo, sizeof(fifo), "fifo.state");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_load_refused(fifo, "not a regular file"); /* and does not block */
	assert_int_equal(chmod(dir, 0777), 0);
	expect_load_refused(p, "directory writable by group or others");
	assert_int_equal(cw_access_state_save(p, e, 2, err, sizeof(err)), -1);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(load(p, err, sizeof(err)), CW_STATE_OK);
}

static void test_keep_hot_rule(void **state)
{
	(void)state;
	struct cw_keep_hot k = { .enabled = true, .window_ms = 7 * 86400 * 1000ULL, .min_accesses = 3 };
	int64_t three_in[] = { NOW - DAY, NOW - 2 * DAY, NOW - 3 * DAY, NOW - 30 * DAY };
	int64_t two_in[] = { NOW - DAY, NOW - 2 * DAY };
	int64_t one_out[] = { NOW - DAY, NOW - 2 * DAY, NOW - 8 * DAY };
	struct cw_access_rec a = rec(three_in[0], 4, three_in), b = rec(two_in[0], 2, two_in),
			     c = rec(one_out[0], 3, one_out);
	assert_true(cw_keep_hot_match(&k, &a, NOW));
	assert_false(cw_keep_hot_match(&k, &b, NOW));  /* N-1 accesses */
	assert_false(cw_keep_hot_match(&k, &c, NOW));  /* N, one outside the window */
	assert_false(cw_keep_hot_match(&k, NULL, NOW));
	k.min_accesses = 2;
	assert_true(cw_keep_hot_match(&k, &b, NOW));
	k.enabled = false;
	assert_false(cw_keep_hot_match(&k, &a, NOW));
	/* a bogus nrecent never reads past the array */
	a.nrecent = 1000;
	assert_int_equal(cw_access_recent_within(&a, 365ULL * 86400 * 1000, NOW), CW_ACCESS_RECENT);
}

static void test_timestamp_access(void **state)
{
	(void)state;
	int64_t r1[] = { NOW - 60 * NS };
	struct cw_access_rec r = rec(r1[0], 1, r1);
	/* a record: max(last access, mtime), atime ignored */
	assert_int_equal(cw_purge_timestamp_rec(CW_TS_ACCESS, NOW - 10 * NS, NOW - DAY, 0, &r, NOW), NOW - 60 * NS);
	assert_int_equal(cw_purge_timestamp_rec(CW_TS_ACCESS, NOW, NOW - 5 * NS, 0, &r, NOW), NOW - 5 * NS);
	/* no record: max(atime, mtime) */
	assert_int_equal(cw_purge_timestamp_rec(CW_TS_ACCESS, NOW - 10 * NS, NOW - DAY, 0, NULL, NOW), NOW - 10 * NS);
	/* a record in the future: the change time, capped at now */
	int64_t fut[] = { NOW + DAY };
	struct cw_access_rec f = rec(fut[0], 1, fut);
	assert_int_equal(cw_purge_timestamp_rec(CW_TS_ACCESS, 0, NOW - DAY, NOW - 2 * DAY, &f, NOW), NOW - 2 * DAY);
	assert_int_equal(cw_purge_timestamp_rec(CW_TS_ACCESS, 0, NOW - DAY, NOW + 5, &f, NOW), NOW);
	/* other modes ignore the record */
	assert_int_equal(cw_purge_timestamp_rec(CW_TS_MTIME, NOW, NOW - DAY, 0, &r, NOW), NOW - DAY);
	/* a record older than the file's birth is an earlier file's */
	assert_true(cw_access_rec_applies(&r, NOW - DAY));
	assert_false(cw_access_rec_applies(&r, NOW - 30 * NS));
	assert_true(cw_access_rec_applies(&r, 0));
}

static char *select_hot(const struct cw_purge_policy *p, const struct cw_purge_item *items, const bool *hot,
			size_t n, uint64_t *kept_files)
{
	size_t v[16];
	enum cw_purge_reason r[16];
	size_t nv = cw_purge_select_items_hot(p, NOW, 0, 0, items, hot, n, 0, v, r);
	char *out = calloc(1, 256);
	for (size_t i = 0; i < nv; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, items[v[i]].relpath);
	}
	struct cw_selector *s = cw_selector_new(p, NOW, 0);
	for (size_t i = 0; i < n; i++)
		cw_selector_add(s, items[i].relpath, items[i].ts_ns, items[i].disk, items[i].disk, false, hot[i]);
	struct cw_selector_totals t;
	cw_selector_totals(s, &t);
	*kept_files = t.kept_hot_files;
	cw_selector_free(s);
	return out;
}

static void test_keep_hot_selection(void **state)
{
	(void)state;
	struct cw_purge_policy p;
	cw_purge_policy_defaults(&p);
	p.enabled = true;
	p.keep_hot.enabled = true;
	p.max_size = 100 * KB; /* high 90K, low 80K */
	struct cw_purge_item items[] = {
		{ "a", NOW - 5 * DAY, 20 * KB }, { "b", NOW - 4 * DAY, 20 * KB },
		{ "c", NOW - 3 * DAY, 20 * KB }, { "d", NOW - 2 * DAY, 20 * KB }, { "e", NOW - 1 * DAY, 20 * KB },
	};
	bool none[5] = { 0 }, hot_a[5] = { true, false, false, false, false };
	uint64_t kept;
	char *got = select_hot(&p, items, none, 5, &kept);
	assert_string_equal(got, "a"); /* 100K: 20K to go, the oldest */
	assert_int_equal(kept, 0);
	free(got);
	got = select_hot(&p, items, hot_a, 5, &kept);
	assert_string_equal(got, "b"); /* a is hot: the next oldest goes */
	assert_int_equal(kept, 1);
	free(got);
	/* hot files alone exceed the goal (60K cap, 52K to go, 80K hot): the rest
	 * goes, once, and the selection ends */
	bool most[5] = { true, true, true, true, false };
	p.max_size = 60 * KB;
	got = select_hot(&p, items, most, 5, &kept);
	assert_string_equal(got, "e");
	assert_int_equal(kept, 4);
	free(got);
	/* max_age still applies to hot files, unless keep_hot.age */
	p.max_size = 0;
	p.max_age_ms = 3ULL * 86400 * 1000 + 1000;
	got = select_hot(&p, items, hot_a, 5, &kept);
	assert_string_equal(got, "a b");
	free(got);
	p.keep_hot.age = true;
	got = select_hot(&p, items, hot_a, 5, &kept);
	assert_string_equal(got, "b");
	free(got);
}

static void test_seen_gone(void **state)
{
	(void)state;
	struct cw_file_key k1[] = { { 7, 30 }, { 7, 10 } }, k2[] = { { 7, 20 } };
	cw_file_keys_sort(k1, 2);
	struct cw_access_seen_cache c[] = {
		{ .dev = 7, .start_ns = NOW, .keys = k1, .n = 2 },
		{ .dev = 7, .start_ns = NOW - DAY, .keys = k2, .n = 1 },
	};
	struct cw_access_seen s = { .c = c, .n = 2, .usable = true };
	assert_false(cw_access_seen_gone(&s, 7, 10, NOW - 2 * DAY)); /* seen */
	assert_false(cw_access_seen_gone(&s, 7, 20, NOW - 2 * DAY)); /* seen by the other cache on the device */
	assert_true(cw_access_seen_gone(&s, 7, 40, NOW - 2 * DAY));  /* seen by none: gone */
	assert_false(cw_access_seen_gone(&s, 7, 40, NOW - DAY / 2)); /* used after a scan began */
	assert_false(cw_access_seen_gone(&s, 8, 40, 0));             /* no cache on that device */
	s.usable = false;
	assert_false(cw_access_seen_gone(&s, 7, 40, NOW - 2 * DAY)); /* a cache not scanned yet */
	assert_false(cw_access_seen_gone(NULL, 7, 40, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_duplicates_keep_newest),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_hostile_files),
		cmocka_unit_test(test_keep_hot_rule),
		cmocka_unit_test(test_timestamp_access),
		cmocka_unit_test(test_keep_hot_selection),
		cmocka_unit_test(test_seen_gone),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
