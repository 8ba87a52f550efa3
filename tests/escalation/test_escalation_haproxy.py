"""A real HAProxy (started by the test on 127.0.0.1) with two backend servers whose
agent-check points at our listener: give-up drains/downs a server, recovery brings it back."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
import time
from typing import Dict

import pytest
import requests

from helpers.net import free_port, server_status
from helpers.probes import FakeLoop, configure_escalation
from procguard.escalation.manager import EscalationManager

HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
pytestmark = pytest.mark.skipif(HAPROXY is None, reason="haproxy binary not found in PATH or /usr/sbin (apt package haproxy)")


def backend(name: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def setup(tmp_path):
    loop = FakeLoop()
    esc = EscalationManager(loop.post, loop.emitter, "web01")
    agent_port = free_port()
    configure_escalation(esc, {"haproxy_agent": [{"address": "127.0.0.1", "port": agent_port, "recover_after": "300ms",
                                      "servers": [{"name": "s1", "watches": ["app1"]},
                                                  {"name": "s2", "watches": ["app2"]}]}]},
                  {"app1": [{"type": "haproxy_agent", "undo_after": "100ms"}], "app2": []})
    assert loop.count("PG5009", port=str(agent_port)) == 1
    esc.set_health("app1", True, False)
    esc.set_health("app2", True, False)
    b1, b2 = backend("s1"), backend("s2")
    front = free_port()
    sock = str(tmp_path / "admin.sock")
    opts = (f"check inter 100ms rise 1 fall 1 agent-check agent-addr 127.0.0.1 agent-port {agent_port} "
            "agent-inter 100ms")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(f"""
global
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{front}
    default_backend be
backend be
    balance roundrobin
    server s1 127.0.0.1:{b1.server_address[1]} {opts} agent-send "s1\\n"
    server s2 127.0.0.1:{b2.server_address[1]} {opts} agent-send "s2\\n"
""")
    check = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "haproxy.log", "w"))
    try:
        yield loop, esc, sock, f"http://127.0.0.1:{front}/", proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        esc.shutdown()
        for b in (b1, b2):
            b.shutdown()
            b.server_close()


def who_answers(url: str, n: int = 10) -> Dict[str, int]:
    seen: Dict[str, int] = {}
    for _ in range(n):
        name = requests.get(url, timeout=2).text
        seen[name] = seen.get(name, 0) + 1
    return seen


def test_gave_up_server_goes_down_traffic_moves_and_comes_back(setup):
    loop, esc, sock, url, _proc = setup
    loop.drain_until(lambda: os.path.exists(sock) and server_status(sock) == {"s1": "UP", "s2": "UP"},
                     10, "both servers UP")
    assert set(who_answers(url)) == {"s1", "s2"}

    t0 = time.monotonic()
    esc.set_health("app1", False, True)
    esc.gave_up("app1", {"reason": "restart budget spent"})
    loop.drain_until(lambda: server_status(sock)["s1"] == "DOWN (agent)", 10, "s1 DOWN")
    took_down = time.monotonic() - t0
    assert server_status(sock)["s2"] == "UP"
    assert who_answers(url) == {"s2": 10}
    loop.drain_until(lambda: loop.count("PG5011", server="s1", answer="down"), 5, "answer event")

    t1 = time.monotonic()
    esc.set_health("app1", True, False)
    esc.recovered("app1", {})
    # recover_after 300 ms: the server must not come back before that.
    loop.drain_until(lambda: server_status(sock)["s1"] == "UP", 10, "s1 UP again")
    took_up = time.monotonic() - t1
    assert took_up >= 0.3
    loop.drain_until(lambda: set(who_answers(url)) == {"s1", "s2"}, 5, "traffic on both")
    print(f"\nhaproxy: give-up -> DOWN {took_down * 1000:.0f} ms; recovery -> UP {took_up * 1000:.0f} ms")


def test_unhealthy_watch_drains_its_server(setup):
    loop, esc, sock, url, _proc = setup
    loop.drain_until(lambda: os.path.exists(sock) and server_status(sock) == {"s1": "UP", "s2": "UP"},
                     10, "both servers UP")
    esc.set_health("app2", False, False)                        # restarting or stalled
    loop.drain_until(lambda: server_status(sock)["s2"] == "DRAIN (agent)", 10, "s2 DRAIN")
    assert who_answers(url) == {"s1": 10}
    esc.set_health("app2", True, False)
    loop.drain_until(lambda: server_status(sock)["s2"] == "UP", 10, "s2 UP")
