"""Give-up hands the host over to a real HAProxy, end to end through the real agent:
the agent answers HAProxy's agent-check, so a server whose service gave up goes DOWN and
traffic moves to the other; after recovery it comes back UP."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from typing import Dict

import pytest

from helpers.agent import config_yaml
from helpers.net import free_port, server_status
from helpers.wait import wait_until

HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
pytestmark = pytest.mark.skipif(HAPROXY is None, reason="haproxy missing: scripts/setup-host.sh installs Debian's haproxy")


def answers(url: str, n: int = 8) -> Dict[str, int]:
    seen: Dict[str, int] = {}
    for _ in range(n):
        name = urllib.request.urlopen(url, timeout=3).read().decode().strip()
        seen[name] = seen.get(name, 0) + 1
    return seen


@pytest.fixture
def haproxy(tmp_path):
    procs = []

    def start(cfg_text: str) -> str:
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(cfg_text)
        check = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        procs.append(subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        return str(cfg)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_gave_up_server_is_taken_out_of_haproxy_and_comes_back(make_agent, haproxy, tmp_path, tag):
    ports = {name: free_port() for name in ("s1", "s2", "agent", "front")}
    watches = []
    for name in ("s1", "s2"):
        root = tmp_path / name
        root.mkdir()
        (root / "index.html").write_text(name)
        watches.append({
            "name": f"app-{name}",
            "start": {"argv": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(ports[name])],
                      "cwd": str(root), "ready": {"alive_for": 0}},
            "restart": {"max_restarts": 0},
            "on_giveup": {"action": "escalate", "retry_every": "1h",
                          "escalate": [{"type": "haproxy_agent", "undo_after": "100ms"}]},
        })
    listener = {"address": "127.0.0.1", "port": ports["agent"], "recover_after": "300ms",
                "servers": [{"name": "s1", "watches": ["app-s1"]}, {"name": "s2", "watches": ["app-s2"]}]}
    agent = make_agent(config_yaml(watches, haproxy_agent=[listener])).start()
    for w in ("app-s1", "app-s2"):
        agent.wait_watch(w, lambda w: w["state"] == "running")

    sock = str(tmp_path / "admin.sock")
    opts = (f"check inter 100ms rise 1 fall 1 agent-check agent-addr 127.0.0.1 agent-port {ports['agent']} "
            "agent-inter 100ms")
    haproxy(f"""
global
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{ports['front']}
    default_backend be
backend be
    balance roundrobin
    server s1 127.0.0.1:{ports['s1']} {opts} agent-send "s1\\n"
    server s2 127.0.0.1:{ports['s2']} {opts} agent-send "s2\\n"
""")
    url = f"http://127.0.0.1:{ports['front']}/"
    wait_until(lambda: os.path.exists(sock) and server_status(sock) == {"s1": "UP", "s2": "UP"}, 15, what="both UP")
    assert set(answers(url)) == {"s1", "s2"}

    pid = agent.watch("app-s1")["pids"][0]
    os.kill(pid, signal.SIGKILL)  # max_restarts 0: the watch gives up and escalates

    agent.wait_event("PG1009", contains="watch=app-s1")
    wait_until(lambda: server_status(sock)["s1"] == "DOWN (agent)", 15, what="s1 DOWN (agent)")
    assert server_status(sock)["s2"] == "UP"
    assert answers(url) == {"s2": 8}, "all traffic goes to the healthy server"
    escalations = agent.watch("app-s1")["escalations"]
    assert escalations, "status shows the escalation in force"

    assert agent.cli("restart", "app-s1").returncode == 0
    agent.wait_watch("app-s1", lambda w: w["state"] == "running")
    wait_until(lambda: server_status(sock)["s1"] == "UP", 15, what="s1 UP again")
    wait_until(lambda: set(answers(url)) == {"s1", "s2"}, 10, what="traffic on both servers")
