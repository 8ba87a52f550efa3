"""Relative paths given to the agent are made absolute at start (issue 9 item 8).

Before: `--state-dir a/b` gave services a relative NOTIFY_SOCKET that never resolved from
their own working directory (/), so a notify service never became ready.
"""

from __future__ import annotations

import subprocess
import sys

from helpers import cgroups
from helpers.agent import child_env, config_yaml, kill_if_alive, procguard_cmd
from helpers.wait import wait_until
from procguard.control.client import request

NOTIFY = r'''
import os, socket, sys, time
open(sys.argv[1], "w").write(os.environ["NOTIFY_SOCKET"])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
s.send(b"READY=1")
time.sleep(600)
'''


def test_relative_state_dir_config_and_socket_work(tmp_path, tag):
    (tmp_path / "svc.py").write_text(NOTIFY)
    seen = tmp_path / "seen"
    (tmp_path / "w.yaml").write_text(config_yaml([{
        "name": "svc", "match": {"cmdline": f"svc.py {seen} {tag}"},
        "start": {"argv": [sys.executable, str(tmp_path / "svc.py"), str(seen), tag], "ready": {"probe": "n"}},
        "probes": [{"name": "n", "type": "notify", "watchdog": False}],
    }]))
    tree = cgroups.unique_path("relative")  # its own cgroups, removed below (the agent leaves them, by design)
    agent = subprocess.Popen(procguard_cmd() + ["agent", "--config", "w.yaml", "--state-dir", "a/b", "--socket",
                                                "run/c.sock", "--syslog-socket", "", "--allow-unsigned", "--quiet",
                                                "--cgroup-path", tree],
                             cwd=tmp_path, env=child_env(), stdin=subprocess.DEVNULL)
    pids = []
    try:
        def ready():
            watches = request({"cmd": "status"}, str(tmp_path / "run" / "c.sock"), timeout=5)["watches"]
            pids.extend(watches[0]["pids"])
            return watches[0]["state"] == "running"
        wait_until(lambda: (tmp_path / "run" / "c.sock").exists() and ready(), 20, what="svc ready through notify")
        assert seen.read_text() == str(tmp_path / "a" / "b" / "notify" / "svc.sock")
    finally:
        agent.kill()
        agent.wait()
        for pid in pids:
            kill_if_alive(pid)
        cgroups.remove(tree)
