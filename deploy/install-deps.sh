#!/bin/sh
# Installs every Debian package cachewatch's build and tests need; no-op when present.
# A line "a | b" is satisfied by any of the packages and installs the first.
set -eu
here=$(dirname "$0")
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
missing=""
total=0
lines=$(grep -hv '^#' "$here/packages.txt" "$here/../tests/vm/deps.txt" 2>/dev/null | sed 's/[[:space:]]*|[[:space:]]*/|/g' | tr -s ' \n' '\n' | grep -v '^$')
for line in $lines; do
	total=$((total + 1))
	found=""
	for p in $(echo "$line" | tr '|' ' '); do
		installed "$p" && { found=1; break; }
	done
	[ -n "$found" ] || missing="$missing ${line%%|*}"
done
if [ -z "$missing" ]; then
	echo "deps: all $total packages present"
	exit 0
fi
echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: installing packages needs root (run: sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
