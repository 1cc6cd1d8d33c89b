#!/bin/sh
# /init (PID 1) of the cachewatch test VM: mount, load modules, mount the ext4 disk, run the payload, power off.
#
# Files placed by mkinitramfs.sh:
#   /etc/cw/modules   kernel modules to insmod, in load order (paths under /lib/modules/KREL)
#   /etc/cw/payload   one run per line: LABEL COMMAND... (run from /repo with $W = fresh dir)
# Console protocol read by run.sh (one line each):
#   @@CW-BEGIN LABEL / @@CW-END LABEL rc=N   around each run (TAP lines in between)
#   @@CW-ERROR message                       setup failed; no runs happen
#   @@CW-DONE                                all runs finished; powering off

PATH=/repo/build/tests:/repo/build:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
CW_BIN=/repo/build/cachewatch # the agent, for tests that start it (test_dataplane signal tests)
export CW_BIN
WORK_DEV=/dev/vda

say() { echo "cw-init: $*"; }

# Report a setup failure and power off (the harness sees no results and fails the flavour).
fail() {
	echo "@@CW-ERROR $*"
	poweroff -f
	sleep 5
	exit 1
}

mount_fs() { # type dir [options]
	mkdir -p "$2"
	mount -t "$1" ${3:+-o "$3"} "$1" "$2" || fail "mount -t $1 $2 failed"
}

mount_all() {
	mount_fs proc /proc
	mount_fs sysfs /sys
	mount_fs devtmpfs /dev
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /dev/shm
	mount_fs tmpfs /tmp mode=1777
	mount_fs tmpfs /run mode=0755
	mount_fs tracefs /sys/kernel/tracing
	mount_fs debugfs /sys/kernel/debug
	mount_fs bpf /sys/fs/bpf
}

load_modules() {
	[ -f /etc/cw/modules ] || return 0
	krel=$(uname -r)
	while read -r mod; do
		[ -n "$mod" ] || continue
		insmod "/lib/modules/$krel/$mod" || fail "insmod $mod failed"
	done </etc/cw/modules
}

# Wait up to 10 s for the virtio disk, then mount it (made ext4 by the harness) on /work.
mount_work() {
	i=0
	while [ ! -b "$WORK_DEV" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b "$WORK_DEV" ] || fail "virtio disk $WORK_DEV did not appear (virtio_pci/virtio_blk loaded?)"
	mkdir -p /work
	mount -t ext4 "$WORK_DEV" /work || fail "mount -t ext4 $WORK_DEV /work failed"
}

# Run one payload line: $1 = label, $2 = command (shell words, may use $W).
run_one() {
	W=/work/$1
	export W
	rm -rf "$W"
	mkdir -p "$W"
	echo "@@CW-BEGIN $1"
	(cd /repo && eval "$2") </dev/null 2>&1
	rc=$?
	echo "@@CW-END $1 rc=$rc"
}

run_payload() {
	while read -r label cmd; do
		case $label in '' | '#'*) continue ;; esac
		run_one "$label" "$cmd" </dev/null
	done </etc/cw/payload
}

main() {
	echo # the console line may hold firmware/kernel escape codes; start our lines clean
	mount_all
	ip link set lo up 2>/dev/null
	# shellcheck disable=SC3045 # busybox sh has ulimit -l
	ulimit -l unlimited
	hostname cw-vm
	say "kernel $(uname -r), $(nproc) cpus"
	load_modules
	mount_work
	# Boot messages went to the console in full (for debugging hangs); from here on only
	# warnings and worse, so that kernel lines rarely interleave with TAP output.
	dmesg -n 5
	run_payload
	echo "@@CW-DONE"
	sync
	umount /work
	poweroff -f
}

main
