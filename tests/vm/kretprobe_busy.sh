#!/bin/sh
# VM test: the kprobe backend counts every write while more tasks sit inside vfs_write than the kernel's default kretprobe instances.
#
# Usage (payload line, in the VM): sh tests/vm/kretprobe_busy.sh WORKDIR
# The kernel gives a kretprobe the CPU count (5.10 without full preemption) or max(10, 2 x CPUs)
# instances by default; a task inside the function holds one, and a call that finds none
# left loses its return silently. BLOCKED writers stuck on full pipes hold them while
# WRITES watched writes run; every one of them must be counted.
W=${1:?usage: kretprobe_busy.sh WORKDIR}
BLOCKED=${CW_BLOCKED:-48}
WRITES=200
CW=${CW_BIN:-build/cachewatch}
n=0
fails=0
pids=''
top_pid=''

ok() { # condition-status description...
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}

cleanup() {
	# shellcheck disable=SC2086 # a pid list
	[ -z "$pids" ] || kill $pids 2>/dev/null
	[ -z "$top_pid" ] || kill "$top_pid" 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT

echo "1..4"
mkdir -p "$W/cache"
"$CW" top --bpf.attach=kprobe --json --interval=500ms --count=100000 "$W/cache" \
	>"$W/top.json" 2>"$W/top.err" &
top_pid=$!
i=0
while ! grep -q 'msg="BPF attached"' "$W/top.err" && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q 'msg="BPF attached" backend=kprobe' "$W/top.err"
ok $? "cachewatch top attached the kprobe backend"

# Each dd blocks inside vfs_write on a pipe nobody reads (its buffer holds 64 KiB).
i=0
while [ $i -lt "$BLOCKED" ]; do
	# shellcheck disable=SC2216 # sleep not reading is the point: the pipe stays full
	dd if=/dev/zero bs=1M count=1 2>/dev/null | sleep 600 &
	pids="$pids $!"
	i=$((i + 1))
done
sleep 2
# A dd sleeping in write(2) (syscall 1 on x86-64; /proc/PID/syscall) on a pipe is in vfs_write.
inside=0
for p in /proc/[0-9]*; do
	[ "$(cat "$p/comm" 2>/dev/null)" = dd ] || continue
	read -r nr _ <"$p/syscall" 2>/dev/null || continue
	[ "$nr" = 1 ] && grep -q '^State:.*S' "$p/status" && inside=$((inside + 1))
done
echo "# $inside of $BLOCKED dd processes sleep in write(2) on a full pipe (inside vfs_write)"
[ "$inside" -ge 20 ]
ok $? "at least 20 tasks are inside vfs_write at once (/proc/PID/syscall)"

i=0
while [ $i -lt $WRITES ]; do
	echo x >>"$W/cache/f" # one write(2) of 2 bytes
	i=$((i + 1))
done
sleep 2
got=$(tail -n 1 "$W/top.json" | sed -n 's/.*"dir":".","write_bytes":\([0-9]*\),"writes":\([0-9]*\).*/\1 \2/p')
echo "# counted (bytes writes): ${got:-none}; made: $((WRITES * 2)) $WRITES"
[ "$got" = "$((WRITES * 2)) $WRITES" ]
ok $? "all $WRITES writes counted while $BLOCKED writers sit inside vfs_write"

# Its tracefs kretprobe events go when it stops.
kill "$top_pid"
wait "$top_pid"
left=$(grep -c ":cachewatch/cw${top_pid}_" /sys/kernel/tracing/kprobe_events)
top_pid=''
echo "# kretprobe events of the stopped agent left in kprobe_events: $left"
[ "$left" = 0 ]
ok $? "its kretprobe events are removed when cachewatch top stops (SIGTERM)"
[ "$fails" = 0 ]
