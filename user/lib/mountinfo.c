/* The mount holding a directory, as /proc/self/mountinfo and node_exporter name it. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "lib/mountinfo.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(const char *s, char *out, size_t len)
{
	size_t o = 0;
	while (*s && o + 1 < len) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			out[o++] = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
}

/* "/a" holds "/a" and "/a/b", not "/ab"; "/" holds everything. */
static size_t prefix_len(const char *mnt, const char *path)
{
	size_t n = strlen(mnt);
	if (!strcmp(mnt, "/"))
		return 1;
	if (strncmp(mnt, path, n) || (path[n] && path[n] != '/'))
		return 0;
	return n;
}

/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS" */
static bool parse_line(char *line, unsigned *maj, unsigned *min, char **mnt, char **fstype, char **src)
{
	char *save = NULL, *tok[6];
	for (int i = 0; i < 6; i++)
		if (!(tok[i] = strtok_r(i ? NULL : line, " \n", &save)))
			return false;
	if (sscanf(tok[2], "%u:%u", maj, min) != 2)
		return false;
	*mnt = tok[4];
	char *t;
	while ((t = strtok_r(NULL, " \n", &save)) && strcmp(t, "-"))
		;
	*fstype = t ? strtok_r(NULL, " \n", &save) : NULL;
	*src = *fstype ? strtok_r(NULL, " \n", &save) : NULL;
	return *fstype && *src;
}

int cw_mountinfo_find(FILE *f, dev_t dev, const char *path, struct cw_mount *out)
{
	char *line = NULL, mnt[PATH_MAX];
	size_t cap = 0, best = 0;
	int rc = -1;

	while (getline(&line, &cap, f) > 0) {
		unsigned maj, min;
		char *m, *fstype, *src;
		if (!parse_line(line, &maj, &min, &m, &fstype, &src) || makedev(maj, min) != dev)
			continue;
		unescape(m, mnt, sizeof(mnt));
		size_t n = prefix_len(mnt, path);
		if (n <= best)
			continue;
		best = n;
		snprintf(out->mountpoint, sizeof(out->mountpoint), "%s", mnt);
		unescape(src, out->device, sizeof(out->device));
		unescape(fstype, out->fstype, sizeof(out->fstype));
		rc = 0;
	}
	free(line);
	return rc;
}

int cw_mount_of(const char *path, struct cw_mount *out)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	int rc = cw_mountinfo_find(f, st.st_dev, path, out);
	fclose(f);
	return rc;
}
