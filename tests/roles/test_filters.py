"""The collection's filters: watch merge order, the health gate, the fleet summary, wheel
choice by version, syslog targets and the platform check."""

from __future__ import annotations

import json

import pytest

from roles_paths import ROLES, load_filter

pytest.importorskip("ansible")
from ansible.errors import AnsibleFilterError

WATCHES = load_filter("watches")
STATUS = load_filter("status")
WHEELS = load_filter("wheels")
SYSLOG = load_filter("syslog")
PLATFORM = load_filter("platform")


def test_later_layers_merge_onto_earlier_watches_in_order():
    common = [{"name": "cron", "match": {"exe": "/usr/sbin/cron"}},
              {"name": "web", "match": {"comm": "nginx"}, "restart": {"max_restarts": 3, "window": "60s"}}]
    group = [{"name": "web", "restart": {"max_restarts": 5}}, {"name": "fpm", "match": {"comm": "php-fpm"}}]
    host = [{"name": "extra", "match": {"comm": "x"}}]
    merged = WATCHES.merge_watches([common, group, host], {"web": {"match": {"comm": None, "exe": "/n"}}}, ["cron"])
    assert [w["name"] for w in merged] == ["web", "fpm", "extra"]
    web = merged[0]
    assert web["restart"] == {"max_restarts": 5, "window": "60s"}
    assert web["match"] == {"exe": "/n"}


def test_lists_are_replaced_not_appended():
    merged = WATCHES.merge_watches(
        [[{"name": "a", "start": {"argv": ["x", "1"]}}], [{"name": "a", "start": {"argv": ["y"]}}]])
    assert merged[0]["start"]["argv"] == ["y"]


def test_override_of_an_unknown_watch_is_an_error():
    with pytest.raises(AnsibleFilterError, match="nope"):
        WATCHES.merge_watches([[{"name": "a"}]], {"nope": {}})


def test_merge_does_not_change_its_inputs():
    layer = [{"name": "a", "restart": {"max_restarts": 1}}]
    WATCHES.merge_watches([layer], {"a": {"restart": {"max_restarts": 9}}})
    assert layer == [{"name": "a", "restart": {"max_restarts": 1}}]


def _status(serial, watches, refusal=None, sha256=None):
    config = {"serial": serial, **({"sha256": sha256} if sha256 else {})}
    return json.dumps({"agent": {"config": config, "last_refusal": refusal}, "watches": watches})


def test_health_gate_passes_on_new_serial_and_healthy_watches():
    text = _status(7, [{"name": "web", "healthy": True}])
    assert STATUS.health_problems(text, 7) == []


def test_health_gate_names_the_agents_reason():
    text = _status(6, [{"name": "web", "healthy": False, "state": "backoff", "instances": {"current": 0, "min": 1}}],
                   {"code": "scope", "message": "host web01 not in scope"})
    problems = STATUS.health_problems(text, 7)
    assert "serial in force is 6, expected 7" in problems
    assert any("host web01 not in scope" in p for p in problems)
    assert any("watch web unhealthy: state=backoff instances=0/1" in p for p in problems)
    assert STATUS.health_problems(text, 6, False) == []


def test_health_gate_on_an_agent_that_does_not_answer():
    assert STATUS.health_problems("", 1)[0].startswith("agent did not answer")


def test_health_gate_catches_other_content_under_the_same_serial():
    text = _status(7, [], sha256="a" * 64)
    assert STATUS.health_problems(text, 7, True, "a" * 64) == []
    assert "same serial, different content" in STATUS.health_problems(text, 7, True, "b" * 64)[0]
    assert STATUS.health_problems(_status(7, []), 7, True, "b" * 64) == [], "an agent without sha256 is not judged"


def test_a_paused_watch_is_planned_work_not_a_failure():
    text = _status(7, [{"name": "web", "healthy": False, "state": "paused", "paused_until": "2026-12-01T10:00:00Z"}])
    assert STATUS.health_problems(text, 7) == []


def _result(serial, watches, sha256=None):
    return {"rc": 0, "stdout": _status(serial, watches, sha256=sha256)}


def test_fleet_summary_counts_unhealthy_gave_up_and_drift():
    results = [
        _result(2, [{"name": "web", "healthy": True, "state": "running"}]),
        {"rc": 1, "stdout": _status(1, [{"name": "web", "healthy": False, "state": "gave_up"}])},
        {"rc": 3, "stdout": "", "stderr": "agent unreachable: no socket"},
        {"unreachable": True, "msg": "ssh: connect timed out"},
    ]
    out = STATUS.fleet_summary(results, ["web01", "web02", "web03", "web04"])
    report = out["report"]
    assert report["hosts"] == 4 and report["agents_answering"] == 2 and report["watches"] == 2
    assert report["unhealthy"] == [{"host": "web02", "watch": "web", "state": "gave_up"}]
    assert report["gave_up"] == [{"host": "web02", "watch": "web"}]
    assert report["serial_drift"] == {"1": ["web02"]}
    assert [u["host"] for u in report["unreachable"]] == ["web03", "web04"]
    assert sorted(out["failed_hosts"]) == ["web02", "web03", "web04"]
    assert "ssh: connect timed out" in out["failed_hosts"]["web04"][0]
    assert not out["ok"]
    assert out["lines"][0] == "hosts: 4 (2 agents answering)"
    assert "drift: 1 on web02" in " ".join(out["lines"])
    assert "UNHEALTHY web02: watch web unhealthy: state=gave_up" in " ".join(out["lines"])


def test_fleet_summary_flags_the_same_serial_with_other_content_than_the_inventory():
    healthy = [{"name": "web", "healthy": True, "state": "running"}]
    results = [_result(5, healthy, "a" * 64), _result(5, healthy, "c" * 64), _result(4, healthy, "d" * 64)]
    expected = [{"serial": 5, "sha256": "a" * 64}, {"serial": 5, "sha256": "b" * 64}, {"serial": 5, "sha256": "e" * 64}]
    out = STATUS.fleet_summary(results, ["h1", "h2", "h3"], expected)
    assert out["report"]["content_drift"] == {"h2": {"serial": 5, "in_force": "c" * 64, "expected": "b" * 64}}
    assert list(out["failed_hosts"]) == ["h2"], "h3 is only behind (serial drift), h1 is as rendered"
    reason = "content drift: serial 5 in force with content cccccccccccc, the inventory renders bbbbbbbbbbbb"
    assert reason in out["failed_hosts"]["h2"]
    assert "config content: drift: h2 (serial 5)" in out["lines"]


def test_content_is_not_judged_against_an_inventory_with_uncommitted_changes():
    results = [_result(5, [], "c" * 64)]
    out = STATUS.fleet_summary(results, ["h1"], [{"serial": 5, "sha256": "b" * 64, "uncommitted": True}])
    assert out["ok"] and out["report"]["content_drift"] == {}
    assert any(line.startswith("config content: not judged") for line in out["lines"])


def test_fleet_summary_of_a_healthy_fleet_is_ok():
    out = STATUS.fleet_summary([_result(5, [{"name": "web", "healthy": True}], "a" * 64)], ["h1"])
    assert out["ok"] and out["failed_hosts"] == {}
    assert out["report"]["per_host"]["h1"]["sha256"] == "a" * 64


def test_newest_wheel_compares_versions_not_text():
    paths = ["dist/procguard-0.9.0-py3-none-any.whl", "dist/procguard-0.10.0-py3-none-any.whl",
             "dist/procguard-0.10.0rc1-py3-none-any.whl"]
    assert WHEELS.newest_wheel(paths) == "dist/procguard-0.10.0-py3-none-any.whl"
    assert sorted(paths)[-1] != WHEELS.newest_wheel(paths), "text order would have picked another"
    assert WHEELS.newest_wheel([]) == ""
    assert WHEELS.wheel_version("/x/procguard-1.2.3-1-py3-none-any.whl") == "1.2.3"


def test_a_name_that_is_not_a_wheel_is_an_error():
    with pytest.raises(AnsibleFilterError, match="not a wheel file name"):
        WHEELS.newest_wheel(["dist/procguard.tar.gz"])
    with pytest.raises(AnsibleFilterError, match="not a PEP 440 version"):
        WHEELS.wheel_version("procguard-latest-py3-none-any.whl")


def test_syslog_target_defaults_tls_port_and_framing():
    assert SYSLOG.syslog_target({"host": "logs1"}) == {
        "host": "logs1", "port": 6514, "format": "rfc5424", "tls": True, "framing": "octet-counted",
        "permitted_peer": "logs1"}
    plain = SYSLOG.syslog_target({"host": "logs2", "tls": False, "format": "rfc3164"})
    assert (plain["port"], plain["framing"]) == (514, "traditional")


@pytest.mark.parametrize("target, message", [
    ({"port": 1}, "needs a host"),
    ({"host": "a", "prot": 1}, "unknown key prot"),
    ({"host": "a", "tls": "yes"}, "tls must be true or false"),
    ({"host": "a", "format": "json"}, "format 'json'"),
    ({"host": "a", "port": 70000}, "not a TCP port"),
    ({"host": "a", "framing": "nul"}, "framing 'nul'"),
])
def test_a_bad_syslog_target_names_itself_and_the_fix(target, message):
    with pytest.raises(AnsibleFilterError, match=message):
        SYSLOG.syslog_target(target)


DEBIAN = {"os_family": "Debian", "distribution": "Debian", "distribution_version": "12", "service_mgr": "systemd"}


def test_platform_check_passes_a_supported_host():
    vars_dir = str(ROLES / "procguard_syslog" / "vars")
    assert PLATFORM.platform_problem(DEBIAN, "procguard_syslog", ["Debian"], False, vars_dir) == ""


def test_platform_check_names_the_override_on_an_untested_family():
    redhat = dict(DEBIAN, os_family="RedHat", distribution="Rocky", distribution_version="9.4")
    message = PLATFORM.platform_problem(redhat, "procguard_syslog", ["Debian"], False, str(ROLES / "procguard_syslog" / "vars"))
    assert "this host is Rocky 9.4 (RedHat family)" in message
    assert "procguard_syslog_allow_untested_platform: true" in message
    forced = PLATFORM.platform_problem(redhat, "procguard_syslog", ["Debian"], True, str(ROLES / "procguard_syslog" / "vars"))
    assert "no vars/RedHat.yml" in forced


def test_platform_check_needs_systemd():
    assert "needs systemd" in PLATFORM.platform_problem(dict(DEBIAN, service_mgr="sysvinit"), "procguard_agent", ["Debian"])
