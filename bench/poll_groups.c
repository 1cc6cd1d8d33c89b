/* Makes N group directories under a watched root and writes one byte into each (and into the root), so an agent watching it with group_depth 1 holds N+1 series. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static int write_one(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ok = fd >= 0 && write(fd, "x", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	char name[32];
	int root, rc = 0;

	if (argc != 3 || atol(argv[2]) < 0) {
		fprintf(stderr, "usage: poll_groups ROOT N\n");
		return 2;
	}
	long n = atol(argv[2]);
	root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		fprintf(stderr, "poll_groups: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (long i = 0; i < n && !rc; i++) {
		snprintf(name, sizeof(name), "g%06ld", i);
		if (mkdirat(root, name, 0755) && errno != EEXIST) {
			rc = 1;
			break;
		}
		int d = openat(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = d < 0 || write_one(d, "f") ? 1 : 0;
		if (d >= 0)
			close(d);
	}
	if (!rc && write_one(root, "f"))
		rc = 1;
	if (rc)
		fprintf(stderr, "poll_groups: %s: %s\n", argv[1], strerror(errno));
	close(root);
	return rc;
}
