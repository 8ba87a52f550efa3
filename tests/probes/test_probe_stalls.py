"""Stall detection with real processes and servers, driven through ProbeManager directly.

The engine is replaced by FakeLoop: post() queues, the test drains the queue on its own
thread, exactly as the engine loop would. Every wait is a condition with a deadline."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import sys
import threading
import time

import pytest

from helpers.probes import FakeLoop, proc_state, proc_table, wait_for
from procguard.children.reaper import REAPER
from procguard.config.probe_spec import build_probe
from procguard.probes.manager import ProbeManager


def configure(manager, watch, probes, pids):
    """The manager gets typed specs, as the engine hands them over from the config."""
    manager.configure(watch, tuple(build_probe(p) for p in probes), pids)


@pytest.fixture
def loop():
    return FakeLoop()


@pytest.fixture
def manager(loop, tmp_path):
    mgr = ProbeManager(loop.post, loop.emitter, str(tmp_path))
    mgr.on_verdict = loop.on_verdict
    yield mgr
    mgr.shutdown()


@pytest.fixture
def sleeper(spawn):
    return lambda *argv, **kw: spawn(list(argv) or ["sleep", "60"], **kw)


def test_sigstopped_process_is_stalled_snapshotted_and_restart_is_fresh(loop, manager, sleeper, tmp_path):
    proc = sleeper("sleep", "60")
    pids = (proc.pid,)
    configure(manager, "web", [{"name": "state", "type": "proc_state", "interval": 0.05,
                               "max_duration": "300ms"}], lambda: pids)
    loop.drain_until(lambda: loop.verdict("web", "ready"), 5, "first good check")
    stopped_at = time.monotonic()
    os.kill(proc.pid, signal.SIGSTOP)
    wait_for(lambda: proc_state(proc.pid) == "T", 2, "state T")
    detail = loop.drain_until(lambda: loop.verdict("web", "stalled"), 5, "stalled verdict")
    took = time.monotonic() - stopped_at
    assert detail["probe"] == "state" and detail["pids"] == pids
    assert "state T" in detail["reason"]
    assert 0.3 <= took < 2.0, took
    assert loop.count("PG4002", watch="web", probe="state") == 1

    # What the engine does next: snapshot, stop, restart, tell the manager.
    path = manager.snapshot("web", pids)
    assert path and path.startswith(str(tmp_path / "snapshots"))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    doc = json.load(open(path))
    facts = doc["processes"][0]
    assert facts["pid"] == proc.pid and facts["state"] == "T"
    assert facts["status"]["State"].startswith("T")
    assert isinstance(facts["fd_count"], int) and facts["wchan"]
    assert facts["kernel_stack"]                         # root reads /proc/PID/stack
    assert doc["probes"][0]["state"] == "stalled"
    assert any("PG4002" in e["line"] for e in doc["recent_events"])
    assert loop.count("PG4005", watch="web") == 1

    proc.kill()
    proc.wait()
    new = sleeper("sleep", "60")
    pids = (new.pid,)
    manager.process_started("web", new.pid)
    assert manager.status("web")[0]["state"] == "waiting"
    loop.drain_until(lambda: sum(1 for v in loop.verdicts if v[2] == "ready") == 2, 5, "ready again")
    assert manager.status("web")[0]["state"] == "ok"
    assert not manager.is_stalled("web")


class HangingHandler(http.server.BaseHTTPRequestHandler):
    hang = threading.Event()            # set: requests hang until release is set
    release = threading.Event()

    def do_GET(self):
        if self.hang.is_set():
            self.release.wait(30)
        body = b"alive\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    class Handler(HangingHandler):
        hang = threading.Event()
        release = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, Handler
    Handler.release.set()
    server.shutdown()
    server.server_close()


def test_http_handler_that_hangs_is_stalled_after_fall_failures(loop, manager, http_server):
    server, handler = http_server
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    pids = (os.getpid(),)
    configure(manager, "api", [{"name": "health", "type": "http", "url": url, "interval": 0.1,
                               "timeout": 0.3, "fall": 3, "rise": 2, "start_delay": 0,
                               "expect_body": "^alive"}], lambda: pids)
    loop.drain_until(lambda: loop.verdict("api", "ready"), 5, "first good check")
    handler.hang.set()
    detail = loop.drain_until(lambda: loop.verdict("api", "stalled"), 10, "stalled verdict")
    assert detail["failures"] == 3 and "timeout" in detail["reason"]
    assert loop.count("PG4001", watch="api") == 3          # exactly fall failures, then the stall
    status = manager.status("api")[0]
    assert status["state"] == "stalled" and status["last"]["ok"] is False
    assert status["last"]["duration_ms"] < 1000           # the timeout held (300 ms)
    handler.release.set()
    handler.hang.clear()
    loop.drain_until(lambda: loop.verdict("api", "healthy"), 10, "healthy verdict")
    assert loop.count("PG4003", watch="api", successes=2) == 1


NOTIFY_SERVICE = r"""
import os, signal, socket, sys, time
addr = os.environ["NOTIFY_SOCKET"]
usec = int(os.environ["WATCHDOG_USEC"])
pings = int(sys.argv[1])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("\0" + addr[1:] if addr.startswith("@") else addr)
s.send(b"READY=1\nSTATUS=serving")
for _ in range(pings):
    s.send(b"WATCHDOG=1")
    time.sleep(usec / 2e6)
signal.pause()     # hung: alive, but no more WATCHDOG=1 (the test kills it)
"""


def test_notify_service_that_stops_watchdog_is_stalled(loop, manager, sleeper):
    box = {"pids": ()}
    configure(manager, "svc", [{"name": "sd", "type": "notify", "interval": "400ms"}],
                      lambda: box["pids"])
    env = dict(os.environ, **manager.env_for("svc"))
    assert env["WATCHDOG_USEC"] == "400000" and env["NOTIFY_SOCKET"].endswith("svc.sock")
    proc = sleeper(sys.executable, "-c", NOTIFY_SERVICE, "6", env=env)
    box["pids"] = (proc.pid,)
    manager.process_started("svc", proc.pid)
    ready = loop.drain_until(lambda: loop.verdict("svc", "ready"), 5, "READY=1")
    assert ready["pid"] == proc.pid and ready["type"] == "notify"
    loop.drain_until(lambda: manager.status("svc")[0]["service_status"] == "serving", 5, "STATUS=")
    t0 = time.monotonic()
    detail = loop.drain_until(lambda: loop.verdict("svc", "stalled"), 10, "watchdog stall")
    assert "no WATCHDOG=1" in detail["reason"]
    # 6 pings at 200 ms then silence: the stall comes about 0.4 s after the last ping.
    assert time.monotonic() - t0 < 3.0


def test_notify_ignores_senders_outside_the_watch(loop, manager):
    # svc2 watches this test process, svc3 a pid that does not exist: only svc2 hears us.
    configure(manager, "svc2", [{"name": "sd", "type": "notify", "interval": 5}], lambda: (os.getpid(),))
    configure(manager, "svc3", [{"name": "sd", "type": "notify", "interval": 5}], lambda: (2 ** 22 + 7,))
    for watch in ("svc3", "svc2"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"READY=1", manager.env_for(watch)["NOTIFY_SOCKET"])
        s.close()
    loop.drain_until(lambda: loop.verdict("svc2", "ready"), 5, "ready for svc2")
    deadline = time.monotonic() + 0.3
    loop.drain_until(lambda: time.monotonic() > deadline, 2)
    assert loop.verdict("svc3", "ready") is None


def test_exec_probe_that_hangs_is_killed_at_timeout_and_leaves_no_zombie(loop, manager, engine_reaping, tmp_path):
    marker = tmp_path / "probe-pids"
    script = f"echo $$ >> {marker}; sleep 300 & echo $! >> {marker}; sleep 300"
    pids = (os.getpid(),)
    configure(manager, "job", [{"name": "hang", "type": "exec", "argv": ["sh", "-c", script],
                               "interval": 0.2, "timeout": 0.4, "fall": 2, "start_delay": 0}],
                      lambda: pids)
    t0 = time.monotonic()
    detail = loop.drain_until(lambda: loop.verdict("job", "stalled"), 10, "exec stall")
    assert 0.6 <= time.monotonic() - t0 < 3.0
    assert "timeout after 0.4s" in detail["reason"]
    assert loop.count("PG4007", watch="job", probe="hang") == 2
    manager.remove("job")                          # a run in flight ends at its timeout
    wait_for(lambda: REAPER.owned() == (), 3, "the last run to end")
    started = [int(x) for x in marker.read_text().split()]
    assert len(started) >= 4                         # two runs, each a shell and a background sleep

    def leftovers():
        return [row for row in proc_table() if row[0] in started or row[2] in started
                or (row[1] == os.getpid() and row[3] == "Z")]
    wait_for(lambda: not leftovers(), 5, "no probe process or zombie left")
    assert len(engine_reaping) >= 1, "the killed background sleeps were reaped as orphans"
