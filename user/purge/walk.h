/* Safe traversal of a cache root: opening it through lib/root, walking without following links or crossing mounts. */
#ifndef CW_PURGE_WALK_H
#define CW_PURGE_WALK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <limits.h>
#include <sys/stat.h>
#include "config/config.h"
#include "lib/root.h"

#define CW_WALK_MAX_DEPTH 128 /* directory levels below the root; one fd each */

/* An opened, checked cache root. Identity (dev, ino, mount id) is what every
 * directory and victim below it is compared with. */
struct cw_root {
	int fd;
	dev_t dev;
	uint64_t ino;
	uint64_t mnt_id;
	bool have_mnt_id;
	uid_t uid;
	bool changed;  /* not the identity validated earlier (then re-validated in full) */
};

/* Opens path for purging with cw_root_resolve(CW_ROOT_PURGE): no symlink in
 * any component, trusted ancestors, no refused root, writable. validated (may
 * be NULL) is the identity an earlier run validated. Returns 0; -1 when it
 * cannot be opened, -2 when refused; with a sentence in err. */
int cw_root_open(const char *path, const struct cw_root_id *validated, struct cw_root *r, char *err,
		 size_t errlen);
void cw_root_close(struct cw_root *r);

/* Identity of one directory entry, never following a symlink. */
int cw_entry_statx(int dirfd, const char *name, struct statx *stx);
/* True when the entry lives on the root's device and mount (not a mount point). */
bool cw_root_same_mount(const struct cw_root *r, int dirfd, const char *name, const struct statx *stx);

struct cw_walk_entry {
	int dirfd;            /* the open parent directory */
	const char *name;
	const char *relpath;  /* relative to the root, raw bytes */
	const struct statx *stx;
	bool under_protected_dir;
};

enum { CW_WALK_KEPT = 0, CW_WALK_REMOVED = 1, CW_WALK_STOP = -1 };
/* Called for each regular file; returns CW_WALK_REMOVED when it unlinked it. */
typedef int (*cw_walk_fn)(void *ctx, const struct cw_walk_entry *e);

struct cw_walk {
	const struct cw_root *root;
	const struct cw_purge_policy *policy; /* protect globs also cover directories */
	bool remove_empty_dirs;               /* directories emptied by fn, never the root */
	const atomic_bool *stop;              /* checked per entry; NULL = never */
	const char *cache;                    /* name for log lines */
	cw_walk_fn fn;
	void *ctx;
	/* results */
	uint64_t errors;
	uint64_t dirs;
	uint64_t dirs_removed;
	uint64_t mounts_skipped;
	bool stopped;
	unsigned logged; /* warnings logged so far: a broken tree must not flood the log */
};

/* Walks the whole tree under the root. Returns 0 when done, 1 when stopped. */
int cw_walk_run(struct cw_walk *w);

/* Opens the directories leading to relpath one at a time, with the walk's
 * checks (no symlink, same device and mount). On success fds[0..*n) hold them
 * (the caller closes them) and *base points at the last component. */
int cw_walk_open_parents(const struct cw_root *r, const char *relpath, int *fds, size_t max,
			 size_t *n, const char **base);
/* Removes directories of that chain left empty, deepest first; never the root.
 * Returns how many were removed. */
unsigned cw_walk_prune(const struct cw_root *r, const char *relpath, const int *fds, size_t n);

#endif
