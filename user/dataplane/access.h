/* user/dataplane/access.h */
#ifndef CW_DATAPLANE_ACCESS_H
#define CW_DATAPLANE_ACCESS_H

#include <stdint.h>

struct cw_loader;

#define CW_ACCESS_RECENT 4
struct cw_access_rec {
	uint64_t last_ns;                     /* CLOCK_REALTIME ns of the newest observed access */
	uint32_t count;                       /* accesses observed since the record was made */
	uint32_t nrecent;                     /* valid entries of recent_ns */
	uint64_t recent_ns[CW_ACCESS_RECENT]; /* CLOCK_REALTIME ns of the newest accesses, newest first */
};
/* 0 with *out filled when the data plane holds a record of (st_dev, ino) as stat() reports them;
 * -ENOENT when it holds none; another -errno on failure. Safe from any thread. */
int cw_access_lookup(struct cw_loader *l, uint64_t st_dev, uint64_t ino, struct cw_access_rec *out);
/* Calls fn for every record; stops and returns fn's value when it is non-zero. */
int cw_access_foreach(struct cw_loader *l,
		      int (*fn)(void *ctx, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r),
		      void *ctx);
/* Seeds a record (from the state file at start): merged so a newer access already recorded wins. */
int cw_access_seed(struct cw_loader *l, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r);

#endif
