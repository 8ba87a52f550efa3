"""One watch's failure never takes the agent down (issue 10 item 1).

A service that cannot start for a night used to crash the agent after about 1,025
consecutive failures (an OverflowError in the backoff). And any exception while handling
one watch ended the loop, leaving every watch unwatched. Now the arithmetic is clamped,
and an exception sets that one watch aside (state broken, PG1022 with a report file) while
the others carry on.
"""

from __future__ import annotations

import json
import os

import pytest

from helpers import cgroups
from helpers.agent import config_yaml, kill_if_alive
from helpers.wait import wait_until
from procguard import states
from procguard.assemble import build_engine
from procguard.config.loader import parse
from procguard.control.commands import Commands
from procguard.events.emitter import Emitter
from procguard.policy import Backoff
from procguard.settings import Settings


def test_a_service_that_never_starts_is_retried_past_1025_failures(make_agent):
    watch = {"name": "never", "start": {"argv": ["/bin/false"], "ready": {"alive_for": 0}},
             "restart": {"max_restarts": 1000000, "window": "1ms",
                         "backoff": {"initial": 0, "max": "1ms", "jitter": 0}}}
    agent = make_agent(config_yaml([watch])).start()
    wait_until(lambda: agent.watch("never")["restarts"] > 1100, 120, interval=0.5,
               what="more than 1,100 failed restarts")
    assert agent.proc.poll() is None, agent.stderr()[-2000:]
    assert "Traceback" not in agent.stderr()


@pytest.fixture
def engine(tmp_path, tag):
    made = []
    tree = cgroups.unique_path("engine")  # its own cgroups, removed below (the engine leaves them, by design)

    def make():
        made.append(_engine(tmp_path, tag, tree))
        return made[-1]
    yield make
    for eng in made:
        pids = [p for u in eng.units.values() for p in u.pids]
        eng.shutdown()
        for pid in pids:
            kill_if_alive(pid)
    cgroups.remove(tree)


def _engine(tmp_path, tag, tree):
    settings = Settings(config=str(tmp_path / "w.yaml"), state_dir=str(tmp_path / "state"),
                        socket=str(tmp_path / "c.sock"), allow_unsigned=True, cgroups={"path": tree})
    emitter = Emitter(socket_path="")
    lines = []
    emitter.sinks.append(lambda _m, _f, line: lines.append(line))
    eng = build_engine(settings, emitter)
    watches = [{"name": n, "start": {"argv": ["/bin/sleep", tag + str(i)], "ready": {"alive_for": 0}},
                "restart": {"backoff": {"reset_after": "50ms"}}} for i, n in enumerate(("a", "b"))]
    eng.apply(parse(config_yaml(watches), settings.config)[0])
    eng.lines = lines
    return eng


def turn(engine):
    engine.loop.wait(cap=0.02)
    engine.loop.run_posted()
    engine.loop.run_due_timers()


def test_an_exception_in_one_watch_sets_it_aside_and_the_others_carry_on(engine, monkeypatch):
    stable = Backoff.stable
    buggy = []

    def bug(backoff):
        if backoff in buggy:
            raise RuntimeError("a bug in the agent")
        stable(backoff)
    monkeypatch.setattr(Backoff, "stable", bug)  # runs from the "stable" timer, 50 ms after a good start
    original_init = Backoff.__init__

    def init(backoff, *args, **kwargs):
        original_init(backoff, *args, **kwargs)
        if not buggy:
            buggy.append(backoff)  # the first watch's: a
    monkeypatch.setattr(Backoff, "__init__", init)
    engine = engine()
    a, b = engine.units["a"], engine.units["b"]

    wait_until(lambda: turn(engine) or a.state == states.BROKEN, 5, what="a set aside")

    assert b.state == states.RUNNING and a.pids, "b carries on; a's process is left running"
    line = next(line for line in engine.lines if line.startswith("PG1022 "))
    assert "watch=a" in line and "RuntimeError" in line
    report = line.split("report=")[1].split()[0]
    doc = json.loads(open(report).read())
    assert "a bug in the agent" in "".join(doc["traceback"]) and oct(os.stat(report).st_mode & 0o777) == "0o600"
    assert Commands(engine).handle({"cmd": "status"}, 0)["watches"][0]["state"] == "broken"

    buggy.clear()  # the bug fixed (in a real host: a new agent version)
    assert Commands(engine).handle({"cmd": "restart", "watch": "a"}, 0)["ok"]
    assert a.state == states.STOPPING, "an operator's restart takes it out of broken"


def test_an_exception_outside_any_watch_is_reported_and_the_loop_goes_on(engine):
    engine = engine()
    def bug():
        raise ValueError("posted bug")
    engine.loop.post(bug)
    done = []
    engine.loop.post(lambda: done.append(True))
    turn(engine)
    assert done == [True]
    assert any(line.startswith("PG1023 ") and "ValueError: posted bug" in line for line in engine.lines)
