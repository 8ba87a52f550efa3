"""Hung processes, end to end through the real agent: probe, snapshot, stop, restart."""

from __future__ import annotations

import os
import re
import signal
import sys

from helpers.agent import config_yaml
from helpers.procs import alive

HANGING_SERVER = r'''
import http.server, os, sys, time
flag = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        while os.path.exists(flag):
            time.sleep(0.05)  # hung: alive, but never answers
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def test_sigstopped_process_is_snapshotted_killed_and_restarted(make_agent, rsyslog, tag):
    agent = make_agent(config_yaml([{
        "name": "svc",
        "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}},
        "stop": {"timeout": "500ms"},
        "probes": [{"name": "state", "type": "proc_state", "interval": "100ms", "max_duration": "300ms"}],
    }]), syslog_socket=rsyslog.socket).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]

    os.kill(pid, signal.SIGSTOP)

    snap = rsyslog.wait_for(r"PG4005 .*watch=svc .*path=\S+", timeout=15)
    path = re.search(r"path=(\S+)", snap).group(1).strip('"')
    text = open(path).read()
    assert str(pid) in text and "T" in text
    w = agent.wait_watch("svc", lambda w: w["pids"] and w["pids"][0] != pid and w["state"] == "running", timeout=15)
    assert not alive(pid), "the stopped process was continued and ended by the stop signal"
    assert w["restarts"] == 1
    rsyslog.wait_for(r"PG4002 .*watch=svc")
    assert [e for e in agent.events("PG1015") if f"pid={pid}" in e], "the stop is an event"


def test_http_server_whose_handler_hangs_is_restarted_after_fall_failures(make_agent, tmp_path, tag):
    port = 20000 + int(tag) % 20000
    flag = tmp_path / "hang"
    script = tmp_path / "server.py"
    script.write_text(HANGING_SERVER)
    agent = make_agent(config_yaml([{
        "name": "web",
        "match": {"cmdline": f"server.py {port} "},
        "start": {"argv": [sys.executable, str(script), str(port), str(flag)], "ready": {"alive_for": 0}},
        "stop": {"timeout": "1s"},
        "probes": [{"name": "http", "type": "http", "url": f"http://127.0.0.1:{port}/", "interval": "200ms",
                    "timeout": "300ms", "start_delay": "300ms", "fall": 3, "rise": 1}],
    }])).start()
    pid = agent.wait_watch("web", lambda w: w["state"] == "running")["pids"][0]
    flag.write_text("hang")

    agent.wait_event("PG4002", contains="watch=web", timeout=15)
    fails = [e for e in agent.events("PG4001") if "watch=web" in e]
    assert len(fails) >= 3, "declared stalled only after `fall` failed probes"
    flag.unlink()
    w = agent.wait_watch("web", lambda w: w["pids"] and w["pids"][0] != pid and w["state"] == "running", timeout=15)
    assert w["restarts"] == 1 and not alive(pid)


NOTIFY_SERVICE = r'''
import os, socket, sys, time
flag = sys.argv[1]
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(addr)
s.send(b"READY=1\nSTATUS=serving")
while True:
    if not os.path.exists(flag):
        s.send(b"WATCHDOG=1")   # a systemd Type=notify service, unchanged
    time.sleep(0.1)             # once the flag exists it hangs: alive, but no more pings
'''


def test_notify_service_that_stops_its_watchdog_pings_is_restarted(make_agent, tmp_path, tag):
    flag = tmp_path / "hang"
    script = tmp_path / "svc.py"
    script.write_text(NOTIFY_SERVICE)
    agent = make_agent(config_yaml([{
        "name": "svc",
        "match": {"cmdline": f"svc.py {flag}"},
        "start": {"argv": [sys.executable, str(script), str(flag)], "ready": {"probe": "wd"}, "timeout": "10s"},
        "stop": {"timeout": "1s"},
        "probes": [{"name": "wd", "type": "notify", "interval": "600ms"}],
    }])).start()
    w = agent.wait_watch("svc", lambda w: w["state"] == "running")
    pid = w["pids"][0]
    assert agent.events("PG4004"), "READY=1 made the start good"

    flag.write_text("stop pinging")

    agent.wait_event("PG4002", contains="watch=svc", timeout=15)
    flag.unlink()
    w = agent.wait_watch("svc", lambda w: w["pids"] and w["pids"][0] != pid and w["state"] == "running", timeout=15)
    assert w["restarts"] == 1 and not alive(pid)
    assert len(agent.events("PG4004")) >= 2, "the new process reported ready in turn"
