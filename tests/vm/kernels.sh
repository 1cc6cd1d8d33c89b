#!/bin/bash
# Resolve Debian kernels by name from the archive, download them once and unpack them into the VM cache.
#
# Usage: tests/vm/kernels.sh [-l] [KERNEL...]
#   KERNEL is SERIES-FLAVOUR (6.12-rt-amd64; "6.12-rt" works too) or a SERIES alone (all of
#   its flavours). Default: every series in SERIES below, every flavour.
#   -l  list the kernels that would run (ID per line) without downloading anything.
# Prints one line per kernel on stdout:  ID KREL VMLINUZ MODDIR CONFIG
#   ID is SERIES-FLAVOUR (e.g. 5.10-cloud-amd64); MODDIR holds modules.dep. A default
#   flavour the archive lists but does not serve (HTTP 404) prints "ID - UNAVAILABLE why".
# Each series has its own apt configuration in $CACHE_DIR/apt/SERIES (own sources.list,
# lists, cache, status): the machine's /etc/apt is only read, for the mirror host.
# The newest linux-image-FLAVOUR meta package of the series' suites names the image
# package; its version is never written down here. VM_APT_UPDATE=1 refreshes the lists.
set -euo pipefail

# SERIES  VERSION (glob the meta package's version must match)  SUITES (apt sources)
# The newest meta version over all suites wins, so "latest" is trixie-backports or sid,
# whichever is newer. Add a series with one line (docs/vm.md).
SERIES='
5.10    5.10.*  bullseye bullseye-security
6.1     6.1.*   bookworm bookworm-updates bookworm-security
6.12    6.12.*  trixie trixie-updates trixie-security
latest  *       trixie trixie-backports sid
'
FLAVOURS="amd64 cloud-amd64 rt-amd64"

REPO_ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
CACHE_DIR=${VM_CACHE:-$REPO_ROOT/build/vm-cache}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() { printf 'kernels.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'kernels.sh: %s\n' "$*" >&2; }

# The Debian mirror the machine uses (first deb.debian.org-style URI ending in /debian in
# /etc/apt/sources.list*), and its security archive.
mirror() {
	local uri
	uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v '^[[:space:]]*#' |
		grep -oE '(https?)://[^ ]*/debian/?( |$)' | head -n 1 | tr -d ' ') || true
	[ -n "$uri" ] || die "no Debian mirror (a URI ending in /debian) in /etc/apt/sources.list*"
	MIRROR=${uri%/}
	MIRROR_SECURITY=${MIRROR}-security
}

# apt-get / apt-cache with the apt configuration of series $SER (never the machine's state).
apt_conf() {
	local d=$CACHE_DIR/apt/$SER
	printf '%s\n' -o "Dir::Etc::sourcelist=$d/sources.list" -o Dir::Etc::sourceparts=- \
		-o "Dir::Etc::preferencesparts=$d/preferences.d" -o "Dir::Etc::parts=$d/apt.conf.d" \
		-o "Dir::State=$d/state" -o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status" \
		-o "Dir::Cache=$d/cache" -o Dir::Cache::pkgcache=pkgcache.bin \
		-o Dir::Cache::srcpkgcache=srcpkgcache.bin -o Acquire::Languages=none -o APT::Sandbox::User=root \
		-o Debug::NoLocking=1
}
sapt_get() { local o; mapfile -t o < <(apt_conf); apt-get -q "${o[@]}" "$@"; }
sapt_cache() { local o; mapfile -t o < <(apt_conf); apt-cache "${o[@]}" "$@"; }

# Write the apt configuration of series $SER (suites $@); update its lists when new or asked.
setup_apt() {
	local d=$CACHE_DIR/apt/$SER suite uri list
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/state" "$d/preferences.d" "$d/apt.conf.d"
	[ -f "$d/status" ] || : >"$d/status"
	list=''
	for suite in "$@"; do
		uri=$MIRROR
		case $suite in *-security) uri=$MIRROR_SECURITY ;; esac
		list+="deb [signed-by=$KEYRING] $uri $suite main"$'\n'
	done
	if [ "$(cat "$d/sources.list" 2>/dev/null)"$'\n' != "$list" ] || [ ! -f "$d/updated" ] ||
		[ "${VM_APT_UPDATE:-}" = 1 ]; then
		printf '%s' "$list" >"$d/sources.list"
		rm -f "$d/updated"
		log "$SER: apt-get update ($*)"
		sapt_get update >&2 || die "apt-get update for series $SER ($*) failed"
		touch "$d/updated"
	fi
}

# Print the newest version of package $1 in the series' suites that matches glob $2.
newest_version() {
	local v best=''
	while read -r v; do
		# shellcheck disable=SC2053 # $2 is a glob
		[[ $v == $2 ]] || continue
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done < <(sapt_cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')
	printf '%s\n' "$best"
}

# Print the versions of package $1 matching glob $2, newest first.
versions_of() {
	local v
	sapt_cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		while read -r v; do
			# shellcheck disable=SC2053 # $2 is a glob
			[[ $v == $2 ]] && printf '%s\n' "$v"
		done | sort -u | sort -r -V
}

# Print the Depends of package $1 version $2 (one name per line).
depends_of() {
	sapt_cache show "$1=$2" 2>/dev/null | sed -n 's/^Depends: //p' | head -n 1 |
		tr ',' '\n' | sed 's/^ *//; s/[ (].*//'
}

# Download package $1 version $2 into the deb cache unless present; set DEB to its path.
# Returns 4 if the archive lists the package but does not serve it (seen: 5.10 rt-amd64).
fetch_deb() {
	local debdir=$CACHE_DIR/debs out
	mkdir -p "$debdir"
	# apt-get download names files pkg_ver_arch.deb, with ':' (epoch) as %3a.
	DEB=$debdir/${1}_$(printf '%s' "$2" | sed 's/:/%3a/')_amd64.deb
	[ -s "$DEB" ] && return 0
	# a 404 is remembered until the lists are refreshed (VM_APT_UPDATE=1)
	[ -f "$DEB.404" ] && [ "${VM_APT_UPDATE:-}" != 1 ] && return 4
	log "downloading $1 $2"
	if ! out=$(cd "$debdir" && sapt_get download "$1=$2" 2>&1); then
		printf '%s\n' "$out" >&2
		printf '%s\n' "$out" | grep -q '404 *Not Found' && : >"$DEB.404" && return 4
		die "apt-get download $1=$2 failed"
	fi
	[ -s "$DEB" ] || die "apt-get download $1=$2 did not produce $DEB"
}

# Unpack .debs $3... of kernel $2 into directory $1 and run depmod, once (a stamp marks
# a complete extraction). Split kernels (6.19+) keep everything under usr/lib/modules/KREL.
extract_kernel() {
	local root=$1 krel=$2 deb map
	shift 2
	[ -f "$root/.extracted" ] && return 0
	rm -rf "$root" "$root.tmp"
	mkdir -p "$root.tmp"
	for deb in "$@"; do
		log "extracting $(basename "$deb")"
		dpkg-deb -x "$deb" "$root.tmp" || die "dpkg-deb -x $deb failed"
	done
	# depmod and modprobe -d look in ROOT/lib/modules; split packages use usr/lib/modules.
	if [ ! -e "$root.tmp/lib" ] && [ -d "$root.tmp/usr/lib/modules" ]; then
		ln -s usr/lib "$root.tmp/lib"
	fi
	map=$(sysmap "$root.tmp" "$krel")
	# modules.dep is normally made by the package's postinst; make it here.
	depmod -b "$root.tmp" ${map:+-F "$map"} "$krel" || die "depmod for $krel in $root.tmp failed"
	touch "$root.tmp/.extracted"
	mv "$root.tmp" "$root"
}

# The first existing file among ROOT/boot/NAME-KREL and ROOT/usr/lib/modules/KREL/NAME.
kfile() {
	local f
	for f in "$1/boot/$2-$3" "$1/usr/lib/modules/$3/$2" "$1/lib/modules/$3/$2"; do
		[ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	return 0
}
sysmap() { kfile "$1" System.map "$2"; }

# Fetch kernel SERIES-FLAVOUR ($SER, $1; meta version glob $2) and print its line: the
# newest version the archive serves (5.10's newest rt-amd64 is listed but answers 404;
# then the series' previous point release is taken, and the row shows its KREL).
fetch_kernel() {
	local mver rc=3
	for mver in $(versions_of "linux-image-$1" "$2"); do
		rc=0
		fetch_version "$1" "$mver" || rc=$?
		[ $rc = 4 ] || return $rc
		log "$SER-$1: linux-image-$1 $mver is not served; trying the previous version"
	done
	return $rc # 3: this series has no such flavour; 4: none of its versions is served
}

# Fetch flavour $1 of meta package version $2 and print its line.
fetch_version() {
	local flavour=$1 meta=linux-image-$1 mver=$2 img krel ver dep debs=() root vmlinuz config
	img=$(depends_of "$meta" "$mver" | grep -E "^linux-image-[0-9].*-$flavour\$" | head -n 1)
	[ -n "$img" ] || die "$meta $mver depends on no linux-image-*-$flavour package"
	krel=${img#linux-image-}
	ver=$(newest_version "$img" '*')
	[ -n "$ver" ] || die "$img (named by $meta $mver) is not in the archive"
	fetch_deb "$img" "$ver" || return
	debs+=("$DEB")
	# 6.19+: the image package is a stub; the kernel is in linux-binary-KREL and
	# linux-modules-KREL (and linux-base-KREL), all of the same version.
	for dep in $(depends_of "$img" "$ver" | grep -E "^linux-[a-z]+-$(printf '%s' "$krel" | sed 's/[.+]/\\&/g')\$"); do
		fetch_deb "$dep" "$ver" || return
		debs+=("$DEB")
	done
	root=$CACHE_DIR/kernels/${img}_$ver
	extract_kernel "$root" "$krel" "${debs[@]}"
	vmlinuz=$(kfile "$root" vmlinuz "$krel")
	config=$(kfile "$root" config "$krel")
	[ -n "$vmlinuz" ] || die "$img $ver: no vmlinuz in boot/ or usr/lib/modules/$krel/"
	[ -n "$config" ] || die "$img $ver: no kernel config in boot/ or usr/lib/modules/$krel/"
	[ -f "$root/lib/modules/$krel/modules.dep" ] || die "$img $ver: no modules.dep"
	printf '%s-%s %s %s %s %s\n' "$SER" "$flavour" "$krel" "$vmlinuz" "$root/lib/modules/$krel" "$config"
}

# Expand the arguments into "SERIES FLAVOUR EXPLICIT" lines (EXPLICIT=1 if the flavour was named).
expand() {
	local arg ser glob suites fl found
	for arg in "$@"; do
		found=no
		while read -r ser glob suites; do
			[ -n "$ser" ] || continue
			case $arg in
			"$ser") for fl in $FLAVOURS; do echo "$ser $fl 0"; done; found=yes ;;
			"$ser"-*)
				fl=${arg#"$ser"-}
				case $fl in *amd64) ;; *) fl=$fl-amd64 ;; esac
				echo "$ser $fl 1"
				found=yes
				;;
			esac
		done <<<"$SERIES"
		[ $found = yes ] || die "unknown kernel '$arg' (series: $(awk 'NF { printf "%s ", $1 }' <<<"$SERIES")flavours: $FLAVOURS)"
	done
}

main() {
	local list=no ser fl explicit glob suites rc
	if [ "${1:-}" = -l ]; then list=yes; shift; fi
	# shellcheck disable=SC2046 # series names are single words
	[ $# -gt 0 ] || set -- $(awk 'NF { print $1 }' <<<"$SERIES")
	if [ $list = yes ]; then
		expand "$@" | awk '{ print $1 "-" $2 }'
		return 0
	fi
	for c in apt-get apt-cache dpkg-deb depmod; do
		command -v $c >/dev/null || die "$c not found (Debian host with kmod required)"
	done
	mirror
	while read -r ser fl explicit; do
		read -r _ glob suites < <(awk -v s="$ser" '$1 == s' <<<"$SERIES")
		SER=$ser
		# shellcheck disable=SC2086 # suites is a word list
		setup_apt $suites
		rc=0
		fetch_kernel "$fl" "$glob" || rc=$?
		if [ $rc = 3 ]; then
			[ "$explicit" = 0 ] || die "series $ser has no linux-image-$fl matching $glob in $suites"
			log "series $ser: Debian builds no $fl flavour; skipped"
		elif [ $rc = 4 ] && [ "$explicit" = 0 ]; then
			log "series $ser: $fl is listed but not served by the archive (404); skipped"
			echo "$ser-$fl - UNAVAILABLE listed by the archive but not served (HTTP 404)"
		elif [ $rc != 0 ]; then
			exit $rc
		fi
	done < <(expand "$@")
}

main "$@"
