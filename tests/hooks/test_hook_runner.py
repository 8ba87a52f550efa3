"""Event hooks run for real: commands with the event in their environment, JSON POSTed to a
server on loopback, timeouts that kill, a bounded queue, and an agent that restarts a
service while one of its hooks hangs."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from helpers.agent import config_yaml
from helpers.wait import wait_until
from procguard.config.hook_spec import build_hook
from procguard.events.emitter import Emitter
from procguard.events.journald_ids import journald_id
from procguard.hooks.runner import HookRunner


class Loop:
    """Stands in for the engine's loop: posted callables run when the test drains them."""

    def __init__(self) -> None:
        self.posted: List[Callable[[], None]] = []
        self.emitted: List[Tuple[str, Dict[str, Any]]] = []
        self.lock = threading.Lock()

    def post(self, fn: Callable[[], None]) -> None:
        with self.lock:
            self.posted.append(fn)

    def emit(self, name: str, **fields: Any) -> None:
        self.emitted.append((name, fields))

    def drain(self) -> List[Tuple[str, Dict[str, Any]]]:
        with self.lock:
            todo, self.posted = self.posted, []
        for fn in todo:
            fn()
        return self.emitted


@pytest.fixture
def loop() -> Loop:
    return Loop()


def runner_with(loop: Loop, *hooks: Dict[str, Any], **bounds: int) -> Tuple[HookRunner, Emitter]:
    runner = HookRunner(loop.post, loop.emit, "web01", **bounds)
    runner.configure(tuple(build_hook(h) for h in hooks))
    emitter = Emitter(socket_path="")
    emitter.sinks.append(runner.offer)
    return runner, emitter


def test_a_command_hook_gets_the_event_in_its_environment(loop, tmp_path):
    out = tmp_path / "env.txt"
    _runner, emitter = runner_with(loop, {"name": "page", "events": ["PG1005"], "env": {"TEAM": "ops"},
                                          "command": ["/bin/sh", "-c", f"env > {out}.tmp && mv {out}.tmp {out}"]})
    emitter.emit("process_died", watch="web", pid=4242, status="signal:KILL", restarts=0, detector="pidfd")
    env = dict(line.split("=", 1) for line in wait_until(lambda: out.exists() and out.read_text(), what="the hook's file")
               .splitlines() if "=" in line)
    assert (env["PROCGUARD_EVENT_ID"], env["PROCGUARD_EVENT"], env["PROCGUARD_SEVERITY"]) == ("PG1005", "process_died", "warning")
    assert (env["PROCGUARD_WATCH"], env["PROCGUARD_PID"], env["PROCGUARD_HOST"], env["TEAM"]) == ("web", "4242", "web01", "ops")
    assert env["PROCGUARD_MESSAGE"].startswith("PG1005 process died watch=web pid=4242")
    assert json.loads(env["PROCGUARD_EVENT_JSON"])["fields"]["status"] == "signal:KILL"


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies: List[Dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append({"json": json.loads(body), "token": self.headers.get("X-Token")})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[http.server.ThreadingHTTPServer]:
    Receiver.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_url_hook_posts_the_event_as_json_to_loopback(loop, receiver):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    runner, emitter = runner_with(loop, {"name": "chat", "severity": "crit", "url": url, "headers": {"X-Token": "s3"}})
    emitter.emit("process_started", watch="web", pid=1, attempt=1, argv="x")  # info: not for this hook
    emitter.emit("gave_up", watch="web", restarts_in_window=5, window="60s", on_giveup="stop_watching")
    got = wait_until(lambda: Receiver.bodies, what="the POST")[0]
    assert got["token"] == "s3"
    event = got["json"]
    assert (event["id"], event["name"], event["severity"], event["hook"], event["host"]) == \
        ("PG1009", "gave_up", "crit", "chat", "web01")
    assert event["fields"] == {"watch": "web", "restarts_in_window": "5", "window": "60s", "on_giveup": "stop_watching"}
    assert event["message_id"] == journald_id("PG1009")
    wait_until(lambda: runner.counts["ran"] == 1, what="the run to be counted")
    assert runner.counts["failed"] == 0 and loop.drain() == []


def alive_with(word: str) -> List[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if word.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_command_past_its_timeout_is_killed_and_logged(loop, tag):
    runner, emitter = runner_with(loop, {"name": "slow", "events": ["PG1005"], "timeout": "300ms",
                                         "command": ["/bin/sleep", tag]})
    emitter.emit("process_died", watch="web", pid=1, status="exit:1", restarts=0, detector="pidfd")
    wait_until(lambda: runner.counts["ran"] == 1, what="the hook to end")
    assert alive_with(tag) == [], "the whole process group is killed"
    (name, fields), = loop.drain()
    assert (name, fields["hook"], fields["event"], fields["result"]) == ("hook_failed", "slow", "PG1005", "timeout")


def test_an_endpoint_that_never_answers_is_abandoned_after_the_timeout(loop):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts into the backlog and never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        runner, emitter = runner_with(loop, {"name": "hung", "events": ["PG1005"], "url": url, "timeout": "400ms"})
        emitter.emit("process_died", watch="web", pid=1, status="exit:1", restarts=0, detector="pidfd")
        wait_until(lambda: runner.counts["ran"] == 1, what="the request to be abandoned")
    (name, fields), = loop.drain()
    assert (name, fields["result"]) == ("hook_failed", "timeout")


def test_the_queue_is_bounded_and_a_drop_is_logged_once_per_burst(loop, tmp_path):
    gate = tmp_path / "open"
    runner, emitter = runner_with(loop, {"name": "gated", "events": ["PG1005"], "timeout": "30s",
                                         "command": ["/bin/sh", "-c", f"while [ ! -e {gate} ]; do sleep 0.02; done"]},
                                  max_running=1, max_queued=2)
    for pid in range(10):
        emitter.emit("process_died", watch="web", pid=pid, status="exit:1", restarts=0, detector="pidfd")
    assert runner.counts["dropped"] == 7, "one runs, two wait, the rest are dropped"
    assert [name for name, _ in loop.drain()] == ["hook_dropped"]
    gate.touch()
    wait_until(lambda: runner.counts["ran"] == 3, what="the three kept jobs to run")
    gate.unlink()
    for pid in range(4):
        emitter.emit("process_died", watch="web", pid=pid, status="exit:1", restarts=0, detector="pidfd")
    assert [name for name, _ in loop.drain()] == ["hook_dropped", "hook_dropped"], "a new burst is logged again"
    gate.touch()
    wait_until(lambda: runner.counts["ran"] == 6, what="the second burst to run")
    assert runner.counts["failed"] == 0


def test_hooks_never_fire_on_their_own_messages(loop):
    runner, emitter = runner_with(loop, {"name": "all", "severity": "info", "command": ["/bin/true"]},
                                  max_running=1, max_queued=1)
    emitter.emit("hook_failed", hook="x", event="PG1005", result="timeout", duration="1s")
    emitter.emit("hook_dropped", hook="x", event="PG1005", queued=64)
    assert runner.counts == {} and loop.drain() == []


def test_the_agent_restarts_a_service_while_its_hook_hangs(make_agent, receiver, tag, tmp_path):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    hung = f"{tag}9"
    agent = make_agent(config_yaml(
        [{"name": "web", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}],
        hooks=[{"name": "hangs", "events": ["PG1005"], "command": ["/bin/sleep", hung], "timeout": "60s"},
               {"name": "chat", "events": ["PG1005"], "url": url}])).start()
    first = agent.watch("web")["pids"][0]
    os.kill(first, signal.SIGKILL)
    agent.wait_event("PG1005", contains=f"pid={first}")
    agent.wait_event("PG1004", count=2)
    assert alive_with(hung), "the hung hook still runs while its service is already replaced"
    wait_until(lambda: Receiver.bodies, what="the URL hook's POST")
    assert Receiver.bodies[0]["json"]["fields"]["pid"] == str(first)
    second = agent.wait_watch("web", lambda w: w["pids"] and w["pids"][0] != first)["pids"][0]
    os.kill(second, signal.SIGKILL)
    agent.wait_event("PG1004", count=3)
    assert len(alive_with(hung)) == 2, "hooks run side by side, up to their bound"
    agent.stop()
    for pid in alive_with(hung):
        os.kill(pid, signal.SIGKILL)
