"""Force PID reuse, deterministically, inside a private PID namespace the test creates.

Run as `unshare --pid --fork --mount-proc python -m helpers.pidns SCENARIO DIR TAG`: this
process is then PID 1 of a namespace of its own, so writing /proc/sys/kernel/ns_last_pid
(the last PID handed out) touches nothing outside, and the next fork gets exactly the PID
we want. As PID 1 it reaps the orphans (a killed agent's services), and when it exits the
kernel kills everything left in the namespace. It prints what it saw as one JSON object.

Scenarios (the newcomer is always a different program: `sleep TAG9`):
- down_pidfile_only: the agent is SIGKILLed, its pidfile service dies, a newcomer takes the
  PID, a new agent starts (well within the 2 s the pidfile match allows);
- down_pidfile_and_cmdline: the same, the watch matching pidfile and command line;
- stopped_agent: the agent is SIGSTOPped, the adopted service dies and is reaped (by us,
  its parent), a newcomer takes the PID, `restart` is queued on the socket, SIGCONT.
"""

from __future__ import annotations

import json
import os
import signal
import time
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

from .agent import Agent, config_yaml
from .procs import alive, start_time
from .wait import wait_until
from .workload import reap_own_children

NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"
AGENTS: List[Agent] = []  # cleaned up by main(): their services and cgroups outlive the namespace's end


def new_agent(directory: Path, watches: List[Dict[str, Any]]) -> Agent:
    AGENTS.append(Agent(str(directory), config_yaml(watches)))
    return AGENTS[-1]


def fork_at(pid: int, argv: List[str]) -> subprocess.Popen[bytes]:
    """Start argv as exactly `pid` (free, in this namespace)."""
    with open(NS_LAST_PID, "w") as handle:
        handle.write(str(pid - 1))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if proc.pid != pid:
        raise SystemExit(f"wanted PID {pid}, got {proc.pid}: something else forked in between")
    return proc


def kill_and_reap(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: reap_own_children() >= 0 and not os.path.exists(f"/proc/{pid}"), 10,
               what=f"PID {pid} reaped and free")


def running(agent: Agent, name: str) -> Dict[str, Any]:
    return agent.wait_watch(name, lambda w: w["state"] == "running" and len(w["pids"]) == 1,
                            what=f"{name} running")


def after_restart(agent: Agent, name: str, old: int) -> Dict[str, Any]:
    assert agent.cli("restart", name).returncode == 0
    return agent.wait_watch(name, lambda w: w["state"] == "running" and w["pids"] and w["pids"] != [old],
                            what=f"{name} restarted")


def _pidfile_watch(directory: Path, tag: str, with_cmdline: bool) -> Dict[str, Any]:
    pidfile = directory / "svc.pid"
    match: Dict[str, Any] = {"pidfile": str(pidfile)}
    if with_cmdline:
        match["cmdline"] = f"^/bin/sleep {tag}1$"
    else:
        match["pidfile_alone"] = True  # the config's explicit consent to a pidfile alone
    agent = new_agent(directory, [{"name": "svc", "match": match, "start": {
        "argv": ["/bin/sh", "-c", f"echo $$ > {pidfile}; exec /bin/sleep {tag}1"], "ready": {"alive_for": 0}}}])
    agent.start()
    old = running(agent, "svc")["pids"][0]
    wait_until(lambda: pidfile.read_text().strip() == str(old), 5, what="pidfile written")
    # A PID comes round again only after the file is old; a newcomer within the agent's
    # clock-tick slack (50 ms) of the write could not be told from the writer's child.
    wait_until(lambda: time.time() - pidfile.stat().st_mtime > 0.2, 5, what="pidfile older than the slack")
    agent.stop(signal.SIGKILL)
    kill_and_reap(old)
    newcomer = fork_at(old, ["/bin/sleep", f"{tag}9"])
    born = start_time(old)
    agent.start()
    seen = running(agent, "svc")["pids"]
    now = after_restart(agent, "svc", seen[0])
    return {"reused_pid": old, "adopted": old in seen, "pids_after_restart": now["pids"],
            "newcomer_alive": alive(old) and start_time(old) == born and newcomer.poll() is None}


def down_pidfile_only(directory: Path, tag: str) -> Dict[str, Any]:
    return _pidfile_watch(directory, tag, with_cmdline=False)


def down_pidfile_and_cmdline(directory: Path, tag: str) -> Dict[str, Any]:
    return _pidfile_watch(directory, tag, with_cmdline=True)


def stopped_agent(directory: Path, tag: str) -> Dict[str, Any]:
    service = subprocess.Popen(["/bin/sleep", f"{tag}2"], stdin=subprocess.DEVNULL)
    agent = new_agent(directory, [{"name": "svc", "match": {"cmdline": f"^/bin/sleep {tag}2$"},
                                   "start": {"argv": ["/bin/sleep", f"{tag}2"], "ready": {"alive_for": 0}}}])
    agent.start()
    assert running(agent, "svc")["pids"] == [service.pid], "adopted"
    old = service.pid

    def adoptions() -> List[str]:
        return [e for e in agent.events("PG1003") if f" pid={old} " in e + " "]

    adopted_before = len(adoptions())
    agent.send(signal.SIGSTOP)
    service.kill()
    service.wait()  # we are its parent: the PID is free at once
    newcomer = fork_at(old, ["/bin/sleep", f"{tag}9"])
    born = start_time(old)
    with socket.socket(socket.AF_UNIX) as sock:  # queued while the agent cannot run
        sock.settimeout(20)
        sock.connect(agent.socket)
        sock.sendall(b'{"cmd": "restart", "watch": "svc"}\n')
        agent.send(signal.SIGCONT)
        reply = sock.recv(65536).decode()
    first = agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"], what="svc back")
    again = after_restart(agent, "svc", first["pids"][0])
    return {"reused_pid": old, "reply": reply, "adopted": old in first["pids"] + again["pids"],
            "adopted_again": adoptions()[adopted_before:], "pids_after_restart": again["pids"],
            "newcomer_alive": alive(old) and start_time(old) == born and newcomer.poll() is None}


SCENARIOS: Dict[str, Callable[[Path, str], Dict[str, Any]]] = {
    f.__name__: f for f in (down_pidfile_only, down_pidfile_and_cmdline, stopped_agent)}


def main(argv: List[str]) -> int:
    if os.getpid() != 1:
        print("run me as PID 1 of a new PID namespace: unshare --pid --fork --mount-proc", file=sys.stderr)
        return 2
    scenario, directory, tag = argv[1], Path(argv[2]), argv[3]
    try:
        result = SCENARIOS[scenario](directory, tag)
    finally:
        for agent in AGENTS:
            agent.cleanup()  # the kernel kills what is left in the namespace, but not its cgroups
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
