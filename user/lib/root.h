/* Cache roots: one resolver that never follows a symlink, trusted ancestors, identity, and the refused roots. */
#ifndef CW_LIB_ROOT_H
#define CW_LIB_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What a root was validated as; compared on every later resolution. */
struct cw_root_id {
	dev_t dev;  /* st_dev, glibc encoding */
	ino_t ino;
};

/* A resolved root. fd pins the directory: everything done to the cache after
 * resolution is done relative to it, never by path again. */
struct cw_root_ref {
	int fd;             /* O_RDONLY|O_DIRECTORY|O_CLOEXEC; -1 when closed */
	struct cw_root_id id;
	uid_t uid;          /* owner of the root directory */
	bool changed;       /* a validated identity was given and this is another directory */
};

/* Return values of cw_root_resolve. */
enum {
	CW_ROOT_OK = 0,
	CW_ROOT_MISSING = -1, /* cannot be opened (absent, no permission...): errno says why */
	CW_ROOT_REFUSED = -2, /* it exists but must not be used */
};

/* Flags of cw_root_resolve. */
enum {
	/* Every directory looked up on the way (/ included) must be owned by root
	 * or by the owner of the root directory, and not writable by group or
	 * others unless sticky: nobody else can rename the path to elsewhere. */
	CW_ROOT_TRUSTED_ANCESTORS = 1u << 0,
	/* The root will be purged: it must not be a refused root (cw_root_refusal),
	 * must be on a writable file system and writable by us. Implies
	 * CW_ROOT_TRUSTED_ANCESTORS. */
	CW_ROOT_PURGE = 1u << 1,
};

/* Resolves path (absolute, no ".." component) one component at a time from /,
 * never following a symlink in any component (openat2 RESOLVE_NO_SYMLINKS, or
 * O_NOFOLLOW|O_DIRECTORY openat where openat2 is missing), and checks what
 * flags ask. When validated is given and the directory reached has another
 * identity, out->changed is set; the checks run in full either way, so a
 * changed root is only returned if it passes them all. Returns CW_ROOT_OK with
 * out->fd open, or CW_ROOT_MISSING / CW_ROOT_REFUSED with one sentence in err
 * (naming path and why) and out->fd = -1. Thread-safe. */
int cw_root_resolve(const char *path, unsigned flags, const struct cw_root_id *validated,
		    struct cw_root_ref *out, char *err, size_t errlen);
void cw_root_ref_close(struct cw_root_ref *r);

/* Why the open directory fd (whose parent is parent_fd, or -1 if unknown)
 * must never be purged, or NULL: it is one of the refused system directories
 * (compared by identity, so every spelling and bind of them is caught), a home
 * directory (the caller's $HOME, any /etc/passwd account's, any directory
 * directly in /home) or a tree shaped like a system root (etc/passwd and usr/).
 * The reason is written into buf to follow the path, e.g. "is a system
 * directory" or "is a user's home directory". Thread-safe. */
const char *cw_root_refusal(int fd, int parent_fd, char *buf, size_t len);
/* The same rules on a path that may not exist yet, compared as text after
 * removing "//" and "/." (the caller passes every spelling it knows, e.g. the
 * configured and the canonical one). */
const char *cw_root_refusal_path(const char *path, char *buf, size_t len);

/* The refused system directories, NULL-terminated (for docs and tests). */
extern const char *const cw_refused_roots[];

#endif
