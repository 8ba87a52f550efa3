"""Health, for a load balancer and for people, means running and ready (issue 9 item 6).

The HAProxy agent-check used to answer `up ready 100%` while a watch was still starting
(not yet ready) or crash-looping. Now one definition serves the status JSON, the status
table, `procguard status`'s exit code and the agent-check answer: a watch is healthy only
when it is running, ready, not stalled, with between min and max instances. An intended
exit (no_restart_exit_codes) is its own state and not a failure in the table.
"""

from __future__ import annotations

import socket

from helpers.agent import config_yaml
from helpers.net import free_port
from helpers.wait import wait_until


def agent_check(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        return sock.recv(256).decode().strip()


def test_a_watch_that_is_starting_is_not_healthy_anywhere(make_agent, tag):
    port = free_port()
    config = config_yaml(
        [{"name": "slow", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": "3s"}}}],
        haproxy_agent=[{"port": port, "servers": [{"name": "web01", "watches": ["slow"]}]}])
    agent = make_agent(config).start()
    starting = agent.wait_watch("slow", lambda w: w["state"] == "starting" and w["pids"])

    assert starting["healthy"] is False
    assert agent_check(port) == "drain"
    table = agent.cli("status")
    assert table.returncode == 1 and " FAIL " in table.stdout

    agent.wait_watch("slow", lambda w: w["state"] == "running", timeout=10)
    assert agent.watch("slow")["healthy"] is True
    wait_until(lambda: agent_check(port) == "up ready 100%", 5, what="agent-check up once ready")
    assert agent.cli("status").returncode == 0


def test_an_intended_exit_is_its_own_state_not_a_failure(make_agent, tag):
    watch = {"name": "job", "start": {"argv": ["/bin/sh", "-c", f"exec /bin/sleep 0.{tag[-3:]}"],
                                      "ready": {"alive_for": 0}},
             "match": {"cmdline": f"sleep 0.{tag[-3:]}"}, "restart": {"no_restart_exit_codes": [0]}}
    agent = make_agent(config_yaml([watch])).start()
    done = agent.wait_watch("job", lambda w: w["state"] == "exited", timeout=10)

    assert done["healthy"] is False and done["last_exit"] == "exit:0"
    table = agent.cli("status")
    assert table.returncode == 0, "a planned end is not a failure"
    row = next(line for line in table.stdout.splitlines() if line.startswith("job "))
    assert row.split()[1:3] == ["exited", "-"]
    assert agent.events("PG1021") and not agent.events("PG1005")
