"""Alert rules, their promtool unit tests, the dashboard and the docs tables: generated and true."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "procguard_metrics"
sys.path.insert(0, str(ROLE))

import alert_rules  # noqa: E402
import dashboard  # noqa: E402
import generate_metrics_templates as gen  # noqa: E402
from procguard.events import render  # noqa: E402
from procguard.metrics import families  # noqa: E402


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: run scripts/setup-host.sh (installs Debian's prometheus)")
    return path


@pytest.fixture(scope="module")
def catalog() -> list:
    return json.loads(render.as_json())


def test_committed_files_match_the_families_and_the_catalog(catalog):
    for path, text in gen.render(catalog).items():
        assert Path(path).read_text() == text, f"{Path(path).relative_to(REPO)} is stale: make observability"


def test_promtool_checks_the_rules():
    out = subprocess.run([promtool(), "check", "rules", str(gen.RULES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(alert_rules.ALERTS)} rules found" in out.stdout


def test_each_alert_fires_on_its_series_and_none_on_planned_stops():
    """promtool's own unit tests (tests/observability/procguard-alerts.test.yml)."""
    out = subprocess.run([promtool(), "test", "rules", str(gen.TESTS)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    tests = [t["name"] for t in yaml.safe_load(Path(gen.TESTS).read_text())["tests"]]
    assert tests == [f"{a.name} fires" for a in alert_rules.ALERTS] + ["planned stops, a healthy agent: no alert"]


def test_the_issue_asks_for_these_alerts():
    assert {a.name for a in alert_rules.ALERTS} >= {
        "ProcguardRestartLoop", "ProcguardGaveUp", "ProcguardStalled", "ProcguardConfigRefused",
        "ProcguardConfigExpiring", "ProcguardAgentDown", "ProcguardDetectionSlow"}


def test_an_expression_on_an_unknown_metric_is_refused(catalog, monkeypatch):
    bad = alert_rules.Alert("X", "", ("procguard_no_such_thing > 0",), "s", fires=(), fired_labels={}, severity="warning")
    monkeypatch.setattr(alert_rules, "ALERTS", (bad,))
    with pytest.raises(ValueError, match="alert X: procguard_no_such_thing is not a procguard metric family"):
        alert_rules.rules_yaml(catalog)


def test_alert_severities_and_texts_come_from_the_catalog(catalog):
    by_name = {m["name"]: m for m in catalog}
    rules = yaml.safe_load(Path(gen.RULES).read_text())["groups"][0]["rules"]
    for a, rule in zip(alert_rules.ALERTS, rules):
        msg = by_name.get(a.message)
        if msg:
            assert rule["labels"]["procguard_id"] == msg["id"]
        if msg and not a.description:
            assert rule["annotations"]["description"].startswith(f"{msg['id']} {msg['text']}")
        assert rule["labels"]["severity"] in ("critical", "warning")


def test_dashboard_panels_are_laid_out_and_use_only_our_families():
    doc = json.loads(Path(gen.DASHBOARD).read_text())
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    cells = set()
    for p in doc["panels"]:
        g = p["gridPos"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"panel {p['title']} overlaps another"
        cells |= mine
        assert g["x"] + g["w"] <= 24
    used = {n for e in dashboard.expressions() for n in alert_rules.metric_names(e)}
    assert all(alert_rules.known_metric(n) for n in used)
    assert {"procguard_detection_latency_seconds_bucket", "procguard_watch_restarts_total",
            "procguard_watch_healthy"} <= used, "the issue's three: fleet restarts, latency heatmap, not healthy"
    kinds = {p["title"]: p["type"] for p in doc["panels"]}
    assert kinds["Death to detection"] == "heatmap"


def test_docs_list_every_family():
    text = Path(gen.DOCS).read_text()
    for f in families.ALL:
        assert f"`{f.name}`" in text
