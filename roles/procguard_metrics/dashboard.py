"""A Grafana dashboard for the procguard fleet, generated from the metric families.

Fleet restarts (planned ones apart), the detection and restart latency heatmaps (the
headline), watches not healthy, the configuration in force, and the agents themselves.
Every expression may only use the agent's families (checked when generating), and the
live test in tests/observability/ runs each one against a real Prometheus.
Import: Dashboards > New > Import, or a provisioning folder (procguard_metrics_dashboard_dest).
"""

from __future__ import annotations

import json
from typing import Dict, List, Tuple

from alert_rules import known_metric, metric_names

UID = "procguard-fleet"
SEL = 'instance=~"$instance"'
RATE = "$__rate_interval"

# (title, type, unit, [(expr, legend)], extra options); laid out three to a row of width 24.
Panel = Tuple[str, str, str, List[Tuple[str, str]], Dict[str, object]]

ROWS: List[Tuple[str, List[Panel]]] = [
    ("Fleet", [
        ("Restarts, planned ones apart", "timeseries", "short",
         [(f'sum by (instance, watch) (increase(procguard_watch_restarts_total{{cause!="planned",{SEL}}}[{RATE}]))',
           "{{instance}} {{watch}}")], {}),
        ("Restarts by cause", "timeseries", "short",
         [(f"sum by (cause) (increase(procguard_watch_restarts_total{{{SEL}}}[{RATE}]))", "{{cause}}")],
         {"stack": True}),
        ("Watches not healthy", "stat", "short",
         [(f"count(procguard_watch_healthy{{{SEL}}} == 0) or vector(0)", "not healthy")], {}),
        ("Unhealthy watches", "table", "short",
         [(f"procguard_watch_healthy{{{SEL}}} == 0", "")], {"instant": True}),
        ("Watches by state", "bargauge", "short",
         [(f"count by (state) (procguard_watch_state{{{SEL}}})", "{{state}}")], {"instant": True}),
        ("Gave up, stalled, escalated", "timeseries", "short",
         [(f'count(procguard_watch_state{{state="gave_up",{SEL}}}) or vector(0)', "gave up"),
          (f"sum(procguard_watch_stalled{{{SEL}}}) or vector(0)", "stalled"),
          (f"count(procguard_watch_escalation_actions_in_force{{{SEL}}} > 0) or vector(0)", "escalated")], {}),
    ]),
    ("Latency: death to detection, death to replacement", [
        ("Death to detection", "heatmap", "s",
         [(f"sum by (le) (increase(procguard_detection_latency_seconds_bucket{{{SEL}}}[{RATE}]))", "{{le}}")],
         {"heatmap": True}),
        ("Death to replacement running", "heatmap", "s",
         [(f"sum by (le) (increase(procguard_restart_latency_seconds_bucket{{{SEL}}}[{RATE}]))", "{{le}}")],
         {"heatmap": True}),
        ("p99 by host", "timeseries", "s",
         [(f"histogram_quantile(0.99, sum by (instance, le) (rate(procguard_detection_latency_seconds_bucket{{{SEL}}}[5m])))",
           "detection {{instance}}"),
          (f"histogram_quantile(0.99, sum by (instance, le) (rate(procguard_restart_latency_seconds_bucket{{{SEL}}}[5m])))",
           "replacement {{instance}}")], {}),
        ("Canary self-test", "timeseries", "s",
         [(f"histogram_quantile(0.99, sum by (instance, le) (rate(procguard_canary_latency_seconds_bucket{{{SEL}}}[30m])))",
           "p99 {{instance}}"),
          (f'sum by (instance) (increase(procguard_canary_checks_total{{result="failed",{SEL}}}[{RATE}]))',
           "failed {{instance}}")], {}),
        ("Probe checks not ok", "timeseries", "short",
         [(f'sum by (instance, watch, probe) (increase(procguard_probe_checks_total{{result!="ok",{SEL}}}[{RATE}]))',
           "{{instance}} {{watch}}/{{probe}}")], {}),
        ("Slowest probes (last check)", "table", "s",
         [(f"topk(10, procguard_probe_last_duration_seconds{{{SEL}}})", "")], {"instant": True}),
    ]),
    ("Configuration", [
        ("Serial in force", "table", "short",
         [(f"procguard_config_serial{{{SEL}}}", ""), (f"procguard_config_info{{{SEL}}}", "")], {"instant": True}),
        ("Days until not_after", "table", "short",
         [(f"(procguard_config_not_after_timestamp_seconds{{{SEL}}} - time()) / 86400", "")], {"instant": True}),
        ("Refusals", "timeseries", "short",
         [(f"sum by (instance) (increase(procguard_config_refusals_total{{{SEL}}}[{RATE}]))", "{{instance}}")], {}),
    ]),
    ("Agents", [
        ("Resident memory", "timeseries", "bytes",
         [(f"procguard_agent_resident_memory_bytes{{{SEL}}}", "{{instance}}")], {}),
        ("Open descriptors", "timeseries", "short", [(f"procguard_agent_open_fds{{{SEL}}}", "{{instance}}")], {}),
        ("Loop lag", "timeseries", "s", [(f"procguard_agent_loop_lag_seconds{{{SEL}}}", "{{instance}}")], {}),
        ("Heartbeat age", "timeseries", "s",
         [(f"time() - procguard_agent_heartbeat_timestamp_seconds{{{SEL}}}", "{{instance}}")], {}),
        ("Messages by severity", "timeseries", "short",
         [(f"sum by (severity) (increase(procguard_events_total{{{SEL}}}[{RATE}]))", "{{severity}}")],
         {"stack": True}),
        ("Versions", "table", "short", [(f"procguard_agent_info{{{SEL}}}", "")], {"instant": True}),
    ]),
]


def expressions() -> List[str]:
    return [expr for _row, panels in ROWS for _t, _k, _u, targets, _x in panels for expr, _l in targets]


def _panel(pid: int, x: int, y: int, panel: Panel) -> dict:
    title, kind, unit, targets, extra = panel
    out: dict = {
        "id": pid, "type": kind, "title": title, "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": 8, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [],
    }
    for i, (expr, legend) in enumerate(targets):
        target = {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend,
                  "datasource": {"type": "prometheus", "uid": "${datasource}"}}
        if extra.get("instant"):
            target.update({"instant": True, "format": "table"})
        if extra.get("heatmap"):
            target.update({"format": "heatmap"})
        out["targets"].append(target)
    if extra.get("stack"):
        out["fieldConfig"]["defaults"]["custom"] = {"stacking": {"mode": "normal"}}
    if extra.get("heatmap"):
        out["options"] = {"calculate": False, "yAxis": {"unit": unit}, "cellGap": 1}
    return out


def dashboard_json() -> str:
    bad = sorted({n for e in expressions() for n in metric_names(e) if not known_metric(n)})
    if bad:
        raise ValueError(f"dashboard: {', '.join(bad)} is not a procguard metric family")
    panels: List[dict] = []
    y = 0
    pid = 1
    for title, row in ROWS:
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
        pid += 1
        y += 1
        for i, panel in enumerate(row):
            panels.append(_panel(pid, (i % 3) * 8, y + (i // 3) * 8, panel))
            pid += 1
        y += ((len(row) + 2) // 3) * 8
    doc = {
        "__comment": "Generated by roles/procguard_metrics/generate_metrics_templates.py; do not edit.",
        "uid": UID, "title": "procguard fleet", "tags": ["procguard"], "editable": True,
        "schemaVersion": 39, "version": 1, "refresh": "1m", "time": {"from": "now-6h", "to": "now"},
        "timezone": "", "graphTooltip": 1,
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
            {"name": "instance", "type": "query", "label": "Host", "multi": True, "includeAll": True,
             "allValue": ".*", "refresh": 2, "sort": 1,
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "definition": "label_values(procguard_agent_info, instance)",
             "query": {"query": "label_values(procguard_agent_info, instance)", "refId": "instance"}},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }
    return json.dumps(doc, indent=2) + "\n"
