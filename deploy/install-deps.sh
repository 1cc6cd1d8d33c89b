#!/bin/sh
# Installs every Debian package cachewatch's build and tests need; no-op when present.
set -eu
here=$(dirname "$0")
pkgs=$(grep -hv '^#' "$here/packages.txt" "$here/../tests/vm/deps.txt" 2>/dev/null | tr -s ' \n' ' ')
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all $(echo $pkgs | wc -w) packages present"
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
