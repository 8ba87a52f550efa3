"""The role and playbook filters: watch merge order, the health gate, the fleet summary."""

from __future__ import annotations

import json

import pytest

from roles_paths import REPO, ROLES, load_module

pytest.importorskip("ansible")
WATCHES = load_module(ROLES / "procguard_watches" / "filter_plugins" / "procguard_watches.py", "pg_watches")
FLEET = load_module(REPO / "playbooks" / "filter_plugins" / "procguard_fleet.py", "pg_fleet")


def test_later_layers_merge_onto_earlier_watches_in_order():
    common = [{"name": "cron", "match": {"exe": "/usr/sbin/cron"}},
              {"name": "web", "match": {"comm": "nginx"}, "restart": {"max_restarts": 3, "window": "60s"}}]
    group = [{"name": "web", "restart": {"max_restarts": 5}}, {"name": "fpm", "match": {"comm": "php-fpm"}}]
    host = [{"name": "extra", "match": {"comm": "x"}}]
    merged = WATCHES.procguard_merge_watches([common, group, host], {"web": {"match": {"comm": None, "exe": "/n"}}}, ["cron"])
    assert [w["name"] for w in merged] == ["web", "fpm", "extra"]
    web = merged[0]
    assert web["restart"] == {"max_restarts": 5, "window": "60s"}
    assert web["match"] == {"exe": "/n"}


def test_lists_are_replaced_not_appended():
    merged = WATCHES.procguard_merge_watches(
        [[{"name": "a", "start": {"argv": ["x", "1"]}}], [{"name": "a", "start": {"argv": ["y"]}}]])
    assert merged[0]["start"]["argv"] == ["y"]


def test_override_of_an_unknown_watch_is_an_error():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="nope"):
        WATCHES.procguard_merge_watches([[{"name": "a"}]], {"nope": {}})


def test_merge_does_not_change_its_inputs():
    layer = [{"name": "a", "restart": {"max_restarts": 1}}]
    WATCHES.procguard_merge_watches([layer], {"a": {"restart": {"max_restarts": 9}}})
    assert layer == [{"name": "a", "restart": {"max_restarts": 1}}]


def _status(serial, watches, refusal=None):
    return json.dumps({"agent": {"config": {"serial": serial}, "last_refusal": refusal}, "watches": watches})


def test_health_gate_passes_on_new_serial_and_healthy_watches():
    text = _status(7, [{"name": "web", "healthy": True}])
    assert WATCHES.procguard_health_problems(text, 7) == []


def test_health_gate_names_the_agents_reason():
    text = _status(6, [{"name": "web", "healthy": False, "state": "backoff", "instances": {"current": 0, "min": 1}}],
                   {"code": "scope", "message": "host web01 not in scope"})
    problems = WATCHES.procguard_health_problems(text, 7)
    assert "serial in force is 6, expected 7" in problems
    assert any("host web01 not in scope" in p for p in problems)
    assert any("watch web unhealthy: state=backoff instances=0/1" in p for p in problems)
    assert len(WATCHES.procguard_health_problems(text, 6, False)) == 0


def test_health_gate_on_an_agent_that_does_not_answer():
    assert WATCHES.procguard_health_problems("", 1)[0].startswith("agent did not answer")


def test_fleet_summary_counts_unhealthy_gave_up_and_drift():
    results = [
        {"rc": 0, "stdout": _status(2, [{"name": "web", "healthy": True, "state": "running"}])},
        {"rc": 1, "stdout": _status(1, [{"name": "web", "healthy": False, "state": "gave_up"}])},
        {"rc": 3, "stdout": "", "stderr": "agent unreachable: no socket"},
    ]
    out = FLEET.procguard_fleet_summary(results, ["web01", "web02", "web03"])
    report = out["report"]
    assert report["hosts"] == 3 and report["agents_answering"] == 2 and report["watches"] == 2
    assert report["unhealthy"] == [{"host": "web02", "watch": "web", "state": "gave_up"}]
    assert report["gave_up"] == report["unhealthy"]
    assert report["serial_drift"] == {"1": ["web02"]}
    assert report["unreachable"][0]["host"] == "web03"
    assert out["lines"][0] == "hosts: 3 (2 agents answering)"
    assert "drift: 1 on web02" in out["lines"][4]
