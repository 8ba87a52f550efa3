"""One master, N workers: the workers are found through their parent watch, and a worker
the master replaces is adopted again without the agent starting anything."""

from __future__ import annotations

import os
import signal
import sys

from helpers.agent import config_yaml

MASTER = r'''
import os, signal, subprocess, sys, time
tag = sys.argv[1]
workers = {}
def spawn():
    p = subprocess.Popen(["/bin/sleep", tag + "9"])
    workers[p.pid] = p
for _ in range(2):
    spawn()
while True:
    pid, _ = os.wait()          # a worker died: the master replaces it, as nginx does
    workers.pop(pid, None)
    spawn()
'''


def test_workers_found_by_parent_and_readopted_after_the_master_replaces_one(make_agent, tmp_path, tag):
    script = tmp_path / "master.py"
    script.write_text(MASTER)
    agent = make_agent(config_yaml([
        {"name": "master", "start": {"argv": [sys.executable, str(script), tag], "ready": {"alive_for": 0}}},
        {"name": "workers", "match": {"comm": "sleep", "parent": "master"}, "instances": {"min": 2, "max": 2}},
    ])).start()
    agent.wait_watch("master", lambda w: w["state"] == "running")
    w = agent.wait_watch("workers", lambda w: w["state"] == "running" and len(w["pids"]) == 2, timeout=15)
    master_pid = agent.watch("master")["pids"][0]
    for pid in w["pids"]:
        assert int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]) == master_pid

    victim = w["pids"][0]
    os.kill(victim, signal.SIGKILL)

    agent.wait_event("PG1005", contains=f"watch=workers pid={victim}")
    w = agent.wait_watch("workers", lambda w: w["state"] == "running" and len(w["pids"]) == 2
                         and victim not in w["pids"], timeout=15)
    assert agent.watch("master")["pids"] == [master_pid], "the master was left alone"
    started = [e for e in agent.events("PG1004") if "watch=workers" in e]
    assert started == [], "the agent never starts workers itself"
    agent.remember(w["pids"])
