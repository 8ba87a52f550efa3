"""The control commands against a real engine (built by the composition root, real `sleep`
services), called directly: what each command answers and what it changes."""

from __future__ import annotations

import math
import signal

import pytest

from helpers import cgroups
from helpers.agent import config_yaml, kill_if_alive
from procguard import states
from procguard.assemble import build_engine
from procguard.config.loader import parse
from procguard.control.commands import Commands
from procguard.events.emitter import Emitter
from procguard.settings import Settings


@pytest.fixture
def engine(tmp_path, tag):
    tree = cgroups.unique_path("engine")  # its own cgroups, removed below (the engine leaves them, by design)
    settings = Settings(config=str(tmp_path / "w.yaml"), state_dir=str(tmp_path / "state"),
                        socket=str(tmp_path / "c.sock"), allow_unsigned=True, host_name="h1",
                        cgroups={"path": tree})
    eng = build_engine(settings, Emitter(socket_path=""))
    config, _ = parse(config_yaml([{"name": n, "start": {"argv": ["/bin/sleep", tag + str(i)],
                                                         "ready": {"alive_for": 0}}}
                                   for i, n in enumerate(("a", "b"))]), settings.config)
    eng.apply(config)
    yield eng
    pids = [p for u in eng.units.values() for p in u.pids]
    eng.shutdown()
    for pid in pids:
        kill_if_alive(pid)
    cgroups.remove(tree)


def test_status_reports_every_watch_and_the_agent(engine):
    reply = Commands(engine).handle({"cmd": "status"}, 0)
    assert reply["ok"] and [w["name"] for w in reply["watches"]] == ["a", "b"]
    assert all(w["state"] == "running" and len(w["pids"]) == 1 for w in reply["watches"])
    assert reply["agent"]["host"] == "h1" and reply["agent"]["pull"] is None
    assert reply["agent"]["config"]["serial"] is None and reply["watches"][0]["probes"] == []


def test_pause_all_and_resume_one(engine):
    commands = Commands(engine)
    assert commands.handle({"cmd": "pause", "watch": "*", "for": 60}, 0) == {"ok": True, "watches": ["a", "b"]}
    assert {u.state for u in engine.units.values()} == {states.PAUSED}
    assert commands.handle({"cmd": "resume", "watch": "a"}, 0)["ok"]
    assert engine.units["a"].state != states.PAUSED and engine.units["b"].state == states.PAUSED
    assert not math.isinf(engine.units["b"].paused_until or 0)


def test_restart_stops_the_process_with_its_stop_signal(engine):
    pid = engine.units["a"].pids[0]
    assert Commands(engine).handle({"cmd": "restart", "watch": "a"}, 1000)["ok"]
    assert engine.units["a"].state == states.STOPPING
    assert engine.units["a"].expected_exits == {pid: "restart"}
    assert engine.watcher.pidfd_of(pid) is not None and engine.units["a"].watch.stop_signal == signal.SIGTERM


@pytest.mark.parametrize("request_,error", [
    ({"cmd": "restart", "watch": "*"}, "no watch named '*'"),
    ({"cmd": "pause", "watch": "nope"}, "known watches: a, b"),
    ({"cmd": "pause", "watch": "a", "for": -1}, "zero or more"),
    ({"cmd": "pause", "watch": "a", "for": "forever"}, "is not a duration"),
    ({"cmd": "pause", "watch": "a", "for": float("nan")}, "zero or more"),
    ({"cmd": "pause", "watch": "a", "for": 1e300}, "at most ten years"),
    ({"cmd": "pause", "watch": "a", "for": 0}, "positive number of seconds"),
    ({"cmd": "explode"}, "unknown command 'explode'"),
])
def test_bad_requests_are_answered_with_one_line_and_change_nothing(engine, request_, error):
    before = {n: (u.state, u.pids) for n, u in engine.units.items()}
    reply = Commands(engine).handle(request_, 0)
    assert reply["ok"] is False and error in reply["error"]
    assert {n: (u.state, u.pids) for n, u in engine.units.items()} == before
