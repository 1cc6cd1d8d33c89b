/* Every data path, per backend: exact write, read and clone counts for each way bytes enter or leave a file. */
#include <liburing.h>
#include "dp_harness.h"
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <signal.h>
#include <linux/fs.h>

#define SRC_SIZE 70000 /* the source file of every case: more than a page, not a multiple */

/* The counters one case moves, in a directory or in total. */
enum { WB, W, WE, RB, R, RE, CB, NF };
static const char *const fname[NF] = { "write_bytes", "writes", "write_errors", "read_bytes",
				       "reads", "read_errors", "clone_bytes" };

struct cnt {
	uint64_t v[NF];
};

static struct ctx *C;

static void add_dir(struct cnt *t, const struct cw_dir_snap *d)
{
	t->v[WB] += d->write_bytes;
	t->v[W] += d->writes;
	t->v[WE] += d->write_errors;
	t->v[RB] += d->read_bytes;
	t->v[R] += d->reads;
	t->v[RE] += d->read_errors;
	t->v[CB] += d->clone_bytes;
}

/* One directory's counters (cache NULL: the sum over every series of every cache). */
static struct cnt counts(const char *cache, const char *dir)
{
	struct cw_snapshot *s = poll_now(C);
	struct cnt t = { 0 };

	if (cache) {
		const struct cw_dir_snap *d = find(s, cache, dir);
		if (d)
			add_dir(&t, d);
	}
	for (size_t i = 0; !cache && s && i < s->ncaches; i++)
		for (size_t j = 0; j < s->caches[i].ndirs; j++)
			add_dir(&t, &s->caches[i].dirs[j]);
	cw_snapshot_put(s);
	return t;
}

static struct cnt diff(struct cnt a, struct cnt b)
{
	for (int i = 0; i < NF; i++)
		a.v[i] -= b.v[i];
	return a;
}

/* ---- a tally of what a case did, from the results it saw ------------------ */

static void tally(struct cnt *t, long ret, int write)
{
	t->v[write ? W : R]++;
	if (ret < 0)
		t->v[write ? WE : RE]++;
	else
		t->v[write ? WB : RB] += ret;
}

/* Where a case reads from and writes to, and what it expects there. */
struct where {
	char src[PATH_MAX]; /* the source file, SRC_SIZE bytes, made before the case */
	char dst[PATH_MAX]; /* the destination file (absent before the case) */
	struct cnt s, d;    /* what the case did to each */
	int bytes_only;     /* a real program: call counts unknown, bytes exact */
	int ok;             /* the case did what it meant to */
};

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		die(path);
	return fd;
}

static char buf[SRC_SIZE] __attribute__((aligned(4096)));

/* ---- writes ---------------------------------------------------------------- */

static void c_write(struct where *w)
{
	int fd = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);

	for (int i = 0; i < 3; i++)
		tally(&w->d, write(fd, buf, 1000), 1);
	close(fd);
	w->ok = w->d.v[WB] == 3000;
}

static void c_pwrite64(struct where *w)
{
	int fd = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);

	tally(&w->d, pwrite(fd, buf, 500, 0), 1);
	tally(&w->d, pwrite(fd, buf, 500, 500), 1);
	close(fd);
	w->ok = w->d.v[WB] == 1000;
}

static struct iovec iov2[2] = { { buf, 100 }, { buf + 100, 200 } };

static void c_writev(struct where *w)
{
	int fd = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);

	tally(&w->d, writev(fd, iov2, 2), 1);
	tally(&w->d, writev(fd, iov2, 2), 1);
	close(fd);
	w->ok = w->d.v[WB] == 600;
}

static void c_pwritev(struct where *w)
{
	int fd = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);

	tally(&w->d, syscall(SYS_pwritev, fd, iov2, 2, 4096, 0), 1);
	close(fd);
	w->ok = w->d.v[WB] == 300;
}

/* glibc turns pwritev2 with no flags into pwritev: the raw call, with a flag */
static void c_pwritev2(struct where *w)
{
	int fd = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);

	tally(&w->d, syscall(SYS_pwritev2, fd, iov2, 2, 0, 0, RWF_DSYNC), 1);
	close(fd);
	w->ok = w->d.v[WB] == 300;
}

/* A write on a descriptor opened read-only fails: a call and an error. */
static void c_write_error(struct where *w)
{
	int fd = open_or_die(w->src, O_RDONLY);

	tally(&w->s, write(fd, buf, 10), 1);
	close(fd);
	w->ok = w->s.v[WE] == 1;
}

static void run_cmd(const char *cmd, struct where *w)
{
	char full[4 * PATH_MAX];

	fmt(full, sizeof(full), cmd, w->src, w->dst);
	w->ok = system(full) == 0;
	if (!w->ok)
		tap_diag("'%s' failed", full);
	w->bytes_only = 1;
}

static void c_dd_odirect(struct where *w)
{
	char cmd[2 * PATH_MAX];

	fmt(cmd, sizeof(cmd), "dd if=/dev/zero of='%s' bs=4096 count=4 oflag=direct status=none", w->dst);
	w->ok = system(cmd) == 0;
	/* dd makes exactly count write calls of bs bytes */
	w->d.v[W] = 4;
	w->d.v[WB] = 16384;
}

/* O_DIRECT from this program: aligned buffer, offset and length */
static void c_odirect(struct where *w)
{
	int out = open(w->dst, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
	int in = open(w->src, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (out < 0 || in < 0) {
		tap_diag("O_DIRECT open: %s", strerror(errno));
		return;
	}
	tally(&w->d, pwrite(out, buf, 8192, 0), 1);
	tally(&w->d, pwrite(out, buf, 4096, 8192), 1);
	tally(&w->s, pread(in, buf, 8192, 4096), 0);
	close(in);
	close(out);
	w->ok = w->d.v[WB] == 12288 && w->s.v[RB] == 8192;
}

/* ---- copies: a read in the source, a write in the destination ------------ */

static void c_cp(struct where *w)
{
	run_cmd("cp '%s' '%s'", w);
	w->s.v[RB] = w->d.v[WB] = SRC_SIZE;
}

static void c_cat(struct where *w)
{
	run_cmd("cat '%s' > '%s'", w);
	w->s.v[RB] = w->d.v[WB] = SRC_SIZE;
}

/* copy_file_range until the end, falling back to read/write when the kernel
 * refuses a cross-file-system copy (EXDEV from 5.19), as cp does. */
static void c_copy_file_range(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);
	ssize_t r;

	do {
		r = copy_file_range(in, NULL, out, NULL, SRC_SIZE, 0);
		tally(&w->s, r, 0);
		tally(&w->d, r, 1);
	} while (r > 0);
	if (r < 0 && errno == EXDEV) {
		tap_diag("copy_file_range across file systems: EXDEV, read/write as cp does");
		while ((r = read(in, buf, sizeof(buf))) > 0) {
			tally(&w->s, r, 0);
			tally(&w->d, write(out, buf, r), 1);
		}
		tally(&w->s, r, 0);
	}
	close(in);
	close(out);
	w->ok = w->d.v[WB] == SRC_SIZE && w->s.v[RB] == SRC_SIZE;
}

static void c_sendfile(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);
	ssize_t r;

	do {
		r = sendfile(out, in, NULL, SRC_SIZE);
		tally(&w->s, r, 0);
		tally(&w->d, r, 1);
	} while (r > 0);
	close(in);
	close(out);
	w->ok = w->d.v[WB] == SRC_SIZE;
}

/* file -> pipe -> file: the first splice reads the source, the second writes the destination */
static void c_splice(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);
	int p[2];
	ssize_t r;

	if (pipe(p))
		die("pipe");
	while ((r = splice(in, NULL, p[1], NULL, 16384, 0)) > 0) {
		tally(&w->s, r, 0);
		tally(&w->d, splice(p[0], NULL, out, NULL, r, 0), 1);
	}
	tally(&w->s, r, 0);
	close(p[0]);
	close(p[1]);
	close(in);
	close(out);
	w->ok = w->d.v[WB] == SRC_SIZE && w->s.v[RB] == SRC_SIZE;
}

/* ---- io_uring ---------------------------------------------------------------- */

static void uring_wait(struct io_uring *ring, int n, struct cnt *t, int write)
{
	struct io_uring_cqe *cqe;

	io_uring_submit(ring);
	for (int i = 0; i < n; i++) {
		if (io_uring_wait_cqe(ring, &cqe))
			die("io_uring_wait_cqe");
		tally(t, cqe->res, write);
		io_uring_cqe_seen(ring, cqe);
	}
}

/* One request at a time, so each completes before the next starts. */
static void uring_one(struct io_uring *ring, struct cnt *t, int write)
{
	uring_wait(ring, 1, t, write);
}

static void c_uring_write(struct where *w)
{
	int fd = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);
	struct iovec fixed = { buf, 4096 };
	struct io_uring ring;

	if (io_uring_queue_init(4, &ring, 0) || io_uring_register_buffers(&ring, &fixed, 1))
		die("io_uring setup");
	io_uring_prep_write(io_uring_get_sqe(&ring), fd, buf, 100, 0);
	uring_one(&ring, &w->d, 1);
	io_uring_prep_writev(io_uring_get_sqe(&ring), fd, iov2, 2, 100);
	uring_one(&ring, &w->d, 1);
	io_uring_prep_write_fixed(io_uring_get_sqe(&ring), fd, buf, 400, 400, 0);
	uring_one(&ring, &w->d, 1);
	io_uring_queue_exit(&ring);
	close(fd);
	w->ok = w->d.v[WB] == 800;
}

static void c_uring_read(struct where *w)
{
	int fd = open_or_die(w->src, O_RDONLY);
	struct iovec fixed = { buf, 4096 };
	struct io_uring ring;

	if (io_uring_queue_init(4, &ring, 0) || io_uring_register_buffers(&ring, &fixed, 1))
		die("io_uring setup");
	io_uring_prep_read(io_uring_get_sqe(&ring), fd, buf, 1000, 0);
	uring_one(&ring, &w->s, 0);
	io_uring_prep_readv(io_uring_get_sqe(&ring), fd, iov2, 2, 1000);
	uring_one(&ring, &w->s, 0);
	/* 400 asked 200 before the end: a short read */
	io_uring_prep_read_fixed(io_uring_get_sqe(&ring), fd, buf, 400, SRC_SIZE - 200, 0);
	uring_one(&ring, &w->s, 0);
	io_uring_queue_exit(&ring);
	close(fd);
	w->ok = w->s.v[RB] == 1500;
}

/* ---- reads ------------------------------------------------------------------- */

static void c_read(struct where *w)
{
	int fd = open_or_die(w->src, O_RDONLY);
	ssize_t r;

	while ((r = read(fd, buf, 30000)) > 0)
		tally(&w->s, r, 0);
	tally(&w->s, r, 0); /* the end: a call returning 0 */
	close(fd);
	w->ok = w->s.v[RB] == SRC_SIZE && w->s.v[R] == 4;
}

static void c_pread64(struct where *w)
{
	int fd = open_or_die(w->src, O_RDONLY);

	tally(&w->s, pread(fd, buf, 1000, 0), 0);
	tally(&w->s, pread(fd, buf, 1000, SRC_SIZE - 500), 0);
	close(fd);
	w->ok = w->s.v[RB] == 1500;
}

static void c_readv(struct where *w)
{
	int fd = open_or_die(w->src, O_RDONLY);

	tally(&w->s, readv(fd, iov2, 2), 0);
	close(fd);
	w->ok = w->s.v[RB] == 300;
}

static void c_preadv(struct where *w)
{
	int fd = open_or_die(w->src, O_RDONLY);

	tally(&w->s, syscall(SYS_preadv, fd, iov2, 2, SRC_SIZE - 100, 0), 0);
	close(fd);
	w->ok = w->s.v[RB] == 100;
}

static void c_preadv2(struct where *w)
{
	int fd = open_or_die(w->src, O_RDONLY);

	tally(&w->s, syscall(SYS_preadv2, fd, iov2, 2, 0, 0, RWF_HIPRI), 0);
	close(fd);
	w->ok = w->s.v[RB] == 300;
}

/* A read on a descriptor opened write-only fails: a call and an error. */
static void c_read_error(struct where *w)
{
	int fd = open_or_die(w->src, O_WRONLY);

	tally(&w->s, read(fd, buf, 10), 0);
	close(fd);
	w->ok = w->s.v[RE] == 1;
}

/* ---- i386 syscalls (int 0x80) from this 64-bit process ------------------------ */

#if defined(__x86_64__)
/* Arguments in ebx, ecx, edx, esi; int 0x80 clobbers r8-r11. */
static long int80(long nr, long b, long c, long d, long si)
{
	long r;

	asm volatile("int $0x80"
		     : "=a"(r)
		     : "a"(nr), "b"(b), "c"(c), "d"(d), "S"(si)
		     : "memory", "r8", "r9", "r10", "r11");
	return r;
}

static int int80_works(void)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		_exit(int80(20 /* i386 getpid */, 0, 0, 0, 0) == getpid() ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* i386 read (3), readv (145) and sendfile64 (239): their own numbers and registers */
static void c_i386(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);
	char *low = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (low == MAP_FAILED)
		die("mmap MAP_32BIT");
	tally(&w->s, int80(3, in, (long)(uintptr_t)low, 1000, 0), 0);
	uint32_t *iov = (uint32_t *)(low + 4096); /* struct compat_iovec { u32 base, len; } */
	iov[0] = (uint32_t)(uintptr_t)low;
	iov[1] = 100;
	iov[2] = (uint32_t)(uintptr_t)low;
	iov[3] = 23;
	tally(&w->s, int80(145, in, (long)(uintptr_t)iov, 2, 0), 0);
	long r = int80(239, out, in, 0, 5000);
	tally(&w->s, r, 0);
	tally(&w->d, r, 1);
	munmap(low, 8192);
	close(in);
	close(out);
	w->ok = w->s.v[RB] == 1000 + 123 + 5000 && w->d.v[WB] == 5000;
}
#endif

/* ---- clones (a file system with reflink) ---------------------------------------- */

static void c_ficlone(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);

	w->ok = ioctl(out, FICLONE, in) == 0;
	w->d.v[CB] = SRC_SIZE;
	close(in);
	close(out);
}

static void c_ficlonerange(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);
	struct file_clone_range r = { .src_fd = in, .src_offset = 4096, .src_length = 8192, .dest_offset = 0 };

	w->ok = ioctl(out, FICLONERANGE, &r) == 0;
	w->d.v[CB] = 8192;
	close(in);
	close(out);
}

/* the whole file in one call: the file system serves it by a clone */
static void c_copy_clone(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);
	ssize_t r = copy_file_range(in, NULL, out, NULL, SRC_SIZE, 0);

	w->ok = r == SRC_SIZE;
	w->d.v[CB] = SRC_SIZE;
	/* at the end of the source nothing is cloned: a copy call of 0 bytes */
	r = copy_file_range(in, NULL, out, NULL, SRC_SIZE, 0);
	tally(&w->s, r, 0);
	tally(&w->d, r, 1);
	w->ok = w->ok && r == 0;
	close(in);
	close(out);
}

static void c_cp_reflink(struct where *w)
{
	run_cmd("cp --reflink=always '%s' '%s'", w);
	w->bytes_only = 0; /* a clone: no read or write call at all */
	w->d.v[CB] = SRC_SIZE;
}

/* An unaligned range: xfs refuses the clone and copy_file_range copies
 * through splice. fentry and kprobe see the splice and count a copy; the
 * tracepoint backend decides from the files and counts a clone (documented
 * in docs/backends.md, "Clones"). */
static void c_copy_unaligned(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_WRONLY | O_CREAT | O_TRUNC);
	loff_t off = 100;
	ssize_t r = copy_file_range(in, &off, out, NULL, 1000, 0);

	w->ok = r == 1000;
	if (C->backend == CW_BACKEND_TRACEPOINT) {
		w->d.v[CB] = r > 0 ? r : 0;
	} else {
		tally(&w->s, r, 0);
		tally(&w->d, r, 1);
	}
	close(in);
	close(out);
}

static int gnu_cp(void)
{
	return system("cp --version 2>/dev/null | grep -q 'GNU coreutils'") == 0;
}

/* coreutils 9 clones by default where it can (--reflink=auto); busybox's cp
 * (a minimal system's) copies the data */
static void c_cp_auto(struct where *w)
{
	run_cmd("cp '%s' '%s'", w);
	if (!gnu_cp()) {
		tap_diag("cp is not GNU coreutils: it copies, expected as a copy");
		w->s.v[RB] = w->d.v[WB] = SRC_SIZE;
		return;
	}
	w->bytes_only = 0;
	w->d.v[CB] = SRC_SIZE;
}

/* ---- mmap: a documented blind spot (docs/backends.md) ------------------------ */

static void c_mmap(struct where *w)
{
	int in = open_or_die(w->src, O_RDONLY), out = open_or_die(w->dst, O_RDWR | O_CREAT | O_TRUNC);
	volatile char sum = 0;

	if (ftruncate(out, 8192))
		die("ftruncate");
	char *o = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, out, 0);
	char *i = mmap(NULL, SRC_SIZE, PROT_READ, MAP_SHARED, in, 0);
	if (o == MAP_FAILED || i == MAP_FAILED)
		die("mmap");
	memset(o, 'm', 8192);
	for (int k = 0; k < SRC_SIZE; k += 4096)
		sum += i[k];
	w->ok = msync(o, 8192, MS_SYNC) == 0;
	munmap(o, 8192);
	munmap(i, SRC_SIZE);
	close(in);
	close(out);
	/* expected: nothing, the pages were written and read without a call */
}

/* ---- the cases ------------------------------------------------------------------ */

struct place {
	const char *cache; /* NULL: not watched */
	char dir[PATH_MAX];
};

enum { P_EXT4, P_TMPFS, P_XFS, P_OUT, P_OUT_TMPFS, P_COUNT };
static struct place places[P_COUNT];

struct pcase {
	const char *name;
	void (*run)(struct where *);
	int src, dst; /* places */
	const char *note;
};

static const struct pcase cases[] = {
	{ "write", c_write, P_EXT4, P_EXT4, NULL },
	{ "pwrite64", c_pwrite64, P_EXT4, P_EXT4, NULL },
	{ "writev", c_writev, P_EXT4, P_EXT4, NULL },
	{ "pwritev", c_pwritev, P_EXT4, P_EXT4, NULL },
	{ "pwritev2", c_pwritev2, P_EXT4, P_EXT4, NULL },
	{ "write_error", c_write_error, P_EXT4, P_EXT4, NULL },
	{ "odirect", c_odirect, P_EXT4, P_EXT4, "O_DIRECT pwrite and pread" },
	{ "dd_odirect", c_dd_odirect, P_EXT4, P_EXT4, "dd oflag=direct" },
	{ "copy_file_range", c_copy_file_range, P_EXT4, P_EXT4, "same file system: splice fallback" },
	{ "copy_file_range_cross", c_copy_file_range, P_TMPFS, P_EXT4, "tmpfs to ext4" },
	{ "copy_file_range_out", c_copy_file_range, P_EXT4, P_OUT, "from a cache to an unwatched dir" },
	{ "cp", c_cp, P_EXT4, P_EXT4, "coreutils cp (copy_file_range)" },
	{ "cp_cross", c_cp, P_TMPFS, P_EXT4, "coreutils cp, tmpfs to ext4" },
	{ "cat", c_cat, P_EXT4, P_EXT4, "cat a > b (copy_file_range)" },
	{ "sendfile", c_sendfile, P_EXT4, P_EXT4, NULL },
	{ "sendfile_cross", c_sendfile, P_TMPFS, P_EXT4, "tmpfs to ext4" },
	{ "splice", c_splice, P_EXT4, P_EXT4, "file -> pipe -> file" },
	{ "uring_write", c_uring_write, P_EXT4, P_EXT4, "IORING_OP_WRITE, WRITEV, WRITE_FIXED" },
	{ "uring_read", c_uring_read, P_EXT4, P_EXT4, "IORING_OP_READ, READV, READ_FIXED" },
	{ "read", c_read, P_EXT4, P_EXT4, NULL },
	{ "pread64", c_pread64, P_EXT4, P_EXT4, NULL },
	{ "readv", c_readv, P_EXT4, P_EXT4, NULL },
	{ "preadv", c_preadv, P_EXT4, P_EXT4, NULL },
	{ "preadv2", c_preadv2, P_EXT4, P_EXT4, NULL },
	{ "read_tmpfs", c_read, P_TMPFS, P_TMPFS, NULL },
	{ "read_error", c_read_error, P_EXT4, P_EXT4, NULL },
#if defined(__x86_64__)
	{ "i386", c_i386, P_EXT4, P_EXT4, "read, readv, sendfile64 by int 0x80" },
#endif
	{ "mmap", c_mmap, P_EXT4, P_EXT4, "blind spot: mmap reads and writes count 0" },
	{ "ficlone", c_ficlone, P_XFS, P_XFS, "FICLONE on xfs" },
	{ "ficlonerange", c_ficlonerange, P_XFS, P_XFS, "FICLONERANGE on xfs" },
	{ "copy_clone", c_copy_clone, P_XFS, P_XFS, "copy_file_range served by a clone on xfs" },
	{ "copy_unaligned", c_copy_unaligned, P_XFS, P_XFS,
	  "unaligned copy_file_range on xfs (tracepoint: a clone, documented)" },
	{ "cp_reflink", c_cp_reflink, P_XFS, P_XFS, "cp --reflink=always on xfs" },
	{ "cp_auto", c_cp_auto, P_XFS, P_XFS, "cp (reflink=auto) on xfs" },
};

static int skip_uring;   /* the kernel's io_uring_complete carries no request */

static void make_src(const char *path)
{
	write_bytes(path, SRC_SIZE);
}

/* d == want field by field; calls are left out for real programs. */
static int cnt_eq(const struct cnt *got, const struct cnt *want, int bytes_only, char *why, size_t len)
{
	why[0] = 0;
	for (int i = 0; i < NF; i++) {
		if (bytes_only && (i == W || i == R || i == WE || i == RE))
			continue;
		if (got->v[i] != want->v[i]) {
			size_t n = strlen(why);
			snprintf(why + n, len - n, " %s=%llu (want %llu)", fname[i],
				 (unsigned long long)got->v[i], (unsigned long long)want->v[i]);
		}
	}
	return why[0] == 0;
}

static void case_paths(const struct pcase *pc, int watched, struct where *w, char *sdir, char *ddir)
{
	int s = watched ? pc->src : (pc->src == P_TMPFS ? P_OUT_TMPFS : P_OUT);
	int d = watched ? pc->dst : P_OUT;

	if (pc->src == P_XFS && !watched)
		s = d = P_XFS; /* the unwatched run of a clone case is skipped below */
	fmt(sdir, PATH_MAX, "%s/%s.s", places[s].dir, pc->name);
	fmt(ddir, PATH_MAX, "%s/%s.d", places[d].dir, pc->name);
	mkdirs(sdir);
	mkdirs(ddir);
	fmt(w->src, PATH_MAX, "%s/f", sdir);
	fmt(w->dst, PATH_MAX, "%s/f", ddir);
	make_src(w->src);
}

static void run_case(const struct pcase *pc)
{
	char sdir[PATH_MAX], ddir[PATH_MAX], why[512], name[160];
	struct where w = { 0 };
	struct cnt before, after;

	if (pc->src == P_XFS && !places[P_XFS].cache)
		return;
#if defined(__x86_64__)
	if (pc->run == c_i386 && !int80_works()) {
		tap_ok(1, "# SKIP this kernel refuses 32-bit syscalls (int 0x80 faults), so none can be misread");
		return;
	}
#endif
	/* the same case between unwatched files first: nothing may count */
	if (pc->src != P_XFS) {
		case_paths(pc, 0, &w, sdir, ddir);
		before = counts(NULL, NULL);
		pc->run(&w);
		after = counts(NULL, NULL);
		struct cnt zero = { 0 }, dt = diff(after, before);
		tap_ok(w.ok && cnt_eq(&dt, &zero, 0, why, sizeof(why)),
		       "%s between unwatched files counts nothing%s", pc->name, why);
	}
	memset(&w, 0, sizeof(w));
	case_paths(pc, 1, &w, sdir, ddir);
	const char *sc = places[pc->src].cache, *dc = places[pc->dst].cache;
	char sgrp[96], dgrp[96];
	fmt(sgrp, sizeof(sgrp), "%s.s", pc->name);
	fmt(dgrp, sizeof(dgrp), "%s.d", pc->name);
	struct cnt s0 = counts(sc, sgrp), d0 = dc ? counts(dc, dgrp) : (struct cnt){ 0 };
	before = counts(NULL, NULL);
	pc->run(&w);
	after = counts(NULL, NULL);
	struct cnt ds = diff(counts(sc, sgrp), s0), dd = dc ? diff(counts(dc, dgrp), d0) : (struct cnt){ 0 };
	struct cnt want_total = { 0 }, dt = diff(after, before);
	for (int i = 0; i < NF; i++)
		want_total.v[i] = w.s.v[i] + (dc ? w.d.v[i] : 0);
	if (!dc)
		memset(&w.d, 0, sizeof(w.d)); /* the destination is not watched: nothing there */

	int uring_blind = skip_uring && !strncmp(pc->name, "uring", 5);
	if (uring_blind) {
		/* documented: before 5.17 the completion tracepoint has no request */
		memset(&w.s, 0, sizeof(w.s));
		memset(&w.d, 0, sizeof(w.d));
		memset(&want_total, 0, sizeof(want_total));
	}
	fmt(name, sizeof(name), "%s%s%s", pc->name, pc->note ? ": " : "", pc->note ? pc->note : "");
	tap_ok(w.ok, "%s: the operation itself succeeded", name);
	tap_ok(cnt_eq(&ds, &w.s, w.bytes_only, why, sizeof(why)), "%s: exact counts in the source dir%s",
	       name, why);
	if (dc)
		tap_ok(cnt_eq(&dd, &w.d, w.bytes_only, why, sizeof(why)),
		       "%s: exact counts in the destination dir%s", name, why);
	tap_ok(cnt_eq(&dt, &want_total, w.bytes_only, why, sizeof(why)),
	       "%s: nothing counted anywhere else%s%s", name, why,
	       uring_blind ? " (documented blind spot before Linux 5.17: counts 0)" : "");
	if (w.bytes_only)
		tap_diag("%s: %llu write calls, %llu read calls (a real program: not checked)", pc->name,
			 (unsigned long long)dd.v[W], (unsigned long long)ds.v[R]);
}

/* Linux before 5.17: io_uring_complete has no request; the loader says so too. */
static int kernel_before(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return 0;
	return a < maj || (a == maj && b < min);
}

static int mount_fs(const char *type, const char *dir, const char *img)
{
	char cmd[4 * PATH_MAX];

	mkdirs(dir);
	if (!strcmp(type, "tmpfs"))
		return mount("tmpfs", dir, "tmpfs", 0, "size=64m");
	fmt(cmd, sizeof(cmd), "truncate -s 320M '%s' && mkfs.xfs -q -f -m reflink=1 '%s' >/dev/null 2>&1 && "
	    "mount -o loop '%s' '%s'", img, img, img, dir);
	return system(cmd) ? -1 : 0;
}

/* Unmounted at any exit, a Bail out included, so no mount or loop device outlives the test. */
static char mounted[2][PATH_MAX];

static void unmount_all(void)
{
	for (int i = 0; i < 2; i++)
		if (mounted[i][0] && umount2(mounted[i], MNT_DETACH))
			printf("# umount %s: %s\n", mounted[i], strerror(errno));
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	const char *bin;
	int ci = getenv("CI") && !strcmp(getenv("CI"), "true"), no_clone = 0;
	char tmpfs[PATH_MAX], xfs[PATH_MAX], img[PATH_MAX];

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--no-clone")) {
			no_clone = 1;
			for (int j = i; j < argc - 1; j++)
				argv[j] = argv[j + 1];
			argc--;
		}
	dp_options(&c, argc, argv, &bin);
	C = &c;
	memset(buf, 'p', sizeof(buf));
	if (dp_attach(&c))
		return dp_done(&c);
	skip_uring = kernel_before(5, 17);

	pathf(places[P_EXT4].dir, &c, "p");
	pathf(places[P_OUT].dir, &c, "out");
	pathf(tmpfs, &c, "t");
	pathf(xfs, &c, "x");
	pathf(img, &c, "xfs.img");
	mkdirs(places[P_EXT4].dir);
	mkdirs(places[P_OUT].dir);
	if (!tap_ok(mount_fs("tmpfs", tmpfs, NULL) == 0, "a tmpfs for cross-file-system copies"))
		return dp_done(&c);
	fmt(mounted[0], PATH_MAX, "%s", tmpfs);
	atexit(unmount_all);
	fmt(places[P_TMPFS].dir, PATH_MAX, "%s/c", tmpfs);
	fmt(places[P_OUT_TMPFS].dir, PATH_MAX, "%s/out", tmpfs);
	mkdirs(places[P_TMPFS].dir);
	mkdirs(places[P_OUT_TMPFS].dir);
	places[P_EXT4].cache = "p";
	places[P_TMPFS].cache = "t";

	int xfs_mounted = 0;
	if (no_clone) {
		tap_diag("clones not tested here (--no-clone: no xfs in this environment); the host run tests them");
	} else if (mount_fs("xfs", xfs, img) == 0) {
		xfs_mounted = 1;
		fmt(mounted[1], PATH_MAX, "%s", xfs);
		fmt(places[P_XFS].dir, PATH_MAX, "%s/c", xfs);
		mkdirs(places[P_XFS].dir);
		places[P_XFS].cache = "x";
	} else {
		tap_ok(!ci, "an xfs file system with reflink (mkfs.xfs, loop device) for the clone cases%s",
		       ci ? "" : " # SKIP not available");
	}

	struct cw_cache_config cc[3];
	size_t n = 0;
	cache(&cc[n++], "p", places[P_EXT4].dir, 1, 0);
	cache(&cc[n++], "t", places[P_TMPFS].dir, 1, 0);
	if (xfs_mounted)
		cache(&cc[n++], "x", places[P_XFS].dir, 1, 0);
	apply(&c, cc, n);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);

	struct cw_snapshot *s = poll_now(&c);
	uint64_t drops = 0;
	for (int d = 0; s && d < CW_DROP_MAX; d++)
		drops += s->drops[d];
	tap_eq(drops, 0, "nothing was dropped by the BPF side");
	cw_snapshot_put(s);
	dp_detach(&c);
	unmount_all();
	mounted[0][0] = mounted[1][0] = 0;
	return dp_done(&c);
}
