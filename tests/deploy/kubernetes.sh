#!/bin/sh
# deploy/kubernetes: kustomize builds it; the DaemonSet uses the image `make
# image` builds, is not privileged and adds only the capabilities it needs,
# mounts parents of the configured caches (no DirectoryOrCreate but the
# agent's own state directory, where access_state.path lies), probes
# startup on /-/ready, opens no reload endpoint, has memory limits; every
# object type-checks against the Kubernetes API types (TAP).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
K=${CW_K8S_DIR:-deploy/kubernetes}
T=$(mktemp -d /tmp/cw-k8s.XXXXXX)
trap 'rm -rf "$T"' EXIT
VERSION=$(sed -n 's/^VERSION ?= //p' Makefile)

out=$(kubectl kustomize "$K" 2>&1 >"$T/all.yaml") && ok "kubectl kustomize $K" || not_ok "kubectl kustomize $K" "$out"
cp "$K/podmonitor.yaml" "$T/podmonitor.yaml"
printf 'resources:\n  - podmonitor.yaml\n' >"$T/kustomization.yaml"
out=$(kubectl kustomize "$T" 2>&1 >"$T/pm.yaml") && ok "kubectl kustomize: podmonitor.yaml parses" ||
	not_ok "kubectl kustomize: podmonitor.yaml parses" "$out"

# Policy checks on what would be applied; each prints "ok|not ok<TAB>name<TAB>why".
python3 - "$T/all.yaml" "$VERSION" >"$T/checks" <<'PY'
import sys, yaml, posixpath
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
version = sys.argv[2]
def check(cond, name, why=""):
    print("%s\t%s\t%s" % ("ok" if cond else "not ok", name, why))
kinds = {d["kind"]: d for d in docs}
check(set(kinds) >= {"Namespace", "ConfigMap", "DaemonSet", "Service", "NetworkPolicy"},
      "rendered objects: " + ", ".join(sorted(kinds)))
ds = kinds["DaemonSet"]
pod = ds["spec"]["template"]["spec"]
c = pod["containers"][0]
check(c["image"].endswith("/cachewatch:" + version), "image is cachewatch:%s from make image" % version, c["image"])
sc = c.get("securityContext", {})
check(sc.get("privileged") is False and not pod.get("hostPID") and not pod.get("hostNetwork"),
      "not privileged, no host PID or network namespace")
check(sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True,
      "no privilege escalation, read-only root")
caps = sc.get("capabilities", {})
check(caps.get("drop") == ["ALL"] and sorted(caps.get("add", [])) == ["BPF", "DAC_OVERRIDE", "FOWNER", "PERFMON"],
      "capabilities: drop ALL, add only BPF PERFMON DAC_OVERRIDE FOWNER", str(caps))
sp = c.get("startupProbe", {}).get("httpGet", {})
check(sp.get("path") == "/-/ready", "startup probe on /-/ready", str(sp))
check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/-/ready", "readiness probe on /-/ready")
args = c.get("args", []) + c.get("command", [])
check(not any("enable-lifecycle" in a for a in args), "no --web.enable-lifecycle (no reload endpoint)")
lim = c.get("resources", {}).get("limits", {})
req = c.get("resources", {}).get("requests", {})
check("memory" in lim and "memory" in req, "memory request and limit set", str(c.get("resources")))
vols = {v["name"]: v for v in pod["volumes"]}
created = [v["hostPath"]["path"] for v in vols.values() if v.get("hostPath", {}).get("type") == "DirectoryOrCreate"]
check(created == ["/var/lib/cachewatch"], "DirectoryOrCreate only for the agent's state directory", str(created))
mounts = {m["mountPath"]: vols[m["name"]] for m in c["volumeMounts"]}
cm = kinds["ConfigMap"]
check(cm["metadata"]["name"] != "cachewatch" and cm["metadata"]["name"].startswith("cachewatch-"),
      "ConfigMap name carries a content hash (a change rolls the pods)", cm["metadata"]["name"])
check(any(v.get("configMap", {}).get("name") == cm["metadata"]["name"] for v in vols.values()),
      "the DaemonSet mounts that ConfigMap")
cfg = yaml.safe_load(cm["data"]["cachewatch.yml"])
state = cfg.get("access_state", {}).get("path", "/var/lib/cachewatch/access.state")
sm = mounts.get(posixpath.dirname(state), {})
sw = next((x for x in c["volumeMounts"] if x["mountPath"] == posixpath.dirname(state)), {})
check(sm.get("hostPath", {}).get("path") == posixpath.dirname(state) and not sw.get("readOnly"),
      "access_state.path %s lies in a read-write host directory (kept across pod restarts)" % state)
for cache in cfg["caches"]:
    p = cache["path"]
    parents = [m for m, v in mounts.items() if "hostPath" in v and p.startswith(m.rstrip("/") + "/")]
    ok_ = bool(parents) and all(mounts[m]["hostPath"]["path"] == m for m in parents) and \
        p not in mounts and cache.get("wait_for_path") is True
    check(ok_, "cache %s (%s) is below a mounted host parent %s, not mounted itself, wait_for_path" %
          (cache["name"], p, parents[0] if parents else "-"))
    rw = all(not next(x for x in c["volumeMounts"] if x["mountPath"] == m).get("readOnly") for m in parents)
    check(rw, "parent of %s is mounted read-write (purges delete there)" % cache["name"])
np = kinds["NetworkPolicy"]
ports = [p["port"] for r in np["spec"]["ingress"] for p in r.get("ports", [])]
check(ports == [9745] and np["spec"]["podSelector"]["matchLabels"] == ds["spec"]["selector"]["matchLabels"],
      "NetworkPolicy admits only the metrics port of the agent's pods")
PY
while IFS='	' read -r st name why; do
	if [ "$st" = ok ]; then ok "$name"; else not_ok "$name" "$why"; fi
done <"$T/checks"
[ -s "$T/checks" ] || not_ok "policy checks ran"

# Schema: every object as a TypeScript literal of its Kubernetes API type
# (kubernetes-types from npm); tsc rejects unknown fields and wrong types.
NPM=${CW_NPM_DIR:-${CW_BUILD:-build}/npm}
sh tests/deploy/lib/npm_tools.sh "$NPM" >"$T/npm.log" 2>&1 || not_ok "npm tools for the schema checks" "$(tail -3 "$T/npm.log")"
# The .ts files live beside node_modules so the imports resolve.
TS=$NPM/k8s-objects.ts
python3 - "$T/all.yaml" "$T/pm.yaml" >"$TS" <<'PY'
import json, sys, yaml
types = {
    ("v1", "Namespace"): ("core/v1", "Namespace"), ("v1", "ConfigMap"): ("core/v1", "ConfigMap"),
    ("v1", "Service"): ("core/v1", "Service"), ("apps/v1", "DaemonSet"): ("apps/v1", "DaemonSet"),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networking/v1", "NetworkPolicy"),
}
out = []
for f in sys.argv[1:]:
    for i, d in enumerate(yaml.safe_load_all(open(f))):
        if not d:
            continue
        t = types.get((d["apiVersion"], d["kind"]))
        if not t:  # a CRD (PodMonitor): only its metadata is a Kubernetes type
            out.append('import type { ObjectMeta as M%d } from "kubernetes-types/meta/v1";' % len(out))
            out.append("export const o%d: M%d = %s;" % (len(out), len(out) - 1, json.dumps(d["metadata"])))
            continue
        out.append('import type { %s as T%d } from "kubernetes-types/%s";' % (t[1], len(out), t[0]))
        out.append("export const o%d: T%d = %s;" % (len(out), len(out) - 1, json.dumps(d)))
print("\n".join(out))
PY
n_obj=$(grep -c '^export const' "$TS")
out=$(cd "$NPM" && node_modules/.bin/tsc --noEmit --strict --moduleResolution node k8s-objects.ts 2>&1) &&
	ok "$n_obj objects type-check against kubernetes-types" || not_ok "objects type-check against kubernetes-types" "$out"
# The check can fail: a misspelt field is rejected.
sed 's/"readOnlyRootFilesystem"/"readOnlyRootFilesytem"/' "$TS" >"$NPM/k8s-bad.ts"
(cd "$NPM" && node_modules/.bin/tsc --noEmit --strict --moduleResolution node k8s-bad.ts >/dev/null 2>&1) &&
	not_ok "a misspelt field fails the type check" || ok "a misspelt field fails the type check"
tap_end
