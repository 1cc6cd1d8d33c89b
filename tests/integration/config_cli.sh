#!/bin/sh
# End-to-end tests of `cachewatch check-config`: exit codes, messages, the
# effective configuration it prints, flag overrides, and the shipped example.
# Prints TAP. Needs no BPF.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${CW_BIN:-build/cachewatch}
T=$(mktemp -d /tmp/cw-config-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# run ARGS...: sets rc, out, err
run() {
	"$BIN" check-config "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# expect NAME RC GREP_STDOUT GREP_STDERR (empty pattern: not checked)
expect() {
	name=$1 want_rc=$2 want_out=$3 want_err=$4
	if [ "$rc" -ne "$want_rc" ]; then
		not_ok "$name" "exit $rc, want $want_rc" "stderr: $err"
	elif [ -n "$want_out" ] && ! grep -qF -- "$want_out" "$T/out"; then
		not_ok "$name" "stdout lacks: $want_out" "stdout: $out"
	elif [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$T/err"; then
		not_ok "$name" "stderr lacks: $want_err" "stderr: $err"
	else
		ok "$name"
	fi
}

mkdir -p "$T/go-build/00" "$T/ccache" "$T/pip"
cat >"$T/good.yml" <<EOF
poll_interval: 2s
caches:
  - name: gocache
    path: $T/go-build
    group_depth: 1
    purge:
      max_size: 5GiB
      max_age: 5d
      protect: ["README", "*.lock"]
  - name: ccache
    path: $T/ccache
EOF

run --help
expect "--help exits 0 with usage" 0 "Usage: cachewatch check-config" ""

run
expect "no argument: usage, exit 2" 2 "" "Usage: cachewatch check-config"

run --bogus "$T/good.yml"
expect "unknown flag: usage, exit 2" 2 "" "unknown option '--bogus'"

run --config.file
expect "flag without a value: exit 2" 2 "" "--config.file needs a value"

run "$T/good.yml" "$T/good.yml"
expect "two files: exit 2" 2 "" "more than one FILE"

run "$T/good.yml"
expect "valid file: exit 0" 0 "max_size: 5GiB" ""
expect "defaults are filled in" 0 "rate_limit: 1000" ""
expect "file values win over defaults" 0 "poll_interval: 2s" ""
expect "report-only cache is marked" 0 "# report only: no purge block" ""
[ -z "$err" ] && ok "valid file: nothing on stderr" || not_ok "valid file: nothing on stderr" "$err"

# The printed configuration is itself valid and prints the same.
cp "$T/out" "$T/printed.yml"
run "$T/printed.yml"
if [ "$rc" -eq 0 ] && [ "$(sed 1d "$T/out")" = "$(sed 1d "$T/printed.yml")" ]; then
	ok "effective configuration round-trips"
else
	not_ok "effective configuration round-trips" "rc=$rc" "$err"
fi

run --config.file "$T/good.yml"
expect "--config.file FILE" 0 "name: \"gocache\"" ""
run --config.file="$T/good.yml"
expect "--config.file=FILE" 0 "name: \"ccache\"" ""
run --config.file "$T/good.yml" "$T/good.yml"
expect "FILE and --config.file: exit 2" 2 "" "not both"

run "$T/good.yml" --poll.interval 3s --bpf.attach tracepoint --metrics.stale-ttl 5m
expect "flags override the file (poll)" 0 "poll_interval: 3s" ""
expect "flags override the file (attach)" 0 "attach: tracepoint" ""
expect "flags override the file (stale_ttl)" 0 "stale_ttl: 5m" ""

run "$T/good.yml" --watch "piprepo=$T/pip" --group-depth 2
expect "--watch beside a file" 0 "name: \"piprepo\"" ""
expect "--group-depth applies to --watch" 0 "group_depth: 2" ""

run --watch "$T/pip"
expect "--watch alone, name from the base name" 0 "name: \"pip\"" ""

run "$T/good.yml" --watch "$T/go-build/00"
expect "--watch nested in a file cache: exit 2" 2 "" "are nested"

run "$T/good.yml" --poll.interval soon
expect "bad flag value: exit 2" 2 "" "--poll.interval: \"soon\" is not a duration"

run "$T/missing.yml"
expect "missing file: exit 2" 2 "" "missing.yml: cannot open config file: No such file or directory"

cat >"$T/badsize.yml" <<EOF
caches:
  - name: gocache
    path: $T/go-build
    purge:
      max_size: 5GG
EOF
run "$T/badsize.yml"
expect "bad size: exit 2, file:line:col and key path" 2 "" "$T/badsize.yml:5:17: caches[0].purge.max_size: \"5GG\" is not a size (a number, fractions allowed, with an optional unit: B; K, M, G, T, P"
[ -z "$out" ] && ok "invalid file: nothing on stdout" || not_ok "invalid file: nothing on stdout" "$out"

printf 'caches:\n  - name: x\n    path: %s/go-build\n    group_dpth: 1\n' "$T" >"$T/typo.yml"
run "$T/typo.yml"
expect "unknown key: exit 2" 2 "" "typo.yml:4:5: caches[0]: unknown key \"group_dpth\""

printf 'caches:\n  - name: x\n    path: %s/go-build\n  - name: x\n    path: %s/ccache\n' "$T" "$T" >"$T/dupname.yml"
run "$T/dupname.yml"
expect "duplicate cache name: exit 2" 2 "" "duplicate cache name \"x\""

printf 'caches:\n  - path: /usr\n    purge: {max_size: 1GB}\n' >"$T/danger.yml"
run "$T/danger.yml"
expect "dangerous purge root: exit 2" 2 "" "\"/usr\" is a system directory and cannot be purged"

printf 'caches:\n  - path: %s/nope\n' "$T" >"$T/nopath.yml"
run "$T/nopath.yml"
expect "missing path: exit 2" 2 "" "does not exist (create it, or set wait_for_path: true"

printf 'caches:\n  - path: %s/nope\n    wait_for_path: true\n' "$T" >"$T/wait.yml"
run "$T/wait.yml"
expect "wait_for_path accepts a missing path" 0 "wait_for_path: true" ""

printf 'caches: [\n' >"$T/syntax.yml"
run "$T/syntax.yml"
expect "YAML syntax error: exit 2" 2 "" "YAML syntax error"

printf '' >"$T/empty.yml"
run "$T/empty.yml"
expect "empty file is valid (no caches)" 0 "caches: []" "no caches are configured"

run --embedded-default
expect "--embedded-default" 0 "embedded default" ""

# The shipped example must pass wherever its paths exist (they all either
# exist on Debian or are marked wait_for_path).
run deploy/cachewatch.example.yml
expect "deploy/cachewatch.example.yml passes" 0 "caches:" ""

# Sizes as ccache (-M 5G, 5Gi) and Kubernetes (5G, 5Gi) users write them:
# a bare prefix is decimal, an "i" makes it binary.
printf 'caches:\n  - path: %s/go-build\n    purge: {max_size: 5G}\n  - path: %s/ccache\n    purge: {max_size: 1Gi}\n  - path: %s/pip\n    purge: {max_size: 1.5T}\n' "$T" "$T" "$T" >"$T/sizes.yml"
run "$T/sizes.yml"
expect "max_size: 5G is 5 GB (decimal, like ccache and Kubernetes)" 0 "max_size: 5GB" ""
expect "max_size: 1Gi is 1 GiB (binary)" 0 "max_size: 1GiB" ""
expect "max_size: 1.5T is 1500 GB" 0 "max_size: 1500GB" ""

# --wait-for-path is the flag spelling of wait_for_path: true.
run --watch "$T/later"
expect "--watch of a missing DIR: exit 2, names the flag" 2 "" "(create it, or add --wait-for-path to wait for it)"
run --watch "$T/later" --wait-for-path
expect "--wait-for-path accepts a missing --watch DIR" 0 "wait_for_path: true" ""

# The top-level command line: help TOPIC, --version everywhere, exit codes.
cli() { "$BIN" "$@" >"$T/out" 2>"$T/err"; rc=$?; out=$(cat "$T/out"); err=$(cat "$T/err"); }
cli help run
expect "help run prints run's help" 0 "Usage: cachewatch run" ""
cli help purge
expect "help purge prints purge's help" 0 "Usage: cachewatch purge" ""
cli help nosuch
expect "help of an unknown command: exit 2" 2 "" "unknown command 'nosuch'"
for c in run top check-config purge; do
	cli $c --version
	expect "$c --version prints the version" 0 "cachewatch " ""
done
cli run --web.listen-address nonsense
expect "bad --web.listen-address is a usage error (exit 2)" 2 "" "--web.listen-address: what is 'nonsense'?"
cli run --web.listen-address :99999
expect "--web.listen-address with port 99999: exit 2" 2 "" "--web.listen-address: what is ':99999'?"

cli top --count=-1
expect "top --count=-1: exit 2" 2 "" "--count: '-1' is not a whole number"
[ "$(wc -l <"$T/err")" -eq 1 ] && ok "top --count=-1: one message, not two" || not_ok "top --count=-1: one message, not two" "$err"
# One flag style: every --help writes a value-taking flag as "--flag VALUE".
for c in run check-config purge; do
	"$BIN" $c --help >"$T/out" 2>&1
	grep -qE '^ +--[a-z.-]+=' "$T/out" && not_ok "$c --help: --flag VALUE style" "$(grep -E '^ +--[a-z.-]+=' "$T/out")" || ok "$c --help: --flag VALUE style"
done

echo "1..$n"
exit $failed
