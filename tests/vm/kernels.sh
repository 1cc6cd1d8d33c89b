#!/bin/sh
# Fetch and unpack Debian's stock 6.1 kernel flavours into build/vm-cache/ for the VM test matrix.
#
# Usage: tests/vm/kernels.sh [FLAVOUR...]      (default: amd64 cloud-amd64 rt-amd64)
# Prints one line per flavour on stdout:  FLAVOUR KREL ROOT
#   ROOT/boot/vmlinuz-KREL, ROOT/boot/config-KREL and ROOT/lib/modules/KREL/ exist.
# The ABI version (6.1.0-NN) is resolved by name from what linux-image-amd64 depends on;
# no version is hard-coded. Nothing is installed on the host; a rerun uses the cache.
set -eu

DEFAULT_FLAVOURS="amd64 cloud-amd64 rt-amd64"
META_PACKAGE="linux-image-amd64"

REPO_ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
CACHE_DIR=${VM_CACHE_DIR:-$REPO_ROOT/build/vm-cache}
UPDATED=no
ABI=''
CANDIDATE=''

die() { printf 'kernels.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'kernels.sh: %s\n' "$*" >&2; }

# Print the candidate version of package $1 (nothing if apt does not know it).
candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '^(none)$' || true
}

# Run apt-get update once per invocation (only when apt-cache lacks a package).
apt_update_once() {
	[ "$UPDATED" = yes ] && return 0
	UPDATED=yes
	log "apt-cache does not know $1; running apt-get update"
	apt-get update >&2 || die "apt-get update failed (needed to find $1)"
}

# Set CANDIDATE to the version apt would fetch of package $1, updating the lists once if needed.
require_candidate() {
	CANDIDATE=$(candidate "$1")
	if [ -z "$CANDIDATE" ]; then
		apt_update_once "$1"
		CANDIDATE=$(candidate "$1")
	fi
	[ -n "$CANDIDATE" ] || die "package $1 not found by apt-cache (even after apt-get update)"
}

# Print the image package (linux-image-6.1.0-NN-amd64) that linux-image-amd64 depends on.
image_dependency() {
	apt-cache depends "$META_PACKAGE" 2>/dev/null |
		sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-amd64\).*/\1/p' | head -n 1
}

# Set ABI to the kernel ABI (e.g. 6.1.0-56) of the image package linux-image-amd64 depends on.
resolve_abi() {
	dep=$(image_dependency)
	if [ -z "$dep" ]; then
		apt_update_once "$META_PACKAGE"
		dep=$(image_dependency)
	fi
	[ -n "$dep" ] || die "could not find the linux-image-*-amd64 dependency of $META_PACKAGE (apt-cache depends)"
	ABI=${dep#linux-image-}
	ABI=${ABI%-amd64}
	case $ABI in
	6.1.*) ;;
	*) die "$META_PACKAGE depends on $dep, which is not a 6.1 kernel" ;;
	esac
}

# Download package $1 version $2 into the deb cache unless present; print the .deb path.
fetch_deb() {
	debdir=$CACHE_DIR/debs
	mkdir -p "$debdir"
	# apt-get download names files pkg_ver_arch.deb, with ':' (epoch) as %3a.
	file=$debdir/${1}_$(printf '%s' "$2" | sed 's/:/%3a/')_amd64.deb
	if [ ! -s "$file" ]; then
		log "downloading $1 $2"
		(cd "$debdir" && apt-get -q -o APT::Sandbox::User=root download "$1=$2" >&2) ||
			die "apt-get download $1=$2 failed"
		[ -s "$file" ] || die "apt-get download $1=$2 did not produce $file"
	fi
	printf '%s\n' "$file"
}

# Unpack .deb $1 (kernel release $3) into directory $2 and run depmod (once; a stamp file marks a complete extraction).
extract_deb() {
	[ -f "$2/.extracted" ] && return 0
	log "extracting $(basename "$1")"
	rm -rf "$2" "$2.tmp"
	mkdir -p "$2.tmp"
	dpkg-deb -x "$1" "$2.tmp" || die "dpkg-deb -x $1 failed"
	# modules.dep is normally made by the package's postinst; make it here.
	depmod -b "$2.tmp" -F "$2.tmp/boot/System.map-$3" "$3" ||
		die "depmod for $3 in $2.tmp failed"
	touch "$2.tmp/.extracted"
	mv "$2.tmp" "$2"
}

# Fetch flavour $1 of ABI $2 and print "FLAVOUR KREL ROOT".
fetch_flavour() {
	krel=$2-$1
	pkg=linux-image-$krel
	require_candidate "$pkg"
	ver=$CANDIDATE
	deb=$(fetch_deb "$pkg" "$ver")
	root=$CACHE_DIR/kernels/${pkg}_$ver
	extract_deb "$deb" "$root" "$krel"
	[ -f "$root/boot/vmlinuz-$krel" ] || die "$pkg has no boot/vmlinuz-$krel"
	[ -f "$root/boot/config-$krel" ] || die "$pkg has no boot/config-$krel"
	[ -f "$root/lib/modules/$krel/modules.dep" ] || die "$pkg has no lib/modules/$krel/modules.dep"
	printf '%s %s %s\n' "$1" "$krel" "$root"
}

main() {
	command -v apt-cache >/dev/null || die "apt-cache not found (Debian/Ubuntu host required)"
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	command -v depmod >/dev/null || die "depmod not found (install kmod)"
	# shellcheck disable=SC2086 # a word list
	[ $# -gt 0 ] || set -- $DEFAULT_FLAVOURS
	resolve_abi
	for flavour in "$@"; do
		case $flavour in
		*[!a-z0-9-]* | "") die "bad flavour name '$flavour'" ;;
		esac
		fetch_flavour "$flavour" "$ABI"
	done
}

main "$@"
