"""Under systemd (Type=notify): READY=1 once the config is applied, WATCHDOG=1 only while
the event loop runs. A stopped loop (here: SIGSTOP) stops the pings, so systemd restarts it."""

from __future__ import annotations

import os
import signal
import socket
import time

from helpers.agent import config_yaml


def test_ready_after_apply_and_watchdog_only_while_the_loop_runs(make_agent, tmp_path, tag, monkeypatch):
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # ping every 100 ms
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]))
    agent.start()

    ready = listener.recv(4096).decode()
    assert ready.startswith("READY=1") and "STATUS=watching 1 watches" in ready
    assert listener.recv(4096) == b"WATCHDOG=1"
    svc = agent.watch("svc")
    env = open(f"/proc/{svc['pids'][0]}/environ", "rb").read()
    assert b"NOTIFY_SOCKET" not in env, "services must not inherit the agent's notify socket"

    os.kill(agent.proc.pid, signal.SIGSTOP)
    try:
        drained_until = time.monotonic() + 0.3
        while time.monotonic() < drained_until:  # pings already queued before the stop
            listener.settimeout(max(0.01, drained_until - time.monotonic()))
            try:
                listener.recv(4096)
            except socket.timeout:
                break
        listener.settimeout(0.5)
        try:
            got = listener.recv(4096)
        except socket.timeout:
            got = None
        assert got is None, "no watchdog ping while the loop is stopped"
    finally:
        os.kill(agent.proc.pid, signal.SIGCONT)
    listener.settimeout(10)
    assert listener.recv(4096) == b"WATCHDOG=1"
    listener.close()
