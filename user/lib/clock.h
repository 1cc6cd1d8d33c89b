/* Clock readings in seconds as doubles, for durations and timestamps in metrics. */
#ifndef CW_CLOCK_H
#define CW_CLOCK_H

#include <time.h>

/* CLOCK_MONOTONIC for durations and deadlines, CLOCK_REALTIME for timestamps. */
static inline double cw_clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
