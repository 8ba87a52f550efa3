"""Schemas, defaults, the tcp and heartbeat_file checks, and the catalog entries."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from procguard.config.action_schema import ACTION_SCHEMA, TOP_LEVEL_SCHEMA
from procguard.config.loader import problems_in
from procguard.config.probe_schema import PROBE_SCHEMA
from procguard.config.probe_spec import build_probe as normalize
from procguard.config.validator import validate
from procguard.events import catalog
from procguard.probes.checks import HeartbeatFileCheck, TcpCheck

ROOT = {"$defs": {"duration": {"oneOf": [{"type": "number", "minimum": 0},
                                        {"type": "string", "pattern": r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$"}]}}}


def check(value, schema):
    return validate(value, {**ROOT, **schema})


@pytest.mark.parametrize("probe", [
    {"name": "h", "type": "http", "url": "http://127.0.0.1:8080/health", "expect_status": [200, 204],
     "expect_body": "ok", "interval": "5s", "timeout": "250ms", "fall": 3, "rise": 2},
    {"name": "t", "type": "tcp", "port": 5432},
    {"name": "e", "type": "exec", "argv": ["/usr/bin/pg_isready"], "timeout": 3},
    {"name": "f", "type": "heartbeat_file", "path": "/run/app.beat", "max_age": "30s"},
    {"name": "p", "type": "proc_state", "max_duration": "10s", "states": ["D", "T"]},
    {"name": "n", "type": "notify", "interval": "30s", "start_delay": "1m"},
])
def test_valid_probes_pass_the_schema(probe):
    assert check(probe, PROBE_SCHEMA) == []
    spec = normalize(probe)
    assert spec.fall >= 1 and spec.interval > 0


@pytest.mark.parametrize("probe", [
    {"name": "h", "type": "http"},                                    # no url
    {"name": "h", "type": "http", "url": "ftp://x"},
    {"name": "t", "type": "tcp", "port": 70000},
    {"name": "p", "type": "proc_state", "states": ["R"]},
    {"name": "p", "type": "proc_state", "limit": "1s"},              # unknown key
    {"name": "x", "type": "smtp"},
    {"name": "n", "type": "notify", "interval": "soon"},
])
def test_invalid_probes_fail_the_schema(probe):
    assert check(probe, PROBE_SCHEMA)


def test_defaults_and_uniqueness():
    spec = normalize({"name": "p", "type": "proc_state"})
    assert (spec.interval, spec.fall, spec.opt("max_duration"), spec.opt("states")) == (1.0, 1, 10.0, ("D", "T", "Z"))
    assert normalize({"name": "h", "type": "http", "url": "http://x/"}).opt("expect_status") == (200,)


def _problems(probes):
    text = json.dumps({"version": 1, "watches": [{"name": "w", "match": {"comm": "w"}, "probes": probes}]})
    return [str(p) for p in problems_in(text, "w.yaml")[0]]


def test_probe_names_unique_and_one_notify_probe_are_config_problems_with_their_key():
    dupes = _problems([{"name": "a", "type": "tcp", "port": 1}, {"name": "a", "type": "tcp", "port": 2}])
    assert any("watches[0].probes[1].name" in p and "unique" in p for p in dupes), dupes
    notify = _problems([{"name": "a", "type": "notify"}, {"name": "b", "type": "notify"}])
    assert any("watches[0].probes[1].type" in p and "one notify" in p for p in notify), notify


@pytest.mark.parametrize("action", [
    {"type": "command", "argv": ["clprexec", "--failover", "failover1"], "timeout": "30s"},
    {"type": "haproxy_agent", "state": "maint"},
    {"type": "keepalived", "track_file": "/run/procguard/web.weight", "weight": -100},
    {"type": "pacemaker", "value": "red", "undo_after": "2m"},
    {"type": "pacemaker", "mode": "ban", "resource": "db-vip", "node": "node1"},
])
def test_valid_actions_pass_the_schema(action):
    assert check(action, ACTION_SCHEMA) == []


def test_haproxy_top_level_schema():
    good = [{"port": 9101, "servers": [{"name": "web01", "watches": ["web", "app"], "gave_up": "maint",
                                         "unhealthy": "50%"}]}]
    assert check(good, TOP_LEVEL_SCHEMA["haproxy_agent"]) == []
    bad = [{"port": 9101, "servers": [{"name": "web01", "watches": ["web"], "gave_up": "off"}]}]
    assert check(bad, TOP_LEVEL_SCHEMA["haproxy_agent"])


def test_tcp_check_against_a_real_listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    assert TcpCheck(normalize({"name": "t", "type": "tcp", "port": port})).run((1,))[0] is True
    srv.close()
    ok, reason = TcpCheck(normalize({"name": "t", "type": "tcp", "port": port})).run((1,))
    assert not ok and "refused" in reason.lower()


def test_heartbeat_file_age(tmp_path):
    beat = tmp_path / "beat"
    chk = HeartbeatFileCheck(normalize({"name": "b", "type": "heartbeat_file", "path": str(beat), "max_age": 5}))
    assert chk.run((1,)) == (False, f"{beat} does not exist")
    beat.write_text("")
    assert chk.run((1,))[0] is True
    old = time.time() - 60
    os.utime(beat, (old, old))
    ok, reason = chk.run((1,))
    assert not ok and "max 5s" in reason


def test_catalog_entries_are_complete():
    mine = [m for m in catalog.ALL if m.id[:3] in ("PG4", "PG5")]
    assert len(mine) == 20
    for m in mine:
        assert m.explanation and m.action, m.id
        assert m.name in catalog.BY_NAME
