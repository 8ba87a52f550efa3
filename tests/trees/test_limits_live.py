"""Per-watch limits are in force: written to the watch's cgroup and read back from it (on
this hybrid host memory, cpu and pids come from the v1 controllers, which the agent says);
memory_high, which v1 cannot enforce, is reported as not enforced, never dropped; rlimits
are set before the program runs; a memory-limit OOM kill is reported as such."""

from __future__ import annotations

import os
import sys

from helpers.agent import config_yaml
from helpers.cgroups import pids_in, watch_dir
from helpers.wait import wait_until

LIMITS = {"memory_max": "64M", "memory_high": "48M", "cpu_quota": "50%", "tasks_max": 32,
          "nofile": "1000:2000", "core": 0, "nproc": "5000"}


def read(path: str) -> str:
    with open(path) as handle:
        return handle.read().strip()


def limits_line(pid: int, name: str) -> list:
    with open(f"/proc/{pid}/limits") as handle:
        line = next(line for line in handle if line.startswith(name))
    return line[len(name):].split()[:2]


def test_limits_are_read_back_from_the_cgroup_and_rlimits_from_the_process(make_agent, tag):
    agent = make_agent(config_yaml([{
        "name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}, "limits": LIMITS,
    }])).start()
    w = agent.wait_watch("svc", lambda w: w["state"] == "running")
    pid = w["pids"][0]
    rel = agent.cgroup_path
    assert pid in pids_in(watch_dir(rel, "svc")), "in its own cgroup"
    assert read(os.path.join(watch_dir(rel, "svc", "memory"), "memory.limit_in_bytes")) == str(64 << 20)
    assert read(os.path.join(watch_dir(rel, "svc", "cpu"), "cpu.cfs_quota_us")) == "50000"
    assert read(os.path.join(watch_dir(rel, "svc", "cpu"), "cpu.cfs_period_us")) == "100000"
    assert read(os.path.join(watch_dir(rel, "svc", "pids"), "pids.max")) == "32"
    for controller in ("memory", "cpu", "pids"):
        assert pid in pids_in(watch_dir(rel, "svc", controller))
    limits = w["limits"]
    assert {k for k, v in limits.items() if v["enforced"]} == {"memory_max", "cpu_quota", "tasks_max"}
    assert not limits["memory_high"]["enforced"] and "cgroup v1" in limits["memory_high"]["reason"]
    agent.wait_event("PG1102", contains="limit=memory_high")
    table = agent.cli("status").stdout
    assert "process tree cgroup" in table and "svc: limit memory_high 48M NOT ENFORCED (memory_high needs" in table
    assert limits_line(pid, "Max open files") == ["1000", "2000"]
    assert limits_line(pid, "Max core file size") == ["0", "0"]
    assert limits_line(pid, "Max processes") == ["5000", "5000"]
    usage = w["tree"]["usage"]
    assert usage["tasks"] == 1 and usage["memory_current"] is not None and usage["cpu_usec"] is not None


def test_a_process_over_its_memory_limit_is_reported_as_oom_killed(make_agent, tag):
    hog = f"import sys; sys.argv.append('{tag}'); blob = bytearray(200 << 20); import time; time.sleep(600)"
    agent = make_agent(config_yaml([{
        "name": "hog", "match": {"cmdline": f"-c .*{tag}"},
        "start": {"argv": [sys.executable, "-c", hog], "ready": {"alive_for": 0}},
        "limits": {"memory_max": "48M"},
        "restart": {"backoff": {"initial": "5s"}},
    }])).start()
    line = agent.wait_event("PG1104", contains="watch=hog", timeout=20)[0]
    assert "memory_max=48M" in line
    w = agent.wait_watch("hog", lambda w: w["last_exit"] == "oom-kill")
    assert w["tree"]["usage"]["oom_kills"] >= 1
    wait_until(lambda: [e for e in agent.events("PG1005") if "watch=hog" in e and "signal:KILL" in e], 5,
               what="the death itself, a SIGKILL")


def test_an_agent_short_of_open_files_raises_its_own_limit_but_not_its_services(make_agent, tag):
    """20 watches need about 184 fds (a few per watch); the unit gave the agent 100."""
    watches = [{"name": f"w{i}", "start": {"argv": ["/bin/sleep", f"{tag}{i:02d}"], "ready": {"alive_for": 0}}}
               for i in range(20)]
    agent = make_agent(config_yaml(watches), wrapper=["/usr/bin/prlimit", "--nofile=100:4096", "--"]).start()
    agent.wait_event("PG1113", contains="was=100")
    assert limits_line(agent.proc.pid, "Max open files")[0] != "100"
    pid = agent.wait_watch("w7", lambda w: w["state"] == "running")["pids"][0]
    assert limits_line(pid, "Max open files") == ["100", "4096"], "services keep the limit they had"
