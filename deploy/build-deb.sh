#!/bin/sh
# Builds the Debian package from a copy of the tree and runs lintian on it.
#   sh deploy/build-deb.sh OUTDIR VERSION REVISION
# dpkg-buildpackage writes its results into the parent of the source tree, so
# the tree is copied to OUTDIR/src first: everything lands in OUTDIR.
set -eu
out=$1 version=$2 revision=$3
cd "$(dirname "$0")/.."
rm -rf "$out/src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
src=$out/src/cachewatch-$version
mkdir -p "$src"
tar --exclude=./build --exclude='./build-*' --exclude=./.git --exclude=./cachewatch \
	--exclude=./tests/vm/cache -cf - . | tar -xf - -C "$src"
(cd "$src" && REVISION=$revision dpkg-buildpackage -us -uc -b -j2)
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
rm -rf "$out/src"
changes=$(ls "$out"/cachewatch_*.changes)
echo "lintian $changes"
# Errors and warnings fail the build; debian/cachewatch.lintian-overrides says
# why each overridden tag (shown as O:) is not a problem.
rc=0
lintian --info --display-info --show-overrides --fail-on error,warning "$changes" >"$out/lintian.txt" 2>&1 || rc=$?
cat "$out/lintian.txt"
exit $rc
