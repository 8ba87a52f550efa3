"""Killing the agent never kills the services, and a new agent adopts them all."""

from __future__ import annotations

import os
import signal

from helpers.agent import config_yaml
from helpers.wait import wait_until
from helpers.procs import pids_running, start_time


def test_agent_sigkilled_and_restarted_adopts_everything_and_starts_nothing(make_agent, tag):
    argvs = {f"svc{i}": ["/bin/sleep", f"{tag}{i}"] for i in range(3)}
    watches = [{"name": name, "start": {"argv": argv, "ready": {"alive_for": 0}}} for name, argv in argvs.items()]
    watches[2]["instances"] = {"min": 2, "max": 2}
    agent = make_agent(config_yaml(watches)).start()
    for name in argvs:
        agent.wait_watch(name, lambda w: w["state"] == "running")
    # a process the agent just started may still be inside exec (no command line yet)
    before = wait_until(lambda: (lambda b: b if [len(p) for p in b.values()] == [1, 1, 2] else None)(
        {name: sorted(pids_running(tuple(argv))) for name, argv in argvs.items()}), 5, what="3 watches' processes")
    starts = {pid: start_time(pid) for pids in before.values() for pid in pids}

    agent.stop(signal.SIGKILL)
    assert all(start_time(pid) == t for pid, t in starts.items()), "services outlive the agent"

    agent.start()
    for name in argvs:
        w = agent.wait_watch(name, lambda w: w["state"] == "running")
        assert sorted(w["pids"]) == before[name]
    after = {name: sorted(pids_running(tuple(argv))) for name, argv in argvs.items()}
    assert after == before, "nothing was started twice"
    assert all(start_time(pid) == t for pid, t in starts.items())
    second_run = agent.stderr().split("PG1001")[-2]  # events of the second agent
    assert "PG1004" not in second_run.split("PG6020")[-1]
    assert len(agent.events("PG1003")) == 4


def test_sigterm_leaves_watched_processes_running(make_agent, tag):
    argv = ["/bin/sleep", tag]
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": argv, "ready": {"alive_for": 0}}}])).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    assert agent.stop(signal.SIGTERM) == 0
    agent.wait_event("PG1002")
    assert pids_running(tuple(argv)) == [pid]


def test_orphans_of_a_service_are_reaped_not_left_as_zombies(make_agent, tag):
    # the service double-forks a helper and the helper exits: it must not stay a zombie
    script = f"(sh -c 'sleep 0.2' &); exec /bin/sleep {tag}"
    agent = make_agent(config_yaml([{"name": "svc", "match": {"cmdline": f"^/bin/sleep {tag}$"},
                                     "start": {"argv": [script], "shell": True, "ready": {"alive_for": 0}}}])).start()
    agent.wait_watch("svc", lambda w: w["state"] == "running")
    agent.wait_event("PG1019", timeout=10)
    assert agent.proc is not None
    zombies = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            if fields[0] == "Z" and int(fields[1]) == agent.proc.pid:
                zombies.append(name)
    assert zombies == []
