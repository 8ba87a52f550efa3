"""Prepared starts (prepared.py): with a cgroup per watch, the watch's next process waits
at its gate in the watch's cgroup, so a restart never waits for a cgroup migration. It is
not one of the watch's processes, becomes the replacement, and never outlives the agent."""

from __future__ import annotations

import os
import signal

from helpers.agent import config_yaml
from helpers.cgroups import pids_in, watch_dir
from helpers.procs import alive, cmdline
from helpers.wait import wait_until


def prepared(agent, watch):
    """The waiting gate in the watch's cgroup: a /bin/sh that is not one of the watch's PIDs."""
    pids = set(agent.watch(watch)["pids"])
    gates = [p for p in pids_in(watch_dir(agent.cgroup_path, watch)) if p not in pids
             and (cmdline(p) or ("",))[0] == "/bin/sh"]
    return gates[0] if len(gates) == 1 else None


def test_the_prepared_start_becomes_the_replacement_and_another_is_prepared(make_agent, tag):
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}},
                                     "limits": {"nofile": 777}}])).start()
    first = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    gate = wait_until(lambda: prepared(agent, "svc"), 10, what="a prepared start")
    w = agent.watch("svc")
    assert w["tree"]["usage"]["tasks"] == 1, "the prepared start is not counted as the watch's"
    with open(f"/proc/{gate}/limits") as handle:
        assert "777" in next(line for line in handle if line.startswith("Max open files")), "its rlimits are set"

    os.kill(first, signal.SIGKILL)

    w = agent.wait_watch("svc", lambda w: w["pids"] and w["pids"][0] != first and w["state"] == "running")
    assert w["pids"] == [gate], "the waiting start became the replacement"
    wait_until(lambda: cmdline(gate) == ("/bin/sleep", tag), 5, what="it runs the program")
    wait_until(lambda: prepared(agent, "svc") not in (None, gate), 10, what="the next one prepared")


def test_a_prepared_start_never_outlives_the_agent(make_agent, tag):
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]))
    agent.start()
    service = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    gate = wait_until(lambda: prepared(agent, "svc"), 10, what="a prepared start")
    agent.stop(signal.SIGKILL)  # not even a clean exit: the gate reads end of file
    wait_until(lambda: not alive(gate), 5, what="the prepared start gone with the agent")
    assert alive(service), "the service itself runs on"


def test_prepared_starts_can_be_turned_off(make_agent, tmp_path, tag):
    settings = tmp_path / "agent.yaml"
    settings.write_text("cgroups: {prepare: false}\n")
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]),
                       extra_args=["--settings", str(settings)]).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    os.kill(pid, signal.SIGKILL)
    agent.wait_watch("svc", lambda w: w["pids"] and w["pids"][0] != pid and w["state"] == "running")
    assert pids_in(watch_dir(agent.cgroup_path, "svc")) == agent.watch("svc")["pids"]


def test_a_gate_opens_whatever_its_fd_number(tmp_path, tag):
    """The agent holds thousands of fds with hundreds of watches: the gate's is past 1024."""
    import resource

    from procguard.config.model import Start
    from procguard.spawn import Launch, ProcessSpawner, Spawned, open_gate

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(2048, hard), hard))
    start = Start(argv=("/bin/sleep", tag), shell=False, user=None, group=None, env=(), cwd="/", timeout=30,
                  alive_for=0, ready_probe=None, umask=None)
    held = ProcessSpawner().spawn("w", start, {}, Launch(rlimits=((resource.RLIMIT_CORE, (0, 0)),), hold=True))
    high = os.dup2(held.gate, 1500)
    os.close(held.gate)
    try:
        assert open_gate(Spawned(held.pid, held.argv, gate=high))
        wait_until(lambda: cmdline(held.pid) == ("/bin/sleep", tag), 5, what="the program running")
    finally:
        os.kill(held.pid, signal.SIGKILL)
        os.waitpid(held.pid, 0)
