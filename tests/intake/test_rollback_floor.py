"""The anti-rollback floor has a file of its own and fails closed (issue 10 item 9).

Before: a corrupt last-good.json disabled the floor (PG6034, then an older signed config
was accepted), nothing new was saved until someone fixed the file, and the serial had no
integrity check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.agent import cli
from helpers.signing import install, watch_config
from procguard.intake.floor import FloorError, RollbackFloor
from procguard.signing.signature import sign


def test_the_floor_only_goes_up_and_is_checked_on_read(tmp_path):
    floor = RollbackFloor(str(tmp_path))
    assert floor.read() is None and floor.read(legacy=7) == 7, "taken over from an older agent's state"
    floor.raise_to(10)
    floor.raise_to(4)
    assert floor.read() == 10
    doc = json.loads(Path(floor.path).read_text())
    doc["serial"] = 3  # edited by hand, checksum not
    Path(floor.path).write_text(json.dumps(doc))
    with pytest.raises(FloorError, match="procguard floor --state-dir"):
        floor.read()


def test_a_corrupt_last_good_no_longer_disables_the_floor(signed_agent, rsyslog, tag):
    agent, k1, before = signed_agent
    Path(agent.state_dir, "last-good.json").write_text("{ not json")
    older = watch_config(tag, 9)
    install(agent, older, sign(k1.private, older))
    result = agent.cli("reload")
    assert result.returncode == 1 and "lower than the last applied serial 10" in result.stderr
    rsyslog.wait_for(r"PG6006 .*serial=9 last_serial=10")
    newer = watch_config(tag, 11)
    install(agent, newer, sign(k1.private, newer))
    assert agent.cli("reload").returncode == 0
    assert json.loads(Path(agent.state_dir, "last-good.json").read_text())["serial"] == 11, "saved again"


def test_a_damaged_floor_refuses_every_config_until_repaired(signed_agent, rsyslog, tag):
    agent, k1, before = signed_agent
    Path(agent.state_dir, "rollback-floor.json").write_text("garbage")
    newer = watch_config(tag, 11)
    install(agent, newer, sign(k1.private, newer))
    result = agent.cli("reload")
    assert result.returncode == 1 and "rollback floor cannot be read" in result.stderr
    assert agent.status()["agent"]["last_refusal"]["code"] == "rollback"
    assert agent.watch("a")["pids"] == before["a"], "what runs keeps running"

    lower = cli("floor", "--state-dir", agent.state_dir, "--set", "3")
    assert lower.returncode == 0, "a damaged floor can be rewritten by an operator"
    refused = cli("floor", "--state-dir", agent.state_dir, "--set", "2")
    assert refused.returncode == 1 and "lowering it would let older configs replay" in refused.stderr
    assert cli("floor", "--state-dir", agent.state_dir, "--set", "10").returncode == 0
    assert agent.cli("reload").returncode == 0
    assert cli("floor", "--state-dir", agent.state_dir).stdout.strip().endswith("floor 11")
