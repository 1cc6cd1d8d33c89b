/* Safe traversal of a cache root: opening it through lib/root, walking without following links or crossing mounts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include "lib/log.h"
#include "lib/root.h"
#include "purge/select.h"
#include "purge/walk.h"

#define WALK_LOG_MAX 20

static const unsigned stat_mask = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_INO | STATX_SIZE |
				  STATX_BLOCKS | STATX_ATIME | STATX_MTIME | STATX_CTIME | STATX_MNT_ID | STATX_BTIME;

int cw_entry_statx(int dirfd, const char *name, struct statx *stx)
{
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC;
	if (!*name)
		flags |= AT_EMPTY_PATH;
	return statx(dirfd, name, flags, stat_mask, stx);
}

/* The mount id of an entry when statx could not say (kernels before 5.8). */
static bool handle_mnt_id(int dirfd, const char *name, uint64_t *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	int mnt = -1;
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	int rc = name_to_handle_at(dirfd, name, &h.fh, &mnt, *name ? 0 : AT_EMPTY_PATH);
	if ((rc != 0 && errno != EOVERFLOW) || mnt < 0)
		return false;
	*id = (uint64_t)mnt;
	return true;
}

static bool entry_mnt_id(int dirfd, const char *name, const struct statx *stx, uint64_t *id)
{
	if (stx->stx_mask & STATX_MNT_ID) {
		*id = stx->stx_mnt_id;
		return true;
	}
	return handle_mnt_id(dirfd, name, id);
}

bool cw_root_same_mount(const struct cw_root *r, int dirfd, const char *name, const struct statx *stx)
{
	if (makedev(stx->stx_dev_major, stx->stx_dev_minor) != r->dev)
		return false;
	/* a bind mount of the same file system has the same device: the mount id
	 * and the mount-root attribute tell it apart */
	if ((stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return false;
	uint64_t id;
	if (r->have_mnt_id && (!entry_mnt_id(dirfd, name, stx, &id) || id != r->mnt_id))
		return false;
	return true;
}

int cw_root_open(const char *path, const struct cw_root_id *validated, struct cw_root *r, char *err,
		 size_t errlen)
{
	struct cw_root_ref ref;
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	int rc = cw_root_resolve(path, CW_ROOT_PURGE, validated, &ref, err, errlen);
	if (rc != CW_ROOT_OK)
		return rc;
	struct statx stx;
	if (cw_entry_statx(ref.fd, "", &stx) != 0) {
		snprintf(err, errlen, "cannot identify cache root %s: %s", path, strerror(errno));
		cw_root_ref_close(&ref);
		return CW_ROOT_MISSING;
	}
	r->fd = ref.fd;
	r->dev = ref.id.dev;
	r->ino = ref.id.ino;
	r->uid = ref.uid;
	r->changed = ref.changed;
	r->have_mnt_id = entry_mnt_id(r->fd, "", &stx, &r->mnt_id);
	return 0;
}

void cw_root_close(struct cw_root *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static void walk_warn(struct cw_walk *w, const char *what, const char *relpath, int err)
{
	w->errors++;
	enum cw_log_level lvl = ++w->logged <= WALK_LOG_MAX ? CW_LOG_WARN : CW_LOG_DEBUG;
	cw_log(lvl, what, "cache", w->cache ? w->cache : "", "path", relpath, "err", strerror(err), NULL);
}

/* Opens name below dirfd as a directory and proves it is the one statx saw,
 * on the root's mount: O_NOFOLLOW stops a symlink swapped in, the identity
 * check stops anything else swapped in (including a mount). */
static int open_subdir(const struct cw_root *r, int dirfd, const char *name, const struct statx *seen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct statx now;
	if (cw_entry_statx(fd, "", &now) != 0)
		goto fail;
	if (!cw_root_same_mount(r, fd, "", &now) || (seen && now.stx_ino != seen->stx_ino)) {
		errno = EXDEV;
		goto fail;
	}
	return fd;
fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* rmdir of name only if it is still the directory we emptied; ENOTEMPTY and
 * friends just mean it is in use again. */
static bool rmdir_same(int dirfd, const char *name, uint64_t ino, int *err)
{
	struct statx stx;
	*err = 0;
	if (cw_entry_statx(dirfd, name, &stx) != 0 || !S_ISDIR(stx.stx_mode) || stx.stx_ino != ino)
		return false;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
		return true;
	if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
		*err = errno;
	return false;
}

struct dir_frame {
	char *path;     /* shared buffer, relpath of the directory, "" for the root */
	size_t len;
	unsigned depth;
	bool protected_dir;
};

static int walk_dir(struct cw_walk *w, int fd, struct dir_frame *f, bool *removed_any);

static bool stop_requested(const struct cw_walk *w)
{
	return w->stop && atomic_load_explicit(w->stop, memory_order_relaxed);
}

/* Appends "/name" (or "name" at the root) to the shared path buffer. */
static bool path_push(struct dir_frame *f, const char *name, size_t *newlen)
{
	size_t nlen = strlen(name), sep = f->len ? 1 : 0;
	if (f->len + sep + nlen >= PATH_MAX)
		return false;
	if (sep)
		f->path[f->len] = '/';
	memcpy(f->path + f->len + sep, name, nlen + 1);
	*newlen = f->len + sep + nlen;
	return true;
}

static int descend(struct cw_walk *w, int dirfd, const char *name, const struct statx *stx,
		   struct dir_frame *f, size_t len, bool *removed_any)
{
	if (f->depth + 1 > CW_WALK_MAX_DEPTH) {
		walk_warn(w, "purge: directory too deep, not scanned", f->path, ELOOP);
		return 0;
	}
	int fd = open_subdir(w->root, dirfd, name, stx);
	if (fd < 0) {
		if (errno != ENOENT)
			walk_warn(w, "purge: cannot open directory", f->path, errno);
		return 0;
	}
	struct dir_frame sub = { .path = f->path, .len = len, .depth = f->depth + 1 };
	sub.protected_dir = f->protected_dir || cw_purge_name_protected(w->policy, f->path);
	bool removed = false;
	int rc = walk_dir(w, fd, &sub, &removed); /* closes fd */
	f->path[f->len] = '\0';
	if (rc == 0 && removed && w->remove_empty_dirs && !sub.protected_dir) {
		int err;
		if (rmdir_same(dirfd, name, stx->stx_ino, &err)) {
			w->dirs_removed++;
			*removed_any = true;
		} else if (err) {
			walk_warn(w, "purge: cannot remove empty directory", name, err);
		}
	}
	return rc;
}

static int visit(struct cw_walk *w, int dirfd, const struct dirent *de, struct dir_frame *f, bool *removed_any)
{
	size_t len;
	/* symlinks, devices, fifos, sockets are never victims nor walked into */
	if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG && de->d_type != DT_DIR)
		return 0;
	if (!path_push(f, de->d_name, &len)) {
		walk_warn(w, "purge: path too long, skipped", f->path, ENAMETOOLONG);
		return 0;
	}
	int rc = 0;
	struct statx stx;
	if (cw_entry_statx(dirfd, de->d_name, &stx) != 0) {
		if (errno != ENOENT)
			walk_warn(w, "purge: cannot stat", f->path, errno);
		goto out;
	}
	if (!S_ISREG(stx.stx_mode) && !S_ISDIR(stx.stx_mode))
		goto out;
	if (!cw_root_same_mount(w->root, dirfd, de->d_name, &stx)) {
		w->mounts_skipped++;
		cw_debug("purge: mount point skipped", "cache", w->cache ? w->cache : "", "path", f->path);
		goto out;
	}
	if (S_ISDIR(stx.stx_mode)) {
		rc = descend(w, dirfd, de->d_name, &stx, f, len, removed_any);
		goto out;
	}
	struct cw_walk_entry e = { .dirfd = dirfd, .name = de->d_name, .relpath = f->path,
				   .stx = &stx, .under_protected_dir = f->protected_dir };
	rc = w->fn(w->ctx, &e);
	if (rc == CW_WALK_REMOVED) {
		*removed_any = true;
		rc = 0;
	}
out:
	f->path[f->len] = '\0';
	return rc < 0 ? 1 : rc;
}

static int walk_dir(struct cw_walk *w, int fd, struct dir_frame *f, bool *removed_any)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		walk_warn(w, "purge: cannot read directory", f->path, errno);
		close(fd);
		return 0;
	}
	w->dirs++;
	int rc = 0;
	for (;;) {
		if (stop_requested(w)) {
			rc = 1;
			break;
		}
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				walk_warn(w, "purge: cannot read directory", f->path, errno);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = visit(w, dirfd(d), de, f, removed_any);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

int cw_walk_run(struct cw_walk *w)
{
	char *path = malloc(PATH_MAX);
	int rc = 1;
	if (!path) {
		walk_warn(w, "purge: out of memory", "", ENOMEM);
		goto cleanup;
	}
	path[0] = '\0';
	/* the walk owns its directory stream: work on a duplicate of the root fd,
	 * opened afresh so its read position is at the start */
	int fd = openat(w->root->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		walk_warn(w, "purge: cannot reopen the root", "", errno);
		goto cleanup;
	}
	struct dir_frame f = { .path = path, .len = 0, .depth = 0, .protected_dir = false };
	bool removed = false; /* the root itself is never removed */
	rc = walk_dir(w, fd, &f, &removed);
cleanup:
	w->stopped = rc != 0;
	free(path);
	return rc;
}

int cw_walk_open_parents(const struct cw_root *r, const char *relpath, int *fds, size_t max,
			 size_t *n, const char **base)
{
	*n = 0;
	int parent = r->fd;
	const char *p = relpath;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		char name[NAME_MAX + 1];
		size_t len = (size_t)(slash - p);
		if (len == 0 || len > NAME_MAX || *n >= max || (len <= 2 && p[0] == '.' && (len == 1 || p[1] == '.'))) {
			errno = EINVAL;
			goto fail;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		int fd = open_subdir(r, parent, name, NULL);
		if (fd < 0)
			goto fail;
		fds[(*n)++] = fd;
		parent = fd;
		p = slash + 1;
	}
	*base = p;
	return 0;
fail:;
	int saved = errno;
	for (size_t i = 0; i < *n; i++)
		close(fds[i]);
	*n = 0;
	errno = saved;
	return -1;
}

unsigned cw_walk_prune(const struct cw_root *r, const char *relpath, const int *fds, size_t n)
{
	unsigned removed = 0;
	for (size_t i = n; i-- > 0;) {
		/* component i of relpath is the directory fds[i] */
		const char *p = relpath;
		for (size_t k = 0; k < i; k++)
			p = strchr(p, '/') + 1;
		const char *end = strchr(p, '/');
		char name[NAME_MAX + 1];
		size_t len = (size_t)(end - p);
		if (len > NAME_MAX)
			break;
		memcpy(name, p, len);
		name[len] = '\0';
		struct statx stx;
		int err;
		if (cw_entry_statx(fds[i], "", &stx) != 0)
			break;
		if (!rmdir_same(i ? fds[i - 1] : r->fd, name, stx.stx_ino, &err))
			break;
		removed++;
	}
	return removed;
}
