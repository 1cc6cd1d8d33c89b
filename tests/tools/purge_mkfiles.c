/* Test helper: creates many files fast with chosen sizes and ages, for purge tests and benchmarks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

/* usage: purge_mkfiles DIR COUNT SIZE FANOUT AGE0 STEP
 * File i is DIR/dNNN/fNNNNNNN (directory i % FANOUT), SIZE bytes, with atime and
 * mtime AGE0 + i*STEP seconds ago: the higher i, the older. */
static int make_one(const char *dir, unsigned long i, unsigned long fanout, const char *buf, size_t size,
		    const struct timespec *ts)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/d%03lu", dir, i % fanout);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/d%03lu/f%07lu", dir, i % fanout, i);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = size && write(fd, buf, size) != (ssize_t)size ? -1 : 0;
	struct timespec times[2] = { ts[0], ts[0] };
	if (futimens(fd, times) != 0)
		rc = -1;
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: %s DIR COUNT SIZE FANOUT AGE0 STEP\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	unsigned long count = strtoul(argv[2], NULL, 10), fanout = strtoul(argv[4], NULL, 10);
	size_t size = strtoul(argv[3], NULL, 10);
	long age0 = strtol(argv[5], NULL, 10), step = strtol(argv[6], NULL, 10);
	if (!fanout)
		fanout = 1;
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 1;
	memset(buf, 'x', size);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		perror(dir);
		free(buf);
		return 1;
	}
	time_t now = time(NULL);
	for (unsigned long i = 0; i < count; i++) {
		struct timespec ts = { .tv_sec = now - age0 - (long)i * step, .tv_nsec = 0 };
		if (make_one(dir, i, fanout, buf, size, &ts) != 0) {
			perror("purge_mkfiles");
			free(buf);
			return 1;
		}
	}
	free(buf);
	return 0;
}
