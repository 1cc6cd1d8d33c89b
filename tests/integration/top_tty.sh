#!/bin/sh
# `cachewatch top` in a real terminal (tmux) at 80x24 and 200x50 over 200 directories:
# the screen fits, the busiest directory comes first by name, each row has its own writer,
# keys work and the terminal mode comes back (TAP).
set -u
BIN=$(realpath "${CW_BIN:-build/cachewatch}")
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
if ! command -v tmux >/dev/null; then
	ok 1 "tmux is installed (deploy/packages.txt)"
	echo "1..$n"
	exit 1
fi
tmp=$(mktemp -d /var/tmp/cw-toptty-XXXXXX)
sock="cw-toptty-$$"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	tmux -L "$sock" kill-server 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
root="$tmp/root"
mkdir -p "$root"
for i in $(seq -f %03g 0 199); do mkdir "$root/d$i"; done
# Two distinctly named copies of dd: one writes a lot into d137, one a little into d005.
cp "$(command -v dd)" "$tmp/cwbusy"
cp "$(command -v dd)" "$tmp/cwquiet"
busy=

start_writers() {
	# the shell touches every directory in name order first, so d137 is not among
	# the first 64 groups seen (the old cap folded it into _other)
	(while :; do for d in "$root"/d*; do printf x >>"$d/q"; done; sleep 0.3; done) &
	pids="$pids $!"
	sleep 1
	(while :; do "$tmp/cwbusy" if=/dev/zero of="$root/d137/f" bs=64k count=16 conv=notrunc 2>/dev/null; sleep 0.05; done) &
	busy=$!
	pids="$pids $!"
	(while :; do "$tmp/cwquiet" if=/dev/zero of="$root/d005/f" bs=1k count=8 conv=notrunc 2>/dev/null; sleep 0.1; done) &
	pids="$pids $!"
}
stop_writers() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	pids=""
}

# Starts top in a WxH terminal; the shell around it saves the terminal mode after top exits.
# A server told to quit may still answer on its socket for a moment; a session created on it
# then dies with it, so wait for the old one to go and check that the new one is there.
start_top() {
	for _ in $(seq 40); do tmux -L "$sock" has-session 2>/dev/null || break; sleep 0.25; done
	for _ in 1 2 3; do
		tmux -L "$sock" new-session -d -s top -x "$1" -y "$2" \
			"$BIN top --group-depth 1 --interval 500ms $root 2>$tmp/err; echo \$? >$tmp/rc; stty -a >$tmp/stty; sleep 30"
		sleep 0.5
		tmux -L "$sock" has-session -t top 2>/dev/null && return 0
		echo "# tmux session for ${1}x$2 not there, starting it again" >&2
	done
	echo "# tmux session for ${1}x$2 could not be started" >&2
}
capture() { tmux -L "$sock" capture-pane -p -t top >"$tmp/screen"; }
# Waits until the screen's first row is d137 (at most ~20 s).
wait_busy_first() {
	for _ in $(seq 80); do
		capture
		first=$(grep -A1 'WRITE/s' "$tmp/screen" | sed -n 2p | awk '{print $1}')
		[ "$first" = d137 ] && grep -q ' cwquiet' "$tmp/screen" && return 0
		sleep 0.25
	done
	return 1
}
row() { grep "^$1 " "$tmp/screen"; }

check_screen() { # width height
	w=$1 h=$2
	ok $(grep -q '^cachewatch top' "$tmp/screen" && grep -q '^DIR.* WRITE/s' "$tmp/screen"; echo $?) "${w}x$h: title and column header on screen"
	long=$(awk -v w="$w" 'length($0) > w' "$tmp/screen" | wc -l)
	ok $([ "$long" -eq 0 ]; echo $?) "${w}x$h: no line longer than $w columns ($long)"
	# every line between header and footer is a row of its own: a wrapped row would leave a
	# continuation line that does not start with a directory name
	bad=$(grep -v '^$' "$tmp/screen" | grep -v '^cachewatch top - \|^DIR\|rows, sorted by' | grep -cv '^\(d[0-9][0-9][0-9]\|_other\|\.\) ')
	ok $([ "$bad" -eq 0 ]; echo $?) "${w}x$h: no wrapped rows ($bad continuation lines)"
	lines=$(grep -c . "$tmp/screen")
	ok $([ "$lines" -le "$h" ] && grep -q 'rows, sorted by write' "$tmp/screen"; echo $?) "${w}x$h: $lines lines fit, footer on screen"
	first=$(grep -A1 'WRITE/s' "$tmp/screen" | sed -n 2p | awk '{print $1}')
	ok $([ "$first" = d137 ]; echo $?) "${w}x$h: the busiest directory is the first row, by name (first: $first)"
	ok $(row d137 | grep -q ' cwbusy *$'; echo $?) "${w}x$h: d137's writer is cwbusy ($(row d137 | awk '{print $NF}'))"
	ok $(row d005 | grep -q ' cwquiet *$'; echo $?) "${w}x$h: d005's writer is cwquiet, not the cache's top writer ($(row d005 | awk '{print $NF}'))"
	ok $(grep '^d[0-9]' "$tmp/screen" | grep -v '^d137 \|^d005 ' | grep -q ' sh *$'; echo $?) "${w}x$h: the other rows show their own writer (sh)"
}

start_writers

# ---- 80x24 ----
start_top 80 24
wait_busy_first
cp "$tmp/screen" "$tmp/capture-80x24"
check_screen 80 24
hdr1=$(grep '^DIR' "$tmp/screen")
tmux -L "$sock" send-keys -t top s
sleep 0.5
capture
hdr2=$(grep '^DIR' "$tmp/screen")
ok $(echo "$hdr1" | grep -q 'WRITE/s\*' && echo "$hdr2" | grep -q 'WRITES/s\*' && ! echo "$hdr2" | grep -q 'WRITE/s\*'; echo $?) \
	"s moves the sort marker from WRITE/s* to WRITES/s*"
ok $(grep -q 'sorted by writes' "$tmp/screen"; echo $?) "s: the footer says sorted by writes"
tmux -L "$sock" send-keys -t top g
sleep 0.5
capture
ok $(grep -A1 '^CACHE' "$tmp/screen" | sed -n 2p | grep -q '^/var/.*root ' && [ "$(grep -c '^d[0-9]' "$tmp/screen")" -eq 0 ]; echo $?) \
	"g: one row for the whole directory instead of one per group"
cp "$tmp/screen" "$tmp/capture-g"
tmux -L "$sock" send-keys -t top g
# a smaller terminal: SIGWINCH redraws at the new size
tmux -L "$sock" resize-window -t top -x 60 -y 12
sleep 0.5
capture
long=$(awk 'length($0) > 60' "$tmp/screen" | wc -l)
lines=$(grep -c . "$tmp/screen")
ok $([ "$long" -eq 0 ] && [ "$lines" -le 12 ] && grep -q '^DIR' "$tmp/screen" && grep -q '^d137 .* cwbusy *$' "$tmp/screen"; echo $?) \
	"resized to 60x12: redrawn to fit ($lines lines, $long too long), d137 and its writer still shown"
cp "$tmp/screen" "$tmp/capture-60x12"
tmux -L "$sock" send-keys -t top q
for _ in $(seq 40); do [ -s "$tmp/stty" ] && break; sleep 0.25; done
ok $([ -s "$tmp/stty" ] && [ "$(cat "$tmp/rc")" = 0 ]; echo $?) "q ends top, exit status 0 ($(cat "$tmp/rc" 2>/dev/null))"
ok $(grep -q ' icanon' "$tmp/stty" && grep -q ' echo ' "$tmp/stty"; echo $?) "after q the terminal is back in canonical mode with echo"
tmux -L "$sock" kill-server 2>/dev/null
rm -f "$tmp/stty"

# ---- 200x50 ----
start_top 200 50
wait_busy_first
cp "$tmp/screen" "$tmp/capture-200x50"
check_screen 200 50
ok $(grep '^DIR' "$tmp/screen" | grep -q 'P50.*UNLINK/s.*FREED/s.*TOP WRITER'; echo $?) "200 columns: every column shown"
ok $(grep -q '^_other' "$tmp/screen"; [ $? -ne 0 ]; echo $?) "no _other row: 200 directories are under top's default cap"
# over the interval, not since start: once cwbusy stops and cwlater writes a little into d137,
# d137's writer is cwlater although cwbusy wrote far more there in total
kill "$busy"
cp "$(command -v dd)" "$tmp/cwlater"
(while :; do "$tmp/cwlater" if=/dev/zero of="$root/d137/g" bs=1k count=2 conv=notrunc 2>/dev/null; sleep 0.1; done) &
pids="$pids $!"
sleep 2
capture
ok $(row d137 | grep -q ' cwlater *$'; echo $?) "cwbusy stopped: d137's writer over the last interval is cwlater ($(row d137 | awk '{print $NF}'))"
stop_writers
# SIGTERM also restores the terminal
pkill_pid=$(tmux -L "$sock" list-panes -t top -F '#{pane_pid}')
kill -TERM "$(pgrep -P "$pkill_pid" -x cachewatch)"
for _ in $(seq 40); do [ -s "$tmp/stty" ] && break; sleep 0.25; done
ok $(grep -q ' icanon' "$tmp/stty" && grep -q ' echo ' "$tmp/stty"; echo $?) "after SIGTERM the terminal is back in canonical mode with echo"

if [ -n "${CW_TOP_CAPTURES:-}" ]; then
	cp "$tmp/capture-80x24" "$tmp/capture-200x50" "$tmp/capture-60x12" "$tmp/capture-g" "$CW_TOP_CAPTURES"/
fi
echo "1..$n"
[ $fails -eq 0 ]
