"""Forking daemons are adopted, never duplicated; too many instances are noticed at once
(issue 10 item 5, issue 9 item 10).

A start script that forks a daemon and exits 0 at once used to count as "exited at once":
the daemon was never adopted and the next attempt started another (2-3 daemons in 7 of 15
starts with instances.max 1, and the extra copies never reported).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

from helpers.agent import config_yaml
from helpers.wait import wait_until
from procguard.proc import procfs


def matching(tag: str) -> List[int]:
    return sorted(pid for pid in procfs.all_pids() if (procfs.read_cmdline(pid) or ())[-1:] == (tag,)
                  and (procfs.read_stat(pid) or procfs.Stat(0, "", "Z", 0, 0, 0)).state != "Z")


def daemon(tmp_path: Path, tag: str) -> dict:
    pidfile = tmp_path / "d.pid"
    launcher = tmp_path / "launch.sh"
    launcher.write_text(f"#!/bin/sh\n/bin/sleep {tag} &\necho $! > {pidfile}\nexit 0\n")
    os.chmod(launcher, 0o755)
    return {"name": "d", "match": {"pidfile": str(pidfile), "cmdline": f"sleep {tag}$"},
            "instances": {"min": 1, "max": 1}, "start": {"argv": [str(launcher)], "timeout": "5s"}}


def test_fifteen_starts_of_a_forking_daemon_give_one_daemon_each_time(make_agent, tmp_path, tag):
    agent = make_agent(config_yaml([daemon(tmp_path, tag)])).start()
    for attempt in range(15):
        w = agent.wait_watch("d", lambda w: w["state"] == "running" and len(w["pids"]) == 1, timeout=10)
        assert matching(tag) == w["pids"], f"start {attempt}: exactly one daemon, the adopted one"
        assert w["healthy"]
        if attempt < 14:
            assert agent.cli("restart", "d").returncode == 0
            agent.wait_watch("d", lambda w, old=w["pids"]: w["pids"] != old and len(w["pids"]) == 1, timeout=10)
    assert not agent.events("PG1007"), "no start was counted as failed"
    assert len(agent.events("PG1004")) == 15 and not agent.events("PG1014")


def test_an_excess_instance_is_noticed_at_the_next_scan_and_makes_the_watch_unhealthy(make_agent, external, tag):
    first = external(["/bin/sleep", tag])
    agent = make_agent(config_yaml([{"name": "svc", "match": {"cmdline": f"^/bin/sleep {tag}$"},
                                     "instances": {"min": 1, "max": 1}}])).start()
    agent.wait_watch("svc", lambda w: w["pids"] == [first.pid] and w["healthy"])
    second = external(["/bin/sleep", tag])
    os.kill(first.pid, 9)  # short of instances: the rescan finds the second copy

    w = agent.wait_watch("svc", lambda w: w["pids"] == [second.pid], timeout=10)
    assert w["healthy"]
    third = external(["/bin/sleep", tag])
    agent.cli("pause", "svc")
    agent.cli("resume", "svc")  # resuming scans for the watch's processes
    w = agent.wait_watch("svc", lambda w: len(w["pids"]) == 2, timeout=10)
    assert sorted(w["pids"]) == sorted([second.pid, third.pid]) and w["healthy"] is False
    line = agent.wait_event("PG1014")[0]
    assert "current=2 max=1" in line
    table = agent.cli("status").stdout
    assert "2/1" in table and "1 more than max" in table
    os.kill(third.pid, 9)
    wait_until(lambda: agent.watch("svc")["healthy"], 10, what="healthy again within bounds")
