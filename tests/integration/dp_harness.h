/* Shared scaffolding of the data-plane integration tests: options, loader, collector, work dir, files, snapshots. */
#ifndef CW_DP_HARNESS_H
#define CW_DP_HARNESS_H

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include "dataplane/collector.h"
#include "config/config.h"
#include "dataplane/loader.h"
#include "lib/log.h"
#include "tap.h"

/* Functions here are static and not every test uses each one. */
#pragma GCC diagnostic ignored "-Wunused-function"

struct ctx {
	enum cw_backend backend;
	const char *expect;
	char work[PATH_MAX];
	struct cw_loader *loader;
	struct cw_collector *coll;
	char tmpfs[PATH_MAX]; /* a tmpfs root */
	int ext4_unlink_bytes; /* does the backend see unlinked bytes on tmpfs? */
};

static void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* snprintf that refuses to truncate a path silently. */
static __attribute__((format(printf, 3, 4))) void fmt(char *out, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	int n = vsnprintf(out, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		printf("Bail out! path too long: %s\n", out);
		exit(1);
	}
}

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];

	fmt(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(buf, 0755);
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		die(path);
}

static void pathf(char *out, const struct ctx *c, const char *rel)
{
	fmt(out, PATH_MAX, "%s/%s", c->work, rel);
}

static const struct cw_cache_snap *cache_snap(struct cw_snapshot *s, const char *cache)
{
	for (size_t i = 0; s && i < s->ncaches; i++)
		if (!strcmp(s->caches[i].name, cache))
			return &s->caches[i];
	return NULL;
}

static const struct cw_dir_snap *find(struct cw_snapshot *s, const char *cache, const char *dir)
{
	const struct cw_cache_snap *c = cache_snap(s, cache);

	for (size_t j = 0; c && j < c->ndirs; j++)
		if (!strcmp(c->dirs[j].dir, dir))
			return &c->dirs[j];
	return NULL;
}

static struct cw_snapshot *poll_now(struct ctx *c)
{
	cw_collector_poll(c->coll);
	return cw_snapbox_get(cw_collector_box(c->coll));
}

static void apply(struct ctx *c, struct cw_cache_config *caches, size_t n)
{
	char err[256];

	if (cw_collector_apply(c->coll, caches, n, err, sizeof(err))) {
		printf("Bail out! apply: %s\n", err);
		exit(1);
	}
}

static void cache(struct cw_cache_config *cc, const char *name, const char *path, unsigned depth,
		  unsigned max_groups)
{
	cw_cache_config_defaults(cc);
	cc->name = (char *)name;
	cc->path = (char *)path;
	cc->group_depth = depth;
	cc->max_groups = max_groups;
}

static void write_bytes(const char *path, size_t n)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	memset(buf, 'y', sizeof(buf));
	if (fd < 0)
		die(path);
	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);
		if (write(fd, buf, k) != (ssize_t)k)
			die(path);
		n -= k;
	}
	close(fd);
}

static void sh(const char *fmtstr, const char *a)
{
	char cmd[5 * PATH_MAX];

	fmt(cmd, sizeof(cmd), fmtstr, a, a, a, a);
	if (system(cmd))
		tap_diag("'%s' failed", cmd);
}

/* A directory on ext4 under the work dir: the work dir itself if it is ext4,
 * else a loop-mounted image (mounted is set to unmount it afterwards). */
static int ext4_dir(struct ctx *c, const char *rel, char *out, int *mounted)
{
	struct statfs sf;
	char img[PATH_MAX], cmd[3 * PATH_MAX];

	*mounted = 0;
	pathf(out, c, rel);
	mkdirs(out);
	if (statfs(out, &sf) == 0 && sf.f_type == 0xEF53 /* EXT4_SUPER_MAGIC */)
		return 0;
	pathf(img, c, "ext4.img");
	fmt(cmd, sizeof(cmd), "truncate -s 64M '%s' && mkfs.ext4 -q -F '%s' && mount -o loop '%s' '%s'",
	    img, img, img, out);
	if (system(cmd))
		return -1;
	*mounted = 1;
	return 0;
}

#ifdef LIB_URING_H /* the test includes <liburing.h> first */
/* Submits one prepared request per name and waits for all; returns how many succeeded. */
static int uring_run(struct io_uring *ring, int n)
{
	struct io_uring_cqe *cqe;
	int ok = 0;

	io_uring_submit(ring);
	for (int i = 0; i < n; i++) {
		if (io_uring_wait_cqe(ring, &cqe))
			break;
		ok += cqe->res == 0;
		io_uring_cqe_seen(ring, cqe);
	}
	return ok;
}

#endif

/* Options every data-plane test takes: --backend B, --expect-backend B,
 * --workdir DIR (a fresh directory is made inside), --bin PATH (the agent,
 * default $CW_BIN). Returns the index of the first non-option argument. */
static int dp_options(struct ctx *c, int argc, char **argv, const char **bin)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "expect-backend", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "bin", required_argument, NULL, 'x' },
		{ 0 },
	};
	const char *workdir = NULL;
	int opt;

	c->backend = CW_BACKEND_AUTO;
	*bin = getenv("CW_BIN");
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (cw_backend_parse(optarg, &c->backend))
				exit(2);
			break;
		case 'e': c->expect = optarg; break;
		case 'w': workdir = optarg; break;
		case 'x': *bin = optarg; break;
		default: exit(2);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("CW_DEBUG"))
		cw_log_setup(CW_LOG_DEBUG, CW_LOG_LOGFMT);
	fmt(c->work, sizeof(c->work), "%s/cw-%s-XXXXXX", workdir ? workdir : "/var/tmp",
	    program_invocation_short_name);
	if (!mkdtemp(c->work))
		die("mkdtemp");
	tap_diag("workdir %s", c->work);
	return optind;
}

/* Loads and attaches the backend and makes a collector (1 s interval, writers
 * by group published as top asks for them). 0, or -1 after a failed TAP line. */
static int dp_attach(struct ctx *c)
{
	struct cw_loader_opts lo = { .backend = c->backend };
	char err[512];

	if (!tap_ok(cw_loader_open(&lo, &c->loader, err, sizeof(err)) == 0, "load and attach (%s)",
		    cw_backend_name(c->backend))) {
		tap_diag("%s", err);
		return -1;
	}
	c->backend = cw_loader_backend(c->loader);
	tap_diag("backend %s", cw_backend_name(c->backend));
	if (c->expect)
		tap_ok(!strcmp(c->expect, cw_backend_name(c->backend)), "auto chose %s (expected %s)",
		       cw_backend_name(c->backend), c->expect);
	if (cw_collector_new(c->loader, 1000, &c->coll))
		die("collector");
	cw_collector_publish_group_writers(c->coll); /* as top does */
	return 0;
}

static void dp_detach(struct ctx *c)
{
	cw_collector_free(c->coll);
	cw_loader_close(c->loader);
	c->coll = NULL;
	c->loader = NULL;
}

/* Removes the work dir and prints the plan; the test's exit status. */
static int dp_done(struct ctx *c)
{
	char cmd[PATH_MAX + 16];

	fmt(cmd, sizeof(cmd), "rm -rf '%s'", c->work);
	if (system(cmd))
		tap_diag("could not remove %s", c->work);
	return tap_done();
}

#endif
