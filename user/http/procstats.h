/* process_* metrics of the agent itself, read from /proc/self. */
#ifndef CW_PROCSTATS_H
#define CW_PROCSTATS_H

#include <stdbool.h>
#include <stdint.h>

struct cw_procstats {
	bool ok;                 /* false: /proc could not be read, series are left out */
	double cpu_seconds;      /* user + system */
	uint64_t resident_bytes;
	uint64_t virtual_bytes;
	uint64_t open_fds;
	uint64_t max_fds;        /* RLIMIT_NOFILE soft limit */
	double start_time_seconds; /* unix time */
};
int cw_procstats_read(struct cw_procstats *p);

#endif
