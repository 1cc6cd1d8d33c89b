/* Tests of finding the mount that holds a directory in mountinfo text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <cmocka.h>
#include "lib/mountinfo.h"

static const char mountinfo[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"23 22 0:5 / /proc rw,nosuid - proc proc rw\n"
	"30 22 8:2 / /var/cache rw,relatime shared:5 master:2 - xfs /dev/sdb1 rw\n"
	"31 22 8:2 /ab /ab rw - xfs /dev/sdb1 rw\n"
	"32 30 8:2 /x /var/cache/build\\040cache rw - xfs /dev/sdb1 rw\n"
	"garbage line\n";

static void find(dev_t dev, const char *path, int want_rc, const char *mnt, const char *device,
		 const char *fstype)
{
	struct cw_mount m;
	FILE *f = fmemopen((void *)mountinfo, sizeof(mountinfo) - 1, "r");
	assert_non_null(f);
	int rc = cw_mountinfo_find(f, dev, path, &m);
	fclose(f);
	assert_int_equal(rc, want_rc);
	if (rc)
		return;
	assert_string_equal(m.mountpoint, mnt);
	assert_string_equal(m.device, device);
	assert_string_equal(m.fstype, fstype);
}

static void test_find(void **state)
{
	(void)state;
	find(makedev(8, 1), "/root/.cache/go-build", 0, "/", "/dev/sda1", "ext4");
	find(makedev(8, 2), "/var/cache/ccache", 0, "/var/cache", "/dev/sdb1", "xfs");
	/* the longest mount point that is a path prefix; "\040" is a space */
	find(makedev(8, 2), "/var/cache/build cache/p1", 0, "/var/cache/build cache", "/dev/sdb1", "xfs");
	/* "/ab" holds "/ab/c", "/a" would not hold "/ab" */
	find(makedev(8, 2), "/ab/c", 0, "/ab", "/dev/sdb1", "xfs");
	find(makedev(8, 2), "/abc", -1, NULL, NULL, NULL);
	/* a device not listed */
	find(makedev(9, 9), "/var/cache/ccache", -1, NULL, NULL, NULL);
}

static void test_mount_of_real(void **state)
{
	(void)state;
	struct cw_mount m;
	assert_int_equal(cw_mount_of("/proc/self", &m), 0);
	assert_string_equal(m.mountpoint, "/proc");
	assert_string_equal(m.fstype, "proc");
	assert_int_equal(cw_mount_of("/nonexistent/cw-mountinfo", &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_mount_of_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
