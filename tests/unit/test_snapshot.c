/* Unit tests of the snapshot box: readers keep what they took; publishing never tears. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "lib/jsonw.h"
#include "dataplane/snapshot.h"

static struct cw_snapshot *make(uint64_t version)
{
	struct cw_snapshot *s = calloc(1, sizeof(*s));

	s->version = version;
	s->ncaches = 1;
	s->caches = calloc(1, sizeof(*s->caches));
	s->caches[0].name = strdup("c");
	s->caches[0].path = strdup("/c");
	char *names;
	s->caches[0].ndirs = 1;
	s->caches[0].block = cw_dir_block_new(1, 2, &s->caches[0].dirs, &names);
	memset(s->caches[0].dirs, 0, sizeof(struct cw_dir_snap));
	strcpy(names, ".");
	s->caches[0].dirs[0].dir = names;
	/* invariant readers check: write_bytes == 10 * version and writes == version */
	s->caches[0].dirs[0].write_bytes = 10 * version;
	s->caches[0].dirs[0].writes = version;
	return s;
}

static void reader_keeps_old_snapshot(void **state)
{
	struct cw_snapbox *b = cw_snapbox_new();

	(void)state;
	assert_null(cw_snapbox_get(b));
	cw_snapbox_publish(b, make(1));
	struct cw_snapshot *r = cw_snapbox_get(b);
	assert_true(r->version == 1);
	cw_snapbox_publish(b, make(2));
	/* the reader's copy is intact after it was replaced (ASan would flag a free) */
	assert_true(r->version == 1);
	assert_string_equal(r->caches[0].dirs[0].dir, ".");
	cw_snapshot_put(r);
	r = cw_snapbox_get(b);
	assert_true(r->version == 2);
	cw_snapshot_put(r);
	cw_snapbox_free(b);
}

struct race {
	struct cw_snapbox *box;
	int torn;
	uint64_t seen_max;
};

static void *reader(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 20000; i++) {
		struct cw_snapshot *s = cw_snapbox_get(r->box);
		if (!s)
			continue;
		const struct cw_dir_snap *d = &s->caches[0].dirs[0];
		if (d->write_bytes != 10 * d->writes || d->writes != s->version)
			__atomic_store_n(&r->torn, 1, __ATOMIC_SEQ_CST);
		if (s->version > r->seen_max)
			r->seen_max = s->version;
		cw_snapshot_put(s);
	}
	return NULL;
}

static void concurrent_readers_never_see_torn(void **state)
{
	struct race r = { .box = cw_snapbox_new() };
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, reader, &r);
	for (uint64_t v = 1; v <= 5000; v++)
		cw_snapbox_publish(r.box, make(v));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r.torn, 0);
	cw_snapbox_free(r.box);
}

/* Snapshots of an unchanged cache share its dirs: each snapshot holds a
 * reference, so freeing one leaves the other intact (ASan would flag it). */
static void shared_dirs_outlive_one_snapshot(void **state)
{
	struct cw_snapshot *a = make(1), *b = calloc(1, sizeof(*b));

	(void)state;
	*b = *a;
	b->caches = calloc(1, sizeof(*b->caches));
	b->caches[0] = a->caches[0];
	b->caches[0].name = strdup("c");
	b->caches[0].path = strdup("/c");
	b->caches[0].block = cw_dir_block_get(a->caches[0].block);
	cw_snapshot_free(a);
	assert_string_equal(b->caches[0].dirs[0].dir, ".");
	assert_true(b->caches[0].dirs[0].write_bytes == 10);
	cw_snapshot_free(b);
}

static void drop_names_are_labels(void **state)
{
	(void)state;
	for (int d = 0; d < CW_DROP_MAX; d++) {
		const char *n = cw_drop_name((enum cw_drop)d);
		assert_non_null(n);
		assert_true(strspn(n, "abcdefghijklmnopqrstuvwxyz_") == strlen(n));
	}
	assert_string_equal(cw_drop_name(CW_DROP_MAX), "unknown");
}

static void json_escaping(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	jsonw_escape(f, "a\"b\\c\nd\x01\xff\xc3\xa9");
	fclose(f);
	/* quote, backslash, newline, control byte, invalid byte, valid UTF-8 (é):
	 * the invalid byte and the backslash in the lossless \xNN text form of
	 * metric labels, so the lone byte 0xe9 and "é" (U+00E9) stay different */
	assert_string_equal(buf, "\"a\\\"b\\\\x5cc\\nd\\u0001\\\\xff\xc3\xa9\"");
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	jsonw_escape(f, "\xe9");
	jsonw_escape(f, "\xc3\xa9");
	fclose(f);
	assert_string_equal(buf, "\"\\\\xe9\"\"\xc3\xa9\"");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reader_keeps_old_snapshot),
		cmocka_unit_test(concurrent_readers_never_see_torn),
		cmocka_unit_test(shared_dirs_outlive_one_snapshot),
		cmocka_unit_test(drop_names_are_labels),
		cmocka_unit_test(json_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
