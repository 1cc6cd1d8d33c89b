/* Reading small whole files (configuration, keys) that must be regular files. */
#ifndef CW_FILE_H
#define CW_FILE_H

#include <stddef.h>

/* Reads path into a malloc'ed, NUL-terminated buffer. Only a regular file is
 * read: it is opened non-blocking and checked with fstat, so a FIFO, socket or
 * device named by mistake (or by an attacker) fails at once instead of hanging.
 * At most max bytes; with over_max_ok a longer file gives its first max+1 bytes
 * (the caller reports the size), else it is an error. Returns 0, or -1 with the
 * reason in why ("not a regular file", "larger than 1048576 bytes", strerror). */
int cw_read_regular_file(const char *path, size_t max, int over_max_ok, char **out, size_t *len, char *why,
			 size_t whylen);

#endif
