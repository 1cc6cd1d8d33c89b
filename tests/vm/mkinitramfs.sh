#!/bin/bash
# Build the busybox initramfs (cpio newc + gzip) that boots a cachewatch test VM.
#
# Usage: tests/vm/mkinitramfs.sh -o OUT [-k KROOT -r KREL] [-m "MODULES"] [-p PAYLOAD] [SRC[=DEST]]...
#   -o OUT      output file (.cpio.gz)
#   -k KROOT    unpacked kernel package (from kernels.sh); -r KREL its release
#   -m MODULES  module names to load (default: $DEFAULT_MODULES); modules built into
#               the kernel (modules.builtin) are skipped, dependencies come from modules.dep
#   -p PAYLOAD  payload file, copied to /etc/cw/payload (format: see init.sh)
#   SRC[=DEST]  extra files; DEST defaults to /repo/<path relative to the repo> for files in
#               the repository, else /usr/local/bin/<name>. Shared libraries of ELF files
#               (ldd, including the dynamic loader) are added automatically.
set -euo pipefail

DEFAULT_MODULES="virtio_pci virtio_blk crc32c_generic ext4"

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
put_file() {
	mkdir -p "$STAGE$(dirname -- "$2")"
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

# modules.dep line for module $1 ('-' and '_' are equivalent), or nothing.
dep_line() {
	awk -v m="$1" '
		function norm(s) { gsub(/-/, "_", s); return s }
		{ f = $1; sub(/:$/, "", f); n = f; sub(/.*\//, "", n); sub(/\.ko(\..*)?$/, "", n)
		  if (norm(n) == norm(m)) { print; exit } }' "$MODDIR/modules.dep"
}

is_builtin() {
	awk -v m="$1" '
		function norm(s) { gsub(/-/, "_", s); return s }
		{ n = $1; sub(/.*\//, "", n); sub(/\.ko$/, "", n); if (norm(n) == norm(m)) found = 1 }
		END { exit !found }' "$MODDIR/modules.builtin"
}

# Print module files (relative to MODDIR) to insmod for module $1, dependencies first.
module_load_order() {
	local line deps i
	line=$(dep_line "$1")
	if [ -z "$line" ]; then
		is_builtin "$1" && return 0
		die "module $1 is neither in modules.dep nor built into $KREL"
	fi
	read -r -a deps <<<"${line#*:}"
	# modules.dep lists dependencies so that loading them last-to-first works (as modprobe does).
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		printf '%s\n' "${deps[i]}"
	done
	printf '%s\n' "${line%%:*}"
}

install_modules() {
	local m f order
	MODDIR=$KROOT/lib/modules/$KREL
	[ -f "$MODDIR/modules.dep" ] || die "no modules.dep in $MODDIR (run kernels.sh)"
	: >"$STAGE/etc/cw/modules"
	for m in $MODULES; do
		order=$(module_load_order "$m") || exit 1
		for f in $order; do
			grep -qxF "$f" "$STAGE/etc/cw/modules" && continue
			case $f in *.ko) ;; *) die "compressed module $f is not supported" ;; esac
			put_file "$MODDIR/$f" "/lib/modules/$KREL/$f"
			printf '%s\n' "$f" >>"$STAGE/etc/cw/modules"
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
	OUT='' KROOT='' KREL='' PAYLOAD='' MODULES=$DEFAULT_MODULES
	while getopts o:k:r:m:p:h opt; do
		case $opt in
		o) OUT=$OPTARG ;;
		k) KROOT=$OPTARG ;;
		r) KREL=$OPTARG ;;
		m) MODULES=$OPTARG ;;
		p) PAYLOAD=$OPTARG ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ -n "$OUT" ] || usage
	[ -z "$KROOT" ] || [ -n "$KREL" ] || die "-k needs -r KREL"
	STAGE=$(mktemp -d "${TMPDIR:-/tmp}/cw-initramfs.XXXXXX")
	trap 'rm -rf "$STAGE"' EXIT
	make_skeleton
	install_busybox
	cp "$INIT_SCRIPT" "$STAGE/init"
	chmod 755 "$STAGE/init"
	[ -z "$PAYLOAD" ] || cp "$PAYLOAD" "$STAGE/etc/cw/payload" || die "cannot copy payload $PAYLOAD"
	[ -z "$KROOT" ] || install_modules
	install_files "$@"
	write_archive
}

main "$@"
