#!/bin/sh
# Builds the cachewatch OCI image from Debian's packages only and saves it as an
# OCI archive: OUTDIR/cachewatch-VERSION.oci.tar, tagged cachewatch:VERSION.
#   sh deploy/image/build.sh BINARY OUTDIR VERSION
# The root file system holds the Debian packages of exactly the shared
# libraries BINARY links (found with ldd and dpkg -S) and their dependencies,
# extracted by mmdebstrap from the Debian archive; buildah (vfs storage, chroot
# isolation, a private storage root) turns it into an image. Needs root.
set -eu
bin=$1 out=$2 version=$3
here=$(cd "$(dirname "$0")" && pwd)
suite=${SUITE:-bookworm}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/cw-image.XXXXXX)
ctr=""
cleanup() {
	[ -n "$ctr" ] && buildah $B rm "$ctr" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
B="--storage-driver vfs --root $work/storage --runroot $work/run"

# The packages that own the libraries the binary links (the dynamic loader too).
libs=$(ldd "$bin" | awk '/=>/ { print $3 } /^\t\// { print $1 }')
pkgs=""
for l in $libs; do
	real=$(readlink -f "$l")
	p=$(dpkg -S "$l" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$l" 2>/dev/null) || {
		echo "image: no Debian package owns $l" >&2
		exit 1
	}
	p=${p%%:*}
	case " $pkgs " in *" $p "*) ;; *) pkgs="$pkgs $p" ;; esac
done
echo "image: packages for the linked libraries:$pkgs"

root=$work/rootfs
# extract: unpack the packages and their dependencies, no maintainer scripts,
# no dpkg or shell in the image. Documentation and locales are not needed.
mmdebstrap --quiet --variant=extract --include="$(echo $pkgs | tr ' ' ',')" \
	--customize-hook='rm -rf "$1"/usr/share/doc "$1"/usr/share/man "$1"/usr/share/info "$1"/usr/share/locale "$1"/usr/share/lintian' \
	"$suite" "$root" \
	"deb http://deb.debian.org/debian $suite main" \
	"deb http://deb.debian.org/debian-security $suite-security main"
install -D -m 0755 "$bin" "$root/usr/bin/cachewatch"
install -D -m 0644 "$here/../cachewatch.yml" "$root/etc/cachewatch/cachewatch.yml"
mkdir -p "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
# The image must run: every library resolves inside the new root.
chroot "$root" /usr/bin/cachewatch --version

ctr=$(buildah $B from scratch)
buildah $B copy "$ctr" "$root/" / >/dev/null
buildah $B config \
	--entrypoint '["/usr/bin/cachewatch"]' \
	--cmd 'run --config.file=/etc/cachewatch/cachewatch.yml' \
	--port 9745/tcp \
	--label org.opencontainers.image.title=cachewatch \
	--label org.opencontainers.image.version="$version" \
	--label org.opencontainers.image.description="eBPF agent measuring and purging cache directories" \
	--label org.opencontainers.image.base.name="debian:$suite (packages:$pkgs)" \
	"$ctr"
archive=$out/cachewatch-$version.oci.tar
rm -f "$archive"
buildah $B commit --quiet --format oci "$ctr" "oci-archive:$archive:cachewatch:$version" >/dev/null
echo "image: $archive ($(du -h "$archive" | cut -f1), root file system $(du -sh "$root" | cut -f1))"
