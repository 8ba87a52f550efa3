"""Probes do not kill slow starters (issue 9 item 5).

No probe may declare a stall before the start is good (ready) or start.timeout has passed:
until then a failing probe means "not ready yet". A notify service's watchdog is armed
only once it is ready, as systemd does. Before, a service ready after 3 s with a 3 s
watchdog interval was killed on every attempt, and an HTTP service that takes 2 s to
listen was declared stalled after two failed checks.
"""

from __future__ import annotations

import sys

from helpers.agent import config_yaml
from helpers.wait import wait_until

SLOW_NOTIFY = r'''
import os, socket, sys, time
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(addr)
time.sleep(3)                  # warming caches: no pings yet, like a real slow starter
s.send(b"READY=1")
while True:
    s.send(b"WATCHDOG=1")
    time.sleep(1)
'''

SLOW_HTTP = r'''
import http.server, sys, time
time.sleep(2)                  # two seconds before it listens
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
'''


def test_a_notify_service_ready_after_3s_is_not_killed_by_its_3s_watchdog(make_agent, tmp_path, tag):
    script = tmp_path / f"slow{tag}.py"
    script.write_text(SLOW_NOTIFY)
    agent = make_agent(config_yaml([{
        "name": "svc", "match": {"cmdline": f"slow{tag}.py"},
        "start": {"argv": [sys.executable, str(script)], "ready": {"probe": "wd"}, "timeout": "10s"},
        "probes": [{"name": "wd", "type": "notify", "interval": "3s"}],
    }])).start()

    w = agent.wait_watch("svc", lambda w: w["state"] == "running", timeout=15)
    wait_until(lambda: agent.watch("svc")["probes"][0]["successes"] >= 4, 15, what="four watchdog pings after READY")
    assert agent.watch("svc")["pids"] == w["pids"] and agent.watch("svc")["restarts"] == 0
    assert not agent.events("PG4002") and not agent.events("PG1007")


def test_an_http_service_that_listens_after_2s_is_not_declared_stalled(make_agent, tmp_path, tag):
    from helpers.net import free_port

    port = free_port()
    script = tmp_path / f"web{tag}.py"
    script.write_text(SLOW_HTTP)
    agent = make_agent(config_yaml([{
        "name": "web", "match": {"cmdline": f"web{tag}.py"},
        "start": {"argv": [sys.executable, str(script), str(port)], "ready": {"alive_for": "3s"}, "timeout": "10s"},
        "probes": [{"name": "http", "type": "http", "url": f"http://127.0.0.1:{port}/", "interval": "200ms",
                    "timeout": "200ms", "start_delay": 0, "fall": 2}],
    }])).start()

    starting = agent.wait_watch("web", lambda w: w["probes"] and w["probes"][0]["state"] == "starting", timeout=5)
    assert starting["state"] == "starting"
    w = agent.wait_watch("web", lambda w: w["state"] == "running" and w["probes"][0]["state"] == "ok", timeout=15)
    assert w["restarts"] == 0 and w["healthy"]
    assert not agent.events("PG4002")
    assert not agent.events("PG4001"), "failures while starting are not reported as probe failures"
