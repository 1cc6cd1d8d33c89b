#!/bin/sh
# Checks docs/architecture.md's layer rule: a folder of user/ includes only itself and lower layers.
# Prints TAP; one line per folder, plus one for include cycles between files.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

# The order is the rule: each folder may include the folders before it.
LAYERS="lib config dataplane purge http agent cli"

rank() {
	i=0
	for l in $LAYERS; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo -1
}

for dir in $LAYERS; do
	mine=$(rank "$dir")
	bad=""
	for f in user/"$dir"/*.c user/"$dir"/*.h; do
		[ -f "$f" ] || continue
		for inc in $(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$f"); do
			# generated headers (build/proto/...) are not a layer of user/
			[ -d "user/$inc" ] || continue
			r=$(rank "$inc")
			if [ "$r" -lt 0 ] || [ "$r" -gt "$mine" ]; then
				bad="$bad $f->$inc"
			fi
		done
	done
	if [ -z "$bad" ]; then
		ok "user/$dir includes only itself and lower layers"
	else
		not_ok "user/$dir includes only itself and lower layers" "violations:$bad"
	fi
done

unknown=$(find user -mindepth 1 -maxdepth 1 -type d | while read -r d; do
	[ "$(rank "$(basename "$d")")" -ge 0 ] || echo "$d"
done)
[ -z "$unknown" ] && ok "every folder of user/ has a layer" ||
	not_ok "every folder of user/ has a layer" "no layer for: $unknown"

loose=$(find user -maxdepth 1 -type f -name '*.[ch]')
[ -z "$loose" ] && ok "no source file sits loose in user/" ||
	not_ok "no source file sits loose in user/" "$loose"

# Header cycles: a header that includes (directly) a header including it back.
cycles=""
for h in user/*/*.h; do
	for inc in $(sed -n 's/^#include "\([a-z_]*\/[a-z_]*\.h\)"/\1/p' "$h"); do
		[ -f "user/$inc" ] || continue
		grep -q "^#include \"${h#user/}\"" "user/$inc" && cycles="$cycles ${h#user/}<->$inc"
	done
done
[ -z "$cycles" ] && ok "no include cycle between headers" ||
	not_ok "no include cycle between headers" "$cycles"
tap_end
