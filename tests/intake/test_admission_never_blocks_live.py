"""Checking a config never blocks the loop (issue 10 item 4).

The checking child ran on the loop: a large or hostile file held up everything else for as
long as the check took (a 1 KiB unsigned YAML bomb made a death elsewhere wait 20 s for its
restart). Now the wait runs beside the loop, and a death during a slow check is handled at
once; in signed mode an unsigned bomb is refused before anything parses it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import List

from helpers.agent import child_env, cli, config_yaml, procguard_cmd
from helpers.wait import wait_until
from procguard.control.client import request
from procguard.proc import procfs


def slow_config(path) -> None:
    """About 0.5 MB: thousands of watches to validate, and a mistake at the very end."""
    watches = [{"name": f"w{i}", "match": {"comm": f"none{i}"}, "restart": {"max_restarts": 3}} for i in range(6000)]
    watches[-1]["restart"] = {"max_restart": 3}
    path.write_text(json.dumps({"version": 1, "watches": watches}))


def checking_child(agent_pid: int) -> bool:
    return any((procfs.read_stat(p) or procfs.Stat(0, "", "", 0, 0, 0)).ppid == agent_pid
               and "procguard.intake.child_main" in " ".join(procfs.read_cmdline(p) or ())
               for p in procfs.all_pids())


def test_a_death_during_a_slow_check_is_restarted_before_the_check_ends(make_agent, tag):
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]))
    agent.start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    slow_config(Path(agent.config))
    reload = subprocess.Popen(procguard_cmd() + ["reload", "--socket", agent.socket], env=child_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: checking_child(agent.proc.pid), 10, interval=0.01, what="the checking child")
        os.kill(pid, signal.SIGKILL)
        _out, err = reload.communicate(timeout=60)
    finally:
        if reload.poll() is None:
            reload.kill()
    assert "did you mean 'max_restarts'" in err
    lines = agent.events()
    died = next(i for i, line in enumerate(lines) if " PG1005 " in line and f"pid={pid}" in line)
    started = next(i for i, line in enumerate(lines) if i > died and " PG1004 " in line)
    refused = next(i for i, line in enumerate(lines) if " PG2002 " in line)
    assert died < started < refused, "the restart did not wait for the check"


def test_an_unsigned_yaml_bomb_is_refused_before_it_is_parsed(make_agent, tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "watches: *i\n"
    assert len(bomb) < 1024
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (tmp_path / "revoked.txt").write_text("")
    started = time.monotonic()
    checked = cli("check", "--trusted-keys", str(trusted), "--revoked", str(tmp_path / "revoked.txt"), str(path))
    assert checked.returncode == 1 and "no signature" in checked.stderr, checked.stderr
    assert time.monotonic() - started < 30  # a bound, not a measurement: it used to take minutes and GiBs
    unsigned = cli("check", str(path))  # content only: the parser's own bounds hold it
    assert unsigned.returncode == 1 and "values (an alias used too often?)" in unsigned.stderr


def test_reloads_that_arrive_during_a_check_are_folded_into_one(make_agent, tag):
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]))
    agent.start()
    slow_config(Path(agent.config))
    replies: List[dict] = []
    clients = [threading.Thread(target=lambda: replies.append(request({"cmd": "reload"}, agent.socket, timeout=90)))
               for _ in range(5)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(120)
    assert len(replies) == 5 and all(not r["ok"] and "max_restarts" in r["error"] for r in replies)
    assert len(agent.events("PG2002")) <= 2, "one check for the first, one for all that waited"
