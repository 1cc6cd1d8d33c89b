#!/bin/sh
# deploy/prometheus rules: valid, every alert fires when it should (promtool
# test rules), and every metric they use is one the agent renders (TAP).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
R=deploy/prometheus/cachewatch-rules.yml

out=$(promtool check rules "$R" 2>&1) && ok "promtool check rules" || not_ok "promtool check rules" "$out"
out=$(cd deploy/prometheus && promtool test rules cachewatch-rules.test.yml 2>&1) &&
	ok "promtool test rules: every alert fires when expected and only then" ||
	not_ok "promtool test rules" "$out"

# Metric names in the expressions (not the recorded rule names), without the
# suffixes Prometheus adds to families.
exprs=$(awk '/^ *expr:/ { sub(/^ *expr: *\|?/, ""); print; m = 1; next } m && /^          / { print; next } { m = 0 }' "$R")
for m in $(echo "$exprs" | grep -oE '(^|[^:a-z_])cachewatch_[a-z_]+' | grep -oE 'cachewatch_[a-z_]+' | sort -u); do
	fam=$(echo "$m" | sed -E 's/_(total|bucket|count|sum)$//')
	grep -q "\"$fam\"" user/http/exposition.c && ok "the agent renders $m" ||
		not_ok "the agent renders $m" "no \"$fam\" family in user/http/exposition.c"
done
tap_end
