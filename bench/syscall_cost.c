/* Times one syscall pattern in a tight loop and prints nanoseconds per call. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: syscall_cost write|read FILE ITERS | getppid - ITERS\n");
		return 2;
	}
	long iters = argc > 3 ? atol(argv[3]) : 1000000;
	char buf[64];
	double t0, t1;

	memset(buf, 'b', sizeof(buf));
	int rw = !strcmp(argv[1], "write") ? 1 : !strcmp(argv[1], "read") ? 0 : -1;
	if (rw >= 0) {
		/* 64-byte pwrites or preads within the first 64 KiB (in the page cache after one pass) */
		int fd = rw ? open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644) : open(argv[2], O_RDONLY);
		if (fd < 0) {
			perror(argv[2]);
			return 1;
		}
		t0 = now();
		for (long i = 0; i < iters; i++) {
			off_t off = (i & 1023) * 64;
			if ((rw ? pwrite(fd, buf, sizeof(buf), off) : pread(fd, buf, sizeof(buf), off)) != 64)
				return 1;
		}
		t1 = now();
		close(fd);
	} else {
		t0 = now();
		for (long i = 0; i < iters; i++)
			syscall(SYS_getppid); /* not the vDSO or a cached value: a real syscall */
		t1 = now();
	}
	printf("%.1f\n", (t1 - t0) / (double)iters);
	return 0;
}
