/* Cache roots: one resolver that never follows a symlink, trusted ancestors, identity, and the refused roots. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include "lib/root.h"

/* Never purge these directories themselves (their subdirectories, e.g.
 * /var/cache/apt/archives, are fine): deleting "least recently used files"
 * there would wreck the machine. Compared by identity, so /lib -> /usr/lib,
 * bind mounts and any other spelling are caught too. */
const char *const cw_refused_roots[] = {
	"/", "/bin", "/boot", "/boot/efi", "/dev", "/efi", "/etc", "/gnu", "/gnu/store", "/home",
	"/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/media", "/mnt", "/nix",
	"/nix/store", "/nix/var", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv",
	"/sys", "/tmp", "/usr", "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib32",
	"/usr/lib64", "/usr/libexec", "/usr/libx32", "/usr/local", "/usr/local/bin",
	"/usr/local/etc", "/usr/local/include", "/usr/local/lib", "/usr/local/libexec",
	"/usr/local/sbin", "/usr/local/share", "/usr/local/src", "/usr/sbin", "/usr/share",
	"/usr/src", "/var", "/var/backups", "/var/cache", "/var/lib", "/var/local", "/var/lock",
	"/var/log", "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp", "/var/www",
	NULL,
};

#define HOME_PARENT "/home" /* its direct children are homes even without a passwd entry */

static int say(char *err, size_t len, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int say(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;
	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool same_id(const struct stat *st, dev_t dev, ino_t ino)
{
	return st->st_dev == dev && st->st_ino == ino;
}

static bool path_is(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;
	return path && path[0] == '/' && stat(path, &st) == 0 && same_id(&st, dev, ino);
}

/* "/a//b/./c/" -> "/a/b/c" into out; false when it does not fit. */
static bool clean_path(const char *in, char *out, size_t len)
{
	size_t o = 0;
	if (!len)
		return false;
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - start);
		if (!n || (n == 1 && start[0] == '.'))
			continue;
		if (o + 1 + n >= len)
			return false;
		out[o++] = '/';
		memcpy(out + o, start, n);
		o += n;
	}
	if (!o) {
		if (len < 2)
			return false;
		out[o++] = '/';
	}
	out[o] = '\0';
	return true;
}

/* Calls fn on the home directory field of every /etc/passwd line until it
 * returns true. Read by hand into a local buffer: fgetpwent() is not
 * thread-safe and purges run in worker threads. */
static bool any_passwd_home(bool (*fn)(const char *home, const void *ctx), const void *ctx)
{
	FILE *f = fopen("/etc/passwd", "re");
	char *line = NULL;
	size_t cap = 0;
	bool hit = false;
	if (!f)
		return false;
	while (!hit && getline(&line, &cap, f) > 0) {
		char *p = line;
		for (int field = 0; field < 5 && p; field++) {
			p = strchr(p, ':');
			p = p ? p + 1 : NULL;
		}
		if (!p)
			continue;
		p[strcspn(p, ":\n")] = '\0';
		hit = p[0] == '/' && fn(p, ctx);
	}
	free(line);
	fclose(f);
	return hit;
}

struct ident {
	dev_t dev;
	ino_t ino;
};

static bool home_is_id(const char *home, const void *ctx)
{
	const struct ident *id = ctx;
	return path_is(home, id->dev, id->ino);
}

static bool home_is_text(const char *home, const void *ctx)
{
	char clean[PATH_MAX];
	return clean_path(home, clean, sizeof(clean)) && !strcmp(clean, ctx);
}

/* Reasons read "<path> <reason>": "/usr is a system directory". */
static const char *refused_as(char *buf, size_t len, const char *dir, bool same_text)
{
	if (same_text)
		snprintf(buf, len, "is a system directory");
	else
		snprintf(buf, len, "is a system directory (the same directory as %s)", dir);
	return buf;
}

static const char *home_reason(char *buf, size_t len)
{
	snprintf(buf, len, "is a user's home directory");
	return buf;
}

const char *cw_root_refusal(int fd, int parent_fd, char *buf, size_t len)
{
	struct stat st, a, b;
	if (fstat(fd, &st) != 0) {
		snprintf(buf, len, "cannot be identified (%s)", strerror(errno));
		return buf;
	}
	for (size_t i = 0; cw_refused_roots[i]; i++)
		if (path_is(cw_refused_roots[i], st.st_dev, st.st_ino))
			return refused_as(buf, len, cw_refused_roots[i], false);
	struct ident id = { st.st_dev, st.st_ino };
	struct stat pst;
	if (path_is(getenv("HOME"), st.st_dev, st.st_ino) || any_passwd_home(home_is_id, &id))
		return home_reason(buf, len);
	if (parent_fd >= 0 && fstat(parent_fd, &pst) == 0 && path_is(HOME_PARENT, pst.st_dev, pst.st_ino))
		return home_reason(buf, len);
	/* A host's / mounted somewhere (a container's hostPath) has another
	 * identity than our /, so anything shaped like a system root is refused. */
	if (fstatat(fd, "etc/passwd", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(a.st_mode) &&
	    fstatat(fd, "usr", &b, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(b.st_mode)) {
		snprintf(buf, len, "holds etc/passwd and usr/, like a system root");
		return buf;
	}
	return NULL;
}

const char *cw_root_refusal_path(const char *path, char *buf, size_t len)
{
	char clean[PATH_MAX], home[PATH_MAX];
	if (!path || path[0] != '/' || !clean_path(path, clean, sizeof(clean)))
		return NULL;
	for (size_t i = 0; cw_refused_roots[i]; i++)
		if (!strcmp(clean, cw_refused_roots[i]))
			return refused_as(buf, len, cw_refused_roots[i], true);
	const size_t hl = strlen(HOME_PARENT);
	if (!strncmp(clean, HOME_PARENT "/", hl + 1) && !strchr(clean + hl + 1, '/'))
		return home_reason(buf, len);
	const char *env = getenv("HOME");
	if (env && env[0] == '/' && clean_path(env, home, sizeof(home)) && !strcmp(home, clean))
		return home_reason(buf, len);
	if (any_passwd_home(home_is_text, clean))
		return home_reason(buf, len);
	return NULL;
}

/* Opens one component below dirfd as a directory, never through a symlink. */
static int open_component(int dirfd, const char *name, int oflags)
{
	struct open_how how = {
		.flags = (unsigned)(oflags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return (int)fd;
	/* before 5.6: one component, so O_NOFOLLOW covers all of it */
	return openat(dirfd, name, oflags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* One directory looked up on the way to the root. */
struct step {
	uid_t uid;
	mode_t mode;
	size_t end; /* its path is path[0..end) ("/" when 0) */
};

static bool ancestor_trusted(const struct step *s, uid_t owner)
{
	if (s->uid != 0 && s->uid != owner)
		return false;
	return !(s->mode & (S_IWGRP | S_IWOTH)) || (s->mode & S_ISVTX);
}

static int check_ancestors(const char *path, const struct step *steps, size_t n, uid_t owner,
			   char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (ancestor_trusted(&steps[i], owner))
			continue;
		size_t end = steps[i].end ? steps[i].end : 1;
		char who[64];
		if (steps[i].uid != 0 && steps[i].uid != owner)
			snprintf(who, sizeof(who), "owned by uid %u (the root by uid %u)", (unsigned)steps[i].uid,
				 (unsigned)owner);
		else
			snprintf(who, sizeof(who), "writable by others (mode %04o)", (unsigned)(steps[i].mode & 07777));
		return say(err, errlen, CW_ROOT_REFUSED,
			   "refusing %s: its ancestor %.*s is %s, who could swap the path for another directory",
			   path, (int)end, path, who);
	}
	return CW_ROOT_OK;
}

static int check_purgeable(const char *path, int fd, int parent_fd, char *err, size_t errlen)
{
	char why[160];
	struct statvfs vfs;
	if (cw_root_refusal(fd, parent_fd, why, sizeof(why)))
		return say(err, errlen, CW_ROOT_REFUSED, "refusing to purge %s: it %s", path, why);
	if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return say(err, errlen, CW_ROOT_REFUSED, "refusing to purge %s: it is on a read-only file system", path);
	if (faccessat(fd, "", W_OK | X_OK, AT_EMPTY_PATH | AT_EACCESS) != 0)
		return say(err, errlen, CW_ROOT_REFUSED, "refusing to purge %s: no write permission (%s)", path,
			   strerror(errno));
	return CW_ROOT_OK;
}

/* Why component name below dirfd could not be opened, as a return code. */
static int open_failure(const char *path, size_t end, int dirfd, const char *name, char *err, size_t errlen)
{
	int e = errno;
	struct stat st;
	if (e == ELOOP || e == EXDEV ||
	    (e == ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)))
		return say(err, errlen, CW_ROOT_REFUSED,
			   "refusing %s: %.*s is a symlink; roots are resolved without following symlinks",
			   path, (int)end, path);
	say(err, errlen, CW_ROOT_MISSING, "cannot open %.*s (on the way to %s): %s", (int)end, path, path,
	    strerror(e));
	errno = e;
	return CW_ROOT_MISSING;
}

int cw_root_resolve(const char *path, unsigned flags, const struct cw_root_id *validated,
		    struct cw_root_ref *out, char *err, size_t errlen)
{
	char why[160];
	struct step *steps = NULL;
	struct stat st;
	int dir = -1, parent = -1, rc = CW_ROOT_MISSING;
	size_t nsteps = 0;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (flags & CW_ROOT_PURGE)
		flags |= CW_ROOT_TRUSTED_ANCESTORS;
	if (!path || path[0] != '/')
		return say(err, errlen, CW_ROOT_REFUSED, "root '%s' is not an absolute path", path ? path : "");
	if ((flags & CW_ROOT_PURGE) && cw_root_refusal_path(path, why, sizeof(why)))
		return say(err, errlen, CW_ROOT_REFUSED, "refusing to purge %s: it %s", path, why);
	size_t len = strlen(path);
	steps = calloc(len / 2 + 2, sizeof(*steps));
	if (!steps)
		return say(err, errlen, CW_ROOT_MISSING, "out of memory resolving %s", path);
	/* O_PATH on the way: looking a name up needs search permission only */
	dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		rc = say(err, errlen, CW_ROOT_MISSING, "cannot open /: %s", strerror(errno));
		goto cleanup;
	}
	for (const char *p = path;;) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - start);
		if (n == 1 && start[0] == '.')
			continue;
		if (!n)
			break;
		if (n == 2 && start[0] == '.' && start[1] == '.') {
			rc = say(err, errlen, CW_ROOT_REFUSED, "refusing %s: roots must not contain '..'", path);
			goto cleanup;
		}
		char name[NAME_MAX + 1];
		if (n > NAME_MAX) {
			rc = say(err, errlen, CW_ROOT_MISSING, "cannot open %s: %s", path, strerror(ENAMETOOLONG));
			errno = ENAMETOOLONG;
			goto cleanup;
		}
		memcpy(name, start, n);
		name[n] = '\0';
		/* dir becomes an ancestor: note who could rename things in it */
		if (fstat(dir, &st) != 0) {
			rc = say(err, errlen, CW_ROOT_MISSING, "cannot stat an ancestor of %s: %s", path, strerror(errno));
			goto cleanup;
		}
		steps[nsteps++] = (struct step){ .uid = st.st_uid, .mode = st.st_mode, .end = (size_t)(start - path) };
		if (steps[nsteps - 1].end > 1)
			steps[nsteps - 1].end--; /* without the trailing slash */
		int next = open_component(dir, name, O_PATH);
		if (next < 0) {
			rc = open_failure(path, (size_t)(p - path), dir, name, err, errlen);
			goto cleanup;
		}
		if (parent >= 0)
			close(parent);
		parent = dir;
		dir = next;
	}
	/* "." of the directory reached is that directory: no lookup by name */
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = say(err, errlen, CW_ROOT_MISSING, "cannot open %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto cleanup;
	}
	close(dir);
	dir = fd;
	out->id = (struct cw_root_id){ st.st_dev, st.st_ino };
	out->uid = st.st_uid;
	out->changed = validated && (validated->dev != st.st_dev || validated->ino != st.st_ino);
	rc = CW_ROOT_OK;
	if (flags & CW_ROOT_TRUSTED_ANCESTORS)
		rc = check_ancestors(path, steps, nsteps, st.st_uid, err, errlen);
	if (rc == CW_ROOT_OK && (flags & CW_ROOT_PURGE))
		rc = check_purgeable(path, dir, parent, err, errlen);
	if (rc == CW_ROOT_OK) {
		out->fd = dir;
		dir = -1;
	}
cleanup:
	if (dir >= 0)
		close(dir);
	if (parent >= 0)
		close(parent);
	free(steps);
	return rc;
}

void cw_root_ref_close(struct cw_root_ref *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}
