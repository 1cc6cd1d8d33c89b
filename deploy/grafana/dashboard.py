#!/usr/bin/env python3
"""Writes deploy/grafana/cachewatch.json, the Grafana dashboard (one source for
its panels: edit here, run `python3 deploy/grafana/dashboard.py`).

Every query filters on the instance and cache variables and keeps instance in
its labels, so one dashboard serves a fleet: pick nodes and caches at the top.
tests/deploy/dashboard.sh runs every query against a real Prometheus."""
import json
import os

SEL = 'instance=~"$instance",cache=~"$cache"'
INST = 'instance=~"$instance"'
DS = {"type": "prometheus", "uid": "${datasource}"}

# One file system per (instance, size): caches on one file system report the
# same size; the agent has no device label (see cachewatch-rules.yml).
FS_JOIN = ('* on (job, instance, cache) group_left (fs_size_bytes) '
           'count_values without () ("fs_size_bytes", cachewatch_filesystem_size_bytes{%s}) ^ 0' % INST)


def target(expr, legend, ref, fmt=None):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref}
    if fmt:
        t["format"] = fmt
    return t


def panel(kind, title, desc, targets, unit="short", x=0, y=0, w=12, h=8, **extra):
    p = {
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [t if isinstance(t, dict) else target(t[0], t[1], chr(ord("A") + i))
                    for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
    }
    p.update(extra)
    return p


def row(title, y):
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
            "panels": []}


def dashed(name):
    """An override drawing series NAME (by legend) as a dashed line."""
    return {"matcher": {"id": "byRegexp", "options": ".*%s$" % name},
            "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]}


def panels():
    ps = []
    y = 0
    ps.append(row("Size and limits", y)); y += 1
    size = panel(
        "timeseries", "Cache size against max_size and watermarks",
        "Disk usage (st_blocks) of each cache; a purge starts at the high watermark and goes down to the low one.",
        [('cachewatch_cache_size_bytes{%s}' % SEL, "{{instance}} {{cache}} size"),
         ('cachewatch_cache_limit_size_bytes{%s}' % SEL, "{{instance}} {{cache}} max_size"),
         ('cachewatch_cache_limit_size_bytes{%s} * cachewatch_cache_limit_high_watermark_ratio{%s}' % (SEL, SEL),
          "{{instance}} {{cache}} high watermark"),
         ('cachewatch_cache_limit_size_bytes{%s} * cachewatch_cache_limit_low_watermark_ratio{%s}' % (SEL, SEL),
          "{{instance}} {{cache}} low watermark")],
        unit="bytes", x=0, y=y, w=16)
    size["fieldConfig"]["overrides"] = [dashed("max_size"), dashed("watermark")]
    ps.append(size)
    ps.append(panel(
        "bargauge", "Fill level (size / max_size)", "How full each capped cache is.",
        [('cachewatch_cache_size_bytes{%s} / cachewatch_cache_limit_size_bytes{%s}' % (SEL, SEL),
          "{{instance}} {{cache}}")],
        unit="percentunit", x=16, y=y, w=8,
        options={"orientation": "horizontal", "displayMode": "gradient",
                 "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}))
    y += 8
    ps.append(panel(
        "timeseries", "Cache size predicted in 24 h (predict_linear over 6 h)",
        "Where each cache is heading at the rate of the last 6 hours, against its max_size.",
        [('predict_linear(cachewatch_cache_size_bytes{%s}[6h], 86400)' % SEL, "{{instance}} {{cache}} in 24 h"),
         ('cachewatch_cache_limit_size_bytes{%s}' % SEL, "{{instance}} {{cache}} max_size")],
        unit="bytes", x=0, y=y, w=8))
    ps.append(panel(
        "stat", "Time until a cache reaches max_size",
        "At the growth rate of the last hour (from predict_linear's fit); caches that do not grow are not shown.",
        [('(cachewatch_cache_limit_size_bytes{%s} - predict_linear(cachewatch_cache_size_bytes{%s}[1h], 0))'
          ' / (deriv(cachewatch_cache_size_bytes{%s}[1h]) > 0)' % (SEL, SEL, SEL), "{{instance}} {{cache}}")],
        unit="s", x=8, y=y, w=8,
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "colorMode": "background", "graphMode": "none"},
        fieldConfig={"defaults": {"unit": "s", "thresholds": {"mode": "absolute", "steps": [
            {"color": "red", "value": None}, {"color": "orange", "value": 86400},
            {"color": "green", "value": 604800}]}}, "overrides": []}))
    ps.append(panel(
        "stat", "Time until a file system is full",
        "Per file system holding caches (not per cache), at the rate free space fell over the last hour.",
        [('min by (instance, fs_size_bytes) ((cachewatch_filesystem_avail_bytes{%s}'
          ' / (-deriv(cachewatch_filesystem_avail_bytes{%s}[1h]) > 0)) %s)' % (INST, INST, FS_JOIN),
          "{{instance}} {{fs_size_bytes}} B")],
        unit="s", x=16, y=y, w=8,
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "colorMode": "background", "graphMode": "none"},
        fieldConfig={"defaults": {"unit": "s", "thresholds": {"mode": "absolute", "steps": [
            {"color": "red", "value": None}, {"color": "orange", "value": 86400},
            {"color": "green", "value": 604800}]}}, "overrides": []}))
    y += 8
    ps.append(panel(
        "timeseries", "File system free space",
        "Free bytes of each file system holding caches, with its linear prediction 24 h ahead.",
        [('min by (instance, fs_size_bytes) (cachewatch_filesystem_avail_bytes{%s} %s)' % (INST, FS_JOIN),
          "{{instance}} {{fs_size_bytes}} B free"),
         ('min by (instance, fs_size_bytes) (predict_linear(cachewatch_filesystem_avail_bytes{%s}[6h], 86400) %s)'
          % (INST, FS_JOIN), "{{instance}} {{fs_size_bytes}} B free in 24 h")],
        unit="bytes", x=0, y=y, w=24))
    y += 8

    ps.append(row("Writes", y)); y += 1
    ps.append(panel(
        "timeseries", "Write rate: 5 m against the 1 h baseline",
        "Bytes written per second into each cache; a 5-minute rate far above its hourly baseline is a burst.",
        [('sum by (instance, cache) (rate(cachewatch_write_bytes_total{%s}[5m]))' % SEL,
          "{{instance}} {{cache}} 5m"),
         ('sum by (instance, cache) (rate(cachewatch_write_bytes_total{%s}[1h]))' % SEL,
          "{{instance}} {{cache}} 1h baseline")],
        unit="Bps", x=0, y=y, w=12))
    burst = panel(
        "timeseries", "Write burst (5 m rate / 1 h baseline)",
        "Above 3 (the dashed line) the CachewatchWriteBurst alert considers it a burst.",
        [('sum by (instance, cache) (rate(cachewatch_write_bytes_total{%s}[5m]))'
          ' / sum by (instance, cache) (rate(cachewatch_write_bytes_total{%s}[1h]))' % (SEL, SEL),
          "{{instance}} {{cache}}")],
        unit="none", x=12, y=y, w=12)
    burst["fieldConfig"]["defaults"].update({
        "custom": {"thresholdsStyle": {"mode": "dashed"}},
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 3}]}})
    ps.append(burst)
    y += 8
    heat = panel(
        "heatmap", "Write latency",
        "Distribution of write call latency (the agent's histogram buckets, powers of 4 from 1 us).",
        [target('sum by (le) (rate(cachewatch_write_latency_seconds_bucket{%s}[$__rate_interval]))' % SEL,
                "{{le}}", "A", fmt="heatmap")],
        unit="s", x=0, y=y, w=12,
        options={"calculate": False, "yAxis": {"unit": "s"}, "cellGap": 1,
                 "color": {"mode": "scheme", "scheme": "Oranges"}})
    ps.append(heat)
    ps.append(panel(
        "timeseries", "Write latency p50 / p99",
        "From the same histogram, per cache.",
        [('histogram_quantile(0.5, sum by (instance, cache, le) (rate(cachewatch_write_latency_seconds_bucket{%s}[$__rate_interval])))' % SEL,
          "{{instance}} {{cache}} p50"),
         ('histogram_quantile(0.99, sum by (instance, cache, le) (rate(cachewatch_write_latency_seconds_bucket{%s}[$__rate_interval])))' % SEL,
          "{{instance}} {{cache}} p99")],
        unit="s", x=12, y=y, w=12))
    y += 8
    ps.append(panel(
        "timeseries", "Busiest directories",
        "The ten group directories written fastest.",
        [('topk(10, sum by (instance, cache, dir) (rate(cachewatch_write_bytes_total{%s}[$__rate_interval])))' % SEL,
          "{{instance}} {{cache}}/{{dir}}")],
        unit="Bps", x=0, y=y, w=24))
    y += 8

    ps.append(row("Reads and reuse", y)); y += 1
    ps.append(panel(
        "timeseries", "Reuse: what is read back",
        "Per cache over the last day (docs/metrics.md, Reuse): entries read back per entry written "
        "(created or rewritten), and bytes read per byte written. Low values: the cache costs disk "
        "for little benefit.",
        [('sum by (instance, cache) (increase(cachewatch_entries_reused_total{%s}[1d])) '
          '/ (sum by (instance, cache) (increase(cachewatch_entries_written_total{%s}[1d])) > 0)' % (SEL, SEL),
          "{{instance}} {{cache}} entries reused"),
         ('sum by (instance, cache) (rate(cachewatch_read_bytes_total{%s}[1d])) '
          '/ (sum by (instance, cache) (rate(cachewatch_write_bytes_total{%s}[1d])) > 0)' % (SEL, SEL),
          "{{instance}} {{cache}} bytes read per byte written")],
        unit="percentunit", x=0, y=y, w=12))
    ps.append(panel(
        "timeseries", "Reads",
        "Opens of existing files for reading and bytes read per second, per cache.",
        [('sum by (instance, cache) (rate(cachewatch_read_opens_total{%s}[$__rate_interval]))' % SEL,
          "{{instance}} {{cache}} opens/s"),
         ('sum by (instance, cache) (rate(cachewatch_read_bytes_total{%s}[$__rate_interval]))' % SEL,
          "{{instance}} {{cache}} bytes/s")],
        unit="ops", x=12, y=y, w=12,
        fieldConfig={"defaults": {"unit": "ops"}, "overrides": [
            {"matcher": {"id": "byRegexp", "options": ".*bytes/s$"},
             "properties": [{"id": "unit", "value": "Bps"}, {"id": "custom.axisPlacement", "value": "right"}]}]}))
    y += 8

    ps.append(row("Deletions and purges", y)); y += 1
    ps.append(panel(
        "timeseries", "Unlinks and bytes freed",
        "Files unlinked under each cache by anyone (builds, tools, the agent's purges) and their size.",
        [('sum by (instance, cache) (rate(cachewatch_unlinked_bytes_total{%s}[$__rate_interval]))' % SEL,
          "{{instance}} {{cache}} bytes freed/s"),
         ('sum by (instance, cache) (rate(cachewatch_unlinks_total{%s}[$__rate_interval]))' % SEL,
          "{{instance}} {{cache}} unlinks/s")],
        unit="Bps", x=0, y=y, w=12,
        fieldConfig={"defaults": {"unit": "Bps"}, "overrides": [
            {"matcher": {"id": "byRegexp", "options": ".*unlinks/s$"},
             "properties": [{"id": "unit", "value": "ops"}, {"id": "custom.axisPlacement", "value": "right"}]}]}))
    ps.append(panel(
        "timeseries", "Purges by reason",
        "Purge runs that deleted files, by the limit that caused them.",
        [('sum by (instance, cache, reason) (increase(cachewatch_purges_total{%s}[$__rate_interval]))' % SEL,
          "{{instance}} {{cache}} {{reason}}")],
        unit="short", x=12, y=y, w=12))
    y += 8
    ps.append(panel(
        "timeseries", "Bytes purged by reason",
        "Disk usage freed by the agent's purges.",
        [('sum by (instance, cache, reason) (rate(cachewatch_purged_bytes_total{%s}[$__rate_interval]))' % SEL,
          "{{instance}} {{cache}} {{reason}}")],
        unit="Bps", x=0, y=y, w=12))
    ps.append(panel(
        "timeseries", "Purge errors",
        "Failed deletions and scan errors.",
        [('sum by (instance, cache) (increase(cachewatch_purge_errors_total{%s}[$__rate_interval]))' % SEL,
          "{{instance}} {{cache}}")],
        unit="short", x=12, y=y, w=12))
    y += 8

    ps.append(row("Agent", y)); y += 1
    ps.append(panel(
        "timeseries", "BPF events dropped",
        "Events the BPF programs could not count, by reason (docs/metrics.md); anything above 0 deserves a look.",
        [('sum by (instance, reason) (increase(cachewatch_bpf_drops_total{%s}[$__rate_interval]))' % INST,
          "{{instance}} {{reason}}")],
        unit="short", x=0, y=y, w=12))
    ps.append(panel(
        "stat", "Caches armed", "1: the cache's directory exists and is watched; 0: waiting for it to appear.",
        [('cachewatch_cache_armed{%s}' % SEL, "{{instance}} {{cache}}")],
        unit="none", x=12, y=y, w=6,
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "colorMode": "background", "graphMode": "none"},
        fieldConfig={"defaults": {"unit": "none", "thresholds": {"mode": "absolute", "steps": [
            {"color": "red", "value": None}, {"color": "green", "value": 1}]}}, "overrides": []}))
    ps.append(panel(
        "stat", "Age of the served snapshot", "Seconds since the agent last polled its BPF maps; above a minute polling is stuck.",
        [('time() - cachewatch_last_poll_timestamp_seconds{%s}' % INST, "{{instance}}")],
        unit="s", x=18, y=y, w=6,
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "colorMode": "background", "graphMode": "none"},
        fieldConfig={"defaults": {"unit": "s", "thresholds": {"mode": "absolute", "steps": [
            {"color": "green", "value": None}, {"color": "red", "value": 60}]}}, "overrides": []}))
    y += 8
    ps.append(panel(
        "timeseries", "Agent memory and CPU", "Resident memory of the agent process and its CPU use.",
        [('process_resident_memory_bytes{%s} and on (job, instance) cachewatch_build_info' % INST,
          "{{instance}} resident"),
         ('rate(process_cpu_seconds_total{%s}[$__rate_interval]) and on (job, instance) cachewatch_build_info' % INST,
          "{{instance}} CPU")],
        unit="bytes", x=0, y=y, w=12,
        fieldConfig={"defaults": {"unit": "bytes"}, "overrides": [
            {"matcher": {"id": "byRegexp", "options": ".*CPU$"},
             "properties": [{"id": "unit", "value": "percentunit"}, {"id": "custom.axisPlacement", "value": "right"}]}]}))
    ps.append(panel(
        "table", "Agents", "Version, attach backend and kernel of each agent.",
        [target('cachewatch_build_info{%s}' % INST, "", "A", fmt="table")],
        unit="none", x=12, y=y, w=12,
        options={"showHeader": True}))
    return ps


def variable(name, label, query):
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1, "options": [],
    }


def dashboard():
    panels_list = panels()
    for i, p in enumerate(panels_list):
        p["id"] = i + 1
    return {
        "uid": "cachewatch",
        "title": "cachewatch",
        "description": "Cache directories measured and purged by cachewatch: size against limits, "
                       "write bursts, time until full, latency, deletions, purges, drops.",
        "tags": ["cachewatch", "ebpf", "caches"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "timezone": "",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {"text": "default", "value": "default"}, "hide": 0, "options": [], "refresh": 1, "regex": ""},
            variable("instance", "Node", "label_values(cachewatch_build_info, instance)"),
            variable("cache", "Cache", 'label_values(cachewatch_cache_purge_enabled{instance=~"$instance"}, cache)'),
        ]},
        "panels": panels_list,
    }


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cachewatch.json")
    with open(out, "w") as f:
        json.dump(dashboard(), f, indent=2, sort_keys=False)
        f.write("\n")
