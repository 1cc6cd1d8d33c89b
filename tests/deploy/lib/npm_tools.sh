#!/bin/sh
# Installs the npm packages the deploy tests check schemas with into DIR
# (pinned versions; no-op when present): typescript, kubernetes-types (the
# Kubernetes API as TypeScript types), @grafana/schema (Grafana's dashboard types).
set -eu
dir=$1
pkgs="typescript@5.9.3 kubernetes-types@1.30.0 @grafana/schema@13.2.3"
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"private": true}' >package.json
if [ -x node_modules/.bin/tsc ] && [ -d node_modules/kubernetes-types ] && [ -d node_modules/@grafana/schema ]; then
	exit 0
fi
# shellcheck disable=SC2086
npm install --no-audit --no-fund --silent $pkgs
