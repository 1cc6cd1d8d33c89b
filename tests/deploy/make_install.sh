#!/bin/sh
# make install: PREFIX and DESTDIR place every file, the units name the
# installed binary and configuration, and an existing configuration is never
# overwritten (TAP).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
T=$(mktemp -d /tmp/cw-install.XXXXXX)
trap 'rm -rf "$T"' EXIT

inst() { # inst DESTDIR PREFIX
	make -s install DESTDIR="$1" PREFIX="$2" BUILD="${CW_BUILD:-build}" >"$T/log" 2>&1
}
inst "$T/a" /usr/local && ok "make install PREFIX=/usr/local DESTDIR=..." || not_ok "make install" "$(tail -5 "$T/log")"
for f in usr/local/bin/cachewatch usr/local/lib/systemd/system/cachewatch.service \
	usr/local/lib/systemd/system/cachewatch-purge.service usr/local/lib/systemd/system/cachewatch-purge.timer \
	etc/cachewatch/cachewatch.yml usr/local/share/man/man1/cachewatch.1 \
	usr/local/share/bash-completion/completions/cachewatch usr/local/share/doc/cachewatch/metrics.md \
	usr/local/share/doc/cachewatch/examples/cachewatch-rules.yml usr/local/share/doc/cachewatch/examples/cachewatch.json; do
	[ -f "$T/a/$f" ] && ok "installed /$f" || not_ok "installed /$f"
done
[ -x "$T/a/usr/local/bin/cachewatch" ] && ok "the binary is executable" || not_ok "the binary is executable"
grep -q '^ExecStart=/usr/local/bin/cachewatch run --config.file=/etc/cachewatch/cachewatch.yml' \
	"$T/a/usr/local/lib/systemd/system/cachewatch.service" && ok "unit: ExecStart names the installed binary and config" ||
	not_ok "unit: ExecStart" "$(grep ExecStart "$T/a/usr/local/lib/systemd/system/cachewatch.service")"
grep -q '@[A-Z]*@' "$T"/a/usr/local/lib/systemd/system/* && not_ok "no @PLACEHOLDER@ left in the units" ||
	ok "no @PLACEHOLDER@ left in the units"

echo "# mine" >>"$T/a/etc/cachewatch/cachewatch.yml"
inst "$T/a" /usr/local
grep -q '^# mine' "$T/a/etc/cachewatch/cachewatch.yml" && ok "a second install keeps the edited config" ||
	not_ok "a second install keeps the edited config"

inst "$T/b" /usr && ok "make install PREFIX=/usr" || not_ok "make install PREFIX=/usr" "$(tail -5 "$T/log")"
[ -f "$T/b/lib/systemd/system/cachewatch.service" ] && [ -f "$T/b/usr/bin/cachewatch" ] &&
	ok "PREFIX=/usr: units in /lib/systemd/system, binary in /usr/bin" || not_ok "PREFIX=/usr layout"
grep -q '^ExecStart=/usr/bin/cachewatch ' "$T/b/lib/systemd/system/cachewatch.service" &&
	ok "PREFIX=/usr: ExecStart=/usr/bin/cachewatch" || not_ok "PREFIX=/usr: ExecStart"
tap_end
