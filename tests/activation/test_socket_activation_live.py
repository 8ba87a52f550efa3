"""Socket activation (`start.listen`), live: the real agent binds and holds the sockets, a
real service inherits them (sd_listen_fds), and a connection made while the service is
dead waits in the backlog for the replacement instead of being refused."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from typing import Any, Dict, Optional

from helpers.agent import child_env, config_yaml, procguard_cmd
from helpers.net import free_port
from helpers.wait import wait_until

# Answers each connection with what it inherited, as JSON, on every socket it was given
# (or on the TCP port it binds itself when it was given none).
SERVICE = textwrap.dedent("""
    import json, os, select, socket, sys
    mine = os.environ.get("LISTEN_PID") == str(os.getpid())
    count = int(os.environ.get("LISTEN_FDS", "0")) if mine else 0
    socks = [socket.socket(fileno=3 + i) for i in range(count)]
    if not socks:
        own = socket.socket()
        own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        own.bind(("127.0.0.1", int(sys.argv[1])))
        own.listen()
        socks = [own]
    said = json.dumps({"pid": os.getpid(), "LISTEN_PID": os.environ.get("LISTEN_PID"),
                       "LISTEN_FDS": os.environ.get("LISTEN_FDS"),
                       "LISTEN_FDNAMES": os.environ.get("LISTEN_FDNAMES"),
                       "families": [s.family.name for s in socks]}).encode()
    while True:
        for ready in select.select(socks, [], [])[0]:
            conn, _ = ready.accept()
            conn.sendall(said)
            conn.close()
""")


def _service(tmp_path: Any) -> str:
    path = tmp_path / "service.py"
    path.write_text(SERVICE)
    return str(path)


def _ask(family: int, address: Any) -> Dict[str, Any]:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(address)          # refused would raise ConnectionRefusedError here
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return json.loads(data)
            data += chunk


def _answer(port: int) -> Optional[Dict[str, Any]]:
    """What the service on `port` says, or None while nothing listens there."""
    try:
        return _ask(socket.AF_INET, ("127.0.0.1", port))
    except ConnectionRefusedError:
        return None


def _watch(tmp_path: Any, name: str, port: int, listen: Any) -> Dict[str, Any]:
    start: Dict[str, Any] = {"argv": [sys.executable, _service(tmp_path), str(port)], "ready": {"alive_for": 0}}
    if listen:
        start["listen"] = listen
    return {"name": name, "start": start, "restart": {"max_restarts": 1000, "backoff": {"initial": "100ms", "max": "1s"}}}


def test_service_inherits_the_sockets_and_a_connection_during_its_restart_is_accepted(make_agent, tmp_path):
    port = free_port()
    unix = str(tmp_path / "svc.sock")
    agent = make_agent(config_yaml([_watch(tmp_path, "svc", port, [f"127.0.0.1:{port}", unix])])).start()
    agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])
    said = _ask(socket.AF_INET, ("127.0.0.1", port))
    first = said["pid"]
    assert agent.watch("svc")["pids"] == [first]
    # sd_listen_fds: fds 3.. in config order, LISTEN_PID the service's own PID
    assert said == {"pid": first, "LISTEN_PID": str(first), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "svc:svc",
                    "families": ["AF_INET", "AF_UNIX"]}
    assert _ask(socket.AF_UNIX, unix)["pid"] == first
    assert agent.watch("svc")["listen"] == [{"address": f"127.0.0.1:{port}", "held": True},
                                            {"address": unix, "held": True}]

    os.kill(first, signal.SIGKILL)
    agent.wait_event("PG1005", contains=f"pid={first} ")
    # the service is dead; the agent's socket still listens: the connection waits in the
    # backlog and the replacement answers it
    again = _ask(socket.AF_INET, ("127.0.0.1", port))
    assert again["pid"] != first and again["LISTEN_PID"] == str(again["pid"]), again
    agent.wait_watch("svc", lambda w: again["pid"] in w["pids"], what="the answer came from the watched replacement")


def test_bind_conflict_is_reported_and_the_agent_runs_its_other_watches(make_agent, tmp_path):
    port = free_port()
    taken = socket.socket()
    taken.bind(("127.0.0.1", port))
    taken.listen()
    try:
        other = free_port()
        agent = make_agent(config_yaml([_watch(tmp_path, "clash", port, [f"127.0.0.1:{port}"]),
                                        _watch(tmp_path, "fine", other, [f"127.0.0.1:{other}"])])).start()
        line = agent.wait_event("PG1202", contains="watch=clash")[0]
        assert f"address=127.0.0.1:{port}" in line and "in use" in line, line
        fine = agent.wait_watch("fine", lambda w: w["state"] == "running" and w["pids"])["pids"][0]
        assert _ask(socket.AF_INET, ("127.0.0.1", other))["LISTEN_FDS"] == "1"
        assert fine
        assert agent.watch("clash")["listen"] == [{"address": f"127.0.0.1:{port}", "held": False}]
    finally:
        taken.close()
    # once the address is free, either the clash service (restarted meanwhile) binds it
    # itself, or the agent binds it before the next start and hands it on; after such a
    # service is gone, the agent binds it again
    own = wait_until(lambda: _answer(port), 20, what="the clash service answering")
    if own["LISTEN_FDS"] is None:
        os.kill(own["pid"], signal.SIGKILL)
    agent.wait_event("PG1201", contains="watch=clash", timeout=20)
    wait_until(lambda: (_answer(port) or {}).get("LISTEN_FDS") == "1", 20,
               what="the clash service started with the agent's socket")
    assert agent.watch("clash")["listen"] == [{"address": f"127.0.0.1:{port}", "held": True}]


def test_reload_keeps_an_unchanged_socket_and_closes_a_removed_one(make_agent, tmp_path):
    port, gone = free_port(), free_port()
    watches = [_watch(tmp_path, "svc", port, [f"127.0.0.1:{port}", f"127.0.0.1:{gone}"])]
    agent = make_agent(config_yaml(watches)).start()
    agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])
    watches[0]["start"]["listen"] = [f"127.0.0.1:{port}"]
    agent.write_config(config_yaml(watches, serial=2))
    agent.send(signal.SIGHUP)
    agent.wait_event("PG1203", contains=f"address=127.0.0.1:{gone}")
    assert len(agent.events("PG1201")) == 2, agent.events("PG1201")     # no second bind of `port`
    w = agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])
    assert _ask(socket.AF_INET, ("127.0.0.1", port))["pid"] in w["pids"]


def test_bad_listen_values_fail_check_with_one_line_each(tmp_path):
    bad = {"localhost:80": "not an IP address", "127.0.0.1:99999": "port must be a number",
           "::1:80": "brackets", "run/app.sock": "neither HOST:PORT nor an absolute path",
           "127.0.0.1:8080": "already listed"}
    listen = ["127.0.0.1:8080", *bad]
    config = tmp_path / "watches.yaml"
    config.write_text(config_yaml([{"name": "svc", "start": {"argv": ["/bin/true"], "listen": listen}}]))
    out = subprocess.run(procguard_cmd() + ["check", str(config)], env=child_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    for index, (value, why) in enumerate(bad.items(), start=1):
        lines = [line for line in out.stderr.splitlines() + out.stdout.splitlines()
                 if f"watches.0.start.listen.{index}" in line or f"watches[0].start.listen[{index}]" in line]
        assert len(lines) == 1 and why in lines[0], f"{value}: {lines}\n{out.stdout}{out.stderr}"


def test_a_unix_socket_in_a_missing_directory_fails_check(tmp_path):
    config = tmp_path / "watches.yaml"
    missing = tmp_path / "no-such-dir" / "app.sock"
    config.write_text(config_yaml([{"name": "svc", "start": {"argv": ["/bin/true"], "listen": [str(missing)]}}]))
    out = subprocess.run(procguard_cmd() + ["check", str(config)], env=child_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    lines = [line for line in (out.stdout + out.stderr).splitlines() if "listen" in line]
    assert len(lines) == 1 and f"{missing.parent} is not a directory" in lines[0], out.stdout + out.stderr


def test_after_an_agent_restart_the_service_keeps_its_socket_and_the_next_start_gets_it_again(make_agent, tmp_path):
    port = free_port()
    agent = make_agent(config_yaml([_watch(tmp_path, "svc", port, [f"127.0.0.1:{port}"])])).start()
    agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])
    before = _ask(socket.AF_INET, ("127.0.0.1", port))
    agent.stop()
    # the service outlives the agent and still serves on the socket it inherited
    assert _ask(socket.AF_INET, ("127.0.0.1", port))["pid"] == before["pid"]
    agent.start()
    # the new agent cannot bind the port the running service holds: it adopts the service and
    # says, at info, that the service keeps the socket (/proc shows it among its fds): planned,
    # so no PG1202 error
    line = agent.wait_event("PG1204", contains="watch=svc")[-1]
    assert f"pid={before['pid']}" in line and "info" in line, line
    agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"] == [before["pid"]])
    assert agent.events("PG1202") == [], agent.events("PG1202")
    os.kill(before["pid"], signal.SIGKILL)
    # once that service is gone, the next start binds the port again and hands it on
    agent.wait_event("PG1201", count=2, contains="watch=svc")
    after = wait_until(lambda: (_answer(port) or {}).get("LISTEN_FDS") == "1" and _answer(port), 20,
                       what="the replacement serving on the agent's socket")
    assert after["pid"] != before["pid"]
