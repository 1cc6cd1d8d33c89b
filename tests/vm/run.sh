#!/bin/bash
# Kernel-matrix test (make test-vm): boot Debian's kernels (5.10 to the newest) under qemu TCG and run the data-plane tests in each.
#
# Environment:
#   KERNELS       kernels to boot: SERIES-FLAVOUR (6.12-rt-amd64, 6.12-rt) or SERIES (all its
#                 flavours); series 5.10 6.1 6.12 latest (tests/vm/kernels.sh). Default:
#                 VM_SUBSET (make test) or everything (make test-vm-full). VM_KERNELS = KERNELS.
#   VM_CACHE      downloads and unpacked kernels (default ~/.cache/cachewatch-vm, survives make clean)
#   VM_BACKENDS   payload labels to run (default: all of PAYLOAD below, e.g. "fentry kprobe")
#   VM_TIMEOUT    seconds per VM before it is killed and failed (default 1200)
#   VM_AGENT      agent binary (default build/cachewatch)
#   VM_TESTS_DIR  directory holding the build/tests/ programs (default build/tests)
#   VM_PAYLOAD_FILE  file replacing PAYLOAD (same format), e.g. for debugging
#   VM_EXTRA_FILES   extra files for the initramfs, space separated SRC[=DEST]
#   VM_APPEND     extra kernel command line;  VM_MEM (1G), VM_DISK_SIZE (1G);  QEMU binary
#   CI=true       anything that prevents running is a failure (never a skip)
# Console logs: build/vm-logs/<kernel>.log. See docs/vm.md.

# The Makefile may start this with sh: switch to bash before any bash syntax is parsed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

# What runs in every VM, one run per line: LABEL COMMAND...  The command runs in /repo (the
# repository layout: build/cachewatch, build/tests/...), with $W a fresh directory on the VM's
# ext4 /work. Files named build/... or tests/vm/... are copied into the VM. Adding a program is one line.
# shellcheck disable=SC2016 # $W is expanded inside the VM
PAYLOAD='
auto        build/tests/test_dataplane --backend auto --expect-backend "$CW_EXPECT_AUTO" --workdir "$W"
fentry      build/tests/test_dataplane --backend fentry --workdir "$W"
kprobe      build/tests/test_dataplane --backend kprobe --workdir "$W"
tracepoint  build/tests/test_dataplane --backend tracepoint --workdir "$W"
kretprobe   sh tests/vm/kretprobe_busy.sh "$W"
paths-fentry      build/tests/test_paths --backend fentry --workdir "$W"
paths-kprobe      build/tests/test_paths --backend kprobe --workdir "$W"
paths-tracepoint  build/tests/test_paths --backend tracepoint --workdir "$W"
access-fentry      build/tests/test_access --backend fentry --workdir "$W"
access-kprobe      build/tests/test_access --backend kprobe --workdir "$W"
access-tracepoint  build/tests/test_access --backend tracepoint --workdir "$W"
hotpath-fentry       build/tests/test_hotpath --backend fentry --workdir "$W"
hotpath-kprobe       build/tests/test_hotpath --backend kprobe --workdir "$W"
hotpath-tracepoint   build/tests/test_hotpath --backend tracepoint --workdir "$W"
size-fentry      build/tests/test_size --backend fentry --workdir "$W"
size-kprobe      build/tests/test_size --backend kprobe --workdir "$W"
size-tracepoint  build/tests/test_size --backend tracepoint --workdir "$W"
'

# Documented refusals: on kernels matching the glob, the run passes as REFUSED when the
# backend refused to load with this reason (the loader probes the feature; auto moves on).
# LABEL  KERNEL-GLOB  REASON (a fixed string of the loader's message)
REFUSALS='
tracepoint  5.10-*  needs Linux 5.17 or later (the bpf_loop helper is missing
paths-tracepoint  5.10-*  needs Linux 5.17 or later (the bpf_loop helper is missing
access-tracepoint  5.10-*  needs Linux 5.17 or later (the bpf_loop helper is missing
hotpath-tracepoint   5.10-*  needs Linux 5.17 or later (the bpf_loop helper is missing
size-tracepoint  5.10-*  needs Linux 5.17 or later (the bpf_loop helper is missing
'

REPO_ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
VM_DIR=$REPO_ROOT/tests/vm
VM_CACHE=${VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cachewatch-vm}
export VM_CACHE
LOG_DIR=${VM_LOG_DIR:-$REPO_ROOT/build/vm-logs}
# The representative subset tests/run.sh (make test) boots: every series once, every
# flavour once, the preemption models that change auto's choice (voluntary, RT, and the
# newest kernel's default). make test-vm-full boots them all. See docs/vm.md.
VM_SUBSET='5.10-amd64 6.1-cloud-amd64 6.12-rt-amd64 latest-amd64'
KERNELS=${KERNELS:-${VM_KERNELS:-}}
VM_BACKENDS=${VM_BACKENDS:-}
VM_TIMEOUT=${VM_TIMEOUT:-1200}
VM_AGENT=${VM_AGENT:-$REPO_ROOT/build/cachewatch}
VM_TESTS_DIR=${VM_TESTS_DIR:-$REPO_ROOT/build/tests}
VM_MEM=${VM_MEM:-1G}
VM_DISK_SIZE=${VM_DISK_SIZE:-1G}
QEMU=${QEMU:-qemu-system-x86_64}
CONSOLE_TAIL=40
DONE_GRACE=15 # seconds qemu may take to power off after @@CW-DONE

QEMU_PID=''
TMP=''
LABELS=()
FLAVOURS=()
declare -A CELL=() VM_NOTE=() VM_TIMES=() INSNS=()
TOTAL_PASS=0
TOTAL_FAIL=0
BAD_RUNS=0

die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'run.sh: %s\n' "$*" >&2; }

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# Kill the running qemu (its whole process group) and reap it.
kill_qemu() {
	[ -n "$QEMU_PID" ] || return 0
	kill -TERM -- "-$QEMU_PID" 2>/dev/null || kill -TERM "$QEMU_PID" 2>/dev/null || true
	local _
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL -- "-$QEMU_PID" 2>/dev/null || true
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=''
}

cleanup() {
	kill_qemu
	[ -z "$TMP" ] || rm -rf "$TMP"
}

# No qemu: a failure under CI, a loud skip elsewhere.
check_qemu() {
	command -v "$QEMU" >/dev/null && return 0
	if [ "${CI:-}" = true ]; then
		die "$QEMU not found (CI=true: the VM tests cannot be skipped; install qemu-system-x86)"
	fi
	printf '\n*** SKIP: %s not found; the VM kernel-matrix tests did NOT run ***\n\n' "$QEMU" >&2
	exit 0
}

# Write the payload (PAYLOAD or VM_PAYLOAD_FILE, filtered by VM_BACKENDS) to $1; set LABELS.
make_payload() {
	local src=$PAYLOAD label cmd want
	if [ -n "${VM_PAYLOAD_FILE:-}" ]; then
		src=$(cat "$VM_PAYLOAD_FILE") || die "cannot read VM_PAYLOAD_FILE $VM_PAYLOAD_FILE"
	fi
	: >"$1"
	while read -r label cmd; do
		case $label in '' | '#'*) continue ;; esac
		if [ -n "$VM_BACKENDS" ] && ! [[ " $VM_BACKENDS " == *" $label "* ]]; then
			continue
		fi
		printf '%s %s\n' "$label" "$cmd" >>"$1"
		LABELS+=("$label")
	done <<<"$src"
	for want in $VM_BACKENDS; do
		grep -q "^$want " "$1" || die "VM_BACKENDS: no payload run labelled '$want'"
	done
	[ ${#LABELS[@]} -gt 0 ] || die "the payload is empty"
}

# Print the SRC=DEST arguments for mkinitramfs.sh: the agent and every build/... word of the payload.
payload_files() {
	local word src
	[ -f "$VM_AGENT" ] || die "agent binary not found: $VM_AGENT (build it first or set VM_AGENT)"
	printf '%s=/repo/build/cachewatch\n' "$VM_AGENT"
	{ grep -oE '(build|tests/vm)/[^ "'\'']*' "$1" || true; } | sort -u | while read -r word; do
		[ "$word" = build/cachewatch ] && continue
		case $word in
		build/tests/*) src=$VM_TESTS_DIR/${word#build/tests/} ;;
		*) src=$REPO_ROOT/$word ;;
		esac
		[ -f "$src" ] || die "payload program not found: $src (needed for $word)"
		printf '%s=/repo/%s\n' "$src" "$word"
	done
	# what users run, not busybox: GNU cp (copy_file_range, reflinks) for test_paths and
	# test_size, and mkfs.xfs for the clone cases
	printf '%s=/usr/bin/cp\n' "$(command -v cp)"
	command -v mkfs.xfs >/dev/null || die "mkfs.xfs not found (install xfsprogs: make deps)"
	printf '%s=/usr/sbin/mkfs.xfs\n' "$(command -v mkfs.xfs)"
	for word in ${VM_EXTRA_FILES:-}; do
		printf '%s\n' "$word"
	done
}

# One harness at a time per cache: runs share the downloads and the 2 cores (others wait here).
take_lock() {
	command -v flock >/dev/null || return 0
	exec 9>"$VM_CACHE/run.lock"
	flock -n 9 && return 0
	log "another tests/vm/run.sh is using $VM_CACHE; waiting for it to finish"
	flock 9
}

# KERNELS as kernels.sh arguments ("all": everything, "subset": VM_SUBSET); set WANT.
pick_kernels() {
	WANT=()
	case ${KERNELS:-all} in
	all) ;;
	subset) read -r -a WANT <<<"$VM_SUBSET" ;;
	*) read -r -a WANT <<<"$KERNELS" ;;
	esac
	"$VM_DIR/kernels.sh" -l "${WANT[@]}" >/dev/null || die "bad KERNELS '$KERNELS'"
}

# A blank ext4 image for /work in the VM.
make_disk() {
	rm -f "$1"
	truncate -s "$VM_DISK_SIZE" "$1" || die "cannot create disk image $1"
	mkfs.ext4 -q -F -L cwwork "$1" || die "mkfs.ext4 $1 failed"
}

# The backend --bpf.attach=auto must choose on the kernel with config $1: kprobe where
# preemption can put a second task into a BPF trampoline program on one CPU (PREEMPT_RT,
# and full or lazy preemption as the default model; docs/backends.md), else fentry.
# Read from the package's config, independently of how the agent decides at run time.
expected_auto() {
	if grep -qE '^CONFIG_PREEMPT(_RT|_LAZY)?=y' "$1"; then
		echo kprobe
	else
		echo fentry
	fi
}

# Boot kernel $2 with initrd $3 and disk $4, console to $5, expected auto backend $6; wait
# at most VM_TIMEOUT. Sets VM_STATUS (done|timeout|exited), VM_BOOT_MS, VM_SUITE_MS
# (first @@CW-BEGIN to @@CW-DONE) and VM_TOTAL_MS.
boot_vm() {
	local start t boot_ms='' done_ms='' begin_ms=''
	rm -f "$5"
	# timeout(1) bounds qemu's life even if this script is SIGKILLed; setsid gives a
	# process group that kill_qemu can kill as a whole.
	setsid timeout -s KILL $((VM_TIMEOUT + 60)) \
		"$QEMU" -accel tcg -cpu max -smp 2 -m "$VM_MEM" -nographic -no-reboot \
		-kernel "$2" -initrd "$3" \
		-append "console=ttyS0 panic=-1 CW_EXPECT_AUTO=$6 ${VM_APPEND:-}" \
		-drive "file=$4,format=raw,if=virtio" \
		-nic none -serial "file:$5" -monitor none \
		</dev/null >"${5%.log}.qemu.log" 2>&1 &
	QEMU_PID=$!
	start=$(now_ms)
	VM_STATUS=exited
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		t=$(($(now_ms) - start))
		if [ -z "$boot_ms" ] && grep -q 'cw-init: kernel' "$5" 2>/dev/null; then
			boot_ms=$t
		fi
		if [ -z "$begin_ms" ] && grep -q '^@@CW-BEGIN' "$5" 2>/dev/null; then
			begin_ms=$t
		fi
		if [ -z "$done_ms" ] && grep -q '^@@CW-DONE' "$5" 2>/dev/null; then
			done_ms=$t
		fi
		if [ -n "$done_ms" ] && [ $((t - done_ms)) -gt $((DONE_GRACE * 1000)) ]; then
			log "$1: qemu did not power off ${DONE_GRACE}s after @@CW-DONE; killing it"
			break
		fi
		if [ "$t" -ge $((VM_TIMEOUT * 1000)) ]; then
			VM_STATUS=timeout
			break
		fi
		sleep 0.2
	done
	kill_qemu
	VM_TOTAL_MS=$(($(now_ms) - start))
	VM_BOOT_MS=${boot_ms:-}
	VM_SUITE_MS=''
	[ -z "$begin_ms" ] || [ -z "$done_ms" ] || VM_SUITE_MS=$((done_ms - begin_ms))
	tr -d '\r' <"$5" | grep -q '^@@CW-DONE' && VM_STATUS="done"
	return 0
}

# Parse console log $1: print "LABEL began ended rc pass fail plan" per run seen.
parse_log() {
	tr -d '\r' <"$1" | awk '
		/^@@CW-BEGIN / { cur = $2; began[cur] = 1; n++; order[n] = cur; next }
		/^@@CW-END / { rc = $3; sub(/^rc=/, "", rc); ended[$2] = 1; rcs[$2] = rc; cur = ""; next }
		cur == "" { next }
		/^not ok( |$)/ { if ($0 ~ /# *TODO/) pass[cur]++; else fail[cur]++; next }
		/^ok( |$)/ { pass[cur]++; next }
		/^1\.\.[0-9]+/ { p = $1; sub(/^1\.\./, "", p); plan[cur] = p + 0; next }
		END {
			for (i = 1; i <= n; i++) {
				l = order[i]
				printf "%s %d %d %s %d %d %s\n", l, began[l], ended[l], (l in rcs ? rcs[l] : "-"),
					pass[l], fail[l], (l in plan ? plan[l] : "-")
			}
		}'
}

# Print the console lines of run $2 in log $1 (between its markers).
run_section() {
	# reads to the end (no early exit): under pipefail a SIGPIPE of tr would fail the caller
	tr -d '\r' <"$1" | awk -v l="$2" '$0 == "@@CW-BEGIN " l && !seen { on = 1; seen = 1 } on { print } on && $1 == "@@CW-END" { on = 0 }'
}

show_tail() {
	printf -- '----- last %d console lines of %s (%s) -----\n' "$CONSOLE_TAIL" "$1" "$2"
	tr -d '\r' <"$2" | tail -n "$CONSOLE_TAIL"
	printf -- '----- end of console tail -----\n'
}

# Did run $2 on kernel $1 (log $3) fail only because its backend refused to load, as
# REFUSALS documents for that kernel? Sets REFUSED_WHY.
refused() {
	local label glob why section
	section=$(run_section "$3" "$2")
	while read -r label glob why; do
		[ "$label" = "$2" ] || continue
		# shellcheck disable=SC2053 # a glob
		[[ $1 == $glob ]] || continue
		grep -qF "$why" <<<"$section" || continue
		[ "$(grep -c '^not ok' <<<"$section")" = 1 ] || continue
		REFUSED_WHY=$(grep -oE 'needs Linux [0-9.]+' <<<"$why" | head -n 1)
		REFUSED_WHY=${REFUSED_WHY:-$why}
		return 0
	done <<<"$REFUSALS"
	return 1
}

# Turn the parsed results of flavour $1 (log $2, VM status $3) into matrix cells.
record_results() {
	local flavour=$1 logf=$2 status=$3 label began ended rc pass fail plan cell parsed total
	parsed=$(parse_log "$logf")
	for label in "${LABELS[@]}"; do
		# the loader's "BPF programs verified" line of the backend that attached last
		INSNS[$flavour/$label]=$(run_section "$logf" "$label" |
			sed -n 's/.*largest_prog=\([^ ]*\) verified_insns=\([0-9]*\).*/\1 \2/p' | tail -n 1)
		read -r _ began ended rc pass fail plan <<<"$(grep "^$label " <<<"$parsed" | tail -n 1)" || true
		pass=${pass:-0} fail=${fail:-0} total=$((${pass:-0} + ${fail:-0}))
		if [ "${ended:-0}" = 1 ] && [ "$rc" != 0 ] && [ "$pass" = 0 ] &&
			refused "$flavour" "$label" "$logf"; then
			CELL[$flavour/$label]="REFUSED ($REFUSED_WHY)"
			continue
		fi
		TOTAL_PASS=$((TOTAL_PASS + pass))
		TOTAL_FAIL=$((TOTAL_FAIL + fail))
		if [ "${ended:-0}" = 1 ] && [ "$rc" = 0 ] && [ "$fail" = 0 ] && [ "$total" -gt 0 ] &&
			{ [ "$plan" = - ] || [ "$plan" = "$total" ]; }; then
			CELL[$flavour/$label]="$pass/$total passed"
			continue
		fi
		BAD_RUNS=$((BAD_RUNS + 1))
		if [ "${ended:-0}" = 1 ]; then
			cell="FAILED $pass/$total rc=$rc"
			[ "$total" -gt 0 ] || cell="FAILED no TAP rc=$rc"
			[ "$plan" = - ] || [ "$plan" = "$total" ] || cell="$cell plan=$plan"
		elif [ "$status" = timeout ]; then
			cell=TIMEOUT
		elif grep -q 'Kernel panic' "$logf"; then
			cell=PANIC
		elif [ "${began:-0}" = 1 ]; then
			cell="FAILED (VM died mid-run)"
		else
			cell="MISSING (no result)"
		fi
		CELL[$flavour/$label]=$cell
		printf -- '----- %s / %s: %s -----\n' "$flavour" "$label" "$cell"
		run_section "$logf" "$label" | tail -n 60
	done
}

# Did the VM with status $1 and console $2 stop before its first payload run (hang or oops
# while booting)? Such boots are retried once: under TCG about 1 boot in 8 hangs early.
early_failure() {
	[ "$1" != "done" ] || return 1
	! tr -d '\r' <"$2" | grep -q '^@@CW-BEGIN'
}

# Fetch, build, boot and evaluate one kernel ($1 = "ID KREL VMLINUZ MODDIR CONFIG").
run_flavour() {
	local flavour krel vmlinuz moddir config initrd disk logf note files=() expect attempt retry=''
	read -r flavour krel vmlinuz moddir config <<<"$1"
	initrd=$TMP/$flavour.cpio.gz
	disk=$TMP/$flavour.img
	logf=$LOG_DIR/$flavour.log
	expect=$(expected_auto "$config")
	mapfile -t files < <(payload_files "$TMP/payload")
	log "$flavour: building initramfs for $krel"
	"$VM_DIR/mkinitramfs.sh" -o "$initrd" -k "$moddir" -r "$krel" -p "$TMP/payload" "${files[@]}" ||
		die "mkinitramfs.sh failed for $flavour"
	for attempt in 1 2; do
		make_disk "$disk"
		log "$flavour: booting $krel under TCG (attempt $attempt, timeout ${VM_TIMEOUT}s, console: $logf)"
		boot_vm "$flavour" "$vmlinuz" "$initrd" "$disk" "$logf" "$expect"
		rm -f "$disk"
		if [ "$attempt" != 1 ] || ! early_failure "$VM_STATUS" "$logf"; then
			break
		fi
		retry="retried after: $(vm_failure "$VM_STATUS" "$logf")"
		log "$flavour: boot failed before the suite started ($retry); retrying once"
		show_tail "$flavour" "$logf"
		cp "$logf" "${logf%.log}.attempt1.log"
	done
	VM_TIMES[$flavour]="${VM_BOOT_MS:-?} ${VM_SUITE_MS:-?}"
	note="boot $(secs "$VM_BOOT_MS"), suite $(secs "$VM_SUITE_MS"), total $(secs "$VM_TOTAL_MS")${retry:+, $retry}"
	if [ "$VM_STATUS" != "done" ]; then
		note="$note, $(vm_failure "$VM_STATUS" "$logf")"
		log "$flavour: VM FAILED: $note"
		show_tail "$flavour" "$logf"
		BAD_RUNS=$((BAD_RUNS + 1))
	fi
	VM_NOTE[$flavour]="$krel, auto must pick $expect ($note)"
	log "$flavour: $note"
	record_results "$flavour" "$logf" "$VM_STATUS"
}

# Describe why VM with status $1 and console $2 did not finish.
vm_failure() {
	local err
	err=$(tr -d '\r' <"$2" | sed -n 's/^@@CW-ERROR //p' | head -n 1)
	if [ "$1" = timeout ]; then
		echo "TIMEOUT after ${VM_TIMEOUT}s"
	elif grep -q 'Kernel panic' "$2"; then
		echo "KERNEL PANIC: $(grep -m1 'Kernel panic' "$2" | tr -d '\r')"
	elif grep -qE 'Oops|BUG:' "$2"; then
		echo "OOPS: $(grep -m1 -E 'Oops|BUG:' "$2" | tr -d '\r')"
	elif [ -n "$err" ]; then
		echo "init error: $err"
	else
		echo "VM exited before finishing (see ${2%.log}.qemu.log)"
	fi
}

# Milliseconds $1 as seconds with one decimal ("?" if unknown).
secs() {
	[ -n "${1:-}" ] || { echo '?'; return; }
	printf '%d.%ds' $(($1 / 1000)) $(($1 % 1000 / 100))
}

print_matrix() {
	local flavour label row boot suite
	printf '\n== VM kernel matrix ==\n'
	for flavour in "${FLAVOURS[@]}"; do
		printf '%-18s %s\n' "$flavour" "${VM_NOTE[$flavour]:-not run}"
	done
	printf '\n%-18s | %-7s | %-7s' kernel boot suite
	for label in "${LABELS[@]}"; do printf ' | %-22s' "$label"; done
	printf '\n'
	for flavour in "${FLAVOURS[@]}"; do
		read -r boot suite <<<"${VM_TIMES[$flavour]:-? ?}"
		[ "$boot" = '?' ] || boot=$(secs "$boot")
		[ "$suite" = '?' ] || suite=$(secs "$suite")
		row=$(printf '%-18s | %-7s | %-7s' "$flavour" "$boot" "$suite")
		for label in "${LABELS[@]}"; do
			row+=$(printf ' | %-22s' "${CELL[$flavour/$label]:-MISSING}")
		done
		printf '%s\n' "$row"
	done
	printf '\nLargest program and its verified instructions (verifier stats, Linux 5.16+):\n'
	printf '%-18s' kernel
	for label in "${LABELS[@]}"; do printf ' | %-22s' "$label"; done
	printf '\n'
	for flavour in "${FLAVOURS[@]}"; do
		row=$(printf '%-18s' "$flavour")
		for label in "${LABELS[@]}"; do
			row+=$(printf ' | %-22s' "${INSNS[$flavour/$label]:--}")
		done
		printf '%s\n' "$row"
	done
	printf '\n'
	[ "$BAD_RUNS" = 0 ] || printf '%d run(s) or VM(s) failed, timed out or gave no result\n' "$BAD_RUNS"
	printf '%d passed, %d failed\n' "$TOTAL_PASS" "$TOTAL_FAIL"
}

main() {
	local kernels line id krel why label
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	[[ $VM_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "VM_TIMEOUT must be a positive number of seconds"
	check_qemu
	command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 not found (install e2fsprogs)"
	pick_kernels
	mkdir -p "$LOG_DIR" "$VM_CACHE"
	take_lock
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/cw-vm.XXXXXX")
	make_payload "$TMP/payload"
	payload_files "$TMP/payload" >/dev/null # fail early on missing programs
	kernels=$("$VM_DIR/kernels.sh" "${WANT[@]}") || die "kernels.sh could not provide kernels: ${WANT[*]:-all}"
	mapfile -t FLAVOURS < <(awk '{ print $1 }' <<<"$kernels")
	while read -r line; do
		read -r id krel why <<<"$line"
		if [ "$krel" = - ]; then # kernels.sh: a flavour the archive does not serve
			VM_NOTE[$id]="not run: ${why#UNAVAILABLE }"
			for label in "${LABELS[@]}"; do CELL[$id/$label]=UNAVAILABLE; done
			continue
		fi
		run_flavour "$line"
	done <<<"$kernels"
	print_matrix
	[ "$BAD_RUNS" = 0 ] && [ "$TOTAL_FAIL" = 0 ]
}

main "$@"
