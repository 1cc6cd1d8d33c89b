/* Races the purge engine deterministically (TAP): its test hook swaps victims between scan and unlink. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/log.h"
#include "purge/purge.h"
#include "tap.h"

static char T[256];

/* TAP from tap.h; the checks here name themselves with fixed strings */
#define ok(cond, what) tap_ok((cond), "%s", (what))

static void path(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", T, rel);
}

/* A file with some content, used 30 days ago. */
static void mk(const char *rel, const char *content)
{
	char p[PATH_MAX], dir[PATH_MAX + 64];
	path(p, rel);
	snprintf(dir, sizeof(dir), "mkdir -p \"$(dirname '%s')\"", p);
	if (system(dir) != 0)
		exit(1);
	FILE *f = fopen(p, "w");
	if (!f)
		exit(1);
	fprintf(f, "%s\n", content);
	fclose(f);
	struct timespec ts[2] = { { .tv_sec = time(NULL) - 30 * 86400 }, { .tv_sec = time(NULL) - 30 * 86400 } };
	utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

static int has(const char *rel, const char *content)
{
	char p[PATH_MAX], buf[256] = "";
	path(p, rel);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	int n = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	return n && !strncmp(buf, content, strlen(content));
}

static int is_link(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	path(p, rel);
	return lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

static void reset(void)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/c' '%s/outside'", T, T);
	if (system(cmd) != 0)
		exit(1);
	mk("outside/secret", "secret");
	mk("outside/hl", "hardlinked");
	mk("outside/dir/a", "outside a");
	mk("outside/dir/b", "outside b");
}

enum attack { SWAP_SYMLINK, SWAP_HARDLINK, SWAP_DIR, TOUCH, SWAP_PARENT, STOP };

struct hook_ctx {
	enum attack a;
	int calls;
	atomic_bool *stop;
};

static void hook(void *ctx, int dirfd, const char *name, const char *relpath)
{
	struct hook_ctx *h = ctx;
	char out[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	(void)relpath;
	if (h->calls++ > 0)
		return;
	switch (h->a) {
	case SWAP_SYMLINK:
		path(out, "outside/secret");
		unlinkat(dirfd, name, 0);
		if (symlinkat(out, dirfd, name) != 0)
			perror("symlinkat");
		break;
	case SWAP_HARDLINK:
		path(out, "outside/hl");
		unlinkat(dirfd, name, 0);
		if (linkat(AT_FDCWD, out, dirfd, name, 0) != 0)
			perror("linkat");
		break;
	case SWAP_DIR:
		unlinkat(dirfd, name, 0);
		mkdirat(dirfd, name, 0755);
		break;
	case TOUCH:
		utimensat(dirfd, name, NULL, 0);
		break;
	case SWAP_PARENT:
		/* the directory holding the next victims becomes a symlink out of the root */
		path(a, "c/sub");
		path(b, "c/sub.moved");
		path(out, "outside/dir");
		if (rename(a, b) != 0 || symlink(out, a) != 0)
			perror("swap parent");
		break;
	case STOP:
		atomic_store(h->stop, true);
		break;
	}
}

static int run(enum attack a, struct cw_purge_policy *pol, struct cw_purge_report *rep)
{
	atomic_bool stop = false;
	struct hook_ctx h = { .a = a, .stop = &stop };
	char root[PATH_MAX], err[512];
	path(root, "c");
	struct cw_purge_opts o = { .name = "race", .path = root, .policy = pol, .stop = &stop,
				   .before_unlink = hook, .hook_ctx = &h };
	int rc = cw_purge_run(&o, rep, err, sizeof(err));
	if (rc != 0)
		printf("# purge failed: %s\n", err);
	return rc;
}

static uint64_t deleted(const struct cw_purge_report *r)
{
	uint64_t n = 0;
	for (int i = 0; i < CW_PURGE_REASON_MAX; i++)
		n += r->files[i];
	return n;
}

static void test_swap_symlink(struct cw_purge_policy *pol)
{
	struct cw_purge_report rep;
	reset();
	mk("c/v", "victim");
	ok(run(SWAP_SYMLINK, pol, &rep) == 0, "symlink swap: purge runs");
	ok(has("outside/secret", "secret"), "symlink swap: the target outside is intact");
	ok(is_link("c/v"), "symlink swap: the symlink itself is left (not a regular file)");
	ok(rep.skipped == 1 && deleted(&rep) == 0, "symlink swap: counted as skipped, nothing deleted");
}

static void test_swap_hardlink(struct cw_purge_policy *pol)
{
	struct cw_purge_report rep;
	reset();
	mk("c/v", "victim");
	run(SWAP_HARDLINK, pol, &rep);
	ok(has("outside/hl", "hardlinked"), "hard link swap: the outside file is intact");
	ok(has("c/v", "hardlinked") && rep.skipped == 1, "hard link swap: another inode, skipped");
}

static void test_swap_dir(struct cw_purge_policy *pol)
{
	struct cw_purge_report rep;
	reset();
	mk("c/v", "victim");
	run(SWAP_DIR, pol, &rep);
	char p[PATH_MAX];
	struct stat st;
	path(p, "c/v");
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && rep.skipped == 1, "directory swap: skipped");
}

static void test_touch(struct cw_purge_policy *pol)
{
	struct cw_purge_report rep;
	reset();
	mk("c/v", "victim");
	mk("c/w", "victim 2");
	run(TOUCH, pol, &rep);
	ok(rep.skipped == 1 && deleted(&rep) == 1, "used since the scan: skipped, the other one deleted");
	ok(has("c/v", "victim") != has("c/w", "victim 2"), "exactly one of the two remains");
}

/* Victims all in one histogram bucket go through the candidate list and are
 * reached again by path: a parent swapped for a symlink must stop that. */
static void test_swap_parent(struct cw_purge_policy *base)
{
	struct cw_purge_policy pol = *base;
	struct cw_purge_report rep;
	reset();
	mk("c/sub/a", "inside a");
	mk("c/sub/b", "inside b");
	mk("c/sub/c", "inside c");
	mk("c/sub/d", "inside d");
	pol.max_age_ms = 0;
	pol.max_size = 1; /* everything goes, oldest first, by path */
	run(SWAP_PARENT, &pol, &rep);
	ok(has("outside/dir/a", "outside a") && has("outside/dir/b", "outside b"),
	   "parent swapped for a symlink: files outside intact");
	ok(is_link("c/sub"), "parent swapped: the symlink is left");
	ok(deleted(&rep) == 1 && rep.skipped == 3, "parent swapped: the first victim went, the rest skipped");
}

/* A candidate budget far too small for the boundary bucket: several rounds,
 * each taking the next oldest batch, until the goal is met. */
static void test_rounds(void)
{
	struct cw_purge_policy pol;
	struct cw_purge_report rep;
	char root[PATH_MAX], err[512];
	cw_purge_policy_defaults(&pol);
	pol.enabled = true;
	pol.rate_limit = 0;
	pol.max_size = 1;
	reset();
	for (int i = 0; i < 300; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "c/d%d/f%03d", i % 3, i);
		mk(rel, "x");
	}
	mk("c/keep.lock", "x");
	char *pats[] = { "*.lock" };
	pol.protect = pats;
	pol.nprotect = 1;
	path(root, "c");
	struct cw_purge_opts o = { .name = "rounds", .path = root, .policy = &pol, .heap_budget = 2000 };
	int rc = cw_purge_run(&o, &rep, err, sizeof(err));
	ok(rc == 0 && deleted(&rep) == 300 && rep.walks > 4, "small candidate budget: several rounds, all victims");
	ok(has("c/keep.lock", "x") && rep.unreachable, "small candidate budget: protected file kept, goal unreachable");
}

static void test_stop(struct cw_purge_policy *pol)
{
	struct cw_purge_report rep;
	reset();
	for (int i = 0; i < 50; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "c/f%02d", i);
		mk(rel, "x");
	}
	run(STOP, pol, &rep);
	ok(rep.stopped && deleted(&rep) <= 1, "stop flag: the run ends at once");
}

int main(void)
{
	cw_log_setup(CW_LOG_ERROR, CW_LOG_LOGFMT);
	snprintf(T, sizeof(T), "/tmp/cw-purge-race.XXXXXX");
	if (!mkdtemp(T))
		return 1;
	struct cw_purge_policy pol;
	cw_purge_policy_defaults(&pol);
	pol.enabled = true;
	pol.max_age_ms = 86400 * 1000;
	pol.rate_limit = 0;
	test_swap_symlink(&pol);
	test_swap_hardlink(&pol);
	test_swap_dir(&pol);
	test_touch(&pol);
	test_swap_parent(&pol);
	test_rounds();
	test_stop(&pol);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
	if (system(cmd) != 0)
		tap_failed++; /* leftovers fail the run without a check of their own */
	return tap_done();
}
