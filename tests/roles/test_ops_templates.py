"""The operations templates in procguard_syslog are generated from the agent's catalog.

Zabbix itself cannot run here (a server, a database and a frontend), so the trigger tests
replay log lines through the generated expressions with Zabbix's documented semantics
(find() on the last value, PROBLEM events of type MULTIPLE, OK events that close the
problems whose tag value matches). The journald catalog is checked by the real journalctl.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from roles_paths import ROLES, load_module

GEN = load_module(ROLES / "procguard_syslog" / "generate_ops_templates.py", "generate_ops_templates")
OPS = ROLES / "procguard_syslog" / "files" / "ops"
# The planned-stop message the catalog gains in issue 12 (info: it must never alert).
PLANNED = {"id": "PG1021", "name": "process_exited_planned", "severity": "info", "text": "process ended as planned",
           "fields": ["watch", "pid", "status", "reason"], "explanation": "", "action": ""}


@pytest.fixture(scope="module")
def catalog():
    render = pytest.importorskip("procguard.events.render")
    return json.loads(render.as_json())


@pytest.fixture(scope="module")
def catalog_with_planned(catalog):
    return catalog if any(m["id"] == PLANNED["id"] for m in catalog) else [*catalog, PLANNED]


def test_committed_templates_match_the_catalog(catalog):
    for name, text in GEN.render(catalog).items():
        assert (OPS / name).read_text() == text, f"{name} is stale: make observability"


def test_role_ships_every_generated_file():
    shipped = yaml.safe_load((ROLES / "procguard_syslog" / "vars" / "main.yml").read_text())
    assert sorted(shipped["_procguard_syslog_ops_files"]) == sorted(GEN.render([]).keys())


def test_each_rule_matches_a_rendered_line(catalog):
    from procguard.events.catalog import BY_ID

    rules = [l.split("\t") for l in (OPS / "procguard-rules.tsv").read_text().splitlines() if not l.startswith("#")]
    assert len(rules) == len(catalog)
    for mid, _name, _sev, regex, *_plan in rules:
        msg = BY_ID[mid]
        line = "2026-11-26T10:00:00+00:00 web01 procguard[42]: " + msg.render(
            {field: "x y" for field in msg.fields}
        )
        match = re.search(regex, line)
        assert match, (mid, line)
        others = [r for r in rules if r[0] != mid and re.search(r[3], line)]
        assert others == [], f"{mid} line also matches {others}"


def test_recovery_table_names_only_messages_of_the_catalog(catalog):
    names = {m["name"] for m in catalog}
    for problem, ends in GEN.RECOVERY.items():
        assert problem.endswith("*") or problem in names, problem
        assert set(ends) <= names, (problem, set(ends) - names)
        if problem.endswith("*"):
            assert any(n.startswith(problem[:-1]) for n in names), problem


def test_tsv_and_zabbix_carry_the_same_plan(catalog):
    rows = {r[0]: r for r in (l.split("\t") for l in (OPS / "procguard-rules.tsv").read_text().splitlines()
                              if not l.startswith("#"))}
    for trigger in zabbix_triggers():
        row = rows[trigger["id"]]
        assert row[4] == trigger["priority"]
        assert row[5] == (",".join(trigger["recovered_by"]) or "-")
        assert row[6] == (trigger.get("correlation_tag") or "-")
    alerting = {mid for mid, r in rows.items() if r[4] != "-"}
    assert alerting == {t["id"] for t in zabbix_triggers()}


# -- Zabbix --------------------------------------------------------------------------------
def zabbix_doc() -> dict:
    return yaml.safe_load((OPS / "zabbix_template_procguard.yaml").read_text())["zabbix_export"]


def _pattern(expression: str) -> str:
    found = re.fullmatch(r'find\(/procguard by log/log\[.*\],,"regexp","(.*)"\)=1', expression)
    assert found, expression
    return found.group(1)


def zabbix_triggers() -> list:
    """The generated triggers, with the IDs their expressions name."""
    out = []
    for t in zabbix_doc()["templates"][0]["items"][0]["triggers"]:
        problem = _pattern(t["expression"])
        recovery = _pattern(t["recovery_expression"]) if t["recovery_mode"] == "RECOVERY_EXPRESSION" else ""
        out.append({**t, "id": re.findall(r"PG\d{4}", problem)[0], "problem_re": problem, "recovery_re": recovery,
                    "recovered_by": re.findall(r"PG\d{4}", recovery)})
    return out


def test_one_log_item_reads_every_line_and_keeps_the_text_from_the_id_on():
    template = zabbix_doc()["templates"][0]
    assert len(template["items"]) == 1
    item = template["items"][0]
    assert item["value_type"] == "LOG" and item["type"] == "ZABBIX_ACTIVE"
    step = item["preprocessing"][0]
    regex, output = step["parameters"]
    line = "Nov 26 10:00:00 web01 procguard[42]: PG1009 restart budget spent, giving up watch=web"
    assert re.search(regex, line).expand(output.replace("\\1", "\\g<1>")) == line.split(": ", 1)[1]
    assert step["error_handler"] == "DISCARD_VALUE"


def test_every_warning_or_worse_message_has_one_trigger_and_nothing_else_has_one(catalog):
    serious = [m["id"] for m in catalog if m["severity"] in GEN.PRIORITY]
    assert [t["id"] for t in zabbix_triggers()] == serious


def test_no_trigger_closes_on_a_timeout():
    for t in zabbix_triggers():
        assert "nodata(" not in t["expression"] + t.get("recovery_expression", "")
        assert t["recovery_mode"] in ("RECOVERY_EXPRESSION", "NONE"), t["id"]
        assert t["type"] == "MULTIPLE" and t["manual_close"] == "YES"


def test_uuids_are_unique_and_well_formed():
    template = zabbix_doc()["templates"][0]
    uuids = [template["uuid"], template["items"][0]["uuid"]] + [t["uuid"] for t in zabbix_triggers()]
    assert len(uuids) == len(set(uuids))
    assert all(re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", u) for u in uuids)


class ZabbixReplay:
    """Zabbix's documented trigger semantics over the generated triggers (see module docstring)."""

    def __init__(self, triggers: list) -> None:
        self.triggers = triggers
        self.open: list = []  # (trigger id, tag value)

    def tag(self, trigger: dict, value: str) -> str:
        tag = trigger.get("correlation_tag")
        found = re.search(rf"(^| ){tag}=([^ ]+)", value) if tag else None
        return found.group(2) if found else ""

    def line(self, value: str) -> None:
        for t in self.triggers:
            if re.search(t["problem_re"], value):
                self.open.append((t["id"], self.tag(t, value)))
            elif t["recovery_re"] and re.search(t["recovery_re"], value):
                closing = self.tag(t, value)
                self.open = [(i, v) for i, v in self.open
                             if i != t["id"] or (t.get("correlation_mode") == "TAG_VALUE" and v != closing)]


def lines(catalog: list, *events: tuple) -> list:
    """Rendered values as the item stores them: 'PG1005 process died watch=web ...'."""
    from procguard.events.message import Message

    by_name = {m["name"]: m for m in catalog}
    out = []
    for name, fields in events:
        m = by_name[name]
        out.append(Message(m["id"], m["name"], m["severity"], m["text"], tuple(m["fields"])).render(fields))
    return out


def test_a_crash_alerts_and_its_restart_closes_it_for_that_watch_only(catalog):
    replay = ZabbixReplay(zabbix_triggers())
    for value in lines(catalog, ("process_died", {"watch": "web", "pid": 10, "status": "signal:KILL"}),
                       ("process_died", {"watch": "db", "pid": 11, "status": "exit:1"}),
                       ("process_started", {"watch": "web", "pid": 12}),
                       ("start_good", {"watch": "web", "pid": 12, "after": "1s"})):
        replay.line(value)
    assert replay.open == [("PG1005", "db")]


def test_planned_stops_never_alert(catalog_with_planned):
    replay = ZabbixReplay(zabbix_triggers())
    planned = [("process_exited_planned", {"watch": "web", "pid": 10, "status": "signal:TERM", "reason": reason})
               for reason in ("restart", "stall", "stop", "launcher", "expected_exit")]
    for value in lines(catalog_with_planned, *planned, ("process_stopped", {"watch": "web", "pid": 10, "signal": "TERM"}),
                       ("not_restarted_exit_code", {"watch": "web", "pid": 10, "status": "exit:0"}),
                       ("restart_requested", {"watch": "web", "by": "root"})):
        replay.line(value)
    assert replay.open == []


def test_a_new_message_flows_through_by_its_severity(catalog):
    new = {"id": "PG1099", "name": "brand_new", "severity": "err", "text": "something new",
           "fields": ["watch"], "explanation": "", "action": ""}
    files = GEN.render([*catalog, new])
    assert "^PG1099 " in files["zabbix_template_procguard.yaml"]
    assert "\nPG1099\tbrand_new\terr\t" in files["procguard-rules.tsv"]
    assert "Subject: PG1099 something new" in files["procguard.catalog"]


@pytest.mark.parametrize(("problem", "recovery", "fields"), [
    ("gave_up", "recovered", {"watch": "web"}),
    ("instances_short", "recovered", {"watch": "web", "current": 0, "min": 1}),
    ("stall_detected", "stall_cleared", {"watch": "web", "probe": "http"}),
    ("escalation_started", "action_undone", {"watch": "web", "action": "vip"}),
    ("config_refused_bad_signature", "config_applied", {"config": "/etc/procguard/watches.yaml"}),
    ("pull_failed", "pull_recovered", {"url": "https://cfg.example.invalid/w.yaml"}),
])
def test_problem_closes_on_its_recovery_message(catalog, problem, recovery, fields):
    replay = ZabbixReplay(zabbix_triggers())
    first, second = lines(catalog, (problem, fields), (recovery, fields))
    replay.line(first)
    assert replay.open, f"{problem} raised nothing"
    replay.line(second)
    assert replay.open == []


# -- journald ------------------------------------------------------------------------------
def test_journalctl_reads_the_catalog_and_lists_every_message(catalog, tmp_path):
    from procguard.events.journald_ids import journald_id

    journalctl = shutil.which("journalctl")
    if journalctl is None:
        pytest.fail("journalctl is missing (Debian's systemd package)")
    folder = tmp_path / "usr" / "lib" / "systemd" / "catalog"
    folder.mkdir(parents=True)
    shutil.copy(OPS / "procguard.catalog", folder)
    subprocess.run([journalctl, f"--root={tmp_path}", "--update-catalog"], check=True, timeout=60)
    listed = subprocess.run([journalctl, f"--root={tmp_path}", "--list-catalog"], check=True, timeout=60,
                            capture_output=True, text=True).stdout.splitlines()
    assert sorted(line.split()[0] for line in listed) == sorted(journald_id(m["id"]) for m in catalog)
    died = next(m for m in catalog if m["name"] == "process_died")
    shown = subprocess.run([journalctl, f"--root={tmp_path}", "--dump-catalog", journald_id(died["id"])],
                           check=True, timeout=60, capture_output=True, text=True).stdout
    assert f"Subject: {died['id']} {died['text']} (watch @PROCGUARD_WATCH@)" in shown
    assert died["explanation"] in shown


def test_generation_is_deterministic(catalog):
    assert GEN.render(catalog) == GEN.render(list(reversed(catalog)))
