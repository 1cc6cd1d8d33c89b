#!/bin/bash
# Build the busybox initramfs (cpio newc + gzip) that boots a cachewatch test VM.
#
# Usage: tests/vm/mkinitramfs.sh -o OUT [-k MODDIR -r KREL] [-m "MODULES"] [-p PAYLOAD] [SRC[=DEST]]...
#   -o OUT      output file (.cpio.gz)
#   -k MODDIR   the kernel's module directory ROOT/lib/modules/KREL (from kernels.sh); -r KREL
#   -m MODULES  module names or aliases to load (default: $DEFAULT_MODULES; NAME? = optional);
#               built-in ones are skipped, dependencies come from modprobe --show-depends
#   -p PAYLOAD  payload file, copied to /etc/cw/payload (format: see init.sh)
#   SRC[=DEST]  extra files; DEST defaults to /repo/<path relative to the repo> for files in
#               the repository, else /usr/local/bin/<name>. Shared libraries of ELF files
#               (ldd, including the dynamic loader) are added automatically.
set -euo pipefail

# ext4 asks the crypto API for crc32c at run time (not a module dependency: 6.12 fails to
# mount without crc32c_generic/crc32c-intel); 7.x names it crc32c-cryptoapi, an ext4 dependency.
# loop and xfs: test_paths clones files on a loop-mounted xfs made with reflink
DEFAULT_MODULES="virtio_pci virtio_blk crypto-crc32c? ext4 loop? xfs"

REPO_ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
INIT_SCRIPT=$REPO_ROOT/tests/vm/init.sh

die() { printf 'mkinitramfs.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
	sed -n '3,12s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

# Merged-/usr skeleton, like the host, so library paths printed by ldd resolve as-is.
make_skeleton() {
	local d
	for d in usr/bin usr/sbin usr/lib usr/lib64 usr/local/bin etc/cw dev proc sys tmp run \
		work repo/build/tests root; do
		mkdir -p "$STAGE/$d"
	done
	ln -s usr/bin "$STAGE/bin"
	ln -s usr/sbin "$STAGE/sbin"
	ln -s usr/lib "$STAGE/lib"
	ln -s usr/lib64 "$STAGE/lib64"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$STAGE/etc/passwd"
	printf 'root:x:0:\n' >"$STAGE/etc/group"
}

install_busybox() {
	local bb app
	bb=$(command -v busybox) || die "busybox not found (install busybox-static)"
	ldd "$bb" >/dev/null 2>&1 && die "$bb is dynamically linked (install busybox-static)"
	cp "$bb" "$STAGE/usr/bin/busybox"
	for app in $("$bb" --list-full); do
		case $app in
		bin/* | sbin/*) app=usr/$app ;;
		esac
		[ -e "$STAGE/$app" ] || [ -L "$STAGE/$app" ] || ln -s /usr/bin/busybox "$STAGE/$app"
	done
}

# Copy host file $1 to $2 inside the image (following symlinks), creating directories.
# A busybox applet link at $2 is replaced, not written through (which would overwrite busybox).
put_file() {
	mkdir -p "$STAGE$(dirname -- "$2")"
	rm -f "$STAGE$2"
	cp -L "$1" "$STAGE$2" || die "cannot copy $1"
}

# Print the shared libraries (and dynamic loader) that ELF file $1 needs, one per line.
shared_libs() {
	local out
	[ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ] || return 0
	out=$(ldd "$1" 2>/dev/null) || return 0 # static binaries: nothing to add
	printf '%s\n' "$out" | grep -q 'not found' &&
		die "ldd $1: missing libraries: $(printf '%s\n' "$out" | grep 'not found' | tr -s ' \t' ' ')"
	printf '%s\n' "$out" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

# Default destination of extra file $1 inside the image.
default_dest() {
	local abs
	abs=$(realpath -s -- "$1")
	case $abs in
	"$REPO_ROOT"/*) printf '/repo/%s\n' "${abs#"$REPO_ROOT"/}" ;;
	*) printf '/usr/local/bin/%s\n' "$(basename -- "$abs")" ;;
	esac
}

install_files() {
	local arg src dest lib
	for arg in "$@"; do
		case $arg in
		*=*) src=${arg%%=*} dest=${arg#*=} ;;
		*) src=$arg dest=$(default_dest "$arg") ;;
		esac
		[ -f "$src" ] || die "file to include not found: $src"
		put_file "$src" "$dest"
		chmod a+r "$STAGE$dest"
		for lib in $(shared_libs "$src"); do
			[ -e "$STAGE$lib" ] || put_file "$lib" "$lib"
		done
	done
}

# Print the module files to insmod for module or alias $1, dependencies first (modprobe
# --show-depends reads modules.dep, modules.alias and modules.builtin of MODDIR); nothing
# for a built-in module. A name ending in '?' is optional: absent is not an error.
module_load_order() {
	local name=${1%\?} out base=${MODDIR%/lib/modules/"$KREL"}
	[ "$base" != "$MODDIR" ] || die "module directory $MODDIR does not end in /lib/modules/$KREL"
	if ! out=$(modprobe -d "$base" -S "$KREL" --show-depends "$name" 2>&1); then
		[ "$name" != "$1" ] && return 0
		die "module $name is neither a module nor built into $KREL: $out"
	fi
	printf '%s\n' "$out" | awk '$1 == "insmod" { print $2 }' | sed "s|^$MODDIR/||"
}

# Copy module $1 (relative to MODDIR) into the image, decompressed: busybox insmod
# takes plain ELF. Prints the path it has in the image (relative to /lib/modules/KREL).
put_module() {
	local src=$MODDIR/$1 rel=$1 dst
	case $rel in
	*.ko) ;;
	*.ko.xz | *.ko.zst | *.ko.gz) rel=${rel%.*} ;;
	*) die "unexpected module file $1" ;;
	esac
	dst=$STAGE/lib/modules/$KREL/$rel
	mkdir -p "$(dirname -- "$dst")"
	case $1 in
	*.ko) cp "$src" "$dst" ;;
	*.xz) xz -dc "$src" >"$dst" ;;
	*.zst) zstd -qdc "$src" >"$dst" ;;
	*.gz) gzip -dc "$src" >"$dst" ;;
	esac || die "cannot copy/decompress $src"
	printf '%s\n' "$rel"
}

install_modules() {
	local m f rel order
	[ -f "$MODDIR/modules.dep" ] || die "no modules.dep in $MODDIR (run kernels.sh)"
	command -v modprobe >/dev/null || die "modprobe not found (install kmod)"
	: >"$STAGE/etc/cw/modules"
	for m in $MODULES; do
		order=$(module_load_order "$m") || exit 1
		for f in $order; do
			rel=$(put_module "$f") || exit 1
			grep -qxF "$rel" "$STAGE/etc/cw/modules" || printf '%s\n' "$rel" >>"$STAGE/etc/cw/modules"
		done
	done
}

write_archive() {
	(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$OUT.tmp" || die "cpio/gzip of $STAGE failed"
	mv "$OUT.tmp" "$OUT"
}

main() {
	local opt
	OUT='' MODDIR='' KREL='' PAYLOAD='' MODULES=$DEFAULT_MODULES
	while getopts o:k:r:m:p:h opt; do
		case $opt in
		o) OUT=$OPTARG ;;
		k) MODDIR=$OPTARG ;;
		r) KREL=$OPTARG ;;
		m) MODULES=$OPTARG ;;
		p) PAYLOAD=$OPTARG ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ -n "$OUT" ] || usage
	[ -z "$MODDIR" ] || [ -n "$KREL" ] || die "-k needs -r KREL"
	STAGE=$(mktemp -d "${TMPDIR:-/tmp}/cw-initramfs.XXXXXX")
	trap 'rm -rf "$STAGE"' EXIT
	make_skeleton
	install_busybox
	cp "$INIT_SCRIPT" "$STAGE/init"
	chmod 755 "$STAGE/init"
	[ -z "$PAYLOAD" ] || cp "$PAYLOAD" "$STAGE/etc/cw/payload" || die "cannot copy payload $PAYLOAD"
	[ -z "$MODDIR" ] || install_modules
	install_files "$@"
	write_archive
}

main "$@"
