/* Data-plane test of observed use: opens for reading per directory, per-file access records, reuse counters, a full record map. */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <liburing.h>
#include "dp_harness.h"
#include "dataplane/access.h"

enum field { READ_OPENS, ENTRIES_WRITTEN, ENTRIES_REUSED, WRITE_BYTES, READ_BYTES, READS };

static uint64_t dir_field(struct ctx *c, const char *cache_name, const char *dir, enum field f)
{
	struct cw_snapshot *s = poll_now(c);
	const struct cw_dir_snap *d = find(s, cache_name, dir);
	uint64_t v = 0;

	if (d)
		v = f == READ_OPENS ? d->read_opens : f == ENTRIES_WRITTEN ? d->entries_written
			: f == ENTRIES_REUSED ? d->entries_reused : f == READ_BYTES ? d->read_bytes
			: f == READS ? d->reads : d->write_bytes;
	cw_snapshot_put(s);
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void open_close(const char *path, int flags)
{
	int fd = open(path, flags, 0644);

	if (fd < 0)
		die(path);
	close(fd);
}

static int lookup(struct ctx *c, const char *path, struct cw_access_rec *r)
{
	struct stat st;

	if (stat(path, &st))
		die(path);
	return cw_access_lookup(c->loader, st.st_dev, st.st_ino, r);
}

static int uring_open(const char *path, int op2)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct open_how how = { .flags = O_RDONLY };
	int fd;

	if (io_uring_queue_init(4, &ring, 0))
		die("io_uring_queue_init");
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (op2)
		io_uring_prep_openat2(sqe, AT_FDCWD, path, &how);
	else
		io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe))
		die("io_uring_wait_cqe");
	fd = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* Which opens count: reading an existing regular file (O_RDONLY, O_RDWR, by
 * open, openat, openat2 and io_uring), and nothing else. */
static void test_read_opens(struct ctx *c)
{
	char root[PATH_MAX], a[PATH_MAX], b[PATH_MAX], n[PATH_MAX], out[PATH_MAX], d[PATH_MAX];
	struct cw_cache_config cc[1];

	pathf(root, c, "ro");
	pathf(d, c, "ro/g1");
	mkdirs(d);
	pathf(d, c, "ro/g2");
	mkdirs(d);
	pathf(d, c, "roout");
	mkdirs(d);
	cache(&cc[0], "ro", root, 1, 64);
	apply(c, cc, 1);
	pathf(a, c, "ro/g1/a");
	pathf(b, c, "ro/g2/b");
	pathf(n, c, "ro/g1/new");
	pathf(out, c, "roout/x");
	write_bytes(a, 100);
	write_bytes(b, 10);
	write_bytes(out, 10);
	tap_eq(dir_field(c, "ro", "g1", READ_OPENS), 0, "creating a file with O_CREAT|O_WRONLY is not a read open");

	for (int i = 0; i < 3; i++)
		open_close(a, O_RDONLY);
	open_close(a, O_RDWR);
	tap_eq(dir_field(c, "ro", "g1", READ_OPENS), 4, "three O_RDONLY and one O_RDWR open of an existing file count 4");
	open_close(a, O_WRONLY);
	open_close(a, O_WRONLY | O_APPEND);
	open_close(a, O_PATH);
	open_close(a, O_RDONLY | O_CREAT); /* exists: an access */
	tap_eq(dir_field(c, "ro", "g1", READ_OPENS), 5, "O_WRONLY and O_PATH opens do not count, O_RDONLY|O_CREAT of an existing file does");
	open_close(n, O_RDWR | O_CREAT | O_EXCL);
	tap_eq(dir_field(c, "ro", "g1", READ_OPENS), 5, "an O_RDWR open that creates the file is not a read open");
	int fd = creat(a, 0644);
	close(fd);
	tap_eq(dir_field(c, "ro", "g1", READ_OPENS), 5, "creat() of an existing file is not a read open");
	open_close(d, O_RDONLY | O_DIRECTORY);
	open_close(out, O_RDONLY);
	struct open_how how = { .flags = O_RDONLY };
	long r2 = syscall(SYS_openat2, AT_FDCWD, b, &how, sizeof(how));
	if (r2 >= 0)
		close((int)r2);
	int dfd = open(root, O_RDONLY | O_DIRECTORY);
	fd = openat(dfd, "g2/b", O_RDONLY);
	close(fd);
	close(dfd);
	tap_eq(dir_field(c, "ro", "g2", READ_OPENS), r2 >= 0 ? 2 : 1,
	       "openat2 and openat relative to a directory fd count in their group (openat2 %s)",
	       r2 >= 0 ? "available" : "missing");
	tap_eq(dir_field(c, "ro", ".", READ_OPENS), 0, "a directory open and a file outside the root count nothing");

	int u1 = uring_open(b, 0), u2 = uring_open(b, 1);
	tap_ok(u1 >= 0, "io_uring OPENAT opened the file (%d)", u1);
	tap_eq(dir_field(c, "ro", "g2", READ_OPENS), (r2 >= 0 ? 2 : 1) + (u1 >= 0) + (u2 >= 0),
	       "io_uring OPENAT and OPENAT2 opens for reading count (openat2 %s)", u2 >= 0 ? "ran" : "refused");
	sh("cat '%s' > /dev/null", a);
	tap_eq(dir_field(c, "ro", "g1", READ_OPENS), 6, "cat of a file counts one open");
}

/* A scripted sequence: the record's last_ns, count and recent_ns. */
static void test_records(struct ctx *c)
{
	char root[PATH_MAX], f[PATH_MAX];
	struct cw_cache_config cc[1];
	struct cw_access_rec r;
	uint64_t before[6], after[6];
	const uint64_t slack = 2000000; /* 2 ms: the realtime/boottime offset is sampled per poll */

	pathf(root, c, "rec");
	mkdirs(root);
	cache(&cc[0], "rec", root, 0, 64);
	apply(c, cc, 1);
	pathf(f, c, "rec/file");
	uint64_t w0 = now_ns();
	write_bytes(f, 10);
	uint64_t w1 = now_ns();
	int got = lookup(c, f, &r);
	tap_ok(got == 0 && r.count == 0 && r.nrecent == 0 && r.last_ns + slack >= w0 && r.last_ns <= w1 + slack,
	       "a new written file has a record: count 0, no recent accesses, last_ns at the write (%d, count %u, nrecent %u)",
	       got, r.count, r.nrecent);
	for (int i = 0; i < 6; i++) {
		usleep(3000);
		before[i] = now_ns();
		open_close(f, O_RDONLY);
		after[i] = now_ns();
	}
	got = lookup(c, f, &r);
	tap_ok(got == 0 && r.count == 6 && r.nrecent == CW_ACCESS_RECENT, "six reads: count 6, %d recent (count %u, nrecent %u)",
	       CW_ACCESS_RECENT, r.count, r.nrecent);
	int in_order = got == 0;
	for (int i = 0; in_order && i < CW_ACCESS_RECENT; i++) {
		int k = 5 - i; /* newest first */
		if (r.recent_ns[i] + slack < before[k] || r.recent_ns[i] > after[k] + slack)
			in_order = 0;
	}
	tap_ok(in_order, "recent_ns holds the four newest opens, newest first, each within its open");
	tap_ok(got == 0 && r.last_ns && r.last_ns == r.recent_ns[0], "last_ns is the newest open");
	uint64_t w2 = now_ns();
	int fd = open(f, O_WRONLY | O_APPEND);
	write(fd, "x", 1);
	close(fd);
	got = lookup(c, f, &r);
	tap_ok(got == 0 && r.count == 6 && r.last_ns + slack >= w2,
	       "a write refreshes last_ns but is not an access (count %u)", r.count);
	char out[PATH_MAX];
	pathf(out, c, "recout");
	write_bytes(out, 1);
	open_close(out, O_RDONLY);
	tap_ok(lookup(c, out, &r) == -ENOENT, "a file outside every root has no record");
}

/* A new file with the number of a deleted one starts a new record: removed
 * when the last link is unlinked, and by generation where the number was freed
 * by a rename over it, which no unlink hook sees. */
static void test_inode_reuse(struct ctx *c)
{
	char root[PATH_MAX], f[PATH_MAX], g[PATH_MAX], t[PATH_MAX];
	struct cw_cache_config cc[1];
	struct cw_access_rec r;
	struct stat st;
	int mounted;

	if (ext4_dir(c, "reuse", root, &mounted)) {
		tap_ok(0, "an ext4 directory for inode reuse");
		return;
	}
	cache(&cc[0], "reuse", root, 0, 64);
	apply(c, cc, 1);
	for (int way = 0; way < 2; way++) {
		fmt(f, sizeof(f), "%s/old%d", root, way);
		write_bytes(f, 10);
		for (int i = 0; i < 3; i++)
			open_close(f, O_RDONLY);
		stat(f, &st);
		ino_t old = st.st_ino;
		if (way == 0) {
			unlink(f);
		} else {
			fmt(t, sizeof(t), "%s/replacement", root);
			write_bytes(t, 1);
			rename(t, f); /* the old inode's last link goes without an unlink */
		}
		int found = 0;
		for (int i = 0; i < 64 && !found; i++) {
			fmt(g, sizeof(g), "%s/new%d_%d", root, way, i);
			int fd = open(g, O_WRONLY | O_CREAT | O_EXCL, 0644);
			fstat(fd, &st);
			close(fd);
			found = st.st_ino == old;
		}
		if (!found) {
			tap_ok(1, "# SKIP the file system did not reuse inode %lu", (unsigned long)old);
			continue;
		}
		open_close(g, O_RDONLY);
		int got = lookup(c, g, &r);
		tap_ok(got == 0 && r.count == 1, "a new file on a reused inode number (old one %s) starts at count 1 (got %u)",
		       way == 0 ? "unlinked" : "renamed over", r.count);
	}
	if (mounted)
		umount2(root, MNT_DETACH);
}

/* entries_written / entries_reused on a workload with known answers. */
static void test_reuse(struct ctx *c)
{
	char root[PATH_MAX], d[PATH_MAX], f[4][PATH_MAX], cp[PATH_MAX];
	struct cw_cache_config cc[1];

	pathf(root, c, "ru");
	pathf(d, c, "ru/g");
	mkdirs(d);
	cache(&cc[0], "ru", root, 1, 64);
	apply(c, cc, 1);
	for (int i = 0; i < 4; i++) {
		char rel[32];
		fmt(rel, sizeof(rel), "ru/g/f%d", i);
		pathf(f[i], c, rel);
		write_bytes(f[i], 1000);
	}
	tap_eq(dir_field(c, "ru", "g", ENTRIES_WRITTEN), 4, "four files created: 4 entries written");
	open_close(f[0], O_RDONLY);
	open_close(f[0], O_RDONLY);
	open_close(f[0], O_RDONLY);
	open_close(f[1], O_RDONLY);
	tap_eq(dir_field(c, "ru", "g", ENTRIES_REUSED), 2, "two of them read (one three times): 2 entries reused");
	write_bytes(f[0], 500); /* read since written: rewritten */
	write_bytes(f[2], 500); /* never read: still the same unread entry */
	tap_eq(dir_field(c, "ru", "g", ENTRIES_WRITTEN), 5, "rewriting a read file counts, rewriting an unread one does not: 5");
	open_close(f[0], O_RDONLY);
	tap_eq(dir_field(c, "ru", "g", ENTRIES_REUSED), 3, "the rewritten file read again: 3 entries reused");
	char cmd[3 * PATH_MAX];
	pathf(cp, c, "ru/g/copy");
	fmt(cmd, sizeof(cmd), "cp '%s' '%s'", f[3], cp);
	if (system(cmd))
		tap_diag("'%s' failed", cmd);
	tap_eq(dir_field(c, "ru", "g", ENTRIES_WRITTEN), 6, "cp into the cache makes one more entry written: 6");
	tap_eq(dir_field(c, "ru", "g", ENTRIES_REUSED), 4, "cp read f3 once: 4 entries reused");
}

/* track_reads: false turns a cache's opens, records and entry counters off
 * (its writes still count); a cache beside it keeps them. */
/* read(2) until the end of the file */
static void read_file_all(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static void test_track_reads_off(struct ctx *c)
{
	char off[PATH_MAX], on[PATH_MAX], f[PATH_MAX], g[PATH_MAX];
	struct cw_cache_config cc[2];
	struct cw_access_rec r;

	pathf(off, c, "troff");
	pathf(on, c, "tron");
	mkdirs(off);
	mkdirs(on);
	cache(&cc[0], "troff", off, 0, 64);
	cc[0].track_reads = false;
	cache(&cc[1], "tron", on, 0, 64);
	apply(c, cc, 2);
	pathf(f, c, "troff/f");
	pathf(g, c, "tron/g");
	write_bytes(f, 100);
	write_bytes(g, 100);
	open_close(f, O_RDONLY);
	open_close(g, O_RDONLY);
	tap_eq(dir_field(c, "troff", ".", READ_OPENS) + dir_field(c, "troff", ".", ENTRIES_WRITTEN) +
		       dir_field(c, "troff", ".", ENTRIES_REUSED), 0,
	       "track_reads: false: no read opens, no entries written or reused");
	tap_ok(lookup(c, f, &r) == -ENOENT, "track_reads: false: no access record");
	tap_eq(dir_field(c, "troff", ".", WRITE_BYTES), 100, "track_reads: false: writes still count");
	tap_ok(dir_field(c, "tron", ".", READ_OPENS) == 1 && lookup(c, g, &r) == 0 && r.count == 1,
	       "the cache beside it still tracks its opens");
	read_file_all(f);
	read_file_all(g);
	tap_eq(dir_field(c, "troff", ".", READS) + dir_field(c, "troff", ".", READ_BYTES), 0,
	       "track_reads: false: its reads are not counted either");
	tap_eq(dir_field(c, "tron", ".", READ_BYTES), 100, "the cache beside it counts the 100 bytes read");
}

/* A record map of 16 entries: opens past it are counted and dropped, the
 * series counts stay exact, nothing crashes. */
static void test_map_full(struct ctx *c)
{
	enum { FILES = 40 };
	char root[PATH_MAX], f[PATH_MAX];
	struct cw_cache_config cc[1];
	struct cw_loader_opts lo = { .backend = c->backend, .access_records = CW_ACCESS_RECORDS_MIN };
	struct ctx small = *c;
	char err[512];

	lo.access_records = 16;
	if (!tap_ok(cw_loader_open(&lo, &small.loader, err, sizeof(err)) == 0, "a loader with 16 access records")) {
		tap_diag("%s", err);
		return;
	}
	if (cw_collector_new(small.loader, 1000, &small.coll))
		die("collector");
	pathf(root, c, "full");
	mkdirs(root);
	for (int i = 0; i < FILES; i++) {
		fmt(f, sizeof(f), "%s/f%d", root, i);
		write_bytes(f, 1); /* before the cache is watched: no records yet */
	}
	cache(&cc[0], "full", root, 0, 64);
	apply(&small, cc, 1);
	for (int i = 0; i < FILES; i++) {
		fmt(f, sizeof(f), "%s/f%d", root, i);
		open_close(f, O_RDONLY);
	}
	struct cw_snapshot *s = poll_now(&small);
	const struct cw_dir_snap *d = find(s, "full", ".");
	tap_eq(d ? d->read_opens : 0, FILES, "all %d opens counted in the series", FILES);
	tap_eq(s ? s->access_records : 0, 16, "16 records in use");
	tap_eq(s ? s->access_records_max : 0, 16, "the limit is reported");
	tap_eq(s ? s->drops[CW_DROP_ACCESS_FULL] : 0, FILES - 16, "%d opens without a record counted as access_map_full", FILES - 16);
	tap_ok(s && s->access_map_bytes > 0, "the record map's memory is reported (%llu bytes)",
	       s ? (unsigned long long)s->access_map_bytes : 0ULL);
	cw_snapshot_put(s);
	fmt(f, sizeof(f), "%s/f0", root);
	tap_ok(unlink(f) == 0, "unlinking a recorded file");
	s = poll_now(&small);
	struct statfs sf;
	int sees = c->backend != CW_BACKEND_TRACEPOINT || (statfs(root, &sf) == 0 && sf.f_type == 0xEF53);
	tap_eq(s ? s->access_records : 0, sees ? 15 : 16, "its record goes where the backend sees the unlink's dentry (%s)",
	       sees ? "seen" : "not seen");
	cw_snapshot_put(s);
	cw_collector_free(small.coll);
	cw_loader_close(small.loader);
}

/* Seeding from saved state: merged, a newer recorded access wins. */
static void test_seed(struct ctx *c)
{
	char root[PATH_MAX], f[PATH_MAX];
	struct cw_cache_config cc[1];
	struct cw_access_rec r, seed = { .last_ns = 1000, .count = 7, .nrecent = 2, .recent_ns = { 1000, 900 } };
	struct stat st;

	pathf(root, c, "seed");
	mkdirs(root);
	pathf(f, c, "seed/f");
	write_bytes(f, 1);
	cache(&cc[0], "seed", root, 0, 64);
	apply(c, cc, 1);
	stat(f, &st);
	tap_ok(cw_access_seed(c->loader, st.st_dev, st.st_ino, &seed) == 0, "seeding a record");
	int got = lookup(c, f, &r);
	tap_ok(got == 0 && r.count == 7 && r.last_ns == 1000 && r.nrecent == 2, "the seeded record reads back");
	open_close(f, O_RDONLY);
	got = lookup(c, f, &r);
	tap_ok(got == 0 && r.count == 8 && r.last_ns > 1000 && r.nrecent == 3 && r.recent_ns[1] == 1000,
	       "an open after seeding keeps the seeded history (count %u, nrecent %u)", r.count, r.nrecent);
	seed.last_ns = 500;
	seed.recent_ns[0] = 500;
	seed.nrecent = 1;
	seed.count = 1;
	cw_access_seed(c->loader, st.st_dev, st.st_ino, &seed);
	got = lookup(c, f, &r);
	tap_ok(got == 0 && r.count == 9 && r.last_ns > 1000 && r.recent_ns[0] == r.last_ns,
	       "seeding older state into a live record keeps the newer access");
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	const char *bin;

	dp_options(&c, argc, argv, &bin);
	if (dp_attach(&c))
		return tap_done();
	/* fentry/kprobe see every unlink's dentry; tracepoint only on ext4 */
	c.ext4_unlink_bytes = c.backend != CW_BACKEND_TRACEPOINT;
	test_read_opens(&c);
	test_records(&c);
	test_inode_reuse(&c);
	test_reuse(&c);
	test_seed(&c);
	test_track_reads_off(&c);
	struct cw_snapshot *s = poll_now(&c);
	tap_eq(s ? s->drops[CW_DROP_ACCESS_FULL] : 1, 0, "the default record map dropped nothing");
	cw_snapshot_put(s);
	dp_detach(&c);
	test_map_full(&c);
	return dp_done(&c);
}
