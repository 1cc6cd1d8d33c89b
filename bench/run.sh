#!/bin/sh
# Runs every benchmark in bench/ (not part of `make test`).
set -eu
cd "$(dirname "$0")/.."
for b in bench/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $b"
	sh "$b"
done
