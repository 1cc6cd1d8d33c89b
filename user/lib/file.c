/* Reading small whole files that must be regular files (never a FIFO that blocks forever). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/file.h"

static int fail(char *why, size_t whylen, const char *reason)
{
	snprintf(why, whylen, "%s", reason);
	return -1;
}

/* Up to cap bytes from fd; -1 on a read error. */
static ssize_t read_upto(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

int cw_read_regular_file(const char *path, size_t max, int over_max_ok, char **out, size_t *len, char *why,
			 size_t whylen)
{
	struct stat st;
	char *buf = NULL;
	int ret = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fail(why, whylen, strerror(errno));
	if (fstat(fd, &st)) {
		fail(why, whylen, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(why, whylen, "not a regular file");
		goto cleanup;
	}
	if (!(buf = malloc(max + 2))) {
		fail(why, whylen, "out of memory");
		goto cleanup;
	}
	ssize_t n = read_upto(fd, buf, max + 1); /* one more than the limit: oversize shows */
	if (n < 0) {
		fail(why, whylen, strerror(errno));
		goto cleanup;
	}
	if ((size_t)n > max && !over_max_ok) {
		snprintf(why, whylen, "larger than %zu bytes", max);
		goto cleanup;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	buf = NULL;
	ret = 0;
cleanup:
	free(buf);
	close(fd);
	return ret;
}
