"""A PID that now belongs to an unrelated process is neither adopted nor signalled."""

from __future__ import annotations

import os
import time

from helpers.agent import config_yaml
from helpers.procs import alive


def test_stale_pidfile_pointing_at_unrelated_process_is_ignored(make_agent, external, tmp_path, tag):
    # An unrelated process holds the PID the pidfile names; the pidfile was written long
    # before that process started: exactly what PID reuse after a crash looks like.
    unrelated = external(["/bin/sleep", tag])
    pidfile = tmp_path / "svc.pid"
    pidfile.write_text(f"{unrelated.pid}\n")
    old = time.time() - 3600
    os.utime(pidfile, (old, old))
    agent = make_agent(config_yaml([{
        "name": "svc",
        "match": {"pidfile": str(pidfile), "cmdline": f"sleep {tag}1$"},
        "start": {"argv": ["/bin/sh", "-c", f"echo $$ > {pidfile}; exec /bin/sleep {tag}1"],
                  "ready": {"alive_for": 0}},
    }])).start()

    agent.wait_event("PG1018", contains=f"pid={unrelated.pid}")
    w = agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])
    assert unrelated.pid not in w["pids"], "never adopted"
    assert not agent.events("PG1003"), "nothing adopted"

    assert agent.cli("restart", "svc").returncode == 0
    agent.wait_event("PG1015")
    agent.wait_watch("svc", lambda w: w["state"] == "running" and w["restarts"] == 0 and w["pids"])
    assert alive(unrelated.pid), "the unrelated process was never signalled"
    assert unrelated.poll() is None
