#!/bin/sh
# The OCI image (make image): a valid OCI archive tagged with the version whose
# root file system runs the agent on this kernel with its own entrypoint and
# command (chroot, host /proc and /sys as a pod would get them), arms the
# image's default cache, counts writes into it, serves /metrics, and fits the
# DaemonSet's memory limit with room to spare (TAP). Needs root; `make image` first.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
BUILD=${CW_BUILD:-build}
VERSION=$(sed -n 's/^VERSION ?= //p' Makefile)
A=$BUILD/image/cachewatch-$VERSION.oci.tar
DS=deploy/kubernetes/daemonset.yaml
T=$(mktemp -d /tmp/cw-image-test.XXXXXX)
R=$T/rootfs
agent=""
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	for m in root/.cache/go-build sys proc; do
		mountpoint -q "$R/$m" 2>/dev/null && umount -R "$R/$m"
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ ! -f "$A" ]; then
	not_ok "OCI archive $A exists" "run make image"
	tap_end
	exit 1
fi
ok "OCI archive $A ($(du -h "$A" | cut -f1))"

# Unpack it as a runtime would: index -> manifest -> config and layers.
mkdir -p "$R"
cmd=$(python3 - "$A" "$R" "$VERSION" <<'PY'
import io, json, sys, tarfile
arch, root, version = sys.argv[1:]
t = tarfile.open(arch)
blob = lambda d: t.extractfile("blobs/" + d.replace(":", "/")).read()
layout = json.loads(t.extractfile("oci-layout").read())
assert layout["imageLayoutVersion"] == "1.0.0", layout
index = json.loads(t.extractfile("index.json").read())
m = index["manifests"][0]
ref = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
assert ref == "cachewatch:" + version, "tag %r" % ref
manifest = json.loads(blob(m["digest"]))
cfg = json.loads(blob(manifest["config"]["digest"]))
assert cfg["config"]["Labels"]["org.opencontainers.image.version"] == version
for l in manifest["layers"]:
    tarfile.open(fileobj=io.BytesIO(blob(l["digest"]))).extractall(root)
print(" ".join(cfg["config"]["Entrypoint"] + cfg["config"]["Cmd"]))
PY
) && ok "valid OCI layout tagged cachewatch:$VERSION; command: $cmd" || not_ok "valid OCI layout tagged cachewatch:$VERSION" "$cmd"

# Only Debian's packages' files and the agent: no shell, no package manager.
[ ! -e "$R/bin/sh" ] && [ ! -e "$R/usr/bin/dpkg" ] && [ ! -e "$R/usr/bin/apt" ] &&
	ok "no shell or package manager in the image" || not_ok "no shell or package manager in the image"
v=$(chroot "$R" /usr/bin/cachewatch --version 2>&1)
case "$v" in "cachewatch $VERSION "*) ok "runs in its root: $v" ;; *) not_ok "runs in its root" "$v" ;; esac

# What a pod gets: host /proc and /sys (BTF, tracefs), the cache's parent from the host.
C=$T/host-gocache
mkdir -p "$C" "$R/proc" "$R/sys" "$R/root/.cache/go-build"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --bind "$C" "$R/root/.cache/go-build"
PORT=$(free_port 3)
URL=http://127.0.0.1:$PORT
# shellcheck disable=SC2086
chroot "$R" $cmd --web.listen-address="127.0.0.1:$PORT" --poll.interval=200ms >"$T/agent.log" 2>&1 &
agent=$!
i=0
while [ $i -lt 600 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/-/ready")" != 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 600 ] && ok "agent from the image becomes ready" ||
	not_ok "agent from the image becomes ready" "$(tail -5 "$T/agent.log")"
check_metric "the image's gocache is armed" 'cachewatch_cache_armed{cache="gocache"}' 1
mkdir -p "$C/ab"
dd if=/dev/zero of="$C/ab/obj" bs=4096 count=25 2>/dev/null
check_metric "writes on the host are counted by the agent in the image" \
	'cachewatch_write_bytes_total{cache="gocache",dir="ab"}' 102400

# Memory budget: resident memory plus the BPF maps the agent owns (charged to
# the pod's cgroup since 5.11), against the DaemonSet's limit.
rss=$(metric process_resident_memory_bytes)
apid=$(pgrep -P "$agent" -x cachewatch || echo "$agent")
maps=0
for fd in /proc/"$apid"/fd/*; do
	[ "$(readlink "$fd")" = anon_inode:bpf-map ] || continue
	m=$(awk '/^memlock:/ { print $2 }' "/proc/$apid/fdinfo/${fd##*/}")
	maps=$((maps + ${m:-0}))
done
budget=$(awk -v r="$rss" -v m="$maps" 'BEGIN { printf "%d", r + m }')
limit=$(awk '/limits:/ { l = 1 } l && /memory:/ { print $2; exit }' "$DS")
limit_b=$(echo "$limit" | awk '/Mi$/ { sub(/Mi/, ""); print $1 * 1048576; next } /Gi$/ { sub(/Gi/, ""); print $1 * 1073741824 }')
note "measured: resident $rss B + BPF maps $maps B = $budget B; DaemonSet limit $limit"
[ "$maps" -gt 0 ] && ok "BPF map memory of the agent measured ($maps B)" || not_ok "BPF map memory of the agent measured"
awk -v b="$budget" -v l="$limit_b" 'BEGIN { exit !(b > 0 && l >= 2 * b) }' &&
	ok "DaemonSet memory limit $limit is at least twice the measured budget" ||
	not_ok "DaemonSet memory limit is at least twice the measured budget" "budget $budget B, limit $limit"
kill "$agent" && wait "$agent"
rc=$?
agent=""
check_eq "the agent exits 0 on SIGTERM" "$rc" 0
tap_end
