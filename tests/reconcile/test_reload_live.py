"""Reload touches only the watches that changed; an invalid config is refused whole."""

from __future__ import annotations

import signal

from helpers.agent import config_yaml
from helpers.procs import start_time


def _watches(tag, restart_b=5):
    return [
        {"name": "a", "start": {"argv": ["/bin/sleep", tag + "1"], "ready": {"alive_for": 0}}},
        {"name": "b", "start": {"argv": ["/bin/sleep", tag + "2"], "ready": {"alive_for": 0}},
         "restart": {"max_restarts": restart_b}},
        {"name": "c", "start": {"argv": ["/bin/sleep", tag + "3"], "ready": {"alive_for": 0}}},
    ]


def test_reload_with_one_watch_changed_keeps_the_others_processes(make_agent, tag):
    agent = make_agent(config_yaml(_watches(tag))).start()
    before = {n: agent.wait_watch(n, lambda w: w["state"] == "running")["pids"][0] for n in "abc"}
    starts = {n: start_time(p) for n, p in before.items()}

    agent.write_config(config_yaml(_watches(tag, restart_b=9)[:2]))  # b changed, c removed
    result = agent.cli("reload")
    assert result.returncode == 0, result.stderr

    applied = agent.wait_event("PG2001", count=2)[-1]
    assert "added=0 changed=1 removed=1 unchanged=1" in applied
    assert agent.watch("a")["pids"] == [before["a"]] and start_time(before["a"]) == starts["a"]
    assert agent.watch("b")["pids"] == [before["b"]] and start_time(before["b"]) == starts["b"]
    assert start_time(before["c"]) == starts["c"], "a removed watch's process keeps running"
    agent.remember([before["c"]])
    agent.wait_event("PG2004", contains="watch=c")
    assert [w["name"] for w in agent.status()["watches"]] == ["a", "b"]


def test_sighup_reloads_too(make_agent, tag):
    agent = make_agent(config_yaml(_watches(tag)[:1])).start()
    agent.write_config(config_yaml(_watches(tag)[:2]))
    agent.send(signal.SIGHUP)
    agent.wait_watch("b", lambda w: w["state"] == "running")
    assert agent.events("PG3005")[0].endswith("by=SIGHUP")
