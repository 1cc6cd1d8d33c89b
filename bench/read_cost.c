/* Times a read pattern in a tight loop (64-byte pread, or open+close for reading) and prints CPU nanoseconds per call. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The thread's CPU time, which includes the BPF programs run in its syscalls
 * but not the time other tasks held the CPU: on a busy machine wall time
 * mostly measures the neighbours. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int preads(const char *path, long iters, double *ns)
{
	char buf[64];
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		perror(path);
		return 1;
	}
	double t0 = now();
	for (long i = 0; i < iters; i++)
		if (pread(fd, buf, sizeof(buf), (i & 1023) * 64) != 64)
			return 1;
	*ns = (now() - t0) / (double)iters;
	close(fd);
	return 0;
}

static int opens(const char *path, long iters, double *ns)
{
	double t0 = now();

	for (long i = 0; i < iters; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	*ns = (now() - t0) / (double)iters;
	return 0;
}

int main(int argc, char **argv)
{
	double ns = 0;
	int err;

	if (argc != 4 || (strcmp(argv[1], "pread") && strcmp(argv[1], "open"))) {
		fprintf(stderr, "usage: read_cost pread|open FILE ITERS (FILE: at least 64 KiB)\n");
		return 2;
	}
	long iters = atol(argv[3]);
	if (iters <= 0) {
		fprintf(stderr, "read_cost: ITERS must be a positive number, not '%s'\n", argv[3]);
		return 2;
	}
	err = !strcmp(argv[1], "pread") ? preads(argv[2], iters, &ns) : opens(argv[2], iters, &ns);
	if (err)
		return 1;
	printf("%.1f\n", ns);
	return 0;
}
