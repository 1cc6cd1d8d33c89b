/* The mount holding a directory, as /proc/self/mountinfo and node_exporter name it. */
#ifndef CW_MOUNTINFO_H
#define CW_MOUNTINFO_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

struct cw_mount {
	char mountpoint[PATH_MAX]; /* node_exporter's mountpoint label */
	char device[256];          /* its device label: the mount source, e.g. /dev/sda1 */
	char fstype[64];           /* its fstype label */
};

/* Of the mounts of device dev listed in f (mountinfo format), the one whose
 * mount point is the longest path prefix of path. 0, or -1 when none. */
int cw_mountinfo_find(FILE *f, dev_t dev, const char *path, struct cw_mount *out);
/* The same for the directory at path, from /proc/self/mountinfo. */
int cw_mount_of(const char *path, struct cw_mount *out);

#endif
