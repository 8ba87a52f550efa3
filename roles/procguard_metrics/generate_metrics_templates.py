#!/usr/bin/env python3
"""Generate the Prometheus and Grafana files from the agent's metric families and catalog.

    .venv/bin/python roles/procguard_metrics/generate_metrics_templates.py           # write
    .venv/bin/python roles/procguard_metrics/generate_metrics_templates.py --check   # exit 1 when stale

Needs the agent importable (the venv, or agent/ beside roles/). Writes:
  - files/procguard-alerts.rules.yml   alert rules (alert_rules.py)
  - files/procguard-dashboard.json     Grafana dashboard (dashboard.py)
  - tests/observability/procguard-alerts.test.yml   promtool unit tests of the rules
  - the generated tables of docs/observability.md (metrics, series per watch, alerts)
Output is deterministic, so tests/observability/ can tell when a file drifts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Dict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for path in (HERE, os.path.join(REPO, "agent"), os.path.join(REPO, "roles", "procguard_syslog")):
    if path not in sys.path:
        sys.path.insert(0, path)

import yaml  # noqa: E402

import alert_rules  # noqa: E402
import dashboard  # noqa: E402
from generate_ops_templates import write_or_check  # noqa: E402
from procguard.events import render as catalog_render  # noqa: E402
from procguard.metrics import families  # noqa: E402

RULES = os.path.join(HERE, "files", "procguard-alerts.rules.yml")
DASHBOARD = os.path.join(HERE, "files", "procguard-dashboard.json")
TESTS = os.path.join(REPO, "tests", "observability", "procguard-alerts.test.yml")
DOCS = os.path.join(REPO, "docs", "observability.md")


def series_per_set(f: families.Family) -> int:
    """Sample lines one series set of the family writes (at most)."""
    if f.kind == "histogram":
        return len(f.buckets) + 3
    if f.kind in ("state", "info") or f.free:
        return 1
    return max(1, len(f.enum[1]))


def metrics_table() -> str:
    lines = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for f in families.ALL:
        labels = ", ".join(f"`{label}`" for label in f.labels) or "-"
        lines.append(f"| `{f.name}` | {f.kind} | {labels} | {f.help} |")
    count = {scope: sum(series_per_set(f) for f in families.ALL if f.scope == scope) for scope in families.SCOPE_LABELS}
    lines += ["", f"Series: {count[families.AGENT]} for the agent (one per catalog message included), "
                  f"{count[families.WATCH]} per watch, {count[families.PROBE]} per probe. "
                  f"Histogram buckets (seconds): latency {', '.join(map(str, families.LATENCY_BUCKETS))}; "
                  f"probe checks {', '.join(map(str, families.PROBE_BUCKETS))}."]
    return "\n".join(lines)


def alerts_table(catalog: list) -> str:
    by_name = {m["name"]: m for m in catalog}
    lines = ["| alert | severity | for | fires when | catalog |", "|---|---|---|---|---|"]
    for a in alert_rules.ALERTS:
        labels = alert_rules.labels_of(a, by_name)
        when = re.sub(r"\{\{ \$labels\.(\w+) \}\}", r"<\1>", a.summary)
        msg = by_name.get(a.message)
        lines.append(f"| {a.name} | {labels['severity']} | {a.duration} | {when} | {msg['id'] if msg else '-'} |")
    return "\n".join(lines)


def docs(catalog: list) -> str:
    """docs/observability.md with its generated sections replaced; the rest is written by hand."""
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    for name, body in (("metrics", metrics_table()), ("alerts", alerts_table(catalog))):
        begin, end = f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"
        if begin not in text or end not in text:
            raise ValueError(f"{DOCS}: markers {begin} ... {end} are missing; put them back where the table goes")
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + body + "\n" + end + rest.split(end, 1)[1]
    return text


def render(catalog: list) -> Dict[str, str]:
    catalog = sorted(catalog, key=lambda m: m["id"])
    tests = alert_rules.promtool_tests(catalog, os.path.relpath(RULES, os.path.dirname(TESTS)))
    return {
        RULES: alert_rules.rules_yaml(catalog),
        DASHBOARD: dashboard.dashboard_json(),
        TESTS: f"# {alert_rules.HEADER}\n# Run: promtool test rules {os.path.relpath(TESTS, REPO)}\n"
               + yaml.safe_dump(tests, sort_keys=False, width=200),
        DOCS: docs(catalog),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is out of date")
    args = parser.parse_args()
    return write_or_check(render(json.loads(catalog_render.as_json())), args.check, "run make observability")


if __name__ == "__main__":
    sys.exit(main())
