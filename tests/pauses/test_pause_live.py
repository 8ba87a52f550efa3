"""Pause stops restarts (for planned work), survives an agent restart, and can expire."""

from __future__ import annotations

import calendar
import os
import signal
import time

from helpers.agent import config_yaml
from helpers.wait import wait_until


def _agent(make_agent, tag, rsyslog=None):
    argv = ["/bin/sleep", tag]
    return make_agent(config_yaml([
        {"name": "svc", "start": {"argv": argv, "ready": {"alive_for": 0}}},
        {"name": "other", "start": {"argv": ["/bin/sleep", tag + "9"], "ready": {"alive_for": 0}}},
    ]), syslog_socket=rsyslog.socket if rsyslog else "").start()


def test_paused_watch_is_not_restarted_until_resumed(make_agent, rsyslog, tag):
    agent = _agent(make_agent, tag, rsyslog)
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    assert agent.cli("pause", "svc").returncode == 0
    rsyslog.wait_for(r"PG3001 watch paused watch=svc until=resume")

    os.kill(pid, signal.SIGKILL)
    agent.wait_event("PG1021", contains=f"pid={pid} status=signal:KILL reason=paused")  # planned work: no alarm
    assert not agent.events("PG1005")
    w = agent.watch("svc")
    assert (w["state"], w["pids"], w["restarts"]) == ("paused", [], 0)
    assert len(agent.events("PG1004")) == 2, "nothing started after the death"

    assert agent.cli("resume", "svc").returncode == 0
    w = agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])
    assert w["paused_until"] is None
    rsyslog.wait_for(r"PG3002 watch resumed watch=svc .*reason=request")


def test_pause_survives_an_agent_restart(make_agent, tag):
    agent = _agent(make_agent, tag)
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    assert agent.cli("pause", "svc").returncode == 0
    agent.stop(signal.SIGTERM)
    os.kill(pid, signal.SIGKILL)

    agent.start()
    w = agent.watch("svc")
    assert w["state"] == "paused" and w["pids"] == []
    assert agent.watch("other")["state"] == "running"
    assert agent.cli("resume", "svc").returncode == 0
    agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])


def test_pause_for_a_duration_expires_by_itself(make_agent, tag):
    agent = _agent(make_agent, tag)
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    assert agent.cli("pause", "svc", "--for", "1s").returncode == 0
    assert agent.watch("svc")["paused_until"] is not None
    os.kill(pid, signal.SIGKILL)
    agent.wait_event("PG3002", contains="reason=expired", timeout=10)
    w = agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])
    assert w["pids"] != [pid]


def test_a_pause_that_ends_while_the_agent_is_down_is_said_to_end(make_agent, tag):
    agent = _agent(make_agent, tag)
    agent.wait_watch("svc", lambda w: w["state"] == "running")
    assert agent.cli("pause", "svc", "--for", "1s").returncode == 0
    until = agent.watch("svc")["paused_until"]
    assert until.endswith("Z") and until[:4].isdigit(), "ISO time, as in the events"
    agent.stop(signal.SIGKILL)
    ends = calendar.timegm(time.strptime(until, "%Y-%m-%dT%H:%M:%SZ"))
    wait_until(lambda: time.time() > ends + 1, 5, what="the pause's end to pass while the agent is down")
    agent.start()
    agent.wait_event("PG3002", contains="by=timer reason=\"expired while the agent was down\"")
    assert agent.watch("svc")["paused_until"] is None


def test_pause_all_and_unknown_watch(make_agent, tag):
    agent = _agent(make_agent, tag)
    agent.wait_watch("svc", lambda w: w["state"] == "running")
    assert agent.cli("pause", "--all").returncode == 0
    assert {w["state"] for w in agent.status()["watches"]} == {"paused"}
    bad = agent.cli("pause", "nosuch")
    assert bad.returncode == 1 and "no watch named 'nosuch'; known watches: svc, other" in bad.stderr
