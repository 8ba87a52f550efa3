"""Every change of state goes through WatchUnit._to(), checked against states.EDGES."""

from __future__ import annotations

import pytest

from helpers.unit_env import FakeEnv, make_unit
from procguard import states
from procguard.config.loader import parse
from procguard.unit import WatchUnit


def test_every_state_has_its_edges_and_they_name_real_states():
    assert set(states.EDGES) == set(states.ALL)
    for old, targets in states.EDGES.items():
        assert targets <= set(states.ALL) and old not in targets


def test_an_edge_outside_the_table_is_refused_loudly():
    unit, _env = make_unit()
    unit.settle()
    unit.pause(float("inf"), "test")
    with pytest.raises(states.IllegalTransition, match="paused -> running"):
        unit._to(states.RUNNING)
    assert unit.state == states.PAUSED


def test_a_pause_taken_over_on_reload_goes_through_the_machine():
    unit, env = make_unit()
    unit.settle()
    unit.pause(1e12, "op")
    config, _ = parse("version: 1\nwatches:\n  - name: w\n    start: {argv: [/bin/true], ready: {alive_for: 2s}}\n",
                      "t.yaml")
    fresh = WatchUnit(config.watches[0], env)
    fresh.take_over(unit)
    assert fresh.state == states.PAUSED and fresh.paused_until == 1e12
    assert ("state_changed", {"watch": "w", "from": "starting", "to": "paused", "by": "restored"}) in env.events


def test_a_saved_pause_is_restored_through_the_machine():
    env = FakeEnv()
    config, _ = parse("version: 1\nwatches:\n  - name: w\n    start: {argv: [/bin/true]}\n", "t.yaml")
    unit = WatchUnit(config.watches[0], env)
    unit.restore_pause(float("inf"))
    assert unit.state == states.PAUSED and env.events[-1][0] == "state_changed"
