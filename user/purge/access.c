/* Access records for purges: keep_hot, the record sources, and the state file (format, safe reading, atomic writing). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include "purge/access.h"

_Static_assert(CW_KEEP_HOT_MAX_ACCESSES == CW_ACCESS_RECENT, "keep_hot.min_accesses is bounded by the recent accesses kept");
_Static_assert(CW_ACCESS_STATE_RECORD == 2 * sizeof(uint64_t) + sizeof(struct cw_access_rec),
	       "a state record is a key and a struct cw_access_rec");

static const char magic[8] = { 'C', 'W', 'A', 'C', 'C', 'E', 'S', 'S' };

struct header {
	char magic[8];
	uint32_t version;
	uint32_t record_size;
	uint64_t count;
	uint32_t crc;
	uint32_t zero;
};
_Static_assert(sizeof(struct header) == CW_ACCESS_STATE_HEADER, "header layout");

static int64_t clamp_ns(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

bool cw_access_rec_applies(const struct cw_access_rec *r, int64_t btime_ns)
{
	return btime_ns <= 0 || clamp_ns(r->last_ns) >= btime_ns;
}

unsigned cw_access_recent_within(const struct cw_access_rec *r, uint64_t window_ms, int64_t now_ns)
{
	uint32_t n = r->nrecent < CW_ACCESS_RECENT ? r->nrecent : CW_ACCESS_RECENT;
	int64_t window_ns = window_ms > (uint64_t)INT64_MAX / 1000000 ? INT64_MAX : (int64_t)(window_ms * 1000000);
	int64_t since = now_ns > INT64_MIN + window_ns ? now_ns - window_ns : INT64_MIN;
	unsigned hits = 0;
	for (uint32_t i = 0; i < n; i++)
		if (clamp_ns(r->recent_ns[i]) >= since)
			hits++;
	return hits;
}

bool cw_keep_hot_match(const struct cw_keep_hot *k, const struct cw_access_rec *r, int64_t now_ns)
{
	return k->enabled && r && cw_access_recent_within(r, k->window_ms, now_ns) >= k->min_accesses;
}

static int key_cmp(const void *a, const void *b)
{
	const struct cw_access_entry *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

void cw_access_table_free(struct cw_access_table *t)
{
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

const struct cw_access_entry *cw_access_table_find(const struct cw_access_table *t, uint64_t dev, uint64_t ino)
{
	struct cw_access_entry k = { .dev = dev, .ino = ino };
	return t->n ? bsearch(&k, t->e, t->n, sizeof(k), key_cmp) : NULL;
}

static int table_lookup(void *ctx, uint64_t st_dev, uint64_t ino, struct cw_access_rec *out)
{
	const struct cw_access_entry *e = cw_access_table_find(ctx, st_dev, ino);
	if (!e)
		return -ENOENT;
	*out = e->r;
	return 0;
}

void cw_access_table_source(const struct cw_access_table *t, struct cw_access_source *src)
{
	src->lookup = table_lookup;
	src->ctx = (void *)t;
}

static int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t image_crc(const unsigned char *buf, size_t len)
{
	struct header h;
	memcpy(&h, buf, sizeof(h));
	h.crc = 0;
	uLong c = crc32(0L, Z_NULL, 0);
	c = crc32(c, (const Bytef *)&h, sizeof(h));
	/* zlib's length is a uInt: feed large images in pieces */
	for (size_t off = sizeof(h); off < len;) {
		size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
		c = crc32(c, buf + off, (uInt)chunk);
		off += chunk;
	}
	return (uint32_t)c;
}

static const char *record_problem(const struct cw_access_rec *r)
{
	if (r->nrecent > CW_ACCESS_RECENT)
		return "more recent accesses than a record holds";
	for (uint32_t i = 0; i < r->nrecent; i++) {
		if (r->recent_ns[i] > r->last_ns)
			return "a recent access after the last one";
		if (i && r->recent_ns[i] > r->recent_ns[i - 1])
			return "recent accesses not newest first";
	}
	return NULL;
}

/* Sorts and folds duplicate keys into the newest record. */
static void sort_unique(struct cw_access_table *t)
{
	if (t->n < 2)
		return;
	qsort(t->e, t->n, sizeof(*t->e), key_cmp);
	size_t o = 0;
	for (size_t i = 1; i < t->n; i++) {
		if (key_cmp(&t->e[o], &t->e[i]) == 0) {
			if (t->e[i].r.last_ns > t->e[o].r.last_ns)
				t->e[o] = t->e[i];
			continue;
		}
		t->e[++o] = t->e[i];
	}
	t->n = o + 1;
}

int cw_access_state_parse(const void *buf, size_t len, struct cw_access_table *out, char *err, size_t errlen)
{
	const unsigned char *b = buf;
	struct header h;
	out->e = NULL;
	out->n = 0;
	if (len < sizeof(h))
		return errf(err, errlen, "truncated: %zu bytes, the header alone is %d", len, CW_ACCESS_STATE_HEADER);
	memcpy(&h, b, sizeof(h));
	if (memcmp(h.magic, magic, sizeof(magic)))
		return errf(err, errlen, "not a cachewatch access state file (bad magic)");
	if (h.version != CW_ACCESS_STATE_VERSION)
		return errf(err, errlen, "version %u, this cachewatch reads version %d", h.version, CW_ACCESS_STATE_VERSION);
	if (h.record_size != CW_ACCESS_STATE_RECORD || h.zero != 0)
		return errf(err, errlen, "corrupt header (record size %u, expected %d)", h.record_size,
			    CW_ACCESS_STATE_RECORD);
	if (h.count > CW_ACCESS_STATE_MAX_RECORDS)
		return errf(err, errlen, "claims %llu records, at most %u are kept", (unsigned long long)h.count,
			    CW_ACCESS_STATE_MAX_RECORDS);
	size_t want = sizeof(h) + (size_t)h.count * CW_ACCESS_STATE_RECORD;
	if (len != want)
		return errf(err, errlen, "%s: %zu bytes for %llu records, expected %zu", len < want ? "truncated" : "trailing bytes",
			    len, (unsigned long long)h.count, want);
	if (image_crc(b, len) != h.crc)
		return errf(err, errlen, "checksum mismatch (corrupt)");
	out->e = calloc(h.count ? h.count : 1, sizeof(*out->e));
	if (!out->e)
		return errf(err, errlen, "out of memory for %llu records", (unsigned long long)h.count);
	for (size_t i = 0; i < h.count; i++) {
		struct cw_access_entry *e = &out->e[i];
		memcpy(e, b + sizeof(h) + i * CW_ACCESS_STATE_RECORD, CW_ACCESS_STATE_RECORD);
		const char *why = record_problem(&e->r);
		if (why) {
			cw_access_table_free(out);
			return errf(err, errlen, "record %zu is corrupt: %s", i, why);
		}
	}
	out->n = h.count;
	sort_unique(out);
	return 0;
}

int cw_access_state_encode(const struct cw_access_entry *e, size_t n, void **buf, size_t *len)
{
	if (n > CW_ACCESS_STATE_MAX_RECORDS)
		n = CW_ACCESS_STATE_MAX_RECORDS;
	size_t total = sizeof(struct header) + n * CW_ACCESS_STATE_RECORD;
	unsigned char *b = calloc(1, total);
	if (!b)
		return -1;
	struct header h = { .version = CW_ACCESS_STATE_VERSION, .record_size = CW_ACCESS_STATE_RECORD, .count = n };
	memcpy(h.magic, magic, sizeof(magic));
	memcpy(b, &h, sizeof(h));
	for (size_t i = 0; i < n; i++)
		memcpy(b + sizeof(h) + i * CW_ACCESS_STATE_RECORD, &e[i], CW_ACCESS_STATE_RECORD);
	h.crc = image_crc(b, total);
	memcpy(b, &h, sizeof(h));
	*buf = b;
	*len = total;
	return 0;
}

/* Only root or this user may have written it, and nobody else may change it. */
static const char *trust_problem(const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "owned by another user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	return NULL;
}

/* Opens the directory of path (no symlink as its last component) and checks
 * it; *base points at the file name. */
static int open_dir(const char *path, int *dirfd, const char **base, bool *missing, char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	*missing = false;
	if (!slash || !slash[1])
		return errf(err, errlen, "%s: not an absolute file path", path);
	size_t dlen = slash == path ? 1 : (size_t)(slash - path);
	if (dlen >= sizeof(dir))
		return errf(err, errlen, "%s: path too long", path);
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	*base = slash + 1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*missing = errno == ENOENT;
		return errf(err, errlen, "%s: %s", dir, errno == ELOOP ? "is a symbolic link" : strerror(errno));
	}
	struct stat st;
	const char *why = fstat(fd, &st) != 0 ? strerror(errno) : trust_problem(&st);
	if (why) {
		close(fd);
		return errf(err, errlen, "%s: directory %s", dir, why);
	}
	*dirfd = fd;
	return 0;
}

static int read_all(int fd, size_t len, unsigned char **out)
{
	unsigned char *b = malloc(len ? len : 1);
	if (!b)
		return -1;
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, b + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != len) {
		free(b);
		errno = EIO;
		return -1;
	}
	*out = b;
	return 0;
}

int cw_access_state_load(const char *path, struct cw_access_table *out, char *err, size_t errlen)
{
	int dirfd = -1, fd = -1, rc = CW_STATE_REFUSED;
	unsigned char *buf = NULL;
	const char *base;
	bool missing;
	out->e = NULL;
	out->n = 0;
	if (open_dir(path, &dirfd, &base, &missing, err, errlen))
		return missing ? CW_STATE_MISSING : CW_STATE_REFUSED;
	fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			errf(err, errlen, "%s: does not exist", path);
			rc = CW_STATE_MISSING;
		} else {
			errf(err, errlen, "%s: %s", path, errno == ELOOP ? "is a symbolic link" : strerror(errno));
		}
		goto cleanup;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	const char *why = S_ISREG(st.st_mode) ? trust_problem(&st) : "not a regular file";
	if (why) {
		errf(err, errlen, "%s: %s", path, why);
		goto cleanup;
	}
	size_t max = CW_ACCESS_STATE_HEADER + (size_t)CW_ACCESS_STATE_MAX_RECORDS * CW_ACCESS_STATE_RECORD;
	if ((uint64_t)st.st_size > max) {
		errf(err, errlen, "%s: %lld bytes, more than a state file can hold (%zu)", path, (long long)st.st_size, max);
		goto cleanup;
	}
	if (read_all(fd, (size_t)st.st_size, &buf) != 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	char why2[192];
	if (cw_access_state_parse(buf, (size_t)st.st_size, out, why2, sizeof(why2)) != 0) {
		errf(err, errlen, "%s: %s", path, why2);
		goto cleanup;
	}
	rc = CW_STATE_OK;
cleanup:
	free(buf);
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return rc;
}

static int write_all(int fd, const unsigned char *b, size_t len)
{
	while (len) {
		ssize_t w = write(fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

int cw_access_state_save(const char *path, const struct cw_access_entry *e, size_t n, char *err, size_t errlen)
{
	int dirfd = -1, fd = -1, rc = -1;
	void *buf = NULL;
	size_t len;
	const char *base;
	bool missing;
	char tmp[512];
	if (open_dir(path, &dirfd, &base, &missing, err, errlen))
		return -1;
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", base) >= (int)sizeof(tmp)) {
		errf(err, errlen, "%s: file name too long", path);
		goto cleanup;
	}
	if (cw_access_state_encode(e, n, &buf, &len) != 0) {
		errf(err, errlen, "%s: out of memory", path);
		goto cleanup;
	}
	/* a temporary file left by a crash is ours to replace (the directory is trusted) */
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		errf(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		errf(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, base) != 0) {
		errf(err, errlen, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
		goto cleanup;
	}
	fsync(dirfd);
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlinkat(dirfd, tmp, 0);
	free(buf);
	close(dirfd);
	return rc;
}

static int akey_cmp(const void *a, const void *b)
{
	const struct cw_file_key *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

void cw_file_keys_sort(struct cw_file_key *keys, size_t n)
{
	if (n > 1)
		qsort(keys, n, sizeof(*keys), akey_cmp);
}

void cw_access_seen_free(struct cw_access_seen *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->c[i].keys);
	free(s->c);
	s->c = NULL;
	s->n = 0;
	s->usable = false;
}

bool cw_access_seen_gone(const struct cw_access_seen *s, uint64_t dev, uint64_t ino, uint64_t last_ns)
{
	if (!s || !s->usable)
		return false;
	struct cw_file_key k = { .dev = dev, .ino = ino };
	bool any = false;
	for (size_t i = 0; i < s->n; i++) {
		const struct cw_access_seen_cache *c = &s->c[i];
		if (c->dev != dev)
			continue;
		/* used since that scan began: it may be a file the scan did not reach yet */
		if (clamp_ns(last_ns) >= c->start_ns)
			return false;
		if (c->n && bsearch(&k, c->keys, c->n, sizeof(k), akey_cmp))
			return false;
		any = true;
	}
	return any;
}
