/* process_* metrics of the agent itself, read from /proc/self like client libraries do. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "http/procstats.h"

/* Boot time from /proc/stat "btime", for turning the start tick count into unix time. */
static int boot_time(double *out)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return -1;
	char line[256];
	int err = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long bt;
		if (sscanf(line, "btime %llu", &bt) == 1) {
			*out = (double)bt;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* /proc/self/stat: the comm field may contain spaces and parens, so parse after
 * the last ')'. Fields from there: state(3) ... utime(14) stime(15) ...
 * starttime(22) vsize(23) rss(24). */
static int read_stat(struct cw_procstats *p)
{
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return -1;
	char line[1024];
	char *ok = fgets(line, sizeof(line), f);
	fclose(f);
	char *rp = ok ? strrchr(line, ')') : NULL;
	if (!rp)
		return -1;
	unsigned long utime, stime, vsize;
	unsigned long long start;
	long rss;
	int n = sscanf(rp + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %lu %ld",
		       &utime, &stime, &start, &vsize, &rss);
	if (n != 5)
		return -1;
	double hz = (double)sysconf(_SC_CLK_TCK);
	double btime;
	if (hz <= 0 || boot_time(&btime))
		return -1;
	p->cpu_seconds = (double)(utime + stime) / hz;
	p->virtual_bytes = vsize;
	p->resident_bytes = (uint64_t)(rss > 0 ? rss : 0) * (uint64_t)sysconf(_SC_PAGESIZE);
	p->start_time_seconds = btime + (double)start / hz;
	return 0;
}

static int count_fds(uint64_t *out)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	uint64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	*out = n > 0 ? n - 1 : 0; /* the directory stream's own fd */
	return 0;
}

int cw_procstats_read(struct cw_procstats *p)
{
	*p = (struct cw_procstats){ 0 };
	struct rlimit rl;
	int err = read_stat(p);
	err = err ?: count_fds(&p->open_fds);
	err = err ?: getrlimit(RLIMIT_NOFILE, &rl);
	if (err)
		return -1;
	p->max_fds = rl.rlim_cur;
	p->ok = true;
	return 0;
}
