#!/bin/sh
# The Debian package on this machine: installs with apt, puts every file where
# it belongs, the config is a conffile that survives an upgrade and a remove,
# the agent unit is enabled (the purge timer is not), the installed units pass
# `systemd-analyze verify` and the exposure limit, and purge leaves nothing (TAP).
# Needs root; build the package first (`make deb`).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
DEB=$(ls "${CW_BUILD:-build}"/deb/cachewatch_*_*.deb 2>/dev/null | grep -v dbgsym | head -1)
APT="apt-get -q -y -o DPkg::Lock::Timeout=600"
installed=0
cleanup() {
	[ "$installed" = 1 ] && DEBIAN_FRONTEND=noninteractive $APT purge cachewatch >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ -z "$DEB" ]; then
	not_ok "a built package" "none in ${CW_BUILD:-build}/deb; run make deb"
	tap_end
	exit 1
fi
if dpkg-query -W -f='${Status}' cachewatch 2>/dev/null | grep -q 'ok installed'; then
	not_ok "cachewatch is not installed on this machine before the test" "remove it first"
	tap_end
	exit 1
fi
deb=$(readlink -f "$DEB")
out=$(DEBIAN_FRONTEND=noninteractive $APT install "$deb" 2>&1) && installed=1 &&
	ok "apt-get install $(basename "$DEB")" || not_ok "apt-get install" "$(echo "$out" | tail -5)"

for f in /usr/bin/cachewatch /lib/systemd/system/cachewatch.service \
	/lib/systemd/system/cachewatch-purge.service /lib/systemd/system/cachewatch-purge.timer \
	/etc/cachewatch/cachewatch.yml /etc/default/cachewatch /usr/share/man/man1/cachewatch.1.gz \
	/usr/share/bash-completion/completions/cachewatch /usr/share/doc/cachewatch/copyright \
	/usr/share/doc/cachewatch/examples/cachewatch.json; do
	[ -f "$f" ] && ok "installed $f" || not_ok "installed $f"
done
want=$(dpkg-deb -f "$DEB" Version)
v=$(/usr/bin/cachewatch --version 2>&1)
case "$v" in "cachewatch $want "*) ok "cachewatch --version: $v" ;; *) not_ok "cachewatch --version" "got '$v', want version $want" ;; esac
[ "$(man -w cachewatch 2>&1)" = /usr/share/man/man1/cachewatch.1.gz ] && ok "man -w cachewatch finds the page" ||
	not_ok "man -w cachewatch" "$(man -w cachewatch 2>&1)"
conf=$(dpkg-query -W -f='${Conffiles}' cachewatch)
echo "$conf" | grep -q '^ /etc/cachewatch/cachewatch.yml ' && ok "/etc/cachewatch/cachewatch.yml is a conffile" ||
	not_ok "/etc/cachewatch/cachewatch.yml is a conffile" "conffiles: $conf"
check_eq "/var/lib/cachewatch (access state) shipped root-owned 0755" "$(stat -c '%U %a' /var/lib/cachewatch 2>&1)" "root 755"
out=$(/usr/bin/cachewatch check-config /etc/cachewatch/cachewatch.yml 2>&1 >/dev/null) &&
	ok "the installed configuration is valid" || not_ok "the installed configuration is valid" "$out"

# Enabled on installation (Debian's exporter convention); the timer is opt-in.
[ -L /etc/systemd/system/multi-user.target.wants/cachewatch.service ] &&
	ok "cachewatch.service enabled by the package" || not_ok "cachewatch.service enabled by the package"
[ ! -e /etc/systemd/system/timers.target.wants/cachewatch-purge.timer ] &&
	ok "cachewatch-purge.timer left disabled" || not_ok "cachewatch-purge.timer left disabled"

for u in cachewatch.service cachewatch-purge.service cachewatch-purge.timer; do
	out=$(systemd-analyze verify "/lib/systemd/system/$u" 2>&1) && ok "systemd-analyze verify $u" ||
		not_ok "systemd-analyze verify $u" "$out"
done
for u in cachewatch.service cachewatch-purge.service; do
	score=$(systemd-analyze security --offline=true "/lib/systemd/system/$u" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }' && ok "installed $u exposure $score <= 3.0" ||
		not_ok "installed $u exposure <= 3.0" "score '$score'"
done

# Conffile semantics: a local edit survives reinstalling and removing.
echo "# local edit" >>/etc/cachewatch/cachewatch.yml
DEBIAN_FRONTEND=noninteractive $APT -o Dpkg::Options::=--force-confold install --reinstall "$deb" >/dev/null 2>&1
grep -q '^# local edit' /etc/cachewatch/cachewatch.yml && ok "a local config edit survives a reinstall" ||
	not_ok "a local config edit survives a reinstall"
out=$(DEBIAN_FRONTEND=noninteractive $APT remove cachewatch 2>&1) && ok "apt-get remove" || not_ok "apt-get remove" "$out"
[ ! -e /usr/bin/cachewatch ] && grep -q '^# local edit' /etc/cachewatch/cachewatch.yml &&
	ok "remove: binary gone, edited config kept" || not_ok "remove: binary gone, edited config kept"
# the agent's access state, as a run would leave it: apt purge removes it
printf 'state' >/var/lib/cachewatch/access.state
out=$(DEBIAN_FRONTEND=noninteractive $APT purge cachewatch 2>&1) && installed=0 && ok "apt-get purge" ||
	not_ok "apt-get purge" "$out"
left=""
for f in /usr/bin/cachewatch /lib/systemd/system/cachewatch.service /etc/cachewatch /etc/default/cachewatch \
	/usr/share/man/man1/cachewatch.1.gz /usr/share/doc/cachewatch \
	/etc/systemd/system/multi-user.target.wants/cachewatch.service /var/lib/cachewatch; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
[ -z "$left" ] && ok "purge leaves nothing behind" || not_ok "purge leaves nothing behind" "left:$left"
dpkg-query -W -f='${Status}' cachewatch 2>/dev/null | grep -q 'ok installed' &&
	not_ok "dpkg no longer lists cachewatch" || ok "dpkg no longer lists cachewatch"
tap_end
